//! The case engine (办件): from receipt at the window to the result in the applicant's hands,
//! as pure functions of (state, command, now, calendar) → events (ARCHITECTURE principle 1).
//!
//! * [`clock`] — the time budget: limit in working days, a ledger of suspensions (补正,
//!   special procedures) and extensions, the due date derived from it and the calendar
//!   (principle 3); the acceptance, issuance and route-confirmation deadlines.
//! * [`process`] — process definitions: a BPMN-shaped graph, validated on save; the default
//!   process 审核 → 决定 → 制证出件.
//! * [`engine`] — commands → events, with every refusal in Chinese; [`state`] folds events
//!   back into a [`Case`], so a case is rebuilt from its events; [`tokens`] moves the process
//!   tokens.
//! * [`applicant`] — applicant identity and the materials an item's situations require.
//! * [`bundle`] — 一件事: which sub-case holds a bundle up.
//! * [`effects`] — what a change leaves behind besides its events: the open work, the due date
//!   and the next timers, one value for the store to persist.
//!
//! Times are hall-local (`NaiveDateTime`): a day, a deadline and an office minute are what the
//! hall's wall clock says. The server converts to and from UTC.

pub mod applicant;
pub mod bundle;
pub mod certificate;
pub mod clock;
pub mod effects;
pub mod engine;
pub mod events;
pub mod process;
pub mod receipt_key;
pub mod state;
pub mod tokens;

#[cfg(test)]
mod scenarios;
#[cfg(test)]
pub(crate) mod testkit;

use serde::{Deserialize, Serialize};

use crate::error::{Problems, Result};

pub use applicant::{Applicant, ApplicantKind};
pub use clock::{CaseClock, ClockReading, Warning};
pub use engine::{Command, Context, Receipt, WINDOW_NODE, receive, receive_at_window};
pub use events::{CaseEvent, Change, Delivery, Outcome};
pub use process::{ProcessDefinition, default_process};
pub use receipt_key::ReceiptKey;
pub use state::{Case, CaseStatus};

/// The practice rules of the case engine, which RULES.md says must be settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CaseSettings {
    /// The share of the budget used (in percent) from which a case shows yellow.
    pub yellow_at_percent: u8,
    /// Working days one extension adds (R-DECIDE-20D: 10; joint handling: 15).
    pub extension_days: u32,
    /// Office minutes after which a routed case counts as confirmed (R-ROUTE-10MIN).
    pub route_confirm_minutes: i64,
    /// Working days a department has to give its opinion on a deemed-approved step (R-DEEMED).
    pub deemed_opinion_days: u32,
}

impl Default for CaseSettings {
    fn default() -> Self {
        CaseSettings {
            yellow_at_percent: 80,
            extension_days: 10,
            route_confirm_minutes: 10,
            deemed_opinion_days: 1,
        }
    }
}

impl CaseSettings {
    pub fn validate(&self) -> Result<()> {
        let mut p = Problems::new();
        p.check(
            (1..=100).contains(&self.yellow_at_percent),
            "yellow_at_percent",
            "黄灯阈值应在 1–100 之间",
        );
        p.check(
            (1..=60).contains(&self.extension_days),
            "extension_days",
            "延期天数应在 1–60 个工作日之间",
        );
        p.check(
            (1..=24 * 60).contains(&self.route_confirm_minutes),
            "route_confirm_minutes",
            "自动确认时间应在 1–1440 分钟之间",
        );
        p.check(
            (1..=30).contains(&self.deemed_opinion_days),
            "deemed_opinion_days",
            "补充意见期限应在 1–30 个工作日之间",
        );
        p.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_settings_follow_the_rules_and_are_valid() {
        let s = CaseSettings::default();
        assert_eq!(
            (
                s.yellow_at_percent,
                s.extension_days,
                s.route_confirm_minutes,
                s.deemed_opinion_days
            ),
            (80, 10, 10, 1)
        );
        assert_eq!(s.validate(), Ok(()));
    }

    #[test]
    fn settings_out_of_range_are_refused_with_every_field_named() {
        let s = CaseSettings {
            yellow_at_percent: 0,
            extension_days: 0,
            route_confirm_minutes: 0,
            deemed_opinion_days: 0,
        };
        assert_eq!(s.validate().unwrap_err().fields.len(), 4);
        let partial: CaseSettings = serde_json::from_str(r#"{"extension_days":15}"#).unwrap();
        assert_eq!(
            (partial.extension_days, partial.yellow_at_percent),
            (15, 80)
        );
    }
}
