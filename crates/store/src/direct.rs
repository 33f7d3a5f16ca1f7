//! The SQLite writer's own connection, on which the holder of the writer's turn runs its
//! statements itself (issue 9).
//!
//! sqlx-sqlite runs each connection on a thread of its own, and every statement is a round
//! trip to that thread. Shared transactions used to begin on whichever pooled connection was
//! free, so each began with a cold page cache (in WAL mode a connection drops its cache when
//! another has written) and prepared its statements again. `perf` showed a third of the turn's
//! work in `sqlite3_prepare`. So the writer keeps one connection of its own ([`WriterConn`]):
//! its pages stay warm and the statements it has prepared stay prepared. The turn's holder
//! borrows it from its thread (sqlx's `lock_handle`, made for this) and runs the transaction's
//! reads and writes through rusqlite on the same handle. The connection's thread waits,
//! blocked, until it is given the handle back, which happens before any statement goes through
//! sqlx again ([`crate::tx_run!`], a rollback, a `BEGIN IMMEDIATE` that must wait for another
//! process). `BEGIN IMMEDIATE` and `COMMIT` run on the lent handle too, so a write path with
//! no statement through sqlx (the case commands, the hall's calls) keeps the handle lent from
//! one shared transaction to the next.

use std::os::unix::fs::MetadataExt;

use serde::de::DeserializeOwned;
use sqlx::ConnectOptions;
use yichuang_domain::{Error, Result};

use crate::db::{Arg, db_err};

/// The writer's connection to its file. Fields drop in order: the prepared statements are
/// finalized while the handle is still lent, and the lock is given back before the connection
/// is dropped.
pub(crate) struct WriterConn {
    /// rusqlite over the connection's handle, holding the statements prepared on it.
    prepared: Option<rusqlite::Connection>,
    lent: Option<Lent>,
    conn: sqlx::SqliteConnection,
    /// The file it opened (device and inode): a file made anew under the same path is not the
    /// one this connection writes (checked by `Db::connect`).
    file: (u64, u64),
    /// A transaction is open on it (begun, and neither committed nor rolled back yet).
    in_tx: bool,
}

