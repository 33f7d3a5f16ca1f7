//! Statistics for the hall manager: `GET /api/v1/halls/{hall}/stats?from=&to=` (service days,
//! hall-local, default today). Computed by `queue::stats` from the recorded intervals only.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{Value, json};
use yichuang_domain::queue::stats::{Report, TicketFacts, report};
use yichuang_domain::queue::{Channel, TicketStatus};
use yichuang_domain::{Actor, Error, Result, Role};
use yichuang_store::Db;
use yichuang_store::hall::{self as store, HallRow};

use super::service_date;
use crate::auth::CurrentActor;
use crate::error::ApiResult;
use crate::extract::{Path, Query};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/halls/{hall}/stats", get(stats))
}

#[derive(Deserialize, Default)]
pub struct Range {
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
}

fn parse_day(s: &Option<String>, field: &str, default: NaiveDate) -> Result<NaiveDate> {
    match s.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(default),
        Some(t) => NaiveDate::parse_from_str(t, "%Y-%m-%d").map_err(|_| {
            Error::validation(vec![]).field(field, "日期格式应为 YYYY-MM-DD，例如 2026-03-02")
        }),
    }
}

impl Range {
    pub fn days(&self, today: NaiveDate) -> Result<(NaiveDate, NaiveDate)> {
        let from = parse_day(&self.from, "from", today)?;
        let to = parse_day(&self.to, "to", if from > today { from } else { today })?;
        if to < from {
            return Err(Error::validation(vec![]).field("to", "结束日期不能早于开始日期"));
        }
        if (to - from).num_days() > 366 {
            return Err(Error::validation(vec![]).field("to", "统计范围不能超过一年"));
        }
        Ok((from, to))
    }
}

pub fn require_stats_reader(actor: &Actor, hall: &str) -> Result<()> {
    actor.require_role(
        &[Role::Admin, Role::HallManager, Role::Supervisor],
        "查看大厅统计",
    )?;
    actor.require_hall(hall, "查看")
}

/// The report of a hall over service days `from..=to`.
pub async fn hall_report(
    db: &Db,
    hall: &HallRow,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Report> {
    let tickets = store::tickets_between(db, hall.id, from, to).await?;
    let facts: Vec<TicketFacts> = tickets
        .iter()
        .filter_map(|t| {
            Some(TicketFacts {
                id: t.id,
                channel: Channel::parse(&t.channel)?,
                status: TicketStatus::parse(&t.status)?,
            })
        })
        .collect();
    let intervals: Vec<_> = store::intervals_between(db, hall.id, from, to)
        .await?
        .iter()
        .filter_map(|i| i.interval())
        .collect();
    Ok(report(&facts, &intervals))
}

/// The report with codes and names instead of row ids.
pub async fn report_json(db: &Db, hall: &HallRow, r: &Report) -> Result<Value> {
    let queues = store::queues(db, hall.id).await?;
    let windows = store::windows(db, hall.id).await?;
    let by_queue: Vec<Value> = r
        .by_queue
        .iter()
        .map(|(id, f)| {
            let q = queues.iter().find(|q| q.id == *id);
            json!({"queue": q.map(|q| &q.code), "name": q.map(|q| &q.name), "figures": f})
        })
        .collect();
    let by_window: Vec<Value> = r
        .by_window
        .iter()
        .map(|(id, f)| {
            let w = windows.iter().find(|w| w.id == *id);
            json!({"window": w.map(|w| &w.code), "name": w.map(|w| &w.name), "figures": f})
        })
        .collect();
    let by_channel: Vec<Value> = r
        .by_channel
        .iter()
        .map(|(c, f)| json!({"channel": c, "label": c.label(), "figures": f}))
        .collect();
    let ids: Vec<i64> = r.by_staff.keys().copied().collect();
    let names = yichuang_store::accounts::names(db, &ids).await?;
    let by_staff: Vec<Value> = r
        .by_staff
        .iter()
        .map(|(id, f)| {
            let a = names.iter().find(|n| n.0 == *id);
            json!({"staff": id, "username": a.map(|a| &a.1), "name": a.map(|a| &a.2), "figures": f})
        })
        .collect();
    Ok(json!({
        "total": r.total,
        "by_queue": by_queue,
        "by_channel": by_channel,
        "by_window": by_window,
        "by_staff": by_staff,
    }))
}

async fn stats(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(code): Path<String>,
    Query(range): Query<Range>,
) -> ApiResult<Response> {
    require_stats_reader(&actor, &code)?;
    let (from, to) = range.days(service_date(st.now()))?;
    let hall = store::hall(&st.db, &code).await?;
    let r = hall_report(&st.db, &hall, from, to).await?;
    let mut v = report_json(&st.db, &hall, &r).await?;
    v["hall"] = json!(code);
    v["from"] = json!(from.to_string());
    v["to"] = json!(to.to_string());
    Ok(axum::Json(v).into_response())
}
