//! The demo data set parses into the exchange types and keeps the rules a loader relies on.
//! The catalogue checks here state the catalogue's rules plainly, one test each, so a hall
//! director's data set can never reach `yichuang demo` half-consistent.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::*;
use crate::catalogue::{Bundle, Catalogue, ItemKind, ItemType, ServiceItem};

const CATALOGUE: &str = include_str!("../../../../data/demo/catalogue.json");
const HALLS: &str = include_str!("../../../../data/demo/halls.json");

fn catalogue() -> Catalogue {
    serde_json::from_str(CATALOGUE).expect("data/demo/catalogue.json parses as a Catalogue")
}

fn setup() -> HallSetup {
    serde_json::from_str(HALLS).expect("data/demo/halls.json parses as a HallSetup")
}

/// Paths of keys in `file` that the type dropped when read back: serde ignores unknown fields,
/// so a misspelt `deemed_aproval` would otherwise silently become the default.
fn ignored_keys(file: &Value, read_back: &Value, at: &str, out: &mut Vec<String>) {
    match (file, read_back) {
        (Value::Object(f), Value::Object(r)) => {
            for (k, v) in f {
                match r.get(k) {
                    Some(rv) => ignored_keys(v, rv, &format!("{at}.{k}"), out),
                    None => out.push(format!("{at}.{k}")),
                }
            }
        }
        (Value::Array(f), Value::Array(r)) => {
            for (i, (fv, rv)) in f.iter().zip(r).enumerate() {
                ignored_keys(fv, rv, &format!("{at}[{i}]"), out);
            }
        }
        _ => {}
    }
}

fn keys_the_type_ignores<T: DeserializeOwned + Serialize>(text: &str) -> Vec<String> {
    let file: Value = serde_json::from_str(text).unwrap();
    let typed: T = serde_json::from_value(file.clone()).unwrap();
    let mut out = Vec::new();
    ignored_keys(&file, &serde_json::to_value(typed).unwrap(), "", &mut out);
    out
}

fn item<'a>(c: &'a Catalogue, code: &str) -> Option<&'a ServiceItem> {
    c.items.iter().find(|i| i.code == code)
}

fn assert_unique<'a>(codes: impl IntoIterator<Item = &'a str>, what: &str) {
    let mut seen = HashSet::new();
    for code in codes {
        assert!(seen.insert(code), "{what}: code {code} appears twice");
    }
}

#[test]
fn the_demo_files_have_no_key_the_types_would_ignore() {
    assert_eq!(
        keys_the_type_ignores::<Catalogue>(CATALOGUE),
        Vec::<String>::new()
    );
    assert_eq!(
        keys_the_type_ignores::<HallSetup>(HALLS),
        Vec::<String>::new()
    );
}

#[test]
fn the_demo_is_a_city_centre_with_at_least_12_departments_and_30_items() {
    let c = catalogue();
    assert!(
        c.departments.len() >= 12,
        "{} departments",
        c.departments.len()
    );
    assert!(c.items.len() >= 30, "{} items", c.items.len());
    assert!(c.bundles.len() >= 2, "{} bundles", c.bundles.len());
}

#[test]
fn the_region_tree_has_one_root_and_every_parent_exists() {
    let c = catalogue();
    let codes: HashSet<&str> = c.regions.iter().map(|r| r.code.as_str()).collect();
    let roots: Vec<&str> = c
        .regions
        .iter()
        .filter(|r| r.parent.is_none())
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(roots, ["云岭市"]);
    for r in &c.regions {
        assert!(
            r.code.len() == 6 && r.code.bytes().all(|b| b.is_ascii_digit()),
            "region code {} is not a 6-digit 行政区划 code",
            r.code
        );
        if let Some(parent) = &r.parent {
            assert!(
                codes.contains(parent.as_str()),
                "{}: parent {parent} missing",
                r.code
            );
        }
    }
}

#[test]
fn every_department_belongs_to_an_existing_region() {
    let c = catalogue();
    let regions: HashSet<&str> = c.regions.iter().map(|r| r.code.as_str()).collect();
    for d in &c.departments {
        let region = d.region.as_deref().unwrap_or("");
        assert!(
            regions.contains(region),
            "{}: region {region:?} missing",
            d.code
        );
    }
}

