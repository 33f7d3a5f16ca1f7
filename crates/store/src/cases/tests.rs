//! Store tests of the case rows' writes, each on SQLite and (when configured) PostgreSQL.

use chrono::{NaiveDate, TimeZone, Utc};
use yichuang_domain::case::events::SYSTEM;
use yichuang_domain::case::{CaseEvent, Change};

use super::records::{self, CaseRow, NewCase, StepRow};
use crate::{Tx, db_run, testing};

fn at() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 1, 30, 0).unwrap()
}

/// A case row of its own applicant, as received and not yet changed.
async fn a_case(tx: &mut Tx, number: &str) -> CaseRow {
    let applicant = tx
        .returning(
            "INSERT INTO applicants (kind, id_number, name, phone, id_masked, phone_masked, \
             created_at, updated_at) VALUES ('person', $1, '张三', '13812345678', $2, \
             '138****5678', 0, 0) RETURNING id AS value",
            vec![
                format!("1101051949123{number}").into(),
                "110105********002X".into(),
            ],
        )
        .await
        .unwrap();
    let id = records::insert(
        tx,
        &NewCase {
            number,
            item: "ITEM",
            item_version: 1,
            department: "SCJ",
            hall: None,
            applicant_id: applicant,
            process_code: "P",
            process_version: 1,
            parent: None,
            received_at: at(),
            query_code: &format!("Q{number}"),
        },
        at(),
    )
    .await
    .unwrap();
    CaseRow {
        id,
        number: number.into(),
        item: "ITEM".into(),
        item_version: 1,
        department: "SCJ".into(),
        hall: None,
        applicant_id: applicant,
        status: "received".into(),
        process_code: "P".into(),
        process_version: 1,
        parent: None,
        received_at: crate::micros(at()),
        accepted_on: None,
        due_date: None,
        events: 0,
        query_code: None,
    }
}

fn event(minute: u32, by: &str, change: Change) -> CaseEvent {
    CaseEvent {
        at: NaiveDate::from_ymd_opt(2026, 3, 2)
            .unwrap()
            .and_hms_opt(9, minute, 0)
            .unwrap(),
        by: by.into(),
        on_behalf_of: None,
        change,
    }
}

#[derive(Debug, PartialEq, sqlx::FromRow)]
struct Logged {
    seq: i64,
    department: Option<String>,
    kind: String,
    actor: String,
}

/// The case's stream in order.
async fn stream(db: &crate::Db, case_id: i64) -> Vec<Logged> {
    db_run!(db, |c| sqlx::query_as(
        "SELECT seq, department, kind, actor FROM case_events WHERE case_id = $1 ORDER BY seq"
    )
    .bind(case_id)
    .fetch_all(c)
    .await
    .unwrap())
}

async fn count(db: &crate::Db, sql: &str, number: &str) -> i64 {
    db_run!(db, |c| sqlx::query_scalar(sqlx::AssertSqlSafe(
        sql.to_string()
    ))
    .bind(number)
    .fetch_one(c)
    .await
    .unwrap())
}

