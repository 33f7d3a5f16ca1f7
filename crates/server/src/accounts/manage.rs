//! Creating and changing accounts, the same for the API, the pages and the command line. Who
//! may do what is decided in the domain (`Actor::require_may_manage`,
//! `accounts::authorize_profile_change`); every change writes its event in the same transaction.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use yichuang_domain::accounts::{
    Profile, ProfileInput, authorize_profile_change, check_new_account, check_password,
    normalize_username, parse_profile,
};
use yichuang_domain::{Actor, Error, Problems, Result, Role};
use yichuang_store::accounts::{self as store, AccountRow};
use yichuang_store::{Db, Tx, from_micros};

use super::secrets;
use super::sessions::Throttle;
use crate::clock::hall_time;

/// Who makes a change: a signed-in staff member (whose rights are checked) or the platform
/// itself (the start-up bootstrap, the command line run by whoever holds the database).
#[derive(Clone, Copy)]
pub enum Operator<'a> {
    Staff(&'a Actor),
    System(&'a str),
}

impl Operator<'_> {
    pub fn event_name(&self) -> String {
        match self {
            Operator::Staff(a) => a.event_name(),
            Operator::System(s) => format!("system:{s}"),
        }
    }

    fn require_may_manage(&self, p: &Profile) -> Result<()> {
        match self {
            Operator::Staff(a) => a.require_may_manage(p.scope()),
            Operator::System(_) => Ok(()),
        }
    }
}

/// An account as the API shows it: never the hash.
#[derive(Debug, Clone, Serialize)]
pub struct AccountView {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub role_label: &'static str,
    pub department: Option<String>,
    pub hall: Option<String>,
    pub region: Option<String>,
    pub active: bool,
    pub created_at: String,
    pub updated_at: String,
    pub password_changed_at: String,
}

impl AccountView {
    pub fn of(a: &AccountRow) -> Result<AccountView> {
        let role = a.role()?;
        Ok(AccountView {
            id: a.id,
            username: a.username.clone(),
            display_name: a.display_name.clone(),
            role,
            role_label: role.label(),
            department: a.department.clone(),
            hall: a.hall.clone(),
            region: a.region.clone(),
            active: a.active,
            created_at: hall_time(from_micros(a.created_at)),
            updated_at: hall_time(from_micros(a.updated_at)),
            password_changed_at: hall_time(from_micros(a.password_changed_at)),
        })
    }
}

/// A supervisor's region must be one of the region tree's (a mistyped code would show nothing).
/// A profile names only a region, hall and department that exist: an account in a hall nobody
/// set up would sign in to pages that cannot find it.
async fn check_references(db: &Db, profile: &Profile) -> Result<()> {
    let mut p = Problems::new();
    if let Some(region) = &profile.region {
        let known = yichuang_store::supervision::regions(db).await?;
        if !known.iter().any(|r| &r.code == region) {
            p.add(
                "region",
                format!("区域编码“{region}”不存在，请从区域列表中选择"),
            );
        }
    }
    if let Some(hall) = &profile.hall
        && !yichuang_store::hall::hall_exists(db, hall).await?
    {
        p.add("hall", format!("大厅“{hall}”不存在，请从大厅列表中选择"));
    }
    if let Some(department) = &profile.department
        && !yichuang_store::catalogue::department_exists(db, department).await?
    {
        p.add(
            "department",
            format!("部门“{department}”不存在，请从部门列表中选择"),
        );
    }
    p.finish()
}

/// What events record of a profile.
fn profile_json(p: &Profile) -> serde_json::Value {
    json!({
        "display_name": p.display_name,
        "role": p.role.as_str(),
        "department": p.department,
        "hall": p.hall,
        "region": p.region,
        "active": p.active,
    })
}

async fn event(
    tx: &mut Tx,
    now: DateTime<Utc>,
    by: &str,
    kind: &str,
    username: &str,
    payload: serde_json::Value,
) -> Result<()> {
    super::record(tx, now, by, kind, ("account", username), payload).await
}

