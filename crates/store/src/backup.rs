//! Backup and restore (API-V1: `yichuang backup FILE`, `yichuang restore FILE`), the same on
//! both backends and across them.
//!
//! A backup is itself a SQLite database with the SQLite schema: a file anyone can open with
//! `sqlite3`, and one format whichever backend it came from or goes to. The material vault's
//! bytes travel inside it, in `vault_blobs.data`, whether the source kept them on disk or in the
//! database; a restore puts them where the target deployment keeps them.
//!
//! Consistency: from SQLite, `VACUUM INTO` copies one read snapshot while writers carry on
//! (WAL); from PostgreSQL every table is read in one REPEATABLE READ transaction. Either way the
//! backup holds every write committed before it began, and no half of any later one.
//!
//! A restore goes only into an empty database, in one transaction: it either loads everything
//! or changes nothing.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use futures_util::stream::{BoxStream, StreamExt, TryStreamExt};
use sqlx::postgres::PgConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode};
use sqlx::{AssertSqlSafe, Connection, Row};
use yichuang_domain::{Error, Result};

use crate::cases::vault::{self, BlobStore};
use crate::db::{SQLITE_MIGRATIONS, db_err};
use crate::{Db, Tx};

/// What a backup or restore moved.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub tables: usize,
    pub rows: u64,
    /// Vault files (blobs) carried.
    pub files: u64,
}

/// Written by the migrations themselves, so an otherwise empty database has it.
const SEEDED_BY_MIGRATIONS: &str = "calendar_version";

/// Kept by SQLite's triggers from other tables (`queue_waiting` from `tickets`), so never
/// copied: the copy's inserts rebuild it, and PostgreSQL has no such table.
const DERIVED: &str = "queue_waiting";

/// A chunk of rows goes to the target in one statement while it stays under both limits
/// (bind parameters, and memory when the rows carry vault files of up to 20 MB).
const MAX_PARAMS: usize = 900;
const MAX_CHUNK_BYTES: usize = 8 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Real,
    Bool,
    Text,
    Bytes,
}

