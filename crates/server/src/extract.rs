//! Extractors whose rejections speak problem+json in Chinese.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::de::{DeserializeOwned, IgnoredAny};
use yichuang_domain::Error;

use crate::error::{Problem, malformed};

/// Like `axum::Json`, but a malformed body becomes a 400 problem with the field named, a body
/// over the route's limit a 413, and a body that is valid JSON but not an object (every body of
/// this API is one) a 422: a struct whose fields all have defaults would otherwise read `[]`
/// as "everything back to the defaults".
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Problem> {
        if !json_content_type(req.headers()) {
            return Err(malformed(
                None,
                "请以 Content-Type: application/json 提交".into(),
            ));
        }
        let bytes = Bytes::from_request(req, state).await?;
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
        if first != Some(&b'{') && serde_json::from_slice::<IgnoredAny>(&bytes).is_ok() {
            return Err(Problem(
                Error::invalid("json_object_expected", "提交的内容须为一个 JSON 对象").field(
                    "body",
                    "应为 {…} 形式的对象，不能是数组、数字、字符串或 null",
                ),
            ));
        }
        if has_nul_text(&bytes) {
            return Err(Problem(
                Error::validation(vec![]).field("body", "提交的文字中不能含空字符（\\u0000）"),
            ));
        }
        match axum::Json::<T>::from_bytes(&bytes) {
            Ok(axum::Json(v)) => Ok(Json(v)),
            // JSON has one number type: `5.0` is the integer 5 (JSON Schema says so too), but
            // serde refuses it for an integer field. Read whole-number floats as integers and
            // try once more; any other fault keeps the first error.
            Err(first) => {
                match whole_numbers_as_integers(&bytes).map(|b| axum::Json::<T>::from_bytes(&b)) {
                    Some(Ok(axum::Json(v))) => Ok(Json(v)),
                    _ => Err(first.into()),
                }
            }
        }
    }
}

/// Whether a JSON body has a string (or a key) with a NUL character: no text of this platform
/// holds one, and PostgreSQL cannot store it (it would fail the write with a 500).
fn has_nul_text(bytes: &[u8]) -> bool {
    fn walk(v: &serde_json::Value) -> bool {
        match v {
            serde_json::Value::String(s) => s.contains('\0'),
            serde_json::Value::Array(a) => a.iter().any(walk),
            serde_json::Value::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || walk(v)),
            _ => false,
        }
    }
    // Only an escaped `\u0000` can put a NUL in a JSON string; most bodies skip the parse.
    let escaped = bytes.windows(5).any(|w| w.eq_ignore_ascii_case(b"u0000"));
    escaped
        && serde_json::from_slice::<serde_json::Value>(bytes)
            .ok()
            .is_some_and(|v| walk(&v))
}

/// `serde_json::from_slice` for handlers that read their body by hand, with the same reading of
/// whole-number floats and refusal of NUL characters as [`Json`]; the error is the one of the
/// body as sent.
pub fn from_json_slice<T: DeserializeOwned>(bytes: &[u8]) -> serde_json::Result<T> {
    if has_nul_text(bytes) {
        return Err(serde::de::Error::custom("文字中不能含空字符（\\u0000）"));
    }
    serde_json::from_slice(bytes).or_else(|first| {
        whole_numbers_as_integers(bytes)
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or(first)
    })
}

/// The body with every whole-number float (`5.0`, `1e3`) that an `i64` holds exactly written as
/// an integer, or `None` when there is none (or the body is not JSON).
fn whole_numbers_as_integers(bytes: &[u8]) -> Option<Vec<u8>> {
    fn walk(v: &mut serde_json::Value) -> bool {
        match v {
            serde_json::Value::Number(n) if n.is_f64() => match n.as_f64() {
                Some(f) if f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_992.0 => {
                    *v = serde_json::Value::from(f as i64);
                    true
                }
                _ => false,
            },
            serde_json::Value::Array(a) => a.iter_mut().fold(false, |c, x| walk(x) | c),
            serde_json::Value::Object(o) => o.values_mut().fold(false, |c, x| walk(x) | c),
            _ => false,
        }
    }
    let mut v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    walk(&mut v).then(|| serde_json::to_vec(&v).ok()).flatten()
}

/// `application/json`, or a `+json` type such as `application/merge-patch+json`.
fn json_content_type(h: &HeaderMap) -> bool {
    h.get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .is_some_and(|m| {
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        })
}

impl<T: serde::Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Refuses an enum-valued query parameter sent empty (`?status=`) with 422, like any other value
/// outside its list: leaving the parameter out is how to ask for the default, and the OpenAPI
/// document lists the values it takes. `expected` names them for the person reading the error.
pub fn not_blank(field: &str, value: Option<&str>, expected: &str) -> Result<(), Error> {
    match value {
        Some(v) if v.trim().is_empty() => Err(Error::validation(vec![]).field(
            field,
            format!("不能为空：可选 {expected}，不需要筛选时请省略该参数"),
        )),
        _ => Ok(()),
    }
}

#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(Problem))]
pub struct Query<T>(pub T);

#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(Problem))]
pub struct Path<T>(pub T);