#[test]
fn codes_are_unique_in_their_scope() {
    let c = catalogue();
    assert_unique(c.regions.iter().map(|r| r.code.as_str()), "regions");
    assert_unique(c.departments.iter().map(|d| d.code.as_str()), "departments");
    assert_unique(c.items.iter().map(|i| i.code.as_str()), "items");
    assert_unique(c.bundles.iter().map(|b| b.code.as_str()), "bundles");
    for i in &c.items {
        assert_unique(i.materials.iter().map(|m| m.code.as_str()), &i.code);
        assert_unique(i.situations.iter().map(|s| s.code.as_str()), &i.code);
        for s in &i.situations {
            assert_unique(s.options.iter().map(|o| o.code.as_str()), &s.code);
        }
    }
    for b in &c.bundles {
        assert_unique(b.items.iter().map(|m| m.item.as_str()), &b.code);
        assert_unique(b.shared_materials.iter().map(|m| m.code.as_str()), &b.code);
    }
}

#[test]
fn every_item_belongs_to_an_existing_department() {
    let c = catalogue();
    let departments: HashSet<&str> = c.departments.iter().map(|d| d.code.as_str()).collect();
    for i in &c.items {
        assert!(departments.contains(i.department.as_str()), "{}", i.code);
    }
}

/// R-DECIDE-20D: halls commit to less than the law allows, never more.
#[test]
fn committed_limits_never_exceed_statutory_limits() {
    for i in &catalogue().items {
        assert!(
            i.committed_limit_days <= i.statutory_limit_days,
            "{}: committed {} > statutory {}",
            i.code,
            i.committed_limit_days,
            i.statutory_limit_days
        );
    }
}

/// The rule chosen here: an immediate item is decided on the spot, so its committed limit is 0;
/// a committed item promises at least one working day.
#[test]
fn immediate_items_commit_0_days_and_committed_items_at_least_1() {
    for i in &catalogue().items {
        match i.kind {
            ItemKind::Immediate => assert_eq!(i.committed_limit_days, 0, "{}", i.code),
            ItemKind::Committed => assert!(i.committed_limit_days >= 1, "{}", i.code),
        }
    }
}

#[test]
fn committed_limits_are_far_below_statutory_ones_in_total() {
    let c = catalogue();
    let committed = c.items.iter().filter(|i| i.kind == ItemKind::Committed);
    let (statutory, promised) = committed.fold((0, 0), |(s, p), i| {
        (s + i.statutory_limit_days, p + i.committed_limit_days)
    });
    assert!(
        promised * 3 <= statutory,
        "committed {promised} days against statutory {statutory}: halls publish far shorter limits"
    );
}

#[test]
fn every_item_has_the_guide_elements_a_hall_publishes() {
    for i in &catalogue().items {
        for (field, value) in [
            ("name", &i.name),
            ("legal_basis", &i.legal_basis),
            ("conditions", &i.conditions),
            ("process_description", &i.process_description),
            ("consult_phone", &i.consult_phone),
            ("location", &i.location),
        ] {
            assert!(!value.trim().is_empty(), "{}: {field} is empty", i.code);
        }
        assert!(
            i.legal_basis.contains('《'),
            "{}: cite the law by name",
            i.code
        );
        assert!(!i.materials.is_empty(), "{}: no materials", i.code);
        assert!(
            i.on_site_visits <= 2,
            "{}: {} visits",
            i.code,
            i.on_site_visits
        );
        for m in &i.materials {
            assert!(m.copies >= 1, "{}/{}: copies", i.code, m.code);
        }
    }
}

#[test]
fn every_required_if_names_an_existing_question_and_option() {
    for i in &catalogue().items {
        for m in &i.materials {
            let Some(cond) = &m.required_if else { continue };
            let situation = i
                .situations
                .iter()
                .find(|s| s.code == cond.question)
                .unwrap_or_else(|| panic!("{}/{}: no question {}", i.code, m.code, cond.question));
            assert!(
                !cond.answers.is_empty(),
                "{}/{}: no answers",
                i.code,
                m.code
            );
            for a in &cond.answers {
                assert!(
                    situation.options.iter().any(|o| &o.code == a),
                    "{}/{}: question {} has no option {a}",
                    i.code,
                    m.code,
                    cond.question
                );
            }
        }
    }
}

/// A situation is a question whose answer changes the materials (GLOSSARY); one that changes
/// nothing would only make the applicant answer for nothing.
#[test]
fn every_situation_question_changes_some_material() {
    for i in &catalogue().items {
        for s in &i.situations {
            assert!(
                s.options.len() >= 2,
                "{}/{}: a question needs two answers",
                i.code,
                s.code
            );
            assert!(
                i.materials
                    .iter()
                    .any(|m| m.required_if.as_ref().is_some_and(|r| r.question == s.code)),
                "{}/{}: no material depends on it",
                i.code,
                s.code
            );
        }
    }
}

