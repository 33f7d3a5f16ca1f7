//! Closed-form counting of Monday–Friday: the weekends-only fallback outside the dense span,
//! without walking day by day.

use chrono::{Datelike, NaiveDate};

/// Days since 0001-01-01, which was a Monday, so `x mod 7` is the weekday (0 = Monday).
fn serial(d: NaiveDate) -> i64 {
    i64::from(d.num_days_from_ce()) - 1
}

fn from_serial(x: i64) -> NaiveDate {
    i32::try_from(x + 1)
        .ok()
        .and_then(NaiveDate::from_num_days_from_ce_opt)
        .unwrap_or(if x < 0 {
            NaiveDate::MIN
        } else {
            NaiveDate::MAX
        })
}

/// The number of weekdays from 0001-01-01 up to and including `d` (zero or negative before it).
pub(super) fn rank(d: NaiveDate) -> i64 {
    let x = serial(d);
    5 * x.div_euclid(7) + x.rem_euclid(7).min(4) + 1
}

/// The weekday whose [`rank`] is `r`.
pub(super) fn nth(r: i64) -> NaiveDate {
    let r = r - 1;
    from_serial(7 * r.div_euclid(5) + r.rem_euclid(5))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_counts_weekdays_and_nth_inverts_it() {
        let mut expected = rank(NaiveDate::from_ymd_opt(1999, 12, 1).unwrap());
        let mut d = NaiveDate::from_ymd_opt(1999, 12, 2).unwrap();
        for _ in 0..60 {
            if !crate::calendar::is_weekend(d) {
                expected += 1;
                assert_eq!(nth(expected), d);
            }
            assert_eq!(rank(d), expected, "{d}");
            d = d.succ_opt().unwrap();
        }
    }
}
