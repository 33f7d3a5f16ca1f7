//! 帮办代办 through the API, on both backends: a mandate lets an agent file a bundle for an
//! elderly principal and every event names both; a mandate outside its scope, without its
//! signed document, for another person or revoked is refused and changes nothing; help
//! requests from the kiosk's 帮办代办 queue, the phone page and a key project are assigned,
//! contacted, closed and rated, with the first-contact clock and the manager's figures.

use serde_json::{Value, json};

use crate::cases::{PERSON_ID, PHONE, account, item, publish, staff};
use crate::hall::{HALL, anonymous_post};
use crate::support::{TestServer, error_fields, on_each_backend};

const PDF: &[u8] = b"%PDF-1.4\n% mandate signed by the principal\n";

/// Items K1, K2 of `scj` and the bundle KB over both (shared 申请书 S1), plus a second bundle
/// KX the mandates below do not cover.
pub async fn bundles(s: &TestServer) {
    for code in ["K1", "K2"] {
        publish(s, &item(code, false)).await;
    }
    let admin = s.admin_token().await;
    for (code, name) in [("KB", "老人办事一件事"), ("KX", "另一件事")] {
        let (st, v) = s
            .post_json(
                "/api/v1/bundles",
                Some(&admin),
                &json!({"code": code, "name": name,
                        "items": [{"item": "K1"}, {"item": "K2"}],
                        "shared_materials": [{"code": "S1", "name": "申请书（一份）",
                            "covers": [{"item": "K1", "material": "A"}, {"item": "K2", "material": "A"}]}]}),
            )
            .await;
        assert_eq!(st, 201, "{v}");
    }
}

/// The hall's agent 何平 (`agent1`) and its manager; returns their tokens.
pub async fn agency_staff(s: &TestServer, hall: &str) -> (String, String) {
    let admin = s.admin_token().await;
    let agent = account(
        s,
        &admin,
        &format!("agent-{}", hall.to_lowercase()),
        json!({"role": "agent", "hall": hall, "display_name": "何平"}),
    )
    .await;
    let manager = account(
        s,
        &admin,
        &format!("mgr-{}", hall.to_lowercase()),
        json!({"role": "hall_manager", "hall": hall, "display_name": "张红梅"}),
    )
    .await;
    (agent, manager)
}

pub fn elder() -> Value {
    json!({"kind": "person", "name": "李秀英", "id_number": PERSON_ID, "phone": PHONE})
}

