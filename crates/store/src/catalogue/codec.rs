//! Rows ↔ catalogue types. Enums are stored as their JSON names (`committed`, `original_and_copy`)
//! and nested lists as JSON text, so the database reads the same words as the API.

use serde::Serialize;
use serde::de::DeserializeOwned;
use yichuang_domain::catalogue::{
    Bundle, BundleItem, Department, MaterialRequirement, Region, ServiceItem, SharedMaterial,
};
use yichuang_domain::{Error, Result};

use super::{BundleRecord, ItemRecord, ItemSummary};
use crate::from_micros;

/// An enum's JSON name, e.g. `ItemKind::Committed` → `committed`.
pub fn name_of<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

fn parse_name<T: DeserializeOwned>(s: &str, what: &str) -> Result<T> {
    serde_json::from_value(serde_json::Value::String(s.to_string()))
        .map_err(|e| Error::internal(format!("stored {what} {s:?} is not valid: {e}")))
}

pub fn json_text<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

fn parse_json<T: DeserializeOwned>(s: &str, what: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| Error::internal(format!("stored {what} is not valid: {e}")))
}

/// Counts are u32 in the domain and BIGINT in the schema.
fn count(v: i64, what: &str) -> Result<u32> {
    u32::try_from(v).map_err(|_| Error::internal(format!("stored {what} {v} is out of range")))
}

#[derive(sqlx::FromRow)]
pub struct RegionRow {
    pub code: String,
    pub name: String,
    pub parent: Option<String>,
    pub level: String,
}

impl RegionRow {
    pub fn into_region(self) -> Result<Region> {
        Ok(Region {
            level: parse_name(&self.level, "region level")?,
            code: self.code,
            name: self.name,
            parent: self.parent,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct DepartmentRow {
    pub code: String,
    pub name: String,
    pub region: Option<String>,
}

impl DepartmentRow {
    pub fn into_department(self) -> Department {
        Department {
            code: self.code,
            name: self.name,
            region: self.region,
        }
    }
}

/// The columns of [`ItemRow`], for `concat!` into a query.
macro_rules! item_columns {
    () => {
        "i.id, i.code, i.name, i.department, i.item_type, i.kind, i.statutory_limit_days, \
         i.committed_limit_days, i.legal_basis, i.conditions, i.fee, i.on_site_visits, i.online, \
         i.deemed_approval, i.process_description, i.consult_phone, i.location, i.situations, \
         i.special_procedures, i.active, i.version, i.created_at, i.updated_at, i.result"
    };
}
pub(crate) use item_columns;

#[derive(sqlx::FromRow)]
pub struct ItemRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub department: String,
    pub item_type: String,
    pub kind: String,
    pub statutory_limit_days: i64,
    pub committed_limit_days: i64,
    pub legal_basis: String,
    pub conditions: String,
    pub fee: String,
    pub on_site_visits: i64,
    pub online: bool,
    pub deemed_approval: bool,
    pub process_description: String,
    pub consult_phone: String,
    pub location: String,
    pub situations: String,
    pub special_procedures: String,
    pub active: bool,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub result: String,
}

impl ItemRow {
    pub fn into_record(self, materials: Vec<MaterialRequirement>) -> Result<ItemRecord> {
        let item = ServiceItem {
            item_type: parse_name(&self.item_type, "item type")?,
            kind: parse_name(&self.kind, "item kind")?,
            statutory_limit_days: count(self.statutory_limit_days, "statutory limit")?,
            committed_limit_days: count(self.committed_limit_days, "committed limit")?,
            on_site_visits: count(self.on_site_visits, "on-site visits")?,
            special_procedures: parse_json(&self.special_procedures, "special procedures")?,
            situations: parse_json(&self.situations, "situations")?,
            result: parse_json(&self.result, "result")?,
            materials,
            code: self.code,
            name: self.name,
            department: self.department,
            legal_basis: self.legal_basis,
            conditions: self.conditions,
            fee: self.fee,
            online: self.online,
            deemed_approval: self.deemed_approval,
            process_description: self.process_description,
            consult_phone: self.consult_phone,
            location: self.location,
        };
        Ok(ItemRecord {
            item,
            active: self.active,
            version: self.version,
            created_at: from_micros(self.created_at),
            updated_at: from_micros(self.updated_at),
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct MaterialRow {
    pub item_id: i64,
    pub code: String,
    pub name: String,
    pub form: String,
    pub copies: i64,
    pub medium: String,
    pub template: Option<String>,
    pub required_if: Option<String>,
    pub note: String,
}

impl MaterialRow {
    pub fn into_material(self) -> Result<MaterialRequirement> {
        Ok(MaterialRequirement {
            form: parse_name(&self.form, "material form")?,
            copies: count(self.copies, "copies")?,
            medium: parse_name(&self.medium, "material medium")?,
            required_if: self
                .required_if
                .as_deref()
                .map(|s| parse_json(s, "material condition"))
                .transpose()?,
            code: self.code,
            name: self.name,
            template: self.template,
            note: self.note,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct SummaryRow {
    pub code: String,
    pub name: String,
    pub department: String,
    pub department_name: String,
    pub item_type: String,
    pub kind: String,
    pub statutory_limit_days: i64,
    pub committed_limit_days: i64,
    pub online: bool,
    pub active: bool,
}

impl SummaryRow {
    pub fn into_summary(self) -> Result<ItemSummary> {
        Ok(ItemSummary {
            item_type: parse_name(&self.item_type, "item type")?,
            kind: parse_name(&self.kind, "item kind")?,
            statutory_limit_days: count(self.statutory_limit_days, "statutory limit")?,
            committed_limit_days: count(self.committed_limit_days, "committed limit")?,
            code: self.code,
            name: self.name,
            department: self.department,
            department_name: self.department_name,
            online: self.online,
            active: self.active,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct BundleRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub description: String,
    pub version: i64,
    pub updated_at: i64,
}

#[derive(sqlx::FromRow)]
pub struct BundleItemRow {
    pub bundle_id: i64,
    pub item: String,
    pub prerequisites: String,
}

#[derive(sqlx::FromRow)]
pub struct SharedMaterialRow {
    pub bundle_id: i64,
    pub code: String,
    pub name: String,
    pub covers: String,
}

impl BundleRow {
    pub fn into_record(
        self,
        members: Vec<BundleItemRow>,
        shared: Vec<SharedMaterialRow>,
    ) -> Result<BundleRecord> {
        let items = members
            .into_iter()
            .map(|m| {
                Ok(BundleItem {
                    after: parse_json(&m.prerequisites, "bundle prerequisites")?,
                    item: m.item,
                })
            })
            .collect::<Result<_>>()?;
        let shared_materials = shared
            .into_iter()
            .map(|s| {
                Ok(SharedMaterial {
                    covers: parse_json(&s.covers, "shared material cover")?,
                    code: s.code,
                    name: s.name,
                })
            })
            .collect::<Result<_>>()?;
        Ok(BundleRecord {
            bundle: Bundle {
                code: self.code,
                name: self.name,
                description: self.description,
                items,
                shared_materials,
            },
            version: self.version,
            updated_at: from_micros(self.updated_at),
        })
    }
}