/// R-DEEMED and R-SPECIAL-TIME are visible in the demo: some items are deemed approved when
/// late, and some list special procedures whose time is not counted.
#[test]
fn some_items_show_deemed_approval_and_uncounted_special_procedures() {
    let c = catalogue();
    let deemed = c.items.iter().filter(|i| i.deemed_approval).count();
    assert!(deemed >= 2, "{deemed} items with deemed approval");
    let special: Vec<_> = c.items.iter().flat_map(|i| &i.special_procedures).collect();
    assert!(special.len() >= 3, "{} special procedures", special.len());
    for sp in special {
        assert!(sp.days > 0, "{}: days", sp.name);
        assert!(
            !sp.counted_in_limit,
            "{}: R-SPECIAL-TIME time is not counted",
            sp.name
        );
    }
    for i in c.items.iter().filter(|i| i.deemed_approval) {
        assert_eq!(
            i.kind,
            ItemKind::Committed,
            "{}: only a limit can run out",
            i.code
        );
    }
}

#[test]
fn the_demo_uses_the_common_item_types_and_both_kinds() {
    let c = catalogue();
    let types: Vec<ItemType> = c.items.iter().map(|i| i.item_type).collect();
    for t in [
        ItemType::Licensing,
        ItemType::Confirmation,
        ItemType::Payment,
        ItemType::Filing,
        ItemType::PublicService,
    ] {
        assert!(types.contains(&t), "no {} item", t.label());
    }
    let immediate = c
        .items
        .iter()
        .filter(|i| i.kind == ItemKind::Immediate)
        .count();
    assert!(
        immediate >= 5 && immediate < c.items.len(),
        "{immediate} immediate items"
    );
}

#[test]
fn the_walkthrough_items_are_there() {
    let c = catalogue();
    let names: Vec<&str> = c.items.iter().map(|i| i.name.as_str()).collect();
    for wanted in [
        "营业执照",
        "不动产转移登记",
        "公章刻制",
        "发票领用",
        "契税",
        "结婚登记",
        "社会保障卡",
    ] {
        assert!(
            names.iter().any(|n| n.contains(wanted)),
            "no item named like {wanted}"
        );
    }
}

/// Member items in the order their prerequisites allow, or `None` when `after` loops.
fn topological_order(b: &Bundle) -> Option<Vec<&str>> {
    let mut done: Vec<&str> = Vec::new();
    while done.len() < b.items.len() {
        let next = b.items.iter().find(|m| {
            !done.contains(&m.item.as_str()) && m.after.iter().all(|a| done.contains(&a.as_str()))
        })?;
        done.push(&next.item);
    }
    Some(done)
}

/// Which member must be done before which, transitively.
fn precedes(b: &Bundle) -> HashSet<(&str, &str)> {
    let mut before: HashSet<(&str, &str)> = b
        .items
        .iter()
        .flat_map(|m| m.after.iter().map(move |a| (a.as_str(), m.item.as_str())))
        .collect();
    loop {
        let implied: Vec<(&str, &str)> = before
            .iter()
            .flat_map(|&(a, m)| {
                before
                    .iter()
                    .filter(move |&&(m2, _)| m2 == m)
                    .map(move |&(_, z)| (a, z))
            })
            .filter(|pair| !before.contains(pair))
            .collect();
        if implied.is_empty() {
            return before;
        }
        before.extend(implied);
    }
}

#[test]
fn bundle_members_exist_and_prerequisites_are_members() {
    let c = catalogue();
    for b in &c.bundles {
        assert!(
            b.items.len() >= 2,
            "{}: a bundle joins several items",
            b.code
        );
        let members: HashSet<&str> = b.items.iter().map(|m| m.item.as_str()).collect();
        for m in &b.items {
            assert!(
                item(&c, &m.item).is_some(),
                "{}: no item {}",
                b.code,
                m.item
            );
            for a in &m.after {
                assert!(
                    members.contains(a.as_str()),
                    "{}: {a} is not a member",
                    b.code
                );
                assert_ne!(a, &m.item, "{}: {a} waits for itself", b.code);
            }
        }
    }
}

#[test]
fn bundle_prerequisites_are_acyclic_with_serial_and_parallel_steps() {
    let c = catalogue();
    let mut serial_edges = 0;
    let mut parallel_pairs = 0;
    for b in &c.bundles {
        assert!(
            topological_order(b).is_some(),
            "{}: prerequisites loop",
            b.code
        );
        let before = precedes(b);
        serial_edges += b.items.iter().map(|m| m.after.len()).sum::<usize>();
        for (i, x) in b.items.iter().enumerate() {
            for y in &b.items[i + 1..] {
                let (x, y) = (x.item.as_str(), y.item.as_str());
                if !before.contains(&(x, y)) && !before.contains(&(y, x)) {
                    parallel_pairs += 1;
                }
            }
        }
    }
    assert!(serial_edges >= 1, "no serial (串联) step");
    assert!(parallel_pairs >= 1, "no parallel (并联) steps");
}

