//! The state of one case, folded from its events by [`Case::apply`], and what can be read from
//! it with a calendar: the clock (derived, never stored) and the steps at hand.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::case::CaseSettings;
use crate::case::applicant::Applicant;
use crate::case::clock::{
    self, CaseClock, ClockReading, Extension, Suspension, SuspensionReason, derive_due_date,
};
use crate::case::events::{CaseEvent, Change, Delivery, Outcome, Token};
use crate::case::process::{NodeKind, ProcessDefinition, UserTask};
use crate::error::{Error, Result};
use crate::workdays::WorkingDays;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    /// Materials received, being checked; a notice is due within 5 working days (R-ACCEPT-5D).
    Received,
    /// A one-time notice was given before acceptance; waiting for the applicant.
    AwaitingSupplement,
    /// Accepted: the clock runs; not yet pushed to the department.
    Accepted,
    /// 不予受理 (final).
    Refused,
    /// Pushed to the department, waiting for its confirmation (R-ROUTE-10MIN).
    Routed,
    /// In the department's process.
    InProgress,
    /// 办结: the decision is made; the result is on its way.
    Concluded,
    /// The result reached the applicant (final).
    Issued,
}

impl CaseStatus {
    pub const ALL: [CaseStatus; 8] = [
        CaseStatus::Received,
        CaseStatus::AwaitingSupplement,
        CaseStatus::Accepted,
        CaseStatus::Refused,
        CaseStatus::Routed,
        CaseStatus::InProgress,
        CaseStatus::Concluded,
        CaseStatus::Issued,
    ];

    /// The status as it is stored and the API names it (`awaiting_supplement`).
    pub fn as_str(self) -> &'static str {
        match self {
            CaseStatus::Received => "received",
            CaseStatus::AwaitingSupplement => "awaiting_supplement",
            CaseStatus::Accepted => "accepted",
            CaseStatus::Refused => "refused",
            CaseStatus::Routed => "routed",
            CaseStatus::InProgress => "in_progress",
            CaseStatus::Concluded => "concluded",
            CaseStatus::Issued => "issued",
        }
    }

    pub fn parse(s: &str) -> Option<CaseStatus> {
        CaseStatus::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            CaseStatus::Received => "已收件",
            CaseStatus::AwaitingSupplement => "待补正",
            CaseStatus::Accepted => "已受理",
            CaseStatus::Refused => "不予受理",
            CaseStatus::Routed => "已送审批部门，等待部门接收",
            CaseStatus::InProgress => "办理中",
            CaseStatus::Concluded => "已办结",
            CaseStatus::Issued => "已出件",
        }
    }

    pub fn is_final(self) -> bool {
        matches!(self, CaseStatus::Refused | CaseStatus::Issued)
    }
}

/// A one-time notice (before acceptance) or a supplement request (during the handling).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub items: Vec<String>,
    pub note: String,
    pub given_at: NaiveDateTime,
    /// Items of this notice received since it was given.
    pub received: BTreeSet<String>,
    pub completed_at: Option<NaiveDateTime>,
    /// The clock suspension it opened (supplement requests only).
    pub suspension: Option<u32>,
}

impl Notice {
    fn new(items: &[String], note: &str, given_at: NaiveDateTime, suspension: Option<u32>) -> Self {
        Notice {
            items: items.to_vec(),
            note: note.to_string(),
            given_at,
            received: BTreeSet::new(),
            completed_at: None,
            suspension,
        }
    }

