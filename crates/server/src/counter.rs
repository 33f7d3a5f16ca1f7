//! The change counter's scope of every request (`yichuang_store::calendar::version`): what
//! rarely changes (settings, calendar, halls, credentials) is kept in this process against it.
//!
//! A request that writes takes the counter from this process's last read of it, and its write
//! checks it: on SQLite in the writer's turn at one read per group commit, on PostgreSQL in a
//! statement the write sends anyway (`calendar::guessing_scope`). When the counter had moved
//! (another process changed something kept), nothing of the request was written, and it runs
//! again here, whole, with the counter read: its credentials and every kept value it used are
//! looked at afresh. So its body is kept, which bounds the requests that may guess to small
//! bodies.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use yichuang_store::calendar::{guessing_scope, version_scope};

use crate::error::Problem;

/// The largest body a request that guesses the counter keeps for running again: forms and
/// JSON commands, not uploads.
const KEPT_BODY: usize = 64 * 1024;

pub async fn scope(req: Request, next: Next) -> Response {
    if !may_guess(&req) {
        return version_scope(next.run(req)).await;
    }
    let (parts, body) = req.into_parts();
    let body = match Bytes::from_request(Request::from_parts(parts.clone(), body), &()).await {
        Ok(b) => b,
        Err(rejected) => return Problem::from(rejected).into_response(),
    };
    let first = Request::from_parts(parts.clone(), Body::from(body.clone()));
    let (answer, moved) = guessing_scope(next.clone().run(first)).await;
    if !moved {
        return answer;
    }
    tracing::debug!("the change counter moved under the request: it runs again");
    version_scope(next.run(Request::from_parts(parts, Body::from(body)))).await
}

/// A write whose body is small enough to keep.
fn may_guess(req: &Request) -> bool {
    let writes = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let small = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .is_some_and(|n| n <= KEPT_BODY);
    writes && small
}
