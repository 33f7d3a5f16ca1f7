//! Office minutes (R-HOURS): across lunch, the evening, weekends and holidays.

use chrono::NaiveDateTime;
use proptest::prelude::*;
use serde_json::json;

use super::shipped;
use crate::calendar::{Interval, OfficeHours, OfficeTime};
use crate::workdays::OfficeClock;

fn t(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
}

fn standard() -> OfficeTime {
    OfficeTime::new(&shipped(), &OfficeHours::default())
}

fn with_weekend_and_evening() -> OfficeTime {
    let hours = OfficeHours::from_value(&json!({
        "workday": ["09:00-12:00", "13:30-17:30"],
        "extended": ["17:30-19:00"],
        "restday": ["09:00-12:00"],
    }))
    .unwrap();
    OfficeTime::new(&shipped(), &hours)
}

#[test]
fn minutes_run_across_the_lunch_break() {
    let o = standard();
    // Mon 2026-03-02: 10 minutes before noon, 10 after 13:30.
    assert_eq!(
        o.add_office_minutes(t("2026-03-02 11:50"), 20),
        t("2026-03-02 13:40")
    );
    // Exactly used up at noon: the answer is noon, not the reopening.
    assert_eq!(
        o.add_office_minutes(t("2026-03-02 11:50"), 10),
        t("2026-03-02 12:00")
    );
    // Starting during lunch counts from 13:30.
    assert_eq!(
        o.add_office_minutes(t("2026-03-02 12:30"), 10),
        t("2026-03-02 13:40")
    );
}

#[test]
fn minutes_run_across_the_evening_and_the_weekend() {
    let o = standard();
    assert_eq!(
        o.add_office_minutes(t("2026-03-02 17:20"), 30),
        t("2026-03-03 09:20")
    );
    // Fri 17:00 + 60: 30 minutes on Friday, 30 on Monday.
    assert_eq!(
        o.add_office_minutes(t("2026-03-06 17:00"), 60),
        t("2026-03-09 09:30")
    );
    // A start on Saturday counts from Monday's opening.
    assert_eq!(
        o.add_office_minutes(t("2026-03-07 10:00"), 10),
        t("2026-03-09 09:10")
    );
    // A whole working day is 420 minutes.
    assert_eq!(
        o.add_office_minutes(t("2026-03-02 09:00"), 420),
        t("2026-03-02 17:30")
    );
    assert_eq!(
        o.add_office_minutes(t("2026-03-02 09:00"), 421),
        t("2026-03-03 09:01")
    );
}

#[test]
fn holidays_are_closed_and_make_up_days_are_open() {
    let o = standard();
    // Wed 9/30 17:00 + 60: 30 minutes, then 10/1–7 closed, Thu 10/8 09:30.
    assert_eq!(
        o.add_office_minutes(t("2026-09-30 17:00"), 60),
        t("2026-10-08 09:30")
    );
    // Fri 10/9 17:00 + 60: Sat 10/10 is a make-up working day.
    assert_eq!(
        o.add_office_minutes(t("2026-10-09 17:00"), 60),
        t("2026-10-10 09:30")
    );
}

#[test]
fn weekend_hours_and_extended_service_count_when_set() {
    let o = with_weekend_and_evening();
    assert_eq!(
        o.add_office_minutes(t("2026-03-02 17:20"), 30),
        t("2026-03-02 17:50")
    );
    // Fri 18:30 + 60: 30 minutes of 延时服务, then Saturday morning.
    assert_eq!(
        o.add_office_minutes(t("2026-03-06 18:30"), 60),
        t("2026-03-07 09:30")
    );
    // Saturday 11:30 + 60: 30 minutes, Sunday 30 minutes (rest-day hours).
    assert_eq!(
        o.add_office_minutes(t("2026-03-07 11:30"), 60),
        t("2026-03-08 09:30")
    );
    // Holidays stay closed: Sat 10/3 is a holiday, not a rest day.
    assert_eq!(
        o.add_office_minutes(t("2026-09-30 18:30"), 60),
        t("2026-10-08 09:30")
    );
    assert!(o.is_open(t("2026-03-07 10:00")));
    assert!(!o.is_open(t("2026-10-03 10:00")));
}

#[test]
fn negative_minutes_count_back_to_the_latest_instant() {
    let o = standard();
    assert_eq!(
        o.add_office_minutes(t("2026-03-03 09:10"), -20),
        t("2026-03-02 17:20")
    );
    assert_eq!(
        o.add_office_minutes(t("2026-03-02 13:40"), -10),
        t("2026-03-02 13:30")
    );
    assert_eq!(
        o.add_office_minutes(t("2026-03-02 13:40"), 0),
        t("2026-03-02 13:40")
    );
}

#[test]
fn bad_office_hours_are_refused_field_by_field() {
    let e = OfficeHours::from_value(&json!({
        "workday": ["09:00-08:00", "13:30-17:30", "17:00-18:00"],
        "extended": ["17:30-19:00"],
        "sunday": ["09:00-10:00"],
    }))
    .unwrap_err();
    let f: Vec<_> = e.fields.iter().map(|f| f.field.as_str()).collect();
    assert!(
        f.contains(&"workday[0]")
            && f.contains(&"workday")
            && f.contains(&"extended")
            && f.contains(&"sunday"),
        "{f:?}"
    );
    assert_eq!(Interval::parse("9:00–12:00"), Some(Interval::new(540, 720)));
    assert_eq!(Interval::parse("09:00-24:00").map(|i| i.end), Some(1440));
    assert_eq!(Interval::parse("09:60-10:00"), None);
    let round = OfficeHours::from_value(&OfficeHours::default().to_value()).unwrap();
    assert_eq!(round, OfficeHours::default());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn counting_office_minutes_added_gives_them_back(day in 0i64..2500, minute in 0i64..1440, n in 1i64..5000) {
        let o = with_weekend_and_evening();
        let from = t("2020-01-01 00:00") + chrono::Duration::days(day) + chrono::Duration::minutes(minute);
        let to = o.try_add_office_minutes(from, n).unwrap();
        prop_assert!(to > from);
        prop_assert_eq!(o.office_minutes_between(from, to).unwrap(), n);
        prop_assert!(o.try_add_office_minutes(from, n + 1).unwrap() > to);
    }
}
