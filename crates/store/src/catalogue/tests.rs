//! Catalogue repository tests, on SQLite and (when configured) PostgreSQL.

use chrono::{DateTime, TimeZone, Utc};
use yichuang_domain::catalogue::fixtures::{sample_catalogue, sample_item};
use yichuang_domain::catalogue::{Catalogue, Department, Region, RegionLevel};
use yichuang_domain::{Error, Kind};

use super::*;
use crate::{Db, events, testing};

const ACTOR: &str = "admin:test";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap()
}

async fn seeded() -> Vec<Db> {
    let mut out = Vec::new();
    for db in testing::fresh_dbs().await {
        import_catalogue(&db, &sample_catalogue(), ACTOR, t0())
            .await
            .unwrap();
        out.push(db);
    }
    out
}

async fn event_count(db: &Db) -> usize {
    events::since(db, 0, 1_000_000).await.unwrap().len()
}

fn fields(e: &Error) -> Vec<&str> {
    e.fields.iter().map(|f| f.field.as_str()).collect()
}

#[tokio::test]
async fn an_imported_catalogue_exports_exactly_as_it_came_in() {
    for db in seeded().await {
        assert_eq!(export_catalogue(&db).await.unwrap(), sample_catalogue());
    }
}

#[tokio::test]
async fn an_item_loads_by_code_with_its_materials_in_order() {
    for db in seeded().await {
        let r = item(&db, "SCJG-001").await.unwrap().unwrap();
        assert_eq!(r.item, sample_item());
        assert!(r.active);
        assert_eq!(r.version, 1);
        assert_eq!(r.updated_at, t0());
        assert!(item(&db, "NOPE").await.unwrap().is_none());
    }
}

#[tokio::test]
async fn importing_the_same_catalogue_again_changes_nothing_and_records_nothing() {
    for db in seeded().await {
        let before = event_count(&db).await;
        let s = import_catalogue(&db, &sample_catalogue(), ACTOR, t0())
            .await
            .unwrap();
        assert!(!s.changed());
        assert_eq!(s.items.unchanged, 3);
        assert_eq!(s.bundles.unchanged, 1);
        assert_eq!(event_count(&db).await, before);
        assert_eq!(item(&db, "SCJG-001").await.unwrap().unwrap().version, 1);
    }
}

#[tokio::test]
async fn an_import_with_a_changed_item_updates_only_that_item() {
    for db in seeded().await {
        let mut c = sample_catalogue();
        c.items[1].committed_limit_days = 2;
        let s = import_catalogue(&db, &c, ACTOR, t0()).await.unwrap();
        assert_eq!(s.items.updated, 1);
        assert_eq!(s.items.unchanged, 2);
        let r = item(&db, "SCJG-002").await.unwrap().unwrap();
        assert_eq!(r.version, 2);
        assert_eq!(r.item.committed_limit_days, 2);
        let ev = events::for_subject(&db, "item", "SCJG-002").await.unwrap();
        assert_eq!(ev.last().unwrap().kind, "item_updated");
        let payload: serde_json::Value = serde_json::from_str(&ev.last().unwrap().payload).unwrap();
        assert_eq!(payload["before"]["committed_limit_days"], 3);
        assert_eq!(payload["after"]["committed_limit_days"], 2);
    }
}

#[tokio::test]
async fn an_invalid_import_writes_nothing_at_all() {
    for db in testing::fresh_dbs().await {
        let mut c = sample_catalogue();
        c.items[2].department = "GONE".into();
        c.items[0].materials[0].copies = 0;
        let e = import_catalogue(&db, &c, ACTOR, t0()).await.unwrap_err();
        assert_eq!(
            fields(&e),
            ["items[0].materials[0].copies", "items[2].department"]
        );
        assert_eq!(export_catalogue(&db).await.unwrap(), Catalogue::default());
        assert_eq!(event_count(&db).await, 0);
    }
}

#[tokio::test]
async fn an_import_that_would_break_a_stored_bundle_is_refused() {
    for db in seeded().await {
        let mut c = sample_catalogue();
        c.bundles.clear();
        c.items[2].materials.retain(|m| m.code != "ID");
        let e = import_catalogue(&db, &c, ACTOR, t0()).await.unwrap_err();
        assert_eq!(fields(&e), ["一件事 KD"]);
        assert!(e.fields[0].message.contains("SW-001"), "{e:?}");
        assert_eq!(export_catalogue(&db).await.unwrap(), sample_catalogue());
    }
}

