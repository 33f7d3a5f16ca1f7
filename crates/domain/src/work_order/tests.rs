use chrono::NaiveDate;

use super::dedupe::{Candidate, Probe, bigrams, duplicate_score, similarity};
use super::ledger::{Entry, LedgerAction, LedgerStatus};
use super::*;
use crate::case::clock::Warning;
use crate::case::testkit::{TestCalendar, d};

fn s() -> WorkOrderSettings {
    WorkOrderSettings::default()
}

fn units(u: &str) -> bool {
    matches!(u, "SCJ" | "ZJJ" | "GAJ")
}

fn act(o: &WorkOrder, a: Action, on: NaiveDate) -> Result<WorkOrder> {
    o.apply(&a, on, &s(), &TestCalendar::china_2025_2026(), &units)
}

fn dispatched(on: NaiveDate, tier: &str) -> WorkOrder {
    act(
        &WorkOrder::receive(on),
        Action::Classify {
            category: "02".into(),
            tier: tier.into(),
            lead_unit: Some("SCJ".into()),
            assisting_units: vec!["ZJJ".into()],
        },
        on,
    )
    .unwrap()
}

fn due(o: &WorkOrder, today: NaiveDate) -> NaiveDate {
    o.reading(&TestCalendar::china_2025_2026(), today, 80)
        .unwrap()
        .due_date
}

#[test]
fn a_general_order_received_before_the_national_day_is_due_on_the_fifth_working_day_after_it() {
    // 09-30, 10-08, 10-09, 10-10 (adjusted working Saturday), 10-12.
    let o = dispatched(d(2026, 9, 29), "general");
    assert_eq!(due(&o, d(2026, 9, 29)), d(2026, 10, 12));
    let complex = dispatched(d(2026, 9, 29), "complex");
    assert_eq!(due(&complex, d(2026, 9, 29)), d(2026, 10, 19));
}

#[test]
fn an_emergency_is_due_the_same_day_and_is_yellow_at_once() {
    let o = dispatched(d(2026, 3, 2), "emergency");
    let r = o
        .reading(&TestCalendar::china_2025_2026(), d(2026, 3, 2), 80)
        .unwrap();
    assert_eq!(r.due_date, d(2026, 3, 2));
    assert_eq!(r.warning, Warning::Yellow);
    let r = o
        .reading(&TestCalendar::china_2025_2026(), d(2026, 3, 3), 80)
        .unwrap();
    assert_eq!(r.warning, Warning::Red);
}

#[test]
fn waiting_for_the_requester_stops_the_clock_and_the_pause_is_kept() {
    // Mon 03-02, general: due Mon 03-09. Waiting Wed 03-04 → Fri 03-06: 03-05 and 03-06 do not count.
    let o = dispatched(d(2026, 3, 2), "general");
    let w = act(
        &o,
        Action::AskRequester {
            note: "请提供具体地址".into(),
        },
        d(2026, 3, 4),
    )
    .unwrap();
    assert_eq!(w.status, Status::AwaitingRequester);
    assert!(
        w.reading(&TestCalendar::china_2025_2026(), d(2026, 3, 5), 80)
            .unwrap()
            .paused
    );
    let back = act(
        &w,
        Action::RequesterReplied {
            text: "在人民路 12 号".into(),
        },
        d(2026, 3, 6),
    )
    .unwrap();
    assert_eq!(back.pauses.len(), 1);
    assert_eq!(back.pauses[0].until, Some(d(2026, 3, 6)));
    assert_eq!(due(&back, d(2026, 3, 6)), d(2026, 3, 11));
}

#[test]
fn an_objection_is_not_a_pause_unless_the_settings_say_so() {
    let o = dispatched(d(2026, 3, 2), "general");
    let ob = act(
        &o,
        Action::Object {
            unit: "SCJ".into(),
            reason: "不属于本单位职责".into(),
        },
        d(2026, 3, 3),
    )
    .unwrap();
    assert!(ob.pauses.is_empty());
    let mut st = s();
    st.pause_states.push(Status::Objected);
    let ob = o
        .apply(
            &Action::Object {
                unit: "SCJ".into(),
                reason: "不属于本单位职责".into(),
            },
            d(2026, 3, 3),
            &st,
            &TestCalendar::china_2025_2026(),
            &units,
        )
        .unwrap();
    assert_eq!(ob.pauses.len(), 1);
}

