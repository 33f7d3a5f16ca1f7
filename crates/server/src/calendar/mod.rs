//! The calendar service: the shipped arrangements, seeding, and the cached calendars every area
//! asks (`calendar::current(&state, region).await?`).
//!
//! Each instance keeps built calendars in memory and checks the database's change counter on
//! every use (one indexed read), so a correction made through any instance, the CLI or the store
//! takes effect everywhere at once (ARCHITECTURE principle 6: nothing that matters lives only in
//! memory).

pub mod api;
pub mod page;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, NaiveDate, Utc};
use yichuang_domain::calendar::{
    Calendar, Day, OfficeHours, OfficeTime, YearArrangement, valid_region,
};
use yichuang_domain::{Error, Result};
use yichuang_store::Db;
use yichuang_store::calendar::{self as store, CalendarData};

use crate::state::AppState;

/// The arrangements shipped with the binary, `data/calendar/YYYY.toml`.
const SHIPPED: [&str; 7] = [
    include_str!("../../../../data/calendar/2020.toml"),
    include_str!("../../../../data/calendar/2021.toml"),
    include_str!("../../../../data/calendar/2022.toml"),
    include_str!("../../../../data/calendar/2023.toml"),
    include_str!("../../../../data/calendar/2024.toml"),
    include_str!("../../../../data/calendar/2025.toml"),
    include_str!("../../../../data/calendar/2026.toml"),
];

pub fn shipped_years() -> Result<Vec<YearArrangement>> {
    SHIPPED
        .iter()
        .map(|t| YearArrangement::from_toml(t))
        .collect()
}

/// Loads the shipped years the database lacks (R-CALENDAR: corrections already made win).
pub async fn seed(db: &Db, now: DateTime<Utc>) -> Result<()> {
    let loaded = store::seed_years(db, now, &shipped_years()?).await?;
    if !loaded.is_empty() {
        tracing::info!(years = ?loaded, "loaded the shipped holiday arrangements");
    }
    Ok(())
}

/// The regions a division code (行政区划代码) implies for `code`, farthest first: 650102 is in
/// 650100, which is in 650000; 12-digit codes add the township and village levels. [`ancestry`]
/// adds the region tree's own parents to these.
pub fn region_chain(code: &str) -> Vec<String> {
    let mut chain: Vec<String> = Vec::new();
    let numeric = code.chars().all(|c| c.is_ascii_digit());
    if numeric && matches!(code.len(), 6 | 9 | 12) {
        for cut in [2, 4, 6, 9, 12] {
            if cut > code.len() {
                break;
            }
            let prefix = &code[..cut];
            if cut <= 6 {
                chain.push(format!("{prefix:0<6}"));
            }
            chain.push(format!("{prefix:0<width$}", width = code.len()));
        }
    }
    chain.push(code.to_string());
    let mut seen = std::collections::HashSet::new();
    chain.retain(|c| seen.insert(c.clone()));
    chain
}

/// A region's calendar from loaded data: national arrangements plus the chain's local days.
pub fn build(national: &Calendar, data: &CalendarData, region: &str) -> Calendar {
    let chain = ancestry(&data.region_parents, region);
    national.with_local_days(
        chain
            .iter()
            .flat_map(|c| data.region_days.iter().filter(move |d| &d.region == c)),
    )
}

/// The regions whose local days apply to `code`, farthest first: its ancestors in the region
/// tree, then those its division code implies that the tree does not hold (a local day may be
/// entered for a province the catalogue does not list), then `code` itself.
pub fn ancestry(parents: &HashMap<String, String>, code: &str) -> Vec<String> {
    let mut tree = Vec::new();
    let mut at = code;
    // The tree is validated acyclic on write; the bound only guards a damaged database.
    while let Some(p) = parents.get(at) {
        if tree.len() >= 16 || p == code || tree.contains(p) {
            break;
        }
        tree.push(p.clone());
        at = p;
    }
    tree.reverse();
    let mut chain = tree;
    for c in region_chain(code) {
        if !chain.contains(&c) && c != code {
            chain.push(c);
        }
    }
    chain.push(code.to_string());
    chain
}

pub fn check_region(region: &str) -> Result<()> {
    if valid_region(region) {
        Ok(())
    } else {
        Err(Error::validation(vec![])
            .field("region", "地区编码只能由字母、数字、-、_ 组成，最多32位"))
    }
}

/// The calendar straight from the database, without a cache (the CLI).
pub async fn load(db: &Db, region: Option<&str>) -> Result<Calendar> {
    let data = store::load(db).await?;
    let national = Calendar::new(data.years.clone());
    Ok(match region {
        Some(r) => {
            check_region(r)?;
            build(&national, &data, r)
        }
        None => national,
    })
}

#[derive(Default)]
struct Cached {
    /// The counter the calendars were built at; `None` before the first load.
    version: Option<i64>,
    data: CalendarData,
    national: Arc<Calendar>,
    regions: HashMap<String, Arc<Calendar>>,
    offices: HashMap<(String, Option<String>), Arc<OfficeTime>>,
}

/// The built calendars of this instance.
#[derive(Clone, Default)]
pub struct Cache(Arc<RwLock<Cached>>);

