//! 工单 (R-WO-LOOP, R-HOTLINE): a complaint, a hotline request or a "办不成事" problem, owned by
//! the centre until it is closed: 受理 → 分类 → 转办 → 办理 → 答复 → 办结 → 回访 → 评价.
//!
//! The order's clock is a budget like a case's (ARCHITECTURE 3): the tier's working days from the
//! day of receipt (R-FIRST-DAY), plus approved extensions, minus the working days spent in the
//! states the settings pause (each pause kept in the order's ledger). A reopened order gets its
//! tier's days again from the day it reopened.

pub mod dedupe;
pub mod ledger;
pub mod settings;
#[cfg(test)]
mod tests;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::case::clock::{Warning, due_after_pauses};
use crate::rating::Level;
use crate::workdays::WorkingDays;
use crate::{Error, Result};
pub use settings::{Category, Tier, WorkOrderSettings};

crate::labelled_enum! {
    /// Where an order came from.
    pub enum Source {
        UnresolvedWindow = ("unresolved_window", "办不成事窗口"),
        Hotline = ("hotline", "12345热线"),
        Public = ("public", "群众网上反映"),
        Open311 = ("open311", "开放接口"),
        BadRating = ("bad_rating", "差评"),
        CallbackProblem = ("callback_problem", "回访问题"),
    }
}

crate::labelled_enum! {
    /// Richer than open/closed: Open311's `status` maps `is_closed()` to "closed".
    pub enum Status {
        Received = ("received", "已受理待分类"),
        Dispatched = ("dispatched", "已转办办理中"),
        Objected = ("objected", "派单异议待审核"),
        AwaitingRequester = ("awaiting_requester", "待群众补充"),
        Answered = ("answered", "已答复待回访"),
        Solved = ("solved", "已办结（已解决）"),
        Unsolved = ("unsolved", "已办结（未解决）"),
        Declined = ("declined", "不予受理"),
        Merged = ("merged", "已并单"),
    }
}

impl Status {
    pub fn is_closed(self) -> bool {
        matches!(
            self,
            Status::Solved | Status::Unsolved | Status::Declined | Status::Merged
        )
    }
    /// Whether the settings may make this state stop the clock: only states where the order
    /// waits on someone other than the lead unit.
    pub fn may_pause(self) -> bool {
        matches!(self, Status::AwaitingRequester | Status::Objected)
    }
    /// Whose move it is: the lead unit's states are the ones its clock runs for.
    pub fn with_unit(self) -> bool {
        matches!(self, Status::Dispatched)
    }
}

