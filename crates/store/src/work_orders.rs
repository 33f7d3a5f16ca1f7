//! Work orders and the bottleneck ledger (issue 12). A row holds the domain's state as JSON and
//! the columns lists filter by; every write runs in the caller's transaction beside its event.

use chrono::{DateTime, NaiveDate, Utc};
use yichuang_domain::{Error, Result};

use crate::db::{db_err, micros};
use crate::ratings::{by_id, by_id_for_update};
use crate::{Db, Tx, db_run, tx_run};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WorkOrderRow {
    pub id: i64,
    pub number: String,
    pub token: String,
    pub hall: Option<String>,
    pub source: String,
    pub status: String,
    pub category: Option<String>,
    pub lead_unit: Option<String>,
    pub requester_name: String,
    pub requester_phone: Option<String>,
    pub place: String,
    pub body: String,
    pub case_number: Option<String>,
    pub ticket_id: Option<i64>,
    pub rating_id: Option<i64>,
    pub external_id: Option<String>,
    pub merged_into: Option<String>,
    pub due_on: Option<String>,
    pub received_on: String,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub closed_at: Option<i64>,
    pub state: String,
}

const COLUMNS: &str = "SELECT id, number, token, hall, source, status, category, lead_unit, \
    requester_name, requester_phone, place, body, case_number, ticket_id, rating_id, external_id, \
    merged_into, due_on, received_on, created_by, created_at, updated_at, closed_at, state \
    FROM work_orders";

#[derive(Debug, Clone)]
pub struct NewWorkOrder<'a> {
    pub number: &'a str,
    pub token: &'a str,
    pub hall: Option<&'a str>,
    pub source: &'a str,
    pub status: &'a str,
    pub category: Option<&'a str>,
    pub requester_name: &'a str,
    pub requester_phone: Option<&'a str>,
    pub place: &'a str,
    pub body: &'a str,
    pub case_number: Option<&'a str>,
    pub ticket_id: Option<i64>,
    pub rating_id: Option<i64>,
    pub external_id: Option<&'a str>,
    pub received_on: NaiveDate,
    pub created_by: &'a str,
    pub state: &'a str,
}

/// The next readable order number of `day`: `GD` + yymmdd + a 4-digit sequence.
pub async fn next_number(tx: &mut Tx, day: NaiveDate) -> Result<String> {
    let key = day.format("%y%m%d").to_string();
    let n: i64 = tx_run!(tx, |c| sqlx::query_scalar(
        "INSERT INTO work_order_numbers (day, last) VALUES ($1, 1) \
         ON CONFLICT (day) DO UPDATE SET last = work_order_numbers.last + 1 RETURNING last"
    )
    .bind(&key)
    .fetch_one(c)
    .await
    .map_err(db_err)?);
    Ok(format!("GD{key}{n:04}"))
}

pub async fn insert(tx: &mut Tx, w: &NewWorkOrder<'_>, now: DateTime<Utc>) -> Result<i64> {
    tx_run!(tx, |c| {
        sqlx::query_scalar(
        "INSERT INTO work_orders (number, token, hall, source, status, requester_name, \
         requester_phone, place, body, case_number, ticket_id, rating_id, external_id, \
         received_on, created_by, created_at, updated_at, state, category) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16, $17, $18) \
         RETURNING id"
    )
    .bind(w.number)
    .bind(w.token)
    .bind(w.hall)
    .bind(w.source)
    .bind(w.status)
    .bind(w.requester_name)
    .bind(w.requester_phone)
    .bind(w.place)
    .bind(w.body)
    .bind(w.case_number)
    .bind(w.ticket_id)
    .bind(w.rating_id)
    .bind(w.external_id)
    .bind(w.received_on.to_string())
    .bind(w.created_by)
    .bind(micros(now))
    .bind(w.state)
    .bind(w.category)
    .fetch_one(c)
    .await
    .map_err(db_err)
    })
}

fn missing() -> Error {
    Error::not_found("work_order_not_found", "工单不存在")
}

async fn one_by(db: &Db, column: &str, value: &str) -> Result<Option<WorkOrderRow>> {
    let q = format!("{COLUMNS} WHERE {column} = $1");
    db_run!(db, |c| sqlx::query_as::<_, WorkOrderRow>(
        sqlx::AssertSqlSafe(q.clone())
    )
    .bind(value)
    .fetch_optional(c)
    .await
    .map_err(db_err))
}

pub async fn by_number(db: &Db, number: &str) -> Result<WorkOrderRow> {
    one_by(db, "number", number).await?.ok_or_else(missing)
}