#[test]
fn a_return_goes_only_through_the_dispatchers_review_and_a_reassignment_names_another_unit() {
    let o = dispatched(d(2026, 3, 2), "general");
    // Only the lead unit objects, and with reasons.
    assert!(
        act(
            &o,
            Action::Object {
                unit: "ZJJ".into(),
                reason: "不是我们的".into()
            },
            d(2026, 3, 3)
        )
        .is_err()
    );
    let e = act(
        &o,
        Action::Object {
            unit: "SCJ".into(),
            reason: " ".into(),
        },
        d(2026, 3, 3),
    )
    .unwrap_err();
    assert_eq!(e.fields[0].field, "reason");
    let ob = act(
        &o,
        Action::Object {
            unit: "SCJ".into(),
            reason: "属于住建局职责".into(),
        },
        d(2026, 3, 3),
    )
    .unwrap();
    // While objected nothing else moves it: no answer, no fresh classification.
    assert!(
        act(
            &ob,
            Action::Answer {
                text: "x".into(),
                negative: false,
                reasons: String::new()
            },
            d(2026, 3, 3)
        )
        .is_err()
    );
    assert!(
        act(
            &ob,
            Action::Classify {
                category: "02".into(),
                tier: "general".into(),
                lead_unit: Some("GAJ".into()),
                assisting_units: vec![]
            },
            d(2026, 3, 3)
        )
        .is_err()
    );
    let same = act(
        &ob,
        Action::ReviewObjection {
            reassign_to: Some("SCJ".into()),
            note: "改派".into(),
        },
        d(2026, 3, 3),
    )
    .unwrap_err();
    assert_eq!(same.fields[0].field, "reassign_to");
    let re = act(
        &ob,
        Action::ReviewObjection {
            reassign_to: Some("ZJJ".into()),
            note: "异议成立，改派住建局".into(),
        },
        d(2026, 3, 3),
    )
    .unwrap();
    assert_eq!(re.lead_unit.as_deref(), Some("ZJJ"));
    assert!(
        re.assisting_units.is_empty(),
        "the new lead is no longer assisting"
    );
    assert_eq!(re.status, Status::Dispatched);
}

#[test]
fn an_extension_is_asked_before_the_deadline_and_counts_once_approved() {
    let o = dispatched(d(2026, 3, 2), "general"); // due 03-09
    let late = act(
        &o,
        Action::AskExtension {
            days: 3,
            reason: "需现场核查".into(),
        },
        d(2026, 3, 10),
    )
    .unwrap_err();
    assert_eq!(late.code, "extension_too_late");
    let asked = act(
        &o,
        Action::AskExtension {
            days: 3,
            reason: "需现场核查".into(),
        },
        d(2026, 3, 9),
    )
    .unwrap();
    assert_eq!(
        due(&asked, d(2026, 3, 9)),
        d(2026, 3, 9),
        "not before approval"
    );
    assert!(
        act(
            &asked,
            Action::AskExtension {
                days: 2,
                reason: "再延".into()
            },
            d(2026, 3, 9)
        )
        .is_err()
    );
    let ok = act(
        &asked,
        Action::DecideExtension {
            approve: true,
            note: String::new(),
        },
        d(2026, 3, 9),
    )
    .unwrap();
    assert_eq!(due(&ok, d(2026, 3, 9)), d(2026, 3, 12));
}

#[test]
fn the_urge_falls_due_the_working_day_after_the_deadline_and_is_given_once() {
    let o = dispatched(d(2026, 3, 5), "general"); // Thu → due Thu 03-12
    let cal = TestCalendar::china_2025_2026();
    let (urge, oversee) = o.next_timers(&cal, d(2026, 3, 5), &s());
    assert_eq!(urge, Some(d(2026, 3, 13)));
    assert_eq!(oversee, Some(d(2026, 3, 19)));
    assert_eq!(
        act(&o, Action::Urge, d(2026, 3, 12)).unwrap_err().code,
        "not_late"
    );
    let u = act(&o, Action::Urge, d(2026, 3, 13)).unwrap();
    assert_eq!(u.urged_on, Some(d(2026, 3, 13)));
    assert_eq!(
        act(&u, Action::Urge, d(2026, 3, 16)).unwrap_err().code,
        "already_urged"
    );
    assert_eq!(u.next_timers(&cal, d(2026, 3, 13), &s()).0, None);
}

