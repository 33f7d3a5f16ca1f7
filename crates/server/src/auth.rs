//! Who is asking: the actor behind a request, from `Authorization: Bearer <token>` or the
//! session cookie. Sessions and tokens live in the database, so any instance serves any user.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use yichuang_domain::{Actor, Error};

use crate::error::Problem;
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "yc_session";

/// The token a request carries, if any: the bearer token first, then the session cookie.
pub fn request_token(parts: &Parts) -> Option<String> {
    if let Some(v) = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        if let Some(t) = v.strip_prefix("Bearer ") {
            return Some(t.trim().to_string());
        }
    }
    for v in parts.headers.get_all(axum::http::header::COOKIE) {
        let Ok(s) = v.to_str() else { continue };
        for pair in s.split(';') {
            if let Some((k, val)) = pair.trim().split_once('=') {
                if k == SESSION_COOKIE && !val.is_empty() {
                    return Some(val.to_string());
                }
            }
        }
    }
    None
}

/// Resolves a token to the signed-in actor (None when unknown or expired).
pub async fn resolve(state: &AppState, token: &str) -> Result<Option<Actor>, Error> {
    crate::accounts::actor_for_token(state, token).await
}

/// A signed-in actor; 401 problem when there is none.
pub struct CurrentActor(pub Actor);

impl FromRequestParts<AppState> for CurrentActor {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match MaybeActor::from_request_parts(parts, state).await?.0 {
            Some(a) => Ok(CurrentActor(a)),
            None => Err(Problem(Error::unauthorized())),
        }
    }
}

/// The actor if signed in: for pages that look different to staff, and anonymous endpoints.
pub struct MaybeActor(pub Option<Actor>);

impl FromRequestParts<AppState> for MaybeActor {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(a) = parts.extensions.get::<Actor>() {
            return Ok(MaybeActor(Some(a.clone())));
        }
        let Some(token) = request_token(parts) else {
            return Ok(MaybeActor(None));
        };
        let actor = resolve(state, &token).await?;
        if let Some(a) = &actor {
            parts.extensions.insert(a.clone());
        }
        Ok(MaybeActor(actor))
    }
}