async fn upload(s: &TestServer, token: &str, number: &str) -> Value {
    let r = crate::support::client()
        .put(s.at(&format!("/api/v1/mandates/{number}/document")))
        .bearer_auth(token)
        .body(PDF.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status_label"], "有效", "{v}");
    v
}

fn filing(bundle: &str, mandate: Option<&str>, applicant: Value) -> Value {
    json!({"bundle": bundle, "materials": ["S1", "K1:B", "K2:B"], "applicant": applicant,
           "mandate": mandate})
}

async fn refused(s: &TestServer, agent: &str, body: &Value, code: &str) -> Value {
    let (st, v) = s.post_json("/api/v1/bundle-cases", Some(agent), body).await;
    assert_eq!(st, 403, "{v}");
    assert_eq!(v["code"], code, "{v}");
    v
}

#[tokio::test]
async fn an_agent_with_a_mandate_files_a_bundle_for_an_elderly_principal_and_every_event_names_both()
 {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-12-04T09:30:00+08:00").await;
        bundles(&s).await;
        let staff = staff(&s).await;
        let (agent, _) = agency_staff(&s, "H1").await;

        // Without a mandate, or with one whose signed document is not in the vault yet, the
        // agent files nothing.
        refused(&s, &agent, &filing("KB", None, elder()), "mandate_required").await;
        let (st, v) = s
            .post_json(
                "/api/v1/mandates",
                Some(&agent),
                &json!({"principal_name": "李秀英", "principal_id_number": PERSON_ID,
                        "principal_phone": PHONE, "bundles": ["KB"], "actions": ["apply"],
                        "valid_from": "2026-12-04", "valid_until": "2026-12-31"}),
            )
            .await;
        assert_eq!(st, 201, "{v}");
        let first = v["number"].as_str().unwrap().to_string();
        let v = refused(
            &s,
            &agent,
            &filing("KB", Some(&first), elder()),
            "mandate_document_missing",
        )
        .await;
        assert!(v["title"].as_str().unwrap().contains("扫描件"), "{v}");
        upload(&s, &agent, &first).await;

        // Outside the scope, for another person, or by a clerk: refused with the scope named.
        let v = refused(
            &s,
            &agent,
            &filing("KX", Some(&first), elder()),
            "mandate_outside_scope",
        )
        .await;
        assert!(
            v["title"].as_str().unwrap().contains("委托范围：套餐 KB"),
            "{v}"
        );
        let mut other = elder();
        other["id_number"] = json!("110105200001011234");
        other["name"] = json!("王五");
        refused(
            &s,
            &agent,
            &filing("KB", Some(&first), other),
            "mandate_other_principal",
        )
        .await;
        let (st, v) = s
            .post_json(
                "/api/v1/bundle-cases",
                Some(&staff.clerk),
                &filing("KB", Some(&first), elder()),
            )
            .await;
        assert_eq!(st, 403, "only an agent files under a mandate: {v}");

        // Within it: filed, and the first number of the day (the refusals used none).
        let (st, v) = s
            .post_json(
                "/api/v1/bundle-cases",
                Some(&agent),
                &filing("KB", Some(&first), elder()),
            )
            .await;
        assert_eq!(st, 201, "{v}");
        let parent = v["number"].as_str().unwrap().to_string();
        assert_eq!(parent, "YC2612040001", "refusals changed nothing: {v}");
        let k1 = v["members"][0]["number"].as_str().unwrap().to_string();
        let (_, case) = s
            .get_json(&format!("/api/v1/cases/{k1}"), Some(&agent))
            .await;
        let events = case["timeline"].as_array().unwrap();
        assert!(!events.is_empty(), "{case}");
        for e in events {
            assert_eq!(e["by"], "agent:agent-h1", "{e}");
            assert_eq!(e["on_behalf_of"]["principal"], "李*英", "{e}");
            assert_eq!(e["on_behalf_of"]["agent_name"], "何平", "{e}");
            assert_eq!(e["on_behalf_of"]["mandate"], first.as_str(), "{e}");
        }
        assert!(
            !case
                .to_string()
                .contains("on_behalf_of\":{\"principal\":\"李秀英"),
            "the principal is masked in events (R-PII)"
        );

        // Revoked: from then on refused.
        let (st, v) = s
            .post_json(
                &format!("/api/v1/mandates/{first}/revoke"),
                Some(&agent),
                &json!({}),
            )
            .await;
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["status_label"], "已撤销");
        refused(
            &s,
            &agent,
            &filing("KB", Some(&first), elder()),
            "mandate_revoked",
        )
        .await;
        let (st, _) = s
            .post_json(
                &format!("/api/v1/mandates/{first}/revoke"),
                Some(&agent),
                &json!({}),
            )
            .await;
        assert_eq!(st, 409, "revoked once");

        // A bad mandate is refused beside each field and not recorded.
        let (st, v) = s
            .post_json(
                "/api/v1/mandates",
                Some(&agent),
                &json!({"principal_name": "", "principal_id_number": "123",
                        "principal_phone": "1", "bundles": ["NOPE"], "actions": [],
                        "valid_from": "2026-12-31", "valid_until": "2026-12-04"}),
            )
            .await;
        assert_eq!(st, 422, "{v}");
        let fields = error_fields(&v);
        for f in [
            "principal_name",
            "principal_id_number",
            "principal_phone",
            "bundles",
            "actions",
            "valid_until",
        ] {
            assert!(fields.contains(&f), "{f} in {v}");
        }
        let (_, list) = s.get_json("/api/v1/halls/H1/mandates", Some(&agent)).await;
        assert_eq!(list["mandates"].as_array().unwrap().len(), 1, "{list}");
        s.stop().await;
    })
    .await;
}

