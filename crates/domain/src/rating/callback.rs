//! 回访 (R-CALLBACK-DAILY): each day's finished cases (a sample), every named bad rating and
//! every finished rectification are phoned before the day's deadline; an attempt is reached
//! (satisfied or not, with the problem), unreachable (tried again up to N times) or refused.

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::{Level, RatingSettings};
use crate::workdays::WorkingDays;
use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A finished case drawn for the day's list.
    Routine,
    /// A named 差评 (实名差评回访率 100 %).
    BadRating,
    /// The second callback after a rectification (the rater rates the fix).
    FollowUp,
    /// A result left in a smart locker past its pick-up days, back at the issuance window.
    Uncollected,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Routine => "routine",
            Kind::BadRating => "bad_rating",
            Kind::FollowUp => "follow_up",
            Kind::Uncollected => "uncollected",
        }
    }
    pub fn parse(s: &str) -> Option<Kind> {
        [
            Kind::Routine,
            Kind::BadRating,
            Kind::FollowUp,
            Kind::Uncollected,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
    pub fn label(self) -> &'static str {
        match self {
            Kind::Routine => "日常回访",
            Kind::BadRating => "差评回访",
            Kind::FollowUp => "整改后回访",
            Kind::Uncollected => "逾期未取件回访",
        }
    }
    /// What the callback staff says (a script per kind; the item's name fills `{item}`).
    pub fn script(self, item: &str) -> String {
        match self {
            Kind::Routine => format!(
                "您好，这里是政务服务中心回访专线。您近日办理了“{item}”，想了解您对办理过程是否满意，有没有需要改进的地方？"
            ),
            Kind::BadRating => format!(
                "您好，这里是政务服务中心回访专线。您对“{item}”的办理给了不满意的评价，我们非常重视，想具体了解您遇到的问题。"
            ),
            Kind::FollowUp => format!(
                "您好，这里是政务服务中心回访专线。您反映的“{item}”办理中的问题已整改，想请您对整改结果评个分（1 到 5 分）。"
            ),
            Kind::Uncollected => format!(
                "您好，这里是政务服务中心回访专线。您办理的“{item}”结果放在智能文件柜里到期还没有领取，已转回出件窗口。请问您什么时候方便来领取，或者需要改为邮寄吗？"
            ),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Open,
    Reached,
    Unreachable,
    Refused,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Reached => "reached",
            Status::Unreachable => "unreachable",
            Status::Refused => "refused",
        }
    }
    pub fn parse(s: &str) -> Option<Status> {
        [
            Status::Open,
            Status::Reached,
            Status::Unreachable,
            Status::Refused,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
    pub fn label(self) -> &'static str {
        match self {
            Status::Open => "待回访",
            Status::Reached => "已回访",
            Status::Unreachable => "无法接通",
            Status::Refused => "拒绝回访",
        }
    }
}

/// One attempt's result as the callback staff records it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Attempt {
    Reached {
        satisfied: bool,
        #[serde(default)]
        problem: String,
        /// On a follow-up: the rater's level for the fix.
        #[serde(default)]
        fix_level: Option<i64>,
    },
    Unreachable,
    Refused,
}

/// What a recorded attempt leads to besides the callback's own state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Then {
    Nothing,
    /// Open a problem for the window (a routine or bad-rating callback, not satisfied).
    Problem(String),
    /// Close the rectification with the rater's level for the fix.
    RateFix(Level),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Callback {
    pub kind: Kind,
    pub status: Status,
    pub attempts: u32,
}

impl Callback {
    pub fn new(kind: Kind) -> Callback {
        Callback {
            kind,
            status: Status::Open,
            attempts: 0,
        }
    }

    /// The callback after `attempt`, and what it leads to.
    pub fn record(&self, attempt: &Attempt, s: &RatingSettings) -> Result<(Callback, Then)> {
        if self.status != Status::Open {
            return Err(Error::conflict(
                "callback_closed",
                format!("这条回访已是“{}”，不能再登记", self.status.label()),
            ));
        }
        let mut next = self.clone();
        next.attempts += 1;
        let then = match attempt {
            Attempt::Reached {
                satisfied,
                problem,
                fix_level,
            } => {
                next.status = Status::Reached;
                let problem = problem.trim();
                if problem.chars().count() > 2000 {
                    return Err(Error::invalid("text_too_long", "问题描述请不超过 2000 字")
                        .field("problem", "问题描述请不超过 2000 字"));
                }
                if self.kind == Kind::FollowUp {
                    let level = fix_level.and_then(Level::from_number).ok_or_else(|| {
                        Error::invalid("fix_level_required", "请记录群众对整改结果的评价（1 到 5）")
                            .field("fix_level", "请选择 1（非常不满意）到 5（非常满意）")
                    })?;
                    Then::RateFix(level)
                } else if *satisfied {
                    Then::Nothing
                } else if problem.is_empty() {
                    return Err(
                        Error::invalid("problem_required", "群众不满意时请记录具体问题")
                            .field("problem", "请记录群众反映的具体问题"),
                    );
                } else {
                    Then::Problem(problem.to_string())
                }
            }
            Attempt::Unreachable => {
                if next.attempts >= s.callback_max_attempts {
                    next.status = Status::Unreachable;
                }
                Then::Nothing
            }
            Attempt::Refused => {
                next.status = Status::Refused;
                Then::Nothing
            }
        };
        Ok((next, then))
    }
}

