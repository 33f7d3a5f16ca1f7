//! Turns the platform's one [`Error`] into `application/problem+json` (RFC 9457), and rejects
//! malformed JSON, paths and queries with the same shape and a Chinese title.

use axum::Json;
use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use yichuang_domain::{Error, Kind};

/// A handler's error: any [`Error`] converts into it with `?`.
#[derive(Debug)]
pub struct Problem(pub Error);

pub type ApiResult<T> = Result<T, Problem>;

impl From<Error> for Problem {
    fn from(e: Error) -> Self {
        Problem(e)
    }
}

pub fn status_of(kind: Kind) -> StatusCode {
    match kind {
        Kind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
        Kind::Unauthorized => StatusCode::UNAUTHORIZED,
        Kind::Forbidden => StatusCode::FORBIDDEN,
        Kind::NotFound => StatusCode::NOT_FOUND,
        Kind::Conflict => StatusCode::CONFLICT,
        Kind::TooMany => StatusCode::TOO_MANY_REQUESTS,
        Kind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Kind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let e = self.0;
        let status = match e.code.as_ref() {
            "malformed_request" => StatusCode::BAD_REQUEST,
            TOO_LARGE => StatusCode::PAYLOAD_TOO_LARGE,
            BODY_TIMEOUT => StatusCode::REQUEST_TIMEOUT,
            _ => status_of(e.kind),
        };
        // A lost database connection is the database's trouble, not a bug: it is worth a
        // warning, and the client may simply try again in a moment.
        let retry_later = e.kind == Kind::Unavailable && e.code.starts_with("database_");
        if retry_later {
            tracing::warn!(code = %e.code, detail = ?e.detail, "database unavailable");
        } else if e.kind == Kind::Internal {
            // The request id is on the tracing span; the client sees only the generic title.
            tracing::error!(code = %e.code, detail = ?e.detail, "internal error");
        } else if let Some(d) = &e.detail {
            tracing::debug!(code = %e.code, detail = %d, "request refused");
        }
        let body = json!({
            "type": format!("https://yichuang.dev/problems/{}", e.code),
            "status": status.as_u16(),
            "code": e.code,
            "title": e.title,
            "errors": e.fields,
        });
        let mut res = (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            Json(body).into_response().into_body(),
        )
            .into_response();
        if retry_later {
            res.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        }
        res
    }
}

/// A body that is not JSON, or not the expected shape: 400 with the offending field named.
pub fn malformed(field: Option<String>, message: String) -> Problem {
    let mut e = Error::invalid("malformed_request", "请求格式错误，无法识别提交的内容");
    e = e.field(field.unwrap_or_else(|| "body".into()), message);
    Problem(e)
}

const TOO_LARGE: &str = "payload_too_large";
const BODY_TIMEOUT: &str = "request_body_timeout";

impl From<BytesRejection> for Problem {
    fn from(r: BytesRejection) -> Self {
        if crate::serve::is_body_timeout(&r) {
            return Problem(Error::invalid(
                BODY_TIMEOUT,
                "提交内容的传输中断太久，请检查网络后重新提交",
            ));
        }
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return Problem(
                Error::invalid(TOO_LARGE, "提交的内容过大")
                    .field("body", "请求内容超过了允许的大小"),
            );
        }
        malformed(None, r.body_text())
    }
}

impl From<JsonRejection> for Problem {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::BytesRejection(r) => r.into(),
            JsonRejection::JsonDataError(e) => {
                // serde_path_to_error gives "field.path: message"; keep the path for the field.
                let text = e.body_text();
                let detail = text
                    .split_once(": ")
                    .map(|(_, d)| d)
                    .unwrap_or(&text)
                    .to_string();
                let (path, msg) = match detail.split_once(": ") {
                    Some((p, m)) if !p.contains(' ') => (Some(p.to_string()), m.to_string()),
                    _ => (None, detail.clone()),
                };
                malformed(path, translate_serde(&msg))
            }
            JsonRejection::JsonSyntaxError(_) => malformed(None, "不是有效的 JSON".into()),
            JsonRejection::MissingJsonContentType(_) => {
                malformed(None, "请以 Content-Type: application/json 提交".into())
            }
            other => malformed(None, other.body_text()),
        }
    }
}

impl From<QueryRejection> for Problem {
    fn from(r: QueryRejection) -> Self {
        malformed(
            Some("query".into()),
            format!("查询参数有误：{}", translate_serde(&r.body_text())),
        )
    }
}

impl From<PathRejection> for Problem {
    fn from(r: PathRejection) -> Self {
        malformed(
            Some("path".into()),
            format!("路径参数有误：{}", r.body_text()),
        )
    }
}

/// serde's messages are English; give the common ones in Chinese and keep the rest readable.
fn translate_serde(msg: &str) -> String {
    if let Some(rest) = msg.strip_prefix("missing field `") {
        let name = rest.split('`').next().unwrap_or("");
        return format!("缺少必填项 {name}");
    }
    if let Some(rest) = msg.strip_prefix("unknown field `") {
        let name = rest.split('`').next().unwrap_or("");
        return format!("不支持的字段 {name}");
    }
    if msg.starts_with("invalid type") {
        return format!("类型不正确（{msg}）");
    }
    if msg.starts_with("unknown variant") {
        return format!("取值不在允许范围内（{msg}）");
    }
    if msg.starts_with("invalid value") {
        return format!("取值无效（{msg}）");
    }
    msg.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_database_connection_is_answered_503_with_retry_after_in_chinese() {
        let lost = Error::new(
            Kind::Unavailable,
            yichuang_store::db::CONNECTION_LOST,
            "数据库暂时不可用，请稍后重试",
        );
        let r = Problem(lost).into_response();
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.headers()[header::RETRY_AFTER], "1");

        let unsure = Error::new(Kind::Unavailable, yichuang_store::db::COMMIT_UNKNOWN, "x");
        let r = Problem(unsure).into_response();
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.headers()[header::RETRY_AFTER], "1");

        // A calendar year not loaded is not cured by waiting a second.
        let r = Problem(Error::new(Kind::Unavailable, "calendar_missing", "x")).into_response();
        assert!(r.headers().get(header::RETRY_AFTER).is_none());
    }
}
