//! Staff accounts, sessions, API tokens and login failures.
//!
//! All of it lives in the database so any server instance serves any user and a restart forgets
//! nothing (a lockout included). Tokens are stored only as SHA-256 digests: a copy of the
//! database does not let anyone sign in. Callers write the events; this module only stores.

use chrono::{DateTime, Utc};
use yichuang_domain::accounts::Profile;
use yichuang_domain::{Actor, Error, Kind, Result, Role};

use crate::db::{db_err, micros};
use crate::kept::Kept;
use crate::{Db, Tx, db_run, tx_run};

/// The columns of [`AccountRow`], for queries that alias `accounts` as `a`.
macro_rules! account_columns {
    () => {
        "a.id, a.username, a.display_name, a.role, a.department, a.hall, a.region, \
         a.password_hash, a.active, a.created_at, a.updated_at, a.password_changed_at"
    };
}

/// One account. Deliberately not `Debug`: the password hash must not reach a log by accident.
#[derive(Clone, sqlx::FromRow)]
pub struct AccountRow {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub department: Option<String>,
    pub hall: Option<String>,
    pub region: Option<String>,
    pub password_hash: String,
    pub active: bool,
    pub created_at: i64,
    pub updated_at: i64,
    pub password_changed_at: i64,
}

impl AccountRow {
    pub fn role(&self) -> Result<Role> {
        Role::parse(&self.role).ok_or_else(|| {
            Error::internal(format!(
                "account {} has unknown role {:?}",
                self.username, self.role
            ))
        })
    }

    pub fn profile(&self) -> Result<Profile> {
        Ok(Profile {
            display_name: self.display_name.clone(),
            role: self.role()?,
            department: self.department.clone(),
            hall: self.hall.clone(),
            region: self.region.clone(),
            active: self.active,
        })
    }

    pub fn actor(&self) -> Result<Actor> {
        Ok(Actor {
            id: self.id,
            username: self.username.clone(),
            display_name: self.display_name.clone(),
            role: self.role()?,
            department: self.department.clone(),
            hall: self.hall.clone(),
            region: self.region.clone(),
            scope_halls: None,
            on_behalf: None,
            kind: yichuang_domain::ActorKind::Person,
        })
    }
}

/// An account found through a session or an API token, with that credential's id and when it
/// was last used.
#[derive(Clone, sqlx::FromRow)]
pub struct CredentialRow {
    pub credential_id: i64,
    pub last_used_at: Option<i64>,
    /// Who made an API token (sessions: none).
    pub created_by: Option<String>,
    /// When an API token expires (sessions: none; they expire by idleness).
    pub expires_at: Option<i64>,
    #[sqlx(flatten)]
    pub account: AccountRow,
}

macro_rules! account_by_username {
    ($c:expr, $username:expr) => {
        sqlx::query_as::<_, AccountRow>(concat!(
            "SELECT ",
            account_columns!(),
            " FROM accounts a WHERE a.username = $1"
        ))
        .bind($username)
        .fetch_optional($c)
        .await
        .map_err(db_err)
    };
}

pub async fn by_username(db: &Db, username: &str) -> Result<Option<AccountRow>> {
    db_run!(db, |c| account_by_username!(c, username))
}

/// The account, read inside a write transaction (to authorise and record a change).
pub async fn by_username_for_update(tx: &mut Tx, username: &str) -> Result<Option<AccountRow>> {
    tx_run!(tx, |c| account_by_username!(c, username))
}

/// Every account, or those of one hall, by username.
pub async fn list(db: &Db, hall: Option<&str>) -> Result<Vec<AccountRow>> {
    db_run!(db, |c| sqlx::query_as::<_, AccountRow>(concat!(
        "SELECT ",
        account_columns!(),
        " FROM accounts a WHERE ($1 IS NULL OR a.hall = $1) ORDER BY a.username"
    ))
    .bind(hall)
    .fetch_all(c)
    .await
    .map_err(db_err))
}

pub async fn insert(
    tx: &mut Tx,
    username: &str,
    profile: &Profile,
    password_hash: &str,
    now: DateTime<Utc>,
) -> Result<i64> {
    let r: Result<i64> = tx_run!(tx, |c| sqlx::query_scalar(
        "INSERT INTO accounts (username, display_name, role, department, hall, password_hash, \
         active, created_at, updated_at, password_changed_at, region) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $8, $9) RETURNING id"
    )
    .bind(username)
    .bind(&profile.display_name)
    .bind(profile.role.as_str())
    .bind(&profile.department)
    .bind(&profile.hall)
    .bind(password_hash)
    .bind(profile.active)
    .bind(micros(now))
    .bind(&profile.region)
    .fetch_one(c)
    .await
    .map_err(db_err));
    r.map_err(|e| {
        if e.kind == Kind::Conflict {
            Error::conflict("username_taken", format!("用户名 {username} 已被使用"))
                .field("username", "该用户名已被使用，请换一个")
        } else {
            e
        }
    })
}

