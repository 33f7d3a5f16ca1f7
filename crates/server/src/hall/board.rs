//! The display board (issue 10 item 6): the hall's state from the server at any moment. The
//! page is rendered with the recent calls of the service day and the server's clock (the dev
//! clock when it is on) in the hall's zone; `GET /api/v1/halls/{hall}/board` answers the same
//! [`BoardState`], which the board fetches again to stay in step with the server's clock. A
//! recall updates the ticket's row rather than adding one.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use yichuang_store::events;
use yichuang_store::hall::{self as store, HallRow};

use super::hall_instant;
use super::pages::{QueueLine, queue_lines};
use super::service_date;
use super::setup::hall_view;
use crate::clock::{hall_time, hall_zone};
use crate::error::ApiResult;
use crate::extract::Path;
use crate::pages::{Layout, render};
use crate::state::AppState;

/// How many calls a board lists.
const CALLS_SHOWN: usize = 8;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/halls/{hall}/board", get(board_api))
}

pub fn page_routes() -> Router<AppState> {
    Router::new().route("/halls/{hall}/board", get(board_page))
}

/// One row of the board: the latest call of a ticket.
#[derive(Debug, Clone, Serialize)]
pub struct BoardCall {
    pub ticket_id: i64,
    pub number: String,
    pub window_id: Option<i64>,
    pub window: String,
    /// When it was (last) called, RFC 3339 in the hall's zone.
    pub at: String,
    /// The same as the board shows it: 15:10.
    pub time: String,
    pub recall: bool,
}

/// What a board shows, from the server.
#[derive(Debug, Clone, Serialize)]
pub struct BoardState {
    pub hall: String,
    pub name: String,
    /// The server's clock (the dev clock when on), RFC 3339 in the hall's zone.
    pub now: String,
    /// The same instant in milliseconds since the epoch, for the board's ticking clock.
    pub now_ms: i64,
    /// The same as the board shows it: 2026年12月4日 15:10:05.
    pub clock: String,
    pub notice: String,
    /// The latest call of each ticket called today, newest first.
    pub calls: Vec<BoardCall>,
    /// The live feed resumes after this event, so nothing falls between page and feed.
    pub last_event_id: i64,
}

/// The Chinese form of an instant in the hall's zone: 2026年12月4日 15:10:05.
pub fn clock_text(t: DateTime<Utc>) -> String {
    t.with_timezone(&hall_zone())
        .format("%Y年%-m月%-d日 %H:%M:%S")
        .to_string()
}

/// The hall-local minute of an instant: 15:10.
pub fn minute_text(t: DateTime<Utc>) -> String {
    t.with_timezone(&hall_zone()).format("%H:%M").to_string()
}

/// A call event as a board row.
pub fn call_of(at: DateTime<Utc>, kind: &str, p: &Value) -> Option<BoardCall> {
    Some(BoardCall {
        ticket_id: p["ticket"]["id"].as_i64()?,
        number: p["ticket"]["number"].as_str()?.to_string(),
        window_id: p["window"]["id"].as_i64(),
        window: p["window"]["name"].as_str().unwrap_or_default().to_string(),
        at: hall_time(at),
        time: minute_text(at),
        recall: kind == "ticket_recalled",
    })
}

pub async fn board_state(st: &AppState, hall: &HallRow) -> yichuang_domain::Result<BoardState> {
    // The feed's position first: a call committed after it reaches the board live.
    let last_event_id = events::last_id(&st.db).await?;
    let now = st.now();
    let day_start = hall_instant(service_date(now), chrono::NaiveTime::MIN);
    let rows = events::hall_calls_since(&st.db, &hall.code, day_start, 200).await?;
    let mut calls: Vec<BoardCall> = Vec::new();
    for r in rows.iter().filter(|r| r.id <= last_event_id) {
        let p: Value = serde_json::from_str(&r.payload).unwrap_or(Value::Null);
        let Some(c) = call_of(yichuang_store::from_micros(r.at), &r.kind, &p) else {
            continue;
        };
        if !calls.iter().any(|x| x.ticket_id == c.ticket_id) {
            calls.push(c);
        }
        if calls.len() == CALLS_SHOWN {
            break;
        }
    }
    Ok(BoardState {
        hall: hall.code.clone(),
        name: hall.name.clone(),
        now: hall_time(now),
        now_ms: now.timestamp_millis(),
        clock: clock_text(now),
        notice: hall.notice.clone(),
        calls,
        last_event_id,
    })
}

async fn board_api(State(st): State<AppState>, Path(code): Path<String>) -> ApiResult<Response> {
    let hall = store::hall(&st.db, &code).await?;
    Ok(axum::Json(board_state(&st, &hall).await?).into_response())
}

#[derive(Template)]
#[template(path = "hall_board.html")]
struct BoardPage {
    layout: Layout,
    board: BoardState,
    queues: Vec<QueueLine>,
}

async fn board_page(State(st): State<AppState>, Path(code): Path<String>) -> ApiResult<Response> {
    let hall = store::hall(&st.db, &code).await?;
    let v = hall_view(&st.db, &hall).await?;
    Ok(render(&BoardPage {
        layout: Layout::new(format!("{} · 叫号大屏", hall.name), None),
        board: board_state(&st, &hall).await?,
        queues: queue_lines(&v),
    }))
}
