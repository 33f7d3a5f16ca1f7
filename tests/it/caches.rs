//! Instance caches of what rarely changes (settings, the halls' regions, the calendar) stay
//! fresh across instances: two servers on one database, a change through one is seen by the
//! other at its next request.

use serde_json::json;

use crate::support::{TestServer, on_each_backend};

#[tokio::test]
async fn a_setting_changed_through_one_instance_is_seen_by_another_at_once() {
    on_each_backend(|url| async move {
        let a = TestServer::start(&url).await;
        let b = TestServer::start(&url).await;
        let admin = a.admin_token().await;
        // B reads (and caches) the settings first.
        let (st, v) = b.get_json("/api/v1/locker-settings", Some(&admin)).await;
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["issued_at"], "pickup", "{v}");
        for issued_at in ["deposit", "pickup", "deposit"] {
            let (st, v) = a
                .send_json(
                    reqwest::Method::PUT,
                    "/api/v1/locker-settings",
                    Some(&admin),
                    &json!({"issued_at": issued_at}),
                )
                .await;
            assert_eq!(st, 200, "{v}");
            let (_, v) = b.get_json("/api/v1/locker-settings", Some(&admin)).await;
            assert_eq!(
                v["issued_at"],
                issued_at,
                "{} sees A's change: {v}",
                b.backend()
            );
        }
        a.stop().await;
        b.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_hall_set_up_through_one_instance_has_its_region_on_another_at_once() {
    on_each_backend(|url| async move {
        let a = TestServer::start(&url).await;
        let b = TestServer::start(&url).await;
        let admin = a.admin_token().await;
        let (st, v) = a
            .post_json(
                "/api/v1/regions",
                Some(&admin),
                &json!({"code": "650000", "name": "新疆维吾尔自治区", "level": "province"}),
            )
            .await;
        assert_eq!(st, 201, "{v}");
        let regions = &b.running.state.caches;
        let db = &b.running.state.db;
        // B looks the hall up before it exists (a case received at a hall code not set up).
        assert_eq!(regions.hall_region(db, "H7").await.unwrap(), None);
        let (st, v) = a
            .post_json(
                "/api/v1/halls",
                Some(&admin),
                &json!({"code": "H7", "name": "乌鲁木齐市政务服务中心", "region": "650000"}),
            )
            .await;
        assert_eq!(st, 201, "{v}");
        assert_eq!(
            regions.hall_region(db, "H7").await.unwrap().as_deref(),
            Some("650000"),
            "{}",
            b.backend()
        );
        a.stop().await;
        b.stop().await;
    })
    .await;
}

#[tokio::test]
async fn within_one_request_the_change_counter_is_read_once_and_afresh_after_a_change() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let db = s.running.state.db.clone();
        let other = TestServer::start(&url).await;
        let before = yichuang_store::calendar::version(&db).await.unwrap();
        yichuang_store::calendar::version_scope(async {
            assert_eq!(
                yichuang_store::calendar::version(&db).await.unwrap(),
                before
            );
            // Another instance changes a setting (in a task of its own, as its request would
            // be): this request keeps the counter it read.
            let now = other.running.state.now();
            let other_db = other.running.state.db.clone();
            tokio::spawn(async move {
                let mut tx = other_db.begin().await.unwrap();
                yichuang_store::settings::put(&mut tx, "x.test", &json!(1), now)
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
            })
            .await
            .unwrap();
            assert_eq!(
                yichuang_store::calendar::version(&db).await.unwrap(),
                before
            );
            // This request changes one itself: from then on it reads afresh.
            let mut tx = db.begin().await.unwrap();
            yichuang_store::settings::put(&mut tx, "x.test", &json!(2), now)
                .await
                .unwrap();
            tx.commit().await.unwrap();
            assert_eq!(
                yichuang_store::calendar::version(&db).await.unwrap(),
                before + 2
            );
        })
        .await;
        // Outside a request every read goes to the database.
        assert_eq!(
            yichuang_store::calendar::version(&db).await.unwrap(),
            before + 2
        );
        s.stop().await;
        other.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_halls_notice_and_a_new_queue_made_through_one_instance_are_seen_by_another_at_once() {
    on_each_backend(|url| async move {
        let a = TestServer::start(&url).await;
        let b = TestServer::start(&url).await;
        let admin = a.admin_token().await;
        let (st, v) = a
            .post_json(
                "/api/v1/halls",
                Some(&admin),
                &json!({"code": "H8", "name": "测试政务服务中心"}),
            )
            .await;
        assert_eq!(st, 201, "{v}");
        // B reads (and keeps) the hall and its queues first.
        let (st, v) = b.get_json("/api/v1/halls/H8", None).await;
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["queues"].as_array().map(Vec::len), Some(0), "{v}");
        let (st, v) = a
            .send_json(
                reqwest::Method::PUT,
                "/api/v1/halls/H8/notice",
                Some(&admin),
                &json!({"text": "今日社保窗口午间不休"}),
            )
            .await;
        assert_eq!(st, 200, "{v}");
        let (st, v) = a
            .post_json(
                "/api/v1/halls/H8/queues",
                Some(&admin),
                &json!({"code": "tax", "name": "税务", "prefix": "S"}),
            )
            .await;
        assert_eq!(st, 201, "{v}");
        let (_, v) = b.get_json("/api/v1/halls/H8", None).await;
        assert_eq!(v["notice"], "今日社保窗口午间不休", "{}: {v}", b.backend());
        assert_eq!(v["queues"][0]["name"], "税务", "{}: {v}", b.backend());
        a.stop().await;
        b.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_session_signed_out_a_role_changed_and_a_token_revoked_on_one_instance_hold_on_another_at_once()
 {
    on_each_backend(|url| async move {
        let a = TestServer::start(&url).await;
        let b = TestServer::start(&url).await;
        let admin = a.admin_token().await;
        let body = json!({"username": "zhaoliu", "display_name": "赵六", "role": "clerk",
                   "hall": "H1", "password": "clerk2026pw"});
        crate::support::ensure_account_scope(&a, &admin, &body).await;
        let (st, v) = a.post_json("/api/v1/accounts", Some(&admin), &body).await;
        assert_eq!(st, 201, "{v}");
        let session = a.token("zhaoliu", "clerk2026pw").await;
        let (st, t) = a
            .post_json(
                "/api/v1/tokens",
                Some(&admin),
                &json!({"name": "一号窗口评价器", "account": "zhaoliu"}),
            )
            .await;
        assert_eq!(st, 201, "{t}");
        let api_token = t["token"].as_str().unwrap().to_string();
        // B finds (and keeps) both credentials first, twice, so the second use is from memory.
        for _ in 0..2 {
            let (st, me) = b.get_json("/api/v1/auth/me", Some(&session)).await;
            assert_eq!((st, me["role"].as_str()), (200, Some("clerk")), "{me}");
            let (st, _) = b.get_json("/api/v1/auth/me", Some(&api_token)).await;
            assert_eq!(st, 200);
        }

        let (st, v) = a
            .send_json(
                reqwest::Method::PUT,
                "/api/v1/accounts/zhaoliu",
                Some(&admin),
                &json!({"role": "issuance"}),
            )
            .await;
        assert_eq!(st, 200, "{v}");
        let (_, me) = b.get_json("/api/v1/auth/me", Some(&session)).await;
        assert_eq!(
            me["role"],
            "issuance",
            "{} sees the new role: {me}",
            b.backend()
        );

        let (st, v) = a
            .send_json(
                reqwest::Method::DELETE,
                &format!("/api/v1/tokens/{}", t["id"]),
                Some(&admin),
                &json!({}),
            )
            .await;
        assert_eq!(st, 204, "{v}");
        let (st, _) = b.get_json("/api/v1/auth/me", Some(&api_token)).await;
        assert_eq!(st, 401, "{} refuses the revoked token", b.backend());

        let (st, v) = a
            .post_json("/api/v1/auth/logout", Some(&session), &json!({}))
            .await;
        assert!(st < 300, "{st} {v}");
        let (st, _) = b.get_json("/api/v1/auth/me", Some(&session)).await;
        assert_eq!(st, 401, "{} refuses the signed-out session", b.backend());
        a.stop().await;
        b.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_commands_answer_shows_events_another_instance_added_since_this_one_last_saw_the_case() {
    on_each_backend(|url| async move {
        let a = TestServer::start(&url).await;
        let b = TestServer::start(&url).await;
        let (staff, n) = crate::cases::routed_case(&a, &crate::cases::item("X001", false)).await;
        let c = |p: &str| format!("/api/v1/cases/{n}{p}");
        // A keeps the history it answered with; B then adds an event A has not seen.
        let seen_by_a = crate::cases::case(&a, &staff.approver, &n).await;
        crate::cases::post(&b, &staff.approver, &c("/confirm"), json!({})).await;
        let answer =
            crate::cases::post(&a, &staff.approver, &c("/steps/review/claim"), json!({})).await;
        let stored = crate::cases::case(&b, &staff.approver, &n).await;
        assert_eq!(
            answer["timeline"],
            stored["timeline"],
            "{}: A's answer is the stored history",
            a.backend()
        );
        let kinds = crate::cases::kinds;
        assert!(!kinds(&seen_by_a).contains(&"route_confirmed".to_string()));
        let mut expected = kinds(&seen_by_a);
        expected.extend(["route_confirmed", "tokens_moved", "step_claimed"].map(String::from));
        assert_eq!(kinds(&answer), expected, "{answer}");
        a.stop().await;
        b.stop().await;
    })
    .await;
}

/// Signs every session out and moves the change counter as another process would: on its own
/// connection, past this process's writer and its note of the counter.
async fn sign_out_from_another_process(url: &str) {
    use sqlx::Connection;
    const SQL: [&str; 2] = [
        "UPDATE sessions SET ended_at = 1 WHERE ended_at IS NULL",
        "UPDATE calendar_version SET version = version + 1 WHERE id = 1",
    ];
    if url.starts_with("postgres") {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        for sql in SQL {
            sqlx::query(sql).execute(&mut c).await.unwrap();
        }
    } else {
        let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
        for sql in SQL {
            sqlx::query(sql).execute(&mut c).await.unwrap();
        }
    }
}

#[tokio::test]
async fn a_write_whose_instance_last_read_the_counter_before_another_process_moved_it_runs_again_and_is_refused_with_the_session_signed_out()
 {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let admin = s.admin_token().await;
        // The instance reads the counter and keeps the session as valid.
        for _ in 0..2 {
            let (st, _) = s.get_json("/api/v1/auth/me", Some(&admin)).await;
            assert_eq!(st, 200);
        }
        sign_out_from_another_process(&url).await;

        // A write: on SQLite it takes the counter from the instance's last read, which its
        // write finds moved in the writer's turn; it runs again and meets the signed-out session.
        let region = json!({"code": "660000", "name": "测试省", "level": "province"});
        let (st, v) = s.post_json("/api/v1/regions", Some(&admin), &region).await;
        assert_eq!(st, 401, "{}: {v}", s.backend());
        let db = &s.running.state.db;
        let written: i64 = yichuang_store::db_run!(db, |c| sqlx::query_scalar(
            "SELECT COUNT(*) FROM regions WHERE code = '660000'"
        )
        .fetch_one(c)
        .await
        .unwrap());
        assert_eq!(written, 0, "{}: nothing of the refused write", s.backend());

        // A request that writes nothing (its body is refused) is checked at its end instead:
        // it answers as a signed-out session, not with the body's fault.
        let admin = s.admin_token().await;
        let (st, _) = s.get_json("/api/v1/auth/me", Some(&admin)).await;
        assert_eq!(st, 200);
        sign_out_from_another_process(&url).await;
        let (st, v) = s
            .post_json("/api/v1/regions", Some(&admin), &json!({"code": ""}))
            .await;
        assert_eq!(st, 401, "{}: {v}", s.backend());

        // Each was one request, counted once, with the answer it got: not also as the run
        // that found the counter moved.
        let admin = s.admin_token().await;
        let (st, metrics) = s.get_json("/metrics", Some(&admin)).await;
        assert_eq!(st, 200);
        let counted: Vec<&str> = metrics
            .as_str()
            .expect("the metrics' text")
            .lines()
            .filter(|l| {
                l.starts_with("yichuang_http_requests_total")
                    && l.contains("route=\"/api/v1/regions\"")
            })
            .collect();
        assert_eq!(
            counted,
            [
                "yichuang_http_requests_total{method=\"POST\",route=\"/api/v1/regions\",status=\"401\"} 2"
            ],
            "{}",
            s.backend()
        );
        s.stop().await;
    })
    .await;
}
