//! The live feed of a hall: `GET /api/v1/halls/{hall}/events` (server-sent events).
//!
//! The event log is the source: every SSE message carries `id:` = the event-log id, so a board
//! that reconnects with `Last-Event-ID` gets the hall's events after it from the database, then
//! live ones, with none twice and none missing.
//!
//! Live delivery: one fetcher task per instance reads new hall events from the log when woken
//! and broadcasts them to the instance's clients (`tokio::sync::broadcast`). It is woken by the
//! handlers of this instance after each commit, and on PostgreSQL by `LISTEN
//! yichuang_hall_events`: the same wake-up has an announcer task `NOTIFY` the other instances
//! (one notification for however many commits came meanwhile, sent outside the writing
//! transactions, which PostgreSQL would otherwise make commit one at a time), so a call made on
//! one instance reaches boards connected to another; a one-second tick covers a lost
//! notification.
//!
//! On PostgreSQL ids are handed out at insert, not at commit, so an event may become visible
//! after one with a higher id. The fetcher therefore looks back `LOOKBACK` ids and remembers
//! what it sent; clients do the same, so such an event is delivered late rather than lost.

use std::collections::{BTreeSet, HashMap};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use tokio::sync::{Notify, broadcast, mpsc};
use yichuang_store::events::{self, HallEventRow};
use yichuang_store::{Db, hall as store};

use crate::error::ApiResult;
use crate::extract::{Path, Query};
use crate::state::AppState;

const LOOKBACK: i64 = 256;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/halls/{hall}/events", get(stream))
}

/// The instance's side of the feed: a broadcast of new hall events and the bell that wakes
/// the fetcher.
#[derive(Clone)]
pub struct Hub {
    tx: broadcast::Sender<Arc<HallEventRow>>,
    bell: Arc<Notify>,
    /// Rung with the bell: the announcer tells the other instances (PostgreSQL).
    announce: Arc<Notify>,
    /// This instance's name in its announcements, so its own listener passes over them.
    instance: Arc<str>,
    /// Set when the server shuts down: open streams end so a graceful shutdown completes.
    closing: tokio::sync::watch::Sender<bool>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub::new()
    }
}

impl Hub {
    pub fn new() -> Hub {
        let (tx, _) = broadcast::channel(4096);
        Hub {
            tx,
            bell: Arc::new(Notify::new()),
            announce: Arc::new(Notify::new()),
            instance: crate::ratings::new_token()
                .unwrap_or_else(|_| format!("instance-{}", std::process::id()))
                .into(),
            closing: tokio::sync::watch::channel(false).0,
        }
    }

