//! The pages in a real browser.

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
    let url = b.driver.current_url().await.unwrap();
    assert_eq!(url.path(), "/catalogue");
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