#[test]
fn the_second_hand_home_bundle_runs_filing_then_tax_then_registration() {
    let c = catalogue();
    let b = c
        .bundles
        .iter()
        .find(|b| b.name == "二手房交易一件事")
        .unwrap();
    assert_eq!(
        topological_order(b).unwrap(),
        ["YL-ZJ-BA-001", "YL-SWJ-QT-001", "YL-BDC-QR-001"]
    );
}

#[test]
fn shared_materials_cover_materials_of_member_items() {
    let c = catalogue();
    for b in &c.bundles {
        let members: HashSet<&str> = b.items.iter().map(|m| m.item.as_str()).collect();
        let mut covered = HashSet::new();
        for s in &b.shared_materials {
            assert!(
                !s.covers.is_empty(),
                "{}/{}: covers nothing",
                b.code,
                s.code
            );
            for r in &s.covers {
                assert!(
                    members.contains(r.item.as_str()),
                    "{}/{}: {} not a member",
                    b.code,
                    s.code,
                    r.item
                );
                let i = item(&c, &r.item).unwrap();
                assert!(
                    i.materials.iter().any(|m| m.code == r.material),
                    "{}/{}: {} has no material {}",
                    b.code,
                    s.code,
                    r.item,
                    r.material
                );
                assert!(
                    covered.insert((r.item.as_str(), r.material.as_str())),
                    "{}: {}/{} is covered twice",
                    b.code,
                    r.item,
                    r.material
                );
            }
        }
    }
}

#[test]
fn the_demo_hall_setup_fits_the_demo_catalogue() {
    setup().check(&catalogue()).unwrap();
}

#[test]
fn the_demo_has_staff_for_every_role_but_admin_and_three_clerks() {
    let s = setup();
    for role in Role::ALL.into_iter().filter(|r| *r != Role::Admin) {
        assert!(
            s.staff.iter().any(|a| a.role == role),
            "no {} account",
            role.as_str()
        );
    }
    assert!(s.staff.iter().filter(|a| a.role == Role::Clerk).count() >= 3);
    assert!(s.staff.iter().filter(|a| a.role == Role::Approver).count() >= 3);
    assert_eq!(
        s.demo_password, "Demo-2026",
        "docs/demo.md publishes this password"
    );
}

#[test]
fn every_window_kind_is_set_up_in_the_city_hall() {
    let s = setup();
    let city = &s.halls[0];
    let kinds: HashSet<WindowKind> = city.windows.iter().map(|w| w.kind).collect();
    for k in WindowKind::ALL {
        assert!(kinds.contains(&k), "no {}", k.label());
    }
}

/// Each department in a region that has a hall can be reached from one of that hall's queues,
/// so no demo item is unreachable for a visitor taking a ticket.
#[test]
fn every_department_of_a_hall_region_is_served_by_one_of_its_queues() {
    let c = catalogue();
    let s = setup();
    let mut served: HashMap<&str, HashSet<&str>> = HashMap::new();
    for h in &s.halls {
        let set = served.entry(h.region.as_str()).or_default();
        set.extend(
            h.queues
                .iter()
                .flat_map(|q| q.departments.iter().map(String::as_str)),
        );
    }
    for d in &c.departments {
        let region = d.region.as_deref().unwrap();
        if let Some(set) = served.get(region) {
            assert!(
                set.contains(d.code.as_str()),
                "{} has no queue in its hall",
                d.code
            );
        }
    }
}

/// R-HOURS: the published hours, with Saturday-morning service in the city hall only.
#[test]
fn the_halls_keep_the_published_office_hours() {
    let s = setup();
    let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
    for h in &s.halls {
        assert_eq!(
            h.office_hours.working_days,
            [
                Period {
                    start: t(9, 0),
                    end: t(12, 0)
                },
                Period {
                    start: t(13, 30),
                    end: t(17, 30)
                }
            ]
        );
    }
    let saturday = &s.halls[0].office_hours.weekend_service;
    assert_eq!(saturday.len(), 1);
    assert_eq!(saturday[0].day, RestDay::Saturday);
    assert_eq!(
        saturday[0].periods,
        [Period {
            start: t(9, 0),
            end: t(12, 0)
        }]
    );
    assert!(s.halls[1].office_hours.weekend_service.is_empty());
}