impl Cache {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Cached> {
        self.0.read().unwrap_or_else(|e| e.into_inner())
    }
    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Cached> {
        self.0.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// Rebuilds the cache if the database's calendar changed since it was built.
async fn refresh(state: &AppState) -> Result<()> {
    let v = store::version(&state.db).await?;
    if state.calendar.read().version == Some(v) {
        return Ok(());
    }
    let data = store::load(&state.db).await?;
    let national = Arc::new(Calendar::new(data.years.clone()));
    let mut c = state.calendar.write();
    if c.version.is_none_or(|old| old < data.version) {
        *c = Cached {
            version: Some(data.version),
            data,
            national,
            regions: HashMap::new(),
            offices: HashMap::new(),
        };
    }
    Ok(())
}

/// The current calendar of a region (the national one for `None`).
pub async fn current(state: &AppState, region: Option<&str>) -> Result<Arc<Calendar>> {
    refresh(state).await?;
    let Some(region) = region else {
        return Ok(state.calendar.read().national.clone());
    };
    check_region(region)?;
    if let Some(c) = state.calendar.read().regions.get(region) {
        return Ok(c.clone());
    }
    let mut c = state.calendar.write();
    let built = Arc::new(build(&c.national, &c.data, region));
    c.regions.insert(region.to_string(), built.clone());
    Ok(built)
}

/// A hall's office hours as set, or the default (R-HOURS), and whether they are the default.
pub async fn hours_of(db: &Db, hall: &str) -> Result<(OfficeHours, bool)> {
    Ok(match store::office_hours(db, hall).await? {
        Some(h) => (h, false),
        None => (OfficeHours::default(), true),
    })
}

/// A hall's office clock on its region's calendar (R-HOURS, for R-ROUTE-10MIN timers).
pub async fn office_time(
    state: &AppState,
    hall: &str,
    region: Option<&str>,
) -> Result<Arc<OfficeTime>> {
    let calendar = current(state, region).await?;
    let key = (hall.to_string(), region.map(str::to_string));
    if let Some(o) = state.calendar.read().offices.get(&key) {
        return Ok(o.clone());
    }
    let (hours, _) = hours_of(&state.db, hall).await?;
    let built = Arc::new(OfficeTime::new(&calendar, &hours));
    state.calendar.write().offices.insert(key, built.clone());
    Ok(built)
}

/// One day as the API, the page and the CLI show it.
pub fn day_json(d: &Day<'_>) -> serde_json::Value {
    let mut v = serde_json::json!({"date": d.date.to_string(), "kind": d.kind.as_str()});
    if let Some(n) = d.name {
        v["name"] = n.into();
    }
    if d.adjusted {
        v["adjusted"] = true.into();
    }
    if d.local {
        v["local"] = true.into();
    }
    if d.unofficial {
        v["unofficial"] = true.into();
    }
    v
}

/// A date that changed with a correction.
pub struct DayChange {
    pub date: NaiveDate,
    pub before: String,
    pub after: String,
}

fn describe(d: &Day<'_>) -> String {
    match (d.name, d.adjusted) {
        (Some(n), _) => format!("{}（{n}）", d.kind.label()),
        (None, true) => "调休上班".to_string(),
        (None, false) => d.kind.label().to_string(),
    }
}

/// What an import did.
pub struct Imported {
    pub year: i32,
    pub created: bool,
    pub changes: Vec<DayChange>,
}

/// Loads or corrects a year (API, page and CLI share it): stores it with its event, and reports
/// which days of the year's reach changed.
pub async fn import(
    db: &Db,
    now: DateTime<Utc>,
    actor: &str,
    y: &YearArrangement,
) -> Result<Imported> {
    let mut tx = db.begin().await?;
    let before = store::put_year(&mut tx, now, actor, y, store::ORIGIN_ADMIN).await?;
    tx.commit().await?;
    let old = Calendar::new(before.iter().cloned().collect());
    let new = Calendar::new(vec![y.clone()]);
    // For a new year `old` is the weekends-only fallback, so its notice's days are listed.
    let changes = old
        .differences(&new, y.year)
        .into_iter()
        .map(|(a, b)| DayChange {
            date: a.date,
            before: describe(&a),
            after: describe(&b),
        })
        .collect();
    Ok(Imported {
        year: y.year,
        created: before.is_none(),
        changes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(c, p)| (c.to_string(), p.to_string()))
            .collect()
    }

    #[test]
    fn a_division_code_implies_its_province_and_city() {
        assert_eq!(
            ancestry(&HashMap::new(), "650102"),
            ["650000", "650100", "650102"]
        );
    }

    #[test]
    fn the_region_tree_gives_ancestors_to_codes_that_imply_none() {
        let parents = tree(&[("XJ-URC-TS", "XJ-URC"), ("XJ-URC", "XJ")]);
        assert_eq!(
            ancestry(&parents, "XJ-URC-TS"),
            ["XJ", "XJ-URC", "XJ-URC-TS"]
        );
        assert_eq!(ancestry(&parents, "XJ"), ["XJ"]);
    }

    #[test]
    fn tree_and_code_ancestors_are_listed_once_farthest_first() {
        let parents = tree(&[("650102", "650100"), ("650100", "650000")]);
        assert_eq!(ancestry(&parents, "650102"), ["650000", "650100", "650102"]);
    }

    #[test]
    fn a_damaged_tree_with_a_cycle_still_ends() {
        let parents = tree(&[("A", "B"), ("B", "A")]);
        assert_eq!(ancestry(&parents, "A"), ["B", "A"]);
    }
}
