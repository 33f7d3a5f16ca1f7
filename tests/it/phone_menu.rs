//! On a 390 px phone the staff top menu folds behind a 菜单 button (no script: a checkbox and
//! its label) so the page's own content starts near the top; on a desk it stays open.

use serde_json::json;

use crate::browser::Browser;
use crate::cases::{item, publish, staff};
use crate::support::TestServer;

async fn top_of_main(b: &Browser) -> f64 {
    b.eval("return document.querySelector('main h1').getBoundingClientRect().top;")
        .await
        .as_f64()
        .unwrap()
}

async fn menu_shown(b: &Browser) -> bool {
    b.eval(
        "const n = document.querySelector('.topbar .nav'); \
         return getComputedStyle(n).display !== 'none' && n.getBoundingClientRect().height > 0;",
    )
    .await
        == json!(true)
}

#[tokio::test]
async fn on_a_phone_the_staff_menu_folds_behind_a_button_and_the_content_starts_near_the_top() {
    let s = TestServer::start(&yichuang_store::testing::sqlite_url()).await;
    let Some(b) = Browser::start().await else {
        return;
    };
    publish(&s, &item("X001", false)).await;
    staff(&s).await;
    b.sign_in(&s.url, "scj1", "staff2026pw", "/departments/scj/worklist")
        .await;

    b.driver.set_window_rect(0, 0, 390, 844).await.unwrap();
    b.driver.refresh().await.unwrap();
    b.el("main h1").await;
    b.screenshot("phone-menu-closed").await;
    let top = top_of_main(&b).await;
    assert!(
        top < 150.0,
        "the worklist's heading starts {top} px down on a phone"
    );
    assert!(!menu_shown(&b).await, "the menu is folded");
    // 菜单 opens it, with the way out (退出).
    b.el("#menu-button").await.click().await.unwrap();
    assert!(menu_shown(&b).await, "菜单 shows the menu");
    let menu = b.text_of(".topbar").await;
    assert!(menu.contains("退出"), "{menu}");
    b.screenshot("phone-menu-open").await;
    b.el("#menu-button").await.click().await.unwrap();
    assert!(!menu_shown(&b).await, "菜单 folds it again");

    // On a desk the menu is open and there is no button.
    b.driver.set_window_rect(0, 0, 1366, 900).await.unwrap();
    b.driver.refresh().await.unwrap();
    b.el("main h1").await;
    assert!(menu_shown(&b).await);
    assert_eq!(
        b.eval("return getComputedStyle(document.getElementById('menu-button')).display;")
            .await,
        json!("none")
    );
    b.quit().await;
    s.stop().await;
}
