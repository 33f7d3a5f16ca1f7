//! The calendar's data (R-CALENDAR, R-HOURS): loaded years, regions' local days, halls' office
//! hours. Every change appends its event and bumps `calendar_version`, which each server
//! instance compares with the version its cached calendar was built from.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use yichuang_domain::calendar::{LocalDay, LocalKind, OfficeHours, YearArrangement};
use yichuang_domain::{Error, Result};

use crate::db::{db_err, micros};
use crate::events::{self, NewEvent};
use crate::{Db, Tx, db_run, tx_run};

/// Where a loaded year came from.
pub const ORIGIN_SHIPPED: &str = "shipped";
pub const ORIGIN_ADMIN: &str = "admin";

/// Everything a calendar is built from, with the version it was read at.
#[derive(Debug, Clone, Default)]
pub struct CalendarData {
    pub version: i64,
    pub years: Vec<YearArrangement>,
    pub region_days: Vec<LocalDay>,
    /// The region tree (code → parent code): whose local days a region inherits. Region writes
    /// bump the calendar version too, so a moved region rebuilds every instance's calendars.
    pub region_parents: HashMap<String, String>,
}

/// A loaded year as listed to administrators.
#[derive(Debug, Clone)]
pub struct YearRecord {
    pub arrangement: YearArrangement,
    pub origin: String,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
}

#[derive(sqlx::FromRow)]
struct YearRow {
    arrangement: String,
    origin: String,
    updated_at: i64,
    updated_by: String,
}

#[derive(sqlx::FromRow)]
struct DayRow {
    region: String,
    day: String,
    kind: String,
    name: Option<String>,
}

fn parse_year(json: &str) -> Result<YearArrangement> {
    serde_json::from_str(json).map_err(|e| Error::internal(format!("stored calendar year: {e}")))
}

fn to_local(r: DayRow) -> Result<LocalDay> {
    let date = NaiveDate::parse_from_str(&r.day, "%Y-%m-%d")
        .map_err(|e| Error::internal(format!("stored region day {}: {e}", r.day)))?;
    let kind = match r.kind.as_str() {
        "holiday" => LocalKind::Holiday,
        _ => LocalKind::Workday,
    };
    Ok(LocalDay {
        region: r.region,
        date,
        kind,
        name: r.name,
    })
}

fn kind_str(k: LocalKind) -> &'static str {
    match k {
        LocalKind::Holiday => "holiday",
        LocalKind::Workday => "workday",
    }
}

/// What one request has read of the change counter (see [`version_scope`]).
#[derive(Default)]
struct Memo {
    version: std::cell::Cell<Option<i64>>,
    /// The request wrote a change: from then on it reads the counter afresh every time.
    spoilt: std::cell::Cell<bool>,
    /// It may take the counter from what this process last read of it ([`guessing_scope`]).
    may_guess: bool,
    /// It took it so, on this database (and its [`Db::identity`]), and the value taken, while
    /// no write of it has checked it yet.
    guessed: std::cell::RefCell<Option<(Db, String, i64)>>,
    /// A write found the counter moved past what it took: it must run again.
    moved: std::cell::Cell<bool>,
}

tokio::task_local! {
    static MEMO: Memo;
}

/// Runs a request with the change counter read from the database at most once: the calendar,
/// settings and hall caches each check the counter, several times in one command, and the
/// first answer serves the rest of the request. A request that changes something the counter
/// covers ([`bump`]) reads it afresh from then on. Outside a scope (background work) every
/// check reads the database.
pub async fn version_scope<F: std::future::Future>(f: F) -> F::Output {
    MEMO.scope(Memo::default(), f).await
}