pub async fn by_token(db: &Db, token: &str) -> Result<Option<WorkOrderRow>> {
    one_by(db, "token", token).await
}

pub async fn by_id_row(db: &Db, id: i64) -> Result<WorkOrderRow> {
    by_id(db, COLUMNS, id, missing).await
}

/// The row with this number inside a write, locked on PostgreSQL.
pub async fn for_update(tx: &mut Tx, number: &str) -> Result<WorkOrderRow> {
    let lock = match tx.backend() {
        crate::Backend::Postgres => " FOR UPDATE",
        crate::Backend::Sqlite => "",
    };
    let q = format!("{COLUMNS} WHERE number = $1{lock}");
    tx_run!(tx, |c| sqlx::query_as::<_, WorkOrderRow>(
        sqlx::AssertSqlSafe(q.clone())
    )
    .bind(number)
    .fetch_optional(c)
    .await
    .map_err(db_err)?)
    .ok_or_else(missing)
}

pub async fn id_of_external(tx: &mut Tx, external_id: &str) -> Result<Option<String>> {
    tx_run!(tx, |c| sqlx::query_scalar(
        "SELECT number FROM work_orders WHERE external_id = $1"
    )
    .bind(external_id)
    .fetch_optional(c)
    .await
    .map_err(db_err))
}

/// What a command changed of a row.
#[derive(Debug, Clone)]
pub struct Change<'a> {
    pub status: &'a str,
    pub category: Option<&'a str>,
    pub lead_unit: Option<&'a str>,
    pub merged_into: Option<&'a str>,
    pub due_on: Option<NaiveDate>,
    pub closed: bool,
    pub state: &'a str,
}

pub async fn update(tx: &mut Tx, id: i64, ch: &Change<'_>, now: DateTime<Utc>) -> Result<()> {
    tx_run!(tx, |c| sqlx::query(
        "UPDATE work_orders SET status = $2, category = $3, lead_unit = $4, merged_into = $5, \
         due_on = $6, closed_at = CASE WHEN $7 THEN COALESCE(closed_at, $8) ELSE NULL END, \
         state = $9, updated_at = $8 WHERE id = $1"
    )
    .bind(id)
    .bind(ch.status)
    .bind(ch.category)
    .bind(ch.lead_unit)
    .bind(ch.merged_into)
    .bind(ch.due_on.map(|d| d.to_string()))
    .bind(ch.closed)
    .bind(micros(now))
    .bind(ch.state)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    .map_err(db_err)?);
    Ok(())
}

/// Replaces the assisting units of an order.
pub async fn set_assisting(tx: &mut Tx, id: i64, units: &[String]) -> Result<()> {
    tx_run!(tx, |c| sqlx::query(
        "DELETE FROM work_order_units WHERE order_id = $1"
    )
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    .map_err(db_err)?);
    for u in units {
        tx_run!(tx, |c| sqlx::query(
            "INSERT INTO work_order_units (order_id, unit) VALUES ($1, $2)"
        )
        .bind(id)
        .bind(u)
        .execute(c)
        .await
        .map(|r| r.rows_affected())
        .map_err(db_err)?);
    }
    Ok(())
}

/// Which orders a list shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Scope {
    /// Not closed (answered ones still wait for their callback), the most urgent first:
    /// unclassified ones (no due date yet), then by due date.
    #[default]
    Open,
    /// With the unit and past the due date on this day.
    Late(NaiveDate),
    /// Closed, the latest first.
    Closed,
    All,
}

#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub scope: Scope,
    pub status: Option<String>,
    /// Lead or assisting.
    pub unit: Option<String>,
    pub hall: Option<String>,
    pub category: Option<String>,
    /// Only orders from the public channels (Open311 lists no others).
    pub public_only: bool,
    pub limit: i64,
    pub offset: i64,
}

