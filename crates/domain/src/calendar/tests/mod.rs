//! Calendar tests: the official days of 2025 and 2026 one by one, hand-computed deadlines,
//! property tests against a day-by-day oracle, office minutes, and the import format.

mod arithmetic;
mod import;
mod office;
mod official;

use chrono::NaiveDate;

use super::{Calendar, YearArrangement};

/// The arrangements shipped in `data/calendar/`.
pub(super) const SHIPPED: [&str; 7] = [
    include_str!("../../../../../data/calendar/2020.toml"),
    include_str!("../../../../../data/calendar/2021.toml"),
    include_str!("../../../../../data/calendar/2022.toml"),
    include_str!("../../../../../data/calendar/2023.toml"),
    include_str!("../../../../../data/calendar/2024.toml"),
    include_str!("../../../../../data/calendar/2025.toml"),
    include_str!("../../../../../data/calendar/2026.toml"),
];

pub(super) fn year(y: i32) -> YearArrangement {
    let text = SHIPPED[(y - 2020) as usize];
    YearArrangement::from_toml(text).unwrap_or_else(|e| panic!("{y}.toml: {e}"))
}

pub(super) fn shipped() -> Calendar {
    Calendar::new((2020..=2026).map(year).collect())
}

pub(super) fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}
