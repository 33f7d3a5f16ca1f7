//! The certificate and the pickup slip as the papers a hall hands out (issue 10 item 2): the
//! hall's name, Beijing time in Chinese form, the seal area, the applicant's personal numbers
//! masked (R-PII) but a licence holder's own credit code in full.

use serde_json::json;

use crate::browser::{Browser, Pdf};
use crate::cases::{PHONE, approve, item, post, publish, staff};
use crate::support::{TestServer, on_each_backend};

const HALL_NAME: &str = "云岭市政务服务中心";
/// A company's own 统一社会信用代码 (valid check digit).
const USCC: &str = "91350100M000100Y43";

fn a4_one_page(pdf: &Pdf) {
    assert_eq!(pdf.pages, 1, "{}: {}", pdf.path.display(), pdf.text);
    assert!(
        (pdf.width_mm - 210.0).abs() < 1.0 && (pdf.height_mm - 297.0).abs() < 1.0,
        "{}: {:.1} × {:.1} mm",
        pdf.path.display(),
        pdf.width_mm,
        pdf.height_mm
    );
}

/// Neither an ISO date or stamp nor a bare YYYY-MM-DD on paper.
fn no_machine_dates(pdf: &Pdf) {
    let t = &pdf.text;
    let b = t.as_bytes();
    let bad = b.windows(10).any(|w| {
        w[..4].iter().all(u8::is_ascii_digit)
            && w[4] == b'-'
            && w[5..7].iter().all(u8::is_ascii_digit)
            && w[7] == b'-'
            && w[8..].iter().all(u8::is_ascii_digit)
    });
    assert!(!bad, "a machine date on paper: {t}");
}

#[tokio::test]
async fn the_certificate_and_the_pickup_slip_print_as_a_halls_papers_with_the_holders_own_code() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let Some(b) = Browser::start().await else {
            return;
        };
        s.set_clock("2026-03-02T09:00:00+08:00").await;
        let admin = s.admin_token().await;
        let (st, v) = s
            .post_json(
                "/api/v1/halls",
                Some(&admin),
                &json!({"code": "H1", "name": HALL_NAME}),
            )
            .await;
        assert!(st == 201 || st == 409, "{v}");
        let mut licence = item("X001", false);
        licence.result.name = "食品经营许可证".into();
        publish(&s, &licence).await;
        let staff = staff(&s).await;
        let (st, v) = s
            .post_json(
                "/api/v1/cases",
                Some(&staff.clerk),
                &json!({"item": "X001", "materials": ["A", "B"],
                        "applicant": {"kind": "enterprise", "name": "云岭青丝美发有限公司",
                                      "id_number": USCC, "phone": PHONE}}),
            )
            .await;
        assert_eq!(st, 201, "{v}");
        let n = v["number"].as_str().unwrap().to_string();
        let c = |p: &str| format!("/api/v1/cases/{n}{p}");
        post(&s, &staff.clerk, &c("/route"), json!({})).await;
        approve(&s, &staff.approver, &n, "食许〔2026〕8号").await;
        post(&s, &staff.issuer, &c("/steps/issue/claim"), json!({})).await;
        post(
            &s,
            &staff.issuer,
            &c("/steps/issue/issue"),
            json!({"method": "pickup"}),
        )
        .await;

        // The certificate: one A4 page naming the hall, dates in Chinese, the seal, and the
        // company's own credit code in full.
        let (st, cert) = s.get_json(&c("/certificate"), Some(&staff.issuer)).await;
        assert_eq!(st, 200, "{cert}");
        let href = cert["file"]["href"].as_str().unwrap().to_string();
        let bytes = s
            .client
            .get(s.at(&href))
            .bearer_auth(&staff.issuer)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let pdf = Pdf::of_bytes("certificate", &bytes);
        a4_one_page(&pdf);
        let flat: String = pdf.text.split_whitespace().collect();
        for want in [
            HALL_NAME,
            "食品经营许可证",
            "持证主体：云岭青丝美发有限公司",
            &format!("证件号码：{USCC}"),
            "发证日期：2026年3月2日",
            "电子印章",
            &format!("本证照由{HALL_NAME}签发"),
        ] {
            assert!(
                flat.contains(want),
                "{want} not on the certificate:\n{}",
                pdf.text
            );
        }
        no_machine_dates(&pdf);

        // The pickup slip at the issuance window: printed from the case page.
        b.sign_in(&s.url, "out1", "staff2026pw", &format!("/cases/{n}"))
            .await;
        b.click_and_wait("#print-pickup-slip").await;
        assert_eq!(b.text_of("h1").await, "领取凭证");
        b.assert_no_machine_text().await;
        let slip = b.print_pdf("pickup-slip").await;
        a4_one_page(&slip);
        let flat: String = slip.text.split_whitespace().collect();
        for want in [
            HALL_NAME,
            "领取凭证",
            &format!("办件编号{n}"),
            "云岭青丝美发有限公司",
            USCC,
            "138****5678",
            "食品经营许可证（文书编号食许〔2026〕8号）",
            "窗口领取",
            "出件时间2026年3月2日09:",
            "经办人（签字）",
            "申请人（签收）",
            "（盖章）",
        ] {
            assert!(
                flat.contains(want),
                "{want} not on the slip:\n{}",
                slip.text
            );
        }
        assert!(!flat.contains(PHONE), "R-PII: the phone is masked");
        no_machine_dates(&slip);
        b.quit().await;
        s.stop().await;
    })
    .await;
}