    pub fn outstanding(&self) -> Vec<&str> {
        self.items
            .iter()
            .filter(|i| !self.received.contains(*i))
            .map(String::as_str)
            .collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpinionKind {
    Note,
    Approved,
    Returned,
    /// Given after a deemed approval (R-DEEMED).
    Late,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Opinion {
    pub node: String,
    pub kind: OpinionKind,
    pub text: String,
    pub by: String,
    pub at: NaiveDateTime,
}

/// A step approved by default (R-DEEMED); the department still owes its opinion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeemedStep {
    pub node: String,
    /// The last day of the step's budget.
    pub due: NaiveDate,
    pub at: NaiveDateTime,
    pub opinion: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub node: String,
    pub outcome: Outcome,
    pub document_number: String,
    pub reasons: Vec<String>,
    pub on: NaiveDate,
    pub by: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issuance {
    pub delivery: Delivery,
    pub at: NaiveDateTime,
    pub by: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Routing {
    pub department: String,
    pub at: NaiveDateTime,
    pub confirmed_at: Option<NaiveDateTime>,
    pub deemed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    pub number: String,
    pub item: String,
    pub department: String,
    pub applicant: Applicant,
    pub answers: BTreeMap<String, String>,
    /// Every material code received so far.
    pub materials: BTreeSet<String>,
    pub status: CaseStatus,
    pub received_at: NaiveDateTime,
    pub statutory_limit_days: u32,
    pub committed_limit_days: u32,
    pub deemed_approval: bool,
    pub process_code: String,
    pub process_version: u32,
    /// The bundle case (一件事) this case belongs to.
    pub parent: Option<String>,
    pub warnings: Vec<String>,
    pub notices: Vec<Notice>,
    pub accepted_on: Option<NaiveDate>,
    pub accepted_deemed: bool,
    pub refusal: Option<Vec<String>>,
    pub routing: Option<Routing>,
    pub tokens: Vec<Token>,
    pub next_token: u32,
    pub suspensions: Vec<Suspension>,
    pub extensions: Vec<Extension>,
    pub opinions: Vec<Opinion>,
    pub deemed_steps: Vec<DeemedStep>,
    pub decision: Option<Decision>,
    pub issuance: Option<Issuance>,
}

/// An open step as a worklist shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepView {
    pub node: String,
    pub name: String,
    pub since: NaiveDateTime,
    pub due: NaiveDate,
    pub claimed_by: Option<String>,
}

impl Case {
    /// The state right after the first event, which must be `Received`.
    pub fn new(event: &CaseEvent) -> Result<Case> {
        let Change::Received {
            number,
            item,
            department,
            applicant,
            materials,
            answers,
            statutory_limit_days,
            committed_limit_days,
            deemed_approval,
            process_code,
            process_version,
            parent,
            warnings,
        } = &event.change
        else {
            return Err(Error::internal(format!(
                "a case must begin with its receipt, not {}",
                event.change.kind()
            )));
        };
        Ok(Case {
            number: number.clone(),
            item: item.clone(),
            department: department.clone(),
            applicant: applicant.clone(),
            answers: answers.clone(),
            materials: materials.iter().cloned().collect(),
            status: CaseStatus::Received,
            received_at: event.at,
            statutory_limit_days: *statutory_limit_days,
            committed_limit_days: *committed_limit_days,
            deemed_approval: *deemed_approval,
            process_code: process_code.clone(),
            process_version: *process_version,
            parent: parent.clone(),
            warnings: warnings.clone(),
            notices: Vec::new(),
            accepted_on: None,
            accepted_deemed: false,
            refusal: None,
            routing: None,
            tokens: Vec::new(),
            next_token: 0,
            suspensions: Vec::new(),
            extensions: Vec::new(),
            opinions: Vec::new(),
            deemed_steps: Vec::new(),
            decision: None,
            issuance: None,
        })
    }

    /// Rebuilds a case from all its events, oldest first.
    pub fn replay(events: &[CaseEvent]) -> Result<Case> {
        let (first, rest) = events
            .split_first()
            .ok_or_else(|| Error::internal("a case without events"))?;
        let mut case = Case::new(first)?;
        for e in rest {
            case.apply(e);
        }
        Ok(case)
    }

    /// Folds one event into the state. Events are facts already checked by the command that
    /// produced them, so this never fails.
    pub fn apply(&mut self, e: &CaseEvent) {
        match &e.change {
            Change::Received { .. } => {}
            Change::OneTimeNoticeGiven { items, note } => {
                self.notices.push(Notice::new(items, note, e.at, None));
                self.status = CaseStatus::AwaitingSupplement;
            }
            Change::MaterialsReceived { materials } => {
                self.materials.extend(materials.iter().cloned());
                if let Some(n) = self.open_notice_mut() {
                    let wanted: Vec<String> = materials
                        .iter()
                        .filter(|m| n.items.contains(m))
                        .cloned()
                        .collect();
                    n.received.extend(wanted);
                }
            }
            Change::Accepted { on, deemed } => {
                if let Some(n) = self.open_notice_mut() {
                    n.completed_at = Some(e.at);
                }
                self.accepted_on = Some(*on);
                self.accepted_deemed = *deemed;
                self.status = CaseStatus::Accepted;
            }
            Change::Refused { reasons } => {
                self.refusal = Some(reasons.clone());
                self.status = CaseStatus::Refused;
            }
            Change::Routed { department } => {
                self.routing = Some(Routing {
                    department: department.clone(),
                    at: e.at,
                    confirmed_at: None,
                    deemed: false,
                });
                self.status = CaseStatus::Routed;
            }
            Change::RouteConfirmed { deemed } => {
                if let Some(r) = &mut self.routing {
                    r.confirmed_at = Some(e.at);
                    r.deemed = *deemed;
                }
                self.status = CaseStatus::InProgress;
            }
            Change::TokensMoved { removed, placed } => {
                self.tokens.retain(|t| !removed.contains(&t.id));
                self.tokens.extend(placed.iter().cloned());
                let highest = placed.iter().map(|t| t.id + 1).max().unwrap_or(0);
                self.next_token = self.next_token.max(highest);
            }
            Change::StepClaimed { node } => {
                if let Some(t) = self.token_at_mut(node) {
                    t.claimed_by = Some(e.by.clone());
                }
            }
            Change::OpinionRecorded { node, opinion } => {
                self.push_opinion(e, node, OpinionKind::Note, opinion)
            }
            Change::StepApproved { node, opinion } => {
                self.push_opinion(e, node, OpinionKind::Approved, opinion)
            }
            Change::StepReturned { node, reason, .. } => {
                self.push_opinion(e, node, OpinionKind::Returned, reason)
            }
            Change::StepDeemedApproved { node, due } => self.deemed_steps.push(DeemedStep {
                node: node.clone(),
                due: *due,
                at: e.at,
                opinion: None,
            }),
            Change::LateOpinionRecorded { node, opinion } => {
                if let Some(d) = self.deemed_steps.iter_mut().rev().find(|d| &d.node == node) {
                    d.opinion = Some(opinion.clone());
                }
                self.push_opinion(e, node, OpinionKind::Late, opinion)
            }
            Change::TimerElapsed { .. } => {}
            Change::SupplementRequested {
                items,
                note,
                suspension,
                ..
            } => {
                self.notices
                    .push(Notice::new(items, note, e.at, Some(*suspension)));
                self.suspensions.push(Suspension {
                    id: *suspension,
                    reason: SuspensionReason::Supplement {
                        items: items.clone(),
                        note: note.clone(),
                    },
                    from: e.at.date(),
                    until: None,
                });
            }
            Change::SuspensionStarted { suspension } => self.suspensions.push(suspension.clone()),
            Change::SuspensionEnded { id, on } => {
                if let Some(s) = self.suspensions.iter_mut().find(|s| s.id == *id) {
                    s.until = Some(*on);
                }
                if let Some(n) = self.notices.iter_mut().find(|n| n.suspension == Some(*id)) {
                    n.completed_at = Some(e.at);
                }
            }
            Change::Extended { extension } => self.extensions.push(extension.clone()),
            Change::Decided {
                node,
                outcome,
                document_number,
                reasons,
                on,
            } => {
                self.decision = Some(Decision {
                    node: node.clone(),
                    outcome: *outcome,
                    document_number: document_number.clone(),
                    reasons: reasons.clone(),
                    on: *on,
                    by: e.by.clone(),
                });
                self.status = CaseStatus::Concluded;
            }
            Change::Issued { delivery, .. } => {
                self.issuance = Some(Issuance {
                    delivery: delivery.clone(),
                    at: e.at,
                    by: e.by.clone(),
                });
                self.status = CaseStatus::Issued;
            }
        }
    }

    fn push_opinion(&mut self, e: &CaseEvent, node: &str, kind: OpinionKind, text: &str) {
        self.opinions.push(Opinion {
            node: node.to_string(),
            kind,
            text: text.to_string(),
            by: e.by.clone(),
            at: e.at,
        });
    }

    fn open_notice_mut(&mut self) -> Option<&mut Notice> {
        self.notices
            .iter_mut()
            .rev()
            .find(|n| n.completed_at.is_none())
    }

    /// The notice or supplement request still waiting for materials, if any.
    pub fn open_notice(&self) -> Option<&Notice> {
        self.notices.iter().rev().find(|n| n.completed_at.is_none())
    }

    fn token_at_mut(&mut self, node: &str) -> Option<&mut Token> {
        self.tokens.iter_mut().find(|t| t.node == node)
    }

    pub fn token_at(&self, node: &str) -> Option<&Token> {
        self.tokens.iter().find(|t| t.node == node)
    }

    pub fn open_suspensions(&self) -> impl Iterator<Item = &Suspension> {
        self.suspensions.iter().filter(|s| s.is_open())
    }

    /// The time budget of the committed limit (承诺时限), once accepted.
    pub fn clock(&self) -> Option<CaseClock<'_>> {
        self.clock_for(self.committed_limit_days)
    }

    /// The time budget of the statutory limit (法定时限), once accepted.
    pub fn statutory_clock(&self) -> Option<CaseClock<'_>> {
        self.clock_for(self.statutory_limit_days)
    }

    fn clock_for(&self, limit_days: u32) -> Option<CaseClock<'_>> {
        Some(CaseClock {
            start: self.accepted_on?,
            limit_days,
            suspensions: &self.suspensions,
            extensions: &self.extensions,
            stopped_on: self.decision.as_ref().map(|d| d.on),
        })
    }

