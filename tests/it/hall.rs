//! The hall: set-up, tickets, calling, priority, transfer, day end, the live feed, statistics,
//! and twelve windows calling at once — on each backend.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{TestServer, config, on_each_backend};

pub(crate) const HALL: &str = "YL";

/// A hall with queues A (prefix A) and B (prefix B) and windows: W1 serves A then B, W2 serves
/// B only. Returns the admin token and the window ids.
pub(crate) async fn demo_hall(s: &TestServer) -> (String, i64, i64) {
    let admin = s.admin_token().await;
    let (st, v) = s
        .post_json(
            "/api/v1/halls",
            Some(&admin),
            &json!({"code": HALL, "name": "云岭市政务服务中心"}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    for (code, name, prefix) in [("a", "企业开办", "A"), ("b", "不动产登记", "B")] {
        let (st, v) = s
            .post_json(
                &format!("/api/v1/halls/{HALL}/queues"),
                Some(&admin),
                &json!({"code": code, "name": name, "prefix": prefix}),
            )
            .await;
        assert_eq!(st, 201, "{v}");
    }
    let w1 = window(s, &admin, "W1", &["a", "b"]).await;
    let w2 = window(s, &admin, "W2", &["b"]).await;
    (admin, w1, w2)
}

pub(crate) async fn window(s: &TestServer, admin: &str, code: &str, queues: &[&str]) -> i64 {
    let (st, v) = s
        .post_json(
            &format!("/api/v1/halls/{HALL}/windows"),
            Some(admin),
            &json!({"code": code, "name": format!("{code} 综合窗口"), "kind": "comprehensive", "queues": queues}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    v["id"].as_i64().unwrap()
}

/// Takes a ticket; without a token from a client with no session (a kiosk or a phone).
pub(crate) async fn take(s: &TestServer, token: Option<&str>, body: Value) -> (u16, Value) {
    let path = format!("/api/v1/halls/{HALL}/tickets");
    match token {
        Some(_) => s.post_json(&path, token, &body).await,
        None => anonymous_post(s, &path, &body).await,
    }
}

pub(crate) async fn anonymous_post(s: &TestServer, path: &str, body: &Value) -> (u16, Value) {
    let r = crate::support::client()
        .post(s.at(path))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

pub(crate) async fn take_ok(s: &TestServer, token: Option<&str>, queue: &str) -> Value {
    let (st, v) = take(s, token, json!({"queue": queue})).await;
    assert_eq!(st, 201, "{v}");
    v
}

pub(crate) async fn call(s: &TestServer, token: &str, window: i64) -> Option<Value> {
    let (st, v) = s
        .post_json(
            &format!("/api/v1/windows/{window}/call"),
            Some(token),
            &json!({}),
        )
        .await;
    match st {
        200 => Some(v["ticket"].clone()),
        204 => None,
        _ => panic!("call: {st} {v}"),
    }
}

pub(crate) async fn act(s: &TestServer, token: &str, ticket: i64, action: &str) -> (u16, Value) {
    s.post_json(
        &format!("/api/v1/tickets/{ticket}/{action}"),
        Some(token),
        &json!({}),
    )
    .await
}

/// A clerk of the hall signed in at `window`; returns the clerk's token.
pub(crate) async fn clerk_at(s: &TestServer, admin: &str, username: &str, window: i64) -> String {
    let clerk = clerk_token(s, admin, username).await;
    let (st, v) = s
        .post_json(
            &format!("/api/v1/windows/{window}/sign-in"),
            Some(&clerk),
            &json!({}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    clerk
}

pub(crate) async fn clerk_token(s: &TestServer, admin: &str, username: &str) -> String {
    let (st, v) = s
        .post_json(
            "/api/v1/accounts",
            Some(admin),
            &json!({"username": username, "display_name": "王窗口", "role": "clerk",
                    "hall": HALL, "password": "clerk2026pw"}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    s.token(username, "clerk2026pw").await
}

#[tokio::test]
async fn a_hall_is_set_up_with_queues_and_windows_and_bad_input_changes_nothing() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let (admin, w1, _) = demo_hall(&s).await;
        let (st, v) = s.get_json(&format!("/api/v1/halls/{HALL}"), None).await;
        assert_eq!(st, 200);
        assert_eq!(v["queues"].as_array().unwrap().len(), 2);
        let w = &v["windows"][0];
        assert_eq!(
            (w["id"].as_i64(), w["queues"].clone()),
            (Some(w1), json!(["a", "b"]))
        );
        // Every bad field at once, in Chinese, and nothing written.
        let (st, v) = s
            .post_json(
                &format!("/api/v1/halls/{HALL}/windows"),
                Some(&admin),
                &json!({"code": "W 9", "name": "", "kind": "vip", "queues": ["zz"]}),
            )
            .await;
        assert_eq!(st, 422, "{v}");
        let fields = crate::support::error_fields(&v);
        for f in ["code", "name", "kind", "queues"] {
            assert!(fields.contains(&f), "{f} in {v}");
        }
        let (st, v) = s
            .post_json(
                &format!("/api/v1/halls/{HALL}/queues"),
                Some(&admin),
                &json!({"code": "c", "name": "社保", "prefix": "a1"}),
            )
            .await;
        assert_eq!(st, 422, "{v}");
        assert_eq!(v["errors"][0]["field"], "prefix");
        let (st, _) = s
            .post_json(
                &format!("/api/v1/halls/{HALL}/queues"),
                Some(&admin),
                &json!({"code": "a", "name": "重复", "prefix": "C"}),
            )
            .await;
        assert_eq!(st, 409);
        let (_, v) = s.get_json(&format!("/api/v1/halls/{HALL}"), None).await;
        assert_eq!(v["queues"].as_array().unwrap().len(), 2);
        assert_eq!(v["windows"].as_array().unwrap().len(), 2);
        // A hall hangs from the region tree: an unknown region is refused.
        let (st, v) = s
            .post_json(
                "/api/v1/halls",
                Some(&admin),
                &json!({"code": "QS", "name": "青山县政务服务中心", "region": "999999"}),
            )
            .await;
        assert_eq!(
            (st, crate::support::error_fields(&v)),
            (422, vec!["region"]),
            "{v}"
        );
        // Set-up needs an admin or hall-manager token.
        let (st, _) =
            anonymous_post(&s, "/api/v1/halls", &json!({"code": "X", "name": "某大厅"})).await;
        assert_eq!(st, 401);
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn tickets_are_numbered_per_queue_and_show_people_ahead_and_an_estimated_wait() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let (admin, _, _) = demo_hall(&s).await;
        let a1 = take_ok(&s, None, "a").await;
        let a2 = take_ok(&s, Some(&admin), "a").await;
        let b1 = take_ok(&s, None, "b").await;
        assert_eq!(
            (
                a1["number"].as_str(),
                a2["number"].as_str(),
                b1["number"].as_str()
            ),
            (Some("A001"), Some("A002"), Some("B001"))
        );
        assert_eq!(a1["status"], "waiting");
        assert_eq!(a1["channel"], "kiosk");
        assert_eq!(a2["channel"], "guide_desk");
        assert_eq!(
            (a1["ahead"].as_i64(), a2["ahead"].as_i64()),
            (Some(0), Some(1))
        );
        // No window is open for the queue yet: no estimate rather than a made-up one.
        assert_eq!(a2["estimated_wait_minutes"], Value::Null);
        let (st, v) = s
            .get_json(&format!("/api/v1/tickets/{}", a2["id"]), None)
            .await;
        assert_eq!(st, 200);
        assert_eq!(
            (v["number"].as_str(), v["ahead"].as_i64()),
            (Some("A002"), Some(1))
        );
        // With a clerk signed in, one window is open: A002 waits for A001's service.
        let w = window(&s, &admin, "W3", &["a"]).await;
        clerk_at(&s, &admin, "wang", w).await;
        let (_, v) = s
            .get_json(&format!("/api/v1/tickets/{}", a2["id"]), None)
            .await;
        assert_eq!(
            v["estimated_wait_minutes"], 10,
            "default service time, one window: {v}"
        );
        let (st, v) = take(&s, None, json!({"queue": "nope"})).await;
        assert_eq!((st, v["errors"][0]["field"].as_str()), (422, Some("queue")));
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_real_name_ticket_needs_a_valid_id_number_r_id_18_and_shows_it_masked_r_pii() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        demo_hall(&s).await;
        let (st, v) = take(
            &s,
            None,
            json!({"queue": "a", "id_number": "110105194912310021"}),
        )
        .await;
        assert_eq!(st, 422, "{v}");
        assert_eq!(v["errors"][0]["field"], "id_number");
        let (st, v) = take(&s, None, json!({"queue": "a", "phone": "1234"})).await;
        assert_eq!((st, v["errors"][0]["field"].as_str()), (422, Some("phone")));
        let (st, v) = take(
            &s,
            None,
            json!({"queue": "a", "id_number": "11010519491231002x"}),
        )
        .await;
        assert_eq!(st, 201, "{v}");
        assert_eq!(v["holder"], "1101**********002X");
        // Born 1949: elderly by the default policy, found from the number itself.
        assert_eq!(v["categories"], json!(["elderly"]));
        let body = serde_json::to_string(&v).unwrap();
        assert!(!body.contains("11010519491231002"), "{body}");
        let (st, v) = take(&s, None, json!({"queue": "b", "phone": "13812345678"})).await;
        assert_eq!(st, 201, "{v}");
        assert_eq!(v["holder"], "138****5678");
        // A visitor cannot claim a priority category at the kiosk; the guide desk checks it.
        let (st, v) = take(&s, None, json!({"queue": "a", "priority": "pregnant"})).await;
        assert_eq!(
            (st, v["errors"][0]["field"].as_str()),
            (422, Some("priority"))
        );
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn anonymous_tickets_are_limited_per_person_and_address_and_staff_tickets_are_not() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let (admin, _, _) = demo_hall(&s).await;
        for _ in 0..3 {
            let (st, v) = take(&s, None, json!({"queue": "a", "phone": "13812345678"})).await;
            assert_eq!(st, 201, "{v}");
        }
        let (st, v) = take(&s, None, json!({"queue": "b", "phone": "138 1234 5678"})).await;
        assert_eq!(
            (st, v["code"].as_str()),
            (429, Some("ticket_limit_person")),
            "{v}"
        );
        // The guide desk may issue one more for the same visitor.
        let (st, _) = take(
            &s,
            Some(&admin),
            json!({"queue": "b", "phone": "13812345678"}),
        )
        .await;
        assert_eq!(st, 201);
        // Ten a day from one address (this test's client) in all.
        for _ in 3..10 {
            take_ok(&s, None, "a").await;
        }
        let (st, v) = take(&s, None, json!({"queue": "a"})).await;
        assert_eq!(
            (st, v["code"].as_str()),
            (429, Some("ticket_limit_address")),
            "{v}"
        );
        // The limits are settings: a hall may lift the address limit.
        let (_, hall) = s.get_json(&format!("/api/v1/halls/{HALL}"), None).await;
        let mut settings = hall["settings"].clone();
        settings["limits"]["per_address_per_day"] = Value::Null;
        let (st, v) = s
            .send_json(
                reqwest::Method::PUT,
                &format!("/api/v1/halls/{HALL}/settings"),
                Some(&admin),
                &settings,
            )
            .await;
        assert_eq!(st, 200, "{v}");
        take_ok(&s, None, "a").await;
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn numbers_restart_the_next_day_and_day_end_closes_open_tickets_with_a_reason() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-02T09:00:00+08:00").await;
        let (admin, w1, _) = demo_hall(&s).await;
        let first = take_ok(&s, Some(&admin), "a").await;
        let second = take_ok(&s, Some(&admin), "a").await;
        let called = call(&s, &admin, w1).await.unwrap();
        assert_eq!(called["id"], first["id"]);
        s.set_clock("2026-03-02T18:00:05+08:00").await;
        let mut closed = Value::Null;
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let (_, v) = s
                .get_json(&format!("/api/v1/tickets/{}", second["id"]), None)
                .await;
            if v["status"] == "closed_at_day_end" {
                closed = v;
                break;
            }
        }
        assert_eq!(
            closed["status"], "closed_at_day_end",
            "the day-end timer fired"
        );
        assert!(
            closed["close_reason"]
                .as_str()
                .unwrap()
                .contains("办公时间已结束")
        );
        let (_, v) = s
            .get_json(&format!("/api/v1/tickets/{}", first["id"]), None)
            .await;
        assert_eq!(
            v["status"], "closed_at_day_end",
            "a called ticket is closed too"
        );
        s.set_clock("2026-03-03T08:45:00+08:00").await;
        let next = take_ok(&s, Some(&admin), "a").await;
        assert_eq!(next["number"], "A001");
        assert_eq!(next["service_date"], "2026-03-03");
        // Yesterday's A001 keeps its number: history is not renumbered.
        let (_, v) = s
            .get_json(&format!("/api/v1/tickets/{}", first["id"]), None)
            .await;
        assert_eq!(
            (v["number"].as_str(), v["service_date"].as_str()),
            (Some("A001"), Some("2026-03-02"))
        );
        // And the next day end is scheduled again.
        s.set_clock("2026-03-03T18:00:05+08:00").await;
        let mut status = Value::Null;
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let (_, v) = s
                .get_json(&format!("/api/v1/tickets/{}", next["id"]), None)
                .await;
            status = v["status"].clone();
            if status == "closed_at_day_end" {
                break;
            }
        }
        assert_eq!(status, "closed_at_day_end");
        s.stop().await;
    })
    .await;
}

/// A call's or an act's answer (built from what was just saved, not read again) is the ticket
/// as a fresh read shows it.
async fn assert_answer_is_the_stored_ticket(s: &TestServer, answer: &Value) {
    let (st, mut stored) = s
        .get_json(&format!("/api/v1/tickets/{}", answer["id"]), None)
        .await;
    assert_eq!(st, 200, "{stored}");
    let fresh = stored.as_object_mut().unwrap();
    fresh.remove("history");
    fresh.remove("hall");
    assert_eq!(&Value::Object(fresh.clone()), answer);
}

#[tokio::test]
async fn a_clerk_calls_recalls_starts_and_finishes_and_every_interval_is_recorded() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-02T09:00:00+08:00").await;
        let (admin, w1, w2) = demo_hall(&s).await;
        let clerk = clerk_token(&s, &admin, "wang").await;
        let t = take_ok(&s, None, "a").await;
        let id = t["id"].as_i64().unwrap();
        // Not signed in: the clerk may not call.
        let (st, v) = s
            .post_json(
                &format!("/api/v1/windows/{w1}/call"),
                Some(&clerk),
                &json!({}),
            )
            .await;
        assert_eq!(st, 403, "{v}");
        let (st, _) = s
            .post_json(
                &format!("/api/v1/windows/{w1}/sign-in"),
                Some(&clerk),
                &json!({}),
            )
            .await;
        assert_eq!(st, 200);
        // Signed in to W1, the clerk cannot call from W2 or sit at two windows.
        let (st, _) = s
            .post_json(
                &format!("/api/v1/windows/{w2}/call"),
                Some(&clerk),
                &json!({}),
            )
            .await;
        assert_eq!(st, 403);
        let (st, _) = s
            .post_json(
                &format!("/api/v1/windows/{w2}/sign-in"),
                Some(&clerk),
                &json!({}),
            )
            .await;
        assert_eq!(st, 409);
        s.set_clock("2026-03-02T09:05:00+08:00").await;
        let c = call(&s, &clerk, w1).await.unwrap();
        assert_eq!(
            (c["id"].as_i64(), c["status"].as_str()),
            (Some(id), Some("called"))
        );
        assert_eq!(c["window"]["code"], "W1");
        assert!(
            call(&s, &clerk, w1).await.is_none(),
            "nobody else waits: 204"
        );
        assert_answer_is_the_stored_ticket(&s, &c).await;
        let (st, v) = act(&s, &clerk, id, "recall").await;
        assert_eq!((st, v["recalls"].as_i64()), (200, Some(1)));
        assert_answer_is_the_stored_ticket(&s, &v).await;
        let (st, v) = act(&s, &clerk, id, "finish").await;
        assert_eq!(st, 409, "finish before start: {v}");
        s.set_clock("2026-03-02T09:06:00+08:00").await;
        let (st, v) = act(&s, &clerk, id, "start").await;
        assert_eq!(st, 200);
        assert_answer_is_the_stored_ticket(&s, &v).await;
        s.set_clock("2026-03-02T09:16:00+08:00").await;
        let (st, v) = act(&s, &clerk, id, "finish").await;
        assert_eq!((st, v["status"].as_str()), (200, Some("finished")));
        assert_answer_is_the_stored_ticket(&s, &v).await;
        let (_, v) = s.get_json(&format!("/api/v1/tickets/{id}"), None).await;
        let kinds: Vec<&str> = v["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["kind"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            ["waiting", "called", "serving"],
            "every interval is recorded"
        );
        assert!(
            v["history"]
                .as_array()
                .unwrap()
                .iter()
                .all(|h| !h["end"].is_null())
        );
        // Statistics from the intervals: a 5-minute wait, a 10-minute service.
        let (st, v) = s
            .get_json(
                &format!("/api/v1/halls/{HALL}/stats?from=2026-03-02&to=2026-03-02"),
                Some(&admin),
            )
            .await;
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["total"]["tickets"], 1);
        assert_eq!(v["total"]["finished"], 1);
        let near = |x: &Value, want: f64| (x.as_f64().unwrap() - want).abs() < 0.2;
        assert!(near(&v["total"]["waiting"]["mean"], 5.0), "{v}");
        assert!(near(&v["total"]["service"]["p90"], 10.0), "{v}");
        assert_eq!(v["by_window"][0]["window"], "W1");
        assert_eq!(v["by_channel"][0]["channel"], "kiosk");
        let (st, _) = s
            .get_json(&format!("/api/v1/halls/{HALL}/stats"), Some(&clerk))
            .await;
        assert_eq!(st, 403, "a clerk does not read the hall's statistics");
        let (st, v) = s
            .get_json(
                &format!("/api/v1/halls/{HALL}/stats?from=2026-03-05&to=2026-03-01"),
                Some(&admin),
            )
            .await;
        assert_eq!((st, v["errors"][0]["field"].as_str()), (422, Some("to")));
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_no_show_needs_the_set_number_of_recalls_first() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let (admin, w1, _) = demo_hall(&s).await;
        let t = take_ok(&s, None, "a").await;
        let id = t["id"].as_i64().unwrap();
        call(&s, &admin, w1).await.unwrap();
        let (st, v) = act(&s, &admin, id, "no-show").await;
        assert_eq!(
            (st, v["code"].as_str()),
            (409, Some("no_show_too_early")),
            "{v}"
        );
        act(&s, &admin, id, "recall").await;
        act(&s, &admin, id, "recall").await;
        let (st, v) = act(&s, &admin, id, "no-show").await;
        assert_eq!((st, v["status"].as_str()), (200, Some("no_show")));
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_transferred_ticket_keeps_its_waiting_time_and_goes_before_later_arrivals() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-02T09:00:00+08:00").await;
        let (admin, w1, w2) = demo_hall(&s).await;
        let early = take_ok(&s, None, "a").await;
        s.set_clock("2026-03-02T09:10:00+08:00").await;
        let later = take_ok(&s, None, "b").await;
        s.set_clock("2026-03-02T09:20:00+08:00").await;
        let c = call(&s, &admin, w1).await.unwrap();
        assert_eq!(c["id"], early["id"]);
        act(&s, &admin, c["id"].as_i64().unwrap(), "start").await;
        let (st, v) = s
            .post_json(
                &format!("/api/v1/tickets/{}/transfer", early["id"]),
                Some(&admin),
                &json!({"queue": "b"}),
            )
            .await;
        assert_eq!(st, 200, "{v}");
        assert_eq!(
            (
                v["queue"].as_str(),
                v["number"].as_str(),
                v["status"].as_str()
            ),
            (Some("b"), Some("A001"), Some("waiting"))
        );
        assert_eq!(
            v["ahead"], 0,
            "it waited since 09:00, before B001 came at 09:10"
        );
        let c = call(&s, &admin, w2).await.unwrap();
        assert_eq!(c["id"], early["id"]);
        let c = call(&s, &admin, w2).await.unwrap();
        assert_eq!(c["id"], later["id"]);
        let (st, v) = s
            .post_json(
                &format!("/api/v1/tickets/{}/transfer", later["id"]),
                Some(&admin),
                &json!({"queue": "zz"}),
            )
            .await;
        assert_eq!((st, v["errors"][0]["field"].as_str()), (422, Some("queue")));
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_wait_estimate_follows_the_pace_of_the_lines_recent_services() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-02T09:00:00+08:00").await;
        let (admin, _, _) = demo_hall(&s).await;
        let w = window(&s, &admin, "W3", &["a"]).await;
        let clerk = clerk_at(&s, &admin, "wang", w).await;
        take_ok(&s, None, "a").await;
        take_ok(&s, None, "a").await;
        let a3 = take_ok(&s, None, "a").await;
        // Before anyone was served, the default of ten minutes a visitor: two before it, one
        // window.
        let (_, v) = s
            .get_json(&format!("/api/v1/tickets/{}", a3["id"]), None)
            .await;
        assert_eq!(
            (v["ahead"].as_i64(), v["estimated_wait_minutes"].as_i64()),
            (Some(2), Some(20))
        );
        let first = call(&s, &clerk, w).await.unwrap();
        let id = first["id"].as_i64().unwrap();
        assert_eq!(act(&s, &clerk, id, "start").await.0, 200);
        s.set_clock("2026-03-02T09:04:00+08:00").await;
        assert_eq!(act(&s, &clerk, id, "finish").await.0, 200);
        // A002 is next with the window free; A003 waits for A002's service, at this line's
        // pace of four minutes.
        let (_, v) = s
            .get_json(&format!("/api/v1/tickets/{}", a3["id"]), None)
            .await;
        assert_eq!(
            (v["ahead"].as_i64(), v["estimated_wait_minutes"].as_i64()),
            (Some(1), Some(4)),
            "{v}"
        );
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn priority_tickets_go_ahead_but_only_by_their_head_start() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-02T09:00:00+08:00").await;
        let (admin, w1, _) = demo_hall(&s).await;
        let old = take_ok(&s, None, "a").await;
        s.set_clock("2026-03-02T09:25:00+08:00").await;
        let plain = take_ok(&s, None, "a").await;
        s.set_clock("2026-03-02T09:30:00+08:00").await;
        // Pregnant (weight 20): as if arrived at 09:10 — after the 09:00 ticket, before 09:25.
        let (st, prio) = take(
            &s,
            Some(&admin),
            json!({"queue": "a", "priority": ["pregnant"]}),
        )
        .await;
        assert_eq!(st, 201, "{prio}");
        assert_eq!(prio["ahead"], 1);
        let order: Vec<Value> = [
            call(&s, &admin, w1).await.unwrap(),
            call(&s, &admin, w1).await.unwrap(),
            call(&s, &admin, w1).await.unwrap(),
        ]
        .into_iter()
        .map(|t| t["id"].clone())
        .collect();
        assert_eq!(
            order,
            vec![old["id"].clone(), prio["id"].clone(), plain["id"].clone()]
        );
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_parked_ticket_resumes_at_its_place_and_a_requeued_one_goes_to_the_back() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-02T09:00:00+08:00").await;
        let (admin, w1, _) = demo_hall(&s).await;
        let first = take_ok(&s, None, "a").await;
        s.set_clock("2026-03-02T09:01:00+08:00").await;
        let second = take_ok(&s, None, "a").await;
        let id = call(&s, &admin, w1).await.unwrap()["id"].as_i64().unwrap();
        assert_eq!(act(&s, &admin, id, "park").await.1["status"], "parked");
        let (_, v) = act(&s, &admin, id, "resume").await;
        assert_eq!(
            (v["status"].as_str(), v["ahead"].as_i64()),
            (Some("waiting"), Some(0))
        );
        assert_eq!(call(&s, &admin, w1).await.unwrap()["id"], first["id"]);
        s.set_clock("2026-03-02T09:05:00+08:00").await;
        let (_, v) = act(&s, &admin, id, "requeue").await;
        assert_eq!(
            (v["status"].as_str(), v["ahead"].as_i64()),
            (Some("waiting"), Some(1))
        );
        assert_eq!(call(&s, &admin, w1).await.unwrap()["id"], second["id"]);
        s.stop().await;
    })
    .await;
}

