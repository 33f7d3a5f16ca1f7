//! `/api/v1/auth/*`, `/api/v1/accounts*`, `/api/v1/tokens*`.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::{Deserialize, Deserializer};
use serde_json::json;
use yichuang_domain::Result;
use yichuang_domain::accounts::ProfileInput;

use super::manage::{self, AccountView, NewAccount, Operator, ProfilePatch};
use super::sessions;
use super::tokens::{self, NewTokenInput};
use super::{ClientAddress, RequestToken, secrets, session_cookie};
use crate::auth::{CurrentActor, MaybeActor};
use crate::error::ApiResult;
use crate::extract::{Json, Path};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/auth/login", post(login))
        .route("/api/v1/auth/logout", post(logout))
        .route("/api/v1/auth/me", get(me))
        .route("/api/v1/auth/password", post(change_password))
        .route("/api/v1/accounts", get(list_accounts).post(create_account))
        .route(
            "/api/v1/accounts/{username}",
            get(get_account).put(update_account),
        )
        .route(
            "/api/v1/accounts/{username}/reset-password",
            post(reset_password),
        )
        .route("/api/v1/tokens", get(list_tokens).post(create_token))
        .route("/api/v1/tokens/{id}", delete(revoke_token))
}

#[derive(Deserialize)]
struct LoginBody {
    username: String,
    password: String,
}

async fn login(
    State(st): State<AppState>,
    ClientAddress(address): ClientAddress,
    Json(b): Json<LoginBody>,
) -> ApiResult<Response> {
    let s = sessions::login(&st, &b.username, &b.password, &address).await?;
    let view = AccountView::of(&s.account)?;
    let mut r = Json(json!({"token": s.token, "account": view,
                            "password_change_required": s.weak_password}))
    .into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, session_cookie(Some(&s.token)));
    Ok(r)
}

async fn logout(
    State(st): State<AppState>,
    RequestToken(token): RequestToken,
    MaybeActor(actor): MaybeActor,
) -> ApiResult<Response> {
    sessions::logout(&st, token.as_deref(), actor.as_ref()).await?;
    let mut r = StatusCode::NO_CONTENT.into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, session_cookie(None));
    Ok(r)
}

async fn me(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    RequestToken(token): RequestToken,
) -> ApiResult<Response> {
    let row = manage::find_visible(&st.db, &actor, &actor.username).await?;
    let via = match token.as_deref().and_then(secrets::TokenKind::of) {
        Some(secrets::TokenKind::Api) => "api_token",
        _ => "session",
    };
    let mut v =
        serde_json::to_value(AccountView::of(&row)?).map_err(yichuang_domain::Error::internal)?;
    v["via"] = json!(via);
    Ok(Json(v).into_response())
}

#[derive(Deserialize)]
struct PasswordBody {
    current: String,
    new: String,
}

async fn change_password(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    RequestToken(token): RequestToken,
    ClientAddress(address): ClientAddress,
    Json(b): Json<PasswordBody>,
) -> ApiResult<StatusCode> {
    manage::change_own_password(
        &st.db,
        &actor,
        &b.current,
        &b.new,
        token.as_deref(),
        &address,
        st.now(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_accounts(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
) -> ApiResult<Response> {
    let rows = manage::list_visible(&st.db, &actor).await?;
    let accounts = rows
        .iter()
        .map(|(r, may)| {
            let mut v = serde_json::to_value(AccountView::of(r)?)
                .map_err(yichuang_domain::Error::internal)?;
            v["manageable"] = json!(may);
            Ok(v)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Json(json!({"total": accounts.len(), "accounts": accounts})).into_response())
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
struct CreateBody {
    username: String,
    display_name: String,
    role: String,
    #[serde(default)]
    department: Option<String>,
    #[serde(default)]
    hall: Option<String>,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default = "yes")]
    active: bool,
}

async fn create_account(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Json(b): Json<CreateBody>,
) -> ApiResult<Response> {
    let created = manage::create(
        &st.db,
        Operator::Staff(&actor),
        NewAccount {
            username: b.username,
            profile: ProfileInput {
                display_name: b.display_name,
                role: b.role,
                department: b.department,
                hall: b.hall,
                region: b.region,
                active: b.active,
            },
            password: b.password,
        },
        st.now(),
    )
    .await?;
    let mut v = serde_json::to_value(AccountView::of(&created.account)?)
        .map_err(yichuang_domain::Error::internal)?;
    if let Some(pw) = created.generated_password {
        v["initial_password"] = json!(pw);
    }
    let mut r = (StatusCode::CREATED, Json(v)).into_response();
    if let Ok(loc) =
        HeaderValue::from_str(&format!("/api/v1/accounts/{}", created.account.username))
    {
        r.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(r)
}

async fn get_account(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(username): Path<String>,
) -> ApiResult<Json<AccountView>> {
    let row = manage::find_visible(&st.db, &actor, &username).await?;
    Ok(Json(AccountView::of(&row)?))
}

/// Tells "absent" (keep) from `null` (clear) for the codes.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateBody {
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    role: Option<String>,
    #[serde(default, deserialize_with = "present")]
    department: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    hall: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    region: Option<Option<String>>,
    #[serde(default)]
    active: Option<bool>,
}

async fn update_account(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(username): Path<String>,
    Json(b): Json<UpdateBody>,
) -> ApiResult<Json<AccountView>> {
    let row = manage::update(
        &st.db,
        &actor,
        &username,
        ProfilePatch {
            display_name: b.display_name,
            role: b.role,
            department: b.department,
            hall: b.hall,
            region: b.region,
            active: b.active,
        },
        st.now(),
    )
    .await?;
    Ok(Json(AccountView::of(&row)?))
}

#[derive(Deserialize, Default)]
struct ResetBody {
    #[serde(default)]
    password: Option<String>,
}

async fn reset_password(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(username): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    // The body is optional: without one a password is generated.
    let b: ResetBody = if body.iter().all(u8::is_ascii_whitespace) {
        ResetBody::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| crate::error::malformed(None, format!("不是有效的 JSON：{e}")))?
    };
    let generated = manage::reset_password(
        &st.db,
        Operator::Staff(&actor),
        &username,
        b.password,
        st.now(),
    )
    .await?;
    let mut v = json!({"username": yichuang_domain::accounts::normalize_username(&username)});
    if let Some(pw) = generated {
        v["password"] = json!(pw);
    }
    Ok(Json(v).into_response())
}

#[derive(Deserialize)]
struct TokenBody {
    name: String,
    #[serde(default)]
    account: Option<String>,
    #[serde(default)]
    expires_at: Option<String>,
}

async fn create_token(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Json(b): Json<TokenBody>,
) -> ApiResult<Response> {
    let view = tokens::create(
        &st.db,
        &actor,
        NewTokenInput {
            name: b.name,
            account: b.account,
            expires_at: b.expires_at,
        },
        st.now(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

async fn list_tokens(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
) -> ApiResult<Response> {
    let list = tokens::list(&st.db, &actor).await?;
    Ok(Json(json!({"total": list.len(), "tokens": list})).into_response())
}

async fn revoke_token(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    tokens::revoke(&st.db, &actor, id, st.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
