//! Appointments beyond booking: rescheduling, the no-show timer and the block it leads to,
//! check-in at the kiosk by code or by number — on each backend.

use std::time::Duration;

use serde_json::{Value, json};

use crate::hall::{HALL, anonymous_post, call, demo_hall};
use crate::support::{TestServer, on_each_backend};

/// A valid ID number (R-ID-18) of someone born in 1990: not elderly.
pub(crate) const ID: &str = "110105199003071239";

pub(crate) async fn book(s: &TestServer, body: Value) -> (u16, Value) {
    anonymous_post(s, &format!("/api/v1/halls/{HALL}/appointments"), &body).await
}

pub(crate) async fn book_ok(s: &TestServer, date: &str, start: &str, who: Value) -> Value {
    let mut body = json!({"queue": "a", "date": date, "start": start});
    for (k, v) in who.as_object().unwrap() {
        body[k] = v.clone();
    }
    let (st, v) = book(s, body).await;
    assert_eq!(st, 201, "{v}");
    v
}

async fn available(s: &TestServer, date: &str, start: &str) -> i64 {
    let (st, v) = s
        .get_json(
            &format!("/api/v1/halls/{HALL}/slots?queue=a&date={date}"),
            None,
        )
        .await;
    assert_eq!(st, 200, "{v}");
    v["slots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["start"] == start)
        .unwrap_or_else(|| panic!("no slot {start} in {v}"))["available"]
        .as_i64()
        .unwrap()
}

/// The appointment as its holder sees it (by its code).
async fn status_of(s: &TestServer, a: &Value) -> String {
    let (st, v) = s
        .get_json(
            &format!(
                "/api/v1/appointments/{}?code={}",
                a["id"],
                a["code"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(st, 200, "{v}");
    v["status"].as_str().unwrap().to_string()
}

/// Waits for the timer worker (it polls every 100 ms in tests) to bring `a` to `want`.
async fn wait_status(s: &TestServer, a: &Value, want: &str) {
    let mut last = String::new();
    for _ in 0..50 {
        last = status_of(s, a).await;
        if last == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("appointment {} is {last}, not {want}", a["id"]);
}

async fn reschedule(s: &TestServer, a: &Value, body: Value) -> (u16, Value) {
    anonymous_post(
        s,
        &format!("/api/v1/appointments/{}/reschedule", a["id"]),
        &body,
    )
    .await
}

#[tokio::test]
async fn three_missed_appointments_become_no_shows_and_block_booking() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-02T10:00:00+08:00").await;
        demo_hall(&s).await;
        let who = json!({"id_number": ID});
        let mut booked = vec![];
        for date in ["2026-03-03", "2026-03-04", "2026-03-05"] {
            booked.push(book_ok(&s, date, "09:00", who.clone()).await);
        }
        // Still within the check-in window (until 09:15): not yet a no-show.
        s.set_clock("2026-03-03T09:14:00+08:00").await;
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(status_of(&s, &booked[0]).await, "booked");
        s.set_clock("2026-03-05T09:16:00+08:00").await;
        for a in &booked {
            wait_status(&s, a, "no_show").await;
        }
        let events = yichuang_store::events::for_subject(
            &s.running.state.db,
            "appointment",
            &booked[2]["id"].to_string(),
        )
        .await
        .unwrap();
        let missed = events
            .iter()
            .find(|e| e.kind == "appointment_no_show")
            .expect("a no-show event");
        let payload: Value = serde_json::from_str(&missed.payload).unwrap();
        assert_eq!(payload["blocked_until"], "2026-04-04", "{payload}");
        assert_eq!(missed.actor, "system:appointments");
        // The third no-show in 90 days blocks booking for 30 days from the last.
        let (st, v) = book(
            &s,
            json!({"queue": "a", "date": "2026-03-09", "start": "09:00", "id_number": ID}),
        )
        .await;
        assert_eq!(
            (st, v["code"].as_str()),
            (403, Some("booking_blocked")),
            "{v}"
        );
        assert_eq!(
            v["title"],
            "因多次预约未到，2026年4月4日前暂停预约，可现场取号办理"
        );
        // Someone else books as before.
        book_ok(&s, "2026-03-09", "09:00", json!({"phone": "13900000001"})).await;
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_rescheduled_appointment_frees_its_old_place_and_keeps_its_holder() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-02T10:00:00+08:00").await;
        demo_hall(&s).await;
        let a = book_ok(&s, "2026-03-03", "09:00", json!({"phone": "13812345678"})).await;
        assert_eq!(available(&s, "2026-03-03", "09:00").await, 3);
        // Only its holder may move it: by the same number, or by its code.
        let (st, v) = reschedule(
            &s,
            &a,
            json!({"date": "2026-03-04", "start": "10:00", "phone": "13900000009"}),
        )
        .await;
        assert_eq!(st, 403, "{v}");
        let (st, v) = reschedule(
            &s,
            &a,
            json!({"date": "2026-03-04", "start": "10:00", "code": "1-0000000000"}),
        )
        .await;
        assert_eq!(st, 403, "{v}");
        let (st, v) = reschedule(
            &s,
            &a,
            json!({"date": "2026-03-04", "start": "10:00", "code": a["code"]}),
        )
        .await;
        assert_eq!(st, 200, "{v}");
        assert_eq!(
            (
                v["date"].as_str(),
                v["start"].as_str(),
                v["reschedules"].as_i64()
            ),
            (Some("2026-03-04"), Some("10:00"), Some(1))
        );
        assert_eq!(v["holder"], "138****5678");
        assert_eq!(v["code"], a["code"], "the code stays the same");
        assert_eq!(
            available(&s, "2026-03-03", "09:00").await,
            4,
            "old place freed"
        );
        assert_eq!(available(&s, "2026-03-04", "10:00").await, 3);
        // Capacity, the slot itself and the limit are checked as for a booking.
        for p in ["13900000001", "13900000002", "13900000003", "13900000004"] {
            book_ok(&s, "2026-03-04", "10:30", json!({"phone": p})).await;
        }
        let by_phone =
            |date: &str, start: &str| json!({"date": date, "start": start, "phone": "13812345678"});
        let (st, v) = reschedule(&s, &a, by_phone("2026-03-04", "10:30")).await;
        assert_eq!((st, v["code"].as_str()), (409, Some("slot_full")), "{v}");
        let (st, v) = reschedule(&s, &a, by_phone("2026-03-04", "10:00")).await;
        assert_eq!((st, v["code"].as_str()), (422, Some("same_slot")), "{v}");
        let (st, v) = reschedule(&s, &a, by_phone("2026-03-04", "10:10")).await;
        assert_eq!(
            (st, v["errors"][0]["field"].as_str()),
            (422, Some("start")),
            "{v}"
        );
        let (st, v) = reschedule(&s, &a, by_phone("2026-03-20", "10:00")).await;
        assert_eq!(
            (st, v["code"].as_str()),
            (422, Some("slot_not_bookable")),
            "a working day beyond the horizon: {v}"
        );
        let (st, v) = reschedule(&s, &a, by_phone("2026-03-04", "11:00")).await;
        assert_eq!(st, 200, "{v}");
        let (st, v) = reschedule(&s, &a, by_phone("2026-03-04", "11:30")).await;
        assert_eq!(
            (st, v["code"].as_str()),
            (409, Some("reschedule_limit")),
            "{v}"
        );
        // The no-show timer moved with it: the old window passes without effect.
        s.set_clock("2026-03-03T09:20:00+08:00").await;
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(status_of(&s, &a).await, "booked");
        s.set_clock("2026-03-04T11:16:00+08:00").await;
        wait_status(&s, &a, "no_show").await;
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_no_show_timer_leaves_cancelled_and_checked_in_appointments_alone() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-02T10:00:00+08:00").await;
        let (_, w1, _) = demo_hall(&s).await;
        let cancelled = book_ok(&s, "2026-03-03", "09:00", json!({"phone": "13900000001"})).await;
        let came = book_ok(&s, "2026-03-03", "09:00", json!({"id_number": ID})).await;
        let (st, v) = anonymous_post(
            &s,
            &format!("/api/v1/appointments/{}/cancel", cancelled["id"]),
            &json!({"code": cancelled["code"]}),
        )
        .await;
        assert_eq!((st, v["status"].as_str()), (200, Some("cancelled")), "{v}");
        // At the kiosk, by ID number: today's appointment is found and checked in.
        s.set_clock("2026-03-03T08:50:00+08:00").await;
        let check_in = |body: Value| {
            let s = &s;
            async move { anonymous_post(s, &format!("/api/v1/halls/{HALL}/check-in"), &body).await }
        };
        let (st, v) = check_in(json!({"phone": "13900000001"})).await;
        assert_eq!(
            (st, v["errors"][0]["field"].as_str()),
            (404, Some("phone")),
            "a cancelled appointment is not found: {v}"
        );
        let (st, v) = check_in(json!({"code": "not a code"})).await;
        assert_eq!((st, v["errors"][0]["field"].as_str()), (422, Some("code")));
        let (st, t) = check_in(json!({"id_number": ID})).await;
        assert_eq!(st, 201, "{t}");
        assert_eq!(
            (t["channel"].as_str(), t["appointment"]["status"].as_str()),
            (Some("appointment"), Some("checked_in"))
        );
        s.set_clock("2026-03-03T10:00:00+08:00").await;
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(status_of(&s, &cancelled).await, "cancelled");
        assert_eq!(status_of(&s, &came).await, "checked_in");
        // A new day: the session of the day before has lapsed.
        let admin = s.admin_token().await;
        assert_eq!(call(&s, &admin, w1).await.unwrap()["id"], t["id"]);
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn an_appointment_is_checked_in_at_the_kiosk_by_its_scanned_code() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-02T10:00:00+08:00").await;
        demo_hall(&s).await;
        let a = book_ok(&s, "2026-03-03", "14:00", json!({"id_number": ID})).await;
        let code = a["code"].as_str().unwrap();
        assert_eq!(a["url"], format!("/appointments/{code}"));
        assert_eq!(
            (a["check_in_from"].as_str(), a["check_in_until"].as_str()),
            (
                Some("2026-03-03T13:30:00+08:00"),
                Some("2026-03-03T14:15:00+08:00")
            )
        );
        let body = serde_json::to_string(&a).unwrap();
        assert!(!body.contains(ID), "only the masked number: {body}");
        let scanned = json!({"code": format!("http://hall.example{}", a["url"].as_str().unwrap())});
        let path = format!("/api/v1/halls/{HALL}/check-in");
        s.set_clock("2026-03-03T09:00:00+08:00").await;
        let (st, v) = anonymous_post(&s, &path, &scanned).await;
        assert_eq!(
            (st, v["code"].as_str()),
            (409, Some("check_in_too_early")),
            "{v}"
        );
        s.set_clock("2026-03-03T13:40:00+08:00").await;
        let (st, t) = anonymous_post(&s, &path, &scanned).await;
        assert_eq!(st, 201, "{t}");
        assert_eq!(t["number"], "A001");
        assert_eq!(t["categories"], json!(["appointment"]));
        let (st, v) = anonymous_post(&s, &path, &scanned).await;
        assert_eq!(
            (st, v["code"].as_str()),
            (409, Some("invalid_appointment_transition")),
            "{v}"
        );
        // A code of another appointment id is not accepted for this one.
        let forged = format!(
            "{}-{}",
            a["id"].as_i64().unwrap() + 1,
            &code[code.len() - 10..]
        );
        let (st, v) = anonymous_post(&s, &path, &json!({"code": forged})).await;
        assert_eq!((st, v["errors"][0]["field"].as_str()), (422, Some("code")));
        s.stop().await;
    })
    .await;
}
