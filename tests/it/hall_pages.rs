//! The hall's writable pages: the visitor's phone page (ticket, booking, the appointment's
//! own page with reschedule and cancel), the set-up forms of the hall manager, and in Chromium
//! a booking on the phone checked in at the kiosk.

use std::time::Duration;

use serde_json::{Value, json};

use crate::hall::{HALL, demo_hall};
use crate::hall_appointments::ID;
use crate::support::{ADMIN_PASSWORD, TestServer, on_each_backend};

/// A client signed in as `username` (its own cookie jar).
async fn signed_in(s: &TestServer, username: &str, password: &str) -> reqwest::Client {
    let c = crate::support::client();
    let r = c
        .post(s.at("/api/v1/auth/login"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "login as {username}");
    c
}

/// Posts a form; returns the status, the Location header and the body.
async fn post_form(
    c: &reqwest::Client,
    url: String,
    form: &[(&str, &str)],
) -> (u16, String, String) {
    let r = c.post(url).form(form).send().await.unwrap();
    let status = r.status().as_u16();
    let location = r
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, location, r.text().await.unwrap())
}

async fn get_page(c: &reqwest::Client, url: String) -> (u16, String) {
    let r = c.get(url).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The message shown next to `field`, if any.
fn error_at(html: &str, field: &str) -> Option<String> {
    let marker = format!("data-field=\"{field}\">");
    let at = html.find(&marker)? + marker.len();
    Some(html[at..].split('<').next()?.to_string())
}

#[tokio::test]
async fn a_visitor_takes_a_ticket_and_books_on_the_phone_page_then_reschedules_and_cancels() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-02T10:00:00+08:00").await;
        demo_hall(&s).await;
        let phone = crate::support::client();
        let (st, home) = get_page(&phone, s.at(&format!("/halls/{HALL}/phone"))).await;
        assert_eq!(st, 200);
        assert!(
            home.contains("现场取号") && home.contains("预约 · 企业开办"),
            "{home}"
        );
        let (_, qr) = get_page(&phone, s.at(&format!("/halls/{HALL}/phone/qr.svg"))).await;
        assert!(qr.contains("<svg"));

        // A ticket from the phone.
        let (st, to, _) = post_form(
            &phone,
            s.at(&format!("/halls/{HALL}/phone")),
            &[("queue", "a"), ("phone", "")],
        )
        .await;
        assert_eq!(st, 303);
        let (_, t) = s
            .get_json(&to.replace("/t/", "/api/v1/tickets/"), None)
            .await;
        assert_eq!(
            (t["number"].as_str(), t["channel"].as_str()),
            (Some("A001"), Some("phone"))
        );
        let (st, _, html) = post_form(
            &phone,
            s.at(&format!("/halls/{HALL}/phone")),
            &[("queue", "a"), ("phone", "1234")],
        )
        .await;
        assert_eq!(st, 422);
        assert!(error_at(&html, "phone").is_some(), "{html}");
        assert!(html.contains("value=\"1234\""), "the value is kept");

        // Booking: queue → date → slot → number.
        let book = s.at(&format!("/halls/{HALL}/phone/book"));
        let (_, page) = get_page(&phone, format!("{book}?queue=a")).await;
        assert!(page.contains("3月3日 星期二"), "{page}");
        let (_, page) = get_page(&phone, format!("{book}?queue=a&date=2026-03-03")).await;
        assert!(
            page.contains("09:00–09:30") && page.contains("余 4"),
            "{page}"
        );
        let (st, _, html) = post_form(
            &phone,
            book.clone(),
            &[
                ("queue", "a"),
                ("date", "2026-03-03"),
                ("start", ""),
                ("id_number", "12345"),
                ("phone", ""),
            ],
        )
        .await;
        assert_eq!(st, 422);
        assert_eq!(error_at(&html, "start").as_deref(), Some("请选择预约时段"));
        assert!(error_at(&html, "id_number").is_some(), "{html}");
        assert!(html.contains("value=\"12345\""), "the value is kept");
        let booking = [
            ("queue", "a"),
            ("date", "2026-03-03"),
            ("start", "09:00"),
            ("id_number", ID),
            ("phone", ""),
        ];
        let (st, to, _) = post_form(&phone, book.clone(), &booking).await;
        assert_eq!(st, 303);
        assert!(
            to.starts_with("/appointments/") && to.ends_with("?done=booked"),
            "{to}"
        );
        let page_url = to.trim_end_matches("?done=booked").to_string();
        let (st, page) = get_page(&phone, s.at(&to)).await;
        assert_eq!(st, 200);
        assert!(
            page.contains("预约成功")
                && page.contains("已预约")
                && page.contains("3月3日 星期二 09:00–09:30"),
            "{page}"
        );
        assert!(
            page.contains("1101**********1239") && !page.contains(ID),
            "masked only (R-PII)"
        );
        let (_, qr) = get_page(&phone, s.at(&format!("{page_url}/qr.svg"))).await;
        assert!(qr.contains("<svg"));
        // The same person cannot take a second place that day in the queue: shown at the number.
        let (st, _, html) = post_form(
            &phone,
            book.clone(),
            &[
                ("queue", "a"),
                ("date", "2026-03-03"),
                ("start", "10:00"),
                ("id_number", ID),
                ("phone", ""),
            ],
        )
        .await;
        assert_eq!(st, 429);
        assert_eq!(
            error_at(&html, "id_number").as_deref(),
            Some("同一事项每人每天最多预约1次")
        );

        // Reschedule from the appointment's page.
        let (_, page) = get_page(&phone, s.at(&format!("{page_url}?date=2026-03-04"))).await;
        assert!(page.contains("改到此时段"), "{page}");
        let (st, _, html) = post_form(
            &phone,
            s.at(&format!("{page_url}/reschedule")),
            &[("date", "2026-03-04"), ("start", "")],
        )
        .await;
        assert_eq!(st, 422);
        assert_eq!(
            error_at(&html, "start").as_deref(),
            Some("请选择新的预约时段")
        );
        let (st, to, _) = post_form(
            &phone,
            s.at(&format!("{page_url}/reschedule")),
            &[("date", "2026-03-04"), ("start", "10:00")],
        )
        .await;
        assert_eq!((st, to.ends_with("?done=rescheduled")), (303, true), "{to}");
        let (_, page) = get_page(&phone, s.at(&to)).await;
        assert!(page.contains("3月4日 星期三 10:00–10:30"), "{page}");

        // Cancelling asks first (issue 10 item 5): the first press changes nothing.
        let (st, _, html) = post_form(&phone, s.at(&format!("{page_url}/cancel")), &[]).await;
        assert_eq!(st, 200);
        assert!(
            html.contains("确定要取消预约吗") && html.contains("cancel-keep"),
            "{html}"
        );
        let (_, page) = get_page(&phone, s.at(&page_url)).await;
        assert!(page.contains("取消此预约"), "still booked: {page}");
        // Cancel; a second cancel is refused next to the button, and nothing changes.
        let confirm = [("confirm", "yes")];
        let (st, to, _) = post_form(&phone, s.at(&format!("{page_url}/cancel")), &confirm).await;
        assert_eq!((st, to.ends_with("?done=cancelled")), (303, true));
        let (_, page) = get_page(&phone, s.at(&to)).await;
        assert!(
            page.contains("已取消") && !page.contains("取消此预约"),
            "{page}"
        );
        let (st, _, html) = post_form(&phone, s.at(&format!("{page_url}/cancel")), &confirm).await;
        assert_eq!(st, 409);
        assert!(html.contains("该预约已取消，不能取消"), "{html}");
        let (st, _) = get_page(&phone, s.at("/appointments/1-0000000000")).await;
        assert_eq!(st, 404, "a wrong code tells nothing");
        s.stop().await;
    })
    .await;
}

