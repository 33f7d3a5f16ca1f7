//! Smart lockers (智能文件柜): banks, compartments, parcels and the controller's messages kept by
//! their idempotency key. Writes take the caller's [`Tx`], so a compartment's move, its parcel,
//! the case's issuance or supplement and their events commit together.

use chrono::{DateTime, Utc};
use yichuang_domain::locker::{CompartmentState, ParcelKind, ParcelStatus, Size};
use yichuang_domain::{Error, Result};

use crate::db::{Backend, db_err, from_micros, micros};
use crate::{Db, Tx, db_run, tx_run};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BankRow {
    pub id: i64,
    pub code: String,
    pub hall: String,
    pub name: String,
    pub place: String,
    pub device_key: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct RawCompartment {
    id: i64,
    bank_id: i64,
    door: String,
    size: String,
    state: String,
    parcel_id: Option<i64>,
    wrong_codes: i64,
    locked_at: Option<i64>,
}

/// One compartment, decoded to the domain's types.
#[derive(Debug, Clone)]
pub struct Compartment {
    pub id: i64,
    pub bank_id: i64,
    pub door: String,
    pub size: Size,
    pub state: CompartmentState,
    pub parcel_id: Option<i64>,
    pub wrong_codes: u32,
    pub locked_at: Option<DateTime<Utc>>,
}

impl TryFrom<RawCompartment> for Compartment {
    type Error = Error;
    fn try_from(r: RawCompartment) -> Result<Compartment> {
        Ok(Compartment {
            id: r.id,
            bank_id: r.bank_id,
            size: Size::parse(&r.size)
                .ok_or_else(|| Error::internal(format!("compartment size {}", r.size)))?,
            state: CompartmentState::parse(&r.state)
                .ok_or_else(|| Error::internal(format!("compartment state {}", r.state)))?,
            door: r.door,
            parcel_id: r.parcel_id,
            wrong_codes: u32::try_from(r.wrong_codes).unwrap_or(u32::MAX),
            locked_at: r.locked_at.map(from_micros),
        })
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct RawParcel {
    id: i64,
    compartment_id: i64,
    kind: String,
    status: String,
    case_number: String,
    hall: String,
    code_digest: String,
    id_digest: String,
    phone: String,
    expires_at: i64,
    code_used_at: Option<i64>,
    deposited_by: Option<String>,
    booked_at: i64,
    deposited_at: Option<i64>,
    collected_at: Option<i64>,
    closed_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct Parcel {
    pub id: i64,
    pub compartment_id: i64,
    pub kind: ParcelKind,
    pub status: ParcelStatus,
    pub case_number: String,
    pub hall: String,
    pub code_digest: String,
    pub id_digest: String,
    /// The applicant's mobile number, for the SMS; never shown in full (R-PII).
    pub phone: String,
    pub expires_at: DateTime<Utc>,
    pub code_used_at: Option<DateTime<Utc>>,
    pub deposited_by: Option<String>,
    pub booked_at: DateTime<Utc>,
    pub deposited_at: Option<DateTime<Utc>>,
    pub collected_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
}

impl TryFrom<RawParcel> for Parcel {
    type Error = Error;
    fn try_from(r: RawParcel) -> Result<Parcel> {
        Ok(Parcel {
            id: r.id,
            compartment_id: r.compartment_id,
            kind: ParcelKind::parse(&r.kind)
                .ok_or_else(|| Error::internal(format!("parcel kind {}", r.kind)))?,
            status: ParcelStatus::parse(&r.status)
                .ok_or_else(|| Error::internal(format!("parcel status {}", r.status)))?,
            case_number: r.case_number,
            hall: r.hall,
            code_digest: r.code_digest,
            id_digest: r.id_digest,
            phone: r.phone,
            expires_at: from_micros(r.expires_at),
            code_used_at: r.code_used_at.map(from_micros),
            deposited_by: r.deposited_by,
            booked_at: from_micros(r.booked_at),
            deposited_at: r.deposited_at.map(from_micros),
            collected_at: r.collected_at.map(from_micros),
            closed_at: r.closed_at.map(from_micros),
        })
    }
}

const BANK: &str = "SELECT id, code, hall, name, place, device_key FROM locker_banks";
const COMPARTMENT: &str = "SELECT id, bank_id, door, size, state, parcel_id, wrong_codes, locked_at \
     FROM locker_compartments";
const PARCEL: &str = "SELECT id, compartment_id, kind, status, case_number, hall, code_digest, id_digest, \
     phone, expires_at, code_used_at, deposited_by, booked_at, deposited_at, collected_at, closed_at \
     FROM locker_parcels";

fn lock(tx: &Tx) -> &'static str {
    match tx.backend() {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    }
}

fn unknown_bank(code: &str) -> Error {
    Error::not_found(
        "locker_not_found",
        format!("没有编号为 {code} 的智能文件柜"),
    )
}

pub async fn create_bank(
    tx: &mut Tx,
    b: (&str, &str, &str, &str),
    device_key: &str,
    now: DateTime<Utc>,
) -> Result<i64> {
    let (code, hall, name, place) = b;
    let r: std::result::Result<i64, sqlx::Error> = tx_run!(tx, |c| sqlx::query_scalar(
        "INSERT INTO locker_banks (code, hall, name, place, device_key, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id"
    )
    .bind(code)
    .bind(hall)
    .bind(name)
    .bind(place)
    .bind(device_key)
    .bind(micros(now))
    .fetch_one(c)
    .await);
    r.map_err(|e| match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            Error::conflict("locker_exists", format!("编号为 {code} 的智能文件柜已存在"))
                .field("code", "编号已被使用")
        }
        _ => db_err(e),
    })
}

pub async fn add_compartment(
    tx: &mut Tx,
    bank_id: i64,
    door: &str,
    size: Size,
    now: DateTime<Utc>,
) -> Result<i64> {
    tx_run!(tx, |c| sqlx::query_scalar(
        "INSERT INTO locker_compartments (bank_id, door, size, state, updated_at) \
         VALUES ($1, $2, $3, 'free', $4) RETURNING id"
    )
    .bind(bank_id)
    .bind(door)
    .bind(size.as_str())
    .bind(micros(now))
    .fetch_one(c)
    .await
    .map_err(db_err))
}

pub async fn bank(db: &Db, code: &str) -> Result<BankRow> {
    let sql = format!("{BANK} WHERE code = $1");
    let r: Option<BankRow> = db_run!(db, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(code)
        .fetch_optional(c)
        .await
        .map_err(db_err)?);
    r.ok_or_else(|| unknown_bank(code))
}

pub async fn bank_by_id(tx: &mut Tx, id: i64) -> Result<BankRow> {
    let sql = format!("{BANK} WHERE id = $1");
    tx_run!(tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(id)
        .fetch_one(c)
        .await
        .map_err(db_err))
}

pub async fn banks_of_hall(db: &Db, hall: &str) -> Result<Vec<BankRow>> {
    let sql = format!("{BANK} WHERE hall = $1 ORDER BY code");
    db_run!(db, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(hall)
        .fetch_all(c)
        .await
        .map_err(db_err))
}

pub async fn compartments(db: &Db, bank_id: i64) -> Result<Vec<Compartment>> {
    let sql = format!("{COMPARTMENT} WHERE bank_id = $1 ORDER BY door");
    let rows: Vec<RawCompartment> =
        db_run!(db, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(bank_id)
            .fetch_all(c)
            .await
            .map_err(db_err)?);
    rows.into_iter().map(Compartment::try_from).collect()
}

/// The compartments of a bank inside a write (locked on PostgreSQL, so two deposits never
/// choose the same free one).
pub async fn compartments_for_update(tx: &mut Tx, bank_id: i64) -> Result<Vec<Compartment>> {
    let sql = format!("{COMPARTMENT} WHERE bank_id = $1 ORDER BY door{}", lock(tx));
    let rows: Vec<RawCompartment> =
        tx_run!(tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(bank_id)
            .fetch_all(c)
            .await
            .map_err(db_err)?);
    rows.into_iter().map(Compartment::try_from).collect()
}

pub async fn compartment_for_update(
    tx: &mut Tx,
    bank_id: i64,
    door: &str,
) -> Result<Option<Compartment>> {
    let sql = format!("{COMPARTMENT} WHERE bank_id = $1 AND door = $2{}", lock(tx));
    let row: Option<RawCompartment> =
        tx_run!(tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(bank_id)
            .bind(door)
            .fetch_optional(c)
            .await
            .map_err(db_err)?);
    row.map(Compartment::try_from).transpose()
}

pub async fn compartment_by_id(tx: &mut Tx, id: i64) -> Result<Compartment> {
    let sql = format!("{COMPARTMENT} WHERE id = $1{}", lock(tx));
    let row: RawCompartment = tx_run!(tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(id)
        .fetch_one(c)
        .await
        .map_err(db_err)?);
    Compartment::try_from(row)
}

/// Writes a compartment's state, parcel and wrong-code count.
pub async fn save_compartment(tx: &mut Tx, c_: &Compartment, now: DateTime<Utc>) -> Result<()> {
    tx_run!(tx, |c| {
        sqlx::query(
        "UPDATE locker_compartments SET state = $1, parcel_id = $2, wrong_codes = $3, locked_at = $4, \
         updated_at = $5 WHERE id = $6"
    )
    .bind(c_.state.as_str())
    .bind(c_.parcel_id)
    .bind(i64::from(c_.wrong_codes))
    .bind(c_.locked_at.map(micros))
    .bind(micros(now))
    .bind(c_.id)
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected()
    });
    Ok(())
}

pub struct NewParcel<'a> {
    pub compartment_id: i64,
    pub kind: ParcelKind,
    pub status: ParcelStatus,
    pub case_number: &'a str,
    pub hall: &'a str,
    pub code_digest: &'a str,
    pub id_digest: &'a str,
    pub phone: &'a str,
    pub expires_at: DateTime<Utc>,
    pub deposited_by: Option<&'a str>,
    pub deposited_at: Option<DateTime<Utc>>,
    pub created_by: &'a str,
}

