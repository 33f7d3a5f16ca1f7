//! Anomalies besides lateness (R-SUPERVISE), found in one case's history. Each names the
//! events that show it (their positions in the case's history), so a supervisor confirms or
//! dismisses it against the record, not against a summary.
//!
//! Not here: unauthorised fees. The case history has no fee events (fees are not collected
//! through the platform yet), so there is nothing to compare with the item's fee.

use crate::case::events::{CaseEvent, Change, Outcome};

use super::{RecordKind, SupervisionSettings};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anomaly {
    pub kind: RecordKind,
    /// Positions (0-based) of the events that show it.
    pub evidence: Vec<usize>,
    /// What a supervisor reads first.
    pub note: String,
}

/// Every anomaly in a case's history; a clean history gives none. `step_name` names a process
/// node for people (the process definition knows it; the events carry only the node's id).
pub fn detect(
    events: &[CaseEvent],
    settings: &SupervisionSettings,
    step_name: &dyn Fn(&str) -> String,
) -> Vec<Anomaly> {
    let mut found = Vec::new();
    refused_complete(events, &mut found);
    refusals_without_reasons(events, &mut found);
    hasty_steps(events, settings.hasty_seconds, step_name, &mut found);
    back_dated(events, &mut found);
    repeated_returns(events, settings.returns_limit, &mut found);
    found
}

/// 不予受理 of an application the window itself found complete: nothing was missing at
/// reception (no warnings) and no one-time notice ever asked for more.
fn refused_complete(events: &[CaseEvent], found: &mut Vec<Anomaly>) {
    let complete = events
        .iter()
        .any(|e| matches!(&e.change, Change::Received { warnings, .. } if warnings.is_empty()));
    let noticed = events
        .iter()
        .any(|e| matches!(e.change, Change::OneTimeNoticeGiven { .. }));
    if !complete || noticed {
        return;
    }
    if let Some(i) = events
        .iter()
        .position(|e| matches!(e.change, Change::Refused { .. }))
    {
        let received = events
            .iter()
            .position(|e| matches!(e.change, Change::Received { .. }))
            .unwrap_or(0);
        found.push(Anomaly {
            kind: RecordKind::RefusedComplete,
            evidence: vec![received, i],
            note: "收件时材料齐全、未出具一次性告知，却不予受理".into(),
        });
    }
}

/// 不予受理 or 不予许可 with no reason written (R-ACCEPT-RECEIPT, R-DECIDE-20D).
fn refusals_without_reasons(events: &[CaseEvent], found: &mut Vec<Anomaly>) {
    for (i, e) in events.iter().enumerate() {
        let (empty, what) = match &e.change {
            Change::Refused { reasons } => (blank(reasons), "不予受理"),
            Change::Decided {
                outcome: Outcome::Denied,
                reasons,
                ..
            } => (blank(reasons), "不予许可"),
            _ => continue,
        };
        if empty {
            found.push(Anomaly {
                kind: RecordKind::RefusalWithoutReasons,
                evidence: vec![i],
                note: format!("{what}决定未写明理由"),
            });
        }
    }
}

fn blank(reasons: &[String]) -> bool {
    reasons.iter().all(|r| r.trim().is_empty())
}

/// A review decided within `seconds` of being claimed: the review happened outside the system
/// (or not at all), and the record was only clicked through.
fn hasty_steps(
    events: &[CaseEvent],
    seconds: i64,
    step_name: &dyn Fn(&str) -> String,
    found: &mut Vec<Anomaly>,
) {
    if seconds <= 0 {
        return;
    }
    for (i, e) in events.iter().enumerate() {
        let node = match &e.change {
            Change::StepApproved { node, .. } | Change::Decided { node, .. } => node,
            _ => continue,
        };
        let claimed = events[..i]
            .iter()
            .rposition(|c| matches!(&c.change, Change::StepClaimed { node: n } if n == node));
        let Some(c) = claimed else { continue };
        let took = (e.at - events[c].at).num_seconds();
        if (0..=seconds).contains(&took) {
            found.push(Anomaly {
                kind: RecordKind::HastyStep,
                evidence: vec![c, i],
                note: format!("环节“{}”认领后 {took} 秒即办结", step_name(node)),
            });
        }
    }
}

/// An event recorded as happening before the one already recorded ahead of it: the time was
/// set back (a decision dated before its review began).
fn back_dated(events: &[CaseEvent], found: &mut Vec<Anomaly>) {
    for i in 1..events.len() {
        if events[i].at < events[i - 1].at {
            found.push(Anomaly {
                kind: RecordKind::BackDated,
                evidence: vec![i - 1, i],
                note: "后一步的办理时间早于前一步".into(),
            });
        }
        if let Change::Decided { on, .. } = &events[i].change
            && *on < events[i].at.date()
            && *on < events[..i].iter().map(|e| e.at.date()).max().unwrap_or(*on)
        {
            found.push(Anomaly {
                kind: RecordKind::BackDated,
                evidence: vec![i],
                note: format!("决定日期 {on} 早于此前的办理记录"),
            });
        }
    }
}

/// One case sent back again and again: the department is bouncing it instead of deciding.
fn repeated_returns(events: &[CaseEvent], limit: u32, found: &mut Vec<Anomaly>) {
    let returns: Vec<usize> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| matches!(e.change, Change::StepReturned { .. }))
        .map(|(i, _)| i)
        .collect();
    if returns.len() >= limit as usize {
        found.push(Anomaly {
            kind: RecordKind::RepeatedReturns,
            note: format!("同一办件被退回 {} 次", returns.len()),
            evidence: returns,
        });
    }
}