/// Runs a request that writes, as [`version_scope`], but without reading the change counter
/// at all when this process has read it before: it takes the value last read, and the
/// request's writes check it.
///
/// - On SQLite the first write checks it as it joins the writer's turn, before it runs
///   anything, against the counter as the shared transaction sees it
///   ([`crate::db::SqliteWrite`]), at one read per group commit.
/// - On PostgreSQL the first list of deferred writes a transaction sends carries the check in
///   one of its statements, at no statement of its own; a transaction that sends none checks
///   it on its own before it commits (`PgWrite::check_counter`).
///
/// A request that writes nothing reads the counter once at its end instead. Either way, when
/// the counter had moved, the write fails and its transaction with it, and the answer is
/// `true`: the caller runs the request again, whole, in a [`version_scope`] (its credentials
/// and every kept value it used may have changed, and nothing of it was written). Another
/// instance's change is so seen at once, as before, and a request costs no statement for the
/// counter (issue 9's eighteenth and nineteenth parts).
pub async fn guessing_scope<F: std::future::Future>(f: F) -> (F::Output, bool) {
    let memo = Memo {
        may_guess: true,
        ..Memo::default()
    };
    MEMO.scope(memo, async {
        let out = f.await;
        let (unchecked, moved) = MEMO.with(|m| (m.guessed.borrow_mut().take(), m.moved.get()));
        let moved = match unchecked {
            _ if moved => true,
            // A failed read runs the request again rather than trust the guess.
            Some((db, _, guess)) => read_counter(&db, true).await.ok() != Some(guess),
            None => false,
        };
        (out, moved)
    })
    .await
}

/// What this process last read of each database's change counter, for [`guessing_scope`].
static LAST_READ: std::sync::LazyLock<std::sync::Mutex<HashMap<String, i64>>> =
    std::sync::LazyLock::new(Default::default);

fn last_read() -> std::sync::MutexGuard<'static, HashMap<String, i64>> {
    LAST_READ.lock().unwrap_or_else(|e| e.into_inner())
}

/// The counter this request took without reading it, if no write has checked it yet.
pub(crate) fn unchecked(db: &Db) -> Option<i64> {
    MEMO.try_with(|m| {
        let guessed = m.guessed.borrow();
        let (_, identity, v) = guessed.as_ref()?;
        (*identity == db.identity()).then_some(*v)
    })
    .ok()
    .flatten()
}

/// A write found the counter as the request took it: it holds for the rest of the request,
/// as a read would.
pub(crate) fn checked() {
    let _ = MEMO.try_with(|m| m.guessed.borrow_mut().take());
}

/// A write found the counter moved: the request runs again ([`guessing_scope`]). What it took
/// stays unchecked, so that any later write of the request (one a handler makes after the
/// failure, say) is refused the same way.
pub(crate) fn found_moved() {
    let _ = MEMO.try_with(|m| m.moved.set(true));
}

/// Reads the change counter now if this request is in a [`version_scope`] and has not read it
/// yet: a write transaction does so before it waits for the SQLite writer's turn, so that the
/// kept things its command checks (calendar, settings, halls) cost the turn no read through the
/// pool. Outside a scope it does nothing (nothing would keep the answer).
pub async fn read_ahead(db: &Db) -> Result<()> {
    let unread = MEMO
        .try_with(|m| !m.spoilt.get() && m.version.get().is_none())
        .unwrap_or(false);
    if unread {
        version(db).await?;
    }
    Ok(())
}

/// The change counter of the calendar, the settings, the halls and queues, and the accounts and
/// their credentials: one indexed read, at most once per request (see [`version_scope`]), none
/// in a [`guessing_scope`] that can take it from an earlier read; on SQLite on the asking
/// thread ([`crate::read_here`]), not through the pool's connection threads. Every
/// instance's caches of those compare it, so a change any instance commits is seen by all at
/// their next request.
pub async fn version(db: &Db) -> Result<i64> {
    let remembered = MEMO.try_with(|m| {
        if m.spoilt.get() {
            return None;
        }
        if let Some(v) = m.version.get() {
            return Some(v);
        }
        if !m.may_guess {
            return None;
        }
        let identity = db.identity();
        let v = *last_read().get(&identity)?;
        m.version.set(Some(v));
        *m.guessed.borrow_mut() = Some((db.clone(), identity, v));
        Some(v)
    });
    if let Ok(Some(v)) = remembered {
        return Ok(v);
    }
    // A request that moved the counter reads it before its change commits: that value is
    // about to be old, and is not worth keeping as the last read.
    let spoilt = MEMO.try_with(|m| m.spoilt.get()).unwrap_or(false);
    let v = read_counter(db, !spoilt).await?;
    let _ = MEMO.try_with(|m| {
        if !m.spoilt.get() {
            m.version.set(Some(v));
        }
    });
    Ok(v)
}

