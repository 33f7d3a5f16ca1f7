//! Open311 GeoReport v2 at `/open311/v2/` (API-V1): the centre's public categories as services,
//! work orders as service requests. JSON only; errors as `[{"code","description"}]`; an API
//! token made in the platform (`/api/v1/tokens`) is the `api_key` for POST.

use std::collections::HashMap;

use axum::Form;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use yichuang_domain::work_order::{Category, Source, Status};
use yichuang_domain::{Error, Kind};
use yichuang_store::from_micros;
use yichuang_store::work_orders::{self as store, Filter, Scope, WorkOrderRow};

use super::views::WorkOrderView;
use super::{NewOrder, Who};
use crate::extract::{Path, Query};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/open311/v2/services.json", get(services))
        .route("/open311/v2/services/{file}", get(service))
        .route(
            "/open311/v2/requests.json",
            get(requests).post(post_request),
        )
        .route("/open311/v2/requests/{file}", get(request))
        .route("/open311/v2/tokens/{file}", get(token))
}

/// GeoReport's error format: a list of `{code, description}` with the HTTP status as code.
fn error(status: StatusCode, description: impl Into<String>) -> Response {
    (
        status,
        axum::Json(json!([{"code": status.as_u16(), "description": description.into()}])),
    )
        .into_response()
}

fn from_platform(e: &Error) -> Response {
    let status = match e.kind {
        Kind::NotFound => StatusCode::NOT_FOUND,
        Kind::Unauthorized | Kind::Forbidden => StatusCode::FORBIDDEN,
        Kind::Invalid | Kind::Conflict => StatusCode::BAD_REQUEST,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let mut d = e.title.clone();
    for f in &e.fields {
        d.push_str(&format!("；{}：{}", f.field, f.message));
    }
    error(status, d)
}

/// `{id}.json` → `id`; any other format is not offered.
fn json_name(file: &str) -> Result<&str, Response> {
    file.strip_suffix(".json")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| error(StatusCode::NOT_FOUND, "only the JSON format is offered"))
}

#[derive(Serialize)]
struct Service {
    service_code: String,
    service_name: String,
    description: String,
    metadata: bool,
    #[serde(rename = "type")]
    kind: &'static str,
    keywords: String,
    group: String,
}

fn public(categories: &[Category]) -> impl Iterator<Item = &Category> {
    categories.iter().filter(|c| c.public)
}

async fn services(State(st): State<AppState>) -> Response {
    let s = match super::settings(&st.db).await {
        Ok(s) => s,
        Err(e) => return from_platform(&e),
    };
    let list: Vec<Service> = public(&s.categories)
        .map(|c| Service {
            service_code: c.code.clone(),
            service_name: c.name.clone(),
            description: c.description.clone(),
            metadata: false,
            kind: "realtime",
            keywords: String::new(),
            group: c
                .parent
                .as_deref()
                .and_then(|p| s.category(p))
                .map(|p| p.name.clone())
                .unwrap_or_default(),
        })
        .collect();
    axum::Json(list).into_response()
}

async fn service(State(st): State<AppState>, Path(file): Path<String>) -> Response {
    let code = match json_name(&file) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let s = match super::settings(&st.db).await {
        Ok(s) => s,
        Err(e) => return from_platform(&e),
    };
    match public(&s.categories).find(|c| c.code == code) {
        Some(c) => axum::Json(json!({"service_code": c.code, "attributes": []})).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            format!("service_code {code} not found"),
        ),
    }
}

#[derive(Serialize)]
struct ServiceRequest {
    service_request_id: String,
    status: &'static str,
    status_notes: String,
    service_name: String,
    service_code: String,
    description: String,
    agency_responsible: String,
    service_notice: String,
    requested_datetime: String,
    updated_datetime: String,
    expected_datetime: Option<String>,
    address: String,
    address_id: String,
    zipcode: String,
    lat: Option<f64>,
    long: Option<f64>,
    media_url: String,
}

