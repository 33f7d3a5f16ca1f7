//! The public query page (issue 10 item 9): a 一件事's number as printed on its notice is
//! answered, and a single case's answer says what is missing and shows its timeline.

use serde_json::json;

use crate::browser::Browser;
use crate::cases::{PERSON_ID, PHONE, application, item, publish, staff};
use crate::support::TestServer;

async fn query(b: &Browser, s: &TestServer, number: &str, last4: &str) {
    b.driver
        .goto(s.at(&format!("/query?number={number}")))
        .await
        .unwrap();
    b.el("#last4").await.send_keys(last4).await.unwrap();
    b.click_and_wait("#query").await;
}

#[tokio::test]
async fn the_query_page_answers_a_bundles_number_and_tells_a_case_what_is_missing_with_its_timeline()
 {
    let s = TestServer::start(&yichuang_store::testing::sqlite_url()).await;
    let Some(b) = Browser::start().await else {
        return;
    };
    s.set_clock("2026-03-02T09:00:00+08:00").await;
    for code in ["K1", "K2"] {
        publish(&s, &item(code, false)).await;
    }
    let admin = s.admin_token().await;
    let (code, v) = s
        .post_json(
            "/api/v1/bundles",
            Some(&admin),
            &json!({"code": "KB", "name": "开办餐饮店",
                    "items": [{"item": "K1"}, {"item": "K2"}]}),
        )
        .await;
    assert_eq!(code, 201, "{v}");
    let staff = staff(&s).await;

    // A single case with 营业执照 missing: the answer lists it and shows what happened.
    let (st, v) = s
        .post_json(
            "/api/v1/cases",
            Some(&staff.clerk),
            &application("K1", &["A"]),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let single = v["number"].as_str().unwrap().to_string();
    query(&b, &s, &single, &PHONE[PHONE.len() - 4..]).await;
    assert!(b.text_of("#missing").await.contains("营业执照"));
    let steps = b.text_of("#steps").await;
    assert!(
        !steps.trim().is_empty(),
        "the plain-words timeline is shown"
    );
    b.assert_no_machine_text().await;

    // The 一件事's number on its notice, with the applicant's last four digits.
    let (code, v) = s
        .post_json(
            "/api/v1/bundle-cases",
            Some(&staff.clerk),
            &json!({"bundle": "KB", "materials": ["K1:A", "K1:B", "K2:A"],
                    "applicant": {"kind": "person", "name": "张三", "id_number": PERSON_ID, "phone": PHONE}}),
        )
        .await;
    assert_eq!(code, 201, "{v}");
    let parent = v["number"].as_str().unwrap().to_string();
    query(&b, &s, &parent, &PERSON_ID[PERSON_ID.len() - 4..]).await;
    assert_eq!(b.text_of("#status").await, "待补正");
    assert!(b.text_of("#missing").await.contains("营业执照"));
    assert!(b.text_of("#members").await.contains("食品经营许可"));
    b.screenshot("query-bundle").await;
    // The wrong digits answer nothing about it.
    query(&b, &s, &parent, "0000").await;
    assert!(
        b.body_text()
            .await
            .contains("办件编号或证件号/手机号后四位不正确")
    );
    b.quit().await;
    s.stop().await;
}
