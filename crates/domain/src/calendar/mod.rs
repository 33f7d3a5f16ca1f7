//! The working-day calendar (R-WORKDAY, R-CALENDAR, R-FIRST-DAY, R-HOURS).
//!
//! The State Council's yearly notices are data ([`YearArrangement`], loaded and corrected by an
//! administrator), regions may add local days ([`LocalDay`]), and a [`Calendar`] turns both into
//! dense per-day arrays over a fixed span of years with prefix sums, so every question
//! ("what kind of day", "add N working days", "how many working days between") is answered in
//! constant time. A year whose arrangement is not loaded is never guessed silently: its days fall
//! back to weekends-only and are flagged `unofficial`, and the strict operations refuse with
//! `calendar_year_not_loaded` naming the year. [`OfficeTime`] does the same for a hall's office
//! minutes (R-HOURS).

mod arrangement;
mod days;
mod office;
mod read;
mod weekdays;

#[cfg(test)]
mod tests;

pub use arrangement::{
    AdjustedWorkday, Holiday, LocalDay, LocalKind, Notice, YearArrangement, valid_region,
};
pub use days::Calendar;
pub use office::{Interval, OfficeHours, OfficeTime};

use chrono::{Datelike, NaiveDate};

use crate::{Error, Kind};

/// The first and last year the dense arrays cover. Dates outside still get answers (weekends-only,
/// unofficial), but no arrangement can be loaded for them.
pub const FIRST_YEAR: i32 = 2000;
pub const LAST_YEAR: i32 = 2099;

/// What a day is for deadlines. An adjusted working day on a weekend (调休上班) is a `Workday`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    Workday,
    Restday,
    Holiday,
}

impl DayKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DayKind::Workday => "workday",
            DayKind::Restday => "restday",
            DayKind::Holiday => "holiday",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            DayKind::Workday => "工作日",
            DayKind::Restday => "休息日",
            DayKind::Holiday => "节假日",
        }
    }
}

/// One date as the calendar sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Day<'a> {
    pub date: NaiveDate,
    pub kind: DayKind,
    /// The holiday's name (national or local); `None` for other days.
    pub name: Option<&'a str>,
    /// A weekend made a working day by a notice or a local rule (调休上班).
    pub adjusted: bool,
    /// Set by a region's local rule rather than the national notice.
    pub local: bool,
    /// The year's arrangement is not loaded: this is the weekends-only fallback (R-CALENDAR).
    pub unofficial: bool,
}

/// A lenient answer: the value, and the first year it had to guess because that year's
/// arrangement is not loaded (`None` when every day counted was official).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counted<T> {
    pub value: T,
    pub unofficial_year: Option<i32>,
}

impl<T> Counted<T> {
    pub fn is_official(&self) -> bool {
        self.unofficial_year.is_none()
    }

    /// The strict reading: the value only if no unloaded year was needed.
    pub fn official(self) -> crate::Result<T> {
        match self.unofficial_year {
            None => Ok(self.value),
            Some(y) => Err(year_not_loaded(y)),
        }
    }
}

/// The error of every strict operation that needs a year nobody loaded.
pub fn year_not_loaded(year: i32) -> Error {
    let mut e = Error::new(
        Kind::Unavailable,
        "calendar_year_not_loaded",
        format!("{year}年的节假日安排尚未导入，无法按工作日准确计算，请管理员先导入该年的放假通知"),
    )
    .field("year", format!("{year}年的放假通知未导入"));
    e.detail = Some(format!("calendar year {year} not loaded"));
    e
}

/// Whether a year can hold a loaded arrangement.
pub fn in_span(year: i32) -> bool {
    (FIRST_YEAR..=LAST_YEAR).contains(&year)
}

pub(crate) fn is_weekend(d: NaiveDate) -> bool {
    d.weekday().number_from_monday() >= 6
}
