//! Store tests, each on SQLite and (when configured) a fresh PostgreSQL database.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{Duration, TimeZone, Utc};
use yichuang_domain::{Error, Result};

use crate::events::{self, NewEvent};
use crate::timers::{self, Timer, TimerHandler};
use crate::{Tx, testing, tx_run};

/// A setting written with the value '1': the rows the writer's tests commit and look for.
const PUT: &str = "INSERT INTO settings (key, value, updated_at) VALUES ($1, '1', 0)";

#[test]
fn both_backends_have_the_same_migration_versions() {
    let (sqlite, postgres) = crate::db::migration_versions();
    assert!(!sqlite.is_empty());
    assert_eq!(
        sqlite, postgres,
        "every migration needs a SQLite and a PostgreSQL version with the same number"
    );
}

#[tokio::test]
async fn an_unknown_database_scheme_is_a_clear_error() {
    let e = crate::Db::connect("mysql://localhost/x").await.unwrap_err();
    assert_eq!(e.code, "invalid_database_url");
    assert!(e.title.contains("sqlite://"));
}

#[tokio::test]
async fn sqlite_syncs_every_commit_to_disk_unless_the_url_asks_for_normal() {
    async fn level(url: &str) -> i64 {
        let db = crate::Db::connect(url).await.unwrap();
        let crate::Db::Sqlite(pool) = &db else {
            panic!("sqlite expected")
        };
        sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(pool)
            .await
            .unwrap()
    }
    let url = testing::sqlite_url();
    assert_eq!(level(&url).await, 2, "FULL by default");
    assert_eq!(level(&format!("{url}?synchronous=normal")).await, 1);
    let e = crate::Db::connect(&format!("{url}?synchronous=off"))
        .await
        .unwrap_err();
    assert_eq!(e.code, "invalid_database_url");
    assert!(e.title.contains("full 或 normal"), "{}", e.title);
}

/// Runs `sql` in `tx` and commits: the error, if the database refused it at either point.
async fn rejected(mut tx: crate::Tx, sql: &str) -> Result<(), Error> {
    tx.write(sql, vec![]).await?;
    tx.commit().await
}

#[tokio::test]
async fn events_are_appended_and_can_never_be_changed_or_deleted() {
    for db in testing::fresh_dbs().await {
        let now = Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap();
        let mut tx = db.begin().await.unwrap();
        let id = events::append(
            &mut tx,
            now,
            NewEvent {
                actor: "admin:admin",
                kind: "item_created",
                subject_type: "item",
                subject_id: "X1",
                payload: serde_json::json!({"a": 1}),
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let rows = events::for_subject(&db, "item", "X1").await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].id, id);
        assert_eq!(rows[0].at(), now);

        let tx = db.begin().await.unwrap();
        let upd = rejected(tx, "UPDATE events SET actor = 'x'").await;
        assert!(
            upd.is_err(),
            "UPDATE on events must fail on {:?}",
            db.backend()
        );
        let tx = db.begin().await.unwrap();
        let del = rejected(tx, "DELETE FROM events").await;
        assert!(
            del.is_err(),
            "DELETE on events must fail on {:?}",
            db.backend()
        );
        assert_eq!(
            events::for_subject(&db, "item", "X1").await.unwrap().len(),
            1
        );
    }
}

/// Counts firings and writes an event for each, in the firing transaction.
struct Counting {
    fired: Arc<AtomicUsize>,
    fail_kind: Option<&'static str>,
}

