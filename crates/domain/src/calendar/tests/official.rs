//! Every holiday day and every adjusted working day of 2025 and 2026, typed from the notices
//! (国办发明电〔2024〕12号 and 国办发明电〔2025〕7号), plus deadlines across 春节 and 国庆 worked out
//! by hand (R-CALENDAR, R-FIRST-DAY).

use chrono::{Datelike, Duration};

use super::{d, shipped, year};
use crate::calendar::{Calendar, DayKind, is_weekend};
use crate::workdays::WorkingDays;

/// (first, last, name) of each holiday range, as the notice lists it.
const HOLIDAYS_2025: [(&str, &str, &str); 8] = [
    ("2025-01-01", "2025-01-01", "元旦"),
    ("2025-01-28", "2025-02-04", "春节"),
    ("2025-04-04", "2025-04-06", "清明节"),
    ("2025-05-01", "2025-05-05", "劳动节"),
    ("2025-05-31", "2025-06-02", "端午节"),
    ("2025-10-01", "2025-10-05", "国庆节"),
    ("2025-10-06", "2025-10-06", "中秋节"),
    ("2025-10-07", "2025-10-08", "国庆节"),
];
const WORKDAYS_2025: [&str; 5] = [
    "2025-01-26",
    "2025-02-08",
    "2025-04-27",
    "2025-09-28",
    "2025-10-11",
];

const HOLIDAYS_2026: [(&str, &str, &str); 7] = [
    ("2026-01-01", "2026-01-03", "元旦"),
    ("2026-02-15", "2026-02-23", "春节"),
    ("2026-04-04", "2026-04-06", "清明节"),
    ("2026-05-01", "2026-05-05", "劳动节"),
    ("2026-06-19", "2026-06-21", "端午节"),
    ("2026-09-25", "2026-09-27", "中秋节"),
    ("2026-10-01", "2026-10-07", "国庆节"),
];
const WORKDAYS_2026: [&str; 6] = [
    "2026-01-04",
    "2026-02-14",
    "2026-02-28",
    "2026-05-09",
    "2026-09-20",
    "2026-10-10",
];

/// Checks every day of `y`: the listed holidays by name, the listed make-up days as working
/// days, and every other day by the weekend rule.
fn check_year(cal: &Calendar, y: i32, holidays: &[(&str, &str, &str)], workdays: &[&str]) {
    let mut expected_holidays = 0;
    for (from, to, name) in holidays {
        let (from, to) = (d(from), d(to));
        let mut day = from;
        while day <= to {
            let got = cal.day(day);
            assert_eq!(got.kind, DayKind::Holiday, "{day} should be {name}");
            assert_eq!(got.name, Some(*name), "{day}");
            assert!(!got.unofficial, "{day}");
            assert!(!cal.is_working_day(day));
            expected_holidays += 1;
            day += Duration::days(1);
        }
    }
    for w in workdays {
        let got = cal.day(d(w));
        assert!(is_weekend(d(w)), "{w} is a weekend in the notice");
        assert_eq!(got.kind, DayKind::Workday, "{w} is an adjusted working day");
        assert!(got.adjusted && got.name.is_none(), "{w}");
    }
    let mut seen_holidays = 0;
    let mut day = d(&format!("{y}-01-01"));
    while day.year() == y {
        let got = cal.day(day);
        let listed_workday = workdays.contains(&day.to_string().as_str());
        match got.kind {
            DayKind::Holiday => seen_holidays += 1,
            DayKind::Workday => assert!(!is_weekend(day) || listed_workday, "{day}"),
            DayKind::Restday => assert!(is_weekend(day), "{day}"),
        }
        day += Duration::days(1);
    }
    assert_eq!(
        seen_holidays, expected_holidays,
        "no holiday beyond the notice in {y}"
    );
}

#[test]
fn every_holiday_and_adjusted_working_day_of_2025_is_as_the_notice_says() {
    check_year(&shipped(), 2025, &HOLIDAYS_2025, &WORKDAYS_2025);
}

