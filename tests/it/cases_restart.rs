//! Durable deadline timers survive a crash: the real binary is killed (SIGKILL) with timers
//! pending and due, started again, and every timer fires exactly once.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::cases::{PHONE, item};
use crate::support::{ADMIN_PASSWORD, client};

struct Binary {
    child: Child,
    url: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start(db_url: &str) -> Binary {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_yichuang"))
        .args(["serve", "--dev-clock", "--database", db_url])
        .args(["--addr", &format!("127.0.0.1:{port}")])
        .env("YICHUANG_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let url = format!("http://127.0.0.1:{port}");
    let c = client();
    for _ in 0..200 {
        if c.get(format!("{url}/api/v1/health")).send().await.is_ok() {
            return Binary { child, url };
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut child = child;
    let _ = child.kill();
    let _ = child.wait();
    panic!("the binary did not answer");
}

impl Binary {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> (u16, Value) {
        let mut r = client()
            .request(method, format!("{}{path}", self.url))
            .json(&body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        let r = r.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn token(&self, username: &str, password: &str) -> String {
        let (st, v) = self
            .call(
                reqwest::Method::POST,
                "/api/v1/auth/login",
                None,
                json!({"username": username, "password": password}),
            )
            .await;
        assert_eq!(st, 200, "{v}");
        v["token"].as_str().unwrap().to_string()
    }

    /// Moves the dev clock as the admin (`admin` is its token).
    async fn set_clock(&self, admin: &str, now: &str) {
        let (st, v) = self
            .call(
                reqwest::Method::PUT,
                "/api/v1/dev/clock",
                Some(admin),
                json!({"now": now}),
            )
            .await;
        assert_eq!(st, 200, "{v}");
    }

    fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        let _ = self.child.wait();
    }
}

fn count(v: &Value, kind: &str) -> usize {
    v["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .count()
}

#[tokio::test]
async fn every_deadline_timer_fires_exactly_once_across_a_sigkill_and_a_restart() {
    let db_url = yichuang_store::testing::sqlite_url();
    {
        let db = yichuang_store::Db::connect(&db_url).await.unwrap();
        db.migrate().await.unwrap();
        let now = chrono::Utc::now();
        let dept: yichuang_domain::catalogue::Department =
            serde_json::from_value(json!({"code": "scj", "name": "市场监督管理局"})).unwrap();
        let mut tx = db.begin().await.unwrap();
        yichuang_store::catalogue::create_department(&mut tx, &dept, "test", now)
            .await
            .unwrap();
        for it in [item("R001", false), item("D001", true)] {
            yichuang_store::catalogue::create_item(&mut tx, &it, "test", now)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        db.close().await;
    }
    let b = start(&db_url).await;
    let post = reqwest::Method::POST;
    let admin = b.token("admin", ADMIN_PASSWORD).await;
    let hall = json!({"code": "H1", "name": "一号大厅"});
    let (st, v) = b
        .call(post.clone(), "/api/v1/halls", Some(&admin), hall)
        .await;
    assert_eq!(st, 201, "{v}");
    for (u, scope) in [
        ("clerk1", json!({"role": "clerk", "hall": "H1"})),
        ("scj1", json!({"role": "approver", "department": "scj"})),
    ] {
        let mut body = json!({"username": u, "display_name": u, "password": "staff2026pw"});
        body.as_object_mut()
            .unwrap()
            .extend(scope.as_object().unwrap().clone());
        let (st, v) = b
            .call(post.clone(), "/api/v1/accounts", Some(&admin), body)
            .await;
        assert_eq!(st, 201, "{v}");
    }
    b.set_clock(&admin, "2026-03-02T09:00:00+08:00").await;
    let clerk = b.token("clerk1", "staff2026pw").await;
    let approver = b.token("scj1", "staff2026pw").await;
    let mut routed = Vec::new();
    for _ in 0..3 {
        let (st, v) = b
            .call(post.clone(), "/api/v1/cases", Some(&clerk),
                  json!({"item": "R001", "materials": ["A", "B"],
                         "applicant": {"kind": "person", "name": "张三", "id_number": "11010519491231002X", "phone": PHONE}}))
            .await;
        assert_eq!(st, 201, "{v}");
        let n = v["number"].as_str().unwrap().to_string();
        let (st, v) = b
            .call(
                post.clone(),
                &format!("/api/v1/cases/{n}/route"),
                Some(&clerk),
                json!({}),
            )
            .await;
        assert_eq!(st, 200, "{v}");
        routed.push(n);
    }
    let (_, v) = b
        .call(post.clone(), "/api/v1/cases", Some(&clerk),
              json!({"item": "D001", "materials": ["A", "B"],
                     "applicant": {"kind": "enterprise", "name": "云岭食品有限公司", "id_number": "91350100M000100Y43", "phone": PHONE}}))
        .await;
    let deemed = v["number"].as_str().unwrap().to_string();
    b.call(
        post.clone(),
        &format!("/api/v1/cases/{deemed}/route"),
        Some(&clerk),
        json!({}),
    )
    .await;
    let (st, v) = b
        .call(
            post.clone(),
            &format!("/api/v1/cases/{deemed}/confirm"),
            Some(&approver),
            json!({}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    // The routing timers (09:10) are now due; the deemed approval (7 March) is pending.
    b.set_clock(&admin, "2026-03-02T09:20:00+08:00").await;
    b.kill();

    // Started again, the server's clock is the real one, long after every deadline.
    let b = start(&db_url).await;
    let admin = b.token("admin", ADMIN_PASSWORD).await;
    let get = reqwest::Method::GET;
    let mut settled = false;
    for _ in 0..100 {
        let mut all = true;
        for n in &routed {
            let (_, v) = b
                .call(
                    get.clone(),
                    &format!("/api/v1/cases/{n}"),
                    Some(&admin),
                    Value::Null,
                )
                .await;
            all &= v["status"] == "in_progress";
        }
        let (_, v) = b
            .call(
                get.clone(),
                &format!("/api/v1/cases/{deemed}"),
                Some(&admin),
                Value::Null,
            )
            .await;
        all &= count(&v, "step_deemed_approved") == 1;
        if all {
            settled = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(settled, "every timer fired after the restart");
    // Give a duplicate every chance to show up, then count.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for n in &routed {
        let (_, v) = b
            .call(
                get.clone(),
                &format!("/api/v1/cases/{n}"),
                Some(&admin),
                Value::Null,
            )
            .await;
        assert_eq!(count(&v, "route_confirmed"), 1, "{v}");
        let confirmed = v["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["kind"] == "route_confirmed")
            .unwrap()
            .clone();
        assert_eq!(
            confirmed["at"], "2026-03-02T09:10:00+08:00",
            "fired late but dated when it fell due"
        );
    }
    let (_, v) = b
        .call(
            get.clone(),
            &format!("/api/v1/cases/{deemed}"),
            Some(&admin),
            Value::Null,
        )
        .await;
    assert_eq!(count(&v, "step_deemed_approved"), 1, "{v}");
    b.kill();

    // The stored stream agrees: one event per deemed change, none lost, none doubled.
    let db = yichuang_store::Db::connect(&db_url).await.unwrap();
    for n in routed.iter().chain([&deemed]) {
        let stored = yichuang_store::cases::records::load(&db, n).await.unwrap();
        let deemed_kinds = stored
            .events
            .iter()
            .filter(|e| {
                let kind = e.change.kind();
                kind == "case_route_confirmed" || kind == "case_step_deemed_approved"
            })
            .filter(|e| e.by == "system")
            .count();
        assert_eq!(deemed_kinds, 1, "{n}");
    }
    db.close().await;
}
