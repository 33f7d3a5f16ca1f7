//! The service catalogue in the database: regions, departments, items with their materials, and
//! bundles. Writes take a [`Tx`] and append their event in it; reads take a [`Db`], or the
//! transaction itself (through [`Conn`]) when a write must see what it is about to change.
//!
//! Every write validates with the domain's rules first, with the stored catalogue as the
//! context for references, so the API, the importer and the demo loader refuse the same things
//! with the same messages.

mod codec;
mod import;
mod read;
mod search;
mod write;

use chrono::{DateTime, Utc};
use yichuang_domain::catalogue::{Bundle, ItemKind, ItemType, ServiceItem};

use crate::{Db, Tx};

pub use import::{ImportCounts, ImportSummary, check_import, import_catalogue};
pub use read::{
    ItemQuery, ItemStatus, bundle, bundles, bundles_of_item, department, department_exists,
    departments, export_catalogue, item, list_items, region_exists, regions,
};
pub use write::{bundle_not_found, item_not_found};
pub use write::{
    create_bundle, create_department, create_item, create_region, replace_bundle, replace_item,
    set_item_active,
};

/// An item as stored: the catalogue entry plus its lifecycle.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemRecord {
    pub item: ServiceItem,
    /// Retired (停用) items keep their guide and history but take no new applications.
    pub active: bool,
    /// Incremented on every change; a replace must name the version it was based on.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BundleRecord {
    pub bundle: Bundle,
    pub version: i64,
    pub updated_at: DateTime<Utc>,
}

/// One line of an item list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemSummary {
    pub code: String,
    pub name: String,
    pub department: String,
    pub department_name: String,
    pub item_type: ItemType,
    pub kind: ItemKind,
    pub statutory_limit_days: u32,
    pub committed_limit_days: u32,
    pub online: bool,
    pub active: bool,
}

/// Where a read runs: on the pool, or inside a write transaction so that validation sees the
/// rows the write is about to change (on SQLite the transaction already holds the write lock).
pub enum Conn<'a> {
    Db(&'a Db),
    Tx(&'a mut Tx),
}

impl<'a> From<&'a Db> for Conn<'a> {
    fn from(db: &'a Db) -> Self {
        Conn::Db(db)
    }
}

impl<'a> From<&'a mut Tx> for Conn<'a> {
    fn from(tx: &'a mut Tx) -> Self {
        Conn::Tx(tx)
    }
}

/// Like `db_run!`, for a [`Conn`]: the body is expanded for both backends and both kinds of
/// connection, so it must run exactly one query on `$c`.
macro_rules! conn_run {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::catalogue::Conn::Db(__db) => $crate::db_run!(__db, |$c| $body),
            $crate::catalogue::Conn::Tx(__tx) => $crate::tx_run!(__tx, |$c| $body),
        }
    };
}
pub(crate) use conn_run;

#[cfg(test)]
mod tests;
