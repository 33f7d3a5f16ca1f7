//! 差评整改 (R-BAD-RATING): a bad rating, or a problem a callback found, owned by the unit that
//! handled the service until one of four outcomes closes it with evidence, then rated by the
//! rater. An upheld appeal excludes the rating from the numbers; the rating itself stays.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::Level;
use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A 差评 (R-BAD-RATING).
    BadRating,
    /// "Not satisfied" told to a callback (R-CALLBACK-DAILY).
    CallbackProblem,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::BadRating => "bad_rating",
            Source::CallbackProblem => "callback_problem",
        }
    }
    pub fn parse(s: &str) -> Option<Source> {
        [Source::BadRating, Source::CallbackProblem]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
    pub fn label(self) -> &'static str {
        match self {
            Source::BadRating => "差评",
            Source::CallbackProblem => "回访问题",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Open,
    /// 申诉复核: waiting for the supervisor.
    Appealed,
    Closed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Appealed => "appealed",
            Status::Closed => "closed",
        }
    }
    pub fn parse(s: &str) -> Option<Status> {
        [Status::Open, Status::Appealed, Status::Closed]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
    pub fn label(self) -> &'static str {
        match self {
            Status::Open => "整改中",
            Status::Appealed => "申诉复核中",
            Status::Closed => "已办结",
        }
    }
}

/// The four ways a rectification ends (R-BAD-RATING).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// 立行立改.
    FixedAtOnce,
    /// 限期整改, done (on time or late: `closed_on` against `deadline` tells).
    FixedByDeadline,
    /// 解释说明: no legal basis to do what was asked.
    Explained,
    /// 申诉复核 upheld: the rating was wrong or malicious.
    AppealUpheld,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::FixedAtOnce => "fixed_at_once",
            Outcome::FixedByDeadline => "fixed_by_deadline",
            Outcome::Explained => "explained",
            Outcome::AppealUpheld => "appeal_upheld",
        }
    }
    pub fn parse(s: &str) -> Option<Outcome> {
        [
            Outcome::FixedAtOnce,
            Outcome::FixedByDeadline,
            Outcome::Explained,
            Outcome::AppealUpheld,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
    pub fn label(self) -> &'static str {
        match self {
            Outcome::FixedAtOnce => "立行立改",
            Outcome::FixedByDeadline => "限期整改",
            Outcome::Explained => "解释说明",
            Outcome::AppealUpheld => "申诉成立",
        }
    }
}

/// A rectification's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rectification {
    pub source: Source,
    pub status: Status,
    pub opened_on: NaiveDate,
    pub deadline: NaiveDate,
    pub outcome: Option<Outcome>,
    pub closed_on: Option<NaiveDate>,
    /// The rater's rating of the fix (R-BAD-RATING: "the rater rates the rectification").
    pub rater_level: Option<Level>,
}

/// What the owner, the supervisor or the rater does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// The owner fixed it, with evidence.
    Fix { evidence: String },
    /// The owner explains why nothing can be done, with the reasons.
    Explain { evidence: String },
    /// The owner appeals against the rating (only a rating can be appealed).
    Appeal { reason: String },
    /// The supervisor decides an appeal.
    DecideAppeal { upheld: bool, note: String },
    /// The rater rates the fix (through the second callback).
    RateFix { level: Level },
}

impl Action {
    pub fn event(&self) -> &'static str {
        match self {
            Action::Fix { .. } => "rectification_fixed",
            Action::Explain { .. } => "rectification_explained",
            Action::Appeal { .. } => "rectification_appealed",
            Action::DecideAppeal { upheld: true, .. } => "rectification_appeal_upheld",
            Action::DecideAppeal { upheld: false, .. } => "rectification_appeal_rejected",
            Action::RateFix { .. } => "rectification_rated",
        }
    }
}

fn needs_text(text: &str, field: &str, what: &str) -> Result<()> {
    let n = text.trim().chars().count();
    if n == 0 {
        return Err(Error::invalid("missing_text", format!("请填写{what}"))
            .field(field, format!("请填写{what}")));
    }
    if n > 2000 {
        return Err(
            Error::invalid("text_too_long", format!("{what}请不超过 2000 字"))
                .field(field, format!("{what}请不超过 2000 字")),
        );
    }
    Ok(())
}

impl Rectification {
    pub fn open(source: Source, opened_on: NaiveDate, deadline: NaiveDate) -> Rectification {
        Rectification {
            source,
            status: Status::Open,
            opened_on,
            deadline,
            outcome: None,
            closed_on: None,
            rater_level: None,
        }
    }

    /// Closed by a fix or an explanation, and so waiting for the second callback.
    pub fn needs_follow_up(&self) -> bool {
        matches!(
            self.outcome,
            Some(Outcome::FixedAtOnce | Outcome::FixedByDeadline | Outcome::Explained)
        )
    }

    /// Closed no later than its deadline (按时整改率).
    pub fn on_time(&self) -> Option<bool> {
        self.closed_on.map(|d| d <= self.deadline)
    }