/// When a callback created at `at` (hall-local) is due: the day's `callback_due` (19:00) if it
/// is a working day and that time has not passed, else the next working day's (R-CALLBACK-DAILY).
pub fn due(cal: &impl WorkingDays, at: NaiveDateTime, s: &RatingSettings) -> NaiveDateTime {
    let day = at.date();
    let on: NaiveDate = if cal.is_working_day(day) && at.time() < s.callback_due {
        day
    } else {
        cal.add_working_days(day, 1)
    };
    on.and_time(s.callback_due)
}

/// Whether a finished case belongs on the callback list: a stable draw from its key, so every
/// instance and every retry makes the same choice (R-CALLBACK-DAILY "a sampling rate").
pub fn sampled(key: &str, percent: u8) -> bool {
    // FNV-1a: stable across builds and platforms, unlike the std hasher.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (h % 100) < u64::from(percent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::testkit::TestCalendar;

    fn at(m: u32, d: u32, h: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, m, d)
            .unwrap()
            .and_hms_opt(h, 0, 0)
            .unwrap()
    }

    #[test]
    fn a_callback_is_due_at_seven_the_same_working_day_or_the_next_one() {
        let s = RatingSettings::default();
        let cal = TestCalendar::china_2025_2026();
        // Tuesday 3 March 2026, 10:00 → 19:00 the same day.
        assert_eq!(due(&cal, at(3, 3, 10), &s), at(3, 3, 19));
        // After 19:00 → the next working day.
        assert_eq!(due(&cal, at(3, 3, 20), &s), at(3, 4, 19));
        // Friday evening → Monday.
        assert_eq!(due(&cal, at(3, 6, 20), &s), at(3, 9, 19));
        // A rating on the holiday 4 April (清明) → Tuesday 7 April.
        assert_eq!(due(&cal, at(4, 4, 9), &s), at(4, 7, 19));
    }

    #[test]
    fn an_unreachable_number_is_tried_up_to_the_limit_then_closed() {
        let s = RatingSettings::default();
        let mut c = Callback::new(Kind::Routine);
        for i in 1..=3 {
            let (n, _) = c.record(&Attempt::Unreachable, &s).unwrap();
            assert_eq!(n.attempts, i);
            c = n;
        }
        assert_eq!(c.status, Status::Unreachable);
        assert_eq!(
            c.record(&Attempt::Refused, &s).unwrap_err().code,
            "callback_closed"
        );
    }

    #[test]
    fn not_satisfied_needs_the_problem_and_opens_one() {
        let s = RatingSettings::default();
        let c = Callback::new(Kind::BadRating);
        let no_problem = Attempt::Reached {
            satisfied: false,
            problem: " ".into(),
            fix_level: None,
        };
        assert_eq!(
            c.record(&no_problem, &s).unwrap_err().code,
            "problem_required"
        );
        let with = Attempt::Reached {
            satisfied: false,
            problem: "排队太久".into(),
            fix_level: None,
        };
        let (n, then) = c.record(&with, &s).unwrap();
        assert_eq!(n.status, Status::Reached);
        assert_eq!(then, Then::Problem("排队太久".into()));
    }

    #[test]
    fn a_follow_up_records_the_raters_level_for_the_fix() {
        let s = RatingSettings::default();
        let c = Callback::new(Kind::FollowUp);
        let missing = Attempt::Reached {
            satisfied: true,
            problem: String::new(),
            fix_level: None,
        };
        assert_eq!(
            c.record(&missing, &s).unwrap_err().code,
            "fix_level_required"
        );
        let ok = Attempt::Reached {
            satisfied: true,
            problem: String::new(),
            fix_level: Some(5),
        };
        assert_eq!(
            c.record(&ok, &s).unwrap().1,
            Then::RateFix(Level::VerySatisfied)
        );
    }

    #[test]
    fn sampling_is_stable_and_close_to_its_rate() {
        assert_eq!(sampled("YL-1", 30), sampled("YL-1", 30));
        assert!(sampled("anything", 100));
        assert!(!sampled("anything", 0));
        let n = (0..10_000)
            .filter(|i| sampled(&format!("C{i}"), 30))
            .count();
        assert!((2_700..3_300).contains(&n), "{n}");
    }
}
