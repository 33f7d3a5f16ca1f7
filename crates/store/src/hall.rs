//! The hall's rows: halls, queues, windows and their sessions, tickets and their intervals,
//! appointments. Callers (the server's hall area) apply the pure rules of
//! `yichuang_domain::queue` and write the events; this module only stores and reads.

use chrono::{DateTime, NaiveDate, Utc};
use yichuang_domain::queue::{
    Categories, Channel, Holder, Interval, IntervalKind, Ticket, TicketNumber, TicketStatus,
};
use yichuang_domain::{Error, Result};

use crate::db::{Arg, Backend, db_err, from_micros, micros};
use crate::kept::Kept;
use crate::{Db, Tx, db_run, tx_run};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HallRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub region: Option<String>,
    pub settings: String,
    pub notice: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct QueueRow {
    pub id: i64,
    pub hall_id: i64,
    pub code: String,
    pub name: String,
    pub prefix: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WindowRow {
    pub id: i64,
    pub hall_id: i64,
    pub hall_code: String,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub status: String,
    pub staff_id: Option<i64>,
    pub staff_name: Option<String>,
}

impl WindowRow {
    /// The stored session as the domain's enum; a value no version wrote reads as closed.
    pub fn session(&self) -> yichuang_domain::queue::window::WindowStatus {
        yichuang_domain::queue::window::WindowStatus::parse(&self.status)
            .unwrap_or(yichuang_domain::queue::window::WindowStatus::Closed)
    }
}

const HALL_COLUMNS: &str = "SELECT id, code, name, region, settings, notice FROM halls";
const WINDOW_COLUMNS: &str = "SELECT w.id, w.hall_id, h.code AS hall_code, w.code, w.name, w.kind, w.status, \
     w.staff_id, w.staff_name FROM windows w JOIN halls h ON h.id = w.hall_id";

/// Halls and their queues change rarely (a manager's settings, a new queue) and every call,
/// start and finish reads them: kept (see [`crate::kept`]); their changes move the counter.
static HALLS_BY_CODE: Kept<String, HallRow> = Kept::new();
static HALLS_BY_ID: Kept<i64, HallRow> = Kept::new();
static QUEUES: Kept<i64, Vec<QueueRow>> = Kept::new();

fn not_found_hall(code: &str) -> Error {
    Error::not_found("hall_not_found", format!("大厅 {code} 不存在"))
}

pub async fn insert_hall(
    tx: &mut Tx,
    code: &str,
    name: &str,
    region: Option<&str>,
    settings: &str,
    now: DateTime<Utc>,
) -> Result<i64> {
    // Every instance caches the halls' regions against the change counter.
    crate::calendar::bump(tx).await?;
    let r: Result<i64> = tx_run!(tx, |c| {
        sqlx::query_scalar(
        "INSERT INTO halls (code, name, region, settings, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id"
    )
    .bind(code)
    .bind(name)
    .bind(region)
    .bind(settings)
    .bind(micros(now))
    .fetch_one(c)
    .await
    .map_err(db_err)
    });
    r.map_err(|e| match e.kind {
        yichuang_domain::Kind::Conflict => {
            Error::conflict("hall_exists", format!("大厅编码 {code} 已存在"))
                .field("code", "该编码已被使用")
        }
        _ => e,
    })
}

pub async fn hall(db: &Db, code: &str) -> Result<HallRow> {
    HALLS_BY_CODE
        .get_or_read(db, code.to_string(), async {
            let sql = sqlx::AssertSqlSafe(format!("{HALL_COLUMNS} WHERE code = $1"));
            db_run!(db, |c| sqlx::query_as::<_, HallRow>(sql)
                .bind(code)
                .fetch_optional(c)
                .await
                .map_err(db_err))?
            .ok_or_else(|| not_found_hall(code))
        })
        .await
}

/// Whether a hall with this code is set up.
pub async fn hall_exists(db: &Db, code: &str) -> Result<bool> {
    let found: Option<i64> = db_run!(db, |c| sqlx::query_scalar(
        "SELECT id FROM halls WHERE code = $1"
    )
    .bind(code)
    .fetch_optional(c)
    .await
    .map_err(db_err))?;
    Ok(found.is_some())
}

/// The region a hall hangs from, when the hall is set up and names one: whose local days its
/// clocks count (R-CALENDAR).
pub async fn hall_region(db: &Db, code: &str) -> Result<Option<String>> {
    let region: Option<Option<String>> = db_run!(db, |c| sqlx::query_scalar(
        "SELECT region FROM halls WHERE code = $1"
    )
    .bind(code)
    .fetch_optional(c)
    .await
    .map_err(db_err))?;
    Ok(region.flatten())
}

pub async fn hall_by_id(db: &Db, id: i64) -> Result<HallRow> {
    HALLS_BY_ID
        .get_or_read(db, id, async {
            let sql = sqlx::AssertSqlSafe(format!("{HALL_COLUMNS} WHERE id = $1"));
            db_run!(db, |c| sqlx::query_as::<_, HallRow>(sql)
                .bind(id)
                .fetch_optional(c)
                .await
                .map_err(db_err))?
            .ok_or_else(|| not_found_hall(&id.to_string()))
        })
        .await
}

pub async fn hall_by_id_in_tx(tx: &mut Tx, id: i64) -> Result<HallRow> {
    let sql = sqlx::AssertSqlSafe(format!("{HALL_COLUMNS} WHERE id = $1"));
    tx_run!(tx, |c| sqlx::query_as::<_, HallRow>(sql)
        .bind(id)
        .fetch_optional(c)
        .await
        .map_err(db_err))?
    .ok_or_else(|| not_found_hall(&id.to_string()))
}

pub async fn hall_in_tx(tx: &mut Tx, code: &str) -> Result<HallRow> {
    let sql = sqlx::AssertSqlSafe(format!("{HALL_COLUMNS} WHERE code = $1"));
    tx_run!(tx, |c| sqlx::query_as::<_, HallRow>(sql)
        .bind(code)
        .fetch_optional(c)
        .await
        .map_err(db_err))?
    .ok_or_else(|| not_found_hall(code))
}

pub async fn halls(db: &Db) -> Result<Vec<HallRow>> {
    let sql = sqlx::AssertSqlSafe(format!("{HALL_COLUMNS} ORDER BY code"));
    db_run!(db, |c| sqlx::query_as::<_, HallRow>(sql)
        .fetch_all(c)
        .await
        .map_err(db_err))
}

pub async fn set_hall_settings(tx: &mut Tx, id: i64, settings: &str, notice: &str) -> Result<()> {
    // Every instance keeps the hall rows against the change counter.
    crate::calendar::bump(tx).await?;
    tx_run!(tx, |c| sqlx::query(
        "UPDATE halls SET settings = $1, notice = $2 WHERE id = $3"
    )
    .bind(settings)
    .bind(notice)
    .bind(id)
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected());
    Ok(())
}

pub async fn insert_queue(
    tx: &mut Tx,
    hall_id: i64,
    code: &str,
    name: &str,
    prefix: &str,
    now: DateTime<Utc>,
) -> Result<i64> {
    crate::calendar::bump(tx).await?;
    let r: Result<i64> = tx_run!(tx, |c| {
        sqlx::query_scalar(
        "INSERT INTO queues (hall_id, code, name, prefix, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id"
    )
    .bind(hall_id)
    .bind(code)
    .bind(name)
    .bind(prefix)
    .bind(micros(now))
    .fetch_one(c)
    .await
    .map_err(db_err)
    });
    r.map_err(|e| match e.kind {
        yichuang_domain::Kind::Conflict => {
            Error::conflict("queue_exists", format!("队列编码 {code} 在本大厅已存在"))
                .field("code", "该编码已被使用")
        }
        _ => e,
    })
}

pub async fn update_queue(tx: &mut Tx, id: i64, name: &str, prefix: &str) -> Result<()> {
    crate::calendar::bump(tx).await?;
    tx_run!(tx, |c| sqlx::query(
        "UPDATE queues SET name = $2, prefix = $3 WHERE id = $1"
    )
    .bind(id)
    .bind(name)
    .bind(prefix)
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected());
    Ok(())
}

const QUEUE_COLUMNS: &str = "SELECT id, hall_id, code, name, prefix FROM queues";

/// A hall's queues, kept like the hall rows.
pub async fn queues(db: &Db, hall_id: i64) -> Result<Vec<QueueRow>> {
    QUEUES
        .get_or_read(db, hall_id, async {
            let sql =
                sqlx::AssertSqlSafe(format!("{QUEUE_COLUMNS} WHERE hall_id = $1 ORDER BY id"));
            db_run!(db, |c| sqlx::query_as::<_, QueueRow>(sql)
                .bind(hall_id)
                .fetch_all(c)
                .await
                .map_err(db_err))
        })
        .await
}

pub async fn queues_in_tx(tx: &mut Tx, hall_id: i64) -> Result<Vec<QueueRow>> {
    let sql = sqlx::AssertSqlSafe(format!("{QUEUE_COLUMNS} WHERE hall_id = $1 ORDER BY id"));
    tx_run!(tx, |c| sqlx::query_as::<_, QueueRow>(sql)
        .bind(hall_id)
        .fetch_all(c)
        .await
        .map_err(db_err))
}

pub async fn insert_window(
    tx: &mut Tx,
    hall_id: i64,
    code: &str,
    name: &str,
    kind: &str,
    queue_ids: &[i64],
    now: DateTime<Utc>,
) -> Result<i64> {
    let r: Result<i64> = tx_run!(tx, |c| {
        sqlx::query_scalar(
        "INSERT INTO windows (hall_id, code, name, kind, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id"
    )
    .bind(hall_id)
    .bind(code)
    .bind(name)
    .bind(kind)
    .bind(micros(now))
    .fetch_one(c)
    .await
    .map_err(db_err)
    });
    let id = r.map_err(|e| match e.kind {
        yichuang_domain::Kind::Conflict => {
            Error::conflict("window_exists", format!("窗口编码 {code} 在本大厅已存在"))
                .field("code", "该编码已被使用")
        }
        _ => e,
    })?;
    put_window_queues(tx, id, queue_ids).await?;
    Ok(id)
}

/// Sets the queues a window serves, in order of preference (0 first).
async fn put_window_queues(tx: &mut Tx, window_id: i64, queue_ids: &[i64]) -> Result<()> {
    tx_run!(tx, |c| sqlx::query(
        "DELETE FROM window_queues WHERE window_id = $1"
    )
    .bind(window_id)
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected());
    for (preference, q) in queue_ids.iter().enumerate() {
        tx_run!(tx, |c| sqlx::query(
            "INSERT INTO window_queues (window_id, queue_id, preference) VALUES ($1, $2, $3)"
        )
        .bind(window_id)
        .bind(q)
        .bind(preference as i64)
        .execute(c)
        .await
        .map_err(db_err)?
        .rows_affected());
    }
    Ok(())
}

/// Changes a window's name, kind and queues; its code, status and signed-in staff stay.
pub async fn update_window(
    tx: &mut Tx,
    id: i64,
    name: &str,
    kind: &str,
    queue_ids: &[i64],
) -> Result<()> {
    tx_run!(tx, |c| sqlx::query(
        "UPDATE windows SET name = $2, kind = $3 WHERE id = $1"
    )
    .bind(id)
    .bind(name)
    .bind(kind)
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected());
    put_window_queues(tx, id, queue_ids).await
}

fn not_found_window(id: i64) -> Error {
    Error::not_found("window_not_found", format!("窗口 {id} 不存在"))
}

pub async fn window(db: &Db, id: i64) -> Result<WindowRow> {
    let sql = sqlx::AssertSqlSafe(format!("{WINDOW_COLUMNS} WHERE w.id = $1"));
    db_run!(db, |c| sqlx::query_as::<_, WindowRow>(sql)
        .bind(id)
        .fetch_optional(c)
        .await
        .map_err(db_err))?
    .ok_or_else(|| not_found_window(id))
}

pub async fn window_in_tx(tx: &mut Tx, id: i64) -> Result<WindowRow> {
    let sql = sqlx::AssertSqlSafe(format!("{WINDOW_COLUMNS} WHERE w.id = $1"));
    tx_run!(tx, |c| sqlx::query_as::<_, WindowRow>(sql)
        .bind(id)
        .fetch_optional(c)
        .await
        .map_err(db_err))?
    .ok_or_else(|| not_found_window(id))
}

pub async fn windows(db: &Db, hall_id: i64) -> Result<Vec<WindowRow>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "{WINDOW_COLUMNS} WHERE w.hall_id = $1 ORDER BY w.code"
    ));
    db_run!(db, |c| sqlx::query_as::<_, WindowRow>(sql)
        .bind(hall_id)
        .fetch_all(c)
        .await
        .map_err(db_err))
}