impl Kind {
    /// From a declared type of either backend (`BIGINT`, `INTEGER`, `bigint`, `boolean`,
    /// `double precision`, `REAL`, `BLOB`, `bytea`, `TEXT`, `text`).
    fn of(declared: &str) -> Kind {
        let t = declared.to_ascii_uppercase();
        if t.contains("INT") {
            Kind::Int
        } else if t.contains("BOOL") {
            Kind::Bool
        } else if t.contains("REAL") || t.contains("DOUB") || t.contains("FLOA") {
            Kind::Real
        } else if t.contains("BLOB") || t.contains("BYTEA") {
            Kind::Bytes
        } else {
            Kind::Text
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Val {
    Null,
    Int(i64),
    Real(f64),
    Bool(bool),
    Text(String),
    Bytes(Vec<u8>),
}

impl Val {
    fn size(&self) -> usize {
        match self {
            Val::Text(s) => s.len(),
            Val::Bytes(b) => b.len(),
            _ => 8,
        }
    }

    /// A key for matching a self-reference (`regions.parent` → `regions.code`).
    fn key(&self) -> Option<String> {
        match self {
            Val::Null => None,
            Val::Int(i) => Some(i.to_string()),
            Val::Text(s) => Some(s.clone()),
            other => Some(format!("{other:?}")),
        }
    }
}

/// One connection of either backend, borrowed for a copy.
enum Conn<'a> {
    Sqlite(&'a mut SqliteConnection),
    Pg(&'a mut PgConnection),
}

/// A table as copied: its columns, each with its type on the reading and the writing side.
struct Table {
    name: String,
    cols: Vec<String>,
    src: Vec<Kind>,
    dst: Vec<Kind>,
    /// (referencing column, referenced column) when the table refers to itself.
    self_ref: Option<(usize, usize)>,
}

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

fn bad_file(detail: impl std::fmt::Display) -> Error {
    Error::invalid("invalid_backup_file", "这不是一窗的备份文件，或文件已损坏").with_detail(detail)
}

// ---------------------------------------------------------------------------------------------
// Schema questions, per backend.

/// The tables to copy, parents before children, from the SQLite schema of a backup file.
async fn plan(file: &mut SqliteConnection) -> Result<Vec<(String, Option<(String, String)>)>> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations' AND name <> $1 ORDER BY name",
    )
    .bind(DERIVED)
    .fetch_all(&mut *file)
    .await
    .map_err(bad_file)?;
    let mut deps: HashMap<String, HashSet<String>> = HashMap::new();
    let mut self_refs: HashMap<String, (String, String)> = HashMap::new();
    for n in &names {
        let fks: Vec<(String, String, Option<String>)> =
            sqlx::query_as(r#"SELECT "table", "from", "to" FROM pragma_foreign_key_list($1)"#)
                .bind(n)
                .fetch_all(&mut *file)
                .await
                .map_err(db_err)?;
        let mut d = HashSet::new();
        for (parent, from, to) in fks {
            if &parent == n {
                // A reference without a column names the primary key; the one self-reference
                // in the schema names its column.
                self_refs.insert(n.clone(), (from, to.unwrap_or_else(|| "id".into())));
            } else {
                d.insert(parent);
            }
        }
        deps.insert(n.clone(), d);
    }
    let mut order = Vec::new();
    let mut done: HashSet<String> = HashSet::new();
    while order.len() < names.len() {
        let ready: Vec<String> = names
            .iter()
            .filter(|n| !done.contains(*n))
            .filter(|n| {
                deps[*n]
                    .iter()
                    .all(|p| done.contains(p) || !deps.contains_key(p))
            })
            .cloned()
            .collect();
        if ready.is_empty() {
            return Err(Error::internal(
                "the foreign keys between tables form a cycle; a backup cannot order them",
            ));
        }
        for n in ready {
            done.insert(n.clone());
            let s = self_refs.remove(&n);
            order.push((n, s));
        }
    }
    Ok(order)
}

async fn columns(conn: &mut Conn<'_>, table: &str) -> Result<Vec<(String, Kind)>> {
    let cols: Vec<(String, String)> = match conn {
        Conn::Sqlite(c) => {
            sqlx::query_as("SELECT name, type FROM pragma_table_info($1) ORDER BY cid")
                .bind(table)
                .fetch_all(&mut **c)
                .await
                .map_err(db_err)?
        }
        Conn::Pg(c) => sqlx::query_as(
            "SELECT column_name::text, data_type::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
        )
        .bind(table)
        .fetch_all(&mut **c)
        .await
        .map_err(db_err)?,
    };
    Ok(cols.into_iter().map(|(n, t)| (n, Kind::of(&t))).collect())
}

/// Matches the backup file's columns of `name` with those of the other side.
async fn table(
    file: &mut SqliteConnection,
    other: &mut Conn<'_>,
    name: &str,
    self_ref: Option<(String, String)>,
    file_is_source: bool,
) -> Result<Table> {
    let mine = columns(&mut Conn::Sqlite(&mut *file), name).await?;
    let theirs: HashMap<String, Kind> = columns(other, name).await?.into_iter().collect();
    let mismatch = || {
        Error::invalid(
            "schema_mismatch",
            format!(
                "数据库结构与本程序的版本不一致（表 {name}）：请用同一版本的一窗备份和恢复，或先运行 yichuang migrate"
            ),
        )
    };
    if theirs.is_empty() {
        return Err(mismatch());
    }
    let mut t = Table {
        name: name.to_string(),
        cols: Vec::new(),
        src: Vec::new(),
        dst: Vec::new(),
        self_ref: None,
    };
    for (col, kind) in mine {
        let Some(other_kind) = theirs.get(&col).copied() else {
            return Err(mismatch());
        };
        let (s, d) = if file_is_source {
            (kind, other_kind)
        } else {
            (other_kind, kind)
        };
        t.cols.push(col);
        t.src.push(s);
        t.dst.push(d);
    }
    if let Some((from, to)) = self_ref {
        let at = |c: &str| t.cols.iter().position(|x| x == c);
        if let (Some(f), Some(o)) = (at(&from), at(&to)) {
            t.self_ref = Some((f, o));
        }
    }
    Ok(t)
}

// ---------------------------------------------------------------------------------------------
// Moving rows.

macro_rules! decode_row {
    ($row:expr, $kinds:expr) => {{
        let row = $row;
        let mut out = Vec::with_capacity($kinds.len());
        for (i, k) in $kinds.iter().enumerate() {
            let v = match k {
                Kind::Int => row
                    .try_get::<Option<i64>, _>(i)
                    .map(|o| o.map_or(Val::Null, Val::Int)),
                Kind::Real => row
                    .try_get::<Option<f64>, _>(i)
                    .map(|o| o.map_or(Val::Null, Val::Real)),
                Kind::Bool => row
                    .try_get::<Option<bool>, _>(i)
                    .map(|o| o.map_or(Val::Null, Val::Bool)),
                Kind::Text => row
                    .try_get::<Option<String>, _>(i)
                    .map(|o| o.map_or(Val::Null, Val::Text)),
                Kind::Bytes => row
                    .try_get::<Option<Vec<u8>>, _>(i)
                    .map(|o| o.map_or(Val::Null, Val::Bytes)),
            };
            out.push(v.map_err(db_err)?);
        }
        Ok::<Vec<Val>, Error>(out)
    }};
}

/// Binds `$v` as the target column's type: the same value may come as an integer from SQLite
/// and must go as a boolean to PostgreSQL, and a NULL must carry the column's type there.
macro_rules! bind_val {
    ($q:expr, $v:expr, $kind:expr) => {{
        let q = $q;
        let v = $v;
        let wrong = |v: &Val| Error::internal(format!("cannot store {v:?} as {:?}", $kind));
        match $kind {
            Kind::Int => q.bind(match v {
                Val::Null => None,
                Val::Int(i) => Some(i),
                Val::Bool(b) => Some(i64::from(b)),
                other => return Err(wrong(&other)),
            }),
            Kind::Real => q.bind(match v {
                Val::Null => None,
                Val::Real(f) => Some(f),
                Val::Int(i) => Some(i as f64),
                other => return Err(wrong(&other)),
            }),
            Kind::Bool => q.bind(match v {
                Val::Null => None,
                Val::Bool(b) => Some(b),
                Val::Int(i) => Some(i != 0),
                other => return Err(wrong(&other)),
            }),
            Kind::Text => q.bind(match v {
                Val::Null => None,
                Val::Text(s) => Some(s),
                Val::Int(i) => Some(i.to_string()),
                other => return Err(wrong(&other)),
            }),
            Kind::Bytes => q.bind(match v {
                Val::Null => None,
                Val::Bytes(b) => Some(b),
                Val::Text(s) => Some(s.into_bytes()),
                other => return Err(wrong(&other)),
            }),
        }
    }};
}

async fn insert(dst: &mut Conn<'_>, t: &Table, rows: Vec<Vec<Val>>) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let cols = t
        .cols
        .iter()
        .map(|c| quote(c))
        .collect::<Vec<_>>()
        .join(", ");
    // Ids are copied as they are: PostgreSQL's identity columns accept them only when told to.
    let overriding = match dst {
        Conn::Pg(_) => " OVERRIDING SYSTEM VALUE",
        Conn::Sqlite(_) => "",
    };
    let mut sql = format!(
        "INSERT INTO {} ({cols}){overriding} VALUES ",
        quote(&t.name)
    );
    let mut n = 0;
    for (r, _) in rows.iter().enumerate() {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..t.cols.len() {
            if c > 0 {
                sql.push_str(", ");
            }
            n += 1;
            sql.push_str(&format!("${n}"));
        }
        sql.push(')');
    }
    match dst {
        Conn::Sqlite(c) => {
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for row in rows {
                for (v, k) in row.into_iter().zip(&t.dst) {
                    q = bind_val!(q, v, *k);
                }
            }
            q.execute(&mut **c).await.map_err(db_err)?;
        }
        Conn::Pg(c) => {
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for row in rows {
                for (v, k) in row.into_iter().zip(&t.dst) {
                    q = bind_val!(q, v, *k);
                }
            }
            q.execute(&mut **c).await.map_err(db_err)?;
        }
    }
    Ok(())
}

/// Copies every row of `t` from `src` to `dst`, passing each through `each` on the way.
async fn copy_table<F, Fut>(
    src: &mut Conn<'_>,
    dst: &mut Conn<'_>,
    t: &Table,
    mut each: F,
) -> Result<u64>
where
    F: FnMut(Vec<Val>) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<Val>>>,
{
    let sql = format!(
        "SELECT {} FROM {}",
        t.cols
            .iter()
            .map(|c| quote(c))
            .collect::<Vec<_>>()
            .join(", "),
        quote(&t.name)
    );
    let kinds = &t.src;
    let mut rows: BoxStream<'_, Result<Vec<Val>>> = match src {
        Conn::Sqlite(c) => sqlx::query(AssertSqlSafe(sql))
            .fetch(&mut **c)
            .map(move |r| decode_row!(r.map_err(db_err)?, kinds))
            .boxed(),
        Conn::Pg(c) => sqlx::query(AssertSqlSafe(sql))
            .fetch(&mut **c)
            .map(move |r| decode_row!(r.map_err(db_err)?, kinds))
            .boxed(),
    };
    let per_chunk = (MAX_PARAMS / t.cols.len().max(1)).max(1);
    let mut count = 0u64;
    if let Some((from, to)) = t.self_ref {
        // A row may refer to a row of its own table (a region to its parent): parents first.
        let mut pending: Vec<Vec<Val>> = Vec::new();
        while let Some(row) = rows.try_next().await? {
            pending.push(each(row).await?);
        }
        drop(rows);
        let present: HashSet<String> = pending.iter().filter_map(|r| r[to].key()).collect();
        let mut placed: HashSet<String> = HashSet::new();
        while !pending.is_empty() {
            let (ready, rest): (Vec<_>, Vec<_>) = pending.into_iter().partition(|r| {
                r[from]
                    .key()
                    .is_none_or(|k| placed.contains(&k) || !present.contains(&k))
            });
            if ready.is_empty() {
                return Err(Error::internal(format!(
                    "rows of {} refer to each other in a cycle",
                    t.name
                )));
            }
            placed.extend(ready.iter().filter_map(|r| r[to].key()));
            count += ready.len() as u64;
            for chunk in ready.chunks(per_chunk) {
                insert(dst, t, chunk.to_vec()).await?;
            }
            pending = rest;
        }
        return Ok(count);
    }
    let mut chunk: Vec<Vec<Val>> = Vec::new();
    let mut bytes = 0;
    while let Some(row) = rows.try_next().await? {
        let row = each(row).await?;
        bytes += row.iter().map(Val::size).sum::<usize>();
        chunk.push(row);
        count += 1;
        if chunk.len() >= per_chunk || bytes >= MAX_CHUNK_BYTES {
            insert(dst, t, std::mem::take(&mut chunk)).await?;
            bytes = 0;
        }
    }
    insert(dst, t, chunk).await?;
    Ok(count)
}

// ---------------------------------------------------------------------------------------------
// The backup file.

async fn open_file(path: &Path, create: bool) -> Result<SqliteConnection> {
    let opts = SqliteConnectOptions::from_str("sqlite://")
        .map_err(Error::internal)?
        .filename(path)
        // Rows go in table by table; the target checks the references, not the file.
        .foreign_keys(false);
    let opts = if create {
        // One self-contained file: no -wal beside it to forget when copying it away.
        opts.create_if_missing(true)
            .journal_mode(SqliteJournalMode::Delete)
    } else {
        opts.read_only(true).immutable(true)
    };
    SqliteConnection::connect_with(&opts)
        .await
        .map_err(|e| bad_file(format!("{}: {e}", path.display())))
}

fn part_path(file: &Path) -> PathBuf {
    let mut s = file.as_os_str().to_owned();
    s.push(".part");
    PathBuf::from(s)
}

/// Takes a backup of `db` (at `database_url`, which tells where vault files live) into `file`,
/// which must not exist yet. The file appears only when complete.
pub async fn backup(db: &Db, database_url: &str, file: &Path) -> Result<Summary> {
    if file.exists() {
        return Err(Error::invalid(
            "backup_file_exists",
            format!(
                "备份文件 {} 已存在：请换一个文件名（不会覆盖已有的备份）",
                file.display()
            ),
        ));
    }
    let part = part_path(file);
    let _ = std::fs::remove_file(&part);
    let result = backup_into(db, database_url, &part).await;
    match result {
        Ok(s) => {
            std::fs::rename(&part, file).map_err(|e| {
                Error::invalid(
                    "backup_write_failed",
                    format!("无法写入备份文件 {}：{e}", file.display()),
                )
            })?;
            Ok(s)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&part);
            Err(e)
        }
    }
}

async fn backup_into(db: &Db, database_url: &str, part: &Path) -> Result<Summary> {
    let mut summary = Summary::default();
    let blobs = vault::blob_store(db, database_url).await?;
    match db {
        Db::Sqlite(p) => {
            let path = part
                .to_str()
                .ok_or_else(|| Error::invalid("backup_path", "备份文件路径须为 UTF-8 文本"))?;
            // One read snapshot of the whole database, taken while writers go on (WAL).
            sqlx::query("VACUUM INTO $1")
                .bind(path)
                .execute(p)
                .await
                .map_err(|e| {
                    Error::invalid(
                        "backup_write_failed",
                        format!("无法写入备份文件 {}", part.display()),
                    )
                    .with_detail(e)
                })?;
            let mut file = open_file(part, true).await?;
            for (name, _) in plan(&mut file).await? {
                let n: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
                    "SELECT COUNT(*) FROM {}",
                    quote(&name)
                )))
                .fetch_one(&mut file)
                .await
                .map_err(db_err)?;
                summary.tables += 1;
                summary.rows += n as u64;
            }
            summary.files = carry_files(&mut file, &blobs).await?;
            file.close().await.map_err(db_err)?;
        }
        Db::Postgres(p) => {
            let mut file = open_file(part, true).await?;
            SQLITE_MIGRATIONS
                .run(&mut file)
                .await
                .map_err(|e| Error::internal(format!("backup schema: {e}")))?;
            // The migrations seed this row; the source's own row replaces it.
            sqlx::query("DELETE FROM calendar_version")
                .execute(&mut file)
                .await
                .map_err(db_err)?;
            let mut tx = p.begin().await.map_err(db_err)?;
            // Every table as of one moment, however long the copy takes.
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            let order = plan(&mut file).await?;
            let mut ftx = file.begin().await.map_err(db_err)?;
            for (name, self_ref) in order {
                let mut src = Conn::Pg(&mut tx);
                let t = table(&mut ftx, &mut src, &name, self_ref, false).await?;
                let mut dst = Conn::Sqlite(&mut ftx);
                summary.rows +=
                    copy_table(&mut src, &mut dst, &t, |r| async move { Ok(r) }).await?;
                summary.tables += 1;
            }
            tx.rollback().await.map_err(db_err)?;
            ftx.commit().await.map_err(db_err)?;
            summary.files = carry_files(&mut file, &blobs).await?;
            file.close().await.map_err(db_err)?;
        }
    }
    Ok(summary)
}

