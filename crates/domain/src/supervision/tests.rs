use std::collections::BTreeMap;

use super::anomaly::detect;
use super::numbers::{Figures, Metric, Period, Tally};
use super::ranking::{Inputs, Weights, rank};
use super::*;
use crate::case::events::{CaseEvent, Change, Outcome};
use crate::case::testkit::{TestCalendar, applicant, d, t};

fn ev(at: chrono::NaiveDateTime, change: Change) -> CaseEvent {
    CaseEvent {
        at,
        by: "clerk:wangfang".into(),
        on_behalf_of: None,
        change,
    }
}

fn received(warnings: Vec<String>) -> Change {
    Change::Received {
        number: "YC2604070001".into(),
        item: "I1".into(),
        department: "D1".into(),
        applicant: applicant(),
        materials: vec!["身份证".into()],
        answers: BTreeMap::new(),
        statutory_limit_days: 20,
        committed_limit_days: 5,
        deemed_approval: false,
        process_code: "p".into(),
        process_version: 1,
        parent: None,
        warnings,
    }
}

/// A case handled as it should be: received, accepted, claimed, reviewed over an hour, decided
/// with reasons, issued.
fn clean() -> Vec<CaseEvent> {
    vec![
        ev(t(2026, 4, 7, 9, 0), received(vec![])),
        ev(
            t(2026, 4, 7, 9, 5),
            Change::Accepted {
                on: d(2026, 4, 7),
                deemed: false,
            },
        ),
        ev(
            t(2026, 4, 8, 10, 0),
            Change::StepClaimed {
                node: "review".into(),
            },
        ),
        ev(
            t(2026, 4, 8, 11, 30),
            Change::StepApproved {
                node: "review".into(),
                opinion: "材料齐全，同意".into(),
            },
        ),
        ev(
            t(2026, 4, 9, 9, 0),
            Change::StepClaimed {
                node: "decide".into(),
            },
        ),
        ev(
            t(2026, 4, 9, 10, 0),
            Change::Decided {
                node: "decide".into(),
                outcome: Outcome::Approved,
                document_number: "许字〔2026〕1号".into(),
                reasons: vec![],
                on: d(2026, 4, 9),
            },
        ),
    ]
}

fn kinds(events: &[CaseEvent]) -> Vec<RecordKind> {
    detect(events, &SupervisionSettings::default(), &|n| n.to_string())
        .into_iter()
        .map(|a| a.kind)
        .collect()
}

#[test]
fn a_clean_history_shows_no_anomaly() {
    assert_eq!(kinds(&clean()), vec![]);
}

#[test]
fn refusing_an_application_found_complete_is_an_anomaly_but_not_after_a_one_time_notice() {
    let refused = vec![
        ev(t(2026, 4, 7, 9, 0), received(vec![])),
        ev(
            t(2026, 4, 7, 9, 30),
            Change::Refused {
                reasons: vec!["不符合条件".into()],
            },
        ),
    ];
    assert_eq!(kinds(&refused), vec![RecordKind::RefusedComplete]);
    let found = detect(&refused, &SupervisionSettings::default(), &|n| {
        n.to_string()
    });
    assert_eq!(found[0].evidence, vec![0, 1]);

    let mut noticed = refused.clone();
    noticed.insert(
        1,
        ev(
            t(2026, 4, 7, 9, 10),
            Change::OneTimeNoticeGiven {
                items: vec!["营业执照".into()],
                note: String::new(),
            },
        ),
    );
    assert_eq!(kinds(&noticed), vec![]);
    let warned = vec![
        ev(t(2026, 4, 7, 9, 0), received(vec!["缺少营业执照".into()])),
        ev(
            t(2026, 4, 7, 9, 30),
            Change::Refused {
                reasons: vec!["缺材料".into()],
            },
        ),
    ];
    assert_eq!(kinds(&warned), vec![]);
}

#[test]
fn a_refusal_or_denial_without_reasons_is_an_anomaly() {
    let mut events = clean();
    events[5].change = Change::Decided {
        node: "decide".into(),
        outcome: Outcome::Denied,
        document_number: "不许字〔2026〕1号".into(),
        reasons: vec!["  ".into()],
        on: d(2026, 4, 9),
    };
    assert_eq!(kinds(&events), vec![RecordKind::RefusalWithoutReasons]);
}

