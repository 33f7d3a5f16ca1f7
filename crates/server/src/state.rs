use std::sync::Arc;

use yichuang_store::Db;

use crate::clock::Clock;
use crate::config::Config;

/// What every handler shares, behind one `Arc`: axum clones the state for every layer and
/// handler of every request, and a clone of the parts one by one (a dozen counted references,
/// some shared between the cores) showed in `perf` at about 3 % of a case command's CPU
/// (issue 9). Nothing here is the only copy of anything that matters: the database holds the
/// state, so any number of instances can serve the same hall.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> AppState {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The parts of [`AppState`].
pub struct Shared {
    pub db: Db,
    pub clock: Clock,
    pub config: Arc<Config>,
    /// The hall's live feed on this instance (see `crate::hall::feed`).
    pub hall_feed: crate::hall::feed::Hub,
    /// The cached working-day calendars, rebuilt when the database's calendar changes.
    pub calendar: crate::calendar::Cache,
    /// Settings and the halls' regions, checked against the database's change counter.
    pub caches: Arc<crate::caches::Caches>,
    /// This instance's request counters for `/metrics`.
    pub requests: Arc<crate::metrics::Requests>,
}

impl Shared {
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }
}
