//! What the contract check (Schemathesis, docs/contract.md) found and the server now does: no
//! server error for a NUL character or a page far past the end, whole-number floats read as
//! integers, a filter overridden by another still checked, an .xlsx body read as a workbook.

use serde_json::{Value, json};

use crate::support::{TestServer, client, error_fields, on_each_backend};

/// Posts `body` to `path` as the admin and expects 201.
async fn created(s: &TestServer, admin: &str, path: &str, body: Value) -> Value {
    let (st, v) = s.post_json(path, Some(admin), &body).await;
    assert_eq!(st, 201, "{path}: {v}");
    v
}

async fn department_mz(s: &TestServer, admin: &str) {
    let mz = json!({"code": "MZ", "name": "民政局"});
    created(s, admin, "/api/v1/departments", mz).await;
}

#[tokio::test]
async fn a_nul_character_in_an_address_or_a_text_is_refused_and_never_a_server_error() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let admin = s.admin_token().await;
        // PostgreSQL fails any query given a NUL: these were 500s there.
        for (path, field) in [
            ("/api/v1/items?q=%00", "query"),
            ("/api/v1/items?department=a%00b", "query"),
            ("/api/v1/items/%00", "path"),
            ("/api/v1/accounts/%00", "path"),
        ] {
            let (st, v) = s.get_json(path, Some(&admin)).await;
            assert_eq!(st, 400, "{path}: {v}");
            assert_eq!(error_fields(&v), vec![field], "{path}: {v}");
            assert!(
                v["errors"][0]["message"]
                    .as_str()
                    .unwrap()
                    .contains("空字符")
            );
        }
        let (st, v) = s
            .post_json(
                "/api/v1/departments",
                Some(&admin),
                &json!({"code": "MZ", "name": "民\u{0}政局"}),
            )
            .await;
        assert_eq!(st, 422, "{v}");
        assert_eq!(error_fields(&v), vec!["body"], "{v}");
        // Nothing was created: the same code is free.
        department_mz(&s, &admin).await;

        // A page far past the end is an empty page (it overflowed and dropped the connection).
        let (st, v) = s
            .get_json("/api/v1/items?page=9223372036854775806", None)
            .await;
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["items"], json!([]), "{v}");
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_whole_number_written_as_a_float_is_read_as_that_integer_and_a_fraction_is_refused() {
    let s = TestServer::start(&yichuang_store::testing::sqlite_url()).await;
    let admin = s.admin_token().await;
    department_mz(&s, &admin).await;
    // JSON has one kind of number, and JSON Schema calls 20.0 an integer.
    let item = |code: &str, days: f64| {
        json!({
            "code": code, "name": "婚姻登记", "department": "MZ", "kind": "committed",
            "statutory_limit_days": days, "committed_limit_days": 1.0,
            "materials": [{"code": "ID", "name": "身份证", "copies": 2.0}]
        })
    };
    let v = created(&s, &admin, "/api/v1/items", item("MZ-001", 20.0)).await;
    assert_eq!(v["statutory_limit_days"], 20);
    assert_eq!(v["materials"][0]["copies"], 2);

    let (st, v) = s
        .post_json("/api/v1/items", Some(&admin), &item("MZ-002", 20.5))
        .await;
    assert_eq!(
        (st, v["code"].as_str()),
        (400, Some("malformed_request")),
        "{v}"
    );
    let (st, _) = s.get_json("/api/v1/items/MZ-002", None).await;
    assert_eq!(st, 404, "nothing created");
    s.stop().await;
}

