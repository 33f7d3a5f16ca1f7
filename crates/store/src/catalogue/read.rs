//! Reading the catalogue. Loading one item is two indexed queries (the row by its unique code,
//! its materials by item id); loading the whole catalogue is one query per table.

use std::collections::HashMap;

use yichuang_domain::Result;
use yichuang_domain::catalogue::{Catalogue, Department, MaterialRequirement, Region};

use super::codec::{
    BundleItemRow, BundleRow, DepartmentRow, ItemRow, MaterialRow, RegionRow, SharedMaterialRow,
    SummaryRow, item_columns,
};
use super::search::Filter;
use super::{BundleRecord, Conn, ItemRecord, ItemSummary, conn_run};
use crate::{Db, db_err, db_run};

pub async fn regions(db: &Db) -> Result<Vec<Region>> {
    load_regions(&mut Conn::Db(db)).await
}

/// Regions from the top of the tree down (by level, then code), so a parent always comes before
/// its children: the order an import can insert them in.
pub(crate) async fn load_regions(conn: &mut Conn<'_>) -> Result<Vec<Region>> {
    let rows: Vec<RegionRow> = conn_run!(conn, |c| sqlx::query_as(
        "SELECT code, name, parent, level FROM regions ORDER BY code"
    )
    .fetch_all(c)
    .await
    .map_err(db_err)?);
    let mut regions = rows
        .into_iter()
        .map(RegionRow::into_region)
        .collect::<Result<Vec<_>>>()?;
    regions.sort_by(|a, b| a.level.cmp(&b.level).then_with(|| a.code.cmp(&b.code)));
    Ok(regions)
}

pub async fn departments(db: &Db) -> Result<Vec<Department>> {
    load_departments(&mut Conn::Db(db)).await
}

pub(crate) async fn load_departments(conn: &mut Conn<'_>) -> Result<Vec<Department>> {
    let rows: Vec<DepartmentRow> = conn_run!(conn, |c| sqlx::query_as(
        "SELECT code, name, region FROM departments ORDER BY code"
    )
    .fetch_all(c)
    .await
    .map_err(db_err)?);
    Ok(rows
        .into_iter()
        .map(DepartmentRow::into_department)
        .collect())
}

pub async fn department(db: &Db, code: &str) -> Result<Option<Department>> {
    let row: Option<DepartmentRow> = db_run!(db, |c| sqlx::query_as(
        "SELECT code, name, region FROM departments WHERE code = $1"
    )
    .bind(code)
    .fetch_optional(c)
    .await
    .map_err(db_err)?);
    Ok(row.map(DepartmentRow::into_department))
}

/// Whether the region is in the region tree (halls hang from it), read where the caller is.
pub async fn region_exists(conn: &mut Conn<'_>, code: &str) -> Result<bool> {
    exists(conn, Entity::Region, code).await
}