pub async fn update_profile(
    tx: &mut Tx,
    id: i64,
    profile: &Profile,
    now: DateTime<Utc>,
) -> Result<()> {
    tx_run!(tx, |c| sqlx::query(
        "UPDATE accounts SET display_name = $1, role = $2, department = $3, hall = $4, \
         active = $5, updated_at = $6, region = $8 WHERE id = $7"
    )
    .bind(&profile.display_name)
    .bind(profile.role.as_str())
    .bind(&profile.department)
    .bind(&profile.hall)
    .bind(profile.active)
    .bind(micros(now))
    .bind(id)
    .bind(&profile.region)
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected());
    // Kept credentials carry the account: a change is seen at once (see credential_account).
    crate::calendar::bump(tx).await?;
    Ok(())
}

pub async fn set_password(
    tx: &mut Tx,
    id: i64,
    password_hash: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    tx_run!(tx, |c| sqlx::query(
        "UPDATE accounts SET password_hash = $1, password_changed_at = $2, updated_at = $2 \
         WHERE id = $3"
    )
    .bind(password_hash)
    .bind(micros(now))
    .bind(id)
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected());
    // Kept credentials carry the account: a change is seen at once (see credential_account).
    crate::calendar::bump(tx).await?;
    Ok(())
}

// --- credentials: sessions and API tokens ---------------------------------------------------

/// The two ways a request proves who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Credential {
    Session,
    ApiToken,
}

/// The active account behind a credential digest. `bound` is, for a session, the instant it
/// must have been used after (idle expiry); for an API token, now (its expiry must be later).
///
/// A credential found is kept in this process against the change counter, which ending a
/// session, revoking a token and changing an account move (R-SEC: a signed-out session is
/// refused at once on every instance); a request then reads no credential row. A kept row
/// that fails the bound is read again, since another instance may have noted a later use.
pub async fn credential_account(
    db: &Db,
    kind: Credential,
    token_hash: &str,
    bound: DateTime<Utc>,
) -> Result<Option<CredentialRow>> {
    let key = (kind, token_hash.to_string());
    if let Some(row) = CREDENTIALS.get(db, &key).await?
        && row.valid_after(kind, micros(bound))
    {
        return Ok(Some(row));
    }
    let sql = match kind {
        Credential::Session => concat!(
            "SELECT s.id AS credential_id, s.last_seen_at AS last_used_at, \
             CAST(NULL AS TEXT) AS created_by, CAST(NULL AS BIGINT) AS expires_at, ",
            account_columns!(),
            " FROM sessions s JOIN accounts a ON a.id = s.account_id \
             WHERE s.token_hash = $1 AND s.ended_at IS NULL AND s.last_seen_at > $2 AND a.active"
        ),
        Credential::ApiToken => concat!(
            "SELECT t.id AS credential_id, t.last_used_at, t.created_by, t.expires_at, ",
            account_columns!(),
            " FROM api_tokens t JOIN accounts a ON a.id = t.account_id \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL \
             AND (t.expires_at IS NULL OR t.expires_at > $2) AND a.active"
        ),
    };
    let row = db_run!(db, |c| sqlx::query_as::<_, CredentialRow>(sql)
        .bind(token_hash)
        .bind(micros(bound))
        .fetch_optional(c)
        .await
        .map_err(db_err))?;
    match &row {
        Some(found) => CREDENTIALS.put(db, key, found.clone()).await?,
        None => CREDENTIALS.forget(db, &key).await?,
    }
    Ok(row)
}

/// Credentials found, by kind and digest (see [`credential_account`]).
static CREDENTIALS: Kept<(Credential, String), CredentialRow> = Kept::new();

impl CredentialRow {
    /// Whether the credential is still good at `bound` (micros), as the lookup's query asks.
    fn valid_after(&self, kind: Credential, bound: i64) -> bool {
        match kind {
            Credential::Session => self.last_used_at.is_some_and(|t| t > bound),
            Credential::ApiToken => self.expires_at.is_none_or(|t| t > bound),
        }
    }
}

