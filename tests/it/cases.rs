//! Cases over HTTP on both backends: acceptance and the one-time notice, the clock, the back
//! office with department scope, deadlines fired by the worker, notifications, public query.

use std::time::Duration;

use serde_json::{Value, json};
use yichuang_domain::catalogue::ServiceItem;

use crate::support::{TestServer, on_each_backend};

pub const PERSON_ID: &str = "11010519491231002X";
pub const PHONE: &str = "13812345678";

/// A committed item of 市场监管局 (`scj`): 申请书 and 营业执照 required, 5 working days.
pub fn item(code: &str, deemed_approval: bool) -> ServiceItem {
    serde_json::from_value(json!({
        "code": code, "name": "食品经营许可", "department": "scj", "kind": "committed",
        "statutory_limit_days": 20, "committed_limit_days": 5,
        "deemed_approval": deemed_approval,
        "materials": [{"code": "A", "name": "申请书"}, {"code": "B", "name": "营业执照"}]
    }))
    .unwrap()
}

/// Creates the item (and its department, once) through the catalogue API.
pub async fn publish(s: &TestServer, item: &ServiceItem) {
    let admin = s.admin_token().await;
    let (st, v) = s
        .post_json(
            "/api/v1/departments",
            Some(&admin),
            &json!({"code": item.department, "name": "市场监督管理局"}),
        )
        .await;
    assert!(st == 201 || st == 409, "{v}");
    let (st, v) = s
        .post_json(
            "/api/v1/items",
            Some(&admin),
            &serde_json::to_value(item).unwrap(),
        )
        .await;
    assert_eq!(st, 201, "{v}");
}

/// Creates an account and returns its token.
pub async fn account(s: &TestServer, admin: &str, username: &str, scope: Value) -> String {
    let mut body =
        json!({"username": username, "display_name": username, "password": "staff2026pw"});
    for (k, v) in scope.as_object().unwrap() {
        body[k] = v.clone();
    }
    crate::support::ensure_account_scope(s, admin, &body).await;
    let (st, v) = s.post_json("/api/v1/accounts", Some(admin), &body).await;
    assert_eq!(st, 201, "{v}");
    s.token(username, "staff2026pw").await
}

pub struct Staff {
    pub clerk: String,
    pub approver: String,
    pub issuer: String,
    pub other_department: String,
}

pub async fn staff(s: &TestServer) -> Staff {
    let admin = s.admin_token().await;
    account(s, &admin, "clerk1", json!({"role": "clerk", "hall": "H1"})).await;
    account(
        s,
        &admin,
        "scj1",
        json!({"role": "approver", "department": "scj"}),
    )
    .await;
    account(s, &admin, "out1", json!({"role": "issuance", "hall": "H1"})).await;
    account(
        s,
        &admin,
        "gaj1",
        json!({"role": "approver", "department": "gaj"}),
    )
    .await;
    login(s).await
}

/// Signs the staff in again: sessions end after hours without use, and tests move the clock.
pub async fn login(s: &TestServer) -> Staff {
    let t = |u: &'static str| s.token(u, "staff2026pw");
    Staff {
        clerk: t("clerk1").await,
        approver: t("scj1").await,
        issuer: t("out1").await,
        other_department: t("gaj1").await,
    }
}

pub fn application(item: &str, materials: &[&str]) -> Value {
    json!({"item": item,
           "applicant": {"kind": "person", "name": "张三", "id_number": PERSON_ID, "phone": PHONE},
           "materials": materials})
}

pub async fn case(s: &TestServer, token: &str, number: &str) -> Value {
    let (st, v) = s
        .get_json(&format!("/api/v1/cases/{number}"), Some(token))
        .await;
    assert_eq!(st, 200, "{v}");
    v
}

