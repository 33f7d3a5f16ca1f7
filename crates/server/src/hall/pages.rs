//! The hall's pages: the kiosk, the phone page of a ticket, the display board, the per-window
//! strip, the clerk's workstation and the hall manager's set-up and statistics. Live parts are
//! driven by `web/static/hall.js` over the hall's SSE feed; everything is served by the binary.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde_json::Value;
use yichuang_domain::queue::ticket::TicketStatus;
use yichuang_store::hall as store;

use super::setup::hall_view;
use super::stats::{Range, hall_report, report_json, require_stats_reader};
use super::tickets::ticket_view;
use super::{HallSettings, service_date};
use crate::auth::MaybeActor;
use crate::error::ApiResult;
use crate::extract::{Path, Query};
use crate::pages::{Layout, render};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/halls/{hall}/kiosk", get(kiosk))
        .route("/halls/{hall}/stats", get(stats))
        .route("/t/{link}", get(phone))
        .route("/t/{link}/qr.svg", get(qr))
        .route("/windows/{id}/strip", get(strip))
        .route("/windows/{id}/desk", get(desk))
}

/// A queue as the pages list it.
pub struct QueueLine {
    pub code: String,
    pub name: String,
    pub prefix: String,
    pub waiting: i64,
}

pub fn queue_lines(hall: &Value) -> Vec<QueueLine> {
    hall["queues"]
        .as_array()
        .map(|qs| {
            qs.iter()
                .map(|q| QueueLine {
                    code: q["code"].as_str().unwrap_or_default().to_string(),
                    name: q["name"].as_str().unwrap_or_default().to_string(),
                    prefix: q["prefix"].as_str().unwrap_or_default().to_string(),
                    waiting: q["waiting"].as_i64().unwrap_or(0),
                })
                .collect()
        })
        .unwrap_or_default()
}

#[derive(Template)]
#[template(path = "hall_kiosk.html")]
struct KioskPage {
    layout: Layout,
    hall: String,
    name: String,
    queues: Vec<QueueLine>,
    /// Seconds of no touch before the kiosk returns to its start (a hall setting).
    reset_seconds: u32,
    /// From this age a person with an ID number is served first (a hall setting).
    elderly_age: u32,
}

async fn kiosk(State(st): State<AppState>, Path(code): Path<String>) -> ApiResult<Response> {
    let hall = store::hall(&st.db, &code).await?;
    let v = hall_view(&st.db, &hall).await?;
    let settings = HallSettings::of(&hall)?;
    Ok(render(&KioskPage {
        layout: Layout::new(format!("{} · 自助取号", hall.name), None),
        reset_seconds: settings.kiosk_reset_seconds,
        elderly_age: settings.policy.elderly_age,
        hall: hall.code,
        name: hall.name,
        queues: queue_lines(&v),
    }))
}

#[derive(Template)]
#[template(path = "hall_phone.html")]
struct PhonePage {
    layout: Layout,
    hall: String,
    hall_name: String,
    link: String,
    number: String,
    queue_name: String,
    status: String,
    status_label: String,
    /// 前面还有 2 人，预计等候 10 分钟 — or what to do when no window is open (waiting only).
    wait_line: String,
    /// 优先 · 老年人, when the ticket is served first.
    priority_mark: String,
    window: String,
    holder: String,
}

