//! QR codes drawn on the server as inline SVG (no external service: halls run on intranets).
//! Receipts, ticket slips and phone links all use this one encoder.

use qrcodegen::{QrCode, QrCodeEcc};
use yichuang_domain::{Error, Result};

/// The dark modules of the QR code of `text`, row by row (for drawings other than SVG, such
/// as the certificate PDF).
pub fn modules(text: &str) -> Result<Vec<Vec<bool>>> {
    let qr = QrCode::encode_text(text, QrCodeEcc::Medium)
        .map_err(|e| Error::internal(format!("QR code: {e:?}")))?;
    let n = qr.size();
    Ok((0..n)
        .map(|y| (0..n).map(|x| qr.get_module(x, y)).collect())
        .collect())
}

/// An SVG QR code of `text`, `size` pixels square, with a 4-module quiet zone.
pub fn svg(text: &str, size: u32, label: &str) -> Result<String> {
    let rows = modules(text)?;
    let n = rows.len();
    let mut path = String::new();
    for (y, row) in rows.iter().enumerate() {
        for (x, dark) in row.iter().enumerate() {
            if *dark {
                path.push_str(&format!("M{},{}h1v1h-1z", x + 4, y + 4));
            }
        }
    }
    Ok(format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {s} {s}" width="{size}" height="{size}" role="img" aria-label="{label}" shape-rendering="crispEdges"><rect width="{s}" height="{s}" fill="#fff"/><path d="{path}" fill="#000"/></svg>"##,
        s = n + 8
    ))
}
