//! Reading a case's or a bundle's JSON view from the page templates. The staff pages, the
//! window's bundle pages and the applicant's phone pages render the same views (`view.rs`,
//! `bundles.rs`), so they share one way of reading them.

use serde_json::Value;

/// A value of a view as text: strings as they are, nothing for null or missing.
pub fn text(v: &Value, path: &str) -> String {
    match v.pointer(path) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// The staff's words for a warning light (the applicant's pages use plainer ones).
pub fn warning_label(w: &str) -> &'static str {
    match w {
        "green" => "绿灯",
        "yellow" => "黄灯",
        "red" => "红灯（已超期）",
        _ => "",
    }
}

/// A page whose template reads one JSON view.
pub trait JsonView {
    fn json(&self) -> &Value;

    fn t(&self, path: &str) -> String {
        text(self.json(), path)
    }

    fn at(&self, v: &Value, path: &str) -> String {
        text(v, path)
    }

    /// A day of `v` (`YYYY-MM-DD`) as people read it: 2026年3月2日.
    fn day_at(&self, v: &Value, path: &str) -> String {
        let d = text(v, path);
        d.parse::<chrono::NaiveDate>()
            .map_or(d, super::view::chinese_day)
    }

    /// A day of the view in Chinese form.
    fn day(&self, path: &str) -> String {
        self.day_at(self.json(), path)
    }

    fn list(&self, path: &str) -> Vec<Value> {
        self.list_at(self.json(), path)
    }

    fn list_at(&self, v: &Value, path: &str) -> Vec<Value> {
        v.pointer(path)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    }
}
