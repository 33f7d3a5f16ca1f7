//! Hardening for a government network (issue 15): cross-site requests are refused, and every
//! response carries the headers that keep a browser from sniffing, framing or caching what it
//! should not.
//!
//! **Cross-site requests (CSRF).** A browser sends the session cookie with a form that another
//! site posts to us. Every unsafe request (anything but GET, HEAD and OPTIONS) that does not
//! carry its own `Authorization` header must come from our own pages: `Sec-Fetch-Site` must be
//! `same-origin` or `none` (typed or bookmarked) when the browser sends it, and `Origin`, when
//! sent, must be the request's own host (or the configured `public_url`). Devices and scripts
//! send neither header and are not affected; a Bearer token cannot be sent by another site's
//! page, so API calls with one are not checked.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use yichuang_domain::{Error, Kind};

use crate::error::Problem;
use crate::state::AppState;

/// The policy of every page: scripts, styles and images only from this server (no inline
/// script, style or event handler exists in the templates), no plug-ins, no framing, forms
/// post only here.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
style-src 'self'; img-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
frame-ancestors 'none'";

/// What an uploaded file is served with: a document of its own origin that can run nothing.
pub const SANDBOX_POLICY: &str = "sandbox; default-src 'none'; frame-ancestors 'none'";

const REFUSED: &str = "请求来自其他网站，已被拒绝：为保护您的账号，表单只能从本系统自己的页面提交。\
请回到本系统页面重新操作。";

/// Refuses cross-site unsafe requests (see the module comment).
pub async fn refuse_cross_site(State(st): State<AppState>, req: Request, next: Next) -> Response {
    if is_cross_site(&req, st.config.public_url.as_deref()) {
        tracing::warn!(
            method = %req.method(),
            origin = %header_text(req.headers(), header::ORIGIN),
            fetch_site = %header_text(req.headers(), "sec-fetch-site"),
            "cross-site request refused"
        );
        return refusal(&req);
    }
    next.run(req).await
}

fn header_text(h: &HeaderMap, name: impl header::AsHeaderName) -> String {
    crate::logging::escape(h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("-"))
}

fn is_cross_site(req: &Request, public_url: Option<&str>) -> bool {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return false;
    }
    let h = req.headers();
    if h.contains_key(header::AUTHORIZATION) {
        return false;
    }
    let fetch_site = h.get("sec-fetch-site").map(HeaderValue::as_bytes);
    if fetch_site.is_some_and(|s| s != b"same-origin" && s != b"none") {
        return true;
    }
    match h.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        None => false,
        Some(origin) => {
            let host = h.get(header::HOST).and_then(|v| v.to_str().ok());
            !same_origin(origin, host, public_url)
        }
    }
}

/// Whether `origin` (`scheme://host[:port]`) names this server: the host the request was sent
/// to, or the public address the hall is reached at. `null` (an opaque origin) never does.
fn same_origin(origin: &str, host: Option<&str>, public_url: Option<&str>) -> bool {
    let authority = |u: &str| {
        u.split_once("://")
            .map(|(_, rest)| rest.split('/').next().unwrap_or("").to_ascii_lowercase())
    };
    let Some(from) = authority(origin) else {
        return false;
    };
    host.is_some_and(|h| h.eq_ignore_ascii_case(&from))
        || public_url.and_then(authority).is_some_and(|p| p == from)
}

fn refusal(req: &Request) -> Response {
    let path = req.uri().path();
    if path.starts_with("/api/") {
        return Problem(Error::new(Kind::Forbidden, "cross_site_request", REFUSED)).into_response();
    }
    crate::accounts::forbidden_page(None, req.uri(), REFUSED.to_string())
}

/// Refuses a request whose address carries a NUL character (`%00`) with 400: no code, name or
/// filter of the platform holds one, and PostgreSQL fails any query given one (a 500).
pub async fn refuse_nul_in_address(req: Request, next: Next) -> Response {
    let uri = req.uri();
    let nul = |s: &str| {
        s.as_bytes()
            .windows(3)
            .any(|w| w.eq_ignore_ascii_case(b"%00"))
    };
    let field = if nul(uri.path()) {
        Some("path")
    } else if uri.query().is_some_and(nul) {
        Some("query")
    } else {
        None
    };
    match field {
        Some(f) => crate::error::malformed(Some(f.into()), "请求地址中不能含空字符（%00）".into())
            .into_response(),
        None => next.run(req).await,
    }
}

