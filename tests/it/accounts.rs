//! Staff accounts, sessions, API tokens and access, on each backend.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{ADMIN_PASSWORD, TestServer, client, config, on_each_backend};

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
    let body = json!({"username": username, "display_name": "王窗口", "role": "clerk",
               "hall": hall, "password": "clerk2026pw"});
    crate::support::ensure_account_scope(s, admin, &body).await;
    let (st, v) = create(s, admin, body).await;
    assert_eq!(st, 201, "{v}");
    s.token(username, "clerk2026pw").await
}

fn usernames(list: &Value) -> Vec<&str> {
    list["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["username"].as_str().unwrap())
        .collect()
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
async fn five_failures_from_one_address_lock_the_username_there_and_the_lock_survives_a_restart() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-02T09:00:00+08:00").await;
        // Only an admin moves the clock: a second one does while `admin` is locked out.
        let admin = s.admin_token().await;
        let (st, v) = create(
            &s,
            &admin,
            json!({"username": "keeper", "display_name": "值班管理员", "role": "admin",
                   "password": "Night-watch-2026"}),
        )
        .await;
        assert_eq!(st, 201, "{v}");
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
        let keeper = s.token("keeper", "Night-watch-2026").await;
        s.set_clock_as(&keeper, "2026-03-02T09:05:00+08:00").await;
        let (st, _) = login(&s, &client(), "admin", ADMIN_PASSWORD).await;
        assert_eq!(st, 429, "the lock must survive a restart");
        s.set_clock_as(&keeper, "2026-03-02T09:16:00+08:00").await;
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
        crate::support::ensure_account_scope(&s, &admin, &json!({"department": "SCJGJ"})).await;
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
        assert_eq!(usernames(&list), ["admin", "lisi", "wangwu"]);

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

#[tokio::test]
async fn every_account_and_token_write_refuses_a_clerk_in_chinese() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let admin = s.admin_token().await;
        let clerk = clerk(&s, &admin, "wangwu", "H1").await;
        let (_, mine) = s
            .post_json("/api/v1/tokens", Some(&admin), &json!({"name": "评价器"}))
            .await;
        let writes = [
            (
                Method::POST,
                "/api/v1/accounts".to_string(),
                json!({"username": "x1", "display_name": "某", "role": "clerk", "hall": "H1"}),
            ),
            (
                Method::PUT,
                "/api/v1/accounts/wangwu".to_string(),
                json!({"display_name": "改名"}),
            ),
            (
                Method::PUT,
                "/api/v1/accounts/admin".to_string(),
                json!({"active": false}),
            ),
            (
                Method::POST,
                "/api/v1/accounts/admin/reset-password".to_string(),
                json!({}),
            ),
            (
                Method::POST,
                "/api/v1/tokens".to_string(),
                json!({"name": "我的"}),
            ),
            (
                Method::DELETE,
                format!("/api/v1/tokens/{}", mine["id"]),
                json!({}),
            ),
        ];
        for (method, path, body) in writes {
            let (st, v) = s
                .send_json(method.clone(), &path, Some(&clerk), &body)
                .await;
            assert_chinese_problem(st, &v, 403);
            assert_eq!(
                v["title"], "当前账号（窗口工作人员）无权管理账号",
                "{method} {path}"
            );
        }
        let (st, _) = s.get_json("/api/v1/accounts", Some(&clerk)).await;
        assert_eq!(st, 403);
        // Nothing changed.
        let (_, list) = s.get_json("/api/v1/accounts", Some(&admin)).await;
        assert_eq!(list["total"], 2);
        assert_eq!(s.get_json("/api/v1/auth/me", Some(&admin)).await.0, 200);
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_hall_manager_manages_only_its_own_halls_front_line_accounts() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let admin = s.admin_token().await;
        crate::support::ensure_account_scope(&s, &admin, &json!({"hall": "H1"})).await;
        let (st, v) = create(
            &s,
            &admin,
            json!({"username": "manager1", "display_name": "张经理", "role": "hall_manager",
                   "hall": "H1", "password": "manager2026"}),
        )
        .await;
        assert_eq!(st, 201, "{v}");
        let m = s.token("manager1", "manager2026").await;
        let _ = clerk(&s, &admin, "h2clerk", "H2").await;

        // Its own hall: allowed; the hall defaults to its own.
        let (st, v) = create(
            &s,
            &m,
            json!({"username": "h1clerk", "display_name": "赵窗口", "role": "clerk"}),
        )
        .await;
        assert_eq!(st, 201, "{v}");
        assert_eq!(v["hall"], "H1");
        let (st, _) = s
            .send_json(
                Method::PUT,
                "/api/v1/accounts/h1clerk",
                Some(&m),
                &json!({"role": "issuance"}),
            )
            .await;
        assert_eq!(st, 200);

        // Another hall's account: refused, whatever the operation.
        let (st, v) = create(
            &s,
            &m,
            json!({"username": "otherhall", "display_name": "某", "role": "clerk", "hall": "H2"}),
        )
        .await;
        assert_chinese_problem(st, &v, 403);
        assert!(v["title"].as_str().unwrap().contains("本大厅"), "{v}");
        for (method, path, body) in [
            (
                Method::PUT,
                "/api/v1/accounts/h2clerk",
                json!({"active": false}),
            ),
            (
                Method::POST,
                "/api/v1/accounts/h2clerk/reset-password",
                json!({}),
            ),
            (
                Method::PUT,
                "/api/v1/accounts/h1clerk",
                json!({"hall": "H2"}),
            ),
        ] {
            let (st, v) = s.send_json(method, path, Some(&m), &body).await;
            assert_chinese_problem(st, &v, 403);
        }
        let (st, _) = s.get_json("/api/v1/accounts/h2clerk", Some(&m)).await;
        assert_eq!(st, 403);
        let (st, v) = s
            .post_json(
                "/api/v1/tokens",
                Some(&m),
                &json!({"name": "H2 评价器", "account": "h2clerk"}),
            )
            .await;
        assert_chinese_problem(st, &v, 403);
        // Nor may it make an admin or another manager, even in its own hall.
        let (st, v) = create(
            &s,
            &m,
            json!({"username": "boss", "display_name": "某", "role": "admin", "hall": "H1"}),
        )
        .await;
        assert_chinese_problem(st, &v, 403);

        let (_, list) = s.get_json("/api/v1/accounts", Some(&m)).await;
        assert_eq!(usernames(&list), ["h1clerk", "manager1"]);
        // The other hall's clerk is untouched and still signs in.
        let (_, h2) = s.get_json("/api/v1/accounts/h2clerk", Some(&admin)).await;
        assert_eq!(h2["active"], true);
        s.token("h2clerk", "clerk2026pw").await;
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn roles_and_scopes_are_validated_with_field_errors() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let admin = s.admin_token().await;
        let (st, v) = create(
            &s,
            &admin,
            json!({"username": "zz", "display_name": "", "role": "root", "password": "short"}),
        )
        .await;
        assert_eq!(st, 422, "{v}");
        let fields = crate::support::error_fields(&v);
        assert_eq!(fields, ["username", "display_name", "role", "password"]);
        assert!(v["errors"][2]["message"].as_str().unwrap().contains("角色"));
        let (st, v) = create(
            &s,
            &admin,
            json!({"username": "approver1", "display_name": "审批", "role": "approver"}),
        )
        .await;
        assert_eq!(st, 422);
        assert_eq!(v["errors"][0]["field"], "department");
        let (st, v) = s
            .send_json(
                Method::PUT,
                "/api/v1/accounts/admin",
                Some(&admin),
                &json!({"role": "superuser"}),
            )
            .await;
        assert_eq!(st, 422, "{v}");
        assert_eq!(v["errors"][0]["field"], "role");
        let (st, v) = s
            .send_json(
                Method::PUT,
                "/api/v1/accounts/admin",
                Some(&admin),
                &json!({"password": "sneaky123"}),
            )
            .await;
        assert_eq!(st, 400, "{v}");
        assert_eq!(v["errors"][0]["message"], "不支持的字段 password");
        let (st, v) = s
            .send_json(
                Method::PUT,
                "/api/v1/accounts/admin",
                Some(&admin),
                &json!({"active": false}),
            )
            .await;
        assert_chinese_problem(st, &v, 403);
        let (_, list) = s.get_json("/api/v1/accounts", Some(&admin)).await;
        assert_eq!(list["total"], 1, "nothing was created");
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn api_tokens_work_until_revoked() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let admin = s.admin_token().await;
        let _ = clerk(&s, &admin, "pad01", "H1").await;
        let (st, t) = s
            .post_json(
                "/api/v1/tokens",
                Some(&admin),
                &json!({"name": "一号窗口评价器", "account": "pad01"}),
            )
            .await;
        assert_eq!(st, 201, "{t}");
        let token = t["token"].as_str().unwrap().to_string();
        assert!(token.starts_with("yct_"));
        assert_eq!(t["account"], "pad01");
        // Without an expiry a token lives the longest allowed: one year (issue 15).
        let expires = chrono::DateTime::parse_from_rfc3339(t["expires_at"].as_str().unwrap())
            .unwrap()
            .with_timezone(&chrono::Utc);
        let year = chrono::Duration::days(365);
        assert!(
            (expires - s.running.state.now() - year).num_minutes().abs() < 5,
            "{t}"
        );
        let beyond = (s.running.state.now() + year + chrono::Duration::days(1)).to_rfc3339();
        let (st, v) = s
            .post_json(
                "/api/v1/tokens",
                Some(&admin),
                &json!({"name": "永久令牌", "account": "pad01", "expires_at": beyond}),
            )
            .await;
        assert_eq!(crate::support::error_fields(&v), ["expires_at"], "{v}");
        assert_eq!(st, 422);

        let plain = reqwest::Client::new();
        let me = |tok: String| {
            let plain = plain.clone();
            let url = s.at("/api/v1/auth/me");
            async move { plain.get(url).bearer_auth(tok).send().await.unwrap() }
        };
        let r = me(token.clone()).await;
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["username"], "pad01");
        assert_eq!(v["via"], "api_token");

        let (_, list) = s.get_json("/api/v1/tokens", Some(&admin)).await;
        assert_eq!(list["total"], 1);
        assert!(
            list["tokens"][0].get("token").is_none(),
            "the secret is shown once"
        );
        assert!(list["tokens"][0]["last_used_at"].is_string());

        let (st, v) = s
            .post_json("/api/v1/auth/logout", Some(&token), &json!({}))
            .await;
        assert_eq!(st, 422, "an API token is revoked, not signed out: {v}");
        assert_eq!(v["code"], "not_a_session");
        let (st, _) = s
            .send_json(
                Method::DELETE,
                &format!("/api/v1/tokens/{}", t["id"]),
                Some(&admin),
                &json!({}),
            )
            .await;
        assert_eq!(st, 204);
        assert_eq!(me(token.clone()).await.status(), 401);
        let (_, list) = s.get_json("/api/v1/tokens", Some(&admin)).await;
        assert!(list["tokens"][0]["revoked_at"].is_string());
        let (st, _) = s
            .send_json(
                Method::DELETE,
                "/api/v1/tokens/999999",
                Some(&admin),
                &json!({}),
            )
            .await;
        assert_eq!(st, 404);

        // A token with an expiry stops at that time.
        s.set_clock("2026-03-02T09:00:00+08:00").await;
        let (st, t) = s
            .post_json(
                "/api/v1/tokens",
                Some(&admin),
                &json!({"name": "临时", "expires_at": "2026-03-02T10:00:00+08:00"}),
            )
            .await;
        assert_eq!(st, 201, "{t}");
        let tok = t["token"].as_str().unwrap().to_string();
        assert_eq!(me(tok.clone()).await.status(), 200);
        s.set_clock("2026-03-02T10:00:01+08:00").await;
        assert_eq!(me(tok).await.status(), 401);
        let (st, v) = s
            .post_json(
                "/api/v1/tokens",
                Some(&s.admin_token().await),
                &json!({"name": "", "expires_at": "明天"}),
            )
            .await;
        assert_eq!(st, 422, "{v}");
        assert_eq!(v["errors"].as_array().unwrap().len(), 2);
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn changing_the_password_keeps_this_session_and_ends_the_others() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let admin = s.admin_token().await;
        let here = clerk(&s, &admin, "wangwu", "H1").await;
        let elsewhere = s.token("wangwu", "clerk2026pw").await;
        let change = async |body: Value| {
            s.post_json("/api/v1/auth/password", Some(&here), &body)
                .await
        };
        let (st, v) = change(json!({"current": "clerk2026pw", "new": "abcdefgh"})).await;
        assert_eq!(st, 422, "{v}");
        assert_eq!(v["errors"][0]["field"], "new");
        assert!(
            v["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("常见密码")
        );
        let (st, v) = change(json!({"current": "wrong-one1", "new": "newpass2027"})).await;
        assert_eq!(st, 422, "{v}");
        assert_eq!(v["errors"][0]["field"], "current");
        let (st, v) = change(json!({"current": "clerk2026pw", "new": "newpass2027"})).await;
        assert_eq!(st, 204, "{v}");
        assert_eq!(s.get_json("/api/v1/auth/me", Some(&here)).await.0, 200);
        assert_eq!(s.get_json("/api/v1/auth/me", Some(&elsewhere)).await.0, 401);
        let (st, _) = login(&s, &client(), "wangwu", "clerk2026pw").await;
        assert_eq!(st, 401);
        s.token("wangwu", "newpass2027").await;

        // An admin's reset signs the account out everywhere and hands over a new password.
        let (st, v) = s
            .post_json(
                "/api/v1/accounts/wangwu/reset-password",
                Some(&admin),
                &json!({}),
            )
            .await;
        assert_eq!(st, 200, "{v}");
        let generated = v["password"].as_str().unwrap().to_string();
        assert_eq!(s.get_json("/api/v1/auth/me", Some(&here)).await.0, 401);
        s.token("wangwu", &generated).await;
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_deactivated_account_is_signed_out_and_cannot_sign_in() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let admin = s.admin_token().await;
        let c = clerk(&s, &admin, "wangwu", "H1").await;
        let (st, v) = s
            .send_json(
                Method::PUT,
                "/api/v1/accounts/wangwu",
                Some(&admin),
                &json!({"active": false}),
            )
            .await;
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["active"], false);
        assert_eq!(s.get_json("/api/v1/auth/me", Some(&c)).await.0, 401);
        let (st, v) = login(&s, &client(), "wangwu", "clerk2026pw").await;
        assert_chinese_problem(st, &v, 403);
        assert!(v["title"].as_str().unwrap().contains("停用"));
        let events = yichuang_store::events::for_subject(&s.running.state.db, "account", "wangwu")
            .await
            .unwrap();
        let update = events.iter().find(|e| e.kind == "account_updated").unwrap();
        let payload: Value = serde_json::from_str(&update.payload).unwrap();
        assert_eq!(payload["before"]["active"], true);
        assert_eq!(payload["after"]["active"], false);
        assert_eq!(update.actor, "admin:admin");
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_session_expires_after_the_configured_hours_without_use() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-02T08:00:00+08:00").await;
        let t = s.admin_token().await;
        // Used now and then, it stays alive past 12 hours in total.
        for at in ["2026-03-02T19:00:00+08:00", "2026-03-03T06:30:00+08:00"] {
            s.set_clock(at).await;
            assert_eq!(s.get_json("/api/v1/auth/me", Some(&t)).await.0, 200, "{at}");
        }
        s.set_clock("2026-03-03T18:31:00+08:00").await;
        assert_eq!(s.get_json("/api/v1/auth/me", Some(&t)).await.0, 401);
        s.stop().await;
    })
    .await;
}

