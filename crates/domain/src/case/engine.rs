//! The case state machine: commands in, events out, no I/O.
//!
//! ```text
//! receive ─┬─ accept ─────────────────────────┐
//!          ├─ one-time notice → supplement ───┤ (complete)
//!          ├─ refuse (reasons)                │
//!          └─ 5 working days, no notice ──────┤ deemed accepted from receipt (R-ACCEPT-5D)
//!                                             ▼
//!                                 accepted ─ route ─ confirm / 10 office minutes (R-ROUTE-10MIN)
//!                                             ▼
//!        process graph: claim → opinion → approve / return; supplement and special procedures
//!        suspend the clock; one extension; deemed approval (R-DEEMED); decide; issue
//! ```
//!
//! Every command first brings the case up to `now` (deadlines that passed since the last event:
//! deemed acceptance, deemed route confirmation, timers, deemed approvals, in the order they
//! fell due), then checks the current state and the actor and returns the events, or an error
//! with a Chinese message and nothing changed. [`Case::tick`] does only the first part; the
//! server calls it from a durable timer set at [`Case::next_deadline`].
//!
//! Rules and choices:
//! * A one-time notice must list *every* required material still missing (it may add materials
//!   received but not conforming), so the applicant never comes back for a second notice.
//! * Acceptance requires every required material; the day of acceptance is the clock's start.
//! * A step is worked on by the person who claimed it, who must have the step's role and, for
//!   department roles, its department (the item's own when the step names none). Steps of hall
//!   roles (clerk, issuance) are not bound to a department; the server checks the hall.
//! * "Return to the previous step" goes back along the token's own thread (not across a parallel
//!   split or join); the issuance step cannot return (the decision is made).
//! * R-DEEMED: for items flagged `deemed_approval`, a review step whose budget ran out counts as
//!   approved at the start of the next day and the case moves on. The following steps may not
//!   return the case to it for the missing opinion; the department still owes its opinion within
//!   `deemed_opinion_days` (1) working day ([`Case::owed_opinions`]). Deemed approval stands for
//!   a department's opinion on a step only: it never makes the decision, never replaces a special
//!   procedure and never runs while the clock is suspended.
//! * Special procedures (R-SPECIAL-TIME) are either a step flagged as one (its whole time is
//!   suspended) or started inside a step by its holder, when published for the item (not counted
//!   in the limit) or named by 行政许可法 第45条. Leaving a step ends its special procedures.
//! * A decision needs a document number, and reasons when denied; it waits until no suspension
//!   is open. The decision stops the clock (R-DECIDE-20D); issuance is then due within 10
//!   working days (R-ISSUE-10D).

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::access::{Actor, Role};
use crate::case::CaseSettings;
use crate::case::applicant::{
    Applicant, check_answers, check_material_codes, describe, missing_materials,
};
use crate::case::clock::{
    Suspension, SuspensionReason, deemed_confirmation_at, end_of, notice_deadline,
};
use crate::case::events::{CaseEvent, Change, Delivery, Outcome, SYSTEM, Token};
use crate::case::process::{NodeKind, ProcessDefinition, StepAction, UserTask};
use crate::case::state::{Case, CaseStatus};
use crate::case::tokens::{Movement, Runner};
use crate::catalogue::MAX_SPECIAL_PROCEDURE_DAYS;
use crate::catalogue::{ItemKind, ServiceItem};
use crate::error::{Error, FieldError, Problems, Result};
use crate::workdays::{OfficeClock, WorkingDays};

/// Everything a command needs besides the case: the hall's time and calendar, the item, the
/// process the case runs (the version it started with) and the settings.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    /// Hall-local time.
    pub now: NaiveDateTime,
    pub calendar: &'a dyn WorkingDays,
    pub office: &'a dyn OfficeClock,
    pub item: &'a ServiceItem,
    pub process: &'a ProcessDefinition,
    pub settings: &'a CaseSettings,
}

impl Context<'_> {
    pub fn today(&self) -> NaiveDate {
        self.now.date()
    }
}

/// What the window receives: API-V1 `POST /api/v1/cases`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The case number, assigned by the store.
    pub number: String,
    pub applicant: Applicant,
    /// Codes of the materials received.
    #[serde(default)]
    pub materials: Vec<String>,
    /// Answers to the item's situations: situation code → option code.
    #[serde(default)]
    pub answers: BTreeMap<String, String>,
    /// The bundle case (一件事) this case belongs to.
    #[serde(default)]
    pub parent: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    GiveOneTimeNotice {
        items: Vec<String>,
        #[serde(default)]
        note: String,
    },
    Supplement {
        materials: Vec<String>,
    },
    /// Materials that reached the hall before the front desk took them in (dropped off in a
    /// smart locker): the clock resumes as of `on` (R-SUPPLEMENT-PAUSE; the locker setting
    /// says whether that is the day of the deposit or of the collection). `on` is kept between
    /// the notice's day and today.
    SupplementReceivedOn {
        materials: Vec<String>,
        on: NaiveDate,
    },
    Accept,
    Refuse {
        reasons: Vec<String>,
    },
    Route,
    ConfirmRoute,
    Claim {
        node: String,
    },
    RecordOpinion {
        node: String,
        opinion: String,
    },
    Approve {
        node: String,
        opinion: String,
    },
    Return {
        node: String,
        reason: String,
    },
    RequestSupplement {
        node: String,
        items: Vec<String>,
        #[serde(default)]
        note: String,
    },
    StartSpecialProcedure {
        node: String,
        name: String,
        /// Working days it needs; by default those published for the item.
        #[serde(default)]
        days: Option<u32>,
    },
    EndSpecialProcedure {
        node: String,
    },
    Extend {
        reason: String,
        /// The head of the authority who approved it.
        approved_by: String,
    },
    Decide {
        node: String,
        outcome: Outcome,
        document_number: String,
        #[serde(default)]
        reasons: Vec<String>,
    },
    Issue {
        node: String,
        delivery: Delivery,
    },
    RecordLateOpinion {
        node: String,
        opinion: String,
    },
    /// 即办件 at the window: accepted, approved and issued in one step. Only for immediate
    /// items with every required material there; the events name the node `window`.
    DecideOnTheSpot {
        document_number: String,
        delivery: Delivery,
    },
}

