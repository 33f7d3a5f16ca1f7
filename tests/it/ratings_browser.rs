//! 好差评 in a browser, on both backends: the window pad turns to the rating when the clerk
//! finishes a visit and a case; the citizen taps 非常不满意 with a comment; the callback and the
//! rectification reach their people, the callback records "not satisfied", the owner fixes it,
//! the second callback records the rater's level for the fix, and the month's numbers move.

use serde_json::json;

use crate::browser::Browser;
use crate::hall::{act, call, take_ok};
use crate::ratings::{desk, ended_case, token_of};
use crate::support::{TestServer, on_each_backend};

/// Waits until the pad shows the part `css` (the pad hides the others): the browser's own
/// wait, not a sleep of ours.
async fn wait_visible(b: &Browser, css: &str) {
    b.el(&format!("{css}:not([hidden])")).await;
}

#[tokio::test]
async fn in_a_browser_a_bad_rating_on_the_window_pad_is_followed_to_its_fix_and_the_numbers_move() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let Some(b) = Browser::start().await else {
            return;
        };
        s.set_clock("2026-04-02T10:00:00+08:00").await;
        let d = desk(&s).await;
        let (st, key) = s
            .post_json(
                &format!("/api/v1/windows/{}/pad-key", d.window),
                Some(&d.admin),
                &json!({}),
            )
            .await;
        assert_eq!(st, 200, "{key}");

        // The pad, on the tablet (no staff session), waits.
        b.driver.set_window_rect(0, 0, 1280, 800).await.unwrap();
        b.driver
            .goto(s.at(key["url"].as_str().unwrap()))
            .await
            .unwrap();
        wait_visible(&b, "#pad-idle").await;

        // A visit finished at W1: the pad asks for its rating; 满意 thanks and goes back to idle.
        let t = take_ok(&s, None, "a").await;
        let id = t["id"].as_i64().unwrap();
        call(&s, &d.clerk, d.window).await.unwrap();
        act(&s, &d.clerk, id, "start").await;
        act(&s, &d.clerk, id, "finish").await;
        wait_visible(&b, "#pad-rate").await;
        assert!(
            b.text_of("#pad-label").await.contains("A001"),
            "{}",
            b.text_of("#pad-label").await
        );
        b.screenshot("ratings-pad").await;
        b.el("#pad-levels button[data-level='4']")
            .await
            .click()
            .await
            .unwrap();
        wait_visible(&b, "#pad-thanks").await;

        // A case ended at W1: its rating comes to the same pad; the citizen is not satisfied.
        let n = ended_case(&s, &d).await;
        wait_visible(&b, "#pad-rate").await;
        assert!(b.text_of("#pad-label").await.contains("食品经营许可"));
        b.el("#pad-comment")
            .await
            .send_keys("材料清单和窗口说的不一样，跑了两趟")
            .await
            .unwrap();
        b.el("#pad-levels button[data-level='1']")
            .await
            .click()
            .await
            .unwrap();
        wait_visible(&b, "#pad-thanks").await;
        let (_, list) = s.get_json("/api/v1/ratings", Some(&d.admin)).await;
        let bad = list["ratings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["subject"]["id"] == n.as_str())
            .unwrap()
            .clone();
        assert_eq!(bad["channel"], "pad");
        assert_eq!(bad["level"], 1);

        // The callback staff's list has it; the call finds the citizen not satisfied.
        b.sign_in(&s.url, "cb1", "staff2026pw", "/callbacks").await;
        b.screenshot("ratings-callbacks").await;
        assert!(b.body_text().await.contains("差评回访"));
        b.click_and_wait("#callbacks a.button").await;
        b.click_and_wait("#take").await;
        b.click_and_wait("#show-phone").await;
        assert_eq!(b.text_of("#full-phone").await, "13812345678");
        b.el("input[name=outcome][value=reached]")
            .await
            .click()
            .await
            .unwrap();
        b.el("input[name=satisfied][value=no]")
            .await
            .click()
            .await
            .unwrap();
        b.click_and_wait("#record-submit").await;
        assert!(
            b.body_text().await.contains("群众反映的问题"),
            "the problem is required"
        );
        assert!(
            b.el("[data-field=problem]")
                .await
                .text()
                .await
                .unwrap()
                .contains("具体问题")
        );
        b.el("input[name=outcome][value=reached]")
            .await
            .click()
            .await
            .unwrap();
        b.el("input[name=satisfied][value=no]")
            .await
            .click()
            .await
            .unwrap();
        b.el("#problem")
            .await
            .send_keys("窗口告知的材料清单与办事指南不一致")
            .await
            .unwrap();
        b.click_and_wait("#record-submit").await;
        assert_eq!(b.text_of("#callback-status").await, "已回访");

        // The owner (市场监管局) fixes it with evidence.
        b.sign_in(&s.url, "scj1", "staff2026pw", "/rectifications")
            .await;
        assert!(b.body_text().await.contains("差评"));
        b.click_and_wait("#rectifications a.button").await;
        assert!(
            b.text_of("#rect-problem")
                .await
                .contains("窗口告知的材料清单与办事指南不一致")
        );
        b.screenshot("ratings-rectification").await;
        b.click_and_wait("#fix").await;
        assert!(
            b.el("[data-field=evidence]")
                .await
                .text()
                .await
                .unwrap()
                .contains("整改情况")
        );
        b.el("#evidence")
            .await
            .send_keys("已统一材料清单并对窗口人员培训")
            .await
            .unwrap();
        b.click_and_wait("#fix").await;
        assert_eq!(b.text_of("#rect-outcome").await, "立行立改");

        // The second callback records the rater's level for the fix.
        b.sign_in(&s.url, "cb1", "staff2026pw", "/callbacks").await;
        assert!(b.body_text().await.contains("整改后回访"));
        b.click_and_wait("#callbacks a.button").await;
        b.click_and_wait("#take").await;
        b.el("input[name=outcome][value=reached]")
            .await
            .click()
            .await
            .unwrap();
        b.el("#fix_level option[value='4']")
            .await
            .click()
            .await
            .unwrap();
        b.click_and_wait("#record-submit").await;
        assert_eq!(b.text_of("#callback-status").await, "已回访");

        // The month's numbers: one visit 满意, one case 非常不满意, called back and rectified.
        b.sign_in(&s.url, "sup1", "staff2026pw", "/ratings%3Fmonth%3D2026-04")
            .await;
        let total = b.text_of("#numbers tbody tr:last-child").await;
        assert!(
            total.starts_with("合计 2 2 50.0% 50.0% 100.0% 100.0% 100.0% 100.0%"),
            "{total}"
        );
        b.screenshot("ratings-numbers").await;
        b.driver
            .goto(s.at("/ratings/report?month=2026-04"))
            .await
            .unwrap();
        assert!(b.text_of("#numbers").await.contains("云岭市政务服务中心"));

        // The phone page: a level is required, then thanks; the link works once.
        let other = ended_case(&s, &d).await;
        let token = token_of(&s, "case", &other).await;
        b.driver.delete_all_cookies().await.unwrap();
        b.driver.set_window_rect(0, 0, 390, 844).await.unwrap();
        b.driver
            .goto(s.at(&format!("/rate/{token}")))
            .await
            .unwrap();
        b.click_and_wait("#rate-submit").await;
        assert!(
            b.el("[data-field=level]")
                .await
                .text()
                .await
                .unwrap()
                .contains("请选择评价等级")
        );
        b.screenshot("ratings-phone").await;
        b.el("input[name=level][value='5']")
            .await
            .click()
            .await
            .unwrap();
        b.click_and_wait("#rate-submit").await;
        assert!(b.text_of("#rate-done").await.contains("感谢您的评价"));
        b.driver
            .goto(s.at(&format!("/rate/{token}")))
            .await
            .unwrap();
        assert!(b.text_of("#rate-done").await.contains("已经评价过"));
        b.quit().await;
        s.stop().await;
    })
    .await;
}
