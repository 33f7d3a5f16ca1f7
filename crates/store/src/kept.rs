//! Rows that rarely change (settings, halls, queues), kept in this process per database against
//! the change counter (`calendar::version`, read at most once per request), which every change
//! to them moves in its own transaction. So a change any instance commits is seen by every
//! instance at its next request, and a request costs no reads of them while nothing changed.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{LazyLock, Mutex};

use yichuang_domain::Result;

use crate::Db;

/// At most this many values are kept per kind and database.
const MAX_KEPT: usize = 20_000;

/// Per database: the change counter's version the values are valid at, and the values by key.
type ByDb<K, V> = HashMap<String, (i64, HashMap<K, V>)>;

/// Values by key, per database, valid at one version of the change counter.
pub(crate) struct Kept<K, V> {
    by_db: LazyLock<Mutex<ByDb<K, V>>>,
}

impl<K: Eq + Hash, V: Clone> Kept<K, V> {
    pub(crate) const fn new() -> Self {
        Kept {
            by_db: LazyLock::new(Default::default),
        }
    }

    /// The value kept for `key`, or `read` and kept. Values read while the counter was at
    /// another version are dropped first.
    pub(crate) async fn get_or_read(
        &self,
        db: &Db,
        key: K,
        read: impl Future<Output = Result<V>>,
    ) -> Result<V> {
        let version = crate::calendar::version(db).await?;
        let identity = db.identity();
        if let Some(v) = self.with(&identity, version, |m| m.get(&key).cloned()) {
            return Ok(v);
        }
        let v = read.await?;
        // The counter was read before the value, so a value kept here is never older than its
        // version says (at worst newer, and then the next change moves the counter again).
        self.with(&identity, version, |m| m.insert(key, v.clone()));
        Ok(v)
    }

    /// The value kept for `key`, if any (nothing is read but the change counter).
    pub(crate) async fn get(&self, db: &Db, key: &K) -> Result<Option<V>> {
        let version = crate::calendar::version(db).await?;
        Ok(self.with(&db.identity(), version, |m| m.get(key).cloned()))
    }

    /// Keeps `value` for `key`; `value` must have been read after the change counter was.
    pub(crate) async fn put(&self, db: &Db, key: K, value: V) -> Result<()> {
        let version = crate::calendar::version(db).await?;
        self.with(&db.identity(), version, |m| m.insert(key, value));
        Ok(())
    }

    /// Forgets what is kept for `key`.
    pub(crate) async fn forget(&self, db: &Db, key: &K) -> Result<()> {
        let version = crate::calendar::version(db).await?;
        self.with(&db.identity(), version, |m| m.remove(key));
        Ok(())
    }

    fn with<T>(&self, db: &str, version: i64, f: impl FnOnce(&mut HashMap<K, V>) -> T) -> T {
        let mut all = self.by_db.lock().unwrap_or_else(|e| e.into_inner());
        let (at, values) = all
            .entry(db.to_string())
            .or_insert_with(|| (version, HashMap::new()));
        // Keys such as credentials grow with use, not with the catalogue: past the bound the
        // rows are read again rather than memory growing without end.
        if *at != version || values.len() >= MAX_KEPT {
            *at = version;
            values.clear();
        }
        f(values)
    }
}
