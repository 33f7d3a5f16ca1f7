//! `yichuang backup` and `yichuang restore` (API-V1): a backup taken while the hall works holds
//! every write acknowledged before it began, restores on the same and on the other backend with
//! the material vault's files, and never lands on a database that already has data.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use yichuang_store::{Backend, Db, testing};

use crate::cases::new_case;
use crate::support::{TestServer, backends};

fn yichuang() -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_yichuang"));
    c.env_remove("YICHUANG_DATABASE_URL")
        .env_remove("YICHUANG_CONFIG")
        .env_remove("YICHUANG_ADMIN_PASSWORD");
    c
}

/// Runs the binary off the async runtime (the server under test shares it) and returns whether
/// it succeeded, with its output.
async fn run(args: Vec<String>) -> (bool, String) {
    let out = tokio::task::spawn_blocking(move || yichuang().args(&args).output().unwrap())
        .await
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn backup_file(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join("yichuang-tests");
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join(format!(
        "backup-{}-{tag}-{}.ycbak",
        std::process::id(),
        chrono::Utc::now().timestamp_micros()
    ));
    let _ = std::fs::remove_file(&f);
    f
}

async fn fresh_url(backend: Backend) -> String {
    match backend {
        Backend::Sqlite => testing::sqlite_url(),
        Backend::Postgres => testing::postgres_url().await.expect("PostgreSQL"),
    }
}

fn backend_of(url: &str) -> Backend {
    if url.starts_with("sqlite:") {
        Backend::Sqlite
    } else {
        Backend::Postgres
    }
}

async fn usernames(url: &str) -> Vec<String> {
    let db = Db::connect(url).await.unwrap();
    let v: Vec<String> = yichuang_store::db_run!(&db, |c| sqlx::query_scalar(
        "SELECT username FROM accounts ORDER BY username"
    )
    .fetch_all(c)
    .await
    .unwrap());
    db.close().await;
    v
}

/// Rows per table, to show that a refused restore wrote nothing.
async fn row_counts(url: &str) -> Vec<(String, i64)> {
    let db = Db::connect(url).await.unwrap();
    let mut out = Vec::new();
    for t in ["accounts", "events", "cases", "vault_blobs", "settings"] {
        let sql = format!("SELECT COUNT(*) FROM {t}");
        let n: i64 = yichuang_store::db_run!(&db, |c| sqlx::query_scalar(sqlx::AssertSqlSafe(
            sql.clone()
        ))
        .fetch_one(c)
        .await
        .unwrap());
        out.push((t.to_string(), n));
    }
    db.close().await;
    out
}

/// Restores `file` into a fresh database of `backend` with the binary, then checks that every
/// account in `expected` is there, that the server starts on it, serves the case and its
/// material file, and takes a new write.
async fn restore_and_check(
    file: &Path,
    backend: Backend,
    expected: &[String],
    case_number: &str,
    sha: &str,
    pdf: &[u8],
) {
    let target = fresh_url(backend).await;
    let (ok, out) = run(vec![
        "restore".into(),
        file.display().to_string(),
        "--database".into(),
        target.clone(),
    ])
    .await;
    assert!(ok, "restore into {}: {out}", backend.name());
    assert!(out.contains("已从"), "{out}");

    let restored = usernames(&target).await;
    let missing: Vec<&String> = expected.iter().filter(|u| !restored.contains(u)).collect();
    assert!(
        missing.is_empty(),
        "acknowledged before the backup but not restored on {}: {missing:?}",
        backend.name()
    );

    // No timer worker: the restored hall stays on the backup's day (its day end would close
    // the line the end of this check looks at).
    let s = TestServer::start_with(yichuang_server::Config {
        workers: false,
        ..crate::support::config(&target)
    })
    .await;
    s.set_clock("2026-03-02T09:30:00+08:00").await;
    let admin = s.admin_token().await;
    let (st, v) = s
        .get_json(&format!("/api/v1/cases/{case_number}"), Some(&admin))
        .await;
    assert_eq!(st, 200, "the case is served after the restore: {v}");
    let r = s
        .client
        .get(s.at(&format!("/api/v1/cases/{case_number}/files/{sha}")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        200,
        "the vault file is served after the restore"
    );
    assert_eq!(r.bytes().await.unwrap().as_ref(), pdf);
    // Ids go on after the restored ones (PostgreSQL's identity sequences were moved on).
    let (st, v) = s
        .post_json(
            "/api/v1/accounts",
            Some(&admin),
            &json!({"username": "after_restore", "display_name": "恢复后", "role": "clerk",
                    "hall": "H1", "password": "staff2026pw"}),
        )
        .await;
    assert_eq!(st, 201, "a new write after the restore: {v}");
    // The restored line goes on: a take counts the two who waited before the backup and
    // itself (SQLite's per-queue figure is rebuilt from the tickets, not copied).
    crate::hall::take_ok(&s, None, "a").await;
    assert_eq!(
        last_taken_waiting(&target).await,
        3,
        "the board's figure after a restore into {}",
        backend.name()
    );
    s.stop().await;
}

/// The waiting figure the newest take announced to the boards.
async fn last_taken_waiting(url: &str) -> i64 {
    let db = Db::connect(url).await.unwrap();
    let payload: String = yichuang_store::db_run!(&db, |c| sqlx::query_scalar(
        "SELECT payload FROM events WHERE kind = 'ticket_taken' ORDER BY id DESC LIMIT 1"
    )
    .fetch_one(c)
    .await
    .unwrap());
    db.close().await;
    let v: Value = serde_json::from_str(&payload).unwrap();
    v["queues"][0]["waiting"].as_i64().unwrap()
}

#[tokio::test]
async fn a_backup_taken_under_write_load_restores_every_acknowledged_write_on_each_backend() {
    let all = backends().await;
    let has_pg = all.len() > 1;
    for url in all {
        let backend = backend_of(&url);
        let s = Arc::new(TestServer::start(&url).await);
        s.set_clock("2026-03-02T09:00:00+08:00").await;
        let (staff, number, _) = new_case(&s, "X001", &["A"]).await;
        let pdf = b"%PDF-1.4\n% a scan that must survive the backup\n".to_vec();
        let r = s
            .client
            .put(s.at(&format!("/api/v1/cases/{number}/materials/A")))
            .bearer_auth(&staff.clerk)
            .body(pdf.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let stored: Value = r.json().await.unwrap();
        let sha = stored["sha256"].as_str().unwrap().to_string();
        // A line of three, one of them called: two wait in queue a of hall YL.
        let (hall_admin, w1, _) = crate::hall::demo_hall(&s).await;
        for _ in 0..3 {
            crate::hall::take_ok(&s, None, "a").await;
        }
        crate::hall::call(&s, &hall_admin, w1).await.unwrap();

        // Writers create accounts for as long as the test lets them; each name is recorded
        // once its 201 has come back, i.e. once its transaction has committed.
        let admin = s.admin_token().await;
        let acked = Arc::new(Mutex::new(Vec::<String>::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let next = Arc::new(AtomicUsize::new(0));
        let mut writers = Vec::new();
        for _ in 0..3 {
            let (s, admin, acked, stop, next) = (
                s.clone(),
                admin.clone(),
                acked.clone(),
                stop.clone(),
                next.clone(),
            );
            writers.push(tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let name = format!("load{:05}", next.fetch_add(1, Ordering::Relaxed));
                    let (st, v) = s
                        .post_json(
                            "/api/v1/accounts",
                            Some(&admin),
                            &json!({"username": name, "display_name": name, "role": "clerk",
                                    "hall": "H1", "password": "staff2026pw"}),
                        )
                        .await;
                    assert_eq!(st, 201, "{v}");
                    acked.lock().unwrap().push(name);
                }
            }));
        }
        // Lighter writers, with no password to hash: many of their writes fit in the time a
        // small backup takes, so they show whether writing goes on while it runs.
        let renames = Arc::new(AtomicUsize::new(0));
        for w in 0..2 {
            let (s, admin, renames, stop) =
                (s.clone(), admin.clone(), renames.clone(), stop.clone());
            writers.push(tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let n = renames.load(Ordering::Relaxed);
                    let (st, v) = s
                        .send_json(
                            reqwest::Method::PUT,
                            &format!("/api/v1/accounts/{}", ["clerk1", "out1"][w]),
                            Some(&admin),
                            &json!({"display_name": format!("改名{n}")}),
                        )
                        .await;
                    assert_eq!(st, 200, "{v}");
                    renames.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
        // The writers run on the same runtime: yield to them until ten writes are acknowledged.
        while acked.lock().unwrap().len() < 10 {
            tokio::task::yield_now().await;
        }

        let file = backup_file(backend.name());
        let before: Vec<String> = acked.lock().unwrap().clone();
        let renamed_before = renames.load(Ordering::Relaxed);
        let (ok, out) = run(vec![
            "backup".into(),
            file.display().to_string(),
            "--database".into(),
            url.clone(),
        ])
        .await;
        let during = acked.lock().unwrap().len();
        let renamed_during = renames.load(Ordering::Relaxed);
        stop.store(true, Ordering::Relaxed);
        for w in writers {
            w.await.unwrap();
        }
        assert!(ok, "backup on {}: {out}", backend.name());
        eprintln!(
            "{}: {} accounts and {renamed_before} renames acknowledged before the backup, \
             {during} and {renamed_during} by its end: {}",
            backend.name(),
            before.len(),
            out.trim()
        );
        assert!(out.contains("材料库文件 1 个"), "{out}");
        assert!(
            renamed_during > renamed_before,
            "writes went on while the backup ran ({renamed_before} before, {renamed_during} after)"
        );

        // Never over an earlier backup.
        let (ok, out) = run(vec![
            "backup".into(),
            file.display().to_string(),
            "--database".into(),
            url.clone(),
        ])
        .await;
        assert!(!ok && out.contains("已存在"), "{out}");

        restore_and_check(&file, backend, &before, &number, &sha, &pdf).await;
        if has_pg {
            // And across: SQLite to PostgreSQL, PostgreSQL to SQLite.
            let other = match backend {
                Backend::Sqlite => Backend::Postgres,
                Backend::Postgres => Backend::Sqlite,
            };
            restore_and_check(&file, other, &before, &number, &sha, &pdf).await;
        }
        let _ = std::fs::remove_file(&file);
        if let Ok(s) = Arc::try_unwrap(s) {
            s.stop().await;
        }
    }
}

#[tokio::test]
async fn a_restore_into_a_database_that_is_not_empty_is_refused_and_changes_nothing() {
    for url in backends().await {
        let s = TestServer::start(&url).await;
        let admin = s.admin_token().await;
        crate::support::ensure_account_scope(&s, &admin, &json!({"hall": "H1"})).await;
        let (st, v) = s
            .post_json(
                "/api/v1/accounts",
                Some(&admin),
                &json!({"username": "kept", "display_name": "原有", "role": "clerk",
                        "hall": "H1", "password": "staff2026pw"}),
            )
            .await;
        assert_eq!(st, 201, "{v}");
        let file = backup_file("refused");
        let (ok, out) = run(vec![
            "backup".into(),
            file.display().to_string(),
            "--database".into(),
            url.clone(),
        ])
        .await;
        assert!(ok, "{out}");
        s.stop().await;

        // A database a server has run on is not empty, even with nothing but the seed data.
        let seeded = fresh_url(backend_of(&url)).await;
        TestServer::start(&seeded).await.stop().await;
        for target in [url.clone(), seeded] {
            let before = row_counts(&target).await;
            let (ok, out) = run(vec![
                "restore".into(),
                file.display().to_string(),
                "--database".into(),
                target.clone(),
            ])
            .await;
            assert!(!ok, "a restore over data must fail: {out}");
            assert!(
                out.contains("不是空的") && out.contains("未做任何改动"),
                "{out}"
            );
            assert_eq!(row_counts(&target).await, before, "nothing changed");
        }
        let _ = std::fs::remove_file(&file);
    }
}
