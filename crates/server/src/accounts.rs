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
pub mod secrets;
pub mod sessions;
pub mod tokens;

use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderValue;
use axum::http::request::Parts;
use yichuang_domain::{Actor, Error};

use crate::auth::SESSION_COOKIE;
use crate::state::AppState;

/// The JSON API of this area, merged into `crate::api::routes()`.
pub fn api_routes() -> Router<AppState> {
    api::routes()
}

/// The signed-in actor behind a session or API token (None when unknown, expired, revoked, or
/// the account is deactivated). Called by the `CurrentActor` / `MaybeActor` extractors.
pub async fn actor_for_token(state: &AppState, token: &str) -> Result<Option<Actor>, Error> {
    Ok(sessions::authenticate(state, token).await?.map(|a| a.actor))
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

/// The address a request comes from, for login throttling: the TCP peer. A proxy's
/// `X-Forwarded-For` is not trusted (anyone can write it, and would so escape the limit).
pub struct ClientAddress(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(
            parts
                .extensions
                .get::<ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip().to_string())
                .unwrap_or_else(|| "unknown".into()),
        ))
    }
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
        manage::ensure_admin(db, pw, chrono::Utc::now()).await?;
    }
    Ok(())
}
