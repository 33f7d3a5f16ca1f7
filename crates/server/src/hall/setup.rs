//! Halls, queues and windows (API-V1 "Halls, queues, windows"), staff signing in to windows,
//! hall settings and notices.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use yichuang_domain::demo::WindowKind;
use yichuang_domain::queue::number::validate_prefix;
use yichuang_domain::queue::window::WindowStatus;
use yichuang_domain::{Actor, Error, Problems, Result, Role};
use yichuang_store::hall::{self as store, HallRow, WindowRow};
use yichuang_store::{Db, Tx};

use super::{HallSettings, day_end, record, require_hall_manager, require_window_operator};
use crate::auth::CurrentActor;
use crate::error::ApiResult;
use crate::extract::{Json, Path};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/halls", post(create_hall).get(list_halls))
        .route("/api/v1/halls/{hall}", get(get_hall))
        .route("/api/v1/halls/{hall}/settings", put(put_settings))
        .route("/api/v1/halls/{hall}/notice", put(put_notice))
        .route("/api/v1/halls/{hall}/queues", post(create_queue))
        .route("/api/v1/halls/{hall}/queues/{queue}", put(put_queue))
        .route("/api/v1/halls/{hall}/windows", post(create_window))
        .route("/api/v1/windows/{id}", get(get_window).put(put_window))
        .route("/api/v1/windows/{id}/sign-in", post(sign_in))
        .route("/api/v1/windows/{id}/sign-out", post(sign_out))
        .route("/api/v1/windows/{id}/pause", post(pause))
        .route("/api/v1/windows/{id}/resume", post(resume))
}

pub(crate) fn check_code(p: &mut Problems, code: &str, what: &str) {
    let ok = (1..=32).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    p.check(
        ok,
        "code",
        &format!("{what}编码须为1至32位字母、数字、“-”或“_”"),
    );
}

pub(crate) fn check_name(p: &mut Problems, name: &str, what: &str) {
    let n = name.trim().chars().count();
    p.check(
        (1..=100).contains(&n),
        "name",
        &format!("请填写{what}名称（不超过100字）"),
    );
}

#[derive(Deserialize)]
pub struct HallBody {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub settings: Option<HallSettings>,
}