impl TimerHandler for Counting {
    async fn handle(&self, tx: &mut Tx, timer: &Timer, now: chrono::DateTime<Utc>) -> Result<()> {
        if Some(timer.kind.as_str()) == self.fail_kind {
            return Err(Error::internal("handler refused"));
        }
        events::append(
            tx,
            now,
            NewEvent {
                actor: "system:timer",
                kind: "fired",
                subject_type: "timer",
                subject_id: &timer.id.to_string(),
                payload: serde_json::json!({}),
            },
        )
        .await?;
        // Yield so concurrent workers really interleave.
        tokio::task::yield_now().await;
        self.fired.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

#[tokio::test]
async fn due_timers_fire_exactly_once_with_two_workers_racing() {
    for db in testing::fresh_dbs().await {
        let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap();
        let mut tx = db.begin().await.unwrap();
        for i in 0..60 {
            timers::schedule(
                &mut tx,
                "test",
                &format!("s{i}"),
                t0 + Duration::seconds(i % 7),
                serde_json::json!({}),
                t0,
            )
            .await
            .unwrap();
        }
        // Not yet due: must not fire.
        timers::schedule(
            &mut tx,
            "test",
            "later",
            t0 + Duration::hours(1),
            serde_json::json!({}),
            t0,
        )
        .await
        .unwrap();
        // Cancelled: must not fire.
        timers::schedule(&mut tx, "test", "gone", t0, serde_json::json!({}), t0)
            .await
            .unwrap();
        timers::cancel(&mut tx, "test", "gone", t0).await.unwrap();
        tx.commit().await.unwrap();

        let fired = Arc::new(AtomicUsize::new(0));
        let now = t0 + Duration::minutes(1);
        let (a, b) =
            {
                let (db1, db2) = (db.clone(), db.clone());
                let h1 = Counting {
                    fired: fired.clone(),
                    fail_kind: None,
                };
                let h2 = Counting {
                    fired: fired.clone(),
                    fail_kind: None,
                };
                let w1 = tokio::spawn(async move {
                    timers::fire_due(&db1, now, "w1", &h1, 1000).await.unwrap()
                });
                let w2 = tokio::spawn(async move {
                    timers::fire_due(&db2, now, "w2", &h2, 1000).await.unwrap()
                });
                (w1.await.unwrap(), w2.await.unwrap())
            };
        assert_eq!(a + b, 60, "{:?}", db.backend());
        assert_eq!(fired.load(Ordering::SeqCst), 60);
        // One event per timer: none fired twice.
        let evs = events::since(&db, 0, 10_000).await.unwrap();
        let mut subjects: Vec<_> = evs
            .iter()
            .filter(|e| e.kind == "fired")
            .map(|e| e.subject_id.clone())
            .collect();
        subjects.sort();
        subjects.dedup();
        assert_eq!(subjects.len(), 60);
        // A second pass finds nothing left.
        let h = Counting {
            fired: fired.clone(),
            fail_kind: None,
        };
        assert_eq!(timers::fire_due(&db, now, "w1", &h, 1000).await.unwrap(), 0);
        assert_eq!(
            timers::due_count(&db, t0 + Duration::hours(2))
                .await
                .unwrap(),
            1
        );
    }
}

#[tokio::test]
async fn a_failing_timer_is_retried_later_and_leaves_no_half_effect() {
    for db in testing::fresh_dbs().await {
        let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap();
        let mut tx = db.begin().await.unwrap();
        timers::schedule(&mut tx, "bad", "x", t0, serde_json::json!({}), t0)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let fired = Arc::new(AtomicUsize::new(0));
        let h = Counting {
            fired: fired.clone(),
            fail_kind: Some("bad"),
        };
        assert_eq!(timers::fire_due(&db, t0, "w", &h, 10).await.unwrap(), 0);
        // Backed off: not due at the same instant, due again later.
        assert_eq!(timers::due_count(&db, t0).await.unwrap(), 0);
        assert_eq!(
            timers::due_count(&db, t0 + Duration::seconds(5))
                .await
                .unwrap(),
            1
        );
        let ok = Counting {
            fired: fired.clone(),
            fail_kind: None,
        };
        assert_eq!(
            timers::fire_due(&db, t0 + Duration::seconds(5), "w", &ok, 10)
                .await
                .unwrap(),
            1
        );
        assert_eq!(fired.load(Ordering::SeqCst), 1);
    }
}

#[tokio::test]
async fn settings_are_stored_and_replaced() {
    for db in testing::fresh_dbs().await {
        let now = Utc::now();
        let mut tx = db.begin().await.unwrap();
        crate::settings::put(&mut tx, "a.b", &serde_json::json!(5), now)
            .await
            .unwrap();
        crate::settings::put(&mut tx, "a.b", &serde_json::json!(7), now)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            crate::settings::get(&db, "a.b").await.unwrap(),
            Some(serde_json::json!(7))
        );
        assert_eq!(crate::settings::get(&db, "nope").await.unwrap(), None);
    }
}

/// Several instances share PostgreSQL (and a blob directory): one upload fails after writing a
/// new file while another, storing the same bytes, found that file and has not committed yet.
/// The failed one's clean-up must wait for it and keep the file its row needs.
#[tokio::test]
async fn a_failed_upload_leaves_the_file_that_a_concurrent_upload_of_the_same_bytes_needs() {
    use crate::cases::vault::{self, BlobStore, DirBlobs, NewMaterial};
    let Some(url) = testing::postgres_only().await else {
        eprintln!("skipped: concurrent instances need PostgreSQL (YICHUANG_TEST_DATABASE_URL)");
        return;
    };
    let db = crate::Db::connect(&url).await.unwrap();
    db.migrate().await.unwrap();
    let root = std::env::temp_dir().join(format!("yc-vault-{}", url.rsplit('/').next().unwrap()));
    let dir = || BlobStore::Dir(DirBlobs { root: root.clone() });
    let now = Utc::now();
    let mut tx = db.begin().await.unwrap();
    let applicant = crate::cases::applicants::upsert(
        &mut tx,
        &yichuang_domain::case::Applicant {
            kind: yichuang_domain::case::ApplicantKind::Person,
            name: "张三".into(),
            id_number: "11010519491231002X".into(),
            phone: "13812345678".into(),
        },
        now,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let m = NewMaterial {
        applicant_id: applicant,
        material_code: "A",
        name: "申请书",
        valid_until: None,
        source_case: None,
    };
    let bytes = b"%PDF-1.4\n% the same scan twice\n";

    // A writes the new file, then its transaction fails.
    let mut a = db.begin().await.unwrap();
    let file = vault::prepare_blob(&dir(), bytes, &mut Vec::new())
        .await
        .unwrap();
    let stored = vault::store(&mut a, &dir(), &m, &file, now).await.unwrap();
    assert!(stored.new_file);
    drop(a);
    // B stores the same bytes, finds the file, and is still open when A cleans up.
    let mut b = db.begin().await.unwrap();
    let file = vault::prepare_blob(&dir(), bytes, &mut Vec::new())
        .await
        .unwrap();
    assert!(
        !vault::store(&mut b, &dir(), &m, &file, now)
            .await
            .unwrap()
            .new_file
    );
    let (db2, blobs, sha) = (db.clone(), dir(), stored.sha256.clone());
    let cleanup = tokio::spawn(async move { blobs.discard(&db2, &[sha]).await });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!cleanup.is_finished(), "the clean-up waits for B");
    b.commit().await.unwrap();
    cleanup.await.unwrap();
    assert_eq!(
        dir().get(&db, &stored.sha256).await.unwrap(),
        bytes.to_vec(),
        "B's row has its bytes"
    );
    let _ = std::fs::remove_dir_all(&root);
    db.close().await;
}

#[tokio::test]
async fn on_sqlite_a_failed_uploads_clean_up_waits_for_a_store_of_the_same_bytes_that_found_its_file()
 {
    let (db, root) = sqlite_with_vault().await;
    let dir = || vault_dir(&root);
    let now = Utc::now();
    let bytes = b"%PDF-1.4\n% the same scan twice\n";
    let sha = written_by_a_failed_store(&db, &dir(), bytes, now).await;
    // B finds the file; its blob row is not yet sent when A cleans up.
    let mut b = db.begin().await.unwrap();
    let (_, new_file) = store_blob(&mut b, &dir(), bytes, now).await;
    assert!(!new_file);
    let (db2, blobs, written) = (db.clone(), dir(), sha.clone());
    let cleanup = tokio::spawn(async move { blobs.discard(&db2, &[written]).await });
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
    assert!(!cleanup.is_finished(), "the clean-up waits for B");
    b.commit().await.unwrap();
    cleanup.await.unwrap();
    assert_eq!(
        dir().get(&db, &sha).await.unwrap(),
        bytes.to_vec(),
        "B's row has its bytes"
    );
    let _ = std::fs::remove_dir_all(&root);
}

#[tokio::test]
async fn a_file_written_before_the_turn_and_removed_by_a_failed_uploads_clean_up_is_written_again_under_the_turn()
 {
    use crate::cases::vault;
    let (db, root) = sqlite_with_vault().await;
    let dir = || vault_dir(&root);
    let now = Utc::now();
    let bytes = b"%PDF-1.4\n% one certificate\n";
    let sha = written_by_a_failed_store(&db, &dir(), bytes, now).await;
    // B finds the file before the turn.
    let prepared = vault::prepare_blob(&dir(), bytes, &mut Vec::new())
        .await
        .unwrap();
    // A's clean-up runs before B takes the turn: nothing refers to the file, so it goes.
    dir().discard(&db, std::slice::from_ref(&sha)).await;
    assert!(
        dir().get(&db, &sha).await.is_err(),
        "the clean-up removed it"
    );

    let mut b = db.begin().await.unwrap();
    let b_wrote = vault::store_prepared(&mut b, &dir(), &prepared, now)
        .await
        .unwrap();
    b.commit().await.unwrap();
    assert!(
        b_wrote,
        "B wrote the file again, so its own failure would clean it up"
    );
    assert_eq!(
        dir().get(&db, &sha).await.unwrap(),
        bytes.to_vec(),
        "B's row has its bytes"
    );
    let leftovers: Vec<_> = std::fs::read_dir(root.join(&sha[..2]))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(leftovers, vec![sha.clone()], "no temporary file is left");
    let _ = std::fs::remove_dir_all(&root);
}

/// A fresh SQLite database and a vault directory of its own beside it.
async fn sqlite_with_vault() -> (crate::Db, std::path::PathBuf) {
    let url = testing::sqlite_url();
    let db = crate::Db::connect(&url).await.unwrap();
    db.migrate().await.unwrap();
    let root = std::env::temp_dir()
        .join(format!("yc-vault-{}", std::process::id()))
        .join(url.rsplit('/').next().unwrap());
    (db, root)
}

fn vault_dir(root: &std::path::Path) -> crate::cases::vault::BlobStore {
    crate::cases::vault::BlobStore::Dir(crate::cases::vault::DirBlobs {
        root: root.to_path_buf(),
    })
}

/// A (the first store of these bytes) writes the new file, then its transaction fails: the
/// file is left for A's clean-up. Its hash.
async fn written_by_a_failed_store(
    db: &crate::Db,
    blobs: &crate::cases::vault::BlobStore,
    bytes: &[u8],
    now: chrono::DateTime<Utc>,
) -> String {
    let mut a = db.begin().await.unwrap();
    let (sha, new_file) = store_blob(&mut a, blobs, bytes, now).await;
    assert!(new_file, "A wrote the file");
    drop(a);
    sha
}

/// A file's bytes prepared and recorded in `tx`: the hash, and whether a new file was written.
async fn store_blob(
    tx: &mut crate::Tx,
    blobs: &crate::cases::vault::BlobStore,
    bytes: &[u8],
    now: chrono::DateTime<Utc>,
) -> (String, bool) {
    use crate::cases::vault;
    let p = vault::prepare_blob(blobs, bytes, &mut Vec::new())
        .await
        .unwrap();
    let again = vault::store_prepared(tx, blobs, &p, now).await.unwrap();
    (p.sha, p.new_file || again)
}

/// The pending timers of a subject: (kind, due, payload), by kind.
async fn pending(db: &crate::Db, subject: &str) -> Vec<(String, i64, String)> {
    crate::db_run!(db, |c| sqlx::query_as(
        "SELECT kind, due_at, payload FROM timers WHERE subject = $1 \
         AND fired_at IS NULL AND cancelled_at IS NULL ORDER BY kind"
    )
    .bind(subject)
    .fetch_all(c)
    .await
    .unwrap())
}

/// How many timer rows of a subject meet `condition`, pending or not.
async fn timer_rows(db: &crate::Db, subject: &str, condition: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM timers WHERE subject = $1 AND {condition}");
    crate::db_run!(db, |c| sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()))
        .bind(subject)
        .fetch_one(c)
        .await
        .unwrap())
}

#[tokio::test]
async fn replacing_a_cases_timers_moves_them_in_place_and_leaves_exactly_the_new_ones_pending() {
    for db in testing::fresh_dbs().await {
        let t0 = Utc.with_ymd_and_hms(2026, 12, 4, 1, 0, 0).unwrap();
        let h = |n: i64| t0 + Duration::hours(n);
        let mut tx = db.begin().await.unwrap();
        timers::schedule(
            &mut tx,
            "case_deadline",
            "C2",
            h(5),
            serde_json::json!({}),
            t0,
        )
        .await
        .unwrap();
        timers::replace(
            &mut tx,
            &["case_deadline", "case_warning"],
            "C1",
            &[
                ("case_deadline", h(1), serde_json::json!({})),
                (
                    "case_warning",
                    h(2),
                    serde_json::json!({"warning": "yellow"}),
                ),
            ],
            t0,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            pending(&db, "C1").await,
            vec![
                (
                    "case_deadline".to_string(),
                    crate::micros(h(1)),
                    "{}".to_string()
                ),
                (
                    "case_warning".to_string(),
                    crate::micros(h(2)),
                    r#"{"warning":"yellow"}"#.to_string()
                ),
            ]
        );
        let mut tx = db.begin().await.unwrap();
        timers::replace(
            &mut tx,
            &["case_deadline", "case_warning"],
            "C1",
            &[("case_warning", h(3), serde_json::json!({"warning": "red"}))],
            t0,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            pending(&db, "C1").await,
            vec![(
                "case_warning".to_string(),
                crate::micros(h(3)),
                r#"{"warning":"red"}"#.to_string()
            )]
        );
        let mut tx = db.begin().await.unwrap();
        timers::replace(&mut tx, &["case_deadline", "case_warning"], "C1", &[], t0)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert!(pending(&db, "C1").await.is_empty());
        // Another subject's timer is not touched.
        assert_eq!(pending(&db, "C2").await.len(), 1);
        // Moved in place: C1's two kinds took two rows in all, none inserted per move.
        assert_eq!(timer_rows(&db, "C1", "TRUE").await, 2);
        // A kind with no index to be moved in place by is refused, and nothing is written.
        let mut tx = db.begin().await.unwrap();
        let refused = timers::replace(
            &mut tx,
            &["no_show"],
            "C1",
            &[("no_show", h(1), serde_json::json!({}))],
            t0,
        )
        .await;
        assert!(refused.is_err());
        drop(tx);
        assert!(pending(&db, "C1").await.is_empty());
    }
}

