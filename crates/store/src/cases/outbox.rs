//! The notification outbox: every message to an applicant is a row written in the transaction
//! of the change that causes it. A sender claims a due row, sends it and marks it sent in one
//! transaction (`FOR UPDATE SKIP LOCKED` on PostgreSQL, the write lock on SQLite), so a message
//! is never sent twice by two instances; a failed send is retried later with backoff.

use std::future::Future;

use chrono::{DateTime, Utc};
use yichuang_domain::Result;

use crate::db::{Backend, db_err, micros};
use crate::{Db, Tx, db_run, tx_run};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Message {
    pub id: i64,
    pub kind: String,
    pub subject: String,
    /// The applicant's mobile number: needed to send, never logged in full.
    pub recipient: String,
    pub body: String,
    pub attempts: i64,
}

/// Sends one message (an SMS gateway, a log…).
pub trait Sender: Send + Sync {
    fn send<'a>(&'a self, m: &'a Message) -> impl Future<Output = Result<()>> + Send + 'a;
}

pub async fn enqueue(
    tx: &mut Tx,
    kind: &str,
    subject: &str,
    recipient: &str,
    body: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    tx.write(
        "INSERT INTO outbox (kind, subject, recipient, body, created_at, due_at) \
         VALUES ($1, $2, $3, $4, $5, $5)",
        vec![
            kind.into(),
            subject.into(),
            recipient.into(),
            body.into(),
            micros(now).into(),
        ],
    )
    .await
}

/// A message as lists show it: (kind, body, sent).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Sent {
    pub id: i64,
    pub kind: String,
    pub body: String,
    pub sent_at: Option<i64>,
    pub attempts: i64,
}

pub async fn for_subject(db: &Db, subject: &str) -> Result<Vec<Sent>> {
    db_run!(db, |c| sqlx::query_as(
        "SELECT id, kind, body, sent_at, attempts FROM outbox WHERE subject = $1 ORDER BY id"
    )
    .bind(subject)
    .fetch_all(c)
    .await
    .map_err(db_err))
}

/// The latest message of `kind` to `recipient` created after `since` (one-time login codes).
pub async fn latest_to(
    db: &Db,
    kind: &str,
    recipient: &str,
    since: DateTime<Utc>,
) -> Result<Option<String>> {
    db_run!(db, |c| sqlx::query_scalar(
        "SELECT body FROM outbox WHERE kind = $1 AND recipient = $2 AND created_at >= $3 \
         ORDER BY id DESC LIMIT 1"
    )
    .bind(kind)
    .bind(recipient)
    .bind(micros(since))
    .fetch_optional(c)
    .await
    .map_err(db_err))
}

async fn pending(db: &Db, now: DateTime<Utc>) -> Result<i64> {
    db_run!(db, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND due_at <= $1"
    )
    .bind(micros(now))
    .fetch_one(c)
    .await
    .map_err(db_err))
}

/// Sends up to `max` due messages, one transaction each; returns how many were sent.
pub async fn send_due<S: Sender>(
    db: &Db,
    now: DateTime<Utc>,
    worker: &str,
    sender: &S,
    max: usize,
) -> Result<usize> {
    if pending(db, now).await? == 0 {
        return Ok(0);
    }
    let mut sent = 0;
    while sent < max {
        let mut tx = db.begin().await?;
        let claim = match tx.backend() {
            Backend::Postgres => {
                "SELECT id, kind, subject, recipient, body, attempts FROM outbox \
                 WHERE sent_at IS NULL AND due_at <= $1 ORDER BY due_at, id LIMIT 1 \
                 FOR UPDATE SKIP LOCKED"
            }
            Backend::Sqlite => {
                "SELECT id, kind, subject, recipient, body, attempts FROM outbox \
                 WHERE sent_at IS NULL AND due_at <= $1 ORDER BY due_at, id LIMIT 1"
            }
        };
        let m: Option<Message> = tx_run!(&mut tx, |c| sqlx::query_as::<_, Message>(claim)
            .bind(micros(now))
            .fetch_optional(c)
            .await
            .map_err(db_err)?);
        let Some(m) = m else { break };
        match sender.send(&m).await {
            Ok(()) => {
                tx_run!(&mut tx, |c| {
                    sqlx::query(
                    "UPDATE outbox SET sent_at = $1, sent_by = $2, attempts = attempts + 1 WHERE id = $3"
                )
                .bind(micros(now))
                .bind(worker)
                .bind(m.id)
                .execute(c)
                .await
                .map_err(db_err)?
                .rows_affected()
                });
                tx.commit().await?;
                sent += 1;
            }
            Err(e) => {
                drop(tx);
                tracing::warn!(message = m.id, kind = %m.kind, error = %e, "notification not sent; retrying later");
                // Backoff: 30 s, 1 min, 2 min … capped at an hour.
                let delay = (30i64 << m.attempts.clamp(0, 7)).min(3600);
                let mut tx = db.begin().await?;
                tx_run!(&mut tx, |c| {
                    sqlx::query(
                    "UPDATE outbox SET attempts = attempts + 1, last_error = $1, due_at = $2 WHERE id = $3"
                )
                .bind(e.to_string())
                .bind(micros(now) + delay * 1_000_000)
                .bind(m.id)
                .execute(c)
                .await
                .map_err(db_err)?
                .rows_affected()
                });
                tx.commit().await?;
                break;
            }
        }
    }
    Ok(sent)
}
