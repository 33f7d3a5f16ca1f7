//! `/api/v1` for the catalogue. The API-V1 shapes (departments, items, the item list and one
//! item) are fixed; the rest is what editing, bundles, the notice and the exchange files need.
//! Reads are public (the catalogue is the public guide); writes need a catalogue editor.

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use yichuang_domain::catalogue::{
    Answers, Bundle, Department, Region, ServiceItem, one_time_notice,
};
use yichuang_domain::{Actor, Error, Result};
use yichuang_store::catalogue::{self as store, ItemQuery, ItemRecord, ItemStatus};

use super::{FileFormat, MAX_FILE_BYTES, export_file, import_file, view};
use crate::auth::CurrentActor;
use crate::error::ApiResult;
use crate::extract::{Json, Path, Query};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/regions", get(list_regions).post(create_region))
        .route(
            "/api/v1/departments",
            get(list_departments).post(create_department),
        )
        .route("/api/v1/items", get(list_items).post(create_item))
        .route("/api/v1/items/{code}", get(get_item).put(replace_item))
        .route("/api/v1/items/{code}/retire", post(retire_item))
        .route("/api/v1/items/{code}/reactivate", post(reactivate_item))
        .route("/api/v1/items/{code}/notice", get(notice))
        .route("/api/v1/bundles", get(list_bundles).post(create_bundle))
        .route(
            "/api/v1/bundles/{code}",
            get(get_bundle).put(replace_bundle),
        )
        .route("/api/v1/catalogue/export", get(export))
        .route(
            "/api/v1/catalogue/import",
            post(import).layer(DefaultBodyLimit::max(MAX_FILE_BYTES)),
        )
}

fn editor(actor: &Actor) -> Result<String> {
    actor.require_catalogue_editor()?;
    Ok(actor.event_name())
}

fn created(v: Value) -> (StatusCode, axum::Json<Value>) {
    (StatusCode::CREATED, axum::Json(v))
}

async fn list_regions(State(st): State<AppState>) -> ApiResult<Response> {
    let regions = store::regions(&st.db).await?;
    let list: Vec<Value> = regions.iter().map(view::region).collect();
    Ok(axum::Json(json!({ "regions": list })).into_response())
}

async fn create_region(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Json(r): Json<Region>,
) -> ApiResult<Response> {
    let who = editor(&actor)?;
    let mut tx = st.db.begin().await?;
    store::create_region(&mut tx, &r, &who, st.now()).await?;
    tx.commit().await?;
    Ok(created(view::region(&r)).into_response())
}

async fn list_departments(State(st): State<AppState>) -> ApiResult<Response> {
    let departments = store::departments(&st.db).await?;
    let list: Vec<Value> = departments.iter().map(view::department).collect();
    Ok(axum::Json(json!({ "departments": list })).into_response())
}

async fn create_department(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Json(d): Json<Department>,
) -> ApiResult<Response> {
    let who = editor(&actor)?;
    let mut tx = st.db.begin().await?;
    store::create_department(&mut tx, &d, &who, st.now()).await?;
    tx.commit().await?;
    Ok(created(view::department(&d)).into_response())
}