const WINDOW_QUEUES: &str = "SELECT q.id, q.hall_id, q.code, q.name, q.prefix FROM window_queues wq \
     JOIN queues q ON q.id = wq.queue_id WHERE wq.window_id = $1 ORDER BY wq.preference";

/// The queues a window serves, in its order of preference.
pub async fn window_queues(db: &Db, window_id: i64) -> Result<Vec<QueueRow>> {
    db_run!(db, |c| sqlx::query_as::<_, QueueRow>(WINDOW_QUEUES)
        .bind(window_id)
        .fetch_all(c)
        .await
        .map_err(db_err))
}

pub async fn window_queues_in_tx(tx: &mut Tx, window_id: i64) -> Result<Vec<QueueRow>> {
    tx_run!(tx, |c| sqlx::query_as::<_, QueueRow>(WINDOW_QUEUES)
        .bind(window_id)
        .fetch_all(c)
        .await
        .map_err(db_err))
}

/// The window a staff member is signed in to (open or paused), if any.
pub async fn window_of_staff(tx: &mut Tx, staff_id: i64) -> Result<Option<i64>> {
    tx_run!(tx, |c| sqlx::query_scalar::<_, i64>(
        "SELECT id FROM windows WHERE staff_id = $1 AND status <> 'closed' ORDER BY id LIMIT 1"
    )
    .bind(staff_id)
    .fetch_optional(c)
    .await
    .map_err(db_err))
}

