//! Whole cases driven through the engine, one rule per test, on the hand-written 2025/2026
//! calendar (testkit). Every date is worked out in a comment next to the assertion.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};

use crate::access::{Actor, Role};
use crate::case::clock::{ClockReading, Warning};
use crate::case::engine::{Command, Context, Receipt, receive, receive_at_window};
use crate::case::events::{CaseEvent, Change, Delivery, Outcome, SYSTEM};
use crate::case::process::{NodeKind, ProcessDefinition, UserTask, default_process};
use crate::case::state::{Case, CaseStatus};
use crate::case::testkit::{
    TestCalendar, TestOffice, actor, applicant, d, flow, item, node, parallel_with_choice, review,
    t, wrap,
};
use crate::case::{CaseSettings, bundle};
use crate::catalogue::{ItemKind, ServiceItem};
use crate::error::{Error, Kind};

struct World {
    cal: TestCalendar,
    item: ServiceItem,
    process: ProcessDefinition,
    settings: CaseSettings,
    events: Vec<CaseEvent>,
    /// The case folded event by event, to compare with a replay.
    state: Option<Case>,
}

fn clerk() -> Actor {
    actor(1, "li", Role::Clerk, None)
}
fn approver() -> Actor {
    actor(2, "wang", Role::Approver, Some("scj"))
}
fn decider() -> Actor {
    actor(3, "zhao", Role::Approver, Some("scj"))
}
fn issuer() -> Actor {
    actor(4, "chen", Role::Issuance, None)
}
fn stranger() -> Actor {
    actor(5, "qian", Role::Approver, Some("gtj"))
}

fn claim(node: &str) -> Command {
    Command::Claim { node: node.into() }
}
fn approve(node: &str) -> Command {
    Command::Approve {
        node: node.into(),
        opinion: "材料齐全，符合条件".into(),
    }
}
fn decide(outcome: Outcome) -> Command {
    Command::Decide {
        node: "decide".into(),
        outcome,
        document_number: "榕市监许〔2026〕18号".into(),
        reasons: vec![],
    }
}
fn pickup() -> Command {
    Command::Issue {
        node: "issue".into(),
        delivery: Delivery::Pickup {
            code: "204815".into(),
        },
    }
}

impl World {
    fn new(item: ServiceItem, process: ProcessDefinition) -> World {
        World {
            cal: TestCalendar::china_2025_2026(),
            item,
            process,
            settings: CaseSettings::default(),
            events: Vec::new(),
            state: None,
        }
    }

    fn default_process() -> World {
        let item = item();
        let process = default_process(item.committed_limit_days);
        World::new(item, process)
    }

    fn with_ctx<R>(&self, now: NaiveDateTime, f: impl FnOnce(&Context) -> R) -> R {
        let office = TestOffice(&self.cal);
        let ctx = Context {
            now,
            calendar: &self.cal,
            office: &office,
            item: &self.item,
            process: &self.process,
            settings: &self.settings,
        };
        f(&ctx)
    }

    fn record(&mut self, events: Vec<CaseEvent>) -> Vec<CaseEvent> {
        for e in &events {
            match &mut self.state {
                None => self.state = Some(Case::new(e).unwrap()),
                Some(s) => s.apply(e),
            }
        }
        self.events.extend(events.iter().cloned());
        events
    }

    fn receipt(materials: &[&str], answers: &[(&str, &str)]) -> Receipt {
        let mut all: BTreeMap<String, String> = BTreeMap::from([
            ("agent".into(), "no".into()),
            ("scope".into(), "none".into()),
        ]);
        all.extend(answers.iter().map(|(q, a)| (q.to_string(), a.to_string())));
        Receipt {
            number: "C20260001".into(),
            applicant: applicant(),
            materials: materials.iter().map(|m| m.to_string()).collect(),
            answers: all,
            parent: None,
        }
    }

    /// At the window (API-V1): accepted at once or given a one-time notice.
    fn apply_at_window(
        &mut self,
        now: NaiveDateTime,
        materials: &[&str],
        answers: &[(&str, &str)],
    ) {
        let r = Self::receipt(materials, answers);
        let events = self
            .with_ctx(now, |c| receive_at_window(&r, &clerk(), c))
            .unwrap();
        self.record(events);
    }

    /// Received only, materials still to be checked.
    fn receive_only(&mut self, now: NaiveDateTime, materials: &[&str], answers: &[(&str, &str)]) {
        let r = Self::receipt(materials, answers);
        let events = self.with_ctx(now, |c| receive(&r, &clerk(), c)).unwrap();
        self.record(events);
    }

    fn try_run(
        &mut self,
        now: NaiveDateTime,
        who: &Actor,
        command: Command,
    ) -> Result<Vec<CaseEvent>, Error> {
        let case = self.case();
        let events = self.with_ctx(now, |c| case.handle(&command, who, c))?;
        Ok(self.record(events))
    }

    fn run(&mut self, now: NaiveDateTime, who: &Actor, command: Command) -> Vec<CaseEvent> {
        let shown = format!("{command:?}");
        self.try_run(now, who, command)
            .unwrap_or_else(|e| panic!("{shown} at {now}: {e}"))
    }

    /// A refused command: returns the error and checks that nothing was recorded.
    fn refused(&mut self, now: NaiveDateTime, who: &Actor, command: Command) -> Error {
        let before = self.events.len();
        let e = self.try_run(now, who, command).unwrap_err();
        assert_eq!(self.events.len(), before);
        e
    }

    fn tick(&mut self, now: NaiveDateTime) -> Vec<CaseEvent> {
        let case = self.case();
        let events = self.with_ctx(now, |c| case.tick(c)).unwrap();
        self.record(events)
    }

    fn case(&self) -> Case {
        Case::replay(&self.events).unwrap()
    }

    fn reading(&self, today: NaiveDate) -> ClockReading {
        self.case()
            .reading(&self.cal, today, &self.settings)
            .expect("accepted")
    }

    /// Accepted at the window, routed and confirmed by the department, all at `now`.
    fn in_progress(&mut self, now: NaiveDateTime) {
        self.apply_at_window(now, &["form", "licence"], &[]);
        self.run(now, &clerk(), Command::Route);
        self.run(now, &approver(), Command::ConfirmRoute);
    }

    fn open_nodes(&self) -> Vec<String> {
        let mut v: Vec<String> = self.case().tokens.iter().map(|t| t.node.clone()).collect();
        v.sort();
        v
    }
}

fn message(e: &Error) -> String {
    std::iter::once(e.title.clone())
        .chain(
            e.fields
                .iter()
                .map(|f| format!("{}: {}", f.field, f.message)),
        )
        .collect::<Vec<_>>()
        .join(" | ")
}

fn kinds(events: &[CaseEvent]) -> Vec<&'static str> {
    events.iter().map(|e| e.change.kind()).collect()
}

// ---- receipt and acceptance ----