/// A ticket's phone page, by its random link only (issue 10 item 8): the consecutive id of
/// an old `/t/{id}` finds nothing.
async fn phone(State(st): State<AppState>, Path(link): Path<String>) -> ApiResult<Response> {
    let row = store::ticket_by_link(&st.db, &link).await?;
    let hall = store::hall_by_id(&st.db, row.hall_id).await?;
    let settings = HallSettings::of(&hall)?;
    let w = match row.window_id {
        Some(w) => Some(store::window(&st.db, w).await?),
        None => None,
    };
    let v = ticket_view(&st.db, &row, &settings, w.as_ref()).await?;
    let text = |k: &str| match &v[k] {
        Value::Null => "—".to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Ok(render(&PhonePage {
        layout: Layout::new(format!("{} 号 · {}", row.number, hall.name), None),
        hall: hall.code,
        hall_name: hall.name,
        link,
        number: row.number.clone(),
        queue_name: row.queue_name.clone(),
        status: row.status.clone(),
        status_label: text("status_label"),
        wait_line: if TicketStatus::parse(&row.status) == Some(TicketStatus::Waiting) {
            wait_text(
                v["ahead"].as_i64().unwrap_or(0),
                v["estimated_wait_minutes"].as_i64(),
            )
        } else {
            String::new()
        },
        priority_mark: v["priority_mark"].as_str().unwrap_or_default().to_string(),
        window: w.map(|w| w.name).unwrap_or_default(),
        holder: row.holder.clone().unwrap_or_default(),
    }))
}

/// Waiting, in plain words (hall.js says the same): the minutes, or — no window open — what
/// to do.
pub fn wait_text(ahead: i64, minutes: Option<i64>) -> String {
    match minutes {
        Some(m) => format!("前面还有 {ahead} 人，预计等候 {m} 分钟"),
        None => format!("前面还有 {ahead} 人。窗口暂未开放，请稍候，开放后按顺序叫号，请留意大屏"),
    }
}

#[derive(Template)]
#[template(path = "hall_strip.html")]
struct StripPage {
    layout: Layout,
    hall: String,
    window_id: i64,
    name: String,
    current: String,
}

async fn strip(State(st): State<AppState>, Path(id): Path<i64>) -> ApiResult<Response> {
    let w = store::window(&st.db, id).await?;
    let current = store::tickets_at_window(&st.db, id)
        .await?
        .into_iter()
        .rev()
        .find(|t| t.status != "parked")
        .map(|t| t.number)
        .unwrap_or_default();
    Ok(render(&StripPage {
        layout: Layout::new(format!("{} 窗口条屏", w.code), None),
        hall: w.hall_code,
        window_id: id,
        name: w.name,
        current,
    }))
}

#[derive(Template)]
#[template(path = "hall_desk.html")]
struct DeskPage {
    layout: Layout,
    hall: String,
    window_id: i64,
    name: String,
    status: String,
    staff: String,
    queues: Vec<QueueLine>,
    served_today: usize,
    no_shows_today: usize,
}

fn login_first(path: &str) -> Response {
    Redirect::to(&format!("/login?next={path}")).into_response()
}

async fn desk(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    let Some(actor) = actor else {
        return Ok(login_first(&format!("/windows/{id}/desk")));
    };
    let w = store::window(&st.db, id).await?;
    actor.require_hall(&w.hall_code, "使用")?;
    let hall = store::hall(&st.db, &w.hall_code).await?;
    let today = service_date(st.now());
    let r = hall_report(&st.db, &hall, today, today).await?;
    let mine = r.by_window.get(&id);
    let v = hall_view(&st.db, &hall).await?;
    let status = w.session().label().to_string();
    Ok(render(&DeskPage {
        layout: Layout::new(format!("{} · 窗口工作台", w.name), Some(actor)),
        hall: w.hall_code,
        window_id: id,
        status,
        name: w.name,
        staff: w.staff_name.unwrap_or_default(),
        queues: queue_lines(&v),
        served_today: mine.map_or(0, |f| f.finished),
        no_shows_today: mine.map_or(0, |f| f.no_shows),
    }))
}

/// One line of the statistics table.
pub struct StatLine {
    pub label: String,
    pub tickets: i64,
    pub finished: i64,
    pub no_shows: i64,
    pub wait_mean: String,
    pub wait_p50: String,
    pub wait_p90: String,
    pub service_mean: String,
    pub service_p90: String,
}

fn stat_lines(list: &Value, key: &str) -> Vec<StatLine> {
    let m = |f: &Value, part: &str, k: &str| {
        f[part][k]
            .as_f64()
            .map_or("—".to_string(), |x| format!("{x:.1}"))
    };
    list.as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|row| {
            let f = &row["figures"];
            let name = row
                .get("name")
                .or_else(|| row.get("label"))
                .and_then(|v| v.as_str());
            let label = match (name, row.get("username").and_then(|v| v.as_str())) {
                (Some(n), Some(u)) => format!("{n}（{u}）"),
                (Some(n), None) => n.to_string(),
                // An account since deleted: its id is all there is.
                (None, _) => format!("编号 {}", row[key]),
            };
            StatLine {
                label,
                tickets: f["tickets"].as_i64().unwrap_or(0),
                finished: f["finished"].as_i64().unwrap_or(0),
                no_shows: f["no_shows"].as_i64().unwrap_or(0),
                wait_mean: m(f, "waiting", "mean"),
                wait_p50: m(f, "waiting", "p50"),
                wait_p90: m(f, "waiting", "p90"),
                service_mean: m(f, "service", "mean"),
                service_p90: m(f, "service", "p90"),
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "hall_stats.html")]
struct StatsPage {
    layout: Layout,
    name: String,
    from: String,
    to: String,
    sections: Vec<(String, Vec<StatLine>)>,
}

async fn stats(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    Path(code): Path<String>,
    Query(range): Query<Range>,
) -> ApiResult<Response> {
    let Some(a) = &actor else {
        return Ok(login_first(&format!("/halls/{code}/stats")));
    };
    require_stats_reader(a, &code)?;
    let (from, to) = range.days(service_date(st.now()))?;
    let hall = store::hall(&st.db, &code).await?;
    let r = hall_report(&st.db, &hall, from, to).await?;
    let v = report_json(&st.db, &hall, &r).await?;
    let total = serde_json::json!([{"name": "全大厅", "figures": v["total"]}]);
    let sections = vec![
        ("合计".to_string(), stat_lines(&total, "name")),
        ("按队列".to_string(), stat_lines(&v["by_queue"], "queue")),
        (
            "按取号渠道".to_string(),
            stat_lines(&v["by_channel"], "channel"),
        ),
        ("按窗口".to_string(), stat_lines(&v["by_window"], "window")),
        (
            "按工作人员".to_string(),
            stat_lines(&v["by_staff"], "staff"),
        ),
    ];
    Ok(render(&StatsPage {
        layout: Layout::new(format!("{} · 排队统计", hall.name), actor),
        name: hall.name,
        from: from.to_string(),
        to: to.to_string(),
        sections,
    }))
}

/// The QR code of a ticket's phone page, as SVG, drawn on the server (no external service).
/// The link is relative to the address the kiosk itself was reached at.
async fn qr(
    State(st): State<AppState>,
    Path(link): Path<String>,
    headers: axum::http::HeaderMap,
) -> ApiResult<Response> {
    store::ticket_by_link(&st.db, &link).await?;
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let svg = qr_svg(&format!("http://{host}/t/{link}"))?;
    Ok(([(axum::http::header::CONTENT_TYPE, "image/svg+xml")], svg).into_response())
}

pub fn qr_svg(text: &str) -> yichuang_domain::Result<String> {
    crate::qr::svg(text, 160, "手机查看排队进度")
}