/// The node that on-the-spot decisions and issuances name (no process step runs for them).
pub const WINDOW_NODE: &str = "window";

/// 行政许可法 第45条: procedures whose time is never counted in the limit.
pub const STATUTORY_SPECIAL_PROCEDURES: [&str; 8] = [
    "听证",
    "招标",
    "拍卖",
    "检验",
    "检测",
    "检疫",
    "鉴定",
    "专家评审",
];

/// Records the receipt of an application (status `received`).
pub fn receive(receipt: &Receipt, actor: &Actor, ctx: &Context) -> Result<Vec<CaseEvent>> {
    crate::agency::require_front_desk(actor, "收件")?;
    let mut p = Problems::new();
    p.check(!receipt.number.trim().is_empty(), "number", "缺少办件编号");
    let (applicant, warnings) = receipt.applicant.checked(ctx.today(), &mut p);
    check_answers(ctx.item, &receipt.answers, &mut p);
    check_material_codes(ctx.item, &receipt.materials, "materials", &mut p);
    p.finish()?;
    let mut materials = receipt.materials.clone();
    materials.sort();
    materials.dedup();
    Ok(vec![CaseEvent {
        at: ctx.now,
        by: actor.event_name(),
        on_behalf_of: actor.on_behalf.clone(),
        change: Change::Received {
            number: receipt.number.trim().to_string(),
            item: ctx.item.code.clone(),
            department: ctx.item.department.clone(),
            applicant,
            materials,
            answers: receipt.answers.clone(),
            statutory_limit_days: ctx.item.statutory_limit_days,
            committed_limit_days: ctx.item.committed_limit_days,
            deemed_approval: ctx.item.deemed_approval,
            process_code: ctx.process.code.clone(),
            process_version: ctx.process.version,
            parent: receipt.parent.clone(),
            warnings,
        },
    }])
}

/// Receipt at the window as API-V1 `POST /api/v1/cases` does it: accepted at once when every
/// required material is there, else a one-time notice listing everything missing.
pub fn receive_at_window(
    receipt: &Receipt,
    actor: &Actor,
    ctx: &Context,
) -> Result<Vec<CaseEvent>> {
    let mut events = receive(receipt, actor, ctx)?;
    let case = Case::replay(&events)?;
    let missing: Vec<String> =
        missing_materials(ctx.item, &case.answers, |c| case.materials.contains(c))
            .iter()
            .map(|m| m.code.clone())
            .collect();
    let next = if missing.is_empty() {
        Command::Accept
    } else {
        Command::GiveOneTimeNotice {
            items: missing,
            note: String::new(),
        }
    };
    events.extend(case.handle(&next, actor, ctx)?);
    Ok(events)
}

/// A deadline that passes by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    DeemedAcceptance,
    DeemedConfirmation,
    TimerElapsed(u32),
    DeemedApproval { token: u32, due: NaiveDate },
}

impl Case {
    /// Runs one command at `ctx.now` (after the deadlines that passed, see the module docs).
    pub fn handle(
        &self,
        command: &Command,
        actor: &Actor,
        ctx: &Context,
    ) -> Result<Vec<CaseEvent>> {
        let mut run = Run::new(self, ctx)?;
        run.catch_up()?;
        run.command(command, actor)?;
        crate::agency::stamp(&mut run.events, actor);
        Ok(run.events)
    }

    /// Only the deadlines that passed by `ctx.now`.
    pub fn tick(&self, ctx: &Context) -> Result<Vec<CaseEvent>> {
        let mut run = Run::new(self, ctx)?;
        run.catch_up()?;
        Ok(run.events)
    }

    /// When the next deadline falls (for the durable timer that calls [`Case::tick`]).
    pub fn next_deadline(&self, ctx: &Context) -> Option<NaiveDateTime> {
        Run::new(self, ctx).ok()?.next_effect().map(|(at, _)| at)
    }
}

/// One command's work on a copy of the case: every event is applied as it is emitted, so later
/// checks see the state the earlier events made.
struct Run<'c> {
    case: Case,
    events: Vec<CaseEvent>,
    ctx: &'c Context<'c>,
}

/// Deadlines feed each other (a deemed approval reaches the next step, whose budget may have
/// run out too) but a process is finite; this guards against a definition that is not.
const MAX_EFFECTS: usize = 10_000;

fn missing_field(field: &str, message: &str) -> Error {
    Error::validation(vec![FieldError {
        field: field.to_string(),
        message: message.to_string(),
    }])
}