/// One stretch of time the clock stood still.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pause {
    pub state: Status,
    pub from: NaiveDate,
    pub until: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extension {
    pub days: u32,
    pub reason: String,
    pub asked_on: NaiveDate,
    /// `None` while the dispatcher has not decided.
    pub approved: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    pub text: String,
    /// 否定答复: a recorded "no", with its reasons.
    pub negative: bool,
    pub reasons: String,
    pub on: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Objection {
    pub unit: String,
    pub reason: String,
    pub on: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Feedback {
    pub satisfied: bool,
    pub handler_at_fault: bool,
    pub level: Option<Level>,
    pub note: String,
    pub on: NaiveDate,
}

/// An order's state, kept whole with its row (the events remain the record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkOrder {
    pub status: Status,
    pub received_on: NaiveDate,
    /// The day the current budget runs from: receipt, or the last reopening.
    pub clock_from: NaiveDate,
    pub category: Option<String>,
    pub tier: Option<Tier>,
    pub lead_unit: Option<String>,
    pub assisting_units: Vec<String>,
    pub pauses: Vec<Pause>,
    pub extensions: Vec<Extension>,
    pub objection: Option<Objection>,
    pub answer: Option<Answer>,
    pub feedback: Option<Feedback>,
    pub reopened: u32,
    pub urged_on: Option<NaiveDate>,
    pub overseen_on: Option<NaiveDate>,
    pub merged_into: Option<String>,
    pub declined: Option<Decline>,
    pub closed_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decline {
    pub reason: String,
    /// Where the person is told to go (法院、信访部门…).
    pub refer_to: String,
}

/// What a dispatcher, a unit, the callback staff or the timers do to an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// 分类 + 转办: a category, a tier and the units. A same-day tier at the window may have no
    /// unit: the window answers at once.
    Classify {
        category: String,
        tier: String,
        lead_unit: Option<String>,
        assisting_units: Vec<String>,
    },
    /// 派单异议 by the lead unit.
    Object {
        unit: String,
        reason: String,
    },
    /// The dispatcher's review of an objection: reassign to another unit, or keep it where it is
    /// with the reasons. Either way the unit and the record are told.
    ReviewObjection {
        reassign_to: Option<String>,
        note: String,
    },
    AskExtension {
        days: u32,
        reason: String,
    },
    DecideExtension {
        approve: bool,
        note: String,
    },
    /// The unit needs the requester's information (a pause where the settings say so).
    AskRequester {
        note: String,
    },
    RequesterReplied {
        text: String,
    },
    Answer {
        text: String,
        negative: bool,
        reasons: String,
    },
    /// 回访 + 评价: satisfied closes it solved; not satisfied reopens it when the fault is the
    /// handler's, else closes it as not solved.
    Feedback {
        satisfied: bool,
        handler_at_fault: bool,
        level: Option<Level>,
        note: String,
    },
    /// 涉法涉诉信访: not accepted here; the person is told where to go.
    Decline {
        reason: String,
        refer_to: String,
    },
    /// 并单 into a surviving order.
    Merge {
        into: String,
    },
    /// 催办 (the timer, the day after a missed deadline).
    Urge,
    /// 督办 (the timer, later).
    Oversee,
}

impl Action {
    pub fn event(&self) -> &'static str {
        match self {
            Action::Classify { .. } => "work_order_dispatched",
            Action::Object { .. } => "work_order_objected",
            Action::ReviewObjection {
                reassign_to: Some(_),
                ..
            } => "work_order_reassigned",
            Action::ReviewObjection { .. } => "work_order_objection_rejected",
            Action::AskExtension { .. } => "work_order_extension_asked",
            Action::DecideExtension { approve: true, .. } => "work_order_extension_approved",
            Action::DecideExtension { .. } => "work_order_extension_refused",
            Action::AskRequester { .. } => "work_order_requester_asked",
            Action::RequesterReplied { .. } => "work_order_requester_replied",
            Action::Answer { negative: true, .. } => "work_order_answered_negative",
            Action::Answer { .. } => "work_order_answered",
            Action::Feedback { .. } => "work_order_feedback",
            Action::Decline { .. } => "work_order_declined",
            Action::Merge { .. } => "work_order_merged",
            Action::Urge => "work_order_urged",
            Action::Oversee => "work_order_overseen",
        }
    }

    /// What a person reads in the timeline.
    pub fn label(&self) -> &'static str {
        match self {
            Action::Classify { .. } => "分类转办",
            Action::Object { .. } => "派单异议",
            Action::ReviewObjection {
                reassign_to: Some(_),
                ..
            } => "异议成立，改派",
            Action::ReviewObjection { .. } => "异议不成立，退回原单位办理",
            Action::AskExtension { .. } => "申请延期",
            Action::DecideExtension { approve: true, .. } => "批准延期",
            Action::DecideExtension { .. } => "不批准延期",
            Action::AskRequester { .. } => "请群众补充情况",
            Action::RequesterReplied { .. } => "群众已补充",
            Action::Answer { negative: true, .. } => "否定答复",
            Action::Answer { .. } => "答复",
            Action::Feedback { .. } => "回访评价",
            Action::Decline { .. } => "不予受理（告知去向）",
            Action::Merge { .. } => "并单",
            Action::Urge => "催办",
            Action::Oversee => "督办",
        }
    }
}

/// What the clock shows on a day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reading {
    pub due_date: NaiveDate,
    pub working_days_left: i64,
    pub warning: Warning,
    pub paused: bool,
}

pub(crate) fn text(s: &str, field: &str, what: &str, max: usize) -> Result<()> {
    let n = s.trim().chars().count();
    if n == 0 {
        return Err(Error::invalid("missing_text", format!("请填写{what}"))
            .field(field, format!("请填写{what}")));
    }
    if n > max {
        return Err(
            Error::invalid("text_too_long", format!("{what}请不超过 {max} 字"))
                .field(field, format!("{what}请不超过 {max} 字")),
        );
    }
    Ok(())
}

