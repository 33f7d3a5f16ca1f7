//! The append-only event log (ARCHITECTURE principle 2): every state change writes its event in
//! the same transaction. The tables carry triggers that refuse UPDATE and DELETE.

use chrono::{DateTime, Utc};
use serde::Serialize;
use yichuang_domain::Result;

use crate::db::{Arg, db_err, from_micros, micros};
use crate::{Db, Tx, db_run};

/// What happened, to what, by whom. `payload` holds the details (before/after where a record
/// changed); personal data in it is masked by the caller (R-PII).
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub actor: &'a str,
    pub kind: &'a str,
    pub subject_type: &'a str,
    pub subject_id: &'a str,
    pub payload: serde_json::Value,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct EventRow {
    pub id: i64,
    #[serde(skip)]
    pub at: i64,
    pub actor: String,
    pub kind: String,
    pub subject_type: String,
    pub subject_id: String,
    pub payload: String,
}

impl EventRow {
    pub fn at(&self) -> DateTime<Utc> {
        from_micros(self.at)
    }
}

tokio::task_local! {
    /// The API token a request acts through, and who made it: set around the request's
    /// handling, so every event it writes records it (a token made by a manager for a clerk
    /// acts as the clerk, and the record must say so).
    pub static VIA_TOKEN: serde_json::Value;
}

/// The payload as stored: with the acting token, when there is one.
fn stamped(mut payload: serde_json::Value) -> String {
    if let (Ok(via), Some(map)) = (VIA_TOKEN.try_with(|v| v.clone()), payload.as_object_mut()) {
        map.insert("via_token".into(), via);
    }
    payload.to_string()
}

pub async fn append(tx: &mut Tx, at: DateTime<Utc>, e: NewEvent<'_>) -> Result<i64> {
    tx.returning(
        "INSERT INTO events (at, actor, kind, subject_type, subject_id, payload) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id AS value",
        values(at, e).to_vec(),
    )
    .await
}

/// Appends several entries in one statement (a command's events), in order.
pub async fn append_all(tx: &mut Tx, entries: Vec<(DateTime<Utc>, NewEvent<'_>)>) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO events (at, actor, kind, subject_type, subject_id, payload) VALUES {}",
        crate::db::placeholders(entries.len(), 6)
    );
    let mut args: Vec<Arg> = Vec::with_capacity(entries.len() * 6);
    for (at, e) in entries {
        args.extend(values(at, e));
    }
    tx.write(&sql, args).await
}

/// An entry's six values, in the order of the log's columns.
fn values(at: DateTime<Utc>, e: NewEvent<'_>) -> [Arg; 6] {
    [
        micros(at).into(),
        e.actor.into(),
        e.kind.into(),
        e.subject_type.into(),
        e.subject_id.into(),
        stamped(e.payload).into(),
    ]
}

/// The events of one subject, oldest first (a timeline).
pub async fn for_subject(db: &Db, subject_type: &str, subject_id: &str) -> Result<Vec<EventRow>> {
    db_run!(db, |c| {
        sqlx::query_as::<_, EventRow>(
        "SELECT id, at, actor, kind, subject_type, subject_id, payload FROM events WHERE subject_type = $1 AND subject_id = $2 ORDER BY id"
    )
    .bind(subject_type)
    .bind(subject_id)
    .fetch_all(c)
    .await
    .map_err(db_err)
    })
}