#[test]
fn office_times_are_written_and_read_as_hh_mm() {
    let p: Period = serde_json::from_str(r#"{"start":"13:30","end":"17:30"}"#).unwrap();
    assert_eq!(
        serde_json::to_string(&p).unwrap(),
        r#"{"start":"13:30","end":"17:30"}"#
    );
    let e = serde_json::from_str::<Period>(r#"{"start":"下午1点半","end":"17:30"}"#).unwrap_err();
    assert!(e.to_string().contains("HH:MM"), "{e}");
}

#[test]
fn a_misspelt_key_in_the_hall_file_is_refused() {
    let text = HALLS.replacen("\"demo_password\"", "\"demo_pasword\"", 1);
    let e = serde_json::from_str::<HallSetup>(&text).unwrap_err();
    assert!(e.to_string().contains("demo_pasword"), "{e}");
}

/// The fields named in the error `check` returns for a broken copy of the demo set-up.
fn problems_after(change: impl FnOnce(&mut HallSetup)) -> Vec<(String, String)> {
    let mut s = setup();
    change(&mut s);
    let e = s.check(&catalogue()).unwrap_err();
    assert_eq!(e.code, "validation_failed");
    e.fields.into_iter().map(|f| (f.field, f.message)).collect()
}

#[test]
fn a_window_serving_a_queue_the_hall_lacks_is_reported() {
    let fields = problems_after(|s| s.halls[0].windows[0].queues.push("nowhere".into()));
    assert_eq!(fields.len(), 1, "{fields:?}");
    assert_eq!(fields[0].0, "halls[0].windows[0].queues");
    assert!(fields[0].1.contains("nowhere"), "{fields:?}");
}

#[test]
fn every_problem_is_reported_at_once() {
    let fields = problems_after(|s| {
        s.halls[1].region = "999999".into();
        s.halls[0].queues[1].prefix = "A".into();
        s.halls[0].windows[1].kind = WindowKind::Specialist;
        s.staff[0].hall = Some("NO-HALL".into());
    });
    let names: Vec<&str> = fields.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(
        names,
        [
            "halls[0].queues[1].prefix",
            "halls[0].windows[1].department",
            "halls[1].region",
            "staff[0].hall"
        ]
    );
}

#[test]
fn an_admin_account_cannot_come_from_the_demo_file() {
    let fields = problems_after(|s| s.staff[0].role = Role::Admin);
    assert_eq!(fields[0].0, "staff[0].role");
    assert!(fields[0].1.contains("YICHUANG_ADMIN_PASSWORD"));
}

#[test]
fn an_approver_without_a_department_is_reported() {
    let fields = problems_after(|s| {
        let approver = s
            .staff
            .iter_mut()
            .find(|a| a.role == Role::Approver)
            .unwrap();
        approver.department = None;
    });
    assert_eq!(fields.len(), 1, "{fields:?}");
    assert!(fields[0].1.contains("审批人员"), "{fields:?}");
}

#[test]
fn overlapping_or_reversed_office_periods_are_reported() {
    let t = |h| NaiveTime::from_hms_opt(h, 0, 0).unwrap();
    let fields = problems_after(|s| {
        s.halls[0].office_hours.working_days[1].start = t(11);
        s.halls[1].office_hours.working_days[0] = Period {
            start: t(12),
            end: t(9),
        };
    });
    let names: Vec<&str> = fields.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(
        names,
        [
            "halls[0].office_hours.working_days[1]",
            "halls[1].office_hours.working_days[0]"
        ]
    );
}

#[test]
fn duplicate_usernames_are_reported() {
    let fields = problems_after(|s| {
        let copy = s.staff[2].clone();
        s.staff.push(copy);
    });
    assert_eq!(fields.len(), 1, "{fields:?}");
    assert!(fields[0].1.contains("重复"), "{fields:?}");
}

/// Window codes are unique within a hall (API-V1 creates them under `/halls/{hall}/windows`);
/// the demo's two halls both have an A01.
#[test]
fn a_window_code_is_unique_within_its_hall_only() {
    let s = setup();
    assert_eq!(s.halls[0].windows[0].code, s.halls[1].windows[0].code);
    let fields = problems_after(|s| s.halls[0].windows[1].code = "A01".into());
    assert_eq!(fields.len(), 1, "{fields:?}");
    assert_eq!(fields[0].0, "halls[0].windows[1].code");
    assert!(fields[0].1.contains("窗口编码“A01”重复"), "{fields:?}");
}
