//! The case engine on the server (issue 4): the domain's commands run against the store, the
//! API of API-V1 "Catalogue and cases", the deadline timers and the notification outbox.

pub mod api;
pub mod audit;
pub mod bundle_pages;
pub mod bundles;
pub mod items;
pub mod my;
pub mod notify;
pub mod online;
pub mod pages;
pub mod sender;
pub mod service;
pub mod time;
pub mod vault;
pub mod view;

use axum::Router;
use chrono::{DateTime, Utc};
use yichuang_domain::Result;
use yichuang_store::Tx;
use yichuang_store::timers::Timer;

use crate::state::AppState;

pub use service::{DEADLINE_TIMER, WARNING_TIMER};

/// The API routes (merged in `crate::api`).
pub fn routes() -> Router<AppState> {
    api::routes().merge(vault::routes()).merge(online::routes())
}

/// The page routes (merged in `crate::pages`).
pub fn page_routes() -> Router<AppState> {
    pages::routes()
        .merge(bundle_pages::routes())
        .merge(my::routes())
}

/// A case's deadline timer fired: bring the case up to now and set its next timer, all in the
/// firing transaction (deemed acceptance R-ACCEPT-5D, deemed confirmation R-ROUTE-10MIN,
/// process timers, deemed approval R-DEEMED).
pub async fn fire_deadline(
    state: &AppState,
    tx: &mut Tx,
    timer: &Timer,
    now: DateTime<Utc>,
) -> Result<()> {
    service::tick_in(tx, state, &timer.subject, now).await
}

/// A case's warning timer fired: log the light turning yellow or red (电子监察) and set the
/// next one, in the firing transaction.
pub async fn fire_warning(
    state: &AppState,
    tx: &mut Tx,
    timer: &Timer,
    now: DateTime<Utc>,
) -> Result<()> {
    service::warn_in(tx, state, &timer.subject, now).await
}