#[test]
fn a_complete_application_is_accepted_and_its_clock_starts_the_next_day_r_first_day() {
    let mut w = World::default_process();
    w.apply_at_window(t(2026, 2, 13, 10, 0), &["form", "licence"], &[]);
    let case = w.case();
    assert_eq!(case.status, CaseStatus::Accepted);
    assert_eq!(case.accepted_on, Some(d(2026, 2, 13)));
    assert_eq!(case.applicant.id_number, "11010519491231002X");
    // Committed limit 5 from Fri 02-13: Sat 02-14 make-up (1), 02-15..23 Spring Festival,
    // 02-24 (2), 02-25 (3), 02-26 (4), Fri 02-27 (5).
    let r = w.reading(d(2026, 2, 13));
    assert_eq!(
        (r.due_date, r.working_days_left, r.warning),
        (d(2026, 2, 27), 5, Warning::Green)
    );
    // Statutory limit 20 counts on: Sat 02-28 make-up (6), 03-02..06 (11), 03-09..13 (16),
    // 03-16..19 (20).
    let statutory = case.statutory_clock().unwrap();
    assert_eq!(statutory.due_date(&w.cal, d(2026, 2, 13)), d(2026, 3, 19));
}

#[test]
fn an_incomplete_application_gets_one_notice_listing_everything_missing_r_accept_5d() {
    let mut w = World::default_process();
    // An agent applies with the form only: the licence and the power of attorney are missing.
    w.apply_at_window(t(2026, 2, 13, 10, 0), &["form"], &[("agent", "yes")]);
    let case = w.case();
    assert_eq!(case.status, CaseStatus::AwaitingSupplement);
    assert_eq!(case.open_notice().unwrap().items, ["licence", "proxy"]);
    assert!(case.reading(&w.cal, d(2026, 2, 13), &w.settings).is_none());
    // Half of it comes back: still waiting.
    w.run(
        t(2026, 2, 24, 9, 0),
        &clerk(),
        Command::Supplement {
            materials: vec!["licence".into()],
        },
    );
    assert_eq!(w.case().status, CaseStatus::AwaitingSupplement);
    assert_eq!(w.case().open_notice().unwrap().outstanding(), ["proxy"]);
    // The rest on Wed 02-25: accepted that day. Limit 5: 02-26 (1), 02-27 (2),
    // Sat 02-28 make-up (3), 03-02 (4), 03-03 (5).
    let events = w.run(
        t(2026, 2, 25, 15, 0),
        &clerk(),
        Command::Supplement {
            materials: vec!["proxy".into()],
        },
    );
    assert_eq!(kinds(&events), ["case_materials_received", "case_accepted"]);
    assert_eq!(w.case().accepted_on, Some(d(2026, 2, 25)));
    assert_eq!(w.reading(d(2026, 2, 25)).due_date, d(2026, 3, 3));
}

#[test]
fn materials_dropped_off_in_a_locker_count_from_the_day_given_never_before_the_notice_r_supplement_pause()
 {
    let mut w = World::default_process();
    w.apply_at_window(t(2026, 2, 13, 9, 0), &["form"], &[]);
    // Dropped off on the night of Tue 02-24, taken in on Wed 02-25: accepted on 02-24.
    let events = w.run(
        t(2026, 2, 25, 9, 5),
        &clerk(),
        Command::SupplementReceivedOn {
            materials: vec!["licence".into(), "proxy".into()],
            on: d(2026, 2, 24),
        },
    );
    assert_eq!(kinds(&events), ["case_materials_received", "case_accepted"]);
    assert_eq!(w.case().accepted_on, Some(d(2026, 2, 24)));
    // A day before the notice is read as the notice's day; a day to come as today.
    let mut w = World::default_process();
    w.apply_at_window(t(2026, 2, 13, 9, 0), &["form"], &[]);
    w.run(
        t(2026, 2, 25, 9, 5),
        &clerk(),
        Command::SupplementReceivedOn {
            materials: vec!["licence".into(), "proxy".into()],
            on: d(2026, 1, 1),
        },
    );
    assert_eq!(w.case().accepted_on, Some(d(2026, 2, 13)));
}

#[test]
fn a_notice_that_leaves_out_a_missing_material_is_refused_r_accept_5d() {
    let mut w = World::default_process();
    w.receive_only(t(2026, 3, 2, 9, 0), &["form"], &[("agent", "yes")]);
    let e = w.refused(
        t(2026, 3, 2, 9, 5),
        &clerk(),
        Command::GiveOneTimeNotice {
            items: vec!["licence".into()],
            note: String::new(),
        },
    );
    assert!(
        message(&e).contains("还缺少：授权委托书（proxy）"),
        "{}",
        message(&e)
    );
    // Listing a received but non-conforming material as well is fine.
    w.run(
        t(2026, 3, 2, 9, 6),
        &clerk(),
        Command::GiveOneTimeNotice {
            items: vec!["licence".into(), "proxy".into(), "form".into()],
            note: "申请书缺少法定代表人签字".into(),
        },
    );
    assert_eq!(w.case().status, CaseStatus::AwaitingSupplement);
}

#[test]
fn acceptance_with_materials_missing_is_refused_r_accept_5d() {
    let mut w = World::default_process();
    w.receive_only(t(2026, 3, 2, 9, 0), &["form"], &[]);
    let e = w.refused(t(2026, 3, 2, 9, 5), &clerk(), Command::Accept);
    assert_eq!(e.code, "materials_incomplete");
    assert!(message(&e).contains("营业执照（licence）"));
}

#[test]
fn without_a_notice_within_5_working_days_the_case_counts_as_accepted_from_receipt_r_accept_5d() {
    let mut w = World::default_process();
    // Received Thu 09-24. Five working days: 09-28, 09-29, 09-30, 10-08, Fri 10-09.
    w.receive_only(t(2026, 9, 24, 10, 0), &["form"], &[]);
    let next = w.with_ctx(t(2026, 9, 24, 10, 0), |c| w.case().next_deadline(c));
    assert_eq!(next, Some(t(2026, 10, 10, 0, 0)));
    assert!(w.tick(t(2026, 10, 9, 23, 59)).is_empty());
    let events = w.tick(t(2026, 10, 10, 8, 0));
    assert_eq!(events.len(), 1);
    assert_eq!(
        (events[0].at, events[0].by.as_str()),
        (t(2026, 10, 10, 0, 0), SYSTEM)
    );
    let case = w.case();
    assert_eq!(
        (case.status, case.accepted_on),
        (CaseStatus::Accepted, Some(d(2026, 9, 24)))
    );
    assert!(case.accepted_deemed);
    // Counted from receipt, the committed 5 days ended on 10-09: on Sat 10-10 (a make-up
    // working day) the case is already one day late.
    let r = w.reading(d(2026, 10, 10));
    assert_eq!(
        (r.due_date, r.working_days_left, r.warning),
        (d(2026, 10, 9), -1, Warning::Red)
    );
    // A notice now comes too late.
    let e = w.refused(
        t(2026, 10, 12, 9, 0),
        &clerk(),
        Command::GiveOneTimeNotice {
            items: vec!["licence".into()],
            note: String::new(),
        },
    );
    assert_eq!(e.code, "deemed_accepted");
    assert!(e.title.contains("2026-09-24"), "{}", e.title);
}

