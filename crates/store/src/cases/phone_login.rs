//! The applicant's phone login: one-time codes and the sessions they open. Only digests are
//! stored; the code itself travels in the outbox message.

use chrono::{DateTime, Utc};
use yichuang_domain::Result;

use crate::db::{db_err, micros};
use crate::{Db, Tx, db_run, tx_run};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PendingCode {
    pub code_hash: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub attempts: i64,
}

pub async fn pending(tx: &mut Tx, phone: &str) -> Result<Option<PendingCode>> {
    tx_run!(tx, |c| sqlx::query_as(
        "SELECT code_hash, created_at, expires_at, attempts FROM applicant_codes WHERE phone = $1"
    )
    .bind(phone)
    .fetch_optional(c)
    .await
    .map_err(db_err))
}

/// Replaces the phone's code.
pub async fn put_code(
    tx: &mut Tx,
    phone: &str,
    code_hash: &str,
    now: DateTime<Utc>,
    expires: DateTime<Utc>,
) -> Result<()> {
    tx_run!(tx, |c| {
        sqlx::query(
        "INSERT INTO applicant_codes (phone, code_hash, created_at, expires_at, attempts) VALUES ($1, $2, $3, $4, 0) \
         ON CONFLICT (phone) DO UPDATE SET code_hash = excluded.code_hash, created_at = excluded.created_at, \
         expires_at = excluded.expires_at, attempts = 0"
    )
    .bind(phone)
    .bind(code_hash)
    .bind(micros(now))
    .bind(micros(expires))
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected()
    });
    Ok(())
}

pub async fn count_attempt(tx: &mut Tx, phone: &str) -> Result<()> {
    tx_run!(tx, |c| sqlx::query(
        "UPDATE applicant_codes SET attempts = attempts + 1 WHERE phone = $1"
    )
    .bind(phone)
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected());
    Ok(())
}

/// The code is used up: one code, one login.
pub async fn drop_code(tx: &mut Tx, phone: &str) -> Result<()> {
    tx_run!(tx, |c| sqlx::query(
        "DELETE FROM applicant_codes WHERE phone = $1"
    )
    .bind(phone)
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected());
    Ok(())
}

pub async fn open_session(
    tx: &mut Tx,
    token_hash: &str,
    phone: &str,
    now: DateTime<Utc>,
    expires: DateTime<Utc>,
) -> Result<()> {
    tx_run!(tx, |c| {
        sqlx::query(
        "INSERT INTO applicant_sessions (token_hash, phone, created_at, expires_at) VALUES ($1, $2, $3, $4)"
    )
    .bind(token_hash)
    .bind(phone)
    .bind(micros(now))
    .bind(micros(expires))
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected()
    });
    Ok(())
}

/// The phone a live session belongs to.
pub async fn session_phone(
    db: &Db,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<String>> {
    db_run!(db, |c| sqlx::query_scalar(
        "SELECT phone FROM applicant_sessions WHERE token_hash = $1 AND expires_at > $2"
    )
    .bind(token_hash)
    .bind(micros(now))
    .fetch_optional(c)
    .await
    .map_err(db_err))
}

/// The cases of applicants reachable at `phone`, newest first: (number, item, status, due date,
/// bundle case).
pub async fn cases_of_phone(
    db: &Db,
    phone: &str,
) -> Result<Vec<(String, String, String, Option<String>, Option<String>)>> {
    db_run!(db, |c| sqlx::query_as(
        "SELECT c.number, c.item, c.status, c.due_date, c.parent FROM cases c \
         JOIN applicants a ON a.id = c.applicant_id WHERE a.phone = $1 ORDER BY c.id DESC"
    )
    .bind(phone)
    .fetch_all(c)
    .await
    .map_err(db_err))
}

/// Ends a session (the applicant signed out).
pub async fn close_session(tx: &mut Tx, token_hash: &str) -> Result<()> {
    tx_run!(tx, |c| sqlx::query(
        "DELETE FROM applicant_sessions WHERE token_hash = $1"
    )
    .bind(token_hash)
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected());
    Ok(())
}