/// The window a staff member works at: the one signed in to now, else the one last used
/// (the latest session). A staff member's home page is that window's desk.
pub async fn home_window_of_staff(db: &Db, staff_id: i64) -> Result<Option<i64>> {
    db_run!(db, |c| {
        sqlx::query_scalar::<_, i64>(
        "SELECT id FROM (SELECT id, 1 AS pick, 0 AS at FROM windows WHERE staff_id = $1 AND status <> 'closed' \
         UNION ALL SELECT window_id AS id, 2 AS pick, start_at AS at FROM window_sessions WHERE staff_id = $1) w \
         ORDER BY pick, at DESC LIMIT 1"
    )
    .bind(staff_id)
    .fetch_optional(c)
    .await
    .map_err(db_err)
    })
}

/// Moves a window to `status`: the current session row ends, a new one starts unless closed.
pub async fn set_window_status(
    tx: &mut Tx,
    window_id: i64,
    status: &str,
    staff: Option<(i64, &str)>,
    now: DateTime<Utc>,
) -> Result<()> {
    let at = micros(now);
    tx_run!(tx, |c| sqlx::query(
        "UPDATE window_sessions SET end_at = $1 WHERE window_id = $2 AND end_at IS NULL"
    )
    .bind(at)
    .bind(window_id)
    .execute(&mut *c)
    .await
    .map_err(db_err)?
    .rows_affected());
    let (staff_id, staff_name) = match staff {
        Some((id, name)) => (Some(id), Some(name)),
        None => (None, None),
    };
    tx_run!(tx, |c| sqlx::query(
        "UPDATE windows SET status = $1, staff_id = $2, staff_name = $3 WHERE id = $4"
    )
    .bind(status)
    .bind(staff_id)
    .bind(staff_name)
    .bind(window_id)
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected());
    if let (Some(staff_id), true) = (staff_id, status != "closed") {
        tx_run!(tx, |c| {
            sqlx::query(
            "INSERT INTO window_sessions (window_id, staff_id, status, start_at) VALUES ($1, $2, $3, $4)"
        )
        .bind(window_id)
        .bind(staff_id)
        .bind(status)
        .bind(at)
        .execute(c)
        .await
        .map_err(db_err)?
        .rows_affected()
        });
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Tickets

#[derive(Debug, Clone, sqlx::FromRow, serde::Deserialize)]
pub struct TicketRow {
    pub id: i64,
    pub hall_id: i64,
    pub queue_id: i64,
    pub queue_code: String,
    pub queue_name: String,
    pub service_date: String,
    pub number: String,
    pub channel: String,
    pub categories: i64,
    pub holder: Option<String>,
    pub status: String,
    pub issued_at: i64,
    pub waiting_since: i64,
    pub rank_at: i64,
    pub since: i64,
    pub window_id: Option<i64>,
    pub staff_id: Option<i64>,
    pub recalls: i64,
    pub transfers: i64,
    pub close_reason: Option<String>,
    /// The random link of its phone page and slip QR code (`/t/{link}`): ids are consecutive.
    pub link: Option<String>,
}

/// A ticket row's columns (`t` the ticket, `q` its queue).
macro_rules! ticket_fields {
    () => {
        "t.id, t.hall_id, t.queue_id, q.code AS queue_code, q.name AS queue_name, \
         t.service_date, t.number, t.channel, t.categories, t.holder, t.status, t.issued_at, \
         t.waiting_since, t.rank_at, t.since, t.window_id, t.staff_id, t.recalls, t.transfers, \
         t.close_reason, t.link"
    };
}

const TICKET_COLUMNS: &str = concat!(
    "SELECT ",
    ticket_fields!(),
    " FROM tickets t JOIN queues q ON q.id = t.queue_id"
);

/// A ticket and the window it is at ([`TicketAtWindow`]).
const TICKET_AT_WINDOW: &str = concat!(
    "SELECT ",
    ticket_fields!(),
    ", tw.id AS w_id, tw.hall_id AS w_hall_id, th.code AS w_hall_code, tw.code AS w_code, \
     tw.name AS w_name, tw.kind AS w_kind, tw.status AS w_status, tw.staff_id AS w_staff_id, \
     tw.staff_name AS w_staff_name \
     FROM tickets t JOIN queues q ON q.id = t.queue_id \
     LEFT JOIN windows tw ON tw.id = t.window_id LEFT JOIN halls th ON th.id = tw.hall_id"
);

impl TicketRow {
    /// The row as [`save_ticket`] leaves it after `t` (in `queue`), without reading it again.
    pub fn saved(&self, t: &Ticket, rank_at: DateTime<Utc>, queue: &QueueRow) -> TicketRow {
        TicketRow {
            queue_id: t.queue,
            queue_code: queue.code.clone(),
            queue_name: queue.name.clone(),
            status: t.status.as_str().into(),
            waiting_since: micros(t.waiting_since),
            rank_at: micros(rank_at),
            since: micros(t.since),
            window_id: t.window,
            staff_id: t.staff,
            recalls: i64::from(t.recalls),
            transfers: i64::from(t.transfers),
            close_reason: t.close_reason.clone(),
            ..self.clone()
        }
    }

    /// The ticket as the domain's state machine sees it.
    pub fn ticket(&self) -> Result<Ticket> {
        let bad = |what: &str| Error::internal(format!("ticket {} has bad {what}", self.id));
        Ok(Ticket {
            id: self.id,
            queue: self.queue_id,
            number: TicketNumber::parse(&self.number).map_err(|_| bad("number"))?,
            channel: Channel::parse(&self.channel).ok_or_else(|| bad("channel"))?,
            categories: Categories::from_bits(u8::try_from(self.categories).unwrap_or(0)),
            holder: self
                .holder
                .as_deref()
                .map(Holder::from_masked)
                .transpose()
                .map_err(|_| bad("holder"))?,
            status: TicketStatus::parse(&self.status).ok_or_else(|| bad("status"))?,
            issued_at: from_micros(self.issued_at),
            waiting_since: from_micros(self.waiting_since),
            since: from_micros(self.since),
            window: self.window_id,
            staff: self.staff_id,
            recalls: u32::try_from(self.recalls).unwrap_or(0),
            transfers: u32::try_from(self.transfers).unwrap_or(0),
            close_reason: self.close_reason.clone(),
        })
    }
}

fn not_found_ticket(id: i64) -> Error {
    Error::not_found("ticket_not_found", format!("号票 {id} 不存在"))
}

/// The next sequence of a queue on a service day. The counter row is created or bumped in one
/// statement, which also locks it until commit on PostgreSQL: two takes never get one number.
pub async fn next_seq(tx: &mut Tx, queue_id: i64, service_date: NaiveDate) -> Result<i64> {
    tx.returning(
        "INSERT INTO ticket_counters (queue_id, service_date, last_seq) VALUES ($1, $2, 1) \
         ON CONFLICT (queue_id, service_date) DO UPDATE SET last_seq = ticket_counters.last_seq + 1 \
         RETURNING last_seq AS value",
        vec![queue_id.into(), service_date.to_string().into()],
    )
    .await
}

/// What a new ticket row holds besides the domain ticket.
pub struct NewTicketRow<'a> {
    pub hall_id: i64,
    pub service_date: NaiveDate,
    pub seq: i64,
    pub channel: Channel,
    pub categories: Categories,
    pub holder: Option<&'a str>,
    pub person_hash: Option<&'a str>,
    pub address_hash: Option<&'a str>,
    pub appointment_id: Option<i64>,
    /// A random, unguessable link (`/t/{link}`).
    pub link: &'a str,
}

/// Inserts a waiting ticket (its first interval is written by [`record_intervals`]); returns
/// the row as stored, not read again, and how many wait in its line with it (the board's
/// figure, see [`waiting_in`]).
pub async fn insert_ticket(
    tx: &mut Tx,
    new: &NewTicketRow<'_>,
    queue: &QueueRow,
    number: &str,
    now: DateTime<Utc>,
    rank_at: DateTime<Utc>,
) -> Result<(TicketRow, i64)> {
    let queue_id = queue.id;
    let at = micros(now);
    // PostgreSQL sums the parts in the same statement: its RETURNING sees the figure before its
    // own trigger moved it, so the new ticket is added back as one.
    #[derive(sqlx::FromRow, serde::Deserialize)]
    struct Inserted {
        id: i64,
        others: i64,
    }
    // SQLite's figure comes from the row its trigger moved, read after the insert: RETURNING
    // runs before AFTER triggers.
    let others = match tx.backend() {
        Backend::Sqlite => "0".to_string(),
        Backend::Postgres => waiting_in(Backend::Postgres, "$2"),
    };
    let Inserted { id, others } = tx
        .read_one(
            &format!("INSERT INTO tickets (hall_id, queue_id, number_queue_id, service_date, seq, number, channel, \
             categories, holder, person_hash, address_hash, status, issued_at, waiting_since, rank_at, since, \
             appointment_id, link) \
             VALUES ($1, $2, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'waiting', $11, $11, $12, $11, $13, $14) \
             RETURNING id, {others} AS others"),
            vec![
                new.hall_id.into(),
                queue_id.into(),
                new.service_date.to_string().into(),
                new.seq.into(),
                number.into(),
                new.channel.as_str().into(),
                i64::from(new.categories.bits()).into(),
                new.holder.into(),
                new.person_hash.into(),
                new.address_hash.into(),
                at.into(),
                micros(rank_at).into(),
                new.appointment_id.into(),
                new.link.into(),
            ],
        )
        .await?
        .ok_or_else(|| Error::internal("inserting a ticket answered no row"))?;
    let row = TicketRow {
        id,
        hall_id: new.hall_id,
        queue_id,
        queue_code: queue.code.clone(),
        queue_name: queue.name.clone(),
        service_date: new.service_date.to_string(),
        number: number.to_string(),
        channel: new.channel.as_str().to_string(),
        categories: i64::from(new.categories.bits()),
        holder: new.holder.map(str::to_string),
        status: yichuang_domain::queue::TicketStatus::Waiting
            .as_str()
            .to_string(),
        issued_at: at,
        waiting_since: at,
        rank_at: micros(rank_at),
        since: at,
        window_id: None,
        staff_id: None,
        recalls: 0,
        transfers: 0,
        close_reason: None,
        link: Some(new.link.to_string()),
    };
    let waiting = match tx.backend() {
        Backend::Sqlite => waiting_count(tx, queue_id).await?,
        Backend::Postgres => others + 1,
    };
    Ok((row, waiting))
}

pub async fn ticket(db: &Db, id: i64) -> Result<TicketRow> {
    let sql = sqlx::AssertSqlSafe(format!("{TICKET_COLUMNS} WHERE t.id = $1"));
    db_run!(db, |c| sqlx::query_as::<_, TicketRow>(sql)
        .bind(id)
        .fetch_optional(c)
        .await
        .map_err(db_err))?
    .ok_or_else(|| not_found_ticket(id))
}

/// The ticket behind a phone page's link; not found for anything else (an old numeric id
/// included), so the link reveals nothing but its own ticket.
pub async fn ticket_by_link(db: &Db, link: &str) -> Result<TicketRow> {
    let sql = sqlx::AssertSqlSafe(format!("{TICKET_COLUMNS} WHERE t.link = $1"));
    db_run!(db, |c| sqlx::query_as::<_, TicketRow>(sql)
        .bind(link)
        .fetch_optional(c)
        .await
        .map_err(db_err))?
    .ok_or_else(|| {
        Error::not_found(
            "ticket_not_found",
            "找不到这张号票：链接有误或已失效，请以号票上的二维码为准",
        )
    })
}

/// The turns of transitions on tickets ([`working_on_ticket`]).
static TICKET_TURNS: crate::turns::Turns = crate::turns::Turns::new();

/// Marks a transition of ticket `id` as under way in this process, once any other one on it
/// has ended ([`crate::turns`]): the ticket is read outside the write ([`ticket_at_window`]),
/// so a second transition begun before the first committed would read the ticket as it was
/// and fail its guard, again and again while the first's commit is on its way. Past the
/// turn's wait it goes beside the other.
pub async fn working_on_ticket(db: &Db, id: i64) -> crate::turns::Turn {
    TICKET_TURNS.take(db, &id.to_string()).await
}

/// A ticket and the window that holds it, if one does, read in one statement as last
/// committed. A transition writes the ticket back guarded by the row as read here
/// ([`save_ticket_from`]), so the read costs the SQLite writer's turn nothing and takes no lock.
pub async fn ticket_at_window(db: &Db, id: i64) -> Result<(TicketRow, Option<WindowRow>)> {
    let row = db
        .read::<TicketAtWindow>(
            &format!("{TICKET_AT_WINDOW} WHERE t.id = $1"),
            vec![id.into()],
        )
        .await?
        .pop()
        .ok_or_else(|| not_found_ticket(id))?;
    Ok(row.split())
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct TicketAtWindow {
    #[sqlx(flatten)]
    #[serde(flatten)]
    ticket: TicketRow,
    w_id: Option<i64>,
    w_hall_id: Option<i64>,
    w_hall_code: Option<String>,
    w_code: Option<String>,
    w_name: Option<String>,
    w_kind: Option<String>,
    w_status: Option<String>,
    w_staff_id: Option<i64>,
    w_staff_name: Option<String>,
}

impl TicketAtWindow {
    /// The window's columns are all set when the join found one (they are `NOT NULL`).
    fn split(self) -> (TicketRow, Option<WindowRow>) {
        let window = self.w_id.map(|id| WindowRow {
            id,
            hall_id: self.w_hall_id.unwrap_or_default(),
            hall_code: self.w_hall_code.unwrap_or_default(),
            code: self.w_code.unwrap_or_default(),
            name: self.w_name.unwrap_or_default(),
            kind: self.w_kind.unwrap_or_default(),
            status: self.w_status.unwrap_or_default(),
            staff_id: self.w_staff_id,
            staff_name: self.w_staff_name,
        });
        (self.ticket, window)
    }
}

/// The head of a queue's line: up to `k` waiting tickets in rank order that no other
/// transaction holds, and how many wait in the line in all (read in the same statement). On
/// PostgreSQL the tickets stay locked (`FOR UPDATE SKIP LOCKED`) until commit, so windows
/// calling at the same time take different tickets; on SQLite the write transaction
/// serialises calls.
pub async fn line_head(tx: &mut Tx, queue_id: i64, k: i64) -> Result<(Vec<TicketRow>, i64)> {
    let lock = match tx.backend() {
        Backend::Postgres => " FOR UPDATE OF t SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let sql = format!(
        "SELECT {}, {} AS line_waiting FROM tickets t JOIN queues q ON q.id = t.queue_id \
         WHERE t.queue_id = $1 AND t.status = 'waiting' ORDER BY t.rank_at, t.id {}{lock}",
        ticket_fields!(),
        waiting_in(tx.backend(), "$1"),
        crate::db::limit(k)
    );
    let rows = tx.read::<LineRow>(&sql, vec![queue_id.into()]).await?;
    let waiting = rows.first().map_or(0, |r| r.line_waiting);
    Ok((rows.into_iter().map(|r| r.ticket).collect(), waiting))
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct LineRow {
    #[sqlx(flatten)]
    #[serde(flatten)]
    ticket: TicketRow,
    line_waiting: i64,
}

/// A ticket's new state (`$1`…`$10`) written to the ticket `$11`.
macro_rules! save_ticket_sql {
    () => {
        "UPDATE tickets SET queue_id = $1, status = $2, waiting_since = $3, rank_at = $4, \
         since = $5, window_id = $6, staff_id = $7, recalls = $8, transfers = $9, \
         close_reason = $10 WHERE id = $11"
    };
}

fn saved_values(t: &Ticket, rank_at: DateTime<Utc>) -> Vec<Arg> {
    vec![
        t.queue.into(),
        t.status.as_str().into(),
        micros(t.waiting_since).into(),
        micros(rank_at).into(),
        micros(t.since).into(),
        t.window.into(),
        t.staff.into(),
        i64::from(t.recalls).into(),
        i64::from(t.transfers).into(),
        t.close_reason.clone().into(),
        t.id.into(),
    ]
}

/// Writes a ticket's new state and the intervals its transition closed and opened.
pub async fn save_ticket(
    tx: &mut Tx,
    t: &Ticket,
    rank_at: DateTime<Utc>,
    closed: Option<&Interval>,
    opened: Option<&Interval>,
) -> Result<()> {
    tx.write(save_ticket_sql!(), saved_values(t, rank_at))
        .await?;
    record_intervals(tx, closed, opened).await
}

/// [`save_ticket`] for a ticket read outside the transaction ([`ticket_at_window`]), guarded
/// by the row as read ([`Tx::write_guarded`]): every transition moves its status, its `since`,
/// its line, or its count of recalls or transfers, so a transition another made meanwhile
/// fails this one as stale ([`crate::db::STALE`]), with nothing of it written.
pub async fn save_ticket_from(
    tx: &mut Tx,
    before: &TicketRow,
    t: &Ticket,
    rank_at: DateTime<Utc>,
    closed: Option<&Interval>,
    opened: Option<&Interval>,
) -> Result<()> {
    let mut args = saved_values(t, rank_at);
    args.extend([
        before.status.as_str().into(),
        before.since.into(),
        before.queue_id.into(),
        before.recalls.into(),
        before.transfers.into(),
    ]);
    tx.write_guarded(
        concat!(
            save_ticket_sql!(),
            " AND status = $12 AND since = $13 AND queue_id = $14 AND recalls = $15 \
             AND transfers = $16"
        ),
        args,
    )
    .await?;
    record_intervals(tx, closed, opened).await
}

pub async fn record_intervals(
    tx: &mut Tx,
    closed: Option<&Interval>,
    opened: Option<&Interval>,
) -> Result<()> {
    if let Some(i) = closed {
        tx.write(
            "UPDATE ticket_intervals SET end_at = $1 WHERE ticket_id = $2 AND end_at IS NULL",
            vec![i.end.map(micros).into(), i.ticket.into()],
        )
        .await?;
    }
    if let Some(i) = opened {
        tx.write(
            "INSERT INTO ticket_intervals (ticket_id, queue_id, kind, start_at, window_id, staff_id) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            vec![
                i.ticket.into(),
                i.queue.into(),
                i.kind.as_str().into(),
                micros(i.start).into(),
                i.window.into(),
                i.staff.into(),
            ],
        )
        .await?;
    }
    Ok(())
}

/// What a waiting ticket's estimate needs, read in one statement: the tickets ranked before
/// it, the line's open windows and how many of them are busy, and the line's most recent
/// `sample` service times in minutes, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct LinePosition {
    pub ahead: i64,
    pub windows_open: i64,
    pub windows_busy: i64,
    pub recent_service_minutes: Vec<f64>,
}

/// The end of the line a waiting ticket's place is counted from. Both give the same figure, the
/// tickets ranked before it; the count reads only the tickets between the ticket and that end.
/// A ticket just taken stands at the tail of its line, so its slip counts from the tail: at
/// 8,000 waiting, counting from the head read every one of them at every take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountFrom {
    Head,
    Tail,
}

