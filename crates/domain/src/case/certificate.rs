//! The electronic certificate (电子证照) as a PDF: what the applicant downloads and what the
//! material vault keeps, so that the next application offers it instead of asking for it
//! (材料共享).
//!
//! The PDF is written by hand: one A4 page of text needs no PDF library. The Chinese text uses
//! the standard CJK font `STSong-Light` with the `UniGB-UCS2-H` encoding, which every PDF
//! reader provides without embedding (PDF 1.4 §5.9.1), so the file stays a few KB and the
//! binary carries no font. Bytes depend only on the certificate's fields: storing it twice
//! stores one blob.

use chrono::NaiveDate;

/// What the certificate says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateDoc {
    pub number: String,
    /// 证照名称 (the item's result, e.g. 营业执照).
    pub title: String,
    pub item_name: String,
    pub holder: String,
    pub holder_id: String,
    pub issued_on: NaiveDate,
    /// None: 长期有效.
    pub valid_until: Option<NaiveDate>,
    pub case_number: String,
    /// The deciding department.
    pub issuer: String,
    /// The name of the hall (政务服务中心) that issues it, printed at the top and in the
    /// closing line (issue 10 item 2: a hall's paper names the hall, never its code).
    pub hall: String,
    /// The dark modules of the verification QR code (row by row), when the hall has a public
    /// address for it to open.
    pub qr: Option<Vec<Vec<bool>>>,
}

/// Where the QR code sits (lower left, inside the frame) and how wide it is, in points.
const QR_AT: (u32, u32) = (90, 150);
const QR_WIDTH: u32 = 90;

/// Width and height of A4 in points.
const PAGE: (u32, u32) = (595, 842);

impl CertificateDoc {
    /// The lines of the page: (font size, x, y, text).
    fn lines(&self) -> Vec<(u32, u32, u32, String)> {
        let valid = match self.valid_until {
            Some(d) => format!("{} 至 {}", chinese_day(self.issued_on), chinese_day(d)),
            None => "长期".to_string(),
        };
        let title = if self.title.is_empty() {
            &self.item_name
        } else {
            &self.title
        };
        let centred = |size: u32, text: &str| {
            let width = text
                .chars()
                .map(|c| if c.is_ascii() { 1 } else { 2 })
                .sum::<u32>()
                * size
                / 2;
            (PAGE.0.saturating_sub(width) / 2).max(60)
        };
        let mut lines = vec![
            (14, centred(14, &self.hall), 728, self.hall.clone()),
            (28, centred(28, title), 690, title.to_string()),
            (
                14,
                centred(14, "（电子证照）"),
                662,
                "（电子证照）".to_string(),
            ),
        ];
        let fields = [
            ("证照编号", self.number.as_str()),
            ("持证主体", self.holder.as_str()),
            ("证件号码", self.holder_id.as_str()),
            ("办理事项", self.item_name.as_str()),
            ("有效期限", valid.as_str()),
            ("发证机关", self.issuer.as_str()),
            ("办件编号", self.case_number.as_str()),
        ];
        let mut y = 600;
        for (label, value) in fields {
            lines.push((14, 90, y, format!("{label}：{value}")));
            y -= 34;
        }
        lines.push((
            14,
            320,
            236,
            format!("发证日期：{}", chinese_day(self.issued_on)),
        ));
        lines.push((
            10,
            90,
            120,
            format!(
                "本证照由{}签发，可凭办件编号在“办件查询”中核验。",
                self.hall
            ),
        ));
        lines
    }