/// The board and the worklists. Each scope reads along its own index (see the migration), so a
/// page of 50 costs the same with 500 orders or 500,000.
pub async fn list(db: &Db, f: &Filter) -> Result<Vec<WorkOrderRow>> {
    let mut q = format!("{COLUMNS} WHERE 1 = 1");
    let mut n = 0;
    let mut arg = || {
        n += 1;
        format!("${n}")
    };
    let order = match f.scope {
        Scope::Open => {
            q.push_str(" AND closed_at IS NULL");
            "due_on NULLS FIRST, id"
        }
        Scope::Late(_) => {
            q.push_str(&format!(
                " AND closed_at IS NULL AND status = 'dispatched' AND due_on < {}",
                arg()
            ));
            "due_on NULLS FIRST, id"
        }
        Scope::Closed => {
            q.push_str(" AND closed_at IS NOT NULL");
            "closed_at DESC, id DESC"
        }
        Scope::All => "id DESC",
    };
    if f.status.is_some() {
        q.push_str(&format!(" AND status = {}", arg()));
    }
    if f.unit.is_some() {
        let a = arg();
        let b = arg();
        q.push_str(&format!(
            " AND (lead_unit = {a} OR id IN (SELECT order_id FROM work_order_units WHERE unit = {b}))"
        ));
    }
    if f.hall.is_some() {
        q.push_str(&format!(" AND hall = {}", arg()));
    }
    if f.category.is_some() {
        q.push_str(&format!(" AND category = {}", arg()));
    }
    if f.public_only {
        q.push_str(" AND source IN ('public', 'open311')");
    }
    q.push_str(&format!(
        " ORDER BY {order} LIMIT {} OFFSET {}",
        arg(),
        arg()
    ));
    db_run!(db, |c| {
        let mut x = sqlx::query_as::<_, WorkOrderRow>(sqlx::AssertSqlSafe(q.clone()));
        if let Scope::Late(d) = f.scope {
            x = x.bind(d.to_string());
        }
        if let Some(s) = &f.status {
            x = x.bind(s.clone());
        }
        if let Some(u) = &f.unit {
            x = x.bind(u.clone()).bind(u.clone());
        }
        if let Some(h) = &f.hall {
            x = x.bind(h.clone());
        }
        if let Some(cat) = &f.category {
            x = x.bind(cat.clone());
        }
        x.bind(f.limit.clamp(1, 1000))
            .bind(f.offset.max(0))
            .fetch_all(c)
            .await
            .map_err(db_err)
    })
}

/// What a duplicate search compares: the few columns, not the whole row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CandidateRow {
    pub id: i64,
    pub received_on: String,
    pub category: Option<String>,
    pub requester_phone: Option<String>,
    pub place: String,
    pub body: String,
}

const CANDIDATE_COLUMNS: &str =
    "SELECT id, received_on, category, requester_phone, place, body FROM work_orders";

/// Orders a duplicate search compares with: received on or after `since`, still standing (not
/// merged or declined), of the same category or with none, or from the same phone; newest
/// first. Each branch reads its own index (category, phone); an order with no category yet is
/// compared with the newest of the window.
pub async fn duplicate_candidates(
    db: &Db,
    since: NaiveDate,
    category: Option<&str>,
    phone: Option<&str>,
    exclude: i64,
    limit: i64,
) -> Result<Vec<CandidateRow>> {
    let standing = "received_on >= $1 AND id <> $2 AND status NOT IN ('merged', 'declined')";
    // Each branch walks its index newest first and stops at the limit.
    let limit = crate::db::limit(limit);
    let q = match category {
        Some(_) => format!(
            "WITH same_category AS (SELECT id FROM work_orders WHERE category = $3 AND {standing} \
             ORDER BY id DESC {limit}), \
             unclassified AS (SELECT id FROM work_orders WHERE category IS NULL AND {standing} \
             ORDER BY id DESC {limit}), \
             same_phone AS (SELECT id FROM work_orders WHERE requester_phone = $4 AND {standing} \
             ORDER BY id DESC {limit}) \
             {CANDIDATE_COLUMNS} WHERE id IN (SELECT id FROM same_category UNION SELECT id FROM unclassified \
             UNION SELECT id FROM same_phone) ORDER BY id DESC {limit}"
        ),
        None => format!("{CANDIDATE_COLUMNS} WHERE {standing} ORDER BY id DESC {limit}"),
    };
    db_run!(db, |c| {
        let x = sqlx::query_as::<_, CandidateRow>(sqlx::AssertSqlSafe(q.clone()))
            .bind(since.to_string())
            .bind(exclude);
        let x = match category {
            Some(cat) => x.bind(cat).bind(phone),
            None => x,
        };
        x.fetch_all(c).await.map_err(db_err)
    })
}

