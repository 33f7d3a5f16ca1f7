//! `GET /metrics` (API-V1): Prometheus text format for operations — requests and their latency
//! per route, waiting tickets, cases and work orders by lateness, timers due, the outbox backlog
//! and the database pool. Staff tokens of admins and supervisors only.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use yichuang_domain::Role;

use crate::auth::CurrentActor;
use crate::error::ApiResult;
use crate::state::AppState;

/// Latency buckets in seconds.
const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

#[derive(Default)]
struct Series {
    count: u64,
    sum: f64,
    /// Cumulative counts per bucket of `BUCKETS`.
    buckets: [u64; BUCKETS.len()],
}

/// The request counters of this instance (each instance reports its own; Prometheus sums).
#[derive(Default)]
pub struct Requests {
    series: Mutex<BTreeMap<(String, String, u16), Series>>,
}

impl Requests {
    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut m = self.series.lock().unwrap_or_else(|e| e.into_inner());
        let s = m
            .entry((method.to_string(), route.to_string(), status))
            .or_default();
        s.count += 1;
        s.sum += seconds;
        for (i, b) in BUCKETS.iter().enumerate() {
            if seconds <= *b {
                s.buckets[i] += 1;
            }
        }
    }

    fn render(&self, out: &mut String) {
        let m = self.series.lock().unwrap_or_else(|e| e.into_inner());
        out.push_str(
            "# HELP yichuang_http_requests_total HTTP requests answered, by route and status.\n",
        );
        out.push_str("# TYPE yichuang_http_requests_total counter\n");
        for ((method, route, status), s) in m.iter() {
            let _ = writeln!(
                out,
                "yichuang_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {}",
                label(route),
                s.count
            );
        }
        out.push_str("# HELP yichuang_http_request_duration_seconds Time to answer, by route.\n");
        out.push_str("# TYPE yichuang_http_request_duration_seconds histogram\n");
        // One histogram per method and route, over all statuses.
        let mut merged: BTreeMap<(&str, &str), Series> = BTreeMap::new();
        for ((method, route, _), s) in m.iter() {
            let t = merged.entry((method, route)).or_default();
            t.count += s.count;
            t.sum += s.sum;
            for i in 0..BUCKETS.len() {
                t.buckets[i] += s.buckets[i];
            }
        }
        for ((method, route), s) in merged {
            let l = format!("method=\"{method}\",route=\"{}\"", label(route));
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "yichuang_http_request_duration_seconds_bucket{{{l},le=\"{b}\"}} {}",
                    s.buckets[i]
                );
            }
            let _ = writeln!(
                out,
                "yichuang_http_request_duration_seconds_bucket{{{l},le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(
                out,
                "yichuang_http_request_duration_seconds_sum{{{l}}} {}",
                s.sum
            );
            let _ = writeln!(
                out,
                "yichuang_http_request_duration_seconds_count{{{l}}} {}",
                s.count
            );
        }
    }
}

/// A label value with `\`, `"` and newlines escaped (Prometheus text format).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Counts every request by its route pattern (never the raw path: case numbers and tokens
/// would make a series per request, and a token in a label would leak).
pub async fn record(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method().as_str().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_string();
    let started = Instant::now();
    let response = next.run(req).await;
    st.requests.observe(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

pub async fn metrics(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
) -> ApiResult<Response> {
    actor.require_role(&[Role::Admin, Role::Supervisor], "查看运行指标")?;
    Ok(render(&st).await?)
}

/// The whole exposition.
pub async fn render(st: &AppState) -> yichuang_domain::Result<Response> {
    let now = st.now();
    let g =
        yichuang_store::metrics::gauges(&st.db, now, crate::cases::time::local(now).date()).await?;
    let mut out = String::new();
    st.requests.render(&mut out);
    let mut gauge = |name: &str, help: &str, rows: &[(String, i64)]| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for (labels, v) in rows {
            if labels.is_empty() {
                let _ = writeln!(out, "{name} {v}");
            } else {
                let _ = writeln!(out, "{name}{{{labels}}} {v}");
            }
        }
    };
    let waiting: Vec<(String, i64)> = g
        .waiting
        .iter()
        .map(|(h, n)| (format!("hall=\"{}\"", label(h)), *n))
        .collect();
    gauge(
        "yichuang_tickets_waiting",
        "Tickets waiting, by hall.",
        &waiting,
    );
    gauge(
        "yichuang_cases_open",
        "Cases whose clock runs, in time or overdue.",
        &[
            ("due=\"in_time\"".into(), g.cases_in_time),
            ("due=\"overdue\"".into(), g.cases_overdue),
        ],
    );
    gauge(
        "yichuang_work_orders_open",
        "Work orders not closed, and those late with their unit.",
        &[
            ("due=\"all\"".into(), g.work_orders_open),
            ("due=\"overdue\"".into(), g.work_orders_late),
        ],
    );
    gauge(
        "yichuang_timers_due",
        "Durable timers due and not fired.",
        &[(String::new(), g.timers_due)],
    );
    gauge(
        "yichuang_outbox_backlog",
        "Messages due and not yet sent.",
        &[(String::new(), g.outbox_backlog)],
    );
    let (size, idle) = yichuang_store::metrics::pool(&st.db);
    gauge(
        "yichuang_db_connections",
        "Database pool connections, open and idle.",
        &[
            ("state=\"open\"".into(), i64::from(size)),
            ("state=\"idle\"".into(), idle as i64),
        ],
    );
    if yichuang_store::statements::counting() {
        let name = "yichuang_sql_statements_total";
        let _ = writeln!(
            out,
            "# HELP {name} SQL statements run by this process (counted when YICHUANG_COUNT_STATEMENTS=1).\n# TYPE {name} counter\n{name} {}",
            yichuang_store::statements::total()
        );
    }
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response())
}
