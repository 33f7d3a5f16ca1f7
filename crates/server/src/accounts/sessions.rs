//! Signing in and out, and finding the account behind a token.
//!
//! Sessions slide: each use keeps one alive for `config.session_hours`, but the database is
//! written at most once a minute per session (a display board polling every second must not
//! turn every read into a write). Failed attempts are rows, so the lockout survives a restart
//! and holds on every instance.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use yichuang_domain::accounts::normalize_username;
use yichuang_domain::login_throttle::{self, Policy};
use yichuang_domain::{Actor, Error, Kind, Problems, Result};
use yichuang_store::accounts as store;
use yichuang_store::{Db, from_micros, settings};

use super::record;
use super::secrets::{self, TokenKind};
use crate::logging::escape;
use crate::state::AppState;

/// How stale a session's `last_seen_at` (or a token's `last_used_at`) may get before a request
/// refreshes it.
const TOUCH_EVERY: Duration = Duration::minutes(1);

pub const ANONYMOUS: &str = "anonymous";

/// The account behind a token, and which kind of credential it was.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub actor: Actor,
    pub kind: TokenKind,
    /// For an API token: its id and who made it, recorded on every event it causes.
    pub via: Option<serde_json::Value>,
}

pub async fn authenticate(state: &AppState, token: &str) -> Result<Option<Authenticated>> {
    let Some(kind) = TokenKind::of(token) else {
        return Ok(None);
    };
    let now = state.now();
    let (credential, bound) = match kind {
        TokenKind::Session => (store::Credential::Session, idle_before(state, now)),
        TokenKind::Api => (store::Credential::ApiToken, now),
    };
    let digest = secrets::token_digest(token);
    let Some(row) = store::credential_account(&state.db, credential, &digest, bound).await? else {
        return Ok(None);
    };
    let stale_before = now - TOUCH_EVERY;
    if row
        .last_used_at
        .is_none_or(|t| from_micros(t) < stale_before)
    {
        store::touch_credential(
            &state.db,
            credential,
            &digest,
            row.credential_id,
            now,
            stale_before,
        )
        .await?;
    }
    let via = (kind == TokenKind::Api)
        .then(|| json!({"token": row.credential_id, "created_by": row.created_by}));
    Ok(Some(Authenticated {
        actor: row.account.actor()?,
        kind,
        via,
    }))
}

fn idle_before(state: &AppState, now: DateTime<Utc>) -> DateTime<Utc> {
    now - Duration::hours(state.config.session_hours)
}

/// The practice limits of login throttling, each a setting (defaults: 5 per username,
/// 20 per address, within 15 minutes, locked for 15 minutes).
pub async fn login_policy(db: &Db) -> Result<Policy> {
    let d = Policy::default();
    let num = |v: Option<serde_json::Value>, default: i64| {
        v.and_then(|v| v.as_i64())
            .filter(|n| *n > 0)
            .unwrap_or(default)
    };
    let get = |k: &'static str| settings::get(db, k);
    Ok(Policy {
        max_per_user: num(
            get("auth.login_max_failures_per_user").await?,
            d.max_per_user as i64,
        ) as usize,
        max_per_address: num(
            get("auth.login_max_failures_per_address").await?,
            d.max_per_address as i64,
        ) as usize,
        window: Duration::minutes(num(
            get("auth.login_window_minutes").await?,
            d.window.num_minutes(),
        )),
        lockout: Duration::minutes(num(
            get("auth.login_lockout_minutes").await?,
            d.lockout.num_minutes(),
        )),
        slowdown: Duration::seconds(num(
            get("auth.login_slowdown_seconds").await?,
            d.slowdown.num_seconds(),
        )),
    })
}

/// Guards anything that checks a password: refuses while a lock is in force, and records a
/// failure (with an event, and a second one when it starts a lock).
pub struct Throttle<'a> {
    db: &'a Db,
    policy: Policy,
    username: String,
    address: String,
}