/// Puts the bytes of every blob kept on disk into the backup file's `vault_blobs.data`, so the
/// file is the whole backup. Returns how many blobs the backup carries.
async fn carry_files(file: &mut SqliteConnection, blobs: &BlobStore) -> Result<u64> {
    let missing: Vec<String> =
        sqlx::query_scalar("SELECT sha256 FROM vault_blobs WHERE data IS NULL ORDER BY sha256")
            .fetch_all(&mut *file)
            .await
            .map_err(db_err)?;
    for sha in &missing {
        let bytes = match blobs {
            BlobStore::Dir(d) => tokio::fs::read(d.path(sha)).await.ok(),
            BlobStore::Db(_) => None,
        };
        let Some(bytes) = bytes else {
            return Err(Error::invalid(
                "vault_file_missing",
                format!("材料库文件缺失：{sha}（数据库中有记录，但找不到文件），备份未完成"),
            ));
        };
        sqlx::query("UPDATE vault_blobs SET data = $1 WHERE sha256 = $2")
            .bind(bytes)
            .bind(sha)
            .execute(&mut *file)
            .await
            .map_err(db_err)?;
    }
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM vault_blobs")
        .fetch_one(&mut *file)
        .await
        .map_err(db_err)?;
    Ok(n as u64)
}

