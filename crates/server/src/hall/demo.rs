//! The demo hall set-up (`data/demo/halls.json`): halls, queues and windows, created through
//! the same code as the set-up API. The integrator calls [`load_demo_halls`] from the demo
//! loader, after the catalogue (whose regions the halls name).

use chrono::{DateTime, Utc};
use yichuang_domain::Result;
use yichuang_domain::calendar::{Interval, OfficeHours};
use yichuang_domain::demo::HallSetup;
use yichuang_store::Db;
use yichuang_store::hall as store;

use super::HallSettings;
use super::setup::{
    HallBody, QueueBody, WindowBody, create_hall_in, create_queue_in, create_window_in,
};

const ACTOR: &str = "system:demo";

/// Creates every hall of `setup` not yet in the database, with its queues and windows, one
/// transaction per hall. Returns how many halls were created.
pub async fn load_demo_halls(db: &Db, setup: &HallSetup, now: DateTime<Utc>) -> Result<usize> {
    let mut created = 0;
    for plan in &setup.halls {
        if store::hall(db, &plan.code).await.is_ok() {
            continue;
        }
        let settings = HallSettings {
            phone: plan.phone.clone(),
            address: plan.address.clone(),
            ..HallSettings::default()
        };
        let minutes = |t: chrono::NaiveTime| {
            u16::try_from(chrono::Timelike::num_seconds_from_midnight(&t) / 60).unwrap_or(0)
        };
        let periods = |ps: &[yichuang_domain::demo::Period]| {
            ps.iter()
                .map(|p| Interval::new(minutes(p.start), minutes(p.end)))
                .collect::<Vec<_>>()
        };
        // R-HOURS: the hall's published hours go to the calendar, which owns office time.
        let hours = OfficeHours {
            workday: periods(&plan.office_hours.working_days),
            extended: vec![],
            restday: plan
                .office_hours
                .weekend_service
                .first()
                .map(|w| periods(&w.periods))
                .unwrap_or_default(),
            holiday: vec![],
        };
        let mut tx = db.begin().await?;
        yichuang_store::calendar::put_office_hours(&mut tx, now, ACTOR, &plan.code, &hours).await?;
        let body = HallBody {
            code: plan.code.clone(),
            name: plan.name.clone(),
            region: Some(plan.region.clone()),
            settings: Some(settings),
        };
        create_hall_in(&mut tx, &body, ACTOR, now).await?;
        let hall = store::hall_in_tx(&mut tx, &plan.code).await?;
        for q in &plan.queues {
            let b = QueueBody {
                code: q.code.clone(),
                name: q.name.clone(),
                prefix: q.prefix.clone(),
            };
            create_queue_in(&mut tx, &hall, &b, ACTOR, now).await?;
        }
        for w in &plan.windows {
            let kind = serde_json::to_value(w.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            let b = WindowBody {
                code: w.code.clone(),
                name: w.name.clone(),
                kind,
                queues: w.queues.clone(),
            };
            create_window_in(&mut tx, &hall, &b, ACTOR, now).await?;
        }
        tx.commit().await?;
        created += 1;
    }
    Ok(created)
}