/// Notes that a credential was used (which slides a session's expiry), only when the last note
/// is older than `stale_before`: a display board polling every second must not turn every read
/// into a write.
pub async fn touch_credential(
    db: &Db,
    kind: Credential,
    token_hash: &str,
    id: i64,
    now: DateTime<Utc>,
    stale_before: DateTime<Utc>,
) -> Result<()> {
    let sql = match kind {
        Credential::Session => {
            "UPDATE sessions SET last_seen_at = $1 WHERE id = $2 AND last_seen_at < $3"
        }
        Credential::ApiToken => {
            "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2 \
             AND (last_used_at IS NULL OR last_used_at < $3)"
        }
    };
    // Through the writer's turn like every write: on SQLite a write from the pool would poll
    // for the lock while the turn's shared transactions hold it.
    let mut tx = db.begin().await?;
    tx.write(
        sql,
        vec![micros(now).into(), id.into(), micros(stale_before).into()],
    )
    .await?;
    tx.commit().await?;
    let key = (kind, token_hash.to_string());
    if let Some(mut row) = CREDENTIALS.get(db, &key).await? {
        row.last_used_at = Some(micros(now));
        CREDENTIALS.put(db, key, row).await?;
    }
    Ok(())
}

// --- sessions --------------------------------------------------------------------------------

pub async fn create_session(
    tx: &mut Tx,
    account_id: i64,
    token_hash: &str,
    address: &str,
    now: DateTime<Utc>,
) -> Result<i64> {
    tx_run!(tx, |c| sqlx::query_scalar(
        "INSERT INTO sessions (token_hash, account_id, created_at, last_seen_at, address) \
         VALUES ($1, $2, $3, $3, $4) RETURNING id"
    )
    .bind(token_hash)
    .bind(account_id)
    .bind(micros(now))
    .bind(address)
    .fetch_one(c)
    .await
    .map_err(db_err))
}

/// Ends one session; returns its account id if it was open.
pub async fn end_session(tx: &mut Tx, token_hash: &str, now: DateTime<Utc>) -> Result<Option<i64>> {
    let account: Option<i64> = tx_run!(tx, |c| sqlx::query_scalar(
        "UPDATE sessions SET ended_at = $1 WHERE token_hash = $2 AND ended_at IS NULL \
         RETURNING account_id"
    )
    .bind(micros(now))
    .bind(token_hash)
    .fetch_optional(c)
    .await
    .map_err(db_err))?;
    if account.is_some() {
        crate::calendar::bump(tx).await?;
    }
    Ok(account)
}

/// Ends every open session of an account except `keep` (the one changing its own password).
pub async fn end_sessions_of(
    tx: &mut Tx,
    account_id: i64,
    keep: Option<&str>,
    now: DateTime<Utc>,
) -> Result<u64> {
    let ended = tx_run!(tx, |c| sqlx::query(
        "UPDATE sessions SET ended_at = $1 WHERE account_id = $2 AND ended_at IS NULL \
         AND ($3 IS NULL OR token_hash <> $3)"
    )
    .bind(micros(now))
    .bind(account_id)
    .bind(keep)
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected());
    if ended > 0 {
        crate::calendar::bump(tx).await?;
    }
    Ok(ended)
}

/// Forgets sessions that ended or expired before `before`: the events keep their history.
pub async fn purge_sessions(tx: &mut Tx, before: DateTime<Utc>) -> Result<u64> {
    tx_run!(tx, |c| Ok(sqlx::query(
        "DELETE FROM sessions WHERE last_seen_at < $1 OR ended_at < $1"
    )
    .bind(micros(before))
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected()))
}

// --- API tokens ------------------------------------------------------------------------------

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenRow {
    pub id: i64,
    pub account_id: i64,
    pub username: String,
    pub account_role: String,
    pub account_hall: Option<String>,
    pub name: String,
    pub created_by: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

macro_rules! token_query {
    ($where:literal) => {
        concat!(
            "SELECT t.id, t.account_id, a.username, a.role AS account_role, \
             a.hall AS account_hall, t.name, t.created_by, t.created_at, t.expires_at, \
             t.revoked_at, t.last_used_at \
             FROM api_tokens t JOIN accounts a ON a.id = t.account_id WHERE ",
            $where
        )
    };
}

pub struct NewToken<'a> {
    pub account_id: i64,
    pub name: &'a str,
    pub token_hash: &'a str,
    pub created_by: &'a str,
    pub expires_at: Option<DateTime<Utc>>,
}

