//! Working-day arithmetic as every clock of the platform needs it (R-WORKDAY, R-FIRST-DAY,
//! R-HOURS). `calendar::Calendar` implements these; tests may use simpler calendars.

use chrono::{NaiveDate, NaiveDateTime};

pub trait WorkingDays {
    /// Whether `d` is a working day (an adjusted working day on a weekend is one).
    fn is_working_day(&self, d: NaiveDate) -> bool;

    /// The date that ends the `n`th working day after `from` (R-FIRST-DAY: counting starts the
    /// day after the event). `n = 0` gives `from`; a negative `n` counts backwards.
    fn add_working_days(&self, from: NaiveDate, n: i64) -> NaiveDate;

    /// The number of working days after `a` up to and including `b`; negative when `b < a`.
    fn working_days_between(&self, a: NaiveDate, b: NaiveDate) -> i64;
}

/// Office time of one hall (opening hours on the calendar's days), in the hall's local time.
pub trait OfficeClock {
    /// The local instant at which `minutes` office minutes after `from` have passed. A start
    /// outside office hours counts from the next opening.
    fn add_office_minutes(&self, from: NaiveDateTime, minutes: i64) -> NaiveDateTime;
}