impl WorkOrder {
    pub fn receive(on: NaiveDate) -> WorkOrder {
        WorkOrder {
            status: Status::Received,
            received_on: on,
            clock_from: on,
            category: None,
            tier: None,
            lead_unit: None,
            assisting_units: Vec::new(),
            pauses: Vec::new(),
            extensions: Vec::new(),
            objection: None,
            answer: None,
            feedback: None,
            reopened: 0,
            urged_on: None,
            overseen_on: None,
            merged_into: None,
            declined: None,
            closed_on: None,
        }
    }

    pub fn pending_extension(&self) -> Option<&Extension> {
        self.extensions.iter().find(|e| e.approved.is_none())
    }

    fn budget(&self) -> Option<i64> {
        let tier = self.tier.as_ref()?;
        Some(
            i64::from(tier.days)
                + self
                    .extensions
                    .iter()
                    .filter(|e| e.approved == Some(true))
                    .map(|e| i64::from(e.days))
                    .sum::<i64>(),
        )
    }

    /// The clock on `today`: `None` before classification gave it a tier.
    pub fn reading(
        &self,
        cal: &dyn WorkingDays,
        today: NaiveDate,
        yellow_at_percent: u8,
    ) -> Option<Reading> {
        let budget = self.budget()?;
        // The clock stops when the unit has answered (or the order closed).
        let stop = self
            .answer
            .as_ref()
            .filter(|_| self.status != Status::Dispatched)
            .map(|a| a.on)
            .or(self.closed_on);
        let today = stop.map_or(today, |s| s.min(today));
        let pauses = self
            .pauses
            .iter()
            .filter(|p| p.from >= self.clock_from)
            .map(|p| (p.from, p.until));
        let due_date = due_after_pauses(cal, self.clock_from, budget, pauses, today);
        let left = cal.working_days_between(today, due_date);
        let used = budget - left;
        let warning = if left < 0 {
            Warning::Red
        } else if budget == 0 || used * 100 >= i64::from(yellow_at_percent) * budget {
            Warning::Yellow
        } else {
            Warning::Green
        };
        Some(Reading {
            due_date,
            working_days_left: left,
            warning,
            paused: self.pauses.last().is_some_and(|p| p.until.is_none()),
        })
    }

    fn enter(&mut self, next: Status, today: NaiveDate, s: &WorkOrderSettings) {
        if let Some(p) = self.pauses.last_mut()
            && p.until.is_none()
        {
            p.until = Some(today);
        }
        if s.pause_states.contains(&next) {
            self.pauses.push(Pause {
                state: next,
                from: today,
                until: None,
            });
        }
        self.status = next;
        if next.is_closed() {
            self.closed_on = Some(today);
        }
    }

    fn not_now(&self, what: &str) -> Error {
        Error::conflict(
            "work_order_state",
            format!("工单当前为“{}”，不能{what}", self.status.label()),
        )
    }