#[test]
fn a_late_command_first_applies_the_deemed_acceptance_it_missed_r_accept_5d() {
    let mut w = World::default_process();
    w.receive_only(t(2026, 9, 24, 10, 0), &["form", "licence"], &[]);
    // Nobody ticked; the clerk routes on 10-12: the deemed acceptance comes first.
    let events = w.run(t(2026, 10, 12, 9, 0), &clerk(), Command::Route);
    assert_eq!(kinds(&events), ["case_accepted", "case_routed"]);
    assert_eq!(events[0].at, t(2026, 10, 10, 0, 0));
}

#[test]
fn a_refusal_states_its_reasons_r_accept_receipt() {
    let mut w = World::default_process();
    w.receive_only(t(2026, 3, 2, 9, 0), &["form"], &[]);
    let e = w.refused(
        t(2026, 3, 2, 9, 5),
        &clerk(),
        Command::Refuse {
            reasons: vec![" ".into()],
        },
    );
    assert_eq!(
        (e.kind, e.fields[0].field.as_str()),
        (Kind::Invalid, "reasons")
    );
    w.run(
        t(2026, 3, 2, 9, 6),
        &clerk(),
        Command::Refuse {
            reasons: vec!["申请事项不属于本机关职权范围".into()],
        },
    );
    let case = w.case();
    assert_eq!(case.status, CaseStatus::Refused);
    assert_eq!(case.refusal.unwrap(), ["申请事项不属于本机关职权范围"]);
    let e = w.refused(t(2026, 3, 2, 9, 7), &clerk(), Command::Accept);
    assert_eq!(e.title, "办件当前状态为“不予受理”，不能受理");
}

#[test]
fn bad_input_at_receipt_is_reported_field_by_field_and_nothing_is_recorded() {
    let w = World::default_process();
    let mut r = World::receipt(&["form", "photo"], &[]);
    r.applicant.id_number = "110105194912310021".into();
    r.applicant.phone = "12345".into();
    r.answers.remove("scope");
    let e = w
        .with_ctx(t(2026, 3, 2, 9, 0), |c| receive(&r, &clerk(), c))
        .unwrap_err();
    let fields: Vec<&str> = e.fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "applicant.id_number",
            "applicant.phone",
            "answers.scope",
            "materials"
        ]
    );
    // Only the front desk receives.
    let e = w
        .with_ctx(t(2026, 3, 2, 9, 0), |c| {
            receive(&World::receipt(&[], &[]), &approver(), c)
        })
        .unwrap_err();
    assert_eq!(e.kind, Kind::Forbidden);
}

// ---- routing ----

#[test]
fn a_routed_case_is_deemed_confirmed_after_10_office_minutes_r_route_10min() {
    let mut w = World::default_process();
    w.apply_at_window(t(2026, 2, 13, 11, 50), &["form", "licence"], &[]);
    w.run(t(2026, 2, 13, 11, 55), &clerk(), Command::Route);
    // 5 office minutes before lunch, the other 5 after 13:30.
    assert!(w.tick(t(2026, 2, 13, 13, 0)).is_empty());
    let events = w.tick(t(2026, 2, 13, 13, 40));
    assert_eq!(
        kinds(&events),
        ["case_route_confirmed", "case_tokens_moved"]
    );
    assert_eq!(events[0].at, t(2026, 2, 13, 13, 35));
    let case = w.case();
    assert_eq!(case.status, CaseStatus::InProgress);
    assert!(case.routing.as_ref().unwrap().deemed);
    assert_eq!(case.tokens[0].since, t(2026, 2, 13, 13, 35));
    let e = w.refused(t(2026, 2, 13, 13, 41), &approver(), Command::ConfirmRoute);
    assert_eq!(e.code, "invalid_case_state");
}

#[test]
fn only_the_departments_staff_confirm_a_route() {
    let mut w = World::default_process();
    w.apply_at_window(t(2026, 3, 2, 9, 0), &["form", "licence"], &[]);
    let e = w.refused(t(2026, 3, 2, 9, 1), &approver(), Command::ConfirmRoute);
    assert_eq!(e.title, "办件当前状态为“已受理”，不能确认接收");
    w.run(t(2026, 3, 2, 9, 1), &clerk(), Command::Route);
    assert_eq!(
        w.refused(t(2026, 3, 2, 9, 2), &stranger(), Command::ConfirmRoute)
            .kind,
        Kind::Forbidden
    );
    assert_eq!(
        w.refused(t(2026, 3, 2, 9, 2), &clerk(), Command::ConfirmRoute)
            .kind,
        Kind::Forbidden
    );
    let events = w.run(t(2026, 3, 2, 9, 3), &approver(), Command::ConfirmRoute);
    assert_eq!(events[0].by, "approver:wang");
    assert_eq!(w.open_nodes(), ["review"]);
}

// ---- the process ----

#[test]
fn the_default_process_runs_from_review_to_issuance() {
    let mut w = World::default_process();
    w.in_progress(t(2026, 3, 2, 9, 0));
    w.run(t(2026, 3, 3, 9, 0), &approver(), claim("review"));
    w.run(t(2026, 3, 3, 9, 30), &approver(), approve("review"));
    assert_eq!(w.open_nodes(), ["decide"]);
    w.run(t(2026, 3, 4, 10, 0), &decider(), claim("decide"));
    let events = w.run(t(2026, 3, 4, 10, 5), &decider(), decide(Outcome::Approved));
    assert_eq!(kinds(&events), ["case_decided", "case_tokens_moved"]);
    assert_eq!(w.case().status, CaseStatus::Concluded);
    assert_eq!(w.open_nodes(), ["issue"]);
    w.run(t(2026, 3, 5, 14, 0), &issuer(), claim("issue"));
    w.run(t(2026, 3, 5, 14, 5), &issuer(), pickup());
    let case = w.case();
    assert_eq!(case.status, CaseStatus::Issued);
    assert!(case.is_finished());
    assert_eq!(
        case.decision.as_ref().unwrap().document_number,
        "榕市监许〔2026〕18号"
    );
    // The decision on Wed 03-04 stopped the clock with 03-05, 03-06 and 03-09 to spare.
    let r = w.reading(d(2026, 4, 1));
    assert_eq!(
        (r.due_date, r.working_days_left, r.warning),
        (d(2026, 3, 9), 3, Warning::Green)
    );
    // R-ISSUE-10D: 10 working days after 03-04: 03-05, 03-06, 03-09..13, 03-16, 03-17, 03-18.
    assert_eq!(case.issue_due(&w.cal), Some(d(2026, 3, 18)));
    let steps: Vec<&str> = case.opinions.iter().map(|o| o.node.as_str()).collect();
    assert_eq!(steps, ["review"]);
}

