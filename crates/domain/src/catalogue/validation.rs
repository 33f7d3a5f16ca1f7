//! Validation of every catalogue entity, reporting all problems at once.
//!
//! Field names are the JSON paths of the exchange format (`materials[2].code`,
//! `items[5].situations[0].options`), so the API can return them as they are and the xlsx
//! importer can map them back to the sheet, row and column they came from.
//!
//! Decisions recorded here:
//! - A code is 1–64 characters with no whitespace, control characters or any of
//!   `/ \ ? # % & = ; ； :`: codes appear in URL paths and query strings, and `;`, `=` and `:`
//!   separate list items in the xlsx cells (see the server's `catalogue::xlsx`).
//! - An immediate item (即办件) is decided on the spot, so its committed limit is 0 working days;
//!   its statutory limit is whatever the law sets (it may be 0). A committed item (承诺件) promises
//!   at least 1 working day, never more than the statutory limit.
//! - A situation needs at least two options (a question with one answer changes nothing), and an
//!   option label may not contain `;` or a line break (the xlsx list separators).
//! - A bundle has at least two member items; serial order is a prerequisite edge (`after`),
//!   members without edges between them run in parallel; the edges may not form a cycle.

use std::collections::{HashMap, HashSet};

use super::{
    Bundle, Catalogue, Department, ItemKind, MAX_SPECIAL_PROCEDURE_DAYS, Region, RegionLevel,
    ServiceItem,
};
use crate::{Problems, Result};

pub const MAX_CODE_CHARS: usize = 64;

const RESERVED_IN_CODES: &[char] = &['/', '\\', '?', '#', '%', '&', '=', ';', '；', ':'];

/// What exists outside the entity being checked, for its references: the stored catalogue when
/// validating one API write, the file itself plus the stored catalogue when importing.
#[derive(Debug, Default, Clone)]
pub struct Known<'a> {
    pub regions: HashMap<&'a str, RegionLevel>,
    pub departments: HashSet<&'a str>,
    pub items: HashMap<&'a str, &'a ServiceItem>,
    /// Items that exist but are retired (停用): no new bundle may use them.
    pub retired: HashSet<&'a str>,
}

impl<'a> Known<'a> {
    /// Everything a catalogue defines, on top of what is already known.
    pub fn with_catalogue(mut self, c: &'a Catalogue) -> Self {
        for r in &c.regions {
            self.regions.insert(&r.code, r.level);
        }
        for d in &c.departments {
            self.departments.insert(&d.code);
        }
        // Importing an item puts it (back) in force.
        for i in &c.items {
            self.items.insert(&i.code, i);
            self.retired.remove(i.code.as_str());
        }
        self
    }
}

pub fn validate_region(r: &Region, known: &Known) -> Result<()> {
    let mut p = Problems::new();
    check_region(r, known, "", &mut p);
    p.finish()
}

pub fn validate_department(d: &Department, known: &Known) -> Result<()> {
    let mut p = Problems::new();
    check_department(d, known, "", &mut p);
    p.finish()
}

pub fn validate_item(item: &ServiceItem, known: &Known) -> Result<()> {
    let mut p = Problems::new();
    check_item(item, known, "", &mut p);
    p.finish()
}

pub fn validate_bundle(b: &Bundle, known: &Known) -> Result<()> {
    let mut p = Problems::new();
    check_bundle(b, known, "", &mut p);
    p.finish()
}

