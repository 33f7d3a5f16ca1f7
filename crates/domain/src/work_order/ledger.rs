//! 问题台账 (R-LEDGER): bottlenecks found by 差评, 办不成事, work-order clusters and inspections,
//! each with a category (aspect and key point), an owner and a deadline; closed out (销号) only
//! with evidence and a reviewer's approval; revisited (回头看) after close-out, which can reopen it.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::text;
use crate::{Error, Result};

crate::labelled_enum! {
    pub enum LedgerSource {
        BadRating = ("bad_rating", "差评"),
        Unresolved = ("unresolved", "办不成事"),
        WorkOrderCluster = ("work_order_cluster", "工单聚类（未诉先办）"),
        ExperienceOfficer = ("experience_officer", "体验官"),
        Walkthrough = ("walkthrough", "陪同走流程"),
        PublicClue = ("public_clue", "线索征集"),
        SelfInspection = ("self_inspection", "自查"),
        CrossCheck = ("cross_check", "交叉检查"),
        /// A 督办 still late after its deadline (R-SUPERVISE): the rectification it demands.
        Supervision = ("supervision", "电子监察通报"),
    }
}

crate::labelled_enum! {
    pub enum LedgerStatus {
        Open = ("open", "整改中"),
        AwaitingReview = ("awaiting_review", "待审核销号"),
        ClosedOut = ("closed_out", "已销号"),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub status: LedgerStatus,
    pub deadline: NaiveDate,
    pub measures: String,
    pub evidence: String,
    pub closed_out_on: Option<NaiveDate>,
    /// The day 回头看 is due after a close-out.
    pub revisit_on: Option<NaiveDate>,
    pub revisited_on: Option<NaiveDate>,
    pub reopened: u32,
    /// Who asked for the close-out: the reviewer must be someone else.
    pub requested_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerAction {
    /// The owner reports the fix and asks for 销号.
    RequestCloseOut { measures: String, evidence: String },
    /// The reviewer approves (销号) or sends it back.
    Review { approve: bool, note: String },
    /// 回头看: the fix held, or it did not and the entry reopens with a new deadline.
    Revisit {
        held: bool,
        note: String,
        new_deadline: Option<NaiveDate>,
    },
}

impl LedgerAction {
    pub fn event(&self) -> &'static str {
        match self {
            LedgerAction::RequestCloseOut { .. } => "ledger_close_out_requested",
            LedgerAction::Review { approve: true, .. } => "ledger_closed_out",
            LedgerAction::Review { .. } => "ledger_close_out_refused",
            LedgerAction::Revisit { held: true, .. } => "ledger_revisited",
            LedgerAction::Revisit { .. } => "ledger_reopened",
        }
    }
    pub fn label(&self) -> &'static str {
        match self {
            LedgerAction::RequestCloseOut { .. } => "申请销号",
            LedgerAction::Review { approve: true, .. } => "审核通过，销号",
            LedgerAction::Review { .. } => "审核不通过，退回整改",
            LedgerAction::Revisit { held: true, .. } => "回头看：整改成效巩固",
            LedgerAction::Revisit { .. } => "回头看：问题反弹，重新整改",
        }
    }
}

impl Entry {
    pub fn open(deadline: NaiveDate, measures: &str) -> Entry {
        Entry {
            status: LedgerStatus::Open,
            deadline,
            measures: measures.trim().into(),
            evidence: String::new(),
            closed_out_on: None,
            revisit_on: None,
            revisited_on: None,
            reopened: 0,
            requested_by: None,
        }
    }

    /// Late: still open after its deadline.
    pub fn late(&self, today: NaiveDate) -> bool {
        self.status != LedgerStatus::ClosedOut && today > self.deadline
    }

    /// Whether 回头看 is due on `today`.
    pub fn revisit_due(&self, today: NaiveDate) -> bool {
        self.status == LedgerStatus::ClosedOut
            && self.revisited_on.is_none()
            && self.revisit_on.is_some_and(|d| today >= d)
    }

    /// `by` is the acting account; `revisit_after_days` places the revisit after a close-out.
    pub fn apply(
        &self,
        action: &LedgerAction,
        today: NaiveDate,
        by: &str,
        revisit_after_days: u32,
    ) -> Result<Entry> {
        let mut next = self.clone();
        let not_now = |what: &str| {
            Error::conflict(
                "ledger_state",
                format!("台账当前为“{}”，不能{what}", self.status.label()),
            )
        };
        match action {
            LedgerAction::RequestCloseOut { measures, evidence } => {
                if self.status != LedgerStatus::Open {
                    return Err(not_now("申请销号"));
                }
                text(measures, "measures", "整改措施", 2000)?;
                // R-LEDGER: closed out only with evidence.
                text(evidence, "evidence", "整改佐证材料说明", 2000)?;
                next.measures = measures.trim().into();
                next.evidence = evidence.trim().into();
                next.requested_by = Some(by.into());
                next.status = LedgerStatus::AwaitingReview;
            }
            LedgerAction::Review { approve, note } => {
                if self.status != LedgerStatus::AwaitingReview {
                    return Err(not_now("审核销号"));
                }
                if self.requested_by.as_deref() == Some(by) {
                    return Err(Error::forbidden("销号须由申请人以外的审核人审核"));
                }
                if *approve {
                    next.status = LedgerStatus::ClosedOut;
                    next.closed_out_on = Some(today);
                    next.revisit_on =
                        Some(today + chrono::Days::new(u64::from(revisit_after_days)));
                    next.revisited_on = None;
                } else {
                    text(note, "note", "退回的理由", 1000)?;
                    next.status = LedgerStatus::Open;
                }
            }
            LedgerAction::Revisit {
                held,
                note,
                new_deadline,
            } => {
                if self.status != LedgerStatus::ClosedOut {
                    return Err(not_now("回头看"));
                }
                text(note, "note", "回头看情况", 1000)?;
                next.revisited_on = Some(today);
                if !held {
                    let d = new_deadline.ok_or_else(|| {
                        Error::invalid("missing_deadline", "重新整改须定新的整改时限")
                            .field("new_deadline", "请选择新的整改时限")
                    })?;
                    if d <= today {
                        return Err(Error::invalid("deadline_past", "新的整改时限须晚于今天")
                            .field("new_deadline", "新的整改时限须晚于今天"));
                    }
                    next.status = LedgerStatus::Open;
                    next.deadline = d;
                    next.reopened += 1;
                    next.closed_out_on = None;
                    next.revisit_on = None;
                    next.requested_by = None;
                }
            }
        }
        Ok(next)
    }
}
