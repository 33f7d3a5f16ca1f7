//! The hall's screens in Chromium (issue 10 items 6 and 7): the display board shows the hall's
//! state from the server at any moment — reloaded mid-day it lists the day's calls, its clock
//! is the server's (the dev clock here) in Beijing time, a recall updates the ticket's row —
//! and the kiosk serves the elderly: full screen, large everywhere in 适老化 mode, a priority
//! mark on an elderly person's slip, a plain word when no window is open, and a reset after a
//! short idle time.

use crate::browser::Browser;
use crate::hall::{HALL, act, call, clerk_at, demo_hall, take_ok};
use crate::support::{TestServer, on_each_backend};

async fn rows(b: &Browser) -> Vec<String> {
    b.eval(
        "return [...document.querySelectorAll('#board-calls tr')].map(r => r.textContent.trim());",
    )
    .await
    .as_array()
    .unwrap()
    .iter()
    .map(|r| r.as_str().unwrap().to_string())
    .collect()
}

#[tokio::test]
async fn the_board_reloaded_mid_day_shows_the_calls_and_the_servers_beijing_clock_and_a_recall_updates_its_row()
 {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let Some(b) = Browser::start().await else {
            s.stop().await;
            return;
        };
        // The server's (dev) clock: 15:08 in Beijing; the display PC runs on UTC, hours apart.
        s.set_clock("2026-12-04T15:08:00+08:00").await;
        let (admin, w1, _) = demo_hall(&s).await;
        let clerk = clerk_at(&s, &admin, "clerk1", w1).await;
        take_ok(&s, None, "a").await;
        take_ok(&s, None, "a").await;
        let first = call(&s, &clerk, w1).await.unwrap();
        assert_eq!(first["number"], "A001");
        act(&s, &clerk, first["id"].as_i64().unwrap(), "start").await;
        act(&s, &clerk, first["id"].as_i64().unwrap(), "finish").await;
        let second = call(&s, &clerk, w1).await.unwrap();
        assert_eq!(second["number"], "A002");

        // Opened (or reloaded) mid-day: the calls come with the page, newest first.
        b.driver
            .goto(s.at(&format!("/halls/{HALL}/board")))
            .await
            .unwrap();
        b.el("#board").await;
        assert_eq!(
            rows(&b).await,
            vec!["A002W1 综合窗口15:08", "A001W1 综合窗口15:08"]
        );
        let clock = b.text_of("#board-clock").await;
        assert!(clock.starts_with("2026年12月4日 15:0"), "{clock}");

        // A recall: the row of A002 is updated, no second row.
        let (st, v) = act(&s, &clerk, second["id"].as_i64().unwrap(), "recall").await;
        assert_eq!(st, 200, "{v}");
        // The recall reaches the board (its announcement is queued).
        b.el("#board[data-announced='1']").await;
        assert_eq!(
            rows(&b).await,
            vec!["A002W1 综合窗口15:08", "A001W1 综合窗口15:08"]
        );

        // Later the same day the board is reloaded: the server's clock and the same calls.
        s.set_clock("2026-12-04T16:30:00+08:00").await;
        b.driver.refresh().await.unwrap();
        b.el("#board").await;
        let clock = b.text_of("#board-clock").await;
        assert!(clock.starts_with("2026年12月4日 16:3"), "{clock}");
        assert_eq!(rows(&b).await.len(), 2);
        let (st, state) = s
            .get_json(&format!("/api/v1/halls/{HALL}/board"), None)
            .await;
        assert_eq!(st, 200, "{state}");
        assert!(
            state["now"]
                .as_str()
                .unwrap()
                .starts_with("2026-12-04T16:3"),
            "{state}"
        );
        assert_eq!(state["calls"][0]["number"], "A002");
        assert_eq!(state["calls"][0]["recall"], true);
        assert_eq!(state["calls"].as_array().unwrap().len(), 2);

        // The next day the board starts empty.
        s.set_clock("2026-12-07T09:00:00+08:00").await;
        b.driver.refresh().await.unwrap();
        b.el("#board").await;
        assert_eq!(rows(&b).await, vec!["暂无叫号"]);
        b.quit().await;
        s.stop().await;
    })
    .await;
}