/// A whole catalogue: every entity, unique codes per kind, and every reference resolved either
/// inside the catalogue or in `stored` (what the database already holds).
pub fn validate_catalogue(c: &Catalogue, stored: &Known) -> Result<()> {
    let known = stored.clone().with_catalogue(c);
    let mut p = Problems::new();
    unique_codes(c.regions.iter().map(|r| &r.code), "regions", "区域", &mut p);
    unique_codes(
        c.departments.iter().map(|d| &d.code),
        "departments",
        "部门",
        &mut p,
    );
    unique_codes(c.items.iter().map(|i| &i.code), "items", "事项", &mut p);
    unique_codes(
        c.bundles.iter().map(|b| &b.code),
        "bundles",
        "一件事",
        &mut p,
    );
    for (i, r) in c.regions.iter().enumerate() {
        check_region(r, &known, &format!("regions[{i}]."), &mut p);
    }
    for (i, d) in c.departments.iter().enumerate() {
        check_department(d, &known, &format!("departments[{i}]."), &mut p);
    }
    for (i, item) in c.items.iter().enumerate() {
        check_item(item, &known, &format!("items[{i}]."), &mut p);
    }
    for (i, b) in c.bundles.iter().enumerate() {
        check_bundle(b, &known, &format!("bundles[{i}]."), &mut p);
    }
    p.finish()
}

fn unique_codes<'a>(
    codes: impl Iterator<Item = &'a String>,
    list: &str,
    what: &str,
    p: &mut Problems,
) {
    let mut seen = HashSet::new();
    for (i, code) in codes.enumerate() {
        if !code.is_empty() && !seen.insert(code.as_str()) {
            p.add(
                format!("{list}[{i}].code"),
                format!("{what}编码 {code} 重复出现"),
            );
        }
    }
}

fn check_code(code: &str, field: String, p: &mut Problems) {
    if code.is_empty() {
        p.add(field, "编码不能为空");
    } else if code.chars().count() > MAX_CODE_CHARS {
        p.add(field, format!("编码不能超过 {MAX_CODE_CHARS} 个字符"));
    } else if code
        .chars()
        .any(|ch| ch.is_whitespace() || ch.is_control() || RESERVED_IN_CODES.contains(&ch))
    {
        p.add(
            field,
            "编码不能包含空格或 / \\ ? # % & = ; ： 等符号，请使用字母、数字、- 或 _",
        );
    }
}

fn check_text(text: &str, field: String, what: &str, p: &mut Problems) {
    if text.trim().is_empty() {
        p.add(field, format!("{what}不能为空"));
    }
}

fn check_region(r: &Region, known: &Known, at: &str, p: &mut Problems) {
    check_code(&r.code, format!("{at}code"), p);
    check_text(&r.name, format!("{at}name"), "区域名称", p);
    let Some(parent) = r.parent.as_deref() else {
        return;
    };
    // A parent sits strictly higher in the 省-市-县-乡-村 ladder; this also makes a cycle in the
    // region tree impossible, since levels only grow going down.
    match known.regions.get(parent) {
        None => p.add(format!("{at}parent"), format!("上级区域 {parent} 不存在")),
        Some(level) if *level >= r.level => p.add(
            format!("{at}level"),
            format!(
                "区域层级（{}）须低于上级区域 {parent} 的层级（{}）",
                r.level.label(),
                level.label()
            ),
        ),
        Some(_) => {}
    }
}

fn check_department(d: &Department, known: &Known, at: &str, p: &mut Problems) {
    check_code(&d.code, format!("{at}code"), p);
    check_text(&d.name, format!("{at}name"), "部门名称", p);
    if let Some(region) = d.region.as_deref()
        && !known.regions.contains_key(region)
    {
        p.add(format!("{at}region"), format!("所属区域 {region} 不存在"));
    }
}