/// Reads the change counter from the database and, `note`, keeps it as this process's last
/// read.
async fn read_counter(db: &Db, note: bool) -> Result<i64> {
    let here = match db {
        Db::Sqlite(p) => crate::read_here::version(p.connect_options().get_filename()),
        Db::Postgres(_) => None,
    };
    let v: i64 = match here {
        Some(v) => v,
        None => db_run!(db, |c| sqlx::query_scalar(COUNTER)
            .fetch_one(c)
            .await
            .map_err(db_err))?,
    };
    if note {
        last_read().insert(db.identity(), v);
    }
    Ok(v)
}

/// The change counter's read.
pub(crate) const COUNTER: &str = "SELECT version FROM calendar_version WHERE id = 1";

/// Moves the change counter (in the transaction of the change).
pub(crate) async fn bump(tx: &mut Tx) -> Result<()> {
    tx.check_counter().await?;
    let _ = MEMO.try_with(|m| {
        m.spoilt.set(true);
        m.version.set(None);
    });
    // Requests that would take the counter from the last read read it again until one has
    // read the new value (one that read the old one meanwhile is checked at its commit).
    last_read().remove(&tx.db().identity());
    tx_run!(tx, |c| sqlx::query(
        "UPDATE calendar_version SET version = version + 1 WHERE id = 1"
    )
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected());
    tx.counter_moved();
    Ok(())
}

/// Everything needed to build calendars. The version is read first, so a change committed
/// while loading makes the next check rebuild again rather than be missed.
pub async fn load(db: &Db) -> Result<CalendarData> {
    let version = version(db).await?;
    let years = list_years(db)
        .await?
        .into_iter()
        .map(|r| r.arrangement)
        .collect();
    let region_days = region_days(db, None).await?;
    let parents: Vec<(String, String)> = db_run!(db, |c| sqlx::query_as(
        "SELECT code, parent FROM regions WHERE parent IS NOT NULL"
    )
    .fetch_all(c)
    .await
    .map_err(db_err))?;
    Ok(CalendarData {
        version,
        years,
        region_days,
        region_parents: parents.into_iter().collect(),
    })
}

pub async fn list_years(db: &Db) -> Result<Vec<YearRecord>> {
    let rows: Vec<YearRow> = db_run!(db, |c| sqlx::query_as::<_, YearRow>(
        "SELECT arrangement, origin, updated_at, updated_by FROM calendar_years ORDER BY year"
    )
    .fetch_all(c)
    .await
    .map_err(db_err)?);
    rows.into_iter()
        .map(|r| {
            Ok(YearRecord {
                arrangement: parse_year(&r.arrangement)?,
                origin: r.origin,
                updated_at: crate::from_micros(r.updated_at),
                updated_by: r.updated_by,
            })
        })
        .collect()
}

async fn stored_year(tx: &mut Tx, year: i32) -> Result<Option<YearArrangement>> {
    let json: Option<String> = tx_run!(tx, |c| sqlx::query_scalar(
        "SELECT arrangement FROM calendar_years WHERE year = $1"
    )
    .bind(i64::from(year))
    .fetch_optional(c)
    .await
    .map_err(db_err)?);
    json.as_deref().map(parse_year).transpose()
}

const UPSERT_YEAR: &str = "INSERT INTO calendar_years (year, source, arrangement, origin, updated_at, updated_by) \
     VALUES ($1, $2, $3, $4, $5, $6) \
     ON CONFLICT (year) DO UPDATE SET source = excluded.source, arrangement = excluded.arrangement, \
     origin = excluded.origin, updated_at = excluded.updated_at, updated_by = excluded.updated_by";
