//! Work orders and the ledger over HTTP on both backends (issue 12): the loop with objection,
//! extension, reopening and closure (R-WO-LOOP, R-HOTLINE), 催办 the day after a missed
//! deadline, merged duplicates, 涉法涉诉 declined, Open311 from a GeoReport v2 client, the
//! ledger's close-out and revisit (R-LEDGER), and bad input refused with nothing written.

use serde_json::{Value, json};

use crate::cases::account;
use crate::ratings::{Desk, desk};
use crate::support::{TestServer, client, error_fields, on_each_backend};

/// The desk of the ratings tests plus a second unit, 住建局 (zjj), and its approver.
pub async fn units(s: &TestServer, d: &Desk) -> String {
    let (st, v) = s
        .post_json(
            "/api/v1/departments",
            Some(&d.admin),
            &json!({"code": "zjj", "name": "住房和城乡建设局"}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    account(
        s,
        &d.admin,
        "zjj1",
        json!({"role": "approver", "department": "zjj"}),
    )
    .await
}

pub async fn new_order(s: &TestServer, token: &str, body: Value) -> Value {
    let (st, v) = s.post_json("/api/v1/work-orders", Some(token), &body).await;
    assert_eq!(st, 201, "{v}");
    v
}

/// A 办不成事 order classified 一般 (5 working days) to `unit`; returns its number.
pub async fn general_order(
    s: &TestServer,
    d: &Desk,
    phone: &str,
    text: &str,
    unit: &str,
) -> String {
    let n = new_order(s, &d.clerk, window_problem(phone, text)).await["number"]
        .as_str()
        .unwrap()
        .to_string();
    act_ok(
        s,
        &d.admin,
        &n,
        json!({"action": "classify", "category": "02", "tier": "general", "lead_unit": unit}),
    )
    .await;
    n
}

pub fn window_problem(phone: &str, text: &str) -> Value {
    json!({"source": "unresolved_window", "requester_name": "张三", "requester_phone": phone,
           "place": "人民路12号", "text": text})
}

pub async fn act_ok(s: &TestServer, token: &str, number: &str, body: Value) -> Value {
    let (st, v) = s
        .post_json(
            &format!("/api/v1/work-orders/{number}/actions"),
            Some(token),
            &body,
        )
        .await;
    assert_eq!(st, 200, "{body} → {v}");
    v
}

async fn act_err(s: &TestServer, token: &str, number: &str, body: Value) -> (u16, Value) {
    let (st, v) = s
        .post_json(
            &format!("/api/v1/work-orders/{number}/actions"),
            Some(token),
            &body,
        )
        .await;
    assert!(st >= 400, "{body} was accepted: {v}");
    assert!(
        v["title"].as_str().is_some_and(|t| !t.is_ascii()),
        "a Chinese message: {v}"
    );
    (st, v)
}

async fn messages(s: &TestServer, number: &str) -> Vec<String> {
    yichuang_store::cases::outbox::for_subject(&s.running.state.db, number)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.body)
        .collect()
}

async fn event_kinds(s: &TestServer, number: &str) -> Vec<String> {
    yichuang_store::events::for_subject(&s.running.state.db, "work_order", number)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

#[tokio::test]
async fn a_window_problem_goes_round_the_loop_through_objection_extension_and_reopening_to_closure()
{
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        // Tue 2026-09-29, before the National Day holidays.
        s.set_clock("2026-09-29T10:00:00+08:00").await;
        let mut d = desk(&s).await;
        let zjj = units(&s, &d).await;
        let o = new_order(
            &s,
            &d.clerk,
            window_problem("13812345678", "想在小区里开便利店，办营业执照被要求先出具房屋用途证明，不知道去哪开"),
        )
        .await;
        let n = o["number"].as_str().unwrap().to_string();
        assert_eq!(o["status"], "received");
        assert_eq!(o["requester_phone"], "138****5678", "masked (R-PII)");
        assert!(messages(&s, &n).await[0].contains(&n), "the requester is told the number");

        // Classified complex (10 working days) to 市场监管局 with 住建局 assisting:
        // 09-30, 10-08, 10-09, 10-10 (adjusted Saturday), 10-12 … 10-16, 10-19.
        let v = act_ok(
            &s,
            &d.admin,
            &n,
            json!({"action": "classify", "category": "02", "tier": "complex",
                   "lead_unit": "scj", "assisting_units": ["zjj"]}),
        )
        .await;
        assert_eq!(v["status"], "dispatched");
        assert_eq!(v["due_date"], "2026-10-19");
        assert_eq!(v["lead_unit"]["name"], "市场监督管理局");

        // Only the lead unit objects; it does, and the order waits for the dispatcher.
        let (st, _) = act_err(&s, &zjj, &n, json!({"action": "object", "reason": "不是我们的"})).await;
        assert_eq!(st, 403);
        let v = act_ok(
            &s,
            &d.approver,
            &n,
            json!({"action": "object", "reason": "房屋用途证明属住建部门职责"}),
        )
        .await;
        assert_eq!(v["status"], "objected");
        // The unit cannot answer it away meanwhile, nor reassign it itself.
        act_err(&s, &d.approver, &n, json!({"action": "answer", "text": "已处理"})).await;
        act_err(
            &s,
            &d.approver,
            &n,
            json!({"action": "review_objection", "reassign_to": "zjj", "note": "自己改派"}),
        )
        .await;
        let v = act_ok(
            &s,
            &d.admin,
            &n,
            json!({"action": "review_objection", "reassign_to": "zjj", "note": "异议成立，改由住建局主办"}),
        )
        .await;
        assert_eq!(v["status"], "dispatched");
        assert_eq!(v["lead_unit"]["code"], "zjj");
        assert_eq!(v["assisting_units"], json!([]));

        // 住建局 asks for 3 more days before the deadline; the dispatcher approves.
        s.set_clock("2026-10-15T10:00:00+08:00").await;
        d.again(&s).await;
        let zjj = s.token("zjj1", "staff2026pw").await;
        let v = act_ok(
            &s,
            &zjj,
            &n,
            json!({"action": "ask_extension", "days": 3, "reason": "需现场核实房屋用途"}),
        )
        .await;
        assert_eq!(v["pending_extension"], true);
        assert_eq!(v["due_date"], "2026-10-19");
        let v = act_ok(
            &s,
            &d.admin,
            &n,
            json!({"action": "decide_extension", "approve": true}),
        )
        .await;
        assert_eq!(v["due_date"], "2026-10-22");

        // Answered; the callback finds the requester not satisfied through the handler's fault.
        let v = act_ok(
            &s,
            &zjj,
            &n,
            json!({"action": "answer", "text": "请到住建局窗口申请房屋用途证明"}),
        )
        .await;
        assert_eq!(v["status"], "answered");
        assert!(messages(&s, &n).await.iter().any(|m| m.contains("已有答复")));
        let v = act_ok(
            &s,
            &d.callback,
            &n,
            json!({"action": "feedback", "satisfied": false, "handler_at_fault": true,
                   "level": 2, "note": "去了住建局窗口说不办这个证明"}),
        )
        .await;
        assert_eq!(v["status"], "dispatched");
        assert_eq!(v["reopened"], 1);
        // A fresh 10 working days from the reopening (Thu 10-15).
        assert_eq!(v["due_date"], "2026-10-29");

        let v = act_ok(
            &s,
            &zjj,
            &n,
            json!({"action": "answer", "text": "已协调，住建局窗口当场出具房屋用途证明"}),
        )
        .await;
        assert_eq!(v["status"], "answered");
        let v = act_ok(
            &s,
            &d.callback,
            &n,
            json!({"action": "feedback", "satisfied": true, "level": 5}),
        )
        .await;
        assert_eq!(v["status"], "solved");
        assert_eq!(v["open"], false);
        let (_, full) = s
            .get_json(&format!("/api/v1/work-orders/{n}"), Some(&d.admin))
            .await;
        let whats: Vec<&str> = full["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["what"].as_str().unwrap())
            .collect();
        assert_eq!(
            whats,
            [
                "受理",
                "分类转办",
                "派单异议",
                "异议成立，改派",
                "申请延期",
                "批准延期",
                "答复",
                "回访评价",
                "答复",
                "回访评价"
            ]
        );
        // Staff of another unit see nothing of it.
        let (st, _) = s
            .get_json(&format!("/api/v1/work-orders/{n}"), Some(&d.approver))
            .await;
        assert_eq!(st, 403);
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_urge_comes_once_the_working_day_after_a_missed_deadline_and_oversight_later() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        // Thu 2026-03-05, general (5 working days) → due Thu 03-12.
        s.set_clock("2026-03-05T10:00:00+08:00").await;
        let mut d = desk(&s).await;
        let n = new_order(
            &s,
            &d.clerk,
            window_problem("13812345678", "窗口叫号系统经常叫错号"),
        )
        .await["number"]
            .as_str()
            .unwrap()
            .to_string();
        let v = act_ok(
            &s,
            &d.admin,
            &n,
            json!({"action": "classify", "category": "02", "tier": "general", "lead_unit": "scj"}),
        )
        .await;
        assert_eq!(v["due_date"], "2026-03-12");
        // On the due date nothing fires; the light is yellow.
        s.set_clock("2026-03-12T18:00:00+08:00").await;
        s.run_due_timers().await;
        assert!(
            !event_kinds(&s, &n)
                .await
                .contains(&"work_order_urged".to_string())
        );
        d.again(&s).await;
        let (_, v) = s
            .get_json(&format!("/api/v1/work-orders/{n}"), Some(&d.admin))
            .await;
        assert_eq!(v["warning"], "yellow");
        // The next working morning: 催办, once.
        s.set_clock("2026-03-13T09:30:00+08:00").await;
        s.run_due_timers().await;
        s.set_clock("2026-03-16T09:30:00+08:00").await;
        s.run_due_timers().await;
        let kinds = event_kinds(&s, &n).await;
        assert_eq!(kinds.iter().filter(|k| *k == "work_order_urged").count(), 1);
        assert!(!kinds.contains(&"work_order_overseen".to_string()));
        d.again(&s).await;
        let (_, v) = s
            .get_json(&format!("/api/v1/work-orders/{n}"), Some(&d.admin))
            .await;
        assert_eq!(v["warning"], "red");
        assert_eq!(v["urged_on_text"], "2026年3月13日");
        // 督办 five working days after the deadline (Thu 03-19).
        s.set_clock("2026-03-19T09:30:00+08:00").await;
        s.run_due_timers().await;
        let kinds = event_kinds(&s, &n).await;
        assert_eq!(
            kinds.iter().filter(|k| *k == "work_order_overseen").count(),
            1
        );
        // The late board lists it for the unit.
        d.again(&s).await;
        let (_, late) = s
            .get_json("/api/v1/work-orders?view=late", Some(&d.approver))
            .await;
        assert_eq!(late["work_orders"][0]["number"], n.as_str());
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_duplicate_is_merged_and_a_later_reply_to_it_lands_on_the_survivor_with_both_requesters_told()
 {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-02T10:00:00+08:00").await;
        let d = desk(&s).await;
        let first = new_order(
            &s,
            &d.clerk,
            window_problem(
                "13812345678",
                "人民路12号门口的路灯坏了，晚上很黑，老人出门不安全",
            ),
        )
        .await["number"]
            .as_str()
            .unwrap()
            .to_string();
        let second = new_order(
            &s,
            &d.clerk,
            window_problem("13912345678", "人民路12号的路灯坏了好几天了，晚上太黑"),
        )
        .await["number"]
            .as_str()
            .unwrap()
            .to_string();
        let other = new_order(
            &s,
            &d.clerk,
            window_problem("13712345678", "营业执照办理要跑好几次"),
        )
        .await["number"]
            .as_str()
            .unwrap()
            .to_string();
        let (st, dup) = s
            .get_json(
                &format!("/api/v1/work-orders/{second}/duplicates"),
                Some(&d.admin),
            )
            .await;
        assert_eq!(st, 200, "{dup}");
        let found: Vec<&str> = dup["duplicates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["number"].as_str().unwrap())
            .collect();
        assert_eq!(
            found,
            [first.as_str()],
            "the lamp, not the licence ({other})"
        );
        act_ok(
            &s,
            &d.admin,
            &first,
            json!({"action": "classify", "category": "02", "tier": "general", "lead_unit": "scj"}),
        )
        .await;
        // Merging into itself or into nothing is refused.
        act_err(
            &s,
            &d.admin,
            &second,
            json!({"action": "merge", "into": second}),
        )
        .await;
        act_err(
            &s,
            &d.admin,
            &second,
            json!({"action": "merge", "into": "GD0000000000"}),
        )
        .await;
        let v = act_ok(
            &s,
            &d.admin,
            &second,
            json!({"action": "merge", "into": first}),
        )
        .await;
        assert_eq!(v["status"], "merged");
        assert!(
            messages(&s, &second)
                .await
                .iter()
                .any(|m| m.contains(&first))
        );
        // The unit replies on the merged order's number: the reply lands on the survivor.
        let v = act_ok(
            &s,
            &d.approver,
            &second,
            json!({"action": "answer", "text": "路灯已于今日修复"}),
        )
        .await;
        assert_eq!(v["number"], first.as_str());
        assert_eq!(v["status"], "answered");
        let (_, merged) = s
            .get_json(&format!("/api/v1/work-orders/{second}"), Some(&d.admin))
            .await;
        assert_eq!(merged["status"], "merged");
        assert!(
            messages(&s, &first)
                .await
                .iter()
                .any(|m| m.contains("已有答复"))
        );
        assert!(
            messages(&s, &second)
                .await
                .iter()
                .any(|m| m.contains("已有答复")),
            "every requester is told"
        );
        assert!(
            event_kinds(&s, &second)
                .await
                .contains(&"work_order_reply_forwarded".to_string())
        );
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_matter_for_the_courts_is_declined_and_the_requester_is_told_where_to_go() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-02T10:00:00+08:00").await;
        let d = desk(&s).await;
        let n = new_order(
            &s,
            &d.clerk,
            window_problem("13812345678", "和房东的租赁合同纠纷已经起诉，希望中心帮忙"),
        )
        .await["number"]
            .as_str()
            .unwrap()
            .to_string();
        let (st, v) = act_err(
            &s,
            &d.admin,
            &n,
            json!({"action": "decline", "reason": "已进入诉讼程序"}),
        )
        .await;
        assert_eq!(st, 422);
        assert_eq!(error_fields(&v), ["refer_to"]);
        let v = act_ok(
            &s,
            &d.admin,
            &n,
            json!({"action": "decline", "reason": "已进入诉讼程序", "refer_to": "云岭市人民法院"}),
        )
        .await;
        assert_eq!(v["status"], "declined");
        assert!(
            messages(&s, &n)
                .await
                .iter()
                .any(|m| m.contains("云岭市人民法院"))
        );
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn bad_input_is_refused_with_a_message_per_field_and_nothing_is_written() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-02T10:00:00+08:00").await;
        let d = desk(&s).await;
        let (st, v) = s
            .post_json(
                "/api/v1/work-orders",
                Some(&d.clerk),
                &json!({"source": "unresolved_window", "requester_phone": "12345", "text": " "}),
            )
            .await;
        assert_eq!(st, 422, "{v}");
        let mut fields = error_fields(&v);
        fields.sort();
        assert_eq!(fields, ["requester_phone", "text"]);
        // A clerk records window problems, not hotline orders; the public only public ones.
        let (st, _) = s
            .post_json(
                "/api/v1/work-orders",
                Some(&d.clerk),
                &json!({"source": "hotline", "text": "x"}),
            )
            .await;
        assert_eq!(st, 403);
        let anonymous = client()
            .post(s.at("/api/v1/work-orders"))
            .json(&json!({"source": "hotline", "text": "x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(anonymous.status(), 401);
        let (_, list) = s
            .get_json("/api/v1/work-orders?view=all", Some(&d.admin))
            .await;
        assert_eq!(list["work_orders"], json!([]), "nothing written");

        let n = new_order(&s, &d.clerk, window_problem("13812345678", "叫号屏不显示窗口号"))
            .await["number"]
            .as_str()
            .unwrap()
            .to_string();
        for (body, field) in [
            (json!({"action": "classify", "category": "02", "tier": "general", "lead_unit": "nobody"}), "lead_unit"),
            (json!({"action": "classify", "category": "99", "tier": "general", "lead_unit": "scj"}), "category"),
            (json!({"action": "classify", "category": "02", "tier": "slow", "lead_unit": "scj"}), "tier"),
            (json!({"action": "fly"}), "action"),
        ] {
            let (st, v) = act_err(&s, &d.admin, &n, body).await;
            assert_eq!(st, 422);
            assert_eq!(error_fields(&v), [field]);
        }
        let (_, v) = s
            .get_json(&format!("/api/v1/work-orders/{n}"), Some(&d.admin))
            .await;
        assert_eq!(v["status"], "received");
        assert_eq!(v["timeline"].as_array().unwrap().len(), 1);
        // Settings naming a unit that does not exist are refused whole.
        let (_, mut settings) = s.get_json("/api/v1/work-order-settings", Some(&d.admin)).await;
        settings["categories"][0]["unit"] = json!("nobody");
        let (st, v) = s
            .send_json(reqwest::Method::PUT, "/api/v1/work-order-settings", Some(&d.admin), &settings)
            .await;
        assert_eq!(st, 422, "{v}");
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_window_clerk_answers_a_simple_question_on_the_spot() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-02T10:00:00+08:00").await;
        let d = desk(&s).await;
        let mut body = window_problem("13812345678", "社保卡丢了去哪补办");
        body["category"] = json!("01");
        body["answer_now"] = json!("到二楼人社窗口，带身份证即可当场补办");
        let v = new_order(&s, &d.clerk, body).await;
        assert_eq!(v["status"], "answered");
        assert_eq!(v["tier_label"], "即办（当日）");
        assert_eq!(v["lead_unit"], Value::Null);
        s.stop().await;
    })
    .await;
}

/// A GeoReport v2 client, written from the specification: form-encoded POST with `api_key`,
/// JSON answers, errors as `[{"code","description"}]`.
#[tokio::test]
async fn an_open311_client_lists_services_posts_a_request_with_an_api_key_and_follows_its_status() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-02T10:00:00+08:00").await;
        let d = desk(&s).await;
        let (st, t) = s
            .post_json("/api/v1/tokens", Some(&d.admin), &json!({"name": "12345 平台"}))
            .await;
        assert_eq!(st, 201, "{t}");
        let api_key = t["token"].as_str().unwrap().to_string();
        let c = client();
        let services: Value = c
            .get(s.at("/open311/v2/services.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let codes: Vec<&str> = services
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["service_code"].as_str().unwrap())
            .collect();
        assert_eq!(codes, ["01", "02", "03", "04"]);
        assert_eq!(services[2]["service_name"], "服务投诉");
        assert_eq!(services[0]["type"], "realtime");
        let def: Value = c
            .get(s.at("/open311/v2/services/03.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(def["service_code"], "03");
        let r = c.get(s.at("/open311/v2/services/99.json")).send().await.unwrap();
        assert_eq!(r.status(), 404);
        let e: Value = r.json().await.unwrap();
        assert_eq!(e[0]["code"], 404);

        let post = |form: Vec<(&'static str, String)>| {
            let c = c.clone();
            let u = s.at("/open311/v2/requests.json");
            async move { c.post(u).form(&form).send().await.unwrap() }
        };
        let r = post(vec![
            ("api_key", "wrong".into()),
            ("service_code", "03".into()),
            ("description", "窗口人员态度差".into()),
        ])
        .await;
        assert_eq!(r.status(), 403);
        let r = post(vec![
            ("api_key", api_key.clone()),
            ("service_code", "77".into()),
            ("description", "窗口人员态度差".into()),
        ])
        .await;
        assert_eq!(r.status(), 400);
        let e: Value = r.json().await.unwrap();
        assert_eq!(e[0]["code"], 400);
        assert!(e[0]["description"].as_str().unwrap().contains("service_code"));
        let r = post(vec![
            ("api_key", api_key.clone()),
            ("service_code", "03".into()),
            ("description", "三号窗口工作人员态度差，不耐烦".into()),
            ("address_string", "云岭市政务服务中心".into()),
            ("first_name", "四".into()),
            ("last_name", "李".into()),
            ("phone", "13612345678".into()),
        ])
        .await;
        assert_eq!(r.status(), 201);
        let created: Value = r.json().await.unwrap();
        let id = created[0]["service_request_id"].as_str().unwrap().to_string();
        let token = created[0]["token"].as_str().unwrap().to_string();
        let by_token: Value = c
            .get(s.at(&format!("/open311/v2/tokens/{token}.json")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(by_token[0]["service_request_id"], id.as_str());

        let get = |path: String| {
            let c = c.clone();
            let u = s.at(&path);
            async move { c.get(u).send().await.unwrap().json::<Value>().await.unwrap() }
        };
        let one = get(format!("/open311/v2/requests/{id}.json")).await;
        assert_eq!(one[0]["status"], "open");
        assert_eq!(one[0]["service_code"], "03");
        assert_eq!(one[0]["expected_datetime"], Value::Null);
        // Classified as a complaint (13 working days): the expected time is the tier's deadline.
        act_ok(
            &s,
            &d.admin,
            &id,
            json!({"action": "classify", "category": "03", "tier": "complaint", "lead_unit": "scj"}),
        )
        .await;
        let one = get(format!("/open311/v2/requests/{id}.json")).await;
        assert_eq!(one[0]["expected_datetime"], "2026-03-19T17:30:00+08:00");
        assert_eq!(one[0]["agency_responsible"], "市场监督管理局");
        act_ok(
            &s,
            &d.approver,
            &id,
            json!({"action": "answer", "text": "已对该工作人员批评教育"}),
        )
        .await;
        act_ok(&s, &d.callback, &id, json!({"action": "feedback", "satisfied": true})).await;
        let list = get("/open311/v2/requests.json?status=closed".into()).await;
        assert_eq!(list[0]["service_request_id"], id.as_str());
        assert_eq!(list[0]["status"], "closed");
        assert_eq!(list[0]["status_notes"], "已对该工作人员批评教育");
        let open = get("/open311/v2/requests.json?status=open".into()).await;
        assert_eq!(open, json!([]));
        // Orders from staff channels are not the public's.
        let staff = new_order(&s, &d.clerk, window_problem("13812345678", "内部问题")).await;
        let r = c
            .get(s.at(&format!("/open311/v2/requests/{}.json", staff["number"].as_str().unwrap())))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        s.stop().await;
    })
    .await;
}

async fn ledger_ok(s: &TestServer, token: &str, id: i64, body: Value) -> Value {
    let (st, v) = s
        .post_json(&format!("/api/v1/ledger/{id}/actions"), Some(token), &body)
        .await;
    assert_eq!(st, 200, "{body} → {v}");
    v
}

#[tokio::test]
async fn a_cluster_becomes_a_ledger_entry_closed_out_with_evidence_by_another_and_reopened_by_its_revisit()
 {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-02T10:00:00+08:00").await;
        let mut d = desk(&s).await;
        for text in ["食品经营许可要求的材料和指南不一致", "食品许可又让补材料", "许可材料清单前后说法不一"] {
            general_order(&s, &d, "13812345678", text, "scj").await;
        }
        let (_, sug) = s.get_json("/api/v1/ledger/suggestions", Some(&d.admin)).await;
        assert_eq!(sug["suggestions"][0]["unit_name"], "市场监督管理局");
        assert_eq!(sug["suggestions"][0]["orders"], 3);
        // Bad input: every field told, nothing written.
        let (st, v) = s
            .post_json("/api/v1/ledger", Some(&d.admin), &json!({"source": "x", "owner": "nobody"}))
            .await;
        assert_eq!(st, 422);
        let mut f = error_fields(&v);
        f.sort();
        assert_eq!(f, ["description", "owner", "point", "source", "title"]);
        let (st, e) = s
            .post_json(
                "/api/v1/ledger",
                Some(&d.admin),
                &json!({"source": "work_order_cluster", "point": "A1-1",
                        "title": "食品经营许可材料清单与指南不一致", "description": "三件工单集中反映",
                        "owner": "scj", "cluster_category": "02", "cluster_unit": "scj"}),
            )
            .await;
        assert_eq!(st, 201, "{e}");
        let id = e["id"].as_i64().unwrap();
        assert_eq!(e["work_orders"].as_array().unwrap().len(), 3);
        assert_eq!(e["category_label"], "办事指南 / 材料要求不清");
        let (_, sug) = s.get_json("/api/v1/ledger/suggestions", Some(&d.admin)).await;
        assert_eq!(sug["suggestions"], json!([]), "taken up");

        // Close-out needs evidence; the one who asked cannot approve it.
        let (st, v) = s
            .post_json(
                &format!("/api/v1/ledger/{id}/actions"),
                Some(&d.approver),
                &json!({"action": "request_close_out", "measures": "统一材料清单"}),
            )
            .await;
        assert_eq!(st, 422);
        assert_eq!(error_fields(&v), ["evidence"]);
        let v = ledger_ok(
            &s,
            &d.approver,
            id,
            json!({"action": "request_close_out", "measures": "统一材料清单",
                   "evidence": "新版办事指南已于3月5日发布，窗口已培训"}),
        )
        .await;
        assert_eq!(v["status"], "awaiting_review");
        let (st, _) = s
            .post_json(
                &format!("/api/v1/ledger/{id}/actions"),
                Some(&d.approver),
                &json!({"action": "review", "approve": true}),
            )
            .await;
        assert_eq!(st, 403);
        let v = ledger_ok(&s, &d.supervisor, id, json!({"action": "review", "approve": true})).await;
        assert_eq!(v["status"], "closed_out");
        assert_eq!(v["revisit_on"], "2026-04-01");

        // The revisit falls due and finds the problem back: reopened with a new deadline.
        s.set_clock("2026-04-01T09:30:00+08:00").await;
        s.run_due_timers().await;
        d.again(&s).await;
        let (_, v) = s.get_json(&format!("/api/v1/ledger/{id}"), Some(&d.supervisor)).await;
        assert_eq!(v["revisit_due"], true);
        assert!(v["timeline"].as_array().unwrap().iter().any(|t| t["what"] == "回头看到期"));
        let v = ledger_ok(
            &s,
            &d.supervisor,
            id,
            json!({"action": "revisit", "held": false, "note": "又有群众反映材料清单不一",
                   "new_deadline": "2026-04-30"}),
        )
        .await;
        assert_eq!(v["status"], "open");
        assert_eq!(v["reopened"], 1);
        assert_eq!(v["deadline"], "2026-04-30");
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_ledger_goes_out_and_comes_back_as_a_workbook_and_a_bad_row_imports_nothing() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-02T10:00:00+08:00").await;
        let d = desk(&s).await;
        let (st, v) = s
            .post_json(
                "/api/v1/ledger",
                Some(&d.admin),
                &json!({"source": "experience_officer", "point": "A3-2", "title": "开办餐馆要跑三个窗口",
                        "description": "体验官陪同走流程发现", "owner": "scj", "deadline": "2026-03-31"}),
            )
            .await;
        assert_eq!(st, 201, "{v}");
        let c = crate::support::admin_session(&s).await;
        let r = c.get(s.at("/ledger.xlsx")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let book = r.bytes().await.unwrap().to_vec();
        assert_eq!(&book[..2], b"PK");

        let import = |bytes: Vec<u8>| {
            let c = client();
            let u = s.at("/api/v1/ledger/import");
            let t = d.admin.clone();
            async move {
                let r = c.post(u).bearer_auth(t).body(bytes).send().await.unwrap();
                (r.status().as_u16(), r.json::<Value>().await.unwrap())
            }
        };
        let (st, v) = import(book.clone()).await;
        assert_eq!(st, 201, "{v}");
        assert_eq!(v["imported"], 1);
        let (_, list) = s.get_json("/api/v1/ledger", Some(&d.admin)).await;
        let titles: Vec<&str> = list["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["title"].as_str().unwrap())
            .collect();
        assert_eq!(titles, ["开办餐馆要跑三个窗口", "开办餐馆要跑三个窗口"]);

        // A workbook with one good row and one with an unknown unit: nothing is imported.
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        for (c, h) in yichuang_server::work_orders::ledger::HEADERS.iter().enumerate() {
            ws.write_string(0, c as u16, *h).unwrap();
        }
        let rows = [
            ["1", "自查", "", "A2-1", "窗口态度", "群众反映", "市场监督管理局", "", "2026-04-30", "整改中", "", ""],
            ["2", "自查", "", "A2-1", "窗口态度", "群众反映", "不存在的局", "", "2026-04-30", "整改中", "", ""],
        ];
        for (r, row) in rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                ws.write_string((r + 1) as u32, c as u16, *v).unwrap();
            }
        }
        let (st, v) = import(wb.save_to_buffer().unwrap()).await;
        assert_eq!(st, 422, "{v}");
        assert!(v["errors"].to_string().contains("第 3 行"), "{v}");
        let (_, list) = s.get_json("/api/v1/ledger", Some(&d.admin)).await;
        assert_eq!(list["entries"].as_array().unwrap().len(), 2, "nothing imported");
        let (st, _) = import(b"not a workbook".to_vec()).await;
        assert_eq!(st, 422);
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn an_order_keeps_its_photos_for_the_staff_who_may_see_it_and_refuses_other_files() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-02T10:00:00+08:00").await;
        let d = desk(&s).await;
        let zjj = units(&s, &d).await;
        let n = new_order(
            &s,
            &d.clerk,
            window_problem("13812345678", "人行道地砖破损"),
        )
        .await["number"]
            .as_str()
            .unwrap()
            .to_string();
        let upload = |token: String, bytes: Vec<u8>| {
            let c = client();
            let u = s.at(&format!("/api/v1/work-orders/{n}/files?name=现场照片"));
            async move {
                let r = c
                    .post(u)
                    .bearer_auth(token)
                    .body(bytes)
                    .send()
                    .await
                    .unwrap();
                (r.status().as_u16(), r.json::<Value>().await.unwrap())
            }
        };
        let png =
            b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89"
                .to_vec();
        let (st, v) = upload(d.clerk.clone(), b"<html>not a photo</html>".to_vec()).await;
        assert_eq!(st, 422, "{v}");
        assert_eq!(error_fields(&v), ["file"]);
        let (st, v) = upload(d.clerk.clone(), png.clone()).await;
        assert_eq!(st, 201, "{v}");
        let id = v["id"].as_i64().unwrap();
        let (_, full) = s
            .get_json(&format!("/api/v1/work-orders/{n}"), Some(&d.admin))
            .await;
        assert_eq!(full["files"][0]["name"], "现场照片");
        assert_eq!(
            full["files"].as_array().unwrap().len(),
            1,
            "the refused file left nothing"
        );
        let r = client()
            .get(s.at(&format!("/api/v1/work-orders/{n}/files/{id}")))
            .bearer_auth(&d.admin)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert!(
            r.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .starts_with("attachment")
        );
        assert_eq!(r.bytes().await.unwrap().to_vec(), png);
        let r = client()
            .get(s.at(&format!("/api/v1/work-orders/{n}/files/{id}")))
            .bearer_auth(&zjj)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "another unit sees nothing of it");
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_admin_maps_a_new_public_category_to_a_unit_on_the_settings_page_and_bad_days_change_nothing()
 {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-02T10:00:00+08:00").await;
        let _d = desk(&s).await;
        let c = crate::support::admin_session(&s).await;
        let page = c.get(s.at("/work-orders/settings")).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(html.contains("派单目录") && html.contains("市场监督管理局"));
        let post = |form: Vec<(&'static str, &'static str)>| {
            let c = c.clone();
            let u = s.at("/work-orders/settings");
            async move {
                c.post(u)
                    .header("sec-fetch-site", "same-origin")
                    .form(&form)
                    .send()
                    .await
                    .unwrap()
            }
        };
        let mut form = vec![
            ("tier[0].code", "general"),
            ("tier[0].name", "一般"),
            ("tier[0].days", "5"),
            ("tier[1].code", "complex"),
            ("tier[1].name", "复杂"),
            ("tier[1].days", "ten"),
            ("cat[0].code", "05"),
            ("cat[0].name", "食品安全"),
            ("cat[0].unit", "scj"),
            ("cat[0].tier", "general"),
            ("cat[0].public", "on"),
            ("yellow_at_percent", "80"),
        ];
        let r = post(form.clone()).await;
        assert_eq!(r.status(), 422);
        assert!(
            r.text()
                .await
                .unwrap()
                .contains("时限档次的工作日须为 0–60 的整数")
        );
        let services: Value = c
            .get(s.at("/open311/v2/services.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(services.as_array().unwrap().len(), 4, "nothing changed");
        form[5] = ("tier[1].days", "10");
        let r = post(form).await;
        assert_eq!(r.status(), 303);
        let services: Value = c
            .get(s.at("/open311/v2/services.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(services[0]["service_code"], "05");
        assert_eq!(services[0]["service_name"], "食品安全");
        let admin = s.admin_token().await;
        let (_, settings) = s
            .get_json("/api/v1/work-order-settings", Some(&admin))
            .await;
        assert_eq!(settings["categories"][0]["unit"], "scj");
        assert_eq!(settings["tiers"].as_array().unwrap().len(), 2);
        assert_eq!(settings["aspects"].as_array().unwrap().len(), 7, "kept");
        s.stop().await;
    })
    .await;
}
