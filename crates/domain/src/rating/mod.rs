//! 好差评: ratings of visits and cases, their mandatory follow-up and the callback centre.
//!
//! A rating is given once per case or visit per stage (R-EVAL-ONCE) with a single-use token
//! bound to the applicant, never by a case number alone; it is never edited or deleted. A bad
//! rating opens a [`rectification::Rectification`] owned by the handling unit (R-BAD-RATING),
//! and both feed the callback centre ([`callback`], R-CALLBACK-DAILY). Unrated finished
//! subjects get an invitation after N days and a default rating after M days, flagged so it
//! never counts in 主动评价率 or 满意率 (R-EVAL-DEFAULT). Pure: the server stores and schedules.

pub mod callback;
pub mod rectification;
pub mod stats;

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use serde::{Deserialize, Serialize};

use crate::workdays::WorkingDays;
use crate::{Error, Problems, Result};

/// The five levels (R-EVAL-LEVELS), stored as their number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub enum Level {
    VeryDissatisfied = 1,
    Dissatisfied = 2,
    Basic = 3,
    Satisfied = 4,
    VerySatisfied = 5,
}

impl Level {
    pub const ALL: [Level; 5] = [
        Level::VerySatisfied,
        Level::Satisfied,
        Level::Basic,
        Level::Dissatisfied,
        Level::VeryDissatisfied,
    ];

    pub fn from_number(n: i64) -> Option<Level> {
        Level::ALL.into_iter().find(|l| *l as i64 == n)
    }

    pub fn number(self) -> i64 {
        self as i64
    }

    pub fn label(self) -> &'static str {
        match self {
            Level::VerySatisfied => "非常满意",
            Level::Satisfied => "满意",
            Level::Basic => "基本满意",
            Level::Dissatisfied => "不满意",
            Level::VeryDissatisfied => "非常不满意",
        }
    }

    /// 满意率 counts 5–3 (R-EVAL-LEVELS; GLOSSARY "satisfaction rate").
    pub fn is_satisfied(self) -> bool {
        self >= Level::Basic
    }
}

impl TryFrom<i64> for Level {
    type Error = String;
    fn try_from(n: i64) -> std::result::Result<Level, String> {
        Level::from_number(n).ok_or_else(|| format!("评价等级须为 1 到 5，收到 {n}"))
    }
}

impl From<Level> for i64 {
    fn from(l: Level) -> i64 {
        l.number()
    }
}

/// Where a rating was given (R-EVAL-LEVELS: every channel).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// 评价器: the tablet facing the citizen at the window.
    Pad,
    /// The phone page opened from a QR code or an SMS invitation.
    Phone,
    /// 我的办件 (/my), 一事一评 online.
    Web,
    /// The self-service kiosk.
    Kiosk,
    /// Imported from the provincial platform or 12345.
    Import,
    /// Given by the system after M days without a rating (R-EVAL-DEFAULT).
    Default,
}

impl Channel {
    pub const ALL: [Channel; 6] = [
        Channel::Pad,
        Channel::Phone,
        Channel::Web,
        Channel::Kiosk,
        Channel::Import,
        Channel::Default,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Pad => "pad",
            Channel::Phone => "phone",
            Channel::Web => "web",
            Channel::Kiosk => "kiosk",
            Channel::Import => "import",
            Channel::Default => "default",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Channel::Pad => "窗口评价器",
            Channel::Phone => "手机扫码/短信",
            Channel::Web => "网上办事",
            Channel::Kiosk => "自助终端",
            Channel::Import => "省平台/12345 导入",
            Channel::Default => "默认评价",
        }
    }

    /// Channels a citizen rates through with a token (an import and a default have none).
    pub fn takes_token(self) -> bool {
        !matches!(self, Channel::Import | Channel::Default)
    }
}

/// What is rated: a visit (a ticket served at a window) or a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    Visit,
    Case,
}

impl SubjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Visit => "visit",
            SubjectKind::Case => "case",
        }
    }

    pub fn parse(s: &str) -> Option<SubjectKind> {
        [SubjectKind::Visit, SubjectKind::Case]
            .into_iter()
            .find(|k| k.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            SubjectKind::Visit => "现场服务",
            SubjectKind::Case => "办件",
        }
    }

    /// 一次一评 on site uses the on-site question set; a case the online one (R-EVAL-LEVELS).
    pub fn question_set(self) -> &'static QuestionSet {
        match self {
            SubjectKind::Visit => &ON_SITE,
            SubjectKind::Case => &ONLINE,
        }
    }
}

/// When in a case's life the rating is given (一事多评 rates at each; R-EVAL-ONCE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Receipt,
    Acceptance,
    Conclusion,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Receipt => "receipt",
            Stage::Acceptance => "acceptance",
            Stage::Conclusion => "conclusion",
        }
    }

    pub fn parse(s: &str) -> Option<Stage> {
        [Stage::Receipt, Stage::Acceptance, Stage::Conclusion]
            .into_iter()
            .find(|k| k.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Stage::Receipt => "收件",
            Stage::Acceptance => "受理",
            Stage::Conclusion => "办结",
        }
    }
}

