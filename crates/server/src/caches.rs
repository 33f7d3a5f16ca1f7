//! This instance's caches of what rarely changes — the halls' regions (settings, halls and queues
//! are kept by the store itself, `yichuang_store::settings::get`, `hall::hall`) — checked
//! against the database's change counter (`yichuang_store::calendar::version`, read at most once
//! per request), which every change to them moves in its own transaction. So a change another
//! instance commits is seen here at the next request, and a command costs no settings or hall
//! reads while nothing changed.

use std::collections::HashMap;
use std::sync::Mutex;

use yichuang_domain::Result;
use yichuang_store::Db;

#[derive(Default)]
pub struct Caches {
    regions: Mutex<HashMap<String, (i64, Option<String>)>>,
}

fn hit<V: Clone>(m: &Mutex<HashMap<String, (i64, V)>>, key: &str, version: i64) -> Option<V> {
    let m = m.lock().unwrap_or_else(|e| e.into_inner());
    m.get(key)
        .filter(|(v, _)| *v == version)
        .map(|(_, value)| value.clone())
}

fn keep<V>(m: &Mutex<HashMap<String, (i64, V)>>, key: &str, version: i64, value: V) {
    let mut m = m.lock().unwrap_or_else(|e| e.into_inner());
    // The counter is read before the value, so a value stored here is never older than its
    // version says (at worst newer, and then the next change moves the counter again).
    m.insert(key.to_string(), (version, value));
}

impl Caches {
    /// A setting (kept by the store against the same counter).
    pub async fn setting(&self, db: &Db, key: &str) -> Result<Option<serde_json::Value>> {
        yichuang_store::settings::get(db, key).await
    }

    /// `yichuang_store::hall::hall_region`, cached.
    pub async fn hall_region(&self, db: &Db, code: &str) -> Result<Option<String>> {
        let version = yichuang_store::calendar::version(db).await?;
        if let Some(v) = hit(&self.regions, code, version) {
            return Ok(v);
        }
        let v = yichuang_store::hall::hall_region(db, code).await?;
        keep(&self.regions, code, version, v.clone());
        Ok(v)
    }
}