    /// The state after `action` on `today`, or why it cannot be done. Units are department
    /// codes; `is_unit` says whether one exists.
    pub fn apply(
        &self,
        action: &Action,
        today: NaiveDate,
        s: &WorkOrderSettings,
        cal: &dyn WorkingDays,
        is_unit: &dyn Fn(&str) -> bool,
    ) -> Result<WorkOrder> {
        let mut next = self.clone();
        let unit_ok = |u: &str, field: &str| -> Result<()> {
            if is_unit(u) {
                Ok(())
            } else {
                Err(
                    Error::invalid("unknown_unit", format!("承办单位“{u}”不存在"))
                        .field(field, "请选择承办单位"),
                )
            }
        };
        match action {
            Action::Classify {
                category,
                tier,
                lead_unit,
                assisting_units,
            } => {
                if self.status != Status::Received {
                    return Err(self.not_now("分类转办"));
                }
                if s.category(category).is_none() {
                    return Err(Error::invalid("unknown_category", "请选择工单分类")
                        .field("category", "请选择工单分类"));
                }
                let tier = s.tier(tier).ok_or_else(|| {
                    Error::invalid("unknown_tier", "请选择办理时限").field("tier", "请选择办理时限")
                })?;
                match lead_unit {
                    Some(u) => unit_ok(u, "lead_unit")?,
                    None if tier.days == 0 => {}
                    None => {
                        return Err(Error::invalid("missing_unit", "请选择主办单位")
                            .field("lead_unit", "请选择主办单位"));
                    }
                }
                for u in assisting_units {
                    unit_ok(u, "assisting_units")?;
                    if Some(u) == lead_unit.as_ref() {
                        return Err(Error::invalid(
                            "assisting_is_lead",
                            "协办单位不能与主办单位相同",
                        )
                        .field("assisting_units", "协办单位不能与主办单位相同"));
                    }
                }
                next.category = Some(category.clone());
                next.tier = Some(tier.clone());
                next.lead_unit = lead_unit.clone();
                next.assisting_units = assisting_units.clone();
                next.enter(Status::Dispatched, today, s);
            }
            Action::Object { unit, reason } => {
                if self.status != Status::Dispatched {
                    return Err(self.not_now("提出派单异议"));
                }
                if self.lead_unit.as_deref() != Some(unit) {
                    return Err(Error::forbidden("只有主办单位可以提出派单异议"));
                }
                text(reason, "reason", "异议理由", 1000)?;
                next.objection = Some(Objection {
                    unit: unit.clone(),
                    reason: reason.trim().into(),
                    on: today,
                });
                next.enter(Status::Objected, today, s);
            }
            Action::ReviewObjection { reassign_to, note } => {
                if self.status != Status::Objected {
                    return Err(self.not_now("审核派单异议"));
                }
                text(note, "note", "审核意见", 1000)?;
                if let Some(u) = reassign_to {
                    unit_ok(u, "reassign_to")?;
                    if Some(u) == self.lead_unit.as_ref() {
                        return Err(Error::invalid(
                            "same_unit",
                            "改派须选择另一个单位；维持原派单请选“异议不成立”",
                        )
                        .field("reassign_to", "请选择另一个承办单位"));
                    }
                    next.assisting_units.retain(|a| a != u);
                    next.lead_unit = Some(u.clone());
                }
                next.enter(Status::Dispatched, today, s);
            }
            Action::AskExtension { days, reason } => {
                if self.status != Status::Dispatched {
                    return Err(self.not_now("申请延期"));
                }
                if self.pending_extension().is_some() {
                    return Err(Error::conflict(
                        "extension_pending",
                        "已有一个延期申请待审批",
                    ));
                }
                if !(1..=30).contains(days) {
                    return Err(Error::invalid("bad_days", "延期天数须为 1–30 个工作日")
                        .field("days", "延期天数须为 1–30 个工作日"));
                }
                text(reason, "reason", "延期理由", 1000)?;
                // R-HOTLINE: an extension must be asked for before the deadline.
                if let Some(r) = self.reading(cal, today, s.yellow_at_percent)
                    && today > r.due_date
                {
                    return Err(Error::conflict(
                        "extension_too_late",
                        "已超过办理期限，不能再申请延期（须在期限届满前申请）",
                    ));
                }
                next.extensions.push(Extension {
                    days: *days,
                    reason: reason.trim().into(),
                    asked_on: today,
                    approved: None,
                });
            }
            Action::DecideExtension { approve, note } => {
                let Some(i) = self.extensions.iter().position(|e| e.approved.is_none()) else {
                    return Err(Error::conflict("no_extension", "没有待审批的延期申请"));
                };
                if self.status.is_closed() {
                    return Err(self.not_now("审批延期"));
                }
                if !approve {
                    text(note, "note", "不批准的理由", 1000)?;
                }
                next.extensions[i].approved = Some(*approve);
            }
            Action::AskRequester { note } => {
                if self.status != Status::Dispatched {
                    return Err(self.not_now("请群众补充"));
                }
                text(note, "note", "需要补充的内容", 1000)?;
                next.enter(Status::AwaitingRequester, today, s);
            }
            Action::RequesterReplied { text: t } => {
                if self.status != Status::AwaitingRequester {
                    return Err(self.not_now("登记群众补充"));
                }
                text(t, "text", "补充内容", 2000)?;
                next.enter(Status::Dispatched, today, s);
            }
            Action::Answer {
                text: t,
                negative,
                reasons,
            } => {
                if self.status != Status::Dispatched {
                    return Err(self.not_now("答复"));
                }
                text(t, "text", "答复内容", 2000)?;
                if *negative {
                    // R-WO-LOOP: a unit that must say "no" records why (否定答复报告).
                    text(reasons, "reasons", "否定答复的理由和依据", 2000)?;
                }
                next.answer = Some(Answer {
                    text: t.trim().into(),
                    negative: *negative,
                    reasons: reasons.trim().into(),
                    on: today,
                });
                next.enter(Status::Answered, today, s);
            }
            Action::Feedback {
                satisfied,
                handler_at_fault,
                level,
                note,
            } => {
                if self.status != Status::Answered {
                    return Err(self.not_now("登记回访"));
                }
                if !satisfied {
                    text(note, "note", "不满意的原因", 1000)?;
                }
                next.feedback = Some(Feedback {
                    satisfied: *satisfied,
                    handler_at_fault: *handler_at_fault && !satisfied,
                    level: *level,
                    note: note.trim().into(),
                    on: today,
                });
                if *satisfied {
                    next.enter(Status::Solved, today, s);
                } else if *handler_at_fault && self.lead_unit.is_some() {
                    // Reopened: the handler's fault, a fresh budget from today.
                    next.reopened += 1;
                    next.clock_from = today;
                    next.extensions.clear();
                    next.urged_on = None;
                    next.overseen_on = None;
                    next.enter(Status::Dispatched, today, s);
                } else {
                    next.enter(Status::Unsolved, today, s);
                }
            }
            Action::Decline { reason, refer_to } => {
                if self.status != Status::Received {
                    return Err(self.not_now("不予受理"));
                }
                text(reason, "reason", "不予受理的理由", 1000)?;
                text(
                    refer_to,
                    "refer_to",
                    "告知的去向（如人民法院、信访部门）",
                    200,
                )?;
                next.declined = Some(Decline {
                    reason: reason.trim().into(),
                    refer_to: refer_to.trim().into(),
                });
                next.enter(Status::Declined, today, s);
            }
            Action::Merge { into } => {
                if self.status.is_closed() || self.status == Status::Answered {
                    return Err(self.not_now("并单"));
                }
                next.merged_into = Some(into.clone());
                next.enter(Status::Merged, today, s);
            }
            Action::Urge | Action::Oversee => {
                if !self.status.with_unit() {
                    return Err(self.not_now(action.label()));
                }
                let late = self
                    .reading(cal, today, s.yellow_at_percent)
                    .is_some_and(|r| r.working_days_left < 0);
                if !late {
                    return Err(Error::conflict("not_late", "工单未超期"));
                }
                if matches!(action, Action::Urge) {
                    if self.urged_on.is_some() {
                        return Err(Error::conflict("already_urged", "已催办"));
                    }
                    next.urged_on = Some(today);
                } else {
                    if self.overseen_on.is_some() {
                        return Err(Error::conflict("already_overseen", "已督办"));
                    }
                    next.overseen_on = Some(today);
                }
            }
        }
        Ok(next)
    }

    /// When the timers should look again: 催办 the working day after the due date, 督办
    /// `oversight_after_days` working days after it. `None` when nothing is owed.
    pub fn next_timers(
        &self,
        cal: &dyn WorkingDays,
        today: NaiveDate,
        s: &WorkOrderSettings,
    ) -> (Option<NaiveDate>, Option<NaiveDate>) {
        if !self.status.with_unit() {
            return (None, None);
        }
        let Some(r) = self.reading(cal, today, s.yellow_at_percent) else {
            return (None, None);
        };
        let urge = self
            .urged_on
            .is_none()
            .then(|| cal.add_working_days(r.due_date, 1));
        let oversee = self
            .overseen_on
            .is_none()
            .then(|| cal.add_working_days(r.due_date, i64::from(s.oversight_after_days)));
        (urge, oversee)
    }
}
