//! Staff accounts, sessions and API tokens. (Filled in by the accounts work.)

use yichuang_domain::{Actor, Error};

use crate::state::AppState;

pub async fn actor_for_token(_state: &AppState, _token: &str) -> Result<Option<Actor>, Error> {
    Ok(None)
}
