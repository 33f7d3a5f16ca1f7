//! Versioned item snapshots and process definitions: a running case keeps the versions it
//! started with, whatever is saved later.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use yichuang_domain::case::ProcessDefinition;
use yichuang_domain::catalogue::{Bundle, ServiceItem};
use yichuang_domain::{Error, Result};

use crate::db::{db_err, micros};
use crate::{Db, Tx, db_run, tx_run};

/// The two versioned tables share their shape: (code, version, body).
#[derive(Clone, Copy)]
enum Table {
    Items,
    Processes,
    Bundles,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::Items => "item_versions",
            Table::Processes => "process_definitions",
            Table::Bundles => "bundle_versions",
        }
    }
}

async fn latest_of<T: DeserializeOwned>(
    db: &Db,
    table: Table,
    code: &str,
) -> Result<Option<(i64, T)>> {
    let sql = format!(
        "SELECT version, body FROM {} WHERE code = $1 ORDER BY version DESC LIMIT 1",
        table.name()
    );
    let row: Option<(i64, String)> =
        db_run!(db, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(code)
            .fetch_optional(c)
            .await
            .map_err(db_err)?);
    row.map(|(v, b)| Ok((v, serde_json::from_str(&b).map_err(Error::internal)?)))
        .transpose()
}

/// Item, process and bundle versions already read, parsed, by database, table, code and
/// version: a version is written once and never changed (a changed definition is a new
/// version), so one read serves every later command of every case that runs it. Kept parsed:
/// a case command looks its item and process up inside the writer's turn, and parsing the
/// item's JSON there each time was the larger part of the lookup (issue 9).
type Parsed = std::collections::HashMap<
    (String, &'static str, String, i64),
    std::sync::Arc<dyn std::any::Any + Send + Sync>,
>;
static PARSED: std::sync::Mutex<Option<Parsed>> = std::sync::Mutex::new(None);
/// Enough for every version a province's running cases use; past it the cache starts over.
const PARSED_MAX: usize = 20_000;

async fn version_of<T: DeserializeOwned + Clone + Send + Sync + 'static>(
    db: &Db,
    table: Table,
    code: &str,
    version: i64,
) -> Result<Option<T>> {
    let key = (db.identity(), table.name(), code.to_string(), version);
    let known = PARSED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .and_then(|m| m.get(&key).cloned());
    // A table's entries are all of its one type, so the downcast fails for none of them.
    if let Some(v) = known.as_ref().and_then(|v| v.downcast_ref::<T>()) {
        return Ok(Some(v.clone()));
    }
    let Some(body) = read_version(db, table, code, version).await? else {
        return Ok(None);
    };
    let parsed: T = serde_json::from_str(&body).map_err(Error::internal)?;
    let mut m = PARSED.lock().unwrap_or_else(|e| e.into_inner());
    let m = m.get_or_insert_with(Default::default);
    if m.len() >= PARSED_MAX {
        m.clear();
    }
    m.insert(key, std::sync::Arc::new(parsed.clone()));
    Ok(Some(parsed))
}

async fn read_version(db: &Db, table: Table, code: &str, version: i64) -> Result<Option<String>> {
    let sql = format!(
        "SELECT body FROM {} WHERE code = $1 AND version = $2",
        table.name()
    );
    let body: Option<String> =
        db_run!(db, |c| sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()))
            .bind(code)
            .bind(version)
            .fetch_optional(c)
            .await
            .map_err(db_err)?);
    Ok(body)
}