/// The computed font size of the first element matching `css`, in CSS pixels.
async fn font_px(b: &Browser, css: &str) -> f64 {
    b.el(css).await;
    b.eval(&format!(
        "return parseFloat(getComputedStyle(document.querySelector({css:?})).fontSize);"
    ))
    .await
    .as_f64()
    .unwrap()
}

#[tokio::test]
async fn the_kiosk_is_full_screen_large_in_elder_mode_marks_an_elderly_persons_slip_and_resets_itself()
 {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let Some(b) = Browser::start().await else {
            s.stop().await;
            return;
        };
        s.set_clock("2026-12-04T09:00:00+08:00").await;
        let (admin, _, _) = demo_hall(&s).await;
        b.driver.set_window_rect(0, 0, 1366, 900).await.unwrap();
        b.driver
            .goto(s.at(&format!("/halls/{HALL}/kiosk")))
            .await
            .unwrap();
        b.el("#kiosk").await;
        // Full screen: no site menu, no staff login, no API link; what to do is said.
        let text = b.body_text().await;
        assert!(
            !text.contains("工作人员登录")
                && !text.contains("开放接口")
                && !text.contains("办事指南"),
            "{text}"
        );
        assert!(text.contains("请点下方要办理的业务取号"), "{text}");

        // 适老化: labels, inputs, buttons all large.
        b.el("#elder-toggle").await.click().await.unwrap();
        for css in [
            ".kiosk-person label",
            "#kiosk-id",
            ".kiosk-checkin > label",
            "#checkin-button",
            ".qb-name",
            "#elder-toggle",
            "#kiosk-help",
        ] {
            let px = font_px(&b, css).await;
            assert!(px >= 24.0, "{css} is {px}px in elder mode");
        }

        // An elderly person (born 1949) takes a ticket; no window is open yet. The kiosk's idle
        // time is shortened on the page once typed (the hall's setting is 30 seconds).
        b.el("#kiosk-id")
            .await
            .send_keys("11010519491231002X")
            .await
            .unwrap();
        b.eval("document.getElementById('kiosk').dataset.resetSeconds = '3'; return 1;")
            .await;
        b.el("button[data-queue='a']").await.click().await.unwrap();
        b.el("#receipt:not([hidden])").await;
        assert_eq!(b.text_of("#r-number").await, "A001");
        assert_eq!(b.text_of("#r-priority").await, "优先 · 老年人");
        let wait = b.text_of("#r-wait-line").await;
        assert!(wait.contains("窗口暂未开放，请稍候"), "{wait}");
        assert_eq!(b.text_of("#r-time").await, "2026年12月4日 09:00");
        for css in [".r-line", "#r-queue", "#r-priority"] {
            let px = font_px(&b, css).await;
            assert!(px >= 24.0, "the slip's {css} is {px}px in elder mode");
        }
        let left = b.text_of("#r-countdown").await;
        assert!(matches!(left.as_str(), "1" | "2" | "3"), "{left}");

        // Left alone, it returns to its start: no slip, nothing typed, standard type.
        b.el("#kiosk[data-resets='1']").await;
        assert!(!b.el("#receipt").await.is_displayed().await.unwrap());
        assert_eq!(
            b.el("#kiosk-id")
                .await
                .value()
                .await
                .unwrap()
                .unwrap_or_default(),
            ""
        );
        assert_eq!(b.el("#r-qr").await.inner_html().await.unwrap(), "");
        let px = font_px(&b, ".kiosk-person label").await;
        assert!(px < 24.0, "{px}");

        // A disabled person's ticket from the guide desk carries the mark too.
        let (st, t) = s
            .post_json(
                &format!("/api/v1/halls/{HALL}/tickets"),
                Some(&admin),
                &serde_json::json!({"queue": "a", "priority": "disabled"}),
            )
            .await;
        assert_eq!(st, 201, "{t}");
        assert_eq!(t["priority_mark"], "优先 · 残疾人");
        let page = s
            .client
            .get(s.at(t["link"].as_str().unwrap()))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("优先 · 残疾人"), "{page}");
        assert!(page.contains("窗口暂未开放，请稍候"), "{page}");
        b.quit().await;
        s.stop().await;
    })
    .await;
}