fn check_item(item: &ServiceItem, known: &Known, at: &str, p: &mut Problems) {
    check_code(&item.code, format!("{at}code"), p);
    check_text(&item.name, format!("{at}name"), "事项名称", p);
    if item.department.is_empty() {
        p.add(format!("{at}department"), "请填写实施部门编码");
    } else if !known.departments.contains(item.department.as_str()) {
        p.add(
            format!("{at}department"),
            format!("实施部门 {} 不存在，请先添加该部门", item.department),
        );
    }
    check_limits(item, at, p);
    if !item.result.material.is_empty() {
        check_code(&item.result.material, format!("{at}result.material"), p);
    }
    if item.result.valid_years > 100 {
        p.add(
            format!("{at}result.valid_years"),
            "办理结果有效期不能超过 100 年；长期有效请填 0",
        );
    }
    check_situations(item, at, p);
    check_materials(item, at, p);
    let mut names = HashSet::new();
    for (i, sp) in item.special_procedures.iter().enumerate() {
        let here = format!("{at}special_procedures[{i}].");
        check_text(&sp.name, format!("{here}name"), "特殊环节名称", p);
        if !sp.name.trim().is_empty() && !names.insert(sp.name.trim()) {
            p.add(
                format!("{here}name"),
                format!("特殊环节「{}」重复出现", sp.name),
            );
        }
        // R-SPECIAL-TIME: the applicant is told in writing how long it takes, so it must be set.
        if sp.days == 0 || sp.days > MAX_SPECIAL_PROCEDURE_DAYS {
            p.add(
                format!("{here}days"),
                format!("特殊环节所需时限须为 1 至 {MAX_SPECIAL_PROCEDURE_DAYS} 个工作日"),
            );
        }
    }
}

fn check_limits(item: &ServiceItem, at: &str, p: &mut Problems) {
    let field = format!("{at}committed_limit_days");
    match item.kind {
        ItemKind::Immediate if item.committed_limit_days != 0 => {
            p.add(field, "即办件当场办结，承诺办结时限应为 0 个工作日");
        }
        ItemKind::Committed if item.committed_limit_days == 0 => {
            p.add(
                field,
                "承诺件的承诺办结时限至少为 1 个工作日；当场办结的请选择即办件",
            );
        }
        _ if item.committed_limit_days > item.statutory_limit_days => {
            p.add(
                field,
                format!(
                    "承诺办结时限（{}）不能超过法定办结时限（{} 个工作日）",
                    item.committed_limit_days, item.statutory_limit_days
                ),
            );
        }
        _ => {}
    }
}

fn check_situations(item: &ServiceItem, at: &str, p: &mut Problems) {
    let mut codes = HashSet::new();
    for (i, s) in item.situations.iter().enumerate() {
        let here = format!("{at}situations[{i}].");
        check_code(&s.code, format!("{here}code"), p);
        if !s.code.is_empty() && !codes.insert(s.code.as_str()) {
            p.add(
                format!("{here}code"),
                format!("办理情形编码 {} 重复出现", s.code),
            );
        }
        check_text(&s.question, format!("{here}question"), "情形问题", p);
        if s.options.len() < 2 {
            p.add(format!("{here}options"), "每个办理情形至少需要两个选项");
        }
        let mut options = HashSet::new();
        for (j, o) in s.options.iter().enumerate() {
            let there = format!("{here}options[{j}].");
            check_code(&o.code, format!("{there}code"), p);
            if !o.code.is_empty() && !options.insert(o.code.as_str()) {
                p.add(
                    format!("{there}code"),
                    format!("选项编码 {} 重复出现", o.code),
                );
            }
            check_text(&o.label, format!("{there}label"), "选项名称", p);
            if o.label.contains([';', '；', '\n', '\r']) {
                p.add(format!("{there}label"), "选项名称不能包含分号或换行");
            }
        }
    }
}

