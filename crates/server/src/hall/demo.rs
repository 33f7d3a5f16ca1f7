//! The demo hall set-up (`data/demo/halls.json`): halls, queues and windows, created through
//! the same code as the set-up API. The integrator calls [`load_demo_halls`] from the demo
//! loader, after the catalogue (whose regions the halls name).

use chrono::{DateTime, Utc};
use yichuang_domain::Result;
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
            office_hours: plan
                .office_hours
                .working_days
                .iter()
                .map(|p| (p.start, p.end))
                .collect(),
            ..HallSettings::default()
        };
        let mut tx = db.begin().await?;
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
