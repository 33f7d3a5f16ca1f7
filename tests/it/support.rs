//! Starting the real server for a test, on each backend.

#![allow(dead_code)]

use std::future::Future;

use serde_json::Value;
use yichuang_server::{Config, Running};

pub const ADMIN_PASSWORD: &str = "Hall-Key-2026";

/// The backends a test runs on. With YICHUANG_REQUIRE_POSTGRES=1 (as CI sets it) a missing
/// PostgreSQL is a failure, not a silent skip.
pub async fn backends() -> Vec<String> {
    let v = yichuang_store::testing::backends().await;
    if std::env::var("YICHUANG_REQUIRE_POSTGRES").as_deref() == Ok("1") {
        assert!(
            v.len() == 2,
            "YICHUANG_REQUIRE_POSTGRES=1 but YICHUANG_TEST_DATABASE_URL is not set"
        );
    }
    v
}

/// Runs the test body once per backend, with a fresh database each time.
pub async fn on_each_backend<F, Fut>(f: F)
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = ()>,
{
    for url in backends().await {
        f(url).await;
    }
}

pub fn config(db_url: &str) -> Config {
    Config {
        addr: "127.0.0.1:0".parse().unwrap(),
        database_url: db_url.to_string(),
        dev_clock: true,
        demo: false,
        admin_password: Some(ADMIN_PASSWORD.to_string()),
        worker_interval_ms: 100,
        instance: format!("test-{}", std::process::id()),
        session_hours: 12,
        workers: true,
        public_url: None,
        ..Config::default()
    }
}

pub struct TestServer {
    pub running: Running,
    pub url: String,
    /// A client without a session.
    pub client: reqwest::Client,
    /// The admin's token for moving the dev clock, made at the first move.
    clock_token: tokio::sync::Mutex<Option<String>>,
}

impl TestServer {
    pub async fn start(db_url: &str) -> TestServer {
        Self::start_with(config(db_url)).await
    }

    pub async fn start_with(config: Config) -> TestServer {
        let running = yichuang_server::start(config).await.expect("server starts");
        let url = running.url();
        TestServer {
            running,
            url,
            client: client(),
            clock_token: Default::default(),
        }
    }

    pub fn at(&self, path: &str) -> String {
        format!("{}{}", self.url, path)
    }

    pub fn backend(&self) -> &'static str {
        self.running.state.db.backend().name()
    }

    /// Logs in and returns the bearer token.
    pub async fn token(&self, username: &str, password: &str) -> String {
        let r = self
            .client
            .post(self.at("/api/v1/auth/login"))
            .json(&serde_json::json!({"username": username, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "login as {username}");
        let v: Value = r.json().await.unwrap();
        v["token"].as_str().expect("token").to_string()
    }

    pub async fn admin_token(&self) -> String {
        self.token("admin", ADMIN_PASSWORD).await
    }

    /// Sets the server's clock as the holder of `token` (an admin).
    pub async fn set_clock_as(&self, token: &str, rfc3339: &str) {
        let (st, v) = self
            .send_json(
                reqwest::Method::PUT,
                "/api/v1/dev/clock",
                Some(token),
                &serde_json::json!({"now": rfc3339}),
            )
            .await;
        assert_eq!(st, 200, "{v}");
    }

    /// Sets the server's clock (the server runs with --dev-clock in tests) as the admin, who
    /// alone may move it. The admin's token is kept; a test that ended the admin's sessions gets
    /// a new one.
    pub async fn set_clock(&self, rfc3339: &str) {
        let mut token = self.clock_token.lock().await;
        for _ in 0..2 {
            if token.is_none() {
                *token = Some(self.admin_token().await);
            }
            let r = self
                .client
                .put(self.at("/api/v1/dev/clock"))
                .bearer_auth(token.as_deref().unwrap_or_default())
                .json(&serde_json::json!({"now": rfc3339}))
                .send()
                .await
                .unwrap();
            if r.status() != 401 {
                assert_eq!(r.status(), 200);
                return;
            }
            *token = None;
        }
        panic!("the admin could not move the dev clock");
    }

    /// Fires every timer due at the server's (dev) clock now, as the worker would, and returns
    /// how many fired: tests move the clock and run this instead of waiting for the worker.
    pub async fn run_due_timers(&self) -> usize {
        let state = self.running.state.clone();
        let dispatch = yichuang_server::worker::Dispatch {
            state: state.clone(),
        };
        let now = state.now();
        let mut fired = 0;
        // The background worker may hold one it claimed (PostgreSQL skips it): until it commits
        // that one is still due, so look again until none is.
        loop {
            fired += yichuang_store::timers::fire_due(&state.db, now, "test", &dispatch, 10_000)
                .await
                .expect("due timers fire");
            if yichuang_store::timers::due_count(&state.db, now)
                .await
                .expect("due count")
                == 0
            {
                return fired;
            }
            tokio::task::yield_now().await;
        }
    }

    pub async fn get_json(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut req = self.client.get(self.at(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let body = r.text().await.unwrap();
        (
            status,
            serde_json::from_str(&body).unwrap_or(Value::String(body)),
        )
    }

    pub async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> (u16, Value) {
        let mut req = self.client.request(method, self.at(path)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn post_json(&self, path: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
        self.send_json(reqwest::Method::POST, path, token, body)
            .await
    }

    pub async fn stop(self) {
        self.running.stop().await;
    }
}

/// A browser-like client signed in as the admin through the login form (a session cookie).
pub async fn admin_session(s: &TestServer) -> reqwest::Client {
    let c = client();
    let r = c
        .post(s.at("/login"))
        .header("sec-fetch-site", "same-origin")
        .form(&[("username", "admin"), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    c
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The `field` of each entry of a problem's `errors`, in order.
pub fn error_fields(v: &Value) -> Vec<&str> {
    v["errors"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["field"].as_str()).collect())
        .unwrap_or_default()
}

/// Sets up the hall and the department an account body names, as an administrator does before
/// creating staff there: accounts may name only ones that exist. Already there is fine.
pub async fn ensure_account_scope(s: &TestServer, admin: &str, body: &Value) {
    for (field, path, suffix) in [
        ("hall", "/api/v1/halls", "政务服务大厅"),
        ("department", "/api/v1/departments", "局"),
    ] {
        if let Some(code) = body[field].as_str() {
            let thing = serde_json::json!({"code": code, "name": format!("{code}{suffix}")});
            let (st, v) = s.post_json(path, Some(admin), &thing).await;
            assert!(st == 201 || st == 409, "{v}");
        }
    }
}

/// The text column `value` of every row `sql` selects, read straight from the server's database.
pub async fn texts(s: &TestServer, sql: &str) -> Vec<String> {
    #[derive(sqlx::FromRow, serde::Deserialize)]
    struct Text {
        value: String,
    }
    let rows: Vec<Text> = s.running.state.db.read(sql, vec![]).await.unwrap();
    rows.into_iter().map(|t| t.value).collect()
}
