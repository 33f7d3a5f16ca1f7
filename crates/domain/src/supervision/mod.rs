//! Supervision (电子监察, R-SUPERVISE): lights on every deadline, 督办 notices for what turned
//! red, escalation to the 通报 report when a notice is ignored, anomalies found in a case's
//! history, the director's numbers and the window rankings. Pure rules; the worker's daily
//! sweep feeds them what the store holds and writes back what they decide.

pub mod anomaly;
pub mod numbers;
pub mod ranking;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::workdays::WorkingDays;
use crate::{Problems, Result};

/// How a deadline reads on a day. Red once past; yellow from the share of the time used that
/// the settings name (the due date itself is always at least yellow); green before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Light {
    Green,
    Yellow,
    Red,
}

impl Light {
    pub fn label(self) -> &'static str {
        match self {
            Light::Green => "正常",
            Light::Yellow => "即将到期",
            Light::Red => "已超期",
        }
    }

    /// The short form on lamps and lists: 绿灯 / 黄灯 / 红灯.
    pub fn lamp(self) -> &'static str {
        match self {
            Light::Green => "绿灯",
            Light::Yellow => "黄灯",
            Light::Red => "红灯",
        }
    }

    /// Red once past, yellow on the last working day, green before: for deadlines of a few days
    /// (rectifications, callbacks) where a share of the time would be a fraction of a day.
    pub fn of(cal: &impl WorkingDays, today: NaiveDate, deadline: NaiveDate) -> Light {
        if today > deadline {
            Light::Red
        } else if cal.working_days_between(today, deadline) <= 1 {
            Light::Yellow
        } else {
            Light::Green
        }
    }

    /// The light of something that started on `start` and is due on `due`, by the share of the
    /// working days used.
    pub fn by_share(
        cal: &impl WorkingDays,
        start: NaiveDate,
        due: NaiveDate,
        today: NaiveDate,
        yellow_at_percent: u8,
    ) -> Light {
        if today > due {
            return Light::Red;
        }
        if today == due {
            return Light::Yellow;
        }
        let budget = cal.working_days_between(start, due).max(1);
        let used = cal.working_days_between(start, today).max(0);
        if used * 100 >= i64::from(yellow_at_percent) * budget {
            Light::Yellow
        } else {
            Light::Green
        }
    }
}

labelled_enum! {
    /// What a supervision record watches.
    pub enum SubjectKind {
        /// A case waiting for acceptance at the window (R-ACCEPT-5D) or overall past its due date.
        Case = ("case", "办件"),
        /// One open step of a case in a department's back office.
        Step = ("step", "审批环节"),
        /// A decided case whose result is not yet issued (R-ISSUE-10D).
        Issuance = ("issuance", "出件"),
        /// A 差评 rectification (R-BAD-RATING).
        Rectification = ("rectification", "差评整改"),
    }
}

labelled_enum! {
    /// Why a supervision record was opened.
    pub enum RecordKind {
        /// 督办: the subject turned red.
        Overdue = ("overdue", "超期督办"),
        RefusedComplete = ("refused_complete", "材料齐全却不予受理"),
        RefusalWithoutReasons = ("refusal_without_reasons", "不予办理未说明理由"),
        HastyStep = ("hasty_step", "审批用时异常短"),
        BackDated = ("back_dated", "办理时间倒签"),
        RepeatedReturns = ("repeated_returns", "反复退回"),
    }
}

impl RecordKind {
    pub fn is_anomaly(self) -> bool {
        self != RecordKind::Overdue
    }
}

labelled_enum! {
    /// Where a record stands.
    pub enum RecordState {
        /// 督办 issued (or an anomaly found), waiting for the owner or a supervisor.
        Open = ("open", "督办中"),
        /// The subject got back on track or was finished before the notice's deadline.
        Resolved = ("resolved", "已办结"),
        /// Still late after the notice's deadline: a rectification is proposed and the record is
        /// in the 通报 report.
        Escalated = ("escalated", "已通报"),
        /// An anomaly a supervisor confirmed: it goes to the 通报 report.
        Confirmed = ("confirmed", "已确认"),
        /// An anomaly a supervisor found to be in order, with the reason.
        Dismissed = ("dismissed", "已排除"),
    }
}

impl RecordState {
    pub fn is_open(self) -> bool {
        self == RecordState::Open
    }
    /// In the 通报 report of the period it reached this state in.
    pub fn is_reported(self) -> bool {
        matches!(self, RecordState::Escalated | RecordState::Confirmed)
    }
}

