//! Where the case engine gets its items, bundles and processes.
//!
//! Items and bundles come from the catalogue (active items only). The version a case is
//! received for is recorded in `item_versions` (and a bundle's in `bundle_versions`) in the
//! receiving transaction, so a running case keeps its item whatever the catalogue says later.
//! Processes: the item's own saved definition (process code = item code), else the default
//! process 审核 → 决定 → 制证出件.

use yichuang_domain::case::{Case, ProcessDefinition, default_process};
use yichuang_domain::catalogue::{Bundle, ServiceItem};
use yichuang_domain::{Error, Result};
use yichuang_store::cases::definitions;
use yichuang_store::{Db, catalogue};

/// The item as new cases receive it, with the catalogue's version of it (retired items take
/// no applications).
pub async fn current_item(db: &Db, code: &str) -> Result<(i64, ServiceItem)> {
    let code = code.trim();
    let unknown = || {
        Error::invalid("unknown_item", "事项不存在")
            .field("item", format!("没有编码为“{code}”的事项"))
    };
    let record = catalogue::item(db, code).await?.ok_or_else(unknown)?;
    if !record.active {
        return Err(Error::invalid("item_retired", "事项已停用").field(
            "item",
            format!("事项“{}”已停用，不再受理新的申请", record.item.name),
        ));
    }
    Ok((record.version, record.item))
}

/// The item version a case was received for.
pub async fn item_of(db: &Db, code: &str, version: i64) -> Result<ServiceItem> {
    definitions::item_version(db, code, version)
        .await?
        .ok_or_else(|| Error::internal(format!("item {code} v{version} missing")))
}

/// The bundle as new bundle cases receive it, with the catalogue's version of it.
pub async fn current_bundle(db: &Db, code: &str) -> Result<(i64, Bundle)> {
    let code = code.trim();
    catalogue::bundle(db, code)
        .await?
        .map(|r| (r.version, r.bundle))
        .ok_or_else(|| {
            Error::invalid("unknown_bundle", "一件事不存在")
                .field("bundle", format!("没有编码为“{code}”的一件事"))
        })
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

/// Every bundle of the catalogue as (code, name), for choices and for naming codes; none if
/// the catalogue cannot be read (a page then offers nothing rather than failing).
pub async fn bundle_names(db: &Db) -> Vec<(String, String)> {
    yichuang_store::catalogue::bundles(db)
        .await
        .map(|v| {
            v.into_iter()
                .map(|r| (r.bundle.code, r.bundle.name))
                .collect()
        })
        .unwrap_or_default()
}
