//! The calendar's store on each backend.

use chrono::{NaiveDate, TimeZone, Utc};
use serde_json::json;
use yichuang_domain::calendar::{LocalDay, LocalKind, OfficeHours, YearArrangement};

use super::*;
use crate::testing;

fn arrangement(year: i32, holiday_to: &str) -> YearArrangement {
    YearArrangement::from_value(&json!({
        "year": year,
        "notices": [{"title": "测试通知", "number": "测试〔1〕1号", "published": format!("{}-11-01", year - 1)}],
        "holidays": [{"name": "元旦", "from": format!("{year}-01-01"), "to": holiday_to}],
    }))
    .unwrap()
}

#[tokio::test]
async fn seeding_loads_missing_years_once_and_never_overwrites_a_correction() {
    for db in testing::fresh_dbs().await {
        let now = Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap();
        let v0 = version(&db).await.unwrap();
        let shipped = [
            arrangement(2026, "2026-01-03"),
            arrangement(2027, "2027-01-01"),
        ];
        assert_eq!(seed_years(&db, now, &shipped).await.unwrap(), [2026, 2027]);
        let v1 = version(&db).await.unwrap();
        assert!(v1 > v0);

        let corrected = arrangement(2027, "2027-01-03");
        let mut tx = db.begin().await.unwrap();
        let before = put_year(&mut tx, now, "admin:admin", &corrected, ORIGIN_ADMIN)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(before, Some(shipped[1].clone()));

        // A restart seeds again: nothing changes, the version stays.
        let v2 = version(&db).await.unwrap();
        assert!(seed_years(&db, now, &shipped).await.unwrap().is_empty());
        assert_eq!(version(&db).await.unwrap(), v2);
        let data = load(&db).await.unwrap();
        assert_eq!(data.years, vec![shipped[0].clone(), corrected.clone()]);
        let years = list_years(&db).await.unwrap();
        assert_eq!(years[1].origin, ORIGIN_ADMIN);
        assert_eq!(years[1].updated_by, "admin:admin");

        let evs = crate::events::for_subject(&db, "calendar_year", "2027")
            .await
            .unwrap();
        let kinds: Vec<_> = evs.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["calendar_year_loaded", "calendar_year_corrected"]);
        let payload: serde_json::Value = serde_json::from_str(&evs[1].payload).unwrap();
        assert_eq!(payload["before"]["holidays"][0]["to"], "2027-01-01");
        assert_eq!(payload["after"]["holidays"][0]["to"], "2027-01-03");
    }
}

#[tokio::test]
async fn region_days_and_office_hours_are_stored_with_events() {
    for db in testing::fresh_dbs().await {
        let now = Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap();
        let date = NaiveDate::from_ymd_opt(2026, 3, 20).unwrap();
        let day = LocalDay {
            region: "650000".into(),
            date,
            kind: LocalKind::Holiday,
            name: Some("古尔邦节".into()),
        };
        let mut tx = db.begin().await.unwrap();
        assert_eq!(
            put_region_day(&mut tx, now, "admin:admin", &day)
                .await
                .unwrap(),
            None
        );
        tx.commit().await.unwrap();
        assert_eq!(
            region_days(&db, Some("650000")).await.unwrap(),
            vec![day.clone()]
        );
        assert!(region_days(&db, Some("110000")).await.unwrap().is_empty());
        assert_eq!(region_days(&db, None).await.unwrap().len(), 1);

        let v = version(&db).await.unwrap();
        let mut tx = db.begin().await.unwrap();
        delete_region_day(&mut tx, now, "admin:admin", "650000", date)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert!(version(&db).await.unwrap() > v);
        let mut tx = db.begin().await.unwrap();
        let e = delete_region_day(&mut tx, now, "admin:admin", "650000", date)
            .await
            .unwrap_err();
        assert_eq!(e.code, "calendar_region_day_not_found");
        drop(tx);
        let evs = crate::events::for_subject(&db, "calendar_region_day", "650000/2026-03-20")
            .await
            .unwrap();
        assert_eq!(evs.len(), 2);

        assert_eq!(office_hours(&db, "H1").await.unwrap(), None);
        let hours =
            OfficeHours::from_value(&json!({"workday": ["08:30-12:00", "14:00-17:30"]})).unwrap();
        let mut tx = db.begin().await.unwrap();
        put_office_hours(&mut tx, now, "admin:admin", "H1", &hours)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(office_hours(&db, "H1").await.unwrap(), Some(hours));
        let evs = crate::events::for_subject(&db, "hall", "H1").await.unwrap();
        assert_eq!(evs[0].kind, "office_hours_set");
    }
}
