//! Requests given up mid-flight. A phone that loses its signal, a kiosk's timeout, a clerk
//! who closes the tab: the client goes while its command runs, and the server drops the
//! request's work wherever it stands (in line for the writer's turn, inside a shared
//! transaction, waiting for the `COMMIT`). Each case's parts must still agree with its history,
//! and each command must have happened once or not at all; a receipt sent with its key
//! (`Idempotency-Key`) once, a case or a 一件事 with its members.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::cases::{
    PERSON_ID, PHONE, Staff, application, assert_case_agrees_with_its_history, case_numbers, item,
    kinds, publish, staff,
};
use crate::support::{TestServer, on_each_backend};

/// Cases (or bundles) worked through at once, per backend.
const AT_ONCE: u64 = 12;

/// Far beyond any command's time: an answer later than this is a command stuck.
const ANSWERED_WITHIN: Duration = Duration::from_secs(30);

/// Where the clients send their commands, and as whom.
struct Clients {
    http: reqwest::Client,
    base: String,
    staff: Staff,
}

/// A small deterministic generator: each client gives up its requests at its own moments.
struct Moments(u64);

impl Moments {
    fn of(client: u64) -> Self {
        Moments(0x9E37_79B9_7F4A_7C15 ^ (client + 1))
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

impl Clients {
    /// Sends a command, first giving it up half the time after 0–4 ms (the same request, as a
    /// client that retries would send it). The retry is answered 2xx, or 409 where the request
    /// given up had already done it.
    async fn send(&self, m: &mut Moments, token: &str, path: &str, body: &Value) -> Value {
        self.send_keyed(m, token, path, body, None).await
    }

    /// [`Clients::send`] with a receipt's key (`Idempotency-Key`), the same in the retry.
    async fn send_keyed(
        &self,
        m: &mut Moments,
        token: &str,
        path: &str,
        body: &Value,
        key: Option<&str>,
    ) -> Value {
        let request = || {
            let r = self
                .http
                .post(format!("{}{path}", self.base))
                .bearer_auth(token)
                .json(body);
            match key {
                Some(k) => r.header("idempotency-key", k),
                None => r,
            }
        };
        let gave_up = m.next().is_multiple_of(2);
        if gave_up {
            let wait = Duration::from_micros(m.next() % 4000);
            let _ = request().timeout(wait).send().await;
        }
        // A command that waits for ever (a transaction left open by one given up) fails here.
        let r = request()
            .timeout(ANSWERED_WITHIN)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{path} unanswered: {e}"));
        let st = r.status().as_u16();
        let v: Value = r.json().await.unwrap();
        assert!(
            (200..300).contains(&st) || (gave_up && st == 409),
            "{path}: {st} {v}"
        );
        v
    }

    /// The department confirms a routed case, reviews it and approves it.
    async fn approve(&self, m: &mut Moments, number: &str) {
        let approver = &self.staff.approver;
        let c = |p: &str| format!("/api/v1/cases/{number}{p}");
        let none = json!({});
        self.send(m, approver, &c("/confirm"), &none).await;
        self.send(m, approver, &c("/steps/review/claim"), &none)
            .await;
        self.send(
            m,
            approver,
            &c("/steps/review/approve"),
            &json!({"opinion": "同意"}),
        )
        .await;
        self.send(m, approver, &c("/steps/decide/claim"), &none)
            .await;
        self.send(
            m,
            approver,
            &c("/steps/decide/decide"),
            &json!({"outcome": "approved", "document_number": "食许〔2026〕1号"}),
        )
        .await;
    }
}

const BY_MAIL: &str = r#"{"method": "mail", "address": "云岭市青云大道1号", "carrier": "EMS", "tracking_number": "1"}"#;

/// Starts a server with the clerks signed in and `items` published.
async fn hall_with(url: &str, items: &[&str]) -> (TestServer, Arc<Clients>) {
    let s = TestServer::start(url).await;
    s.set_clock("2026-03-02T09:00:00+08:00").await;
    for code in items {
        publish(&s, &item(code, false)).await;
    }
    let clients = Arc::new(Clients {
        http: s.client.clone(),
        base: s.at(""),
        staff: staff(&s).await,
    });
    (s, clients)
}

/// Runs `work` for `AT_ONCE` clients at once: what each answers.
async fn at_once<F, T>(clients: &Arc<Clients>, work: impl Fn(Arc<Clients>, Moments) -> F) -> Vec<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let mut set = tokio::task::JoinSet::new();
    for i in 0..AT_ONCE {
        set.spawn(work(clients.clone(), Moments::of(i)));
    }
    set.join_all().await
}

/// A case's timeline shows each of `once` exactly once.
async fn issued_with_each_once(s: &TestServer, token: &str, number: &str, once: &[&str]) {
    let (st, v) = s
        .get_json(&format!("/api/v1/cases/{number}"), Some(token))
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["status"], "issued", "{number}: {v}");
    let timeline = kinds(&v);
    for kind in once {
        let times = timeline.iter().filter(|k| k == kind).count();
        assert_eq!(times, 1, "{number}: {kind} in {timeline:?}");
    }
}

