//! The director's numbers. Each day's facts are counted once into a rollup (day × hall ×
//! department × item × window × metric → count), which the worker keeps current and can
//! rebuild from the records; a period's figures are sums of those counts, so a five-year
//! dashboard adds rows instead of reading five years of cases. Rates are divided here only, so
//! every page, export and report shows the same figure for the same counts.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use crate::case::Case;
use crate::case::events::{CaseEvent, Change};
use crate::queue::stats::Figures as TicketFigures;
use crate::rating::stats::Rate;
use crate::workdays::WorkingDays;

labelled_enum! {
    /// One counted quantity of the rollup.
    pub enum Metric {
        Tickets = ("tickets", "取号人次"),
        Served = ("served", "办结人次"),
        NoShows = ("no_shows", "过号"),
        WaitSeconds = ("wait_seconds", "等候总秒数"),
        WaitCount = ("wait_count", "等候人次"),
        ServiceSeconds = ("service_seconds", "办理总秒数"),
        ServiceCount = ("service_count", "办理人次"),
        WaitLe10 = ("wait_le_10", "等候10分钟内"),
        WaitLe20 = ("wait_le_20", "等候20分钟内"),
        WaitLe30 = ("wait_le_30", "等候30分钟内"),
        WaitLe45 = ("wait_le_45", "等候45分钟内"),
        WaitLe60 = ("wait_le_60", "等候60分钟内"),
        WaitLe90 = ("wait_le_90", "等候90分钟内"),
        WaitLe120 = ("wait_le_120", "等候120分钟内"),
        WaitOver120 = ("wait_over_120", "等候超过120分钟"),
        Received = ("received", "收件"),
        Accepted = ("accepted", "受理"),
        Refused = ("refused", "不予受理"),
        OneTimeNotices = ("one_time_notices", "一次性告知"),
        Supplements = ("supplements", "补正"),
        Decided = ("decided", "办结"),
        DecidedOnTime = ("decided_on_time", "按时办结"),
        DecidedEarly = ("decided_early", "提前办结"),
        DaysSaved = ("days_saved", "较法定时限节省工作日"),
        Deemed = ("deemed", "超时默认"),
        Bundles = ("bundles", "一件事"),
        Ratings = ("ratings", "主动评价"),
        Satisfied = ("satisfied", "满意评价"),
        Bad = ("bad", "差评"),
        WorkOrders = ("work_orders", "工单"),
        WorkOrdersClosed = ("work_orders_closed", "工单办结"),
        WorkOrdersOnTime = ("work_orders_on_time", "工单按时办结"),
    }
}

/// The wait buckets (upper bound in minutes) of the histogram a period's P90 is read from.
const WAIT_BUCKETS: [(Metric, f64); 7] = [
    (Metric::WaitLe10, 10.0),
    (Metric::WaitLe20, 20.0),
    (Metric::WaitLe30, 30.0),
    (Metric::WaitLe45, 45.0),
    (Metric::WaitLe60, 60.0),
    (Metric::WaitLe90, 90.0),
    (Metric::WaitLe120, 120.0),
];

/// Counts by metric: one rollup row's worth, or a period's sum.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Tally(pub BTreeMap<Metric, i64>);

impl PartialOrd for Metric {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Metric {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Tally {
    pub fn get(&self, m: Metric) -> i64 {
        self.0.get(&m).copied().unwrap_or(0)
    }
    pub fn bump(&mut self, m: Metric, by: i64) {
        if by != 0 {
            *self.0.entry(m).or_default() += by;
        }
    }
    pub fn add(&mut self, other: &Tally) {
        for (m, v) in &other.0 {
            self.bump(*m, *v);
        }
    }

