//! Supervision's data (R-SUPERVISE): what is late today, 督办 notices and anomalies, the daily
//! rollup of the director's numbers, kept window rankings, and the region tree a supervisor's
//! scope follows. Callers write the events; this module only stores.

use chrono::{DateTime, NaiveDate, Utc};
use yichuang_domain::Result;

use crate::db::{db_err, micros};
use crate::{Db, Tx, db_run, tx_run};

/// The halls of a region and of every region below it.
pub async fn halls_under(db: &Db, region: &str) -> Result<Vec<String>> {
    db_run!(db, |c| sqlx::query_scalar(
        "WITH RECURSIVE tree(code) AS (SELECT code FROM regions WHERE code = $1 \
         UNION SELECT r.code FROM regions r JOIN tree t ON r.parent = t.code) \
         SELECT h.code FROM halls h JOIN tree t ON h.region = t.code ORDER BY h.code"
    )
    .bind(region)
    .fetch_all(c)
    .await
    .map_err(db_err))
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RegionRow {
    pub code: String,
    pub name: String,
    pub parent: Option<String>,
}

pub async fn regions(db: &Db) -> Result<Vec<RegionRow>> {
    db_run!(db, |c| sqlx::query_as(
        "SELECT code, name, parent FROM regions ORDER BY code"
    )
    .fetch_all(c)
    .await
    .map_err(db_err))
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HallRegion {
    pub code: String,
    pub name: String,
    pub region: Option<String>,
}

pub async fn halls(db: &Db) -> Result<Vec<HallRegion>> {
    db_run!(db, |c| sqlx::query_as(
        "SELECT code, name, region FROM halls ORDER BY code"
    )
    .fetch_all(c)
    .await
    .map_err(db_err))
}

/// Something past its date today, as the store finds it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LateRow {
    /// `step`, `issuance`, `case` or `rectification`.
    pub subject_kind: String,
    pub subject_id: String,
    pub case_number: Option<String>,
    pub label: String,
    pub hall: Option<String>,
    pub department: Option<String>,
    pub owner: Option<String>,
    pub due: String,
}

/// Open steps past their due date (issuance steps apart), running cases past theirs, and open
/// rectifications past their deadline.
pub async fn late(db: &Db, today: NaiveDate) -> Result<Vec<LateRow>> {
    let today = today.to_string();
    db_run!(db, |c| sqlx::query_as(
        "SELECT CASE WHEN s.role = 'issuance' THEN 'issuance' ELSE 'step' END AS subject_kind, \
                c.number || '/' || s.node AS subject_id, c.number AS case_number, \
                s.name AS label, c.hall, COALESCE(s.department, c.department) AS department, \
                COALESCE(s.claimed_by, s.department, c.department) AS owner, s.due \
         FROM case_steps s JOIN cases c ON c.id = s.case_id WHERE s.due < $1 \
         UNION ALL \
         SELECT 'case', c.number, c.number, COALESCE(i.name, c.item), c.hall, c.department, \
                c.department, c.due_date \
         FROM cases c LEFT JOIN items i ON i.code = c.item \
         WHERE c.status IN ('accepted', 'routed', 'in_progress') AND c.due_date < $1 \
         UNION ALL \
         SELECT 'rectification', CAST(id AS TEXT), NULL, label, hall, department, \
                COALESCE(staff, department, hall), deadline \
         FROM rectifications WHERE status = 'open' AND deadline < $1 \
         ORDER BY 8, 2"
    )
    .bind(&today)
    .fetch_all(c)
    .await
    .map_err(db_err))
}

const RECORD_COLUMNS: &str = "id, kind, subject_kind, subject_id, case_number, hall, department, \
     owner, head, state, note, evidence, due_on, deadline, opened_on, closed_on, decided_by, reason, \
     created_at, updated_at";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RecordRow {
    pub id: i64,
    pub kind: String,
    pub subject_kind: String,
    pub subject_id: String,
    pub case_number: Option<String>,
    pub hall: Option<String>,
    pub department: Option<String>,
    pub owner: Option<String>,
    pub head: Option<String>,
    pub state: String,
    pub note: String,
    pub evidence: String,
    pub due_on: Option<String>,
    pub deadline: Option<String>,
    pub opened_on: String,
    pub closed_on: Option<String>,
    pub decided_by: Option<String>,
    pub reason: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

pub struct NewRecord<'a> {
    pub kind: &'a str,
    pub subject_kind: &'a str,
    pub subject_id: &'a str,
    pub case_number: Option<&'a str>,
    pub hall: Option<&'a str>,
    pub department: Option<&'a str>,
    pub owner: Option<&'a str>,
    pub head: Option<&'a str>,
    pub note: &'a str,
    pub evidence: &'a str,
    pub due_on: Option<&'a str>,
    pub deadline: Option<&'a str>,
    pub opened_on: &'a str,
}

/// Inserts a record; an anomaly already recorded for its case and kind is left as it is
/// (`None`).
pub async fn insert(tx: &mut Tx, r: &NewRecord<'_>, now: DateTime<Utc>) -> Result<Option<i64>> {
    tx_run!(tx, |c| {
        sqlx::query_scalar(
        "INSERT INTO supervision_records (kind, subject_kind, subject_id, case_number, hall, \
         department, owner, head, state, note, evidence, due_on, deadline, opened_on, created_at, \
         updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open', $9, $10, $11, $12, $13, $14, $14) \
         ON CONFLICT DO NOTHING RETURNING id"
    )
    .bind(r.kind)
    .bind(r.subject_kind)
    .bind(r.subject_id)
    .bind(r.case_number)
    .bind(r.hall)
    .bind(r.department)
    .bind(r.owner)
    .bind(r.head)
    .bind(r.note)
    .bind(r.evidence)
    .bind(r.due_on)
    .bind(r.deadline)
    .bind(r.opened_on)
    .bind(micros(now))
    .fetch_optional(c)
    .await
    .map_err(db_err)
    })
}

/// Moves a record from `from` to `to`; false when it was no longer in `from` (someone else
/// moved it first).
#[allow(clippy::too_many_arguments)]
pub async fn set_state(
    tx: &mut Tx,
    id: i64,
    from: &str,
    to: &str,
    closed_on: Option<&str>,
    decided_by: Option<&str>,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<bool> {
    let n = tx_run!(tx, |c| sqlx::query(
        "UPDATE supervision_records SET state = $1, closed_on = COALESCE($2, closed_on), \
         decided_by = COALESCE($3, decided_by), reason = COALESCE($4, reason), updated_at = $5 \
         WHERE id = $6 AND state = $7"
    )
    .bind(to)
    .bind(closed_on)
    .bind(decided_by)
    .bind(reason)
    .bind(micros(now))
    .bind(id)
    .bind(from)
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected());
    Ok(n == 1)
}

/// 督办 records the sweep must look at: the open ones, and the escalated ones (so a subject
/// still late gets no second notice).
pub async fn sweep_notices(tx: &mut Tx) -> Result<Vec<RecordRow>> {
    let sql = format!(
        "SELECT {RECORD_COLUMNS} FROM supervision_records \
         WHERE kind = 'overdue' AND state IN ('open', 'escalated') ORDER BY id"
    );
    tx_run!(tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .fetch_all(c)
        .await
        .map_err(db_err))
}

pub async fn get(db: &Db, id: i64) -> Result<Option<RecordRow>> {
    let sql = format!("SELECT {RECORD_COLUMNS} FROM supervision_records WHERE id = $1");
    db_run!(db, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(id)
        .fetch_optional(c)
        .await
        .map_err(db_err))
}

/// Records newest first: open ones (`state` = Some("open")), a state, or all; opened in
/// `from..=to` when given.
pub async fn list(
    db: &Db,
    state: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
    limit: i64,
) -> Result<Vec<RecordRow>> {
    let sql = format!(
        "SELECT {RECORD_COLUMNS} FROM supervision_records \
         WHERE ($1 IS NULL OR state = $1) AND ($2 IS NULL OR opened_on >= $2) \
         AND ($3 IS NULL OR opened_on <= $3) ORDER BY id DESC {}",
        crate::db::limit(limit)
    );
    db_run!(db, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(state)
        .bind(from)
        .bind(to)
        .fetch_all(c)
        .await
        .map_err(db_err))
}

/// The 通报 report of a period: records escalated or confirmed, closed in `from..=to`.
pub async fn reported(db: &Db, from: &str, to: &str) -> Result<Vec<RecordRow>> {
    let sql = format!(
        "SELECT {RECORD_COLUMNS} FROM supervision_records \
         WHERE state IN ('escalated', 'confirmed') AND closed_on >= $1 AND closed_on <= $2 \
         ORDER BY hall, department, id"
    );
    db_run!(db, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(from)
        .bind(to)
        .fetch_all(c)
        .await
        .map_err(db_err))
}

/// Where a cursor over an append-only table stands.
pub async fn cursor(tx: &mut Tx, name: &str) -> Result<i64> {
    let v: Option<i64> = tx_run!(tx, |c| sqlx::query_scalar(
        "SELECT last_id FROM supervision_cursor WHERE name = $1"
    )
    .bind(name)
    .fetch_optional(c)
    .await
    .map_err(db_err))?;
    Ok(v.unwrap_or(0))
}

pub async fn set_cursor(tx: &mut Tx, name: &str, last_id: i64) -> Result<()> {
    tx_run!(tx, |c| sqlx::query(
        "INSERT INTO supervision_cursor (name, last_id) VALUES ($1, $2) \
         ON CONFLICT (name) DO UPDATE SET last_id = excluded.last_id"
    )
    .bind(name)
    .bind(last_id)
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected());
    Ok(())
}

/// Case numbers with events after `after` (the cursor), and the last event id seen, at most
/// `limit` cases' worth.
pub async fn cases_changed_after(
    tx: &mut Tx,
    after: i64,
    limit: i64,
) -> Result<(Vec<String>, i64)> {
    let rows: Vec<(i64, String)> = tx_run!(tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT e.id, c.number FROM case_events e JOIN cases c ON c.id = e.case_id \
         WHERE e.id > $1 ORDER BY e.id {}",
        crate::db::limit(limit)
    )))
    .bind(after)
    .fetch_all(c)
    .await
    .map_err(db_err))?;
    let last = rows.last().map_or(after, |r| r.0);
    let mut numbers: Vec<String> = rows.into_iter().map(|r| r.1).collect();
    numbers.sort();
    numbers.dedup();
    Ok((numbers, last))
}

