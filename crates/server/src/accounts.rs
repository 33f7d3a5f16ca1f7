//! Staff accounts, sessions, API tokens and access.
//!
//! - Sign-in: `POST /api/v1/auth/login` gives a session token, also set as the `yc_session`
//!   cookie (HttpOnly, SameSite=Lax, Path=/). Any request may instead send
//!   `Authorization: Bearer <token>`. Sessions expire after `config.session_hours` without use.
//! - API tokens (`/api/v1/tokens`) are for devices and integrations.
//! - Only SHA-256 digests of tokens are stored; passwords as Argon2id PHC strings.
//! - Failed sign-ins are rows: five for one username (or twenty from one address) within
//!   15 minutes refuse further attempts for 15 minutes, across restarts and instances. The
//!   limits are settings (`auth.login_max_failures_per_user`,
//!   `auth.login_max_failures_per_address`, `auth.login_window_minutes`,
//!   `auth.login_lockout_minutes`).
//! - Scope: hall-bound roles (hall_manager, clerk, issuance, agent) need a hall code, approvers
//!   a department code; admins, supervisors and callback staff may have either or none (see
//!   `yichuang_domain::Role::needs_hall`).
//! - Pages of other areas protect themselves with [`require_page_actor`].

mod api;
pub mod manage;
mod pages;
pub mod secrets;
pub mod sessions;
pub mod tokens;

use std::net::{IpAddr, SocketAddr};

use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderValue;
use axum::http::request::Parts;
use yichuang_domain::{Actor, Error};

use crate::auth::SESSION_COOKIE;
use crate::state::AppState;

pub use pages::{FormErrors, Page, forbidden_page, render_form, require_page_actor, safe_next};

/// The JSON API of this area, merged into `crate::api::routes()`.
pub fn api_routes() -> Router<AppState> {
    api::routes()
}

/// The pages of this area, merged into `crate::pages::routes()`.
pub fn page_routes() -> Router<AppState> {
    pages::routes()
}

/// The signed-in actor behind a session or API token (None when unknown, expired, revoked, or
/// the account is deactivated). Called by the `CurrentActor` / `MaybeActor` extractors.
pub async fn actor_for_token(state: &AppState, token: &str) -> Result<Option<Actor>, Error> {
    let Some(mut actor) = sessions::authenticate(state, token).await?.map(|a| a.actor) else {
        return Ok(None);
    };
    crate::supervision::resolve_scope(&state.db, &mut actor).await?;
    Ok(Some(actor))
}

/// `Set-Cookie` for a new session, or (None) one that removes the cookie. No `Secure`: halls
/// often serve plain HTTP on an intranet, where a Secure cookie would never be sent back.
pub fn session_cookie(token: Option<&str>) -> HeaderValue {
    let v = match token {
        Some(t) => format!("{SESSION_COOKIE}={t}; Path=/; HttpOnly; SameSite=Lax"),
        None => format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
    };
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The address a request comes from, for login throttling: the TCP peer, unless the peer is
/// one of the proxies named in the setting `auth.trusted_proxies` (a JSON list of IP
/// addresses, empty by default). Only then is `X-Forwarded-For` believed: anyone can write that
/// header, and would so escape the limit, but behind a load balancer every client would
/// otherwise share the balancer's address, and twenty failures by anyone would lock out all.
pub struct ClientAddress(pub String);

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = crate::error::Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(peer) = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
        else {
            return Ok(ClientAddress("unknown".into()));
        };
        let trusted: Vec<IpAddr> = state
            .caches
            .setting(&state.db, "auth.trusted_proxies")
            .await?
            .and_then(|v| serde_json::from_value::<Vec<String>>(v).ok())
            .unwrap_or_default()
            .iter()
            .filter_map(|s| s.trim().parse().ok())
            .collect();
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(",");
        Ok(ClientAddress(
            client_ip(peer, &forwarded, &trusted).to_string(),
        ))
    }
}

/// Walks `X-Forwarded-For` from the nearest hop back while the hop is a trusted proxy: the first
/// address not vouched for by one of them is the client.
fn client_ip(peer: IpAddr, forwarded: &str, trusted: &[IpAddr]) -> IpAddr {
    let mut client = peer;
    let mut hops = forwarded
        .split(',')
        .rev()
        .map(|h| h.trim().parse::<IpAddr>());
    while trusted.contains(&client) {
        match hops.next() {
            Some(Ok(ip)) => client = ip,
            _ => break,
        }
    }
    client
}

/// The token a request carries (bearer or cookie), whether or not it is valid.
pub struct RequestToken(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for RequestToken {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(RequestToken(crate::auth::request_token(parts)))
    }
}

/// Appends an event of this area; `subject` is (type, id). Never a password or a token in
/// `payload`.
async fn record(
    tx: &mut yichuang_store::Tx,
    now: chrono::DateTime<chrono::Utc>,
    by: &str,
    kind: &str,
    (subject_type, subject_id): (&str, &str),
    payload: serde_json::Value,
) -> Result<(), Error> {
    let e = yichuang_store::events::NewEvent {
        actor: by,
        kind,
        subject_type,
        subject_id,
        payload,
    };
    yichuang_store::events::append(tx, now, e).await.map(|_| ())
}

/// Start-up: `YICHUANG_ADMIN_PASSWORD` makes sure the `admin` account exists with it.
pub async fn bootstrap(db: &yichuang_store::Db, config: &crate::Config) -> Result<(), Error> {
    if let Some(pw) = config.admin_password.as_deref() {
        manage::ensure_admin(db, pw, false, chrono::Utc::now()).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::client_ip;
    use std::net::IpAddr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn x_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy() {
        let xff = "203.0.113.9";
        assert_eq!(client_ip(ip("198.51.100.1"), xff, &[]), ip("198.51.100.1"));
        assert_eq!(
            client_ip(ip("198.51.100.1"), xff, &[ip("10.0.0.1")]),
            ip("198.51.100.1")
        );
        assert_eq!(client_ip(ip("10.0.0.1"), xff, &[ip("10.0.0.1")]), ip(xff));
    }

    #[test]
    fn a_forged_hop_before_the_trusted_proxies_is_not_believed() {
        let trusted = [ip("10.0.0.1"), ip("10.0.0.2")];
        // The client wrote "1.1.1.1" itself; 10.0.0.2 saw it connect from 203.0.113.9.
        let xff = "1.1.1.1, 203.0.113.9, 10.0.0.2";
        assert_eq!(client_ip(ip("10.0.0.1"), xff, &trusted), ip("203.0.113.9"));
        assert_eq!(
            client_ip(ip("10.0.0.1"), "garbage", &trusted),
            ip("10.0.0.1")
        );
    }
}
