//! The approver sees the materials (issue 10 item 1): the case page lists what was received,
//! by whom and when, and shows the applicant's files from the vault beside the form.

use serde_json::json;

use crate::browser::Browser;
use crate::cases::{application, item, post, publish, staff};
use crate::support::TestServer;

/// An 8×8 red PNG: a scanned material as an image.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x08, 0x08, 0x02, 0x00, 0x00, 0x00, 0x4b, 0x6d, 0x29,
    0xdc, 0x00, 0x00, 0x00, 0x11, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x38, 0xa3, 0xa4, 0x84,
    0x15, 0x31, 0x0c, 0x2d, 0x09, 0x00, 0xbc, 0xce, 0x44, 0x01, 0x3e, 0xb2, 0x93, 0xcb, 0x00, 0x00,
    0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// A one-page PDF as the vault holds one (the certificate of an earlier case).
fn licence_pdf() -> Vec<u8> {
    yichuang_domain::case::certificate::CertificateDoc {
        number: "Z1".into(),
        title: "营业执照".into(),
        item_name: "企业开办".into(),
        holder: "张三".into(),
        holder_id: "1101**********002X".into(),
        issued_on: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
        valid_until: None,
        case_number: "YC1".into(),
        issuer: "市场监督管理局".into(),
        hall: "云岭市政务服务中心".into(),
        qr: None,
    }
    .pdf()
}

#[tokio::test]
async fn an_approver_sees_the_received_materials_and_views_their_files_in_the_case_page() {
    let s = TestServer::start(&yichuang_store::testing::sqlite_url()).await;
    let Some(b) = Browser::start().await else {
        return;
    };
    s.set_clock("2026-03-02T09:00:00+08:00").await;
    publish(&s, &item("X001", false)).await;
    let staff = staff(&s).await;
    // The window's clerk is a person with a name: the page says 王芳, not clerk:wangfang.
    let admin = s.admin_token().await;
    let (st, v) = s
        .post_json(
            "/api/v1/accounts",
            Some(&admin),
            &json!({"username": "wangfang", "display_name": "王芳", "password": "staff2026pw",
                    "role": "clerk", "hall": "H1"}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let clerk = s.token("wangfang", "staff2026pw").await;
    let (st, v) = s
        .post_json(
            "/api/v1/cases",
            Some(&clerk),
            &application("X001", &["A", "B"]),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let number = v["number"].as_str().unwrap().to_string();
    for (code, bytes) in [("A", PNG.to_vec()), ("B", licence_pdf())] {
        let r = s
            .client
            .put(s.at(&format!("/api/v1/cases/{number}/materials/{code}")))
            .bearer_auth(&clerk)
            .body(bytes)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    post(
        &s,
        &clerk,
        &format!("/api/v1/cases/{number}/route"),
        json!({}),
    )
    .await;

    b.sign_in(&s.url, "scj1", "staff2026pw", &format!("/cases/{number}"))
        .await;
    let materials = b.text_of("#materials").await;
    for words in [
        "申请书",
        "营业执照",
        "原件",
        "1 份",
        "王芳 收取于 2026年3月2日 09:00",
    ] {
        assert!(materials.contains(words), "{words} in {materials}");
    }
    assert!(!materials.contains("clerk:"), "{materials}");
    // The image is shown in the page, the PDF in a frame where Chromium's viewer runs (issue 10
    // item 6: a sandboxed frame shows only a broken-page icon), each also to download.
    let shown = b
        .eval("const i = document.querySelector('[data-preview-image=A]'); return i.complete && i.naturalWidth;")
        .await;
    assert_eq!(shown, json!(8), "the scanned image is displayed");
    let frame = b.el("[data-preview-pdf=B]").await;
    assert_eq!(frame.attr("sandbox").await.unwrap(), None);
    b.wait_true(
        "const d = document.querySelector('[data-preview-pdf=B]').contentDocument; \
         return !!(d && d.contentType === 'application/pdf');",
        "the PDF viewer starting in the case page",
    )
    .await;
    let pdf_href = frame.attr("src").await.unwrap().unwrap();
    let r = s
        .client
        .get(s.at(&pdf_href))
        .bearer_auth(&staff.approver)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "application/pdf");
    assert_eq!(
        r.headers()["content-security-policy"],
        "default-src 'none'; frame-ancestors 'self'",
        "nothing fetched or framed from the PDF, framed by this site only"
    );
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    b.el("[data-file-download]").await;
    b.assert_no_machine_text().await;
    b.screenshot("case-materials-approver").await;
    // On a phone the table folds into one block per material, each still with its links.
    b.driver.set_window_rect(0, 0, 390, 844).await.unwrap();
    let fits = b
        .eval("return document.documentElement.scrollWidth <= window.innerWidth + 1;")
        .await;
    assert_eq!(fits, json!(true), "no sideways scrolling on a phone");
    b.screenshot("case-materials-approver-phone").await;

    // The file route: the file's own type, inline, sandboxed; saved with ?download=1.
    let href = b
        .el("[data-preview-image=A]")
        .await
        .attr("src")
        .await
        .unwrap()
        .unwrap();
    let r = s
        .client
        .get(s.at(&href))
        .bearer_auth(&staff.approver)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let h = r.headers().clone();
    assert_eq!(h["content-type"], "image/png");
    assert!(
        h["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("inline")
    );
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("sandbox")
    );
    assert_eq!(r.bytes().await.unwrap().as_ref(), PNG);
    let r = s
        .client
        .get(s.at(&format!("{href}?download=1")))
        .bearer_auth(&staff.approver)
        .send()
        .await
        .unwrap();
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    // Another department's approver may not open the applicant's papers.
    let r = s
        .client
        .get(s.at(&href))
        .bearer_auth(&staff.other_department)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    b.quit().await;
    s.stop().await;
}
