//! Hardening for a government network (issue 15): cross-site forms, security headers, the public
//! calendar's edges, access to windows and the dev clock, validation gaps.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{ADMIN_PASSWORD, TestServer, client, error_fields, on_each_backend};

fn new_clerk(username: &str) -> Vec<(&'static str, String)> {
    vec![
        ("username", username.to_string()),
        ("display_name", "钱七".to_string()),
        ("role", "clerk".to_string()),
        ("hall", "H1".to_string()),
    ]
}

async fn hall_h1(s: &TestServer, admin: &str) {
    let (st, v) = s
        .post_json(
            "/api/v1/halls",
            Some(admin),
            &json!({"code": "H1", "name": "一号大厅"}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
}

async fn account_exists(s: &TestServer, admin: &str, username: &str) -> bool {
    let (st, v) = s.get_json("/api/v1/accounts", Some(admin)).await;
    assert_eq!(st, 200, "{v}");
    v["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["username"] == username)
}

#[tokio::test]
async fn a_form_posted_from_another_site_is_refused_in_chinese_and_changes_nothing() {
    let s = TestServer::start(&yichuang_store::testing::sqlite_url()).await;
    let admin = s.admin_token().await;
    hall_h1(&s, &admin).await;
    let browser = crate::support::admin_session(&s).await;
    let forged: [&[(&str, &str)]; 4] = [
        &[("origin", "http://evil.example")],
        &[("sec-fetch-site", "cross-site")],
        &[
            ("sec-fetch-site", "same-site"),
            ("origin", "http://hall.evil.example"),
        ],
        &[("origin", "null")],
    ];
    for headers in forged {
        let mut req = browser
            .post(s.at("/admin/accounts"))
            .form(&new_clerk("qianqi"));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 403, "{headers:?}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let html = r.text().await.unwrap();
        assert!(html.contains("请求来自其他网站，已被拒绝"), "{html}");
    }
    assert!(
        !account_exists(&s, &admin, "qianqi").await,
        "nothing was written"
    );

    // Signing in from another site is refused as well (login CSRF), and so is an API call
    // that rides on the session cookie.
    let r = client()
        .post(s.at("/login"))
        .header("sec-fetch-site", "cross-site")
        .form(&[("username", "admin"), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = browser
        .post(s.at("/api/v1/accounts"))
        .header("origin", "http://evil.example")
        .json(&json!({"username": "zhaoliu", "display_name": "赵六", "role": "admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["code"], "cross_site_request", "{v}");

    // The same form from our own page goes through; so does a Bearer call whatever its origin,
    // and a device that sends neither header.
    let r = browser
        .post(s.at("/admin/accounts"))
        .header("origin", s.url.as_str())
        .header("sec-fetch-site", "same-origin")
        .form(&new_clerk("qianqi"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("已创建账号 qianqi"));
    let r = client()
        .post(s.at("/api/v1/accounts"))
        .bearer_auth(&admin)
        .header("origin", "http://evil.example")
        .header("sec-fetch-site", "cross-site")
        .json(
            &json!({"username": "zhaoliu", "display_name": "赵六", "role": "clerk", "hall": "H1"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let (st, _) = s
        .post_json(
            "/api/v1/auth/login",
            None,
            &json!({"username": "admin", "password": ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(st, 200);
    s.stop().await;
}

#[tokio::test]
async fn every_response_carries_the_security_headers_and_staff_pages_are_not_stored() {
    let s = TestServer::start(&yichuang_store::testing::sqlite_url()).await;
    let browser = crate::support::admin_session(&s).await;
    let anonymous = client();
    for (c, path, no_store) in [
        (&anonymous, "/", false),
        (&anonymous, "/api/v1/health", false),
        (&anonymous, "/no-such-page", false),
        (&browser, "/admin/accounts", true),
        (&browser, "/api/v1/auth/me", true),
    ] {
        let r = c.get(s.at(path)).send().await.unwrap();
        let h = r.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "same-origin", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(
            h.get("cache-control").map(|v| v.to_str().unwrap()) == Some("no-store"),
            no_store,
            "{path}"
        );
    }
    let r = browser.get(s.at("/static/app.css")).send().await.unwrap();
    assert_eq!(r.headers()["cache-control"], "public, max-age=3600");
    s.stop().await;
}

#[tokio::test]
async fn the_calendar_refuses_years_out_of_range_with_422_not_503() {
    let s = TestServer::start(&yichuang_store::testing::sqlite_url()).await;
    for (path, code, year) in [
        (
            "/api/v1/calendar/between?from=1900-01-01&to=2026-10-12",
            "calendar_year_out_of_range",
            "1900",
        ),
        (
            "/api/v1/calendar/add?from=9999-12-30&days=5",
            "calendar_year_out_of_range",
            "9999",
        ),
        (
            "/api/v1/calendar/between?from=2026-12-01&to=2027-01-29",
            "calendar_year_not_loaded",
            "2027",
        ),
    ] {
        let (st, v) = s.get_json(path, None).await;
        assert_eq!((st, v["code"].as_str()), (422, Some(code)), "{path}: {v}");
        let title = v["title"].as_str().unwrap();
        assert!(
            title.contains(year) && (title.contains("超出") || title.contains("尚未导入")),
            "{v}"
        );
        assert_eq!(v["errors"][0]["field"], "year", "{v}");
    }
    s.stop().await;
}

#[tokio::test]
async fn a_window_is_shown_to_signed_in_staff_only() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let admin = s.admin_token().await;
        hall_h1(&s, &admin).await;
        let (st, q) = s
            .post_json(
                "/api/v1/halls/H1/queues",
                Some(&admin),
                &json!({"code": "a", "name": "综合", "prefix": "A"}),
            )
            .await;
        assert_eq!(st, 201, "{q}");
        let (st, w) = s
            .post_json(
                "/api/v1/halls/H1/windows",
                Some(&admin),
                &json!({"code": "W1", "name": "1号窗口", "kind": "comprehensive", "queues": ["a"]}),
            )
            .await;
        assert_eq!(st, 201, "{w}");
        let path = format!("/api/v1/windows/{}", w["id"]);
        // (`s.client` keeps the cookie of the last login: a fresh client is anonymous.)
        let r = client().get(s.at(&path)).send().await.unwrap();
        assert_eq!(r.status(), 401);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["code"], "unauthorized", "{v}");
        let (st, v) = s.get_json(&path, Some(&admin)).await;
        assert_eq!((st, v["name"].as_str()), (200, Some("1号窗口")), "{v}");
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn only_an_admin_moves_the_dev_clock() {
    let s = TestServer::start(&yichuang_store::testing::sqlite_url()).await;
    let admin = s.admin_token().await;
    hall_h1(&s, &admin).await;
    let (st, v) = s
        .post_json(
            "/api/v1/accounts",
            Some(&admin),
            &json!({"username": "clerk1", "display_name": "王窗口", "role": "clerk",
                    "hall": "H1", "password": "clerk2026pw"}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let clerk = s.token("clerk1", "clerk2026pw").await;
    let body = json!({"now": "2030-01-01T09:00:00+08:00"});
    let r = client()
        .put(s.at("/api/v1/dev/clock"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "anonymous");
    let (st, v) = s
        .send_json(Method::PUT, "/api/v1/dev/clock", Some(&clerk), &body)
        .await;
    assert_eq!((st, v["code"].as_str()), (403, Some("forbidden")), "{v}");
    let (_, v) = s.get_json("/api/v1/dev/clock", None).await;
    assert!(
        !v["now"].as_str().unwrap().starts_with("2030"),
        "not moved: {v}"
    );
    let (st, v) = s
        .send_json(Method::PUT, "/api/v1/dev/clock", Some(&admin), &body)
        .await;
    assert_eq!(st, 200, "{v}");
    assert!(
        v["now"].as_str().unwrap().starts_with("2030-01-01T09:00"),
        "{v}"
    );
    s.stop().await;
}

#[tokio::test]
async fn a_json_array_or_an_oversized_body_is_refused_with_422_and_413() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let admin = s.admin_token().await;
        hall_h1(&s, &admin).await;
        let (_, before) = s.get_json("/api/v1/halls/H1", Some(&admin)).await;
        let (st, v) = s
            .send_json(
                Method::PUT,
                "/api/v1/halls/H1/settings",
                Some(&admin),
                &json!([]),
            )
            .await;
        assert_eq!(
            (st, v["code"].as_str()),
            (422, Some("json_object_expected")),
            "{v}"
        );
        assert!(v["title"].as_str().unwrap().contains("JSON 对象"), "{v}");
        let (_, after) = s.get_json("/api/v1/halls/H1", Some(&admin)).await;
        assert_eq!(before, after, "nothing changed");

        let big = json!({"code": "H2", "name": "x".repeat(3 * 1024 * 1024)});
        let (st, v) = s.post_json("/api/v1/halls", Some(&admin), &big).await;
        assert_eq!(
            (st, v["code"].as_str()),
            (413, Some("payload_too_large")),
            "{v}"
        );
        assert_eq!(v["status"], 413);
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_login_code_names_the_phone_masked_not_by_its_plain_digest() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let (st, v) = s
            .post_json(
                "/api/v1/applicant/code",
                None,
                &json!({"phone": "13912345678"}),
            )
            .await;
        assert_eq!(st, 202, "{v}");
        let subjects: Vec<String> = yichuang_store::db_run!(&s.running.state.db, |c| {
            sqlx::query_scalar("SELECT subject FROM outbox WHERE kind = 'login_code'")
                .fetch_all(c)
                .await
                .unwrap()
        });
        // The subject is logged by the log sender and sent to the SMS gateway: a SHA-256 of an
        // 11-digit number is undone by trying them all.
        assert_eq!(subjects, vec!["phone:139****5678".to_string()]);
        s.stop().await;
    })
    .await;
}

/// A filter sent empty (`?status=`) is refused with 422 and the field named, like any other value
/// outside its list, instead of being read as "no filter": the OpenAPI document lists the values
/// each filter takes, and leaving the parameter out is how to ask for the default.
#[tokio::test]
async fn an_empty_filter_value_is_refused_rather_than_read_as_no_filter() {
    let url = yichuang_store::testing::sqlite_url();
    let s = TestServer::start(&url).await;
    let admin = s.admin_token().await;
    for (path, field) in [
        ("/api/v1/items?status=", "status"),
        ("/api/v1/catalogue/export?format=", "format"),
        ("/api/v1/work-orders?status=", "status"),
        ("/api/v1/work-orders?view=", "view"),
        ("/api/v1/ledger?status=", "status"),
        ("/api/v1/ledger?source=", "source"),
    ] {
        let (status, v) = s.get_json(path, Some(&admin)).await;
        assert_eq!(status, 422, "{path}: {v}");
        assert_eq!(error_fields(&v), vec![field], "{path}: {v}");
    }
    for path in [
        "/api/v1/items",
        "/api/v1/items?status=all",
        "/api/v1/catalogue/export",
        "/api/v1/work-orders",
        "/api/v1/work-orders?view=all",
        "/api/v1/ledger",
        "/api/v1/ledger?status=open",
    ] {
        let (status, v) = s.get_json(path, Some(&admin)).await;
        assert_eq!(status, 200, "{path}: {v}");
    }
    s.stop().await;
}

#[tokio::test]
async fn an_account_in_a_hall_or_department_that_does_not_exist_is_refused_beside_the_field() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let admin = s.admin_token().await;
        for (body, field, message) in [
            (
                json!({"username": "nohall", "display_name": "孙一", "role": "clerk",
                        "hall": "NOPE", "password": "clerk2026pw"}),
                "hall",
                "大厅“NOPE”不存在",
            ),
            (
                json!({"username": "nodept", "display_name": "孙二", "role": "approver",
                        "department": "NOPE", "password": "clerk2026pw"}),
                "department",
                "部门“NOPE”不存在",
            ),
        ] {
            let (st, v) = s.post_json("/api/v1/accounts", Some(&admin), &body).await;
            assert_eq!(st, 422, "{v}");
            let errors = v["errors"].as_array().unwrap();
            assert!(
                errors.iter().any(
                    |e| e["field"] == field && e["message"].as_str().unwrap().contains(message)
                ),
                "{v}"
            );
            let username = body["username"].as_str().unwrap();
            assert!(
                !account_exists(&s, &admin, username).await,
                "nothing is created"
            );
        }
        // Set up, the same hall is accepted.
        hall_h1(&s, &admin).await;
        let body = json!({"username": "nohall", "display_name": "孙一", "role": "clerk",
                          "hall": "H1", "password": "clerk2026pw"});
        let (st, v) = s.post_json("/api/v1/accounts", Some(&admin), &body).await;
        assert_eq!(st, 201, "{v}");
        // Moving an account into a hall that does not exist is refused too.
        let (st, v) = s
            .send_json(
                reqwest::Method::PUT,
                "/api/v1/accounts/nohall",
                Some(&admin),
                &json!({"hall": "NOPE"}),
            )
            .await;
        assert_eq!(st, 422, "{v}");
        let (_, me) = s.get_json("/api/v1/accounts", Some(&admin)).await;
        let row = me["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["username"] == "nohall")
            .unwrap()
            .clone();
        assert_eq!(row["hall"], "H1", "{row}");
        s.stop().await;
    })
    .await;
}