/// One rollup row.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StatRow {
    pub hall: String,
    pub department: String,
    pub item: String,
    pub window_id: i64,
    /// A staff member's username ('' for rows not about one).
    pub staff: String,
    pub metric: String,
    pub value: i64,
}

/// Replaces a day's rollup whole.
pub async fn replace_day(
    tx: &mut Tx,
    day: NaiveDate,
    rows: &[StatRow],
    now: DateTime<Utc>,
) -> Result<()> {
    let day = day.to_string();
    // The day's row first: two writers of one day (an hourly sweep, a rebuild, another
    // instance) wait for each other here instead of colliding on the rows below.
    tx_run!(tx, |c| sqlx::query(
        "INSERT INTO stats_days (day, computed_at) VALUES ($1, $2) \
         ON CONFLICT (day) DO UPDATE SET computed_at = excluded.computed_at"
    )
    .bind(&day)
    .bind(micros(now))
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected());
    tx_run!(tx, |c| sqlx::query(
        "DELETE FROM stats_daily WHERE day = $1"
    )
    .bind(&day)
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected());
    // Multi-row inserts, 100 rows (800 parameters) at a time.
    for chunk in rows.chunks(100) {
        let sql = format!(
            "INSERT INTO stats_daily (day, hall, department, item, window_id, staff, metric, value) VALUES {}",
            crate::db::placeholders(chunk.len(), 8)
        );
        tx_run!(tx, |c| {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
            for r in chunk {
                q = q
                    .bind(&day)
                    .bind(&r.hall)
                    .bind(&r.department)
                    .bind(&r.item)
                    .bind(r.window_id)
                    .bind(&r.staff)
                    .bind(&r.metric)
                    .bind(r.value);
            }
            q.execute(c).await.map_err(db_err)?.rows_affected()
        });
    }
    derive_day(tx, &day).await?;
    Ok(())
}