impl<'a> Throttle<'a> {
    pub async fn check(
        db: &'a Db,
        username: &str,
        address: &str,
        now: DateTime<Utc>,
    ) -> Result<Throttle<'a>> {
        let policy = login_policy(db).await?;
        let t = Throttle {
            db,
            policy,
            username: username.to_string(),
            address: address.to_string(),
        };
        let (by_user, by_address) = t.failures(now).await?;
        login_throttle::check(&policy, &by_user, &by_address, now)?;
        Ok(t)
    }

    async fn failures(
        &self,
        now: DateTime<Utc>,
    ) -> Result<(Vec<login_throttle::Failure>, Vec<DateTime<Utc>>)> {
        let (u, a) = store::recent_failures(
            self.db,
            &self.username,
            &self.address,
            now - self.policy.lookback(),
        )
        .await?;
        let user = u
            .into_iter()
            .map(|(at, address)| login_throttle::Failure {
                at: from_micros(at),
                here: address == self.address,
            })
            .collect();
        Ok((user, a.into_iter().map(from_micros).collect()))
    }

    pub async fn record_failure(&self, actor: &str, now: DateTime<Utc>) -> Result<()> {
        let mut tx = self.db.begin().await?;
        store::prune_failures(&mut tx, now - self.policy.lookback()).await?;
        store::record_failure(&mut tx, &self.username, &self.address, now).await?;
        let payload = json!({"username": self.username, "address": self.address});
        let subject = ("account", self.username.as_str());
        record(
            &mut tx,
            now,
            actor,
            "login_failed",
            subject,
            payload.clone(),
        )
        .await?;
        tx.commit().await?;
        let (by_user, by_address) = self.failures(now).await?;
        let p = &self.policy;
        let here: Vec<_> = by_user.iter().filter(|f| f.here).map(|f| f.at).collect();
        let everywhere: Vec<_> = by_user.iter().map(|f| f.at).collect();
        if login_throttle::starts_lock(&here, p.max_per_user, p.window)
            || login_throttle::starts_lock(&by_address, p.max_per_address, p.window)
        {
            log_lock(&self.username, &self.address);
            let mut tx = self.db.begin().await?;
            record(
                &mut tx,
                now,
                actor,
                "login_locked",
                subject,
                payload.clone(),
            )
            .await?;
            tx.commit().await?;
        }
        // Guessed from several addresses: slowed down, and the owner is told (their account
        // page lists the failures since their last sign-in).
        if login_throttle::starts_lock(&everywhere, p.max_per_user, p.window)
            && here.len() < everywhere.len()
        {
            let mut tx = self.db.begin().await?;
            record(&mut tx, now, actor, "login_slowed_down", subject, payload).await?;
            tx.commit().await?;
        }
        Ok(())
    }

    /// A right password forgets the failures of this username at this address only: one
    /// right guess elsewhere must not reset an attack, and the owner's list stays.
    pub async fn clear(&self, tx: &mut yichuang_store::Tx) -> Result<()> {
        store::clear_failures(tx, &self.username, &self.address).await
    }
}

/// The log line of a lock. The username is whatever was typed and the address may come from a
/// proxy header: both are escaped, so a newline or an ESC in them cannot forge a line.
fn log_lock(username: &str, address: &str) {
    let (username, address) = (escape(username), escape(address));
    tracing::warn!(username = %username, address = %address, "login locked");
}

/// A signed-in session: the token to hand to the client once, and who it is.
pub struct SignedIn {
    pub token: String,
    pub actor: Actor,
    pub account: store::AccountRow,
    /// The password would not be accepted today: the person is sent to change it.
    pub weak_password: bool,
}

pub fn bad_credentials() -> Error {
    Error::new(
        Kind::Unauthorized,
        "invalid_credentials",
        "用户名或密码错误",
    )
}

