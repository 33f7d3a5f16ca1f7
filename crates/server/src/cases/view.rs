//! The JSON shapes of a case (API-V1 `GET /api/v1/cases/{number}` and more).

use serde_json::{Value, json};
use yichuang_domain::case::CaseEvent;
use yichuang_domain::case::events::Change;

use super::service::{Env, Loaded, status_name};
use super::time::utc;
use crate::clock::hall_time;

/// One timeline entry: the masked event with its time as RFC 3339 in the hall's zone.
pub fn timeline_entry(e: &CaseEvent) -> Value {
    let mut v = e.log_payload();
    v["at"] = json!(hall_time(utc(e.at)));
    v
}

fn accepted_at(l: &Loaded) -> Option<String> {
    l.events.iter().find_map(|e| match e.change {
        Change::Accepted { .. } => Some(hall_time(utc(e.at))),
        _ => None,
    })
}

/// The full case as staff see it (numbers masked, R-PII).
pub fn case_json(l: &Loaded, env: &Env) -> Value {
    let c = &l.case;
    let today = env.today();
    let (reading, steps, owed, issue_due) = env.with_ctx(&l.item, &l.process, |ctx| {
        (
            c.reading(ctx.calendar, today, ctx.settings),
            c.open_steps(ctx.process, ctx.calendar, today),
            c.owed_opinions(ctx.calendar, ctx.settings)
                .into_iter()
                .map(|(d, due)| json!({"node": d.node, "deemed_due": d.due, "opinion_due": due}))
                .collect::<Vec<_>>(),
            c.issue_due(ctx.calendar),
        )
    });
    let notice = c.open_notice().map(|n| {
        json!({"items": n.items, "missing": n.outstanding(), "note": n.note,
               "given_at": hall_time(utc(n.given_at))})
    });
    let mut v = json!({
        "number": c.number,
        // The receipt's query code, for staff who reprint or read it out (never in public views).
        "query_code": l.row.query_code.as_deref().map(super::service::group_query_code),
        "item": c.item,
        "item_name": l.item.name,
        "item_version": l.row.item_version,
        "department": c.department,
        "hall": l.row.hall,
        "status": status_name(c.status),
        "status_label": c.status.label(),
        "applicant": c.applicant.masked(),
        "materials": c.materials,
        "answers": c.answers,
        "received_at": hall_time(utc(c.received_at)),
        "accepted_at": accepted_at(l),
        "accepted_on": c.accepted_on,
        "accepted_deemed": c.accepted_deemed,
        "due_date": reading.as_ref().map(|r| r.due_date),
        "working_days_left": reading.as_ref().map(|r| r.working_days_left),
        "warning": reading.as_ref().map(|r| r.warning),
        "clock": reading,
        // R-CALENDAR: a due date in a year whose arrangement is not loaded is a guess.
        "due_date_unofficial": reading.as_ref().map(|r| env.unofficial(r.due_date)),
        "committed_limit_days": c.committed_limit_days,
        "statutory_limit_days": c.statutory_limit_days,
        "suspensions": c.suspensions,
        "extensions": c.extensions,
        "refusal_reasons": c.refusal,
        "routing": c.routing,
        "open_steps": steps,
        "deemed_steps": c.deemed_steps,
        "owed_opinions": owed,
        "opinions": c.opinions,
        "decision": c.decision,
        "issue_due": issue_due,
        // R-ISSUE-10D: the result must reach the applicant within 10 working days of the decision.
        "issue_overdue": c.issuance.is_none() && issue_due.is_some_and(|d| d < today),
        "issuance": c.issuance,
        "parent": c.parent,
        "process": {"code": c.process_code, "version": c.process_version},
        "warnings": c.warnings,
        "timeline": l.events.iter().map(timeline_entry).collect::<Vec<_>>(),
    });
    if let Some(n) = notice {
        v["one_time_notice"] = n;
    }
    v
}

/// What anyone holding the case number and the last 4 digits may see: no personal data.
pub fn public_json(l: &Loaded, env: &Env) -> Value {
    let full = case_json(l, env);
    let c = &l.case;
    json!({
        "number": c.number,
        "item_name": l.item.name,
        "status": full["status"],
        "status_label": c.status.label(),
        "received_at": full["received_at"],
        "accepted_at": full["accepted_at"],
        "due_date": full["due_date"],
        "working_days_left": full["working_days_left"],
        "warning": full["warning"],
        "one_time_notice": full.get("one_time_notice").cloned().unwrap_or(Value::Null),
        "decision": c.decision.as_ref().map(|d| json!({"outcome": d.outcome, "on": d.on})),
        "issuance": c.issuance.as_ref().map(|i| json!({"method": i.delivery.label(), "at": hall_time(utc(i.at))})),
        "timeline": l.events.iter().map(|e| json!({"at": hall_time(utc(e.at)), "kind": e.change.kind()})).collect::<Vec<_>>(),
    })
}
