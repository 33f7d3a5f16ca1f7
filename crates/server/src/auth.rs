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
        && let Some(t) = v.strip_prefix("Bearer ")
    {
        return Some(t.trim().to_string());
    }
    for v in parts.headers.get_all(axum::http::header::COOKIE) {
        let Ok(s) = v.to_str() else { continue };
        for pair in s.split(';') {
            if let Some((k, val)) = pair.trim().split_once('=')
                && k == SESSION_COOKIE
                && !val.is_empty()
            {
                return Some(val.to_string());
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

/// Runs a request made with an API token inside the token's scope, so every event it writes
/// records which token acted and who made it (`events::VIA_TOKEN`). The actor found here is
/// kept for the handler's extractors: no second lookup.
pub async fn token_scope(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let (mut parts, body) = req.into_parts();
    let token = request_token(&parts).filter(|t| {
        crate::accounts::secrets::TokenKind::of(t) == Some(crate::accounts::secrets::TokenKind::Api)
    });
    if let Some(token) = token {
        match crate::accounts::sessions::authenticate(&state, &token).await {
            Ok(Some(a)) => {
                let mut actor = a.actor;
                // A region-scoped supervisor's halls: without them it would see every hall.
                if let Err(e) = crate::supervision::resolve_scope(&state.db, &mut actor).await {
                    return Problem(e).into_response();
                }
                parts.extensions.insert(actor);
                let req = axum::extract::Request::from_parts(parts, body);
                return match a.via {
                    Some(via) => {
                        yichuang_store::events::VIA_TOKEN
                            .scope(via, next.run(req))
                            .await
                    }
                    None => next.run(req).await,
                };
            }
            Ok(None) => {}
            Err(e) => return Problem(e).into_response(),
        }
    }
    next.run(axum::extract::Request::from_parts(parts, body))
        .await
}