pub async fn department_exists(db: &Db, code: &str) -> Result<bool> {
    exists(&mut Conn::Db(db), Entity::Department, code).await
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Entity {
    Region,
    Department,
    Item,
    Bundle,
}

/// Whether a region, department, item or bundle with this code exists.
pub(crate) async fn exists(conn: &mut Conn<'_>, entity: Entity, code: &str) -> Result<bool> {
    let sql = match entity {
        Entity::Region => "SELECT COUNT(*) FROM regions WHERE code = $1",
        Entity::Department => "SELECT COUNT(*) FROM departments WHERE code = $1",
        Entity::Item => "SELECT COUNT(*) FROM items WHERE code = $1",
        Entity::Bundle => "SELECT COUNT(*) FROM bundles WHERE code = $1",
    };
    let n: i64 = conn_run!(conn, |c| sqlx::query_scalar(sql)
        .bind(code)
        .fetch_one(c)
        .await
        .map_err(db_err)?);
    Ok(n > 0)
}

/// Items by code as last read, kept against the change counter, which every write of an item
/// moves in its transaction (`write::create_item`, `replace_item`, `set_item_active`, and an
/// import once): a receipt reads its item and materials from memory while the catalogue
/// stands (issue 9).
static ITEMS: crate::kept::Kept<String, Option<ItemRecord>> = crate::kept::Kept::new();

/// One item by code, active or retired.
pub async fn item(db: &Db, code: &str) -> Result<Option<ItemRecord>> {
    ITEMS
        .get_or_read(db, code.to_string(), load_item(&mut Conn::Db(db), code))
        .await
}

pub(crate) async fn load_item(conn: &mut Conn<'_>, code: &str) -> Result<Option<ItemRecord>> {
    let row: Option<ItemRow> = conn_run!(conn, |c| sqlx::query_as(concat!(
        "SELECT ",
        item_columns!(),
        " FROM items i WHERE i.code = $1"
    ))
    .bind(code)
    .fetch_optional(c)
    .await
    .map_err(db_err)?);
    let Some(row) = row else {
        return Ok(None);
    };
    let rows: Vec<MaterialRow> = conn_run!(conn, |c| sqlx::query_as(
        "SELECT item_id, code, name, form, copies, medium, template, required_if, note \
         FROM item_materials WHERE item_id = $1 ORDER BY position"
    )
    .bind(row.id)
    .fetch_all(c)
    .await
    .map_err(db_err)?);
    let materials = rows
        .into_iter()
        .map(MaterialRow::into_material)
        .collect::<Result<Vec<_>>>()?;
    row.into_record(materials).map(Some)
}

/// Every item, active and retired, in code order: two queries whatever the size.
pub(crate) async fn load_items(conn: &mut Conn<'_>) -> Result<Vec<ItemRecord>> {
    let rows: Vec<ItemRow> = conn_run!(conn, |c| sqlx::query_as(concat!(
        "SELECT ",
        item_columns!(),
        " FROM items i ORDER BY i.code"
    ))
    .fetch_all(c)
    .await
    .map_err(db_err)?);
    let material_rows: Vec<MaterialRow> = conn_run!(conn, |c| sqlx::query_as(
        "SELECT item_id, code, name, form, copies, medium, template, required_if, note \
         FROM item_materials ORDER BY item_id, position"
    )
    .fetch_all(c)
    .await
    .map_err(db_err)?);
    let mut by_item: HashMap<i64, Vec<MaterialRequirement>> = HashMap::new();
    for m in material_rows {
        by_item
            .entry(m.item_id)
            .or_default()
            .push(m.into_material()?);
    }
    rows.into_iter()
        .map(|r| {
            let materials = by_item.remove(&r.id).unwrap_or_default();
            r.into_record(materials)
        })
        .collect()
}

/// Which items a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ItemStatus {
    #[default]
    Active,
    Retired,
    All,
}

#[derive(Debug, Clone, Default)]
pub struct ItemQuery {
    /// Terms matched against code and name (see `search`).
    pub q: Option<String>,
    pub department: Option<String>,
    pub status: ItemStatus,
    pub offset: i64,
    pub limit: i64,
}

/// A page of items in code order, and how many match in all.
pub async fn list_items(db: &Db, query: &ItemQuery) -> Result<(i64, Vec<ItemSummary>)> {
    let mut f = Filter::new();
    match query.status {
        ItemStatus::Active => f.sql.push_str(" AND i.active = TRUE"),
        ItemStatus::Retired => f.sql.push_str(" AND i.active = FALSE"),
        ItemStatus::All => {}
    }
    if let Some(d) = query.department.as_deref().filter(|d| !d.is_empty()) {
        f.equals("i.department", d.to_string());
    }
    if let Some(q) = query.q.as_deref() {
        f.matches(q);
    }
    let count_sql = format!("SELECT COUNT(*) FROM items i WHERE {}", f.sql);
    let page_sql = format!(
        "SELECT i.code, i.name, i.department, d.name AS department_name, i.item_type, i.kind, \
         i.statutory_limit_days, i.committed_limit_days, i.online, i.active \
         FROM items i JOIN departments d ON d.code = i.department WHERE {} \
         ORDER BY i.code {} OFFSET {}",
        f.sql,
        crate::db::limit(query.limit),
        query.offset
    );
    let total: i64 = db_run!(db, |c| {
        let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(count_sql.clone()));
        for b in &f.binds {
            q = q.bind(b.clone());
        }
        q.fetch_one(c).await.map_err(db_err)?
    });
    let rows: Vec<SummaryRow> = db_run!(db, |c| {
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(page_sql.clone()));
        for b in &f.binds {
            q = q.bind(b.clone());
        }
        q.fetch_all(c).await.map_err(db_err)?
    });
    let items = rows
        .into_iter()
        .map(SummaryRow::into_summary)
        .collect::<Result<Vec<_>>>()?;
    Ok((total, items))
}

pub async fn bundle(db: &Db, code: &str) -> Result<Option<BundleRecord>> {
    load_bundle(&mut Conn::Db(db), code).await
}