#[test]
fn a_step_decided_seconds_after_it_was_claimed_is_an_anomaly() {
    let mut events = clean();
    events[3].at = t(2026, 4, 8, 10, 0) + chrono::Duration::seconds(20);
    let named = |n: &str| {
        if n == "review" {
            "审核".to_string()
        } else {
            n.to_string()
        }
    };
    let found = detect(&events, &SupervisionSettings::default(), &named);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].kind, RecordKind::HastyStep);
    assert_eq!(found[0].evidence, vec![2, 3]);
    assert_eq!(found[0].note, "环节“审核”认领后 20 秒即办结");
}

#[test]
fn a_back_dated_step_is_an_anomaly() {
    let mut events = clean();
    // The decision recorded as made the day before the review began.
    events[5].at = t(2026, 4, 7, 16, 0);
    assert!(kinds(&events).contains(&RecordKind::BackDated));
    let mut dated = clean();
    if let Change::Decided { on, .. } = &mut dated[5].change {
        *on = d(2026, 4, 7);
    }
    assert_eq!(kinds(&dated), vec![RecordKind::BackDated]);
}

#[test]
fn a_case_returned_twice_is_an_anomaly_once() {
    let mut events = clean();
    for h in [14, 15] {
        events.push(ev(
            t(2026, 4, 8, h, 0),
            Change::StepReturned {
                node: "decide".into(),
                to: "review".into(),
                reason: "重审".into(),
            },
        ));
    }
    // The returns come after the decision here only to keep the other events as they were.
    let found: Vec<_> = kinds(&events)
        .into_iter()
        .filter(|k| *k == RecordKind::RepeatedReturns)
        .collect();
    assert_eq!(found, vec![RecordKind::RepeatedReturns]);
}

#[test]
fn lights_by_share_turn_yellow_at_the_setting_and_red_after_the_due_date() {
    let cal = TestCalendar::china_2025_2026();
    // Mon 6 Apr 2026 is 清明; start Tue 7 Apr, due Tue 14 Apr: 5 working days.
    let (start, due) = (d(2026, 4, 7), d(2026, 4, 14));
    assert_eq!(
        Light::by_share(&cal, start, due, d(2026, 4, 8), 80),
        Light::Green
    );
    assert_eq!(
        Light::by_share(&cal, start, due, d(2026, 4, 13), 80),
        Light::Yellow
    );
    assert_eq!(
        Light::by_share(&cal, start, due, d(2026, 4, 14), 100),
        Light::Yellow
    );
    assert_eq!(
        Light::by_share(&cal, start, due, d(2026, 4, 15), 80),
        Light::Red
    );
}

fn late(id: &str) -> Late {
    Late {
        subject: SubjectKind::Step,
        subject_id: id.into(),
        due: d(2026, 4, 10),
    }
}

#[test]
fn the_sweep_notifies_once_escalates_after_the_deadline_and_resolves_what_got_done() {
    let cal = TestCalendar::china_2025_2026();
    let s = SupervisionSettings::default();
    // Mon 13 Apr: one step late, nothing open yet → a notice due in 3 working days (Thu 16).
    let a = plan(&cal, d(2026, 4, 13), &[late("C1/review")], &[], &s);
    assert_eq!(
        a,
        vec![Action::Notify {
            late: late("C1/review"),
            deadline: d(2026, 4, 16)
        }]
    );
    let open = OpenNotice {
        id: 7,
        subject: SubjectKind::Step,
        subject_id: "C1/review".into(),
        deadline: d(2026, 4, 16),
        escalated: false,
    };
    // Still late, deadline not passed: nothing.
    assert_eq!(
        plan(
            &cal,
            d(2026, 4, 16),
            &[late("C1/review")],
            std::slice::from_ref(&open),
            &s
        ),
        vec![]
    );
    // Still late after it: escalate.
    assert_eq!(
        plan(
            &cal,
            d(2026, 4, 17),
            &[late("C1/review")],
            std::slice::from_ref(&open),
            &s
        ),
        vec![Action::Escalate { id: 7 }]
    );
    // Escalated and still late: no second notice, no second escalation.
    let escalated = OpenNotice {
        escalated: true,
        ..open.clone()
    };
    assert_eq!(
        plan(&cal, d(2026, 4, 20), &[late("C1/review")], &[escalated], &s),
        vec![]
    );
    // Done before the deadline: resolved.
    assert_eq!(
        plan(&cal, d(2026, 4, 15), &[], &[open], &s),
        vec![Action::Resolve { id: 7 }]
    );
}