/// W3C datetime with the hall's offset (GeoReport asks for ISO 8601).
fn w3c(t: DateTime<Utc>) -> String {
    t.with_timezone(&FixedOffset::east_opt(8 * 3600).expect("+08:00"))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

fn end_of(d: NaiveDate) -> String {
    w3c(crate::cases::time::utc(d.and_time(
        NaiveTime::from_hms_opt(17, 30, 0).expect("17:30"),
    )))
}

fn request_of(
    row: &WorkOrderRow,
    v: &WorkOrderView,
    names: &HashMap<String, String>,
) -> ServiceRequest {
    let notes = match v.status {
        Status::Answered | Status::Solved | Status::Unsolved => {
            v.answer.clone().unwrap_or_default()
        }
        Status::Declined => format!(
            "{}；请向{}反映",
            v.declined_reason.clone().unwrap_or_default(),
            v.refer_to.clone().unwrap_or_default()
        ),
        Status::Merged => format!("已并入 {}", v.merged_into.clone().unwrap_or_default()),
        _ => v.status_label.to_string(),
    };
    ServiceRequest {
        service_request_id: row.number.clone(),
        status: if v.open { "open" } else { "closed" },
        status_notes: notes,
        service_name: row
            .category
            .as_ref()
            .and_then(|c| names.get(c))
            .cloned()
            .unwrap_or_default(),
        service_code: row.category.clone().unwrap_or_default(),
        description: row.body.clone(),
        agency_responsible: v
            .lead_unit
            .as_ref()
            .map(|u| u.name.clone())
            .unwrap_or_default(),
        service_notice: String::new(),
        requested_datetime: w3c(from_micros(row.created_at)),
        updated_datetime: w3c(from_micros(row.updated_at)),
        expected_datetime: v.due_date.map(end_of),
        address: row.place.clone(),
        address_id: String::new(),
        zipcode: String::new(),
        lat: None,
        long: None,
        media_url: String::new(),
    }
}

async fn render(st: &AppState, rows: &[WorkOrderRow]) -> Response {
    let s = match super::settings(&st.db).await {
        Ok(s) => s,
        Err(e) => return from_platform(&e),
    };
    let names: HashMap<String, String> = s
        .categories
        .iter()
        .map(|c| (c.code.clone(), c.name.clone()))
        .collect();
    match super::api::views(st, rows).await {
        Ok(views) => axum::Json(
            rows.iter()
                .zip(views.iter())
                .map(|(r, v)| request_of(r, v, &names))
                .collect::<Vec<_>>(),
        )
        .into_response(),
        Err(e) => from_platform(&e),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RequestsQuery {
    service_request_id: Option<String>,
    service_code: Option<String>,
    start_date: Option<String>,
    end_date: Option<String>,
    status: Option<String>,
}

/// Only orders received through the public channels are listed: the others carry staff and
/// hotline matters that are not the public's.
fn is_public(row: &WorkOrderRow) -> bool {
    matches!(
        Source::parse(&row.source),
        Some(Source::Public | Source::Open311)
    )
}

async fn requests(State(st): State<AppState>, Query(q): Query<RequestsQuery>) -> Response {
    let date = |s: &Option<String>| -> Result<Option<NaiveDate>, Response> {
        match s.as_deref().filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => DateTime::parse_from_rfc3339(s)
                .map(|d| Some(d.date_naive()))
                .or_else(|_| NaiveDate::parse_from_str(s, "%Y-%m-%d").map(Some))
                .map_err(|_| {
                    error(
                        StatusCode::BAD_REQUEST,
                        "start_date/end_date must be W3C datetimes",
                    )
                }),
        }
    };
    let (start, end) = match (date(&q.start_date), date(&q.end_date)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let scope = match q.status.as_deref().filter(|s| !s.is_empty()) {
        None => Scope::All,
        Some(list) => {
            let (mut open, mut closed) = (false, false);
            for s in list.split(',') {
                match s.trim() {
                    "open" => open = true,
                    "closed" => closed = true,
                    _ => return error(StatusCode::BAD_REQUEST, "status must be open or closed"),
                }
            }
            match (open, closed) {
                (true, false) => Scope::Open,
                (false, true) => Scope::Closed,
                _ => Scope::All,
            }
        }
    };
    // GeoReport: service_request_id overrides the other filters, but a malformed one is still
    // refused rather than ignored.
    let mut rows = Vec::new();
    if let Some(ids) = q.service_request_id.as_deref().filter(|s| !s.is_empty()) {
        for id in ids.split(',').map(str::trim).take(50) {
            if let Ok(r) = store::by_number(&st.db, id).await
                && is_public(&r)
            {
                rows.push(r);
            }
        }
        return render(&st, &rows).await;
    }
    let found = match store::list(
        &st.db,
        &Filter {
            scope,
            public_only: true,
            category: q.service_code.clone().filter(|s| !s.is_empty()),
            limit: 1000,
            ..Filter::default()
        },
    )
    .await
    {
        Ok(r) => r,
        Err(e) => return from_platform(&e),
    };
    // GeoReport: the last 90 days by default, at most 1000 requests.
    let today = crate::cases::time::local(st.now()).date();
    let start = start.unwrap_or(today - chrono::Days::new(90));
    rows = found
        .into_iter()
        .filter(is_public)
        .filter(|r| {
            let on: NaiveDate = r.received_on.parse().unwrap_or(today);
            on >= start && end.is_none_or(|e| on <= e)
        })
        .collect();
    render(&st, &rows).await
}

async fn request(State(st): State<AppState>, Path(file): Path<String>) -> Response {
    let id = match json_name(&file) {
        Ok(c) => c,
        Err(r) => return r,
    };
    match store::by_number(&st.db, id).await {
        Ok(r) if is_public(&r) => render(&st, &[r]).await,
        _ => error(
            StatusCode::NOT_FOUND,
            format!("service_request_id {id} not found"),
        ),
    }
}

async fn token(State(st): State<AppState>, Path(file): Path<String>) -> Response {
    let t = match json_name(&file) {
        Ok(c) => c,
        Err(r) => return r,
    };
    match store::by_token(&st.db, t).await {
        Ok(Some(r)) => {
            axum::Json(json!([{"service_request_id": r.number, "token": t}])).into_response()
        }
        _ => error(StatusCode::NOT_FOUND, "token not found"),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PostBody {
    api_key: String,
    service_code: String,
    description: String,
    address_string: String,
    lat: Option<String>,
    long: Option<String>,
    first_name: String,
    last_name: String,
    phone: String,
}

async fn post_request(State(st): State<AppState>, Form(b): Form<PostBody>) -> Response {
    let actor = match crate::auth::resolve(&st, b.api_key.trim()).await {
        Ok(Some(a)) if !b.api_key.trim().is_empty() => a,
        _ => return error(StatusCode::FORBIDDEN, "api_key is missing or not valid"),
    };
    let s = match super::settings(&st.db).await {
        Ok(s) => s,
        Err(e) => return from_platform(&e),
    };
    if !public(&s.categories).any(|c| c.code == b.service_code) {
        return error(
            StatusCode::BAD_REQUEST,
            format!("service_code {} not found", b.service_code),
        );
    }
    let place = match (b.address_string.trim(), &b.lat, &b.long) {
        ("", Some(la), Some(lo)) => format!("{la},{lo}"),
        (a, _, _) => a.to_string(),
    };
    let n = NewOrder {
        source: Some(Source::Open311),
        requester_name: format!("{}{}", b.last_name.trim(), b.first_name.trim()),
        requester_phone: b.phone.clone(),
        place,
        text: b.description.clone(),
        category: Some(b.service_code.clone()),
        ..NewOrder::default()
    };
    let who = Who::System(format!("open311:{}", actor.username));
    match super::create(&st, &who, &n).await {
        Ok((row, _)) => (
            StatusCode::CREATED,
            axum::Json(
                json!([{"service_request_id": row.number, "token": row.token,
                                "service_notice": "已受理，办理结果将通过本接口和短信告知",
                                "account_id": null}]),
            ),
        )
            .into_response(),
        Err(e) => from_platform(&e),
    }
}