pub async fn create_token(tx: &mut Tx, t: &NewToken<'_>, now: DateTime<Utc>) -> Result<i64> {
    tx_run!(tx, |c| sqlx::query_scalar(
        "INSERT INTO api_tokens (token_hash, account_id, name, created_by, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id"
    )
    .bind(t.token_hash)
    .bind(t.account_id)
    .bind(t.name)
    .bind(t.created_by)
    .bind(micros(now))
    .bind(t.expires_at.map(micros))
    .fetch_one(c)
    .await
    .map_err(db_err))
}

/// Tokens, newest first: of one account, of one hall's accounts, or all.
pub async fn list_tokens(
    db: &Db,
    account_id: Option<i64>,
    hall: Option<&str>,
) -> Result<Vec<TokenRow>> {
    db_run!(db, |c| sqlx::query_as::<_, TokenRow>(token_query!(
        "($1 IS NULL OR t.account_id = $1) AND ($2 IS NULL OR a.hall = $2) ORDER BY t.id DESC"
    ))
    .bind(account_id)
    .bind(hall)
    .fetch_all(c)
    .await
    .map_err(db_err))
}

pub async fn token_for_update(tx: &mut Tx, id: i64) -> Result<Option<TokenRow>> {
    tx_run!(tx, |c| sqlx::query_as::<_, TokenRow>(token_query!(
        "t.id = $1"
    ))
    .bind(id)
    .fetch_optional(c)
    .await
    .map_err(db_err))
}

pub async fn revoke_token(tx: &mut Tx, id: i64, now: DateTime<Utc>) -> Result<()> {
    tx_run!(tx, |c| sqlx::query(
        "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL"
    )
    .bind(micros(now))
    .bind(id)
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected());
    crate::calendar::bump(tx).await?;
    Ok(())
}

// --- login failures --------------------------------------------------------------------------

pub async fn record_failure(
    tx: &mut Tx,
    username: &str,
    address: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    tx_run!(tx, |c| sqlx::query(
        "INSERT INTO login_failures (username, address, at) VALUES ($1, $2, $3)"
    )
    .bind(username)
    .bind(address)
    .bind(micros(now))
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected());
    Ok(())
}

/// Failures since `since`, oldest first: for one username (with their addresses) and the
/// times for one address.
pub async fn recent_failures(
    db: &Db,
    username: &str,
    address: &str,
    since: DateTime<Utc>,
) -> Result<(Vec<(i64, String)>, Vec<i64>)> {
    let by_user = db_run!(db, |c| sqlx::query_as(
        "SELECT at, address FROM login_failures WHERE username = $1 AND at >= $2 ORDER BY at"
    )
    .bind(username)
    .bind(micros(since))
    .fetch_all(c)
    .await
    .map_err(db_err));
    let by_address = failure_times(
        db,
        "SELECT at FROM login_failures WHERE address = $1 AND at >= $2 ORDER BY at",
        address,
        since,
    );
    Ok((by_user?, by_address.await?))
}

async fn failure_times(
    db: &Db,
    sql: &'static str,
    key: &str,
    since: DateTime<Utc>,
) -> Result<Vec<i64>> {
    db_run!(db, |c| sqlx::query_scalar(sql)
        .bind(key)
        .bind(micros(since))
        .fetch_all(c)
        .await
        .map_err(db_err))
}

/// A successful sign-in forgets the username's earlier failures at its address (not the
/// address's others: one right guess must not reset an attack on many accounts).
pub async fn clear_failures(tx: &mut Tx, username: &str, address: &str) -> Result<()> {
    tx_run!(tx, |c| sqlx::query(
        "DELETE FROM login_failures WHERE username = $1 AND address = $2"
    )
    .bind(username)
    .bind(address)
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected());
    Ok(())
}

/// Forgets failures too old to matter to any lock.
pub async fn prune_failures(tx: &mut Tx, before: DateTime<Utc>) -> Result<()> {
    tx_run!(tx, |c| sqlx::query(
        "DELETE FROM login_failures WHERE at < $1"
    )
    .bind(micros(before))
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected());
    Ok(())
}

/// The username and display name of each of these accounts that exists (reports hold ids).
pub async fn names(db: &Db, ids: &[i64]) -> Result<Vec<(i64, String, String)>> {
    let mut out = Vec::with_capacity(ids.len());
    for &id in ids {
        let row: Option<(i64, String, String)> = db_run!(db, |c| sqlx::query_as(
            "SELECT id, username, display_name FROM accounts WHERE id = $1"
        )
        .bind(id)
        .fetch_optional(c)
        .await
        .map_err(db_err))?;
        out.extend(row);
    }
    Ok(out)
}
