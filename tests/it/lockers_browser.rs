//! Smart lockers in Chromium, on both backends: the manager takes a door out of service, the
//! issuance clerk puts a result in at 18:30 from the case page, and on Saturday the applicant
//! opens the door at the simulated locker (a page that plays the controller through the device
//! API) with the SMS code — issued once; an expired code is refused at the locker; a drop-off
//! booked on the phone at night is collected the next morning with the clock right.

use serde_json::json;

use crate::browser::Browser;
use crate::cases::{PHONE, case, login};
use crate::lockers::{BANK, approved, bank, concluded, sms_code, waiting_for_supplement};
use crate::support::{ADMIN_PASSWORD, TestServer, on_each_backend};

const STAFF_PASSWORD: &str = "staff2026pw";

async fn go(b: &Browser, s: &TestServer, path: &str) {
    b.driver.goto(s.at(path)).await.unwrap();
    b.el("h1").await;
}

async fn type_into(b: &Browser, css: &str, text: &str) {
    let e = b.el(css).await;
    e.clear().await.unwrap();
    e.send_keys(text).await.unwrap();
}

async fn attr(b: &Browser, css: &str, name: &str) -> String {
    b.el(css)
        .await
        .attr(name)
        .await
        .unwrap()
        .unwrap_or_default()
}

/// The manager opens the simulated locker from 文件柜管理 (a new device token in the link).
async fn open_simulator(b: &Browser, s: &TestServer) {
    b.sign_in(&s.url, "admin", ADMIN_PASSWORD, "/halls/H1/lockers")
        .await;
    b.click_and_wait(&format!("#simulator-{BANK}")).await;
    b.wait_for_path(&format!("/lockers/{BANK}/simulator")).await;
    b.el("#sim-doors .sim-door").await;
}

/// At the simulated locker: the door picked on the drawing, the code typed on its keypad.
async fn at_locker(b: &Browser, door: &str, code: &str) {
    b.el(&format!("#sim-doors .sim-door[data-door='{door}']"))
        .await
        .click()
        .await
        .unwrap();
    for d in code.chars() {
        b.el(&format!(".sim-key[data-key='{d}']"))
            .await
            .click()
            .await
            .unwrap();
    }
    b.el("#sim-open").await.click().await.unwrap();
}