/// Orders merged into `number` (their requesters are told when the survivor is answered).
pub async fn merged_into(tx: &mut Tx, number: &str) -> Result<Vec<WorkOrderRow>> {
    let q = format!("{COLUMNS} WHERE merged_into = $1 ORDER BY id");
    tx_run!(tx, |c| sqlx::query_as::<_, WorkOrderRow>(
        sqlx::AssertSqlSafe(q.clone())
    )
    .bind(number)
    .fetch_all(c)
    .await
    .map_err(db_err))
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Cluster {
    pub category: String,
    pub lead_unit: String,
    pub orders: i64,
}

/// 未诉先办: categories at units with at least `threshold` orders since `since` that no ledger
/// entry has taken up yet.
pub async fn clusters(db: &Db, since: NaiveDate, threshold: i64) -> Result<Vec<Cluster>> {
    db_run!(db, |c| sqlx::query_as::<_, Cluster>(
        "SELECT category, lead_unit, COUNT(*) AS orders FROM work_orders \
         WHERE received_on >= $1 AND category IS NOT NULL AND lead_unit IS NOT NULL \
         AND status <> 'merged' \
         AND id NOT IN (SELECT work_order_id FROM ledger_links) \
         GROUP BY category, lead_unit HAVING COUNT(*) >= $2 ORDER BY COUNT(*) DESC, category"
    )
    .bind(since.to_string())
    .bind(threshold)
    .fetch_all(c)
    .await
    .map_err(db_err))
}

/// The orders of one cluster (to link them to the entry made of it).
pub async fn cluster_orders(
    tx: &mut Tx,
    since: NaiveDate,
    category: &str,
    unit: &str,
) -> Result<Vec<i64>> {
    tx_run!(tx, |c| sqlx::query_scalar(
        "SELECT id FROM work_orders WHERE received_on >= $1 AND category = $2 AND lead_unit = $3 \
         AND status <> 'merged' AND id NOT IN (SELECT work_order_id FROM ledger_links) ORDER BY id"
    )
    .bind(since.to_string())
    .bind(category)
    .bind(unit)
    .fetch_all(c)
    .await
    .map_err(db_err))
}

// --- the ledger -----------------------------------------------------------------------------

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EntryRow {
    pub id: i64,
    pub hall: Option<String>,
    pub source: String,
    pub point: String,
    pub title: String,
    pub description: String,
    pub owner: String,
    pub status: String,
    pub deadline: String,
    pub revisit_on: Option<String>,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub state: String,
}

const ENTRY_COLUMNS: &str = "SELECT id, hall, source, point, title, description, owner, status, \
    deadline, revisit_on, created_by, created_at, updated_at, state FROM ledger_entries";

#[derive(Debug, Clone)]
pub struct NewEntry<'a> {
    pub hall: Option<&'a str>,
    pub source: &'a str,
    pub point: &'a str,
    pub title: &'a str,
    pub description: &'a str,
    pub owner: &'a str,
    pub status: &'a str,
    pub deadline: NaiveDate,
    pub created_by: &'a str,
    pub state: &'a str,
}

pub async fn insert_entry(tx: &mut Tx, e: &NewEntry<'_>, now: DateTime<Utc>) -> Result<i64> {
    tx_run!(tx, |c| sqlx::query_scalar(
        "INSERT INTO ledger_entries (hall, source, point, title, description, owner, status, \
         deadline, created_by, created_at, updated_at, state) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11) RETURNING id"
    )
    .bind(e.hall)
    .bind(e.source)
    .bind(e.point)
    .bind(e.title)
    .bind(e.description)
    .bind(e.owner)
    .bind(e.status)
    .bind(e.deadline.to_string())
    .bind(e.created_by)
    .bind(micros(now))
    .bind(e.state)
    .fetch_one(c)
    .await
    .map_err(db_err))
}

fn entry_missing() -> Error {
    Error::not_found("ledger_entry_not_found", "台账条目不存在")
}

pub async fn entry(db: &Db, id: i64) -> Result<EntryRow> {
    by_id(db, ENTRY_COLUMNS, id, entry_missing).await
}

pub async fn entry_for_update(tx: &mut Tx, id: i64) -> Result<EntryRow> {
    by_id_for_update(tx, ENTRY_COLUMNS, id, entry_missing).await
}

