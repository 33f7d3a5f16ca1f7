use super::*;
use crate::catalogue::fixtures::{sample_catalogue, sample_item};
use crate::catalogue::{BundleItem, MaterialRef, RequiredIf, SituationOption, SpecialProcedure};

fn fields(e: &crate::Error) -> Vec<&str> {
    e.fields.iter().map(|f| f.field.as_str()).collect()
}

fn known_scjg() -> Known<'static> {
    let mut k = Known::default();
    k.departments.insert("SCJG");
    k
}

#[test]
fn the_sample_catalogue_is_valid() {
    validate_catalogue(&sample_catalogue(), &Known::default()).unwrap();
}

#[test]
fn a_valid_item_passes() {
    validate_item(&sample_item(), &known_scjg()).unwrap();
}

#[test]
fn every_problem_of_an_item_is_reported_at_once() {
    let mut item = sample_item();
    item.code = "A B".into();
    item.name = "  ".into();
    item.department = "NOPE".into();
    item.committed_limit_days = 30;
    item.materials[1].code = "ID".into();
    item.materials[2].required_if = Some(RequiredIf {
        question: "agent".into(),
        answers: vec!["perhaps".into()],
    });
    item.materials[3].required_if = Some(RequiredIf {
        question: "colour".into(),
        answers: vec!["red".into()],
    });
    item.special_procedures[0].days = 0;
    let e = validate_item(&item, &known_scjg()).unwrap_err();
    assert_eq!(e.code, "validation_failed");
    assert_eq!(
        fields(&e),
        [
            "code",
            "name",
            "department",
            "committed_limit_days",
            "materials[1].code",
            "materials[2].required_if.answers",
            "materials[3].required_if.question",
            "special_procedures[0].days",
        ]
    );
    assert!(e.fields.iter().all(|f| !f.message.is_empty()));
}

#[test]
fn a_special_procedure_of_more_than_a_year_of_working_days_is_refused_r_special_time() {
    let mut item = sample_item();
    item.special_procedures[0].days = 251;
    let e = validate_item(&item, &known_scjg()).unwrap_err();
    assert_eq!(fields(&e), ["special_procedures[0].days"]);
    assert!(e.fields[0].message.contains("250"), "{e:?}");
    item.special_procedures[0].days = 250;
    validate_item(&item, &known_scjg()).unwrap();
}

#[test]
fn a_code_longer_than_64_characters_or_with_reserved_signs_is_refused() {
    let mut item = sample_item();
    item.code = "X".repeat(65);
    let e = validate_item(&item, &known_scjg()).unwrap_err();
    assert!(e.fields[0].message.contains("64"));
    for bad in ["A/B", "A?B", "A;B", "A=B", "A:B", "A\tB", ""] {
        item.code = bad.into();
        assert!(validate_item(&item, &known_scjg()).is_err(), "{bad:?}");
    }
    item.code = "X".repeat(64);
    validate_item(&item, &known_scjg()).unwrap();
}

#[test]
fn an_immediate_item_is_decided_on_the_spot_so_its_committed_limit_is_zero() {
    let mut item = sample_item();
    item.kind = ItemKind::Immediate;
    let e = validate_item(&item, &known_scjg()).unwrap_err();
    assert_eq!(fields(&e), ["committed_limit_days"]);
    assert!(e.fields[0].message.contains("即办件"));
    item.committed_limit_days = 0;
    validate_item(&item, &known_scjg()).unwrap();
    item.statutory_limit_days = 0;
    validate_item(&item, &known_scjg()).unwrap();
}

#[test]
fn a_committed_item_promises_at_least_one_day_and_no_more_than_the_law_allows() {
    let mut item = sample_item();
    item.committed_limit_days = 0;
    assert_eq!(
        fields(&validate_item(&item, &known_scjg()).unwrap_err()),
        ["committed_limit_days"]
    );
    item.committed_limit_days = 16;
    let e = validate_item(&item, &known_scjg()).unwrap_err();
    assert!(e.fields[0].message.contains("不能超过法定办结时限"));
    item.committed_limit_days = 15;
    validate_item(&item, &known_scjg()).unwrap();
}

