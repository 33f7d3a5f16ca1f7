//! A hall's office hours (R-HOURS) and office-time arithmetic over the calendar's days.
//!
//! Hours are intervals per kind of day: working days (e.g. 09:00–12:00 and 13:30–17:30) plus
//! extended service (延时服务, counted as office time: the hall is open and staffed), rest days
//! (weekend service) and holidays (closed unless set). [`OfficeTime`] keeps a prefix sum of office
//! seconds per day and an index of open days, so adding office minutes is O(1) (R-ROUTE-10MIN).

use std::fmt;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::read::{known_keys, list, object};
use super::{Calendar, DayKind};
use crate::workdays::OfficeClock;
use crate::{Error, Problems, Result};

/// `[start, end)` in minutes after midnight; `end` may be 1440 (midnight).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Interval {
    pub start: u16,
    pub end: u16,
}

impl Interval {
    pub fn new(start: u16, end: u16) -> Interval {
        Interval { start, end }
    }

    /// Parses `09:00-12:00` (also with `–`, `—` or `~`).
    pub fn parse(s: &str) -> Option<Interval> {
        let s = s.trim();
        let (a, b) = s
            .split_once(['-', '–', '—', '~', '～'])
            .map(|(a, b)| (a.trim(), b.trim()))?;
        let start = minute_of(a)?;
        let end = minute_of(b)?;
        (start < end).then_some(Interval { start, end })
    }
}

fn minute_of(s: &str) -> Option<u16> {
    let (hs, ms) = s.split_once([':', '：'])?;
    if hs.is_empty() || hs.len() > 2 || ms.len() != 2 {
        return None;
    }
    let (h, m): (u16, u16) = (hs.parse().ok()?, ms.parse().ok()?);
    (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02}:{:02}-{:02}:{:02}",
            self.start / 60,
            self.start % 60,
            self.end / 60,
            self.end % 60
        )
    }
}

impl Serialize for Interval {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Interval {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Interval::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("bad interval {s}")))
    }
}

/// A hall's published office hours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfficeHours {
    pub workday: Vec<Interval>,
    /// 延时服务 on working days (e.g. 17:30-19:00), counted as office time.
    #[serde(default)]
    pub extended: Vec<Interval>,
    /// Weekend service on rest days (not on holidays).
    #[serde(default)]
    pub restday: Vec<Interval>,
    /// Holiday service; closed when empty.
    #[serde(default)]
    pub holiday: Vec<Interval>,
}

impl Default for OfficeHours {
    /// The common practice (R-HOURS): 09:00-12:00 and 13:30-17:30 on working days.
    fn default() -> Self {
        OfficeHours {
            workday: vec![
                Interval::new(9 * 60, 12 * 60),
                Interval::new(13 * 60 + 30, 17 * 60 + 30),
            ],
            extended: Vec::new(),
            restday: Vec::new(),
            holiday: Vec::new(),
        }
    }
}

const GROUPS: [(&str, &str); 4] = [
    ("workday", "工作日"),
    ("extended", "延时服务"),
    ("restday", "休息日"),
    ("holiday", "节假日"),
];

impl OfficeHours {
    /// Validates `{"workday":["09:00-12:00",…],"extended":[…],"restday":[…],"holiday":[…]}`.
    pub fn from_value(v: &Value) -> Result<OfficeHours> {
        let mut p = Problems::new();
        let mut groups: [Vec<Interval>; 4] = Default::default();
        if let Some(m) = object(v, "", &mut p) {
            known_keys(m, &GROUPS.map(|g| g.0), "", &mut p);
            for (g, (key, label)) in GROUPS.iter().enumerate() {
                for (i, item) in list(m, key, "", &mut p).iter().enumerate() {
                    let field = format!("{key}[{i}]");
                    match item.as_str().and_then(Interval::parse) {
                        Some(iv) => groups[g].push(iv),
                        None => p.add(
                            field,
                            format!("{label}时段应写成“09:00-12:00”，结束须晚于开始，最晚 24:00"),
                        ),
                    }
                }
                groups[g].sort();
                for w in groups[g].windows(2) {
                    if w[1].start < w[0].end {
                        p.add(*key, format!("{label}时段 {} 与 {} 重叠", w[0], w[1]));
                    }
                }
            }
            for e in &groups[1] {
                if groups[0].iter().any(|w| e.start < w.end && w.start < e.end) {
                    p.add("extended", format!("延时服务时段 {e} 与工作日时段重叠"));
                }
            }
            if groups.iter().all(Vec::is_empty) {
                p.add("workday", "至少填写一个工作日办公时段");
            }
        }
        p.finish()?;
        let [workday, extended, restday, holiday] = groups;
        Ok(OfficeHours {
            workday,
            extended,
            restday,
            holiday,
        })
    }