pub async fn update_entry(
    tx: &mut Tx,
    id: i64,
    status: &str,
    deadline: NaiveDate,
    revisit_on: Option<NaiveDate>,
    state: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    tx_run!(tx, |c| sqlx::query(
        "UPDATE ledger_entries SET status = $2, deadline = $3, revisit_on = $4, state = $5, \
         updated_at = $6 WHERE id = $1"
    )
    .bind(id)
    .bind(status)
    .bind(deadline.to_string())
    .bind(revisit_on.map(|d| d.to_string()))
    .bind(state)
    .bind(micros(now))
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    .map_err(db_err)?);
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct EntryFilter {
    pub status: Option<String>,
    pub owner: Option<String>,
    pub source: Option<String>,
    pub point_prefix: Option<String>,
}

pub async fn entries(db: &Db, f: &EntryFilter) -> Result<Vec<EntryRow>> {
    let q = format!(
        "{ENTRY_COLUMNS} WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR owner = $2) \
         AND ($3 IS NULL OR source = $3) AND ($4 IS NULL OR point LIKE $4) \
         ORDER BY CASE status WHEN 'closed_out' THEN 1 ELSE 0 END, deadline, id LIMIT 2000"
    );
    db_run!(db, |c| sqlx::query_as::<_, EntryRow>(sqlx::AssertSqlSafe(
        q.clone()
    ))
    .bind(f.status.clone())
    .bind(f.owner.clone())
    .bind(f.source.clone())
    .bind(f.point_prefix.as_ref().map(|p| format!("{p}%")))
    .fetch_all(c)
    .await
    .map_err(db_err))
}

pub async fn link(tx: &mut Tx, entry_id: i64, order_id: i64) -> Result<()> {
    tx_run!(tx, |c| sqlx::query(
        "INSERT INTO ledger_links (entry_id, work_order_id) VALUES ($1, $2) ON CONFLICT DO NOTHING"
    )
    .bind(entry_id)
    .bind(order_id)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    .map_err(db_err)?);
    Ok(())
}

/// The numbers of the orders an entry was made of.
pub async fn linked_orders(db: &Db, entry_id: i64) -> Result<Vec<String>> {
    db_run!(db, |c| sqlx::query_scalar(
        "SELECT w.number FROM ledger_links l JOIN work_orders w ON w.id = l.work_order_id \
         WHERE l.entry_id = $1 ORDER BY w.id"
    )
    .bind(entry_id)
    .fetch_all(c)
    .await
    .map_err(db_err))
}

/// The ledger entries an order feeds.
pub async fn entries_of_order(db: &Db, order_id: i64) -> Result<Vec<i64>> {
    db_run!(db, |c| sqlx::query_scalar(
        "SELECT entry_id FROM ledger_links WHERE work_order_id = $1 ORDER BY entry_id"
    )
    .bind(order_id)
    .fetch_all(c)
    .await
    .map_err(db_err))
}

/// The row with this number inside a write.
pub async fn by_number_in(tx: &mut Tx, number: &str) -> Result<WorkOrderRow> {
    let q = format!("{COLUMNS} WHERE number = $1");
    tx_run!(tx, |c| sqlx::query_as::<_, WorkOrderRow>(
        sqlx::AssertSqlSafe(q.clone())
    )
    .bind(number)
    .fetch_optional(c)
    .await
    .map_err(db_err)?)
    .ok_or_else(missing)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FileRow {
    pub id: i64,
    pub order_id: i64,
    pub name: String,
    pub sha256: String,
    pub content_type: String,
    pub size: i64,
    pub added_by: String,
    pub added_at: i64,
}

const FILE_COLUMNS: &str = "SELECT id, order_id, name, sha256, content_type, size, added_by, added_at FROM work_order_files";

/// Records an attachment whose bytes [`crate::cases::vault::store_blob`] stored.
pub async fn add_file(tx: &mut Tx, f: &FileRow) -> Result<i64> {
    tx_run!(tx, |c| {
        sqlx::query_scalar(
        "INSERT INTO work_order_files (order_id, name, sha256, content_type, size, added_by, added_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id"
    )
    .bind(f.order_id)
    .bind(&f.name)
    .bind(&f.sha256)
    .bind(&f.content_type)
    .bind(f.size)
    .bind(&f.added_by)
    .bind(f.added_at)
    .fetch_one(c)
    .await
    .map_err(db_err)
    })
}

pub async fn files(db: &Db, order_id: i64) -> Result<Vec<FileRow>> {
    let q = format!("{FILE_COLUMNS} WHERE order_id = $1 ORDER BY id");
    db_run!(db, |c| sqlx::query_as::<_, FileRow>(sqlx::AssertSqlSafe(
        q.clone()
    ))
    .bind(order_id)
    .fetch_all(c)
    .await
    .map_err(db_err))
}

pub async fn file(db: &Db, order_id: i64, id: i64) -> Result<FileRow> {
    let q = format!("{FILE_COLUMNS} WHERE order_id = $1 AND id = $2");
    db_run!(db, |c| sqlx::query_as::<_, FileRow>(sqlx::AssertSqlSafe(
        q.clone()
    ))
    .bind(order_id)
    .bind(id)
    .fetch_optional(c)
    .await
    .map_err(db_err)?)
    .ok_or_else(|| Error::not_found("file_not_found", "附件不存在"))
}
