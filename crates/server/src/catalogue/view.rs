//! The JSON shapes of catalogue records: the exchange fields (API-V1) plus what a reader needs
//! next to them (labels, department name, lifecycle).

use serde_json::{Value, json};
use yichuang_domain::catalogue::{Bundle, Department, Region, bundle_stages};
use yichuang_store::catalogue::{BundleRecord, ItemRecord, ItemSummary};

use crate::clock::hall_time;

fn extend(mut base: Value, extra: Value) -> Value {
    if let (Some(b), Value::Object(e)) = (base.as_object_mut(), extra) {
        b.extend(e);
    }
    base
}

pub fn item(r: &ItemRecord, department_name: &str, bundles: &[(String, String)]) -> Value {
    let base = serde_json::to_value(&r.item).unwrap_or_default();
    extend(
        base,
        json!({
            "department_name": department_name,
            "type_label": r.item.item_type.label(),
            "kind_label": r.item.kind.label(),
            "active": r.active,
            "version": r.version,
            "created_at": hall_time(r.created_at),
            "updated_at": hall_time(r.updated_at),
            "bundles": bundles.iter().map(|(code, name)| json!({"code": code, "name": name})).collect::<Vec<_>>(),
            "guide_url": format!("/catalogue/items/{}", r.item.code),
        }),
    )
}

pub fn summary(s: &ItemSummary) -> Value {
    json!({
        "code": s.code,
        "name": s.name,
        "department": s.department,
        "department_name": s.department_name,
        "type": s.item_type,
        "type_label": s.item_type.label(),
        "kind": s.kind,
        "kind_label": s.kind.label(),
        "statutory_limit_days": s.statutory_limit_days,
        "committed_limit_days": s.committed_limit_days,
        "online": s.online,
        "active": s.active,
    })
}

pub fn department(d: &Department) -> Value {
    serde_json::to_value(d).unwrap_or_default()
}

pub fn region(r: &Region) -> Value {
    extend(
        serde_json::to_value(r).unwrap_or_default(),
        json!({ "level_label": r.level.label() }),
    )
}

/// A bundle with its stages: each stage lists member items that run in parallel (并联); the
/// stages run one after another (串联).
pub fn bundle(b: &BundleRecord) -> Value {
    extend(
        serde_json::to_value(&b.bundle).unwrap_or_default(),
        json!({
            "stages": stages(&b.bundle),
            "version": b.version,
            "updated_at": hall_time(b.updated_at),
        }),
    )
}

fn stages(b: &Bundle) -> Vec<Vec<String>> {
    bundle_stages(b)
        .unwrap_or_default()
        .into_iter()
        .map(|s| s.into_iter().map(String::from).collect())
        .collect()
}
