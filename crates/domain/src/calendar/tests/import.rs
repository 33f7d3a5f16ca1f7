//! The import format: the shipped files, and bad input reported field by field.

use serde_json::json;

use super::{SHIPPED, d};
use crate::calendar::{LocalDay, LocalKind, YearArrangement};

fn fields(e: &crate::Error) -> Vec<&str> {
    e.fields.iter().map(|f| f.field.as_str()).collect()
}

#[test]
fn every_shipped_year_parses_and_survives_a_round_trip() {
    for (i, text) in SHIPPED.iter().enumerate() {
        let y = YearArrangement::from_toml(text).unwrap();
        assert_eq!(y.year, 2020 + i as i32);
        assert!(!y.notices.is_empty() && !y.holidays.is_empty());
        assert!(y.notices[0].number.starts_with("国办发明电〔"));
        assert_eq!(YearArrangement::from_toml(&y.to_toml()).unwrap(), y);
        let json = serde_json::to_value(&y).unwrap();
        assert_eq!(YearArrangement::from_value(&json).unwrap(), y);
    }
}

#[test]
fn the_2020_file_records_both_notices() {
    let y = YearArrangement::from_toml(SHIPPED[0]).unwrap();
    let numbers: Vec<_> = y.notices.iter().map(|n| n.number.as_str()).collect();
    assert_eq!(numbers, ["国办发明电〔2019〕16号", "国办发明电〔2020〕1号"]);
    assert!(y.source().contains("延长2020年春节假期"));
}

#[test]
fn bad_input_names_every_wrong_field_at_once() {
    let e = YearArrangement::from_toml(
        r#"
year = 2026
[[holidays]]
name = "春节"
from = 2026-02-23
to = 2026-02-15
[[holidays]]
nmae = "国庆节"
from = 2026-10-01
to = 2026-10-07
[[workdays]]
date = 2026-02-16
"#,
    )
    .unwrap_err();
    assert_eq!(e.code, "validation_failed");
    let f = fields(&e);
    for expected in [
        "notices",
        "holidays[0].to",
        "holidays[1].nmae",
        "holidays[1].name",
        "workdays[0].date",
    ] {
        assert!(f.contains(&expected), "{expected} missing from {f:?}");
    }
    assert!(e.fields.iter().all(|f| !f.message.is_empty()));
}

#[test]
fn a_make_up_day_must_be_a_weekend_and_outside_the_holidays() {
    let base = json!({
        "year": 2026,
        "notices": [{"title": "通知", "number": "国办发明电〔2025〕7号", "published": "2025-11-04"}],
        "holidays": [{"name": "元旦", "from": "2026-01-01", "to": "2026-01-03"}],
    });
    let mut v = base.clone();
    v["workdays"] = json!([{"date": "2026-01-05"}]);
    let e = YearArrangement::from_value(&v).unwrap_err();
    assert!(e.fields[0].message.contains("本来就是工作日"), "{e}");
    let mut v = base.clone();
    v["workdays"] = json!([{"date": "2026-01-03"}]);
    assert!(
        YearArrangement::from_value(&v).unwrap_err().fields[0]
            .message
            .contains("元旦")
    );
    let mut v = base;
    v["workdays"] = json!([{"date": "2026-01-04", "for": "元旦"}]);
    assert_eq!(
        YearArrangement::from_value(&v).unwrap().workdays[0].date,
        d("2026-01-04")
    );
}

#[test]
fn a_year_may_reach_into_the_neighbouring_december_and_january_only() {
    let text = |from: &str, to: &str| {
        format!(
            "year = 2023\n[[notices]]\ntitle = \"t\"\nnumber = \"n\"\npublished = 2022-12-08\n\
             [[holidays]]\nname = \"元旦\"\nfrom = {from}\nto = {to}\n"
        )
    };
    assert!(YearArrangement::from_toml(&text("2022-12-31", "2023-01-02")).is_ok());
    assert!(YearArrangement::from_toml(&text("2024-01-30", "2024-01-31")).is_ok());
    let e = YearArrangement::from_toml(&text("2022-11-29", "2022-11-30")).unwrap_err();
    assert_eq!(fields(&e), ["holidays[0].from"]);
}

#[test]
fn broken_toml_and_out_of_span_years_are_refused_in_chinese() {
    let e = YearArrangement::from_toml("year = = 2026").unwrap_err();
    assert_eq!(fields(&e), ["toml"]);
    assert!(e.fields[0].message.contains("TOML 格式有误"));
    let e = YearArrangement::from_value(&json!({"year": 2150, "notices": []})).unwrap_err();
    assert!(fields(&e).contains(&"year"));
    let e = YearArrangement::from_value(&json!({"year": 2026, "holidays": [{"name": "x", "from": "2026-01-01", "to": "2026-03-01"}], "notices": [{"title":"t","number":"n","published":"2025-13-01"}]})).unwrap_err();
    assert_eq!(fields(&e), ["notices[0].published", "holidays[0].to"]);
}

#[test]
fn overlapping_holidays_are_refused() {
    let e = YearArrangement::from_value(&json!({
        "year": 2026,
        "notices": [{"title": "t", "number": "n", "published": "2025-11-04"}],
        "holidays": [
            {"name": "国庆节", "from": "2026-10-01", "to": "2026-10-07"},
            {"name": "中秋节", "from": "2026-10-05", "to": "2026-10-06"}
        ]
    }))
    .unwrap_err();
    assert_eq!(fields(&e), ["holidays[1].from"]);
}

#[test]
fn a_local_day_is_validated() {
    let ok = LocalDay::from_value(
        "650000",
        &json!({"date": "2026-03-20", "kind": "holiday", "name": "古尔邦节"}),
    )
    .unwrap();
    assert_eq!(ok.kind, LocalKind::Holiday);
    let e = LocalDay::from_value("65 00", &json!({"date": "2026-02-30", "kind": "holiday"}))
        .unwrap_err();
    assert_eq!(fields(&e), ["region", "date", "name"]);
    let e =
        LocalDay::from_value("650000", &json!({"date": "2026-03-20", "kind": "rest"})).unwrap_err();
    assert_eq!(fields(&e), ["kind"]);
}