#[test]
fn a_step_is_worked_on_only_by_whoever_claimed_it_with_the_right_role_and_department() {
    let mut w = World::default_process();
    w.in_progress(t(2026, 3, 2, 9, 0));
    let at = t(2026, 3, 2, 10, 0);
    let e = w.refused(at, &issuer(), claim("review"));
    assert_eq!(
        e.title,
        "环节“审核”（review）需由审批人员办理，当前账号是出件人员"
    );
    assert_eq!(
        w.refused(at, &stranger(), claim("review")).title,
        "只能办理本部门的业务"
    );
    let e = w.refused(at, &approver(), approve("review"));
    assert_eq!(e.title, "请先认领环节“审核”（review）");
    w.run(at, &approver(), claim("review"));
    // Claiming again changes nothing; someone else cannot take it over.
    assert!(w.run(at, &approver(), claim("review")).is_empty());
    assert_eq!(
        w.refused(at, &decider(), claim("review")).code,
        "step_claimed"
    );
    let e = w.refused(at, &decider(), approve("review"));
    assert_eq!(e.title, "环节“审核”（review）已由approver:wang认领办理");
    // Nothing waits at the decision yet.
    assert_eq!(
        w.refused(at, &decider(), claim("decide")).code,
        "step_not_open"
    );
    // An opinion is needed to approve, and a review step is not decided.
    let e = w.refused(
        at,
        &approver(),
        Command::Approve {
            node: "review".into(),
            opinion: " ".into(),
        },
    );
    assert_eq!(e.fields[0].message, "审核通过需要填写审核意见");
    w.run(
        at,
        &approver(),
        Command::RecordOpinion {
            node: "review".into(),
            opinion: "待核实营业执照".into(),
        },
    );
    let e = w.refused(
        at,
        &approver(),
        Command::Decide {
            node: "review".into(),
            outcome: Outcome::Approved,
            document_number: "1".into(),
            reasons: vec![],
        },
    );
    assert_eq!(e.code, "wrong_step_action");
}

#[test]
fn a_returned_step_goes_back_to_the_previous_step_with_its_reason() {
    let mut w = World::default_process();
    w.in_progress(t(2026, 3, 2, 9, 0));
    w.run(t(2026, 3, 2, 10, 0), &approver(), claim("review"));
    let e = w.refused(
        t(2026, 3, 2, 10, 1),
        &approver(),
        Command::Return {
            node: "review".into(),
            reason: "不清楚".into(),
        },
    );
    assert_eq!(e.title, "环节“审核”（review）之前没有可退回的环节");
    w.run(t(2026, 3, 2, 10, 2), &approver(), approve("review"));
    w.run(t(2026, 3, 3, 9, 0), &decider(), claim("decide"));
    let e = w.refused(
        t(2026, 3, 3, 9, 1),
        &decider(),
        Command::Return {
            node: "decide".into(),
            reason: "".into(),
        },
    );
    assert_eq!(e.fields[0].message, "退回必须写明理由");
    let events = w.run(
        t(2026, 3, 3, 9, 2),
        &decider(),
        Command::Return {
            node: "decide".into(),
            reason: "经营场所面积需复核".into(),
        },
    );
    assert_eq!(kinds(&events), ["case_step_returned", "case_tokens_moved"]);
    let case = w.case();
    let token = case.token_at("review").unwrap();
    assert_eq!((token.claimed_by.clone(), token.trail.len()), (None, 0));
    assert_eq!(token.since, t(2026, 3, 3, 9, 2));
    assert_eq!(case.opinions.last().unwrap().text, "经营场所面积需复核");
}

#[test]
fn parallel_branches_follow_the_situation_answers_and_join_before_the_decision() {
    let mut w = World::new(item(), parallel_with_choice());
    w.apply_at_window(
        t(2026, 3, 2, 9, 0),
        &["form", "licence"],
        &[("scope", "food")],
    );
    w.run(t(2026, 3, 2, 9, 0), &clerk(), Command::Route);
    w.run(t(2026, 3, 2, 9, 1), &approver(), Command::ConfirmRoute);
    // The answer "food" chose the food check beside the planning review.
    assert_eq!(w.open_nodes(), ["food_check", "planning"]);
    w.run(t(2026, 3, 2, 10, 0), &approver(), claim("food_check"));
    w.run(t(2026, 3, 2, 10, 1), &approver(), approve("food_check"));
    assert_eq!(w.open_nodes(), ["join", "planning"]);
    assert_eq!(
        w.refused(t(2026, 3, 2, 10, 2), &decider(), claim("decide"))
            .code,
        "step_not_open"
    );
    w.run(t(2026, 3, 2, 11, 0), &decider(), claim("planning"));
    w.run(t(2026, 3, 2, 11, 1), &decider(), approve("planning"));
    assert_eq!(w.open_nodes(), ["decide"]);
    // After the join there is no single previous step to return to.
    w.run(t(2026, 3, 2, 11, 2), &decider(), claim("decide"));
    let e = w.refused(
        t(2026, 3, 2, 11, 3),
        &decider(),
        Command::Return {
            node: "decide".into(),
            reason: "复核".into(),
        },
    );
    assert_eq!(e.code, "nothing_to_return_to");
}

#[test]
fn a_timer_waits_its_working_days_before_the_flow_goes_on() {
    // planning → 公示 (3 working days) → decide → issue.
    let process = wrap(
        vec![
            review("planning"),
            node("publicity", NodeKind::Timer { days: 3 }),
        ],
        vec![flow("start", "planning"), flow("planning", "publicity")],
        "publicity",
    );
    let mut w = World::new(item(), process);
    w.in_progress(t(2026, 2, 12, 9, 0));
    w.run(t(2026, 2, 13, 9, 0), &approver(), claim("planning"));
    w.run(t(2026, 2, 13, 9, 30), &approver(), approve("planning"));
    assert_eq!(w.open_nodes(), ["publicity"]);
    // From Fri 02-13: Sat 02-14 make-up (1), Spring Festival, 02-24 (2), 02-25 (3): the flow
    // goes on at the start of 02-26.
    let next = w.with_ctx(t(2026, 2, 13, 9, 30), |c| w.case().next_deadline(c));
    assert_eq!(next, Some(t(2026, 2, 26, 0, 0)));
    assert!(w.tick(t(2026, 2, 25, 17, 0)).is_empty());
    let events = w.tick(t(2026, 2, 26, 8, 0));
    assert_eq!(kinds(&events), ["case_timer_elapsed", "case_tokens_moved"]);
    assert_eq!(w.open_nodes(), ["decide"]);
    // The timer passes the thread on: the decision may return to the planning step.
    assert_eq!(w.case().token_at("decide").unwrap().trail, ["planning"]);
}

// ---- the clock during the handling ----