const INSERT_MISSING_YEAR: &str = "INSERT INTO calendar_years (year, source, arrangement, origin, updated_at, updated_by) \
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (year) DO NOTHING";

/// Writes a year with `sql` and, if a row was written, its event. Returns whether it wrote.
async fn write_year(
    tx: &mut Tx,
    now: DateTime<Utc>,
    actor: &str,
    y: &YearArrangement,
    origin: &str,
    before: Option<&YearArrangement>,
    sql: &'static str,
) -> Result<bool> {
    let json = serde_json::to_string(y).map_err(Error::internal)?;
    let source = y.source();
    let n = tx_run!(tx, |c| sqlx::query(sql)
        .bind(i64::from(y.year))
        .bind(&source)
        .bind(&json)
        .bind(origin)
        .bind(micros(now))
        .bind(actor)
        .execute(c)
        .await
        .map_err(db_err)?
        .rows_affected());
    if n == 0 {
        return Ok(false);
    }
    events::append(
        tx,
        now,
        NewEvent {
            actor,
            kind: if before.is_some() {
                "calendar_year_corrected"
            } else {
                "calendar_year_loaded"
            },
            subject_type: "calendar_year",
            subject_id: &y.year.to_string(),
            payload: json!({"origin": origin, "source": source, "before": before, "after": y}),
        },
    )
    .await?;
    Ok(true)
}

/// Loads or corrects a year; returns what was there before (None for a new year).
pub async fn put_year(
    tx: &mut Tx,
    now: DateTime<Utc>,
    actor: &str,
    y: &YearArrangement,
    origin: &str,
) -> Result<Option<YearArrangement>> {
    let before = stored_year(tx, y.year).await?;
    write_year(tx, now, actor, y, origin, before.as_ref(), UPSERT_YEAR).await?;
    bump(tx).await?;
    Ok(before)
}

/// Loads the shipped years the database does not have; years already there are left alone
/// (an administrator's correction wins). Safe when several instances start at once.
pub async fn seed_years(
    db: &Db,
    now: DateTime<Utc>,
    shipped: &[YearArrangement],
) -> Result<Vec<i32>> {
    let mut tx = db.begin().await?;
    let mut loaded = Vec::new();
    for y in shipped {
        if write_year(
            &mut tx,
            now,
            "system:seed",
            y,
            ORIGIN_SHIPPED,
            None,
            INSERT_MISSING_YEAR,
        )
        .await?
        {
            loaded.push(y.year);
        }
    }
    if !loaded.is_empty() {
        bump(&mut tx).await?;
    }
    tx.commit().await?;
    Ok(loaded)
}

/// Local days of one region, or of every region, by region then date.
pub async fn region_days(db: &Db, region: Option<&str>) -> Result<Vec<LocalDay>> {
    let rows: Vec<DayRow> = db_run!(db, |c| sqlx::query_as::<_, DayRow>(
        "SELECT region, day, kind, name FROM calendar_region_days \
         WHERE $1 IS NULL OR region = $1 ORDER BY region, day"
    )
    .bind(region)
    .fetch_all(c)
    .await
    .map_err(db_err)?);
    rows.into_iter().map(to_local).collect()
}

async fn stored_region_day(tx: &mut Tx, region: &str, date: NaiveDate) -> Result<Option<LocalDay>> {
    let row: Option<DayRow> = tx_run!(tx, |c| {
        sqlx::query_as::<_, DayRow>(
        "SELECT region, day, kind, name FROM calendar_region_days WHERE region = $1 AND day = $2"
    )
    .bind(region)
    .bind(date.to_string())
    .fetch_optional(c)
    .await
    .map_err(db_err)?
    });
    row.map(to_local).transpose()
}

