//! One database handle over two backends.
//!
//! The pattern (vaultwarden's multi-backend layer, on async sqlx): an enum over the concrete
//! pools, one query text for both, and a per-backend branch only where the SQL must differ.
//! Query bodies are written once inside [`tx_run!`] / [`db_run!`], which expand them for each
//! backend so the compiler checks both.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use yichuang_domain::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A write transaction. Commit explicitly; dropping it rolls back.
pub enum Tx {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// Runs `$body` with `$c` bound to the transaction's connection (`&mut SqliteConnection` or
/// `&mut PgConnection`). Use `&mut *$c` for each query when the body runs several.
#[macro_export]
macro_rules! tx_run {
    ($tx:expr, |$c:ident| $body:expr) => {{
        match $tx {
            $crate::Tx::Sqlite(__t) => {
                let $c = &mut **__t;
                $body
            }
            $crate::Tx::Postgres(__t) => {
                let $c = &mut **__t;
                $body
            }
        }
    }};
}

/// Runs `$body` with `$c` bound to the pool (`&SqlitePool` or `&PgPool`): for reads.
#[macro_export]
macro_rules! db_run {
    ($db:expr, |$c:ident| $body:expr) => {{
        match $db {
            $crate::Db::Sqlite(__p) => {
                let $c = __p;
                $body
            }
            $crate::Db::Postgres(__p) => {
                let $c = __p;
                $body
            }
        }
    }};
}

pub(crate) static SQLITE_MIGRATIONS: sqlx::migrate::Migrator =
    sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The versions of each backend's migration set, for the test that keeps them in step.
pub fn migration_versions() -> (Vec<i64>, Vec<i64>) {
    let v = |m: &sqlx::migrate::Migrator| m.iter().map(|x| x.version).collect::<Vec<_>>();
    (v(&SQLITE_MIGRATIONS), v(&POSTGRES_MIGRATIONS))
}

impl Db {
    /// Connects by URL scheme: `sqlite://PATH` (created if missing) or `postgres://…`.
    pub async fn connect(url: &str) -> Result<Db> {
        if let Some(rest) = url.strip_prefix("sqlite:") {
            let path = rest.trim_start_matches("//");
            if path.is_empty() {
                return Err(Error::invalid(
                    "invalid_database_url",
                    "SQLite 数据库地址缺少文件路径，例如 sqlite://yichuang.db",
                ));
            }
            let opts = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))
                .map_err(|e| {
                    Error::invalid("invalid_database_url", format!("无法解析数据库地址：{e}"))
                })?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                // SQLite's own page cache is 2 MB per connection by default; with a million
                // cases the indexes an acceptance touches no longer fit and every statement
                // copies pages in from the OS. 32 MB per connection (at most 8) keeps them.
                .pragma("cache_size", "-32768");
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .connect_with(opts)
                .await
                .map_err(|e| {
                    Error::new(
                        yichuang_domain::Kind::Unavailable,
                        "database_unavailable",
                        format!("无法打开数据库文件 {path}：{e}"),
                    )
                })?;
            Ok(Db::Sqlite(pool))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect(url)
                .await
                .map_err(|e| {
                    Error::new(
                        yichuang_domain::Kind::Unavailable,
                        "database_unavailable",
                        format!("无法连接 PostgreSQL：{e}"),
                    )
                })?;
            Ok(Db::Postgres(pool))
        } else {
            Err(Error::invalid(
                "invalid_database_url",
                "不支持的数据库地址：只支持 sqlite://文件路径 或 postgres://用户@主机/数据库",
            )
            .field("database", "地址须以 sqlite:// 或 postgres:// 开头"))
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies the embedded migrations of this backend (PostgreSQL takes an advisory lock, so
    /// several instances starting at once are safe).
    pub async fn migrate(&self) -> Result<()> {
        match self {
            Db::Sqlite(p) => SQLITE_MIGRATIONS.run(p).await,
            Db::Postgres(p) => POSTGRES_MIGRATIONS.run(p).await,
        }
        .map_err(|e| Error::internal(format!("migration failed: {e}")))
    }

    /// Begins a write transaction. On SQLite it is `BEGIN IMMEDIATE`: the write lock is taken
    /// up front, so a transaction that reads and then writes cannot fail half-way with
    /// SQLITE_BUSY (the busy timeout only helps when the lock is asked for at the start).
    pub async fn begin(&self) -> Result<Tx> {
        Ok(match self {
            Db::Sqlite(p) => Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await.map_err(db_err)?),
            Db::Postgres(p) => Tx::Postgres(p.begin().await.map_err(db_err)?),
        })
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite(p) => p.close().await,
            Db::Postgres(p) => p.close().await,
        }
    }
}

impl Tx {
    pub async fn commit(self) -> Result<()> {
        match self {
            Tx::Sqlite(t) => t.commit().await,
            Tx::Postgres(t) => t.commit().await,
        }
        .map_err(db_err)
    }

    pub fn backend(&self) -> Backend {
        match self {
            Tx::Sqlite(_) => Backend::Sqlite,
            Tx::Postgres(_) => Backend::Postgres,
        }
    }
}

/// Maps a driver error onto the platform's error: unique violations become a conflict the
/// caller can explain; everything else is internal (logged, not shown).
pub fn db_err(e: sqlx::Error) -> Error {
    if let Some(d) = e.as_database_error() {
        if d.is_unique_violation() {
            return Error::conflict("duplicate", "记录已存在（编码或名称重复）")
                .with_detail(d.message());
        }
        if d.is_foreign_key_violation() {
            return Error::invalid("unknown_reference", "引用的记录不存在")
                .with_detail(d.message());
        }
    }
    if matches!(e, sqlx::Error::RowNotFound) {
        return Error::not_found("not_found", "记录不存在");
    }
    Error::internal(e)
}

/// Timestamps are stored as UTC microseconds since the epoch (BIGINT on both backends): one
/// representation, exact, and the same bind code everywhere.
pub fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

pub fn from_micros(us: i64) -> DateTime<Utc> {
    Utc.timestamp_micros(us).single().unwrap_or_default()
}
