//! Settings: the practice rules (RULES.md marks them "practice") are settings with defaults,
//! not constants. Stored as JSON values under a dotted key, e.g. `case.deemed_confirm_minutes`.

use chrono::{DateTime, Utc};
use yichuang_domain::Result;

use crate::db::{db_err, micros};
use crate::kept::Kept;
use crate::{Db, Tx, db_run, tx_run};

const VALUE_OF: &str = "SELECT value FROM settings WHERE key = $1";

/// Settings are read by many requests and changed rarely: kept (see [`crate::kept`]); `put`
/// moves the change counter.
static KEPT: Kept<String, Option<serde_json::Value>> = Kept::new();

pub async fn get(db: &Db, key: &str) -> Result<Option<serde_json::Value>> {
    KEPT.get_or_read(db, key.to_string(), async {
        let v: Option<String> = db_run!(db, |c| sqlx::query_scalar(VALUE_OF)
            .bind(key)
            .fetch_optional(c)
            .await
            .map_err(db_err)?);
        Ok(decode(v))
    })
    .await
}

fn decode(v: Option<String>) -> Option<serde_json::Value> {
    v.and_then(|s| serde_json::from_str(&s).ok())
}

pub async fn put(
    tx: &mut Tx,
    key: &str,
    value: &serde_json::Value,
    now: DateTime<Utc>,
) -> Result<()> {
    let v = value.to_string();
    // Every instance caches settings against the change counter.
    crate::calendar::bump(tx).await?;
    tx_run!(tx, |c| sqlx::query(
        "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at"
    )
    .bind(key)
    .bind(v)
    .bind(micros(now))
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected());
    Ok(())
}

/// A setting read by code that runs inside a write transaction: the kept value, as of the last
/// commit (no setting is changed in the same transaction as it is read).
pub async fn get_in(tx: &mut Tx, key: &str) -> Result<Option<serde_json::Value>> {
    let db = tx.db().clone();
    get(&db, key).await
}
