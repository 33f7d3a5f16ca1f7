//! 好差评 and 回访 over HTTP on both backends: tokens (R-EVAL-ONCE), bad ratings to
//! rectification and callbacks (R-BAD-RATING, R-CALLBACK-DAILY), invitations and default
//! ratings (R-EVAL-DEFAULT), appeals, and the numbers.

use serde_json::{Value, json};

use crate::cases::{account, application, item, publish};
use crate::hall::{HALL, act, call, clerk_at, demo_hall, take_ok};
use crate::support::{TestServer, error_fields, on_each_backend};

pub struct Desk {
    pub admin: String,
    pub clerk: String,
    pub approver: String,
    pub callback: String,
    pub supervisor: String,
    pub window: i64,
}

/// Hall YL with windows, a clerk signed in at W1, item X001 of 市场监管局 (scj), an approver of
/// scj, a callback staff member and a supervisor.
pub async fn desk(s: &TestServer) -> Desk {
    let (admin, w1, _) = demo_hall(s).await;
    let clerk = clerk_at(s, &admin, "clerk1", w1).await;
    publish(s, &item("X001", false)).await;
    Desk {
        approver: account(
            s,
            &admin,
            "scj1",
            json!({"role": "approver", "department": "scj"}),
        )
        .await,
        callback: account(s, &admin, "cb1", json!({"role": "callback"})).await,
        supervisor: account(s, &admin, "sup1", json!({"role": "supervisor"})).await,
        admin,
        clerk,
        window: w1,
    }
}

impl Desk {
    /// Signs everyone in again: sessions end after hours without use, and tests move the clock.
    pub async fn again(&mut self, s: &TestServer) {
        self.admin = s.admin_token().await;
        self.clerk = s.token("clerk1", "clerk2026pw").await;
        self.approver = s.token("scj1", "staff2026pw").await;
        self.callback = s.token("cb1", "staff2026pw").await;
        self.supervisor = s.token("sup1", "staff2026pw").await;
    }
}

