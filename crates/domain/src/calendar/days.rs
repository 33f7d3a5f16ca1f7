//! The dense calendar: one entry per day of [`FIRST_YEAR`]..=[`LAST_YEAR`], a prefix sum of
//! working days and an index of working days, so every operation is O(1) after loading
//! (ARCHITECTURE principle 4). Outside the span the weekends-only rule continues in closed form.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{Datelike, Duration, NaiveDate};

use super::arrangement::{LocalDay, LocalKind, YearArrangement};
use super::{Counted, Day, DayKind, FIRST_YEAR, LAST_YEAR, is_weekend, weekdays, year_not_loaded};
use crate::Result;
use crate::workdays::WorkingDays;

const KIND_MASK: u8 = 0b11;
const ADJUSTED: u8 = 0b100;
const LOCAL: u8 = 0b1000;

const SPAN_YEARS: usize = (LAST_YEAR - FIRST_YEAR + 1) as usize;

/// A calendar for one region (or the nation): the loaded years, the region's local days, and the
/// arrays that answer in constant time. Cheap to share behind an `Arc`; rebuilt when data change.
#[derive(Debug, Clone)]
pub struct Calendar {
    start: NaiveDate,
    end: NaiveDate,
    /// Kind (low bits) and flags per day.
    kinds: Vec<u8>,
    /// Index into `name_table` per day; 0 = no name.
    names: Vec<u16>,
    name_table: Vec<Box<str>>,
    /// `cum[i]` = working days among the first `i` days of the span.
    cum: Vec<u32>,
    /// `nth[k]` = the day index of the (k+1)th working day of the span.
    nth: Vec<u32>,
    /// Weekdays from 0001-01-01 up to the day before the span: ranks continue across the edges.
    before: i64,
    loaded: [bool; SPAN_YEARS],
    /// `next_unloaded[i]` = the first year ≥ FIRST_YEAR + i that is not loaded (LAST_YEAR + 1 if
    /// none), so "is any year in this range unloaded" is one lookup.
    next_unloaded: [i32; SPAN_YEARS + 1],
    years: Arc<Vec<YearArrangement>>,
}

impl Default for Calendar {
    fn default() -> Self {
        Calendar::new(Vec::new())
    }
}

impl Calendar {
    /// The national calendar from the loaded years. Years are applied in order, so a later
    /// notice reaching into the previous December overrides the earlier one (R-CALENDAR).
    pub fn new(mut years: Vec<YearArrangement>) -> Calendar {
        years.sort_by_key(|y| y.year);
        years.dedup_by_key(|y| y.year);
        let start = NaiveDate::from_ymd_opt(FIRST_YEAR, 1, 1).expect("span start");
        let end = NaiveDate::from_ymd_opt(LAST_YEAR, 12, 31).expect("span end");
        let n = (end - start).num_days() as usize + 1;
        let kinds = start
            .iter_days()
            .take(n)
            .map(|d| {
                if is_weekend(d) {
                    DayKind::Restday as u8
                } else {
                    DayKind::Workday as u8
                }
            })
            .collect();
        let mut cal = Calendar {
            start,
            end,
            kinds,
            names: vec![0; n],
            name_table: vec!["".into()],
            cum: Vec::new(),
            nth: Vec::new(),
            before: weekdays::rank(start - Duration::days(1)),
            loaded: [false; SPAN_YEARS],
            next_unloaded: [LAST_YEAR + 1; SPAN_YEARS + 1],
            years: Arc::new(Vec::new()),
        };
        let mut interned = HashMap::new();
        for y in &years {
            if let Some(i) = year_slot(y.year) {
                cal.loaded[i] = true;
            }
            for (d, name) in y.holiday_dates() {
                cal.set(d, DayKind::Holiday, Some(name), 0, &mut interned);
            }
            for w in &y.workdays {
                cal.set(w.date, DayKind::Workday, None, ADJUSTED, &mut interned);
            }
        }
        for i in (0..SPAN_YEARS).rev() {
            cal.next_unloaded[i] = if cal.loaded[i] {
                cal.next_unloaded[i + 1]
            } else {
                FIRST_YEAR + i as i32
            };
        }
        cal.years = Arc::new(years);
        cal.reindex();
        cal
    }

