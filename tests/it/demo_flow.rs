//! The demo flow of the case engine, end to end through the real server and its pages in
//! headless Chromium, on the demo data set (issue 4, "Done means"):
//!
//! a visitor takes a ticket at the kiosk; a clerk calls it at the window desk and receives a
//! 开办企业 bundle for an enterprise with one material missing, and prints the one-time notice;
//! the applicant signs in on the phone page and uploads the missing material; 市场监管 lets the
//! licence run late and it turns red; the licence approved, the other members start in
//! parallel and their departments work them from their worklists; 公共场所卫生许可 is not
//! reviewed in time and is deemed approved (R-DEEMED), its department giving the opinion
//! afterwards; the issuance window sends all the results in one parcel by mail.

use std::time::Duration;

use thirtyfour::prelude::*;

use crate::browser::Browser;
use crate::cases_pages::{BUNDLE, DEMO_PASSWORD, ENTERPRISE_PHONE, demo_server, login_code};
use crate::support::{TestServer, backends};

const USCC: &str = "91350100M000100Y43";
const COMPANY: &str = "云岭青丝美发有限公司";
const LICENCE: &str = "YL-SCJG-XK-001";
const HYGIENE: &str = "YL-WJW-XK-002";
const MISSING: &str = "YL-SCJG-XK-001:residence_proof";

/// Signs a member of staff in; the page they land on speaks to people (issue 10 item 3).
async fn sign_in(b: &Browser, s: &TestServer, username: &str, next: &str) {
    b.sign_in(&s.url, username, DEMO_PASSWORD, next).await;
    b.assert_no_machine_text().await;
}

/// Opens a page of the flow: no ISO timestamp or `role:username` on it (issue 10 item 3).
async fn go(b: &Browser, s: &TestServer, path: &str) {
    b.driver.goto(s.at(path)).await.unwrap();
    b.el("h1").await;
    b.assert_no_machine_text().await;
}

async fn data_status(b: &Browser) -> String {
    b.el("#status")
        .await
        .attr("data-status")
        .await
        .unwrap()
        .unwrap_or_default()
}

async fn type_into(b: &Browser, css: &str, text: &str) {
    let e = b.el(css).await;
    e.clear().await.unwrap();
    e.send_keys(text).await.unwrap();
}

/// The sub-case number of `item` on the bundle page.
async fn member_number(b: &Browser, item: &str) -> String {
    b.text_of(&format!("#members tr[data-item='{item}'] td:nth-child(2)"))
        .await
}

async fn member_stages(b: &Browser) -> Vec<String> {
    let mut out = Vec::new();
    for r in b
        .driver
        .find_all(By::Css("#members tbody tr"))
        .await
        .unwrap()
    {
        out.push(r.attr("data-stage").await.unwrap().unwrap_or_default());
    }
    out
}