#[test]
fn a_supplement_during_review_pauses_the_clock_until_the_materials_arrive_r_supplement_pause() {
    let mut it = item();
    it.committed_limit_days = 20;
    let process = default_process(20);
    let mut w = World::new(it, process);
    // Accepted Mon 09-21; due without a pause: Mon 10-26 (see the clock tests).
    w.in_progress(t(2026, 9, 21, 9, 0));
    assert_eq!(w.reading(d(2026, 9, 21)).due_date, d(2026, 10, 26));
    w.run(t(2026, 9, 22, 9, 0), &approver(), claim("review"));
    w.run(
        t(2026, 9, 23, 16, 0),
        &approver(),
        Command::RequestSupplement {
            node: "review".into(),
            items: vec!["licence".into()],
            note: "营业执照已过期，请提供新证".into(),
        },
    );
    // Used: 09-22 and 09-23. The 18 left stay frozen while the applicant is away.
    let r = w.reading(d(2026, 9, 30));
    assert_eq!((r.working_days_left, r.suspended), (18, true));
    let e = w.refused(t(2026, 9, 30, 9, 0), &approver(), approve("review"));
    assert_eq!(e.code, "awaiting_supplement");
    let e = w.refused(
        t(2026, 9, 30, 9, 0),
        &approver(),
        Command::RequestSupplement {
            node: "review".into(),
            items: vec!["form".into()],
            note: String::new(),
        },
    );
    assert_eq!(e.code, "supplement_open");
    // The materials arrive Fri 10-09: (09-23, 10-09] holds 6 working days, due Tue 11-03.
    let events = w.run(
        t(2026, 10, 9, 10, 0),
        &clerk(),
        Command::Supplement {
            materials: vec!["licence".into()],
        },
    );
    assert_eq!(
        kinds(&events),
        ["case_materials_received", "case_suspension_ended"]
    );
    let r = w.reading(d(2026, 10, 9));
    assert_eq!(
        (r.due_date, r.working_days_left, r.suspended),
        (d(2026, 11, 3), 18, false)
    );
    w.run(t(2026, 10, 9, 11, 0), &approver(), approve("review"));
}

#[test]
fn a_special_procedure_step_suspends_the_clock_while_it_runs_and_one_extension_follows_r_special_time_r_decide_20d()
 {
    // review → 现场核查 (a special procedure step, 15 working days) → decide → issue.
    let mut survey = review("survey");
    survey.name = "现场核查".into();
    if let NodeKind::UserTask(UserTask {
        special_procedure,
        budget_days,
        ..
    }) = &mut survey.kind
    {
        *special_procedure = Some("现场核查".into());
        *budget_days = 15;
    }
    let process = wrap(
        vec![review("review"), survey],
        vec![flow("start", "review"), flow("review", "survey")],
        "survey",
    );
    let mut it = item();
    it.committed_limit_days = 20;
    let mut w = World::new(it, process);
    // Accepted Fri 2025-04-25, limit 20: due Tue 05-27 (see the clock tests).
    w.in_progress(t(2025, 4, 25, 9, 0));
    w.run(t(2025, 5, 14, 9, 0), &approver(), claim("review"));
    let events = w.run(t(2025, 5, 14, 10, 0), &approver(), approve("review"));
    assert_eq!(
        kinds(&events),
        [
            "case_step_approved",
            "case_tokens_moved",
            "case_suspension_started"
        ]
    );
    assert!(w.reading(d(2025, 5, 20)).suspended);
    // The applicant is told the survey needs 15 working days from 05-14: 05-15, 05-16,
    // 05-19..23, 05-26..30, (Dragon Boat 05-31..06-02), 06-03, 06-04, 06-05.
    let steps = w.case().open_steps(&w.process, &w.cal, d(2025, 5, 20));
    assert_eq!(
        (steps[0].node.as_str(), steps[0].due),
        ("survey", d(2025, 6, 5))
    );
    w.run(t(2025, 5, 15, 9, 0), &approver(), claim("survey"));
    let events = w.run(t(2025, 6, 3, 16, 0), &approver(), approve("survey"));
    assert_eq!(kinds(&events)[0], "case_suspension_ended");
    // Suspended (05-14, 06-03]: 13 working days, due Mon 06-16.
    assert_eq!(w.reading(d(2025, 6, 3)).due_date, d(2025, 6, 16));
    // One extension of 10 working days on 06-10 (R-DECIDE-20D): due Mon 06-30.
    let extend = |reason: &str, by: &str| Command::Extend {
        reason: reason.into(),
        approved_by: by.into(),
    };
    let e = w.refused(t(2025, 6, 10, 9, 0), &approver(), extend(" ", ""));
    assert_eq!(e.fields.len(), 2);
    assert_eq!(
        w.refused(
            t(2025, 6, 10, 9, 0),
            &clerk(),
            extend("需补充检测", "王局长")
        )
        .kind,
        Kind::Forbidden
    );
    w.run(
        t(2025, 6, 10, 9, 0),
        &approver(),
        extend("需补充检测", "王局长"),
    );
    assert_eq!(w.reading(d(2025, 6, 10)).due_date, d(2025, 6, 30));
    let e = w.refused(t(2025, 6, 11, 9, 0), &approver(), extend("再延", "王局长"));
    assert_eq!(
        e.title,
        "本办件已延期一次，依法不得再次延期（R-DECIDE-20D）"
    );
}

#[test]
fn an_extension_after_the_statutory_limit_is_refused_r_decide_20d() {
    let mut w = World::default_process();
    // Accepted Mon 03-02: statutory 20 ends Mon 03-30 (03-03..06, 03-09..13, 03-16..20,
    // 03-23..27, 03-30).
    w.in_progress(t(2026, 3, 2, 9, 0));
    let e = w.refused(
        t(2026, 3, 31, 9, 0),
        &approver(),
        Command::Extend {
            reason: "情况复杂".into(),
            approved_by: "王局长".into(),
        },
    );
    assert_eq!(e.title, "已超过法定办理期限，不能再延期");
    w.run(
        t(2026, 3, 30, 17, 0),
        &approver(),
        Command::Extend {
            reason: "情况复杂".into(),
            approved_by: "王局长".into(),
        },
    );
}

#[test]
fn a_special_procedure_inside_a_step_must_be_published_or_statutory_r_special_time() {
    let mut w = World::default_process();
    w.in_progress(t(2026, 3, 2, 9, 0));
    w.run(t(2026, 3, 2, 10, 0), &approver(), claim("review"));
    let start = |name: &str, days: Option<u32>| Command::StartSpecialProcedure {
        node: "review".into(),
        name: name.into(),
        days,
    };
    let at = t(2026, 3, 3, 9, 0);
    assert_eq!(
        w.refused(at, &approver(), start("公示", None)).code,
        "special_procedure_counted"
    );
    assert_eq!(
        w.refused(at, &approver(), start("内部讨论", Some(3))).code,
        "unknown_special_procedure"
    );
    // A statutory procedure not in the guide needs the time it takes, told in writing.
    assert_eq!(
        w.refused(at, &approver(), start("专家评审", None)).code,
        "invalid_days"
    );
    // Nor may it announce more than a year of working days (a typo, not a suspension).
    assert_eq!(
        w.refused(at, &approver(), start("专家评审", Some(251)))
            .code,
        "invalid_days"
    );
    // The published 现场核查 takes its 5 days from the guide.
    w.run(at, &approver(), start("现场核查", None));
    assert_eq!(
        w.refused(at, &approver(), start("检测", Some(2))).code,
        "special_procedure_open"
    );
    let case = w.case();
    let s = case.open_suspensions().next().unwrap();
    assert_eq!(s.reason.label(), "特别程序（现场核查）");
    // Accepted 03-02, limit 5; 03-03 counted, then frozen with 4 left.
    assert_eq!(w.reading(d(2026, 3, 10)).working_days_left, 4);
    w.run(
        t(2026, 3, 10, 9, 0),
        &approver(),
        Command::EndSpecialProcedure {
            node: "review".into(),
        },
    );
    // Resumed after 03-10: 03-11, 03-12, 03-13, 03-16.
    assert_eq!(w.reading(d(2026, 3, 10)).due_date, d(2026, 3, 16));
    assert_eq!(
        w.refused(
            t(2026, 3, 10, 9, 1),
            &approver(),
            Command::EndSpecialProcedure {
                node: "review".into()
            }
        )
        .code,
        "no_special_procedure"
    );
}

