//! Charts drawn on the server as SVG: halls run on intranets, so no chart library from a CDN,
//! and a chart prints like the table beside it.

use std::fmt::Write;

/// A grouped bar chart: one group per label, one bar per series. Values are counts.
pub fn bars(title: &str, labels: &[String], series: &[(&str, &str, Vec<i64>)]) -> String {
    let (w, h, left, bottom, top) = (720.0, 240.0, 40.0, 28.0, 28.0);
    let max = series
        .iter()
        .flat_map(|s| s.2.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let n = labels.len().max(1) as f64;
    let group = (w - left) / n;
    let bar = (group * 0.8 / series.len().max(1) as f64).max(1.0);
    let plot = h - bottom - top;
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" class="chart" role="img" aria-label="{t}"><title>{t}</title>"#,
        t = escape(title)
    );
    // Axis and the top value.
    let _ = write!(
        out,
        r##"<line x1="{left}" y1="{y0}" x2="{w}" y2="{y0}" stroke="#888"/><text x="{lx}" y="{ty}" font-size="11" text-anchor="end">{max}</text><text x="{lx}" y="{y0}" font-size="11" text-anchor="end">0</text>"##,
        y0 = h - bottom,
        lx = left - 4.0,
        ty = top + 4.0,
        max = max as i64
    );
    for (gi, label) in labels.iter().enumerate() {
        let gx = left + gi as f64 * group + group * 0.1;
        for (si, (_, color, values)) in series.iter().enumerate() {
            let v = values.get(gi).copied().unwrap_or(0);
            let bh = plot * v as f64 / max;
            let _ = write!(
                out,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{bar:.1}" height="{bh:.1}" fill="{color}"><title>{l} {v}</title></rect>"#,
                x = gx + si as f64 * bar,
                y = h - bottom - bh,
                l = escape(label)
            );
        }
        // Every label when few, else every fifth, so they never overlap.
        if labels.len() <= 12 || gi % 5 == 0 {
            let _ = write!(
                out,
                r#"<text x="{x:.1}" y="{y}" font-size="11" text-anchor="middle">{l}</text>"#,
                x = gx + group * 0.4,
                y = h - bottom + 16.0,
                l = escape(label)
            );
        }
    }
    // Legend.
    for (si, (name, color, _)) in series.iter().enumerate() {
        let x = left + si as f64 * 110.0;
        let _ = write!(
            out,
            r#"<rect x="{x}" y="4" width="12" height="12" fill="{color}"/><text x="{tx}" y="15" font-size="12">{n}</text>"#,
            tx = x + 16.0,
            n = escape(name)
        );
    }
    out.push_str("</svg>");
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_draws_one_bar_per_value_and_escapes_its_labels() {
        let svg = bars(
            "收件<与>办结",
            &["1日".into(), "2日".into()],
            &[
                ("收件", "#1f6feb", vec![3, 0]),
                ("办结", "#2da44e", vec![1, 2]),
            ],
        );
        assert!(svg.starts_with("<svg"));
        assert_eq!(
            svg.matches("<rect").count(),
            4 + 2,
            "four bars and two legend keys"
        );
        assert!(svg.contains("收件&lt;与&gt;办结"));
        assert!(!svg.contains("<与>"));
    }
}