    pub fn to_value(&self) -> Value {
        let s = |v: &Vec<Interval>| v.iter().map(ToString::to_string).collect::<Vec<_>>();
        json!({
            "workday": s(&self.workday),
            "extended": s(&self.extended),
            "restday": s(&self.restday),
            "holiday": s(&self.holiday),
        })
    }

    /// The open intervals of a kind of day, in order.
    pub fn for_kind(&self, kind: DayKind) -> Vec<Interval> {
        let mut v = match kind {
            DayKind::Workday => [self.workday.as_slice(), &self.extended].concat(),
            DayKind::Restday => self.restday.clone(),
            DayKind::Holiday => self.holiday.clone(),
        };
        v.sort();
        v
    }
}

/// One kind of day's opening, in seconds after midnight, with the seconds before each interval.
#[derive(Debug, Clone, Default)]
struct Profile {
    /// (start, end, office seconds before this interval on the day)
    intervals: Vec<(i64, i64, i64)>,
    total: i64,
}

impl Profile {
    fn new(ivs: &[Interval]) -> Profile {
        let mut p = Profile::default();
        for iv in ivs {
            let (s, e) = (i64::from(iv.start) * 60, i64::from(iv.end) * 60);
            p.intervals.push((s, e, p.total));
            p.total += e - s;
        }
        p
    }

    /// Office seconds on this day before the time `secs`.
    fn before(&self, secs: i64) -> i64 {
        for &(s, e, acc) in &self.intervals {
            if secs < e {
                return acc + (secs - s).max(0);
            }
        }
        self.total
    }

    /// The time of day at which `offset` office seconds have passed; at a boundary between two
    /// intervals `late` picks the later instant (the reopening) rather than the closing.
    fn time_at(&self, offset: i64, late: bool) -> i64 {
        for &(s, e, acc) in &self.intervals {
            let through = acc + (e - s);
            if offset < through || (!late && offset == through) {
                return s + (offset - acc);
            }
        }
        self.intervals.last().map_or(0, |&(_, e, _)| e)
    }
}

/// Office-time arithmetic of one hall on one (regional) calendar. Build once per change of the
/// calendar or the hours; every query is then O(1).
#[derive(Debug, Clone)]
pub struct OfficeTime {
    start: NaiveDate,
    /// Profiles by day kind (workday, restday, holiday).
    profiles: [Profile; 3],
    kinds: Vec<u8>,
    /// Office seconds of the span before day `i`.
    before: Vec<i64>,
    /// Day indexes that have any office time.
    open: Vec<u32>,
    /// `bucket[j]` = the open day (index into `open`) holding office second `j * bucket_size`.
    bucket: Vec<u32>,
    bucket_size: i64,
}

impl OfficeTime {
    pub fn new(calendar: &Calendar, hours: &OfficeHours) -> OfficeTime {
        let profiles = [DayKind::Workday, DayKind::Restday, DayKind::Holiday]
            .map(|k| Profile::new(&hours.for_kind(k)));
        let (start, n) = calendar.span();
        let kinds: Vec<u8> = (0..n).map(|i| calendar.kind_at(i) as u8).collect();
        let mut before = Vec::with_capacity(n + 1);
        let mut open = Vec::new();
        let mut acc = 0i64;
        for (i, k) in kinds.iter().enumerate() {
            before.push(acc);
            let t = profiles[*k as usize].total;
            if t > 0 {
                open.push(i as u32);
            }
            acc += t;
        }
        before.push(acc);
        // Each open day holds at least the smallest day's seconds, so a bucket of that size
        // meets at most two open days; a floor of an hour keeps odd settings from bloating it.
        let smallest = profiles.iter().map(|p| p.total).filter(|t| *t > 0).min();
        let bucket_size = smallest.unwrap_or(3600).max(3600);
        let mut bucket = Vec::with_capacity((acc / bucket_size) as usize + 1);
        let mut k = 0usize;
        for j in 0..=(acc / bucket_size) {
            let pos = j * bucket_size;
            while k + 1 < open.len() && before[open[k + 1] as usize] <= pos {
                k += 1;
            }
            bucket.push(k as u32);
        }
        OfficeTime {
            start,
            profiles,
            kinds,
            before,
            open,
            bucket,
            bucket_size,
        }
    }

