//! The server itself: health, problem+json, dev clock, migrations, events, timers.

use serde_json::{Value, json};

use crate::support::{TestServer, on_each_backend};

#[tokio::test]
async fn health_reports_ok_and_names_the_backend() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let (status, v) = s.get_json("/api/v1/health", None).await;
        assert_eq!(status, 200);
        assert_eq!(v["status"], "ok");
        assert_eq!(v["database"], s.backend());
        assert!(v["version"].as_str().is_some_and(|x| !x.is_empty()));
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn an_unknown_api_path_answers_problem_json_in_chinese() {
    let url = yichuang_store::testing::sqlite_url();
    let s = TestServer::start(&url).await;
    let r = s
        .client
        .get(s.at("/api/v1/no-such-thing"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["code"], "not_found");
    assert_eq!(v["status"], 404);
    assert!(v["title"].as_str().unwrap().contains("不存在"));
    s.stop().await;
}

#[tokio::test]
async fn malformed_json_is_refused_with_400_and_the_field_named() {
    let url = yichuang_store::testing::sqlite_url();
    let s = TestServer::start(&url).await;
    let (status, v) = s
        .send_json(
            reqwest::Method::PUT,
            "/api/v1/dev/clock",
            None,
            &json!({"when": 1}),
        )
        .await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["code"], "malformed_request");
    assert!(
        v["errors"][0]["message"].as_str().unwrap().contains("now"),
        "{v}"
    );
    let r = s
        .client
        .put(s.at("/api/v1/dev/clock"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    s.stop().await;
}

#[tokio::test]
async fn the_dev_clock_moves_time_only_when_enabled() {
    let url = yichuang_store::testing::sqlite_url();
    let s = TestServer::start(&url).await;
    s.set_clock("2026-10-09T09:00:00+08:00").await;
    let (_, v) = s.get_json("/api/v1/dev/clock", None).await;
    assert!(
        v["now"].as_str().unwrap().starts_with("2026-10-09T09:00"),
        "{v}"
    );
    s.stop().await;

    let mut c = crate::support::config(&yichuang_store::testing::sqlite_url());
    c.dev_clock = false;
    let s = TestServer::start_with(c).await;
    let (status, _) = s
        .send_json(
            reqwest::Method::PUT,
            "/api/v1/dev/clock",
            None,
            &json!({"now": "2026-10-09T09:00:00+08:00"}),
        )
        .await;
    assert_eq!(status, 404);
    s.stop().await;
}

#[tokio::test]
async fn responses_carry_a_request_id() {
    let url = yichuang_store::testing::sqlite_url();
    let s = TestServer::start(&url).await;
    let r = s.client.get(s.at("/api/v1/health")).send().await.unwrap();
    assert!(r.headers().get("x-request-id").is_some());
    s.stop().await;
}

#[tokio::test]
async fn the_openapi_document_is_served() {
    let url = yichuang_store::testing::sqlite_url();
    let s = TestServer::start(&url).await;
    let (status, v) = s.get_json("/api/v1/openapi.json", None).await;
    assert_eq!(status, 200);
    assert!(v["openapi"].as_str().unwrap().starts_with("3.1"));
    s.stop().await;
}