fn settings_form<'a>(changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("limits.per_person_per_day", "3"),
        ("limits.per_address_per_day", "10"),
        ("policy.elderly_age", "60"),
        ("policy.weights.appointment", "30"),
        ("policy.weights.elderly", "20"),
        ("policy.weights.disabled", "20"),
        ("policy.weights.military", "20"),
        ("policy.weights.pregnant", "20"),
        ("policy.ageing_points_per_minute", "1"),
        ("tickets.recalls_before_no_show", "2"),
        ("appointments.slot_minutes", "30"),
        ("appointments.capacity_per_slot", "4"),
        ("appointments.horizon_working_days", "7"),
        ("appointments.max_open_per_person", "3"),
        ("appointments.max_per_person_per_day", "1"),
        ("appointments.change_cutoff_minutes", "0"),
        ("appointments.max_reschedules", "2"),
        ("appointments.check_in_before_minutes", "30"),
        ("appointments.check_in_after_minutes", "15"),
        ("appointments.no_show_threshold", "3"),
        ("appointments.no_show_period_days", "90"),
        ("appointments.block_days", "30"),
        ("day_end", "18:00"),
        ("day_end_reason", "今日办公时间已结束"),
    ];
    for (k, v) in changes {
        match form.iter_mut().find(|(n, _)| n == k) {
            Some(f) => f.1 = v,
            None => form.push((k, v)),
        }
    }
    form
}