#[test]
fn a_negative_answer_needs_its_reasons() {
    let o = dispatched(d(2026, 3, 2), "general");
    let e = act(
        &o,
        Action::Answer {
            text: "不能办理".into(),
            negative: true,
            reasons: String::new(),
        },
        d(2026, 3, 3),
    )
    .unwrap_err();
    assert_eq!(e.fields[0].field, "reasons");
    let a = act(
        &o,
        Action::Answer {
            text: "不能办理".into(),
            negative: true,
            reasons: "《条例》第十条不允许".into(),
        },
        d(2026, 3, 3),
    )
    .unwrap();
    assert_eq!(a.status, Status::Answered);
    assert!(a.answer.unwrap().negative);
}

#[test]
fn not_satisfied_by_the_handlers_fault_reopens_with_a_fresh_budget_otherwise_it_closes_unsolved() {
    let o = dispatched(d(2026, 3, 2), "general");
    let a = act(
        &o,
        Action::Answer {
            text: "已处理".into(),
            negative: false,
            reasons: String::new(),
        },
        d(2026, 3, 3),
    )
    .unwrap();
    let re = act(
        &a,
        Action::Feedback {
            satisfied: false,
            handler_at_fault: true,
            level: None,
            note: "没有解决".into(),
        },
        d(2026, 3, 4),
    )
    .unwrap();
    assert_eq!(re.status, Status::Dispatched);
    assert_eq!(re.reopened, 1);
    assert_eq!(due(&re, d(2026, 3, 4)), d(2026, 3, 11));
    let a2 = act(
        &re,
        Action::Answer {
            text: "已重新处理".into(),
            negative: false,
            reasons: String::new(),
        },
        d(2026, 3, 5),
    )
    .unwrap();
    let un = act(
        &a2,
        Action::Feedback {
            satisfied: false,
            handler_at_fault: false,
            level: Some(crate::rating::Level::Basic),
            note: "诉求超出政策".into(),
        },
        d(2026, 3, 6),
    )
    .unwrap();
    assert_eq!(un.status, Status::Unsolved);
    assert!(un.status.is_closed());
    let solved = act(
        &a2,
        Action::Feedback {
            satisfied: true,
            handler_at_fault: false,
            level: None,
            note: String::new(),
        },
        d(2026, 3, 6),
    )
    .unwrap();
    assert_eq!(solved.status, Status::Solved);
    assert_eq!(solved.closed_on, Some(d(2026, 3, 6)));
}

#[test]
fn a_matter_for_the_courts_is_declined_with_where_to_go() {
    let o = WorkOrder::receive(d(2026, 3, 2));
    let e = act(
        &o,
        Action::Decline {
            reason: "涉诉事项".into(),
            refer_to: String::new(),
        },
        d(2026, 3, 2),
    )
    .unwrap_err();
    assert_eq!(e.fields[0].field, "refer_to");
    let x = act(
        &o,
        Action::Decline {
            reason: "已进入诉讼程序".into(),
            refer_to: "云岭市人民法院".into(),
        },
        d(2026, 3, 2),
    )
    .unwrap();
    assert_eq!(x.status, Status::Declined);
    assert!(x.status.is_closed());
}

#[test]
fn classification_names_an_existing_category_tier_and_unit() {
    let o = WorkOrder::receive(d(2026, 3, 2));
    let c = |cat: &str, tier: &str, lead: Option<&str>| {
        act(
            &o,
            Action::Classify {
                category: cat.into(),
                tier: tier.into(),
                lead_unit: lead.map(Into::into),
                assisting_units: vec![],
            },
            d(2026, 3, 2),
        )
    };
    assert_eq!(
        c("99", "general", Some("SCJ")).unwrap_err().fields[0].field,
        "category"
    );
    assert_eq!(
        c("02", "slow", Some("SCJ")).unwrap_err().fields[0].field,
        "tier"
    );
    assert_eq!(
        c("02", "general", Some("XXX")).unwrap_err().fields[0].field,
        "lead_unit"
    );
    assert_eq!(
        c("02", "general", None).unwrap_err().fields[0].field,
        "lead_unit"
    );
    assert!(
        c("01", "immediate", None).is_ok(),
        "即办 at the window needs no unit"
    );
}

