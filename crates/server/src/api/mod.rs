//! `/api/v1`: the JSON API. Each area adds its routes here; API-V1.md fixes the shapes that
//! devices and integrators depend on.

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use serde::Deserialize;
use serde_json::json;
use yichuang_domain::{Error, Role};

use crate::auth::MaybeActor;
use crate::clock::hall_time;
use crate::error::{ApiResult, Problem};
use crate::extract::Json;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/health", get(health))
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/dev/clock", put(set_clock).get(get_clock))
        .merge(crate::accounts::api_routes())
        .merge(crate::hall::routes())
        .merge(crate::catalogue::routes())
        .merge(crate::calendar::api::routes())
        .merge(crate::cases::routes())
        .merge(crate::ratings::routes())
        .merge(crate::work_orders::routes())
        .merge(crate::supervision::api::routes())
        .merge(crate::lockers::api::routes())
        .merge(crate::agency::api::routes())
        .route("/api/{*rest}", axum::routing::any(not_found))
}

async fn health(axum::extract::State(st): axum::extract::State<AppState>) -> Response {
    let db_ok = yichuang_store::timers::due_count(&st.db, st.now())
        .await
        .is_ok();
    let body = json!({
        "status": if db_ok { "ok" } else { "degraded" },
        "database": st.db.backend().name(),
        "version": env!("CARGO_PKG_VERSION"),
    });
    let status = if db_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

pub const OPENAPI: &str = include_str!("../../../../web/openapi.json");

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

#[derive(Deserialize)]
struct ClockBody {
    now: String,
}

/// Only with `--dev-clock`, otherwise the endpoint does not exist (404); and only for an
/// admin, since moving the clock fires every timer due before the new time.
async fn set_clock(
    axum::extract::State(st): axum::extract::State<AppState>,
    MaybeActor(actor): MaybeActor,
    body: Result<Json<ClockBody>, Problem>,
) -> ApiResult<Response> {
    if !st.clock.settable {
        return Err(no_dev_clock());
    }
    let actor = actor.ok_or_else(Error::unauthorized)?;
    actor.require_role(&[Role::Admin], "调整开发时钟")?;
    let Json(b) = body?;
    let t = chrono::DateTime::parse_from_rfc3339(&b.now).map_err(|_| {
        Error::validation(vec![]).field(
            "now",
            "时间格式应为 RFC 3339，例如 2026-10-09T09:00:00+08:00",
        )
    })?;
    st.clock.set(t.with_timezone(&chrono::Utc));
    tracing::warn!(now = %b.now, "dev clock moved");
    Ok(axum::Json(json!({"now": hall_time(st.now())})).into_response())
}

async fn get_clock(
    axum::extract::State(st): axum::extract::State<AppState>,
) -> ApiResult<Response> {
    if !st.clock.settable {
        return Err(no_dev_clock());
    }
    Ok(axum::Json(json!({"now": hall_time(st.now())})).into_response())
}

fn no_dev_clock() -> Problem {
    Problem(Error::not_found("not_found", "接口不存在"))
}

async fn not_found() -> Problem {
    Problem(Error::not_found("not_found", "接口不存在"))
}
