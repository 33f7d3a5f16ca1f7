//! Counting the SQL statements this process runs, for the load tool and `/metrics`
//! (`yichuang_sql_statements_total`).
//!
//! sqlx reports every statement it executes as a `tracing` event with the target `sqlx::query`
//! (at debug level, so normally nothing formats or writes it). [`Counter`] is a layer that
//! counts those events; a process counts only when it installs the layer with [`Counter::layer`]
//! (the load tool always does, the server binary when `YICHUANG_COUNT_STATEMENTS=1`), so a
//! production server pays nothing for it. The count is per process: every server instance in it
//! and its background worker. With [`set_breakdown`] on, the counter also keeps a tally per
//! statement text (its first 90 characters) to show which statements dominate.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tracing::field::{Field, Visit};
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{FilterFn, Filtered};
use tracing_subscriber::layer::Context;

static TOTAL: AtomicU64 = AtomicU64::new(0);
static INSTALLED: AtomicBool = AtomicBool::new(false);
static BREAKDOWN: AtomicBool = AtomicBool::new(false);
static TOGETHER: AtomicU64 = AtomicU64::new(0);
/// Per statement text: how many ran, and the seconds sqlx timed them for (on SQLite, on the
/// connection's own thread: the database's work, without the hand-offs to and from it).
static BY_TEXT: Mutex<Option<HashMap<String, (u64, f64)>>> = Mutex::new(None);

const TARGET: &str = "sqlx::query";

/// Statements executed by this process since it started counting (0 when not counting).
pub fn total() -> u64 {
    TOTAL.load(Ordering::Relaxed)
}

/// Round trips to the database since this process started counting: statements sent together
/// ([`sent_together`]) make one, and those the writer's turn ran itself ([`ran_here`]) none.
pub fn round_trips() -> u64 {
    total() - TOGETHER.load(Ordering::Relaxed)
}

/// Notes statements sent to the database as one list (a transaction's deferred writes):
/// sqlx reports the list once, under its first statement, so the others are counted here, each
/// under its own text.
pub fn sent_together(texts: &[String]) {
    if !counting() || texts.len() < 2 {
        return;
    }
    let more = texts.len() as u64 - 1;
    TOTAL.fetch_add(more, Ordering::Relaxed);
    TOGETHER.fetch_add(more, Ordering::Relaxed);
    for t in &texts[1..] {
        tally(t, 0.0);
    }
}

/// Notes a statement the writer's turn ran on its own thread ([`crate::direct`]): sqlx did not
/// see it, and it cost no round trip.
pub(crate) fn ran_here(text: &str, since: std::time::Instant) {
    if !counting() {
        return;
    }
    TOTAL.fetch_add(1, Ordering::Relaxed);
    TOGETHER.fetch_add(1, Ordering::Relaxed);
    tally(text, since.elapsed().as_secs_f64());
}

/// Notes in the tally (not in the count: it is no statement) the writer's connection lent to
/// the turn's holder ([`crate::direct`]): one hand-off to the connection's thread.
pub(crate) fn lent_here(since: std::time::Instant) {
    if counting() {
        tally(
            "(the writer's connection lent to the turn)",
            since.elapsed().as_secs_f64(),
        );
    }
}

/// Adds one run of `text`, and the seconds it took, to the tally per statement text (when it is
/// kept, [`set_breakdown`]).
fn tally(text: &str, seconds: f64) {
    if !BREAKDOWN.load(Ordering::Relaxed) {
        return;
    }
    let mut m = BY_TEXT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(m) = m.as_mut() {
        let e = m.entry(key_of(text)).or_insert((0, 0.0));
        e.0 += 1;
        e.1 += seconds;
    }
}

/// Whether this process counts statements (the layer is installed).
pub fn counting() -> bool {
    INSTALLED.load(Ordering::Relaxed)
}

/// Keep (or stop keeping) a tally per statement text; turning it on clears the tally.
pub fn set_breakdown(on: bool) {
    let mut m = BY_TEXT.lock().unwrap_or_else(|e| e.into_inner());
    *m = on.then(HashMap::new);
    BREAKDOWN.store(on, Ordering::Relaxed);
}

/// One statement text's tally.
#[derive(Debug, Clone, PartialEq)]
pub struct Tally {
    pub text: String,
    pub count: u64,
    /// The time sqlx timed it for, in seconds. Statements sent together are timed as one,
    /// under the first of them.
    pub seconds: f64,
}

/// The tally per statement text, most frequent first.
pub fn breakdown() -> Vec<Tally> {
    let m = BY_TEXT.lock().unwrap_or_else(|e| e.into_inner());
    let mut v: Vec<Tally> = m
        .as_ref()
        .map(|m| {
            m.iter()
                .map(|(k, &(count, seconds))| Tally {
                    text: k.clone(),
                    count,
                    seconds,
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.text.cmp(&b.text)));
    v
}

/// The counting layer. Install it beside the process's other layers with its own filter
/// ([`Counter::layer`]), so the log's level filter does not hide sqlx's debug events from it.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counter;

type OnlyQueries = FilterFn<fn(&Metadata<'_>) -> bool>;

fn is_query(m: &Metadata<'_>) -> bool {
    m.target() == TARGET
}

impl Counter {
    /// The layer, filtered to sqlx's statement events.
    pub fn layer<S>() -> Filtered<Counter, OnlyQueries, S>
    where
        S: Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    {
        INSTALLED.store(true, Ordering::Relaxed);
        Counter.with_filter(FilterFn::new(is_query as fn(&Metadata<'_>) -> bool))
    }
}

#[derive(Default)]
struct Text {
    summary: String,
    statement: String,
    seconds: f64,
}

impl Visit for Text {
    fn record_f64(&mut self, field: &Field, value: f64) {
        if field.name() == "elapsed_secs" {
            self.seconds = value;
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "summary" => self.summary = value.to_string(),
            "db.statement" => self.statement = value.to_string(),
            _ => {}
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "summary" && self.summary.is_empty() {
            self.summary = format!("{value:?}");
        }
    }
}

impl<S: Subscriber> Layer<S> for Counter {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if event.metadata().target() != TARGET {
            return;
        }
        TOTAL.fetch_add(1, Ordering::Relaxed);
        if !BREAKDOWN.load(Ordering::Relaxed) {
            return;
        }
        let mut t = Text::default();
        event.record(&mut t);
        let full = if t.statement.trim().is_empty() {
            t.summary
        } else {
            t.statement
        };
        tally(&full, t.seconds);
    }
}

/// A statement's tally key: its first 90 characters, whitespace folded.
fn key_of(statement: &str) -> String {
    statement
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(90)
        .collect()
}
