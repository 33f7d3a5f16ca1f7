//! 帮办代办 in Chromium, on both backends: the agent records an elderly principal's mandate
//! with its signed scan (a bad form is refused beside its fields and records nothing), files
//! the bundle the mandate covers from the mandate's page, and the bundle's page and its
//! sub-case's timeline name both the agent and the principal; a citizen asks for help on the
//! phone page and the agent finds it on the worklist.

use serde_json::json;

use crate::agency::{agency_staff, bundles};
use crate::browser::Browser;
use crate::cases::{PERSON_ID, PHONE};
use crate::support::{TestServer, on_each_backend};

const PASSWORD: &str = "staff2026pw";

async fn type_into(b: &Browser, css: &str, text: &str) {
    let e = b.el(css).await;
    e.clear().await.unwrap();
    e.send_keys(text).await.unwrap();
}

#[tokio::test]
async fn in_a_browser_an_agent_with_a_mandate_accepts_a_bundle_for_an_elderly_principal_and_the_timeline_shows_both()
 {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let Some(b) = Browser::start().await else {
            return;
        };
        s.set_clock("2026-12-04T09:30:00+08:00").await;
        bundles(&s).await;
        agency_staff(&s, "H1").await;

        b.sign_in(&s.url, "agent-h1", PASSWORD, "/agency").await;
        b.wait_for_path("/agency").await;
        b.click_and_wait("#new-mandate").await;
        b.wait_for_path("/agency/mandates/new").await;

        // A wrong ID number and no scan: refused beside the fields, nothing recorded.
        type_into(&b, "#principal_name", "李秀英").await;
        type_into(&b, "#principal_id_number", "110105194912310021").await;
        type_into(&b, "#principal_phone", PHONE).await;
        b.el("input[name='bundles'][value='KB']")
            .await
            .click()
            .await
            .unwrap();
        b.click_and_wait("#save-mandate").await;
        b.wait_text(".field-error[data-field='principal_id_number']", "身份号码")
            .await;
        b.wait_text(".field-error[data-field='document']", "扫描件")
            .await;
        let agent = s.token("agent-h1", PASSWORD).await;
        let (_, list) = s.get_json("/api/v1/halls/H1/mandates", Some(&agent)).await;
        assert!(list["mandates"].as_array().unwrap().is_empty(), "{list}");

        // Corrected, with the signed scan: recorded and usable.
        type_into(&b, "#principal_id_number", PERSON_ID).await;
        let scan = std::env::temp_dir().join(format!("yc-mandate-{}.pdf", std::process::id()));
        std::fs::write(&scan, b"%PDF-1.4\n% signed by the principal\n").unwrap();
        b.el("#document")
            .await
            .send_keys(scan.to_str().unwrap())
            .await
            .unwrap();
        let ticked = b
            .el("input[name='bundles'][value='KB']")
            .await
            .is_selected()
            .await
            .unwrap();
        assert!(ticked, "the form keeps what was ticked");
        b.click_and_wait("#save-mandate").await;
        b.wait_text("#mandate-status", "有效").await;
        b.assert_no_machine_text().await;
        let mandate = b
            .text_of("h1")
            .await
            .replace("授权委托书", "")
            .trim()
            .to_string();
        assert!(mandate.starts_with("WT20261204"), "{mandate}");

        // 代为受理 from the mandate: the form names whom the agent acts for, the applicant is
        // the principal.
        b.click_and_wait("#apply-KB").await;
        b.wait_text("#on-behalf", "代办员 何平 代 李*英（委托人）办理")
            .await;
        assert_eq!(
            b.el("#name").await.prop("value").await.unwrap().unwrap(),
            "李秀英"
        );
        for m in ["S1", "K1:B", "K2:B"] {
            b.el(&format!("input[name='m_{m}']"))
                .await
                .click()
                .await
                .unwrap();
        }
        b.click_and_wait("#accept-bundle").await;
        let url = b.driver.current_url().await.unwrap();
        let number = url
            .path()
            .trim_start_matches("/bundle-cases/")
            .trim_end_matches("/receipt")
            .to_string();
        assert!(number.starts_with("YC261204"), "{url}");

        b.driver
            .goto(s.at(&format!("/bundle-cases/{number}")))
            .await
            .unwrap();
        b.wait_text("#on-behalf", "代办员 何平 代 李*英（委托人）办理")
            .await;
        b.assert_no_machine_text().await;
        let (_, v) = s
            .get_json(&format!("/api/v1/bundle-cases/{number}"), Some(&agent))
            .await;
        let k1 = v["members"][0]["number"].as_str().unwrap().to_string();
        b.driver.goto(s.at(&format!("/cases/{k1}"))).await.unwrap();
        let timeline = b
            .wait_text("#timeline", "代办员 何平 代 李*英（委托人）办理")
            .await;
        assert!(
            !timeline.contains("李秀英"),
            "the principal is masked in the timeline"
        );
        b.assert_no_machine_text().await;
        b.screenshot("agency-case-timeline").await;
        let _ = std::fs::remove_file(&scan);
        b.quit().await;
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn in_a_browser_a_citizen_asks_for_help_on_the_phone_and_the_agent_takes_contacts_and_closes_it_and_is_rated()
 {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let Some(b) = Browser::start().await else {
            return;
        };
        s.set_clock("2026-12-04T09:30:00+08:00").await;
        agency_staff(&s, "H1").await;

        // The phone page: a bad number is refused beside the field, then the request is made.
        b.driver.goto(s.at("/halls/H1/help")).await.unwrap();
        type_into(&b, "#citizen_name", "李秀英").await;
        type_into(&b, "#citizen_phone", "1381234").await;
        type_into(&b, "#need", "想给老伴办养老金，腿脚不便").await;
        b.click_and_wait("#submit").await;
        b.wait_text(".field-error[data-field='citizen_phone']", "手机")
            .await;
        type_into(&b, "#citizen_phone", PHONE).await;
        b.click_and_wait("#submit").await;
        b.wait_text("#received", "1 个工作日").await;
        let citizen_page = b.driver.current_url().await.unwrap();
        assert!(
            citizen_page.path().len() > "/help/".len() + 16,
            "{citizen_page}"
        );
        b.assert_no_machine_text().await;

        // The agent takes it, records the call and closes it.
        b.sign_in(&s.url, "agent-h1", PASSWORD, "/agency").await;
        b.wait_for_path("/agency").await;
        let row = b.el("#help-requests tr[data-state='open']").await;
        let number = row.attr("data-help").await.unwrap().unwrap();
        b.click_and_wait(&format!("#take-{number}")).await;
        b.wait_text("#done", "已接单").await;
        b.driver
            .goto(s.at(&format!("/agency/requests/{number}")))
            .await
            .unwrap();
        b.wait_text("#call", PHONE).await;
        b.click_and_wait("#contact").await;
        b.wait_text("#help-state", "服务中").await;
        type_into(&b, "#note", "已陪同办结").await;
        b.driver
            .execute("window.confirm = () => true", vec![])
            .await
            .unwrap();
        b.click_and_wait("#close").await;
        b.wait_text("#help-state", "已办结").await;
        b.assert_no_machine_text().await;

        // The citizen rates the agent on their own page, once.
        b.driver.goto(citizen_page.as_str()).await.unwrap();
        b.wait_text("#help-state", "已办结").await;
        b.el("input[name='stars'][value='5']")
            .await
            .click()
            .await
            .unwrap();
        b.click_and_wait("#rate").await;
        b.wait_text("#rated", "5 星").await;
        let rated = b
            .eval("return document.querySelector('#rate-form') === null")
            .await;
        assert_eq!(rated, json!(true), "rated once: no second form");
        b.quit().await;
        s.stop().await;
    })
    .await;
}
