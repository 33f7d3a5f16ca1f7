//! Smart lockers (智能文件柜, issue 14) over HTTP on both backends: a result put into a locker
//! and picked up with the SMS code at the weekend, issuance recorded once; the device protocol
//! under duplicated, concurrent and reordered controller messages; expired codes; the
//! wrong-code lockout; a drop-off at night collected the next morning with the clock right.

use serde_json::{Value, json};

use crate::cases::{
    PHONE, accepted_at, applicant_token, approve, case, item, login, post, publish, staff,
};
use crate::support::{TestServer, on_each_backend};

pub const BANK: &str = "H1-G1";

/// Hall H1 (where the test staff work) with a locker bank of two small and one medium
/// compartment; returns the controller's device token.
pub async fn bank(s: &TestServer) -> String {
    let admin = s.admin_token().await;
    let (st, v) = s
        .post_json(
            "/api/v1/halls",
            Some(&admin),
            &json!({"code": "H1", "name": "测试大厅"}),
        )
        .await;
    assert!(st == 201 || st == 409, "{v}");
    let (st, v) = s
        .post_json(
            "/api/v1/halls/H1/lockers",
            Some(&admin),
            &json!({"code": BANK, "name": "24小时智能文件柜", "place": "东侧自助区",
                    "compartments": [{"door": "A01", "size": "small"},
                                     {"door": "A02", "size": "small"},
                                     {"door": "B01", "size": "medium"}]}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    v["device_token"].as_str().unwrap().to_string()
}

/// The code of the last locker SMS to the test applicant (as the phone would show it).
pub async fn sms_code(s: &TestServer) -> String {
    let since = s.running.state.now() - chrono::Duration::days(30);
    let text = crate::cases::last_sms(s, "locker_code", PHONE, since).await;
    let at = text.find("码 ").expect("the SMS names the code") + "码 ".len();
    text[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect()
}

/// One controller message with the device token.
pub async fn device(s: &TestServer, token: &str, m: Value) -> (u16, Value) {
    s.post_json(
        &format!("/api/v1/lockers/{BANK}/device/messages"),
        Some(token),
        &m,
    )
    .await
}

fn open(id: &str, door: &str, code: &str) -> Value {
    json!({"message_id": id, "type": "open_request", "door": door, "code": code})
}

fn report(id: &str, kind: &str, door: &str) -> Value {
    json!({"message_id": id, "type": kind, "door": door})
}

/// An approved case of H1 for a new item `code`, waiting for its issuance.
pub async fn approved(s: &TestServer, code: &str) -> (crate::cases::Staff, String) {
    publish(s, &item(code, false)).await;
    let staff = staff(s).await;
    let (st, v) = s
        .post_json(
            "/api/v1/cases",
            Some(&staff.clerk),
            &crate::cases::application(code, &["A", "B"]),
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
    let v = approve(s, &staff.approver, &n, "食许〔2026〕8号").await;
    assert_eq!(v["status"], "concluded", "{v}");
    (staff, n)
}

/// An approved case of H1 whose issuance step the issuance clerk has claimed.
pub async fn concluded(s: &TestServer, code: &str) -> (crate::cases::Staff, String) {
    let (staff, n) = approved(s, code).await;
    post(
        s,
        &staff.issuer,
        &format!("/api/v1/cases/{n}/steps/issue/claim"),
        json!({}),
    )
    .await;
    (staff, n)
}

/// A case of H1 accepted Monday 11-30 (five working days: due 12-07) for which the department
/// asked on Tuesday 12-01 for the 营业执照 original: the clock is suspended.
pub async fn waiting_for_supplement(s: &TestServer) -> String {
    publish(s, &item("X001", false)).await;
    let staff = staff(s).await;
    let (n, _) = accepted_at(s, &staff.clerk, "2026-11-30T09:00:00+08:00").await;
    let c = |p: &str| format!("/api/v1/cases/{n}{p}");
    post(s, &staff.clerk, &c("/route"), json!({})).await;
    post(s, &staff.approver, &c("/confirm"), json!({})).await;
    post(s, &staff.approver, &c("/steps/review/claim"), json!({})).await;
    s.set_clock("2026-12-01T10:00:00+08:00").await;
    let staff = login(s).await;
    post(
        s,
        &staff.approver,
        &c("/steps/review/supplement"),
        json!({"items": ["B"], "note": "营业执照需原件"}),
    )
    .await;
    n
}

async fn deposit(s: &TestServer, issuer: &str, n: &str) -> Value {
    let (st, v) = s
        .post_json(
            &format!("/api/v1/cases/{n}/locker"),
            Some(issuer),
            &json!({"locker": BANK, "size": "small"}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    v
}

async fn locker_view(s: &TestServer) -> Value {
    let admin = s.admin_token().await;
    let (st, v) = s
        .get_json(&format!("/api/v1/lockers/{BANK}"), Some(&admin))
        .await;
    assert_eq!(st, 200, "{v}");
    v
}

fn door_state(v: &Value, door: &str) -> (String, bool) {
    let c = v["compartments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["door"] == door)
        .unwrap();
    (
        c["state"].as_str().unwrap().to_string(),
        c["locked"] == true,
    )
}

fn count(v: &Value, kind: &str) -> usize {
    v["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .count()
}

async fn hall_events(s: &TestServer, kind: &str) -> usize {
    let db = &s.running.state.db;
    let mut n = 0;
    for e in yichuang_store::events::since_in_hall(db, Some("H1"), 0, 10_000)
        .await
        .unwrap()
    {
        if e.kind == kind {
            n += 1;
        }
    }
    n
}

#[tokio::test]
async fn a_result_put_in_a_locker_at_half_past_six_is_picked_up_with_the_sms_code_on_saturday_and_issued_once()
 {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-12-04T09:00:00+08:00").await;
        let token = bank(&s).await;
        let (staff, n) = concluded(&s, "L001").await;
        // The manager takes A01 out of service: the deposit skips it.
        let admin = s.admin_token().await;
        let (st, v) = s
            .send_json(
                reqwest::Method::PUT,
                &format!("/api/v1/lockers/{BANK}/compartments/A01"),
                Some(&admin),
                &json!({"out_of_order": true}),
            )
            .await;
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["state_label"], "故障停用");

        s.set_clock("2026-12-04T18:30:00+08:00").await;
        let v = deposit(&s, &staff.issuer, &n).await;
        assert_eq!(v["door"], "A02", "the out-of-order A01 is skipped: {v}");
        assert!(
            v.get("code").is_none(),
            "the clerk never sees the code: {v}"
        );
        assert_eq!(v["expires_text"], "2026年12月11日 24:00");
        let (st, again) = s
            .post_json(
                &format!("/api/v1/cases/{n}/locker"),
                Some(&staff.issuer),
                &json!({"locker": BANK}),
            )
            .await;
        assert_eq!(st, 409, "one result, one compartment: {again}");
        assert_eq!(again["code"], "parcel_exists");
        // R-ISSUE-10D counted at the pick-up (the default): not issued yet.
        let c = case(&s, &staff.clerk, &n).await;
        assert_eq!(c["status"], "concluded", "{c}");
        let code = sms_code(&s).await;
        assert_eq!(code.len(), 8);
        assert_eq!(door_state(&locker_view(&s).await, "A02").0, "holding");

        // Saturday morning at the locker.
        s.set_clock("2026-12-05T10:12:00+08:00").await;
        let (st, a) = device(&s, &token, open("sat-1", "a2", &code)).await;
        assert_eq!(st, 200, "{a}");
        assert_eq!(a["result"], "open", "{a}");
        assert_eq!(a["door"], "A02");
        assert_eq!(a["purpose"], "pickup");
        let (_, again) = device(&s, &token, open("sat-1", "a2", &code)).await;
        assert_eq!(again["result"], "open");
        assert_eq!(
            again["replayed"], true,
            "a retry is answered as before: {again}"
        );
        device(&s, &token, report("sat-2", "door_opened", "A02")).await;
        device(&s, &token, report("sat-3", "door_closed", "A02")).await;

        let staff = login(&s).await;
        let c = case(&s, &staff.clerk, &n).await;
        assert_eq!(c["status"], "issued", "{c}");
        assert_eq!(count(&c, "issued"), 1, "issuance recorded once: {c}");
        assert_eq!(c["issuance"]["delivery"]["method"], "locker");
        assert_eq!(c["issuance"]["delivery"]["door"], "A02");
        let v = locker_view(&s).await;
        assert_eq!(door_state(&v, "A02").0, "free");
        assert_eq!(door_state(&v, "A01").0, "out_of_order");
        assert_eq!(v["parcels"].as_array().unwrap().len(), 0, "{v}");
        assert_eq!(hall_events(&s, "locker_door_granted").await, 1);

        // The code was single-use.
        let (_, a) = device(&s, &token, open("sat-4", "A02", &code)).await;
        assert_eq!(a["result"], "refused");
        assert_eq!(a["code"], "code_used", "{a}");
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn duplicated_concurrent_and_reordered_controller_messages_open_each_door_exactly_once() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-12-04T09:00:00+08:00").await;
        let token = bank(&s).await;
        let (staff, n1) = concluded(&s, "L002").await;
        let admin = s.admin_token().await;
        let (st, _) = s
            .send_json(
                reqwest::Method::PUT,
                "/api/v1/locker-settings",
                Some(&admin),
                &json!({"issued_at": "deposit"}),
            )
            .await;
        assert_eq!(st, 200);
        deposit(&s, &staff.issuer, &n1).await;
        let code1 = sms_code(&s).await;
        // R-ISSUE-10D counted at the deposit: issued now, once.
        let c = case(&s, &staff.clerk, &n1).await;
        assert_eq!(c["status"], "issued", "{c}");

        // Without the device token nothing happens.
        let (st, v) = device(&s, "ycd_wrong", open("x", "A01", &code1)).await;
        assert_eq!(st, 401, "{v}");
        let (st, v) = device(&s, &token, json!({"type": "open_request", "door": "A01"})).await;
        assert_eq!(st, 400, "a message without its idempotency key: {v}");
        let (st, v) = device(
            &s,
            &token,
            json!({"message_id": "m-0", "type": "open_request", "door": "A01"}),
        )
        .await;
        assert_eq!(st, 422, "{v}");
        assert_eq!(crate::support::error_fields(&v), ["code"]);

        // The same open request three times at once, then again later: one grant.
        let m = open("m-1", "A01", &code1);
        let (a, b, c) = tokio::join!(
            device(&s, &token, m.clone()),
            device(&s, &token, m.clone()),
            device(&s, &token, m.clone())
        );
        for (st, v) in [&a, &b, &c] {
            assert_eq!(*st, 200, "{v}");
            assert_eq!(v["result"], "open", "{v}");
            assert_eq!(v["door"], "A01");
        }
        let fresh = [&a, &b, &c]
            .iter()
            .filter(|(_, v)| v["replayed"] == false)
            .count();
        assert_eq!(fresh, 1, "one of the three acted, the others were replays");
        // Reordered reports: closed arrives before opened, and each twice.
        device(&s, &token, report("m-3", "door_closed", "A01")).await;
        device(&s, &token, report("m-3", "door_closed", "A01")).await;
        device(&s, &token, report("m-2", "door_opened", "A01")).await;
        device(&s, &token, report("m-2", "door_opened", "A01")).await;
        // A late retry of the open request after the door closed: still the one grant, and
        // the compartment stays free.
        let (_, late) = device(&s, &token, m.clone()).await;
        assert_eq!(late["replayed"], true);
        // A key reused for another kind of message is refused.
        let (st, v) = device(&s, &token, report("m-1", "door_closed", "A01")).await;
        assert_eq!(st, 409, "{v}");
        assert_eq!(hall_events(&s, "locker_door_granted").await, 1);
        assert_eq!(hall_events(&s, "locker_door_closed").await, 1);
        assert_eq!(hall_events(&s, "locker_door_opened").await, 1);
        let v = locker_view(&s).await;
        assert_eq!(door_state(&v, "A01").0, "free");
        let c = case(&s, &staff.clerk, &n1).await;
        assert_eq!(count(&c, "issued"), 1, "{c}");
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn an_expired_code_is_refused_and_the_uncollected_result_goes_back_to_the_window_with_a_callback()
 {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-12-04T09:00:00+08:00").await;
        let token = bank(&s).await;
        let (staff, n) = concluded(&s, "L003").await;
        deposit(&s, &staff.issuer, &n).await;
        let code = sms_code(&s).await;
        // Seven days after Friday: valid through Friday 12-11, expired at midnight.
        s.set_clock("2026-12-12T08:00:00+08:00").await;
        assert!(s.run_due_timers().await >= 1);
        let (_, a) = device(&s, &token, open("late-1", "A01", &code)).await;
        assert_eq!(a["result"], "refused", "{a}");
        assert_eq!(a["code"], "code_expired");
        let v = locker_view(&s).await;
        let p = &v["parcels"][0];
        assert_eq!(p["status"], "expired", "{v}");
        assert_eq!(p["status_label"], "逾期未取，待取回出件窗口");
        assert_eq!(p["phone"], "138****5678", "R-PII: {p}");
        let callbacks = yichuang_store::ratings::callbacks(
            &s.running.state.db,
            &yichuang_store::ratings::CallbackFilter {
                hall: Some("H1".into()),
                open: true,
                limit: 10,
            },
        )
        .await
        .unwrap();
        assert!(
            callbacks
                .iter()
                .any(|c| c.kind == "uncollected" && c.subject_id == n),
            "a callback task is listed"
        );
        // The issuance window takes it back and hands it over itself.
        let id = p["id"].as_i64().unwrap();
        let staff = login(&s).await;
        post(
            &s,
            &staff.issuer,
            &format!("/api/v1/locker-parcels/{id}/retrieve"),
            json!({}),
        )
        .await;
        assert_eq!(door_state(&locker_view(&s).await, "A01").0, "free");
        let c = case(&s, &staff.clerk, &n).await;
        assert_eq!(
            c["status"], "concluded",
            "still to be issued at the window: {c}"
        );
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn ten_wrong_codes_lock_the_compartment_tell_the_manager_and_change_nothing_else() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-12-04T09:00:00+08:00").await;
        let token = bank(&s).await;
        let (staff, n) = concluded(&s, "L004").await;
        deposit(&s, &staff.issuer, &n).await;
        let code = sms_code(&s).await;
        let wrong = if code == "00000000" {
            "11111111"
        } else {
            "00000000"
        };
        for i in 1..=9 {
            let (st, a) = device(&s, &token, open(&format!("w{i}"), "A01", wrong)).await;
            assert_eq!(st, 200);
            assert_eq!(a["code"], "wrong_code", "{a}");
            assert_eq!(a["attempts_left"], 10 - i, "{a}");
        }
        let (_, a) = device(&s, &token, open("w10", "A01", wrong)).await;
        assert_eq!(a["code"], "compartment_locked", "{a}");
        // Locked: even the right code is refused now.
        let (_, a) = device(&s, &token, open("w11", "A01", &code)).await;
        assert_eq!(a["result"], "refused");
        assert_eq!(a["code"], "compartment_locked", "{a}");
        assert_eq!(hall_events(&s, "locker_compartment_locked").await, 1);
        // The manager's screens hear of it at once (the hall's live feed).
        let rows =
            yichuang_store::events::since_in_hall(&s.running.state.db, Some("H1"), 0, 10_000)
                .await
                .unwrap();
        let alerts: Vec<_> = rows
            .iter()
            .flat_map(yichuang_server::hall::feed::messages)
            .filter(|(kind, _)| kind == "locker_alert")
            .collect();
        assert_eq!(alerts.len(), 1);
        assert!(
            alerts[0].1["text"].as_str().unwrap().contains("A01 号格口"),
            "{:?}",
            alerts[0]
        );
        let v = locker_view(&s).await;
        assert_eq!(door_state(&v, "A01"), ("holding".to_string(), true));
        assert_eq!(v["parcels"][0]["status"], "deposited", "{v}");
        let c = case(&s, &staff.clerk, &n).await;
        assert_eq!(c["status"], "concluded", "{c}");
        // The manager unlocks it; the right code opens it.
        let admin = s.admin_token().await;
        let (st, v) = s
            .post_json(
                &format!("/api/v1/lockers/{BANK}/compartments/A01/unlock"),
                Some(&admin),
                &json!({}),
            )
            .await;
        assert_eq!(st, 200, "{v}");
        // At the locker's screen the applicant may use the ID number instead of the code.
        let by_id = |id: &str, number: &str| {
            json!({"message_id": id, "type": "open_request", "door": "A01", "id_number": number})
        };
        let (_, a) = device(&s, &token, by_id("w12", "110105194912310021")).await;
        assert_eq!(a["code"], "wrong_code", "another person's number: {a}");
        let (_, a) = device(&s, &token, by_id("w13", "11010519491231002x")).await;
        assert_eq!(a["result"], "open", "{a}");
        let (_, a) = device(&s, &token, open("w14", "A01", &code)).await;
        assert_eq!(a["code"], "code_used", "{a}");
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_drop_off_at_night_collected_the_next_morning_resumes_the_clock_from_the_deposit_r_supplement_pause()
 {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let token = bank(&s).await;
        let n = waiting_for_supplement(&s).await;
        // Wednesday night the applicant books on the phone and drops the materials off.
        s.set_clock("2026-12-02T22:10:00+08:00").await;
        let me = applicant_token(&s, PHONE).await;
        let path = format!("/api/v1/applicant/cases/{n}/locker-booking");
        let (st, v) = s
            .post_json(&path, Some(&me), &json!({"locker": BANK, "size": "huge"}))
            .await;
        assert_eq!(st, 422, "{v}");
        assert_eq!(crate::support::error_fields(&v), ["size"]);
        let (st, v) = s
            .post_json(&path, Some(&me), &json!({"locker": BANK, "size": "small"}))
            .await;
        assert_eq!(st, 201, "{v}");
        let code = v["code"].as_str().unwrap().to_string();
        assert_eq!(code.len(), 8, "the applicant sees the code: {v}");
        assert_eq!(v["door"], "A01");
        s.set_clock("2026-12-02T22:25:00+08:00").await;
        let (_, a) = device(&s, &token, open("n-1", "A01", &code)).await;
        assert_eq!(a["result"], "open", "{a}");
        assert_eq!(a["purpose"], "drop_off");
        device(&s, &token, report("n-2", "door_opened", "A01")).await;
        device(&s, &token, report("n-3", "door_closed", "A01")).await;
        let v = locker_view(&s).await;
        assert_eq!(door_state(&v, "A01").0, "holding");
        let p = &v["parcels"][0];
        assert_eq!(p["status_label"], "已投递，待前台取出", "{v}");

        // Thursday morning the front desk collects.
        s.set_clock("2026-12-03T09:05:00+08:00").await;
        let staff = login(&s).await;
        let id = p["id"].as_i64().unwrap();
        let v = post(
            &s,
            &staff.clerk,
            &format!("/api/v1/locker-parcels/{id}/collect"),
            json!({}),
        )
        .await;
        assert_eq!(v["clock"]["suspended"], false, "{v}");
        // 12-01 counted before the notice; the suspension (12-01, 12-02] ends on the deposit
        // day, so 12-03, 12-04, 12-07, 12-08 follow.
        assert_eq!(v["due_date"], "2026-12-08", "{v}");
        assert_eq!(door_state(&locker_view(&s).await, "A01").0, "free");
        let (st, v) = s
            .post_json(
                &format!("/api/v1/locker-parcels/{id}/collect"),
                Some(&staff.clerk),
                &json!({}),
            )
            .await;
        assert_eq!(st, 409, "collected once: {v}");
        // Nothing is awaited any more: no new booking.
        let me = applicant_token(&s, PHONE).await;
        let (st, v) = s
            .post_json(&path, Some(&me), &json!({"locker": BANK}))
            .await;
        assert_eq!(st, 409, "{v}");
        assert_eq!(v["code"], "no_supplement_expected");
        s.stop().await;
    })
    .await;
}