/// Saves `body` as the next version of `code` unless it equals the latest; returns the version.
async fn save<T: Serialize>(
    tx: &mut Tx,
    table: Table,
    code: &str,
    body: &T,
    now: DateTime<Utc>,
) -> Result<i64> {
    let text = serde_json::to_string(body).map_err(Error::internal)?;
    let sql = format!(
        "SELECT version, body FROM {} WHERE code = $1 ORDER BY version DESC LIMIT 1",
        table.name()
    );
    let latest: Option<(i64, String)> = tx_run!(&mut *tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(
        sql.clone()
    ))
    .bind(code)
    .fetch_optional(c)
    .await
    .map_err(db_err)?);
    if let Some((v, b)) = &latest
        && *b == text
    {
        return Ok(*v);
    }
    let version = latest.map_or(1, |(v, _)| v + 1);
    let insert = format!(
        "INSERT INTO {} (code, version, body, created_at) VALUES ($1, $2, $3, $4)",
        table.name()
    );
    tx_run!(&mut *tx, |c| sqlx::query(sqlx::AssertSqlSafe(
        insert.clone()
    ))
    .bind(code)
    .bind(version)
    .bind(&text)
    .bind(micros(now))
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected());
    // The latest process of each code is kept against the change counter (`latest_process`).
    crate::calendar::bump(tx).await?;
    Ok(version)
}

/// Records a version the catalogue numbered (cases received at once record it together, so
/// the first one wins and the rest find it there). A version this process has read back is
/// stored already: nothing is written, and its body is not serialized again inside the
/// writer's turn (issue 9).
async fn record<T: Serialize>(
    tx: &mut Tx,
    table: Table,
    code: &str,
    version: i64,
    body: &T,
    now: DateTime<Utc>,
) -> Result<()> {
    let key = (tx.db().identity(), table.name(), code.to_string(), version);
    let read_back = PARSED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .is_some_and(|m| m.contains_key(&key));
    if read_back {
        return Ok(());
    }
    let text = serde_json::to_string(body).map_err(Error::internal)?;
    let sql = format!(
        "INSERT INTO {} (code, version, body, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (code, version) DO NOTHING",
        table.name()
    );
    tx.write(
        &sql,
        vec![code.into(), version.into(), text.into(), micros(now).into()],
    )
    .await
}

/// Records the catalogue's item `version` as a case receives it.
pub async fn record_item(
    tx: &mut Tx,
    item: &ServiceItem,
    version: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    record(tx, Table::Items, &item.code, version, item, now).await
}

pub async fn item_version(db: &Db, code: &str, version: i64) -> Result<Option<ServiceItem>> {
    version_of(db, Table::Items, code, version).await
}

/// Saves a definition (already validated) as a new version and returns it with that version.
pub async fn save_process(
    tx: &mut Tx,
    def: &ProcessDefinition,
    now: DateTime<Utc>,
) -> Result<ProcessDefinition> {
    // The version is the table's, not the caller's: compare and store without it.
    let mut body = def.clone();
    body.version = 0;
    let version = save(tx, Table::Processes, &def.code, &body, now).await?;
    body.version = u32::try_from(version).map_err(Error::internal)?;
    Ok(body)
}

/// The latest process of each code as last read, kept against the change counter, which a
/// new version moves (`save`): a receipt does not read it while none was saved (issue 9).
static LATEST_PROCESSES: crate::kept::Kept<String, Option<ProcessDefinition>> =
    crate::kept::Kept::new();

pub async fn latest_process(db: &Db, code: &str) -> Result<Option<ProcessDefinition>> {
    let read = async {
        Ok(latest_of::<ProcessDefinition>(db, Table::Processes, code)
            .await?
            .map(|(v, mut d)| {
                d.version = v as u32;
                d
            }))
    };
    LATEST_PROCESSES
        .get_or_read(db, code.to_string(), read)
        .await
}

pub async fn process_version(
    db: &Db,
    code: &str,
    version: i64,
) -> Result<Option<ProcessDefinition>> {
    Ok(
        version_of::<ProcessDefinition>(db, Table::Processes, code, version)
            .await?
            .map(|mut d| {
                d.version = version as u32;
                d
            }),
    )
}

/// Records the catalogue's bundle `version` as a bundle case receives it.
pub async fn record_bundle(
    tx: &mut Tx,
    bundle: &Bundle,
    version: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    record(tx, Table::Bundles, &bundle.code, version, bundle, now).await
}

pub async fn bundle_version(db: &Db, code: &str, version: i64) -> Result<Option<Bundle>> {
    version_of(db, Table::Bundles, code, version).await
}