#[test]
fn situations_need_unique_codes_two_options_and_labels_without_separators() {
    let mut item = sample_item();
    item.situations[1].code = "agent".into();
    item.situations[0].options.truncate(1);
    item.situations[0].options[0].label = "是;否".into();
    item.situations[1].options.push(SituationOption {
        code: "person".into(),
        label: "又一个".into(),
    });
    // The materials that referred to `kind` now refer to nothing.
    item.materials[3].required_if = None;
    let e = validate_item(&item, &known_scjg()).unwrap_err();
    assert_eq!(
        fields(&e),
        [
            "situations[0].options",
            "situations[0].options[0].label",
            "situations[1].code",
            "situations[1].options[2].code",
        ]
    );
}

#[test]
fn a_material_needs_at_least_one_copy_and_a_condition_with_answers() {
    let mut item = sample_item();
    item.materials[0].copies = 0;
    item.materials[2]
        .required_if
        .as_mut()
        .unwrap()
        .answers
        .clear();
    let e = validate_item(&item, &known_scjg()).unwrap_err();
    assert_eq!(
        fields(&e),
        ["materials[0].copies", "materials[2].required_if.answers"]
    );
}

#[test]
fn special_procedure_names_are_unique_within_an_item() {
    let mut item = sample_item();
    item.special_procedures.push(SpecialProcedure {
        name: "现场核查".into(),
        days: 3,
        counted_in_limit: true,
    });
    let e = validate_item(&item, &known_scjg()).unwrap_err();
    assert_eq!(fields(&e), ["special_procedures[1].name"]);
}

#[test]
fn a_region_sits_below_an_existing_parent() {
    let c = sample_catalogue();
    let known = Known::default().with_catalogue(&c);
    let mut r = c.regions[1].clone();
    validate_region(&r, &known).unwrap();
    r.level = RegionLevel::City;
    assert_eq!(fields(&validate_region(&r, &known).unwrap_err()), ["level"]);
    r.parent = Some("999".into());
    assert_eq!(
        fields(&validate_region(&r, &known).unwrap_err()),
        ["parent"]
    );
}

#[test]
fn a_department_in_an_unknown_region_is_refused() {
    let mut d = sample_catalogue().departments[0].clone();
    d.region = Some("000000".into());
    d.name = String::new();
    let e = validate_department(&d, &Known::default()).unwrap_err();
    assert_eq!(fields(&e), ["name", "region"]);
}

#[test]
fn bundle_members_must_exist_and_prerequisites_must_be_members() {
    let c = sample_catalogue();
    let known = Known::default().with_catalogue(&c);
    let mut b = c.bundles[0].clone();
    b.items.push(BundleItem {
        item: "GHOST".into(),
        after: vec!["SW-001".into(), "ELSEWHERE".into()],
    });
    let e = validate_bundle(&b, &known).unwrap_err();
    assert_eq!(fields(&e), ["items[2].item", "items[2].after[1]"]);
}

#[test]
fn a_bundle_whose_prerequisites_form_a_cycle_is_refused() {
    let c = sample_catalogue();
    let known = Known::default().with_catalogue(&c);
    let mut b = c.bundles[0].clone();
    b.items[0].after = vec!["SW-001".into()];
    let e = validate_bundle(&b, &known).unwrap_err();
    assert_eq!(fields(&e), ["items"]);
    assert!(e.fields[0].message.contains("循环"));
}

#[test]
fn a_bundle_needs_two_members() {
    let c = sample_catalogue();
    let known = Known::default().with_catalogue(&c);
    let mut b = c.bundles[0].clone();
    b.items.truncate(1);
    b.shared_materials.clear();
    assert_eq!(fields(&validate_bundle(&b, &known).unwrap_err()), ["items"]);
}