// ---- deemed approval ----

/// A deemed-approval item with two reviews of 2 working days in a row.
fn deemed_world() -> World {
    let mut it = item();
    it.deemed_approval = true;
    let process = wrap(
        vec![review("planning"), review("fire")],
        vec![flow("start", "planning"), flow("planning", "fire")],
        "fire",
    );
    World::new(it, process)
}

#[test]
fn a_step_not_decided_within_its_budget_is_deemed_approved_r_deemed() {
    let mut w = deemed_world();
    // Reached Wed 09-30; 2 working days: 10-08 (1), 10-09 (2) after National Day.
    w.in_progress(t(2026, 9, 30, 10, 0));
    assert!(w.tick(t(2026, 10, 9, 23, 59)).is_empty());
    let events = w.tick(t(2026, 10, 10, 9, 0));
    assert_eq!(
        kinds(&events),
        ["case_step_deemed_approved", "case_tokens_moved"]
    );
    assert_eq!(
        (events[0].at, events[0].by.as_str()),
        (t(2026, 10, 10, 0, 0), SYSTEM)
    );
    assert_eq!(w.open_nodes(), ["fire"]);
    // The department owes its opinion within 1 working day: Sat 10-10 is a make-up day.
    let case = w.case();
    let owed = case.owed_opinions(&w.cal, &w.settings);
    assert_eq!(
        (owed[0].0.node.as_str(), owed[0].1),
        ("planning", d(2026, 10, 10))
    );
    // The next step may not send the case back for the missing opinion.
    w.run(t(2026, 10, 10, 9, 30), &decider(), claim("fire"));
    let e = w.refused(
        t(2026, 10, 10, 9, 31),
        &decider(),
        Command::Return {
            node: "fire".into(),
            reason: "缺少规划部门意见".into(),
        },
    );
    assert_eq!(e.code, "deemed_step");
    assert!(e.title.contains("R-DEEMED"));
    // The opinion comes late and is recorded.
    let late = |text: &str| Command::RecordLateOpinion {
        node: "planning".into(),
        opinion: text.into(),
    };
    assert_eq!(
        w.refused(t(2026, 10, 10, 10, 0), &stranger(), late("同意"))
            .kind,
        Kind::Forbidden
    );
    w.run(t(2026, 10, 10, 10, 0), &approver(), late("同意"));
    assert!(w.case().owed_opinions(&w.cal, &w.settings).is_empty());
    assert_eq!(
        w.refused(t(2026, 10, 10, 10, 1), &approver(), late("再次同意"))
            .code,
        "no_opinion_owed"
    );
}