// ---------------------------------------------------------------------------------------------
// Restore.

/// The first table of the target with rows other than what the migrations seed, if any.
async fn first_nonempty(conn: &mut Conn<'_>) -> Result<Option<String>> {
    let names: Vec<String> = match conn {
        Conn::Sqlite(c) => sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations' ORDER BY name",
        )
        .fetch_all(&mut **c)
        .await
        .map_err(db_err)?,
        Conn::Pg(c) => sqlx::query_scalar(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
             AND table_name <> '_sqlx_migrations' ORDER BY table_name",
        )
        .fetch_all(&mut **c)
        .await
        .map_err(db_err)?,
    };
    for name in names {
        let filter = if name == SEEDED_BY_MIGRATIONS {
            " WHERE NOT (id = 1 AND version = 0)"
        } else {
            ""
        };
        let sql = format!("SELECT 1 FROM {}{filter} LIMIT 1", quote(&name));
        let any = match conn {
            Conn::Sqlite(c) => sqlx::query(AssertSqlSafe(sql))
                .fetch_optional(&mut **c)
                .await
                .map_err(db_err)?
                .is_some(),
            Conn::Pg(c) => sqlx::query(AssertSqlSafe(sql))
                .fetch_optional(&mut **c)
                .await
                .map_err(db_err)?
                .is_some(),
        };
        if any {
            return Ok(Some(name));
        }
    }
    Ok(None)
}