async fn put_setting(s: &TestServer, key: &str, value: Value) {
    let mut tx = s.running.state.db.begin().await.unwrap();
    yichuang_store::settings::put(&mut tx, key, &value, s.running.state.now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

/// A failed login with `X-Forwarded-For: forwarded`.
async fn login_via(s: &TestServer, forwarded: &str, username: &str, password: &str) -> u16 {
    client()
        .post(s.at("/api/v1/auth/login"))
        .header("x-forwarded-for", forwarded)
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn failures_from_one_address_lock_it_at_the_limit_from_settings() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        put_setting(&s, "auth.login_max_failures_per_address", json!(3)).await;
        let c = client();
        for user in ["a1", "a2", "a3"] {
            assert_eq!(login(&s, &c, user, "guess12345").await.0, 401);
        }
        let (st, v) = login(&s, &c, "admin", ADMIN_PASSWORD).await;
        assert_chinese_problem(st, &v, 429);
        // Without a trusted proxy, a forged X-Forwarded-For does not escape the limit.
        assert_eq!(
            login_via(&s, "203.0.113.7", "admin", ADMIN_PASSWORD).await,
            429
        );
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_address_is_limited_on_its_own() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        put_setting(&s, "auth.login_max_failures_per_address", json!(3)).await;
        put_setting(&s, "auth.trusted_proxies", json!(["127.0.0.1"])).await;
        for user in ["a1", "a2", "a3"] {
            assert_eq!(login_via(&s, "203.0.113.7", user, "guess12345").await, 401);
        }
        assert_eq!(
            login_via(&s, "203.0.113.7", "admin", ADMIN_PASSWORD).await,
            429
        );
        assert_eq!(
            login_via(&s, "203.0.113.8", "admin", ADMIN_PASSWORD).await,
            200
        );
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_session_is_refreshed_at_most_once_a_minute() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-02T09:00:00+08:00").await;
        let t = s.admin_token().await;
        // The clock helper's own session was made at the real time, after these days, and
        // is never refreshed by them: the earliest session is `t`'s.
        let last_seen = async || -> i64 {
            yichuang_store::db_run!(&s.running.state.db, |c| sqlx::query_scalar(
                "SELECT MIN(last_seen_at) FROM sessions"
            )
            .fetch_one(c)
            .await
            .unwrap())
        };
        let at_login = last_seen().await;
        for _ in 0..3 {
            assert_eq!(s.get_json("/api/v1/auth/me", Some(&t)).await.0, 200);
        }
        assert_eq!(last_seen().await, at_login, "no write on every request");
        s.set_clock("2026-03-02T09:02:00+08:00").await;
        assert_eq!(s.get_json("/api/v1/auth/me", Some(&t)).await.0, 200);
        assert!(
            last_seen().await > at_login + 60_000_000,
            "refreshed after a minute"
        );
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_admin_bootstrap_resets_the_password_when_it_changes() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let old = s.admin_token().await;
        s.stop().await;

        let mut c = config(&url);
        c.admin_password = Some("Another-Pass-2027".into());
        let s = TestServer::start_with(c).await;
        assert_eq!(login(&s, &client(), "admin", ADMIN_PASSWORD).await.0, 401);
        s.token("admin", "Another-Pass-2027").await;
        assert_eq!(s.get_json("/api/v1/auth/me", Some(&old)).await.0, 401);
        s.stop().await;

        // The same password again changes nothing: sessions survive the restart.
        let mut c = config(&url);
        c.admin_password = Some("Another-Pass-2027".into());
        let s = TestServer::start_with(c.clone()).await;
        let t = s.token("admin", "Another-Pass-2027").await;
        s.stop().await;
        let s = TestServer::start_with(c).await;
        assert_eq!(s.get_json("/api/v1/auth/me", Some(&t)).await.0, 200);
        s.stop().await;

        // A weak bootstrap password is refused at start with a clear message.
        let mut c = config(&url);
        c.admin_password = Some("admin".into());
        let e = yichuang_server::prepare(&c).await.expect_err("refused");
        assert!(e.to_string().contains("YICHUANG_ADMIN_PASSWORD"), "{e}");
    })
    .await;
}

