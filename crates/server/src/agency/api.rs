//! `/api/v1/…help…` and `/api/v1/…mandates…`: help requests and their actions, the citizen's
//! status and rating by link, mandates with their signed document, the agents' figures.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde_json::json;
use yichuang_domain::Result;
use yichuang_store::agency as store;

use super::views::CitizenHelpView;
use super::{HelpAct, Names, NewHelp, NewMandateBody};
use crate::auth::{CurrentActor, MaybeActor};
use crate::error::ApiResult;
use crate::extract::{Json, Path};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/halls/{hall}/help-requests", post(create).get(list))
        .route("/api/v1/help-requests/{number}", get(show))
        .route("/api/v1/help-requests/{number}/actions", post(act))
        .route("/api/v1/help/{link}", get(citizen))
        .route("/api/v1/help/{link}/rating", post(rate))
        .route("/api/v1/mandates", post(create_mandate))
        .route("/api/v1/halls/{hall}/mandates", get(mandates))
        .route("/api/v1/mandates/{number}", get(show_mandate))
        .route(
            "/api/v1/mandates/{number}/document",
            put(document).layer(DefaultBodyLimit::max(
                yichuang_store::cases::vault::MAX_BYTES + 1,
            )),
        )
        .route("/api/v1/mandates/{number}/revoke", post(revoke))
        .route("/api/v1/halls/{hall}/agency-stats", get(stats))
}

async fn create(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    Path(hall): Path<String>,
    Json(b): Json<NewHelp>,
) -> ApiResult<Response> {
    let r = super::create(&st, actor.as_ref(), &hall, &b).await?;
    let names = Names::load(&st).await;
    let body = match &actor {
        Some(a) => json!(super::request_view(&st, &r, Some(a), &names).await?),
        // The public answer is the citizen's own page: their link, nobody's data.
        None => json!({"number": r.number(), "citizen_page": format!("/help/{}", r.link),
                       "help": CitizenHelpView::of(&r, &|u| names.staff(u))}),
    };
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

async fn list(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(hall): Path<String>,
) -> ApiResult<Response> {
    let rows = super::worklist(&st, &actor, &hall).await?;
    let names = Names::load(&st).await;
    let mut out = Vec::new();
    for r in &rows {
        out.push(super::request_view(&st, r, Some(&actor), &names).await?);
    }
    Ok(axum::Json(json!({ "help_requests": out })).into_response())
}

async fn show(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(number): Path<String>,
) -> ApiResult<Response> {
    let r = super::request_for(&st, &actor, &number).await?;
    let names = Names::load(&st).await;
    Ok(axum::Json(super::request_view(&st, &r, Some(&actor), &names).await?).into_response())
}

async fn act(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(number): Path<String>,
    Json(a): Json<HelpAct>,
) -> ApiResult<Response> {
    let r = super::request_for(&st, &actor, &number).await?;
    let r = super::act(&st, &actor, r.id, &a).await?;
    let names = Names::load(&st).await;
    Ok(axum::Json(super::request_view(&st, &r, Some(&actor), &names).await?).into_response())
}

async fn citizen_row(st: &AppState, link: &str) -> Result<store::RequestRow> {
    store::request_by_link(&st.db, link).await?.ok_or_else(|| {
        yichuang_domain::Error::not_found("help_request_not_found", "没有找到这条求助，请核对链接")
    })
}

async fn citizen(State(st): State<AppState>, Path(link): Path<String>) -> ApiResult<Response> {
    let r = citizen_row(&st, &link).await?;
    let names = Names::load(&st).await;
    Ok(axum::Json(CitizenHelpView::of(&r, &|u| names.staff(u))).into_response())
}

#[derive(Deserialize)]
pub struct RatingBody {
    pub stars: u8,
    #[serde(default)]
    pub comment: String,
}

async fn rate(
    State(st): State<AppState>,
    Path(link): Path<String>,
    Json(b): Json<RatingBody>,
) -> ApiResult<Response> {
    let r = super::rate(&st, &link, b.stars, &b.comment).await?;
    let names = Names::load(&st).await;
    Ok(axum::Json(CitizenHelpView::of(&r, &|u| names.staff(u))).into_response())
}

async fn create_mandate(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Json(b): Json<NewMandateBody>,
) -> ApiResult<Response> {
    let row = super::create_mandate(&st, &actor, &b, None, false).await?;
    let names = Names::load(&st).await;
    Ok((
        StatusCode::CREATED,
        axum::Json(super::mandate_view(&st, &row, &names)),
    )
        .into_response())
}

async fn mandates(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(hall): Path<String>,
) -> ApiResult<Response> {
    super::require_staff(&actor, &hall)?;
    let agent = (actor.role == yichuang_domain::Role::Agent).then_some(actor.username.as_str());
    let rows = store::mandates(&st.db, Some(&hall), agent).await?;
    let names = Names::load(&st).await;
    let out: Vec<_> = rows
        .iter()
        .map(|m| super::mandate_view(&st, m, &names))
        .collect();
    Ok(axum::Json(json!({ "mandates": out })).into_response())
}

async fn show_mandate(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(number): Path<String>,
) -> ApiResult<Response> {
    let row = super::mandate_for(&st, &actor, &number).await?;
    let names = Names::load(&st).await;
    Ok(axum::Json(super::mandate_view(&st, &row, &names)).into_response())
}

async fn document(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(number): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let row = super::attach_document(&st, &actor, &number, &body).await?;
    let names = Names::load(&st).await;
    Ok(axum::Json(super::mandate_view(&st, &row, &names)).into_response())
}

async fn revoke(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(number): Path<String>,
) -> ApiResult<Response> {
    let row = super::revoke(&st, &actor, &number).await?;
    let names = Names::load(&st).await;
    Ok(axum::Json(super::mandate_view(&st, &row, &names)).into_response())
}

async fn stats(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(hall): Path<String>,
) -> ApiResult<Response> {
    crate::hall::require_hall_manager(&actor, &hall)?;
    Ok(axum::Json(json!({ "agents": super::stats(&st, &hall).await? })).into_response())
}
