//! The main case flow in a browser: accept with one material missing, print the one-time
//! notice, take the supplement, the department works the steps and decides, the issuance
//! window mails the result, and the applicant follows it on the public query page.

use crate::browser::Browser;
use crate::cases::{PERSON_ID, PHONE, item, publish, staff};
use crate::support::TestServer;

async fn sign_in(b: &Browser, s: &TestServer, username: &str, next: &str) {
    b.sign_in(&s.url, username, "staff2026pw", next).await;
}

async fn click(b: &Browser, css: &str) {
    b.click_and_wait(css).await;
}

async fn status(b: &Browser) -> String {
    b.el("#status")
        .await
        .attr("data-status")
        .await
        .unwrap()
        .unwrap_or_default()
}

#[tokio::test]
async fn in_a_browser_a_case_goes_from_a_one_time_notice_to_issuance_by_mail() {
    let s = TestServer::start(&yichuang_store::testing::sqlite_url()).await;
    let Some(b) = Browser::start().await else {
        return;
    };
    s.set_clock("2026-03-02T09:00:00+08:00").await;
    publish(&s, &item("X001", false)).await;
    staff(&s).await;

    sign_in(&b, &s, "clerk1", "/cases/new%3Fticket%3DA001%26item%3DX001").await;
    assert!(b.body_text().await.contains("号票 A001"));
    b.el("#name").await.send_keys("张三").await.unwrap();
    b.el("#id_number").await.send_keys(PERSON_ID).await.unwrap();
    b.el("#phone").await.send_keys(PHONE).await.unwrap();
    b.el("#m-A").await.click().await.unwrap();
    click(&b, "#accept").await;
    // The printable one-time notice lists the missing material and carries a QR code.
    assert!(b.text_of("h1").await.contains("一次性告知书"));
    assert!(b.text_of("#missing").await.contains("营业执照"));
    b.el("#receipt svg").await;
    b.el("#print").await;
    let number = b.text_of("#case-number").await;

    b.driver
        .goto(s.at(&format!("/cases/{number}")))
        .await
        .unwrap();
    assert_eq!(status(&b).await, "awaiting_supplement");
    b.el("#s-B").await.click().await.unwrap();
    click(&b, "#supplement").await;
    assert_eq!(status(&b).await, "accepted");
    // Days and moments in Chinese form, never YYYY-MM-DD (issue 10 item 3).
    assert_eq!(b.text_of("#due-date").await, "2026年3月9日");
    assert!(
        b.text_of("#accepted-at")
            .await
            .starts_with("2026年3月2日 09:"),
        "{}",
        b.text_of("#accepted-at").await
    );
    b.assert_no_machine_text().await;
    click(&b, "#route").await;
    assert_eq!(status(&b).await, "routed");

    sign_in(&b, &s, "scj1", "/departments/scj/worklist").await;
    assert!(b.text_of("#worklist").await.contains(&number));
    // Names, not codes: the department and the item as people call them (issue 10 item 3).
    assert_eq!(b.text_of("#department").await, "市场监督管理局");
    assert!(b.text_of("#worklist").await.contains("食品经营许可"));
    b.assert_no_machine_text().await;
    b.driver
        .goto(s.at(&format!("/cases/{number}")))
        .await
        .unwrap();
    click(&b, "#confirm").await;
    click(&b, "#claim-review").await;
    assert!(b.text_of("#step-review").await.contains("scj1 办理中"));
    b.assert_no_machine_text().await;
    b.el("#opinion-review")
        .await
        .send_keys("材料齐全，符合条件")
        .await
        .unwrap();
    click(&b, "#approve-review").await;
    // The page confirms what was done (issue 10 item 5).
    assert_eq!(b.text_of("#done").await, "已审核通过，办件已转入下一环节");
    click(&b, "#claim-decide").await;
    b.el("#document-number")
        .await
        .send_keys("食许〔2026〕8号")
        .await
        .unwrap();
    click(&b, "#decide-decide").await;
    assert_eq!(status(&b).await, "concluded");
    assert!(b.text_of("#decision").await.contains("2026年3月2日"));
    b.assert_no_machine_text().await;

    sign_in(&b, &s, "out1", &format!("/cases/{number}")).await;
    click(&b, "#claim-issue").await;
    b.el("#address")
        .await
        .send_keys("云岭市青云大道1号")
        .await
        .unwrap();
    b.el("#carrier")
        .await
        .send_keys("中国邮政EMS")
        .await
        .unwrap();
    b.el("#tracking")
        .await
        .send_keys("EMS2026030200")
        .await
        .unwrap();
    click(&b, "#issue-issue").await;
    assert_eq!(status(&b).await, "issued");
    assert!(b.text_of("#issued-at").await.starts_with("2026年3月2日"));
    b.assert_no_machine_text().await;
    let timeline = b.text_of("#timeline").await;
    for step in [
        "出具一次性告知",
        "受理",
        "部门确认接收",
        "审核通过",
        "作出决定",
        "出件",
    ] {
        assert!(timeline.contains(step), "{step} in {timeline}");
    }

    b.driver
        .goto(s.at(&format!("/query?number={number}")))
        .await
        .unwrap();
    b.el("#last4").await.send_keys("5678").await.unwrap();
    click(&b, "#query").await;
    assert_eq!(b.text_of("#status").await, "已出件");
    b.quit().await;
    s.stop().await;
}