/// Fires a case's deadline by setting it again a day later, as a deemed step's change does.
struct Rescheduling;

impl TimerHandler for Rescheduling {
    async fn handle(&self, tx: &mut Tx, timer: &Timer, _now: chrono::DateTime<Utc>) -> Result<()> {
        let later = timer.due() + Duration::days(1);
        timers::replace(
            tx,
            &["case_deadline", "case_warning"],
            &timer.subject,
            &[("case_deadline", later, serde_json::json!({}))],
            timer.due(),
        )
        .await
    }
}

#[tokio::test]
async fn a_timer_that_sets_its_own_kind_again_fires_once_and_leaves_the_new_one_pending() {
    for db in testing::fresh_dbs().await {
        let t0 = Utc.with_ymd_and_hms(2026, 12, 4, 1, 0, 0).unwrap();
        let mut tx = db.begin().await.unwrap();
        timers::replace(
            &mut tx,
            &["case_deadline", "case_warning"],
            "C1",
            &[("case_deadline", t0, serde_json::json!({}))],
            t0,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let at = t0 + Duration::minutes(1);
        assert_eq!(
            timers::fire_due(&db, at, "w1", &Rescheduling, 10)
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            pending(&db, "C1").await,
            vec![(
                "case_deadline".to_string(),
                crate::micros(t0 + Duration::days(1)),
                "{}".to_string()
            )]
        );
        // Nothing more is due until the new time, and then it fires once.
        assert_eq!(
            timers::fire_due(&db, at, "w1", &Rescheduling, 10)
                .await
                .unwrap(),
            0
        );
        assert_eq!(timer_rows(&db, "C1", "fired_at IS NOT NULL").await, 1);
    }
}

#[tokio::test]
async fn many_more_writers_than_connections_all_commit_and_on_sqlite_each_in_its_turn() {
    for db in testing::fresh_dbs().await {
        let at = Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap();
        // Each writer reads before it writes and holds its transaction across an await, as a
        // command does; far more of them than the pool has connections.
        let writers: Vec<_> = (0..200)
            .map(|i| {
                let db = db.clone();
                tokio::spawn(async move {
                    let mut tx = db.begin().await?;
                    let n: i64 = tx_run!(&mut tx, |c| sqlx::query_scalar(
                        "SELECT COUNT(*) FROM events WHERE subject_type = 'writer'"
                    )
                    .fetch_one(c)
                    .await
                    .map_err(crate::db_err)?);
                    tokio::task::yield_now().await;
                    let subject = format!("{i}:{n}");
                    events::append(
                        &mut tx,
                        at,
                        NewEvent {
                            actor: "test",
                            kind: "written",
                            subject_type: "writer",
                            subject_id: &subject,
                            payload: serde_json::json!({}),
                        },
                    )
                    .await?;
                    tx.commit().await?;
                    Ok::<_, Error>(n)
                })
            })
            .collect();
        let mut seen = Vec::new();
        for w in writers {
            seen.push(w.await.unwrap().unwrap());
        }
        assert_eq!(seen.len(), 200, "every writer committed");
        if db.backend() == crate::Backend::Sqlite {
            // One after the other: each saw exactly the writes committed before it, none twice.
            // (PostgreSQL runs them side by side, each locking only what it changes.)
            seen.sort_unstable();
            assert_eq!(seen, (0..200).collect::<Vec<i64>>());
        }
    }
}

/// The settings rows the deferral test wrote, as its transaction sees them.
async fn count(tx: &mut crate::Tx) -> Result<i64, Error> {
    tx_run!(tx, |c| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM settings WHERE key LIKE 'deferred.%'"
    )
    .fetch_one(c)
    .await
    .map_err(crate::db_err))
}

#[tokio::test]
async fn deferred_writes_are_seen_by_the_transactions_next_read_vanish_on_rollback_and_a_bad_one_fails_the_commit()
 {
    use crate::Arg;
    let put = "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3)";
    let row = |k: &str| -> Vec<Arg> { vec![k.into(), "1".into(), 0i64.into()] };
    for db in testing::fresh_dbs().await {
        // Three writes numbered $1..$3 each, sent together on SQLite as $1..$9.
        let mut tx = db.begin().await.unwrap();
        for k in ["deferred.a", "deferred.b", "deferred.c"] {
            tx.write(put, row(k)).await.unwrap();
        }
        assert_eq!(count(&mut tx).await.unwrap(), 3, "{:?}", db.backend());
        tx.write(put, row("deferred.d")).await.unwrap();
        drop(tx);
        let mut tx = db.begin().await.unwrap();
        assert_eq!(
            count(&mut tx).await.unwrap(),
            0,
            "rolled back: {:?}",
            db.backend()
        );
        tx.write(put, row("deferred.e")).await.unwrap();
        tx.commit().await.unwrap();

        // A duplicate key fails the commit, where the deferred write is sent; nothing of the
        // transaction is kept.
        let mut tx = db.begin().await.unwrap();
        tx.write(put, row("deferred.f")).await.unwrap();
        tx.write(put, row("deferred.e")).await.unwrap();
        assert!(tx.commit().await.is_err(), "{:?}", db.backend());
        let mut tx = db.begin().await.unwrap();
        assert_eq!(
            count(&mut tx).await.unwrap(),
            1,
            "only e: {:?}",
            db.backend()
        );
    }
}

