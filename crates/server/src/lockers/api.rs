//! `/api/v1/…lockers…`: setting up a locker bank, the staff's operations, the applicant's
//! drop-off booking and the controller's device protocol (see [`super::device`]).

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde_json::json;
use yichuang_domain::locker::{self, LockerSettings, Size};
use yichuang_domain::{Error, Problems, Result, Role};
use yichuang_store::Tx;
use yichuang_store::lockers as store;

use super::CompartmentChange;
use super::device::{self, Message};
use super::views::{BankView, CompartmentView, ParcelView, PlacedView};
use crate::auth::CurrentActor;
use crate::cases::online::ApplicantSession;
use crate::error::ApiResult;
use crate::extract::{Json, Path};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/halls/{hall}/lockers", post(create).get(list))
        .route("/api/v1/lockers/{code}", get(show))
        .route("/api/v1/lockers/{code}/device-token", post(rotate_token))
        .route(
            "/api/v1/lockers/{code}/compartments/{door}",
            put(set_compartment),
        )
        .route(
            "/api/v1/lockers/{code}/compartments/{door}/unlock",
            post(unlock),
        )
        .route(
            "/api/v1/lockers/{code}/device/messages",
            post(device_message),
        )
        .route("/api/v1/lockers/{code}/device/doors", get(device_doors))
        .route("/api/v1/cases/{number}/locker", post(deposit).get(of_case))
        .route("/api/v1/locker-parcels/{id}/collect", post(collect))
        .route("/api/v1/locker-parcels/{id}/retrieve", post(retrieve))
        .route(
            "/api/v1/applicant/cases/{number}/locker-booking",
            post(book),
        )
        .route(
            "/api/v1/locker-settings",
            get(get_settings).put(put_settings),
        )
}

#[derive(Deserialize)]
pub struct DoorBody {
    pub door: String,
    pub size: String,
}

/// The demo's locker banks (`data/demo/lockers.json`), each with its hall.
const DEMO: &str = include_str!("../../../../data/demo/lockers.json");

#[derive(Deserialize)]
struct DemoBank {
    hall: String,
    #[serde(flatten)]
    bank: BankBody,
}

/// Creates the demo's locker banks in halls that exist (the demo loader calls it after the
/// halls). The device tokens are not kept: the manager opens the simulated locker, which makes
/// a new one.
pub async fn load_demo(db: &yichuang_store::Db, now: chrono::DateTime<chrono::Utc>) -> Result<()> {
    let banks: Vec<DemoBank> =
        serde_json::from_str(DEMO).map_err(|e| Error::internal(format!("demo lockers: {e}")))?;
    for b in banks {
        if yichuang_store::hall::hall(db, &b.hall).await.is_err()
            || store::bank(db, &b.bank.code).await.is_ok()
        {
            continue;
        }
        let mut tx = db.begin().await?;
        create_in(&mut tx, &b.hall, &b.bank, "system:demo", now).await?;
        tx.commit().await?;
    }
    Ok(())
}

#[derive(Deserialize)]
pub struct BankBody {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub place: String,
    #[serde(default)]
    pub compartments: Vec<DoorBody>,
}

