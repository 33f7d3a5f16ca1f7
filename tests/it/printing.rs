//! Printing (issue 10 item 2), in Chromium with Chrome's own PDF printer: the kiosk's ticket
//! slip comes out on 80 mm paper, one page; the single case's 一次性告知书 and 受理通知书 on one
//! A4 page each, like the paper a hall hands out — the hall's name (not its code), Beijing time
//! in Chinese form, each material with 原件/复印件 and its count, the clerk's and the
//! applicant's signature lines, the seal area and the hall's phone.

use serde_json::json;

use crate::browser::Pdf;
use crate::landing::{demo_in_browser, window_id};
use crate::support::on_each_backend;

/// No machine text on paper: no ISO time stamp, no hall code.
fn no_machine_text(pdf: &Pdf) {
    let t = &pdf.text;
    // 2026-12-04T15:10: two digits, T, two digits and a colon.
    let d = |c: &u8| c.is_ascii_digit();
    let iso = t
        .as_bytes()
        .windows(6)
        .any(|w| d(&w[0]) && d(&w[1]) && w[2] == b'T' && d(&w[3]) && d(&w[4]) && w[5] == b':');
    assert!(!iso, "an ISO time on paper: {t}");
    assert!(!t.contains("YL-ZWFW"), "the hall's code on paper: {t}");
    assert!(!t.contains("+08:00"), "{t}");
}

fn one_page(pdf: &Pdf, width_mm: f64, height_mm: f64) {
    assert_eq!(
        pdf.pages,
        1,
        "{}: {} pages\n{}",
        pdf.path.display(),
        pdf.pages,
        pdf.text
    );
    assert!(
        (pdf.width_mm - width_mm).abs() < 1.0 && (pdf.height_mm - height_mm).abs() < 1.0,
        "{}: {:.1} × {:.1} mm",
        pdf.path.display(),
        pdf.width_mm,
        pdf.height_mm
    );
}

#[tokio::test]
async fn the_slip_prints_on_80_mm_paper_and_the_case_papers_on_one_a4_page_each_like_a_halls_paper()
{
    on_each_backend(|url| async move {
        let Some((s, b)) = demo_in_browser(&url, "2026-12-04T15:10:00+08:00").await else {
            return;
        };
        let pw = yichuang_server::demo::halls().unwrap().demo_password;
        let hall = "YL-ZWFW";

        // The slip: an elderly person's ticket at the kiosk, in elder mode.
        b.driver
            .goto(s.at(&format!("/halls/{hall}/kiosk")))
            .await
            .unwrap();
        b.el("#elder-toggle").await.click().await.unwrap();
        b.el("#kiosk-id")
            .await
            .send_keys("11010519491231002X")
            .await
            .unwrap();
        b.el("button[data-queue='enterprise']")
            .await
            .click()
            .await
            .unwrap();
        b.el("#receipt:not([hidden]) #r-qr img").await;
        let slip = b.print_pdf("slip").await;
        one_page(&slip, 80.0, 150.0);
        for want in ["云岭市政务服务中心", "A001", "优先 · 老年人", "综合受理-企业开办", "2026年12月4日 15:10"] {
            assert!(slip.text.contains(want), "{want} not on the slip:\n{}", slip.text);
        }
        assert!(slip.text.contains("窗口暂未开放"), "{}", slip.text);
        no_machine_text(&slip);

        // The single case: materials missing → the one-time notice.
        let a01 = window_id(&s, hall, "A01").await;
        crate::landing::sign_in_at(&s, "wangfang", &pw, a01).await;
        let clerk = s.token("wangfang", &pw).await;
        let (st, c) = s
            .post_json(
                "/api/v1/cases",
                Some(&clerk),
                &json!({"item": "YL-BDC-QR-002",
                        "applicant": {"kind": "person", "name": "张三", "id_number": "11010519491231002X", "phone": "13812345678"},
                        "answers": {"mortgage_type": "general", "applicant": "self"},
                        "materials": ["application_form", "mortgagor_id"]}),
            )
            .await;
        assert_eq!(st, 201, "{c}");
        assert_eq!(c["status"], "awaiting_supplement", "{c}");
        let number = c["number"].as_str().unwrap().to_string();
        b.sign_in(&s.url, "wangfang", &pw, &format!("/cases/{number}/receipt"))
            .await;
        b.el("#missing").await;
        let notice = b.print_pdf("one-time-notice").await;
        one_page(&notice, 210.0, 297.0);
        for want in [
            "云岭市政务服务中心",
            "一次性告知书",
            "抵押",
            "原件",
            "复印件",
            "份数",
            "受理人（签字）",
            "申请人（签收）",
            "盖章",
            "0870-1234500",
            "2026年12月4日 15:10",
        ] {
            assert!(notice.text.contains(want), "{want} not on the notice:\n{}", notice.text);
        }
        no_machine_text(&notice);
        // No column broken into one character a line: every material's name on one line.
        assert!(notice.text.contains("抵押权人"), "{}", notice.text);

        // All materials → the acceptance receipt, one A4 page.
        let (st, c) = s
            .post_json(
                &format!("/api/v1/cases/{number}/supplement"),
                Some(&clerk),
                &json!({"materials": c["one_time_notice"]["missing"]}),
            )
            .await;
        assert_eq!(st, 200, "{c}");
        b.driver
            .goto(s.at(&format!("/cases/{number}/receipt")))
            .await
            .unwrap();
        b.el("#materials").await;
        let receipt = b.print_pdf("acceptance-receipt").await;
        one_page(&receipt, 210.0, 297.0);
        for want in ["受理通知书", "云岭市政务服务中心", "已收材料", "原件", "受理人（签字）", "盖章", "0870-1234500"] {
            assert!(receipt.text.contains(want), "{want} not on the receipt:\n{}", receipt.text);
        }
        no_machine_text(&receipt);

        // The citizen's one-time notice from the guide: a short list on one A4 page; a long
        // one with its short columns whole (序号, 份数 — not one character a line).
        b.driver
            .goto(s.at("/catalogue/items/YL-RS-GG-002/notice"))
            .await
            .unwrap();
        b.el("table.materials").await;
        let short = b.print_pdf("guide-notice-short").await;
        one_page(&short, 210.0, 297.0);
        b.driver
            .goto(s.at("/catalogue/items/YL-BDC-QR-001/notice"))
            .await
            .unwrap();
        b.el("table.materials").await;
        let long = b.print_pdf("guide-notice-long").await;
        for want in ["序号", "份数", "形式", "载体", "原件及复印件"] {
            assert!(long.text.contains(want), "{want} broken on the notice:\n{}", long.text);
        }
        b.quit().await;
        s.stop().await;
    })
    .await;
}