/// Reloads `path` until `css` is there (the worker fires timers a moment after the clock moves).
async fn wait_for(b: &Browser, s: &TestServer, path: &str, css: &str) {
    for _ in 0..100 {
        go(b, s, path).await;
        if !b.driver.find_all(By::Css(css)).await.unwrap().is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    b.screenshot("demo-flow-wait").await;
    panic!("{css} never appeared on {path}");
}

/// Department staff work a sub-case from their worklist: confirm it, review, decide.
async fn work_from_worklist(
    b: &Browser,
    s: &TestServer,
    user: &str,
    department: &str,
    number: &str,
) {
    let list = format!("/departments/{department}/worklist");
    sign_in(b, s, user, &list).await;
    wait_for(
        b,
        s,
        &list,
        &format!("#worklist tr[data-number='{number}']"),
    )
    .await;
    b.click_and_wait(&format!("#worklist tr[data-number='{number}'] a"))
        .await;
    b.assert_no_machine_text().await;
    if data_status(b).await == "routed" {
        b.click_and_wait("#confirm").await;
    }
    b.click_and_wait("#claim-review").await;
    type_into(b, "#opinion-review", "材料齐全，同意").await;
    b.click_and_wait("#approve-review").await;
    b.click_and_wait("#claim-decide").await;
    type_into(
        b,
        "#document-number",
        &format!("{department}〔2026〕{number}"),
    )
    .await;
    b.click_and_wait("#decide-decide").await;
    assert_eq!(data_status(b).await, "concluded", "{user} decided {number}");
}

async fn phone_sign_in(b: &Browser, s: &TestServer) {
    go(b, s, "/my").await;
    if b.driver
        .find_all(By::Css("#send-code"))
        .await
        .unwrap()
        .is_empty()
    {
        b.click_and_wait("#logout").await;
    }
    let since = s.running.state.now() - chrono::Duration::seconds(1);
    type_into(b, "#phone", ENTERPRISE_PHONE).await;
    b.click_and_wait("#send-code").await;
    assert!(b.text_of("#sent").await.contains("验证码已发送"));
    let code = login_code(s, ENTERPRISE_PHONE, since).await;
    type_into(b, "#code", &code).await;
    b.click_and_wait("#login").await;
    b.el("#my-cases").await;
}

async fn flow(b: &Browser, url: &str) {
    let s = demo_server(url).await;
    s.set_clock("2026-03-02T09:05:00+08:00").await;
    let (_, hall) = s.get_json("/api/v1/halls/YL-ZWFW", None).await;
    let a01 = hall["windows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["code"] == "A01")
        .and_then(|w| w["id"].as_i64())
        .expect("window A01");
    let d = &b.driver;

    // Monday 2 March 2026, 09:05. A visitor takes a ticket for 企业开办 at the kiosk.
    go(b, &s, "/halls/YL-ZWFW/kiosk").await;
    b.el("button[data-queue='enterprise']")
        .await
        .click()
        .await
        .unwrap();
    let mut ticket = String::new();
    for _ in 0..50 {
        ticket = b.text_of("#r-number").await;
        if !ticket.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(ticket, "A001");

    // The clerk calls it at window A01 and starts a bundle for the visitor.
    sign_in(b, &s, "wangfang", &format!("/windows/{a01}/desk")).await;
    // Before signing in, calling says what to do; a button that needs a ticket is disabled
    // while there is none (issue 10 item 5).
    let finish = "button[data-act='finish']";
    assert!(b.el(finish).await.attr("disabled").await.unwrap().is_some());
    b.el("button[data-act='call']").await.click().await.unwrap();
    for _ in 0..50 {
        if !b.text_of("#desk-error").await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!b.text_of("#desk-error").await.is_empty());
    b.el("button[data-session='sign-in']")
        .await
        .click()
        .await
        .unwrap();
    for _ in 0..50 {
        if b.text_of("#desk-status").await == "服务中" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Signed in: the window's status in words and no stale message (issue 10 items 3 and 5).
    assert_eq!(b.text_of("#desk-status").await, "服务中");
    assert_eq!(b.text_of("#desk-error").await, "");
    b.el("button[data-act='call']").await.click().await.unwrap();
    for _ in 0..50 {
        if b.text_of("#desk-number").await == "A001" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(b.text_of("#desk-number").await, "A001");
    assert!(b.el(finish).await.attr("disabled").await.unwrap().is_none());
    b.el("button[data-act='start']")
        .await
        .click()
        .await
        .unwrap();
    b.click_and_wait("#desk-bundle").await;
    assert!(b.text_of("h1").await.contains("号票 A001"));
    b.el(&format!("#bundle-pick option[value='{BUNDLE}']"))
        .await
        .click()
        .await
        .unwrap();
    b.click_and_wait("#pick-bundle").await;
    type_into(b, "#name", COMPANY).await;
    type_into(b, "#id_number", USCC).await;
    type_into(b, "#phone", ENTERPRISE_PHONE).await;
    b.el("#a-central_ac option[value='no']")
        .await
        .click()
        .await
        .unwrap();
    // Every material but the premises document; each shared material is one box.
    let missing_id = format!("m-{}", MISSING.replace(':', "-"));
    let boxes = d
        .find_all(By::Css("#checklist input[type=checkbox]"))
        .await
        .unwrap();
    assert!(boxes.len() > 20, "{} boxes", boxes.len());
    for cb in boxes {
        if cb.id().await.unwrap().as_deref() != Some(missing_id.as_str()) {
            cb.click().await.unwrap();
        }
    }
    b.click_and_wait("#accept-bundle").await;
    // One printable one-time notice for the whole bundle.
    assert!(
        b.text_of("h1").await.contains("一次性告知书"),
        "{}",
        b.body_text().await
    );
    assert_eq!(
        b.text_of("#missing").await.lines().count(),
        1,
        "only the missing material"
    );
    assert!(
        b.text_of("#missing")
            .await
            .contains("住所（经营场所）使用相关文件")
    );
    b.el("#receipt svg").await;
    b.el("#print").await;
    let parent = b.text_of("#bundle-number").await;
    b.click_and_wait("#bundle-details").await;
    assert_eq!(data_status(b).await, "awaiting_supplement");
    assert!(b.text_of("#holding-up").await.contains("企业设立登记"));
    let stages = member_stages(b).await;
    assert_eq!(stages.len(), 7);
    assert!(
        stages[1..].iter().all(|s| s == "waiting"),
        "the others wait for the licence (serial): {stages:?}"
    );
    let licence = member_number(b, LICENCE).await;

    // 09:20: the applicant, at home, signs in on the phone and uploads the missing document.
    s.set_clock("2026-03-02T09:20:00+08:00").await;
    phone_sign_in(b, &s).await;
    b.click_and_wait(&format!("#my-cases a[data-number='{parent}']"))
        .await;
    assert!(
        b.text_of("#notice")
            .await
            .contains("住所（经营场所）使用相关文件")
    );
    assert!(
        b.text_of("#applicant").await.contains("139****5678"),
        "R-PII"
    );
    let scan = std::env::temp_dir().join(format!("yc-lease-{}.pdf", std::process::id()));
    std::fs::write(&scan, b"%PDF-1.4\n% lease agreement\n").unwrap();
    b.el(&format!("input[name='f_{MISSING}']"))
        .await
        .send_keys(scan.display().to_string())
        .await
        .unwrap();
    b.click_and_wait("#supplement").await;
    assert_eq!(data_status(b).await, "in_progress");
    assert!(
        b.driver
            .find_all(By::Css("#notice"))
            .await
            .unwrap()
            .is_empty()
    );
    let _ = std::fs::remove_file(&scan);

    // Wednesday 4 March: the licence (1 working day, due 3 March) was not done in time.
    s.set_clock("2026-03-04T09:30:00+08:00").await;
    let overdue = "/departments/YL-SCJG/worklist?view=overdue";
    sign_in(b, &s, "sunli", overdue).await;
    wait_for(
        b,
        &s,
        overdue,
        &format!("#worklist tr.late[data-number='{licence}']"),
    )
    .await;
    b.click_and_wait(&format!("#worklist tr[data-number='{licence}'] a"))
        .await;
    assert_eq!(
        b.el("#warning")
            .await
            .class_name()
            .await
            .unwrap()
            .as_deref(),
        Some("badge warn-red"),
        "the late case shows red"
    );
    b.click_and_wait("#claim-review").await;
    type_into(b, "#opinion-review", "材料齐全，符合登记条件").await;
    b.click_and_wait("#approve-review").await;
    b.click_and_wait("#claim-decide").await;
    type_into(b, "#document-number", "（云）登字〔2026〕第0304号").await;
    b.click_and_wait("#decide-decide").await;
    assert_eq!(data_status(b).await, "concluded");

    // The licence approved, the six other members start at once, in parallel.
    b.click_and_wait("#parent").await;
    let stages = member_stages(b).await;
    assert_eq!(stages[0], "done", "{stages:?}");
    assert!(stages[1..].iter().all(|s| s == "running"), "{stages:?}");
    let mut members = Vec::new();
    for item in [
        HYGIENE,
        "YL-GA-BA-001",
        "YL-SWJ-QT-002",
        "YL-BANK-GG-001",
        "YL-RS-QR-001",
        "YL-GJJ-GG-002",
    ] {
        members.push((item, member_number(b, item).await));
    }
    // Each department works its own from its worklist; 卫生健康委 does not get to it.
    for ((_, number), (user, department)) in members[1..].iter().zip([
        ("gaoyan", "YL-GA"),
        ("qianwei", "YL-SWJ"),
        ("linna", "YL-BANK"),
        ("majie", "YL-RS"),
        ("tangli", "YL-GJJ"),
    ]) {
        work_from_worklist(b, &s, user, department, number).await;
    }

    // Wednesday 11 March: the hygiene review's 4 working days ended on 10 March: deemed approved.
    s.set_clock("2026-03-11T09:30:00+08:00").await;
    let hygiene = &members[0].1;
    sign_in(b, &s, "zhengyu", "/departments/YL-WJW/worklist").await;
    wait_for(
        b,
        &s,
        "/departments/YL-WJW/worklist",
        &format!("#worklist tr[data-number='{hygiene}']"),
    )
    .await;
    assert!(
        b.text_of("#worklist")
            .await
            .contains("补充部门意见（超时默认通过）"),
        "the department owes its opinion (R-DEEMED)"
    );
    b.click_and_wait(&format!("#worklist tr[data-number='{hygiene}'] a"))
        .await;
    assert!(b.text_of("#timeline").await.contains("超时默认通过"));
    b.el("[data-deemed='review']").await;
    type_into(b, "#late-opinion-text-review", "现场核查合格，同意").await;
    b.click_and_wait("#late-opinion-review").await;
    b.click_and_wait("#claim-decide").await;
    type_into(b, "#document-number", "云卫公字〔2026〕第0311号").await;
    b.click_and_wait("#decide-decide").await;
    assert_eq!(data_status(b).await, "concluded");

    // The issuance window mails all seven results in one parcel.
    sign_in(b, &s, "fengxue", &format!("/bundle-cases/{parent}")).await;
    assert_eq!(data_status(b).await, "concluded");
    b.click_and_wait("#issue-bundle").await;
    assert!(b.text_of("#address-error").await.contains("请填写邮寄地址"));
    type_into(b, "#address", "云岭市青云大道66号青丝美发").await;
    type_into(b, "#carrier", "中国邮政EMS").await;
    type_into(b, "#tracking", "EMS2026031100").await;
    b.click_and_wait("#issue-bundle").await;
    assert_eq!(data_status(b).await, "issued");
    go(b, &s, &format!("/cases/{hygiene}")).await;
    assert_eq!(
        b.text_of("#issued-address").await,
        "云岭市青云大道66号青丝美发"
    );
    assert_eq!(b.text_of("#issued-carrier").await, "中国邮政EMS");
    assert_eq!(b.text_of("#issued-tracking").await, "EMS2026031100");

    // The applicant sees it on the phone, in plain words.
    phone_sign_in(b, &s).await;
    b.click_and_wait(&format!("#my-cases a[data-number='{parent}']"))
        .await;
    assert_eq!(data_status(b).await, "issued");
    b.click_and_wait(&format!("#members li[data-item='{HYGIENE}'] a"))
        .await;
    let timeline = b.text_of("#timeline").await;
    assert!(
        timeline.contains("按规定视为同意（超时默认通过）"),
        "{timeline}"
    );
    assert!(
        timeline.contains("结果已邮寄：中国邮政EMS，运单号 EMS2026031100"),
        "{timeline}"
    );
    s.stop().await;
}

#[tokio::test]
async fn the_demo_flow_runs_from_the_ticket_to_the_mailed_certificates_in_a_browser() {
    let Some(b) = Browser::start().await else {
        return;
    };
    for url in backends().await {
        flow(&b, &url).await;
    }
    b.quit().await;
}
