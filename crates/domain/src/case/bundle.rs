//! 一件事一次办 (`Bundle`): one parent case for several items applied for together. Each member
//! item is a sub-case of its own; a member with prerequisites (`after`) starts only once all of
//! them are approved (serial, 串联), members without waiting for each other run at the same time
//! (parallel, 并联).
//!
//! [`bundle_progress`] is a pure function of the bundle's edges and the sub-cases' states: it
//! says, for each member, whether it waits, may start, runs, is done (approved) or failed
//! (refused or denied), and which sub-cases hold the parent up: those not done whose
//! prerequisites are done, the ones blocking most other members first.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::case::events::Outcome;
use crate::case::state::{Case, CaseStatus};
use crate::catalogue::Bundle;
use crate::error::{Problems, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberStage {
    /// A prerequisite is not approved yet.
    Waiting,
    /// Every prerequisite is approved; no sub-case yet.
    Ready,
    /// The sub-case is being handled.
    Running,
    /// Approved.
    Done,
    /// Refused or denied: the members after it cannot proceed.
    Failed,
}

impl MemberStage {
    pub fn label(self) -> &'static str {
        match self {
            MemberStage::Waiting => "等待前置事项",
            MemberStage::Ready => "可以开始",
            MemberStage::Running => "办理中",
            MemberStage::Done => "已办结（准予）",
            MemberStage::Failed => "未获准予",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberProgress {
    pub item: String,
    /// The sub-case, once received.
    pub number: Option<String>,
    pub status: Option<CaseStatus>,
    pub stage: MemberStage,
    /// Prerequisites not approved yet.
    pub waiting_for: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BundleProgress {
    pub members: Vec<MemberProgress>,
    /// Items whose sub-cases hold the parent up, the one blocking most members first.
    pub holding_up: Vec<String>,
    /// Every member approved.
    pub complete: bool,
    /// A member failed, so the bundle cannot complete as applied for.
    pub failed: bool,
}

/// Checks a bundle's edges: members unique, prerequisites are members, no cycle.
pub fn validate_bundle(bundle: &Bundle) -> Result<()> {
    let mut p = Problems::new();
    p.check(!bundle.items.is_empty(), "items", "一件事至少包含一个事项");
    let mut seen = BTreeSet::new();
    for (i, m) in bundle.items.iter().enumerate() {
        if !seen.insert(m.item.as_str()) {
            p.add(format!("items[{i}]"), format!("事项“{}”重复", m.item));
        }
        for a in &m.after {
            if a == &m.item {
                p.add(
                    format!("items[{i}]"),
                    format!("事项“{}”不能以自己为前置", m.item),
                );
            } else if !bundle.items.iter().any(|o| &o.item == a) {
                p.add(
                    format!("items[{i}]"),
                    format!("事项“{}”的前置事项“{}”不在这件事中", m.item, a),
                );
            }
        }
    }
    if p.is_empty()
        && let Some(item) = item_on_cycle(bundle)
    {
        p.add(
            "items",
            format!("前置关系构成循环（涉及事项“{item}”），无法确定办理顺序"),
        );
    }
    p.finish()
}

/// A member on a cycle of prerequisites, if any (what cannot be ordered).
fn item_on_cycle(bundle: &Bundle) -> Option<&str> {
    let mut done: BTreeSet<&str> = BTreeSet::new();
    loop {
        let next: Vec<&str> = bundle
            .items
            .iter()
            .filter(|m| !done.contains(m.item.as_str()))
            .filter(|m| m.after.iter().all(|a| done.contains(a.as_str())))
            .map(|m| m.item.as_str())
            .collect();
        if next.is_empty() {
            break;
        }
        done.extend(next);
    }
    bundle
        .items
        .iter()
        .map(|m| m.item.as_str())
        .find(|i| !done.contains(i))
}

fn stage_of(case: &Case) -> MemberStage {
    match (&case.status, case.decision.as_ref().map(|d| d.outcome)) {
        (CaseStatus::Refused, _) | (_, Some(Outcome::Denied)) => MemberStage::Failed,
        (_, Some(Outcome::Approved)) => MemberStage::Done,
        _ => MemberStage::Running,
    }
}

/// Where a bundle stands, from its edges and the sub-cases received so far (matched by item;
/// the latest case of an item counts). The bundle must be valid ([`validate_bundle`]).
pub fn bundle_progress(bundle: &Bundle, cases: &[&Case]) -> BundleProgress {
    let case_of = |item: &str| cases.iter().rev().find(|c| c.item == item).copied();
    let own: BTreeMap<&str, MemberStage> = bundle
        .items
        .iter()
        .map(|m| {
            (
                m.item.as_str(),
                case_of(&m.item).map_or(MemberStage::Ready, stage_of),
            )
        })
        .collect();
    let members: Vec<MemberProgress> = bundle
        .items
        .iter()
        .map(|m| {
            let case = case_of(&m.item);
            let waiting_for: Vec<String> = m
                .after
                .iter()
                .filter(|a| own.get(a.as_str()) != Some(&MemberStage::Done))
                .cloned()
                .collect();
            let stage = match own[m.item.as_str()] {
                s @ (MemberStage::Done | MemberStage::Failed) => s,
                _ if !waiting_for.is_empty() => MemberStage::Waiting,
                s => s,
            };
            MemberProgress {
                item: m.item.clone(),
                number: case.map(|c| c.number.clone()),
                status: case.map(|c| c.status),
                stage,
                waiting_for,
            }
        })
        .collect();
    let mut holding_up: Vec<&MemberProgress> = members
        .iter()
        .filter(|m| {
            matches!(
                m.stage,
                MemberStage::Ready | MemberStage::Running | MemberStage::Failed
            )
        })
        .collect();
    // Stable sort: equal weights keep the bundle's order.
    holding_up.sort_by_key(|m| std::cmp::Reverse(dependents(bundle, &m.item)));
    BundleProgress {
        complete: members.iter().all(|m| m.stage == MemberStage::Done),
        failed: members.iter().any(|m| m.stage == MemberStage::Failed),
        holding_up: holding_up.iter().map(|m| m.item.clone()).collect(),
        members,
    }
}

/// How many members wait on `item`, directly or through others.
fn dependents(bundle: &Bundle, item: &str) -> usize {
    let mut found: BTreeSet<&str> = BTreeSet::new();
    let mut frontier = vec![item];
    while let Some(i) = frontier.pop() {
        for m in &bundle.items {
            if m.after.iter().any(|a| a == i) && found.insert(m.item.as_str()) {
                frontier.push(m.item.as_str());
            }
        }
    }
    found.len()
}
