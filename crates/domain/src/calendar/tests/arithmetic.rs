//! Properties of the O(1) arithmetic, checked against a day-by-day oracle.

use chrono::{Duration, NaiveDate};
use proptest::prelude::*;

use super::{d, shipped};
use crate::calendar::{Calendar, DayKind, LocalDay, LocalKind};
use crate::workdays::WorkingDays;

/// The slow, obviously right answer: walk day by day.
fn oracle_add(cal: &Calendar, from: NaiveDate, n: i64) -> NaiveDate {
    let step = if n >= 0 { 1 } else { -1 };
    let mut left = n.abs();
    let mut day = from;
    while left > 0 {
        day += Duration::days(step);
        if cal.day(day).kind == DayKind::Workday {
            left -= 1;
        }
    }
    day
}

fn oracle_between(cal: &Calendar, a: NaiveDate, b: NaiveDate) -> i64 {
    let (lo, hi, sign) = if a <= b { (a, b, 1) } else { (b, a, -1) };
    let mut n = 0;
    let mut day = lo;
    while day < hi {
        day += Duration::days(1);
        if cal.day(day).kind == DayKind::Workday {
            n += 1;
        }
    }
    sign * n
}

/// Shipped years plus local days, so overrides are exercised too.
fn calendar() -> Calendar {
    let local = [
        LocalDay {
            region: "650000".into(),
            date: d("2026-03-20"),
            kind: LocalKind::Holiday,
            name: Some("古尔邦节".into()),
        },
        LocalDay {
            region: "650000".into(),
            date: d("2026-03-21"),
            kind: LocalKind::Workday,
            name: None,
        },
    ];
    shipped().with_local_days(&local)
}

/// Dates from just before the dense span to just after it, weighted to the loaded years.
fn date() -> impl Strategy<Value = NaiveDate> {
    prop_oneof![
        4 => (0i64..3000).prop_map(|i| d("2019-06-01") + Duration::days(i)),
        1 => (0i64..800).prop_map(|i| d("1999-06-01") + Duration::days(i)),
        1 => (0i64..800).prop_map(|i| d("2099-06-01") + Duration::days(i)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn counting_the_days_added_gives_back_n(from in date(), n in 1i64..400) {
        let cal = calendar();
        let to = cal.add_working_days(from, n);
        prop_assert_eq!(cal.working_days_between(from, to), n);
        prop_assert_eq!(cal.working_days_between(to, from), -n);
    }

    #[test]
    fn the_day_added_to_is_a_working_day_and_matches_walking(from in date(), n in 1i64..120) {
        let cal = calendar();
        let to = cal.add_working_days(from, n);
        prop_assert!(cal.is_working_day(to));
        prop_assert_eq!(to, oracle_add(&cal, from, n));
        let back = cal.add_working_days(from, -n);
        prop_assert!(cal.is_working_day(back));
        prop_assert_eq!(back, oracle_add(&cal, from, -n));
    }

    #[test]
    fn between_matches_walking(a in date(), len in -200i64..200) {
        let cal = calendar();
        let b = a + Duration::days(len);
        prop_assert_eq!(cal.working_days_between(a, b), oracle_between(&cal, a, b));
    }

    #[test]
    fn adding_is_monotonic(from in date(), n in 1i64..300, gap in 0i64..40) {
        let cal = calendar();
        prop_assert!(cal.add_working_days(from, n) < cal.add_working_days(from, n + 1));
        prop_assert!(cal.add_working_days(from, n) <= cal.add_working_days(from + Duration::days(gap), n));
    }
}

#[test]
fn a_region_adds_its_own_days_and_children_inherit_them() {
    let province = LocalDay {
        region: "650000".into(),
        date: d("2026-03-20"),
        kind: LocalKind::Holiday,
        name: Some("古尔邦节".into()),
    };
    let county = LocalDay {
        region: "650102".into(),
        date: d("2026-03-20"),
        kind: LocalKind::Workday,
        name: None,
    };
    let national = shipped();
    let prov = national.with_local_days([&province]);
    let day = prov.day(d("2026-03-20"));
    assert_eq!(
        (day.kind, day.name, day.local),
        (DayKind::Holiday, Some("古尔邦节"), true)
    );
    // Fri 3/20 is off in the province: Thu 3/19 + 1 working day ends on Mon 3/23.
    assert_eq!(
        prov.try_add_working_days(d("2026-03-19"), 1).unwrap(),
        d("2026-03-23")
    );
    // The county inherits the province's day unless its own rule says otherwise.
    let city = national.with_local_days([&province]);
    assert_eq!(city.day(d("2026-03-20")).kind, DayKind::Holiday);
    let county_cal = national.with_local_days([&province, &county]);
    assert_eq!(county_cal.day(d("2026-03-20")).kind, DayKind::Workday);
    assert_eq!(national.day(d("2026-03-20")).kind, DayKind::Workday);
    assert!(!national.day(d("2026-03-20")).local);
}
