//! Every asset is compiled into the binary and served by it (ARCHITECTURE principle 8): halls run
//! on intranets with no internet, so there is no CDN and no external call.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

struct Asset {
    name: &'static str,
    mime: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $mime:literal) => {
        Asset {
            name: $name,
            mime: $mime,
            body: include_bytes!(concat!("../../../web/static/", $name)),
        }
    };
}

static ASSETS: &[Asset] = &[
    asset!("app.css", "text/css; charset=utf-8"),
    asset!("app.js", "text/javascript; charset=utf-8"),
    asset!("rating-pad.js", "text/javascript; charset=utf-8"),
    asset!("ledger.js", "text/javascript; charset=utf-8"),
    asset!("item-form.js", "text/javascript; charset=utf-8"),
    asset!("api-docs.js", "text/javascript; charset=utf-8"),
    asset!("favicon.svg", "image/svg+xml"),
    asset!("hall.js", "text/javascript; charset=utf-8"),
    asset!("hall.css", "text/css; charset=utf-8"),
    asset!("locker-sim.js", "text/javascript; charset=utf-8"),
    asset!("locker.css", "text/css; charset=utf-8"),
];

pub async fn serve(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|a| a.name == name) {
        Some(a) => (
            [
                (header::CONTENT_TYPE, a.mime),
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            a.body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

pub async fn favicon() -> Response {
    serve(Path("favicon.svg".to_string())).await
}
