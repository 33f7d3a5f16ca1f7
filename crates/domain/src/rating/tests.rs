use chrono::NaiveDate;

use super::*;
use crate::case::testkit::TestCalendar;

fn sub(level: i64) -> Submission {
    Submission {
        level: Some(level),
        ..Default::default()
    }
}

#[test]
fn levels_outside_one_to_five_are_refused_with_a_field_message() {
    let s = RatingSettings::default();
    for bad in [0, 6, -1] {
        let e = check_content(&sub(bad), SubjectKind::Visit, &s).unwrap_err();
        assert_eq!(e.fields[0].field, "level");
    }
    let e = check_content(&Submission::default(), SubjectKind::Visit, &s).unwrap_err();
    assert_eq!(e.fields[0].message, "请选择评价等级");
}

#[test]
fn levels_two_and_one_are_bad_by_default_r_eval_levels() {
    let s = RatingSettings::default();
    let bad: Vec<i64> = (1..=5)
        .filter(|l| check_content(&sub(*l), SubjectKind::Case, &s).unwrap().bad)
        .collect();
    assert_eq!(bad, vec![1, 2]);
    let only_one = RatingSettings {
        bad_levels: vec![Level::VeryDissatisfied],
        ..s
    };
    assert!(
        !check_content(&sub(2), SubjectKind::Case, &only_one)
            .unwrap()
            .bad
    );
}

#[test]
fn a_comment_over_the_limit_and_an_unknown_indicator_are_named() {
    let s = RatingSettings::default();
    let mut x = sub(4);
    x.comment = Some("很".repeat(501));
    x.indicators.insert("attitude".into(), 5);
    x.indicators.insert("guide_accuracy".into(), 5);
    let e = check_content(&x, SubjectKind::Visit, &s).unwrap_err();
    let fields: Vec<&str> = e.fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, vec!["indicators.guide_accuracy", "comment"]);
    // The same indicator belongs to the online set.
    x.comment = None;
    x.indicators.remove("attitude");
    assert!(check_content(&x, SubjectKind::Case, &s).is_ok());
}

fn token(used: bool, ready: bool) -> TokenState {
    TokenState {
        subject: SubjectKind::Case,
        subject_id: "YL-1".into(),
        stage: Stage::Conclusion,
        ready,
        expires_at: NaiveDate::from_ymd_opt(2026, 3, 31)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap(),
        used,
    }
}

#[test]
fn a_token_rates_once_before_it_expires_and_only_after_the_subject_ended_r_eval_once() {
    let now = NaiveDate::from_ymd_opt(2026, 3, 2)
        .unwrap()
        .and_hms_opt(9, 0, 0)
        .unwrap();
    assert!(check_token(&token(false, true), now).is_ok());
    assert_eq!(
        check_token(&token(true, true), now).unwrap_err().code,
        "rating_token_used"
    );
    assert_eq!(
        check_token(&token(false, false), now).unwrap_err().code,
        "rating_not_ready"
    );
    let later = NaiveDate::from_ymd_opt(2026, 4, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    assert_eq!(
        check_token(&token(false, true), later).unwrap_err().code,
        "rating_token_expired"
    );
}

#[test]
fn invitation_default_and_expiry_follow_the_settings_r_eval_default() {
    let s = RatingSettings::default();
    let ended = NaiveDate::from_ymd_opt(2026, 3, 2)
        .unwrap()
        .and_hms_opt(16, 0, 0)
        .unwrap();
    let (invite, default, expiry) = schedule(ended, &s);
    assert_eq!(invite, ended + chrono::Duration::days(3));
    assert_eq!(default, ended + chrono::Duration::days(7));
    assert_eq!(expiry, ended + chrono::Duration::days(30));
}

#[test]
fn a_rectification_deadline_skips_the_holiday_r_bad_rating() {
    let cal = TestCalendar::china_2025_2026();
    // Opened Thursday 2 April 2026; 4–6 April is 清明: 5 working days end Friday 10 April.
    let from = NaiveDate::from_ymd_opt(2026, 4, 2).unwrap();
    assert_eq!(
        working_deadline(&cal, from, 5),
        NaiveDate::from_ymd_opt(2026, 4, 10).unwrap()
    );
}

#[test]
fn the_regional_rectification_period_takes_the_longest_matching_code() {
    let s = RatingSettings {
        rectification_days_by_region: vec![("53".into(), 7), ("5306".into(), 15)],
        ..RatingSettings::default()
    };
    assert_eq!(s.rectification_days_for(Some("530602")), 15);
    assert_eq!(s.rectification_days_for(Some("530100")), 7);
    assert_eq!(s.rectification_days_for(Some("110105")), 5);
    assert_eq!(s.rectification_days_for(None), 5);
}

#[test]
fn settings_that_contradict_themselves_are_refused() {
    let s = RatingSettings {
        invite_after_days: 7,
        default_after_days: 3,
        bad_levels: vec![Level::Basic],
        ..RatingSettings::default()
    };
    let e = s.validate().unwrap_err();
    let fields: Vec<&str> = e.fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, vec!["bad_levels", "default_after_days"]);
    assert!(RatingSettings::default().validate().is_ok());
}

#[test]
fn lights_turn_yellow_on_the_last_working_day_and_red_after() {
    let cal = TestCalendar::china_2025_2026();
    let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
    assert_eq!(Light::of(&cal, d(4, 7), d(4, 10)), Light::Green);
    assert_eq!(Light::of(&cal, d(4, 9), d(4, 10)), Light::Yellow);
    assert_eq!(Light::of(&cal, d(4, 11), d(4, 10)), Light::Red);
}