/// A case received at W1 with a material missing, then refused by the clerk: it ends at the
/// window, so its rating waits on W1's pad. Returns the case number.
pub async fn ended_case(s: &TestServer, d: &Desk) -> String {
    let (st, v) = s
        .post_json(
            "/api/v1/cases",
            Some(&d.clerk),
            &application("X001", &["A"]),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let n = v["number"].as_str().unwrap().to_string();
    let (st, v) = s
        .post_json(
            &format!("/api/v1/cases/{n}/refuse"),
            Some(&d.clerk),
            &json!({"reasons": ["申请人撤回申请"]}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    n
}

/// The token the rater holds (from the receipt's QR code or the SMS).
pub async fn token_of(s: &TestServer, kind: &str, id: &str) -> String {
    yichuang_store::ratings::token_of_subject(&s.running.state.db, kind, id, "conclusion")
        .await
        .unwrap()
        .expect("a token")
        .token
}

pub async fn rate(s: &TestServer, body: Value) -> (u16, Value) {
    crate::hall::anonymous_post(s, "/api/v1/ratings", &body).await
}

async fn ratings(s: &TestServer, token: &str) -> Vec<Value> {
    let (st, v) = s.get_json("/api/v1/ratings", Some(token)).await;
    assert_eq!(st, 200, "{v}");
    v["ratings"].as_array().unwrap().clone()
}

async fn numbers(s: &TestServer, token: &str, month: &str) -> Value {
    let (st, v) = s
        .get_json(
            &format!("/api/v1/ratings/stats?month={month}&by=hall"),
            Some(token),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    v["rows"].as_array().unwrap().last().unwrap().clone()
}

#[tokio::test]
async fn a_case_is_rated_once_with_its_token_and_never_by_its_number_alone_r_eval_once() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-02T09:00:00+08:00").await;
        let d = desk(&s).await;
        let n = ended_case(&s, &d).await;
        let other = ended_case(&s, &d).await;
        let token = token_of(&s, "case", &n).await;
        let other_token = token_of(&s, "case", &other).await;

        // Bad input: each refused with a Chinese message at its field, nothing written.
        let (st, e) = rate(&s, json!({"case_number": n, "level": 5})).await;
        assert_eq!(
            (st, e["code"].as_str()),
            (422, Some("rating_token_required")),
            "{e}"
        );
        for level in [0, 6] {
            let (st, e) = rate(&s, json!({"token": token, "level": level})).await;
            assert_eq!(st, 422, "{e}");
            assert_eq!(error_fields(&e), vec!["level"]);
        }
        let (st, e) = rate(
            &s,
            json!({"token": token, "level": 4, "comment": "很".repeat(100_000)}),
        )
        .await;
        assert_eq!(st, 422, "{e}");
        assert_eq!(error_fields(&e), vec!["comment"]);
        let (st, e) = rate(
            &s,
            json!({"token": other_token, "case_number": n, "level": 5}),
        )
        .await;
        assert_eq!(
            (st, e["code"].as_str()),
            (422, Some("rating_token_mismatch")),
            "{e}"
        );
        let (st, e) = rate(&s, json!({"token": "nosuchtoken", "level": 5})).await;
        assert_eq!(st, 404, "{e}");
        // A staff member cannot rate for the applicant, with any token.
        let (st, e) = s
            .post_json(
                "/api/v1/ratings",
                Some(&d.clerk),
                &json!({"token": token, "level": 5}),
            )
            .await;
        assert_eq!(st, 403, "{e}");
        assert!(
            ratings(&s, &d.admin).await.is_empty(),
            "nothing was recorded"
        );

        let (st, v) = rate(
            &s,
            json!({"token": token, "level": 5, "channel": "phone",
                                       "indicators": {"efficiency": 5, "convenience": 4}}),
        )
        .await;
        assert_eq!(st, 201, "{v}");
        assert_eq!(v["bad"], false);
        let (st, e) = rate(&s, json!({"token": token, "level": 1})).await;
        assert_eq!(
            (st, e["code"].as_str()),
            (409, Some("rating_token_used")),
            "{e}"
        );

        let list = ratings(&s, &d.admin).await;
        assert_eq!(list.len(), 1);
        assert_eq!(list[0]["subject"]["id"], n.as_str());
        assert_eq!(list[0]["level"], 5);
        assert_eq!(list[0]["hall"], HALL);
        assert_eq!(list[0]["department"], "scj");
        assert!(
            list[0].get("phone").is_none() && list[0].get("name").is_none(),
            "raters stay anonymous"
        );

        // Ratings cannot be changed: no endpoint, and the table refuses it.
        let id = list[0]["id"].as_i64().unwrap();
        for m in [reqwest::Method::PUT, reqwest::Method::DELETE] {
            let (st, _) = s
                .send_json(
                    m,
                    &format!("/api/v1/ratings/{id}"),
                    Some(&d.admin),
                    &json!({"level": 1}),
                )
                .await;
            assert!(st == 404 || st == 405, "{st}");
        }
        let changed = match &s.running.state.db {
            yichuang_store::Db::Sqlite(p) => sqlx::query("UPDATE ratings SET level = 1")
                .execute(p)
                .await
                .is_ok(),
            yichuang_store::Db::Postgres(p) => sqlx::query("UPDATE ratings SET level = 1")
                .execute(p)
                .await
                .is_ok(),
        };
        assert!(!changed, "the ratings table is append-only");
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_finished_visit_waits_on_its_windows_pad_and_its_token_expires() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-02T09:00:00+08:00").await;
        let d = desk(&s).await;
        let t = take_ok(&s, None, "a").await;
        let id = t["id"].as_i64().unwrap();
        // The slip carries the rating link; it rates only once the visit is served.
        let link = t["rating_link"]
            .as_str()
            .expect("the slip's rating link")
            .to_string();
        let (st, e) = rate(
            &s,
            json!({"token": link.trim_start_matches("/rate/"), "level": 5}),
        )
        .await;
        assert_eq!(
            (st, e["code"].as_str()),
            (409, Some("rating_not_ready")),
            "{e}"
        );
        let qr = crate::support::client()
            .get(s.at(&format!("{link}/qr.svg")))
            .send()
            .await
            .unwrap();
        assert_eq!(qr.headers()["content-type"], "image/svg+xml");
        call(&s, &d.clerk, d.window).await.unwrap();
        act(&s, &d.clerk, id, "start").await;
        let (st, v) = act(&s, &d.clerk, id, "finish").await;
        assert_eq!(st, 200, "{v}");
        let token = token_of(&s, "visit", &id.to_string()).await;
        assert_eq!(
            link,
            format!("/rate/{token}"),
            "the slip's token is the one the pad offers"
        );
        let (_, info) = s
            .get_json(&format!("/api/v1/rating-tokens/{token}"), None)
            .await;
        assert_eq!(info["ready"], true, "{info}");
        assert_eq!(
            info["indicators"][2]["label"], "服务态度",
            "the on-site question set"
        );
        // The pad needs its key; with it, its stream offers this visit's rating at once.
        let (st, _) = s
            .get_json(
                &format!("/api/v1/windows/{}/pad/events?key=wrong", d.window),
                None,
            )
            .await;
        assert_eq!(st, 403);
        let (_, key) = s
            .post_json(
                &format!("/api/v1/windows/{}/pad-key", d.window),
                Some(&d.admin),
                &json!({}),
            )
            .await;
        let mut r = crate::support::client()
            .get(s.at(&format!(
                "/api/v1/windows/{}/pad/events?key={}",
                d.window,
                key["key"].as_str().unwrap()
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let first = String::from_utf8(r.chunk().await.unwrap().unwrap().to_vec()).unwrap();
        assert!(
            first.contains("event: pad") && first.contains(&token),
            "{first}"
        );
        drop(r);
        // Thirty days later the link has expired.
        s.set_clock("2026-04-02T09:00:00+08:00").await;
        let (st, e) = rate(&s, json!({"token": token, "level": 5, "channel": "pad"})).await;
        assert_eq!(
            (st, e["code"].as_str()),
            (422, Some("rating_token_expired")),
            "{e}"
        );
        s.stop().await;
    })
    .await;
}

async fn post_ok(s: &TestServer, token: &str, path: &str, body: Value) -> Value {
    let (st, v) = s.post_json(path, Some(token), &body).await;
    assert_eq!(st, 200, "{path}: {v}");
    v
}

async fn open_callbacks(s: &TestServer, token: &str) -> Vec<Value> {
    let (st, v) = s.get_json("/api/v1/callbacks", Some(token)).await;
    assert_eq!(st, 200, "{v}");
    v["callbacks"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_bad_rating_is_rectified_called_back_and_the_fix_rated_r_bad_rating_r_callback_daily() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        // Thursday 2 April 2026: 4–6 April is 清明, so 5 working days end Friday 10 April.
        s.set_clock("2026-04-02T10:00:00+08:00").await;
        let mut d = desk(&s).await;
        let n = ended_case(&s, &d).await;
        let token = token_of(&s, "case", &n).await;
        let (st, r) = rate(&s, json!({"token": token, "level": 1, "comment": "窗口让我跑了三趟"})).await;
        assert_eq!(st, 201, "{r}");
        assert_eq!(r["bad"], true);
        let rect = r["rectification"].as_i64().unwrap();
        let cb = r["callback"].as_i64().unwrap();

        let (_, v) = s.get_json(&format!("/api/v1/rectifications/{rect}"), Some(&d.approver)).await;
        assert_eq!(v["deadline"], "2026-04-10", "{v}");
        assert_eq!(v["status"], "open");
        assert_eq!(v["light"], "green");
        // Another department's approver does not own it.
        let other = account(&s, &d.admin, "gaj1", json!({"role": "approver", "department": "gaj"})).await;
        let (st, _) = s.get_json(&format!("/api/v1/rectifications/{rect}"), Some(&other)).await;
        assert_eq!(st, 403);

        // The callback: due 19:00 the same day, number masked until taken.
        let list = open_callbacks(&s, &d.callback).await;
        let c = list.iter().find(|c| c["id"] == cb).unwrap();
        assert_eq!(c["kind"], "bad_rating");
        assert_eq!(c["phone"], "138****5678");
        assert_eq!(c["due_at"], "2026-04-02T19:00:00+08:00");
        let (st, _) = s.get_json(&format!("/api/v1/callbacks/{cb}/phone"), Some(&d.callback)).await;
        assert_eq!(st, 403, "only the holder sees the number");
        post_ok(&s, &d.callback, &format!("/api/v1/callbacks/{cb}/take"), json!({})).await;
        let (_, p) = s.get_json(&format!("/api/v1/callbacks/{cb}/phone"), Some(&d.callback)).await;
        assert_eq!(p["phone"], "13812345678");
        let shown = yichuang_store::events::for_subject(&s.running.state.db, "callback", &cb.to_string()).await.unwrap();
        assert!(shown.iter().any(|e| e.kind == "callback_phone_shown" && e.actor == "callback:cb1"));
        let (st, e) = s.post_json(&format!("/api/v1/callbacks/{cb}/attempts"), Some(&d.callback),
            &json!({"outcome": "reached", "satisfied": false})).await;
        assert_eq!(st, 422, "not satisfied needs the problem: {e}");
        post_ok(&s, &d.callback, &format!("/api/v1/callbacks/{cb}/attempts"),
            json!({"outcome": "reached", "satisfied": false, "problem": "材料清单和窗口说法不一致"})).await;
        let (_, v) = s.get_json(&format!("/api/v1/rectifications/{rect}"), Some(&d.approver)).await;
        assert!(v["problem"].as_str().unwrap().contains("材料清单和窗口说法不一致"), "{v}");

        // The owner fixes it with evidence; the second callback is listed.
        let (st, e) = s.post_json(&format!("/api/v1/rectifications/{rect}/actions"), Some(&d.approver),
            &json!({"action": "fix", "evidence": ""})).await;
        assert_eq!(st, 422, "{e}");
        assert_eq!(error_fields(&e), vec!["evidence"]);
        s.set_clock("2026-04-08T10:00:00+08:00").await;
        d.again(&s).await;
        let v = post_ok(&s, &d.approver, &format!("/api/v1/rectifications/{rect}/actions"),
            json!({"action": "fix", "evidence": "已统一材料清单并培训窗口人员"})).await;
        assert_eq!(v["outcome"], "fixed_by_deadline");
        assert_eq!(v["on_time"], true);
        let follow = open_callbacks(&s, &d.callback).await.into_iter().find(|c| c["kind"] == "follow_up").unwrap();
        let f = follow["id"].as_i64().unwrap();
        post_ok(&s, &d.callback, &format!("/api/v1/callbacks/{f}/take"), json!({})).await;
        post_ok(&s, &d.callback, &format!("/api/v1/callbacks/{f}/attempts"),
            json!({"outcome": "reached", "satisfied": true, "fix_level": 4})).await;
        let (_, v) = s.get_json(&format!("/api/v1/rectifications/{rect}"), Some(&d.supervisor)).await;
        assert_eq!(v["rater_level"], 4);

        let total = numbers(&s, &d.supervisor, "2026-04").await;
        assert_eq!(total["counts"]["ratings"], 1);
        assert_eq!(total["counts"]["bad"], 1);
        assert_eq!(total["counts"]["named_bad_called"], 1);
        assert_eq!(total["counts"]["rectified_on_time"], 1);
        assert_eq!(total["rates"]["satisfaction"], 0.0);
        assert_eq!(total["rates"]["named_bad_callback"], 1.0);
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn an_unrated_case_is_invited_by_sms_then_rated_by_default_which_never_counts_r_eval_default()
{
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-02T09:00:00+08:00").await;
        let mut d = desk(&s).await;
        let n = ended_case(&s, &d).await;
        let token = token_of(&s, "case", &n).await;
        let db = s.running.state.db.clone();
        s.set_clock("2026-03-05T09:30:00+08:00").await;
        d.again(&s).await;
        s.run_due_timers().await;
        let sent = yichuang_store::cases::outbox::for_subject(&db, &n)
            .await
            .unwrap();
        let m = sent
            .iter()
            .find(|m| m.kind == "rating_invite")
            .expect("the invitation went out after 3 days");
        assert!(m.body.contains(&format!("/rate/{token}")), "{}", m.body);
        assert!(ratings(&s, &d.admin).await.is_empty(), "no default yet");
        s.set_clock("2026-03-09T09:30:00+08:00").await;
        d.again(&s).await;
        s.run_due_timers().await;
        let list = ratings(&s, &d.admin).await;
        assert_eq!(list.len(), 1, "a default rating after 7 days");
        assert_eq!(list[0]["default"], true);
        assert_eq!(list[0]["level"], 3);
        let (st, e) = rate(&s, json!({"token": token, "level": 5})).await;
        assert_eq!(st, 409, "the default spent the token: {e}");
        let total = numbers(&s, &d.admin, "2026-03").await;
        assert_eq!(total["counts"]["ratings"], 1);
        assert_eq!(total["counts"]["by_people"], 0);
        assert_eq!(
            total["rates"]["satisfaction"],
            Value::Null,
            "no rating by people: no rate"
        );
        assert_eq!(total["rates"]["active"], 0.0);
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn an_upheld_appeal_keeps_the_rating_but_excludes_it_from_the_numbers() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-02T09:00:00+08:00").await;
        let d = desk(&s).await;
        let good = ended_case(&s, &d).await;
        let bad = ended_case(&s, &d).await;
        rate(
            &s,
            json!({"token": token_of(&s, "case", &good).await, "level": 5}),
        )
        .await;
        let (_, r) = rate(
            &s,
            json!({"token": token_of(&s, "case", &bad).await, "level": 2, "comment": "恶意"}),
        )
        .await;
        let rect = r["rectification"].as_i64().unwrap();
        assert_eq!(
            numbers(&s, &d.admin, "2026-03").await["rates"]["satisfaction"],
            0.5
        );
        let path = format!("/api/v1/rectifications/{rect}/actions");
        let (st, _) = s
            .post_json(
                &path,
                Some(&d.approver),
                &json!({"action": "uphold", "note": "x"}),
            )
            .await;
        assert_eq!(st, 403, "the owner cannot decide its own appeal");
        post_ok(
            &s,
            &d.approver,
            &path,
            json!({"action": "appeal", "reason": "监控录像显示服务规范"}),
        )
        .await;
        let v = post_ok(
            &s,
            &d.supervisor,
            &path,
            json!({"action": "uphold", "note": "经核实为误评"}),
        )
        .await;
        assert_eq!(v["outcome"], "appeal_upheld");
        let total = numbers(&s, &d.admin, "2026-03").await;
        assert_eq!(total["counts"]["ratings"], 1, "{total}");
        assert_eq!(total["rates"]["satisfaction"], 1.0);
        let list = ratings(&s, &d.admin).await;
        assert_eq!(list.len(), 2, "the rating stays");
        assert!(list.iter().any(|r| r["excluded"] == true));
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn an_unreachable_number_is_tried_three_times_then_closed_as_unreachable() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-02T09:00:00+08:00").await;
        let d = desk(&s).await;
        let n = ended_case(&s, &d).await;
        let (_, r) = rate(
            &s,
            json!({"token": token_of(&s, "case", &n).await, "level": 1}),
        )
        .await;
        let cb = r["callback"].as_i64().unwrap();
        let path = format!("/api/v1/callbacks/{cb}/attempts");
        for i in 1..=3 {
            let v = post_ok(&s, &d.callback, &path, json!({"outcome": "unreachable"})).await;
            assert_eq!(v["attempts"], i);
        }
        let (st, e) = s
            .post_json(&path, Some(&d.callback), &json!({"outcome": "refused"}))
            .await;
        assert_eq!(
            (st, e["code"].as_str()),
            (409, Some("callback_closed")),
            "{e}"
        );
        let (_, all) = s
            .get_json("/api/v1/callbacks?all=true", Some(&d.callback))
            .await;
        let c = all["callbacks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == cb)
            .unwrap()
            .clone();
        assert_eq!(c["status"], "unreachable");
        // Closed after its tries counts as called back.
        assert_eq!(
            numbers(&s, &d.admin, "2026-03").await["counts"]["named_bad_called"],
            1
        );
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn imported_ratings_are_checked_whole_and_deduplicated_by_their_source_id() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-02T09:00:00+08:00").await;
        let d = desk(&s).await;
        let a = ended_case(&s, &d).await;
        let b = ended_case(&s, &d).await;
        // One bad row: nothing is imported, every problem named by its row.
        let (st, e) = s
            .post_json(
                "/api/v1/ratings/import",
                Some(&d.admin),
                &json!({"ratings": [
                    {"system": "12345", "external_id": "E1", "case_number": a, "level": 5},
                    {"system": "12345", "external_id": "E2", "case_number": "NOPE", "level": 9},
                ]}),
            )
            .await;
        assert_eq!(st, 422, "{e}");
        assert_eq!(
            error_fields(&e),
            vec!["rows[2].level", "rows[2].case_number"]
        );
        assert!(ratings(&s, &d.admin).await.is_empty());
        let (st, _) = s
            .post_json(
                "/api/v1/ratings/import",
                Some(&d.clerk),
                &json!({"ratings": []}),
            )
            .await;
        assert_eq!(st, 403, "a clerk does not import");

        // The same rows from an .xlsx sheet, sent twice: the second time all are duplicates.
        let mut book = rust_xlsxwriter::Workbook::new();
        let ws = book.add_worksheet();
        for (c, h) in ["来源系统", "来源编号", "办件编号", "评价等级", "评价内容"]
            .iter()
            .enumerate()
        {
            ws.write_string(0, c as u16, *h).unwrap();
        }
        for (r, (id, case, level)) in [("E1", &a, 5.0), ("E2", &b, 2.0)].iter().enumerate() {
            let r = r as u32 + 1;
            ws.write_string(r, 0, "12345").unwrap();
            ws.write_string(r, 1, *id).unwrap();
            ws.write_string(r, 2, case.as_str()).unwrap();
            ws.write_number(r, 3, *level).unwrap();
            ws.write_string(r, 4, "热线回访评价").unwrap();
        }
        let bytes = book.save_to_buffer().unwrap();
        for expected in [
            json!({"imported": 2, "duplicates": 0}),
            json!({"imported": 0, "duplicates": 2}),
        ] {
            let r = s
                .client
                .post(s.at("/api/v1/ratings/import"))
                .bearer_auth(&d.admin)
                .body(bytes.clone())
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            assert_eq!(r.json::<Value>().await.unwrap(), expected);
        }
        let list = ratings(&s, &d.admin).await;
        assert_eq!(list.len(), 2);
        assert!(list.iter().all(|r| r["channel"] == "import"));
        // An imported 差评 is followed like any other.
        let (_, rects) = s
            .get_json("/api/v1/rectifications", Some(&d.approver))
            .await;
        assert_eq!(
            rects["rectifications"].as_array().unwrap().len(),
            1,
            "{rects}"
        );
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_receipt_carries_the_rating_qr_code_and_my_cases_offers_the_rating_once_finished() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-02T09:00:00+08:00").await;
        let d = desk(&s).await;
        let n = ended_case(&s, &d).await;
        let html = s
            .client
            .get(s.at(&format!("/cases/{n}/receipt")))
            .bearer_auth(&d.clerk)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            html.contains("id=\"rate-qr\"") && html.contains("服务评价二维码"),
            "the receipt has the rating QR code"
        );
        // The applicant signed in to /my sees the rating link and rates online (一事一评).
        let phone_token = crate::cases::applicant_token(&s, crate::cases::PHONE).await;
        let page = s
            .client
            .get(s.at(&format!("/my/cases/{n}")))
            .header("cookie", format!("yc_applicant={phone_token}"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let token = token_of(&s, "case", &n).await;
        assert!(page.contains(&format!("/rate/{token}?via=web")), "{page}");
        let r = crate::support::client()
            .post(s.at(&format!("/rate/{token}?via=web")))
            .form(&[("level", "5"), ("comment", "网上办很方便")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.text().await.unwrap().contains("感谢您的评价"));
        let list = ratings(&s, &d.admin).await;
        assert_eq!(list[0]["channel"], "web");
        let page = s
            .client
            .get(s.at(&format!("/my/cases/{n}")))
            .header("cookie", format!("yc_applicant={phone_token}"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!page.contains("/rate/"), "rated: no more link");
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_pad_link_page_makes_a_new_key_and_the_old_link_stops_working() {
    let s = TestServer::start(&yichuang_store::testing::sqlite_url()).await;
    let d = desk(&s).await;
    let (_, old) = s
        .post_json(
            &format!("/api/v1/windows/{}/pad-key", d.window),
            Some(&d.admin),
            &json!({}),
        )
        .await;
    let page = s
        .client
        .post(s.at(&format!("/windows/{}/pad-link", d.window)))
        .bearer_auth(&d.admin)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("id=\"pad-url\"") && page.contains("评价器链接二维码"),
        "{page}"
    );
    let r = crate::support::client()
        .get(s.at(old["url"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "the old link no longer opens the pad");
    let r = s
        .client
        .post(s.at(&format!("/windows/{}/pad-link", d.window)))
        .bearer_auth(&d.clerk)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "a clerk cannot make pad links");
    s.stop().await;
}
