//! Reads on the request's own thread, on SQLite (issue 9): the change counter, and the rows of
//! a hot path's point reads ([`crate::Db::read`]).
//!
//! Every request reads the change counter once ([`crate::calendar::version`]). Through the
//! pool, sqlx-sqlite sends that read to a connection's own thread and waits for the answer: two
//! hand-offs between threads, each a futex wake-up. On two busy cores they cost more than the
//! read itself (a `perf` call graph of case-lifecycle put 3 % of the process's samples under the
//! counter's read, nearly all of it in the channel's send and wake-up; the read is a few
//! microseconds). So a few plain connections of this process to each file run it here, through
//! rusqlite, on whichever thread asks. A ticket read by a transition outside its write is such
//! a read too.
//!
//! Each read is a few indexed rows in its own snapshot, so the thread it blocks is blocked for
//! microseconds. A connection waits at most [`BUSY`] for a lock another process holds (a
//! checkpoint that restarts the log); past that, or when the file cannot be opened, the caller
//! reads through the pool as before.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};

/// How long a read here waits for another process's lock before giving way to the pool.
const BUSY: std::time::Duration = std::time::Duration::from_millis(20);

/// Idle connections kept per file: as many as threads that read at once, about.
const KEPT: usize = 4;

/// A connection to one file, and the file it opened (device and inode).
struct Reader {
    conn: rusqlite::Connection,
    file: (u64, u64),
}

type Idle = Arc<Mutex<Vec<Reader>>>;

fn idle_of(path: &Path) -> Idle {
    static ALL: LazyLock<Mutex<HashMap<PathBuf, Idle>>> = LazyLock::new(Default::default);
    let mut all = ALL.lock().unwrap_or_else(|p| p.into_inner());
    // Looked up before it is entered: every request reads the counter, and the key's copy is
    // needed only once per file.
    if let Some(idle) = all.get(path) {
        return idle.clone();
    }
    all.entry(path.to_path_buf()).or_default().clone()
}

fn identity(path: &Path) -> Option<(u64, u64)> {
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// The change counter of the file at `path`, read on this thread; `None` when it cannot be
/// read here (no such file, or another process holds it locked), and the caller reads it
/// through the pool.
pub(crate) fn version(path: &Path) -> Option<i64> {
    with_reader(path, |c| read_on(c).ok())
}

/// The rows of a read on the file at `path`, run on this thread ([`crate::direct::read`]);
/// `None` when it cannot be read here, or failed (the caller reads through the pool, and so
/// meets a real error there).
pub(crate) fn rows<T: serde::de::DeserializeOwned>(
    path: &Path,
    sql: &str,
    args: &[crate::db::Arg],
) -> Option<Vec<T>> {
    with_reader(path, |c| crate::direct::read(c, sql, args).ok())
}

/// Runs `read` on a connection of this process to the file at `path`, kept for the next read
/// when it answered.
fn with_reader<R>(path: &Path, read: impl FnOnce(&rusqlite::Connection) -> Option<R>) -> Option<R> {
    // Checked on every read, not once: a file restored under the same path is a new file, and
    // a connection to the old one would answer its counter for ever. A `stat` costs about a
    // microsecond.
    let file = identity(path)?;
    let idle = idle_of(path);
    let taken = idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
    let reader = match taken.filter(|r| r.file == file) {
        Some(r) => r,
        None => open(path, file)?,
    };
    let v = read(&reader.conn)?;
    let mut idle = idle.lock().unwrap_or_else(|p| p.into_inner());
    if idle.len() < KEPT {
        idle.push(reader);
    }
    Some(v)
}

/// The change counter as `conn` sees it (in its transaction, if one is open), counted as a
/// statement run on this thread.
pub(crate) fn read_on(conn: &rusqlite::Connection) -> rusqlite::Result<i64> {
    let since = std::time::Instant::now();
    let v = conn
        .prepare_cached(crate::calendar::COUNTER)
        .and_then(|mut st| st.query_row([], |row| row.get::<_, i64>(0)));
    crate::statements::ran_here(crate::calendar::COUNTER, since);
    v
}

fn open(path: &Path, file: (u64, u64)) -> Option<Reader> {
    use rusqlite::OpenFlags;
    let conn = rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .ok()?;
    conn.busy_timeout(BUSY).ok()?;
    Some(Reader { conn, file })
}

/// Closes the connections kept for the file at `path` ([`crate::Db::close`]): a test that
/// removes its directory after closing must not find the file still open.
pub(crate) fn close(path: &Path) {
    idle_of(path)
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clear();
}

#[cfg(test)]
mod tests {
    use crate::{Db, testing};

    async fn bump(db: &Db) {
        let mut tx = db.begin().await.unwrap();
        crate::calendar::bump(&mut tx).await.unwrap();
        tx.commit().await.unwrap();
    }

    fn path_of(db: &Db) -> std::path::PathBuf {
        let Db::Sqlite(p) = db else {
            unreachable!("a SQLite test")
        };
        p.connect_options().get_filename().to_path_buf()
    }

    #[tokio::test]
    async fn the_counter_read_on_the_requests_thread_sees_a_change_once_the_writer_commits_it() {
        let db = Db::connect(&testing::sqlite_url()).await.unwrap();
        db.migrate().await.unwrap();
        let path = path_of(&db);
        let before = super::version(&path).expect("read here");
        let mut tx = db.begin().await.unwrap();
        crate::calendar::bump(&mut tx).await.unwrap();
        tx.flush().await.unwrap();
        // Written but not committed: a read here sees the last commit only.
        assert_eq!(super::version(&path), Some(before));
        tx.commit().await.unwrap();
        assert_eq!(super::version(&path), Some(before + 1));
        // And the store's reader takes it from here.
        assert_eq!(crate::calendar::version(&db).await.unwrap(), before + 1);
        db.close().await;
    }

    #[tokio::test]
    async fn a_file_made_anew_under_the_same_path_is_read_afresh_not_through_a_connection_to_the_old()
     {
        let url = testing::sqlite_url();
        let db = Db::connect(&url).await.unwrap();
        db.migrate().await.unwrap();
        let path = path_of(&db);
        let fresh = super::version(&path).expect("read here");
        bump(&db).await;
        bump(&db).await;
        // A connection to the old file is kept now.
        assert_eq!(super::version(&path), Some(fresh + 2));

        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        let db = Db::connect(&url).await.unwrap();
        db.migrate().await.unwrap();
        assert_eq!(super::version(&path), Some(fresh));
        db.close().await;
    }
}