/// A text the command cannot do without, trimmed.
fn required(value: &str, field: &str, message: &str) -> Result<String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(missing_field(field, message));
    }
    Ok(v.to_string())
}

/// A list that must hold at least one non-blank entry; blanks are dropped.
fn required_list(values: &[String], field: &str, message: &str) -> Result<Vec<String>> {
    let list: Vec<String> = values
        .iter()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect();
    if list.is_empty() {
        return Err(missing_field(field, message));
    }
    Ok(list)
}

fn state_error(status: CaseStatus, what: &str) -> Error {
    Error::conflict(
        "invalid_case_state",
        format!("办件当前状态为“{}”，不能{}", status.label(), what),
    )
}

impl<'c> Run<'c> {
    fn new(case: &Case, ctx: &'c Context<'c>) -> Result<Self> {
        if ctx.item.code != case.item {
            return Err(Error::internal(format!(
                "case {} is for item {}, not {}",
                case.number, case.item, ctx.item.code
            )));
        }
        if ctx.process.code != case.process_code || ctx.process.version != case.process_version {
            return Err(Error::internal(format!(
                "case {} runs process {} v{}, not {} v{}",
                case.number,
                case.process_code,
                case.process_version,
                ctx.process.code,
                ctx.process.version
            )));
        }
        Ok(Run {
            case: case.clone(),
            events: Vec::new(),
            ctx,
        })
    }

    fn emit(&mut self, at: NaiveDateTime, by: &str, change: Change) {
        let e = CaseEvent {
            at,
            by: by.to_string(),
            on_behalf_of: None,
            change,
        };
        self.case.apply(&e);
        self.events.push(e);
    }

    fn require_status(&self, allowed: &[CaseStatus], what: &str) -> Result<()> {
        if allowed.contains(&self.case.status) {
            Ok(())
        } else if self.case.status == CaseStatus::Accepted && self.case.accepted_deemed {
            Err(Error::conflict(
                "deemed_accepted",
                format!(
                    "收到材料后 5 个工作日内未出具一次性告知，依法自收到材料之日（{}）起视为受理（R-ACCEPT-5D），不能{}",
                    self.case
                        .accepted_on
                        .map(|d| d.to_string())
                        .unwrap_or_default(),
                    what
                ),
            ))
        } else {
            Err(state_error(self.case.status, what))
        }
    }

    // ---- deadlines ----

    fn catch_up(&mut self) -> Result<()> {
        for _ in 0..MAX_EFFECTS {
            match self.next_effect() {
                Some((at, effect)) if at <= self.ctx.now => self.fire(at, effect)?,
                _ => return Ok(()),
            }
        }
        Err(Error::internal(format!(
            "case {}: deadlines do not settle",
            self.case.number
        )))
    }

    fn next_effect(&self) -> Option<(NaiveDateTime, Effect)> {
        let ctx = self.ctx;
        let case = &self.case;
        match case.status {
            CaseStatus::Received => Some((
                end_of(notice_deadline(ctx.calendar, case.received_at.date())),
                Effect::DeemedAcceptance,
            )),
            CaseStatus::Routed => case.routing.as_ref().map(|r| {
                (
                    deemed_confirmation_at(ctx.office, r.at, ctx.settings.route_confirm_minutes),
                    Effect::DeemedConfirmation,
                )
            }),
            CaseStatus::InProgress | CaseStatus::Concluded => case
                .tokens
                .iter()
                .filter_map(|t| self.token_deadline(t))
                .min_by_key(|(at, _)| *at),
            _ => None,
        }
    }

    fn token_deadline(&self, token: &Token) -> Option<(NaiveDateTime, Effect)> {
        let ctx = self.ctx;
        match &ctx.process.node(&token.node)?.kind {
            NodeKind::Timer { days } => Some((
                end_of(
                    ctx.calendar
                        .add_working_days(token.since.date(), i64::from(*days)),
                ),
                Effect::TimerElapsed(token.id),
            )),
            NodeKind::UserTask(task)
                if self.case.deemed_approval
                    && self.case.status == CaseStatus::InProgress
                    && task.action == StepAction::Review
                    && task.special_procedure.is_none() =>
            {
                let due = self.case.step_due(token, task, ctx.calendar, ctx.today());
                Some((
                    end_of(due),
                    Effect::DeemedApproval {
                        token: token.id,
                        due,
                    },
                ))
            }
            _ => None,
        }
    }

    fn fire(&mut self, at: NaiveDateTime, effect: Effect) -> Result<()> {
        match effect {
            Effect::DeemedAcceptance => {
                // R-ACCEPT-5D: accepted from the day the materials were received.
                let on = self.case.received_at.date();
                self.emit(at, SYSTEM, Change::Accepted { on, deemed: true });
            }
            Effect::DeemedConfirmation => {
                // R-ROUTE-10MIN
                self.emit(at, SYSTEM, Change::RouteConfirmed { deemed: true });
                self.start_process(at, SYSTEM)?;
            }
            Effect::TimerElapsed(id) => {
                let token = self.token(id)?;
                self.emit(
                    at,
                    SYSTEM,
                    Change::TimerElapsed {
                        node: token.node.clone(),
                    },
                );
                self.advance(at, SYSTEM, id, token.trail)?;
            }
            Effect::DeemedApproval { token: id, due } => {
                // R-DEEMED
                let token = self.token(id)?;
                self.emit(
                    at,
                    SYSTEM,
                    Change::StepDeemedApproved {
                        node: token.node.clone(),
                        due,
                    },
                );
                let mut trail = token.trail;
                trail.push(token.node);
                self.advance(at, SYSTEM, id, trail)?;
            }
        }
        Ok(())
    }