/// A versioned set of sub-indicators (R-EVAL-LEVELS: "the question set is versioned").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuestionSet {
    pub version: u32,
    pub indicators: &'static [(&'static str, &'static str)],
}

pub static ON_SITE: QuestionSet = QuestionSet {
    version: 1,
    indicators: &[
        ("efficiency", "服务效率"),
        ("competence", "服务水平"),
        ("attitude", "服务态度"),
    ],
};

pub static ONLINE: QuestionSet = QuestionSet {
    version: 1,
    indicators: &[
        ("efficiency", "办事效率"),
        ("guide_accuracy", "办事指南精确度"),
        ("convenience", "办事便捷度"),
        ("usability", "平台操作性"),
    ],
};

impl QuestionSet {
    pub fn label(&self, code: &str) -> Option<&'static str> {
        self.indicators
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, l)| *l)
    }
}

/// The practice numbers of 好差评 and 回访 (RULES "practice": settings with these defaults).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RatingSettings {
    /// Levels that count as 差评 (R-EVAL-LEVELS: 2 and 1 by default).
    pub bad_levels: Vec<Level>,
    /// 一事多评: rate a case at receipt, acceptance and conclusion, not only at conclusion.
    pub multi_stage: bool,
    /// Natural days after conclusion before the SMS invitation (R-EVAL-DEFAULT).
    pub invite_after_days: i64,
    /// Natural days after conclusion before the default rating (R-EVAL-DEFAULT).
    pub default_after_days: i64,
    /// The level a default rating gives (广东: 基本满意).
    pub default_level: Level,
    /// Natural days a rating token stays valid after the subject ends.
    pub token_days: i64,
    /// The longest comment, in characters.
    pub comment_max_chars: usize,
    /// Working days a rectification has (R-BAD-RATING: 5, 7 or 15 by region).
    pub rectification_days: i64,
    /// Per region code (or its prefix: a province's two digits), overriding the above.
    pub rectification_days_by_region: Vec<(String, i64)>,
    /// Share (percent) of the day's finished cases put on the callback list (R-CALLBACK-DAILY);
    /// every named bad rating and every finished rectification is always called back.
    pub callback_sample_percent: u8,
    /// The callback list is due by this hall-local time the same day (19:00).
    pub callback_due: NaiveTime,
    /// Unreachable attempts before a callback is closed as unreachable.
    pub callback_max_attempts: u32,
    /// Working days the window has to fix a problem a callback found.
    pub callback_problem_days: i64,
}

impl Default for RatingSettings {
    fn default() -> Self {
        RatingSettings {
            bad_levels: vec![Level::Dissatisfied, Level::VeryDissatisfied],
            multi_stage: false,
            invite_after_days: 3,
            default_after_days: 7,
            default_level: Level::Basic,
            token_days: 30,
            comment_max_chars: 500,
            rectification_days: 5,
            rectification_days_by_region: Vec::new(),
            callback_sample_percent: 30,
            callback_due: NaiveTime::from_hms_opt(19, 0, 0).unwrap_or_default(),
            callback_max_attempts: 3,
            callback_problem_days: 3,
        }
    }
}

impl RatingSettings {
    pub fn is_bad(&self, level: Level) -> bool {
        self.bad_levels.contains(&level)
    }

    /// Every problem at once.
    pub fn validate(&self) -> Result<()> {
        let mut p = Problems::new();
        p.check(
            !self.bad_levels.is_empty() && self.bad_levels.iter().all(|l| !l.is_satisfied()),
            "bad_levels",
            "差评等级须为“不满意”或“非常不满意”中的一个或两个",
        );
        p.check(
            (1..=30).contains(&self.invite_after_days),
            "invite_after_days",
            "邀请评价的天数须在 1 到 30 天之间",
        );
        p.check(
            self.default_after_days > self.invite_after_days && self.default_after_days <= 60,
            "default_after_days",
            "默认评价的天数须大于邀请天数，且不超过 60 天",
        );
        p.check(
            self.token_days >= self.default_after_days && self.token_days <= 366,
            "token_days",
            "评价码有效天数须不少于默认评价天数，且不超过 366 天",
        );
        p.check(
            (1..=2000).contains(&self.comment_max_chars),
            "comment_max_chars",
            "评价留言的长度上限须在 1 到 2000 字之间",
        );
        for (i, days) in std::iter::once(self.rectification_days)
            .chain(self.rectification_days_by_region.iter().map(|r| r.1))
            .enumerate()
        {
            p.check(
                (1..=30).contains(&days),
                if i == 0 {
                    "rectification_days"
                } else {
                    "rectification_days_by_region"
                },
                "整改期限须在 1 到 30 个工作日之间",
            );
        }
        p.check(
            self.callback_sample_percent <= 100,
            "callback_sample_percent",
            "回访抽样比例须在 0 到 100 之间",
        );
        p.check(
            (1..=10).contains(&self.callback_max_attempts),
            "callback_max_attempts",
            "回访重拨次数须在 1 到 10 次之间",
        );
        p.check(
            (1..=30).contains(&self.callback_problem_days),
            "callback_problem_days",
            "回访问题的整改期限须在 1 到 30 个工作日之间",
        );
        p.finish()
    }