fn not_empty(table: &str) -> Error {
    Error::conflict(
        "database_not_empty",
        format!(
            "目标数据库不是空的（表 {table} 中已有数据），未做任何改动。只能恢复到新建的空数据库：\
             PostgreSQL 请先 createdb 一个新库，SQLite 请给一个尚不存在的文件路径，且恢复前不要在其上启动一窗"
        ),
    )
}

async fn migration_versions(file: &mut SqliteConnection) -> Result<Vec<i64>> {
    sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
        .fetch_all(&mut *file)
        .await
        .map_err(bad_file)
}

/// Restores `file` into `db` (at `database_url`, which tells where vault files go), which must
/// be empty: freshly created, at most migrated. Migrates it, then loads every row in one
/// transaction. A non-empty target is refused before anything is written to it.
pub async fn restore(file: &Path, db: &Db, database_url: &str) -> Result<Summary> {
    if !file.is_file() {
        return Err(Error::invalid(
            "backup_file_missing",
            format!("找不到备份文件 {}", file.display()),
        ));
    }
    let mut src = open_file(file, false).await?;
    let theirs = migration_versions(&mut src).await?;
    let ours = crate::db::migration_versions().0;
    let _upgraded = if theirs == ours {
        None
    } else if theirs.iter().all(|v| ours.contains(v)) && theirs.len() < ours.len() {
        // An older backup: bring a copy up to this version's schema first, as a server start
        // would have brought the database it came from.
        drop(src);
        let copy = std::env::temp_dir().join(format!(
            "yichuang-restore-{}-{}.db",
            std::process::id(),
            chrono::Utc::now().timestamp_micros()
        ));
        tokio::fs::copy(file, &copy)
            .await
            .map_err(|e| Error::internal(format!("copy the backup to {}: {e}", copy.display())))?;
        let guard = TempFile(copy.clone());
        let mut c = open_file(&copy, true).await?;
        SQLITE_MIGRATIONS
            .run(&mut c)
            .await
            .map_err(|e| Error::internal(format!("upgrade the backup's schema: {e}")))?;
        src = c;
        Some(guard)
    } else {
        return Err(Error::invalid(
            "backup_from_newer_version",
            "备份来自更新版本的一窗，本程序无法恢复：请用与备份相同或更新的版本恢复",
        ));
    };

    {
        // Before migrating: an existing database with data is left exactly as it was.
        let mut conn = db_conn(db).await?;
        if let Some(t) = first_nonempty(&mut conn.as_conn()).await? {
            return Err(not_empty(&t));
        }
    }
    db.migrate().await?;

    let order = plan(&mut src).await?;
    let blobs = {
        let setting: Option<String> =
            sqlx::query_scalar("SELECT value FROM settings WHERE key = 'vault.dir'")
                .fetch_optional(&mut src)
                .await
                .map_err(bad_file)?;
        let setting = setting.and_then(|s| serde_json::from_str(&s).ok());
        vault::blob_store_for(database_url, setting.as_ref())
    };

    let mut tx = db.begin().await?;
    let mut summary = Summary::default();
    {
        let mut dst = tx_conn(&mut tx).await?;
        // Checked again inside the transaction: nothing may have started on it meanwhile.
        if let Some(t) = first_nonempty(&mut dst).await? {
            return Err(not_empty(&t));
        }
        let seeded = format!("DELETE FROM {}", quote(SEEDED_BY_MIGRATIONS));
        match &mut dst {
            Conn::Sqlite(c) => sqlx::query(AssertSqlSafe(seeded))
                .execute(&mut **c)
                .await
                .map(|_| ()),
            Conn::Pg(c) => sqlx::query(AssertSqlSafe(seeded))
                .execute(&mut **c)
                .await
                .map(|_| ()),
        }
        .map_err(db_err)?;
        for (name, self_ref) in order {
            let t = table(&mut src, &mut dst, &name, self_ref, true).await?;
            let mut from = Conn::Sqlite(&mut src);
            let rows = if name == "vault_blobs" {
                let sha_at = t.cols.iter().position(|c| c == "sha256");
                let data_at = t.cols.iter().position(|c| c == "data");
                let (Some(sha_at), Some(data_at)) = (sha_at, data_at) else {
                    return Err(bad_file("vault_blobs lacks sha256 or data"));
                };
                let blobs = &blobs;
                let files = &mut summary.files;
                copy_table(&mut from, &mut dst, &t, |mut row| {
                    *files += 1;
                    async move {
                        let Val::Text(sha) = row[sha_at].clone() else {
                            return Err(bad_file("vault_blobs.sha256 is not text"));
                        };
                        let Val::Bytes(bytes) = std::mem::replace(&mut row[data_at], Val::Null)
                        else {
                            return Err(Error::invalid(
                                "vault_file_missing",
                                format!("备份中缺少材料库文件 {sha}，未做任何改动"),
                            ));
                        };
                        if vault::sha256_hex(&bytes) != sha {
                            return Err(bad_file(format!("vault blob {sha} does not match")));
                        }
                        match blobs {
                            BlobStore::Dir(d) => {
                                d.write(&sha, &bytes)?;
                            }
                            BlobStore::Db(_) => row[data_at] = Val::Bytes(bytes),
                        }
                        Ok(row)
                    }
                })
                .await?
            } else {
                copy_table(&mut from, &mut dst, &t, |r| async move { Ok(r) }).await?
            };
            summary.tables += 1;
            summary.rows += rows;
        }
        if let Conn::Pg(c) = &mut dst {
            reset_identities(c).await?;
        }
    }
    tx.commit().await?;
    Ok(summary)
}

