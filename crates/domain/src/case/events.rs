//! What happens to a case, as facts. Commands produce these; [`crate::case::Case::apply`] folds
//! them into the state, so a case can always be rebuilt from its events. Each event carries
//! every value it needs (token placements included), so rebuilding needs neither the process
//! definition nor the calendar.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::case::applicant::Applicant;
use crate::case::clock::{Extension, Suspension};

/// The `by` of events no person caused (deadlines passing).
pub const SYSTEM: &str = "system";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseEvent {
    /// Hall-local time.
    pub at: NaiveDateTime,
    /// `Actor::event_name()` of whoever caused it, or [`SYSTEM`].
    pub by: String,
    /// The principal an agent (`by`) acted for under a mandate, if so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_behalf_of: Option<crate::agency::OnBehalf>,
    #[serde(flatten)]
    pub change: Change,
}

/// A token of the process: one thread of work waiting at a step, a timer or a parallel join.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    pub id: u32,
    pub node: String,
    /// When it arrived: a step's budget and a timer count from this day.
    pub since: NaiveDateTime,
    /// The steps completed on this thread since it began (at the start or a parallel split),
    /// most recent last: where "return to the previous step" goes.
    #[serde(default)]
    pub trail: Vec<String>,
    #[serde(default)]
    pub claimed_by: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Approved,
    Denied,
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Approved => "准予",
            Outcome::Denied => "不予",
        }
    }
}

/// How the result reaches the applicant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum Delivery {
    /// At the issuance window (or a locker) against a pickup code.
    Pickup { code: String },
    /// By post to `address` (empty in events recorded before addresses were kept).
    Mail {
        #[serde(default)]
        address: String,
        carrier: String,
        tracking_number: String,
    },
    /// As an electronic certificate (电子证照).
    Electronic { certificate: String },
    /// Through a smart locker (智能文件柜): `door` of the locker bank `locker`, opened with the
    /// single-use code the applicant got by SMS.
    Locker { locker: String, door: String },
}

impl Delivery {
    pub fn label(&self) -> &'static str {
        match self {
            Delivery::Pickup { .. } => "窗口领取",
            Delivery::Mail { .. } => "邮寄送达",
            Delivery::Electronic { .. } => "电子证照",
            Delivery::Locker { .. } => "智能文件柜领取",
        }
    }
}

// The receipt is by far the largest event but there is one per case, and events are handled
// one at a time; boxing it would only make every match on it noisier.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    /// The application and its materials were received (at a window or online).
    Received {
        number: String,
        item: String,
        department: String,
        applicant: Applicant,
        materials: Vec<String>,
        answers: BTreeMap<String, String>,
        statutory_limit_days: u32,
        committed_limit_days: u32,
        deemed_approval: bool,
        process_code: String,
        process_version: u32,
        #[serde(default)]
        parent: Option<String>,
        #[serde(default)]
        warnings: Vec<String>,
    },
    /// 一次性告知 before acceptance (R-ACCEPT-5D): everything that must be added or fixed.
    OneTimeNoticeGiven {
        items: Vec<String>,
        note: String,
    },
    MaterialsReceived {
        materials: Vec<String>,
    },
    /// The clock starts (R-FIRST-DAY: counting from the next day). `deemed`: R-ACCEPT-5D.
    Accepted {
        on: NaiveDate,
        deemed: bool,
    },
    /// 不予受理, with reasons (R-ACCEPT-RECEIPT).
    Refused {
        reasons: Vec<String>,
    },
    Routed {
        department: String,
    },
    /// By a person, or `deemed` after the office minutes of R-ROUTE-10MIN.
    RouteConfirmed {
        deemed: bool,
    },
    /// Tokens moving through the process graph.
    TokensMoved {
        removed: Vec<u32>,
        placed: Vec<Token>,
    },
    StepClaimed {
        node: String,
    },
    OpinionRecorded {
        node: String,
        opinion: String,
    },
    StepApproved {
        node: String,
        opinion: String,
    },
    StepReturned {
        node: String,
        to: String,
        reason: String,
    },
    /// R-DEEMED: the step's budget ran out on `due` without a decision.
    StepDeemedApproved {
        node: String,
        due: NaiveDate,
    },
    /// The department's opinion on a deemed-approved step, given afterwards (R-DEEMED).
    LateOpinionRecorded {
        node: String,
        opinion: String,
    },
    TimerElapsed {
        node: String,
    },
    /// 补正 during the handling: a notice and a suspension of the clock (R-SUPPLEMENT-PAUSE).
    SupplementRequested {
        node: String,
        items: Vec<String>,
        note: String,
        suspension: u32,
    },
    SuspensionStarted {
        suspension: Suspension,
    },
    SuspensionEnded {
        id: u32,
        on: NaiveDate,
    },
    Extended {
        extension: Extension,
    },
    Decided {
        node: String,
        outcome: Outcome,
        document_number: String,
        reasons: Vec<String>,
        on: NaiveDate,
    },
    Issued {
        node: String,
        delivery: Delivery,
    },
}

