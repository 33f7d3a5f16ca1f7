//! Importing a whole catalogue: all or nothing, upserting by code.
//!
//! The file is validated as a whole against itself and what is stored, and everything stored
//! that the file would break (a stored bundle whose material the file removes, a stored region
//! under a region whose level the file changes) is reported too; only then is anything written,
//! in one transaction. A record equal to the stored one is left alone, so importing the same
//! file twice changes nothing and records no events the second time.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use yichuang_domain::catalogue::{
    Catalogue, Department, Known, Region, validate_bundle, validate_catalogue, validate_region,
};
use yichuang_domain::{Error, FieldError, Result};

use super::read::{load_bundles, load_departments, load_items, load_regions};
use super::write::{
    Audit, insert_bundle, insert_department, insert_item, insert_region, update_bundle,
    update_department, update_item, update_region,
};
use super::{BundleRecord, Conn, ItemRecord};
use crate::{Db, Tx};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ImportCounts {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    pub regions: ImportCounts,
    pub departments: ImportCounts,
    pub items: ImportCounts,
    pub bundles: ImportCounts,
}

impl ImportSummary {
    pub fn changed(&self) -> bool {
        [self.regions, self.departments, self.items, self.bundles]
            .iter()
            .any(|c| c.created + c.updated > 0)
    }
}

/// What the import does to one record.
enum Change<'a, T> {
    Create,
    Update(&'a T),
    Keep,
}

fn change<'a, T: PartialEq>(stored: Option<&'a T>, new: &T) -> Change<'a, T> {
    match stored {
        None => Change::Create,
        Some(s) if s == new => Change::Keep,
        Some(s) => Change::Update(s),
    }
}