pub async fn line_position(
    db: &Db,
    row: &TicketRow,
    sample: i64,
    from: CountFrom,
) -> Result<LinePosition> {
    // The line's order compared as one row value: PostgreSQL bounds its index scan by it, where
    // `rank_at < $2 OR (rank_at = $2 AND id < $3)` was only a filter over the whole line.
    let ahead = match from {
        CountFrom::Head => "SELECT COUNT(*) AS ahead FROM tickets WHERE queue_id = $1 \
             AND status = 'waiting' AND (rank_at, id) < ($2, $3)"
            .to_string(),
        // The line's kept figure less the ticket itself and those behind it, read in the same
        // statement, and so from the same committed state, as the figure.
        CountFrom::Tail => format!(
            "SELECT {} - (SELECT COUNT(*) FROM tickets WHERE queue_id = $1 \
             AND status = 'waiting' AND (rank_at, id) >= ($2, $3)) AS ahead",
            waiting_in(db.backend(), "$1")
        ),
    };
    // One row of counts joined to the recent service times (none for a new line: the counts
    // still come back, with a NULL time).
    let rows: Vec<(i64, i64, i64, Option<i64>)> = db_run!(db, |c| {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT a.ahead, l.open, l.busy, r.us FROM ( \
           {ahead} \
         ) a CROSS JOIN ( \
           SELECT COUNT(*) AS open, COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM tickets t \
             WHERE t.window_id = w.id AND t.status IN ('called', 'serving', 'parked')) \
             THEN 1 ELSE 0 END), 0) AS busy \
           FROM windows w JOIN window_queues wq ON wq.window_id = w.id \
           WHERE wq.queue_id = $1 AND w.status = 'open' \
         ) l LEFT JOIN ( \
           SELECT end_at - start_at AS us, end_at FROM ticket_intervals WHERE queue_id = $1 \
             AND kind = 'serving' AND end_at IS NOT NULL ORDER BY end_at DESC {limit} \
         ) r ON 1 = 1 ORDER BY r.end_at",
            limit = crate::db::limit(sample)
        )))
        .bind(row.queue_id)
        .bind(row.rank_at)
        .bind(row.id)
        .fetch_all(c)
        .await
        .map_err(db_err)
    })?;
    let (ahead, windows_open, windows_busy) =
        rows.first().map_or((0, 0, 0), |&(a, o, b, _)| (a, o, b));
    Ok(LinePosition {
        ahead,
        windows_open,
        windows_busy,
        recent_service_minutes: rows
            .iter()
            .filter_map(|r| r.3)
            .map(|us| us as f64 / 60e6)
            .collect(),
    })
}