/// Identity columns were given their values explicitly; their sequences must go on after the
/// largest, or the next insert would collide.
async fn reset_identities(c: &mut PgConnection) -> Result<()> {
    let idents: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND is_identity = 'YES'",
    )
    .fetch_all(&mut *c)
    .await
    .map_err(db_err)?;
    for (t, col) in idents {
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence($1, $2), m) FROM (SELECT MAX({}) AS m FROM {}) x \
             WHERE m IS NOT NULL",
            quote(&col),
            quote(&t)
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(quote(&t))
            .bind(&col)
            .fetch_optional(&mut *c)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

/// Removes the upgraded copy of an older backup when the restore ends.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

enum PoolConn {
    Sqlite(sqlx::pool::PoolConnection<sqlx::Sqlite>),
    Pg(sqlx::pool::PoolConnection<sqlx::Postgres>),
}

impl PoolConn {
    fn as_conn(&mut self) -> Conn<'_> {
        match self {
            PoolConn::Sqlite(c) => Conn::Sqlite(c),
            PoolConn::Pg(c) => Conn::Pg(c),
        }
    }
}

async fn db_conn(db: &Db) -> Result<PoolConn> {
    Ok(match db {
        Db::Sqlite(p) => PoolConn::Sqlite(p.acquire().await.map_err(db_err)?),
        Db::Postgres(p) => PoolConn::Pg(p.acquire().await.map_err(db_err)?),
    })
}

async fn tx_conn(tx: &mut Tx) -> Result<Conn<'_>> {
    tx.flush().await?;
    Ok(match tx {
        Tx::Sqlite(w) => Conn::Sqlite(w.conn()),
        Tx::Postgres(w) => Conn::Pg(w.conn()),
    })
}