/// The connection's handle while it is lent to this thread: the lock keeps the connection's
/// own thread off it.
struct Lent(#[allow(dead_code)] sqlx::sqlite::LockedSqliteHandle<'static>);

impl WriterConn {
    /// Opens the writer's connection with the options of `pool` (the same file and pragmas).
    pub(crate) async fn open(pool: &sqlx::SqlitePool) -> Result<WriterConn> {
        let options = pool.connect_options();
        let conn = options.connect().await.map_err(db_err)?;
        let file = file_identity(options.get_filename())
            .ok_or_else(|| Error::internal("the SQLite file vanished as it was opened"))?;
        Ok(WriterConn {
            prepared: None,
            lent: None,
            conn,
            file,
            in_tx: false,
        })
    }

    /// Whether this connection still writes the file at `path`.
    pub(crate) fn writes(&self, path: &std::path::Path) -> bool {
        file_identity(path) == Some(self.file)
    }

    /// The connection, for a statement through sqlx: its handle is given back to its thread
    /// first.
    pub(crate) fn sqlx(&mut self) -> &mut sqlx::SqliteConnection {
        self.lent = None;
        &mut self.conn
    }

    /// The connection on this thread, borrowed from its own thread if it is not already.
    pub(crate) async fn here(&mut self) -> Result<&rusqlite::Connection> {
        if self.lent.is_none() {
            let since = std::time::Instant::now();
            let mut lock = self.conn.lock_handle().await.map_err(db_err)?;
            let handle = lock
                .as_raw_handle()
                .as_ptr()
                .cast::<rusqlite::ffi::sqlite3>();
            // SAFETY: the lock borrows `conn`, which lives beside it in this struct, so its
            // lifetime is not one the compiler can name. What it refers to is the connection's
            // state behind the `Arc` its thread shares, which moving this struct does not move;
            // it is dropped before `conn` (field order, and `sqlx` above).
            let lock = unsafe {
                std::mem::transmute::<
                    sqlx::sqlite::LockedSqliteHandle<'_>,
                    sqlx::sqlite::LockedSqliteHandle<'static>,
                >(lock)
            };
            self.lent = Some(Lent(lock));
            if self.prepared.is_none() {
                // SAFETY: the handle is this connection's for as long as `conn` lives, and
                // rusqlite does not close a handle it does not own.
                let c = unsafe { rusqlite::Connection::from_handle(handle) }.map_err(direct_err)?;
                c.set_prepared_statement_cache_capacity(64);
                self.prepared = Some(c);
            }
            crate::statements::lent_here(since);
        }
        Ok(self.prepared.as_ref().expect("made when first lent"))
    }

    /// Begins a shared transaction, rolling back first one a member dropped while the handle was
    /// not lent ([`WriterConn::roll_back_now`]).
    ///
    /// On the lent handle, not through sqlx: the turn's first statements need the handle here
    /// anyway, and sending `BEGIN IMMEDIATE` to the connection's thread first cost the turn
    /// hand-offs between threads (opening a shared transaction took about 0.2 ms while both
    /// cores were busy, about 0.015 ms here; docs/performance.md, issue 9's thirteenth part). It is
    /// tried without waiting for the file's lock: only another process writing the file holds
    /// it, and that wait (up to the busy timeout) belongs on the connection's own thread, so a
    /// busy file begins there.
    pub(crate) async fn begin(&mut self) -> Result<()> {
        if self.in_tx {
            self.roll_back().await;
        }
        if self.begin_here().await? {
            self.in_tx = true;
            return Ok(());
        }
        sqlx::query("BEGIN IMMEDIATE")
            .execute(self.sqlx())
            .await
            .map_err(db_err)?;
        self.in_tx = true;
        Ok(())
    }

    /// `BEGIN IMMEDIATE` on this thread, if the file's write lock is free now: whether it began.
    async fn begin_here(&mut self) -> Result<bool> {
        let c = self.here().await?;
        let since = std::time::Instant::now();
        c.busy_timeout(std::time::Duration::ZERO)
            .map_err(direct_err)?;
        let began = c.execute_batch("BEGIN IMMEDIATE");
        c.busy_timeout(crate::db::SQLITE_BUSY_TIMEOUT)
            .map_err(direct_err)?;
        crate::statements::ran_here("BEGIN IMMEDIATE", since);
        match began.map_err(direct_err) {
            Ok(()) => Ok(true),
            Err(e) if e.code == crate::db::DATABASE_BUSY => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Commits the shared transaction on the lent handle, so the handle stays here for the
    /// next shared transaction instead of going back to its thread and being lent again. The
    /// sync of the log is the longest wait of the turn: the runtime is told this thread blocks
    /// ([`blocking`]), so its other tasks move on. A `COMMIT` that fails leaves nothing half
    /// done: what it did not commit is rolled back.
    pub(crate) async fn commit(&mut self) -> Result<()> {
        let ended = self.here().await.and_then(|c| {
            let since = std::time::Instant::now();
            let ended = blocking(|| c.execute_batch("COMMIT")).map_err(direct_err);
            crate::statements::ran_here("COMMIT", since);
            ended
        });
        match ended {
            Ok(()) => self.in_tx = false,
            Err(_) => self.roll_back().await,
        }
        ended
    }

    /// Rolls back the open transaction, if any (on SQLite a failed `COMMIT` may leave it open).
    pub(crate) async fn roll_back(&mut self) {
        if !self.in_tx {
            return;
        }
        // An error here means no transaction was left to roll back.
        let _ = sqlx::query("ROLLBACK").execute(self.sqlx()).await;
        self.in_tx = false;
    }

    /// Rolls back the open transaction now if the handle is lent to this thread (a member
    /// dropped, in `Drop`, cannot wait); otherwise the next [`WriterConn::begin`] does.
    pub(crate) fn roll_back_now(&mut self) {
        if let (true, Some(_), Some(c)) = (self.in_tx, &self.lent, &self.prepared)
            && (c.is_autocommit() || c.execute_batch("ROLLBACK").is_ok())
        {
            self.in_tx = false;
        }
    }

    /// Closes the connection, its prepared statements first (sqlx refuses to close a handle
    /// with statements open).
    pub(crate) async fn close(mut self) {
        self.roll_back().await;
        if self.here().await.is_ok() {
            self.prepared = None;
        } else {
            // The handle could not be had: leave the statements to the process's end rather
            // than finalize them on a handle another thread may hold.
            std::mem::forget(self.prepared.take());
        }
        self.lent = None;
        let _ = sqlx::Connection::close(self.conn).await;
    }
}

/// Runs `f`, which waits on the disk, telling a multi-threaded runtime to move this thread's
/// other tasks elsewhere meanwhile.
fn blocking<R>(f: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

fn file_identity(path: &std::path::Path) -> Option<(u64, u64)> {
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// Runs statements that answer nothing, in order.
pub(crate) fn execute(c: &rusqlite::Connection, list: &[crate::db::DeferredWrite]) -> Result<()> {
    for crate::db::DeferredWrite { sql, args, guarded } in list {
        let since = std::time::Instant::now();
        let mut st = c.prepare_cached(sql).map_err(direct_err)?;
        bind(&mut st, args)?;
        let changed = st.raw_execute().map_err(direct_err)?;
        crate::statements::ran_here(sql, since);
        if *guarded && changed != 1 {
            return Err(crate::db::stale_row());
        }
    }
    Ok(())
}

/// Reads the rows of `sql`, each into a `T` by its column names.
pub(crate) fn read<T: DeserializeOwned>(
    c: &rusqlite::Connection,
    sql: &str,
    args: &[Arg],
) -> Result<Vec<T>> {
    let since = std::time::Instant::now();
    let mut st = c.prepare_cached(sql).map_err(direct_err)?;
    bind(&mut st, args)?;
    let names: Vec<String> = st.column_names().iter().map(|s| s.to_string()).collect();
    let mut rows = st.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(direct_err)? {
        let row = crate::cells::Row { names: &names, row };
        out.push(
            T::deserialize(row)
                .map_err(|e| Error::internal(format!("reading a row of {sql}: {e}")))?,
        );
    }
    crate::statements::ran_here(sql, since);
    Ok(out)
}

/// Binds `args` by the numbers of the statement's `$N` parameters (a statement may name one
/// twice or out of order; SQLite numbers its parameters by first appearance).
fn bind(st: &mut rusqlite::Statement<'_>, args: &[Arg]) -> Result<()> {
    for i in 1..=st.parameter_count() {
        let n = match st.parameter_name(i) {
            Some(name) => name
                .strip_prefix('$')
                .and_then(|n| n.parse::<usize>().ok())
                .ok_or_else(|| Error::internal(format!("parameter {name} is not $N")))?,
            None => i,
        };
        let arg = args.get(n.wrapping_sub(1)).ok_or_else(|| {
            Error::internal(format!("statement names ${n} of {} values", args.len()))
        })?;
        let bound = match arg {
            Arg::Int(v) => st.raw_bind_parameter(i, v),
            Arg::Text(v) => st.raw_bind_parameter(i, v),
            Arg::Bool(v) => st.raw_bind_parameter(i, v),
        };
        bound.map_err(direct_err)?;
    }
    Ok(())
}

/// Maps rusqlite's error onto the platform's, as [`crate::db::db_err`] maps sqlx's.
pub(crate) fn direct_err(e: rusqlite::Error) -> Error {
    use rusqlite::ffi;
    if let rusqlite::Error::SqliteFailure(f, msg) = &e {
        let detail = msg.clone().unwrap_or_else(|| f.to_string());
        match f.extended_code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                return crate::db::duplicate(detail);
            }
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => return crate::db::unknown_reference(detail),
            _ => {}
        }
        if matches!(
            f.code,
            ffi::ErrorCode::DatabaseBusy | ffi::ErrorCode::DatabaseLocked
        ) {
            return crate::db::busy(detail);
        }
    }
    Error::internal(e)
}
