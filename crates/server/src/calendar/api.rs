//! `/api/v1/calendar/…` and `/api/v1/halls/{hall}/office-hours`. Reads are public (the calendar
//! and a hall's hours are published information); writes need an admin (a hall manager may set
//! its own hall's hours) and append events.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use chrono::{Datelike, NaiveDate};
use serde::Deserialize;
use serde_json::{Value, json};
use yichuang_domain::calendar::{
    Counted, FIRST_YEAR, LAST_YEAR, LocalDay, OfficeHours, YearArrangement, in_span, valid_region,
    year_not_loaded,
};
use yichuang_domain::{Error, Kind, Problems, Role};
use yichuang_store::calendar as store;

use super::{check_region, current, day_json, hours_of, import};
use crate::auth::CurrentActor;
use crate::error::{ApiResult, Problem, malformed};
use crate::extract::{Json, Path, Query};
use crate::state::AppState;

/// The longest range `GET /calendar/days` lists at once (about three years).
pub const MAX_DAYS: i64 = 3 * 366;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/calendar/days", get(days))
        .route("/api/v1/calendar/add", get(add))
        .route("/api/v1/calendar/between", get(between))
        .route("/api/v1/calendar/years", get(years))
        .route("/api/v1/calendar/years/{year}", get(year).put(put_year))
        .route(
            "/api/v1/calendar/regions/{region}/days",
            get(region_days).post(post_region_day),
        )
        .route(
            "/api/v1/calendar/regions/{region}/days/{date}",
            delete(delete_region_day),
        )
        .route(
            "/api/v1/halls/{hall}/office-hours",
            get(office_hours).put(put_office_hours),
        )
}

#[derive(Deserialize)]
struct RangeQuery {
    from: Option<String>,
    to: Option<String>,
    days: Option<String>,
    region: Option<String>,
}

/// Reads a required `YYYY-MM-DD` query parameter.
fn date_param(v: &Option<String>, field: &str, p: &mut Problems) -> Option<NaiveDate> {
    match v.as_deref().map(str::trim) {
        None | Some("") => {
            p.add(field, "必须填写日期，格式如 2026-09-29");
            None
        }
        Some(s) => {
            let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
            if d.is_none() {
                p.add(field, format!("“{s}”不是有效日期，格式应为 2026-09-29"));
            }
            d
        }
    }
}

fn region_of(q: &RangeQuery) -> Option<&str> {
    q.region.as_deref().map(str::trim).filter(|r| !r.is_empty())
}

/// `GET /api/v1/calendar/days?from=&to=[&region=]` → `{"days":[{"date","kind","name"?,
/// "adjusted"?,"local"?,"unofficial"?}]}`: every date from `from` to `to` inclusive (at most
/// about three years); `unofficial` marks a year whose arrangement is not loaded.
async fn days(State(st): State<AppState>, Query(q): Query<RangeQuery>) -> ApiResult<Response> {
    let mut p = Problems::new();
    let from = date_param(&q.from, "from", &mut p);
    let to = date_param(&q.to, "to", &mut p);
    if let (Some(a), Some(b)) = (from, to) {
        p.check(b >= a, "to", "结束日期不能早于开始日期");
        p.check(
            (b - a).num_days() < MAX_DAYS,
            "to",
            "一次最多查询三年的日期，请缩小范围",
        );
    }
    p.finish()?;
    let (from, to) = (from.unwrap_or_default(), to.unwrap_or_default());
    let cal = current(&st, region_of(&q)).await?;
    let days: Vec<Value> = from
        .iter_days()
        .take_while(|d| *d <= to)
        .map(|d| day_json(&cal.day(d)))
        .collect();
    Ok(axum::Json(json!({"days": days})).into_response())
}

/// `GET /api/v1/calendar/add?from=&days=[&region=]` → `{"from","days","date"}`: the date that
/// ends the `days`th working day after `from` (R-FIRST-DAY). 422 `calendar_year_not_loaded` when
/// a year it needs is not loaded, `calendar_year_out_of_range` when no year can be (see
/// [`official`]).
async fn add(State(st): State<AppState>, Query(q): Query<RangeQuery>) -> ApiResult<Response> {
    let mut p = Problems::new();
    let from = date_param(&q.from, "from", &mut p);
    let n = match q.days.as_deref().map(str::trim).map(str::parse::<i64>) {
        Some(Ok(n)) if n.abs() <= 3650 => Some(n),
        _ => {
            p.add("days", "工作日数须为 -3650 至 3650 之间的整数");
            None
        }
    };
    p.finish()?;
    let (from, n) = (from.unwrap_or_default(), n.unwrap_or_default());
    let cal = current(&st, region_of(&q)).await?;
    let date = official(cal.add_working_days_counted(from, n), &[from])?;
    Ok(
        axum::Json(json!({"from": from.to_string(), "days": n, "date": date.to_string()}))
            .into_response(),
    )
}

