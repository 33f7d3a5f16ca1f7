//! Where staff land (issue 10 item 4): in Chromium, each demo role signs in from the login
//! page with no page asked for and lands on its own workstation, with a menu of its work.

use crate::browser::Browser;
use crate::support::{TestServer, config, on_each_backend};

/// The demo server: the whole municipal centre with its staff, and the dev clock on.
pub(crate) async fn demo_server(url: &str) -> TestServer {
    let mut c = config(url);
    c.demo = true;
    c.admin_password = None;
    TestServer::start_with(c).await
}

/// The demo server with its clock at `rfc3339` (moved by the demo's admin) and a browser;
/// None (the server stopped) where no browser is installed.
pub(crate) async fn demo_in_browser(url: &str, rfc3339: &str) -> Option<(TestServer, Browser)> {
    let s = demo_server(url).await;
    let Some(b) = Browser::start().await else {
        s.stop().await;
        return None;
    };
    let admin = s
        .token("admin", yichuang_server::demo::DEMO_ADMIN_PASSWORD)
        .await;
    s.set_clock_as(&admin, rfc3339).await;
    Some((s, b))
}

/// The id of the demo hall's window `code`.
pub(crate) async fn window_id(s: &TestServer, hall: &str, code: &str) -> i64 {
    let (st, v) = s.get_json(&format!("/api/v1/halls/{hall}"), None).await;
    assert_eq!(st, 200, "{v}");
    v["windows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["code"] == code)
        .and_then(|w| w["id"].as_i64())
        .unwrap_or_else(|| panic!("no window {code}: {v}"))
}

/// `username` signs in to window `id` (through the API, as the desk's button does).
pub(crate) async fn sign_in_at(s: &TestServer, username: &str, password: &str, id: i64) {
    let token = s.token(username, password).await;
    let (st, v) = s
        .post_json(
            &format!("/api/v1/windows/{id}/sign-in"),
            Some(&token),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
}

/// Signs in from the bare login page (no `next`) and returns the path landed on.
async fn land(b: &Browser, s: &TestServer, username: &str, password: &str) -> String {
    let _ = b.driver.delete_all_cookies().await;
    b.driver.goto(s.at("/login")).await.unwrap();
    b.el("#username").await.send_keys(username).await.unwrap();
    b.el("#password").await.send_keys(password).await.unwrap();
    b.click_and_wait("form.card button[type=submit]").await;
    b.driver.current_url().await.unwrap().path().to_string()
}

async fn menu(b: &Browser) -> Vec<(String, String)> {
    b.eval("return [...document.querySelectorAll('.nav a')].map(a => [a.getAttribute('href'), a.textContent]);")
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p[0].as_str().unwrap().to_string(),
                p[1].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn each_demo_role_lands_on_its_own_workstation_after_signing_in_with_a_menu_of_its_work() {
    on_each_backend(|url| async move {
        let Some((s, b)) = demo_in_browser(&url, "2026-12-04T09:30:00+08:00").await else {
            return;
        };
        let pw = yichuang_server::demo::halls().unwrap().demo_password;
        let hall = "YL-ZWFW";
        // 王芳 signed in at A01 this morning: her window's desk is her home.
        let a01 = window_id(&s, hall, "A01").await;
        sign_in_at(&s, "wangfang", &pw, a01).await;

        let cases: [(&str, &str, String, &str); 8] = [
            (
                "wangfang",
                pw.as_str(),
                format!("/windows/{a01}/desk"),
                "我的窗口",
            ),
            // 刘洋 has never sat at a window: he chooses one.
            ("liuyang", pw.as_str(), "/desk".into(), "我的窗口"),
            (
                "sunli",
                pw.as_str(),
                "/departments/YL-SCJG/worklist".into(),
                "部门工作台",
            ),
            ("fengxue", pw.as_str(), "/issuance".into(), "待出件"),
            (
                "zhanghongmei",
                pw.as_str(),
                format!("/halls/{hall}/manage"),
                "大厅管理",
            ),
            ("luojun", pw.as_str(), "/supervision".into(), "电子监察"),
            ("huangmin", pw.as_str(), "/callbacks".into(), "回访工作台"),
            (
                "admin",
                yichuang_server::demo::DEMO_ADMIN_PASSWORD,
                "/admin".into(),
                "系统管理",
            ),
        ];
        for (user, password, home, label) in cases {
            let at = land(&b, &s, user, password).await;
            assert_eq!(at, home, "{user} landed on {at}");
            let body = b.body_text().await;
            assert!(!body.contains("页面出错"), "{user}: {body}");
            let nav = menu(&b).await;
            assert!(
                nav.iter().any(|(_, l)| l == label),
                "{user}'s menu lacks {label}: {nav:?}"
            );
        }

        // The chooser leads 刘洋 to a window's desk; once signed in there, it is his home.
        land(&b, &s, "liuyang", &pw).await;
        let b01 = window_id(&s, hall, "B01").await;
        let text = b.text_of("#windows").await;
        assert!(text.contains("B01 二手房交易一件事综合窗口"), "{text}");
        assert!(text.contains("服务中") && text.contains("王芳"), "{text}");
        b.click_and_wait(&format!("#windows a[data-window='{b01}']"))
            .await;
        b.wait_for_path(&format!("/windows/{b01}/desk")).await;
        sign_in_at(&s, "liuyang", &pw, b01).await;
        assert_eq!(
            land(&b, &s, "liuyang", &pw).await,
            format!("/windows/{b01}/desk")
        );

        // An approver's menu has no hall set-up; a clerk's none of the department's work.
        land(&b, &s, "sunli", &pw).await;
        let nav = menu(&b).await;
        assert!(!nav.iter().any(|(h, _)| h.contains("/manage")), "{nav:?}");
        land(&b, &s, "wangfang", &pw).await;
        let nav = menu(&b).await;
        assert!(!nav.iter().any(|(h, _)| h.contains("/worklist")), "{nav:?}");
        assert!(nav.iter().any(|(h, _)| h == "/cases/new"), "{nav:?}");
        b.quit().await;
        s.stop().await;
    })
    .await;
}