    /// A day's queue figures (of a hall or one window) as counts.
    pub fn from_tickets(f: &TicketFigures) -> Tally {
        let mut t = Tally::default();
        t.bump(Metric::Tickets, f.tickets as i64);
        t.bump(Metric::Served, f.finished as i64);
        t.bump(Metric::NoShows, f.no_shows as i64);
        if let Some(s) = &f.service {
            t.bump(
                Metric::ServiceSeconds,
                (s.mean * 60.0 * s.count as f64).round() as i64,
            );
            t.bump(Metric::ServiceCount, s.count as i64);
        }
        for w in &f.waits {
            t.bump(Metric::WaitSeconds, (w * 60.0).round() as i64);
            t.bump(Metric::WaitCount, 1);
            let bucket = WAIT_BUCKETS
                .iter()
                .find(|(_, max)| *w <= *max)
                .map_or(Metric::WaitOver120, |(m, _)| *m);
            t.bump(bucket, 1);
        }
        t
    }
}

/// What one case contributes to the day `day` (hall-local): the events of that day, read
/// against the replayed case for the clock (on time, days saved against the statutory limit).
pub fn case_day(case: &Case, events: &[CaseEvent], day: NaiveDate, cal: &dyn WorkingDays) -> Tally {
    let mut t = Tally::default();
    for e in events.iter().filter(|e| e.at.date() == day) {
        match &e.change {
            Change::Received { parent, .. } => {
                t.bump(Metric::Received, 1);
                if parent.is_some() {
                    t.bump(Metric::Bundles, 1);
                }
            }
            Change::Accepted { .. } => t.bump(Metric::Accepted, 1),
            Change::Refused { .. } => t.bump(Metric::Refused, 1),
            Change::OneTimeNoticeGiven { .. } => t.bump(Metric::OneTimeNotices, 1),
            Change::SupplementRequested { .. } => t.bump(Metric::Supplements, 1),
            Change::StepDeemedApproved { .. } => t.bump(Metric::Deemed, 1),
            Change::Decided { on, .. } => {
                t.bump(Metric::Decided, 1);
                if let Some(clock) = case.clock() {
                    let due = clock.due_date(cal, *on);
                    if *on <= due {
                        t.bump(Metric::DecidedOnTime, 1);
                    }
                    if *on < due {
                        t.bump(Metric::DecidedEarly, 1);
                    }
                }
                if let Some(statutory) = case.statutory_clock() {
                    let due = statutory.due_date(cal, *on);
                    t.bump(Metric::DaysSaved, cal.working_days_between(*on, due).max(0));
                }
            }
            _ => {}
        }
    }
    t
}

/// A period's figures as people read them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    pub counts: Tally,
    /// Minutes.
    pub wait_mean: Option<f64>,
    /// Minutes: the bucket bound under which 90 % waited (“≤ 20”), or over the last one.
    pub wait_p90: Option<f64>,
    pub service_mean: Option<f64>,
    /// 办结率: decided of accepted.
    pub done_rate: Rate,
    /// 按时办结率: decided on time of decided.
    pub on_time_rate: Rate,
    /// 提前办结率: decided before the committed date of decided.
    pub early_rate: Rate,
    /// Working days saved per decided case against the statutory limit.
    pub days_saved_mean: Option<f64>,
    /// 一次性告知率: cases given a one-time notice of those received.
    pub notice_rate: Rate,
    /// 满意率 and 差评率 of the ratings people gave.
    pub satisfaction: Rate,
    pub bad_rate: Rate,
    pub no_show_rate: Rate,
    pub work_order_on_time_rate: Rate,
}

impl Figures {
    pub fn of(counts: Tally) -> Figures {
        let c = |m| counts.get(m);
        let per = |a: i64, b: i64| (b > 0).then(|| a as f64 / b as f64);
        Figures {
            wait_mean: per(c(Metric::WaitSeconds), c(Metric::WaitCount) * 60),
            wait_p90: p90(&counts),
            service_mean: per(c(Metric::ServiceSeconds), c(Metric::ServiceCount) * 60),
            done_rate: Rate::of(c(Metric::Decided), c(Metric::Accepted)),
            on_time_rate: Rate::of(c(Metric::DecidedOnTime), c(Metric::Decided)),
            early_rate: Rate::of(c(Metric::DecidedEarly), c(Metric::Decided)),
            days_saved_mean: per(c(Metric::DaysSaved), c(Metric::Decided)),
            notice_rate: Rate::of(c(Metric::OneTimeNotices), c(Metric::Received)),
            satisfaction: Rate::of(c(Metric::Satisfied), c(Metric::Ratings)),
            bad_rate: Rate::of(c(Metric::Bad), c(Metric::Ratings)),
            no_show_rate: Rate::of(c(Metric::NoShows), c(Metric::Tickets)),
            work_order_on_time_rate: Rate::of(
                c(Metric::WorkOrdersOnTime),
                c(Metric::WorkOrdersClosed),
            ),
            counts,
        }
    }

    pub fn count(&self, m: Metric) -> i64 {
        self.counts.get(m)
    }
}

/// The 90th percentile read from the wait histogram: the first bucket bound reaching 90 % of
/// the waits (`None` for no waits; 121 for "over two hours").
fn p90(t: &Tally) -> Option<f64> {
    let total = t.get(Metric::WaitCount);
    if total == 0 {
        return None;
    }
    let need = (total * 9 + 9) / 10;
    let mut seen = 0;
    for (m, max) in WAIT_BUCKETS {
        seen += t.get(m);
        if seen >= need {
            return Some(max);
        }
    }
    Some(121.0)
}

/// “12.5 分钟”, “—” for nothing to show.
pub fn minutes(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_string(), |m| format!("{m:.1} 分钟"))
}

/// “≤20 分钟” for a histogram bound.
pub fn p90_label(v: Option<f64>) -> String {
    match v {
        None => "—".to_string(),
        Some(m) if m > 120.0 => "超过 120 分钟".to_string(),
        Some(m) => format!("≤{m:.0} 分钟"),
    }
}

labelled_enum! {
    /// The periods a report covers.
    pub enum Period {
        Day = ("day", "日"),
        Week = ("week", "周"),
        Month = ("month", "月"),
        Quarter = ("quarter", "季度"),
    }
}

impl Period {
    /// The period of this kind holding `day`: its first and last day.
    pub fn around(self, day: NaiveDate) -> (NaiveDate, NaiveDate) {
        use chrono::Datelike;
        match self {
            Period::Day => (day, day),
            Period::Week => {
                let first =
                    day - chrono::Days::new(u64::from(day.weekday().num_days_from_monday()));
                (first, first + chrono::Days::new(6))
            }
            Period::Month => month_of(day.year(), day.month()),
            Period::Quarter => {
                let q = (day.month() - 1) / 3;
                let (first, _) = month_of(day.year(), q * 3 + 1);
                let (_, last) = month_of(day.year(), q * 3 + 3);
                (first, last)
            }
        }
    }
}

/// First and last day of a month.
pub fn month_of(year: i32, month: u32) -> (NaiveDate, NaiveDate) {
    let first = NaiveDate::from_ymd_opt(year, month, 1).unwrap_or(NaiveDate::MIN);
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    };
    (first, next.map_or(first, |n| n.pred_opt().unwrap_or(n)))
}

/// The month before and the same month a year before, for comparisons.
pub fn previous_months(year: i32, month: u32) -> ((i32, u32), (i32, u32)) {
    let last = if month == 1 {
        (year - 1, 12)
    } else {
        (year, month - 1)
    };
    (last, (year - 1, month))
}