#[test]
fn settings_out_of_range_are_each_named() {
    let s = SupervisionSettings {
        notice_days: 0,
        returns_limit: 0,
        heads: vec![Head {
            unit: "D1".into(),
            username: " ".into(),
        }],
        ..Default::default()
    };
    let e = s.validate().unwrap_err();
    let fields: Vec<&str> = e.fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, vec!["notice_days", "returns_limit", "heads[0]"]);
    assert!(SupervisionSettings::default().validate().is_ok());
}

fn tally(pairs: &[(Metric, i64)]) -> Tally {
    let mut t = Tally::default();
    for (m, v) in pairs {
        t.bump(*m, *v);
    }
    t
}

#[test]
fn figures_divide_counts_and_read_p90_from_the_wait_histogram() {
    let f = Figures::of(tally(&[
        (Metric::Accepted, 10),
        (Metric::Decided, 8),
        (Metric::DecidedOnTime, 6),
        (Metric::DecidedEarly, 4),
        (Metric::DaysSaved, 100),
        (Metric::WaitCount, 10),
        (Metric::WaitSeconds, 10 * 12 * 60),
        (Metric::WaitLe10, 5),
        (Metric::WaitLe20, 3),
        (Metric::WaitLe45, 2),
        (Metric::Ratings, 4),
        (Metric::Satisfied, 3),
        (Metric::Bad, 1),
    ]));
    assert_eq!(f.done_rate.percent(), "80.0%");
    assert_eq!(f.on_time_rate.percent(), "75.0%");
    assert_eq!(f.early_rate.percent(), "50.0%");
    assert_eq!(f.days_saved_mean, Some(12.5));
    assert_eq!(f.wait_mean, Some(12.0));
    // 9 of 10 waits needed: 5 + 3 = 8 within 20, 10 within 45.
    assert_eq!(f.wait_p90, Some(45.0));
    assert_eq!(f.satisfaction.percent(), "75.0%");
    assert_eq!(f.bad_rate.percent(), "25.0%");
    // Nothing counted reads as a dash, not 0 %.
    assert_eq!(f.notice_rate.percent(), "—");
}

#[test]
fn the_ranking_follows_its_formula_flags_the_top_and_calls_in_the_bottom_twice_running() {
    let w = Weights::default();
    let i = |timeliness, ratings, complaints, service| Inputs {
        timeliness,
        ratings,
        complaints,
        service,
    };
    // (30×90 + 40×100 + 20×100 + 10×100) / 100 = 97
    assert_eq!(i(90.0, 100.0, 100.0, 100.0).score(&w), 97.0);
    let entries = vec![
        ("A", i(100.0, 100.0, 100.0, 100.0)),
        ("B", i(50.0, 50.0, 50.0, 50.0)),
        ("C", i(90.0, 100.0, 100.0, 100.0)),
    ];
    let r = rank(entries.clone(), &w, 1, Some(&"B"));
    let order: Vec<(&str, usize, bool, bool)> =
        r.iter().map(|x| (x.key, x.place, x.flag, x.talk)).collect();
    assert_eq!(
        order,
        vec![
            ("A", 1, true, false),
            ("C", 2, false, false),
            ("B", 3, false, true)
        ]
    );
    // Bottom once only: not called in.
    assert!(!rank(entries, &w, 1, Some(&"C")).iter().any(|x| x.talk));
}

#[test]
fn periods_cover_their_week_month_and_quarter() {
    assert_eq!(
        Period::Week.around(d(2026, 4, 9)),
        (d(2026, 4, 6), d(2026, 4, 12))
    );
    assert_eq!(
        Period::Month.around(d(2026, 2, 9)),
        (d(2026, 2, 1), d(2026, 2, 28))
    );
    assert_eq!(
        Period::Quarter.around(d(2026, 11, 9)),
        (d(2026, 10, 1), d(2026, 12, 31))
    );
}
