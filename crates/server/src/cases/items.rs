//! Where the case engine gets its items and processes.
//!
//! Items: until the catalogue service is merged, the item a case is received for is the latest
//! version recorded in `item_versions` ([`publish_item`] records one); afterwards [`current_item`]
//! re-points to the catalogue and still records the version the case keeps.
//! Processes: the item's own saved definition (process code = item code), else the default
//! process 审核 → 决定 → 制证出件.

use chrono::{DateTime, Utc};
use yichuang_domain::case::{Case, ProcessDefinition, default_process};
use yichuang_domain::catalogue::ServiceItem;
use yichuang_domain::{Error, Result};
use yichuang_store::Db;
use yichuang_store::cases::definitions;

/// Records an item version cases can be received for; the same content keeps its version.
pub async fn publish_item(db: &Db, item: &ServiceItem, now: DateTime<Utc>) -> Result<i64> {
    let mut tx = db.begin().await?;
    let v = definitions::save_item(&mut tx, item, now).await?;
    tx.commit().await?;
    Ok(v)
}

/// The item as new cases receive it, with its version.
pub async fn current_item(db: &Db, code: &str) -> Result<(i64, ServiceItem)> {
    definitions::latest_item(db, code.trim())
        .await?
        .ok_or_else(|| {
            Error::invalid("unknown_item", "事项不存在")
                .field("item", format!("没有编码为“{}”的事项", code.trim()))
        })
}

/// The item version a case was received for.
pub async fn item_of(db: &Db, code: &str, version: i64) -> Result<ServiceItem> {
    definitions::item_version(db, code, version)
        .await?
        .ok_or_else(|| Error::internal(format!("item {code} v{version} missing")))
}

/// The process a new case of `item` runs.
pub async fn process_for(db: &Db, item: &ServiceItem) -> Result<ProcessDefinition> {
    Ok(definitions::latest_process(db, &item.code)
        .await?
        .unwrap_or_else(|| default_process(item.committed_limit_days)))
}

/// The process version a running case keeps.
pub async fn process_of(db: &Db, case: &Case) -> Result<ProcessDefinition> {
    let default = default_process(case.committed_limit_days);
    if case.process_code == default.code && case.process_version == default.version {
        return Ok(default);
    }
    definitions::process_version(db, &case.process_code, i64::from(case.process_version))
        .await?
        .ok_or_else(|| {
            Error::internal(format!(
                "process {} v{} missing",
                case.process_code, case.process_version
            ))
        })
}