#[test]
fn deemed_approvals_follow_each_other_in_the_order_they_fell_due_but_never_decide_r_deemed() {
    let mut w = deemed_world();
    w.in_progress(t(2026, 9, 30, 10, 0));
    // Nobody acts until 10-20. planning: due 10-09, deemed 10-10 00:00. fire: reached then,
    // counted from the next day (R-FIRST-DAY): 10-12 (1), 10-13 (2), deemed 10-14 00:00.
    let events = w.tick(t(2026, 10, 20, 9, 0));
    let deemed: Vec<(NaiveDateTime, String)> = events
        .iter()
        .filter_map(|e| match &e.change {
            Change::StepDeemedApproved { node, .. } => Some((e.at, node.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        deemed,
        [
            (t(2026, 10, 10, 0, 0), "planning".to_string()),
            (t(2026, 10, 14, 0, 0), "fire".to_string())
        ]
    );
    assert_eq!(w.open_nodes(), ["decide"]);
    // The decision itself is never made by default.
    assert!(w.tick(t(2026, 12, 31, 9, 0)).is_empty());
}

#[test]
fn a_step_of_an_item_without_deemed_approval_waits_however_late_r_deemed() {
    let mut w = World::default_process();
    w.in_progress(t(2026, 3, 2, 9, 0));
    assert!(w.tick(t(2026, 6, 1, 9, 0)).is_empty());
    assert_eq!(w.open_nodes(), ["review"]);
    assert!(w.case().deemed_steps.is_empty());
}

#[test]
fn a_suspended_step_is_not_deemed_approved_r_deemed_r_supplement_pause() {
    let mut w = deemed_world();
    w.in_progress(t(2026, 9, 30, 10, 0));
    w.run(t(2026, 9, 30, 11, 0), &approver(), claim("planning"));
    w.run(
        t(2026, 9, 30, 11, 5),
        &approver(),
        Command::RequestSupplement {
            node: "planning".into(),
            items: vec!["licence".into()],
            note: String::new(),
        },
    );
    assert!(w.tick(t(2026, 10, 30, 9, 0)).is_empty());
    // Received Fri 10-30: the budget resumes with both days left: 11-02, 11-03.
    w.run(
        t(2026, 10, 30, 9, 5),
        &clerk(),
        Command::Supplement {
            materials: vec!["licence".into()],
        },
    );
    assert!(w.tick(t(2026, 11, 3, 23, 0)).is_empty());
    assert_eq!(
        kinds(&w.tick(t(2026, 11, 4, 0, 0)))[0],
        "case_step_deemed_approved"
    );
}

// ---- the decision and the result ----

#[test]
fn a_denial_needs_reasons_and_every_decision_a_document_number() {
    let mut w = World::default_process();
    w.in_progress(t(2026, 3, 2, 9, 0));
    w.run(t(2026, 3, 2, 10, 0), &approver(), claim("review"));
    w.run(t(2026, 3, 2, 10, 1), &approver(), approve("review"));
    w.run(t(2026, 3, 2, 11, 0), &decider(), claim("decide"));
    let e = w.refused(
        t(2026, 3, 2, 11, 1),
        &decider(),
        Command::Decide {
            node: "decide".into(),
            outcome: Outcome::Denied,
            document_number: " ".into(),
            reasons: vec![],
        },
    );
    let fields: Vec<&str> = e.fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, ["document_number", "reasons"]);
    w.run(
        t(2026, 3, 2, 11, 2),
        &decider(),
        Command::Decide {
            node: "decide".into(),
            outcome: Outcome::Denied,
            document_number: "榕市监不许〔2026〕3号".into(),
            reasons: vec!["经营场所与食品安全要求不符".into()],
        },
    );
    let case = w.case();
    assert_eq!(case.decision.as_ref().unwrap().outcome, Outcome::Denied);
    // The denial is delivered too.
    w.run(t(2026, 3, 3, 9, 0), &issuer(), claim("issue"));
    let e = w.refused(
        t(2026, 3, 3, 9, 1),
        &issuer(),
        Command::Issue {
            node: "issue".into(),
            delivery: Delivery::Mail {
                address: "".into(),
                carrier: "".into(),
                tracking_number: " ".into(),
            },
        },
    );
    assert_eq!(e.fields.len(), 3, "address, carrier and tracking number");
    let e = w.refused(
        t(2026, 3, 3, 9, 1),
        &issuer(),
        Command::Issue {
            node: "issue".into(),
            delivery: Delivery::Pickup {
                code: "12ab".into(),
            },
        },
    );
    assert_eq!(e.fields[0].message, "取件码应为 4–8 位数字");
    let e = w.refused(
        t(2026, 3, 3, 9, 1),
        &issuer(),
        Command::Return {
            node: "issue".into(),
            reason: "重审".into(),
        },
    );
    assert_eq!(e.code, "invalid_case_state");
    w.run(
        t(2026, 3, 3, 9, 2),
        &issuer(),
        Command::Issue {
            node: "issue".into(),
            delivery: Delivery::Mail {
                address: "云岭市青云大道1号".into(),
                carrier: "中国邮政EMS".into(),
                tracking_number: "1100123456789".into(),
            },
        },
    );
    assert_eq!(w.case().status, CaseStatus::Issued);
}

#[test]
fn a_decision_waits_until_no_suspension_is_open() {
    let mut w = World::default_process();
    w.in_progress(t(2026, 3, 2, 9, 0));
    w.run(t(2026, 3, 2, 10, 0), &approver(), claim("review"));
    w.run(t(2026, 3, 2, 10, 1), &approver(), approve("review"));
    w.run(t(2026, 3, 2, 11, 0), &decider(), claim("decide"));
    w.run(
        t(2026, 3, 2, 11, 1),
        &decider(),
        Command::RequestSupplement {
            node: "decide".into(),
            items: vec!["form".into()],
            note: "签字不全".into(),
        },
    );
    let e = w.refused(t(2026, 3, 2, 11, 2), &decider(), decide(Outcome::Approved));
    assert_eq!(e.title, "补正尚未结束，计时暂停中，不能作出决定");
    w.run(
        t(2026, 3, 4, 9, 0),
        &approver(),
        Command::Supplement {
            materials: vec!["form".into()],
        },
    );
    w.run(t(2026, 3, 4, 9, 1), &decider(), decide(Outcome::Approved));
}

#[test]
fn commands_out_of_turn_say_what_state_the_case_is_in() {
    let mut w = World::default_process();
    w.apply_at_window(t(2026, 3, 2, 9, 0), &["form"], &[]);
    let e = w.refused(t(2026, 3, 2, 9, 1), &clerk(), Command::Route);
    assert_eq!(e.title, "办件当前状态为“待补正”，不能推送到部门");
    assert_eq!(e.kind, Kind::Conflict);
    w.run(
        t(2026, 3, 2, 9, 2),
        &clerk(),
        Command::Supplement {
            materials: vec!["licence".into()],
        },
    );
    let e = w.refused(
        t(2026, 3, 2, 9, 3),
        &clerk(),
        Command::Supplement {
            materials: vec!["licence".into()],
        },
    );
    assert_eq!(e.code, "no_supplement_expected");
}

// ---- events ----

#[test]
fn a_case_rebuilt_from_its_stored_events_equals_the_case_built_event_by_event() {
    let mut w = deemed_world();
    w.in_progress(t(2026, 9, 30, 10, 0));
    w.tick(t(2026, 10, 10, 9, 0));
    w.run(t(2026, 10, 10, 9, 30), &decider(), claim("fire"));
    w.run(t(2026, 10, 10, 9, 35), &decider(), approve("fire"));
    w.run(t(2026, 10, 12, 9, 0), &decider(), claim("decide"));
    w.run(t(2026, 10, 12, 9, 5), &decider(), decide(Outcome::Approved));
    let stored: Vec<CaseEvent> = w
        .events
        .iter()
        .map(|e| serde_json::from_str(&serde_json::to_string(e).unwrap()).unwrap())
        .collect();
    assert_eq!(Case::replay(&stored).unwrap(), w.state.clone().unwrap());
    assert_eq!(Case::replay(&[]).unwrap_err().kind, Kind::Internal);
    assert_eq!(Case::replay(&stored[1..]).unwrap_err().kind, Kind::Internal);
}

#[test]
fn the_open_steps_show_their_due_dates() {
    let mut w = World::default_process();
    // Reached Fri 02-13; the review budget is 4: 02-14 (make-up), 02-24, 02-25, 02-26.
    w.in_progress(t(2026, 2, 13, 9, 0));
    w.run(t(2026, 2, 13, 9, 5), &approver(), claim("review"));
    let steps = w.case().open_steps(&w.process, &w.cal, d(2026, 2, 13));
    assert_eq!(steps.len(), 1);
    assert_eq!(
        (
            steps[0].name.as_str(),
            steps[0].due,
            steps[0].claimed_by.as_deref()
        ),
        ("审核", d(2026, 2, 26), Some("approver:wang"))
    );
}

// ---- bundles ----

fn member_case(w: &mut World, item_code: &str, number: &str) -> Case {
    w.item.code = item_code.into();
    w.events.clear();
    w.state = None;
    let mut r = World::receipt(&["form", "licence"], &[]);
    r.number = number.into();
    r.parent = Some("B1".into());
    let events = w
        .with_ctx(t(2026, 3, 2, 9, 0), |c| receive_at_window(&r, &clerk(), c))
        .unwrap();
    w.record(events);
    w.case()
}

#[test]
fn a_bundle_reports_which_sub_case_holds_it_up() {
    use crate::catalogue::{Bundle, BundleItem};
    // 开办餐馆: licence first; food and fire permits after it, in parallel; signage after fire.
    let member = |item: &str, after: &[&str]| BundleItem {
        item: item.into(),
        after: after.iter().map(|a| a.to_string()).collect(),
    };
    let b = Bundle {
        code: "B".into(),
        name: "开办餐馆一件事".into(),
        description: String::new(),
        items: vec![
            member("licence", &[]),
            member("food", &["licence"]),
            member("fire", &["licence"]),
            member("sign", &["fire"]),
        ],
        shared_materials: vec![],
    };
    assert_eq!(bundle::validate_bundle(&b), Ok(()));
    let mut w = World::default_process();
    let mut licence = member_case(&mut w, "licence", "C1");
    let p = bundle::bundle_progress(&b, &[&licence]);
    assert_eq!(p.holding_up, ["licence"]);
    assert_eq!(p.members[1].stage, bundle::MemberStage::Waiting);
    assert_eq!(p.members[3].waiting_for, ["fire"]);
    // The licence is approved: food and fire may start, fire first since signage waits on it.
    licence.decision = Some(crate::case::state::Decision {
        node: "decide".into(),
        outcome: Outcome::Approved,
        document_number: "1".into(),
        reasons: vec![],
        on: d(2026, 3, 3),
        by: "approver:zhao".into(),
    });
    let food = member_case(&mut w, "food", "C2");
    let p = bundle::bundle_progress(&b, &[&licence, &food]);
    assert_eq!(p.holding_up, ["fire", "food"]);
    assert_eq!(p.members[1].stage, bundle::MemberStage::Running);
    assert_eq!(p.members[2].stage, bundle::MemberStage::Ready);
    assert!(!p.complete && !p.failed);
    // A refused fire permit blocks the bundle.
    let mut fire = member_case(&mut w, "fire", "C3");
    fire.status = CaseStatus::Refused;
    let p = bundle::bundle_progress(&b, &[&licence, &food, &fire]);
    assert!(p.failed);
    assert_eq!(p.holding_up[0], "fire");
    assert_eq!(p.members[3].stage, bundle::MemberStage::Waiting);
}

#[test]
fn a_bundle_with_unknown_or_circular_prerequisites_is_refused() {
    use crate::catalogue::{Bundle, BundleItem};
    let b = |items: Vec<(&str, Vec<&str>)>| Bundle {
        code: "B".into(),
        name: "一件事".into(),
        description: String::new(),
        items: items
            .into_iter()
            .map(|(i, after)| BundleItem {
                item: i.into(),
                after: after.into_iter().map(str::to_string).collect(),
            })
            .collect(),
        shared_materials: vec![],
    };
    let e = bundle::validate_bundle(&b(vec![("a", vec!["x"]), ("a", vec![])])).unwrap_err();
    let m = message(&e);
    assert!(
        m.contains("前置事项“x”不在这件事中") && m.contains("事项“a”重复"),
        "{m}"
    );
    let e = bundle::validate_bundle(&b(vec![("a", vec!["b"]), ("b", vec!["a"]), ("c", vec![])]))
        .unwrap_err();
    assert!(message(&e).contains("前置关系构成循环"));
}

// ---- immediate items (即办件) ----

fn immediate() -> World {
    let mut item = item();
    item.kind = ItemKind::Immediate;
    item.committed_limit_days = 0;
    World::new(item, default_process(0))
}

fn on_the_spot(document_number: &str) -> Command {
    Command::DecideOnTheSpot {
        document_number: document_number.into(),
        delivery: Delivery::Pickup {
            code: "000123".into(),
        },
    }
}

#[test]
fn an_immediate_item_is_accepted_approved_and_issued_at_the_window_in_one_step() {
    let mut w = immediate();
    w.receive_only(t(2026, 3, 2, 10, 0), &["form", "licence"], &[]);
    let events = w.run(
        t(2026, 3, 2, 10, 5),
        &clerk(),
        on_the_spot("云公备〔2026〕1号"),
    );
    assert_eq!(
        kinds(&events),
        ["case_accepted", "case_decided", "case_issued"]
    );
    let case = w.case();
    assert_eq!(case.status, CaseStatus::Issued);
    assert_eq!(case.accepted_on, Some(d(2026, 3, 2)));
    let decision = case.decision.as_ref().unwrap();
    assert_eq!(decision.outcome, Outcome::Approved);
    assert_eq!(decision.node, "window");
    assert!(case.tokens.is_empty(), "no back-office step runs");
    assert_eq!(
        w.with_ctx(t(2026, 3, 2, 10, 5), |c| case.next_deadline(c)),
        None,
        "nothing left to time"
    );
}

#[test]
fn only_an_immediate_item_with_every_material_and_a_document_number_is_decided_on_the_spot() {
    let now = t(2026, 3, 2, 10, 0);
    let mut w = World::default_process();
    w.receive_only(now, &["form", "licence"], &[]);
    assert_eq!(
        w.refused(now, &clerk(), on_the_spot("X")).code,
        "not_immediate",
        "a committed item goes to its department"
    );
    let mut w = immediate();
    w.receive_only(now, &["form"], &[]);
    assert_eq!(
        w.refused(now, &clerk(), on_the_spot("X")).code,
        "materials_incomplete"
    );
    let mut w = immediate();
    w.receive_only(now, &["form", "licence"], &[]);
    let e = w.refused(now, &clerk(), on_the_spot(" "));
    assert_eq!(e.fields[0].field, "document_number", "{}", message(&e));
    assert_eq!(
        w.refused(now, &approver(), on_the_spot("X")).kind,
        Kind::Forbidden,
        "the window decides, not the back office"
    );
}

#[test]
fn a_routed_case_leaves_the_departments_confirmation_due_within_ten_office_minutes_r_route_10min() {
    let mut w = World::default_process();
    w.apply_at_window(t(2026, 3, 2, 9, 0), &["form", "licence"], &[]);
    let before = w.case();
    let now = t(2026, 3, 2, 11, 55);
    let events = w.run(now, &clerk(), Command::Route);
    let fx = w
        .with_ctx(now, |c| {
            crate::case::effects::Effects::of(Some(&before), &events, c)
        })
        .unwrap();
    assert_eq!(fx.after, w.case(), "the state after is the history folded");
    let confirm = &fx.work[0];
    assert_eq!(
        (
            confirm.node.as_str(),
            confirm.role,
            confirm.department.is_some()
        ),
        ("confirm", Role::Approver, true)
    );
    assert_eq!(confirm.since, now);
    assert_eq!(confirm.due, d(2026, 3, 2));
    assert!(
        fx.next_deadline.is_some(),
        "the confirmation deadline is timed"
    );
    assert!(fx.due_date.is_some(), "accepted: the clock runs");
}

#[test]
fn a_case_in_progress_leaves_work_and_a_light_to_change_and_a_refused_one_leaves_neither() {
    let mut w = World::default_process();
    w.in_progress(t(2026, 3, 2, 9, 0));
    let now = t(2026, 3, 3, 9, 0);
    let fx = w
        .with_ctx(now, |c| {
            crate::case::effects::Effects::of(Some(&w.case()), &[], c)
        })
        .unwrap();
    assert!(!fx.work.is_empty(), "in progress: the department has work");
    assert!(
        fx.next_warning.is_some(),
        "green: the light turns yellow later"
    );
    let refused = {
        let mut r = World::default_process();
        r.receive_only(t(2026, 3, 2, 9, 0), &["form"], &[]);
        r.run(
            t(2026, 3, 2, 10, 0),
            &clerk(),
            Command::Refuse {
                reasons: vec!["不属于本机关职权范围".into()],
            },
        );
        r.case()
    };
    let fx = w
        .with_ctx(now, |c| {
            crate::case::effects::Effects::of(Some(&refused), &[], c)
        })
        .unwrap();
    assert!(fx.work.is_empty() && fx.next_warning.is_none() && fx.next_deadline.is_none());
}
