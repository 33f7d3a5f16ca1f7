//! The pages in a real browser.

use thirtyfour::By;

use crate::browser::Browser;
use crate::support::TestServer;

#[tokio::test]
async fn the_home_page_speaks_chinese_and_searches_the_catalogue() {
    let s = TestServer::start(&yichuang_store::testing::sqlite_url()).await;
    let Some(b) = Browser::start().await else {
        return;
    };
    b.driver.goto(s.at("/")).await.unwrap();
    assert!(b.driver.title().await.unwrap().contains("政务服务"));
    let html_lang = b.el("html").await.attr("lang").await.unwrap();
    assert_eq!(html_lang.as_deref(), Some("zh-CN"));
    assert!(b.body_text().await.contains("办事指南"));
    let q = b.el("#q").await;
    q.send_keys("营业执照").await.unwrap();
    b.el(".search-big button").await.click().await.unwrap();
    let url = b.wait_for_path("/catalogue").await;
    assert!(url.query().unwrap_or("").contains("q="), "{url}");
    b.quit().await;
    s.stop().await;
}

#[tokio::test]
async fn an_unknown_page_answers_404_in_chinese() {
    let s = TestServer::start(&yichuang_store::testing::sqlite_url()).await;
    let r = s.client.get(s.at("/no/such/page")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("页面不存在"));
    s.stop().await;
}

/// The demo catalogue through a browser, as a citizen and as an administrator would use it.
#[tokio::test]
async fn a_citizen_finds_a_guide_and_prints_its_one_time_notice_and_an_admin_edits_the_item() {
    let mut c = crate::support::config(&yichuang_store::testing::sqlite_url());
    c.demo = true;
    let s = TestServer::start_with(c).await;
    let Some(b) = Browser::start().await else {
        return;
    };

    // Search from the home page.
    b.driver.goto(s.at("/")).await.unwrap();
    b.el("#q").await.send_keys("营业执照").await.unwrap();
    b.el(".search-big button").await.click().await.unwrap();
    b.wait_for_path("/catalogue").await;
    assert!(b.text_of("#result-count").await.contains("个事项"));
    let link = b
        .el("a.item-name[href='/catalogue/items/YL-SCJG-XK-001']")
        .await;
    link.click().await.unwrap();
    b.wait_for_path("/catalogue/items/YL-SCJG-XK-001").await;

    // The guide shows the standard elements.
    let guide = b.body_text().await;
    for label in [
        "法定办结时限",
        "承诺办结时限",
        "设定依据",
        "申请材料",
        "云岭市市场监督管理局",
    ] {
        assert!(guide.contains(label), "guide lacks {label}");
    }

    // Answer the questions: an agent applies for a limited company.
    b.el("input[name='enterprise_type'][value='limited']")
        .await
        .click()
        .await
        .unwrap();
    b.el("input[name='investor_type'][value='person']")
        .await
        .click()
        .await
        .unwrap();
    if let Ok(agent) = b
        .driver
        .find(By::Css("input[name='applicant'][value='agent']"))
        .await
    {
        agent.click().await.unwrap();
    }
    b.el(".questionnaire button[type=submit]")
        .await
        .click()
        .await
        .unwrap();
    b.wait_for_path("/catalogue/items/YL-SCJG-XK-001/notice")
        .await;
    let notice = b.body_text().await;
    assert!(notice.contains("一次性告知单"));
    assert!(
        notice.contains("公司章程"),
        "a limited company's notice lists the articles of association"
    );
    assert!(
        b.el("button[data-print]")
            .await
            .is_displayed()
            .await
            .unwrap()
    );
    // Printing gives a PDF; the navigation bar is not printed.
    let pdf = b.driver.print_page(Default::default()).await.unwrap();
    assert!(pdf.starts_with(b"%PDF"), "print_page returns a PDF");
    let nav_display: String = b
        .driver
        .execute(
            "return getComputedStyle(document.querySelector('.topbar')).display",
            vec![],
        )
        .await
        .unwrap()
        .convert()
        .unwrap();
    assert_ne!(
        nav_display, "none",
        "on screen the bar shows; the print stylesheet hides it"
    );

    // An administrator signs in and edits the item; a bad limit is refused next to the field.
    b.driver
        .goto(s.at("/admin/catalogue/items/YL-SCJG-XK-001/edit"))
        .await
        .unwrap();
    b.wait_for_path("/login").await;
    b.el("#username").await.send_keys("admin").await.unwrap();
    b.el("#password")
        .await
        .send_keys(crate::support::ADMIN_PASSWORD)
        .await
        .unwrap();
    b.el("form[action='/login'] button[type=submit]")
        .await
        .click()
        .await
        .unwrap();
    b.wait_for_path("/admin/catalogue/items/YL-SCJG-XK-001/edit")
        .await;
    let committed = b.el("#committed_limit_days").await;
    committed.clear().await.unwrap();
    committed.send_keys("9").await.unwrap(); // above the statutory 3 days
    b.el(".item-form button[type=submit]")
        .await
        .click()
        .await
        .unwrap();
    b.el(".flash.error").await;
    assert!(
        b.text_of(".field-error").await.len() > 2,
        "the error stands next to the field"
    );
    let (_, item) = s.get_json("/api/v1/items/YL-SCJG-XK-001", None).await;
    assert_eq!(item["committed_limit_days"], 1, "nothing saved on error");

    let committed = b.el("#committed_limit_days").await;
    committed.clear().await.unwrap();
    committed.send_keys("2").await.unwrap();
    b.el(".item-form button[type=submit]")
        .await
        .click()
        .await
        .unwrap();
    // Saved: the form's page reloads without an error banner.
    for _ in 0..50 {
        if s.get_json("/api/v1/items/YL-SCJG-XK-001", None).await.1["committed_limit_days"] == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (_, item) = s.get_json("/api/v1/items/YL-SCJG-XK-001", None).await;
    assert_eq!(item["committed_limit_days"], 2);
    b.quit().await;
    s.stop().await;
}
