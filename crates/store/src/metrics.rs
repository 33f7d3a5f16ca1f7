//! The gauges `/metrics` reports, read in a few indexed counts when it is scraped.

use chrono::{DateTime, NaiveDate, Utc};
use yichuang_domain::Result;

use crate::db::{db_err, micros};
use crate::{Db, db_run};

#[derive(Debug, Clone, Default)]
pub struct Gauges {
    /// Waiting tickets per hall code.
    pub waiting: Vec<(String, i64)>,
    /// Cases whose clock runs (accepted, routed, in progress): in time and overdue.
    pub cases_in_time: i64,
    pub cases_overdue: i64,
    /// Work orders not closed, and those of them with a unit past their due date.
    pub work_orders_open: i64,
    pub work_orders_late: i64,
    pub timers_due: i64,
    pub outbox_backlog: i64,
}

pub async fn gauges(db: &Db, now: DateTime<Utc>, today: NaiveDate) -> Result<Gauges> {
    let today = today.to_string();
    let waiting: Vec<(String, i64)> = db_run!(db, |c| sqlx::query_as(
        "SELECT h.code, COUNT(*) FROM tickets t JOIN halls h ON h.id = t.hall_id \
         WHERE t.status = 'waiting' GROUP BY h.code ORDER BY h.code"
    )
    .fetch_all(c)
    .await
    .map_err(db_err))?;
    let (cases_in_time, cases_overdue): (i64, i64) = db_run!(db, |c| {
        sqlx::query_as(
        "SELECT COALESCE(SUM(CASE WHEN due_date IS NULL OR due_date >= $1 THEN 1 ELSE 0 END), 0), \
         COALESCE(SUM(CASE WHEN due_date < $1 THEN 1 ELSE 0 END), 0) FROM cases \
         WHERE status IN ('accepted', 'routed', 'in_progress')"
    )
    .bind(&today)
    .fetch_one(c)
    .await
    .map_err(db_err)
    })?;
    let (work_orders_open, work_orders_late): (i64, i64) = db_run!(db, |c| {
        sqlx::query_as(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN status = 'dispatched' AND due_on < $1 THEN 1 ELSE 0 END), 0) \
         FROM work_orders WHERE closed_at IS NULL"
    )
    .bind(&today)
    .fetch_one(c)
    .await
    .map_err(db_err)
    })?;
    let timers_due = crate::timers::due_count(db, now).await?;
    let outbox_backlog: i64 = db_run!(db, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND due_at <= $1"
    )
    .bind(micros(now))
    .fetch_one(c)
    .await
    .map_err(db_err))?;
    Ok(Gauges {
        waiting,
        cases_in_time,
        cases_overdue,
        work_orders_open,
        work_orders_late,
        timers_due,
        outbox_backlog,
    })
}

/// Connections open and idle in the pool.
pub fn pool(db: &Db) -> (u32, usize) {
    match db {
        Db::Sqlite(p) => (p.size(), p.num_idle()),
        Db::Postgres(p) => (p.size(), p.num_idle()),
    }
}