/// Creates a hall and schedules its first day end; shared by the API and the demo loader.
pub async fn create_hall_in(
    tx: &mut Tx,
    b: &HallBody,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<i64> {
    let mut p = Problems::new();
    check_code(&mut p, &b.code, "大厅");
    check_name(&mut p, &b.name, "大厅");
    if let Some(region) = b.region.as_deref() {
        let known = yichuang_store::catalogue::region_exists(
            &mut yichuang_store::catalogue::Conn::Tx(tx),
            region,
        )
        .await?;
        p.check(
            known,
            "region",
            &format!("区域目录中没有地区 {region}，请先在事项目录中添加该地区"),
        );
    }
    p.finish()?;
    let settings = b.settings.clone().unwrap_or_default();
    settings.validate()?;
    let text = serde_json::to_string(&settings).map_err(Error::internal)?;
    let id =
        store::insert_hall(tx, &b.code, b.name.trim(), b.region.as_deref(), &text, now).await?;
    day_end::schedule_next(tx, &b.code, &settings, now).await?;
    record(
        tx,
        now,
        &b.code,
        actor,
        "hall_created",
        ("hall", id),
        json!({"after": {"code": b.code, "name": b.name.trim(), "region": b.region}}),
    )
    .await?;
    Ok(id)
}

async fn create_hall(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Json(b): Json<HallBody>,
) -> ApiResult<Response> {
    actor.require_role(&[Role::Admin], "新建大厅")?;
    let now = st.now();
    let mut tx = st.db.begin().await?;
    let id = create_hall_in(&mut tx, &b, &actor.event_name(), now).await?;
    tx.commit().await?;
    st.hall_feed.wake();
    let body = json!({"id": id, "code": b.code, "name": b.name.trim(), "region": b.region});
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

async fn list_halls(State(st): State<AppState>) -> ApiResult<Response> {
    let halls: Vec<Value> = store::halls(&st.db)
        .await?
        .into_iter()
        .map(|h| json!({"id": h.id, "code": h.code, "name": h.name, "region": h.region}))
        .collect();
    Ok(axum::Json(json!({ "halls": halls })).into_response())
}

/// The hall with its queues (and waiting counts), windows and notice: public, as boards and
/// kiosks show it.
pub async fn hall_view(db: &Db, hall: &HallRow) -> Result<Value> {
    let waiting = store::waiting_counts(db, hall.id).await?;
    let queues: Vec<Value> = store::queues(db, hall.id)
        .await?
        .into_iter()
        .map(|q| {
            let n = waiting
                .iter()
                .find(|(id, _)| *id == q.id)
                .map_or(0, |w| w.1);
            json!({"id": q.id, "code": q.code, "name": q.name, "prefix": q.prefix, "waiting": n})
        })
        .collect();
    let mut windows = vec![];
    for w in store::windows(db, hall.id).await? {
        windows.push(window_view(db, &w).await?);
    }
    Ok(json!({
        "id": hall.id,
        "code": hall.code,
        "name": hall.name,
        "region": hall.region,
        "notice": hall.notice,
        "queues": queues,
        "windows": windows,
    }))
}

pub async fn window_view(db: &Db, w: &WindowRow) -> Result<Value> {
    let queues: Vec<String> = store::window_queues(db, w.id)
        .await?
        .into_iter()
        .map(|q| q.code)
        .collect();
    Ok(json!({
        "id": w.id,
        "hall": w.hall_code,
        "code": w.code,
        "name": w.name,
        "kind": w.kind,
        "queues": queues,
        "status": w.status,
        "staff": w.staff_name,
    }))
}

async fn get_hall(State(st): State<AppState>, Path(code): Path<String>) -> ApiResult<Response> {
    let hall = store::hall(&st.db, &code).await?;
    let mut v = hall_view(&st.db, &hall).await?;
    v["settings"] = serde_json::to_value(HallSettings::of(&hall)?).map_err(Error::internal)?;
    Ok(axum::Json(v).into_response())
}

async fn put_settings(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(code): Path<String>,
    Json(settings): Json<HallSettings>,
) -> ApiResult<Response> {
    let settings = update_settings(&st, &actor, &code, settings).await?;
    Ok(axum::Json(json!({"settings": settings})).into_response())
}

/// Replaces a hall's settings (the API and the set-up page): checked whole, so bad input
/// changes nothing; a new day-end time moves the day-end timer.
pub async fn update_settings(
    st: &AppState,
    actor: &Actor,
    code: &str,
    settings: HallSettings,
) -> Result<HallSettings> {
    require_hall_manager(actor, code)?;
    settings.validate()?;
    let now = st.now();
    let mut tx = st.db.begin().await?;
    let hall = store::hall_in_tx(&mut tx, code).await?;
    let before = HallSettings::of(&hall)?;
    let text = serde_json::to_string(&settings).map_err(Error::internal)?;
    store::set_hall_settings(&mut tx, hall.id, &text, &hall.notice).await?;
    if before.day_end != settings.day_end {
        yichuang_store::timers::cancel(&mut tx, day_end::KIND, code, now).await?;
        day_end::schedule_next(&mut tx, code, &settings, now).await?;
    }
    record(
        &mut tx,
        now,
        code,
        &actor.event_name(),
        "hall_settings_changed",
        ("hall", hall.id),
        json!({"before": before, "after": settings}),
    )
    .await?;
    tx.commit().await?;
    Ok(settings)
}

#[derive(Deserialize)]
struct NoticeBody {
    text: String,
}

async fn put_notice(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(code): Path<String>,
    Json(b): Json<NoticeBody>,
) -> ApiResult<Response> {
    require_hall_manager(&actor, &code)?;
    let text = b.text.trim();
    if text.chars().count() > 500 {
        return Err(Error::validation(vec![])
            .field("text", "公告不能超过500字")
            .into());
    }
    let now = st.now();
    let mut tx = st.db.begin().await?;
    let hall = store::hall_in_tx(&mut tx, &code).await?;
    store::set_hall_settings(&mut tx, hall.id, &hall.settings, text).await?;
    record(
        &mut tx,
        now,
        &code,
        &actor.event_name(),
        "hall_notice",
        ("hall", hall.id),
        json!({"before": hall.notice, "after": text, "text": text}),
    )
    .await?;
    tx.commit().await?;
    st.hall_feed.wake();
    Ok(axum::Json(json!({"notice": text})).into_response())
}

#[derive(Deserialize)]
pub struct QueueBody {
    pub code: String,
    pub name: String,
    pub prefix: String,
}

pub async fn create_queue_in(
    tx: &mut Tx,
    hall: &HallRow,
    b: &QueueBody,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<i64> {
    let mut p = Problems::new();
    check_code(&mut p, &b.code, "队列");
    let others = store::queues_in_tx(tx, hall.id).await?;
    check_queue(&mut p, &b.name, &b.prefix, &others);
    p.finish()?;
    let id = store::insert_queue(tx, hall.id, &b.code, b.name.trim(), &b.prefix, now).await?;
    record(
        tx,
        now,
        &hall.code,
        actor,
        "queue_created",
        ("queue", id),
        json!({"after": {"code": b.code, "name": b.name.trim(), "prefix": b.prefix}}),
    )
    .await?;
    Ok(id)
}

/// Checks a queue's name and ticket prefix against the hall's `others`: two queues of one hall
/// never share a prefix, or the board would call two different visitors "A001".
fn check_queue(p: &mut Problems, name: &str, prefix: &str, others: &[store::QueueRow]) {
    check_name(p, name, "队列");
    if let Err(e) = validate_prefix(prefix) {
        for f in e.fields {
            p.add(f.field, f.message);
        }
    } else if let Some(q) = others.iter().find(|q| q.prefix == prefix) {
        p.add(
            "prefix",
            format!(
                "号码前缀 {prefix} 已被队列“{}”使用；同一大厅的前缀不能重复，否则会出现两个 {prefix}001",
                q.name
            ),
        );
    }
}

/// What a change of a queue sets: its name and ticket prefix (its code stays: windows,
/// tickets and statistics refer to it).
#[derive(Deserialize, Clone, Default)]
pub struct QueueChange {
    pub name: String,
    pub prefix: String,
}

/// Changes a queue's name and prefix (the API and the set-up page). Tickets already taken keep
/// their numbers; the next ticket of the day continues the count under the new prefix.
pub async fn change_queue(
    st: &AppState,
    actor: &Actor,
    hall_code: &str,
    queue: &str,
    b: &QueueChange,
) -> Result<()> {
    require_hall_manager(actor, hall_code)?;
    let now = st.now();
    let mut tx = st.db.begin().await?;
    let hall = store::hall_in_tx(&mut tx, hall_code).await?;
    let queues = store::queues_in_tx(&mut tx, hall.id).await?;
    let Some(q) = queues.iter().find(|q| q.code == queue).cloned() else {
        return Err(Error::not_found(
            "queue_not_found",
            format!("本大厅没有队列 {queue}"),
        ));
    };
    let others: Vec<_> = queues.into_iter().filter(|o| o.id != q.id).collect();
    let mut p = Problems::new();
    check_queue(&mut p, &b.name, &b.prefix, &others);
    p.finish()?;
    store::update_queue(&mut tx, q.id, b.name.trim(), &b.prefix).await?;
    record(
        &mut tx,
        now,
        &hall.code,
        &actor.event_name(),
        "queue_changed",
        ("queue", q.id),
        json!({"before": {"name": q.name, "prefix": q.prefix},
               "after": {"name": b.name.trim(), "prefix": b.prefix}}),
    )
    .await?;
    tx.commit().await?;
    st.hall_feed.wake();
    Ok(())
}

async fn put_queue(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path((hall, queue)): Path<(String, String)>,
    Json(b): Json<QueueChange>,
) -> ApiResult<Response> {
    change_queue(&st, &actor, &hall, &queue, &b).await?;
    Ok(
        axum::Json(json!({"hall": hall, "code": queue, "name": b.name.trim(), "prefix": b.prefix}))
            .into_response(),
    )
}

async fn create_queue(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(code): Path<String>,
    Json(b): Json<QueueBody>,
) -> ApiResult<Response> {
    let id = add_queue(&st, &actor, &code, &b).await?;
    let body =
        json!({"id": id, "hall": code, "code": b.code, "name": b.name.trim(), "prefix": b.prefix});
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

/// Adds a queue to a hall (the API and the set-up page).
pub async fn add_queue(st: &AppState, actor: &Actor, code: &str, b: &QueueBody) -> Result<i64> {
    require_hall_manager(actor, code)?;
    let now = st.now();
    let mut tx = st.db.begin().await?;
    let hall = store::hall_in_tx(&mut tx, code).await?;
    let id = create_queue_in(&mut tx, &hall, b, &actor.event_name(), now).await?;
    tx.commit().await?;
    st.hall_feed.wake();
    Ok(id)
}

#[derive(Deserialize)]
pub struct WindowBody {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub queues: Vec<String>,
}

pub fn parse_kind(kind: &str) -> Option<WindowKind> {
    serde_json::from_value(Value::String(kind.to_string())).ok()
}

pub async fn create_window_in(
    tx: &mut Tx,
    hall: &HallRow,
    b: &WindowBody,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<i64> {
    let mut p = Problems::new();
    check_code(&mut p, &b.code, "窗口");
    let ids = check_window(tx, hall, (&b.name, &b.kind, &b.queues), &mut p).await?;
    p.finish()?;
    let id = store::insert_window(tx, hall.id, &b.code, b.name.trim(), &b.kind, &ids, now).await?;
    record(
        tx,
        now,
        &hall.code,
        actor,
        "window_created",
        ("window", id),
        json!({"after": {"code": b.code, "name": b.name.trim(), "kind": b.kind, "queues": b.queues}}),
    )
    .await?;
    Ok(id)
}

/// What a change of a window sets: everything but its code, which the board speaks and the
/// tickets and statistics refer to.
#[derive(Deserialize, Clone, Default)]
pub struct WindowChange {
    pub name: String,
    pub kind: String,
    /// Queue codes in order of preference.
    pub queues: Vec<String>,
}

/// Checks a window's name, kind and queues (of `hall`, none twice, at least one); returns the
/// queue ids in order of preference.
async fn check_window(
    tx: &mut Tx,
    hall: &HallRow,
    (name, kind, queues): (&str, &str, &[String]),
    p: &mut Problems,
) -> Result<Vec<i64>> {
    check_name(p, name, "窗口");
    p.check(
        parse_kind(kind).is_some(),
        "kind",
        "窗口类型须为 comprehensive（综合窗口）、specialist（专业窗口）、issuance（出件窗口）、unresolved（办不成事反映窗口）或 agency（帮办代办窗口）",
    );
    let known = store::queues_in_tx(tx, hall.id).await?;
    let mut ids = vec![];
    for code in queues {
        match known.iter().find(|q| &q.code == code) {
            Some(q) if !ids.contains(&q.id) => ids.push(q.id),
            Some(_) => p.add("queues", format!("队列 {code} 重复")),
            None => p.add("queues", format!("本大厅没有队列 {code}")),
        }
    }
    p.check(!queues.is_empty(), "queues", "窗口至少要服务一个队列");
    Ok(ids)
}

/// Changes a window's name, kind and the queues it serves (the API and the set-up page, which
/// names the hall it expects the window in). A clerk signed in stays signed in; the next call
/// follows the new order of preference.
pub async fn change_window(
    st: &AppState,
    actor: &Actor,
    id: i64,
    in_hall: Option<&str>,
    b: &WindowChange,
) -> Result<()> {
    let now = st.now();
    let mut tx = st.db.begin().await?;
    let w = store::window_in_tx(&mut tx, id).await?;
    if in_hall.is_some_and(|h| h != w.hall_code) {
        return Err(Error::not_found(
            "window_not_found",
            format!("本大厅没有窗口 {id}"),
        ));
    }
    require_hall_manager(actor, &w.hall_code)?;
    let hall = store::hall_in_tx(&mut tx, &w.hall_code).await?;
    let mut p = Problems::new();
    let ids = check_window(&mut tx, &hall, (&b.name, &b.kind, &b.queues), &mut p).await?;
    p.finish()?;
    let before: Vec<String> = store::window_queues_in_tx(&mut tx, id)
        .await?
        .into_iter()
        .map(|q| q.code)
        .collect();
    store::update_window(&mut tx, id, b.name.trim(), &b.kind, &ids).await?;
    record(
        &mut tx,
        now,
        &hall.code,
        &actor.event_name(),
        "window_changed",
        ("window", id),
        json!({"before": {"name": w.name, "kind": w.kind, "queues": before},
               "after": {"name": b.name.trim(), "kind": b.kind, "queues": b.queues}}),
    )
    .await?;
    tx.commit().await?;
    st.hall_feed.wake();
    Ok(())
}

async fn put_window(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<i64>,
    Json(b): Json<WindowChange>,
) -> ApiResult<Response> {
    change_window(&st, &actor, id, None, &b).await?;
    let w = store::window(&st.db, id).await?;
    Ok(axum::Json(window_view(&st.db, &w).await?).into_response())
}

async fn create_window(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(code): Path<String>,
    Json(b): Json<WindowBody>,
) -> ApiResult<Response> {
    let id = add_window(&st, &actor, &code, &b).await?;
    let w = store::window(&st.db, id).await?;
    let body = window_view(&st.db, &w).await?;
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

/// Adds a window to a hall (the API and the set-up page).
pub async fn add_window(st: &AppState, actor: &Actor, code: &str, b: &WindowBody) -> Result<i64> {
    require_hall_manager(actor, code)?;
    let now = st.now();
    let mut tx = st.db.begin().await?;
    let hall = store::hall_in_tx(&mut tx, code).await?;
    let id = create_window_in(&mut tx, &hall, b, &actor.event_name(), now).await?;
    tx.commit().await?;
    st.hall_feed.wake();
    Ok(id)
}

/// Staff only: a window's view names who sits there. The board and the kiosk take what they
/// show from the hall's live feed, not from here.
async fn get_window(
    State(st): State<AppState>,
    CurrentActor(_): CurrentActor,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    let w = store::window(&st.db, id).await?;
    Ok(axum::Json(window_view(&st.db, &w).await?).into_response())
}

/// Front-line staff of the window's hall sign in; admins and hall managers may too.
fn require_may_sit(actor: &Actor, w: &WindowRow) -> Result<()> {
    actor.require_role(
        &[
            Role::Admin,
            Role::HallManager,
            Role::Clerk,
            Role::Issuance,
            Role::Agent,
        ],
        "在窗口签到",
    )?;
    actor.require_hall(&w.hall_code, "在")
}

async fn change_session(
    st: &AppState,
    actor: &Actor,
    id: i64,
    to: WindowStatus,
    kind: &str,
) -> ApiResult<Response> {
    let now = st.now();
    let mut tx = st.db.begin().await?;
    let w = store::window_in_tx(&mut tx, id).await?;
    match to {
        WindowStatus::Open if w.session() == WindowStatus::Closed => {
            require_may_sit(actor, &w)?;
            if let Some(other) = store::window_of_staff(&mut tx, actor.id).await? {
                return Err(Error::conflict(
                    "signed_in_elsewhere",
                    format!("您已在另一窗口（编号 {other}）签到，请先签退"),
                )
                .into());
            }
        }
        _ => {
            if w.session() == WindowStatus::Closed {
                return Err(Error::conflict("window_closed", "该窗口尚无人签到").into());
            }
            let own = w.staff_id == Some(actor.id);
            if !own {
                require_window_operator(actor, &w)?;
                actor.require_role(&[Role::Admin, Role::HallManager], "替他人签退或暂停")?;
            }
            if to == w.session() {
                let label = if to == WindowStatus::Paused {
                    "已暂停"
                } else {
                    "已开放"
                };
                return Err(Error::conflict("window_unchanged", format!("窗口{label}")).into());
            }
        }
    }
    let staff = match to {
        WindowStatus::Closed => None,
        WindowStatus::Open if w.session() == WindowStatus::Closed => {
            Some((actor.id, actor.display_name.clone()))
        }
        _ => w.staff_id.zip(w.staff_name.clone()),
    };
    store::set_window_status(
        &mut tx,
        id,
        to.as_str(),
        staff.as_ref().map(|(i, n)| (*i, n.as_str())),
        now,
    )
    .await?;
    record(
        &mut tx,
        now,
        &w.hall_code,
        &actor.event_name(),
        kind,
        ("window", id),
        json!({"before": {"status": w.status, "staff": w.staff_name},
               "after": {"status": to.as_str(), "staff": staff.as_ref().map(|s| &s.1)}}),
    )
    .await?;
    tx.commit().await?;
    st.hall_feed.wake();
    let w = store::window(&st.db, id).await?;
    Ok(axum::Json(window_view(&st.db, &w).await?).into_response())
}

async fn sign_in(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    let w = store::window(&st.db, id).await?;
    if w.session() != WindowStatus::Closed {
        let who = w.staff_name.unwrap_or_default();
        return Err(
            Error::conflict("window_taken", format!("窗口 {} 已由{}签到", w.code, who)).into(),
        );
    }
    change_session(&st, &actor, id, WindowStatus::Open, "window_signed_in").await
}

async fn sign_out(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    change_session(&st, &actor, id, WindowStatus::Closed, "window_signed_out").await
}

async fn pause(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    change_session(&st, &actor, id, WindowStatus::Paused, "window_paused").await
}

async fn resume(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    let w = store::window(&st.db, id).await?;
    if w.session() == WindowStatus::Closed {
        return Err(Error::conflict("window_closed", "该窗口尚无人签到，请先签到").into());
    }
    change_session(&st, &actor, id, WindowStatus::Open, "window_resumed").await
}