    /// This calendar with a region's local days applied, in the order given: pass the ancestors'
    /// days first and the region's own last, so the nearest rule wins.
    pub fn with_local_days<'a>(&self, days: impl IntoIterator<Item = &'a LocalDay>) -> Calendar {
        let mut cal = self.clone();
        let mut interned: HashMap<String, u16> = cal
            .name_table
            .iter()
            .enumerate()
            .map(|(i, s)| (s.to_string(), i as u16))
            .collect();
        for l in days {
            let adjusted = if is_weekend(l.date) { ADJUSTED } else { 0 };
            match l.kind {
                LocalKind::Holiday => cal.set(
                    l.date,
                    DayKind::Holiday,
                    l.name.as_deref(),
                    LOCAL,
                    &mut interned,
                ),
                LocalKind::Workday => cal.set(
                    l.date,
                    DayKind::Workday,
                    None,
                    LOCAL | adjusted,
                    &mut interned,
                ),
            }
        }
        cal.reindex();
        cal
    }

    fn set(
        &mut self,
        d: NaiveDate,
        kind: DayKind,
        name: Option<&str>,
        flags: u8,
        interned: &mut HashMap<String, u16>,
    ) {
        let Some(i) = self.index(d) else { return };
        self.kinds[i] = kind as u8 | flags;
        self.names[i] = match name {
            None => 0,
            Some(n) => *interned.entry(n.to_string()).or_insert_with(|| {
                self.name_table.push(n.into());
                (self.name_table.len() - 1) as u16
            }),
        };
    }

    fn reindex(&mut self) {
        self.cum = Vec::with_capacity(self.kinds.len() + 1);
        self.nth = Vec::with_capacity(self.kinds.len() * 5 / 7 + 16);
        let mut count = 0u32;
        self.cum.push(0);
        for (i, k) in self.kinds.iter().enumerate() {
            if k & KIND_MASK == DayKind::Workday as u8 {
                self.nth.push(i as u32);
                count += 1;
            }
            self.cum.push(count);
        }
    }

    fn index(&self, d: NaiveDate) -> Option<usize> {
        if d < self.start || d > self.end {
            return None;
        }
        Some((d.num_days_from_ce() - self.start.num_days_from_ce()) as usize)
    }

    /// The loaded arrangements, oldest first.
    pub fn years(&self) -> &[YearArrangement] {
        &self.years
    }

    pub fn arrangement(&self, year: i32) -> Option<&YearArrangement> {
        self.years.iter().find(|y| y.year == year)
    }

    pub fn is_loaded(&self, year: i32) -> bool {
        year_slot(year).is_some_and(|i| self.loaded[i])
    }

    /// The first year from `first` to `last` (inclusive) whose arrangement is not loaded.
    pub fn first_unloaded_year(&self, first: i32, last: i32) -> Option<i32> {
        if first > last {
            return None;
        }
        if first < FIRST_YEAR {
            return Some(first);
        }
        let y = year_slot(first).map_or(LAST_YEAR + 1, |i| self.next_unloaded[i]);
        if y <= last { Some(y) } else { None }
    }

    /// The first unloaded year among the days `first..=last`.
    fn unofficial_in(&self, first: NaiveDate, last: NaiveDate) -> Option<i32> {
        self.first_unloaded_year(first.year(), last.year())
    }

    pub fn day(&self, d: NaiveDate) -> Day<'_> {
        let Some(i) = self.index(d) else {
            return Day {
                date: d,
                kind: if is_weekend(d) {
                    DayKind::Restday
                } else {
                    DayKind::Workday
                },
                name: None,
                adjusted: false,
                local: false,
                unofficial: true,
            };
        };
        let k = self.kinds[i];
        let kind = self.kind_at(i);
        let name = self.names[i];
        Day {
            date: d,
            kind,
            name: (name != 0 && kind == DayKind::Holiday).then(|| &*self.name_table[name as usize]),
            adjusted: k & ADJUSTED != 0 && kind == DayKind::Workday,
            local: k & LOCAL != 0,
            unofficial: !self.is_loaded(d.year()),
        }
    }

    /// Working days from 0001-01-01 up to and including `d` (weekends-only outside the span).
    fn rank(&self, d: NaiveDate) -> i64 {
        match self.index(d) {
            Some(i) => self.before + i64::from(self.cum[i + 1]),
            None if d < self.start => weekdays::rank(d),
            None => self.after_base() + weekdays::rank(d),
        }
    }

    /// Offset that continues the weekday rank after the span.
    fn after_base(&self) -> i64 {
        self.before + i64::from(*self.cum.last().unwrap_or(&0)) - weekdays::rank(self.end)
    }

    /// The working day whose [`Self::rank`] is `r`.
    fn date_of_rank(&self, r: i64) -> NaiveDate {
        let inside = r - self.before;
        if inside <= 0 {
            weekdays::nth(r)
        } else if inside <= self.nth.len() as i64 {
            self.start + Duration::days(i64::from(self.nth[(inside - 1) as usize]))
        } else {
            weekdays::nth(r - self.after_base())
        }
    }

    /// The end of the `n`th working day after `from` (R-FIRST-DAY: `from` itself never counts),
    /// or with a negative `n` the `|n|`th working day before `from`; `n = 0` gives `from`. The
    /// answer says whether an unloaded year had to be guessed.
    pub fn add_working_days_counted(&self, from: NaiveDate, n: i64) -> Counted<NaiveDate> {
        if n == 0 {
            return Counted {
                value: from,
                unofficial_year: None,
            };
        }
        let r = if n > 0 {
            self.rank(from) + n
        } else {
            self.rank(from - Duration::days(1)) + n + 1
        };
        let value = self.date_of_rank(r);
        let unofficial_year = if n > 0 {
            self.unofficial_in(from + Duration::days(1), value)
        } else {
            self.unofficial_in(value, from - Duration::days(1))
        };
        Counted {
            value,
            unofficial_year,
        }
    }

    /// Strict [`Self::add_working_days_counted`]: `calendar_year_not_loaded` if any day it
    /// counted lies in a year that is not loaded.
    pub fn try_add_working_days(&self, from: NaiveDate, n: i64) -> Result<NaiveDate> {
        self.add_working_days_counted(from, n).official()
    }

    /// The working days after `a` up to and including `b` (negative when `b < a`).
    pub fn working_days_between_counted(&self, a: NaiveDate, b: NaiveDate) -> Counted<i64> {
        let value = self.rank(b) - self.rank(a);
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        Counted {
            value,
            unofficial_year: if lo == hi {
                None
            } else {
                self.unofficial_in(lo + Duration::days(1), hi)
            },
        }
    }

    /// Strict [`Self::working_days_between_counted`].
    pub fn try_working_days_between(&self, a: NaiveDate, b: NaiveDate) -> Result<i64> {
        self.working_days_between_counted(a, b).official()
    }

    /// Strict [`Self::day`]: refuses a date whose year is not loaded.
    pub fn try_day(&self, d: NaiveDate) -> Result<Day<'_>> {
        let day = self.day(d);
        if day.unofficial {
            return Err(year_not_loaded(d.year()));
        }
        Ok(day)
    }

    /// The days of `year`'s reach (its December before to its January after, R-CALENDAR) that
    /// differ between `self` and `other`: what a correction changed.
    pub fn differences<'a>(&'a self, other: &'a Calendar, year: i32) -> Vec<(Day<'a>, Day<'a>)> {
        let (Some(first), Some(last)) = (
            NaiveDate::from_ymd_opt(year - 1, 12, 1),
            NaiveDate::from_ymd_opt(year + 1, 1, 31),
        ) else {
            return Vec::new();
        };
        first
            .iter_days()
            .take_while(|d| *d <= last)
            .map(|d| (self.day(d), other.day(d)))
            .filter(|(a, b)| (a.kind, a.name, a.adjusted) != (b.kind, b.name, b.adjusted))
            .collect()
    }

    /// The day index inside the span, for [`super::OfficeTime`].
    pub(super) fn span(&self) -> (NaiveDate, usize) {
        (self.start, self.kinds.len())
    }

    pub(super) fn kind_at(&self, i: usize) -> DayKind {
        match self.kinds[i] & KIND_MASK {
            0 => DayKind::Workday,
            1 => DayKind::Restday,
            _ => DayKind::Holiday,
        }
    }
}

fn year_slot(year: i32) -> Option<usize> {
    (FIRST_YEAR..=LAST_YEAR)
        .contains(&year)
        .then(|| (year - FIRST_YEAR) as usize)
}

/// The lenient answers: what callers get when a year is missing is the weekends-only fallback,
/// exactly as [`Calendar::day`] flags it.
impl WorkingDays for Calendar {
    fn is_working_day(&self, d: NaiveDate) -> bool {
        self.day(d).kind == DayKind::Workday
    }

    fn add_working_days(&self, from: NaiveDate, n: i64) -> NaiveDate {
        self.add_working_days_counted(from, n).value
    }

    fn working_days_between(&self, a: NaiveDate, b: NaiveDate) -> i64 {
        self.working_days_between_counted(a, b).value
    }
}
