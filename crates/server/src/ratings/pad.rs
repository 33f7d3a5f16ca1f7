//! The window pad (评价器): a tablet facing the citizen beside a window. It signs in with a
//! device key the hall manager makes, follows a stream of its own state (idle, or "rate this
//! visit/case" with the token) fed from the hall's live feed, and posts the rating like any
//! citizen's channel. The clerk's own session cannot rate (R-EVAL-ONCE).

use std::convert::Infallible;
use std::time::Duration;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use yichuang_domain::rating::{Level, SubjectKind};
use yichuang_domain::{Error, Result};
use yichuang_store::hall as hall_store;
use yichuang_store::ratings as store;

use crate::accounts::secrets::token_digest;
use crate::auth::CurrentActor;
use crate::error::ApiResult;
use crate::extract::{Path, Query};
use crate::pages::{Layout, render};
use crate::state::AppState;

/// How long after a visit or case ends its rating waits on the pad.
const PAD_MINUTES: i64 = 10;

pub fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/windows/{id}/pad-key", post(make_key))
        .route("/api/v1/windows/{id}/pad/events", get(events))
}

pub fn page_routes() -> Router<AppState> {
    Router::new()
        .route("/windows/{id}/pad", get(page))
        .route("/windows/{id}/pad-link", get(link_page).post(link_make))
}

/// A new key for a window's pad (the old one stops working); returns the key and the window.
async fn new_key(
    st: &AppState,
    actor: &yichuang_domain::Actor,
    id: i64,
) -> Result<(String, hall_store::WindowRow)> {
    let w = hall_store::window(&st.db, id).await?;
    crate::hall::require_hall_manager(actor, &w.hall_code)?;
    let key = super::new_token()?;
    let now = st.now();
    let mut tx = st.db.begin().await?;
    store::set_pad_key(&mut tx, id, &token_digest(&key), now).await?;
    crate::hall::record(
        &mut tx,
        now,
        &w.hall_code,
        &actor.event_name(),
        "rating_pad_key_made",
        ("window", id),
        json!({"window": {"id": id, "name": w.name}}),
    )
    .await?;
    tx.commit().await?;
    Ok((key, w))
}

/// The link it gives is opened once on the tablet.
async fn make_key(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    let (key, _) = new_key(&st, &actor, id).await?;
    Ok(
        axum::Json(json!({"key": key, "url": format!("/windows/{id}/pad?key={key}")}))
            .into_response(),
    )
}

#[derive(Template)]
#[template(path = "rating_pad_link.html")]
struct LinkPage {
    layout: Layout,
    window: i64,
    window_name: String,
    hall: String,
    link: Option<String>,
    qr: String,
}

async fn link_page(
    State(st): State<AppState>,
    crate::auth::MaybeActor(a): crate::auth::MaybeActor,
    uri: axum::http::Uri,
    Path(id): Path<i64>,
) -> crate::accounts::Page {
    use yichuang_domain::Role;
    let actor = crate::accounts::require_page_actor(a, &uri, &[Role::Admin, Role::HallManager])?;
    let w = hall_store::window(&st.db, id)
        .await
        .map_err(|e| crate::accounts::forbidden_page(Some(actor.clone()), &uri, e.title))?;
    Ok(render(&LinkPage {
        layout: Layout::new("窗口评价器", Some(actor)),
        window: id,
        window_name: w.name,
        hall: w.hall_code,
        link: None,
        qr: String::new(),
    }))
}