#[tokio::test]
async fn creating_an_item_checks_its_department_and_its_code() {
    for db in seeded().await {
        let mut it = sample_item();
        it.code = "NEW-1".into();
        it.department = "NOPE".into();
        it.name = String::new();
        let mut tx = db.begin().await.unwrap();
        let e = create_item(&mut tx, &it, ACTOR, t0()).await.unwrap_err();
        assert_eq!(fields(&e), ["name", "department"]);
        drop(tx);

        let mut tx = db.begin().await.unwrap();
        let e = create_item(&mut tx, &sample_item(), ACTOR, t0())
            .await
            .unwrap_err();
        assert_eq!(e.kind, Kind::Conflict);
        assert!(e.title.contains("SCJG-001"));
        drop(tx);

        it.department = "SW".into();
        it.name = "新事项".into();
        let mut tx = db.begin().await.unwrap();
        let r = create_item(&mut tx, &it, ACTOR, t0()).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(r.version, 1);
        assert_eq!(item(&db, "NEW-1").await.unwrap().unwrap().item, it);
        let ev = events::for_subject(&db, "item", "NEW-1").await.unwrap();
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].kind, "item_created");
    }
}

#[tokio::test]
async fn replacing_an_item_needs_the_current_version() {
    for db in seeded().await {
        let mut it = sample_item();
        it.fee = "免费".into();
        it.materials.swap(0, 1);
        let mut tx = db.begin().await.unwrap();
        let r = replace_item(&mut tx, "SCJG-001", &it, 1, ACTOR, t0())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(r.version, 2);
        let stored = item(&db, "SCJG-001").await.unwrap().unwrap();
        assert_eq!(stored.item, it);
        assert_eq!(stored.version, 2);

        let mut tx = db.begin().await.unwrap();
        let e = replace_item(&mut tx, "SCJG-001", &sample_item(), 1, ACTOR, t0())
            .await
            .unwrap_err();
        assert_eq!(e.kind, Kind::Conflict);
        assert_eq!(e.code, "stale_version");
        drop(tx);
        assert_eq!(item(&db, "SCJG-001").await.unwrap().unwrap().item, it);
    }
}

#[tokio::test]
async fn replacing_an_item_with_what_is_stored_records_nothing() {
    for db in seeded().await {
        let before = event_count(&db).await;
        let mut tx = db.begin().await.unwrap();
        let r = replace_item(&mut tx, "SCJG-001", &sample_item(), 1, ACTOR, t0())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(r.version, 1);
        assert_eq!(event_count(&db).await, before);
    }
}

#[tokio::test]
async fn an_item_in_a_bundle_cannot_be_retired_but_another_can_and_comes_back() {
    for db in seeded().await {
        let mut tx = db.begin().await.unwrap();
        let e = set_item_active(&mut tx, "SW-001", false, ACTOR, t0())
            .await
            .unwrap_err();
        assert_eq!(e.code, "item_in_bundle");
        drop(tx);

        let mut tx = db.begin().await.unwrap();
        let r = set_item_active(&mut tx, "SCJG-002", false, ACTOR, t0())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert!(!r.active);
        assert_eq!(r.version, 2);
        let (total, _) = list_items(&db, &page(None)).await.unwrap();
        assert_eq!(total, 2);
        let retired = ItemQuery {
            status: ItemStatus::Retired,
            ..page(None)
        };
        let (_, list) = list_items(&db, &retired).await.unwrap();
        assert_eq!(codes(&list), ["SCJG-002"]);
        assert!(
            !export_catalogue(&db)
                .await
                .unwrap()
                .items
                .iter()
                .any(|i| i.code == "SCJG-002")
        );

        // Importing the catalogue again puts it back in force.
        let s = import_catalogue(&db, &sample_catalogue(), ACTOR, t0())
            .await
            .unwrap();
        assert_eq!(s.items.updated, 1);
        let r = item(&db, "SCJG-002").await.unwrap().unwrap();
        assert!(r.active);
        assert_eq!(r.version, 3);
        let ev = events::for_subject(&db, "item", "SCJG-002").await.unwrap();
        let kinds: Vec<&str> = ev.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["item_created", "item_retired", "item_reactivated"]);
    }
}