/// Rewrites what is kept from a day's rows: the hall totals of the day and its month's sums.
async fn derive_day(tx: &mut Tx, day: &str) -> Result<()> {
    let month = &day[..7];
    let (first, last) = (format!("{month}-01"), format!("{month}-31"));
    tx_run!(tx, |c| sqlx::query(
        "DELETE FROM stats_hall_daily WHERE day = $1"
    )
    .bind(day)
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected());
    tx_run!(tx, |c| sqlx::query(
        "INSERT INTO stats_hall_daily (day, hall, metric, value) \
         SELECT day, hall, metric, SUM(value) FROM stats_daily \
         WHERE day = $1 AND window_id = 0 AND staff = '' GROUP BY day, hall, metric"
    )
    .bind(day)
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected());
    tx_run!(tx, |c| sqlx::query(
        "DELETE FROM stats_monthly WHERE month = $1"
    )
    .bind(month)
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected());
    // The month's days are text 'YYYY-MM-DD': a range on the primary key's first column.
    tx_run!(tx, |c| {
        sqlx::query(
        "INSERT INTO stats_monthly (month, hall, department, item, window_id, staff, metric, value) \
         SELECT $1, hall, department, item, window_id, staff, metric, SUM(value) FROM stats_daily \
         WHERE day >= $2 AND day <= $3 GROUP BY hall, department, item, window_id, staff, metric"
    )
    .bind(month)
    .bind(&first)
    .bind(&last)
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected()
    });
    Ok(())
}