/// How many tickets wait in the queue the placeholder `queue` names, as an SQL expression, from
/// the rows triggers keep (`queue_waiting`): SQLite's one row per queue (migration 0019),
/// PostgreSQL's parts, one per connection, summed (migration 0023), so that windows calling at
/// once do not wait for each other's commit.
fn waiting_in(backend: Backend, queue: &str) -> String {
    match backend {
        Backend::Sqlite => {
            format!(
                "COALESCE((SELECT w.waiting FROM queue_waiting w WHERE w.queue_id = {queue}), 0)"
            )
        }
        Backend::Postgres => format!(
            "COALESCE((SELECT SUM(w.waiting) FROM queue_waiting w WHERE w.queue_id = {queue})::int8, 0)"
        ),
    }
}

/// Folds the waiting figure's parts kept by PostgreSQL connections that have gone into part 0,
/// for the queues of a hall (the day end does it): each connection a pool ever opened leaves
/// its part behind, and a queue's figure sums them all. The sum is unchanged: a part moved by a
/// connection meanwhile is folded with what it holds then. SQLite keeps one row per queue.
pub async fn fold_waiting(tx: &mut Tx, hall_id: i64) -> Result<()> {
    match tx.backend() {
        Backend::Sqlite => Ok(()),
        Backend::Postgres => {
            tx.write(
                "WITH gone AS (DELETE FROM queue_waiting w USING queues q \
                   WHERE q.id = w.queue_id AND q.hall_id = $1 AND w.part <> 0 \
                     AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = w.part) \
                   RETURNING w.queue_id, w.waiting) \
                 INSERT INTO queue_waiting (queue_id, part, waiting) \
                 SELECT queue_id, 0, SUM(waiting) FROM gone GROUP BY queue_id \
                 ON CONFLICT (queue_id, part) DO UPDATE SET waiting = queue_waiting.waiting + EXCLUDED.waiting",
                vec![hall_id.into()],
            )
            .await
        }
    }
}