/// Creates a locker bank of `hall` with its compartments; returns its id and the controller's
/// device token (shown this once).
pub async fn create_in(
    tx: &mut Tx,
    hall: &str,
    b: &BankBody,
    actor: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<String> {
    let mut p = Problems::new();
    crate::hall::setup::check_code(&mut p, b.code.trim(), "文件柜");
    crate::hall::setup::check_name(&mut p, &b.name, "文件柜");
    p.check(
        (1..=200).contains(&b.compartments.len()),
        "compartments",
        "请列出文件柜的格口（1–200 个）",
    );
    let mut doors = Vec::new();
    for (i, d) in b.compartments.iter().enumerate() {
        let door = locker::normalize_door(&d.door);
        if door.is_empty() || door.len() > 8 || doors.contains(&door) {
            p.add(
                format!("compartments[{i}].door"),
                "格口号应为字母加数字（如 A01），且不能重复",
            );
        }
        if Size::parse(d.size.trim()).is_none() {
            p.add(
                format!("compartments[{i}].size"),
                "格口大小应为 small（小格）、medium（中格）或 large（大格）",
            );
        }
        doors.push(door);
    }
    p.finish()?;
    let token = device::new_device_token()?;
    let key = crate::accounts::secrets::token_digest(&token);
    let id = store::create_bank(
        tx,
        (b.code.trim(), hall, b.name.trim(), b.place.trim()),
        &key,
        now,
    )
    .await?;
    for (d, door) in b.compartments.iter().zip(&doors) {
        let size = Size::parse(d.size.trim()).unwrap_or(Size::Small);
        store::add_compartment(tx, id, door, size, now).await?;
    }
    crate::hall::record(
        tx,
        now,
        hall,
        actor,
        "locker_created",
        ("locker", id),
        json!({"code": b.code.trim(), "name": b.name.trim(), "place": b.place.trim(),
               "compartments": doors}),
    )
    .await?;
    Ok(token)
}

async fn create(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(hall): Path<String>,
    Json(b): Json<BankBody>,
) -> ApiResult<Response> {
    crate::hall::require_hall_manager(&actor, &hall)?;
    yichuang_store::hall::hall(&st.db, &hall).await?;
    let now = st.now();
    let mut tx = st.db.begin().await?;
    let token = create_in(&mut tx, &hall, &b, &actor.event_name(), now).await?;
    tx.commit().await?;
    let bank = store::bank(&st.db, b.code.trim()).await?;
    let view = BankView::load(&st, bank).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"locker": view, "device_token": token})),
    )
        .into_response())
}

async fn list(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(hall): Path<String>,
) -> ApiResult<Response> {
    super::require_locker_staff(&actor, &hall)?;
    let mut out = Vec::new();
    for b in store::banks_of_hall(&st.db, &hall).await? {
        out.push(BankView::load(&st, b).await?);
    }
    Ok(axum::Json(json!({ "lockers": out })).into_response())
}

async fn show(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(code): Path<String>,
) -> ApiResult<Response> {
    let bank = store::bank(&st.db, &code).await?;
    super::require_locker_staff(&actor, &bank.hall)?;
    Ok(axum::Json(BankView::load(&st, bank).await?).into_response())
}

/// A new device token for the controller (the old one stops working).
pub async fn rotate(st: &AppState, actor: &yichuang_domain::Actor, code: &str) -> Result<String> {
    let bank = store::bank(&st.db, code).await?;
    crate::hall::require_hall_manager(actor, &bank.hall)?;
    let token = device::new_device_token()?;
    let now = st.now();
    let mut tx = st.db.begin().await?;
    store::set_device_key(
        &mut tx,
        bank.id,
        &crate::accounts::secrets::token_digest(&token),
    )
    .await?;
    crate::hall::record(
        &mut tx,
        now,
        &bank.hall,
        &actor.event_name(),
        "locker_device_token_made",
        ("locker", bank.id),
        json!({"locker": bank.code}),
    )
    .await?;
    tx.commit().await?;
    Ok(token)
}

async fn rotate_token(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(code): Path<String>,
) -> ApiResult<Response> {
    let token = rotate(&st, &actor, &code).await?;
    Ok(axum::Json(json!({"device_token": token})).into_response())
}

#[derive(Deserialize)]
struct CompartmentBody {
    out_of_order: bool,
}

async fn set_compartment(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path((code, door)): Path<(String, String)>,
    Json(b): Json<CompartmentBody>,
) -> ApiResult<Response> {
    let change = if b.out_of_order {
        CompartmentChange::OutOfOrder
    } else {
        CompartmentChange::Repaired
    };
    let c = super::set_compartment(&st, &actor, &code, &door, change).await?;
    st.hall_feed.wake();
    Ok(axum::Json(CompartmentView::from(&c)).into_response())
}

async fn unlock(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path((code, door)): Path<(String, String)>,
) -> ApiResult<Response> {
    let c = super::set_compartment(&st, &actor, &code, &door, CompartmentChange::Unlock).await?;
    st.hall_feed.wake();
    Ok(axum::Json(CompartmentView::from(&c)).into_response())
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string())
}