pub async fn insert_parcel(tx: &mut Tx, p: &NewParcel<'_>, now: DateTime<Utc>) -> Result<i64> {
    tx_run!(tx, |c| {
        sqlx::query_scalar(
        "INSERT INTO locker_parcels (compartment_id, kind, status, case_number, hall, code_digest, id_digest, \
         phone, expires_at, deposited_by, booked_at, deposited_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id"
    )
    .bind(p.compartment_id)
    .bind(p.kind.as_str())
    .bind(p.status.as_str())
    .bind(p.case_number)
    .bind(p.hall)
    .bind(p.code_digest)
    .bind(p.id_digest)
    .bind(p.phone)
    .bind(micros(p.expires_at))
    .bind(p.deposited_by)
    .bind(micros(now))
    .bind(p.deposited_at.map(micros))
    .bind(p.created_by)
    .fetch_one(c)
    .await
    .map_err(db_err)
    })
}

pub async fn parcel_for_update(tx: &mut Tx, id: i64) -> Result<Parcel> {
    let sql = format!("{PARCEL} WHERE id = $1{}", lock(tx));
    let row: Option<RawParcel> = tx_run!(tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(id)
        .fetch_optional(c)
        .await
        .map_err(db_err)?);
    row.ok_or_else(|| Error::not_found("parcel_not_found", "没有这件柜内物品"))?
        .try_into()
}