/// `GET /api/v1/calendar/between?from=&to=[&region=]` → `{"from","to","working_days"}`: the
/// working days after `from` up to and including `to` (negative when `to` is earlier); refused
/// as `add` is when a year it counts over is not loaded.
async fn between(State(st): State<AppState>, Query(q): Query<RangeQuery>) -> ApiResult<Response> {
    let mut p = Problems::new();
    let from = date_param(&q.from, "from", &mut p);
    let to = date_param(&q.to, "to", &mut p);
    p.finish()?;
    let (from, to) = (from.unwrap_or_default(), to.unwrap_or_default());
    let cal = current(&st, region_of(&q)).await?;
    let n = official(cal.working_days_between_counted(from, to), &[from, to])?;
    Ok(
        axum::Json(json!({"from": from.to_string(), "to": to.to_string(), "working_days": n}))
            .into_response(),
    )
}

/// A count that needed a year nobody loaded is refused with 422: the caller asked about a year
/// the calendar cannot answer for, which is not a failure of the server (no 503 to retry, no
/// ERROR line in the log for every such query). A year outside the years an arrangement can be
/// loaded for (e.g. 1900 or 9999) says so instead of asking an admin to load it.
fn official<T>(c: Counted<T>, asked: &[NaiveDate]) -> Result<T, Problem> {
    let outside = asked.iter().map(|d| d.year()).find(|y| !in_span(*y));
    let Some(year) = outside.or(c.unofficial_year) else {
        return Ok(c.value);
    };
    let mut e = if in_span(year) {
        year_not_loaded(year)
    } else {
        Error::invalid(
            "calendar_year_out_of_range",
            format!(
                "{year}年超出工作日历的范围（{FIRST_YEAR}年至{LAST_YEAR}年），无法按工作日计算"
            ),
        )
        .field(
            "year",
            format!("只能计算{FIRST_YEAR}年至{LAST_YEAR}年之间的工作日"),
        )
    };
    e.kind = Kind::Invalid;
    Err(e.into())
}

fn year_json(r: &store::YearRecord) -> Value {
    let mut v = serde_json::to_value(&r.arrangement).unwrap_or_default();
    v["origin"] = r.origin.clone().into();
    v["updated_at"] = crate::clock::hall_time(r.updated_at).into();
    v["updated_by"] = r.updated_by.clone().into();
    v
}

/// `GET /api/v1/calendar/years` → `{"years":[{"year","notices":[{"title","number","published",
/// "note"?}],"holidays":[{"name","from","to"}],"workdays":[{"date","for"?}],"origin",
/// "updated_at","updated_by"}]}`: every loaded year, oldest first.
async fn years(State(st): State<AppState>) -> ApiResult<Response> {
    let years: Vec<Value> = store::list_years(&st.db)
        .await?
        .iter()
        .map(year_json)
        .collect();
    Ok(axum::Json(json!({"years": years})).into_response())
}

/// `GET /api/v1/calendar/years/{year}` → the year as in the list, plus `"toml"`: the import
/// format, to download, correct and upload again. 404 when the year is not loaded.
async fn year(State(st): State<AppState>, Path(year): Path<i32>) -> ApiResult<Response> {
    let rec = store::list_years(&st.db)
        .await?
        .into_iter()
        .find(|r| r.arrangement.year == year)
        .ok_or_else(|| {
            Error::not_found(
                "calendar_year_not_loaded",
                format!("{year}年的节假日安排尚未导入"),
            )
        })?;
    let mut v = year_json(&rec);
    v["toml"] = rec.arrangement.to_toml().into();
    Ok(axum::Json(v).into_response())
}

/// Reads an arrangement from a body: JSON when sent as `application/json`, else the TOML
/// import format.
pub fn arrangement_from_body(headers: &HeaderMap, body: &[u8]) -> Result<YearArrangement, Problem> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if json {
        let v: Value =
            serde_json::from_slice(body).map_err(|_| malformed(None, "不是有效的 JSON".into()))?;
        return Ok(YearArrangement::from_value(&v)?);
    }
    let text = std::str::from_utf8(body)
        .map_err(|_| malformed(None, "内容须为 UTF-8 编码的文字".into()))?;
    Ok(YearArrangement::from_toml(text)?)
}