    /// The committed clock as API-V1 shows it (`due_date`, `working_days_left`, `warning`).
    pub fn reading(
        &self,
        calendar: &dyn WorkingDays,
        today: NaiveDate,
        settings: &CaseSettings,
    ) -> Option<ClockReading> {
        self.clock()
            .map(|c| c.reading(calendar, today, settings.yellow_at_percent))
    }

    /// R-ISSUE-10D: when the result must have reached the applicant.
    pub fn issue_due(&self, calendar: &dyn WorkingDays) -> Option<NaiveDate> {
        self.decision
            .as_ref()
            .map(|d| clock::issue_due(calendar, d.on))
    }

    /// The last day of a step's budget: counted from the day the token arrived, skipping the
    /// case's suspensions like the case clock does. A special-procedure step is itself a
    /// suspension; its date is the one the applicant was told (R-SPECIAL-TIME).
    pub fn step_due(
        &self,
        token: &Token,
        task: &UserTask,
        calendar: &dyn WorkingDays,
        today: NaiveDate,
    ) -> NaiveDate {
        if task.special_procedure.is_some() {
            return calendar.add_working_days(token.since.date(), i64::from(task.budget_days));
        }
        derive_due_date(
            calendar,
            token.since.date(),
            i64::from(task.budget_days),
            &self.suspensions,
            today,
        )
    }