pub(crate) async fn load_bundle(conn: &mut Conn<'_>, code: &str) -> Result<Option<BundleRecord>> {
    let row: Option<BundleRow> = conn_run!(conn, |c| sqlx::query_as(
        "SELECT id, code, name, description, version, updated_at FROM bundles WHERE code = $1"
    )
    .bind(code)
    .fetch_optional(c)
    .await
    .map_err(db_err)?);
    let Some(row) = row else {
        return Ok(None);
    };
    let members: Vec<BundleItemRow> = conn_run!(conn, |c| {
        sqlx::query_as(
        "SELECT bundle_id, item, prerequisites FROM bundle_items WHERE bundle_id = $1 ORDER BY position"
    )
    .bind(row.id)
    .fetch_all(c)
    .await
    .map_err(db_err)?
    });
    let shared: Vec<SharedMaterialRow> = conn_run!(conn, |c| {
        sqlx::query_as(
        "SELECT bundle_id, code, name, covers FROM bundle_shared_materials WHERE bundle_id = $1 ORDER BY position"
    )
    .bind(row.id)
    .fetch_all(c)
    .await
    .map_err(db_err)?
    });
    row.into_record(members, shared).map(Some)
}

pub async fn bundles(db: &Db) -> Result<Vec<BundleRecord>> {
    load_bundles(&mut Conn::Db(db)).await
}

pub(crate) async fn load_bundles(conn: &mut Conn<'_>) -> Result<Vec<BundleRecord>> {
    let rows: Vec<BundleRow> = conn_run!(conn, |c| sqlx::query_as(
        "SELECT id, code, name, description, version, updated_at FROM bundles ORDER BY code"
    )
    .fetch_all(c)
    .await
    .map_err(db_err)?);
    let members: Vec<BundleItemRow> = conn_run!(conn, |c| sqlx::query_as(
        "SELECT bundle_id, item, prerequisites FROM bundle_items ORDER BY bundle_id, position"
    )
    .fetch_all(c)
    .await
    .map_err(db_err)?);
    let shared: Vec<SharedMaterialRow> = conn_run!(conn, |c| {
        sqlx::query_as(
        "SELECT bundle_id, code, name, covers FROM bundle_shared_materials ORDER BY bundle_id, position"
    )
    .fetch_all(c)
    .await
    .map_err(db_err)?
    });
    let mut members_of: HashMap<i64, Vec<BundleItemRow>> = HashMap::new();
    for m in members {
        members_of.entry(m.bundle_id).or_default().push(m);
    }
    let mut shared_of: HashMap<i64, Vec<SharedMaterialRow>> = HashMap::new();
    for s in shared {
        shared_of.entry(s.bundle_id).or_default().push(s);
    }
    rows.into_iter()
        .map(|r| {
            let m = members_of.remove(&r.id).unwrap_or_default();
            let s = shared_of.remove(&r.id).unwrap_or_default();
            r.into_record(m, s)
        })
        .collect()
}

/// The codes and names of the bundles an item belongs to.
pub async fn bundles_of_item(db: &Db, item: &str) -> Result<Vec<(String, String)>> {
    load_bundles_of_item(&mut Conn::Db(db), item).await
}

pub(crate) async fn load_bundles_of_item(
    conn: &mut Conn<'_>,
    item: &str,
) -> Result<Vec<(String, String)>> {
    conn_run!(conn, |c| sqlx::query_as(
        "SELECT b.code, b.name FROM bundle_items m JOIN bundles b ON b.id = m.bundle_id \
         WHERE m.item = $1 ORDER BY b.code"
    )
    .bind(item)
    .fetch_all(c)
    .await
    .map_err(db_err))
}

/// The catalogue in force, as exchanged: every region, department and bundle, and the active
/// items. Retired items stay in the database with their history but are not part of the
/// catalogue a file carries (a bundle never contains one, see `set_item_active`).
///
/// Sorted by code byte for byte here rather than by `ORDER BY`, whose order follows the
/// database's collation (PostgreSQL's locale may ignore the `-` in codes): the same catalogue
/// gives the same file on either backend.
pub async fn export_catalogue(db: &Db) -> Result<Catalogue> {
    let mut conn = Conn::Db(db);
    let mut departments = load_departments(&mut conn).await?;
    departments.sort_by(|a, b| a.code.cmp(&b.code));
    let mut items: Vec<_> = load_items(&mut conn)
        .await?
        .into_iter()
        .filter(|r| r.active)
        .map(|r| r.item)
        .collect();
    items.sort_by(|a, b| a.code.cmp(&b.code));
    let mut bundles: Vec<_> = load_bundles(&mut conn)
        .await?
        .into_iter()
        .map(|b| b.bundle)
        .collect();
    bundles.sort_by(|a, b| a.code.cmp(&b.code));
    Ok(Catalogue {
        regions: load_regions(&mut conn).await?,
        departments,
        items,
        bundles,
    })
}
