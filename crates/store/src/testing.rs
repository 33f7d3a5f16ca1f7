//! Fresh databases for tests: a new SQLite file each time, and, when
//! `YICHUANG_TEST_DATABASE_URL` names a PostgreSQL server, a new database on it each time.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::Db;

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        t % 1_000_000_000,
        n
    )
}

/// A URL for a new, empty SQLite file in the temp directory.
pub fn sqlite_url() -> String {
    let dir = std::env::temp_dir().join("yichuang-tests");
    std::fs::create_dir_all(&dir).expect("temp dir");
    format!(
        "sqlite://{}",
        dir.join(format!("{}.db", unique("t"))).display()
    )
}

/// The PostgreSQL server to test against, if any.
pub fn postgres_server() -> Option<String> {
    std::env::var("YICHUANG_TEST_DATABASE_URL")
        .ok()
        .filter(|s| !s.trim().is_empty())
}

/// Creates a new database on the test PostgreSQL server and returns its URL.
pub async fn postgres_url() -> Option<String> {
    let server = postgres_server()?;
    let name = unique("yc");
    let admin = Db::connect(&server)
        .await
        .expect("connect to YICHUANG_TEST_DATABASE_URL");
    if let Db::Postgres(p) = &admin {
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(p)
            .await
            .expect("create test database");
    }
    admin.close().await;
    // Replace the database part of the URL (after the last '/', before any '?').
    let (base, query) = match server.split_once('?') {
        Some((b, q)) => (b.to_string(), format!("?{q}")),
        None => (server.clone(), String::new()),
    };
    let base = match base.rfind('/') {
        Some(i) if i > "postgres://".len() => base[..i].to_string(),
        _ => base,
    };
    Some(format!("{base}/{name}{query}"))
}

/// The URLs of every backend a test should run on: SQLite always, PostgreSQL when configured.
/// With `YICHUANG_REQUIRE_POSTGRES=1` (as CI sets it) a missing PostgreSQL is a failure, not a
/// silent skip.
pub async fn backends() -> Vec<String> {
    let mut v = vec![sqlite_url()];
    v.extend(postgres_only().await);
    v
}

/// A fresh PostgreSQL database's URL, for a test only PostgreSQL can run (concurrent
/// instances, row locks): `None` when none is configured, a failure then with
/// `YICHUANG_REQUIRE_POSTGRES=1`.
pub async fn postgres_only() -> Option<String> {
    let url = postgres_url().await;
    if url.is_none() && std::env::var("YICHUANG_REQUIRE_POSTGRES").as_deref() == Ok("1") {
        panic!("YICHUANG_REQUIRE_POSTGRES=1 but YICHUANG_TEST_DATABASE_URL is not set");
    }
    url
}

/// A migrated, empty database per backend.
pub async fn fresh_dbs() -> Vec<Db> {
    let mut out = Vec::new();
    for url in backends().await {
        out.push(migrated(&url).await);
    }
    out
}

/// A migrated, empty PostgreSQL database, for a test only PostgreSQL can run
/// ([`postgres_only`]).
pub async fn fresh_postgres() -> Option<Db> {
    Some(migrated(&postgres_only().await?).await)
}

async fn migrated(url: &str) -> Db {
    let db = Db::connect(url).await.expect("connect");
    db.migrate().await.expect("migrate");
    db
}