#[tokio::test]
async fn the_hall_manager_adds_queues_and_windows_and_changes_settings_on_the_set_up_page() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let (admin, _, _) = demo_hall(&s).await;
        let manager = signed_in(&s, "admin", ADMIN_PASSWORD).await;
        let manage = s.at(&format!("/halls/{HALL}/manage"));
        let (st, page) = get_page(&manager, manage.clone()).await;
        assert_eq!(st, 200);
        assert!(
            page.contains("新建队列") && page.contains("新建窗口") && page.contains("保存设置")
        );
        let hall = || async { s.get_json(&format!("/api/v1/halls/{HALL}"), None).await.1 };

        // A queue.
        let (st, _, html) = post_form(
            &manager,
            format!("{manage}/queues"),
            &[("code", "c"), ("name", ""), ("prefix", "1")],
        )
        .await;
        assert_eq!(st, 422);
        assert_eq!(
            error_at(&html, "name").as_deref(),
            Some("请填写队列名称（不超过100字）")
        );
        assert!(error_at(&html, "prefix").is_some(), "{html}");
        assert!(html.contains("value=\"c\""), "the value is kept");
        assert_eq!(
            hall().await["queues"].as_array().unwrap().len(),
            2,
            "nothing changed"
        );
        let (st, to, _) = post_form(
            &manager,
            format!("{manage}/queues"),
            &[("code", "c"), ("name", "社保医保"), ("prefix", "C")],
        )
        .await;
        assert_eq!(
            (st, to.as_str()),
            (303, format!("/halls/{HALL}/manage?done=queue").as_str())
        );
        let (_, page) = get_page(&manager, s.at(&to)).await;
        assert!(page.contains("已新建队列") && page.contains("社保医保"));
        let (st, _, html) = post_form(
            &manager,
            format!("{manage}/queues"),
            &[("code", "c"), ("name", "重复"), ("prefix", "D")],
        )
        .await;
        assert_eq!(st, 409);
        assert_eq!(error_at(&html, "code").as_deref(), Some("该编码已被使用"));

        // A window serving c first, then a.
        let (st, _, html) = post_form(
            &manager,
            format!("{manage}/windows"),
            &[
                ("code", ""),
                ("name", "社保窗口"),
                ("kind", "bogus"),
                ("queues", ""),
                ("queues", ""),
            ],
        )
        .await;
        assert_eq!(st, 422);
        for f in ["code", "kind", "queues"] {
            assert!(error_at(&html, f).is_some(), "{f}: {html}");
        }
        assert!(html.contains("value=\"社保窗口\""));
        assert_eq!(
            hall().await["windows"].as_array().unwrap().len(),
            2,
            "nothing changed"
        );
        let (st, _, _) = post_form(
            &manager,
            format!("{manage}/windows"),
            &[
                ("code", "W3"),
                ("name", "社保窗口"),
                ("kind", "specialist"),
                ("queues", "c"),
                ("queues", ""),
                ("queues", "a"),
            ],
        )
        .await;
        assert_eq!(st, 303);
        let w3 = window_named(&hall().await, "W3");
        assert_eq!(
            (w3["kind"].clone(), w3["queues"].clone()),
            (json!("specialist"), json!(["c", "a"]))
        );

        // Changing queue c: the form comes filled in; a prefix in use is refused next to it.
        let (st, page) = get_page(&manager, s.at(&format!("/halls/{HALL}/manage?queue=c"))).await;
        assert_eq!(st, 200);
        assert!(page.contains("修改队列 c"), "{page}");
        let edit_queue = format!("{manage}/queues/c");
        let (st, _, html) = post_form(
            &manager,
            edit_queue.clone(),
            &[("name", "社保医保"), ("prefix", "A")],
        )
        .await;
        assert_eq!(st, 422);
        assert!(
            error_at(&html, "prefix").is_some_and(|e| e.contains("已被队列")),
            "{html}"
        );
        assert!(html.contains("修改队列 c"), "{html}");
        let (st, to, _) = post_form(
            &manager,
            edit_queue,
            &[("name", "社保医保"), ("prefix", "S")],
        )
        .await;
        assert_eq!(
            (st, to.as_str()),
            (
                303,
                format!("/halls/{HALL}/manage?done=queue_changed").as_str()
            )
        );
        let q = hall().await["queues"]
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["code"] == "c")
            .unwrap()
            .clone();
        assert_eq!(
            (q["name"].clone(), q["prefix"].clone()),
            (json!("社保医保"), json!("S"))
        );

        // Changing W3: the form comes filled in, the code stays, bad input changes nothing.
        let edit = format!("{manage}/windows/{}", w3["id"]);
        let (st, page) = get_page(
            &manager,
            s.at(&format!("/halls/{HALL}/manage?window={}", w3["id"])),
        )
        .await;
        assert_eq!(st, 200);
        assert!(page.contains("修改窗口 W3"), "{page}");
        assert!(
            page.contains(&format!(
                r#"action="/halls/{HALL}/manage/windows/{}""#,
                w3["id"]
            )),
            "{page}"
        );
        assert!(
            page.contains(r#"value="W3" autocapitalize="none" readonly"#),
            "{page}"
        );
        let (st, _, html) = post_form(
            &manager,
            edit.clone(),
            &[
                ("name", ""),
                ("kind", "issuance"),
                ("queues", "c"),
                ("queues", "c"),
            ],
        )
        .await;
        assert_eq!(st, 422);
        for f in ["name", "queues"] {
            assert!(error_at(&html, f).is_some(), "{f}: {html}");
        }
        assert!(
            html.contains("修改窗口 W3"),
            "the form stays on the window: {html}"
        );
        let (st, to, _) = post_form(
            &manager,
            edit,
            &[
                ("name", "出件窗口"),
                ("kind", "issuance"),
                ("queues", "a"),
                ("queues", ""),
                ("queues", "c"),
            ],
        )
        .await;
        assert_eq!(
            (st, to.as_str()),
            (
                303,
                format!("/halls/{HALL}/manage?done=window_changed").as_str()
            )
        );
        let w3 = window_named(&hall().await, "W3");
        assert_eq!(
            (w3["name"].clone(), w3["kind"].clone(), w3["queues"].clone()),
            (json!("出件窗口"), json!("issuance"), json!(["a", "c"]))
        );

        // Settings: what the form shows is changed, the rest kept.
        let good = settings_form(&[
            ("limits.per_person_per_day", "5"),
            ("limits.per_address_per_day", ""),
            ("policy.elderly_age", "65"),
            ("policy.weights.elderly", "40"),
            ("tickets.recalls_before_no_show", "3"),
            ("appointments.capacity_per_slot", "6"),
            ("appointments.same_day_booking", "on"),
            ("day_end", "17:30"),
            ("kiosk_reset_seconds", "45"),
            ("phone", "0870-1234500"),
            ("address", "云岭市青云大道88号"),
        ]);
        let estimate = hall().await["settings"]["estimate"].clone();
        let (st, to, _) = post_form(&manager, format!("{manage}/settings"), &good).await;
        assert_eq!((st, to.ends_with("done=settings")), (303, true));
        let set = hall().await["settings"].clone();
        assert_eq!(set["limits"]["per_person_per_day"], 5);
        assert_eq!(set["limits"]["per_address_per_day"], Value::Null);
        assert_eq!(set["policy"]["elderly_age"], 65);
        assert_eq!(
            (
                set["policy"]["weights"]["elderly"].clone(),
                set["policy"]["weights"]["appointment"].clone()
            ),
            (json!(40), json!(30))
        );
        assert_eq!(set["estimate"], estimate, "not on the form: kept");
        assert_eq!(set["tickets"]["recalls_before_no_show"], 3);
        assert_eq!(set["appointments"]["capacity_per_slot"], 6);
        assert_eq!(set["appointments"]["same_day_booking"], true);
        assert_eq!(set["day_end"], "17:30:00");
        // What the kiosk and the papers use (issue 10).
        assert_eq!(set["kiosk_reset_seconds"], 45);
        assert_eq!(set["phone"], "0870-1234500");
        assert_eq!(set["address"], "云岭市青云大道88号");
        let (_, page) = get_page(&manager, s.at(&to)).await;
        assert!(page.contains("设置已保存") && page.contains("value=\"65\""));
        let bad = settings_form(&[
            ("policy.elderly_age", "abc"),
            ("appointments.slot_minutes", "0"),
            ("day_end", "25:00"),
            ("tickets.recalls_before_no_show", "9"),
            ("policy.ageing_points_per_minute", "0"),
            ("kiosk_reset_seconds", "2"),
        ]);
        let (st, _, html) = post_form(&manager, format!("{manage}/settings"), &bad).await;
        assert_eq!(st, 422);
        assert_eq!(
            error_at(&html, "kiosk_reset_seconds").as_deref(),
            Some("自助机无人操作后复位的时间须在 5 到 600 秒之间")
        );
        assert_eq!(
            error_at(&html, "policy.elderly_age").as_deref(),
            Some("请填写不小于0的整数")
        );
        assert_eq!(
            error_at(&html, "appointments.slot_minutes").as_deref(),
            Some("预约时段长度须在5到240分钟之间")
        );
        assert!(error_at(&html, "day_end").is_some());
        assert!(
            error_at(&html, "policy.ageing_points_per_minute").is_some(),
            "{html}"
        );
        assert!(html.contains("value=\"abc\""), "what was typed is kept");
        assert_eq!(hall().await["settings"], set, "nothing changed");
        // A head start of 1,000 minutes would starve ordinary tickets: refused at the weights.
        let starving = settings_form(&[("policy.weights.pregnant", "1000")]);
        let (st, _, html) = post_form(&manager, format!("{manage}/settings"), &starving).await;
        assert_eq!(st, 422);
        assert!(
            error_at(&html, "policy.weights.appointment").is_some(),
            "{html}"
        );

        // Front-line staff may not set the hall up.
        crate::hall::clerk_token(&s, &admin, "wang").await;
        let clerk = signed_in(&s, "wang", "clerk2026pw").await;
        let (st, _) = get_page(&clerk, manage.clone()).await;
        assert_eq!(st, 403);
        let (st, _, _) = post_form(
            &clerk,
            format!("{manage}/queues"),
            &[("code", "d"), ("name", "税务"), ("prefix", "D")],
        )
        .await;
        assert_eq!(st, 403);
        assert_eq!(hall().await["queues"].as_array().unwrap().len(), 3);
        s.stop().await;
    })
    .await;
}