async fn help_hall(s: &TestServer) -> String {
    let (admin, _, _) = crate::hall::demo_hall(s).await;
    let (st, v) = s
        .post_json(
            &format!("/api/v1/halls/{HALL}/queues"),
            Some(&admin),
            &json!({"code": "agency", "name": "帮办代办", "prefix": "F"}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    admin
}

async fn act(s: &TestServer, token: &str, number: &str, body: Value) -> (u16, Value) {
    s.post_json(
        &format!("/api/v1/help-requests/{number}/actions"),
        Some(token),
        &body,
    )
    .await
}

#[tokio::test]
async fn help_requests_are_assigned_contacted_closed_and_rated_with_the_first_contact_clock_and_figures()
 {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-12-04T10:00:00+08:00").await; // a Friday
        help_hall(&s).await;
        let (agent, manager) = agency_staff(&s, HALL).await;

        // A ticket in the 帮办代办 queue opens a request; so does the public phone page.
        crate::hall::take_ok(&s, None, "agency").await;
        let path = format!("/api/v1/halls/{HALL}/help-requests");
        let (st, v) = anonymous_post(
            &s,
            &path,
            &json!({"citizen_name": "李秀英", "citizen_phone": PHONE, "need": "给老伴办养老金"}),
        )
        .await;
        assert_eq!(st, 201, "{v}");
        let page = v["citizen_page"].as_str().unwrap().to_string();
        let phone_no = v["number"].as_str().unwrap().to_string();
        assert!(page.starts_with("/help/") && page.len() > 25, "{v}");
        assert!(!v.to_string().contains(PHONE), "no personal data: {v}");
        // Three open requests per phone at most; a bad form is refused beside its fields.
        for _ in 0..2 {
            let (st, _) = anonymous_post(
                &s,
                &path,
                &json!({"citizen_name": "李秀英", "citizen_phone": PHONE, "need": "再问一件"}),
            )
            .await;
            assert_eq!(st, 201);
        }
        let (st, v) = anonymous_post(
            &s,
            &path,
            &json!({"citizen_name": "李秀英", "citizen_phone": PHONE, "need": "第四件"}),
        )
        .await;
        assert_eq!(st, 422, "{v}");
        assert_eq!(error_fields(&v), ["citizen_phone"]);
        let (st, v) = anonymous_post(
            &s,
            &path,
            &json!({"citizen_name": "", "citizen_phone": "12", "need": ""}),
        )
        .await;
        assert_eq!(st, 422, "{v}");
        assert_eq!(error_fields(&v), ["citizen_name", "citizen_phone", "need"]);

        let (_, list) = s.get_json(&path, Some(&manager)).await;
        let rows = list["help_requests"].as_array().unwrap();
        assert_eq!(rows.len(), 4, "{list}");
        let sources: Vec<&str> = rows.iter().map(|r| r["source"].as_str().unwrap()).collect();
        assert!(
            sources.contains(&"kiosk") && sources.contains(&"phone"),
            "{list}"
        );
        let kiosk = rows.iter().find(|r| r["source"] == "kiosk").unwrap();
        let kiosk = kiosk["number"].as_str().unwrap().to_string();
        let phone = rows
            .iter()
            .find(|r| r["number"] == phone_no.as_str())
            .unwrap();
        assert_eq!(
            phone["first_contact_due"], "2026-12-07",
            "the next working day: {phone}"
        );
        assert_eq!(phone["citizen"], "李*英");

        // Only the manager assigns, and only to an agent of the hall; the agent takes another.
        let (st, _) = act(
            &s,
            &agent,
            &phone_no,
            json!({"action": "assign", "agent": "agent-YL"}),
        )
        .await;
        assert_eq!(st, 403);
        let (st, v) = act(
            &s,
            &manager,
            &phone_no,
            json!({"action": "assign", "agent": "mgr-yl"}),
        )
        .await;
        assert_eq!(st, 422, "{v}");
        let (st, v) = act(
            &s,
            &manager,
            &phone_no,
            json!({"action": "assign", "agent": "agent-YL"}),
        )
        .await;
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["state"], "assigned");
        assert_eq!(
            v["phone"], PHONE,
            "the agent's manager sees the number to call"
        );
        let (st, v) = act(&s, &agent, &kiosk, json!({"action": "take"})).await;
        assert_eq!(st, 200, "{v}");

        // Monday: the phone request is contacted on time; Tuesday the kiosk one is red.
        s.set_clock("2026-12-07T09:00:00+08:00").await;
        let agent = s.token("agent-yl", "staff2026pw").await;
        let manager = s.token("mgr-yl", "staff2026pw").await;
        let (st, v) = act(&s, &agent, &phone_no, json!({"action": "contact"})).await;
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["first_contact_on_time"], true, "{v}");
        let (st, _) = act(&s, &agent, &phone_no, json!({"action": "contact"})).await;
        assert_eq!(st, 409, "first contact once");
        s.set_clock("2026-12-08T09:00:00+08:00").await;
        let agent = s.token("agent-yl", "staff2026pw").await;
        let manager = {
            let _ = manager;
            s.token("mgr-yl", "staff2026pw").await
        };
        let (_, v) = s
            .get_json(&format!("/api/v1/help-requests/{kiosk}"), Some(&agent))
            .await;
        assert_eq!(v["light"], "red", "{v}");

        // The citizen rates only after the service is closed, once, and says why when unhappy.
        let link = page.trim_start_matches("/help/");
        let rate = format!("/api/v1/help/{link}/rating");
        let (st, v) = anonymous_post(&s, &rate, &json!({"stars": 5})).await;
        assert_eq!(st, 409, "{v}");
        let (st, v) = act(
            &s,
            &agent,
            &phone_no,
            json!({"action": "close", "note": "已陪同办结养老金"}),
        )
        .await;
        assert_eq!(st, 200, "{v}");
        let (st, v) = anonymous_post(&s, &rate, &json!({"stars": 2, "comment": " "})).await;
        assert_eq!(st, 422, "{v}");
        assert_eq!(error_fields(&v), ["comment"]);
        let (st, v) = anonymous_post(&s, &rate, &json!({"stars": 4, "comment": "很耐心"})).await;
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["rating"], 4);
        let (st, _) = anonymous_post(&s, &rate, &json!({"stars": 5})).await;
        assert_eq!(st, 409, "rated once");

        let (st, v) = s
            .get_json(
                &format!("/api/v1/halls/{HALL}/agency-stats"),
                Some(&manager),
            )
            .await;
        assert_eq!(st, 200, "{v}");
        let me = &v["agents"][0];
        assert_eq!(me["agent_name"], "何平", "{v}");
        assert_eq!(me["requests"], 2);
        assert_eq!(me["closed"], 1);
        assert_eq!(me["first_contact_on_time_pct"], 100);
        assert_eq!(me["late_now"], 1, "the kiosk request is owed a call: {v}");
        assert_eq!(me["average_stars"], 4.0);
        let (st, _) = s
            .get_json(&format!("/api/v1/halls/{HALL}/agency-stats"), Some(&agent))
            .await;
        assert_eq!(st, 403, "figures are the manager's");
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_key_project_is_served_milestone_by_milestone_and_a_bad_plan_changes_nothing() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-12-04T10:00:00+08:00").await;
        help_hall(&s).await;
        let (agent, manager) = agency_staff(&s, HALL).await;
        let path = format!("/api/v1/halls/{HALL}/help-requests");
        let (st, v) = s
            .post_json(
                &path,
                Some(&manager),
                &json!({"source": "project", "citizen_name": "赵总", "citizen_phone": "13900001111",
                        "need": "新建厂房全程代办", "project": "云岭新材料厂房", "enterprise": "云岭新材料有限公司",
                        "milestones": [{"title": "立项备案", "due_on": "2027-01-15"},
                                       {"title": "", "due_on": "2026-11-01"}]}),
            )
            .await;
        assert_eq!(st, 422, "{v}");
        assert_eq!(
            error_fields(&v),
            ["milestones[1].title", "milestones[1].due_on", "milestones[1].due_on"]
        );
        let (_, list) = s.get_json(&path, Some(&manager)).await;
        assert!(list["help_requests"].as_array().unwrap().is_empty(), "{list}");

        let (st, v) = s
            .post_json(
                &path,
                Some(&manager),
                &json!({"source": "project", "citizen_name": "赵总", "citizen_phone": "13900001111",
                        "need": "新建厂房全程代办", "project": "云岭新材料厂房", "enterprise": "云岭新材料有限公司",
                        "milestones": [{"title": "立项备案", "due_on": "2027-01-15"},
                                       {"title": "施工许可", "due_on": "2027-04-30"}]}),
            )
            .await;
        assert_eq!(st, 201, "{v}");
        let number = v["number"].as_str().unwrap().to_string();
        assert_eq!(v["milestones"].as_array().unwrap().len(), 2);
        let (st, v) = act(&s, &manager, &number, json!({"action": "assign", "agent": "agent-YL"})).await;
        assert_eq!(st, 200, "{v}");
        let (st, v) = act(&s, &agent, &number, json!({"action": "contact"})).await;
        assert_eq!(st, 200, "{v}");
        let (st, v) = act(&s, &agent, &number, json!({"action": "milestone", "seq": 1, "case_number": "YC0000000000"})).await;
        assert_eq!(st, 422, "an unknown case: {v}");
        let (st, v) = act(&s, &agent, &number, json!({"action": "milestone", "seq": 1})).await;
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["milestones"][0]["done"], true, "{v}");
        assert_eq!(v["milestones"][1]["done"], false);
        let (st, _) = act(&s, &agent, &number, json!({"action": "milestone", "seq": 1})).await;
        assert_eq!(st, 409, "once");
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn an_agent_hands_in_a_supplement_for_the_principal_only_when_the_mandate_grants_it() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-12-04T09:30:00+08:00").await;
        bundles(&s).await;
        let (agent, _) = agency_staff(&s, "H1").await;
        let mut numbers = Vec::new();
        for actions in [json!(["apply"]), json!(["apply", "supplement"])] {
            let (st, v) = s
                .post_json(
                    "/api/v1/mandates",
                    Some(&agent),
                    &json!({"principal_name": "李秀英", "principal_id_number": PERSON_ID,
                            "principal_phone": PHONE, "bundles": ["KB"], "actions": actions,
                            "valid_from": "2026-12-04", "valid_until": "2026-12-31"}),
                )
                .await;
            assert_eq!(st, 201, "{v}");
            let n = v["number"].as_str().unwrap().to_string();
            upload(&s, &agent, &n).await;
            numbers.push(n);
        }
        let (apply_only, both) = (&numbers[0], &numbers[1]);
        // Filed without K2's 营业执照: K2 waits for it.
        let (st, v) = s
            .post_json(
                "/api/v1/bundle-cases",
                Some(&agent),
                &json!({"bundle": "KB", "materials": ["S1", "K1:B"], "applicant": elder(),
                        "mandate": apply_only}),
            )
            .await;
        assert_eq!(st, 201, "{v}");
        let parent = v["number"].as_str().unwrap().to_string();
        let k2 = v["members"][1]["number"].as_str().unwrap().to_string();
        let path = format!("/api/v1/bundle-cases/{parent}/supplement");
        let (st, v) = s
            .post_json(
                &path,
                Some(&agent),
                &json!({"materials": ["K2:B"], "mandate": apply_only}),
            )
            .await;
        assert_eq!(st, 403, "{v}");
        assert_eq!(v["code"], "mandate_action_outside_scope");
        assert!(v["title"].as_str().unwrap().contains("补正"), "{v}");
        let (st, v) = s
            .post_json(&path, Some(&agent), &json!({"materials": ["K2:B"]}))
            .await;
        assert_eq!(st, 403, "no mandate, no supplement by an agent: {v}");
        let (_, case) = s
            .get_json(&format!("/api/v1/cases/{k2}"), Some(&agent))
            .await;
        assert_eq!(
            case["status"], "awaiting_supplement",
            "nothing changed: {case}"
        );

        let (st, v) = s
            .post_json(
                &path,
                Some(&agent),
                &json!({"materials": ["K2:B"], "mandate": both}),
            )
            .await;
        assert_eq!(st, 200, "{v}");
        let (_, case) = s
            .get_json(&format!("/api/v1/cases/{k2}"), Some(&agent))
            .await;
        let given = case["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["kind"] == "materials_received")
            .unwrap_or_else(|| panic!("a supplement: {case}"));
        assert_eq!(given["on_behalf_of"]["mandate"], both.as_str(), "{given}");
        assert_eq!(given["on_behalf_of"]["principal"], "李*英");
        s.stop().await;
    })
    .await;
}