/// The latest day rolled up, if any.
pub async fn last_rolled_day(db: &Db) -> Result<Option<NaiveDate>> {
    let d: Option<String> = db_run!(db, |c| sqlx::query_scalar(
        "SELECT MAX(day) FROM stats_days"
    )
    .fetch_one(c)
    .await
    .map_err(db_err))?;
    Ok(d.and_then(|d| d.parse().ok()))
}

/// Days in `from..=to` already rolled up.
pub async fn rolled_days(db: &Db, from: NaiveDate, to: NaiveDate) -> Result<Vec<String>> {
    db_run!(db, |c| sqlx::query_scalar(
        "SELECT day FROM stats_days WHERE day >= $1 AND day <= $2 ORDER BY day"
    )
    .bind(from.to_string())
    .bind(to.to_string())
    .fetch_all(c)
    .await
    .map_err(db_err))
}

/// How a sum is grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Total,
    Hall,
    Department,
    Item,
    Window,
    Staff,
    Day,
}

impl Group {
    fn column(self) -> &'static str {
        match self {
            Group::Total => "''",
            Group::Hall => "hall",
            Group::Department => "department",
            Group::Item => "item",
            Group::Window => "hall || '#' || CAST(window_id AS TEXT)",
            Group::Staff => "hall || '#' || staff",
            Group::Day => "day",
        }
    }
}

/// Sums of the rollup over `from..=to`, for the given halls (`None`: all), grouped. Totals, halls
/// and days read the halls' day totals; departments, items and windows read the monthly sums
/// when the range is whole months, else the daily rows. Window groups read only window rows and
/// the others only hall-wide rows, so nothing is counted twice.
pub async fn sums(
    db: &Db,
    from: NaiveDate,
    to: NaiveDate,
    halls: Option<&[String]>,
    group: Group,
) -> Result<Vec<(String, String, i64)>> {
    use chrono::Datelike;
    let whole_months = from.day() == 1 && to.succ_opt().is_none_or(|n| n.day() == 1);
    let col = group.column();
    let (table, period, bounds, windows) = match group {
        Group::Total | Group::Hall | Group::Day => (
            "stats_hall_daily",
            "day",
            (from.to_string(), to.to_string()),
            "",
        ),
        _ if whole_months => (
            "stats_monthly",
            "month",
            (
                from.format("%Y-%m").to_string(),
                to.format("%Y-%m").to_string(),
            ),
            rows_of(group),
        ),
        _ => (
            "stats_daily",
            "day",
            (from.to_string(), to.to_string()),
            rows_of(group),
        ),
    };
    let scope = in_halls("hall", 3, halls);
    // PostgreSQL refuses a constant in GROUP BY, so the total groups by metric alone.
    let by = if group == Group::Total {
        "metric".to_string()
    } else {
        format!("{col}, metric")
    };
    let sql = format!(
        "SELECT {col} AS key, metric, CAST(SUM(value) AS BIGINT) FROM {table} \
         WHERE {period} >= $1 AND {period} <= $2{windows}{scope} GROUP BY {by} ORDER BY 1, 2"
    );
    db_run!(db, |c| {
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(&bounds.0)
            .bind(&bounds.1);
        for h in halls.unwrap_or(&[]) {
            q = q.bind(h);
        }
        q.fetch_all(c).await.map_err(db_err)
    })
}