    /// The certificate as a one-page PDF.
    pub fn pdf(&self) -> Vec<u8> {
        let mut content =
            String::from("0.6 0.1 0.1 RG 3 w 50 80 495 682 re S 1 w 58 88 479 666 re S\n");
        for (size, x, y, text) in self.lines() {
            content.push_str(&format!(
                "BT /F1 {size} Tf {x} {y} Td <{}> Tj ET\n",
                ucs2_hex(&text)
            ));
        }
        content.push_str(&seal());
        if let Some(rows) = &self.qr {
            content.push_str(&qr_drawing(rows));
            content.push_str(&format!(
                "BT /F1 9 Tf {} {} Td <{}> Tj ET\n",
                QR_AT.0 + 9,
                QR_AT.1 - 14,
                ucs2_hex("扫码核验证照")
            ));
        }
        let objects = [
            "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {} {}] \
                 /Resources << /Font << /F1 4 0 R >> >> /Contents 7 0 R >>",
                PAGE.0, PAGE.1
            ),
            "<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H \
             /DescendantFonts [5 0 R] >>"
                .to_string(),
            // CIDs 1–95 of Adobe-GB1 are the half-width Latin glyphs.
            "<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light \
             /CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 4 >> \
             /FontDescriptor 6 0 R /DW 1000 /W [1 95 500] >>"
                .to_string(),
            "<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 \
             /FontBBox [-25 -254 1000 880] /ItalicAngle 0 /Ascent 880 /Descent -120 \
             /CapHeight 880 /StemV 93 >>"
                .to_string(),
            format!(
                "<< /Length {} >>\nstream\n{content}endstream",
                content.len()
            ),
        ];
        let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
        let mut offsets = Vec::with_capacity(objects.len());
        for (i, body) in objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
        }
        let xref = out.len();
        let mut tail = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
        for o in offsets {
            tail.push_str(&format!("{o:010} 00000 n \n"));
        }
        tail.push_str(&format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        ));
        out.extend_from_slice(tail.as_bytes());
        out
    }
}

/// A day as people read it: 2026年12月4日.
fn chinese_day(d: NaiveDate) -> String {
    d.format("%Y年%-m月%-d日").to_string()
}

/// Where the seal sits (over the issue date, as a stamped paper has it) and its radius.
const SEAL_AT: (f64, f64) = (420.0, 262.0);
const SEAL_R: f64 = 52.0;

/// The seal area: a red circle (four Bézier quarters) with 电子印章 inside, over the issue
/// date like the stamp on a paper certificate.
fn seal() -> String {
    let (cx, cy, r) = (SEAL_AT.0, SEAL_AT.1, SEAL_R);
    let k = 0.5523 * r;
    let mut s = format!("q 0.8 0.1 0.1 RG 2 w {:.1} {cy:.1} m\n", cx + r);
    for (a, b, c) in [
        ((cx + r, cy + k), (cx + k, cy + r), (cx, cy + r)),
        ((cx - k, cy + r), (cx - r, cy + k), (cx - r, cy)),
        ((cx - r, cy - k), (cx - k, cy - r), (cx, cy - r)),
        ((cx + k, cy - r), (cx + r, cy - k), (cx + r, cy)),
    ] {
        s.push_str(&format!(
            "{:.1} {:.1} {:.1} {:.1} {:.1} {:.1} c\n",
            a.0, a.1, b.0, b.1, c.0, c.1
        ));
    }
    s.push_str("h S Q\n");
    s.push_str(&format!(
        "q 0.8 0.1 0.1 rg BT /F1 12 Tf {:.0} {:.0} Td <{}> Tj ET Q\n",
        cx - 24.0,
        cy + 14.0,
        ucs2_hex("电子印章")
    ));
    s
}

/// The QR code as filled squares, one module a unit, scaled to [`QR_WIDTH`] with the top row
/// at the top (PDF's y axis points up).
fn qr_drawing(rows: &[Vec<bool>]) -> String {
    let n = rows.len().max(1) as f64;
    let scale = f64::from(QR_WIDTH) / n;
    let mut s = format!(
        "q 0 0 0 rg {scale:.4} 0 0 {scale:.4} {} {} cm\n",
        QR_AT.0, QR_AT.1
    );
    for (y, row) in rows.iter().enumerate() {
        for (x, dark) in row.iter().enumerate() {
            if *dark {
                s.push_str(&format!("{x} {} 1 1 re\n", rows.len() - 1 - y));
            }
        }
    }
    s.push_str("f Q\n");
    s
}