    /// The steps waiting for someone, with their due dates.
    pub fn open_steps(
        &self,
        process: &ProcessDefinition,
        calendar: &dyn WorkingDays,
        today: NaiveDate,
    ) -> Vec<StepView> {
        self.tokens
            .iter()
            .filter_map(|t| {
                let node = process.node(&t.node)?;
                let NodeKind::UserTask(task) = &node.kind else {
                    return None;
                };
                Some(StepView {
                    node: node.id.clone(),
                    name: node.name.clone(),
                    since: t.since,
                    due: self.step_due(t, task, calendar, today),
                    claimed_by: t.claimed_by.clone(),
                })
            })
            .collect()
    }

    /// R-DEEMED: the deemed-approved steps whose department still owes its opinion, with the
    /// day it is due (`deemed_opinion_days` working days after the step's budget ran out).
    pub fn owed_opinions(
        &self,
        calendar: &dyn WorkingDays,
        settings: &CaseSettings,
    ) -> Vec<(&DeemedStep, NaiveDate)> {
        self.deemed_steps
            .iter()
            .filter(|d| d.opinion.is_none())
            .map(|d| {
                (
                    d,
                    calendar.add_working_days(d.due, i64::from(settings.deemed_opinion_days)),
                )
            })
            .collect()
    }

    /// Whether every thread of the process has reached an end.
    pub fn is_finished(&self) -> bool {
        self.status.is_final() && self.tokens.is_empty()
    }
}

#[cfg(test)]
mod status_names {
    use super::CaseStatus;

    #[test]
    fn a_case_status_is_stored_under_the_name_serde_gives_it() {
        for s in CaseStatus::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
            assert_eq!(CaseStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(CaseStatus::parse("closed"), None);
    }
}