/// `PUT /api/v1/calendar/years/{year}` (admin): loads or corrects a year. Body: the TOML of
/// `data/calendar/YYYY.toml`, or the same shape as JSON. → `{"year","created","changed_days":
/// [{"date","before","after"}]}`; invalid input → 422 with every wrong field, nothing changed.
async fn put_year(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(year): Path<i32>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    actor.require_role(&[Role::Admin], "导入或更正节假日安排")?;
    let y = arrangement_from_body(&headers, &body)?;
    if y.year != year {
        return Err(Error::validation(vec![])
            .field(
                "year",
                format!("内容中的年份（{}）与地址中的年份（{year}）不一致", y.year),
            )
            .into());
    }
    let done = import(&st.db, st.now(), &actor.event_name(), &y).await?;
    let changed: Vec<Value> = done
        .changes
        .iter()
        .map(|c| json!({"date": c.date.to_string(), "before": c.before, "after": c.after}))
        .collect();
    let status = if done.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        axum::Json(json!({"year": done.year, "created": done.created, "changed_days": changed})),
    )
        .into_response())
}

/// `GET /api/v1/calendar/regions/{region}/days` → `{"region","days":[{"region","date","kind",
/// "name"?}]}`: the region's own local days (not its ancestors').
async fn region_days(
    State(st): State<AppState>,
    Path(region): Path<String>,
) -> ApiResult<Response> {
    check_region(&region)?;
    let days = store::region_days(&st.db, Some(&region)).await?;
    Ok(axum::Json(json!({"region": region, "days": days})).into_response())
}

/// `POST /api/v1/calendar/regions/{region}/days` (admin) `{"date","kind":"holiday"|"workday",
/// "name"?}` → 201 (or 200 when it replaced the region's earlier rule for that date). Child
/// regions inherit it.
async fn post_region_day(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(region): Path<String>,
    Json(body): Json<Value>,
) -> ApiResult<Response> {
    actor.require_role(&[Role::Admin], "设置地方节假日")?;
    let day = LocalDay::from_value(&region, &body)?;
    let mut tx = st.db.begin().await?;
    let before = store::put_region_day(&mut tx, st.now(), &actor.event_name(), &day).await?;
    tx.commit().await?;
    let status = if before.is_some() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, axum::Json(json!(day))).into_response())
}

/// `DELETE /api/v1/calendar/regions/{region}/days/{date}` (admin) → 204; 404 when the region has
/// no rule for that date.
async fn delete_region_day(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path((region, date)): Path<(String, String)>,
) -> ApiResult<Response> {
    actor.require_role(&[Role::Admin], "删除地方节假日")?;
    check_region(&region)?;
    let mut p = Problems::new();
    let date = date_param(&Some(date), "date", &mut p);
    p.finish()?;
    let mut tx = st.db.begin().await?;
    store::delete_region_day(
        &mut tx,
        st.now(),
        &actor.event_name(),
        &region,
        date.unwrap_or_default(),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn hall_code(hall: &str) -> Result<(), Error> {
    if valid_region(hall) {
        Ok(())
    } else {
        Err(Error::validation(vec![])
            .field("hall", "大厅编码只能由字母、数字、-、_ 组成，最多32位"))
    }
}

/// `GET /api/v1/halls/{hall}/office-hours` → `{"hall","hours":{"workday":["09:00-12:00",…],
/// "extended":[…],"restday":[…],"holiday":[…]},"default":bool}` (R-HOURS; the default hours
/// until a hall sets its own).
async fn office_hours(State(st): State<AppState>, Path(hall): Path<String>) -> ApiResult<Response> {
    hall_code(&hall)?;
    let (hours, default) = hours_of(&st.db, &hall).await?;
    Ok(
        axum::Json(json!({"hall": hall, "hours": hours.to_value(), "default": default}))
            .into_response(),
    )
}

/// `PUT /api/v1/halls/{hall}/office-hours` (admin, or the hall's own hall manager) with the
/// `hours` object above → the stored hours.
async fn put_office_hours(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(hall): Path<String>,
    Json(body): Json<Value>,
) -> ApiResult<Response> {
    actor.require_role(&[Role::Admin, Role::HallManager], "设置办公时间")?;
    actor.require_hall(&hall, "设置")?;
    hall_code(&hall)?;
    let hours = OfficeHours::from_value(&body)?;
    let mut tx = st.db.begin().await?;
    store::put_office_hours(&mut tx, st.now(), &actor.event_name(), &hall, &hours).await?;
    tx.commit().await?;
    Ok(
        axum::Json(json!({"hall": hall, "hours": hours.to_value(), "default": false}))
            .into_response(),
    )
}