/// Signs in with a password. Unknown usernames and wrong passwords get the same answer and take
/// the same time.
pub async fn login(
    state: &AppState,
    username: &str,
    password: &str,
    address: &str,
) -> Result<SignedIn> {
    let username = normalize_username(username);
    let mut p = Problems::new();
    p.check(!username.is_empty(), "username", "请填写用户名");
    p.check(!password.is_empty(), "password", "请填写密码");
    p.finish()?;
    let now = state.now();
    let throttle = Throttle::check(&state.db, &username, address, now).await?;
    let account = store::by_username(&state.db, &username).await?;
    let ok = match &account {
        Some(a) => secrets::verify_password(&a.password_hash, password).await?,
        None => secrets::verify_nobody(password).await?,
    };
    let account = match account {
        Some(a) if ok => a,
        _ => {
            throttle.record_failure(ANONYMOUS, now).await?;
            return Err(bad_credentials());
        }
    };
    // Only someone who knows the password learns that the account is switched off.
    if !account.active {
        return Err(Error::forbidden("该账号已停用，请联系管理员"));
    }
    let actor = account.actor()?;
    let token = secrets::new_token(TokenKind::Session)?;
    let mut tx = state.db.begin().await?;
    store::purge_sessions(&mut tx, idle_before(state, now)).await?;
    throttle.clear(&mut tx).await?;
    let id = store::create_session(
        &mut tx,
        account.id,
        &secrets::token_digest(&token),
        address,
        now,
    )
    .await?;
    let payload = json!({"session": id, "address": address});
    let subject = ("account", actor.username.as_str());
    record(
        &mut tx,
        now,
        &actor.event_name(),
        "session_started",
        subject,
        payload,
    )
    .await?;
    tx.commit().await?;
    // Outside the demo, the demo's published password (or any common one, set before the
    // rule existed) must be changed: the sign-in works and says so.
    let mut weak = yichuang_domain::Problems::new();
    yichuang_domain::accounts::check_password(password, &actor.username, "password", &mut weak);
    let weak_password = !state.config.demo && !weak.is_empty();
    Ok(SignedIn {
        token,
        actor,
        account,
        weak_password,
    })
}

/// Ends the session a request carries (`actor` is who it belongs to). Nothing to end (no token,
/// or one already expired) is not an error: the client is signed out either way.
pub async fn logout(state: &AppState, token: Option<&str>, actor: Option<&Actor>) -> Result<()> {
    let (Some(token), Some(actor)) = (token, actor) else {
        return Ok(());
    };
    if TokenKind::of(token) == Some(TokenKind::Api) {
        return Err(Error::invalid(
            "not_a_session",
            "API 令牌不能退出登录；不再使用时请撤销该令牌",
        ));
    }
    let now = state.now();
    let mut tx = state.db.begin().await?;
    if store::end_session(&mut tx, &secrets::token_digest(token), now)
        .await?
        .is_some()
    {
        let subject = ("account", actor.username.as_str());
        let payload = json!({"reason": "logout"});
        record(
            &mut tx,
            now,
            &actor.event_name(),
            "session_ended",
            subject,
            payload,
        )
        .await?;
    }
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::Throttle;

    /// The log, as the operator's terminal or file would get it.
    #[derive(Clone, Default)]
    struct Log(Arc<Mutex<Vec<u8>>>);

    impl Write for Log {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_username_with_a_newline_and_an_escape_cannot_forge_a_log_line() {
        let db = yichuang_store::Db::connect(&yichuang_store::testing::sqlite_url())
            .await
            .unwrap();
        db.migrate().await.unwrap();
        let log = Log::default();
        let writer = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let forged = "mallory\n2026-10-09T09:00:00Z  INFO login succeeded username=admin\u{1b}[2K";
        let now = chrono::Utc::now();
        for _ in 0..5 {
            let t = Throttle::check(&db, forged, "10.0.0.9", now).await.unwrap();
            t.record_failure("-", now).await.unwrap();
        }
        let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("login locked"))
            .collect();
        assert_eq!(lines.len(), 1, "{text}");
        assert!(
            lines[0].contains(
                r"mallory\u{a}2026-10-09T09:00:00Z  INFO login succeeded username=admin\u{1b}[2K"
            ),
            "{text}"
        );
        assert!(!text.contains('\u{1b}'), "{text}");
        assert!(
            !text.lines().any(|l| l.starts_with("2026-10-09T09:00:00Z")),
            "no forged line: {text}"
        );
    }
}
