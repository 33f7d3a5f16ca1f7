//! Changing the catalogue. Each public function validates against the stored catalogue, writes,
//! and appends its event in the caller's transaction; a failed check writes nothing.

use chrono::{DateTime, Utc};
use serde_json::json;
use yichuang_domain::catalogue::{
    Bundle, Department, Known, Region, ServiceItem, validate_bundle, validate_department,
    validate_item, validate_region,
};
use yichuang_domain::{Error, Result};

use super::codec::{json_text, name_of};
use super::read::{Entity, exists, load_bundle, load_bundles_of_item, load_item, load_regions};
use super::search::{grams, search_text};
use super::{BundleRecord, Conn, ItemRecord};
use crate::events::{self, NewEvent};
use crate::{Tx, db_err, micros, tx_run};

/// Who changes the catalogue, and when: every write records its event with these.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Audit<'a> {
    pub actor: &'a str,
    pub now: DateTime<Utc>,
}

impl Audit<'_> {
    /// Appends the event `kind` about `code`. Kinds are `<subject>_<verb>` (`item_updated`), so
    /// the subject type is the part before the first underscore.
    pub async fn record(
        &self,
        tx: &mut Tx,
        kind: &str,
        code: &str,
        payload: serde_json::Value,
    ) -> Result<()> {
        let subject_type = kind.split('_').next().unwrap_or(kind);
        events::append(
            tx,
            self.now,
            NewEvent {
                actor: self.actor,
                kind,
                subject_type,
                subject_id: code,
                payload,
            },
        )
        .await
        .map(|_| ())
    }
}

fn duplicate(what: &str, code: &str) -> Error {
    Error::conflict("duplicate_code", format!("{what}编码 {code} 已存在"))
        .field("code", "编码已被使用")
}

/// The record changed since the editor loaded it; `current` when it is known.
fn stale(what: &str, current: Option<i64>) -> Error {
    let e = Error::conflict(
        "stale_version",
        format!("该{what}已被他人修改，请刷新后重新编辑"),
    );
    match current {
        Some(v) => e.field("version", format!("当前版本为 {v}")),
        None => e,
    }
}

pub async fn create_region(tx: &mut Tx, r: &Region, actor: &str, now: DateTime<Utc>) -> Result<()> {
    let audit = Audit { actor, now };
    let stored = load_regions(&mut Conn::Tx(tx)).await?;
    let mut known = Known::default();
    for s in &stored {
        known.regions.insert(&s.code, s.level);
    }
    validate_region(r, &known)?;
    if known.regions.contains_key(r.code.as_str()) {
        return Err(duplicate("区域", &r.code));
    }
    insert_region(tx, r, now).await?;
    audit
        .record(tx, "region_created", &r.code, json!({ "after": r }))
        .await
}

pub(crate) async fn insert_region(tx: &mut Tx, r: &Region, now: DateTime<Utc>) -> Result<()> {
    tx_run!(tx, |c| sqlx::query(
        "INSERT INTO regions (code, name, parent, level, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5)"
    )
    .bind(&r.code)
    .bind(&r.name)
    .bind(&r.parent)
    .bind(name_of(&r.level))
    .bind(micros(now))
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected());
    // The tree decides whose local days a region's calendar counts (R-CALENDAR).
    crate::calendar::bump(tx).await
}

pub(crate) async fn update_region(tx: &mut Tx, r: &Region, now: DateTime<Utc>) -> Result<()> {
    tx_run!(tx, |c| sqlx::query(
        "UPDATE regions SET name = $2, parent = $3, level = $4, updated_at = $5 WHERE code = $1"
    )
    .bind(&r.code)
    .bind(&r.name)
    .bind(&r.parent)
    .bind(name_of(&r.level))
    .bind(micros(now))
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected());
    crate::calendar::bump(tx).await
}

pub async fn create_department(
    tx: &mut Tx,
    d: &Department,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let audit = Audit { actor, now };
    let mut known = Known::default();
    if let Some(region) = d.region.as_deref()
        && exists(&mut Conn::Tx(tx), Entity::Region, region).await?
    {
        // The level does not matter for a department's reference.
        known
            .regions
            .insert(region, yichuang_domain::catalogue::RegionLevel::Village);
    }
    validate_department(d, &known)?;
    if exists(&mut Conn::Tx(tx), Entity::Department, &d.code).await? {
        return Err(duplicate("部门", &d.code));
    }
    insert_department(tx, d, now).await?;
    // Department names are kept against the change counter (a certificate names its issuer).
    crate::calendar::bump(tx).await?;
    audit
        .record(tx, "department_created", &d.code, json!({ "after": d }))
        .await
}