fn page(q: Option<&str>) -> ItemQuery {
    ItemQuery {
        q: q.map(String::from),
        limit: 20,
        ..ItemQuery::default()
    }
}

fn codes(list: &[ItemSummary]) -> Vec<&str> {
    list.iter().map(|s| s.code.as_str()).collect()
}

#[tokio::test]
async fn search_finds_substrings_of_names_and_codes_in_any_case() {
    for db in seeded().await {
        let find = |q: &'static str| {
            let db = db.clone();
            async move {
                let (total, list) = list_items(&db, &page(Some(q))).await.unwrap();
                assert_eq!(total as usize, list.len());
                codes(&list)
                    .into_iter()
                    .map(String::from)
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(find("工商户").await, ["SCJG-001", "SCJG-002"]);
        assert_eq!(find("变更").await, ["SCJG-002"]);
        assert_eq!(find("scjg-00").await, ["SCJG-001", "SCJG-002"]);
        assert_eq!(find("税").await, ["SW-001"]);
        assert_eq!(find("工商户 设立").await, ["SCJG-001"]);
        assert!(find("登记变更").await.is_empty());
        assert!(find("100%").await.is_empty());
        assert_eq!(find("  ").await.len(), 3);
        let (_, list) = list_items(&db, &page(None)).await.unwrap();
        assert_eq!(list[0].department_name, "市场监督管理局");
    }
}

#[tokio::test]
async fn lists_page_through_items_in_code_order_and_filter_by_department() {
    for db in seeded().await {
        let q = ItemQuery {
            limit: 2,
            offset: 2,
            ..page(None)
        };
        let (total, list) = list_items(&db, &q).await.unwrap();
        assert_eq!(total, 3);
        assert_eq!(codes(&list), ["SW-001"]);
        let q = ItemQuery {
            department: Some("SCJG".into()),
            ..page(None)
        };
        let (total, list) = list_items(&db, &q).await.unwrap();
        assert_eq!(total, 2);
        assert_eq!(codes(&list), ["SCJG-001", "SCJG-002"]);
    }
}

#[tokio::test]
async fn regions_form_a_tree_and_departments_hang_from_them() {
    for db in testing::fresh_dbs().await {
        let city = Region {
            code: "3301".into(),
            name: "示范市".into(),
            parent: None,
            level: RegionLevel::City,
        };
        let town = Region {
            code: "330101001".into(),
            name: "示范街道".into(),
            parent: Some("3301".into()),
            level: RegionLevel::Township,
        };
        let mut tx = db.begin().await.unwrap();
        let e = create_region(&mut tx, &town, ACTOR, t0())
            .await
            .unwrap_err();
        assert_eq!(fields(&e), ["parent"]);
        create_region(&mut tx, &city, ACTOR, t0()).await.unwrap();
        create_region(&mut tx, &town, ACTOR, t0()).await.unwrap();
        let e = create_region(&mut tx, &city, ACTOR, t0())
            .await
            .unwrap_err();
        assert_eq!(e.kind, Kind::Conflict);
        let dept = Department {
            code: "JD".into(),
            name: "街道办".into(),
            region: Some("330101001".into()),
        };
        create_department(&mut tx, &dept, ACTOR, t0())
            .await
            .unwrap();
        let e = create_department(
            &mut tx,
            &Department {
                code: "X".into(),
                name: "某部门".into(),
                region: Some("000".into()),
            },
            ACTOR,
            t0(),
        )
        .await
        .unwrap_err();
        assert_eq!(fields(&e), ["region"]);
        tx.commit().await.unwrap();
        assert_eq!(regions(&db).await.unwrap(), [city, town]);
        assert_eq!(departments(&db).await.unwrap(), [dept]);
        assert!(department_exists(&db, "JD").await.unwrap());
    }
}

#[tokio::test]
async fn bundles_are_created_replaced_with_their_version_and_found_from_their_items() {
    for db in seeded().await {
        let mut b = sample_catalogue().bundles[0].clone();
        b.code = "KD2".into();
        b.items[1].after.clear();
        let mut tx = db.begin().await.unwrap();
        create_bundle(&mut tx, &b, ACTOR, t0()).await.unwrap();
        let e = create_bundle(&mut tx, &b, ACTOR, t0()).await.unwrap_err();
        assert_eq!(e.kind, Kind::Conflict);
        tx.commit().await.unwrap();
        assert_eq!(bundle(&db, "KD2").await.unwrap().unwrap().bundle, b);
        assert_eq!(
            bundles_of_item(&db, "SW-001").await.unwrap(),
            [
                ("KD".to_string(), "我要开店".to_string()),
                ("KD2".to_string(), "我要开店".to_string())
            ]
        );

        b.name = "开店一件事".into();
        let mut tx = db.begin().await.unwrap();
        let r = replace_bundle(&mut tx, "KD2", &b, 1, ACTOR, t0())
            .await
            .unwrap();
        assert_eq!(r.version, 2);
        let e = replace_bundle(&mut tx, "KD2", &b, 1, ACTOR, t0())
            .await
            .unwrap_err();
        assert_eq!(e.code, "stale_version");
        tx.commit().await.unwrap();
        assert_eq!(bundles(&db).await.unwrap().len(), 2);
    }
}

#[tokio::test]
async fn an_item_a_department_and_a_process_kept_in_memory_are_read_afresh_once_changed() {
    use crate::cases::{definitions, issuance};
    use yichuang_domain::case::process::default_process;
    // Each change alone, in its own transaction, after everything was read (and kept) again.
    async fn read_all(
        db: &Db,
    ) -> (
        Option<ItemRecord>,
        Option<ItemRecord>,
        Option<String>,
        Option<u32>,
    ) {
        (
            item(db, "SCJG-001").await.unwrap(),
            item(db, "NEW-001").await.unwrap(),
            issuance::department_name(db, "SCJG").await.unwrap(),
            definitions::latest_process(db, "P-CACHE")
                .await
                .unwrap()
                .map(|p| p.version),
        )
    }
    for db in seeded().await {
        let (first, new, department, process) = read_all(&db).await;
        assert_eq!(first.unwrap().version, 1);
        assert!(new.is_none());
        assert_eq!(department.as_deref(), Some("市场监督管理局"));
        assert_eq!(process, None);

        let mut it = sample_item();
        it.fee = "免费".into();
        let mut tx = db.begin().await.unwrap();
        replace_item(&mut tx, "SCJG-001", &it, 1, ACTOR, t0())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let stored = read_all(&db).await.0.unwrap();
        assert_eq!((stored.version, stored.item.fee.as_str()), (2, "免费"));

        let mut renamed = export_catalogue(&db).await.unwrap();
        renamed.departments[0].name = "市场监管局".into();
        import_catalogue(&db, &renamed, ACTOR, t0()).await.unwrap();
        assert_eq!(read_all(&db).await.2.as_deref(), Some("市场监管局"));

        let mut added = export_catalogue(&db).await.unwrap();
        let mut new_item = sample_item();
        new_item.code = "NEW-001".into();
        added.items.push(new_item);
        import_catalogue(&db, &added, ACTOR, t0()).await.unwrap();
        assert!(read_all(&db).await.1.is_some(), "no longer unknown");

        let mut process = default_process(5);
        process.code = "P-CACHE".into();
        for (name, version) in [("一个流程", 1), ("另一流程", 2)] {
            process.name = name.into();
            let mut tx = db.begin().await.unwrap();
            definitions::save_process(&mut tx, &process, t0())
                .await
                .unwrap();
            tx.commit().await.unwrap();
            assert_eq!(read_all(&db).await.3, Some(version));
        }

        let mut tx = db.begin().await.unwrap();
        set_item_active(&mut tx, "NEW-001", false, ACTOR, t0())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert!(!read_all(&db).await.1.unwrap().active);

        // Made one at a time, not by an import.
        assert!(
            issuance::department_name(&db, "NEWD")
                .await
                .unwrap()
                .is_none()
        );
        let department = Department {
            code: "NEWD".into(),
            name: "新部门".into(),
            region: None,
        };
        let mut tx = db.begin().await.unwrap();
        create_department(&mut tx, &department, ACTOR, t0())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            issuance::department_name(&db, "NEWD")
                .await
                .unwrap()
                .as_deref(),
            Some("新部门")
        );
        assert!(item(&db, "NEW-002").await.unwrap().is_none());
        let mut another = sample_item();
        another.code = "NEW-002".into();
        let mut tx = db.begin().await.unwrap();
        create_item(&mut tx, &another, ACTOR, t0()).await.unwrap();
        tx.commit().await.unwrap();
        assert!(item(&db, "NEW-002").await.unwrap().is_some());
    }
}