/// The latest parcel of a compartment whose code (or ID number) digest is `digest`: the one a
/// typed credential belongs to, open or not (so a used or expired code is told as such).
pub async fn parcel_by_credential(
    tx: &mut Tx,
    compartment_id: i64,
    digest: &str,
) -> Result<Option<Parcel>> {
    let sql = format!(
        "{PARCEL} WHERE compartment_id = $1 AND (code_digest = $2 OR id_digest = $2) \
         ORDER BY id DESC LIMIT 1"
    );
    let row: Option<RawParcel> = tx_run!(tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(compartment_id)
        .bind(digest)
        .fetch_optional(c)
        .await
        .map_err(db_err)?);
    row.map(Parcel::try_from).transpose()
}

/// Writes a parcel's status and times.
pub async fn save_parcel(tx: &mut Tx, p: &Parcel) -> Result<()> {
    tx_run!(tx, |c| {
        sqlx::query(
        "UPDATE locker_parcels SET status = $1, code_used_at = $2, deposited_at = $3, collected_at = $4, \
         closed_at = $5 WHERE id = $6"
    )
    .bind(p.status.as_str())
    .bind(p.code_used_at.map(micros))
    .bind(p.deposited_at.map(micros))
    .bind(p.collected_at.map(micros))
    .bind(p.closed_at.map(micros))
    .bind(p.id)
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected()
    });
    Ok(())
}