/// ` AND {col} IN ($first, …)` for a hall scope (`None`: every hall; an empty scope matches
/// nothing), its parameters bound after the query's own.
fn in_halls(col: &str, first: usize, halls: Option<&[String]>) -> String {
    match halls {
        None => String::new(),
        Some([]) => " AND 1 = 0".to_string(),
        Some(h) => format!(
            " AND {col} IN ({})",
            crate::db::parameter_list(first, h.len())
        ),
    }
}

/// Which rows a group sums: window rows, staff rows, or the rows about neither.
fn rows_of(group: Group) -> &'static str {
    match group {
        Group::Window => " AND window_id > 0",
        Group::Staff => " AND staff <> ''",
        _ => " AND window_id = 0 AND staff = ''",
    }
}

/// What a rollup day reads besides tickets and cases: ratings by hall, department, item and
/// window, people's ratings only (defaults count in neither 满意率 nor 差评率).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RatingDay {
    pub hall: Option<String>,
    pub department: Option<String>,
    pub item: Option<String>,
    pub window_id: Option<i64>,
    pub staff: Option<String>,
    pub ratings: i64,
    pub satisfied: i64,
    pub bad: i64,
}

pub async fn ratings_between(
    db: &Db,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<RatingDay>> {
    db_run!(db, |c| sqlx::query_as(
        "SELECT hall, department, item, window_id, staff, COUNT(*) AS ratings, \
         COALESCE(SUM(CASE WHEN level >= 3 THEN 1 ELSE 0 END), 0) AS satisfied, \
         COALESCE(SUM(CASE WHEN bad = 1 THEN 1 ELSE 0 END), 0) AS bad \
         FROM ratings WHERE rated_at >= $1 AND rated_at < $2 AND source <> 'default' \
         GROUP BY hall, department, item, window_id, staff"
    )
    .bind(micros(from))
    .bind(micros(to))
    .fetch_all(c)
    .await
    .map_err(db_err))
}

/// Work orders received on a day, and those closed that day (with whether on time), by hall.
pub async fn work_orders_day(
    db: &Db,
    day: NaiveDate,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(Option<String>, i64, i64, i64)>> {
    db_run!(db, |c| {
        sqlx::query_as(
        "SELECT hall, \
         COALESCE(SUM(CASE WHEN received_on = $1 THEN 1 ELSE 0 END), 0), \
         COALESCE(SUM(CASE WHEN closed_at >= $2 AND closed_at < $3 THEN 1 ELSE 0 END), 0), \
         COALESCE(SUM(CASE WHEN closed_at >= $2 AND closed_at < $3 AND (due_on IS NULL OR due_on >= $1) THEN 1 ELSE 0 END), 0) \
         FROM work_orders WHERE received_on = $1 OR (closed_at >= $2 AND closed_at < $3) GROUP BY hall"
    )
    .bind(day.to_string())
    .bind(micros(from))
    .bind(micros(to))
    .fetch_all(c)
    .await
    .map_err(db_err)
    })
}

/// Case numbers with events on a day (`from..to` in UTC).
pub async fn cases_active_between(
    db: &Db,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<String>> {
    db_run!(db, |c| sqlx::query_scalar(
        "SELECT DISTINCT c.number FROM case_events e JOIN cases c ON c.id = e.case_id \
         WHERE e.at >= $1 AND e.at < $2 ORDER BY 1"
    )
    .bind(micros(from))
    .bind(micros(to))
    .fetch_all(c)
    .await
    .map_err(db_err))
}

/// A kept ranking row: a window (`kind` window, `subject` its id) or a staff member
/// (`kind` staff, `subject` the username).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RankingRow {
    pub period: String,
    pub hall: String,
    pub kind: String,
    pub subject: String,
    pub place: i64,
    pub score: f64,
    pub inputs: String,
    pub flag: bool,
    pub talk: bool,
}

/// Keeps a period's ranking of a hall (replacing an earlier computation of the same period).
pub async fn keep_ranking(tx: &mut Tx, rows: &[RankingRow], now: DateTime<Utc>) -> Result<()> {
    for r in rows {
        tx_run!(tx, |c| {
            sqlx::query(
            "INSERT INTO window_rankings (period, hall, kind, subject, place, score, inputs, flag, talk, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (period, hall, kind, subject) DO UPDATE \
             SET place = excluded.place, score = excluded.score, inputs = excluded.inputs, \
             flag = excluded.flag, talk = excluded.talk, created_at = excluded.created_at"
        )
        .bind(&r.period)
        .bind(&r.hall)
        .bind(&r.kind)
        .bind(&r.subject)
        .bind(r.place)
        .bind(r.score)
        .bind(&r.inputs)
        .bind(r.flag)
        .bind(r.talk)
        .bind(micros(now))
        .execute(c)
        .await
        .map_err(db_err)?
        .rows_affected()
        });
    }
    Ok(())
}

pub async fn ranking(db: &Db, period: &str, hall: &str, kind: &str) -> Result<Vec<RankingRow>> {
    db_run!(db, |c| sqlx::query_as(
        "SELECT period, hall, kind, subject, place, score, inputs, flag, talk FROM window_rankings \
         WHERE period = $1 AND hall = $2 AND kind = $3 ORDER BY place"
    )
    .bind(period)
    .bind(hall)
    .bind(kind)
    .fetch_all(c)
    .await
    .map_err(db_err))
}

/// Today in the halls, counted (each an indexed count, whatever the history's size).
#[derive(Debug, Clone, Default)]
pub struct LiveCounts {
    pub waiting: i64,
    pub windows_open: i64,
    pub windows: i64,
    /// Tickets called to a window today.
    pub called: i64,
    /// Running cases past their due date, and due from today to `soon`.
    pub late_cases: i64,
    pub due_soon: i64,
    /// Open steps past their due date.
    pub late_steps: i64,
}

/// The live counts of the given halls (`None`: all).
pub async fn live_counts(
    db: &Db,
    today: NaiveDate,
    soon: NaiveDate,
    halls: Option<&[String]>,
) -> Result<LiveCounts> {
    let scope = |col: &str, first: usize| in_halls(col, first, halls);
    let sql = format!(
        "SELECT \
         (SELECT COUNT(*) FROM tickets t JOIN halls h ON h.id = t.hall_id \
            WHERE t.status = 'waiting' AND t.service_date = $1{s}), \
         (SELECT COUNT(*) FROM windows w JOIN halls h ON h.id = w.hall_id WHERE w.status <> 'closed'{s}), \
         (SELECT COUNT(*) FROM windows w JOIN halls h ON h.id = w.hall_id WHERE 1 = 1{s}), \
         (SELECT COUNT(*) FROM tickets t JOIN halls h ON h.id = t.hall_id \
            WHERE t.service_date = $1 AND t.window_id IS NOT NULL{s}), \
         (SELECT COUNT(*) FROM cases WHERE status IN ('accepted', 'routed', 'in_progress') \
            AND due_date < $1{c}), \
         (SELECT COUNT(*) FROM cases WHERE status IN ('accepted', 'routed', 'in_progress') \
            AND due_date >= $1 AND due_date <= $2{c}), \
         (SELECT COUNT(*) FROM case_steps s JOIN cases c ON c.id = s.case_id WHERE s.due < $1{cs})",
        s = scope("h.code", 3),
        c = scope("hall", 3),
        cs = scope("c.hall", 3),
    );
    let row: (i64, i64, i64, i64, i64, i64, i64) = db_run!(db, |c| {
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(today.to_string())
            .bind(soon.to_string());
        for h in halls.unwrap_or(&[]) {
            q = q.bind(h);
        }
        q.fetch_one(c).await.map_err(db_err)
    })?;
    Ok(LiveCounts {
        waiting: row.0,
        windows_open: row.1,
        windows: row.2,
        called: row.3,
        late_cases: row.4,
        due_soon: row.5,
        late_steps: row.6,
    })
}
