use super::*;
use crate::case::testkit::{TestCalendar, d, t};

const ELDER_ID: &str = "11010519491231002X";

fn mandate() -> Mandate {
    Mandate {
        agent: "agent01".into(),
        principal_name: "李秀英".into(),
        principal_id_number: ELDER_ID.into(),
        items: vec!["ITEM-A".into()],
        bundles: vec!["BUNDLE-OPEN-SHOP".into()],
        actions: vec![MandateAction::Apply, MandateAction::Supplement],
        valid_from: d(2026, 12, 1),
        valid_until: d(2026, 12, 31),
        revoked_at: None,
        document: Some("ab".repeat(32)),
    }
}

/// The refusal of `action` on item ITEM-A for the elder by agent01 at `now`.
fn refusal(m: &Mandate, action: MandateAction, now: NaiveDateTime) -> Error {
    m.authorise(
        "agent01",
        ELDER_ID,
        &MandateTarget::Item("ITEM-A".into()),
        action,
        now,
    )
    .unwrap_err()
}

#[test]
fn an_agent_with_a_mandate_may_apply_for_a_covered_bundle() {
    let m = mandate();
    let target = MandateTarget::Bundle("BUNDLE-OPEN-SHOP".into());
    assert!(
        m.authorise(
            "agent01",
            ELDER_ID,
            &target,
            MandateAction::Apply,
            t(2026, 12, 4, 10, 0)
        )
        .is_ok()
    );
}

#[test]
fn another_item_is_refused_naming_the_scope() {
    let m = mandate();
    let e = m
        .authorise(
            "agent01",
            ELDER_ID,
            &MandateTarget::Item("ITEM-B".into()),
            MandateAction::Apply,
            t(2026, 12, 4, 10, 0),
        )
        .unwrap_err();
    assert_eq!(e.kind, Kind::Forbidden);
    assert_eq!(e.code, "mandate_outside_scope");
    assert!(
        e.title.contains("事项 ITEM-B不在授权委托范围内"),
        "{}",
        e.title
    );
    assert!(e.title.contains("套餐 BUNDLE-OPEN-SHOP"), "{}", e.title);
}

#[test]
fn an_action_the_mandate_does_not_grant_is_refused() {
    let e = refusal(&mandate(), MandateAction::Collect, t(2026, 12, 4, 10, 0));
    assert_eq!(e.code, "mandate_action_outside_scope");
    assert!(e.title.contains("领取结果"), "{}", e.title);
}

#[test]
fn an_expired_mandate_is_refused_with_its_end_date_in_chinese() {
    let e = refusal(&mandate(), MandateAction::Apply, t(2027, 1, 1, 9, 0));
    assert_eq!(e.code, "mandate_expired");
    assert!(e.title.contains("2026年12月31日"), "{}", e.title);
}

#[test]
fn a_revoked_mandate_is_refused_from_the_moment_of_revocation() {
    let mut m = mandate();
    m.revoke(t(2026, 12, 4, 11, 0)).unwrap();
    let target = MandateTarget::Item("ITEM-A".into());
    assert!(
        m.authorise(
            "agent01",
            ELDER_ID,
            &target,
            MandateAction::Apply,
            t(2026, 12, 4, 10, 59)
        )
        .is_ok()
    );
    let e = m
        .authorise(
            "agent01",
            ELDER_ID,
            &target,
            MandateAction::Apply,
            t(2026, 12, 4, 11, 0),
        )
        .unwrap_err();
    assert_eq!(e.code, "mandate_revoked");
    assert!(m.revoke(t(2026, 12, 4, 12, 0)).is_err());
}

#[test]
fn another_agent_or_another_principal_is_refused() {
    let m = mandate();
    let target = MandateTarget::Item("ITEM-A".into());
    let now = t(2026, 12, 4, 10, 0);
    assert_eq!(
        m.authorise("agent02", ELDER_ID, &target, MandateAction::Apply, now)
            .unwrap_err()
            .code,
        "mandate_other_agent"
    );
    assert_eq!(
        m.authorise(
            "agent01",
            "110105194912310029",
            &target,
            MandateAction::Apply,
            now
        )
        .unwrap_err()
        .code,
        "mandate_other_principal"
    );
}

#[test]
fn a_mandate_without_scope_or_with_a_bad_id_reports_each_field() {
    let mut m = mandate();
    m.items.clear();
    m.bundles.clear();
    m.actions.clear();
    m.principal_id_number = "123".into();
    m.valid_until = d(2026, 11, 1);
    let e = m.validate(d(2026, 12, 4)).unwrap_err();
    let fields: Vec<&str> = e.fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(
        fields,
        ["principal_id_number", "scope", "actions", "valid_until"]
    );
    assert!(mandate().validate(d(2026, 12, 4)).is_ok());
}

#[test]
fn the_principal_is_masked_in_views_and_the_timeline() {
    let m = mandate();
    assert_eq!(m.principal_masked(), "李*英（1101**********002X）");
    assert_eq!(
        on_behalf_label("张三", "李秀英"),
        "代办员 张三 代 李*英（委托人）办理"
    );
}

#[test]
fn first_contact_turns_red_after_one_working_day() {
    let cal = TestCalendar::china_2025_2026();
    // Friday 2026-12-04 15:10: due on Monday 2026-12-07 (the next working day).
    let mut r = HelpRequest::new(HelpSource::Kiosk, t(2026, 12, 4, 15, 10));
    r.assign("agent01").unwrap();
    assert_eq!(r.first_contact_due(&cal), d(2026, 12, 7));
    assert_eq!(
        r.first_contact_light(&cal, d(2026, 12, 4)),
        Some(Light::Yellow)
    );
    assert_eq!(
        r.first_contact_light(&cal, d(2026, 12, 7)),
        Some(Light::Yellow)
    );
    assert_eq!(
        r.first_contact_light(&cal, d(2026, 12, 8)),
        Some(Light::Red)
    );
    r.contact("agent01", t(2026, 12, 8, 9, 0)).unwrap();
    assert_eq!(r.first_contact_light(&cal, d(2026, 12, 8)), None);
    assert_eq!(r.first_contact_on_time(&cal), Some(false));
    assert_eq!(r.state, HelpState::InService);
}

