//! The calendar and office hours the case engine counts in, and the conversion between the
//! server's UTC instants and the hall's local time.
//!
//! Until the calendar service is merged this is the explicit fallback RULES R-CALENDAR allows
//! for a year without an arrangement: weekends only (flagged as unofficial where shown), and
//! office hours 9:00–12:00, 13:30–17:30 on working days (R-HOURS). [`calendar`] is the one
//! place to re-point.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Utc, Weekday};
use yichuang_domain::workdays::{OfficeClock, WorkingDays};

use crate::clock::hall_zone;

/// Working days as the case engine counts them.
pub fn calendar() -> WeekendsOnly {
    WeekendsOnly
}

pub fn local(t: DateTime<Utc>) -> NaiveDateTime {
    t.with_timezone(&hall_zone()).naive_local()
}

pub fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    yichuang_store::cases::records::utc(t, hall_zone())
}

/// Every Monday to Friday is a working day; no holiday is known.
#[derive(Debug, Clone, Copy, Default)]
pub struct WeekendsOnly;

impl WorkingDays for WeekendsOnly {
    fn is_working_day(&self, d: NaiveDate) -> bool {
        !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
    }

    fn add_working_days(&self, from: NaiveDate, n: i64) -> NaiveDate {
        let step = if n < 0 { -1 } else { 1 };
        let mut d = from;
        let mut left = n.abs();
        while left > 0 {
            d += chrono::Duration::days(step);
            if self.is_working_day(d) {
                left -= 1;
            }
        }
        d
    }

    fn working_days_between(&self, a: NaiveDate, b: NaiveDate) -> i64 {
        let (lo, hi, sign) = if a <= b { (a, b, 1) } else { (b, a, -1) };
        let mut n = 0;
        let mut d = lo;
        while d < hi {
            d += chrono::Duration::days(1);
            if self.is_working_day(d) {
                n += 1;
            }
        }
        sign * n
    }
}

/// Office hours on the calendar's working days (R-HOURS).
pub struct OfficeHours<'a> {
    pub calendar: &'a dyn WorkingDays,
    pub sessions: [(NaiveTime, NaiveTime); 2],
}

impl<'a> OfficeHours<'a> {
    pub fn standard(calendar: &'a dyn WorkingDays) -> Self {
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).expect("valid time");
        OfficeHours {
            calendar,
            sessions: [(t(9, 0), t(12, 0)), (t(13, 30), t(17, 30))],
        }
    }
}

impl OfficeClock for OfficeHours<'_> {
    fn add_office_minutes(&self, from: NaiveDateTime, minutes: i64) -> NaiveDateTime {
        let mut left = chrono::Duration::minutes(minutes.max(0));
        let mut day = from.date();
        let mut cursor = from;
        // A year of closed days is far more than any calendar has.
        for _ in 0..400 {
            if self.calendar.is_working_day(day) {
                for (open, close) in self.sessions {
                    let (open, close) = (day.and_time(open), day.and_time(close));
                    let start = cursor.max(open);
                    if start >= close {
                        continue;
                    }
                    if start + left <= close {
                        return start + left;
                    }
                    left -= close - start;
                    cursor = close;
                }
            }
            day = day.succ_opt().expect("date in range");
            cursor = day.and_hms_opt(0, 0, 0).expect("midnight");
        }
        cursor
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(d: u32, h: u32, m: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 3, d)
            .unwrap()
            .and_hms_opt(h, m, 0)
            .unwrap()
    }

    #[test]
    fn ten_office_minutes_before_noon_run_over_the_lunch_break_r_route_10min() {
        let cal = WeekendsOnly;
        let office = OfficeHours::standard(&cal);
        assert_eq!(office.add_office_minutes(at(2, 11, 55), 10), at(2, 13, 35));
        assert_eq!(office.add_office_minutes(at(2, 10, 0), 10), at(2, 10, 10));
    }

    #[test]
    fn a_friday_evening_routing_counts_from_monday_morning() {
        let cal = WeekendsOnly;
        let office = OfficeHours::standard(&cal);
        // 2026-03-06 is a Friday.
        assert_eq!(office.add_office_minutes(at(6, 17, 25), 10), at(9, 9, 5));
        assert_eq!(office.add_office_minutes(at(7, 10, 0), 10), at(9, 9, 10));
    }

    #[test]
    fn weekends_only_counts_from_the_day_after_r_first_day() {
        let cal = WeekendsOnly;
        let fri = NaiveDate::from_ymd_opt(2026, 3, 6).unwrap();
        assert_eq!(
            cal.add_working_days(fri, 1),
            NaiveDate::from_ymd_opt(2026, 3, 9).unwrap()
        );
        assert_eq!(
            cal.working_days_between(fri, NaiveDate::from_ymd_opt(2026, 3, 13).unwrap()),
            5
        );
        assert_eq!(cal.add_working_days(fri, -1), fri.pred_opt().unwrap());
    }
}