/// A transition reads its ticket outside the write and writes it back guarded by what it read:
/// two staff acting on one ticket at once must not both act on the ticket as it was.
#[tokio::test]
async fn staff_acting_on_one_ticket_at_once_each_act_on_what_the_other_left_and_a_visit_is_finished_once()
 {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let (admin, w1, _) = demo_hall(&s).await;
        let t = take_ok(&s, None, "a").await;
        let id = t["id"].as_i64().unwrap();
        assert_eq!(call(&s, &admin, w1).await.unwrap()["id"], t["id"]);

        // Three recalls at once: each counts.
        let (a, b, c) = tokio::join!(
            act(&s, &admin, id, "recall"),
            act(&s, &admin, id, "recall"),
            act(&s, &admin, id, "recall")
        );
        assert_eq!((a.0, b.0, c.0), (200, 200, 200), "{a:?} {b:?} {c:?}");
        let (_, v) = s
            .get_json(&format!("/api/v1/tickets/{id}"), Some(&admin))
            .await;
        assert_eq!(v["recalls"], 3, "{v}");

        // Two finishes at once: one finishes the visit, the other is told it is over.
        assert_eq!(act(&s, &admin, id, "start").await.0, 200);
        let (a, b) = tokio::join!(act(&s, &admin, id, "finish"), act(&s, &admin, id, "finish"));
        let mut answers = [a.0, b.0];
        answers.sort_unstable();
        assert_eq!(answers, [200, 409], "{a:?} {b:?}");
        let refused = if a.0 == 409 { &a.1 } else { &b.1 };
        assert!(
            refused["title"].as_str().is_some_and(|t| !t.is_ascii()),
            "a Chinese message: {refused}"
        );
        let db = yichuang_store::Db::connect(&url).await.unwrap();
        let counts: (i64, i64) = yichuang_store::db_run!(&db, |c| sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM events WHERE kind = 'ticket_finished'), \
             (SELECT COUNT(*) FROM ticket_intervals WHERE ticket_id = $1 AND kind = 'serving')"
        )
        .bind(id)
        .fetch_one(c)
        .await
        .unwrap());
        db.close().await;
        assert_eq!(counts, (1, 1), "one finish, one service recorded");
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn twelve_windows_calling_at_once_on_600_waiting_tickets_call_each_exactly_once() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let (admin, w1, _) = demo_hall(&s).await;
        let mut windows = vec![w1];
        for i in 0..11 {
            windows.push(window(&s, &admin, &format!("X{i:02}"), &["a", "b"]).await);
        }
        let takers: Vec<_> = (0..6)
            .map(|k| {
                let (c, url, admin) = (
                    s.client.clone(),
                    s.at(&format!("/api/v1/halls/{HALL}/tickets")),
                    admin.clone(),
                );
                tokio::spawn(async move {
                    let mut ids = vec![];
                    for _ in 0..100 {
                        let q = if k % 2 == 0 { "a" } else { "b" };
                        let r = c
                            .post(&url)
                            .bearer_auth(&admin)
                            .json(&json!({"queue": q}))
                            .send()
                            .await
                            .unwrap();
                        assert_eq!(r.status(), 201);
                        ids.push(r.json::<Value>().await.unwrap()["id"].as_i64().unwrap());
                    }
                    ids
                })
            })
            .collect();
        let mut taken = HashSet::new();
        for t in takers {
            taken.extend(t.await.unwrap());
        }
        assert_eq!(taken.len(), 600);
        let callers: Vec<_> = windows
            .iter()
            .map(|w| {
                let (c, url, admin, base) = (
                    s.client.clone(),
                    s.at(&format!("/api/v1/windows/{w}/call")),
                    admin.clone(),
                    s.url.clone(),
                );
                tokio::spawn(async move {
                    let mut got = vec![];
                    loop {
                        let r = c.post(&url).bearer_auth(&admin).send().await.unwrap();
                        match r.status().as_u16() {
                            200 => {
                                let v: Value = r.json().await.unwrap();
                                let id = v["ticket"]["id"].as_i64().unwrap();
                                // Serving while the other windows call: no transaction may wait
                                // on another (SQLite's one writer, the pool's size).
                                for a in ["start", "finish"] {
                                    let r = c
                                        .post(format!("{base}/api/v1/tickets/{id}/{a}"))
                                        .bearer_auth(&admin)
                                        .send()
                                        .await
                                        .unwrap();
                                    assert_eq!(r.status(), 200, "{a}");
                                }
                                got.push(id);
                            }
                            204 => return got,
                            other => panic!("call answered {other}: {}", r.text().await.unwrap()),
                        }
                    }
                })
            })
            .collect();
        let mut called = vec![];
        let mut windows_that_called = 0;
        for c in callers {
            let got = c.await.unwrap();
            windows_that_called += usize::from(!got.is_empty());
            called.extend(got);
        }
        let unique: HashSet<i64> = called.iter().copied().collect();
        assert_eq!(
            called.len(),
            600,
            "each ticket called once ({})",
            s.backend()
        );
        assert_eq!(unique, taken, "none lost");
        assert!(
            windows_that_called > 1,
            "the windows really called side by side"
        );
        s.stop().await;
    })
    .await;
}