pub async fn waiting_count(tx: &mut Tx, queue_id: i64) -> Result<i64> {
    let sql = format!("SELECT {} AS value", waiting_in(tx.backend(), "$1"));
    tx.returning(&sql, vec![queue_id.into()]).await
}

/// Whether anyone waits in a queue the window serves: read outside the writer's turn, so that
/// a window calling when nobody waits costs no write transaction.
pub async fn anyone_waiting_for(db: &Db, window_id: i64) -> Result<bool> {
    db_run!(db, |c| {
        sqlx::query_scalar::<_, bool>(
        "SELECT EXISTS (SELECT 1 FROM window_queues wq JOIN tickets t          ON t.queue_id = wq.queue_id AND t.status = 'waiting' WHERE wq.window_id = $1)"
    )
    .bind(window_id)
    .fetch_one(c)
    .await
    .map_err(db_err)
    })
}

/// Waiting tickets per queue of a hall: (queue id, count).
pub async fn waiting_counts(db: &Db, hall_id: i64) -> Result<Vec<(i64, i64)>> {
    db_run!(db, |c| {
        sqlx::query_as::<_, (i64, i64)>(
        "SELECT queue_id, COUNT(*) FROM tickets WHERE hall_id = $1 AND status = 'waiting' GROUP BY queue_id"
    )
    .bind(hall_id)
    .fetch_all(c)
    .await
    .map_err(db_err)
    })
}