#[test]
fn chinese_texts_about_the_same_problem_are_similar_and_others_are_not() {
    let a = bigrams("人民路12号路灯坏了，晚上很黑");
    let b = bigrams("人民路12号的路灯坏了晚上太黑了");
    let c = bigrams("营业执照办理要跑好几次");
    assert!(similarity(&a, &b) >= 50, "{}", similarity(&a, &b));
    assert!(similarity(&a, &c) < 20);
    let cand = |on, phone, place, text| Candidate {
        received_on: on,
        category: Some("02"),
        phone,
        place,
        text,
    };
    let new = Probe::new(cand(
        d(2026, 3, 10),
        Some("13800000000"),
        "人民路",
        "人民路12号路灯坏了，晚上很黑",
    ));
    let same_person = cand(
        d(2026, 3, 1),
        Some("13800000000"),
        "",
        "人民路12号的路灯坏了晚上太黑了",
    );
    assert!(duplicate_score(&new, &same_person, 30, 50).is_some());
    let long_ago = cand(
        d(2025, 12, 1),
        Some("13800000000"),
        "人民路",
        "人民路12号路灯坏了，晚上很黑",
    );
    assert!(duplicate_score(&new, &long_ago, 30, 50).is_none());
    let other = cand(
        d(2026, 3, 9),
        Some("13900000000"),
        "人民路",
        "营业执照办理要跑好几次",
    );
    assert!(duplicate_score(&new, &other, 30, 50).is_none());
}

#[test]
fn a_ledger_entry_is_closed_out_only_with_evidence_by_another_reviewer_and_a_failed_revisit_reopens_it()
 {
    let e = Entry::open(d(2026, 3, 31), "");
    let err = e
        .apply(
            &LedgerAction::RequestCloseOut {
                measures: "精简材料".into(),
                evidence: " ".into(),
            },
            d(2026, 3, 20),
            "approver1",
            30,
        )
        .unwrap_err();
    assert_eq!(err.fields[0].field, "evidence");
    let asked = e
        .apply(
            &LedgerAction::RequestCloseOut {
                measures: "精简材料".into(),
                evidence: "新版指南已发布".into(),
            },
            d(2026, 3, 20),
            "approver1",
            30,
        )
        .unwrap();
    assert!(
        asked
            .apply(
                &LedgerAction::Review {
                    approve: true,
                    note: String::new()
                },
                d(2026, 3, 21),
                "approver1",
                30
            )
            .is_err()
    );
    let closed = asked
        .apply(
            &LedgerAction::Review {
                approve: true,
                note: String::new(),
            },
            d(2026, 3, 21),
            "supervisor1",
            30,
        )
        .unwrap();
    assert_eq!(closed.status, LedgerStatus::ClosedOut);
    assert!(!closed.revisit_due(d(2026, 4, 19)));
    assert!(closed.revisit_due(d(2026, 4, 20)));
    let reopened = closed
        .apply(
            &LedgerAction::Revisit {
                held: false,
                note: "群众反映又要求提交旧材料".into(),
                new_deadline: Some(d(2026, 5, 15)),
            },
            d(2026, 4, 20),
            "supervisor1",
            30,
        )
        .unwrap();
    assert_eq!(reopened.status, LedgerStatus::Open);
    assert_eq!(reopened.reopened, 1);
    assert_eq!(reopened.deadline, d(2026, 5, 15));
}

#[test]
fn the_default_settings_are_valid_and_a_pause_in_the_units_own_state_is_refused() {
    assert!(s().validate().is_ok());
    let mut bad = s();
    bad.pause_states = vec![Status::Dispatched];
    assert!(bad.validate().is_err());
}

#[test]
fn every_number_of_the_settings_page_reads_back_what_was_set() {
    let mut st = s();
    for (i, (key, _)) in WorkOrderSettings::NUMBERS.iter().enumerate() {
        assert!(st.set_number(key, 40 + i as u32), "{key}");
        assert_eq!(st.number(key), Some(40 + i as u32), "{key}");
    }
    assert!(
        !st.set_number("yellow_at_percent", 300),
        "a percentage fits a byte"
    );
    assert!(!st.set_number("nothing", 1));
}