/// Waits (at most ~10 s) until the worker has brought the case to `status`.
pub async fn wait_for_status(s: &TestServer, token: &str, number: &str, status: &str) -> Value {
    for _ in 0..100 {
        let v = case(s, token, number).await;
        if v["status"] == status {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "{number} never reached {status}: {}",
        case(s, token, number).await
    );
}

/// Publishes `item` (with every material brought), accepts a case for it at the window,
/// routes it to the department and returns the staff and the case number.
pub async fn routed_case(s: &TestServer, item_: &ServiceItem) -> (Staff, String) {
    publish(s, item_).await;
    let staff = staff(s).await;
    let (st, v) = s
        .post_json(
            "/api/v1/cases",
            Some(&staff.clerk),
            &application(&item_.code, &["A", "B"]),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let n = v["number"].as_str().unwrap().to_string();
    post(
        s,
        &staff.clerk,
        &format!("/api/v1/cases/{n}/route"),
        json!({}),
    )
    .await;
    (staff, n)
}

/// Publishes a 5-day item `code`, signs the staff in and receives a case at the window with
/// `materials`: the staff, the case number and the answer.
pub async fn new_case(s: &TestServer, code: &str, materials: &[&str]) -> (Staff, String, Value) {
    publish(s, &item(code, false)).await;
    let staff = staff(s).await;
    let (st, v) = s
        .post_json(
            "/api/v1/cases",
            Some(&staff.clerk),
            &application(code, materials),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let n = v["number"].as_str().unwrap().to_string();
    (staff, n, v)
}

/// The text of the last SMS of `kind` to `phone` sent since `since` (from the outbox, as the
/// phone would show it: there is no SMS gateway in the tests).
pub async fn last_sms(
    s: &TestServer,
    kind: &str,
    phone: &str,
    since: chrono::DateTime<chrono::Utc>,
) -> String {
    yichuang_store::cases::outbox::latest_to(&s.running.state.db, kind, phone, since)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no {kind} message to {phone} in the outbox"))
}

/// The one-time login code last sent to `phone`.
async fn login_code(s: &TestServer, phone: &str) -> String {
    let since = s.running.state.now() - chrono::Duration::minutes(1);
    let text = last_sms(s, "login_code", phone, since).await;
    text.chars().filter(char::is_ascii_digit).take(6).collect()
}

/// Signs an applicant in with the one-time code the outbox holds for `phone`.
pub async fn applicant_token(s: &TestServer, phone: &str) -> String {
    let (st, v) = s
        .post_json("/api/v1/applicant/code", None, &json!({"phone": phone}))
        .await;
    assert_eq!(st, 202, "{v}");
    let code = login_code(s, phone).await;
    let (st, v) = s
        .post_json(
            "/api/v1/applicant/login",
            None,
            &json!({"phone": phone, "code": code}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    v["token"].as_str().unwrap().to_string()
}

/// The department confirms a routed case, reviews it and approves it with `document`.
pub async fn approve(s: &TestServer, approver: &str, number: &str, document: &str) -> Value {
    let c = |p: &str| format!("/api/v1/cases/{number}{p}");
    post(s, approver, &c("/confirm"), json!({})).await;
    post(s, approver, &c("/steps/review/claim"), json!({})).await;
    post(
        s,
        approver,
        &c("/steps/review/approve"),
        json!({"opinion": "同意"}),
    )
    .await;
    post(s, approver, &c("/steps/decide/claim"), json!({})).await;
    post(
        s,
        approver,
        &c("/steps/decide/decide"),
        json!({"outcome": "approved", "document_number": document}),
    )
    .await
}

pub async fn post(s: &TestServer, token: &str, path: &str, body: Value) -> Value {
    let (st, v) = s.post_json(path, Some(token), &body).await;
    assert_eq!(st, 200, "{path}: {v}");
    v
}

/// The number of every case in the database, oldest first.
pub async fn case_numbers(s: &TestServer) -> Vec<String> {
    crate::support::texts(s, "SELECT number AS value FROM cases ORDER BY id").await
}

/// Every part a command writes of a case (the row's kept state and summary, the open steps'
/// rows, the pending timers) and what this process keeps of it are exactly what its history
/// folded afresh gives: nothing is lost or added by not replaying (issue 9).
pub async fn assert_case_agrees_with_its_history(s: &TestServer, number: &str) {
    let found = yichuang_server::cases::audit::disagreements(&s.running.state, number)
        .await
        .unwrap();
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[tokio::test]
async fn a_command_begun_from_a_kept_state_the_row_has_left_runs_again_from_the_row_and_writes_nothing_twice()
 {
    use yichuang_store::cases::records;
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-02T09:00:00+08:00").await;
        let (staff, n) = routed_case(&s, &item("X001", false)).await;
        let c = |p: &str| format!("/api/v1/cases/{n}{p}");
        let db = &s.running.state.db;
        let state_now = || async {
            let mut tx = db.begin().await.unwrap();
            records::load_for_update(&mut tx, &n).await.unwrap()
        };
        // As another process would see it: the state before the department confirmed.
        let routed = state_now().await;
        post(&s, &staff.approver, &c("/confirm"), json!({})).await;
        let confirmed = state_now().await;

        // Claiming the review is refused by the routed state (no review step is open yet) and
        // allowed by the row: the refusal of the past is not the answer.
        records::forget_state(db, &n);
        records::keep_state(db, routed.clone());
        let v = post(&s, &staff.approver, &c("/steps/review/claim"), json!({})).await;
        assert_eq!(v["status"], "in_progress", "{v}");
        let claimed = state_now().await;
        assert_eq!(claimed.row.events, confirmed.row.events + 1, "one claim");

        // Confirming is allowed by the routed state, but the row has moved on: its guarded
        // write fails, and the command run again from the row is refused for what it is now.
        records::forget_state(db, &n);
        records::keep_state(db, routed.clone());
        let (st, v) = s
            .post_json(&c("/confirm"), Some(&staff.approver), &json!({}))
            .await;
        assert_eq!(st, 409, "{v}");
        // The domain's own refusal: not the guard's, nor the stream's numbers clashing.
        assert!(
            !["stale_row", "duplicate"].contains(&v["code"].as_str().unwrap()),
            "{v}"
        );
        let after = state_now().await;
        assert_eq!(after.row.events, claimed.row.events, "nothing written");
        assert_case_agrees_with_its_history(&s, &n).await;
        s.stop().await;
    })
    .await;
}

pub fn kinds(v: &Value) -> Vec<String> {
    v["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_missing_material_gets_the_one_time_notice_and_the_supplement_accepts_r_accept_5d() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-02T09:00:00+08:00").await; // a Monday
        publish(&s, &item("X001", false)).await;
        let staff = staff(&s).await;
        let (st, v) = s
            .post_json(
                "/api/v1/cases",
                Some(&staff.clerk),
                &application("X001", &["A"]),
            )
            .await;
        assert_eq!(st, 201, "{v}");
        assert_eq!(v["status"], "awaiting_supplement");
        assert_eq!(v["one_time_notice"]["missing"], json!(["B"]));
        assert_eq!(v["due_date"], Value::Null);
        let number = v["number"].as_str().unwrap().to_string();
        assert!(number.starts_with("YC260302"), "{number}");
        assert_eq!(v["applicant"]["id_number"], "1101**********002X");

        let v = post(
            &s,
            &staff.clerk,
            &format!("/api/v1/cases/{number}/supplement"),
            json!({"materials": ["B"]}),
        )
        .await;
        assert_eq!(v["status"], "accepted");
        // R-FIRST-DAY: 5 working days counted from Tuesday 3 March end on Monday 9 March.
        assert_eq!(v["due_date"], "2026-03-09");
        assert_eq!(v["working_days_left"], 5);
        assert_eq!(v["warning"], "green");
        assert!(v["accepted_at"].as_str().unwrap().ends_with("+08:00"));

        s.set_clock("2026-03-09T10:00:00+08:00").await;
        let staff = login(&s).await;
        let v = case(&s, &staff.clerk, &number).await;
        assert_eq!(
            (v["working_days_left"].as_i64(), v["warning"].as_str()),
            (Some(0), Some("yellow"))
        );
        s.set_clock("2026-03-10T10:00:00+08:00").await;
        let staff = login(&s).await;
        let v = case(&s, &staff.clerk, &number).await;
        assert_eq!(
            (v["working_days_left"].as_i64(), v["warning"].as_str()),
            (Some(-1), Some("red"))
        );

        let messages = s
            .get_json(
                &format!("/api/v1/cases/{number}/notifications"),
                Some(&staff.clerk),
            )
            .await
            .1;
        let kinds: Vec<&str> = messages["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["one_time_notice", "accepted"]);
        assert!(
            messages["items"][0]["body"]
                .as_str()
                .unwrap()
                .contains("营业执照")
        );
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_wrong_id_number_or_a_malformed_request_creates_nothing() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        publish(&s, &item("X001", false)).await;
        let staff = staff(&s).await;
        let mut bad = application("X001", &["A", "B"]);
        bad["applicant"]["id_number"] = json!("110105194912310021");
        bad["applicant"]["phone"] = json!("123");
        let (st, v) = s.post_json("/api/v1/cases", Some(&staff.clerk), &bad).await;
        assert_eq!(st, 422, "{v}");
        let fields: Vec<&str> = v["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert!(fields.contains(&"applicant.id_number"), "{v}");
        assert!(fields.contains(&"applicant.phone"), "{v}");

        let (st, v) = s
            .post_json(
                "/api/v1/cases",
                Some(&staff.clerk),
                &json!({"item": "X001"}),
            )
            .await;
        assert_eq!(st, 400, "{v}");
        let (st, v) = s
            .post_json(
                "/api/v1/cases",
                Some(&staff.clerk),
                &application("NOPE", &[]),
            )
            .await;
        assert_eq!(st, 422, "{v}");
        assert_eq!(v["errors"][0]["field"], "item");

        let db = &s.running.state.db;
        assert_eq!(yichuang_store::cases::records::count(db).await.unwrap(), 0);
        // The first good case still gets sequence 0001: the refused ones used no number.
        let (st, v) = s
            .post_json(
                "/api/v1/cases",
                Some(&staff.clerk),
                &application("X001", &["A", "B"]),
            )
            .await;
        assert_eq!(st, 201, "{v}");
        assert!(v["number"].as_str().unwrap().ends_with("0001"), "{v}");
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn departments_work_the_case_through_to_issuance_by_mail_and_the_applicant_is_told() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-02T09:00:00+08:00").await;
        publish(&s, &item("X001", false)).await;
        let staff = staff(&s).await;
        let (_, v) = s
            .post_json(
                "/api/v1/cases",
                Some(&staff.clerk),
                &application("X001", &["A", "B"]),
            )
            .await;
        assert_eq!(v["status"], "accepted");
        let n = v["number"].as_str().unwrap().to_string();
        let c = |p: &str| format!("/api/v1/cases/{n}{p}");
        post(&s, &staff.clerk, &c("/route"), json!({})).await;

        let todo = s
            .get_json("/api/v1/departments/scj/worklist", Some(&staff.approver))
            .await
            .1;
        assert_eq!(todo["items"][0]["node"], "confirm", "{todo}");
        let v = post(&s, &staff.approver, &c("/confirm"), json!({})).await;
        assert_eq!(v["status"], "in_progress");
        post(&s, &staff.approver, &c("/steps/review/claim"), json!({})).await;
        post(
            &s,
            &staff.approver,
            &c("/steps/review/approve"),
            json!({"opinion": "材料齐全，符合条件"}),
        )
        .await;
        post(&s, &staff.approver, &c("/steps/decide/claim"), json!({})).await;
        let (st, v) = s
            .post_json(
                &c("/steps/decide/decide"),
                Some(&staff.approver),
                &json!({"document_number": "食许〔2026〕1号"}),
            )
            .await;
        assert_eq!(st, 422, "a decision without an outcome is refused: {v}");
        let v = post(
            &s,
            &staff.approver,
            &c("/steps/decide/decide"),
            json!({"outcome": "approved", "document_number": "食许〔2026〕1号"}),
        )
        .await;
        assert_eq!(v["status"], "concluded");
        assert_eq!(v["issue_due"], "2026-03-16");
        let done = s
            .get_json(
                "/api/v1/departments/scj/worklist?view=done",
                Some(&staff.approver),
            )
            .await
            .1;
        assert_eq!(done["items"][0]["number"], n.as_str(), "{done}");

        let (st, cert) = s.get_json(&c("/certificate"), Some(&staff.clerk)).await;
        assert_eq!(st, 200, "{cert}");
        assert_eq!(cert["number"], format!("Z{n}"));

        assert_eq!(v["issue_overdue"], false);
        // R-ISSUE-10D: past the 10 working days the case shows the issuance as late.
        s.set_clock("2026-03-17T09:00:00+08:00").await;
        let staff = login(&s).await;
        assert_eq!(case(&s, &staff.clerk, &n).await["issue_overdue"], true);
        post(&s, &staff.issuer, &c("/steps/issue/claim"), json!({})).await;
        let v = post(
            &s,
            &staff.issuer,
            &c("/steps/issue/issue"),
            json!({"method": "mail", "address": "云岭市青云大道1号", "carrier": "中国邮政EMS", "tracking_number": "1234567890"}),
        )
        .await;
        assert_eq!(v["status"], "issued");
        assert_eq!(v["issuance"]["delivery"]["method"], "mail");
        assert_eq!(v["issuance"]["delivery"]["address"], "云岭市青云大道1号");
        let k = kinds(&v);
        for expected in [
            "received",
            "accepted",
            "routed",
            "route_confirmed",
            "step_approved",
            "decided",
            "issued",
        ] {
            assert!(k.iter().any(|x| x == expected), "{expected} in {k:?}");
        }

        // The worker sends every message once.
        let mut sent = false;
        for _ in 0..100 {
            let m = s.get_json(&c("/notifications"), Some(&staff.clerk)).await.1;
            let items = m["items"].as_array().unwrap().clone();
            let kinds: Vec<&str> = items.iter().map(|x| x["kind"].as_str().unwrap()).collect();
            assert_eq!(kinds, ["accepted", "decided", "shipped"]);
            if items
                .iter()
                .all(|x| x["sent"] == true && x["attempts"] == 1)
            {
                sent = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(sent, "every notification is sent once");

        // The public query needs the last 4 digits of the ID or phone and shows no numbers.
        let (st, v) = s
            .get_json(&format!("/api/v1/query/cases?number={n}&last4=002x"), None)
            .await;
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["status"], "issued");
        assert!(!v.to_string().contains("1101"), "{v}");
        let (st, _) = s
            .get_json(&format!("/api/v1/query/cases?number={n}&last4=5678"), None)
            .await;
        assert_eq!(st, 200);
        let (st, v) = s
            .get_json(&format!("/api/v1/query/cases?number={n}&last4=1111"), None)
            .await;
        assert_eq!(st, 404, "{v}");
        assert_case_agrees_with_its_history(&s, &n).await;
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn department_staff_see_only_their_departments_cases() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let (staff, n) = routed_case(&s, &item("X001", false)).await;
        let (st, v) = s
            .get_json(&format!("/api/v1/cases/{n}"), Some(&staff.other_department))
            .await;
        assert_eq!(st, 403, "{v}");
        let (st, _) = s
            .get_json(
                "/api/v1/departments/scj/worklist",
                Some(&staff.other_department),
            )
            .await;
        assert_eq!(st, 403);
        let (st, v) = s
            .post_json(
                &format!("/api/v1/cases/{n}/confirm"),
                Some(&staff.other_department),
                &json!({}),
            )
            .await;
        assert_eq!(st, 403, "{v}");
        let v = case(&s, &staff.approver, &n).await;
        assert_eq!(
            v["status"], "routed",
            "the refused confirmation changed nothing"
        );
        // A clerk of another hall neither sees nor works the case.
        let admin = s.admin_token().await;
        let h2 = account(&s, &admin, "clerk2", json!({"role": "clerk", "hall": "H2"})).await;
        let (st, _) = s.get_json(&format!("/api/v1/cases/{n}"), Some(&h2)).await;
        assert_eq!(st, 403);
        let (st, _) = s
            .post_json(
                &format!("/api/v1/cases/{n}/refuse"),
                Some(&h2),
                &json!({"reasons": ["x"]}),
            )
            .await;
        assert_eq!(st, 403);
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_worker_confirms_a_routed_case_after_ten_office_minutes_r_route_10min() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-02T11:55:00+08:00").await;
        let (staff, n) = routed_case(&s, &item("X001", false)).await;
        // Ten office minutes from 11:55 end at 13:35, after the lunch break.
        s.set_clock("2026-03-02T13:30:00+08:00").await;
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(case(&s, &staff.approver, &n).await["status"], "routed");
        s.set_clock("2026-03-02T13:36:00+08:00").await;
        let v = wait_for_status(&s, &staff.approver, &n, "in_progress").await;
        let confirmed = v["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["kind"] == "route_confirmed")
            .cloned()
            .unwrap();
        assert_eq!(confirmed["deemed"], true);
        assert_eq!(confirmed["by"], "system");
        // Routed a moment after 11:55 (the staff were signed in first).
        let at = confirmed["at"].as_str().unwrap();
        assert!(at.starts_with("2026-03-02T13:35:"), "{at}");
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_worker_deems_an_undecided_review_approved_and_the_department_owes_its_opinion_r_deemed()
 {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-02T09:00:00+08:00").await;
        let (staff, n) = routed_case(&s, &item("X002", true)).await;
        post(
            &s,
            &staff.approver,
            &format!("/api/v1/cases/{n}/confirm"),
            json!({}),
        )
        .await;
        // Review has 4 working days from Monday: Tue–Fri; deemed approved from Saturday 0:00.
        s.set_clock("2026-03-07T08:00:00+08:00").await;
        let staff = login(&s).await;
        let mut v = Value::Null;
        for _ in 0..100 {
            v = case(&s, &staff.approver, &n).await;
            if !v["deemed_steps"].as_array().unwrap().is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(v["deemed_steps"][0]["node"], "review", "{v}");
        assert_eq!(v["deemed_steps"][0]["due"], "2026-03-06");
        assert_eq!(v["open_steps"][0]["node"], "decide");
        assert_eq!(v["owed_opinions"][0]["opinion_due"], "2026-03-09");
        let todo = s
            .get_json("/api/v1/departments/scj/worklist", Some(&staff.approver))
            .await
            .1;
        let nodes: Vec<&str> = todo["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["node"].as_str().unwrap())
            .collect();
        assert!(
            nodes.contains(&"opinion:review") && nodes.contains(&"decide"),
            "{todo}"
        );
        let deemed_events = kinds(&v)
            .iter()
            .filter(|k| *k == "step_deemed_approved")
            .count();
        assert_eq!(deemed_events, 1, "fired once");
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_bundle_asks_for_materials_once_runs_members_in_parallel_and_in_series_and_names_who_holds_it_up()
 {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-02T09:00:00+08:00").await;
        for code in ["K1", "K2", "K3"] {
            publish(&s, &item(code, false)).await;
        }
        let bundle: yichuang_domain::catalogue::Bundle = serde_json::from_value(json!({
            "code": "KB", "name": "开办餐饮店",
            "items": [{"item": "K1"}, {"item": "K2", "after": ["K1"]}, {"item": "K3"}],
            "shared_materials": [{"code": "S1", "name": "申请书（一份）",
                "covers": [{"item": "K1", "material": "A"}, {"item": "K2", "material": "A"}, {"item": "K3", "material": "A"}]}]
        }))
        .unwrap();
        let admin = s.admin_token().await;
        let (code, v) = s
            .post_json("/api/v1/bundles", Some(&admin), &serde_json::to_value(&bundle).unwrap())
            .await;
        assert_eq!(code, 201, "{v}");
        let staff = staff(&s).await;
        let (code, v) = s
            .post_json(
                "/api/v1/bundle-cases",
                Some(&staff.clerk),
                &json!({"bundle": "KB", "materials": ["S1", "K1:B", "K2:B"],
                        "applicant": {"kind": "person", "name": "张三", "id_number": PERSON_ID, "phone": PHONE}}),
            )
            .await;
        assert_eq!(code, 201, "{v}");
        let parent = v["number"].as_str().unwrap().to_string();
        let stages: Vec<&str> = v["members"].as_array().unwrap().iter().map(|m| m["stage"].as_str().unwrap()).collect();
        assert_eq!(stages, ["running", "waiting", "running"], "{v}");
        assert_eq!(v["one_time_notice"]["missing"], json!({"K3": ["B"]}));
        assert_eq!(v["holding_up"][0]["item"], "K1", "K1 blocks K2, so it comes first: {v}");
        let k1 = v["members"][0]["number"].as_str().unwrap().to_string();
        let elsewhere = account(&s, &admin, "clerk_h2", json!({"role": "clerk", "hall": "H2"})).await;
        let (code, _) = s.get_json(&format!("/api/v1/bundle-cases/{parent}"), Some(&elsewhere)).await;
        assert_eq!(code, 403, "another hall's clerk does not see the bundle");

        let (code, v) = s
            .post_json(&format!("/api/v1/bundle-cases/{parent}/supplement"), Some(&staff.clerk), &json!({"materials": ["K3:B"]}))
            .await;
        assert_eq!(code, 200, "{v}");
        assert_eq!(v["members"][2]["status"], "routed", "accepted and pushed to the department: {v}");
        assert_eq!(v["one_time_notice"], Value::Null);

        assert_eq!(case(&s, &staff.clerk, &k1).await["status"], "routed", "complete at the window, pushed at once");
        approve(&s, &staff.approver, &k1, "K1-1").await;

        let (_, v) = s.get_json(&format!("/api/v1/bundle-cases/{parent}"), Some(&staff.clerk)).await;
        assert_eq!(v["members"][0]["stage"], "done", "{v}");
        assert_eq!(v["members"][1]["stage"], "running", "K2 started once K1 was approved: {v}");
        assert_eq!(v["members"][1]["status"], "routed", "K2 needed nothing more and went to its department: {v}");

        // 统一出件 through the API: what is decided leaves (K1 at the window), then one parcel.
        let issue_path = format!("/api/v1/bundle-cases/{parent}/issue");
        let (code, v) = s.post_json(&issue_path, Some(&staff.issuer), &json!({"method": "mail", "address": "云岭市青云大道1号"})).await;
        assert_eq!((code, crate::support::error_fields(&v)), (422, vec!["delivery.carrier", "delivery.tracking_number"]), "{v}");
        let (code, v) = s.post_json(&issue_path, Some(&staff.issuer), &json!({"method": "pickup"})).await;
        assert_eq!(code, 200, "K1 is decided, so its result can leave already: {v}");
        assert_eq!(v["issued"], 1);
        for m in [1, 2] {
            approve(&s, &staff.approver, v["members"][m]["number"].as_str().unwrap(), "K-2").await;
        }
        let (code, v) = s.post_json(&issue_path, Some(&staff.issuer), &json!({"method": "drone"})).await;
        assert_eq!((code, crate::support::error_fields(&v)), (422, vec!["method"]), "{v}");
        let (code, v) = s.post_json(&issue_path, Some(&staff.issuer), &json!({"method": "mail", "address": "云岭市青云大道1号", "carrier": "中国邮政EMS", "tracking_number": "EMS1"})).await;
        assert_eq!(code, 200, "{v}");
        assert_eq!(v["issued"], 2);
        for m in 0..3 {
            assert_eq!(v["members"][m]["status"], "issued", "{v}");
        }
        let (code, v) = s.post_json(&issue_path, Some(&staff.issuer), &json!({"method": "pickup"})).await;
        assert_eq!((code, v["code"].as_str()), (409, Some("nothing_to_issue")));
        s.stop().await;
    })
    .await;
}

/// Accepts a complete case for X001 (5 committed working days) at `now` and returns its number.
pub async fn accepted_at(s: &TestServer, staff_clerk: &str, now: &str) -> (String, Value) {
    s.set_clock(now).await;
    let (st, v) = s
        .post_json(
            "/api/v1/cases",
            Some(staff_clerk),
            &application("X001", &["A", "B"]),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    (v["number"].as_str().unwrap().to_string(), v)
}

#[tokio::test]
async fn due_dates_through_the_api_skip_the_2026_holidays_and_count_make_up_working_days_r_first_day()
 {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        publish(&s, &item("X001", false)).await;
        let staff = staff(&s).await;
        // 春节 2026: 2/15–23 off, Saturday 2/14 a make-up working day.
        let (_, v) = accepted_at(&s, &staff.clerk, "2026-02-12T10:00:00+08:00").await;
        assert_eq!(v["due_date"], "2026-02-26", "{v}");
        assert_eq!(v["due_date_unofficial"], false);
        // 国庆 2026: 10/1–7 off, Saturday 10/10 a make-up working day (API-V1's example).
        let (_, v) = accepted_at(&s, &staff.clerk, "2026-09-29T10:00:00+08:00").await;
        assert_eq!(v["due_date"], "2026-10-12", "{v}");
        // 元旦 2025/2026 across the year end: 1/1–3 off, Sunday 1/4 a make-up working day.
        let (_, v) = accepted_at(&s, &staff.clerk, "2025-12-30T10:00:00+08:00").await;
        assert_eq!(v["due_date"], "2026-01-07", "{v}");
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_supplement_during_handling_suspends_the_clock_and_one_extension_adds_ten_working_days() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        publish(&s, &item("X001", false)).await;
        let staff = staff(&s).await;
        let (n, _) = accepted_at(&s, &staff.clerk, "2026-09-29T09:00:00+08:00").await;
        let c = |p: &str| format!("/api/v1/cases/{n}{p}");
        post(&s, &staff.clerk, &c("/route"), json!({})).await;
        post(&s, &staff.approver, &c("/confirm"), json!({})).await;
        post(&s, &staff.approver, &c("/steps/review/claim"), json!({})).await;
        s.set_clock("2026-09-30T10:00:00+08:00").await;
        let staff = login(&s).await;
        let v = post(
            &s,
            &staff.approver,
            &c("/steps/review/supplement"),
            json!({"items": ["B"], "note": "营业执照已过期"}),
        )
        .await;
        assert_eq!(v["clock"]["suspended"], true, "{v}");
        s.set_clock("2026-10-09T10:00:00+08:00").await;
        let staff = login(&s).await;
        let v = post(
            &s,
            &staff.clerk,
            &c("/supplement"),
            json!({"materials": ["B"]}),
        )
        .await;
        // One working day (9/30) used before the suspension; 4 more after 10/9: 10/10 (a
        // make-up Saturday), 10/12, 10/13, 10/14.
        assert_eq!(v["due_date"], "2026-10-14", "{v}");
        assert_eq!(v["clock"]["suspended"], false);
        let (st, e) = s
            .post_json(
                &c("/extend"),
                Some(&staff.approver),
                &json!({"reason": "", "approved_by": ""}),
            )
            .await;
        assert_eq!(st, 422, "an extension states its reason: {e}");
        let v = post(
            &s,
            &staff.approver,
            &c("/extend"),
            json!({"reason": "需现场核查", "approved_by": "局长 李四"}),
        )
        .await;
        assert_eq!(v["due_date"], "2026-10-28", "{v}");
        let (st, e) = s
            .post_json(
                &c("/extend"),
                Some(&staff.approver),
                &json!({"reason": "再延", "approved_by": "局长 李四"}),
            )
            .await;
        assert_eq!(st, 409, "R-DECIDE-20D allows one extension: {e}");
        let kinds: Vec<String> =
            s.get_json(&c("/notifications"), Some(&staff.clerk)).await.1["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["kind"].as_str().unwrap().to_string())
                .collect();
        assert_eq!(kinds, ["accepted", "supplement_requested", "extended"]);
        assert_case_agrees_with_its_history(&s, &n).await;
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_refusal_states_its_reasons_and_ends_the_case_r_accept_receipt() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let (staff, n, _) = new_case(&s, "X001", &["A"]).await;
        let (st, e) = s
            .post_json(
                &format!("/api/v1/cases/{n}/refuse"),
                Some(&staff.clerk),
                &json!({"reasons": [" "]}),
            )
            .await;
        assert_eq!(st, 422, "{e}");
        assert_eq!(e["errors"][0]["field"], "reasons");
        let v = post(
            &s,
            &staff.clerk,
            &format!("/api/v1/cases/{n}/refuse"),
            json!({"reasons": ["申请事项不属于本机关职权范围"]}),
        )
        .await;
        assert_eq!(v["status"], "refused");
        assert_eq!(
            v["refusal_reasons"],
            json!(["申请事项不属于本机关职权范围"])
        );
        let (st, _) = s
            .post_json(
                &format!("/api/v1/cases/{n}/supplement"),
                Some(&staff.clerk),
                &json!({"materials": ["B"]}),
            )
            .await;
        assert_eq!(st, 409);
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_webhook_sender_retries_a_failed_message_with_backoff_and_sends_it_once() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    // A stand-in SMS gateway (plain HTTP/1.1 over TCP) that fails its first call.
    let calls = Arc::new(AtomicUsize::new(0));
    let received = Arc::new(std::sync::Mutex::new(Vec::<Value>::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (c2, r2) = (calls.clone(), received.clone());
    tokio::spawn(async move {
        loop {
            let (mut sock, _) = listener.accept().await.unwrap();
            let body = read_http_body(&mut sock).await;
            let status = if c2.fetch_add(1, Ordering::SeqCst) == 0 {
                "503 Service Unavailable"
            } else {
                r2.lock()
                    .unwrap()
                    .push(serde_json::from_slice(&body).unwrap());
                "200 OK"
            };
            let reply =
                format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            tokio::io::AsyncWriteExt::write_all(&mut sock, reply.as_bytes())
                .await
                .unwrap();
        }
    });

    let s = TestServer::start(&yichuang_store::testing::sqlite_url()).await;
    s.set_clock("2026-03-02T09:00:00+08:00").await;
    let st = &s.running.state;
    let mut tx = st.db.begin().await.unwrap();
    yichuang_store::settings::put(
        &mut tx,
        "notify.webhook_url",
        &json!(format!("http://{addr}/sms")),
        st.now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    publish(&s, &item("X001", false)).await;
    let staff = staff(&s).await;
    let (_, v) = s
        .post_json(
            "/api/v1/cases",
            Some(&staff.clerk),
            &application("X001", &["A"]),
        )
        .await;
    let n = v["number"].as_str().unwrap().to_string();
    let path = format!("/api/v1/cases/{n}/notifications");
    for _ in 0..50 {
        if calls.load(Ordering::SeqCst) >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let m = s.get_json(&path, Some(&staff.clerk)).await.1;
    assert_eq!(
        m["items"][0]["sent"], false,
        "the failed call leaves it unsent: {m}"
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "and it waits for its backoff"
    );
    // The first retry comes 30 s later.
    s.set_clock("2026-03-02T09:01:00+08:00").await;
    for _ in 0..50 {
        if s.get_json(&path, Some(&staff.clerk)).await.1["items"][0]["sent"] == true {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let m = s.get_json(&path, Some(&staff.clerk)).await.1;
    assert_eq!(m["items"][0]["sent"], true, "{m}");
    assert_eq!(m["items"][0]["attempts"], 2);
    let got = received.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "sent once: {got:?}");
    assert_eq!(got[0]["phone"], PHONE);
    assert_eq!(got[0]["kind"], "one_time_notice");
    assert!(got[0]["text"].as_str().unwrap().contains("营业执照"));
    s.stop().await;
}

/// The body of one HTTP/1.1 request with a Content-Length.
async fn read_http_body(sock: &mut tokio::net::TcpStream) -> Vec<u8> {
    use tokio::io::AsyncReadExt;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = sock.read(&mut chunk).await.unwrap();
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse().unwrap());
            while buf.len() < end + 4 + len {
                let n = sock.read(&mut chunk).await.unwrap();
                buf.extend_from_slice(&chunk[..n]);
            }
            return buf[end + 4..end + 4 + len].to_vec();
        }
        if n == 0 {
            return Vec::new();
        }
    }
}

#[tokio::test]
async fn a_material_is_stored_once_and_offered_again_when_the_applicant_returns() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-02T09:00:00+08:00").await;
        let (staff, first, _) = new_case(&s, "X001", &["A"]).await;
        let put = |path: String, body: Vec<u8>| {
            s.client
                .put(s.at(&path))
                .bearer_auth(&staff.clerk)
                .body(body)
                .send()
        };
        let pdf = b"%PDF-1.4\n% business licence scan\n".to_vec();
        let r = put(
            format!("/api/v1/cases/{first}/materials/A?valid_until=2027-12-31"),
            pdf.clone(),
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 201);
        let stored: Value = r.json().await.unwrap();
        assert_eq!(stored["content_type"], "application/pdf");
        let r = put(
            format!("/api/v1/cases/{first}/materials/A?valid_until=2026-03-01"),
            pdf.clone(),
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 422, "expired yesterday (issue 15)");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["errors"][0]["field"], "valid_until", "{v}");
        let r = put(
            format!("/api/v1/cases/{first}/materials/A"),
            b"just text".to_vec(),
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 422, "only PDF, JPEG and PNG are accepted");
        let r = put(format!("/api/v1/cases/{first}/materials/Z"), pdf.clone())
            .await
            .unwrap();
        assert_eq!(r.status(), 422, "not a material of the item");

        // The same applicant applies again: the vault offers 申请书 for the checklist.
        let (_, v) = s
            .post_json(
                "/api/v1/cases",
                Some(&staff.clerk),
                &application("X001", &["A", "B"]),
            )
            .await;
        let second = v["number"].as_str().unwrap().to_string();
        let (st, offers) = s
            .get_json(&format!("/api/v1/cases/{second}/vault"), Some(&staff.clerk))
            .await;
        assert_eq!(st, 200, "{offers}");
        assert_eq!(offers["prefill"], json!(["A"]));
        assert_eq!(offers["materials"][0]["source_case"], first.as_str());
        let sha = offers["materials"][0]["sha256"].as_str().unwrap();
        assert_eq!(sha, stored["sha256"].as_str().unwrap());
        let r = s
            .client
            .get(s.at(&format!("/api/v1/cases/{second}/files/{sha}")))
            .bearer_auth(&staff.clerk)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        // Served as a download that can run nothing, whatever it holds (issue 15).
        let h = r.headers();
        assert!(
            h["content-disposition"]
                .to_str()
                .unwrap()
                .starts_with("attachment; filename=\"A-"),
            "{h:?}"
        );
        assert_eq!(h["content-type"], "application/pdf");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert!(
            h["content-security-policy"]
                .to_str()
                .unwrap()
                .starts_with("sandbox")
        );
        assert_eq!(r.bytes().await.unwrap().to_vec(), pdf);

        // The window's checklist for the returning applicant comes ticked from the vault.
        let page = s
            .client
            .get(s.at(&format!("/cases/new?item=X001&id_number={PERSON_ID}")))
            .bearer_auth(&staff.clerk)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains(r#"data-vault="A""#), "{page}");
        assert!(
            page.contains(r#"name="m_A" id="m-A" value="1" checked"#),
            "{page}"
        );
        assert!(!page.contains(r#"data-vault="B""#));
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_saved_process_is_validated_versioned_and_running_cases_keep_their_version() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        publish(&s, &item("X001", false)).await;
        let staff = staff(&s).await;
        let admin = s.admin_token().await;
        let (_, v) = s
            .post_json(
                "/api/v1/cases",
                Some(&staff.clerk),
                &application("X001", &["A", "B"]),
            )
            .await;
        let before = v["number"].as_str().unwrap().to_string();
        assert_eq!(v["process"], json!({"code": "default", "version": 1}));

        let (_, mut def) = s.get_json("/api/v1/processes/X001", Some(&admin)).await;
        // A review step nothing leads to is refused, naming the problem.
        def["nodes"]
            .as_array_mut()
            .unwrap()
            .push(json!({"id": "orphan", "type": "user_task",
            "role": "approver", "budget_days": 1}));
        let (st, e) = s
            .send_json(
                reqwest::Method::PUT,
                "/api/v1/processes/X001",
                Some(&admin),
                &def,
            )
            .await;
        assert_eq!(st, 422, "{e}");
        def["nodes"].as_array_mut().unwrap().pop();
        def["nodes"][1]["name"] = json!("初审");
        let (st, saved) = s
            .send_json(
                reqwest::Method::PUT,
                "/api/v1/processes/X001",
                Some(&admin),
                &def,
            )
            .await;
        assert_eq!(st, 200, "{saved}");
        assert_eq!(
            (saved["code"].as_str(), saved["version"].as_i64()),
            (Some("X001"), Some(1))
        );
        let (st, _) = s
            .send_json(
                reqwest::Method::PUT,
                "/api/v1/processes/X001",
                Some(&staff.clerk),
                &def,
            )
            .await;
        assert_eq!(st, 403);
        def["nodes"][1]["name"] = json!("审查");
        let (_, saved) = s
            .send_json(
                reqwest::Method::PUT,
                "/api/v1/processes/X001",
                Some(&admin),
                &def,
            )
            .await;
        assert_eq!(saved["version"], 2);

        let (_, v) = s
            .post_json(
                "/api/v1/cases",
                Some(&staff.clerk),
                &application("X001", &["A", "B"]),
            )
            .await;
        assert_eq!(v["process"], json!({"code": "X001", "version": 2}));
        let v = case(&s, &staff.clerk, &before).await;
        assert_eq!(
            v["process"],
            json!({"code": "default", "version": 1}),
            "the running case keeps its version"
        );
        post(
            &s,
            &staff.clerk,
            &format!("/api/v1/cases/{before}/route"),
            json!({}),
        )
        .await;
        let v = post(
            &s,
            &staff.approver,
            &format!("/api/v1/cases/{before}/confirm"),
            json!({}),
        )
        .await;
        assert_eq!(v["open_steps"][0]["name"], "审核");
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_worker_logs_the_light_turning_yellow_and_then_red_once_each() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-02T09:00:00+08:00").await;
        let (_, n, _) = new_case(&s, "X001", &["A", "B"]).await;
        let db = s.running.state.db.clone();
        let lights = || {
            let (db, n) = (db.clone(), n.clone());
            async move {
                yichuang_store::events::for_subject(&db, "case", &n)
                    .await
                    .unwrap()
                    .iter()
                    .filter(|e| e.kind == "case_warning_changed")
                    .map(|e| {
                        serde_json::from_str::<Value>(&e.payload).unwrap()["warning"]
                            .as_str()
                            .unwrap()
                            .to_string()
                    })
                    .collect::<Vec<_>>()
            }
        };
        // Due 9 March; 80 % of 5 working days are used from Friday 6 March.
        s.set_clock("2026-03-05T12:00:00+08:00").await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(lights().await.is_empty());
        for (at, expected) in [
            ("2026-03-06T08:00:00+08:00", vec!["yellow"]),
            ("2026-03-10T08:00:00+08:00", vec!["yellow", "red"]),
        ] {
            s.set_clock(at).await;
            let mut got = Vec::new();
            for _ in 0..50 {
                got = lights().await;
                if got.len() == expected.len() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            assert_eq!(got, expected, "at {at}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(lights().await, ["yellow", "red"], "each logged once");
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn an_applicant_signs_in_by_phone_applies_online_and_an_unreviewed_application_is_deemed_accepted_r_accept_5d()
 {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-02T09:00:00+08:00").await;
        publish(&s, &item("X001", false)).await;
        let staff = staff(&s).await;
        let (st, v) = s
            .post_json("/api/v1/applicant/code", None, &json!({"phone": PHONE}))
            .await;
        assert_eq!(st, 202, "{v}");
        let (st, _) = s
            .post_json("/api/v1/applicant/code", None, &json!({"phone": PHONE}))
            .await;
        assert_eq!(st, 429, "one code a minute");
        let code = login_code(&s, PHONE).await;
        let (st, e) = s
            .post_json("/api/v1/applicant/login", None, &json!({"phone": PHONE, "code": "000000x"}))
            .await;
        assert_eq!(st, 422, "{e}");
        let (st, v) = s
            .post_json("/api/v1/applicant/login", None, &json!({"phone": PHONE, "code": code}))
            .await;
        assert_eq!(st, 200, "{v}");
        let me = v["token"].as_str().unwrap().to_string();
        let (st, _) = s
            .post_json("/api/v1/applicant/login", None, &json!({"phone": PHONE, "code": code}))
            .await;
        assert_eq!(st, 422, "a code signs in once");

        let apply = json!({"item": "X001", "kind": "person", "name": "张三", "id_number": PERSON_ID, "materials": ["A"]});
        let (st, v) = s.post_json("/api/v1/applicant/applications", Some(&me), &apply).await;
        assert_eq!(st, 201, "{v}");
        assert_eq!(v["status"], "received");
        let reviewed = v["number"].as_str().unwrap().to_string();
        let (_, v) = s.post_json("/api/v1/applicant/applications", Some(&me), &apply).await;
        let unreviewed = v["number"].as_str().unwrap().to_string();
        let (_, mine) = s.get_json("/api/v1/applicant/cases", Some(&me)).await;
        assert_eq!(mine["items"].as_array().unwrap().len(), 2, "{mine}");

        // Pre-review: the notice must list everything missing, then the applicant supplements.
        let (st, e) = s
            .post_json(&format!("/api/v1/cases/{reviewed}/notice"), Some(&staff.clerk), &json!({"items": []}))
            .await;
        assert_eq!(st, 422, "{e}");
        let v = post(&s, &staff.clerk, &format!("/api/v1/cases/{reviewed}/notice"), json!({"items": ["B"]})).await;
        assert_eq!(v["status"], "awaiting_supplement");

        // No notice within 5 working days (to Monday 9 March): accepted from the day of receipt.
        s.set_clock("2026-03-10T08:00:00+08:00").await;
        let staff = login(&s).await;
        let v = wait_for_status(&s, &staff.clerk, &unreviewed, "accepted").await;
        assert_eq!(v["accepted_deemed"], true);
        assert_eq!(v["accepted_on"], "2026-03-02");
        assert_eq!(v["due_date"], "2026-03-09");
        let v = case(&s, &staff.clerk, &reviewed).await;
        assert_eq!(v["status"], "awaiting_supplement", "the notice in time stopped R-ACCEPT-5D");

        // The applicant's app (signed in again: a week has passed) uploads what the notice
        // asks for: a text file is refused and changes nothing; the PDF supplements the case,
        // which is accepted and routed.
        let me = applicant_token(&s, PHONE).await;
        let upload = |number: &str, body: &'static [u8]| {
            s.client
                .put(s.at(&format!("/api/v1/applicant/cases/{number}/materials/B")))
                .bearer_auth(&me)
                .body(body)
                .send()
        };
        let r = upload(&reviewed, b"not a scan").await.unwrap();
        assert_eq!(r.status(), 422);
        assert_eq!(case(&s, &staff.clerk, &reviewed).await["status"], "awaiting_supplement");
        let r = upload("YC000000000", b"%PDF-1.4\n%licence").await.unwrap();
        assert_eq!(r.status(), 404);
        let r = upload(&reviewed, b"%PDF-1.4\n%licence").await.unwrap();
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        assert_eq!((v["status"].as_str(), v["missing"].clone()), (Some("routed"), json!([])), "{v}");
        let (_, offers) = s
            .get_json(&format!("/api/v1/cases/{reviewed}/vault"), Some(&staff.clerk))
            .await;
        assert_eq!(offers["materials"][0]["material_code"], "B", "{offers}");
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_case_received_in_a_hall_counts_the_local_days_of_the_halls_region_r_calendar() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        publish(&s, &item("X001", false)).await;
        let admin = hall_with_a_provincial_holiday(&s, "650000", "650100").await;
        let staff = staff(&s).await;

        // Accepted Tuesday 3/17; nationally 3/18, 3/19, 3/20, 3/23, 3/24 are the 5 days.
        let national = s
            .get_json("/api/v1/calendar/add?from=2026-03-17&days=5", None)
            .await
            .1;
        assert_eq!(national["date"], "2026-03-24");
        // In the hall's region the province's 古尔邦节 (3/20) is a rest day: one day later.
        let (n, v) = accepted_at(&s, &staff.clerk, "2026-03-17T10:00:00+08:00").await;
        assert_eq!(v["due_date"], "2026-03-25", "{v}");

        // Correcting the local day moves the open deadline back at once.
        let (st, v) = s
            .send_json(
                reqwest::Method::DELETE,
                "/api/v1/calendar/regions/650000/days/2026-03-20",
                Some(&admin),
                &json!({}),
            )
            .await;
        assert!(st == 200 || st == 204, "{st} {v}");
        assert_eq!(case(&s, &staff.clerk, &n).await["due_date"], "2026-03-24");
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn an_approval_puts_its_certificate_in_the_vault_where_another_items_checklist_finds_it() {
    on_each_backend(|url| async move {
        let s = TestServer::start_with(yichuang_server::config::Config {
            public_url: Some("https://zwfw.example.gov.cn".into()),
            ..crate::support::config(&url)
        })
        .await;
        s.set_clock("2026-03-02T09:00:00+08:00").await;
        // 食品经营许可 issues 食品经营许可证 (5 years), which 食品生产许可 asks for as `food_licence`.
        let mut licence = item("X010", false);
        licence.result.name = "食品经营许可证".into();
        licence.result.material = "food_licence".into();
        licence.result.valid_years = 5;
        let (staff, n) = routed_case(&s, &licence).await;
        approve(&s, &staff.approver, &n, "食许〔2026〕9号").await;
        let c = |p: &str| format!("/api/v1/cases/{n}{p}");
        let (st, cert) = s.get_json(&c("/certificate"), Some(&staff.clerk)).await;
        assert_eq!(st, 200, "{cert}");
        assert_eq!(cert["title"], "食品经营许可证");
        assert_eq!(
            (cert["issued_on"].as_str(), cert["valid_until"].as_str()),
            (Some("2026-03-02"), Some("2031-03-01"))
        );
        assert_eq!(cert["file"]["material_code"], "food_licence");
        let r = s
            .client
            .get(s.at(cert["file"]["href"].as_str().unwrap()))
            .bearer_auth(&staff.clerk)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let pdf = r.bytes().await.unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        for text in ["食品经营许可证", "扫码核验证照"] {
            let hex = yichuang_domain::case::certificate::ucs2_hex(text);
            assert!(
                pdf.windows(hex.len()).any(|w| w == hex.as_bytes()),
                "{text}"
            );
        }

        // The same applicant applies for an item that needs the licence: the vault offers it.
        let mut production = item("X011", false);
        production.name = "食品生产许可".into();
        production.materials[1] =
            serde_json::from_value(json!({"code": "food_licence", "name": "食品经营许可证"}))
                .unwrap();
        publish(&s, &production).await;
        let (st, v) = s
            .post_json(
                "/api/v1/cases",
                Some(&staff.clerk),
                &application("X011", &["A", "food_licence"]),
            )
            .await;
        assert_eq!(st, 201, "{v}");
        let second = v["number"].as_str().unwrap();
        let (_, offers) = s
            .get_json(&format!("/api/v1/cases/{second}/vault"), Some(&staff.clerk))
            .await;
        assert_eq!(offers["prefill"], json!(["food_licence"]), "{offers}");
        assert_eq!(offers["materials"][0]["source_case"], n.as_str());
        assert_eq!(offers["materials"][0]["valid_until"], "2031-03-01");
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_hall_whose_region_code_implies_no_province_inherits_local_days_through_the_region_tree()
{
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        publish(&s, &item("X001", false)).await;
        let admin = hall_with_a_provincial_holiday(&s, "XJ", "XJ-URC").await;
        let staff = staff(&s).await;
        // The province's holiday reaches the city's hall through the tree, not the code.
        let (n, v) = accepted_at(&s, &staff.clerk, "2026-03-17T10:00:00+08:00").await;
        assert_eq!(v["due_date"], "2026-03-25", "{v}");
        let (_, v) = s
            .get_json(
                "/api/v1/calendar/add?from=2026-03-17&days=5&region=XJ-URC",
                None,
            )
            .await;
        assert_eq!(v["date"], "2026-03-25", "{v}");

        // The city moved under another province (a catalogue import): the calendars are
        // rebuilt at once and the open deadline follows.
        let moved = json!({"regions": [
            {"code": "GS", "name": "另一省", "level": "province"},
            {"code": "XJ-URC", "name": "乌鲁木齐市", "level": "city", "parent": "GS"}]});
        let r = s
            .client
            .post(s.at("/api/v1/catalogue/import"))
            .bearer_auth(&admin)
            .header("content-type", "application/json")
            .body(moved.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        assert_eq!(case(&s, &staff.clerk, &n).await["due_date"], "2026-03-24");
        s.stop().await;
    })
    .await;
}

/// Regions `province` ⊃ `city`, hall H1 in `city`, and 古尔邦节 on 2026-03-20 as a local holiday
/// of `province`; returns the admin's token.
async fn hall_with_a_provincial_holiday(s: &TestServer, province: &str, city: &str) -> String {
    let admin = s.admin_token().await;
    for body in [
        json!({"code": province, "name": "新疆维吾尔自治区", "level": "province"}),
        json!({"code": city, "name": "乌鲁木齐市", "level": "city", "parent": province}),
    ] {
        let (st, v) = s.post_json("/api/v1/regions", Some(&admin), &body).await;
        assert_eq!(st, 201, "{v}");
    }
    let (st, v) = s
        .post_json(
            "/api/v1/halls",
            Some(&admin),
            &json!({"code": "H1", "name": "乌鲁木齐市政务服务中心", "region": city}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let (st, v) = s
        .post_json(
            &format!("/api/v1/calendar/regions/{province}/days"),
            Some(&admin),
            &json!({"date": "2026-03-20", "kind": "holiday", "name": "古尔邦节"}),
        )
        .await;
    assert!(st == 200 || st == 201, "{v}");
    admin
}

#[tokio::test]
async fn the_public_query_is_throttled_per_case_and_address_and_the_receipts_code_follows_the_case_alone()
 {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-02T09:00:00+08:00").await;
        let (staff, n, _) = new_case(&s, "X001", &["A", "B"]).await;
        let mut tx = s.running.state.db.begin().await.unwrap();
        yichuang_store::settings::put(
            &mut tx,
            "auth.trusted_proxies",
            &json!(["127.0.0.1"]),
            s.running.state.now(),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        // The dev clock runs on from where it is set: set it again right before the guesses so
        // that however long setting up took, the half-minute below is measured from them.
        s.set_clock("2026-03-02T09:05:00+08:00").await;
        let ask = |from: &'static str, q: String| {
            let url = s.at(&format!("/api/v1/query/cases?{q}"));
            async move {
                let r = crate::support::client()
                    .get(url)
                    .header("x-forwarded-for", from)
                    .send()
                    .await
                    .unwrap();
                (
                    r.status().as_u16(),
                    r.json::<Value>().await.unwrap_or_default(),
                )
            }
        };
        // Guessing the last four: five wrong answers stop this address for this case.
        for guess in ["0000", "1111", "2222", "3333", "4444"] {
            let (st, v) = ask("203.0.113.5", format!("number={n}&last4={guess}")).await;
            assert_eq!(st, 404, "{v}");
        }
        let (st, v) = ask("203.0.113.5", format!("number={n}&last4=5678")).await;
        assert_eq!(
            st, 429,
            "even the right answer, from the guessing address: {v}"
        );
        assert!(v["title"].as_str().unwrap().contains("查询"), "{v}");
        // The applicant elsewhere is only slowed down for half a minute.
        let (st, v) = ask("198.51.100.7", format!("number={n}&last4=5678")).await;
        assert_eq!((st, v["code"].as_str()), (429, Some("slowed_down")), "{v}");
        s.set_clock("2026-03-02T09:05:45+08:00").await;
        let (st, v) = ask("198.51.100.7", format!("number={n}&last4=5678")).await;
        assert_eq!(st, 200, "{v}");

        // The receipt's query code: random, twelve characters, enough on its own.
        let c = case(&s, &staff.clerk, &n).await;
        let code = c["query_code"].as_str().unwrap().to_string();
        assert_eq!(code.len(), 14, "ABCD-EFGH-JKMN: {code}");
        let (st, v) = ask("198.51.100.8", format!("code={}", code.to_lowercase())).await;
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["number"], n.as_str());
        assert!(
            v.get("query_code").is_none(),
            "the public view does not echo it"
        );
        let receipt = crate::support::client()
            .get(s.at(&format!("/cases/{n}/receipt")))
            .bearer_auth(&staff.clerk)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(receipt.contains(&code), "on the receipt");
        for wrong in [
            "AAAA-BBBB-CCCC",
            "AAAA-BBBB-CCCD",
            "AAAA-BBBB-CCCE",
            "AAAA-BBBB-CCCF",
            "AAAA-BBBB-CCCG",
        ] {
            let (st, _) = ask("203.0.113.6", format!("code={wrong}")).await;
            assert_eq!(st, 404);
        }
        let (st, _) = ask("203.0.113.6", format!("code={code}")).await;
        assert_eq!(st, 429, "guessing codes stops too");
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_receipt_sent_again_with_its_key_answers_the_case_the_first_made_and_a_reused_or_bad_key_makes_nothing()
 {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-02T09:00:00+08:00").await;
        publish(&s, &item("X001", false)).await;
        let staff = staff(&s).await;
        let send = |key: &'static str| {
            s.client
                .post(s.at("/api/v1/cases"))
                .bearer_auth(&staff.clerk)
                .header("idempotency-key", key)
                .json(&application("X001", &["A", "B"]))
                .send()
        };
        let answered = |r: reqwest::Response| async move {
            let st = r.status().as_u16();
            let v: Value = r.json().await.unwrap();
            assert_eq!(st, 201, "{v}");
            v["number"].as_str().unwrap().to_string()
        };
        let first = answered(send("key-0001-0001-0001").await.unwrap()).await;
        let again = answered(send("key-0001-0001-0001").await.unwrap()).await;
        assert_eq!(again, first, "the same key answers the same case");
        // Eight at once with a new key: one case among them.
        let mut at_once = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let r = s
                .client
                .post(s.at("/api/v1/cases"))
                .bearer_auth(&staff.clerk)
                .header("idempotency-key", "key-0002-0002-0002")
                .json(&application("X001", &["A", "B"]));
            at_once.spawn(async move { r.send().await.unwrap() });
        }
        let mut numbers = Vec::new();
        for r in at_once.join_all().await {
            numbers.push(answered(r).await);
        }
        numbers.dedup();
        assert_eq!(numbers.len(), 1, "{numbers:?}");
        assert_ne!(numbers[0], first);
        assert_eq!(case_numbers(&s).await.len(), 2);
        let messages = s
            .get_json(
                &format!("/api/v1/cases/{first}/notifications"),
                Some(&staff.clerk),
            )
            .await
            .1;
        assert_eq!(
            messages["items"].as_array().unwrap().len(),
            1,
            "one 受理 message: {messages}"
        );

        // The key with another applicant: a form used again for someone else is refused,
        // not answered with the first applicant's case.
        let mut other = application("X001", &["A", "B"]);
        other["applicant"]["id_number"] = json!("110105196001011239");
        let r = s
            .client
            .post(s.at("/api/v1/cases"))
            .bearer_auth(&staff.clerk)
            .header("idempotency-key", "key-0001-0001-0001")
            .json(&other)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 409);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["code"], "receipt_key_reused", "{v}");
        assert!(v["title"].as_str().unwrap().contains("新的受理单"), "{v}");
        assert_eq!(case_numbers(&s).await.len(), 2);

        // A key that is not one is refused in Chinese, and nothing is made.
        let (st, v) = {
            let r = send("短").await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        };
        assert_eq!(st, 422, "{v}");
        assert_eq!(v["code"], "receipt_key_invalid");
        assert!(v["title"].as_str().unwrap().contains("幂等键"), "{v}");
        assert_eq!(case_numbers(&s).await.len(), 2);
        // Without a key, each receipt is a case.
        for _ in 0..2 {
            let (st, v) = s
                .post_json(
                    "/api/v1/cases",
                    Some(&staff.clerk),
                    &application("X001", &["A", "B"]),
                )
                .await;
            assert_eq!(st, 201, "{v}");
        }
        assert_eq!(case_numbers(&s).await.len(), 4);
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_bundle_and_an_online_application_sent_again_with_their_key_answer_what_the_first_made_and_nobody_else_may_use_it()
 {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-02T09:00:00+08:00").await;
        crate::agency::bundles(&s).await;
        publish(&s, &item("X001", false)).await;
        let staff = staff(&s).await;
        let send = |token: &str, path: &str, key: &str, body: &Value| {
            s.client
                .post(s.at(path))
                .bearer_auth(token)
                .header("idempotency-key", key)
                .json(body)
                .send()
        };
        let answer = |r: reqwest::Response| async move {
            let st = r.status().as_u16();
            (st, r.json::<Value>().await.unwrap())
        };

        // A bundle: the same key answers the same parent, its members received once.
        let filing = |applicant: Value| {
            json!({"bundle": "KB", "materials": ["S1", "K1:B", "K2:B"], "applicant": applicant})
        };
        let elder = crate::agency::elder();
        let bundle = |key| send(&staff.clerk, "/api/v1/bundle-cases", key, &filing(elder.clone()));
        let (st, first) = answer(bundle("bundle-0001-0001-01").await.unwrap()).await;
        assert_eq!(st, 201, "{first}");
        let (st, again) = answer(bundle("bundle-0001-0001-01").await.unwrap()).await;
        assert_eq!(st, 201, "{again}");
        assert_eq!(again["number"], first["number"]);
        assert_eq!(again["members"], first["members"]);
        assert_eq!(case_numbers(&s).await.len(), 2, "K1 and K2, once");
        let mut someone_else = elder.clone();
        someone_else["id_number"] = json!("110105196001011239");
        let r = send(&staff.clerk, "/api/v1/bundle-cases", "bundle-0001-0001-01", &filing(someone_else))
            .await
            .unwrap();
        let (st, v) = answer(r).await;
        assert_eq!((st, v["code"].as_str()), (409, Some("receipt_key_reused")), "{v}");
        let r = send(&staff.clerk, "/api/v1/bundle-cases", "坏", &filing(elder.clone()))
            .await
            .unwrap();
        assert_eq!(answer(r).await.0, 422);
        assert_eq!(case_numbers(&s).await.len(), 2, "nothing made");

        // Online: the same key from the same phone answers the same case; from another phone
        // it answers nothing of it.
        let me = applicant_token(&s, PHONE).await;
        let apply = json!({"item": "X001", "kind": "person", "name": "张三",
                           "id_number": PERSON_ID, "materials": ["A"]});
        let online = |token: &str| send(token, "/api/v1/applicant/applications", "online-0001-0001-01", &apply);
        let (st, first) = answer(online(&me).await.unwrap()).await;
        assert_eq!(st, 201, "{first}");
        let (st, again) = answer(online(&me).await.unwrap()).await;
        assert_eq!((st, &again["number"]), (201, &first["number"]));
        assert_eq!(case_numbers(&s).await.len(), 3);
        const OTHER_PHONE: &str = "13700001111";
        let them = applicant_token(&s, OTHER_PHONE).await;
        let (st, v) = answer(online(&them).await.unwrap()).await;
        assert_eq!((st, v["code"].as_str()), (409, Some("receipt_key_reused")), "{v}");
        assert!(!v.to_string().contains(first["number"].as_str().unwrap()), "{v}");
        assert_eq!(case_numbers(&s).await.len(), 3);
        s.stop().await;
    })
    .await;
}
