//! Staff accounts, sessions, API tokens and access, on each backend.

use serde_json::{Value, json};

use crate::support::{ADMIN_PASSWORD, TestServer, client, on_each_backend};

async fn login(
    s: &TestServer,
    c: &reqwest::Client,
    username: &str,
    password: &str,
) -> (u16, Value) {
    let r = c
        .post(s.at("/api/v1/auth/login"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

/// Creates an account as `token` and returns the answer.
async fn create(s: &TestServer, token: &str, body: Value) -> (u16, Value) {
    s.post_json("/api/v1/accounts", Some(token), &body).await
}

async fn clerk(s: &TestServer, admin: &str, username: &str, hall: &str) -> String {
    let (st, v) = create(
        s,
        admin,
        json!({"username": username, "display_name": "王窗口", "role": "clerk",
               "hall": hall, "password": "clerk2026pw"}),
    )
    .await;
    assert_eq!(st, 201, "{v}");
    s.token(username, "clerk2026pw").await
}

fn assert_chinese_problem(status: u16, v: &Value, expected: u16) {
    assert_eq!(status, expected, "{v}");
    let title = v["title"].as_str().unwrap_or("");
    assert!(
        title
            .chars()
            .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
        "title should be Chinese: {v}"
    );
}

#[tokio::test]
async fn login_me_and_logout_with_the_session_cookie() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let c = client();
        let r = c
            .post(s.at("/api/v1/auth/login"))
            .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
        assert!(cookie.starts_with("yc_session=ycs_"), "{cookie}");
        for attr in ["HttpOnly", "SameSite=Lax", "Path=/"] {
            assert!(cookie.contains(attr), "{cookie} lacks {attr}");
        }
        let v: Value = r.json().await.unwrap();
        assert!(v["token"].as_str().unwrap().starts_with("ycs_"));
        assert_eq!(v["account"]["role"], "admin");
        assert!(v["account"].get("password_hash").is_none());

        // The cookie alone signs the browser in.
        let me: Value = c
            .get(s.at("/api/v1/auth/me"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(me["username"], "admin");
        assert_eq!(me["role_label"], "系统管理员");
        assert_eq!(me["via"], "session");

        let r = c.post(s.at("/api/v1/auth/logout")).send().await.unwrap();
        assert_eq!(r.status(), 204);
        assert!(
            r.headers()["set-cookie"]
                .to_str()
                .unwrap()
                .contains("Max-Age=0")
        );
        // The session is over on the server, not only forgotten by the client.
        let (st, v) = s.get_json("/api/v1/auth/me", v["token"].as_str()).await;
        assert_eq!(st, 401, "{v}");
        assert_eq!(v["title"], "请先登录");
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_bearer_token_works_without_any_cookie() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let token = s.admin_token().await;
        let plain = reqwest::Client::new();
        let me: Value = plain
            .get(s.at("/api/v1/auth/me"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(me["username"], "admin");
        for bad in [
            None,
            Some("ycs_forged"),
            Some("yct_forged"),
            Some("nonsense"),
        ] {
            let mut req = plain.get(s.at("/api/v1/auth/me"));
            if let Some(t) = bad {
                req = req.bearer_auth(t);
            }
            assert_eq!(req.send().await.unwrap().status(), 401, "{bad:?}");
        }
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_get_the_same_401() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let c = client();
        let (st, wrong) = login(&s, &c, "admin", "not-the-password1").await;
        assert_chinese_problem(st, &wrong, 401);
        let (st, unknown) = login(&s, &c, "nobody", "not-the-password1").await;
        assert_eq!(st, 401);
        assert_eq!(wrong["title"], unknown["title"]);
        assert_eq!(wrong["code"], "invalid_credentials");
        let (st, v) = login(&s, &c, "", "").await;
        assert_eq!(st, 422, "{v}");
        assert_eq!(v["errors"].as_array().unwrap().len(), 2);
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn five_failures_lock_the_username_and_the_lock_survives_a_restart() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-02T09:00:00+08:00").await;
        let c = client();
        for _ in 0..5 {
            let (st, _) = login(&s, &c, "admin", "wrong-password1").await;
            assert_eq!(st, 401);
        }
        // Even the right password is refused now.
        let (st, v) = login(&s, &c, "admin", ADMIN_PASSWORD).await;
        assert_chinese_problem(st, &v, 429);
        assert_eq!(v["code"], "too_many_login_attempts");
        assert!(v["title"].as_str().unwrap().contains("15 分钟"), "{v}");
        s.stop().await;

        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-02T09:05:00+08:00").await;
        let (st, _) = login(&s, &client(), "admin", ADMIN_PASSWORD).await;
        assert_eq!(st, 429, "the lock must survive a restart");
        s.set_clock("2026-03-02T09:16:00+08:00").await;
        let (st, v) = login(&s, &client(), "admin", ADMIN_PASSWORD).await;
        assert_eq!(st, 200, "the lock ends after 15 minutes: {v}");
        let events = yichuang_store::events::for_subject(&s.running.state.db, "account", "admin")
            .await
            .unwrap();
        let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds.iter().filter(|k| **k == "login_failed").count(), 5);
        assert!(kinds.contains(&"login_locked"));
        assert!(
            events
                .iter()
                .all(|e| !e.payload.contains(ADMIN_PASSWORD)
                    && !e.payload.contains("wrong-password1")),
            "no password in any event"
        );
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn an_admin_creates_accounts_that_can_sign_in() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let admin = s.admin_token().await;
        let (st, v) = create(
            &s,
            &admin,
            json!({"username": "LiSi", "display_name": "李四", "role": "approver",
                   "department": "SCJGJ"}),
        )
        .await;
        assert_eq!(st, 201, "{v}");
        assert_eq!(v["username"], "lisi");
        assert_eq!(v["role"], "approver");
        let initial = v["initial_password"]
            .as_str()
            .expect("a generated password, once");
        let (st, me) = s
            .get_json("/api/v1/auth/me", Some(&s.token("lisi", initial).await))
            .await;
        assert_eq!(st, 200);
        assert_eq!(me["department"], "SCJGJ");
        let (_, again) = s.get_json("/api/v1/accounts/lisi", Some(&admin)).await;
        assert!(again.get("initial_password").is_none());

        let token = clerk(&s, &admin, "wangwu", "H1").await;
        let (_, me) = s.get_json("/api/v1/auth/me", Some(&token)).await;
        assert_eq!(me["hall"], "H1");
        let (st, list) = s.get_json("/api/v1/accounts", Some(&admin)).await;
        assert_eq!(st, 200);
        let names: Vec<&str> = list["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["username"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["admin", "lisi", "wangwu"]);

        let (st, v) = create(
            &s,
            &admin,
            json!({"username": "wangwu", "display_name": "重名", "role": "clerk", "hall": "H1"}),
        )
        .await;
        assert_eq!(st, 409, "{v}");
        assert_eq!(v["errors"][0]["field"], "username");
        s.stop().await;
    })
    .await;
}
