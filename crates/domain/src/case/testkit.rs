//! Test calendars: the State Council arrangements for 2025 (国办发明电〔2024〕12号) and 2026
//! written out by hand, so every deadline in the tests can be checked against a printed calendar.
//! Deliberately naive (day-by-day loops): it is the reference the real calendar is not.

use std::collections::BTreeSet;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Weekday};

use crate::workdays::{OfficeClock, WorkingDays};

pub fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

pub fn t(y: i32, m: u32, day: u32, h: u32, min: u32) -> NaiveDateTime {
    d(y, m, day).and_hms_opt(h, min, 0).unwrap()
}

pub struct TestCalendar {
    holidays: BTreeSet<NaiveDate>,
    adjusted_working_days: BTreeSet<NaiveDate>,
}

type Span = ((i32, u32, u32), (i32, u32, u32));

const HOLIDAYS: [Span; 13] = [
    // 2025: 元旦, 春节, 清明, 劳动节, 端午, 国庆·中秋
    ((2025, 1, 1), (2025, 1, 1)),
    ((2025, 1, 28), (2025, 2, 4)),
    ((2025, 4, 4), (2025, 4, 6)),
    ((2025, 5, 1), (2025, 5, 5)),
    ((2025, 5, 31), (2025, 6, 2)),
    ((2025, 10, 1), (2025, 10, 8)),
    // 2026: 元旦, 春节, 清明, 劳动节, 端午, 中秋, 国庆
    ((2026, 1, 1), (2026, 1, 3)),
    ((2026, 2, 15), (2026, 2, 23)),
    ((2026, 4, 4), (2026, 4, 6)),
    ((2026, 5, 1), (2026, 5, 5)),
    ((2026, 6, 19), (2026, 6, 21)),
    ((2026, 9, 25), (2026, 9, 27)),
    ((2026, 10, 1), (2026, 10, 7)),
];

/// 调休: weekend days that are working days.
const ADJUSTED_WORKING_DAYS: [(i32, u32, u32); 11] = [
    (2025, 1, 26),
    (2025, 2, 8),
    (2025, 4, 27),
    (2025, 9, 28),
    (2025, 10, 11),
    (2026, 1, 4),
    (2026, 2, 14),
    (2026, 2, 28),
    (2026, 5, 9),
    (2026, 9, 20),
    (2026, 10, 10),
];

impl TestCalendar {
    pub fn china_2025_2026() -> Self {
        let mut holidays = BTreeSet::new();
        for ((y1, m1, d1), (y2, m2, d2)) in HOLIDAYS {
            let mut day = d(y1, m1, d1);
            while day <= d(y2, m2, d2) {
                holidays.insert(day);
                day += Duration::days(1);
            }
        }
        let adjusted_working_days = ADJUSTED_WORKING_DAYS
            .iter()
            .map(|&(y, m, day)| d(y, m, day))
            .collect();
        TestCalendar {
            holidays,
            adjusted_working_days,
        }
    }

    /// A local day off added by a region, or a corrected notice.
    pub fn with_holiday(mut self, day: NaiveDate) -> Self {
        self.holidays.insert(day);
        self
    }
}

impl WorkingDays for TestCalendar {
    fn is_working_day(&self, day: NaiveDate) -> bool {
        if self.adjusted_working_days.contains(&day) {
            return true;
        }
        !self.holidays.contains(&day) && !matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
    }

    fn add_working_days(&self, from: NaiveDate, n: i64) -> NaiveDate {
        let step = Duration::days(if n < 0 { -1 } else { 1 });
        let mut day = from;
        let mut left = n.abs();
        while left > 0 {
            day += step;
            if self.is_working_day(day) {
                left -= 1;
            }
        }
        day
    }

    fn working_days_between(&self, a: NaiveDate, b: NaiveDate) -> i64 {
        if b < a {
            return -self.working_days_between(b, a);
        }
        let mut n = 0;
        let mut day = a;
        while day < b {
            day += Duration::days(1);
            if self.is_working_day(day) {
                n += 1;
            }
        }
        n
    }
}

/// Office hours 9:00–12:00 and 13:30–17:30 on the calendar's working days.
pub struct TestOffice<'a>(pub &'a TestCalendar);

const SESSIONS: [((u32, u32), (u32, u32)); 2] = [((9, 0), (12, 0)), ((13, 30), (17, 30))];

impl OfficeClock for TestOffice<'_> {
    fn add_office_minutes(&self, from: NaiveDateTime, minutes: i64) -> NaiveDateTime {
        let mut now = from;
        let mut left = minutes;
        loop {
            if self.0.is_working_day(now.date()) {
                for ((h1, m1), (h2, m2)) in SESSIONS {
                    let open = now
                        .date()
                        .and_time(NaiveTime::from_hms_opt(h1, m1, 0).unwrap());
                    let close = now
                        .date()
                        .and_time(NaiveTime::from_hms_opt(h2, m2, 0).unwrap());
                    if now >= close {
                        continue;
                    }
                    now = now.max(open);
                    let available = (close - now).num_minutes();
                    if left <= available {
                        return now + Duration::minutes(left);
                    }
                    left -= available;
                    now = close;
                }
            }
            now = (now.date() + Duration::days(1))
                .and_hms_opt(0, 0, 0)
                .unwrap();
        }
    }
}

#[test]
fn the_test_calendar_follows_the_api_example() {
    // API-V1: `calendar add --from 2026-09-29 --days 5` gives 2026-10-12.
    let cal = TestCalendar::china_2025_2026();
    assert_eq!(cal.add_working_days(d(2026, 9, 29), 5), d(2026, 10, 12));
    assert!(cal.is_working_day(d(2026, 2, 14)));
    assert!(!cal.is_working_day(d(2026, 2, 16)));
    assert_eq!(cal.working_days_between(d(2026, 9, 29), d(2026, 10, 12)), 5);
    assert_eq!(cal.add_working_days(d(2026, 10, 12), -5), d(2026, 9, 29));
}
