//! Durable timers (ARCHITECTURE principle 5): each is a row with a due time.
//!
//! A timer fires inside one transaction that also carries its effect and marks it fired, so a
//! crash at any moment either leaves it due (it fires again later) or fired with its effect: it
//! fires once, late if it must, never twice, never lost. On PostgreSQL the row is claimed with
//! `FOR UPDATE SKIP LOCKED`, so any number of server instances can run the worker; on SQLite the
//! transaction holds the single write lock.

use std::future::Future;

use chrono::{DateTime, Utc};
use yichuang_domain::{Error, Result};

use crate::db::{Arg, Backend, db_err, from_micros, micros};
use crate::{Db, Tx, db_run, tx_run};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Timer {
    pub id: i64,
    pub kind: String,
    pub subject: String,
    pub due_at: i64,
    pub payload: String,
    pub attempts: i64,
}

impl Timer {
    pub fn due(&self) -> DateTime<Utc> {
        from_micros(self.due_at)
    }
    pub fn payload_json(&self) -> serde_json::Value {
        serde_json::from_str(&self.payload).unwrap_or(serde_json::Value::Null)
    }
}

/// Carries out a timer's effect inside the transaction that marks it fired.
pub trait TimerHandler: Send + Sync {
    fn handle<'a>(
        &'a self,
        tx: &'a mut Tx,
        timer: &'a Timer,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<()>> + Send + 'a;
}

pub async fn schedule(
    tx: &mut Tx,
    kind: &str,
    subject: &str,
    due: DateTime<Utc>,
    payload: serde_json::Value,
    now: DateTime<Utc>,
) -> Result<i64> {
    tx.returning(
        "INSERT INTO timers (kind, subject, due_at, payload, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id AS value",
        vec![
            kind.into(),
            subject.into(),
            micros(due).into(),
            payload.to_string().into(),
            micros(now).into(),
        ],
    )
    .await
}

/// Cancels the pending timers of a kind for a subject (e.g. the department confirmed in time).
pub async fn cancel(tx: &mut Tx, kind: &str, subject: &str, now: DateTime<Utc>) -> Result<()> {
    tx.write(
        "UPDATE timers SET cancelled_at = $1 \
         WHERE kind = $2 AND subject = $3 AND fired_at IS NULL AND cancelled_at IS NULL",
        vec![micros(now).into(), kind.into(), subject.into()],
    )
    .await
}

/// The timer kind of a case's next deadline; its subject is the case number.
pub const CASE_DEADLINE: &str = "case_deadline";

/// The timer kind of the moment a case's light turns yellow or red; its subject is the case
/// number.
pub const CASE_WARNING: &str = "case_warning";

/// The kinds of timer [`replace`] rewrites in place: a case's deadline and its next light.
/// Migration 0022's unique index holds at most one pending row of each per subject, which the
/// upsert finds; any other kind is scheduled and cancelled row by row.
pub const IN_PLACE: [&str; 2] = [CASE_DEADLINE, CASE_WARNING];

/// Replaces a subject's pending timers of the given kinds (of [`IN_PLACE`]) with `next` (kind,
/// due time, payload): the pending row of each kind in `next` is moved in place, or added, in
/// one multi-row upsert, and the kinds `next` leaves out are cancelled in one update. A case
/// command that moves its deadline and light so writes one statement, not a cancel and an
/// insert, and leaves no cancelled row behind (issue 9).
///
/// A timer firing is marked fired before its effect runs ([`fire_due`]), so a handler that
/// sets its own kind again adds a new pending row rather than moving the one it fires.
pub async fn replace(
    tx: &mut Tx,
    kinds: &[&str],
    subject: &str,
    next: &[(&str, DateTime<Utc>, serde_json::Value)],
    now: DateTime<Utc>,
) -> Result<()> {
    let mut named = kinds.iter().chain(next.iter().map(|(kind, ..)| kind));
    if let Some(kind) = named.find(|k| !IN_PLACE.contains(k)) {
        return Err(Error::internal(format!(
            "timer kind {kind} has no index to be rewritten in place"
        )));
    }
    let gone: Vec<&str> = kinds
        .iter()
        .filter(|k| !next.iter().any(|(kind, ..)| kind == *k))
        .copied()
        .collect();
    if !gone.is_empty() {
        let sql = format!(
            "UPDATE timers SET cancelled_at = $1 WHERE subject = $2 AND kind IN ({}) \
             AND fired_at IS NULL AND cancelled_at IS NULL",
            crate::db::parameter_list(3, gone.len())
        );
        let mut args: Vec<Arg> = vec![micros(now).into(), subject.into()];
        args.extend(gone.iter().map(|k| Arg::from(*k)));
        tx.write(&sql, args).await?;
    }
    insert_rows(
        tx,
        subject,
        next,
        now,
        // The conflict target repeats the index's predicate: both databases match a partial
        // index only so.
        &format!(
            " ON CONFLICT (subject, kind) WHERE kind IN ('{CASE_DEADLINE}', '{CASE_WARNING}') \
             AND fired_at IS NULL AND cancelled_at IS NULL DO UPDATE SET \
             due_at = excluded.due_at, payload = excluded.payload, \
             created_at = excluded.created_at, attempts = 0, last_error = NULL"
        ),
    )
    .await
}