/// The practice settings of supervision (RULES: settings, not constants), under the key
/// `supervision`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SupervisionSettings {
    /// Working days the owner has to act on a 督办 notice.
    pub notice_days: i64,
    /// The head (负责人) of each department and hall, by code: the second reader of a notice.
    pub heads: Vec<Head>,
    /// A review step decided this many seconds or less after it was claimed is an anomaly.
    pub hasty_seconds: i64,
    /// A case returned this many times or more is an anomaly.
    pub returns_limit: u32,
    pub ranking: ranking::Weights,
    /// Windows flagged 红旗窗口 at the top of a period's ranking.
    pub top_windows: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    /// A department or hall code.
    pub unit: String,
    /// The head's account.
    pub username: String,
}

impl Default for SupervisionSettings {
    fn default() -> Self {
        SupervisionSettings {
            notice_days: 3,
            heads: Vec::new(),
            hasty_seconds: 60,
            returns_limit: 2,
            ranking: ranking::Weights::default(),
            top_windows: 3,
        }
    }
}

impl SupervisionSettings {
    pub fn validate(&self) -> Result<()> {
        let mut p = Problems::new();
        p.check(
            (1..=30).contains(&self.notice_days),
            "notice_days",
            "督办期限应为 1 至 30 个工作日",
        );
        p.check(
            (0..=86_400).contains(&self.hasty_seconds),
            "hasty_seconds",
            "异常短用时应为 0 至 86400 秒",
        );
        p.check(
            (1..=20).contains(&self.returns_limit),
            "returns_limit",
            "反复退回次数应为 1 至 20",
        );
        p.check(
            (1..=50).contains(&self.top_windows),
            "top_windows",
            "红旗窗口数应为 1 至 50",
        );
        for (i, h) in self.heads.iter().enumerate() {
            p.check(
                !h.unit.trim().is_empty() && !h.username.trim().is_empty(),
                &format!("heads[{i}]"),
                "负责人须写明单位和账号",
            );
        }
        self.ranking.check(&mut p);
        p.finish()
    }

    /// The head's account of a unit, if one is set.
    pub fn head_of(&self, unit: &str) -> Option<&str> {
        self.heads
            .iter()
            .find(|h| h.unit == unit)
            .map(|h| h.username.as_str())
    }
}

/// Something late today, as the sweep finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Late {
    pub subject: SubjectKind,
    /// Case number, `number/node`, or the rectification's id.
    pub subject_id: String,
    pub due: NaiveDate,
}

/// A 督办 record still open or already escalated, as the sweep sees it: an escalated record
/// is not escalated again, and its subject gets no second notice while it stays late.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenNotice {
    pub id: i64,
    pub subject: SubjectKind,
    pub subject_id: String,
    pub deadline: NaiveDate,
    pub escalated: bool,
}

/// What the sweep does on a day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Issue a 督办 notice with this deadline.
    Notify { late: Late, deadline: NaiveDate },
    /// The subject is no longer late (finished, or its clock moved): close the notice.
    Resolve { id: i64 },
    /// Still late after the notice's deadline: 通报 and a rectification proposal.
    Escalate { id: i64 },
}

/// The day's actions from what is late now and the notices still open (R-SUPERVISE). Pure, so
/// a sweep that runs twice on a day (two instances, a retry) decides the same thing.
pub fn plan(
    cal: &impl WorkingDays,
    today: NaiveDate,
    late: &[Late],
    open: &[OpenNotice],
    settings: &SupervisionSettings,
) -> Vec<Action> {
    let mut actions = Vec::new();
    for n in open {
        let still_late = late
            .iter()
            .any(|l| l.subject == n.subject && l.subject_id == n.subject_id);
        if n.escalated {
            continue;
        }
        if !still_late {
            actions.push(Action::Resolve { id: n.id });
        } else if today > n.deadline {
            actions.push(Action::Escalate { id: n.id });
        }
    }
    for l in late {
        let noticed = open
            .iter()
            .any(|n| n.subject == l.subject && n.subject_id == l.subject_id);
        if !noticed {
            actions.push(Action::Notify {
                late: l.clone(),
                deadline: cal.add_working_days(today, settings.notice_days),
            });
        }
    }
    actions
}

#[cfg(test)]
mod tests;