#[tokio::test]
async fn a_cases_events_go_to_its_stream_in_order_not_again_to_the_shared_log_and_a_rollback_keeps_none()
 {
    for db in testing::fresh_dbs().await {
        let zone = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
        let mut tx = db.begin().await.unwrap();
        let mut row = a_case(&mut tx, "YC0001").await;
        let first = [
            event(
                0,
                "clerk:li",
                Change::Accepted {
                    on: NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
                    deemed: false,
                },
            ),
            event(
                1,
                "clerk:li",
                Change::Routed {
                    department: "SCJ".into(),
                },
            ),
        ];
        records::append(&mut tx, &row, &first, Some("HALL"), zone)
            .await
            .unwrap();
        row.events = 2;
        records::append(
            &mut tx,
            &row,
            &[event(20, SYSTEM, Change::RouteConfirmed { deemed: true })],
            Some("HALL"),
            zone,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let logged = |seq: i64, department: Option<&str>, kind: &str, actor: &str| Logged {
            seq,
            department: department.map(str::to_string),
            kind: kind.into(),
            actor: actor.into(),
        };
        assert_eq!(
            stream(&db, row.id).await,
            vec![
                logged(1, Some("HALL"), "case_accepted", "clerk:li"),
                logged(2, Some("HALL"), "case_routed", "clerk:li"),
                // The system's change is no department's work.
                logged(3, None, "case_route_confirmed", SYSTEM),
            ]
        );
        // The stream is the case's log: the shared log holds no copy of it.
        assert_eq!(
            count(
                &db,
                "SELECT COUNT(*) FROM events WHERE subject_id = $1",
                "YC0001"
            )
            .await,
            0
        );

        // A rolled-back change leaves no row.
        let mut tx = db.begin().await.unwrap();
        let other = a_case(&mut tx, "YC0002").await;
        records::append(&mut tx, &other, &first, None, zone)
            .await
            .unwrap();
        tx.flush().await.unwrap();
        drop(tx);
        assert!(stream(&db, other.id).await.is_empty());
        assert_eq!(
            count(
                &db,
                "SELECT COUNT(*) FROM cases WHERE number = $1",
                "YC0002"
            )
            .await,
            0
        );
    }
}

fn step(node: &str, name: &str, claimed_by: Option<&str>) -> StepRow {
    StepRow {
        node: node.into(),
        name: name.into(),
        department: Some("SCJ".into()),
        role: "approver".into(),
        since: 1,
        due: "2026-03-09".into(),
        claimed_by: claimed_by.map(str::to_string),
    }
}

async fn steps_of(db: &crate::Db, case_id: i64) -> Vec<StepRow> {
    db_run!(db, |c| sqlx::query_as(
        "SELECT node, name, department, role, since, due, claimed_by FROM case_steps \
         WHERE case_id = $1 ORDER BY node"
    )
    .bind(case_id)
    .fetch_all(c)
    .await
    .unwrap())
}

#[tokio::test]
async fn a_change_writes_only_the_steps_that_closed_opened_or_changed_and_an_unknown_past_rewrites_them_all()
 {
    for db in testing::fresh_dbs().await {
        let mut tx = db.begin().await.unwrap();
        let row = a_case(&mut tx, "YC0003").await;
        let (a, b) = (step("a", "审查", None), step("b", "核验", None));
        records::write_steps(&mut tx, row.id, Some(&[]), &[a.clone(), b.clone()])
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(steps_of(&db, row.id).await, vec![a.clone(), b.clone()]);

        // The row of `a` as stored differs from what the case last wrote: a step the change
        // leaves as it was is not written again, so the difference shows it was left alone.
        let mut tx = db.begin().await.unwrap();
        tx.write(
            "UPDATE case_steps SET name = '未重写' WHERE case_id = $1 AND node = 'a'",
            vec![row.id.into()],
        )
        .await
        .unwrap();
        // `b` is claimed, `c` opens.
        let (b_claimed, c) = (step("b", "核验", Some("scj:wang")), step("c", "决定", None));
        let after = [a.clone(), b_claimed.clone(), c.clone()];
        records::write_steps(&mut tx, row.id, Some(&[a.clone(), b.clone()]), &after)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let untouched = step("a", "未重写", None);
        assert_eq!(
            steps_of(&db, row.id).await,
            vec![untouched.clone(), b_claimed.clone(), c.clone()]
        );

        // `a` and `b` close; `c` stays.
        let mut tx = db.begin().await.unwrap();
        records::write_steps(&mut tx, row.id, Some(&after), std::slice::from_ref(&c))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(steps_of(&db, row.id).await, vec![c.clone()]);

        // What was written before is unknown (a row from before it was kept): every step is
        // written afresh, and a stray row goes.
        let mut tx = db.begin().await.unwrap();
        records::write_steps(&mut tx, row.id, Some(&[]), &[step("x", "遗留", None)])
            .await
            .unwrap();
        records::write_steps(&mut tx, row.id, None, std::slice::from_ref(&a))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(steps_of(&db, row.id).await, vec![a]);
    }
}

#[tokio::test]
async fn a_second_command_on_a_case_waits_for_the_first_and_starts_from_what_it_kept_and_a_stuck_one_is_passed_after_the_wait()
 {
    use records::{Source, working_on};
    let db = crate::Db::connect(&testing::sqlite_url()).await.unwrap();
    // The clock moves only when the test moves it (the pool's own timeouts ran before).
    tokio::time::pause();
    let (first, source) = working_on(&db, "C1").await;
    assert_eq!(source, Source::Kept);
    // Another case is not held up by it.
    let (_other, source) = working_on(&db, "C2").await;
    assert_eq!(source, Source::Kept);

    let second = tokio::spawn({
        let db = db.clone();
        async move { working_on(&db, "C1").await.1 }
    });
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert!(!second.is_finished(), "waits while the first is under way");
    drop(first);
    assert_eq!(second.await.unwrap(), Source::Kept);

    // One stuck past the wait is passed, and the one passing it starts from the row.
    let (_stuck, _) = working_on(&db, "C1").await;
    let passing = tokio::spawn({
        let db = db.clone();
        async move { working_on(&db, "C1").await.1 }
    });
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    assert_eq!(passing.await.unwrap(), Source::Stored);
    tokio::time::resume();
    db.close().await;
}