#[tokio::test]
async fn deferred_values_come_back_exactly_as_written_whatever_they_hold() {
    use crate::Arg;
    // On PostgreSQL these go into the statement as literals: none may end its quoting early.
    let texts = [
        "it's",
        "$v$",
        "$v$ and $v1$ and $v2",
        "'); DELETE FROM settings; --",
        "back\\slash \\' and $1 and $$",
        "第一行\n第二行\t制表 😀",
        "",
    ];
    for db in testing::fresh_dbs().await {
        let mut tx = db.begin().await.unwrap();
        for (i, t) in texts.iter().enumerate() {
            let args: Vec<Arg> = vec![
                format!("literal.{i}").into(),
                (*t).into(),
                (-5 - i as i64).into(),
            ];
            tx.write(
                "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3)",
                args,
            )
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
        let rows: Vec<(String, String, i64)> = crate::db_run!(&db, |c| {
            sqlx::query_as(
            "SELECT key, value, updated_at FROM settings WHERE key LIKE 'literal.%' ORDER BY key"
        )
        .fetch_all(c)
        .await
        .unwrap()
        });
        assert_eq!(rows.len(), texts.len(), "{:?}", db.backend());
        for (i, t) in texts.iter().enumerate() {
            assert_eq!(
                rows[i],
                (format!("literal.{i}"), t.to_string(), -5 - i as i64),
                "{:?}",
                db.backend()
            );
        }
    }
}

#[test]
fn a_value_written_into_a_deferred_statement_keeps_its_type_and_a_nul_is_refused() {
    use crate::Arg;
    let sql = "UPDATE t SET a = $1, b = $2, c = $3, d = $4, e = $5 WHERE id = $6";
    let args = vec![
        Arg::Int(Some(-3)),
        Arg::Int(None),
        Arg::Text(None),
        Arg::Bool(true),
        Arg::Text(Some("a $v$ b".into())),
        Arg::Int(Some(7)),
    ];
    assert_eq!(
        crate::db::inlined(sql, &args).unwrap(),
        "UPDATE t SET a = (-3)::int8, b = NULL::int8, c = NULL::text, d = TRUE, \
         e = $v1$a $v$ b$v1$::text WHERE id = (7)::int8"
    );
    let nul = crate::db::inlined("SELECT $1", &[Arg::Text(Some("a\0b".into()))]);
    assert_eq!(nul.unwrap_err().code, "invalid_text");
    assert!(crate::db::inlined("SELECT $2", &[Arg::Int(Some(1))]).is_err());
}

#[tokio::test]
async fn sqlite_transactions_that_wait_for_the_writer_commit_together_and_a_failed_or_dropped_one_leaves_the_others_writes()
 {
    use crate::Arg;
    const PUT: &str = "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3)";
    fn row(k: &str) -> Vec<Arg> {
        vec![k.into(), "1".into(), 0i64.into()]
    }
    let db = crate::Db::connect(&testing::sqlite_url()).await.unwrap();
    db.migrate().await.unwrap();
    let opened_before = crate::db::shared_transactions_opened(&db).await;

    // One transaction holds the writer's turn while twenty queue for it: it took the turn
    // with its first statement (a transaction queues at its first statement, not at `begin`).
    let mut first = db.begin().await.unwrap();
    assert_eq!(count(&mut first).await.unwrap(), 0);
    first.write(PUT, row("deferred.first")).await.unwrap();
    let waiting: Vec<_> = (0..20)
        .map(|i| {
            let db = db.clone();
            tokio::spawn(async move {
                let mut tx = db.begin().await?;
                tx.write(PUT, row(&format!("deferred.{i:02}"))).await?;
                match i {
                    // Breaks a unique key: fails when its writes are sent. The members
                    // before it that only wrote are run again after it is rolled back.
                    5 => tx.write(PUT, row("deferred.first")).await?,
                    // The same after a member that read (9) moved the savepoint past itself:
                    // only the members after 9 are run again.
                    12 => tx.write(PUT, row("deferred.03")).await?,
                    // Sends its writes (the read flushes them), then is dropped uncommitted.
                    7 => {
                        assert_eq!(
                            count(&mut tx).await?,
                            8,
                            "sees the writes before it but 5's"
                        );
                        return Ok(false);
                    }
                    // What a member saw of the others is committed once its own commit answers.
                    9 => {
                        let seen = count(&mut tx).await?;
                        tx.commit().await?;
                        let crate::Db::Sqlite(pool) = &db else {
                            unreachable!("a SQLite URL")
                        };
                        let outside: i64 = sqlx::query_scalar(
                            "SELECT COUNT(*) FROM settings WHERE key LIKE 'deferred.%'",
                        )
                        .fetch_one(pool)
                        .await
                        .map_err(crate::db_err)?;
                        assert!(outside >= seen, "saw {seen}, committed {outside}");
                        return Ok(true);
                    }
                    _ => {}
                }
                tx.commit().await.map(|()| true)
            })
        })
        .collect();
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
    first.commit().await.unwrap();

    let mut ended = Vec::new();
    for w in waiting {
        ended.push(w.await.unwrap());
    }
    for (i, e) in ended.iter().enumerate() {
        match i {
            5 | 12 => assert!(e.is_err(), "the duplicate failed"),
            7 => assert_eq!(e, &Ok(false)),
            _ => assert_eq!(e, &Ok(true), "member {i}"),
        }
    }
    // Everyone who queued joined the first one's transaction: one COMMIT for all.
    assert_eq!(
        crate::db::shared_transactions_opened(&db).await - opened_before,
        1
    );
    // Committed: seen from outside, without the failed and the dropped member's writes.
    let keys = committed_keys(&db, "deferred.").await;
    let mut expected: Vec<String> = (0..20)
        .filter(|i| ![5, 7, 12].contains(i))
        .map(|i| format!("deferred.{i:02}"))
        .collect();
    expected.push("deferred.first".into());
    assert_eq!(keys, expected);

    // A transaction alone still commits on its own.
    let mut tx = db.begin().await.unwrap();
    tx.write(PUT, row("deferred.alone")).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = db.begin().await.unwrap();
    assert_eq!(count(&mut tx).await.unwrap(), 19);
}

async fn hall_event(tx: &mut crate::Tx, subject: &str) -> i64 {
    let at = Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap();
    events::append_in_hall(
        tx,
        at,
        "H1",
        NewEvent {
            actor: "staff:1",
            kind: "ticket_called",
            subject_type: "ticket",
            subject_id: subject,
            payload: serde_json::json!({}),
        },
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn the_hall_feed_reads_what_is_new_to_it_and_on_postgresql_an_event_that_became_visible_late()
{
    for db in testing::fresh_dbs().await {
        let backend = db.backend();
        let ids_of =
            |rows: Vec<events::HallEventRow>| rows.iter().map(|r| r.id).collect::<Vec<_>>();
        let mut tx = db.begin().await.unwrap();
        let first = hall_event(&mut tx, "1").await;
        let second = hall_event(&mut tx, "2").await;
        tx.commit().await.unwrap();
        // A reader that has had everything up to the first event gets the second, and only it.
        let is_new = |id: i64| id > first;
        let rows = events::hall_events_new_to(&db, first, 256, is_new, 1000)
            .await
            .unwrap();
        assert_eq!(ids_of(rows), vec![second], "on {backend:?}");
        // A reader that has had both gets nothing: no row is read again.
        let rows = events::hall_events_new_to(&db, second, 256, |_| false, 1000)
            .await
            .unwrap();
        assert!(rows.is_empty(), "on {backend:?}");

        if backend == crate::Backend::Postgres {
            // PostgreSQL hands the id out at insert: an event inserted first and committed last
            // is visible only after a higher one. The reader that read past it still gets it.
            let mut slow = db.begin().await.unwrap();
            let late = hall_event(&mut slow, "late").await;
            let mut quick = db.begin().await.unwrap();
            let early = hall_event(&mut quick, "early").await;
            quick.commit().await.unwrap();
            assert!(late < early);
            let rows = events::hall_events_new_to(&db, second, 256, |id| id > second, 1000)
                .await
                .unwrap();
            assert_eq!(ids_of(rows), vec![early]);
            slow.commit().await.unwrap();
            let rows =
                events::hall_events_new_to(&db, early, 256, |id| id > second && id != early, 1000)
                    .await
                    .unwrap();
            // Read from the first id it had not had: what it had after that comes along, and the
            // feed passes over it.
            assert_eq!(ids_of(rows), vec![late, early]);
        }
    }
}

#[tokio::test]
async fn hall_events_announced_by_one_instance_wake_the_listener_of_another_on_postgresql_and_sqlite_has_none()
 {
    for url in testing::backends().await {
        let here = crate::Db::connect(&url).await.unwrap();
        here.migrate().await.unwrap();
        let there = crate::Db::connect(&url).await.unwrap();
        let (woke, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let listening = tokio::spawn({
            let there = there.clone();
            async move {
                events::listen_hall_events(&there, "there", move || {
                    let _ = woke.send(());
                })
                .await
            }
        });
        if here.backend() == crate::Backend::Sqlite {
            // One process writes a SQLite file: nothing to listen to, it returns at once.
            listening.await.unwrap();
            assert!(rx.try_recv().is_err());
            events::announce_hall_events(&here, "here").await.unwrap();
            continue;
        }
        // It looks once when it starts listening, for what it may have missed.
        assert_eq!(woken(&mut rx).await, Some(()));
        events::announce_hall_events(&here, "here").await.unwrap();
        assert_eq!(woken(&mut rx).await, Some(()));
        listening.abort();
        here.close().await;
        there.close().await;
    }
}

/// The listener's next wake-up (a wait for it, bounded so a missing one fails the test).
async fn woken(rx: &mut tokio::sync::mpsc::UnboundedReceiver<()>) -> Option<()> {
    tokio::time::timeout(std::time::Duration::from_secs(20), rx.recv())
        .await
        .expect("the listener is woken")
}

#[derive(Debug, PartialEq, sqlx::FromRow, serde::Deserialize)]
struct Setting {
    key: String,
    value: String,
}

async fn settings_like(tx: &mut crate::Tx, prefix: &str) -> Result<Vec<Setting>> {
    tx.read(
        "SELECT key, value FROM settings WHERE key LIKE $1 ORDER BY key",
        vec![format!("{prefix}%").into()],
    )
    .await
}

#[tokio::test]
async fn a_transactions_reads_see_its_deferred_writes_and_a_broken_key_there_is_a_conflict_on_both_backends()
 {
    const PUT: &str = "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3)";
    for db in testing::fresh_dbs().await {
        let backend = db.backend();
        let mut tx = db.begin().await.unwrap();
        tx.write(PUT, vec!["read.a".into(), "1".into(), 0i64.into()])
            .await
            .unwrap();
        // `$2` before `$1`, and `$1` twice: values bind by their numbers.
        tx.write(
            "INSERT INTO settings (updated_at, key, value) VALUES ($2, $1, $1 || '!')",
            vec!["read.b".into(), 0i64.into()],
        )
        .await
        .unwrap();
        assert_eq!(
            settings_like(&mut tx, "read.").await.unwrap(),
            vec![
                Setting {
                    key: "read.a".into(),
                    value: "1".into()
                },
                Setting {
                    key: "read.b".into(),
                    value: "read.b!".into()
                },
            ],
            "{backend:?}"
        );
        let first = events::append(
            &mut tx,
            Utc::now(),
            NewEvent {
                actor: "staff:1",
                kind: "read_tested",
                subject_type: "test",
                subject_id: "1",
                payload: serde_json::json!({}),
            },
        )
        .await
        .unwrap();
        let next = tx
            .returning(
                "INSERT INTO events (at, actor, kind, subject_type, subject_id, payload) \
                 VALUES (0, 'staff:1', 'read_tested', 'test', '2', '{}') RETURNING id AS value",
                vec![],
            )
            .await
            .unwrap();
        assert!(next > first, "{backend:?}: {first} then {next}");
        tx.write(PUT, vec!["read.a".into(), "2".into(), 0i64.into()])
            .await
            .unwrap();
        let broken = settings_like(&mut tx, "read.").await.unwrap_err();
        assert_eq!(broken.code, "duplicate", "{backend:?}: {broken:?}");
        drop(tx);

        // Nothing of the dropped transaction was kept, and the next one works.
        let mut tx = db.begin().await.unwrap();
        assert_eq!(
            settings_like(&mut tx, "read.").await.unwrap(),
            vec![],
            "{backend:?}"
        );
        tx.commit().await.unwrap();
    }
}

/// The keys of settings starting with `prefix`, as committed (read from the pool, in order).
async fn committed_keys(db: &crate::Db, prefix: &str) -> Vec<String> {
    crate::db_run!(db, |c| sqlx::query_scalar(
        "SELECT key FROM settings WHERE key LIKE $1 ORDER BY key"
    )
    .bind(format!("{prefix}%"))
    .fetch_all(c)
    .await
    .unwrap())
}

/// Writes the setting `key` (value `1`) in a transaction of its own and commits it.
async fn put_committed(db: &crate::Db, key: &str) {
    let mut tx = db.begin().await.unwrap();
    tx.write(PUT, vec![key.into()]).await.unwrap();
    tx.commit().await.unwrap();
}

/// The value of the setting `key` as committed.
async fn committed_value(db: &crate::Db, key: &str) -> String {
    crate::db_run!(db, |c| sqlx::query_scalar(
        "SELECT value FROM settings WHERE key = $1"
    )
    .bind(key)
    .fetch_one(c)
    .await
    .unwrap())
}

async fn put_through_sqlx(tx: &mut crate::Tx, key: &str) -> Result<()> {
    tx_run!(tx, |c| sqlx::query(
        "INSERT INTO settings (key, value, updated_at) VALUES ($1, '1', 0)"
    )
    .bind(key)
    .execute(c)
    .await
    .map(|_| ())
    .map_err(crate::db_err))
}

#[tokio::test]
async fn a_dropped_sqlite_transaction_is_rolled_back_whether_its_last_statement_ran_on_the_writers_thread_or_the_connections()
 {
    let db = crate::Db::connect(&testing::sqlite_url()).await.unwrap();
    db.migrate().await.unwrap();

    // Its last statement ran here (the connection lent to the turn): rolled back on drop.
    let mut tx = db.begin().await.unwrap();
    tx.write(PUT, vec!["drop.here".into()]).await.unwrap();
    assert_eq!(settings_like(&mut tx, "drop.").await.unwrap().len(), 1);
    drop(tx);
    // Its last statement went through sqlx: rolled back when the next transaction begins.
    let mut tx = db.begin().await.unwrap();
    assert_eq!(settings_like(&mut tx, "drop.").await.unwrap(), vec![]);
    put_through_sqlx(&mut tx, "drop.there").await.unwrap();
    drop(tx);
    let mut tx = db.begin().await.unwrap();
    assert_eq!(settings_like(&mut tx, "drop.").await.unwrap(), vec![]);
    tx.write(PUT, vec!["drop.kept".into()]).await.unwrap();
    tx.commit().await.unwrap();

    assert_eq!(
        committed_keys(&db, "drop.").await,
        vec!["drop.kept".to_string()]
    );
}

#[tokio::test]
async fn after_a_sqlite_database_is_closed_or_its_file_replaced_the_writer_writes_the_file_that_is_there()
 {
    let url = testing::sqlite_url();
    let put = |db: crate::Db, key: &'static str| async move {
        let mut tx = db.begin().await.unwrap();
        tx.write(PUT, vec![key.into()]).await.unwrap();
        tx.commit().await.unwrap();
    };

    let db = crate::Db::connect(&url).await.unwrap();
    db.migrate().await.unwrap();
    put(db.clone(), "file.before").await;
    db.close().await;

    // Opened again: the writer opens its connection again.
    let db = crate::Db::connect(&url).await.unwrap();
    put(db.clone(), "file.after_close").await;
    assert_eq!(
        committed_keys(&db, "file.").await,
        vec!["file.after_close", "file.before"]
    );

    // The file deleted and made anew under the same path, without a close: the writer's
    // connection to the old file is not used for the new one.
    let path = url.trim_start_matches("sqlite://").to_string();
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{path}{suffix}"));
    }
    let db = crate::Db::connect(&url).await.unwrap();
    db.migrate().await.unwrap();
    put(db.clone(), "file.new").await;
    assert_eq!(committed_keys(&db, "file.").await, vec!["file.new"]);
}

/// Hall H1 and its line `a`: (hall id, queue id).
async fn hall_with_line(tx: &mut Tx, now: chrono::DateTime<Utc>) -> (i64, i64) {
    let hall = crate::hall::insert_hall(tx, "H1", "大厅", None, "{}", now)
        .await
        .unwrap();
    let a = crate::hall::insert_queue(tx, hall, "a", "综合", "A", now)
        .await
        .unwrap();
    (hall, a)
}

/// [`hall_with_line`] and a second line `b`.
async fn hall_with_two_lines(tx: &mut Tx, now: chrono::DateTime<Utc>) -> (i64, i64, i64) {
    let (hall, a) = hall_with_line(tx, now).await;
    let b = crate::hall::insert_queue(tx, hall, "b", "不动产", "B", now)
        .await
        .unwrap();
    (hall, a, b)
}

/// Inserts ticket `seq` of line `queue` in `status`, ranked at `rank`; returns its id.
async fn ticket_row(tx: &mut Tx, hall: i64, queue: i64, seq: i64, rank: i64, status: &str) -> i64 {
    tx.returning(
        "INSERT INTO tickets (hall_id, queue_id, number_queue_id, service_date, seq, number, \
         channel, status, issued_at, waiting_since, rank_at, since) \
         VALUES ($1, $2, $2, '2026-12-06', $3, $4, 'kiosk', $5, 0, 0, $6, 0) RETURNING id AS value",
        vec![
            hall.into(),
            queue.into(),
            seq.into(),
            format!("A{seq:03}").into(),
            status.into(),
            rank.into(),
        ],
    )
    .await
    .unwrap()
}

/// Each queue's waiting figure as the store gives it, beside a count of the line itself.
async fn waiting_both_ways(tx: &mut crate::Tx, queues: &[i64]) -> Vec<(i64, i64)> {
    let mut out = vec![];
    for q in queues {
        let kept = crate::hall::waiting_count(tx, *q).await.unwrap();
        let counted = tx
            .returning(
                "SELECT COUNT(*) AS value FROM tickets WHERE queue_id = $1 AND status = 'waiting'",
                vec![(*q).into()],
            )
            .await
            .unwrap();
        out.push((kept, counted));
    }
    out
}

#[tokio::test]
async fn a_queues_waiting_figure_follows_every_ticket_joining_moving_and_leaving_its_line_and_a_rollback()
 {
    use crate::Arg;
    for db in testing::fresh_dbs().await {
        let now = Utc::now();
        let mut tx = db.begin().await.unwrap();
        let (hall, a, b) = hall_with_two_lines(&mut tx, now).await;
        for seq in 1..=4_i64 {
            ticket_row(&mut tx, hall, a, seq, seq, "waiting").await;
        }
        tx.commit().await.unwrap();
        let mut tx = db.begin().await.unwrap();
        assert_eq!(waiting_both_ways(&mut tx, &[a, b]).await, [(4, 4), (0, 0)]);
        // Each change, and the figures (kept, counted) of queues a and b after it.
        let none = Vec::<Arg>::new;
        let steps = [
            // Called: leaves the line.
            (
                "UPDATE tickets SET status = 'called' WHERE seq = 1",
                none(),
                [(3, 3), (0, 0)],
            ),
            // Transferred while waiting: leaves one line, joins the other.
            (
                "UPDATE tickets SET queue_id = $1 WHERE seq = 2",
                vec![b.into()],
                [(2, 2), (1, 1)],
            ),
            // Sent back to wait, in the other queue at once.
            (
                "UPDATE tickets SET status = 'waiting', queue_id = $1 WHERE seq = 1",
                vec![b.into()],
                [(2, 2), (2, 2)],
            ),
            // Changes that keep a ticket where it was move nothing.
            (
                "UPDATE tickets SET rank_at = 9, status = 'waiting' WHERE seq = 3",
                none(),
                [(2, 2), (2, 2)],
            ),
            (
                "UPDATE tickets SET status = 'serving' WHERE seq = 4",
                none(),
                [(1, 1), (2, 2)],
            ),
            (
                "UPDATE tickets SET status = 'done' WHERE seq = 4",
                none(),
                [(1, 1), (2, 2)],
            ),
            (
                "DELETE FROM tickets WHERE seq = 2",
                none(),
                [(1, 1), (1, 1)],
            ),
        ];
        for (sql, args, want) in steps {
            tx.write(sql, args).await.unwrap();
            assert_eq!(waiting_both_ways(&mut tx, &[a, b]).await, want, "{sql}");
        }
        drop(tx);
        let mut tx = db.begin().await.unwrap();
        assert_eq!(
            waiting_both_ways(&mut tx, &[a, b]).await,
            [(4, 4), (0, 0)],
            "a rolled-back transaction leaves the figures as they were"
        );
        drop(tx);
        db.close().await;
    }
}

#[tokio::test]
async fn a_waiting_tickets_place_is_the_same_counted_from_the_head_or_the_tail_of_its_line() {
    use crate::hall::CountFrom;
    for db in testing::fresh_dbs().await {
        let now = Utc::now();
        let mut tx = db.begin().await.unwrap();
        let (hall, a, b) = hall_with_two_lines(&mut tx, now).await;
        // (queue, rank, status): a priority ticket ranked before the others, two of one rank
        // (told apart by their ids), an appointment ranked later, one already called and one
        // waiting in another line ahead of everybody.
        let line = [
            (a, 5, "waiting"),
            (a, 1, "waiting"),
            (a, 5, "waiting"),
            (a, 9, "waiting"),
            (a, 3, "waiting"),
            (a, 2, "called"),
            (b, 0, "waiting"),
        ];
        let mut ids = vec![];
        for (seq, (queue, rank, status)) in (1_i64..).zip(line) {
            ids.push(ticket_row(&mut tx, hall, queue, seq, rank, status).await);
        }
        tx.commit().await.unwrap();
        let mut places = vec![];
        for id in &ids[..5] {
            let row = crate::hall::ticket(&db, *id).await.unwrap();
            let head = crate::hall::line_position(&db, &row, 10, CountFrom::Head)
                .await
                .unwrap();
            let tail = crate::hall::line_position(&db, &row, 10, CountFrom::Tail)
                .await
                .unwrap();
            assert_eq!(head, tail, "ticket {id}");
            places.push(head.ahead);
        }
        assert_eq!(places, [2, 0, 3, 4, 1]);
        db.close().await;
    }
}

#[tokio::test]
async fn a_row_read_in_the_transaction_decodes_numbers_texts_nulls_and_bools_on_both_backends() {
    #[derive(sqlx::FromRow, serde::Deserialize, Debug, PartialEq)]
    struct Cells {
        n: i64,
        none: Option<i64>,
        some_text: Option<String>,
        t: String,
        r: f64,
        flag: bool,
        off: bool,
    }
    #[derive(sqlx::FromRow, serde::Deserialize, Debug, PartialEq)]
    struct Outer {
        #[sqlx(flatten)]
        #[serde(flatten)]
        cells: Cells,
        extra: i64,
    }
    for db in testing::fresh_dbs().await {
        let mut tx = db.begin().await.unwrap();
        let sql = "SELECT CAST(7 AS BIGINT) AS n, CAST(NULL AS BIGINT) AS none, '有' AS some_text, '窗口' AS t, \
                   CAST(2.5 AS DOUBLE PRECISION) AS r, 1 = 1 AS flag, 1 = 2 AS off, CAST(9 AS BIGINT) AS extra";
        let want = Cells {
            n: 7,
            none: None,
            some_text: Some("有".into()),
            t: "窗口".into(),
            r: 2.5,
            flag: true,
            off: false,
        };
        let got: Vec<Cells> = tx.read(sql, vec![]).await.unwrap();
        assert_eq!(got, [want]);
        // A flattened struct's bools come through serde's buffer as SQLite's integers, which
        // it does not take for a bool: the error names the statement.
        let flattened = tx.read::<Outer>(sql, vec![]).await;
        match db.backend() {
            crate::Backend::Postgres => assert_eq!(flattened.unwrap()[0].extra, 9),
            crate::Backend::Sqlite => {
                let e = flattened.unwrap_err();
                let detail = e.detail.unwrap_or_default();
                assert!(
                    detail.contains("reading a row of SELECT CAST(7"),
                    "{detail}"
                );
            }
        }
        drop(tx);
        db.close().await;
    }
}

/// SQLite prepares a statement whose LIMIT is bound again at every run ([`crate::db::limit`]).
#[test]
fn no_statement_of_the_store_binds_its_limit_or_offset() {
    fn scan(dir: &std::path::Path, found: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                scan(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for (i, line) in text.lines().enumerate() {
                    // (this test's own needles are split so it does not find itself)
                    if line.contains(concat!("LIMIT ", "$"))
                        || line.contains(concat!("OFFSET ", "$"))
                    {
                        found.push(format!("{}:{}", path.display(), i + 1));
                    }
                }
            }
        }
    }
    let mut found = vec![];
    scan(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut found,
    );
    assert!(found.is_empty(), "bound LIMIT or OFFSET at {found:?}");
}

#[tokio::test]
async fn a_sqlite_write_waits_while_another_process_holds_the_files_lock_and_then_commits_after_it()
{
    let url = testing::sqlite_url();
    let db = crate::Db::connect(&url).await.unwrap();
    db.migrate().await.unwrap();
    let path = url.trim_start_matches("sqlite://").to_string();

    // Another process's writer (its own connection to the file) holds the write lock until told.
    let (release, released) = std::sync::mpsc::channel::<()>();
    let (locked, is_locked) = std::sync::mpsc::channel::<()>();
    let other = std::thread::spawn(move || {
        let c = rusqlite::Connection::open(path).unwrap();
        c.execute_batch(
            "BEGIN IMMEDIATE; \
             INSERT INTO settings (key, value, updated_at) VALUES ('lock.other', '1', 0);",
        )
        .unwrap();
        locked.send(()).unwrap();
        released.recv().unwrap();
        c.execute_batch("COMMIT").unwrap();
    });
    is_locked.recv().unwrap();

    let writer = db.clone();
    let mut ours = tokio::spawn(async move {
        let mut tx = writer.begin().await?;
        let seen = settings_like(&mut tx, "lock.").await?.len();
        tx.write(PUT, vec!["lock.ours".into()]).await?;
        tx.commit().await?;
        Ok::<_, Error>(seen)
    });
    // It neither fails nor goes ahead while the lock is held: it waits (real time, since the
    // wait is SQLite's own for a lock another connection holds).
    assert!(
        tokio::time::timeout(std::time::Duration::from_millis(150), &mut ours)
            .await
            .is_err(),
        "the write ended while another process held the lock"
    );
    release.send(()).unwrap();
    other.join().unwrap();
    // Then it begins after the other's commit (it sees that row) and commits its own.
    assert_eq!(ours.await.unwrap().unwrap(), 1);
    assert_eq!(
        committed_keys(&db, "lock.").await,
        vec!["lock.other", "lock.ours"]
    );
}

#[tokio::test]
async fn a_write_guarded_by_its_rows_past_fails_as_stale_once_the_row_moved_on_and_leaves_nothing_of_its_transaction()
 {
    for db in testing::fresh_dbs().await {
        let backend = db.backend().name();
        let mut tx = db.begin().await.unwrap();
        tx.write(PUT, vec!["guard.row".into()]).await.unwrap();
        tx.commit().await.unwrap();

        // The row as it stands: the guarded write goes through with the others.
        let mut tx = db.begin().await.unwrap();
        tx.write(PUT, vec!["guard.a".into()]).await.unwrap();
        let (from, to) = ("1", "2");
        tx.write_guarded(GUARD_MOVE, vec!["guard.row".into(), to.into(), from.into()])
            .await
            .unwrap();
        tx.commit().await.unwrap();

        // The row as it was: stale, and the write before it goes too.
        let mut tx = db.begin().await.unwrap();
        tx.write(PUT, vec!["guard.b".into()]).await.unwrap();
        tx.write_guarded(
            GUARD_MOVE,
            vec!["guard.row".into(), "3".into(), from.into()],
        )
        .await
        .unwrap();
        let e = tx.commit().await.unwrap_err();
        assert_eq!(e.code, crate::db::STALE, "{backend}: {e:?}");
        assert_eq!(e.kind, yichuang_domain::Kind::Conflict);
        assert_eq!(
            committed_keys(&db, "guard.").await,
            ["guard.a", "guard.row"],
            "{backend}"
        );
        assert_eq!(committed_value(&db, "guard.row").await, to, "{backend}");
    }
}

const GUARD_MOVE: &str = "UPDATE settings SET value = $2 WHERE key = $1 AND value = $3";

/// On PostgreSQL a command from a kept state takes no row lock before its guarded update, so
/// that update may find the row locked by a command that started from the row: it waits, and
/// its guard then tests the row as the other left it.
#[tokio::test]
async fn on_postgres_a_guarded_write_that_waited_for_the_rows_lock_fails_as_stale_once_the_holder_moved_the_row()
 {
    let Some(db) = testing::fresh_postgres().await else {
        return;
    };
    put_committed(&db, "guard.row").await;

    // The holder moves the row and keeps it locked.
    let mut holder = db.begin().await.unwrap();
    holder
        .write(GUARD_MOVE, vec!["guard.row".into(), "2".into(), "1".into()])
        .await
        .unwrap();
    holder.flush().await.unwrap();

    // A change from the row as it was waits for the lock.
    let waiter = {
        let db = db.clone();
        tokio::spawn(async move {
            let mut tx = db.begin().await?;
            tx.write(PUT, vec!["guard.waiter".into()]).await?;
            tx.write_guarded(GUARD_MOVE, vec!["guard.row".into(), "3".into(), "1".into()])
                .await?;
            tx.commit().await
        })
    };
    let crate::Db::Postgres(pool) = &db else {
        unreachable!("a PostgreSQL URL")
    };
    let mut waiting = 0;
    // Until the waiter is seen waiting, however slow the machine (a busy CI), within reason.
    let give_up = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::time::Instant::now() < give_up {
        waiting = sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        if waiting > 0 {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(waiting, 1, "the guarded write waits for the row's lock");
    holder.commit().await.unwrap();

    let e = waiter.await.unwrap().unwrap_err();
    assert_eq!(e.code, crate::db::STALE, "{e:?}");
    assert_eq!(committed_keys(&db, "guard.").await, ["guard.row"]);
    assert_eq!(committed_value(&db, "guard.row").await, "2");
}

/// On PostgreSQL a write may read through the pool while it holds its own connection (a value
/// kept in the process and read on its first use). When more writes begin at once than the
/// pool has connections, those reads still find one: the writes beyond `PG_WRITERS` wait for
/// their place holding none, so every write commits. Without the places, the first sixteen
/// writes held every connection and each waited for one more until the pool's timeout.
#[tokio::test]
async fn on_postgres_more_writes_at_once_than_the_pool_has_connections_still_read_through_the_pool_and_all_commit()
 {
    let Some(db) = testing::fresh_postgres().await else {
        return;
    };
    put_committed(&db, "held.read").await;

    const WRITES: usize = 24;
    let (begun, mut begun_rx) = tokio::sync::mpsc::unbounded_channel();
    let (go, go_rx) = tokio::sync::watch::channel(false);
    let writers: Vec<_> = (0..WRITES)
        .map(|i| {
            let (db, begun, mut go) = (db.clone(), begun.clone(), go_rx.clone());
            tokio::spawn(async move {
                let mut tx = db.begin().await?;
                tx.write(PUT, vec![format!("held.{i:02}").into()]).await?;
                tx.flush().await?;
                let _ = begun.send(());
                let _ = go.wait_for(|go| *go).await;
                // The read through the pool, the transaction's own connection held meanwhile.
                assert_eq!(committed_value(&db, "held.read").await, "1");
                tx.commit().await
            })
        })
        .collect();
    // Every write that could begin holds its connection before any of them reads.
    for _ in 0..crate::db::PG_WRITERS {
        begun_rx.recv().await.unwrap();
    }
    go.send(true).unwrap();
    for w in writers {
        w.await.unwrap().unwrap();
    }
    assert_eq!(committed_keys(&db, "held.").await.len(), WRITES + 1);
}

/// On PostgreSQL a write beyond the `PG_WRITERS` that hold a connection waits for its place,
/// holding none; after the pool's ten seconds it answers `database_busy` having written nothing,
/// and once a place is free the next write begins.
#[tokio::test]
async fn on_postgres_a_write_beyond_the_places_waits_for_one_and_answers_busy_after_ten_seconds() {
    let Some(db) = testing::fresh_postgres().await else {
        return;
    };
    let mut held = vec![];
    for i in 0..crate::db::PG_WRITERS {
        let mut tx = db.begin().await.unwrap();
        tx.write(PUT, vec![format!("place.{i:02}").into()])
            .await
            .unwrap();
        tx.flush().await.unwrap();
        held.push(tx);
    }
    tokio::time::pause();
    let asked = tokio::time::Instant::now();
    let e = match db.begin().await {
        Ok(_) => panic!("a write beyond the places began"),
        Err(e) => e,
    };
    assert_eq!(e.code, crate::db::DATABASE_BUSY, "{e:?}");
    // The log says what it waited for: a place, not a connection.
    assert!(
        e.detail.as_deref().is_some_and(|d| d.contains("place")),
        "{e:?}"
    );
    // Tokio's timers tick in whole milliseconds.
    let waited = asked.elapsed().as_millis();
    assert!((10_000..=10_001).contains(&waited), "waited {waited} ms");
    tokio::time::resume();

    held.pop().unwrap().commit().await.unwrap();
    put_committed(&db, "place.next").await;
    drop(held);
    assert_eq!(
        committed_keys(&db, "place.").await,
        ["place.10", "place.next"]
    );
}

#[tokio::test]
async fn a_sqlite_transaction_that_only_writes_waits_for_the_writers_turn_at_its_commit_not_at_begin()
 {
    let db = crate::Db::connect(&testing::sqlite_url()).await.unwrap();
    db.migrate().await.unwrap();
    // The first holds the turn: it has read.
    let mut first = db.begin().await.unwrap();
    assert_eq!(count(&mut first).await.unwrap(), 0);
    // The second begins and writes meanwhile (nothing waits for the turn yet)...
    let mut second = tokio::time::timeout(std::time::Duration::from_secs(5), db.begin())
        .await
        .expect("begins without the turn")
        .unwrap();
    second
        .write(PUT, vec!["deferred.second".into()])
        .await
        .unwrap();
    // ...and its commit waits in line behind the first, and commits once the first has.
    let committing = tokio::spawn(async move { second.commit().await });
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
    assert!(!committing.is_finished(), "waits for the turn");
    first
        .write(PUT, vec!["deferred.first".into()])
        .await
        .unwrap();
    first.commit().await.unwrap();
    committing.await.unwrap().unwrap();
    assert_eq!(
        committed_keys(&db, "deferred.").await,
        ["deferred.first", "deferred.second"]
    );
}

#[tokio::test]
async fn the_display_boards_look_up_by_hall_uses_the_hall_index_which_holds_hall_events_only() {
    // The board's query (`events::hall_calls_since`) with its values written in.
    const BOARD: &str = "SELECT id, at, kind, hall, payload FROM events \
         WHERE hall = 'H1' AND kind IN ('ticket_called', 'ticket_recalled') AND at >= 0 \
         ORDER BY id DESC LIMIT 200";
    for db in testing::fresh_dbs().await {
        let (definition, plan) = match &db {
            crate::Db::Sqlite(p) => {
                let definition: String = sqlx::query_scalar(
                    "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'events_hall'",
                )
                .fetch_one(p)
                .await
                .unwrap();
                let plan: Vec<(i64, i64, i64, String)> =
                    sqlx::query_as(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {BOARD}")))
                        .fetch_all(p)
                        .await
                        .unwrap();
                (
                    definition,
                    plan.into_iter().map(|r| r.3).collect::<Vec<_>>(),
                )
            }
            crate::Db::Postgres(p) => {
                let definition: String = sqlx::query_scalar(
                    "SELECT indexdef FROM pg_indexes WHERE indexname = 'events_hall'",
                )
                .fetch_one(p)
                .await
                .unwrap();
                let mut c = p.acquire().await.unwrap();
                // An empty table is read whole otherwise: the question is whether the index
                // can serve the query at all.
                sqlx::query("SET enable_seqscan = off")
                    .execute(&mut *c)
                    .await
                    .unwrap();
                let plan: Vec<String> =
                    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("EXPLAIN {BOARD}")))
                        .fetch_all(&mut *c)
                        .await
                        .unwrap();
                (definition, plan)
            }
        };
        assert!(
            definition.contains("WHERE hall IS NOT NULL")
                || definition.contains("WHERE (hall IS NOT NULL)"),
            "case and account events have no hall and stay out of the index: {definition}"
        );
        assert!(
            plan.iter().any(|line| line.contains("events_hall")),
            "{plan:?}"
        );
    }
}

#[tokio::test]
async fn a_request_that_took_the_change_counter_from_the_last_read_is_run_again_when_another_process_moved_it_and_its_write_is_refused_unwritten()
 {
    use crate::calendar::{guessing_scope, version, version_scope};
    for db in testing::fresh_dbs().await {
        let backend = db.backend().name();
        let read = version(&db).await.unwrap();
        let write = |key: &'static str| {
            let db = db.clone();
            async move {
                assert_eq!(version(&db).await?, read, "taken from the last read");
                let mut tx = db.begin().await?;
                tx.write(PUT, vec![key.into()]).await?;
                tx.commit().await
            }
        };
        // Nothing moved it: the write commits, and the request is not run again.
        let (written, again) = guessing_scope(write("guess.kept")).await;
        assert_eq!((written, again), (Ok(()), false), "{backend}");

        move_counter_elsewhere(&db).await;
        let (written, again) = guessing_scope(async {
            let first = write("guess.refused").await;
            // A handler that writes on after the refusal is refused the same way.
            (first, write("guess.after").await)
        })
        .await;
        assert_eq!(
            written.0.unwrap_err().code,
            crate::db::COUNTER_MOVED,
            "{backend}"
        );
        assert_eq!(
            written.1.unwrap_err().code,
            crate::db::COUNTER_MOVED,
            "{backend}"
        );
        assert!(again, "{backend}: runs again");
        assert_eq!(
            committed_keys(&db, "guess.").await,
            vec!["guess.kept"],
            "{backend}"
        );

        // A request that writes nothing is checked at its end.
        let (_, again) = guessing_scope(async { version(&db).await }).await;
        assert!(again, "{backend}: the last read is still the old one");
        // Run again with the counter read, the request sees the move, and its read is the last.
        let seen = version_scope(async { version(&db).await }).await.unwrap();
        assert_eq!(seen, read + 1, "{backend}");
        let (taken, again) = guessing_scope(async { version(&db).await }).await;
        assert_eq!((taken.unwrap(), again), (read + 1, false), "{backend}");
        db.close().await;
    }
}

/// Moves the change counter as another process would: on a connection of its own, without
/// this process's knowing.
async fn move_counter_elsewhere(db: &crate::Db) {
    crate::db_run!(db, |c| sqlx::query(
        "UPDATE calendar_version SET version = version + 1 WHERE id = 1"
    )
    .execute(c)
    .await
    .map(|_| ())
    .unwrap());
}

/// On PostgreSQL the check of a counter taken from the last read rides in a statement the
/// write sends anyway (the guarded update of a case command, say), or goes on its own before
/// the commit of a transaction that deferred nothing; the request's own move of the counter
/// is not taken for another's.
#[tokio::test]
async fn a_write_that_took_the_counter_tells_a_moved_counter_from_a_moved_row_checks_it_when_it_deferred_nothing_and_is_not_refused_for_its_own_move()
 {
    use crate::calendar::{guessing_scope, version, version_scope};
    for db in testing::fresh_dbs().await {
        let backend = db.backend().name();
        let mut tx = db.begin().await.unwrap();
        tx.write(PUT, vec!["guard.row".into()]).await.unwrap();
        tx.commit().await.unwrap();
        let fresh = || async { version_scope(version(&db)).await.unwrap() };
        let guarded = |from: &'static str, to: &'static str| {
            let db = db.clone();
            async move {
                version(&db).await?;
                let mut tx = db.begin().await?;
                tx.write_guarded(GUARD_MOVE, vec!["guard.row".into(), to.into(), from.into()])
                    .await?;
                tx.commit().await
            }
        };

        // The counter moved, the row did not: refused as moved, and run again.
        fresh().await;
        move_counter_elsewhere(&db).await;
        let (e, again) = guessing_scope(guarded("1", "2")).await;
        assert_eq!(e.unwrap_err().code, crate::db::COUNTER_MOVED, "{backend}");
        assert!(again, "{backend}");
        assert_eq!(committed_value(&db, "guard.row").await, "1", "{backend}");

        // The row moved, the counter did not: stale, and not run again.
        fresh().await;
        let (moved, _) = guessing_scope(guarded("1", "3")).await;
        moved.unwrap();
        let (e, again) = guessing_scope(guarded("1", "2")).await;
        assert_eq!(e.unwrap_err().code, crate::db::STALE, "{backend}");
        assert!(!again, "{backend}");
        assert_eq!(committed_value(&db, "guard.row").await, "3", "{backend}");

        // A transaction that deferred nothing is checked before it commits.
        let returning = || {
            let db = db.clone();
            async move {
                version(&db).await?;
                let mut tx = db.begin().await?;
                tx.returning(
                    "INSERT INTO settings (key, value, updated_at) \
                     VALUES ('guard.returned', '1', 7) RETURNING updated_at AS value",
                    vec![],
                )
                .await?;
                tx.commit().await
            }
        };
        fresh().await;
        move_counter_elsewhere(&db).await;
        let (e, again) = guessing_scope(returning()).await;
        assert_eq!(e.unwrap_err().code, crate::db::COUNTER_MOVED, "{backend}");
        assert!(again, "{backend}");
        assert!(
            !committed_keys(&db, "guard.")
                .await
                .contains(&"guard.returned".to_string()),
            "{backend}"
        );

        // The request's own move of the counter: written, not run again.
        let before = fresh().await;
        let (done, again) = guessing_scope(async {
            version(&db).await?;
            let mut tx = db.begin().await?;
            // Moved before anything is deferred, which could have carried the check.
            crate::calendar::bump(&mut tx).await?;
            tx.write(PUT, vec!["guard.own".into()]).await?;
            tx.commit().await
        })
        .await;
        assert_eq!((done, again), (Ok(()), false), "{backend}");
        assert_eq!(fresh().await, before + 1, "{backend}");
        assert!(
            committed_keys(&db, "guard.")
                .await
                .contains(&"guard.own".to_string()),
            "{backend}"
        );
        db.close().await;
    }
}

/// How many parts other than part 0 keep queue `queue`'s figure (PostgreSQL).
async fn parts_of(db: &crate::Db, queue: i64) -> i64 {
    let mut tx = db.begin().await.unwrap();
    let n = tx
        .returning(
            "SELECT COUNT(*) AS value FROM queue_waiting WHERE queue_id = $1 AND part <> 0",
            vec![queue.into()],
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    n
}

/// Runs `sql`, then the day end's fold of hall `hall`'s parts, in one transaction.
async fn fold_after(db: &crate::Db, hall: i64, sql: &str) {
    let mut tx = db.begin().await.unwrap();
    tx.write(sql, vec![]).await.unwrap();
    crate::hall::fold_waiting(&mut tx, hall).await.unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn on_postgresql_a_lines_waiting_figure_is_kept_in_a_part_per_connection_and_the_day_end_folds_the_parts_of_connections_gone()
 {
    for db in testing::fresh_dbs().await {
        if db.backend() != crate::Backend::Postgres {
            continue;
        }
        let now = Utc::now();
        let mut tx = db.begin().await.unwrap();
        let (hall, a) = hall_with_line(&mut tx, now).await;
        tx.commit().await.unwrap();
        let figure = |db: crate::Db| async move {
            let mut tx = db.begin().await.unwrap();
            let both = waiting_both_ways(&mut tx, &[a]).await;
            tx.commit().await.unwrap();
            both
        };

        // Two connections at once each keep a part: neither waits for the other's row.
        let mut one = db.begin().await.unwrap();
        ticket_row(&mut one, hall, a, 1, 0, "waiting").await;
        ticket_row(&mut one, hall, a, 2, 0, "waiting").await;
        let mut other = db.begin().await.unwrap();
        ticket_row(&mut other, hall, a, 3, 0, "waiting").await;
        other.commit().await.unwrap();
        one.commit().await.unwrap();
        assert_eq!(parts_of(&db, a).await, 2);
        assert_eq!(figure(db.clone()).await, [(3, 3)]);

        // As if both connections had gone (no live backend has a negative process id): the
        // day end folds their parts into part 0, and the figure stays.
        fold_after(&db, hall, "UPDATE queue_waiting SET part = -part").await;
        assert_eq!(parts_of(&db, a).await, 0);
        assert_eq!(figure(db.clone()).await, [(3, 3)]);

        // A live connection's part is left where it is.
        fold_after(
            &db,
            hall,
            "UPDATE tickets SET status = 'called' WHERE seq = 1",
        )
        .await;
        assert_eq!(parts_of(&db, a).await, 1);
        assert_eq!(figure(db.clone()).await, [(2, 2)]);
        db.close().await;
    }
}