/// Sets a region's rule for a date (replacing an earlier one); returns the one replaced.
pub async fn put_region_day(
    tx: &mut Tx,
    now: DateTime<Utc>,
    actor: &str,
    day: &LocalDay,
) -> Result<Option<LocalDay>> {
    let before = stored_region_day(tx, &day.region, day.date).await?;
    tx_run!(tx, |c| sqlx::query(
        "INSERT INTO calendar_region_days (region, day, kind, name, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (region, day) DO UPDATE SET kind = excluded.kind, name = excluded.name, \
         created_at = excluded.created_at, created_by = excluded.created_by"
    )
    .bind(&day.region)
    .bind(day.date.to_string())
    .bind(kind_str(day.kind))
    .bind(&day.name)
    .bind(micros(now))
    .bind(actor)
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected());
    region_day_event(
        tx,
        now,
        actor,
        "calendar_region_day_set",
        day,
        json!({"before": before, "after": day}),
    )
    .await?;
    Ok(before)
}

async fn region_day_event(
    tx: &mut Tx,
    now: DateTime<Utc>,
    actor: &str,
    kind: &str,
    day: &LocalDay,
    payload: serde_json::Value,
) -> Result<()> {
    events::append(
        tx,
        now,
        NewEvent {
            actor,
            kind,
            subject_type: "calendar_region_day",
            subject_id: &format!("{}/{}", day.region, day.date),
            payload,
        },
    )
    .await?;
    bump(tx).await
}

/// Removes a region's rule for a date; `not_found` when there is none.
pub async fn delete_region_day(
    tx: &mut Tx,
    now: DateTime<Utc>,
    actor: &str,
    region: &str,
    date: NaiveDate,
) -> Result<LocalDay> {
    let before = stored_region_day(tx, region, date).await?.ok_or_else(|| {
        Error::not_found(
            "calendar_region_day_not_found",
            format!("{region}地区在{date}没有地方规定"),
        )
    })?;
    tx_run!(tx, |c| sqlx::query(
        "DELETE FROM calendar_region_days WHERE region = $1 AND day = $2"
    )
    .bind(region)
    .bind(date.to_string())
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected());
    region_day_event(
        tx,
        now,
        actor,
        "calendar_region_day_removed",
        &before,
        json!({"before": before, "after": null}),
    )
    .await?;
    Ok(before)
}

/// A hall's office hours, if set (callers default to [`OfficeHours::default`]).
pub async fn office_hours(db: &Db, hall: &str) -> Result<Option<OfficeHours>> {
    let json: Option<String> = db_run!(db, |c| sqlx::query_scalar(
        "SELECT hours FROM hall_office_hours WHERE hall = $1"
    )
    .bind(hall)
    .fetch_optional(c)
    .await
    .map_err(db_err)?);
    json.map(|j| {
        serde_json::from_str(&j).map_err(|e| Error::internal(format!("stored office hours: {e}")))
    })
    .transpose()
}

/// Sets a hall's office hours; returns the previous ones.
pub async fn put_office_hours(
    tx: &mut Tx,
    now: DateTime<Utc>,
    actor: &str,
    hall: &str,
    hours: &OfficeHours,
) -> Result<Option<OfficeHours>> {
    let before: Option<String> = tx_run!(tx, |c| sqlx::query_scalar(
        "SELECT hours FROM hall_office_hours WHERE hall = $1"
    )
    .bind(hall)
    .fetch_optional(c)
    .await
    .map_err(db_err)?);
    let before: Option<OfficeHours> = before.and_then(|j| serde_json::from_str(&j).ok());
    let json = serde_json::to_string(hours).map_err(Error::internal)?;
    tx_run!(tx, |c| {
        sqlx::query(
        "INSERT INTO hall_office_hours (hall, hours, updated_at, updated_by) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (hall) DO UPDATE SET hours = excluded.hours, updated_at = excluded.updated_at, \
         updated_by = excluded.updated_by"
    )
    .bind(hall)
    .bind(&json)
    .bind(micros(now))
    .bind(actor)
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected()
    });
    events::append(
        tx,
        now,
        NewEvent {
            actor,
            kind: "office_hours_set",
            subject_type: "hall",
            subject_id: hall,
            payload: json!({"before": before.as_ref().map(OfficeHours::to_value), "after": hours.to_value()}),
        },
    )
    .await?;
    bump(tx).await?;
    Ok(before)
}

#[cfg(test)]
#[path = "calendar_tests.rs"]
mod tests;