/// Today's tickets of a hall taken by one person hash or one address hash (for limits).
pub async fn taken_today(
    tx: &mut Tx,
    hall_id: i64,
    service_date: NaiveDate,
    person_hash: Option<&str>,
    address_hash: &str,
) -> Result<(i64, i64)> {
    tx_run!(tx, |c| sqlx::query_as::<_, (i64, i64)>(
        "SELECT COALESCE(SUM(CASE WHEN person_hash = $3 THEN 1 ELSE 0 END), 0), \
                COALESCE(SUM(CASE WHEN address_hash = $4 THEN 1 ELSE 0 END), 0) \
         FROM tickets WHERE hall_id = $1 AND service_date = $2 AND channel IN ('kiosk', 'phone')"
    )
    .bind(hall_id)
    .bind(service_date.to_string())
    .bind(person_hash)
    .bind(address_hash)
    .fetch_one(c)
    .await
    .map_err(db_err))
}

/// Open tickets of a hall from service days before `before` (or all open ones when `None`),
/// locked for closing.
pub async fn open_tickets(
    tx: &mut Tx,
    hall_id: i64,
    before: Option<NaiveDate>,
) -> Result<Vec<TicketRow>> {
    let lock = match tx.backend() {
        Backend::Postgres => " FOR UPDATE OF t",
        Backend::Sqlite => "",
    };
    let sql = sqlx::AssertSqlSafe(format!(
        "{TICKET_COLUMNS} WHERE t.hall_id = $1 AND t.status IN ('waiting', 'called', 'serving', 'parked') \
         AND ($2 IS NULL OR t.service_date < $2) ORDER BY t.id{lock}"
    ));
    tx_run!(tx, |c| sqlx::query_as::<_, TicketRow>(sql)
        .bind(hall_id)
        .bind(before.map(|d| d.to_string()))
        .fetch_all(c)
        .await
        .map_err(db_err))
}

/// Tickets of a window still held there (called, serving, parked), oldest first.
pub async fn tickets_at_window(db: &Db, window_id: i64) -> Result<Vec<TicketRow>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "{TICKET_COLUMNS} WHERE t.window_id = $1 AND t.status IN ('called', 'serving', 'parked') ORDER BY t.since"
    ));
    db_run!(db, |c| sqlx::query_as::<_, TicketRow>(sql)
        .bind(window_id)
        .fetch_all(c)
        .await
        .map_err(db_err))
}

/// Tickets of a hall issued on service days `from..=to`.
pub async fn tickets_between(
    db: &Db,
    hall_id: i64,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<TicketRow>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "{TICKET_COLUMNS} WHERE t.hall_id = $1 AND t.service_date >= $2 AND t.service_date <= $3 ORDER BY t.id"
    ));
    db_run!(db, |c| sqlx::query_as::<_, TicketRow>(sql)
        .bind(hall_id)
        .bind(from.to_string())
        .bind(to.to_string())
        .fetch_all(c)
        .await
        .map_err(db_err))
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct IntervalRow {
    pub ticket_id: i64,
    pub queue_id: i64,
    pub kind: String,
    pub start_at: i64,
    pub end_at: Option<i64>,
    pub window_id: Option<i64>,
    pub staff_id: Option<i64>,
}

impl IntervalRow {
    pub fn interval(&self) -> Option<Interval> {
        let kind = match self.kind.as_str() {
            "waiting" => IntervalKind::Waiting,
            "called" => IntervalKind::Called,
            "serving" => IntervalKind::Serving,
            "parked" => IntervalKind::Parked,
            _ => return None,
        };
        Some(Interval {
            ticket: self.ticket_id,
            queue: self.queue_id,
            kind,
            start: from_micros(self.start_at),
            end: self.end_at.map(from_micros),
            window: self.window_id,
            staff: self.staff_id,
        })
    }
}

/// The intervals of the hall's tickets issued on service days `from..=to`, in order.
pub async fn intervals_between(
    db: &Db,
    hall_id: i64,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<IntervalRow>> {
    db_run!(db, |c| sqlx::query_as::<_, IntervalRow>(
        "SELECT i.ticket_id, i.queue_id, i.kind, i.start_at, i.end_at, i.window_id, i.staff_id \
         FROM ticket_intervals i JOIN tickets t ON t.id = i.ticket_id \
         WHERE t.hall_id = $1 AND t.service_date >= $2 AND t.service_date <= $3 ORDER BY i.id"
    )
    .bind(hall_id)
    .bind(from.to_string())
    .bind(to.to_string())
    .fetch_all(c)
    .await
    .map_err(db_err))
}

/// The intervals of one ticket, in order.
pub async fn ticket_intervals(db: &Db, ticket_id: i64) -> Result<Vec<IntervalRow>> {
    db_run!(db, |c| sqlx::query_as::<_, IntervalRow>(
        "SELECT ticket_id, queue_id, kind, start_at, end_at, window_id, staff_id \
         FROM ticket_intervals WHERE ticket_id = $1 ORDER BY id"
    )
    .bind(ticket_id)
    .fetch_all(c)
    .await
    .map_err(db_err))
}

// ---------------------------------------------------------------------------------------------
// Appointments

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AppointmentRow {
    pub id: i64,
    pub hall_id: i64,
    pub queue_id: i64,
    pub slot_date: String,
    pub slot_start: String,
    pub slot_end: String,
    pub status: String,
    pub holder: Option<String>,
    pub person_hash: String,
    pub reschedules: i64,
    pub ticket_id: Option<i64>,
}

impl AppointmentRow {
    /// The stored status as the domain's enum (`None` for a value no version ever wrote).
    pub fn appointment_status(
        &self,
    ) -> Option<yichuang_domain::queue::appointments::AppointmentStatus> {
        yichuang_domain::queue::appointments::AppointmentStatus::parse(&self.status)
    }

    /// Booked and still open.
    pub fn is_booked(&self) -> bool {
        self.appointment_status().is_some_and(|s| s.is_booked())
    }
}

const APPOINTMENT_COLUMNS: &str = "SELECT id, hall_id, queue_id, slot_date, slot_start, slot_end, status, holder, \
     person_hash, reschedules, ticket_id FROM appointments";

pub struct NewAppointment<'a> {
    pub hall_id: i64,
    pub queue_id: i64,
    pub slot_date: NaiveDate,
    pub slot_start: &'a str,
    pub slot_end: &'a str,
    pub holder: Option<&'a str>,
    pub person_hash: &'a str,
}