#[test]
fn every_holiday_and_adjusted_working_day_of_2026_is_as_the_notice_says() {
    check_year(&shipped(), 2026, &HOLIDAYS_2026, &WORKDAYS_2026);
}

#[test]
fn the_api_example_adds_five_working_days_across_the_national_day_holiday() {
    // 9/30 (1), 10/1–7 holiday, 10/8 (2), 10/9 (3), Sat 10/10 make-up (4), 10/12 (5).
    let cal = shipped();
    assert_eq!(
        cal.try_add_working_days(d("2026-09-29"), 5).unwrap(),
        d("2026-10-12")
    );
    assert_eq!(
        cal.try_working_days_between(d("2026-09-29"), d("2026-10-12"))
            .unwrap(),
        5
    );
    assert_eq!(
        cal.try_add_working_days(d("2026-10-12"), -5).unwrap(),
        d("2026-09-29")
    );
}

#[test]
fn deadlines_across_the_spring_festival_are_counted_by_hand() {
    let cal = shipped();
    // 2026: Fri 2/13 (1), Sat 2/14 make-up (2), 2/15–23 holiday, Tue 2/24 (3).
    assert_eq!(
        cal.try_add_working_days(d("2026-02-12"), 3).unwrap(),
        d("2026-02-24")
    );
    // After 2/13: 2/14, 2/24, 2/25, 2/26, 2/27.
    assert_eq!(
        cal.try_working_days_between(d("2026-02-13"), d("2026-02-27"))
            .unwrap(),
        5
    );
    // 2025: Sun 1/26 make-up (1), Mon 1/27 (2), 1/28–2/4 holiday, Wed 2/5 (3).
    assert_eq!(
        cal.try_add_working_days(d("2025-01-24"), 3).unwrap(),
        d("2025-02-05")
    );
    // 20 working days from the eve of the holiday (R-DECIDE-20D style): 2/5..2/7 (3), Sat 2/8 (4),
    // 2/10..2/14 (9), 2/17..2/21 (14), 2/24..2/28 (19), 3/3 (20).
    assert_eq!(
        cal.try_add_working_days(d("2025-01-27"), 20).unwrap(),
        d("2025-03-03")
    );
}

#[test]
fn deadlines_across_the_2025_national_day_and_mid_autumn_holiday_are_counted_by_hand() {
    let cal = shipped();
    // Sun 9/28 make-up (1), 9/29 (2), 9/30 (3), 10/1–8 holiday, 10/9 (4), 10/10 (5).
    assert_eq!(
        cal.try_add_working_days(d("2025-09-26"), 5).unwrap(),
        d("2025-10-10")
    );
    // After 9/30: 10/9, 10/10, Sat 10/11 make-up.
    assert_eq!(
        cal.try_working_days_between(d("2025-09-30"), d("2025-10-12"))
            .unwrap(),
        3
    );
    assert_eq!(
        cal.try_working_days_between(d("2025-10-12"), d("2025-09-30"))
            .unwrap(),
        -3
    );
    // Across the new year: 2026-01-01..03 holiday, Sun 1/4 make-up.
    assert_eq!(
        cal.try_add_working_days(d("2025-12-31"), 1).unwrap(),
        d("2026-01-04")
    );
}

#[test]
fn a_period_starts_the_day_after_the_event_even_on_a_working_day() {
    // R-FIRST-DAY: accepted on Monday, one working day ends on Tuesday.
    let cal = shipped();
    assert_eq!(
        cal.try_add_working_days(d("2026-03-02"), 1).unwrap(),
        d("2026-03-03")
    );
    assert_eq!(
        cal.try_add_working_days(d("2026-03-02"), 0).unwrap(),
        d("2026-03-02")
    );
    assert_eq!(
        cal.try_working_days_between(d("2026-03-02"), d("2026-03-02"))
            .unwrap(),
        0
    );
}

