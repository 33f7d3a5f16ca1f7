//! The hall's pages: kiosk, phone, board, window strip, workstation, manager pages.

use axum::Router;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}