fn no_such_account() -> Error {
    Error::not_found("account_not_found", "账号不存在")
}

async fn existing(tx: &mut Tx, username: &str) -> Result<AccountRow> {
    store::by_username_for_update(tx, &normalize_username(username))
        .await?
        .ok_or_else(no_such_account)
}

pub struct NewAccount {
    pub username: String,
    pub profile: ProfileInput,
    /// None: a password is generated and returned once.
    pub password: Option<String>,
}

pub struct Created {
    pub account: AccountRow,
    pub generated_password: Option<String>,
}

/// A password chosen by the caller (checked) or generated.
fn chosen_or_generated(password: Option<String>) -> Result<(String, bool)> {
    match password.filter(|p| !p.is_empty()) {
        Some(p) => Ok((p, false)),
        None => Ok((secrets::generate_password()?, true)),
    }
}

pub async fn create(
    db: &Db,
    by: Operator<'_>,
    mut input: NewAccount,
    now: DateTime<Utc>,
) -> Result<Created> {
    if let Operator::Staff(a) = by {
        a.require_account_manager()?;
        // A hall manager's new staff work in its hall unless it says otherwise.
        if a.role == Role::HallManager && input.profile.hall.as_deref().is_none_or(str::is_empty) {
            input.profile.hall = a.hall.clone();
        }
    }
    let (password, generated) = chosen_or_generated(input.password)?;
    // The demo's staff share its published password on purpose; nobody else may choose it.
    let demo = matches!(by, Operator::System(s) if s == crate::demo::ACTOR);
    let (username, profile) = if demo {
        let mut p = Problems::new();
        yichuang_domain::accounts::check_password_length(&password, "password", &mut p);
        p.finish()?;
        check_new_account(&input.username, &input.profile, None)?
    } else {
        check_new_account(&input.username, &input.profile, Some(&password))?
    };
    check_references(db, &profile).await?;
    by.require_may_manage(&profile)?;
    let hash = secrets::hash_password(&password).await?;
    let mut tx = db.begin().await?;
    store::insert(&mut tx, &username, &profile, &hash, now).await?;
    event(
        &mut tx,
        now,
        &by.event_name(),
        "account_created",
        &username,
        json!({"after": profile_json(&profile), "password_generated": generated}),
    )
    .await?;
    let account = existing(&mut tx, &username).await?;
    tx.commit().await?;
    Ok(Created {
        account,
        generated_password: generated.then_some(password),
    })
}

/// A partial change: absent fields stay as they are; `Some(None)` clears a code.
#[derive(Debug, Default, Clone)]
pub struct ProfilePatch {
    pub display_name: Option<String>,
    pub role: Option<String>,
    pub department: Option<Option<String>>,
    pub hall: Option<Option<String>>,
    pub region: Option<Option<String>>,
    pub active: Option<bool>,
}

pub async fn update(
    db: &Db,
    actor: &Actor,
    username: &str,
    patch: ProfilePatch,
    now: DateTime<Utc>,
) -> Result<AccountRow> {
    actor.require_account_manager()?;
    let mut tx = db.begin().await?;
    let row = existing(&mut tx, username).await?;
    let before = row.profile()?;
    let input = ProfileInput {
        display_name: patch
            .display_name
            .unwrap_or_else(|| before.display_name.clone()),
        role: patch
            .role
            .unwrap_or_else(|| before.role.as_str().to_string()),
        department: patch
            .department
            .unwrap_or_else(|| before.department.clone()),
        hall: patch.hall.unwrap_or_else(|| before.hall.clone()),
        region: patch.region.unwrap_or_else(|| before.region.clone()),
        active: patch.active.unwrap_or(before.active),
    };
    // Rights first: someone who may not touch the account learns nothing from its validation.
    actor.require_may_manage(before.scope())?;
    let mut p = Problems::new();
    let after = parse_profile(&input, &mut p);
    p.finish()?;
    let after = after.ok_or_else(|| Error::internal("profile missing without a problem"))?;
    authorize_profile_change(actor, &row.username, &before, &after)?;
    check_references(db, &after).await?;
    if after == before {
        return Ok(row);
    }
    store::update_profile(&mut tx, row.id, &after, now).await?;
    let ended = if before.active && !after.active {
        store::end_sessions_of(&mut tx, row.id, None, now).await?
    } else {
        0
    };
    event(
        &mut tx,
        now,
        &actor.event_name(),
        "account_updated",
        &row.username,
        json!({"before": profile_json(&before), "after": profile_json(&after), "sessions_ended": ended}),
    )
    .await?;
    let row = existing(&mut tx, &row.username).await?;
    tx.commit().await?;
    Ok(row)
}