fn check_materials(item: &ServiceItem, at: &str, p: &mut Problems) {
    let mut codes = HashSet::new();
    for (i, m) in item.materials.iter().enumerate() {
        let here = format!("{at}materials[{i}].");
        check_code(&m.code, format!("{here}code"), p);
        if !m.code.is_empty() && !codes.insert(m.code.as_str()) {
            p.add(
                format!("{here}code"),
                format!("材料编码 {} 重复出现", m.code),
            );
        }
        check_text(&m.name, format!("{here}name"), "材料名称", p);
        if m.copies == 0 {
            p.add(format!("{here}copies"), "份数至少为 1");
        }
        let Some(cond) = &m.required_if else {
            continue;
        };
        let Some(situation) = item.situations.iter().find(|s| s.code == cond.question) else {
            p.add(
                format!("{here}required_if.question"),
                format!("办理情形 {} 不存在", cond.question),
            );
            continue;
        };
        if cond.answers.is_empty() {
            p.add(
                format!("{here}required_if.answers"),
                "请至少选择一个适用的选项",
            );
        }
        for a in &cond.answers {
            if !situation.options.iter().any(|o| &o.code == a) {
                p.add(
                    format!("{here}required_if.answers"),
                    format!("办理情形 {} 没有选项 {a}", situation.code),
                );
            }
        }
    }
}

fn check_bundle(b: &Bundle, known: &Known, at: &str, p: &mut Problems) {
    check_code(&b.code, format!("{at}code"), p);
    check_text(&b.name, format!("{at}name"), "一件事名称", p);
    if b.items.len() < 2 {
        p.add(format!("{at}items"), "一件事至少包含两个事项");
    }
    let mut members = HashSet::new();
    for (i, m) in b.items.iter().enumerate() {
        let field = format!("{at}items[{i}].item");
        if !known.items.contains_key(m.item.as_str()) {
            p.add(field, format!("事项 {} 不存在", m.item));
        } else if known.retired.contains(m.item.as_str()) {
            p.add(field, format!("事项 {} 已停用，不能纳入一件事", m.item));
        } else if !members.insert(m.item.as_str()) {
            p.add(field, format!("事项 {} 重复出现", m.item));
        }
    }
    let mut edges_ok = true;
    for (i, m) in b.items.iter().enumerate() {
        for (j, before) in m.after.iter().enumerate() {
            let field = format!("{at}items[{i}].after[{j}]");
            if before == &m.item {
                p.add(field, "事项不能以自身为前置事项");
                edges_ok = false;
            } else if !b.items.iter().any(|x| &x.item == before) {
                p.add(field, format!("前置事项 {before} 不是本一件事的成员"));
                edges_ok = false;
            }
        }
    }
    // Only a cycle among well-formed edges is worth its own message.
    if edges_ok && members.len() == b.items.len() && super::bundle_stages(b).is_none() {
        p.add(format!("{at}items"), "前置事项形成了循环，无法确定办理顺序");
    }
    check_shared_materials(b, known, at, p);
}

fn check_shared_materials(b: &Bundle, known: &Known, at: &str, p: &mut Problems) {
    let mut codes = HashSet::new();
    let mut covered = HashSet::new();
    for (i, s) in b.shared_materials.iter().enumerate() {
        let here = format!("{at}shared_materials[{i}].");
        check_code(&s.code, format!("{here}code"), p);
        if !s.code.is_empty() && !codes.insert(s.code.as_str()) {
            p.add(
                format!("{here}code"),
                format!("共享材料编码 {} 重复出现", s.code),
            );
        }
        check_text(&s.name, format!("{here}name"), "共享材料名称", p);
        if s.covers.is_empty() {
            p.add(format!("{here}covers"), "请列出该共享材料涵盖的事项材料");
        }
        for (j, c) in s.covers.iter().enumerate() {
            let field = format!("{here}covers[{j}]");
            let member = b.items.iter().any(|m| m.item == c.item);
            let item = known.items.get(c.item.as_str());
            if !member {
                p.add(field, format!("事项 {} 不是本一件事的成员", c.item));
            } else if !item.is_some_and(|it| it.materials.iter().any(|m| m.code == c.material)) {
                p.add(field, format!("事项 {} 没有材料 {}", c.item, c.material));
            } else if !covered.insert((c.item.as_str(), c.material.as_str())) {
                p.add(
                    field,
                    format!("材料 {}:{} 已被其他共享材料涵盖", c.item, c.material),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests;