// --- pages -----------------------------------------------------------------------------------

async fn form(c: &reqwest::Client, url: String, fields: &[(&str, &str)]) -> (u16, String, String) {
    let r = c.post(url).form(fields).send().await.unwrap();
    let status = r.status().as_u16();
    let location = r
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, location, r.text().await.unwrap())
}

async fn page(c: &reqwest::Client, url: String) -> (u16, String, String) {
    let r = c.get(url).send().await.unwrap();
    let status = r.status().as_u16();
    let location = r
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, location, r.text().await.unwrap())
}

#[tokio::test]
async fn the_login_page_signs_in_and_returns_to_the_page_asked_for() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let c = client();
        let (st, to, _) = page(&c, s.at("/admin/accounts")).await;
        assert_eq!(st, 303);
        assert_eq!(to, "/login?next=/admin/accounts");
        let (st, _, html) = page(&c, s.at("/login?next=/admin/accounts")).await;
        assert_eq!(st, 200);
        assert!(html.contains("工作人员登录"));
        assert!(
            html.contains(r#"name="next" value="/admin/accounts""#),
            "{html}"
        );

        let (st, _, html) = form(
            &c,
            s.at("/login"),
            &[
                ("username", "admin"),
                ("password", "wrong-pass1"),
                ("next", "/admin/accounts"),
            ],
        )
        .await;
        assert_eq!(st, 401);
        assert!(
            html.contains(
                r#"<span class="field-error" id="password-error">用户名或密码错误</span>"#
            ),
            "{html}"
        );
        assert!(html.contains(r#"value="admin""#), "the username is kept");

        let (st, to, _) = form(
            &c,
            s.at("/login"),
            &[
                ("username", "admin"),
                ("password", ADMIN_PASSWORD),
                ("next", "/admin/accounts"),
            ],
        )
        .await;
        assert_eq!(st, 303);
        assert_eq!(to, "/admin/accounts");
        let (st, _, html) = page(&c, s.at("/admin/accounts")).await;
        assert_eq!(st, 200);
        assert!(
            html.contains("账号管理") && html.contains("系统管理员"),
            "{html}"
        );

        // Only same-site paths: anything else goes to the role's home (the admin's).
        let (st, to, _) = form(
            &client(),
            s.at("/login"),
            &[
                ("username", "admin"),
                ("password", ADMIN_PASSWORD),
                ("next", "//evil.example/x"),
            ],
        )
        .await;
        assert_eq!((st, to.as_str()), (303, "/admin"));

        let (st, to, _) = form(&c, s.at("/logout"), &[]).await;
        assert_eq!((st, to.as_str()), (303, "/"));
        let (st, to, _) = page(&c, s.at("/account")).await;
        assert_eq!((st, to.as_str()), (303, "/login?next=/account"));
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_accounts_page_creates_resets_and_deactivates_and_refuses_a_clerk() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        crate::support::ensure_account_scope(&s, &s.admin_token().await, &json!({"hall": "H1"}))
            .await;
        let admin = client();
        form(
            &admin,
            s.at("/login"),
            &[("username", "admin"), ("password", ADMIN_PASSWORD)],
        )
        .await;

        let (st, _, html) = form(
            &admin,
            s.at("/admin/accounts"),
            &[
                ("username", "ab"),
                ("display_name", "钱七"),
                ("role", "clerk"),
            ],
        )
        .await;
        assert_eq!(st, 422);
        assert!(html.contains("用户名长度应为 3 到 32 个字符"), "{html}");
        assert!(html.contains("必须属于一个大厅"), "{html}");
        assert!(html.contains(r#"value="钱七""#), "what was typed is kept");

        let (st, _, html) = form(
            &admin,
            s.at("/admin/accounts"),
            &[
                ("username", "qianqi"),
                ("display_name", "钱七"),
                ("role", "clerk"),
                ("hall", "H1"),
            ],
        )
        .await;
        assert_eq!(st, 200, "{html}");
        assert!(html.contains("已创建账号 qianqi"), "{html}");
        let generated = html
            .split(r#"<code class="secret">"#)
            .nth(1)
            .and_then(|r| r.split("</code>").next())
            .expect("the generated password is shown once")
            .to_string();

        // The clerk signs in with it and may not open the accounts page.
        let clerk = client();
        let (st, _, _) = form(
            &clerk,
            s.at("/login"),
            &[("username", "qianqi"), ("password", &generated)],
        )
        .await;
        assert_eq!(st, 303);
        let (st, _, html) = page(&clerk, s.at("/admin/accounts")).await;
        assert_eq!(st, 403);
        assert!(
            html.contains("当前账号（窗口工作人员）无权访问此页面"),
            "{html}"
        );
        let (st, _, html) = form(&clerk, s.at("/admin/accounts/admin/reset-password"), &[]).await;
        assert_eq!(st, 403);
        assert!(html.contains("无权"));

        // The admin resets the clerk's password: the clerk's session ends.
        let (st, _, html) = form(&admin, s.at("/admin/accounts/qianqi/reset-password"), &[]).await;
        assert_eq!(st, 200);
        assert!(html.contains("已重置账号 qianqi 的密码"), "{html}");
        let (st, _, _) = page(&clerk, s.at("/account")).await;
        assert_eq!(st, 303);

        let (st, to, _) = form(
            &admin,
            s.at("/admin/accounts/qianqi/active"),
            &[("active", "false")],
        )
        .await;
        assert_eq!(
            (st, to.as_str()),
            (303, "/admin/accounts?done=deactivated&username=qianqi")
        );
        let (_, _, html) = page(&admin, s.at(&to)).await;
        assert!(html.contains("已停用账号 qianqi"), "{html}");
        assert!(html.contains("已停用</td>"), "{html}");
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_account_page_changes_the_password_with_field_errors() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let admin = s.admin_token().await;
        clerk(&s, &admin, "sunba", "H1").await;
        let c = client();
        form(
            &c,
            s.at("/login"),
            &[("username", "sunba"), ("password", "clerk2026pw")],
        )
        .await;
        let (st, _, html) = page(&c, s.at("/account")).await;
        assert_eq!(st, 200);
        assert!(html.contains("sunba") && html.contains("窗口工作人员") && html.contains("H1"));

        let change = async |current: &str, new: &str, confirm: &str| {
            let fields = [("current", current), ("new", new), ("confirm", confirm)];
            form(&c, s.at("/account/password"), &fields).await
        };
        let (st, _, html) = change("clerk2026pw", "newpass2027", "newpass2028").await;
        assert_eq!(st, 422);
        assert!(html.contains("两次输入的新密码不一致"), "{html}");
        let (st, _, html) = change("nope12345", "newpass2027", "newpass2027").await;
        assert_eq!(st, 422);
        assert!(html.contains("当前密码不正确"), "{html}");
        let (st, to, _) = change("clerk2026pw", "newpass2027", "newpass2027").await;
        assert_eq!((st, to.as_str()), (303, "/account?done=password"));
        let (_, _, html) = page(&c, s.at(&to)).await;
        assert!(html.contains("密码已修改"));
        s.token("sunba", "newpass2027").await;
        s.stop().await;
    })
    .await;
}

// --- command line ----------------------------------------------------------------------------

fn yichuang(args: &[&str], stdin: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_yichuang"))
        .args(args)
        .env_remove("YICHUANG_ADMIN_PASSWORD")
        .env_remove("YICHUANG_CONFIG")
        .env_remove("YICHUANG_DATABASE_URL")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn the_command_line_creates_an_account_that_can_sign_in() {
    let url = yichuang_store::testing::sqlite_url();
    // The hall is set up first: an account may name only a hall that exists.
    let s = TestServer::start(&url).await;
    crate::support::ensure_account_scope(&s, &s.admin_token().await, &json!({"hall": "H1"})).await;
    s.stop().await;
    let out = yichuang(
        &[
            "admin",
            "create",
            "--username",
            "ZhouJiu",
            "--role",
            "hall_manager",
            "--hall",
            "H1",
            "--display-name",
            "周九",
            "--database",
            &url,
        ],
        "cli-pass-2026\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("已创建账号 zhoujiu"));

    let out = yichuang(
        &[
            "admin",
            "create",
            "--username",
            "zhoujiu",
            "--role",
            "clerk",
            "--hall",
            "H1",
            "--password",
            "other-pass-1",
            "--database",
            &url,
        ],
        "",
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("已被使用"));
    let out = yichuang(
        &[
            "admin",
            "create",
            "--username",
            "wu",
            "--role",
            "root",
            "--database",
            &url,
        ],
        "short\n",
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("角色") && err.contains("密码至少需要 8"),
        "{err}"
    );

    let out = yichuang(&["admin", "list", "--database", &url], "");
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(
        listing.contains("zhoujiu\t周九\t大厅管理员\t-\tH1\t正常"),
        "{listing}"
    );
    assert!(!listing.contains("argon2"), "no hashes printed");

    let mut c = config(&url);
    c.admin_password = None;
    let s = TestServer::start_with(c.clone()).await;
    let t = s.token("zhoujiu", "cli-pass-2026").await;
    let (_, me) = s.get_json("/api/v1/auth/me", Some(&t)).await;
    assert_eq!(me["role"], "hall_manager");
    s.stop().await;

    let out = yichuang(
        &[
            "admin",
            "reset-password",
            "--username",
            "zhoujiu",
            "--database",
            &url,
        ],
        "cli-pass-2027\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = TestServer::start_with(c).await;
    assert_eq!(s.get_json("/api/v1/auth/me", Some(&t)).await.0, 401);
    s.token("zhoujiu", "cli-pass-2027").await;
    let events = yichuang_store::events::for_subject(&s.running.state.db, "account", "zhoujiu")
        .await
        .unwrap();
    assert!(
        events
            .iter()
            .all(|e| e.actor.starts_with("system:cli:") || e.kind == "session_started")
    );
    s.stop().await;
}

#[tokio::test]
async fn the_openapi_document_describes_the_account_endpoints() {
    let s = TestServer::start(&yichuang_store::testing::sqlite_url()).await;
    let (_, doc) = s.get_json("/api/v1/openapi.json", None).await;
    for (path, method) in [
        ("/api/v1/auth/login", "post"),
        ("/api/v1/auth/logout", "post"),
        ("/api/v1/auth/me", "get"),
        ("/api/v1/auth/password", "post"),
        ("/api/v1/accounts", "get"),
        ("/api/v1/accounts", "post"),
        ("/api/v1/accounts/{username}", "get"),
        ("/api/v1/accounts/{username}", "put"),
        ("/api/v1/accounts/{username}/reset-password", "post"),
        ("/api/v1/tokens", "get"),
        ("/api/v1/tokens", "post"),
        ("/api/v1/tokens/{id}", "delete"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{method} {path}");
    }
    s.stop().await;
}

async fn type_into(b: &crate::browser::Browser, css: &str, text: &str) {
    b.el(css).await.send_keys(text).await.unwrap();
}

/// Submits the page's main form.
async fn submit(b: &crate::browser::Browser) {
    b.click_and_wait("form.card button[type=submit]").await;
}

#[tokio::test]
async fn in_a_browser_a_manager_signs_in_creates_a_clerk_and_signs_out() {
    use thirtyfour::components::SelectElement;

    let s = TestServer::start(&yichuang_store::testing::sqlite_url()).await;
    crate::support::ensure_account_scope(&s, &s.admin_token().await, &json!({"hall": "H1"})).await;
    let Some(b) = crate::browser::Browser::start().await else {
        return;
    };
    b.driver.goto(s.at("/admin/accounts")).await.unwrap();
    let url = b.driver.current_url().await.unwrap();
    assert_eq!(url.path(), "/login");
    assert_eq!(url.query(), Some("next=/admin/accounts"));

    type_into(&b, "#username", "admin").await;
    type_into(&b, "#password", "wrong-pass1").await;
    submit(&b).await;
    assert_eq!(b.text_of("#password-error").await, "用户名或密码错误");

    type_into(&b, "#password", ADMIN_PASSWORD).await;
    submit(&b).await;
    b.el("h1").await;
    assert_eq!(
        b.driver.current_url().await.unwrap().path(),
        "/admin/accounts"
    );
    assert!(b.body_text().await.contains("账号管理"));

    type_into(&b, "#username", "wuqiao").await;
    type_into(&b, "#display_name", "吴巧").await;
    SelectElement::new(&b.el("#role").await)
        .await
        .unwrap()
        .select_by_value("clerk")
        .await
        .unwrap();
    SelectElement::new(&b.el("#hall").await)
        .await
        .unwrap()
        .select_by_visible_text("H1政务服务大厅")
        .await
        .unwrap();
    submit(&b).await;
    let secret = b.text_of("code.secret").await;
    assert_eq!(
        secret.chars().count(),
        12,
        "the generated password is shown"
    );
    assert!(b.body_text().await.contains("已创建账号 wuqiao"));

    // On a phone the pages fit the screen: no sideways scrolling.
    b.driver.set_window_rect(0, 0, 390, 844).await.unwrap();
    for path in ["/account", "/admin/accounts"] {
        b.driver.goto(s.at(path)).await.unwrap();
        b.el("h1").await;
        let fits = b
            .driver
            .execute(
                "return document.documentElement.scrollWidth <= window.innerWidth + 1;",
                Vec::new(),
            )
            .await
            .unwrap();
        assert_eq!(
            fits.json(),
            &Value::Bool(true),
            "{path} overflows on a phone"
        );
    }

    // On a phone 退出 is in the folded menu: 菜单 first.
    b.el("#menu-button").await.click().await.unwrap();
    b.el(".who button").await.click().await.unwrap();
    b.el(".login-link").await;
    assert_eq!(b.driver.current_url().await.unwrap().path(), "/");
    b.driver.goto(s.at("/account")).await.unwrap();
    assert_eq!(b.driver.current_url().await.unwrap().path(), "/login");
    b.quit().await;
    s.stop().await;
}

#[tokio::test]
async fn common_username_derived_and_the_demo_passwords_are_refused_for_every_role() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let admin = s.admin_token().await;
        for (role, pw) in [
            ("clerk", "password1"),
            ("admin", "abc12345"),
            ("supervisor", "wangwu2026"),
            ("approver", "Demo-2026"),
        ] {
            let mut body = json!({"username": "wangwu", "display_name": "王五", "role": role,
                                  "password": pw});
            if role == "clerk" {
                body["hall"] = json!("H1");
            }
            if role == "approver" {
                body["department"] = json!("SCJG");
            }
            let (st, v) = create(&s, &admin, body).await;
            assert_eq!(st, 422, "{role} with {pw}: {v}");
            assert_eq!(v["errors"][0]["field"], "password", "{v}");
        }
        let (st, v) = create(
            &s,
            &admin,
            json!({"username": "wangwu", "display_name": "王五", "role": "supervisor",
                   "password": "长江大桥上的风2026"}),
        )
        .await;
        assert_eq!(st, 201, "a long phrase is fine: {v}");
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn guesses_from_other_addresses_never_lock_the_owner_out_only_slow_them_and_the_owner_is_told()
 {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-02T09:00:00+08:00").await;
        put_setting(&s, "auth.trusted_proxies", json!(["127.0.0.1"])).await;
        let admin = s.admin_token().await;
        let (st, v) = create(
            &s,
            &admin,
            json!({"username": "zhaoliu", "display_name": "赵六", "role": "supervisor",
                   "password": "Spring-river-2026"}),
        )
        .await;
        assert_eq!(st, 201, "{v}");
        // Five wrong passwords from one machine lock zhaoliu there, and only there.
        for _ in 0..5 {
            assert_eq!(
                login_via(&s, "203.0.113.9", "zhaoliu", "guess-2026-x").await,
                401
            );
        }
        assert_eq!(
            login_via(&s, "203.0.113.9", "zhaoliu", "Spring-river-2026").await,
            429
        );
        // From the owner's desk: slowed down for half a minute, not locked.
        let r = client()
            .post(s.at("/api/v1/auth/login"))
            .header("x-forwarded-for", "198.51.100.20")
            .json(&json!({"username": "zhaoliu", "password": "Spring-river-2026"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 429);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["code"], "login_slowed_down", "{v}");
        assert!(v["title"].as_str().unwrap().contains("秒后再试"), "{v}");
        // Half a minute after the last guess: the clock runs on from 09:00 while the guesses are
        // checked (password hashing takes seconds on a slow machine), so leave a margin.
        s.set_clock("2026-03-02T09:01:00+08:00").await;
        let r = client()
            .post(s.at("/api/v1/auth/login"))
            .header("x-forwarded-for", "198.51.100.20")
            .json(&json!({"username": "zhaoliu", "password": "Spring-river-2026"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "the owner gets in");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["password_change_required"], false);
        let token = v["token"].as_str().unwrap().to_string();
        // … and is told, on their account page, when and from where.
        let page = client()
            .get(s.at("/account"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("近 7 天有 5 次"), "{page}");
        assert!(
            page.contains("203.0.113.9") && page.contains("2026年3月2日 09:00"),
            "{page}"
        );
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn an_event_written_through_an_api_token_records_the_token_and_who_made_it() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let d = crate::ratings::desk(&s).await;
        let (st, v) = create(
            &s,
            &d.admin,
            json!({"username": "manager1", "display_name": "经理", "role": "hall_manager",
                   "hall": crate::hall::HALL, "password": "Hall-boss-2026"}),
        )
        .await;
        assert_eq!(st, 201, "{v}");
        let manager = s.token("manager1", "Hall-boss-2026").await;
        // The manager mints a token for the clerk and acts as her with it.
        let (st, t) = s
            .post_json(
                "/api/v1/tokens",
                Some(&manager),
                &json!({"name": "窗口脚本", "account": "clerk1"}),
            )
            .await;
        assert_eq!(st, 201, "{t}");
        let token = t["token"].as_str().unwrap().to_string();
        let before = yichuang_store::events::since(&s.running.state.db, 0, 100_000)
            .await
            .unwrap()
            .last()
            .map_or(0, |e| e.id);
        crate::hall::take_ok(&s, Some(&token), "a").await;
        crate::hall::take_ok(&s, Some(&d.clerk), "a").await;
        let written: Vec<Value> = yichuang_store::events::since(&s.running.state.db, before, 1000)
            .await
            .unwrap()
            .iter()
            .map(|e| serde_json::from_str(&e.payload).unwrap())
            .collect();
        let via: Vec<&Value> = written.iter().filter_map(|p| p.get("via_token")).collect();
        assert!(
            !via.is_empty(),
            "the take through the token says so: {written:?}"
        );
        for v in &via {
            assert_eq!(v["created_by"], "hall_manager:manager1");
            assert_eq!(v["token"], t["id"]);
        }
        assert!(
            via.len() < written.len(),
            "the take through the clerk's own session records no token"
        );
        s.stop().await;
    })
    .await;
}