/// Imports `catalogue` in one transaction (see the module docs). `actor` is the event actor,
/// e.g. `admin:zhang` or `system:demo`. This is what the API, the command line and the demo
/// loader call.
pub async fn import_catalogue(
    db: &Db,
    catalogue: &Catalogue,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<ImportSummary> {
    let mut tx = db.begin().await?;
    let stored = Stored::load(&mut Conn::Tx(&mut tx)).await?;
    check(catalogue, &stored)?;
    let summary = apply(&mut tx, catalogue, &stored, actor, now).await?;
    tx.commit().await?;
    Ok(summary)
}

/// Validates `catalogue` as an import would, writing nothing: for reporting the validation
/// problems of a file that also has problems of its own (unreadable cells).
pub async fn check_import(db: &Db, catalogue: &Catalogue) -> Result<()> {
    let stored = Stored::load(&mut Conn::Db(db)).await?;
    check(catalogue, &stored)
}

/// What the database held when the import began.
struct Stored {
    regions: Vec<Region>,
    departments: Vec<Department>,
    items: Vec<ItemRecord>,
    bundles: Vec<BundleRecord>,
}

impl Stored {
    async fn load(conn: &mut Conn<'_>) -> Result<Stored> {
        Ok(Stored {
            regions: load_regions(conn).await?,
            departments: load_departments(conn).await?,
            items: load_items(conn).await?,
            bundles: load_bundles(conn).await?,
        })
    }
}

async fn apply(
    tx: &mut Tx,
    catalogue: &Catalogue,
    s: &Stored,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<ImportSummary> {
    let audit = Audit { actor, now };
    let mut summary = ImportSummary::default();

    let stored: HashMap<&str, &Region> = s.regions.iter().map(|r| (r.code.as_str(), r)).collect();
    let mut ordered: Vec<&Region> = catalogue.regions.iter().collect();
    // Parents before children: a parent's level is always higher up.
    ordered.sort_by_key(|r| r.level);
    for r in ordered {
        match change(stored.get(r.code.as_str()).copied(), r) {
            Change::Create => {
                insert_region(tx, r, now).await?;
                audit
                    .record(tx, "region_created", &r.code, json!({ "after": r }))
                    .await?;
                summary.regions.created += 1;
            }
            Change::Update(before) => {
                update_region(tx, r, now).await?;
                let payload = json!({ "before": before, "after": r });
                audit.record(tx, "region_updated", &r.code, payload).await?;
                summary.regions.updated += 1;
            }
            Change::Keep => summary.regions.unchanged += 1,
        }
    }

    let stored: HashMap<&str, _> = s.departments.iter().map(|d| (d.code.as_str(), d)).collect();
    for d in &catalogue.departments {
        match change(stored.get(d.code.as_str()).copied(), d) {
            Change::Create => {
                insert_department(tx, d, now).await?;
                let payload = json!({ "after": d });
                audit
                    .record(tx, "department_created", &d.code, payload)
                    .await?;
                summary.departments.created += 1;
            }
            Change::Update(before) => {
                update_department(tx, d, now).await?;
                let payload = json!({ "before": before, "after": d });
                audit
                    .record(tx, "department_updated", &d.code, payload)
                    .await?;
                summary.departments.updated += 1;
            }
            Change::Keep => summary.departments.unchanged += 1,
        }
    }

    let stored: HashMap<&str, &ItemRecord> =
        s.items.iter().map(|r| (r.item.code.as_str(), r)).collect();
    for item in &catalogue.items {
        let record = stored.get(item.code.as_str()).copied();
        match record {
            None => {
                insert_item(tx, item, now).await?;
                let payload = json!({ "after": item, "version": 1 });
                audit
                    .record(tx, "item_created", &item.code, payload)
                    .await?;
                summary.items.created += 1;
            }
            Some(r) if r.active && r.item == *item => summary.items.unchanged += 1,
            Some(r) => {
                // Importing an item puts it (back) in force.
                let version = update_item(tx, item, true, r.version, now).await?;
                let (kind, payload) = if r.item == *item {
                    (
                        "item_reactivated",
                        json!({ "before": {"active": false}, "after": {"active": true}, "version": version }),
                    )
                } else {
                    (
                        "item_updated",
                        json!({ "before": r.item, "after": item, "version": version, "active_before": r.active }),
                    )
                };
                audit.record(tx, kind, &item.code, payload).await?;
                summary.items.updated += 1;
            }
        }
    }

    let stored: HashMap<&str, &BundleRecord> = s
        .bundles
        .iter()
        .map(|b| (b.bundle.code.as_str(), b))
        .collect();
    for b in &catalogue.bundles {
        let record = stored.get(b.code.as_str()).copied();
        match change(record.map(|r| &r.bundle), b) {
            Change::Create => {
                insert_bundle(tx, b, now).await?;
                let payload = json!({ "after": b, "version": 1 });
                audit.record(tx, "bundle_created", &b.code, payload).await?;
                summary.bundles.created += 1;
            }
            Change::Update(before) => {
                let version = record.map_or(1, |r| r.version);
                let version = update_bundle(tx, b, version, now).await?;
                let payload = json!({ "before": before, "after": b, "version": version });
                audit.record(tx, "bundle_updated", &b.code, payload).await?;
                summary.bundles.updated += 1;
            }
            Change::Keep => summary.bundles.unchanged += 1,
        }
    }

    if summary.changed() {
        // Once for the whole import: items and department names are kept against the change
        // counter (`read::item`, `issuance::department_name`).
        crate::calendar::bump(tx).await?;
        let payload = serde_json::to_value(summary).unwrap_or_default();
        audit
            .record(tx, "catalogue_imported", "catalogue", payload)
            .await?;
    }
    Ok(summary)
}

/// Validates the file against itself and the stored catalogue, and the stored records the file
/// does not mention against the result, reporting every problem at once.
fn check(catalogue: &Catalogue, s: &Stored) -> Result<()> {
    let (regions, items, bundles) = (&s.regions, &s.items, &s.bundles);
    let mut stored = Known::default();
    for r in regions {
        stored.regions.insert(&r.code, r.level);
    }
    for r in items {
        stored.items.insert(&r.item.code, &r.item);
        if !r.active {
            stored.retired.insert(&r.item.code);
        }
    }
    // Departments are never removed and an item only names its department, so the stored
    // departments need no second look; they are only needed as reference targets.
    let mut fields: Vec<FieldError> = match validate_catalogue(catalogue, &stored) {
        Ok(()) => Vec::new(),
        Err(e) => e.fields,
    };
    let after = stored.with_catalogue(catalogue);
    let regions_in_file: HashSet<&str> =
        catalogue.regions.iter().map(|r| r.code.as_str()).collect();
    let bundles_in_file: HashSet<&str> =
        catalogue.bundles.iter().map(|b| b.code.as_str()).collect();
    for r in regions
        .iter()
        .filter(|r| !regions_in_file.contains(r.code.as_str()))
    {
        if let Err(e) = validate_region(r, &after) {
            fields.extend(stored_problems("区域", &r.code, e));
        }
    }
    for b in bundles
        .iter()
        .filter(|b| !bundles_in_file.contains(b.bundle.code.as_str()))
    {
        if let Err(e) = validate_bundle(&b.bundle, &after) {
            fields.extend(stored_problems("一件事", &b.bundle.code, e));
        }
    }
    if fields.is_empty() {
        Ok(())
    } else {
        Err(Error::validation(fields))
    }
}

/// A problem the import would cause in a record that is stored but not in the file.
fn stored_problems(what: &str, code: &str, e: Error) -> Vec<FieldError> {
    e.fields
        .into_iter()
        .map(|f| FieldError {
            field: format!("{what} {code}"),
            message: format!("（已有记录，导入后将失效）{}：{}", f.field, f.message),
        })
        .collect()
}