/// Adds timers of one subject in one multi-row statement, deferred with the transaction's other
/// writes (their ids are not needed): `next` is (kind, due time, payload).
pub async fn schedule_all(
    tx: &mut Tx,
    subject: &str,
    next: &[(&str, DateTime<Utc>, serde_json::Value)],
    now: DateTime<Utc>,
) -> Result<()> {
    insert_rows(tx, subject, next, now, "").await
}

/// The multi-row insert of [`schedule_all`] and [`replace`], `then` its conflict clause.
async fn insert_rows(
    tx: &mut Tx,
    subject: &str,
    next: &[(&str, DateTime<Utc>, serde_json::Value)],
    now: DateTime<Utc>,
    then: &str,
) -> Result<()> {
    if next.is_empty() {
        return Ok(());
    }
    let rows: Vec<String> = (0..next.len())
        .map(|i| {
            let b = i * 3;
            format!("(${}, $1, ${}, ${}, $2)", b + 3, b + 4, b + 5)
        })
        .collect();
    let sql = format!(
        "INSERT INTO timers (kind, subject, due_at, payload, created_at) VALUES {}{then}",
        rows.join(", ")
    );
    let mut args: Vec<Arg> = vec![subject.into(), micros(now).into()];
    for (kind, due, payload) in next {
        args.extend([
            Arg::from(*kind),
            micros(*due).into(),
            payload.to_string().into(),
        ]);
    }
    tx.write(&sql, args).await
}

/// How many timers are due and not yet fired (cheap, indexed; no write lock).
pub async fn due_count(db: &Db, now: DateTime<Utc>) -> Result<i64> {
    db_run!(db, |c| {
        sqlx::query_scalar(
        "SELECT COUNT(*) FROM timers WHERE fired_at IS NULL AND cancelled_at IS NULL AND due_at <= $1"
    )
    .bind(micros(now))
    .fetch_one(c)
    .await
    .map_err(db_err)
    })
}

/// Fires up to `max` due timers, one transaction each. Returns how many fired.
pub async fn fire_due<H: TimerHandler>(
    db: &Db,
    now: DateTime<Utc>,
    worker: &str,
    handler: &H,
    max: usize,
) -> Result<usize> {
    let mut fired = 0;
    // Look before taking SQLite's write lock: most polls find nothing.
    if due_count(db, now).await? == 0 {
        return Ok(0);
    }
    while fired < max {
        let mut tx = db.begin().await?;
        let claim = match tx.backend() {
            Backend::Postgres => {
                "SELECT id, kind, subject, due_at, payload, attempts FROM timers \
                 WHERE fired_at IS NULL AND cancelled_at IS NULL AND due_at <= $1 \
                 ORDER BY due_at, id LIMIT 1 FOR UPDATE SKIP LOCKED"
            }
            Backend::Sqlite => {
                "SELECT id, kind, subject, due_at, payload, attempts FROM timers \
                 WHERE fired_at IS NULL AND cancelled_at IS NULL AND due_at <= $1 \
                 ORDER BY due_at, id LIMIT 1"
            }
        };
        let timer: Option<Timer> = tx_run!(&mut tx, |c| sqlx::query_as::<_, Timer>(claim)
            .bind(micros(now))
            .fetch_optional(c)
            .await
            .map_err(db_err)?);
        let Some(timer) = timer else { break };
        // Marked fired first, in the transaction that carries the effect: a failed effect
        // rolls the mark back with it, and an effect that sets this kind again for the same
        // subject ([`replace`]) adds a pending row instead of moving this one.
        tx.write(
            "UPDATE timers SET fired_at = $1, claimed_by = $2, attempts = attempts + 1 WHERE id = $3",
            vec![micros(now).into(), worker.into(), timer.id.into()],
        )
        .await?;
        match handler.handle(&mut tx, &timer, now).await {
            Ok(()) => {
                tx.commit().await?;
                fired += 1;
            }
            Err(e) => {
                drop(tx);
                tracing::error!(timer = timer.id, kind = %timer.kind, error = %e, detail = ?e.detail, "timer failed; retrying later");
                // Back off so a failing timer does not block the others.
                let delay = 2i64
                    .saturating_pow(timer.attempts.clamp(0, 12) as u32)
                    .min(3600);
                let mut tx = db.begin().await?;
                tx_run!(&mut tx, |c| {
                    sqlx::query(
                    "UPDATE timers SET attempts = attempts + 1, last_error = $1, due_at = $2 WHERE id = $3"
                )
                .bind(e.to_string())
                .bind(micros(now) + delay * 1_000_000)
                .bind(timer.id)
                .execute(c)
                .await
                .map_err(db_err)?
                .rows_affected()
                });
                tx.commit().await?;
            }
        }
    }
    Ok(fired)
}