#[test]
fn the_2020_extension_made_the_first_of_february_a_holiday_not_a_working_day() {
    let cal = shipped();
    for day in ["2020-01-31", "2020-02-01", "2020-02-02"] {
        assert_eq!(cal.day(d(day)).kind, DayKind::Holiday, "{day}");
        assert_eq!(cal.day(d(day)).name, Some("春节"));
    }
    assert_eq!(cal.day(d("2020-01-19")).kind, DayKind::Workday);
    assert_eq!(
        cal.try_add_working_days(d("2020-01-23"), 1).unwrap(),
        d("2020-02-03")
    );
}

#[test]
fn a_later_notice_changes_the_december_before_it() {
    // R-CALENDAR: the 2023 notice made Saturday 2022-12-31 part of 元旦.
    let only_2022 = Calendar::new(vec![year(2022)]);
    let day = only_2022.day(d("2022-12-31"));
    assert_eq!(
        (day.kind, day.name, day.unofficial),
        (DayKind::Restday, None, false)
    );
    let both = Calendar::new(vec![year(2023), year(2022)]);
    let day = both.day(d("2022-12-31"));
    assert_eq!(
        (day.kind, day.name, day.unofficial),
        (DayKind::Holiday, Some("元旦"), false)
    );
}

#[test]
fn a_year_not_loaded_falls_back_to_weekends_and_is_flagged_unofficial() {
    let cal = Calendar::new(vec![year(2026)]);
    let day = cal.day(d("2027-01-01"));
    assert_eq!((day.kind, day.unofficial), (DayKind::Workday, true));
    assert!(!cal.day(d("2026-12-31")).unofficial);
    // Thu 12/31 (1), Fri 2027-01-01 (2), 1/4 (3), 1/5 (4), 1/6 (5) — weekends only.
    let lenient = cal.add_working_days_counted(d("2026-12-30"), 5);
    assert_eq!(
        (lenient.value, lenient.unofficial_year),
        (d("2027-01-06"), Some(2027))
    );
    let e = cal.try_add_working_days(d("2026-12-30"), 5).unwrap_err();
    assert_eq!(e.code, "calendar_year_not_loaded");
    assert_eq!(e.kind, crate::Kind::Unavailable);
    assert!(e.title.contains("2027"), "{}", e.title);
    let e = cal
        .try_working_days_between(d("2025-12-01"), d("2026-01-10"))
        .unwrap_err();
    assert!(e.title.contains("2025"), "{}", e.title);
    // Counting only inside the loaded year is fine, even from the last day of an unloaded one.
    assert_eq!(
        cal.try_working_days_between(d("2025-12-31"), d("2026-01-05"))
            .unwrap(),
        2
    );
    assert!(cal.try_day(d("2027-03-01")).is_err());
}

#[test]
fn dates_outside_the_span_still_count_weekdays() {
    let cal = shipped();
    assert_eq!(cal.add_working_days(d("1999-12-30"), 2), d("2000-01-03"));
    assert_eq!(cal.add_working_days(d("2099-12-30"), 2), d("2100-01-01"));
    assert_eq!(
        cal.working_days_between(d("2099-12-25"), d("2100-01-08")),
        10
    );
    assert!(cal.day(d("2100-01-01")).unofficial);
    assert_eq!(
        cal.add_working_days_counted(d("2099-12-30"), 2)
            .unofficial_year,
        Some(2099)
    );
}

#[test]
fn a_correction_lists_the_days_it_changed() {
    let before = Calendar::new(vec![year(2026)]);
    let mut corrected = year(2026);
    corrected.holidays[0].to = d("2026-01-02");
    let after = Calendar::new(vec![corrected]);
    let diff = before.differences(&after, 2026);
    assert_eq!(diff.len(), 1);
    assert_eq!(diff[0].0.date, d("2026-01-03"));
    assert_eq!(
        (diff[0].0.kind, diff[0].1.kind),
        (DayKind::Holiday, DayKind::Restday)
    );
    assert!(before.differences(&before, 2026).is_empty());
}