#[test]
fn only_the_assigned_agent_records_first_contact_once() {
    let mut r = HelpRequest::new(HelpSource::Phone, t(2026, 12, 4, 9, 0));
    assert!(r.contact("agent01", t(2026, 12, 4, 9, 30)).is_err());
    r.assign("agent01").unwrap();
    assert_eq!(
        r.contact("agent02", t(2026, 12, 4, 9, 30))
            .unwrap_err()
            .kind,
        Kind::Forbidden
    );
    r.contact("agent01", t(2026, 12, 4, 9, 30)).unwrap();
    assert!(r.contact("agent01", t(2026, 12, 4, 9, 40)).is_err());
    assert!(r.assign("agent02").is_err());
    r.close().unwrap();
    assert!(r.close().is_err());
}

#[test]
fn a_mandate_whose_signed_document_is_not_in_the_vault_does_not_act() {
    let m = Mandate {
        document: None,
        ..mandate()
    };
    let e = refusal(&m, MandateAction::Apply, t(2026, 12, 4, 10, 0));
    assert_eq!(e.code, "mandate_document_missing");
}

fn agent_actor(on_behalf: Option<OnBehalf>) -> crate::Actor {
    crate::Actor {
        role: crate::Role::Agent,
        on_behalf,
        ..crate::case::testkit::actor(9, "agent01", crate::Role::Agent, None)
    }
}

#[test]
fn an_agent_receives_at_the_front_desk_only_while_acting_for_a_principal() {
    let e = require_front_desk(&agent_actor(None), "收件").unwrap_err();
    assert_eq!(e.code, "mandate_required");
    assert!(e.title.contains("授权委托书"), "{}", e.title);
    let ob = OnBehalf::new("WT202612040001", "何平", &mandate());
    assert!(require_front_desk(&agent_actor(Some(ob)), "收件").is_ok());
    let approver = crate::case::testkit::actor(2, "wang", crate::Role::Approver, Some("scj"));
    assert!(require_front_desk(&approver, "收件").is_err());
}

#[test]
fn the_events_an_agent_causes_for_a_principal_name_both_and_mask_the_principal() {
    let ob = OnBehalf::new("WT202612040001", "何平", &mandate());
    assert_eq!(ob.principal, "李*英");
    assert_eq!(ob.label(), "代办员 何平 代 李*英（委托人）办理");
    let agent = agent_actor(Some(ob.clone()));
    let mine = crate::case::events::CaseEvent {
        at: t(2026, 12, 4, 10, 0),
        by: agent.event_name(),
        on_behalf_of: None,
        change: crate::case::events::Change::MaterialsReceived { materials: vec![] },
    };
    let systems = crate::case::events::CaseEvent {
        by: crate::case::events::SYSTEM.into(),
        ..mine.clone()
    };
    let mut events = vec![mine, systems];
    stamp(&mut events, &agent);
    assert_eq!(events[0].on_behalf_of.as_ref(), Some(&ob));
    assert_eq!(
        events[1].on_behalf_of, None,
        "a deadline passing is nobody's act"
    );
    let v = serde_json::to_value(&events[0]).unwrap();
    assert_eq!(v["on_behalf_of"]["principal"], "李*英");
    assert!(!v.to_string().contains("11010519491231002X"));
}

#[test]
fn the_public_help_form_reports_each_field_and_caps_open_requests_per_phone() {
    let e = check_public_request("", "123", "", 0).unwrap_err();
    let fields: Vec<&str> = e.fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, ["citizen_name", "citizen_phone", "need"]);
    assert!(check_public_request("李秀英", "13800138000", "办理营业执照", 2).is_ok());
    let e = check_public_request("李秀英", "13800138000", "办理营业执照", 3).unwrap_err();
    assert_eq!(e.fields[0].field, "citizen_phone");
}

#[test]
fn a_key_projects_milestones_are_named_in_order_and_not_in_the_past() {
    let today = d(2026, 12, 4);
    let m = |title: &str, due| MilestonePlan {
        title: title.into(),
        due_on: due,
    };
    assert!(check_project("新厂房", "云岭公司", &[m("立项", d(2026, 12, 20))], today).is_ok());
    let e = check_project(
        "新厂房",
        "云岭公司",
        &[m("立项", d(2027, 1, 20)), m("", d(2026, 12, 1))],
        today,
    )
    .unwrap_err();
    let fields: Vec<&str> = e.fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "milestones[1].title",
            "milestones[1].due_on",
            "milestones[1].due_on"
        ]
    );
    assert!(check_project("", "", &[], today).is_err());
}

#[test]
fn the_principal_rates_a_finished_service_once_and_says_why_when_unhappy() {
    assert_eq!(
        check_rating(HelpState::InService, false, 5, "")
            .unwrap_err()
            .code,
        "help_not_finished"
    );
    assert_eq!(
        check_rating(HelpState::Closed, true, 5, "")
            .unwrap_err()
            .code,
        "help_rated"
    );
    assert!(check_rating(HelpState::Closed, false, 5, "").is_ok());
    let e = check_rating(HelpState::Closed, false, 1, " ").unwrap_err();
    assert_eq!(e.fields[0].field, "comment");
    assert!(check_rating(HelpState::Closed, false, 0, "x").is_err());
}