/// Every case in the database agrees with its history.
async fn every_case_agrees_with_its_history(s: &TestServer) {
    for n in case_numbers(s).await {
        assert_case_agrees_with_its_history(s, &n).await;
    }
}

#[tokio::test]
async fn commands_whose_clients_give_up_mid_flight_leave_every_case_agreeing_with_its_history() {
    on_each_backend(|url| async move {
        let (s, clients) = hall_with(&url, &["X001"]).await;
        let dropped = yichuang_store::db::turn_use().dropped;
        let worked = at_once(&clients, |at, mut m| async move {
            let st = &at.staff;
            // Keyed: a receipt given up and sent again is one case.
            let key = format!("abandoned-receipt-{:016x}", m.next());
            let v = at
                .send_keyed(
                    &mut m,
                    &st.clerk,
                    "/api/v1/cases",
                    &application("X001", &["A", "B"]),
                    Some(&key),
                )
                .await;
            let n = v["number"].as_str().unwrap().to_string();
            let c = |p: &str| format!("/api/v1/cases/{n}{p}");
            at.send(&mut m, &st.clerk, &c("/route"), &json!({})).await;
            at.approve(&mut m, &n).await;
            at.send(&mut m, &st.issuer, &c("/steps/issue/claim"), &json!({}))
                .await;
            let by_mail: Value = serde_json::from_str(BY_MAIL).unwrap();
            at.send(&mut m, &st.issuer, &c("/steps/issue/issue"), &by_mail)
                .await;
            n
        })
        .await;
        if s.backend() == "sqlite" {
            // The premise: requests given up were dropped by the server mid-transaction, not
            // only before they began (the counter is the process's: other tests add to it).
            assert!(yichuang_store::db::turn_use().dropped > dropped);
        }
        let once = ["routed", "route_confirmed", "decided", "issued"];
        for n in &worked {
            issued_with_each_once(&s, &clients.staff.clerk, n, &once).await;
        }
        assert_eq!(
            case_numbers(&s).await.len(),
            worked.len(),
            "one case per receipt"
        );
        every_case_agrees_with_its_history(&s).await;
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn bundle_commands_whose_clients_give_up_mid_flight_start_each_member_once_and_leave_every_case_agreeing()
 {
    on_each_backend(|url| async move {
        let (s, clients) = hall_with(&url, &["K1", "K2", "K3"]).await;
        // K2 starts when K1 is approved, in K1's decision's transaction.
        let bundle = json!({
            "code": "KB", "name": "开办餐饮店",
            "items": [{"item": "K1"}, {"item": "K2", "after": ["K1"]}, {"item": "K3"}],
            "shared_materials": [{"code": "S1", "name": "申请书（一份）",
                "covers": [{"item": "K1", "material": "A"}, {"item": "K2", "material": "A"}, {"item": "K3", "material": "A"}]}]
        });
        let admin = s.admin_token().await;
        let (st, v) = s
            .post_json("/api/v1/bundles", Some(&admin), &bundle)
            .await;
        assert_eq!(st, 201, "{v}");
        let worked = at_once(&clients, |at, mut m| async move {
            let clerk = &at.staff.clerk;
            let key = format!("abandoned-bundle-{:016x}", m.next());
            let v = at
                .send_keyed(
                    &mut m,
                    clerk,
                    "/api/v1/bundle-cases",
                    &json!({"bundle": "KB", "materials": ["S1", "K1:B", "K2:B", "K3:B"],
                            "applicant": {"kind": "person", "name": "张三", "id_number": PERSON_ID, "phone": PHONE}}),
                    Some(&key),
                )
                .await;
            let parent = v["number"].as_str().unwrap().to_string();
            let member = |v: &Value, i: usize| v["members"][i]["number"].as_str().unwrap().to_string();
            let (k1, k3) = (member(&v, 0), member(&v, 2));
            at.approve(&mut m, &k1).await;
            at.approve(&mut m, &k3).await;
            let r = at
                .http
                .get(format!("{}/api/v1/bundle-cases/{parent}", at.base))
                .bearer_auth(clerk)
                .send()
                .await
                .unwrap();
            let v: Value = r.json().await.unwrap();
            assert_eq!(v["members"][1]["stage"], "running", "K2 started once K1 was approved: {v}");
            let k2 = member(&v, 1);
            at.approve(&mut m, &k2).await;
            let by_mail: Value = serde_json::from_str(BY_MAIL).unwrap();
            let issue = format!("/api/v1/bundle-cases/{parent}/issue");
            at.send(&mut m, &at.staff.issuer, &issue, &by_mail).await;
            [k1, k2, k3]
        })
        .await;
        let once = ["route_confirmed", "decided", "issued"];
        for n in worked.iter().flatten() {
            issued_with_each_once(&s, &clients.staff.clerk, n, &once).await;
        }
        let parents = crate::support::texts(&s, "SELECT number AS value FROM bundle_cases").await;
        assert_eq!(parents.len(), worked.len(), "one bundle per receipt");
        assert_eq!(
            case_numbers(&s).await.len(),
            worked.len() * 3,
            "each member received once"
        );
        every_case_agrees_with_its_history(&s).await;
        s.stop().await;
    })
    .await;
}
