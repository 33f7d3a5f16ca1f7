//! Supervision (电子监察, issue 13) on both backends, with the dev clock: a late case gets a 督办
//! notice that reaches its owner and the department's head, is escalated into the 通报 report
//! when still late after the notice's deadline, and is resolved when done; a step clicked
//! through is an anomaly a supervisor confirms or dismisses; the month's numbers equal a hand
//! count; a county's supervisor sees nothing of the city's hall; rankings show their formula.

use serde_json::{Value, json};

use crate::browser::Browser;
use crate::cases::{account, application, approve, item, publish, staff};
use crate::support::{TestServer, client, config, error_fields, on_each_backend};

async fn sweep(s: &TestServer, token: &str) -> Value {
    let (st, v) = s
        .post_json("/api/v1/supervision/sweep", Some(token), &json!({}))
        .await;
    assert_eq!(st, 200, "{v}");
    v
}

fn numbers_in(list: &Value, key: &str) -> Vec<String> {
    list[key]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["case_number"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn a_late_case_is_noticed_to_owner_and_head_escalated_into_the_report_and_a_clicked_through_step_is_an_anomaly()
 {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-02T09:00:00+08:00").await;
        publish(&s, &item("X001", false)).await;
        let staff = staff(&s).await;
        let admin = s.admin_token().await;
        let sup = account(&s, &admin, "sup1", json!({"role": "supervisor"})).await;
        let head = account(
            &s,
            &admin,
            "scjhead",
            json!({"role": "approver", "department": "scj"}),
        )
        .await;
        // The department's head reads along (a setting); a bad setting is told and changes nothing.
        let (st, e) = s
            .send_json(
                reqwest::Method::PUT,
                "/api/v1/supervision-settings",
                Some(&admin),
                &json!({"notice_days": 0}),
            )
            .await;
        assert_eq!(st, 422, "{e}");
        assert_eq!(error_fields(&e), vec!["notice_days"]);
        let (st, v) = s
            .send_json(
                reqwest::Method::PUT,
                "/api/v1/supervision-settings",
                Some(&admin),
                &json!({"heads": [{"unit": "scj", "username": "scjhead"}]}),
            )
            .await;
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["notice_days"], 3);

        // Two cases: one left to go late, one decided at once (the clock does not move, so its
        // review was claimed and approved in the same second).
        let mut numbers = Vec::new();
        for _ in 0..2 {
            let (st, v) = s
                .post_json(
                    "/api/v1/cases",
                    Some(&staff.clerk),
                    &application("X001", &["A", "B"]),
                )
                .await;
            assert_eq!(st, 201, "{v}");
            let n = v["number"].as_str().unwrap().to_string();
            let (st, v) = s
                .post_json(
                    &format!("/api/v1/cases/{n}/route"),
                    Some(&staff.clerk),
                    &json!({}),
                )
                .await;
            assert_eq!(st, 200, "{v}");
            numbers.push(n);
        }
        let (late, quick) = (numbers[0].clone(), numbers[1].clone());
        approve(&s, &staff.approver, &quick, "许字〔2026〕1号").await;
        let r = sweep(&s, &sup).await;
        assert_eq!(r["notices"], 0, "nothing late yet: {r}");
        let (_, recs) = s
            .get_json("/api/v1/supervision/records?state=open", Some(&sup))
            .await;
        let anomalies: Vec<&Value> = recs["records"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["case_number"] == quick.as_str())
            .collect();
        assert!(
            anomalies.iter().any(|r| r["kind"] == "hasty_step"),
            "the click-through is found: {recs}"
        );
        assert!(
            !recs
                .to_string()
                .contains(&format!("\"case_number\":\"{late}\"")),
            "the untouched case has no anomaly: {recs}"
        );
        // A second sweep records nothing twice.
        let again = sweep(&s, &sup).await;
        assert_eq!(again["anomalies"], 0, "{again}");
        // Its page reads as people speak: the step's name, the events in words, no codes.
        let hasty_id = anomalies
            .iter()
            .find(|r| r["kind"] == "hasty_step")
            .unwrap()["id"]
            .as_i64()
            .unwrap();
        let page = client()
            .get(s.at(&format!("/supervision/records/{hasty_id}")))
            .bearer_auth(&sup)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("环节“审核”认领后 0 秒即办结"), "{page}");
        assert!(
            page.contains("认领环节") && page.contains("审核通过"),
            "{page}"
        );
        assert!(
            !page.contains("case_step") && !page.contains("review"),
            "{page}"
        );
        // Dismissing needs a reason; confirming puts it in the report.
        let id = anomalies
            .iter()
            .find(|r| r["kind"] == "hasty_step")
            .unwrap()["id"]
            .as_i64()
            .unwrap();
        let (st, e) = s
            .post_json(
                &format!("/api/v1/supervision/records/{id}/decision"),
                Some(&sup),
                &json!({"decision": "dismiss", "reason": " "}),
            )
            .await;
        assert_eq!(st, 422, "{e}");
        assert_eq!(error_fields(&e), vec!["reason"]);
        let (st, v) = s
            .post_json(
                &format!("/api/v1/supervision/records/{id}/decision"),
                Some(&sup),
                &json!({"decision": "confirm", "reason": "审查记录显示未实际审核"}),
            )
            .await;
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["state"], "confirmed");
        let (st, _) = s
            .post_json(
                &format!("/api/v1/supervision/records/{id}/decision"),
                Some(&staff.approver),
                &json!({"decision": "dismiss", "reason": "x"}),
            )
            .await;
        assert_eq!(st, 403, "only supervisors decide");

        // Due Mon 9 March (5 working days from Tue 3 March); on Tue 10 March it is red.
        s.set_clock("2026-03-10T09:00:00+08:00").await;
        let staff = crate::cases::login(&s).await;
        let sup = s.token("sup1", "staff2026pw").await;
        let head = {
            let _ = head;
            s.token("scjhead", "staff2026pw").await
        };
        let r = sweep(&s, &sup).await;
        assert!(r["notices"].as_i64().unwrap() >= 1, "{r}");
        let (_, mine) = s
            .get_json("/api/v1/supervision/notices", Some(&staff.approver))
            .await;
        assert!(
            numbers_in(&mine, "notices").contains(&late),
            "owner's department: {mine}"
        );
        let (_, heads) = s.get_json("/api/v1/supervision/notices", Some(&head)).await;
        assert!(
            numbers_in(&heads, "notices").contains(&late),
            "the head: {heads}"
        );
        let notice = &mine["notices"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["case_number"] == late.as_str() && n["subject_kind"] == "case")
            .unwrap()
            .clone();
        assert_eq!(notice["deadline"], "2026-03-13", "3 working days: {notice}");
        assert_eq!(notice["kind_label"], "超期督办");
        let page = client()
            .get(s.at("/departments/scj/worklist"))
            .bearer_auth(&head)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            page.contains("督办通知") && page.contains("超期督办"),
            "in the head's worklist"
        );
        let (_, other) = s
            .get_json("/api/v1/supervision/notices", Some(&staff.other_department))
            .await;
        assert_eq!(
            other["total"], 0,
            "another department is not addressed: {other}"
        );
        assert_eq!(
            sweep(&s, &sup).await["notices"],
            0,
            "one notice per late subject"
        );

        // Still late after the notice's deadline: escalated, in March's 通报 report.
        s.set_clock("2026-03-16T09:00:00+08:00").await;
        let sup = s.token("sup1", "staff2026pw").await;
        let r = sweep(&s, &sup).await;
        assert!(r["escalated"].as_i64().unwrap() >= 1, "{r}");
        let (st, rep) = s
            .get_json("/api/v1/supervision/report?month=2026-03", Some(&sup))
            .await;
        assert_eq!(st, 200, "{rep}");
        let reported = numbers_in(&rep, "reported");
        assert!(reported.contains(&late), "late case reported: {rep}");
        assert!(
            reported.contains(&quick),
            "confirmed anomaly reported: {rep}"
        );
        assert_eq!(sweep(&s, &sup).await["escalated"], 0, "escalated once");
        // The rectification it demands is in the bottleneck ledger, owned by the department.
        let (st, ledger) = s.get_json("/api/v1/ledger", Some(&sup)).await;
        assert_eq!(st, 200, "{ledger}");
        let text = ledger.to_string();
        assert!(
            text.contains("电子监察通报") && text.contains(&late),
            "{ledger}"
        );

        // Decided at last: nothing open for it any more (the escalation stays on record).
        let staff = crate::cases::login(&s).await;
        // (The worker confirmed its routing long ago, so the department goes straight to work.)
        for (path, body) in [
            ("steps/review/claim", json!({})),
            ("steps/review/approve", json!({"opinion": "同意"})),
            ("steps/decide/claim", json!({})),
            (
                "steps/decide/decide",
                json!({"outcome": "approved", "document_number": "许字〔2026〕2号"}),
            ),
        ] {
            let (st, v) = s
                .post_json(
                    &format!("/api/v1/cases/{late}/{path}"),
                    Some(&staff.approver),
                    &body,
                )
                .await;
            assert_eq!(st, 200, "{path}: {v}");
        }
        sweep(&s, &sup).await;
        let (_, open) = s
            .get_json("/api/v1/supervision/records?state=open", Some(&sup))
            .await;
        assert!(
            !open["records"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["case_number"] == late.as_str() && r["kind"] == "overdue"),
            "{open}"
        );

        // The month's numbers, against a hand count: 2 received and accepted on 2 March, one
        // decided that day (on time, before its committed date: 5 days), one decided on 16 March,
        // 5 working days after its committed date. Days saved against the 20-day statutory limit:
        // quick from 2 March (statutory due 30 March: 20 working days), late from 16 March (10).
        let (st, n) = s
            .get_json(
                "/api/v1/supervision/numbers?month=2026-03&by=total",
                Some(&sup),
            )
            .await;
        assert_eq!(st, 200, "{n}");
        let t = &n["rows"][0];
        let expected = json!({
            "received": 2, "accepted": 2, "decided": 2, "refused": 0,
            "done_rate": "100.0%", "on_time_rate": "50.0%", "early_rate": "50.0%",
            "days_saved_mean": "15.0 个工作日",
        });
        for (k, v) in expected.as_object().unwrap() {
            assert_eq!(&t[k], v, "{k} in {t}");
        }
        let (st, e) = s
            .get_json("/api/v1/supervision/numbers?month=2026-13", Some(&sup))
            .await;
        assert_eq!(st, 422, "{e}");
        let (st, _) = s
            .get_json("/api/v1/supervision/numbers", Some(&staff.clerk))
            .await;
        assert_eq!(st, 403, "a clerk reads no supervision numbers");
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_county_supervisor_sees_its_county_hall_and_nothing_of_the_city_hall() {
    on_each_backend(|url| async move {
        let mut c = config(&url);
        c.demo = true;
        c.admin_password = None;
        let s = TestServer::start_with(c).await;
        let admin = s.token("admin", yichuang_server::demo::DEMO_ADMIN_PASSWORD).await;
        s.set_clock_as(&admin, "2026-03-02T10:00:00+08:00").await;
        let setup = yichuang_server::demo::halls().unwrap();
        let pw = setup.demo_password.clone();
        let city = s.token("luojun", &pw).await;
        let county = s.token("qiuyue", &pw).await;
        for (who, token, halls) in [
            ("city", &city, vec!["QS-ZWFW", "YL-ZWFW"]),
            ("county", &county, vec!["QS-ZWFW"]),
        ] {
            let (st, v) = s.get_json("/api/v1/supervision/numbers?by=hall", Some(token)).await;
            assert_eq!(st, 200, "{v}");
            let keys: Vec<&str> = v["rows"].as_array().unwrap().iter().map(|r| r["key"].as_str().unwrap()).collect();
            for k in &keys {
                assert!(halls.contains(k), "{who} sees {k}");
            }
        }
        // The city's report rolls its halls up into its own 本级 and its counties.
        let (st, rep) = s.get_json("/api/v1/supervision/report", Some(&city)).await;
        assert_eq!(st, 200, "{rep}");
        let regions: Vec<&str> = rep["regions"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
        assert_eq!(regions, vec!["云岭市本级", "青山县", "白水县"], "{rep}");
        let (st, _) = s.get_json("/api/v1/halls/YL-ZWFW/stats", Some(&county)).await;
        assert_eq!(st, 403, "the city hall's statistics");
        let (st, _) = s.get_json("/api/v1/halls/QS-ZWFW/stats", Some(&county)).await;
        assert_eq!(st, 200);
        let (st, _) = s.get_json("/api/v1/supervision/rankings/YL-ZWFW", Some(&county)).await;
        assert_eq!(st, 403);
        let (st, r) = s.get_json("/api/v1/supervision/rankings/YL-ZWFW", Some(&city)).await;
        assert_eq!(st, 200, "{r}");
        assert!(r["formula"].as_str().unwrap().contains("满意率×40"), "{r}");
        let places: Vec<i64> = r["windows"].as_array().unwrap().iter().map(|w| w["place"].as_i64().unwrap()).collect();
        assert_eq!(places, (1..=places.len() as i64).collect::<Vec<_>>());
        // Pages answer the same: the wall of the city hall is not the county's to see.
        let r = client().get(s.at("/supervision/wall/YL-ZWFW")).bearer_auth(&county).send().await.unwrap();
        assert_eq!(r.status(), 403);
        let r = client().get(s.at("/supervision/wall/QS-ZWFW")).bearer_auth(&county).send().await.unwrap();
        assert_eq!(r.status(), 200);
        // A region on a non-supervisor, or one that does not exist, is refused.
        let (st, e) = s
            .post_json(
                "/api/v1/accounts",
                Some(&admin),
                &json!({"username": "qsclerk9", "display_name": "某人", "role": "clerk", "hall": "QS-ZWFW",
                        "region": "990121", "password": "Qs-clerk-2026"}),
            )
            .await;
        assert_eq!(st, 422, "{e}");
        assert_eq!(error_fields(&e), vec!["region"]);
        let (st, e) = s
            .post_json(
                "/api/v1/accounts",
                Some(&admin),
                &json!({"username": "qssuper9", "display_name": "某人", "role": "supervisor",
                        "region": "999999", "password": "Qs-super-2026"}),
            )
            .await;
        assert_eq!(st, 422, "{e}");
        assert_eq!(error_fields(&e), vec!["region"]);
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn in_a_browser_the_director_sees_the_dashboard_and_the_wall_and_the_report_workbook_holds_the_page_numbers()
 {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let Some(b) = Browser::start().await else {
            return;
        };
        s.set_clock("2026-03-02T10:00:00+08:00").await;
        let d = crate::ratings::desk(&s).await;
        for _ in 0..3 {
            let (st, v) = s
                .post_json(
                    "/api/v1/cases",
                    Some(&d.clerk),
                    &application("X001", &["A", "B"]),
                )
                .await;
            assert_eq!(st, 201, "{v}");
        }
        let sup = d.supervisor.clone();
        sweep(&s, &sup).await;
        b.driver.set_window_rect(0, 0, 1280, 900).await.unwrap();
        b.sign_in(&s.url, "sup1", "staff2026pw", "/supervision")
            .await;
        let compare = b.el("#compare table").await.text().await.unwrap();
        assert!(compare.contains("2026年3月"), "{compare}");
        assert!(b.el("svg.chart").await.is_displayed().await.unwrap());
        assert!(b.el("#live-red").await.text().await.unwrap().trim() == "0");

        // The workbook holds what the page shows.
        let cookie = b
            .driver
            .get_named_cookie("yc_session")
            .await
            .map(|c| c.value.to_string());
        let mut req = client().get(s.at("/supervision/report.xlsx?month=2026-03"));
        req = match cookie {
            Ok(c) => req.header("cookie", format!("yc_session={c}")),
            Err(_) => req.bearer_auth(&sup),
        };
        let bytes = req.send().await.unwrap().bytes().await.unwrap();
        use calamine::Reader;
        let mut book: calamine::Xlsx<_> =
            calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
        let sheet = book.worksheet_range("总体").unwrap();
        let row: Vec<String> = sheet
            .rows()
            .nth(1)
            .unwrap()
            .iter()
            .map(|c| c.to_string())
            .collect();
        assert_eq!(row[5], "3", "收件 in the workbook: {row:?}");
        for cell in &row {
            assert!(
                compare.contains(cell.as_str()),
                "{cell} on the page: {compare}"
            );
        }

        // The monthly report prints; the wall page is readable and refreshes itself.
        b.driver
            .goto(&format!("{}/supervision/report?month=2026-03", s.url))
            .await
            .unwrap();
        assert!(
            b.el("#report-title")
                .await
                .text()
                .await
                .unwrap()
                .contains("2026年3月")
        );
        b.driver
            .goto(&format!("{}/supervision/wall/{}", s.url, crate::hall::HALL))
            .await
            .unwrap();
        let h = b.el("body.wall h1").await.text().await.unwrap();
        assert!(h.contains("监察"), "{h}");
        assert!(
            b.el("#wall-time")
                .await
                .text()
                .await
                .unwrap()
                .contains("2026年3月2日")
        );
        b.quit().await;
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn window_and_staff_rankings_follow_their_formula_by_month_and_by_quarter() {
    use crate::hall::{HALL, act, call, take_ok};
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-02T09:00:00+08:00").await;
        let d = crate::ratings::desk(&s).await;
        // Two visitors: one called at once, one after 45 minutes.
        take_ok(&s, None, "a").await;
        take_ok(&s, None, "a").await;
        for at in ["2026-03-02T09:00:00+08:00", "2026-03-02T09:45:00+08:00"] {
            s.set_clock(at).await;
            let t = call(&s, &d.clerk, d.window).await.expect("someone waits");
            let id = t["id"].as_i64().unwrap();
            for step in ["start", "finish"] {
                let (st, v) = act(&s, &d.clerk, id, step).await;
                assert_eq!(st, 200, "{step}: {v}");
            }
        }
        sweep(&s, &d.supervisor).await;
        // One of two waits within 30 minutes: (30×50 + 40×100 + 20×100 + 10×100) / 100 = 85.
        for by in ["window", "staff"] {
            let (st, r) = s
                .get_json(
                    &format!("/api/v1/supervision/rankings/{HALL}?month=2026-03&by={by}"),
                    Some(&d.supervisor),
                )
                .await;
            assert_eq!(st, 200, "{r}");
            let ranked = r["ranked"].as_array().unwrap();
            assert_eq!(ranked.len(), 1, "{by}: {r}");
            assert_eq!(ranked[0]["score"], "85.0", "{by}: {r}");
            assert_eq!(ranked[0]["timeliness"], "50.0");
        }
        let (_, r) = s
            .get_json(
                &format!("/api/v1/supervision/rankings/{HALL}?quarter=2026-Q1&by=staff"),
                Some(&d.supervisor),
            )
            .await;
        assert_eq!(r["period_name"], "2026年第1季度", "{r}");
        assert_eq!(
            r["ranked"][0]["name"], "王窗口",
            "the name, not the username: {r}"
        );
        let (st, e) = s
            .get_json(
                &format!("/api/v1/supervision/rankings/{HALL}?quarter=2026-Q5"),
                Some(&d.supervisor),
            )
            .await;
        assert_eq!(st, 422, "{e}");
        assert_eq!(error_fields(&e), vec!["quarter"]);
        s.stop().await;
    })
    .await;
}