    /// Ends every open stream of this instance (the server is stopping).
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Called after a commit that wrote hall events.
    pub fn wake(&self) {
        self.bell.notify_one();
        self.announce.notify_one();
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Arc<HallEventRow>> {
        self.tx.subscribe()
    }

    /// Turns true when the server stops: long-lived streams end on it.
    pub(crate) fn closing(&self) -> tokio::sync::watch::Receiver<bool> {
        self.closing.subscribe()
    }

    /// Starts the fetcher (and on PostgreSQL the listener and the announcer); the handles stop
    /// them.
    pub fn spawn(&self, db: Db) -> Vec<tokio::task::JoinHandle<()>> {
        let mut tasks = vec![];
        if let Db::Postgres(_) = &db {
            let (db_, bell, instance) = (db.clone(), self.bell.clone(), self.instance.clone());
            tasks.push(tokio::spawn(async move {
                events::listen_hall_events(&db_, &instance, || bell.notify_one()).await
            }));
            let (db_, announce, instance) =
                (db.clone(), self.announce.clone(), self.instance.clone());
            tasks.push(tokio::spawn(async move {
                loop {
                    // Wake-ups while a notification is on its way make one more, not one each.
                    announce.notified().await;
                    if let Err(e) = events::announce_hall_events(&db_, &instance).await {
                        tracing::error!(error = %e, "hall feed: announcing to other instances");
                    }
                }
            }));
        }
        let hub = self.clone();
        tasks.push(tokio::spawn(async move { hub.fetch(db).await }));
        tasks
    }

    async fn fetch(self, db: Db) {
        let mut cursor = loop {
            match events::last_id(&db).await {
                Ok(id) => break id,
                Err(e) => {
                    tracing::error!(error = %e, "hall feed: reading the event log");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        };
        let mut seen = Seen::default();
        loop {
            tokio::select! {
                _ = self.bell.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
            loop {
                let read =
                    events::hall_events_new_to(&db, cursor, LOOKBACK, |id| seen.is_new(id), 1000);
                let rows = match read.await {
                    Ok(r) => r,
                    Err(e) => {
                        tracing::error!(error = %e, "hall feed: reading the event log");
                        break;
                    }
                };
                let full = rows.len() == 1000;
                for r in rows {
                    if seen.first_time(r.id) {
                        cursor = cursor.max(r.id);
                        let _ = self.tx.send(Arc::new(r));
                    }
                }
                if !full {
                    break;
                }
            }
        }
    }
}

/// Ids already delivered, down to `LOOKBACK` below the highest.
#[derive(Default)]
struct Seen {
    ids: BTreeSet<i64>,
    high: i64,
}

impl Seen {
    /// Whether `id` would be delivered now ([`Seen::first_time`] without noting it).
    fn is_new(&self, id: i64) -> bool {
        id > self.high - LOOKBACK && !self.ids.contains(&id)
    }

    fn first_time(&mut self, id: i64) -> bool {
        if !self.is_new(id) || !self.ids.insert(id) {
            return false;
        }
        self.high = self.high.max(id);
        let floor = self.high - LOOKBACK;
        while self.ids.first().is_some_and(|f| *f <= floor) {
            self.ids.pop_first();
        }
        true
    }
}

/// The SSE messages of one event row: none for events boards do not show. Only the last
/// message carries the row's id, so a reconnect after a partial delivery repeats the row.
pub fn messages(row: &HallEventRow) -> Vec<(String, Value)> {
    let p: Value = serde_json::from_str(&row.payload).unwrap_or(Value::Null);
    let mut out = vec![];
    match row.kind.as_str() {
        "ticket_called" | "ticket_recalled" => out.push((
            "ticket_called".to_string(),
            json!({"ticket": p["ticket"], "window": p["window"], "announce": p["announce"],
                   "recall": row.kind == "ticket_recalled",
                   // The server's time of the call, as the board lists it (never the display's).
                   "at": crate::clock::hall_time(yichuang_store::from_micros(row.at)),
                   "time": super::board::minute_text(yichuang_store::from_micros(row.at))}),
        )),
        "hall_notice" => out.push(("notice".to_string(), json!({"text": p["text"]}))),
        // The manager is told at once when a locker door locks after too many wrong codes.
        "locker_compartment_locked" => out.push((
            "locker_alert".to_string(),
            json!({"locker": p["locker"], "door": p["door"], "text": p["notice"]}),
        )),
        k if k.starts_with("ticket_") => out.push((
            "ticket_changed".to_string(),
            json!({"kind": k, "ticket": p["ticket"], "status": p["after"]["status"],
                   "window": p["window"]}),
        )),
        k if k.starts_with("window_") => {
            out.push(("window_changed".to_string(), json!({"kind": k})))
        }
        _ => {}
    }
    if let Some(qs) = p["queues"].as_array() {
        for q in qs {
            out.push((
                "queue_changed".to_string(),
                json!({"queue": q["code"], "waiting": q["waiting"]}),
            ));
        }
    }
    out
}

#[derive(serde::Deserialize, Default)]
struct StreamQuery {
    /// For clients that cannot set the header (a first connection resuming from a page).
    #[serde(default)]
    last_event_id: Option<i64>,
}

async fn stream(
    State(st): State<AppState>,
    Path(hall): Path<String>,
    Query(q): Query<StreamQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    store::hall(&st.db, &hall).await?;
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .or(q.last_event_id);
    // Subscribe before reading the log, so nothing falls between the two.
    let live = st.hall_feed.subscribe();
    let start = match resume {
        Some(id) => id,
        None => events::last_id(&st.db).await?,
    };
    let (out, rx) = mpsc::channel::<Event>(256);
    let closing = st.hall_feed.closing.subscribe();
    tokio::spawn(pump(st.db.clone(), hall, start, live, out, closing));
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|e| (Ok::<_, Infallible>(e), rx))
    });
    Ok(Sse::new(body)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}

/// Sends one client its hall's events: first from the log after `start`, then live.
async fn pump(
    db: Db,
    hall: String,
    start: i64,
    mut live: broadcast::Receiver<Arc<HallEventRow>>,
    out: mpsc::Sender<Event>,
    mut closing: tokio::sync::watch::Receiver<bool>,
) {
    let mut seen = Seen {
        ids: BTreeSet::new(),
        high: start,
    };
    // What was already visible up to `start` is the client's past, not news: the look-back
    // would otherwise let those rows through when the fetcher broadcasts them late. Rows at
    // or below `start` that commit later (PostgreSQL ids out of commit order) still pass.
    match events::since_in_hall(&db, Some(&hall), start - LOOKBACK, LOOKBACK).await {
        Ok(rows) => seen
            .ids
            .extend(rows.iter().map(|r| r.id).filter(|id| *id <= start)),
        Err(e) => {
            tracing::error!(error = %e, "hall feed start");
            return;
        }
    }
    if replay(&db, &hall, &mut seen, &out).await.is_err() {
        return;
    }
    loop {
        if *closing.borrow() {
            return;
        }
        tokio::select! {
            _ = out.closed() => return,
            _ = closing.changed() => return,
            r = live.recv() => match r {
                Ok(row) => {
                    if row.hall == hall && seen.first_time(row.id) && send(&out, &row).await.is_err() {
                        return;
                    }
                }
                // Fell behind the broadcast: the log has everything.
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    if replay(&db, &hall, &mut seen, &out).await.is_err() {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }
}

async fn replay(db: &Db, hall: &str, seen: &mut Seen, out: &mpsc::Sender<Event>) -> Result<(), ()> {
    let mut after = seen.high;
    loop {
        let rows = events::since_in_hall(db, Some(hall), after, 500)
            .await
            .map_err(|e| tracing::error!(error = %e, "hall feed replay"))?;
        let n = rows.len();
        for r in rows {
            after = after.max(r.id);
            if seen.first_time(r.id) {
                send(out, &r).await?;
            }
        }
        if n < 500 {
            return Ok(());
        }
    }
}

async fn send(out: &mpsc::Sender<Event>, row: &HallEventRow) -> Result<(), ()> {
    let msgs = messages(row);
    let last = msgs.len().saturating_sub(1);
    for (i, (name, data)) in msgs.into_iter().enumerate() {
        let mut e = Event::default().event(name).data(data.to_string());
        if i == last {
            e = e.id(row.id.to_string());
        }
        out.send(e).await.map_err(|_| ())?;
    }
    Ok(())
}

/// Per hall, the waiting count of each queue: what a board shows before the first event.
pub async fn waiting_by_queue(db: &Db, hall_id: i64) -> yichuang_domain::Result<HashMap<i64, i64>> {
    Ok(store::waiting_counts(db, hall_id)
        .await?
        .into_iter()
        .collect())
}
