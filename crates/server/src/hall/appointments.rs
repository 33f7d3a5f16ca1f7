//! Appointments: booking a slot, checking in (which issues a ticket with the appointment
//! category), cancelling. The rules are `queue::appointments`'s.

use axum::Router;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}