/// A parcel with where it is, for lists.
#[derive(Debug, Clone)]
pub struct Placed {
    pub parcel: Parcel,
    pub bank: String,
    pub door: String,
}

#[derive(sqlx::FromRow)]
struct RawPlaced {
    #[sqlx(flatten)]
    parcel: RawParcel,
    bank: String,
    door: String,
}

async fn placed(db: &Db, filter: &str, arg: &str) -> Result<Vec<Placed>> {
    let sql = format!(
        "SELECT p.id, p.compartment_id, p.kind, p.status, p.case_number, p.hall, p.code_digest, \
         p.id_digest, p.phone, p.expires_at, p.code_used_at, p.deposited_by, p.booked_at, \
         p.deposited_at, p.collected_at, p.closed_at, b.code AS bank, c.door \
         FROM locker_parcels p JOIN locker_compartments c ON c.id = p.compartment_id \
         JOIN locker_banks b ON b.id = c.bank_id WHERE {filter} ORDER BY p.id"
    );
    let rows: Vec<RawPlaced> = db_run!(db, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(arg)
        .fetch_all(c)
        .await
        .map_err(db_err)?);
    rows.into_iter()
        .map(|r| {
            Ok(Placed {
                parcel: r.parcel.try_into()?,
                bank: r.bank,
                door: r.door,
            })
        })
        .collect()
}

/// The parcels of a case, oldest first.
pub async fn parcels_of_case(db: &Db, case_number: &str) -> Result<Vec<Placed>> {
    placed(db, "p.case_number = $1", case_number).await
}

/// A hall's parcels still in a locker or waiting to be taken back (the manager's list).
pub async fn open_parcels(db: &Db, hall: &str) -> Result<Vec<Placed>> {
    placed(db, "p.hall = $1 AND p.closed_at IS NULL", hall).await
}

/// Claims a controller message's idempotency key. `false`: it was seen before (its stored
/// answer is then read with [`message_response`]). On PostgreSQL a concurrent twin waits here
/// for the first to commit, then finds it.
pub async fn claim_message(
    tx: &mut Tx,
    bank_id: i64,
    message_id: &str,
    kind: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let n = tx_run!(tx, |c| sqlx::query(
        "INSERT INTO locker_messages (bank_id, message_id, kind, response, received_at) \
         VALUES ($1, $2, $3, '', $4) ON CONFLICT (bank_id, message_id) DO NOTHING"
    )
    .bind(bank_id)
    .bind(message_id)
    .bind(kind)
    .bind(micros(now))
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected());
    Ok(n == 1)
}

pub async fn save_response(
    tx: &mut Tx,
    bank_id: i64,
    message_id: &str,
    response: &serde_json::Value,
) -> Result<()> {
    tx_run!(tx, |c| sqlx::query(
        "UPDATE locker_messages SET response = $1 WHERE bank_id = $2 AND message_id = $3"
    )
    .bind(response.to_string())
    .bind(bank_id)
    .bind(message_id)
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected());
    Ok(())
}

/// The stored answer to a message seen before, and the kind it had.
pub async fn message_response(
    db: &Db,
    bank_id: i64,
    message_id: &str,
) -> Result<Option<(String, serde_json::Value)>> {
    let r: Option<(String, String)> = db_run!(db, |c| sqlx::query_as(
        "SELECT kind, response FROM locker_messages WHERE bank_id = $1 AND message_id = $2"
    )
    .bind(bank_id)
    .bind(message_id)
    .fetch_optional(c)
    .await
    .map_err(db_err)?);
    Ok(r.map(|(k, v)| {
        (
            k,
            serde_json::from_str(&v).unwrap_or(serde_json::Value::Null),
        )
    }))
}

/// Gives a bank's controller a new device token (by its digest); the old one stops working.
pub async fn set_device_key(tx: &mut Tx, bank_id: i64, digest: &str) -> Result<()> {
    tx_run!(tx, |c| sqlx::query(
        "UPDATE locker_banks SET device_key = $1 WHERE id = $2"
    )
    .bind(digest)
    .bind(bank_id)
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected());
    Ok(())
}
