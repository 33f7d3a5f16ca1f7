//! API tokens for devices and integrations (evaluation pads, display boards, the 12345
//! platform): a name, the account they act as, no expiry unless given, revocable. Only admins
//! and hall managers hand them out, for themselves or for accounts they manage: a token outlives
//! any session, so a clerk may not mint one for itself.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::json;
use yichuang_domain::access::AccountScope;
use yichuang_domain::accounts::normalize_username;
use yichuang_domain::{Actor, Error, Problems, Result, Role};
use yichuang_store::accounts::{self as store, NewToken, TokenRow};
use yichuang_store::{Db, from_micros};

use super::secrets::{self, TokenKind};
use crate::clock::hall_time;

#[derive(Debug, Clone, Serialize)]
pub struct TokenView {
    pub id: i64,
    pub name: String,
    pub account: String,
    pub created_by: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
    pub last_used_at: Option<String>,
    /// The secret itself: only in the answer that creates the token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl TokenView {
    fn of(t: &TokenRow) -> TokenView {
        let time = |v: Option<i64>| v.map(|us| hall_time(from_micros(us)));
        TokenView {
            id: t.id,
            name: t.name.clone(),
            account: t.username.clone(),
            created_by: t.created_by.clone(),
            created_at: hall_time(from_micros(t.created_at)),
            expires_at: time(t.expires_at),
            revoked_at: time(t.revoked_at),
            last_used_at: time(t.last_used_at),
            token: None,
        }
    }
}

/// Whether `actor` may hand out or revoke tokens of the account in `t`.
fn require_may_manage_token(actor: &Actor, t: &TokenRow) -> Result<()> {
    actor.require_account_manager()?;
    if t.account_id == actor.id {
        return Ok(());
    }
    let role = Role::parse(&t.account_role)
        .ok_or_else(|| Error::internal(format!("unknown role {:?}", t.account_role)))?;
    actor.require_may_manage(AccountScope {
        role,
        department: None,
        hall: t.account_hall.as_deref(),
    })
}

/// The longest an API token lives: a device's token is issued again once a year, so a token
/// copied off a forgotten pad or script does not open the platform for ever.
pub const MAX_TOKEN_DAYS: i64 = 365;

pub struct NewTokenInput {
    pub name: String,
    /// Username the token acts as; the actor itself when absent.
    pub account: Option<String>,
    /// RFC 3339, at most [`MAX_TOKEN_DAYS`] ahead; that long when absent.
    pub expires_at: Option<String>,
}

pub async fn create(
    db: &Db,
    actor: &Actor,
    input: NewTokenInput,
    now: DateTime<Utc>,
) -> Result<TokenView> {
    actor.require_account_manager()?;
    let name = input.name.trim().to_string();
    let mut p = Problems::new();
    let n = name.chars().count();
    p.check(n > 0, "name", "请填写令牌名称（例如：一号窗口评价器）");
    p.check(n <= 64, "name", "令牌名称不能超过 64 个字符");
    let longest = now + Duration::days(MAX_TOKEN_DAYS);
    let expires_at = match input.expires_at.as_deref().map(str::trim) {
        None | Some("") => Some(longest),
        Some(s) => match DateTime::parse_from_rfc3339(s) {
            Ok(t) if t.with_timezone(&Utc) > longest => {
                p.add(
                    "expires_at",
                    format!("令牌有效期最长 {MAX_TOKEN_DAYS} 天，到期前请重新签发"),
                );
                None
            }
            Ok(t) if t.with_timezone(&Utc) > now => Some(t.with_timezone(&Utc)),
            Ok(_) => {
                p.add("expires_at", "到期时间必须晚于现在");
                None
            }
            Err(_) => {
                p.add(
                    "expires_at",
                    "时间格式应为 RFC 3339，例如 2026-12-31T18:00:00+08:00",
                );
                None
            }
        },
    };
    p.finish()?;
    let username = input
        .account
        .as_deref()
        .map(normalize_username)
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| actor.username.clone());
    let account = store::by_username(db, &username).await?.ok_or_else(|| {
        Error::validation(vec![]).field("account", format!("账号 {username} 不存在"))
    })?;
    if account.id != actor.id {
        actor.require_may_manage(account.profile()?.scope())?;
    }
    let token = secrets::new_token(TokenKind::Api)?;
    let by = actor.event_name();
    let mut tx = db.begin().await?;
    let id = store::create_token(
        &mut tx,
        &NewToken {
            account_id: account.id,
            name: &name,
            token_hash: &secrets::token_digest(&token),
            created_by: &by,
            expires_at,
        },
        now,
    )
    .await?;
    let payload = json!({
        "name": name,
        "account": account.username,
        "expires_at": expires_at.map(hall_time),
    });
    let subject = ("api_token", id.to_string());
    super::record(
        &mut tx,
        now,
        &by,
        "api_token_created",
        (subject.0, &subject.1),
        payload,
    )
    .await?;
    let row = store::token_for_update(&mut tx, id)
        .await?
        .ok_or_else(|| Error::internal("token vanished"))?;
    tx.commit().await?;
    let mut view = TokenView::of(&row);
    view.token = Some(token);
    Ok(view)
}

/// The tokens an actor may see: an admin all, a hall manager its own and those it may revoke,
/// anyone else its own.
pub async fn list(db: &Db, actor: &Actor) -> Result<Vec<TokenView>> {
    let rows = match actor.role {
        Role::Admin => store::list_tokens(db, None, None).await?,
        Role::HallManager => {
            let hall = actor.hall.as_deref().unwrap_or("");
            store::list_tokens(db, None, Some(hall))
                .await?
                .into_iter()
                .filter(|t| require_may_manage_token(actor, t).is_ok())
                .collect()
        }
        _ => store::list_tokens(db, Some(actor.id), None).await?,
    };
    Ok(rows.iter().map(TokenView::of).collect())
}

/// Revokes a token at once: the next request carrying it is refused. Revoking twice is fine.
pub async fn revoke(db: &Db, actor: &Actor, id: i64, now: DateTime<Utc>) -> Result<()> {
    actor.require_account_manager()?;
    let mut tx = db.begin().await?;
    let t = store::token_for_update(&mut tx, id)
        .await?
        .ok_or_else(|| Error::not_found("token_not_found", "令牌不存在"))?;
    require_may_manage_token(actor, &t)?;
    if t.revoked_at.is_some() {
        return Ok(());
    }
    store::revoke_token(&mut tx, id, now).await?;
    let payload = json!({"name": t.name, "account": t.username});
    let by = actor.event_name();
    let subject = id.to_string();
    super::record(
        &mut tx,
        now,
        &by,
        "api_token_revoked",
        ("api_token", &subject),
        payload,
    )
    .await?;
    tx.commit().await
}