pub async fn insert_appointment(
    tx: &mut Tx,
    a: &NewAppointment<'_>,
    now: DateTime<Utc>,
) -> Result<i64> {
    tx_run!(tx, |c| {
        sqlx::query_scalar::<_, i64>(
        "INSERT INTO appointments (hall_id, queue_id, slot_date, slot_start, slot_end, status, holder, \
         person_hash, created_at) VALUES ($1, $2, $3, $4, $5, 'booked', $6, $7, $8) RETURNING id"
    )
    .bind(a.hall_id)
    .bind(a.queue_id)
    .bind(a.slot_date.to_string())
    .bind(a.slot_start)
    .bind(a.slot_end)
    .bind(a.holder)
    .bind(a.person_hash)
    .bind(micros(now))
    .fetch_one(c)
    .await
    .map_err(db_err)
    })
}

fn not_found_appointment(id: i64) -> Error {
    Error::not_found("appointment_not_found", format!("预约 {id} 不存在"))
}

/// The appointment, locked for the rest of the transaction on PostgreSQL, so a check-in, a
/// change by its holder and its no-show timer never act on it at once.
pub async fn appointment_for_update(tx: &mut Tx, id: i64) -> Result<AppointmentRow> {
    appointment_in_tx(tx, id)
        .await?
        .ok_or_else(|| not_found_appointment(id))
}

/// Like [`appointment_for_update`], `None` when there is no such appointment.
pub async fn appointment_in_tx(tx: &mut Tx, id: i64) -> Result<Option<AppointmentRow>> {
    let lock = match tx.backend() {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    };
    let sql = sqlx::AssertSqlSafe(format!("{APPOINTMENT_COLUMNS} WHERE id = $1{lock}"));
    tx_run!(tx, |c| sqlx::query_as::<_, AppointmentRow>(sql)
        .bind(id)
        .fetch_optional(c)
        .await
        .map_err(db_err))
}

pub async fn appointment(db: &Db, id: i64) -> Result<AppointmentRow> {
    let sql = sqlx::AssertSqlSafe(format!("{APPOINTMENT_COLUMNS} WHERE id = $1"));
    db_run!(db, |c| sqlx::query_as::<_, AppointmentRow>(sql)
        .bind(id)
        .fetch_optional(c)
        .await
        .map_err(db_err))?
    .ok_or_else(|| not_found_appointment(id))
}

/// Serialises bookings of one queue until commit: on PostgreSQL two bookings of the last place
/// in a slot would otherwise both count it free (SQLite's write transaction already does).
pub async fn lock_queue_for_booking(tx: &mut Tx, queue_id: i64) -> Result<()> {
    if tx.backend() == Backend::Postgres {
        tx_run!(tx, |c| sqlx::query(
            "SELECT id FROM queues WHERE id = $1 FOR UPDATE"
        )
        .bind(queue_id)
        .fetch_optional(c)
        .await
        .map_err(db_err)
        .map(|_| ()))?;
    }
    Ok(())
}

/// Moves a booked appointment to another slot.
pub async fn move_appointment(
    tx: &mut Tx,
    id: i64,
    slot_date: NaiveDate,
    slot_start: &str,
    slot_end: &str,
    reschedules: i64,
) -> Result<()> {
    tx_run!(tx, |c| sqlx::query(
        "UPDATE appointments SET slot_date = $1, slot_start = $2, slot_end = $3, reschedules = $4 \
         WHERE id = $5"
    )
    .bind(slot_date.to_string())
    .bind(slot_start)
    .bind(slot_end)
    .bind(reschedules)
    .bind(id)
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected());
    Ok(())
}

/// A person's appointments in a hall (all statuses), for booking limits and blocks.
pub async fn appointments_of_person(
    tx: &mut Tx,
    hall_id: i64,
    person_hash: &str,
) -> Result<Vec<AppointmentRow>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "{APPOINTMENT_COLUMNS} WHERE hall_id = $1 AND person_hash = $2 ORDER BY id"
    ));
    tx_run!(tx, |c| sqlx::query_as::<_, AppointmentRow>(sql)
        .bind(hall_id)
        .bind(person_hash)
        .fetch_all(c)
        .await
        .map_err(db_err))
}

/// Booked appointments in one slot of a queue.
pub async fn booked_in_slot(
    tx: &mut Tx,
    queue_id: i64,
    slot_date: NaiveDate,
    slot_start: &str,
) -> Result<i64> {
    tx_run!(tx, |c| {
        sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM appointments WHERE queue_id = $1 AND slot_date = $2 AND slot_start = $3 \
         AND status IN ('booked', 'checked_in')"
    )
    .bind(queue_id)
    .bind(slot_date.to_string())
    .bind(slot_start)
    .fetch_one(c)
    .await
    .map_err(db_err)
    })
}

pub async fn set_appointment_status(
    tx: &mut Tx,
    id: i64,
    status: &str,
    ticket_id: Option<i64>,
) -> Result<()> {
    tx_run!(tx, |c| sqlx::query(
        "UPDATE appointments SET status = $1, ticket_id = COALESCE($2, ticket_id) WHERE id = $3"
    )
    .bind(status)
    .bind(ticket_id)
    .bind(id)
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected());
    Ok(())
}

/// Booked (or checked-in) appointments per slot start of a queue on one date.
pub async fn booked_per_slot(
    db: &Db,
    queue_id: i64,
    slot_date: NaiveDate,
) -> Result<Vec<(String, i64)>> {
    db_run!(db, |c| sqlx::query_as::<_, (String, i64)>(
        "SELECT slot_start, COUNT(*) FROM appointments WHERE queue_id = $1 AND slot_date = $2 \
         AND status IN ('booked', 'checked_in') GROUP BY slot_start"
    )
    .bind(queue_id)
    .bind(slot_date.to_string())
    .fetch_all(c)
    .await
    .map_err(db_err))
}