    /// The rectification period of a hall in `region` (R-BAD-RATING): the longest matching
    /// code prefix among the regional settings, else the default.
    pub fn rectification_days_for(&self, region: Option<&str>) -> i64 {
        let Some(region) = region else {
            return self.rectification_days;
        };
        self.rectification_days_by_region
            .iter()
            .filter(|(code, _)| region.starts_with(code.as_str()))
            .max_by_key(|(code, _)| code.len())
            .map_or(self.rectification_days, |r| r.1)
    }
}

/// A single-use rating token as the store keeps it (the secret itself only as a digest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenState {
    pub subject: SubjectKind,
    pub subject_id: String,
    pub stage: Stage,
    /// When the token may be used: the subject ended (a case's conclusion, a ticket's finish).
    pub ready: bool,
    pub expires_at: NaiveDateTime,
    pub used: bool,
}

/// A citizen's rating as submitted.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct Submission {
    pub level: Option<i64>,
    #[serde(default)]
    pub indicators: std::collections::BTreeMap<String, i64>,
    #[serde(default)]
    pub comment: Option<String>,
}

/// A rating that passed every rule, ready to store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Valid {
    pub level: Level,
    pub indicators: Vec<(String, Level)>,
    pub comment: String,
    pub bad: bool,
    pub question_set: u32,
}

/// Checks a submission's content (levels 1–5, known indicators, a comment not too long).
pub fn check_content(
    s: &Submission,
    subject: SubjectKind,
    settings: &RatingSettings,
) -> Result<Valid> {
    let mut p = Problems::new();
    let level = match s.level.map(Level::from_number) {
        Some(Some(l)) => Some(l),
        Some(None) => {
            p.add("level", "评价等级须为 1（非常不满意）到 5（非常满意）");
            None
        }
        None => {
            p.add("level", "请选择评价等级");
            None
        }
    };
    let set = subject.question_set();
    let mut indicators = Vec::new();
    for (code, n) in &s.indicators {
        match (set.label(code), Level::from_number(*n)) {
            (None, _) => p.add(
                format!("indicators.{code}"),
                format!(
                    "没有这项评价指标；可评：{}",
                    set.indicators
                        .iter()
                        .map(|i| i.1)
                        .collect::<Vec<_>>()
                        .join("、")
                ),
            ),
            (Some(label), None) => p.add(
                format!("indicators.{code}"),
                format!("“{label}”的等级须为 1 到 5"),
            ),
            (Some(_), Some(l)) => indicators.push((code.clone(), l)),
        }
    }
    let comment = s.comment.as_deref().unwrap_or("").trim().to_string();
    if comment.chars().count() > settings.comment_max_chars {
        p.add(
            "comment",
            format!("留言请不超过 {} 字", settings.comment_max_chars),
        );
    }
    if comment.chars().any(|c| c.is_control() && c != '\n') {
        p.add("comment", "留言含有无法显示的控制字符");
    }
    p.finish()?;
    let level = level.ok_or_else(|| Error::internal("level checked above"))?;
    Ok(Valid {
        level,
        indicators,
        comment,
        bad: settings.is_bad(level),
        question_set: set.version,
    })
}

/// Whether a token may rate now (R-EVAL-ONCE): single use, unexpired, the subject ended.
pub fn check_token(t: &TokenState, now: NaiveDateTime) -> Result<()> {
    if t.used {
        return Err(Error::conflict(
            "rating_token_used",
            "这次服务已经评价过了，每次服务只能评价一次。感谢您的评价！",
        ));
    }
    if now > t.expires_at {
        return Err(Error::invalid(
            "rating_token_expired",
            "评价链接已过期。如有意见，请拨打 12345 或到大厅“办不成事”反映窗口反映。",
        ));
    }
    if !t.ready {
        return Err(Error::conflict(
            "rating_not_ready",
            "服务尚未办结，办结后即可评价。",
        ));
    }
    Ok(())
}

/// When the invitation and the default rating of a subject that ended at `ended` fall due,
/// and when its token expires (R-EVAL-DEFAULT, natural days).
pub fn schedule(
    ended: NaiveDateTime,
    s: &RatingSettings,
) -> (NaiveDateTime, NaiveDateTime, NaiveDateTime) {
    (
        ended + Duration::days(s.invite_after_days),
        ended + Duration::days(s.default_after_days),
        ended + Duration::days(s.token_days),
    )
}

/// A deadline in working days after `from` (R-FIRST-DAY), as a date.
pub fn working_deadline(cal: &impl WorkingDays, from: NaiveDate, days: i64) -> NaiveDate {
    cal.add_working_days(from, days)
}

/// Lights of rectifications and callbacks are supervision's lights (R-SUPERVISE).
pub use crate::supervision::Light;

#[cfg(test)]
mod tests;
