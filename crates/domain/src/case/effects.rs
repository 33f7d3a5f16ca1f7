//! What a change of a case leaves behind besides its events, derived before anything is
//! written: the state after, the open work as worklists show it, the due date lists filter on,
//! and when the durable timers must fire next (the next deadline, the next change of light).
//! The server persists this value as it is (issue 9: the domain returns everything a command
//! changes; the store writes it).

use chrono::{NaiveDate, NaiveDateTime};

use crate::access::Role;
use crate::case::Warning;
use crate::case::clock::end_of;
use crate::case::engine::Context;
use crate::case::events::CaseEvent;
use crate::case::process::NodeKind;
use crate::case::state::{Case, CaseStatus};
use crate::error::Result;

/// One open piece of work on a case, as a worklist shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenWork {
    /// The process node, or `confirm` (the department's confirmation of a routed case), or
    /// `opinion:{node}` (an opinion owed after a deemed approval).
    pub node: String,
    pub name: String,
    /// The back-office department it waits for; none for hall roles (issuance, clerk).
    pub department: Option<String>,
    pub role: Role,
    pub since: NaiveDateTime,
    pub due: NaiveDate,
    pub claimed_by: Option<String>,
}

/// Everything a change leaves behind besides its events.
#[derive(Debug, Clone)]
pub struct Effects {
    pub after: Case,
    /// The committed limit's last day, once the clock runs (for lists; pages derive it afresh).
    pub due_date: Option<NaiveDate>,
    pub work: Vec<OpenWork>,
    pub next_deadline: Option<NaiveDateTime>,
    pub next_warning: Option<(NaiveDateTime, Warning)>,
}

impl Effects {
    /// The effects of `events` on `before` (none: the events begin a new case).
    pub fn of(before: Option<&Case>, events: &[CaseEvent], ctx: &Context) -> Result<Effects> {
        let after = match before {
            Some(c) => {
                let mut c = c.clone();
                for e in events {
                    c.apply(e);
                }
                c
            }
            None => Case::replay(events)?,
        };
        Ok(Effects {
            due_date: after
                .reading(ctx.calendar, ctx.today(), ctx.settings)
                .map(|r| r.due_date),
            work: open_work(&after, ctx),
            next_deadline: after.next_deadline(ctx),
            next_warning: next_warning(&after, ctx),
            after,
        })
    }
}

/// The open work of a case: the department's confirmation of a routed case (R-ROUTE-10MIN),
/// the process steps, and the opinions owed after a deemed approval (R-DEEMED).
pub fn open_work(case: &Case, ctx: &Context) -> Vec<OpenWork> {
    let mut rows = Vec::new();
    if let (CaseStatus::Routed, Some(r)) = (case.status, &case.routing) {
        let due = ctx
            .office
            .add_office_minutes(r.at, ctx.settings.route_confirm_minutes);
        rows.push(OpenWork {
            node: "confirm".into(),
            name: "确认接收".into(),
            department: Some(r.department.clone()),
            role: Role::Approver,
            since: r.at,
            due: due.date(),
            claimed_by: None,
        });
    }
    for s in case.open_steps(ctx.process, ctx.calendar, ctx.today()) {
        let Some(NodeKind::UserTask(task)) = ctx.process.node(&s.node).map(|n| &n.kind) else {
            continue;
        };
        // Hall roles (issuance, clerk) work for the hall, not a department's back office.
        let department = (task.role == Role::Approver).then(|| {
            task.department
                .clone()
                .unwrap_or_else(|| case.department.clone())
        });
        rows.push(OpenWork {
            node: s.node,
            name: s.name,
            department,
            role: task.role,
            since: s.since,
            due: s.due,
            claimed_by: s.claimed_by,
        });
    }
    for (d, due) in case.owed_opinions(ctx.calendar, ctx.settings) {
        let department = ctx
            .process
            .node(&d.node)
            .and_then(|n| n.task())
            .and_then(|t| t.department.clone())
            .unwrap_or_else(|| case.department.clone());
        rows.push(OpenWork {
            node: format!("opinion:{}", d.node),
            name: "补充部门意见（超时默认通过）".into(),
            department: Some(department),
            role: Role::Approver,
            since: d.at,
            due,
            claimed_by: None,
        });
    }
    rows
}

/// When the committed clock's light changes next, and to what: yellow once the configured
/// share of the budget is used, red the day after the due date. None while the clock is
/// stopped or suspended (a change of the ledger sets it again).
pub fn next_warning(case: &Case, ctx: &Context) -> Option<(NaiveDateTime, Warning)> {
    if case.decision.is_some() || case.status.is_final() {
        return None;
    }
    let r = case.reading(ctx.calendar, ctx.today(), ctx.settings)?;
    if r.suspended {
        return None;
    }
    match r.warning {
        Warning::Green => {
            // Yellow when used × 100 ≥ percent × budget, i.e. with `left` working days left.
            let used = (i64::from(ctx.settings.yellow_at_percent) * r.budget_days + 99) / 100;
            let left = r.budget_days - used;
            let day = ctx.calendar.add_working_days(r.due_date, -left);
            Some((day.and_hms_opt(0, 0, 0)?, Warning::Yellow))
        }
        Warning::Yellow => Some((end_of(r.due_date), Warning::Red)),
        Warning::Red => None,
    }
}