/// Reads server-sent events until `want` events named `name` arrived (or 5 s passed).
async fn read_events(
    resp: &mut reqwest::Response,
    name: &str,
    want: usize,
) -> Vec<(String, Value)> {
    let mut buf = String::new();
    let mut out = vec![];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while out
        .iter()
        .filter(|(n, _): &&(String, Value)| n == name)
        .count()
        < want
    {
        let chunk = tokio::time::timeout_at(deadline, resp.chunk())
            .await
            .expect("events in time")
            .unwrap()
            .unwrap();
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let (mut ev, mut data, mut id) = (String::new(), String::new(), None);
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    ev = v.trim().to_string();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim());
                } else if let Some(v) = line.strip_prefix("id:") {
                    id = Some(v.trim().to_string());
                }
            }
            if ev.is_empty() {
                continue;
            }
            let mut v: Value = serde_json::from_str(&data).unwrap_or(Value::Null);
            if let Some(id) = id {
                v["_id"] = json!(id);
            }
            out.push((ev, v));
        }
    }
    out
}

async fn open_feed(s: &TestServer, last: Option<&str>) -> reqwest::Response {
    let mut req = s.client.get(s.at(&format!("/api/v1/halls/{HALL}/events")));
    if let Some(l) = last {
        req = req.header("Last-Event-ID", l);
    }
    let r = req.send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    r
}