    /// The state after `action` on `today`, or why it cannot be done.
    pub fn apply(&self, action: &Action, today: NaiveDate) -> Result<Rectification> {
        let mut next = self.clone();
        let not_now = |what: &str| {
            Err(Error::conflict(
                "rectification_state",
                format!("整改当前为“{}”，不能{what}", self.status.label()),
            ))
        };
        match action {
            Action::Fix { evidence } | Action::Explain { evidence } => {
                if self.status != Status::Open {
                    return not_now("登记整改结果");
                }
                needs_text(evidence, "evidence", "整改情况和佐证")?;
                next.status = Status::Closed;
                next.closed_on = Some(today);
                next.outcome = Some(match action {
                    Action::Explain { .. } => Outcome::Explained,
                    _ if today == self.opened_on => Outcome::FixedAtOnce,
                    _ => Outcome::FixedByDeadline,
                });
            }
            Action::Appeal { reason } => {
                if self.status != Status::Open {
                    return not_now("申诉");
                }
                if self.source != Source::BadRating {
                    return Err(Error::conflict(
                        "appeal_not_allowed",
                        "只有差评可以申诉复核；回访问题请整改或解释说明",
                    ));
                }
                needs_text(reason, "reason", "申诉理由")?;
                next.status = Status::Appealed;
            }
            Action::DecideAppeal { upheld, note } => {
                if self.status != Status::Appealed {
                    return not_now("复核申诉");
                }
                needs_text(note, "note", "复核意见")?;
                if *upheld {
                    next.status = Status::Closed;
                    next.closed_on = Some(today);
                    next.outcome = Some(Outcome::AppealUpheld);
                } else {
                    // A rejected appeal sends it back to be fixed by the same deadline.
                    next.status = Status::Open;
                }
            }
            Action::RateFix { level } => {
                if !self.needs_follow_up() {
                    return not_now("评价整改结果");
                }
                if self.rater_level.is_some() {
                    return Err(Error::conflict(
                        "rectification_rated",
                        "整改结果已经评价过了",
                    ));
                }
                next.rater_level = Some(*level);
            }
        }
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).unwrap()
    }

    #[test]
    fn a_fix_on_the_day_it_opened_is_fixed_at_once_and_later_by_deadline() {
        let r = Rectification::open(Source::BadRating, d(3, 2), d(3, 9));
        let fix = Action::Fix {
            evidence: "已约谈窗口人员".into(),
        };
        assert_eq!(
            r.apply(&fix, d(3, 2)).unwrap().outcome,
            Some(Outcome::FixedAtOnce)
        );
        let late = r.apply(&fix, d(3, 10)).unwrap();
        assert_eq!(late.outcome, Some(Outcome::FixedByDeadline));
        assert_eq!(late.on_time(), Some(false));
        assert_eq!(r.apply(&fix, d(3, 9)).unwrap().on_time(), Some(true));
    }

    #[test]
    fn a_fix_without_evidence_is_refused() {
        let r = Rectification::open(Source::BadRating, d(3, 2), d(3, 9));
        let e = r
            .apply(
                &Action::Fix {
                    evidence: "  ".into(),
                },
                d(3, 3),
            )
            .unwrap_err();
        assert_eq!(e.fields[0].field, "evidence");
    }

    #[test]
    fn an_upheld_appeal_closes_it_and_a_rejected_one_sends_it_back_to_be_fixed() {
        let r = Rectification::open(Source::BadRating, d(3, 2), d(3, 9));
        let a = r
            .apply(
                &Action::Appeal {
                    reason: "恶意差评".into(),
                },
                d(3, 3),
            )
            .unwrap();
        assert_eq!(a.status, Status::Appealed);
        assert!(
            a.apply(
                &Action::Fix {
                    evidence: "x".into()
                },
                d(3, 3)
            )
            .is_err()
        );
        let up = a
            .apply(
                &Action::DecideAppeal {
                    upheld: true,
                    note: "监控显示服务规范".into(),
                },
                d(3, 4),
            )
            .unwrap();
        assert_eq!(up.outcome, Some(Outcome::AppealUpheld));
        assert!(!up.needs_follow_up());
        let back = a
            .apply(
                &Action::DecideAppeal {
                    upheld: false,
                    note: "理由不成立".into(),
                },
                d(3, 4),
            )
            .unwrap();
        assert_eq!(back.status, Status::Open);
        assert_eq!(back.deadline, d(3, 9));
    }

    #[test]
    fn a_callback_problem_cannot_be_appealed() {
        let r = Rectification::open(Source::CallbackProblem, d(3, 2), d(3, 5));
        let e = r
            .apply(
                &Action::Appeal {
                    reason: "不是我们的问题".into(),
                },
                d(3, 3),
            )
            .unwrap_err();
        assert_eq!(e.code, "appeal_not_allowed");
    }

    #[test]
    fn the_rater_rates_a_fix_once_and_never_an_open_one() {
        let r = Rectification::open(Source::BadRating, d(3, 2), d(3, 9));
        let rate = Action::RateFix {
            level: Level::Satisfied,
        };
        assert!(r.apply(&rate, d(3, 3)).is_err());
        let fixed = r
            .apply(
                &Action::Fix {
                    evidence: "已整改".into(),
                },
                d(3, 3),
            )
            .unwrap();
        let rated = fixed.apply(&rate, d(3, 4)).unwrap();
        assert_eq!(rated.rater_level, Some(Level::Satisfied));
        assert_eq!(
            rated.apply(&rate, d(3, 4)).unwrap_err().code,
            "rectification_rated"
        );
    }
}
