//! The lockers' pages: 文件柜管理 for the hall's staff and manager, and the simulated locker
//! (模拟文件柜) that plays a controller through the device API (demo and browser tests).

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Form, OriginalUri, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use yichuang_domain::{Actor, Error, Result, Role};
use yichuang_store::lockers as store;

use super::CompartmentChange;
use super::views::BankView;
use crate::accounts::{Page, forbidden_page, require_page_actor};
use crate::auth::MaybeActor;
use crate::extract::Path;
use crate::pages::{Layout, render};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/halls/{hall}/lockers", get(manage).post(act))
        .route("/lockers/{code}/simulator", get(simulator))
        .route("/lockers/{code}/simulator-link", post(simulator_link))
}

const STAFF: [Role; 4] = [Role::Admin, Role::HallManager, Role::Clerk, Role::Issuance];

#[derive(Template)]
#[template(path = "lockers_manage.html")]
struct ManagePage {
    layout: Layout,
    hall: String,
    banks: Vec<BankView>,
    manager: bool,
    error: Option<String>,
}

async fn manage_page(
    st: &AppState,
    actor: Actor,
    hall: &str,
    error: Option<String>,
) -> Result<Response> {
    super::require_locker_staff(&actor, hall)?;
    let mut banks = Vec::new();
    for b in store::banks_of_hall(&st.db, hall).await? {
        banks.push(BankView::load(st, b).await?);
    }
    let manager = crate::hall::require_hall_manager(&actor, hall).is_ok();
    Ok(render(&ManagePage {
        layout: Layout::new("智能文件柜", Some(actor)),
        hall: hall.to_string(),
        banks,
        manager,
        error,
    }))
}

async fn manage(
    State(st): State<AppState>,
    MaybeActor(a): MaybeActor,
    OriginalUri(uri): OriginalUri,
    Path(hall): Path<String>,
) -> Page {
    let actor = require_page_actor(a, &uri, &STAFF)?;
    // A hall that does not exist is a 404 page (the error-page layer turns the problem into one).
    yichuang_store::hall::hall(&st.db, &hall)
        .await
        .map_err(|e| crate::error::Problem(e).into_response())?;
    manage_page(&st, actor.clone(), &hall, None)
        .await
        .map_err(|e| forbidden_page(Some(actor), &uri, e.title))
}

/// One action of the page: `action` names it, `locker` and `door` or `parcel` its object.
async fn act(
    State(st): State<AppState>,
    MaybeActor(a): MaybeActor,
    OriginalUri(uri): OriginalUri,
    Path(hall): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Page {
    let actor = require_page_actor(a, &uri, &STAFF)?;
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    let parcel = || {
        get("parcel")
            .parse::<i64>()
            .map_err(|_| Error::invalid("bad_parcel", "请选择柜内物品"))
    };
    let (locker, door_no) = (get("locker"), get("door"));
    let door = |c: CompartmentChange| super::set_compartment(&st, &actor, &locker, &door_no, c);
    let done: Result<()> = match get("action").as_str() {
        "out_of_order" => door(CompartmentChange::OutOfOrder).await.map(|_| ()),
        "repair" => door(CompartmentChange::Repaired).await.map(|_| ()),
        "unlock" => door(CompartmentChange::Unlock).await.map(|_| ()),
        "collect" => match parcel() {
            Ok(id) => super::collect_drop_off(&st, &actor, id, Vec::new())
                .await
                .map(|_| ()),
            Err(e) => Err(e),
        },
        "retrieve" => match parcel() {
            Ok(id) => super::retrieve(&st, &actor, id).await.map(|_| ()),
            Err(e) => Err(e),
        },
        _ => Err(Error::invalid("unknown_action", "未知的操作")),
    };
    match done {
        Ok(()) => {
            st.hall_feed.wake();
            Ok(Redirect::to(&format!("/halls/{hall}/lockers")).into_response())
        }
        Err(e) => {
            let status = crate::error::status_of(e.kind);
            let mut r = manage_page(&st, actor.clone(), &hall, Some(e.title))
                .await
                .map_err(|e| forbidden_page(Some(actor), &uri, e.title))?;
            *r.status_mut() = status;
            Ok(r)
        }
    }
}

/// The manager opens the simulated locker: a new device token, carried to the page in the
/// URL's fragment (never sent to the server in a request line or a log).
async fn simulator_link(
    State(st): State<AppState>,
    MaybeActor(a): MaybeActor,
    OriginalUri(uri): OriginalUri,
    Path(code): Path<String>,
) -> Page {
    let actor = require_page_actor(a, &uri, &[Role::Admin, Role::HallManager])?;
    let token = super::api::rotate(&st, &actor, &code)
        .await
        .map_err(|e| forbidden_page(Some(actor), &uri, e.title))?;
    Ok(Redirect::to(&format!("/lockers/{code}/simulator#token={token}")).into_response())
}

#[derive(Template)]
#[template(path = "lockers_simulator.html")]
struct SimulatorPage {
    layout: Layout,
    code: String,
    name: String,
    place: String,
}

async fn simulator(State(st): State<AppState>, Path(code): Path<String>) -> Response {
    match store::bank(&st.db, &code).await {
        Ok(b) => render(&SimulatorPage {
            layout: Layout::new(format!("{} · 模拟文件柜", b.name), None),
            code: b.code,
            name: b.name,
            place: b.place,
        }),
        Err(_) => crate::pages::not_found(MaybeActor(None)).await,
    }
}