/// Text as a PDF hex string in UCS-2 big-endian (the encoding `UniGB-UCS2-H` reads);
/// characters outside the BMP, which no certificate field needs, become a full-width `？`.
pub fn ucs2_hex(text: &str) -> String {
    text.chars()
        .map(|c| {
            let u = u16::try_from(u32::from(c)).unwrap_or(0xFF1F);
            format!("{u:04X}")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(valid_until: Option<NaiveDate>) -> CertificateDoc {
        CertificateDoc {
            number: "Z20261202000001".into(),
            title: "营业执照".into(),
            item_name: "企业设立登记（营业执照核发）".into(),
            holder: "云岭**科技有限公司".into(),
            holder_id: "91530******0001A".into(),
            issued_on: NaiveDate::from_ymd_opt(2026, 12, 2).unwrap(),
            valid_until,
            case_number: "20261202000001".into(),
            issuer: "云岭市市场监督管理局".into(),
            hall: "云岭市政务服务中心".into(),
            qr: None,
        }
    }

    fn contains(hay: &[u8], needle: &str) -> bool {
        hay.windows(needle.len()).any(|w| w == needle.as_bytes())
    }

    #[test]
    fn the_certificate_is_a_pdf_whose_cross_reference_table_points_at_each_object() {
        let pdf = doc(None).pdf();
        assert!(pdf.starts_with(b"%PDF-1.4\n"));
        assert!(pdf.ends_with(b"%%EOF\n"));
        // Offsets are byte offsets: read the tail (ASCII) apart from the binary header comment.
        let find = |needle: &[u8]| {
            pdf.windows(needle.len())
                .rposition(|w| w == needle)
                .unwrap()
        };
        let tail = std::str::from_utf8(&pdf[find(b"startxref\n")..]).unwrap();
        let startxref: usize = tail.lines().nth(1).unwrap().parse().unwrap();
        let xref = std::str::from_utf8(&pdf[startxref..]).unwrap();
        assert!(xref.starts_with("xref\n0 8\n"));
        let entries: Vec<usize> = xref
            .lines()
            .skip(3)
            .take(7)
            .map(|l| l[..10].parse().unwrap())
            .collect();
        for (i, at) in entries.iter().enumerate() {
            assert!(
                pdf[*at..].starts_with(format!("{} 0 obj\n", i + 1).as_bytes()),
                "object {} not at {at}",
                i + 1
            );
        }
        let stream = std::str::from_utf8(&pdf[entries[6]..startxref]).unwrap();
        let declared: usize = stream
            .split("/Length ")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let body = stream.split_once("stream\n").unwrap().1;
        assert_eq!(body.find("endstream"), Some(declared));
    }

    #[test]
    fn the_page_carries_the_number_holder_and_validity_in_chinese() {
        let pdf = doc(Some(NaiveDate::from_ymd_opt(2031, 12, 1).unwrap())).pdf();
        for line in [
            "营业执照",
            "证照编号：Z20261202000001",
            "持证主体：云岭**科技有限公司",
            "有效期限：2026年12月2日 至 2031年12月1日",
            "发证日期：2026年12月2日",
            "云岭市政务服务中心",
            "本证照由云岭市政务服务中心签发，可凭办件编号在“办件查询”中核验。",
            "电子印章",
            "发证机关：云岭市市场监督管理局",
        ] {
            assert!(contains(&pdf, &ucs2_hex(line)), "{line}");
        }
        assert!(contains(&doc(None).pdf(), &ucs2_hex("有效期限：长期")));
    }

    #[test]
    fn the_same_certificate_gives_the_same_bytes_and_another_gives_other_bytes() {
        assert_eq!(doc(None).pdf(), doc(None).pdf());
        let mut other = doc(None);
        other.holder = "张*".into();
        assert_ne!(doc(None).pdf(), other.pdf());
    }

    #[test]
    fn a_qr_code_is_drawn_module_by_module_with_its_caption_only_when_given() {
        let plain = doc(None).pdf();
        assert!(!contains(&plain, " re\n"));
        assert!(!contains(&plain, &ucs2_hex("扫码核验证照")));
        let mut with = doc(None);
        // A 3×3 pattern: the top-left module is dark, so it is drawn at the top row (y = 2).
        with.qr = Some(vec![
            vec![true, false, false],
            vec![false, true, false],
            vec![false, false, true],
        ]);
        let pdf = with.pdf();
        for square in ["0 2 1 1 re\n", "1 1 1 1 re\n", "2 0 1 1 re\n"] {
            assert!(contains(&pdf, square), "{square}");
        }
        assert!(
            !contains(&pdf, "1 2 1 1 re\n"),
            "a light module is not drawn"
        );
        assert!(contains(&pdf, &ucs2_hex("扫码核验证照")));
    }

    #[test]
    fn text_becomes_ucs2_big_endian_hex() {
        assert_eq!(ucs2_hex("A证"), "00418BC1");
        assert_eq!(ucs2_hex("😀"), "FF1F");
    }
}