    // ---- the process graph ----

    fn token(&self, id: u32) -> Result<Token> {
        self.case
            .tokens
            .iter()
            .find(|t| t.id == id)
            .cloned()
            .ok_or_else(|| Error::internal(format!("no token {id}")))
    }

    fn runner(&self, at: NaiveDateTime) -> Runner<'_> {
        Runner {
            process: self.ctx.process,
            answers: &self.case.answers,
            at,
        }
    }

    fn start_process(&mut self, at: NaiveDateTime, by: &str) -> Result<()> {
        let m = self
            .runner(at)
            .start(&self.case.tokens, self.case.next_token)?;
        self.move_tokens(at, by, m);
        Ok(())
    }

    fn advance(&mut self, at: NaiveDateTime, by: &str, id: u32, trail: Vec<String>) -> Result<()> {
        let m = self
            .runner(at)
            .advance(&self.case.tokens, self.case.next_token, id, trail)?;
        self.move_tokens(at, by, m);
        Ok(())
    }

    /// Records a movement; a step flagged as a special procedure suspends the clock as soon as
    /// a token reaches it (R-SPECIAL-TIME).
    fn move_tokens(&mut self, at: NaiveDateTime, by: &str, m: Movement) {
        let specials: Vec<(String, String, u32)> = m
            .placed
            .iter()
            .filter_map(|t| {
                let task = self.ctx.process.node(&t.node)?.task()?;
                let name = task.special_procedure.clone()?;
                Some((t.node.clone(), name, task.budget_days))
            })
            .collect();
        self.emit(
            at,
            by,
            Change::TokensMoved {
                removed: m.removed,
                placed: m.placed,
            },
        );
        for (node, name, days) in specials {
            self.start_suspension(
                at,
                by,
                SuspensionReason::SpecialProcedure {
                    name,
                    days,
                    node: Some(node),
                },
            );
        }
    }

    fn start_suspension(&mut self, at: NaiveDateTime, by: &str, reason: SuspensionReason) {
        let suspension = Suspension {
            id: self.case.suspensions.len() as u32,
            reason,
            from: at.date(),
            until: None,
        };
        self.emit(at, by, Change::SuspensionStarted { suspension });
    }

    /// Leaving a step ends the special procedures that belong to it.
    fn end_specials_of(&mut self, node: &str, by: &str) {
        let open: Vec<u32> = self
            .case
            .open_suspensions()
            .filter(|s| {
                matches!(&s.reason, SuspensionReason::SpecialProcedure { node: Some(n), .. } if n == node)
            })
            .map(|s| s.id)
            .collect();
        for id in open {
            self.emit(
                self.ctx.now,
                by,
                Change::SuspensionEnded {
                    id,
                    on: self.ctx.today(),
                },
            );
        }
    }

    fn label(&self, node: &str) -> String {
        self.ctx
            .process
            .node(node)
            .map_or_else(|| format!("“{node}”"), |n| n.label())
    }

    /// The token at `node` and its step, for an actor who may work on it.
    fn step(&self, node: &str) -> Result<(Token, UserTask)> {
        let token = self.case.token_at(node).cloned().ok_or_else(|| {
            Error::conflict(
                "step_not_open",
                format!("环节{}当前没有待办", self.label(node)),
            )
        })?;
        let task = self
            .ctx
            .process
            .node(node)
            .and_then(|n| n.task())
            .cloned()
            .ok_or_else(|| {
                Error::conflict(
                    "step_not_open",
                    format!("{}不是需要人工办理的环节", self.label(node)),
                )
            })?;
        Ok((token, task))
    }

    fn may_work_on(&self, actor: &Actor, node: &str, task: &UserTask) -> Result<()> {
        if actor.role != task.role {
            return Err(Error::forbidden(format!(
                "环节{}需由{}办理，当前账号是{}",
                self.label(node),
                task.role.label(),
                actor.role.label()
            )));
        }
        if task.role == Role::Approver {
            let department = task.department.as_deref().unwrap_or(&self.case.department);
            actor.require_department(department, "办理")?;
        }
        Ok(())
    }

    /// The step at `node`, claimed by `actor`.
    fn held_step(&self, node: &str, actor: &Actor) -> Result<(Token, UserTask)> {
        let (token, task) = self.step(node)?;
        match &token.claimed_by {
            Some(by) if *by == actor.event_name() => Ok((token, task)),
            Some(by) => Err(Error::forbidden(format!(
                "环节{}已由{}认领办理",
                self.label(node),
                by
            ))),
            None => Err(Error::conflict(
                "step_not_claimed",
                format!("请先认领环节{}", self.label(node)),
            )),
        }
    }

    fn require_action(&self, node: &str, task: &UserTask, action: StepAction) -> Result<()> {
        if task.action == action {
            return Ok(());
        }
        let hint = match task.action {
            StepAction::Review => "审核环节请使用“通过”或“退回”",
            StepAction::Decide => "决定环节请使用“作出决定”",
            StepAction::Issue => "出件环节请使用“出件”",
        };
        Err(Error::conflict(
            "wrong_step_action",
            format!("{}：{}", self.label(node), hint),
        ))
    }

    fn department_staff(&self, actor: &Actor, department: &str, what: &str) -> Result<()> {
        actor.require_role(&[Role::Approver, Role::Admin], what)?;
        actor.require_department(department, what)
    }

    // ---- commands ----

    fn command(&mut self, command: &Command, actor: &Actor) -> Result<()> {
        let now = self.ctx.now;
        let today = self.ctx.today();
        let by = actor.event_name();
        let by = by.as_str();
        match command {
            Command::GiveOneTimeNotice { items, note } => {
                crate::agency::require_front_desk(actor, "出具一次性告知")?;
                self.require_status(&[CaseStatus::Received], "出具一次性告知")?;
                let items = self.notice_items(items)?;
                self.emit(
                    now,
                    by,
                    Change::OneTimeNoticeGiven {
                        items,
                        note: note.trim().to_string(),
                    },
                );
            }
            Command::Supplement { materials } => self.supplement(materials, actor, None)?,
            Command::SupplementReceivedOn { materials, on } => {
                self.supplement(materials, actor, Some(*on))?
            }
            Command::Accept => {
                crate::agency::require_front_desk(actor, "受理")?;
                self.require_status(&[CaseStatus::Received], "受理")?;
                let case = &self.case;
                let missing =
                    missing_materials(self.ctx.item, &case.answers, |c| case.materials.contains(c));
                if !missing.is_empty() {
                    return Err(Error::conflict(
                        "materials_incomplete",
                        format!(
                            "材料不齐全，不能受理：缺少{}；请出具一次性告知（R-ACCEPT-5D）",
                            describe(&missing)
                        ),
                    ));
                }
                self.emit(
                    now,
                    by,
                    Change::Accepted {
                        on: today,
                        deemed: false,
                    },
                );
            }
            Command::Refuse { reasons } => {
                crate::agency::require_front_desk(actor, "不予受理")?;
                self.require_status(
                    &[CaseStatus::Received, CaseStatus::AwaitingSupplement],
                    "不予受理",
                )?;
                // R-ACCEPT-RECEIPT: a refusal states its reasons.
                let reasons = required_list(reasons, "reasons", "不予受理必须写明理由")?;
                self.emit(now, by, Change::Refused { reasons });
            }
            Command::Route => {
                crate::agency::require_front_desk(actor, "推送办件")?;
                self.require_status(&[CaseStatus::Accepted], "推送到部门")?;
                let department = self.case.department.clone();
                self.emit(now, by, Change::Routed { department });
            }
            Command::ConfirmRoute => {
                self.require_status(&[CaseStatus::Routed], "确认接收")?;
                let department = self
                    .case
                    .routing
                    .as_ref()
                    .map(|r| r.department.clone())
                    .unwrap_or_default();
                self.department_staff(actor, &department, "确认接收办件")?;
                self.emit(now, by, Change::RouteConfirmed { deemed: false });
                self.start_process(now, by)?;
            }
            Command::Claim { node } => {
                self.require_status(&[CaseStatus::InProgress, CaseStatus::Concluded], "认领环节")?;
                let (token, task) = self.step(node)?;
                self.may_work_on(actor, node, &task)?;
                match &token.claimed_by {
                    // Claiming twice changes nothing.
                    Some(mine) if mine == by => {}
                    Some(other) => {
                        return Err(Error::conflict(
                            "step_claimed",
                            format!("环节{}已由{}认领", self.label(node), other),
                        ));
                    }
                    None => self.emit(now, by, Change::StepClaimed { node: node.clone() }),
                }
            }
            Command::RecordOpinion { node, opinion } => {
                self.held_step(node, actor)?;
                let opinion = required(opinion, "opinion", "请填写意见")?;
                self.emit(
                    now,
                    by,
                    Change::OpinionRecorded {
                        node: node.clone(),
                        opinion,
                    },
                );
            }
            Command::Approve { node, opinion } => {
                self.require_status(&[CaseStatus::InProgress], "审核通过")?;
                let (token, task) = self.held_step(node, actor)?;
                self.require_action(node, &task, StepAction::Review)?;
                let opinion = required(opinion, "opinion", "审核通过需要填写审核意见")?;
                self.require_no_open_supplement()?;
                self.end_specials_of(node, by);
                self.emit(
                    now,
                    by,
                    Change::StepApproved {
                        node: node.clone(),
                        opinion,
                    },
                );
                let mut trail = token.trail;
                trail.push(node.clone());
                self.advance(now, by, token.id, trail)?;
            }
            Command::Return { node, reason } => self.return_step(node, reason, actor)?,
            Command::RequestSupplement { node, items, note } => {
                self.require_status(&[CaseStatus::InProgress], "要求补正")?;
                // The issuance step only exists after the decision, when the status forbids this.
                self.held_step(node, actor)?;
                if self.case.open_notice().is_some() {
                    return Err(Error::conflict(
                        "supplement_open",
                        "已有一份补正告知在等待材料，请在其中补充，不要分次告知",
                    ));
                }
                let mut p = Problems::new();
                let items = required_list(items, "items", "请列出需要补正的材料")?;
                check_material_codes(self.ctx.item, &items, "items", &mut p);
                p.finish()?;
                let suspension = self.case.suspensions.len() as u32;
                // R-SUPPLEMENT-PAUSE: the clock stops until the materials arrive.
                self.emit(
                    now,
                    by,
                    Change::SupplementRequested {
                        node: node.clone(),
                        items,
                        note: note.trim().to_string(),
                        suspension,
                    },
                );
            }
            Command::StartSpecialProcedure { node, name, days } => {
                self.start_special(node, name, *days, actor)?
            }
            Command::EndSpecialProcedure { node } => {
                self.held_step(node, actor)?;
                let open = self.case.open_suspensions().any(|s| {
                    matches!(&s.reason, SuspensionReason::SpecialProcedure { node: Some(n), .. } if n == node)
                });
                if !open {
                    return Err(Error::conflict(
                        "no_special_procedure",
                        format!("环节{}没有进行中的特别程序", self.label(node)),
                    ));
                }
                self.end_specials_of(node, by);
            }
            Command::Extend {
                reason,
                approved_by,
            } => self.extend(reason, approved_by, actor)?,
            Command::Decide {
                node,
                outcome,
                document_number,
                reasons,
            } => self.decide(node, *outcome, document_number, reasons, actor)?,
            Command::Issue { node, delivery } => {
                self.require_status(&[CaseStatus::Concluded], "出件")?;
                let (token, task) = self.held_step(node, actor)?;
                self.require_action(node, &task, StepAction::Issue)?;
                let delivery = checked_delivery(delivery)?;
                self.emit(
                    now,
                    by,
                    Change::Issued {
                        node: node.clone(),
                        delivery,
                    },
                );
                let mut trail = token.trail;
                trail.push(node.clone());
                self.advance(now, by, token.id, trail)?;
            }
            Command::DecideOnTheSpot {
                document_number,
                delivery,
            } => self.decide_on_the_spot(document_number, delivery, actor)?,
            Command::RecordLateOpinion { node, opinion } => {
                let owed = self
                    .case
                    .deemed_steps
                    .iter()
                    .any(|d| &d.node == node && d.opinion.is_none());
                if !owed {
                    return Err(Error::conflict(
                        "no_opinion_owed",
                        format!("环节{}没有超时默认通过后待补充的意见", self.label(node)),
                    ));
                }
                let department = self
                    .ctx
                    .process
                    .node(node)
                    .and_then(|n| n.task())
                    .and_then(|t| t.department.clone())
                    .unwrap_or_else(|| self.case.department.clone());
                self.department_staff(actor, &department, "补充部门意见")?;
                let opinion = required(opinion, "opinion", "请填写部门意见")?;
                self.emit(
                    now,
                    by,
                    Change::LateOpinionRecorded {
                        node: node.clone(),
                        opinion,
                    },
                );
            }
        }
        Ok(())
    }

    /// R-ACCEPT-5D: the notice lists everything missing; it may add materials that were
    /// received but do not conform.
    fn notice_items(&self, items: &[String]) -> Result<Vec<String>> {
        let mut items = required_list(items, "items", "一次性告知必须列出需要补正的材料")?;
        items.sort();
        items.dedup();
        let mut p = Problems::new();
        check_material_codes(self.ctx.item, &items, "items", &mut p);
        let case = &self.case;
        let omitted = missing_materials(self.ctx.item, &case.answers, |c| {
            case.materials.contains(c) || items.iter().any(|i| i == c)
        });
        if !omitted.is_empty() {
            p.add(
                "items",
                format!(
                    "一次性告知必须列出全部需要补正的材料，还缺少：{}",
                    describe(&omitted)
                ),
            );
        }
        p.finish()?;
        Ok(items)
    }

    fn supplement(
        &mut self,
        materials: &[String],
        actor: &Actor,
        received_on: Option<NaiveDate>,
    ) -> Result<()> {
        let now = self.ctx.now;
        let today = match (received_on, self.case.open_notice()) {
            (Some(on), Some(n)) => on.clamp(n.given_at.date(), self.ctx.today()),
            _ => self.ctx.today(),
        };
        let by = actor.event_name();
        let before_acceptance = self.case.status == CaseStatus::AwaitingSupplement;
        let during_handling = self.case.status == CaseStatus::InProgress
            && self
                .case
                .open_notice()
                .is_some_and(|n| n.suspension.is_some());
        if !before_acceptance && !during_handling {
            return Err(Error::conflict(
                "no_supplement_expected",
                format!(
                    "办件当前状态为“{}”，没有待补正的告知",
                    self.case.status.label()
                ),
            ));
        }
        if actor.role == Role::Agent {
            // An agent hands supplements in for its principal under a mandate (R-MANDATE).
            crate::agency::require_front_desk(actor, "提交补正材料")?;
        } else {
            actor.require_role(
                &[Role::Clerk, Role::HallManager, Role::Admin, Role::Approver],
                "接收补正材料",
            )?;
        }
        if actor.role == Role::Approver {
            actor.require_department(&self.case.department, "接收补正材料")?;
        }
        let mut materials = required_list(materials, "materials", "请选择收到的补正材料")?;
        materials.sort();
        materials.dedup();
        let mut p = Problems::new();
        check_material_codes(self.ctx.item, &materials, "materials", &mut p);
        p.finish()?;
        self.emit(now, &by, Change::MaterialsReceived { materials });
        let Some(notice) = self.case.open_notice() else {
            return Ok(());
        };
        if !notice.outstanding().is_empty() {
            return Ok(());
        }
        match notice.suspension {
            // The clock starts on the day the notice is answered in full.
            None => self.emit(
                now,
                &by,
                Change::Accepted {
                    on: today,
                    deemed: false,
                },
            ),
            // R-SUPPLEMENT-PAUSE: the clock restarts.
            Some(id) => self.emit(now, &by, Change::SuspensionEnded { id, on: today }),
        }
        Ok(())
    }

    /// 即办件: the window accepts, decides and hands over the result at once.
    fn decide_on_the_spot(
        &mut self,
        document_number: &str,
        delivery: &Delivery,
        actor: &Actor,
    ) -> Result<()> {
        let (now, today) = (self.ctx.now, self.ctx.today());
        let by = actor.event_name();
        crate::agency::require_front_desk(actor, "当场办结")?;
        if self.ctx.item.kind != ItemKind::Immediate {
            return Err(Error::conflict(
                "not_immediate",
                format!(
                    "“{}”是承诺件，须推送部门办理；只有即办件可以当场办结",
                    self.ctx.item.name
                ),
            ));
        }
        self.require_status(&[CaseStatus::Received, CaseStatus::Accepted], "当场办结")?;
        let case = &self.case;
        let missing =
            missing_materials(self.ctx.item, &case.answers, |c| case.materials.contains(c));
        if !missing.is_empty() {
            return Err(Error::conflict(
                "materials_incomplete",
                format!(
                    "材料不齐全，不能当场办结：缺少{}；请出具一次性告知（R-ACCEPT-5D）",
                    describe(&missing)
                ),
            ));
        }
        let document_number = required(
            document_number,
            "document_number",
            "请填写办结文书（证照或凭证）编号",
        )?;
        let delivery = checked_delivery(delivery)?;
        if self.case.status == CaseStatus::Received {
            self.emit(
                now,
                &by,
                Change::Accepted {
                    on: today,
                    deemed: false,
                },
            );
        }
        self.emit(
            now,
            &by,
            Change::Decided {
                node: WINDOW_NODE.into(),
                outcome: Outcome::Approved,
                document_number,
                reasons: Vec::new(),
                on: today,
            },
        );
        self.emit(
            now,
            &by,
            Change::Issued {
                node: WINDOW_NODE.into(),
                delivery,
            },
        );
        Ok(())
    }

    fn require_no_open_supplement(&self) -> Result<()> {
        if self.case.open_notice().is_some() {
            return Err(Error::conflict(
                "awaiting_supplement",
                "正在等待补正材料，计时已暂停；收到补正材料后再继续办理",
            ));
        }
        Ok(())
    }

    fn return_step(&mut self, node: &str, reason: &str, actor: &Actor) -> Result<()> {
        let now = self.ctx.now;
        let by = actor.event_name();
        self.require_status(&[CaseStatus::InProgress], "退回")?;
        // The issuance step only exists after the decision, when the status forbids a return.
        let (token, _) = self.held_step(node, actor)?;
        let reason = required(reason, "reason", "退回必须写明理由")?;
        let mut trail = token.trail.clone();
        let Some(previous) = trail.pop() else {
            return Err(Error::conflict(
                "nothing_to_return_to",
                format!("环节{}之前没有可退回的环节", self.label(node)),
            ));
        };
        // R-DEEMED: a step approved by default may not be sent back for its missing opinion.
        if self.case.deemed_steps.iter().any(|d| d.node == previous) {
            return Err(Error::conflict(
                "deemed_step",
                format!(
                    "上一环节{}已超时默认通过（R-DEEMED），不得以缺少其意见为由退回；该部门须补充意见",
                    self.label(&previous)
                ),
            ));
        }
        self.end_specials_of(node, &by);
        self.emit(
            now,
            &by,
            Change::StepReturned {
                node: node.to_string(),
                to: previous.clone(),
                reason,
            },
        );
        let m = self
            .runner(now)
            .move_back(self.case.next_token, token.id, &previous, trail);
        self.move_tokens(now, &by, m);
        Ok(())
    }

    fn start_special(
        &mut self,
        node: &str,
        name: &str,
        days: Option<u32>,
        actor: &Actor,
    ) -> Result<()> {
        self.require_status(&[CaseStatus::InProgress], "启动特别程序")?;
        self.held_step(node, actor)?;
        let name = required(name, "name", "请填写特别程序名称")?;
        let published = self
            .ctx
            .item
            .special_procedures
            .iter()
            .find(|s| s.name == name);
        if published.is_some_and(|s| s.counted_in_limit) {
            return Err(Error::conflict(
                "special_procedure_counted",
                format!("特别程序“{name}”按办事指南计入办理时限，不暂停计时"),
            ));
        }
        if published.is_none() && !STATUTORY_SPECIAL_PROCEDURES.contains(&name.as_str()) {
            return Err(
                Error::invalid("unknown_special_procedure", "该程序不能暂停计时").field(
                    "name",
                    format!(
                        "“{name}”既不是本事项办事指南公布的特别程序，也不是法定不计时的程序（{}）",
                        STATUTORY_SPECIAL_PROCEDURES.join("、")
                    ),
                ),
            );
        }
        let days = days.or(published.map(|s| s.days)).unwrap_or(0);
        if days == 0 || days > MAX_SPECIAL_PROCEDURE_DAYS {
            return Err(Error::invalid("invalid_days", "请填写所需时间").field(
                "days",
                format!(
                    "特别程序所需的工作日数须为 1 至 {MAX_SPECIAL_PROCEDURE_DAYS}（须书面告知申请人，R-SPECIAL-TIME）"
                ),
            ));
        }
        let already = self.case.open_suspensions().any(|s| {
            matches!(&s.reason, SuspensionReason::SpecialProcedure { node: Some(n), .. } if n == node)
        });
        if already {
            return Err(Error::conflict(
                "special_procedure_open",
                format!("环节{}已有进行中的特别程序", self.label(node)),
            ));
        }
        // R-SPECIAL-TIME
        self.start_suspension(
            self.ctx.now,
            &actor.event_name(),
            SuspensionReason::SpecialProcedure {
                name,
                days,
                node: Some(node.to_string()),
            },
        );
        Ok(())
    }

    /// R-DECIDE-20D: once, approved by the head of the authority, with a reason for the
    /// applicant, before the limit has run out.
    fn extend(&mut self, reason: &str, approved_by: &str, actor: &Actor) -> Result<()> {
        self.require_status(&[CaseStatus::InProgress], "延期")?;
        self.department_staff(actor, &self.case.department.clone(), "申请延期")?;
        if !self.case.extensions.is_empty() {
            return Err(Error::conflict(
                "already_extended",
                "本办件已延期一次，依法不得再次延期（R-DECIDE-20D）",
            ));
        }
        let mut p = Problems::new();
        p.check(
            !reason.trim().is_empty(),
            "reason",
            "延期必须写明理由（将告知申请人）",
        );
        p.check(
            !approved_by.trim().is_empty(),
            "approved_by",
            "请填写批准延期的负责人",
        );
        p.finish()?;
        let today = self.ctx.today();
        let overdue = self
            .case
            .statutory_clock()
            .is_some_and(|c| c.due_date(self.ctx.calendar, today) < today);
        if overdue {
            return Err(Error::conflict("overdue", "已超过法定办理期限，不能再延期"));
        }
        let extension = crate::case::clock::Extension {
            days: self.ctx.settings.extension_days,
            on: today,
            reason: reason.trim().to_string(),
            approved_by: approved_by.trim().to_string(),
        };
        self.emit(
            self.ctx.now,
            &actor.event_name(),
            Change::Extended { extension },
        );
        Ok(())
    }

    fn decide(
        &mut self,
        node: &str,
        outcome: Outcome,
        document_number: &str,
        reasons: &[String],
        actor: &Actor,
    ) -> Result<()> {
        let now = self.ctx.now;
        let by = actor.event_name();
        self.require_status(&[CaseStatus::InProgress], "作出决定")?;
        let (token, task) = self.held_step(node, actor)?;
        self.require_action(node, &task, StepAction::Decide)?;
        if let Some(s) = self.case.open_suspensions().next() {
            return Err(Error::conflict(
                "clock_suspended",
                format!("{}尚未结束，计时暂停中，不能作出决定", s.reason.label()),
            ));
        }
        let mut p = Problems::new();
        p.check(
            !document_number.trim().is_empty(),
            "document_number",
            "请填写决定文书编号",
        );
        let reasons: Vec<String> = reasons
            .iter()
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty())
            .collect();
        p.check(
            outcome == Outcome::Approved || !reasons.is_empty(),
            "reasons",
            "不予许可必须说明理由",
        );
        p.finish()?;
        self.emit(
            now,
            &by,
            Change::Decided {
                node: node.to_string(),
                outcome,
                document_number: document_number.trim().to_string(),
                reasons,
                on: self.ctx.today(),
            },
        );
        let mut trail = token.trail;
        trail.push(node.to_string());
        self.advance(now, &by, token.id, trail)
    }
}

