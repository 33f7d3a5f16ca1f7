//! `yichuang demo`: loads the demo data set (云岭市, `data/demo/`) into an empty database, through
//! the same code paths the API and import use, so the demo exercises the real thing.

use chrono::{DateTime, Utc};
use yichuang_domain::catalogue::Catalogue;
use yichuang_domain::demo::HallSetup;
use yichuang_domain::{Error, Result};
use yichuang_store::Db;

use crate::accounts::manage::{self, NewAccount, Operator};

const CATALOGUE: &str = include_str!("../../../data/demo/catalogue.json");
const HALLS: &str = include_str!("../../../data/demo/halls.json");
pub const ACTOR: &str = "system:demo";

/// The administrator's password in the demo when `YICHUANG_ADMIN_PASSWORD` is not set (the
/// README shows it). Only ever set when the demo loads into an empty database.
pub const DEMO_ADMIN_PASSWORD: &str = "Demo-2026";

pub fn catalogue() -> Result<Catalogue> {
    serde_json::from_str(CATALOGUE).map_err(|e| Error::internal(format!("demo catalogue: {e}")))
}

pub fn halls() -> Result<HallSetup> {
    serde_json::from_str(HALLS).map_err(|e| Error::internal(format!("demo halls: {e}")))
}

/// Loads the demo into an empty database; returns whether it loaded anything.
pub async fn load_if_empty(db: &Db, admin_password_set: bool, now: DateTime<Utc>) -> Result<bool> {
    if !yichuang_store::setup::is_unconfigured(db).await? {
        return Ok(false);
    }
    let catalogue = catalogue()?;
    let setup = halls()?;
    setup
        .check(&catalogue)
        .map_err(|e| Error::internal(format!("demo halls do not fit the catalogue: {e}")))?;
    yichuang_store::catalogue::import_catalogue(db, &catalogue, ACTOR, now).await?;
    if !admin_password_set {
        manage::ensure_admin(db, DEMO_ADMIN_PASSWORD, true, now).await?;
    }
    // Halls, queues and windows, with their office hours (R-HOURS) in the calendar; before the
    // staff, whose accounts name their hall.
    crate::hall::demo::load_demo_halls(db, &setup, now).await?;
    for s in &setup.staff {
        let input = NewAccount {
            username: s.username.clone(),
            profile: yichuang_domain::accounts::ProfileInput {
                display_name: s.display_name.clone(),
                role: s.role.as_str().to_string(),
                department: s.department.clone(),
                hall: s.hall.clone(),
                region: s.region.clone(),
                active: true,
            },
            password: Some(setup.demo_password.clone()),
        };
        manage::create(db, Operator::System(ACTOR), input, now).await?;
    }
    crate::lockers::api::load_demo(db, now).await?;
    crate::agency::load_demo(db, now).await?;
    tracing::info!(
        items = catalogue.items.len(),
        bundles = catalogue.bundles.len(),
        staff = setup.staff.len(),
        halls = setup.halls.len(),
        "demo data loaded"
    );
    Ok(true)
}