impl Change {
    /// The event kind as the event log names it.
    pub fn kind(&self) -> &'static str {
        match self {
            Change::Received { .. } => "case_received",
            Change::OneTimeNoticeGiven { .. } => "case_one_time_notice_given",
            Change::MaterialsReceived { .. } => "case_materials_received",
            Change::Accepted { .. } => "case_accepted",
            Change::Refused { .. } => "case_refused",
            Change::Routed { .. } => "case_routed",
            Change::RouteConfirmed { .. } => "case_route_confirmed",
            Change::TokensMoved { .. } => "case_tokens_moved",
            Change::StepClaimed { .. } => "case_step_claimed",
            Change::OpinionRecorded { .. } => "case_opinion_recorded",
            Change::StepApproved { .. } => "case_step_approved",
            Change::StepReturned { .. } => "case_step_returned",
            Change::StepDeemedApproved { .. } => "case_step_deemed_approved",
            Change::LateOpinionRecorded { .. } => "case_late_opinion_recorded",
            Change::TimerElapsed { .. } => "case_timer_elapsed",
            Change::SupplementRequested { .. } => "case_supplement_requested",
            Change::SuspensionStarted { .. } => "case_suspension_started",
            Change::SuspensionEnded { .. } => "case_suspension_ended",
            Change::Extended { .. } => "case_extended",
            Change::Decided { .. } => "case_decided",
            Change::Issued { .. } => "case_issued",
        }
    }
}

/// The words people read for an event kind, as the log names it (`case_step_claimed`) or as
/// the case's JSON tags it (`step_claimed`).
pub fn kind_label(kind: &str) -> &'static str {
    match kind.strip_prefix("case_").unwrap_or(kind) {
        "received" => "收件",
        "one_time_notice_given" => "出具一次性告知",
        "materials_received" => "收到材料",
        "accepted" => "受理",
        "refused" => "不予受理",
        "routed" => "推送到部门",
        "route_confirmed" => "部门确认接收",
        "tokens_moved" => "流转到下一环节",
        "step_claimed" => "认领环节",
        "opinion_recorded" => "记录意见",
        "step_approved" => "审核通过",
        "step_returned" => "退回",
        "step_deemed_approved" => "超时默认通过",
        "late_opinion_recorded" => "补充部门意见",
        "timer_elapsed" => "等待期满",
        "supplement_requested" => "要求补正",
        "suspension_started" => "暂停计时",
        "suspension_ended" => "恢复计时",
        "extended" => "延期",
        "decided" => "作出决定",
        "issued" => "出件",
        _ => "其他",
    }
}

impl CaseEvent {
    /// The event as the shared event log stores it: personal numbers masked (R-PII).
    pub fn log_payload(&self) -> serde_json::Value {
        let mut masked = self.clone();
        if let Change::Received { applicant, .. } = &mut masked.change {
            *applicant = applicant.masked();
        }
        serde_json::to_value(&masked).expect("events serialise")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::applicant::ApplicantKind;
    use crate::case::testkit::t;

    #[test]
    fn an_event_serialises_flat_with_its_kind() {
        let e = CaseEvent {
            at: t(2026, 3, 2, 9, 30),
            by: "clerk:li".into(),
            on_behalf_of: None,
            change: Change::Accepted {
                on: t(2026, 3, 2, 9, 30).date(),
                deemed: false,
            },
        };
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["kind"], "accepted");
        assert_eq!(v["on"], "2026-03-02");
        assert_eq!(serde_json::from_value::<CaseEvent>(v).unwrap(), e);
        assert_eq!(e.change.kind(), "case_accepted");
    }

    #[test]
    fn the_log_payload_masks_the_applicants_numbers_r_pii() {
        let e = CaseEvent {
            at: t(2026, 3, 2, 9, 30),
            by: "clerk:li".into(),
            on_behalf_of: None,
            change: Change::Received {
                number: "C1".into(),
                item: "X1".into(),
                department: "scj".into(),
                applicant: Applicant {
                    kind: ApplicantKind::Person,
                    name: "张三".into(),
                    id_number: "11010519491231002X".into(),
                    phone: "13812345678".into(),
                },
                materials: vec![],
                answers: BTreeMap::new(),
                statutory_limit_days: 20,
                committed_limit_days: 5,
                deemed_approval: false,
                process_code: "default".into(),
                process_version: 1,
                parent: None,
                warnings: vec![],
            },
        };
        let v = e.log_payload();
        assert_eq!(v["applicant"]["id_number"], "1101**********002X");
        assert_eq!(v["applicant"]["phone"], "138****5678");
        assert!(!v.to_string().contains("11010519491231002X"));
    }
}