async fn device_message(
    State(st): State<AppState>,
    Path(code): Path<String>,
    headers: HeaderMap,
    body: std::result::Result<Json<Message>, crate::error::Problem>,
) -> ApiResult<Response> {
    // Who is asking comes first: a caller without the device token learns nothing about the
    // message format.
    let bank = device::authenticate(&st, &code, bearer(&headers).as_deref()).await?;
    let Json(m) = body?;
    let a = device::handle(&st, &bank, m).await?;
    st.hall_feed.wake();
    Ok(axum::Json(a).into_response())
}

async fn device_doors(
    State(st): State<AppState>,
    Path(code): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let bank = device::authenticate(&st, &code, bearer(&headers).as_deref()).await?;
    let doors: Vec<CompartmentView> = store::compartments(&st.db, bank.id)
        .await?
        .iter()
        .map(CompartmentView::from)
        .collect();
    Ok(axum::Json(json!({"locker": bank.code, "name": bank.name, "doors": doors})).into_response())
}

#[derive(Deserialize)]
pub struct PlaceBody {
    pub locker: String,
    #[serde(default = "small")]
    pub size: String,
}

fn small() -> String {
    "small".into()
}

async fn deposit(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(number): Path<String>,
    Json(b): Json<PlaceBody>,
) -> ApiResult<Response> {
    let p = super::deposit_result(&st, &actor, &number, &b.locker, &b.size).await?;
    st.hall_feed.wake();
    Ok((
        StatusCode::CREATED,
        axum::Json(PlacedView::of(&p, &number, false)),
    )
        .into_response())
}

async fn of_case(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(number): Path<String>,
) -> ApiResult<Response> {
    let l = crate::cases::service::load(&st, &number).await?;
    crate::cases::service::may_view(&actor, &l)?;
    let items: Vec<ParcelView> = store::parcels_of_case(&st.db, &l.case.number)
        .await?
        .iter()
        .map(ParcelView::from)
        .collect();
    Ok(axum::Json(json!({ "items": items })).into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CollectBody {
    materials: Vec<String>,
}

async fn collect(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let b: CollectBody = if body.is_empty() {
        CollectBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|_| {
            Error::validation(vec![]).field("materials", "materials 应为材料编码的列表")
        })?
    };
    let number = super::collect_drop_off(&st, &actor, id, b.materials).await?;
    st.hall_feed.wake();
    let l = crate::cases::service::load(&st, &number).await?;
    crate::cases::api::answer(&st, &l, StatusCode::OK).await
}

async fn retrieve(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    let number = super::retrieve(&st, &actor, id).await?;
    st.hall_feed.wake();
    Ok(axum::Json(json!({"case_number": number, "status": "returned"})).into_response())
}

async fn book(
    State(st): State<AppState>,
    who: ApplicantSession,
    Path(number): Path<String>,
    Json(b): Json<PlaceBody>,
) -> ApiResult<Response> {
    let p = super::book_drop_off(&st, &who.phone, &number, &b.locker, &b.size).await?;
    st.hall_feed.wake();
    Ok((
        StatusCode::CREATED,
        axum::Json(PlacedView::of(&p, &number, true)),
    )
        .into_response())
}

async fn get_settings(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
) -> ApiResult<Response> {
    actor.require_role(
        &[Role::Admin, Role::Supervisor, Role::HallManager],
        "查看文件柜设置",
    )?;
    Ok(axum::Json(super::settings(&st).await?).into_response())
}

async fn put_settings(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Json(s): Json<LockerSettings>,
) -> ApiResult<Response> {
    actor.require_role(&[Role::Admin], "修改文件柜设置")?;
    s.validate()?;
    let now = st.now();
    let before = super::settings(&st).await?;
    let mut tx = st.db.begin().await?;
    yichuang_store::settings::put(&mut tx, "lockers", &json!(s), now).await?;
    yichuang_store::events::append(
        &mut tx,
        now,
        yichuang_store::events::NewEvent {
            actor: &actor.event_name(),
            kind: "locker_settings_changed",
            subject_type: "settings",
            subject_id: "lockers",
            payload: json!({"before": before, "after": s}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(axum::Json(s).into_response())
}
