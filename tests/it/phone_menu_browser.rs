//! On a phone the staff menu folds behind 菜单 (issue 10 item 5): an agent on a 390 px wide
//! screen sees the page's heading near the top, and opens the menu with one tap.

use crate::agency::agency_staff;
use crate::browser::Browser;
use crate::support::{TestServer, on_each_backend};

#[tokio::test]
async fn on_a_phone_the_staff_menu_folds_behind_one_button_and_the_page_starts_near_the_top() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let Some(b) = Browser::start().await else {
            return;
        };
        agency_staff(&s, "H1").await;
        b.driver.set_window_rect(0, 0, 390, 844).await.unwrap();
        b.sign_in(&s.url, "agent-h1", "staff2026pw", "/agency")
            .await;
        b.wait_for_path("/agency").await;
        let top = |css: &'static str| {
            let b = &b;
            async move {
                b.eval(&format!(
                    "return Math.round(document.querySelector('{css}').getBoundingClientRect().top)"
                ))
                .await
                .as_i64()
                .unwrap()
            }
        };
        let h1 = top("h1").await;
        assert!(h1 < 150, "the heading starts at {h1} px on a phone");
        let nav_shown =
            "return getComputedStyle(document.getElementById('main-nav')).display !== 'none'";
        assert_eq!(b.eval(nav_shown).await, serde_json::json!(false));
        b.el("#menu-toggle").await.click().await.unwrap();
        assert_eq!(b.eval(nav_shown).await, serde_json::json!(true));
        b.wait_text("#main-nav", "帮办代办").await;
        // On a desk the menu is always there.
        b.driver.set_window_rect(0, 0, 1366, 900).await.unwrap();
        b.driver.refresh().await.unwrap();
        b.el("h1").await;
        assert_eq!(b.eval(nav_shown).await, serde_json::json!(true));
        b.quit().await;
        s.stop().await;
    })
    .await;
}