fn checked_delivery(delivery: &Delivery) -> Result<Delivery> {
    let mut p = Problems::new();
    let out = match delivery {
        Delivery::Pickup { code } => {
            let code = code.trim();
            p.check(
                (4..=8).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_digit()),
                "delivery.code",
                "取件码应为 4–8 位数字",
            );
            Delivery::Pickup { code: code.into() }
        }
        Delivery::Mail {
            address,
            carrier,
            tracking_number,
        } => {
            p.check(
                !address.trim().is_empty(),
                "delivery.address",
                "请填写邮寄地址",
            );
            p.check(
                !carrier.trim().is_empty(),
                "delivery.carrier",
                "请填写快递公司",
            );
            p.check(
                !tracking_number.trim().is_empty(),
                "delivery.tracking_number",
                "请填写快递单号",
            );
            Delivery::Mail {
                address: address.trim().into(),
                carrier: carrier.trim().into(),
                tracking_number: tracking_number.trim().into(),
            }
        }
        Delivery::Locker { locker, door } => {
            p.check(
                !locker.trim().is_empty() && !door.trim().is_empty(),
                "delivery.door",
                "请选择智能文件柜格口",
            );
            Delivery::Locker {
                locker: locker.trim().into(),
                door: door.trim().into(),
            }
        }
        Delivery::Electronic { certificate } => {
            p.check(
                !certificate.trim().is_empty(),
                "delivery.certificate",
                "请填写电子证照编号",
            );
            Delivery::Electronic {
                certificate: certificate.trim().into(),
            }
        }
    };
    p.finish()?;
    Ok(out)
}