/// Sets a new password for someone else (or generates one) and signs them out everywhere.
/// Returns the generated password, if one was generated.
pub async fn reset_password(
    db: &Db,
    by: Operator<'_>,
    username: &str,
    password: Option<String>,
    now: DateTime<Utc>,
) -> Result<Option<String>> {
    if let Operator::Staff(a) = by {
        a.require_account_manager()?;
    }
    let row = store::by_username(db, &normalize_username(username))
        .await?
        .ok_or_else(no_such_account)?;
    by.require_may_manage(&row.profile()?)?;
    let (password, generated) = chosen_or_generated(password)?;
    let mut p = Problems::new();
    check_password(&password, &row.username, "password", &mut p);
    p.finish()?;
    let hash = secrets::hash_password(&password).await?;
    let mut tx = db.begin().await?;
    let row = existing(&mut tx, &row.username).await?;
    store::set_password(&mut tx, row.id, &hash, now).await?;
    let ended = store::end_sessions_of(&mut tx, row.id, None, now).await?;
    event(
        &mut tx,
        now,
        &by.event_name(),
        "password_reset",
        &row.username,
        json!({"password_generated": generated, "sessions_ended": ended}),
    )
    .await?;
    tx.commit().await?;
    Ok(generated.then_some(password))
}

/// The signed-in user changes their own password. Other sessions end; the one in use (`token`)
/// stays signed in. A wrong current password counts as a failed sign-in (a borrowed,
/// unlocked screen is no way round the lockout).
pub async fn change_own_password(
    db: &Db,
    actor: &Actor,
    current: &str,
    new: &str,
    token: Option<&str>,
    address: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let throttle = Throttle::check(db, &actor.username, address, now).await?;
    let keep = token.map(secrets::token_digest);
    let keep = keep.as_deref();
    let mut p = Problems::new();
    p.check(!current.is_empty(), "current", "请填写当前密码");
    check_password(new, &actor.username, "new", &mut p);
    p.check(
        current.is_empty() || current != new,
        "new",
        "新密码不能与当前密码相同",
    );
    p.finish()?;
    let row = store::by_username(db, &actor.username)
        .await?
        .ok_or_else(no_such_account)?;
    if !secrets::verify_password(&row.password_hash, current).await? {
        throttle.record_failure(&actor.event_name(), now).await?;
        return Err(Error::validation(vec![]).field("current", "当前密码不正确"));
    }
    let hash = secrets::hash_password(new).await?;
    let mut tx = db.begin().await?;
    store::set_password(&mut tx, row.id, &hash, now).await?;
    let ended = store::end_sessions_of(&mut tx, row.id, keep, now).await?;
    throttle.clear(&mut tx).await?;
    event(
        &mut tx,
        now,
        &actor.event_name(),
        "password_changed",
        &row.username,
        json!({"sessions_ended": ended}),
    )
    .await?;
    tx.commit().await
}

pub const ADMIN_USERNAME: &str = "admin";