/// A subject's events of one kind since `since`, newest first, at most `limit`.
pub async fn recent_of_kind(
    db: &Db,
    subject: (&str, &str),
    kind: &str,
    since: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<EventRow>> {
    db_run!(db, |c| {
        sqlx::query_as::<_, EventRow>(sqlx::AssertSqlSafe(format!(
            "SELECT id, at, actor, kind, subject_type, subject_id, payload FROM events \
         WHERE subject_type = $1 AND subject_id = $2 AND kind = $3 AND at >= $4 \
         ORDER BY id DESC {}",
            crate::db::limit(limit)
        )))
        .bind(subject.0)
        .bind(subject.1)
        .bind(kind)
        .bind(crate::db::micros(since))
        .fetch_all(c)
        .await
        .map_err(db_err)
    })
}

/// Events after `after_id`, oldest first, at most `limit`: for feeds that resume.
pub async fn since(db: &Db, after_id: i64, limit: i64) -> Result<Vec<EventRow>> {
    db_run!(db, |c| {
        sqlx::query_as::<_, EventRow>(
        sqlx::AssertSqlSafe(format!("SELECT id, at, actor, kind, subject_type, subject_id, payload FROM events WHERE id > $1 ORDER BY id {}", crate::db::limit(limit)))
    )
    .bind(after_id)
    .fetch_all(c)
    .await
    .map_err(db_err)
    })
}

/// Appends an event that belongs to a hall, so the hall's live feed (`since_in_hall`) finds it.
/// Other server instances learn of it from [`announce_hall_events`], sent after the commit.
pub async fn append_in_hall(
    tx: &mut Tx,
    at: DateTime<Utc>,
    hall: &str,
    e: NewEvent<'_>,
) -> Result<i64> {
    let mut args = values(at, e).to_vec();
    args.push(hall.into());
    tx.returning(
        "INSERT INTO events (at, actor, kind, subject_type, subject_id, payload, hall) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id AS value",
        args,
    )
    .await
}

/// [`append_in_hall`] for a caller that needs no id: deferred with the transaction's other
/// writes ([`Tx::write`]).
pub async fn write_in_hall(
    tx: &mut Tx,
    at: DateTime<Utc>,
    hall: &str,
    e: NewEvent<'_>,
) -> Result<()> {
    let mut args = values(at, e).to_vec();
    args.push(hall.into());
    tx.write(
        "INSERT INTO events (at, actor, kind, subject_type, subject_id, payload, hall) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        args,
    )
    .await
}

/// The channel on which server instances tell each other that hall events were committed.
const HALL_EVENTS_CHANNEL: &str = "yichuang_hall_events";

/// On PostgreSQL: tells the other server instances that hall events were committed, so their
/// boards' feeds look now rather than at their next tick; `instance` names the sender, whose
/// own listener passes over it. On SQLite (one process writes) it does nothing.
///
/// Sent on its own after the commit, not by the writing transaction: PostgreSQL serializes the
/// commits of every transaction that notifies (the queue's lock is held through the sync of
/// the log), which made the hall's writes wait in line for each other (issue 9). One
/// notification may stand for many commits.
pub async fn announce_hall_events(db: &Db, instance: &str) -> Result<()> {
    if let Db::Postgres(p) = db {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(HALL_EVENTS_CHANNEL)
            .bind(instance)
            .execute(p)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct HallEventRow {
    pub id: i64,
    pub at: i64,
    pub kind: String,
    pub hall: String,
    pub payload: String,
}

/// The hall events (of every hall) that may be new to a reader that has read up to `cursor`,
/// oldest first, at most `limit`; `is_new` tells which ids it has not had. They run from the
/// first id it has not had, so rows it had after that one come along for it to pass over.
///
/// On PostgreSQL ids are handed out at insert, not at commit, so an event can become visible
/// after one with a higher id: the reader looks back `lookback` ids below its cursor. The look-
/// back reads ids only (from the feed's index, without the payloads), and rows are read from
/// the first id the reader has not had. On SQLite there is one writer at a time and ids are
/// never reused (`AUTOINCREMENT`), so every id below a visible one is visible already: nothing
/// to look back at, and a busy hall's feed does not re-read its last rows at every commit.
pub async fn hall_events_new_to(
    db: &Db,
    cursor: i64,
    lookback: i64,
    is_new: impl Fn(i64) -> bool,
    limit: i64,
) -> Result<Vec<HallEventRow>> {
    let first = match db {
        Db::Sqlite(_) => Some(cursor + 1),
        Db::Postgres(p) => sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!(
            "SELECT id FROM events WHERE hall IS NOT NULL AND id > $1 ORDER BY id {}",
            crate::db::limit(lookback + limit)
        )))
        .persistent(kept_prepared(db))
        .bind(cursor - lookback)
        .fetch_all(p)
        .await
        .map_err(db_err)?
        .into_iter()
        .find(|id| is_new(*id)),
    };
    match first {
        Some(first) => since_in_hall(db, None, first - 1, limit).await,
        None => Ok(vec![]),
    }
}

/// Whether the feed's reads are kept prepared: not on PostgreSQL. A prepared statement there
/// keeps the plan it was given once, and the feed's first reads run against an events table of
/// a few rows, where reading the whole table is cheapest. Without a fresh ANALYZE nothing
/// replaces that plan: with autovacuum off (as on the machine issue 9 was measured on) every
/// read of the feed then went through the whole event log: 100 million rows read in one
/// call-finish run, more than half of its statements' time. Planned at each run with the
/// cursor's value, the read goes down the index. SQLite's plan does not depend on the values:
/// kept.
fn kept_prepared(db: &Db) -> bool {
    matches!(db, Db::Sqlite(_))
}

/// Hall events after `after_id` (of one hall, or of every hall), oldest first, at most `limit`.
pub async fn since_in_hall(
    db: &Db,
    hall: Option<&str>,
    after_id: i64,
    limit: i64,
) -> Result<Vec<HallEventRow>> {
    db_run!(db, |c| {
        sqlx::query_as::<_, HallEventRow>(sqlx::AssertSqlSafe(format!(
            "SELECT id, at, kind, hall, payload FROM events \
             WHERE hall IS NOT NULL AND ($1 IS NULL OR hall = $1) AND id > $2 ORDER BY id {}",
            crate::db::limit(limit)
        )))
        .persistent(kept_prepared(db))
        .bind(hall)
        .bind(after_id)
        .fetch_all(c)
        .await
        .map_err(db_err)
    })
}

/// The calls (and recalls) of a hall at or after `since`, newest first, at most `limit`: what
/// a display board shows when it (re)loads.
pub async fn hall_calls_since(
    db: &Db,
    hall: &str,
    since: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<HallEventRow>> {
    db_run!(db, |c| {
        sqlx::query_as::<_, HallEventRow>(sqlx::AssertSqlSafe(format!(
            "SELECT id, at, kind, hall, payload FROM events \
             WHERE hall = $1 AND kind IN ('ticket_called', 'ticket_recalled') AND at >= $2 \
             ORDER BY id DESC {}",
            crate::db::limit(limit)
        )))
        .bind(hall)
        .bind(crate::db::micros(since))
        .fetch_all(c)
        .await
        .map_err(db_err)
    })
}

/// The newest event id (0 for an empty log): where a fresh feed starts.
pub async fn last_id(db: &Db) -> Result<i64> {
    db_run!(db, |c| {
        sqlx::query_scalar::<_, i64>("SELECT COALESCE(MAX(id), 0) FROM events")
            .fetch_one(c)
            .await
            .map_err(db_err)
    })
}

/// On PostgreSQL: listens for hall events announced by the other instances
/// ([`announce_hall_events`]) and calls `on` for each announcement not sent by `instance`,
/// reconnecting after a failure; never returns. On SQLite (one process writes) there is nothing
/// to listen to and it returns at once.
pub async fn listen_hall_events(db: &Db, instance: &str, on: impl Fn() + Send) {
    let Db::Postgres(pool) = db else { return };
    loop {
        let mut l = match sqlx::postgres::PgListener::connect_with(pool).await {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(error = %e, "hall events: LISTEN connection");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                continue;
            }
        };
        if let Err(e) = l.listen(HALL_EVENTS_CHANNEL).await {
            tracing::error!(error = %e, "hall events: LISTEN");
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            continue;
        }
        // A reconnect may have missed notifications: wake once to look.
        on();
        while let Ok(n) = l.recv().await {
            if n.payload() != instance {
                on();
            }
        }
    }
}