/// Sets the security headers on every response: no MIME sniffing, no referrer to other sites,
/// no framing, the content security policy (unless the handler set a stricter one), and
/// `Cache-Control: no-store` on whatever a signed-in person was shown.
pub async fn headers(req: Request, next: Next) -> Response {
    let signed_in = carries_credentials(req.headers());
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    // A handler may allow its own pages to frame it (a material shown inside the case page).
    h.entry(header::X_FRAME_OPTIONS)
        .or_insert(HeaderValue::from_static("DENY"));
    h.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    if signed_in {
        h.entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("no-store"));
    }
    res
}

/// A bearer token, or the session cookie of staff or an applicant.
fn carries_credentials(h: &HeaderMap) -> bool {
    h.contains_key(header::AUTHORIZATION)
        || h.get_all(header::COOKIE).iter().any(|v| {
            v.to_str().is_ok_and(|s| {
                s.split(';').any(|pair| {
                    pair.trim().split_once('=').is_some_and(|(k, v)| {
                        !v.is_empty()
                            && (k == crate::auth::SESSION_COOKIE
                                || k == crate::cases::my::APPLICANT_COOKIE)
                    })
                })
            })
        })
}

/// What an uploaded file is viewed inline with (inside this site's own case page): sandboxed
/// like a download, framed only by this site's pages.
pub const INLINE_SANDBOX_POLICY: &str = "sandbox; default-src 'none'; frame-ancestors 'self'";

/// The headers of an uploaded file shown inline in a staff page (issue 10 item 1): its real
/// type, `Content-Security-Policy: sandbox` so it runs nothing as a page of this site, and
/// framing by this site only.
pub fn inline_file_headers(
    content_type: &str,
    filename: &str,
) -> [(header::HeaderName, HeaderValue); 4] {
    let [ct, disposition, _] = file_headers(content_type, filename);
    let inline = disposition
        .1
        .to_str()
        .unwrap_or("attachment")
        .replacen("attachment", "inline", 1);
    [
        ct,
        (
            header::CONTENT_DISPOSITION,
            HeaderValue::from_str(&inline).unwrap_or(HeaderValue::from_static("inline")),
        ),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(INLINE_SANDBOX_POLICY),
        ),
        (
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("SAMEORIGIN"),
        ),
    ]
}

/// The policy of a PDF shown inside a staff page: no `sandbox`, because Chromium will not
/// start its PDF viewer in a sandboxed document (issue 10 item 6), but nothing may be fetched
/// or framed from it, and only this site may frame it. Given only to bytes that are a PDF
/// (they start `%PDF-`), with `nosniff`, so it is never read as a page of this site.
pub const INLINE_PDF_POLICY: &str = "default-src 'none'; frame-ancestors 'self'";

/// The headers of a PDF viewed inside a staff page (see [`INLINE_PDF_POLICY`]); anything
/// else inline keeps [`inline_file_headers`].
pub fn inline_pdf_headers(filename: &str) -> [(header::HeaderName, HeaderValue); 5] {
    let [ct, disposition, _, frame] = inline_file_headers("application/pdf", filename);
    [
        ct,
        disposition,
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(INLINE_PDF_POLICY),
        ),
        frame,
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
    ]
}

/// The headers of an uploaded file: always a download, never run as a page of this site.
pub fn file_headers(content_type: &str, filename: &str) -> [(header::HeaderName, HeaderValue); 3] {
    let ascii: String = filename
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    let name = if ascii.is_empty() {
        "file".into()
    } else {
        ascii
    };
    [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_str(content_type)
                .unwrap_or(HeaderValue::from_static("application/octet-stream")),
        ),
        (
            header::CONTENT_DISPOSITION,
            HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
                .unwrap_or(HeaderValue::from_static("attachment")),
        ),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(SANDBOX_POLICY),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::same_origin;

    #[test]
    fn an_origin_is_ours_only_when_it_names_the_host_or_the_public_address() {
        assert!(same_origin(
            "http://127.0.0.1:8080",
            Some("127.0.0.1:8080"),
            None
        ));
        assert!(same_origin(
            "HTTP://Hall.Example",
            Some("hall.example"),
            None
        ));
        assert!(!same_origin(
            "http://evil.example",
            Some("127.0.0.1:8080"),
            None
        ));
        assert!(!same_origin(
            "http://127.0.0.1:8081",
            Some("127.0.0.1:8080"),
            None
        ));
        assert!(!same_origin("null", Some("127.0.0.1:8080"), None));
        assert!(same_origin(
            "https://zwfw.example.gov.cn",
            Some("10.0.0.5:8080"),
            Some("https://zwfw.example.gov.cn")
        ));
    }
}