#[test]
fn shared_materials_cover_existing_materials_of_members_once() {
    let c = sample_catalogue();
    let known = Known::default().with_catalogue(&c);
    let mut b = c.bundles[0].clone();
    b.shared_materials[0].covers.push(MaterialRef {
        item: "SW-001".into(),
        material: "NOPE".into(),
    });
    b.shared_materials[0].covers.push(MaterialRef {
        item: "SCJG-002".into(),
        material: "ID".into(),
    });
    b.shared_materials[0].covers.push(MaterialRef {
        item: "SCJG-001".into(),
        material: "ID".into(),
    });
    let e = validate_bundle(&b, &known).unwrap_err();
    assert_eq!(
        fields(&e),
        [
            "shared_materials[0].covers[2]",
            "shared_materials[0].covers[3]",
            "shared_materials[0].covers[4]",
        ]
    );
}

#[test]
fn a_catalogue_reports_duplicate_codes_and_broken_references_with_their_paths() {
    let mut c = sample_catalogue();
    c.items[1].code = "SCJG-001".into();
    c.departments[1].region = Some("NOWHERE".into());
    c.items[2].department = "GONE".into();
    c.bundles[0].items[1].item = "MISSING".into();
    let e = validate_catalogue(&c, &Known::default()).unwrap_err();
    let f = fields(&e);
    assert!(f.contains(&"items[1].code"), "{f:?}");
    assert!(f.contains(&"departments[1].region"), "{f:?}");
    assert!(f.contains(&"items[2].department"), "{f:?}");
    assert!(f.contains(&"bundles[0].items[1].item"), "{f:?}");
}

#[test]
fn a_catalogue_may_refer_to_what_is_already_stored() {
    let full = sample_catalogue();
    let stored = Known::default().with_catalogue(&full);
    let mut only_items = Catalogue {
        items: vec![full.items[2].clone()],
        ..Catalogue::default()
    };
    validate_catalogue(&only_items, &stored).unwrap();
    only_items.items[0].department = "ELSEWHERE".into();
    assert!(validate_catalogue(&only_items, &stored).is_err());
}

#[test]
fn a_retired_item_cannot_join_a_bundle() {
    let c = sample_catalogue();
    let mut known = Known::default().with_catalogue(&c);
    known.retired.insert("SW-001");
    let e = validate_bundle(&c.bundles[0], &known).unwrap_err();
    assert_eq!(fields(&e), ["items[1].item"]);
    assert!(e.fields[0].message.contains("已停用"));
}

#[test]
fn a_result_names_a_valid_material_code_and_at_most_a_hundred_years() {
    let mut item = sample_item();
    item.result.name = "食品经营许可证".into();
    item.result.material = "food licence".into();
    item.result.valid_years = 101;
    let e = validate_item(&item, &known_scjg()).unwrap_err();
    assert_eq!(fields(&e), ["result.material", "result.valid_years"]);
    item.result.material = "food_licence".into();
    item.result.valid_years = 5;
    validate_item(&item, &known_scjg()).unwrap();
}

#[test]
fn a_result_runs_to_the_day_before_its_anniversary_and_long_term_has_no_end() {
    use crate::catalogue::ItemResult;
    let d = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap();
    let five = ItemResult {
        valid_years: 5,
        ..Default::default()
    };
    assert_eq!(five.valid_until(d(2026, 12, 2)), Some(d(2031, 12, 1)));
    assert_eq!(five.valid_until(d(2028, 2, 29)), Some(d(2033, 2, 28)));
    assert_eq!(ItemResult::default().valid_until(d(2026, 12, 2)), None);
    assert_eq!(five.vault_code("SCJG-001"), "RESULT:SCJG-001");
    let shared = ItemResult {
        material: "business_license".into(),
        ..Default::default()
    };
    assert_eq!(shared.vault_code("SCJG-001"), "business_license");
}