/// `YICHUANG_ADMIN_PASSWORD` at start: the account `admin` exists, is an active admin and has
/// this password. Nothing is written when that already holds (restarts do not sign it out).
/// `demo`: the demo's own published password, allowed only there.
pub async fn ensure_admin(db: &Db, password: &str, demo: bool, now: DateTime<Utc>) -> Result<()> {
    let mut p = Problems::new();
    if demo {
        yichuang_domain::accounts::check_password_length(
            password,
            "YICHUANG_ADMIN_PASSWORD",
            &mut p,
        );
    } else {
        check_password(password, ADMIN_USERNAME, "YICHUANG_ADMIN_PASSWORD", &mut p);
    }
    p.finish()?;
    let by = Operator::System("bootstrap").event_name();
    let wanted = |display_name: String| Profile {
        display_name,
        role: Role::Admin,
        department: None,
        hall: None,
        region: None,
        active: true,
    };
    let Some(row) = store::by_username(db, ADMIN_USERNAME).await? else {
        let hash = secrets::hash_password(password).await?;
        let profile = wanted("系统管理员".into());
        let mut tx = db.begin().await?;
        // Two instances starting at once on one PostgreSQL: the second finds the account made.
        match store::insert(&mut tx, ADMIN_USERNAME, &profile, &hash, now).await {
            Err(e) if e.code == "username_taken" => {
                drop(tx);
                return Box::pin(ensure_admin(db, password, demo, now)).await;
            }
            r => r?,
        };
        event(
            &mut tx,
            now,
            &by,
            "account_created",
            ADMIN_USERNAME,
            json!({"after": profile_json(&profile), "source": "YICHUANG_ADMIN_PASSWORD"}),
        )
        .await?;
        return tx.commit().await;
    };
    let before = row.profile()?;
    let after = wanted(before.display_name.clone());
    let password_ok = secrets::verify_password(&row.password_hash, password).await?;
    if password_ok && before == after {
        return Ok(());
    }
    let hash = match password_ok {
        true => None,
        false => Some(secrets::hash_password(password).await?),
    };
    let mut tx = db.begin().await?;
    if before != after {
        store::update_profile(&mut tx, row.id, &after, now).await?;
        event(
            &mut tx,
            now,
            &by,
            "account_updated",
            ADMIN_USERNAME,
            json!({"before": profile_json(&before), "after": profile_json(&after)}),
        )
        .await?;
    }
    if let Some(hash) = hash {
        store::set_password(&mut tx, row.id, &hash, now).await?;
        let ended = store::end_sessions_of(&mut tx, row.id, None, now).await?;
        event(
            &mut tx,
            now,
            &by,
            "password_reset",
            ADMIN_USERNAME,
            json!({"source": "YICHUANG_ADMIN_PASSWORD", "sessions_ended": ended}),
        )
        .await?;
    }
    tx.commit().await
}

/// The accounts an actor may see, each with whether it may change it: an admin sees all, a
/// hall manager its own hall's.
pub async fn list_visible(db: &Db, actor: &Actor) -> Result<Vec<(AccountRow, bool)>> {
    actor.require_account_manager()?;
    let hall = match actor.role {
        Role::Admin => None,
        _ => Some(actor.hall.as_deref().unwrap_or("")),
    };
    let rows = store::list(db, hall).await?;
    rows.into_iter()
        .map(|r| {
            let may = actor.require_may_manage(r.profile()?.scope()).is_ok();
            Ok((r, may))
        })
        .collect()
}

/// One account, if the actor may see it (itself, or one it could list).
pub async fn find_visible(db: &Db, actor: &Actor, username: &str) -> Result<AccountRow> {
    let row = store::by_username(db, &normalize_username(username))
        .await?
        .ok_or_else(no_such_account)?;
    if row.username == actor.username {
        return Ok(row);
    }
    actor.require_account_manager()?;
    let same_hall = row.hall.is_some() && row.hall == actor.hall;
    if actor.role == Role::Admin || same_hall {
        Ok(row)
    } else {
        Err(Error::forbidden("大厅管理员只能查看本大厅的账号"))
    }
}