#[tokio::test]
async fn in_a_browser_a_result_put_in_a_locker_at_half_past_six_is_picked_up_on_saturday_and_issued_once()
 {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let Some(b) = Browser::start().await else {
            return;
        };
        s.set_clock("2026-12-04T09:00:00+08:00").await;
        bank(&s).await;
        let (_, n) = approved(&s, "L101").await;

        // The manager takes A01 out of service on 文件柜管理.
        b.sign_in(&s.url, "admin", ADMIN_PASSWORD, "/halls/H1/lockers")
            .await;
        b.click_and_wait("#break-A01").await;
        assert_eq!(
            attr(&b, ".locker-cell[data-door='A01']", "data-state").await,
            "out_of_order"
        );

        // Friday 18:30: the issuance clerk claims the issuance step and puts the result in.
        s.set_clock("2026-12-04T18:30:00+08:00").await;
        b.sign_in(&s.url, "out1", STAFF_PASSWORD, &format!("/cases/{n}"))
            .await;
        b.click_and_wait("#claim-issue").await;
        b.click_and_wait("#to-locker").await;
        assert_eq!(
            b.text_of("#locker-parcels td.door").await,
            "A02",
            "the out-of-order door is skipped"
        );
        assert!(
            b.text_of("#locker-parcels td.status")
                .await
                .contains("待领取")
        );
        b.screenshot("lockers-case-page").await;
        let code = sms_code(&s).await;

        // Saturday 10:12 at the locker: a wrong code first, then the code from the SMS.
        s.set_clock("2026-12-05T10:12:00+08:00").await;
        open_simulator(&b, &s).await;
        b.driver.set_window_rect(0, 0, 390, 900).await.unwrap();
        b.screenshot("lockers-simulator-phone").await;
        b.driver.set_window_rect(0, 0, 1366, 900).await.unwrap();
        let wrong = if code.starts_with('1') {
            "22222222"
        } else {
            "11111111"
        };
        at_locker(&b, "A02", wrong).await;
        b.wait_text("#sim-screen", "还可再试 9 次").await;
        at_locker(&b, "A02", &code).await;
        b.wait_text("#sim-screen", "柜门已打开").await;
        b.el("#close-A02").await;
        b.screenshot("lockers-simulator-open").await;
        b.el("#close-A02").await.click().await.unwrap();
        b.wait_text("#sim-screen", "柜门已关好").await;
        assert_eq!(
            attr(&b, "#sim-doors .sim-door[data-door='A02']", "data-state").await,
            "free"
        );

        let staff = login(&s).await;
        let c = case(&s, &staff.clerk, &n).await;
        assert_eq!(c["status"], "issued", "{c}");
        let issued = c["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "issued")
            .count();
        assert_eq!(issued, 1, "issuance recorded once");
        go(&b, &s, &format!("/cases/{n}")).await;
        assert!(b.text_of("#issued-door").await.contains("A02"));
        b.quit().await;
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn in_a_browser_an_expired_code_is_refused_at_the_locker_and_the_result_goes_back_to_the_window()
 {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let Some(b) = Browser::start().await else {
            return;
        };
        s.set_clock("2026-12-04T09:00:00+08:00").await;
        bank(&s).await;
        let (staff, n) = concluded(&s, "L102").await;
        let (st, v) = s
            .post_json(
                &format!("/api/v1/cases/{n}/locker"),
                Some(&staff.issuer),
                &json!({"locker": BANK}),
            )
            .await;
        assert_eq!(st, 201, "{v}");
        let code = sms_code(&s).await;

        s.set_clock("2026-12-12T09:30:00+08:00").await;
        s.run_due_timers().await;
        open_simulator(&b, &s).await;
        at_locker(&b, "A01", &code).await;
        b.wait_text("#sim-screen", "已过期").await;

        go(&b, &s, "/halls/H1/lockers").await;
        let row = format!("tr[data-case='{n}']");
        assert!(
            b.text_of(&format!("{row} td.status"))
                .await
                .contains("逾期未取")
        );
        b.screenshot("lockers-manage-desk").await;
        b.driver.set_window_rect(0, 0, 390, 900).await.unwrap();
        b.screenshot("lockers-manage-phone").await;
        b.driver.set_window_rect(0, 0, 1366, 900).await.unwrap();
        b.click_and_wait(&format!("{row} button[value='retrieve']"))
            .await;
        assert!(b.text_of("#no-parcels").await.contains("没有"));
        assert_eq!(
            attr(&b, ".locker-cell[data-door='A01']", "data-state").await,
            "free"
        );
        b.quit().await;
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn in_a_browser_a_drop_off_booked_on_the_phone_at_night_is_collected_next_morning_with_the_clock_right()
 {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let Some(b) = Browser::start().await else {
            return;
        };
        bank(&s).await;
        let n = waiting_for_supplement(&s).await;

        // Wednesday 22:10, on the phone.
        s.set_clock("2026-12-02T22:10:00+08:00").await;
        b.driver.set_window_rect(0, 0, 390, 900).await.unwrap();
        go(&b, &s, "/my").await;
        let since = s.running.state.now() - chrono::Duration::seconds(1);
        type_into(&b, "#phone", PHONE).await;
        b.click_and_wait("#send-code").await;
        let login_code = crate::cases_pages::login_code(&s, PHONE, since).await;
        type_into(&b, "#code", &login_code).await;
        b.click_and_wait("#login").await;
        go(&b, &s, &format!("/my/cases/{n}")).await;
        b.el("#locker-booking").await;
        b.screenshot("lockers-my-booking-phone").await;
        b.click_and_wait("#book-locker").await;
        let door = b.text_of("#booked-door").await;
        let code = b.text_of("#booked-code").await;
        assert_eq!((door.as_str(), code.len()), ("A01", 8));
        b.screenshot("lockers-my-booked-phone").await;
        b.driver.set_window_rect(0, 0, 1366, 900).await.unwrap();

        // At the locker, 22:25: the door opens for the drop-off code and closes on the papers.
        s.set_clock("2026-12-02T22:25:00+08:00").await;
        open_simulator(&b, &s).await;
        at_locker(&b, "A01", &code).await;
        b.wait_text("#sim-screen", "请放入补正材料").await;
        b.el("#close-A01").await.click().await.unwrap();
        b.wait_text("#sim-screen", "柜门已关好").await;
        assert_eq!(
            attr(&b, "#sim-doors .sim-door[data-door='A01']", "data-state").await,
            "holding"
        );

        // Thursday 09:05, the front desk takes them out and records the supplement.
        s.set_clock("2026-12-03T09:05:00+08:00").await;
        b.sign_in(&s.url, "clerk1", STAFF_PASSWORD, "/").await;
        b.click_and_wait("nav a[href='/halls/H1/lockers']").await;
        b.wait_for_path("/halls/H1/lockers").await;
        let row = format!("tr[data-case='{n}']");
        assert!(
            b.text_of(&format!("{row} td.status"))
                .await
                .contains("待前台取出")
        );
        b.click_and_wait(&format!("{row} button[value='collect']"))
            .await;
        assert!(b.text_of("#no-parcels").await.contains("没有"));
        let staff = login(&s).await;
        let v = case(&s, &staff.clerk, &n).await;
        // R-SUPPLEMENT-PAUSE counted from the deposit: (12-01, 12-02] suspended.
        assert_eq!(v["due_date"], "2026-12-08", "{v}");
        assert_eq!(v["clock"]["suspended"], false);
        b.quit().await;
        s.stop().await;
    })
    .await;
}