#[tokio::test]
async fn a_filter_overridden_by_another_is_still_checked_rather_than_ignored() {
    let s = TestServer::start(&yichuang_store::testing::sqlite_url()).await;
    let admin = s.admin_token().await;
    for (path, field) in [
        ("/api/v1/work-orders?status=received&view=nonsense", "view"),
        ("/api/v1/ratings/stats?month=2026-11&from=nonsense", "from"),
        (
            "/api/v1/supervision/numbers?month=2026-11&to=nonsense",
            "to",
        ),
    ] {
        let (st, v) = s.get_json(path, Some(&admin)).await;
        assert_eq!(st, 422, "{path}: {v}");
        assert_eq!(error_fields(&v), vec![field], "{path}: {v}");
    }
    // A field left blank in a form is "not given", as the OpenAPI document says.
    for path in [
        "/api/v1/work-orders?status=received&view=all",
        "/api/v1/ratings/stats?month=2026-11&from=&to=",
        "/api/v1/ratings/stats?from=&to=",
        "/api/v1/supervision/numbers?month=2026-11&to=",
    ] {
        let (st, v) = s.get_json(path, Some(&admin)).await;
        assert_eq!(st, 200, "{path}: {v}");
    }
    // GeoReport: service_request_id overrides the other filters, but a broken one is refused.
    let (st, _) = s
        .get_json(
            "/open311/v2/requests.json?service_request_id=GD1&start_date=nonsense",
            None,
        )
        .await;
    assert_eq!(st, 400);

    // Staff take numbers at the guide desk: a channel outside the list is refused, not ignored.
    created(
        &s,
        &admin,
        "/api/v1/halls",
        json!({"code": "H1", "name": "一号大厅"}),
    )
    .await;
    let queue = json!({"code": "A", "name": "综合受理", "prefix": "A"});
    created(&s, &admin, "/api/v1/halls/H1/queues", queue).await;
    let (st, v) = s
        .post_json(
            "/api/v1/halls/H1/tickets",
            Some(&admin),
            &json!({"queue": "A", "channel": "fax"}),
        )
        .await;
    assert_eq!(st, 422, "{v}");
    assert_eq!(error_fields(&v), vec!["channel"], "{v}");
    // The refused request used no number: the next one taken is the first of the day.
    let v = created(
        &s,
        &admin,
        "/api/v1/halls/H1/tickets",
        json!({"queue": "A"}),
    )
    .await;
    assert_eq!(v["number"], "A001", "{v}");
    s.stop().await;
}

#[tokio::test]
async fn a_ratings_import_sent_as_a_workbook_that_is_not_one_is_refused_with_422() {
    let s = TestServer::start(&yichuang_store::testing::sqlite_url()).await;
    let admin = s.admin_token().await;
    let r = client()
        .post(s.at("/api/v1/ratings/import"))
        .bearer_auth(&admin)
        .header(
            "content-type",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        .body(&b"\x89PNG\r\n\x1a\n not a workbook"[..])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 422);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["code"], "unreadable_file", "{v}");
    assert!(v["title"].as_str().unwrap().contains(".xlsx"), "{v}");
    s.stop().await;
}

#[tokio::test]
async fn a_locker_message_without_the_device_token_is_answered_401_whatever_its_body() {
    let s = TestServer::start(&yichuang_store::testing::sqlite_url()).await;
    for body in [
        json!({"message_id": "", "type": "open_request"}),
        json!({"message_id": "m1", "type": "open_request", "door": "A01", "code": "12345678"}),
    ] {
        let (st, v) = s
            .post_json("/api/v1/lockers/NOPE/device/messages", None, &body)
            .await;
        assert_eq!(st, 401, "{v}");
    }
    s.stop().await;
}

#[tokio::test]
async fn an_empty_date_in_a_rollup_body_is_refused_while_a_left_out_one_means_today() {
    let s = TestServer::start(&yichuang_store::testing::sqlite_url()).await;
    let admin = s.admin_token().await;
    let (st, v) = s
        .post_json(
            "/api/v1/supervision/rollup",
            Some(&admin),
            &json!({"to": ""}),
        )
        .await;
    assert_eq!(st, 422, "{v}");
    assert_eq!(error_fields(&v), ["to"], "{v}");
    let (st, v) = s
        .post_json("/api/v1/supervision/rollup", Some(&admin), &json!({}))
        .await;
    assert_eq!((st, v["days"].as_i64()), (200, Some(1)), "{v}");
    s.stop().await;
}