#[tokio::test]
async fn the_board_feed_shows_a_call_within_a_second_and_resumes_without_gaps_or_duplicates() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let (admin, w1, _) = demo_hall(&s).await;
        take_ok(&s, None, "a").await;
        take_ok(&s, None, "a").await;
        let mut feed = open_feed(&s, None).await;
        let started = std::time::Instant::now();
        let t = call(&s, &admin, w1).await.unwrap();
        let evs = read_events(&mut feed, "queue_changed", 1).await;
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
        let (_, called) = evs.iter().find(|(n, _)| n == "ticket_called").unwrap();
        assert_eq!(called["ticket"]["number"], t["number"]);
        assert_eq!(called["window"]["code"], "W1");
        assert_eq!(called["announce"], "请A001号到W1号窗口办理");
        let (_, q) = evs.iter().find(|(n, _)| n == "queue_changed").unwrap();
        assert_eq!(
            (q["queue"].as_str(), q["waiting"].as_i64()),
            (Some("a"), Some(1))
        );
        // A take counts itself among those waiting.
        take_ok(&s, None, "a").await;
        let taken = read_events(&mut feed, "queue_changed", 1).await;
        let (_, q) = taken.iter().find(|(n, _)| n == "queue_changed").unwrap();
        assert_eq!(
            (q["queue"].as_str(), q["waiting"].as_i64()),
            (Some("a"), Some(2))
        );
        let last_id = evs
            .iter()
            .rev()
            .find_map(|(_, v)| v["_id"].as_str())
            .unwrap()
            .to_string();
        drop(feed);
        // While the board is away: a recall, a notice, another call.
        act(&s, &admin, t["id"].as_i64().unwrap(), "recall").await;
        let (st, _) = s
            .send_json(
                reqwest::Method::PUT,
                &format!("/api/v1/halls/{HALL}/notice"),
                Some(&admin),
                &json!({"text": "今日下午三点系统维护"}),
            )
            .await;
        assert_eq!(st, 200);
        let t2 = call(&s, &admin, w1).await.unwrap();
        let mut feed = open_feed(&s, Some(&last_id)).await;
        let evs = read_events(&mut feed, "ticket_called", 2).await;
        let calls: Vec<(&str, bool)> = evs
            .iter()
            .filter(|(n, _)| n == "ticket_called")
            .map(|(_, v)| {
                (
                    v["ticket"]["number"].as_str().unwrap(),
                    v["recall"].as_bool().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            calls,
            vec![("A001", true), (t2["number"].as_str().unwrap(), false)]
        );
        assert!(
            evs.iter()
                .any(|(n, v)| n == "notice" && v["text"] == "今日下午三点系统维护")
        );
        let ids: Vec<i64> = evs
            .iter()
            .filter_map(|(_, v)| v["_id"].as_str())
            .map(|i| i.parse().unwrap())
            .collect();
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "in order, none twice: {ids:?}"
        );
        assert!(ids[0] > last_id.parse::<i64>().unwrap());
        drop(feed);
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_call_made_on_one_instance_reaches_a_board_on_another_over_postgresql() {
    let Some(url) = crate::support::backends()
        .await
        .into_iter()
        .find(|u| u.starts_with("postgres"))
    else {
        return;
    };
    let one = TestServer::start(&url).await;
    let mut cfg = config(&url);
    cfg.instance = "second".into();
    let two = TestServer::start_with(cfg).await;
    let (admin, w1, _) = demo_hall(&one).await;
    take_ok(&one, None, "a").await;
    let mut feed = open_feed(&two, None).await;
    let started = std::time::Instant::now();
    call(&one, &admin, w1).await.unwrap();
    let evs = read_events(&mut feed, "ticket_called", 1).await;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert!(
        evs.iter()
            .any(|(n, v)| n == "ticket_called" && v["ticket"]["number"] == "A001")
    );
    drop(feed);
    two.stop().await;
    one.stop().await;
}

/// Done means (issue 3): a visitor takes a ticket at the kiosk page, sees it on the phone page,
/// a clerk calls it from the workstation, the board shows and queues the spoken call, the
/// clerk finishes it — in a real browser.
#[tokio::test]
async fn a_visitor_takes_a_ticket_at_the_kiosk_and_the_board_shows_and_speaks_the_call() {
    let s = TestServer::start(&yichuang_store::testing::sqlite_url()).await;
    let Some(b) = crate::browser::Browser::start().await else {
        return;
    };
    let (admin, w1, _) = demo_hall(&s).await;
    let clerk = clerk_token(&s, &admin, "wang").await;
    let d = &b.driver;
    // The board, in its own tab.
    d.goto(s.at(&format!("/halls/{HALL}/board"))).await.unwrap();
    b.el("#board").await;
    let board_tab = d.window().await.unwrap();
    // The kiosk, in another.
    let other = d.new_tab().await.unwrap();
    d.switch_to_window(other.clone()).await.unwrap();
    d.goto(s.at(&format!("/halls/{HALL}/kiosk"))).await.unwrap();
    b.el("#elder-toggle").await.click().await.unwrap();
    assert_eq!(
        b.el("body")
            .await
            .class_name()
            .await
            .unwrap()
            .as_deref()
            .map(|c| c.contains("elder")),
        Some(true)
    );
    b.el("button[data-queue='a']").await.click().await.unwrap();
    let number = b.el("#r-number").await;
    for _ in 0..50 {
        if !number.text().await.unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(number.text().await.unwrap(), "A001");
    assert!(b.text_of("#r-wait-line").await.starts_with("前面还有 0 人"));
    let qr = b.el("#r-qr img").await.attr("src").await.unwrap().unwrap();
    let svg = s
        .client
        .get(s.at(&qr))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        svg.contains("<svg"),
        "the slip's QR code is an SVG from the server"
    );
    let phone = b.el("#r-link").await.attr("href").await.unwrap().unwrap();
    d.goto(s.at(&phone)).await.unwrap();
    assert_eq!(b.text_of("#p-number").await, "A001");
    assert_eq!(b.text_of("#p-status").await, "排队中");
    // The clerk signs in at the workstation and calls.
    d.add_cookie(thirtyfour::Cookie::new("yc_session", clerk.clone()))
        .await
        .unwrap();
    d.goto(s.at(&format!("/windows/{w1}/desk"))).await.unwrap();
    b.el("button[data-session='sign-in']")
        .await
        .click()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    b.el("button[data-act='call']").await.click().await.unwrap();
    let mut shown = String::new();
    for _ in 0..50 {
        shown = b.text_of("#desk-number").await;
        if shown == "A001" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(shown, "A001");
    // The board shows the call and queued its announcement.
    d.switch_to_window(board_tab).await.unwrap();
    let mut announced = None;
    for _ in 0..30 {
        announced = b
            .el("#board")
            .await
            .attr("data-last-announcement")
            .await
            .unwrap();
        if announced.as_deref().is_some_and(|a| !a.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(announced.as_deref(), Some("请A001号到W1号窗口办理"));
    assert_eq!(b.text_of("#board-calls .num").await, "A001");
    // The clerk starts and finishes.
    d.switch_to_window(other).await.unwrap();
    b.el("button[data-act='start']")
        .await
        .click()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    b.el("button[data-act='finish']")
        .await
        .click()
        .await
        .unwrap();
    let mut status = Value::Null;
    for _ in 0..30 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (_, v) = s.get_json("/api/v1/tickets/1", None).await;
        status = v["status"].clone();
        if status == "finished" {
            break;
        }
    }
    assert_eq!(status, "finished");
    b.quit().await;
    s.stop().await;
}

#[tokio::test]
async fn an_appointment_is_booked_checked_in_on_time_and_called_before_walk_ins() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-02T10:00:00+08:00").await;
        let (_, w1, _) = demo_hall(&s).await;
        let (st, v) = s
            .get_json(
                &format!("/api/v1/halls/{HALL}/slots?queue=a&date=2026-03-03"),
                None,
            )
            .await;
        assert_eq!(st, 200, "{v}");
        assert_eq!(
            v["slots"][0],
            json!({"start": "09:00", "end": "09:30", "available": 4})
        );
        let book = |phone: &'static str| {
            let s = &s;
            async move {
                anonymous_post(
                    s,
                    &format!("/api/v1/halls/{HALL}/appointments"),
                    &json!({"queue": "a", "date": "2026-03-03", "start": "09:00", "phone": phone}),
                )
                .await
            }
        };
        let (st, appt) = book("13812345678").await;
        assert_eq!(st, 201, "{appt}");
        assert_eq!(
            (appt["status"].as_str(), appt["holder"].as_str()),
            (Some("booked"), Some("138****5678"))
        );
        let (st, v) = book("13812345678").await;
        assert_eq!(
            (st, v["code"].as_str()),
            (429, Some("booking_limit_day")),
            "{v}"
        );
        for p in ["13900000001", "13900000002", "13900000003"] {
            assert_eq!(book(p).await.0, 201);
        }
        let (st, v) = book("13900000004").await;
        assert_eq!((st, v["code"].as_str()), (409, Some("slot_full")), "{v}");
        let (st, v) = anonymous_post(
            &s,
            &format!("/api/v1/halls/{HALL}/appointments"),
            &json!({"queue": "a", "date": "2026-03-03", "start": "09:10", "phone": "13900000009"}),
        )
        .await;
        assert_eq!((st, v["errors"][0]["field"].as_str()), (422, Some("start")));
        let id = appt["id"].as_i64().unwrap();
        let check_in = |phone: &'static str| {
            let s = &s;
            async move {
                anonymous_post(
                    s,
                    &format!("/api/v1/appointments/{id}/check-in"),
                    &json!({"phone": phone}),
                )
                .await
            }
        };
        let (st, v) = check_in("13812345678").await;
        assert_eq!(
            (st, v["code"].as_str()),
            (409, Some("check_in_too_early")),
            "{v}"
        );
        s.set_clock("2026-03-03T08:40:00+08:00").await;
        // A new day: yesterday's session has lapsed.
        let admin = s.admin_token().await;
        let walk_in = take_ok(&s, Some(&admin), "a").await;
        s.set_clock("2026-03-03T08:45:00+08:00").await;
        let (st, _) = check_in("13900000001").await;
        assert_eq!(st, 403, "someone else's appointment");
        let (st, t) = check_in("13812345678").await;
        assert_eq!(st, 201, "{t}");
        assert_eq!(
            (t["channel"].as_str(), t["categories"].clone()),
            (Some("appointment"), json!(["appointment"]))
        );
        assert_eq!(
            t["ahead"], 0,
            "an on-time appointment goes ahead of a walk-in of 08:40"
        );
        let (st, v) = check_in("13812345678").await;
        assert_eq!(
            (st, v["code"].as_str()),
            (409, Some("invalid_appointment_transition"))
        );
        assert_eq!(call(&s, &admin, w1).await.unwrap()["id"], t["id"]);
        assert_eq!(call(&s, &admin, w1).await.unwrap()["id"], walk_in["id"]);
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_manager_pages_and_the_window_strip_render_in_chinese_and_staff_pages_need_a_login() {
    let s = TestServer::start(&yichuang_store::testing::sqlite_url()).await;
    let (admin, w1, _) = demo_hall(&s).await;
    let anon = crate::support::client();
    let r = anon
        .get(s.at(&format!("/halls/{HALL}/manage")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "to the login page");
    let r = anon
        .get(s.at(&format!("/windows/{w1}/desk")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    take_ok(&s, None, "a").await;
    call(&s, &admin, w1).await.unwrap();
    let page = |path: String| {
        let c = s.client.clone();
        let url = s.at(&path);
        async move {
            let r = c.get(url).send().await.unwrap();
            assert_eq!(r.status(), 200, "{path}");
            r.text().await.unwrap()
        }
    };
    // `s.client` holds the admin's session cookie from `admin_token`.
    let manage = page(format!("/halls/{HALL}/manage")).await;
    assert!(
        manage.contains("大厅设置")
            && manage.contains("W1 综合窗口")
            && manage.contains("企业开办 → 不动产登记")
    );
    let stats = page(format!("/halls/{HALL}/stats")).await;
    assert!(stats.contains("排队统计") && stats.contains("按队列") && stats.contains("企业开办"));
    let strip = page(format!("/windows/{w1}/strip")).await;
    assert!(
        strip.contains("A001"),
        "the strip shows the window's current call"
    );
    let board = page(format!("/halls/{HALL}/board")).await;
    assert!(board.contains("data-last-announcement") && board.contains("/static/hall.js"));
    assert!(
        !board.contains("https://") && !board.contains("http://"),
        "no external asset"
    );
    s.stop().await;
}

#[tokio::test]
async fn the_demo_halls_load_after_the_demo_catalogue_and_loading_twice_changes_nothing() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let root = env!("CARGO_MANIFEST_DIR");
        let read = |f: &str| std::fs::read_to_string(format!("{root}/data/demo/{f}")).unwrap();
        let catalogue: yichuang_domain::catalogue::Catalogue =
            serde_json::from_str(&read("catalogue.json")).unwrap();
        let setup: yichuang_domain::demo::HallSetup =
            serde_json::from_str(&read("halls.json")).unwrap();
        let db = &s.running.state.db;
        let now = s.running.state.now();
        yichuang_store::catalogue::import_catalogue(db, &catalogue, "system:demo", now)
            .await
            .unwrap();
        let n = yichuang_server::hall::load_demo_halls(db, &setup, now)
            .await
            .unwrap();
        assert_eq!(n, setup.halls.len());
        assert_eq!(
            yichuang_server::hall::load_demo_halls(db, &setup, now)
                .await
                .unwrap(),
            0
        );
        let (_, v) = s.get_json("/api/v1/halls/YL-ZWFW", None).await;
        assert_eq!(
            v["windows"].as_array().unwrap().len(),
            setup.halls[0].windows.len()
        );
        assert_eq!(v["region"], "990100");
        let (st, t) = anonymous_post(
            &s,
            "/api/v1/halls/YL-ZWFW/tickets",
            &json!({"queue": "enterprise"}),
        )
        .await;
        assert_eq!((st, t["number"].as_str()), (201, Some("A001")));
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_day_end_that_fires_late_closes_only_the_days_that_ended_and_leaves_todays_queue() {
    on_each_backend(|url| async move {
        let mut c = crate::support::config(&url);
        c.workers = false; // the test fires the timer itself, late
        let s = TestServer::start_with(c).await;
        s.set_clock("2026-03-02T10:00:00+08:00").await;
        let _ = demo_hall(&s).await;
        let yesterday = take_ok(&s, None, "a").await;
        s.set_clock("2026-03-03T08:40:00+08:00").await;
        let today = take_ok(&s, None, "a").await;
        assert_eq!(today["number"], "A001", "numbers restart each day");

        // The 2 March day end fires only now, on 3 March.
        let due = chrono::DateTime::parse_from_rfc3339("2026-03-02T23:59:00+08:00")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let state = &s.running.state;
        let mut tx = state.db.begin().await.unwrap();
        let closed = yichuang_server::hall::day_end::close_day(&mut tx, HALL, due, state.now())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(closed, 1);
        let (_, y) = s
            .get_json(&format!("/api/v1/tickets/{}", yesterday["id"]), None)
            .await;
        let (_, t) = s
            .get_json(&format!("/api/v1/tickets/{}", today["id"]), None)
            .await;
        assert_eq!(y["status"], "closed_at_day_end", "{y}");
        assert_eq!(t["status"], "waiting", "{t}");
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_manager_changes_the_queues_a_window_serves_and_its_next_call_follows_the_new_order() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let (admin, w1, _) = demo_hall(&s).await;
        let clerk = clerk_at(&s, &admin, "clerk9", w1).await;
        let a = take_ok(&s, None, "a").await;
        let b = take_ok(&s, None, "b").await;

        // Refused whole: an unknown queue, a blank name; and a clerk may not change windows.
        let (st, v) = put_window(
            &s,
            &admin,
            w1,
            json!({"name": " ", "kind": "comprehensive", "queues": ["b", "x"]}),
        )
        .await;
        assert_eq!(
            (st, crate::support::error_fields(&v)),
            (422, vec!["name", "queues"]),
            "{v}"
        );
        let (st, _) = put_window(
            &s,
            &clerk,
            w1,
            json!({"name": "综合窗口", "kind": "comprehensive", "queues": ["b", "a"]}),
        )
        .await;
        assert_eq!(st, 403);
        let (_, w) = s
            .get_json(&format!("/api/v1/windows/{w1}"), Some(&admin))
            .await;
        assert_eq!(w["queues"], json!(["a", "b"]), "nothing changed");

        // B first now: the signed-in clerk's next call takes B001 although A001 came first.
        let (st, w) = put_window(
            &s,
            &admin,
            w1,
            json!({"name": "综合窗口", "kind": "comprehensive", "queues": ["b", "a"]}),
        )
        .await;
        assert_eq!(st, 200, "{w}");
        assert_eq!(
            (w["queues"].clone(), w["status"].clone()),
            (json!(["b", "a"]), json!("open"))
        );
        let called = call(&s, &clerk, w1).await.unwrap();
        assert_eq!(called["id"], b["id"], "{called}");
        assert_ne!(called["id"], a["id"]);
        s.stop().await;
    })
    .await;
}

async fn put_window(s: &TestServer, token: &str, id: i64, body: Value) -> (u16, Value) {
    s.send_json(
        reqwest::Method::PUT,
        &format!("/api/v1/windows/{id}"),
        Some(token),
        &body,
    )
    .await
}

#[tokio::test]
async fn a_queue_is_renamed_and_reprefixed_but_never_given_a_prefix_another_queue_uses() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let (admin, _, _) = demo_hall(&s).await;
        let a1 = take_ok(&s, None, "a").await;
        // B belongs to 不动产登记: two B001 in one hall would call two people at once.
        let (st, v) = put_queue(&s, &admin, "a", json!({"name": "企业开办", "prefix": "B"})).await;
        assert_eq!(
            (st, crate::support::error_fields(&v)),
            (422, vec!["prefix"]),
            "{v}"
        );
        assert!(v.to_string().contains("不动产登记"), "{v}");
        let (st, v) = s
            .post_json(
                &format!("/api/v1/halls/{HALL}/queues"),
                Some(&admin),
                &json!({"code": "c", "name": "社保", "prefix": "A"}),
            )
            .await;
        assert_eq!(
            (st, crate::support::error_fields(&v)),
            (422, vec!["prefix"])
        );
        let (_, h) = s.get_json(&format!("/api/v1/halls/{HALL}"), None).await;
        assert_eq!(h["queues"][0]["prefix"], "A", "nothing changed: {h}");

        let (st, v) = put_queue(
            &s,
            &admin,
            "a",
            json!({"name": "企业开办（含一件事）", "prefix": "K"}),
        )
        .await;
        assert_eq!(st, 200, "{v}");
        let a2 = take_ok(&s, None, "a").await;
        assert_eq!(
            (a1["number"].as_str(), a2["number"].as_str()),
            (Some("A001"), Some("K002")),
            "the taken ticket keeps its number, the count goes on"
        );
        let (st, _) = put_queue(&s, &admin, "nope", json!({"name": "无", "prefix": "N"})).await;
        assert_eq!(st, 404);
        s.stop().await;
    })
    .await;
}

async fn put_queue(s: &TestServer, token: &str, queue: &str, body: Value) -> (u16, Value) {
    s.send_json(
        reqwest::Method::PUT,
        &format!("/api/v1/halls/{HALL}/queues/{queue}"),
        Some(token),
        &body,
    )
    .await
}