#[derive(Deserialize)]
struct ListParams {
    q: Option<String>,
    department: Option<String>,
    /// `active` (default), `retired` or `all`.
    status: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

pub const DEFAULT_PER_PAGE: i64 = 20;
pub const MAX_PER_PAGE: i64 = 100;

/// Page and page size from a request: page from 1; the size defaults to 20 and is capped at
/// 100 (a larger request gets 100, as the response's `per_page` says).
pub fn paging(page: Option<i64>, per_page: Option<i64>) -> Result<(i64, i64)> {
    let page = page.unwrap_or(1);
    let per_page = per_page.unwrap_or(DEFAULT_PER_PAGE);
    let mut e = Error::validation(vec![]);
    if page < 1 {
        e = e.field("page", "页码须从 1 开始");
    }
    if per_page < 1 {
        e = e.field("per_page", "每页条数须大于 0");
    }
    if e.fields.is_empty() {
        Ok((page, per_page.min(MAX_PER_PAGE)))
    } else {
        Err(e)
    }
}

fn status(s: Option<&str>) -> Result<ItemStatus> {
    match s.unwrap_or("active") {
        "active" | "" => Ok(ItemStatus::Active),
        "retired" => Ok(ItemStatus::Retired),
        "all" => Ok(ItemStatus::All),
        _ => Err(Error::validation(vec![]).field("status", "应为 active、retired 或 all")),
    }
}

async fn list_items(
    State(st): State<AppState>,
    Query(p): Query<ListParams>,
) -> ApiResult<Response> {
    crate::extract::not_blank("status", p.status.as_deref(), "active、retired、all")?;
    let (page, per_page) = paging(p.page, p.per_page)?;
    let query = ItemQuery {
        q: p.q,
        department: p.department,
        status: status(p.status.as_deref())?,
        // A page far past the end is an empty page, not an overflow.
        offset: (page - 1).saturating_mul(per_page),
        limit: per_page,
    };
    let (total, items) = store::list_items(&st.db, &query).await?;
    let items: Vec<Value> = items.iter().map(view::summary).collect();
    Ok(axum::Json(json!({
        "total": total,
        "page": page,
        "per_page": per_page,
        "items": items,
    }))
    .into_response())
}

/// An item with its department's name and its bundles, as every item endpoint answers.
async fn item_view(st: &AppState, r: &ItemRecord) -> Result<Value> {
    let department = store::department(&st.db, &r.item.department).await?;
    let bundles = store::bundles_of_item(&st.db, &r.item.code).await?;
    Ok(view::item(
        r,
        department.as_ref().map_or("", |d| d.name.as_str()),
        &bundles,
    ))
}

async fn load_item(st: &AppState, code: &str) -> Result<ItemRecord> {
    store::item(&st.db, code)
        .await?
        .ok_or_else(|| store::item_not_found(code))
}

async fn create_item(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Json(item): Json<ServiceItem>,
) -> ApiResult<Response> {
    let who = editor(&actor)?;
    let mut tx = st.db.begin().await?;
    let r = store::create_item(&mut tx, &item, &who, st.now()).await?;
    tx.commit().await?;
    Ok(created(item_view(&st, &r).await?).into_response())
}

async fn get_item(State(st): State<AppState>, Path(code): Path<String>) -> ApiResult<Response> {
    let r = load_item(&st, &code).await?;
    Ok(axum::Json(item_view(&st, &r).await?).into_response())
}

/// The body of a replace: the whole item and the version it was edited from.
#[derive(Deserialize)]
struct Replace<T> {
    version: Option<i64>,
    #[serde(flatten)]
    record: T,
}

fn required_version(v: Option<i64>) -> Result<i64> {
    v.ok_or_else(|| {
        Error::validation(vec![]).field("version", "请提交编辑时读取到的版本号 version")
    })
}

async fn replace_item(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(code): Path<String>,
    Json(body): Json<Replace<ServiceItem>>,
) -> ApiResult<Response> {
    let who = editor(&actor)?;
    let version = required_version(body.version)?;
    let mut tx = st.db.begin().await?;
    let r = store::replace_item(&mut tx, &code, &body.record, version, &who, st.now()).await?;
    tx.commit().await?;
    Ok(axum::Json(item_view(&st, &r).await?).into_response())
}

async fn set_active(st: &AppState, actor: &Actor, code: &str, active: bool) -> ApiResult<Response> {
    let who = editor(actor)?;
    let mut tx = st.db.begin().await?;
    let r = store::set_item_active(&mut tx, code, active, &who, st.now()).await?;
    tx.commit().await?;
    Ok(axum::Json(item_view(st, &r).await?).into_response())
}

async fn retire_item(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(code): Path<String>,
) -> ApiResult<Response> {
    set_active(&st, &actor, &code, false).await
}

async fn reactivate_item(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(code): Path<String>,
) -> ApiResult<Response> {
    set_active(&st, &actor, &code, true).await
}

/// Situation answers from a query string; an empty value means "not answered yet".
pub fn answers(query: HashMap<String, String>) -> Answers {
    query.into_iter().filter(|(_, v)| !v.is_empty()).collect()
}

pub fn retired(code: &str) -> Error {
    Error::conflict("item_retired", format!("事项 {code} 已停用，不再受理申请"))
}

/// The one-time notice (R-ACCEPT-5D) for the answers in the query: `?agent=yes&kind=person`.
async fn notice(
    State(st): State<AppState>,
    Path(code): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let r = load_item(&st, &code).await?;
    if !r.active {
        return Err(retired(&code).into());
    }
    let n = one_time_notice(&r.item, &answers(query))?;
    Ok(axum::Json(n).into_response())
}

async fn list_bundles(State(st): State<AppState>) -> ApiResult<Response> {
    let bundles = store::bundles(&st.db).await?;
    let list: Vec<Value> = bundles.iter().map(view::bundle).collect();
    Ok(axum::Json(json!({ "bundles": list })).into_response())
}

async fn create_bundle(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Json(b): Json<Bundle>,
) -> ApiResult<Response> {
    let who = editor(&actor)?;
    let mut tx = st.db.begin().await?;
    let r = store::create_bundle(&mut tx, &b, &who, st.now()).await?;
    tx.commit().await?;
    Ok(created(view::bundle(&r)).into_response())
}

async fn get_bundle(State(st): State<AppState>, Path(code): Path<String>) -> ApiResult<Response> {
    let b = store::bundle(&st.db, &code)
        .await?
        .ok_or_else(|| store::bundle_not_found(&code))?;
    Ok(axum::Json(view::bundle(&b)).into_response())
}

async fn replace_bundle(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(code): Path<String>,
    Json(body): Json<Replace<Bundle>>,
) -> ApiResult<Response> {
    let who = editor(&actor)?;
    let version = required_version(body.version)?;
    let mut tx = st.db.begin().await?;
    let r = store::replace_bundle(&mut tx, &code, &body.record, version, &who, st.now()).await?;
    tx.commit().await?;
    Ok(axum::Json(view::bundle(&r)).into_response())
}

#[derive(Deserialize)]
struct ExportParams {
    format: Option<String>,
}

/// The catalogue in force as a download (`format=json`, the default, or `xlsx`).
async fn export(State(st): State<AppState>, Query(p): Query<ExportParams>) -> ApiResult<Response> {
    let format = match p.format.as_deref() {
        None => FileFormat::Json,
        Some(f) => FileFormat::parse(f).ok_or_else(|| {
            Error::validation(vec![]).field("format", "导出格式应为 json 或 xlsx")
        })?,
    };
    let bytes = export_file(&st.db, format).await?;
    let date = st
        .now()
        .with_timezone(&crate::clock::hall_zone())
        .format("%Y%m%d");
    let disposition = format!(
        "attachment; filename=\"catalogue-{date}.{}\"",
        format.extension()
    );
    Ok((
        [
            (header::CONTENT_TYPE, format.mime().to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}

/// Imports an .xlsx or JSON body (recognised by its content), all or nothing.
async fn import(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    body: Bytes,
) -> ApiResult<Response> {
    let who = editor(&actor)?;
    let summary = import_file(&st.db, &body, &who, st.now()).await?;
    let mut v = serde_json::to_value(summary).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.insert("changed".into(), json!(summary.changed()));
    }
    Ok(axum::Json(v).into_response())
}
