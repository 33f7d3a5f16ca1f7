//! Turns in this process, one per thing (a case, a ticket) and database: commands on one thing
//! take turns, each starting once the one before it has committed, so that the second starts
//! from what the first left rather than fail its guard against it and run again (issue 9).
//! They would wait for each other in the database all the same: for SQLite's write lock, or
//! for the row's lock on PostgreSQL.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

type Key = (String, String);

/// How long a command waits for the one before it on the same thing before it goes beside it:
/// the one before is stuck (waiting for the database), and this one would wait there too.
const WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// The turns of one kind of thing: each with a command under way, its lock.
pub(crate) struct Turns(LazyLock<Mutex<HashMap<Key, Arc<AsyncMutex<()>>>>>);

/// A command's turn on one thing, from its start until it is dropped.
pub struct Turn {
    turns: &'static Turns,
    key: Key,
    held: Option<OwnedMutexGuard<()>>,
}

impl Turns {
    pub(crate) const fn new() -> Turns {
        Turns(LazyLock::new(Default::default))
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Arc<AsyncMutex<()>>>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for the turn on `thing` in `db`, at most [`WAIT`]: past that this one goes beside
    /// the one before, with a turn that holds nothing ([`Turn::held`] is false).
    pub(crate) async fn take(&'static self, db: &crate::Db, thing: &str) -> Turn {
        let key = (db.identity(), thing.to_string());
        let lock = self.map().entry(key.clone()).or_default().clone();
        let held = tokio::time::timeout(WAIT, lock.lock_owned()).await.ok();
        Turn {
            turns: self,
            key,
            held,
        }
    }
}

impl Turn {
    /// Whether it waited for the one before (or there was none), rather than going beside it.
    pub fn held(&self) -> bool {
        self.held.is_some()
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        let mut map = self.turns.map();
        // Handed on under the map's lock, so that nobody takes the thing's lock from the map
        // between the count below and its removal.
        self.held.take();
        // Nobody else holds it or waits for it: only the map's reference is left.
        if map
            .get(&self.key)
            .is_some_and(|l| Arc::strong_count(l) == 1)
        {
            map.remove(&self.key);
        }
    }
}