/// Makes the pad's link and shows it once, with a QR code to open it on the tablet.
async fn link_make(
    State(st): State<AppState>,
    crate::auth::MaybeActor(a): crate::auth::MaybeActor,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
    Path(id): Path<i64>,
) -> crate::accounts::Page {
    use yichuang_domain::Role;
    let actor = crate::accounts::require_page_actor(a, &uri, &[Role::Admin, Role::HallManager])?;
    let (key, w) = new_key(&st, &actor, id)
        .await
        .map_err(|e| crate::accounts::forbidden_page(Some(actor.clone()), &uri, e.title))?;
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let link = format!("http://{host}/windows/{id}/pad?key={key}");
    Ok(render(&LinkPage {
        layout: Layout::new("窗口评价器", Some(actor)),
        window: id,
        window_name: w.name,
        hall: w.hall_code,
        qr: crate::qr::svg(&link, 180, "评价器链接二维码").unwrap_or_default(),
        link: Some(link),
    }))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct KeyQuery {
    key: String,
}

async fn check_key(st: &AppState, id: i64, key: &str) -> Result<()> {
    if key.is_empty() || !store::pad_key_matches(&st.db, id, &token_digest(key)).await? {
        return Err(Error::forbidden(
            "评价器未授权：请在大厅设置中为该窗口生成评价器链接",
        ));
    }
    Ok(())
}

/// What the pad shows now: idle, or the newest rating waiting at this window.
async fn state(st: &AppState, window: i64) -> Result<Value> {
    let since = st.now() - chrono::Duration::minutes(PAD_MINUTES);
    let Some(t) = store::pad_token(&st.db, window, since).await? else {
        return Ok(json!({"state": "idle"}));
    };
    let kind = SubjectKind::parse(&t.subject_type).unwrap_or(SubjectKind::Visit);
    let set = kind.question_set();
    Ok(json!({
        "state": "rate",
        "token": t.token,
        "label": t.label,
        "kind": kind.label(),
        "levels": Level::ALL.iter().map(|l| json!({"level": l, "label": l.label()})).collect::<Vec<_>>(),
        "indicators": set.indicators.iter().map(|(c, l)| json!({"code": c, "label": l})).collect::<Vec<_>>(),
    }))
}

/// The pad's stream: its state at once, then again whenever a rating event of its hall
/// passes on the live feed (or every few seconds, so an expired one leaves the screen).
async fn events(
    State(st): State<AppState>,
    Path(id): Path<i64>,
    Query(q): Query<KeyQuery>,
) -> ApiResult<Response> {
    check_key(&st, id, &q.key).await?;
    let w = hall_store::window(&st.db, id).await?;
    let mut live = st.hall_feed.subscribe();
    let mut closing = st.hall_feed.closing();
    let (out, rx) = mpsc::channel::<Event>(16);
    tokio::spawn(async move {
        let mut last = Value::Null;
        loop {
            match state(&st, id).await {
                Ok(s) if s != last => {
                    if out
                        .send(Event::default().event("pad").data(s.to_string()))
                        .await
                        .is_err()
                    {
                        return;
                    }
                    last = s;
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "rating pad state"),
            }
            loop {
                tokio::select! {
                    _ = out.closed() => return,
                    _ = closing.changed() => return,
                    _ = tokio::time::sleep(Duration::from_secs(5)) => break,
                    r = live.recv() => match r {
                        Ok(row) if row.hall == w.hall_code && row.kind.starts_with("rating_") => break,
                        Ok(_) => continue,
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => break,
                        Err(_) => return,
                    }
                }
            }
        }
    });
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|e| (Ok::<_, Infallible>(e), rx))
    });
    Ok(Sse::new(body)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}

#[derive(Template)]
#[template(path = "rating_pad.html")]
struct PadPage {
    layout: Layout,
    window: i64,
    window_name: String,
    hall_name: String,
    key: String,
}

async fn page(
    State(st): State<AppState>,
    Path(id): Path<i64>,
    Query(q): Query<KeyQuery>,
) -> ApiResult<Response> {
    check_key(&st, id, &q.key).await?;
    let w = hall_store::window(&st.db, id).await?;
    let hall = hall_store::hall(&st.db, &w.hall_code).await?;
    Ok(render(&PadPage {
        layout: Layout::new(format!("{} · 服务评价", w.name), None),
        window: id,
        window_name: w.name,
        hall_name: hall.name,
        key: q.key,
    }))
}
