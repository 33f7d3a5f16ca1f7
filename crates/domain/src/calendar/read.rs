//! Reading an administrator's input (TOML or JSON, turned into one JSON value) field by field,
//! collecting every problem with its path (`holidays[2].from`) instead of stopping at the first.

use chrono::NaiveDate;
use serde_json::{Map, Value};

use crate::{Error, Problems, Result};

/// TOML text → the same JSON value a JSON body would give (TOML dates become `"YYYY-MM-DD"`).
pub(super) fn toml_to_json(text: &str) -> Result<Value> {
    let table: toml::Table = toml::from_str(text).map_err(|e| {
        Error::validation(vec![]).field(
            "toml",
            format!("TOML 格式有误：{}", e.message().trim_end_matches('.')).to_string()
                + &e.span()
                    .map(|s| format!("（第{}行）", text[..s.start].lines().count().max(1)))
                    .unwrap_or_default(),
        )
    })?;
    Ok(convert(toml::Value::Table(table)))
}

fn convert(v: toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => Value::from(f),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.into_iter().map(convert).collect()),
        toml::Value::Table(t) => {
            Value::Object(t.into_iter().map(|(k, v)| (k, convert(v))).collect())
        }
    }
}

pub(super) fn path(base: &str, key: &str) -> String {
    if base.is_empty() {
        key.to_string()
    } else {
        format!("{base}.{key}")
    }
}

/// The object at `v`, or a problem saying it must be one.
pub(super) fn object<'a>(
    v: &'a Value,
    at: &str,
    p: &mut Problems,
) -> Option<&'a Map<String, Value>> {
    match v.as_object() {
        Some(m) => Some(m),
        None => {
            p.add(
                if at.is_empty() { "body" } else { at },
                "应为一组键值（对象）",
            );
            None
        }
    }
}

/// Flags keys the format does not know: a misspelt `form = …` must not be silently ignored.
pub(super) fn known_keys(m: &Map<String, Value>, allowed: &[&str], at: &str, p: &mut Problems) {
    for k in m.keys() {
        if !allowed.contains(&k.as_str()) {
            p.add(
                path(at, k),
                format!("不认识的字段“{k}”，可用的字段：{}", allowed.join("、")),
            );
        }
    }
}

/// A string field; `required` ones must be present and not blank. At most `max` characters.
pub(super) fn text(
    m: &Map<String, Value>,
    key: &str,
    at: &str,
    required: bool,
    max: usize,
    p: &mut Problems,
) -> Option<String> {
    let f = path(at, key);
    match m.get(key) {
        None | Some(Value::Null) => {
            if required {
                p.add(f, "必须填写");
            }
            None
        }
        Some(Value::String(s)) => {
            let s = s.trim();
            if s.is_empty() {
                if required {
                    p.add(f, "不能为空");
                }
                None
            } else if s.chars().count() > max {
                p.add(f, format!("不能超过{max}个字"));
                None
            } else {
                Some(s.to_string())
            }
        }
        Some(_) => {
            p.add(f, "应为文字");
            None
        }
    }
}

pub(super) fn parse_date(s: &str) -> Option<NaiveDate> {
    if s.len() != 10 {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// A required `YYYY-MM-DD` date field.
pub(super) fn date(
    m: &Map<String, Value>,
    key: &str,
    at: &str,
    p: &mut Problems,
) -> Option<NaiveDate> {
    let f = path(at, key);
    match m.get(key) {
        None | Some(Value::Null) => {
            p.add(f, "必须填写日期，格式如 2026-01-01");
            None
        }
        Some(Value::String(s)) => {
            let d = parse_date(s.trim());
            if d.is_none() {
                p.add(f, format!("“{s}”不是有效日期，格式应为 2026-01-01"));
            }
            d
        }
        Some(_) => {
            p.add(f, "应为日期，格式如 2026-01-01");
            None
        }
    }
}

/// An optional array field (absent = empty).
pub(super) fn list<'a>(
    m: &'a Map<String, Value>,
    key: &str,
    at: &str,
    p: &mut Problems,
) -> &'a [Value] {
    match m.get(key) {
        None | Some(Value::Null) => &[],
        Some(Value::Array(a)) => a,
        Some(_) => {
            p.add(path(at, key), "应为列表");
            &[]
        }
    }
}