/// Done means (issue 3, appointments): a visitor books on the phone page at phone width,
/// checks in at the kiosk by scanning the appointment's QR code, and the ticket appears; the
/// manager adds a queue through the set-up page — in a real browser.
#[tokio::test]
async fn a_visitor_books_on_the_phone_and_checks_in_at_the_kiosk_in_a_browser() {
    let s = TestServer::start(&yichuang_store::testing::sqlite_url()).await;
    let Some(b) = crate::browser::Browser::start().await else {
        return;
    };
    s.set_clock("2026-03-02T10:00:00+08:00").await;
    demo_hall(&s).await;
    let d = &b.driver;
    d.set_window_rect(0, 0, 390, 844).await.unwrap();
    d.goto(s.at(&format!("/halls/{HALL}/phone"))).await.unwrap();
    b.click_and_wait("a[data-book='a']").await;
    b.click_and_wait("a[data-date='2026-03-03']").await;
    let fits = d
        .execute(
            "return document.documentElement.scrollWidth <= window.innerWidth + 1;",
            Vec::new(),
        )
        .await
        .unwrap();
    assert_eq!(
        fits.json(),
        &Value::Bool(true),
        "the booking page fits a phone"
    );
    b.el("input[name='start'][value='14:00']")
        .await
        .click()
        .await
        .unwrap();
    // A wrong number first: the page comes back with the message next to the field.
    b.el("#id_number")
        .await
        .send_keys("110105199003071230")
        .await
        .unwrap();
    b.click_and_wait("#book-submit").await;
    assert!(!b.text_of("[data-field='id_number']").await.is_empty());
    let id = b.el("#id_number").await;
    id.clear().await.unwrap();
    id.send_keys(ID).await.unwrap();
    b.el("input[name='start'][value='14:00']")
        .await
        .click()
        .await
        .unwrap();
    b.click_and_wait("#book-submit").await;
    let code = b.text_of("#a-code").await;
    assert_eq!(
        b.driver.current_url().await.unwrap().path(),
        format!("/appointments/{code}")
    );
    assert!(b.body_text().await.contains("预约成功"));

    // At the kiosk on the day, the scanner types the QR code's link and presses Enter.
    s.set_clock("2026-03-03T13:40:00+08:00").await;
    d.set_window_rect(0, 0, 1280, 900).await.unwrap();
    d.goto(s.at(&format!("/halls/{HALL}/kiosk"))).await.unwrap();
    let input = b.el("#checkin-text").await;
    input.send_keys("13900000000\n").await.unwrap();
    let mut said = String::new();
    for _ in 0..50 {
        said = b.text_of("#checkin-error").await;
        if !said.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(said.contains("未找到"), "{said}");
    input.clear().await.unwrap();
    input
        .send_keys(format!("{}/appointments/{code}\n", s.url))
        .await
        .unwrap();
    let mut number = String::new();
    for _ in 0..50 {
        number = b.text_of("#r-number").await;
        if !number.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(number, "A001");
    assert!(b.text_of("#r-kind").await.contains("预约"));
    let ticket = b
        .el("#receipt")
        .await
        .attr("data-ticket")
        .await
        .unwrap()
        .unwrap();
    let (_, t) = s.get_json(&format!("/api/v1/tickets/{ticket}"), None).await;
    assert_eq!(
        (t["channel"].as_str(), t["status"].as_str()),
        (Some("appointment"), Some("waiting"))
    );

    // The hall manager adds a queue through the set-up page.
    let admin = s.admin_token().await;
    d.add_cookie(thirtyfour::Cookie::new("yc_session", admin))
        .await
        .unwrap();
    d.goto(s.at(&format!("/halls/{HALL}/manage")))
        .await
        .unwrap();
    b.el("#q-code").await.send_keys("c").await.unwrap();
    b.el("#q-name").await.send_keys("社保医保").await.unwrap();
    b.el("#q-prefix").await.send_keys("C").await.unwrap();
    b.click_and_wait("#queue-form button[type='submit']").await;
    assert!(b.body_text().await.contains("已新建队列"));
    b.quit().await;
    s.stop().await;
}

#[tokio::test]
async fn statistics_per_staff_member_show_the_name_and_username() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-03-02T09:00:00+08:00").await;
        let (admin, w1, _) = demo_hall(&s).await;
        let clerk = crate::hall::clerk_at(&s, &admin, "wang", w1).await;
        crate::hall::take_ok(&s, None, "a").await;
        let t = crate::hall::call(&s, &clerk, w1).await.unwrap();
        let id = t["id"].as_i64().unwrap();
        for action in ["start", "finish"] {
            let (st, v) = crate::hall::act(&s, &clerk, id, action).await;
            assert_eq!(st, 200, "{v}");
        }
        let admin = s.admin_token().await;
        let (st, r) = s
            .get_json(&format!("/api/v1/halls/{HALL}/stats"), Some(&admin))
            .await;
        assert_eq!(st, 200, "{r}");
        let staff = &r["by_staff"][0];
        assert_eq!(
            (staff["username"].as_str(), staff["name"].as_str()),
            (Some("wang"), Some("王窗口")),
            "{r}"
        );
        assert!(staff["staff"].is_i64());
        assert_eq!(staff["figures"]["finished"], 1);
        let (st, page) = get_page(&s.client, s.at(&format!("/halls/{HALL}/stats"))).await;
        assert_eq!(st, 200);
        assert!(page.contains("王窗口（wang）"), "{page}");
        s.stop().await;
    })
    .await;
}

/// The window `code` of a hall as `GET /api/v1/halls/{hall}` shows it.
fn window_named(hall: &serde_json::Value, code: &str) -> serde_json::Value {
    hall["windows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["code"] == code)
        .unwrap()
        .clone()
}