    fn profile(&self, i: usize) -> &Profile {
        &self.profiles[self.kinds[i] as usize]
    }

    fn index(&self, d: NaiveDate) -> Option<usize> {
        let i = i64::from(d.num_days_from_ce() - self.start.num_days_from_ce());
        (0..self.kinds.len() as i64)
            .contains(&i)
            .then_some(i as usize)
    }

    /// Office seconds of the span before the instant `t`.
    fn position(&self, t: NaiveDateTime) -> Option<i64> {
        let i = self.index(t.date())?;
        Some(
            self.before[i]
                + self
                    .profile(i)
                    .before(i64::from(t.num_seconds_from_midnight())),
        )
    }

    /// The instant at office position `p`; `late` as in [`Profile::time_at`].
    fn instant_at(&self, p: i64, late: bool) -> Option<NaiveDateTime> {
        let total = *self.before.last()?;
        if self.open.is_empty() || p < 0 || p > total || (late && p == total) {
            return None;
        }
        // The open day holding `p`: the last one starting before it (at or before it when late).
        let starts_before = |k: usize| {
            let s = self.before[self.open[k] as usize];
            if late { s <= p } else { s < p }
        };
        let j = ((p / self.bucket_size) as usize).min(self.bucket.len() - 1);
        let mut k = self.bucket[j] as usize;
        while k > 0 && !starts_before(k) {
            k -= 1;
        }
        while k + 1 < self.open.len() && starts_before(k + 1) {
            k += 1;
        }
        let day = self.open[k] as usize;
        let secs = self.profile(day).time_at(p - self.before[day], late);
        let date = self.start + Duration::days(day as i64);
        Some(date.and_time(NaiveTime::MIN) + Duration::seconds(secs))
    }

    /// The instant at which `minutes` office minutes after `from` have passed; a start outside
    /// office hours counts from the next opening. Negative `minutes` count back to the latest
    /// instant that far before. Errors when the answer lies outside the calendar's span.
    pub fn try_add_office_minutes(
        &self,
        from: NaiveDateTime,
        minutes: i64,
    ) -> Result<NaiveDateTime> {
        if minutes == 0 {
            return Ok(from);
        }
        let p = self.position(from).ok_or_else(out_of_range)?;
        self.instant_at(p + minutes * 60, minutes < 0)
            .ok_or_else(out_of_range)
    }

    /// Office minutes from `a` to `b` (negative when `b` is earlier).
    pub fn office_minutes_between(&self, a: NaiveDateTime, b: NaiveDateTime) -> Result<i64> {
        let pa = self.position(a).ok_or_else(out_of_range)?;
        let pb = self.position(b).ok_or_else(out_of_range)?;
        Ok((pb - pa).div_euclid(60))
    }

    /// Whether the hall is open at `t`.
    pub fn is_open(&self, t: NaiveDateTime) -> bool {
        let Some(i) = self.index(t.date()) else {
            return false;
        };
        let secs = i64::from(t.num_seconds_from_midnight());
        self.profile(i)
            .intervals
            .iter()
            .any(|&(s, e, _)| s <= secs && secs < e)
    }
}

fn out_of_range() -> Error {
    Error::invalid(
        "office_time_out_of_range",
        format!(
            "办公时间只能在{}至{}年之间计算",
            super::FIRST_YEAR,
            super::LAST_YEAR
        ),
    )
}

/// Outside the span the answer saturates at its edge (no hall timer runs a century ahead); use
/// [`OfficeTime::try_add_office_minutes`] to be told instead.
impl OfficeClock for OfficeTime {
    fn add_office_minutes(&self, from: NaiveDateTime, minutes: i64) -> NaiveDateTime {
        self.try_add_office_minutes(from, minutes)
            .unwrap_or_else(|_| {
                let edge = if minutes < 0 {
                    self.start
                } else {
                    self.start + Duration::days(self.kinds.len() as i64 - 1)
                };
                let t = edge.and_time(NaiveTime::MIN);
                if minutes < 0 {
                    t
                } else {
                    t + Duration::seconds(86_399)
                }
            })
    }
}