pub(crate) async fn insert_department(
    tx: &mut Tx,
    d: &Department,
    now: DateTime<Utc>,
) -> Result<()> {
    tx_run!(tx, |c| {
        sqlx::query(
        "INSERT INTO departments (code, name, region, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)"
    )
    .bind(&d.code)
    .bind(&d.name)
    .bind(&d.region)
    .bind(micros(now))
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected()
    });
    Ok(())
}

pub(crate) async fn update_department(
    tx: &mut Tx,
    d: &Department,
    now: DateTime<Utc>,
) -> Result<()> {
    tx_run!(tx, |c| sqlx::query(
        "UPDATE departments SET name = $2, region = $3, updated_at = $4 WHERE code = $1"
    )
    .bind(&d.code)
    .bind(&d.name)
    .bind(&d.region)
    .bind(micros(now))
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected());
    Ok(())
}

/// Validates an item against the stored departments (within the transaction).
async fn check_item(tx: &mut Tx, item: &ServiceItem) -> Result<()> {
    let mut known = Known::default();
    if !item.department.is_empty()
        && exists(&mut Conn::Tx(tx), Entity::Department, &item.department).await?
    {
        known.departments.insert(&item.department);
    }
    validate_item(item, &known)
}

pub async fn create_item(
    tx: &mut Tx,
    item: &ServiceItem,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<ItemRecord> {
    let audit = Audit { actor, now };
    check_item(tx, item).await?;
    if exists(&mut Conn::Tx(tx), Entity::Item, &item.code).await? {
        return Err(duplicate("事项", &item.code));
    }
    insert_item(tx, item, now).await?;
    // Items are kept against the change counter (`read::item`): a code looked up before it
    // existed was kept as unknown.
    crate::calendar::bump(tx).await?;
    audit
        .record(
            tx,
            "item_created",
            &item.code,
            json!({ "after": item, "version": 1 }),
        )
        .await?;
    Ok(ItemRecord {
        item: item.clone(),
        active: true,
        version: 1,
        created_at: now,
        updated_at: now,
    })
}

/// Replaces an item's elements as a whole (its code stays). `expected_version` is the version
/// the editor started from: if someone changed the item since, nothing is written (409).
/// Submitting what is already stored changes nothing and records nothing.
pub async fn replace_item(
    tx: &mut Tx,
    code: &str,
    item: &ServiceItem,
    expected_version: i64,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<ItemRecord> {
    let audit = Audit { actor, now };
    let Some(before) = load_item(&mut Conn::Tx(tx), code).await? else {
        return Err(item_not_found(code));
    };
    if item.code != code {
        return Err(Error::validation(vec![]).field("code", "事项编码不能修改"));
    }
    check_item(tx, item).await?;
    if before.version != expected_version {
        return Err(stale("事项", Some(before.version)));
    }
    if before.item == *item {
        return Ok(before);
    }
    let version = update_item(tx, item, before.active, before.version, now).await?;
    crate::calendar::bump(tx).await?;
    audit
        .record(
            tx,
            "item_updated",
            code,
            json!({ "before": before.item, "after": item, "version": version }),
        )
        .await?;
    Ok(ItemRecord {
        item: item.clone(),
        active: before.active,
        version,
        created_at: before.created_at,
        updated_at: now,
    })
}

pub fn item_not_found(code: &str) -> Error {
    Error::not_found("item_not_found", format!("事项 {code} 不存在"))
}

/// Retires (停用) or reactivates an item. A retired item keeps its guide and history but takes
/// no new applications; an item that belongs to a bundle cannot be retired until it is taken
/// out, so a bundle never points at a retired item.
pub async fn set_item_active(
    tx: &mut Tx,
    code: &str,
    active: bool,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<ItemRecord> {
    let audit = Audit { actor, now };
    let Some(mut record) = load_item(&mut Conn::Tx(tx), code).await? else {
        return Err(item_not_found(code));
    };
    if record.active == active {
        return Ok(record);
    }
    if !active {
        let bundles = load_bundles_of_item(&mut Conn::Tx(tx), code).await?;
        if let Some((b, name)) = bundles.first() {
            return Err(Error::conflict(
                "item_in_bundle",
                format!("事项 {code} 属于一件事「{name}」（{b}），请先将其从该一件事中移出再停用"),
            ));
        }
    }
    let version = tx_run!(tx, |c| {
        sqlx::query_scalar(
        "UPDATE items SET active = $2, version = version + 1, updated_at = $3 WHERE code = $1 RETURNING version"
    )
    .bind(code)
    .bind(active)
    .bind(micros(now))
    .fetch_one(c)
    .await
    .map_err(db_err)?
    });
    audit.record(tx, if active {
            "item_reactivated"
        } else {
            "item_retired"
        }, code, json!({ "before": {"active": !active}, "after": {"active": active}, "version": version })).await?;
    // Items are kept against the change counter (`read::item`).
    crate::calendar::bump(tx).await?;
    record.active = active;
    record.version = version;
    record.updated_at = now;
    Ok(record)
}

/// The scalar columns of an item, in the order both the INSERT and the UPDATE bind them.
struct ItemColumns<'a> {
    item: &'a ServiceItem,
    item_type: String,
    kind: String,
    situations: String,
    special_procedures: String,
    search_text: String,
    result: String,
}

impl<'a> ItemColumns<'a> {
    fn new(item: &'a ServiceItem) -> Self {
        ItemColumns {
            item,
            item_type: name_of(&item.item_type),
            kind: name_of(&item.kind),
            situations: json_text(&item.situations),
            special_procedures: json_text(&item.special_procedures),
            search_text: search_text(&item.code, &item.name),
            result: json_text(&item.result),
        }
    }
}

/// Binds `$1..$19` of the item statements.
macro_rules! bind_item {
    ($q:expr, $cols:expr) => {{
        let cols = $cols;
        let it = cols.item;
        $q.bind(&it.code)
            .bind(&it.name)
            .bind(&it.department)
            .bind(&cols.item_type)
            .bind(&cols.kind)
            .bind(i64::from(it.statutory_limit_days))
            .bind(i64::from(it.committed_limit_days))
            .bind(&it.legal_basis)
            .bind(&it.conditions)
            .bind(&it.fee)
            .bind(i64::from(it.on_site_visits))
            .bind(it.online)
            .bind(it.deemed_approval)
            .bind(&it.process_description)
            .bind(&it.consult_phone)
            .bind(&it.location)
            .bind(&cols.situations)
            .bind(&cols.special_procedures)
            .bind(&cols.search_text)
    }};
}

/// Inserts a new, active item at version 1 with its materials and search grams.
pub(crate) async fn insert_item(
    tx: &mut Tx,
    item: &ServiceItem,
    now: DateTime<Utc>,
) -> Result<i64> {
    let cols = ItemColumns::new(item);
    let id: i64 = tx_run!(tx, |c| bind_item!(
        sqlx::query_scalar(
            "INSERT INTO items (code, name, department, item_type, kind, statutory_limit_days, \
             committed_limit_days, legal_basis, conditions, fee, on_site_visits, online, \
             deemed_approval, process_description, consult_phone, location, situations, \
             special_procedures, search_text, active, version, created_at, updated_at, result) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
             $18, $19, TRUE, 1, $20, $20, $21) RETURNING id"
        ),
        &cols
    )
    .bind(micros(now))
    .bind(&cols.result)
    .fetch_one(c)
    .await
    .map_err(db_err)?);
    insert_materials(tx, id, item).await?;
    insert_grams(tx, id, &cols.search_text).await?;
    Ok(id)
}

/// Rewrites an item whose stored version is `version`, setting `active`; returns the new
/// version. A concurrent change since `version` was read makes this a 409.
pub(crate) async fn update_item(
    tx: &mut Tx,
    item: &ServiceItem,
    active: bool,
    version: i64,
    now: DateTime<Utc>,
) -> Result<i64> {
    let cols = ItemColumns::new(item);
    let row: Option<(i64, i64)> = tx_run!(tx, |c| bind_item!(
        sqlx::query_as(
            "UPDATE items SET name = $2, department = $3, item_type = $4, kind = $5, \
             statutory_limit_days = $6, committed_limit_days = $7, legal_basis = $8, \
             conditions = $9, fee = $10, on_site_visits = $11, online = $12, \
             deemed_approval = $13, process_description = $14, consult_phone = $15, \
             location = $16, situations = $17, special_procedures = $18, search_text = $19, \
             active = $20, version = version + 1, updated_at = $21, result = $23 \
             WHERE code = $1 AND version = $22 RETURNING id, version"
        ),
        &cols
    )
    .bind(active)
    .bind(micros(now))
    .bind(version)
    .bind(&cols.result)
    .fetch_optional(c)
    .await
    .map_err(db_err)?);
    let Some((id, new_version)) = row else {
        return Err(stale("事项", None));
    };
    tx_run!(tx, |c| sqlx::query(
        "DELETE FROM item_materials WHERE item_id = $1"
    )
    .bind(id)
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected());
    insert_materials(tx, id, item).await?;
    tx_run!(tx, |c| sqlx::query(
        "DELETE FROM item_search_grams WHERE item_id = $1"
    )
    .bind(id)
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected());
    insert_grams(tx, id, &cols.search_text).await?;
    Ok(new_version)
}

/// `(…), (…)` with `columns` placeholders per row, numbered from `$1`.
fn values_rows(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|r| {
            let cells: Vec<String> = (1..=columns)
                .map(|c| format!("${}", r * columns + c))
                .collect();
            format!("({})", cells.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

async fn insert_materials(tx: &mut Tx, item_id: i64, item: &ServiceItem) -> Result<()> {
    if item.materials.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO item_materials (item_id, position, code, name, form, copies, medium, \
         template, required_if, note) VALUES {}",
        values_rows(item.materials.len(), 10)
    );
    let coded: Vec<(String, String, Option<String>)> = item
        .materials
        .iter()
        .map(|m| {
            (
                name_of(&m.form),
                name_of(&m.medium),
                m.required_if.as_ref().map(json_text),
            )
        })
        .collect();
    tx_run!(tx, |c| {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
        for (pos, (m, (form, medium, required_if))) in item.materials.iter().zip(&coded).enumerate()
        {
            q = q
                .bind(item_id)
                .bind(pos as i64)
                .bind(&m.code)
                .bind(&m.name)
                .bind(form)
                .bind(i64::from(m.copies))
                .bind(medium)
                .bind(&m.template)
                .bind(required_if)
                .bind(&m.note);
        }
        q.execute(c).await.map_err(db_err)?.rows_affected()
    });
    Ok(())
}

async fn insert_grams(tx: &mut Tx, item_id: i64, text: &str) -> Result<()> {
    let grams: Vec<String> = grams(text).into_iter().collect();
    if grams.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO item_search_grams (gram, item_id) VALUES {}",
        values_rows(grams.len(), 2)
    );
    tx_run!(tx, |c| {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
        for g in &grams {
            q = q.bind(g).bind(item_id);
        }
        q.execute(c).await.map_err(db_err)?.rows_affected()
    });
    Ok(())
}

/// Validates a bundle against the stored items (within the transaction).
async fn check_bundle(tx: &mut Tx, b: &Bundle) -> Result<()> {
    let mut members = Vec::new();
    for m in &b.items {
        if let Some(r) = load_item(&mut Conn::Tx(tx), &m.item).await? {
            members.push(r);
        }
    }
    let mut known = Known::default();
    for r in &members {
        known.items.insert(&r.item.code, &r.item);
        if !r.active {
            known.retired.insert(&r.item.code);
        }
    }
    validate_bundle(b, &known)
}

pub async fn create_bundle(
    tx: &mut Tx,
    b: &Bundle,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<BundleRecord> {
    let audit = Audit { actor, now };
    check_bundle(tx, b).await?;
    if exists(&mut Conn::Tx(tx), Entity::Bundle, &b.code).await? {
        return Err(duplicate("一件事", &b.code));
    }
    insert_bundle(tx, b, now).await?;
    audit
        .record(
            tx,
            "bundle_created",
            &b.code,
            json!({ "after": b, "version": 1 }),
        )
        .await?;
    Ok(BundleRecord {
        bundle: b.clone(),
        version: 1,
        updated_at: now,
    })
}

/// Replaces a bundle as a whole, with the same optimistic version check as items.
pub async fn replace_bundle(
    tx: &mut Tx,
    code: &str,
    b: &Bundle,
    expected_version: i64,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<BundleRecord> {
    let audit = Audit { actor, now };
    let Some(before) = load_bundle(&mut Conn::Tx(tx), code).await? else {
        return Err(bundle_not_found(code));
    };
    if b.code != code {
        return Err(Error::validation(vec![]).field("code", "一件事编码不能修改"));
    }
    check_bundle(tx, b).await?;
    if before.version != expected_version {
        return Err(stale("一件事", Some(before.version)));
    }
    if before.bundle == *b {
        return Ok(before);
    }
    let version = update_bundle(tx, b, before.version, now).await?;
    audit
        .record(
            tx,
            "bundle_updated",
            code,
            json!({ "before": before.bundle, "after": b, "version": version }),
        )
        .await?;
    Ok(BundleRecord {
        bundle: b.clone(),
        version,
        updated_at: now,
    })
}

pub fn bundle_not_found(code: &str) -> Error {
    Error::not_found("bundle_not_found", format!("一件事 {code} 不存在"))
}

pub(crate) async fn insert_bundle(tx: &mut Tx, b: &Bundle, now: DateTime<Utc>) -> Result<()> {
    let id: i64 = tx_run!(tx, |c| sqlx::query_scalar(
        "INSERT INTO bundles (code, name, description, version, created_at, updated_at) \
         VALUES ($1, $2, $3, 1, $4, $4) RETURNING id"
    )
    .bind(&b.code)
    .bind(&b.name)
    .bind(&b.description)
    .bind(micros(now))
    .fetch_one(c)
    .await
    .map_err(db_err)?);
    insert_bundle_parts(tx, id, b).await
}

pub(crate) async fn update_bundle(
    tx: &mut Tx,
    b: &Bundle,
    version: i64,
    now: DateTime<Utc>,
) -> Result<i64> {
    let row: Option<(i64, i64)> = tx_run!(tx, |c| {
        sqlx::query_as(
        "UPDATE bundles SET name = $2, description = $3, version = version + 1, updated_at = $4 \
         WHERE code = $1 AND version = $5 RETURNING id, version"
    )
    .bind(&b.code)
    .bind(&b.name)
    .bind(&b.description)
    .bind(micros(now))
    .bind(version)
    .fetch_optional(c)
    .await
    .map_err(db_err)?
    });
    let Some((id, new_version)) = row else {
        return Err(stale("一件事", None));
    };
    tx_run!(tx, |c| sqlx::query(
        "DELETE FROM bundle_items WHERE bundle_id = $1"
    )
    .bind(id)
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected());
    tx_run!(tx, |c| sqlx::query(
        "DELETE FROM bundle_shared_materials WHERE bundle_id = $1"
    )
    .bind(id)
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected());
    insert_bundle_parts(tx, id, b).await?;
    Ok(new_version)
}

async fn insert_bundle_parts(tx: &mut Tx, id: i64, b: &Bundle) -> Result<()> {
    for (pos, m) in b.items.iter().enumerate() {
        tx_run!(tx, |c| {
            sqlx::query(
            "INSERT INTO bundle_items (bundle_id, position, item, prerequisites) VALUES ($1, $2, $3, $4)"
        )
        .bind(id)
        .bind(pos as i64)
        .bind(&m.item)
        .bind(json_text(&m.after))
        .execute(c)
        .await
        .map_err(db_err)?
        .rows_affected()
        });
    }
    for (pos, s) in b.shared_materials.iter().enumerate() {
        tx_run!(tx, |c| sqlx::query(
            "INSERT INTO bundle_shared_materials (bundle_id, position, code, name, covers) \
             VALUES ($1, $2, $3, $4, $5)"
        )
        .bind(id)
        .bind(pos as i64)
        .bind(&s.code)
        .bind(&s.name)
        .bind(json_text(&s.covers))
        .execute(c)
        .await
        .map_err(db_err)?
        .rows_affected());
    }
    Ok(())
}
