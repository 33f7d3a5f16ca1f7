//! Help and proxy service (帮办代办): help requests (a key project's with milestones) and
//! mandates. Rows are decoded to the domain's types; writes take the caller's [`Tx`] so a change
//! and its event commit together.

use chrono::{DateTime, NaiveDate, Utc};
use yichuang_domain::agency::{HelpSource, HelpState, Mandate, MandateAction};
use yichuang_domain::{Error, Result};

use crate::db::{Backend, db_err, from_micros, micros};
use crate::{Db, Tx, db_run, tx_run};

#[derive(Debug, Clone, sqlx::FromRow)]
struct RawRequest {
    id: i64,
    link: String,
    hall: String,
    source: String,
    state: String,
    agent: Option<String>,
    citizen_name: String,
    citizen_phone: String,
    need: String,
    project: Option<String>,
    enterprise: Option<String>,
    ticket_id: Option<i64>,
    work_order: Option<String>,
    created_at: i64,
    assigned_at: Option<i64>,
    first_contact_at: Option<i64>,
    closed_at: Option<i64>,
    close_note: String,
    rating: Option<i64>,
    rating_comment: String,
    rated_at: Option<i64>,
}

/// A help request as stored, decoded.
#[derive(Debug, Clone)]
pub struct RequestRow {
    pub id: i64,
    pub link: String,
    pub hall: String,
    pub source: HelpSource,
    pub state: HelpState,
    pub agent: Option<String>,
    pub citizen_name: String,
    pub citizen_phone: String,
    pub need: String,
    pub project: Option<String>,
    pub enterprise: Option<String>,
    pub ticket_id: Option<i64>,
    pub work_order: Option<String>,
    pub created_at: DateTime<Utc>,
    pub assigned_at: Option<DateTime<Utc>>,
    pub first_contact_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub close_note: String,
    pub rating: Option<u8>,
    pub rating_comment: String,
    pub rated_at: Option<DateTime<Utc>>,
}

impl RequestRow {
    /// The number people see and say: `BB000012`.
    pub fn number(&self) -> String {
        number_of(self.id)
    }
}

pub fn number_of(id: i64) -> String {
    format!("BB{id:06}")
}

/// The id in a number people typed (`BB000012`, `bb12`, `12`).
pub fn id_of(number: &str) -> Option<i64> {
    let t = number.trim();
    let digits = t
        .strip_prefix("BB")
        .or_else(|| t.strip_prefix("bb"))
        .unwrap_or(t);
    digits.parse().ok().filter(|n| *n > 0)
}

impl TryFrom<RawRequest> for RequestRow {
    type Error = Error;
    fn try_from(r: RawRequest) -> Result<RequestRow> {
        Ok(RequestRow {
            id: r.id,
            link: r.link,
            hall: r.hall,
            source: HelpSource::parse(&r.source)
                .ok_or_else(|| Error::internal(format!("help source {}", r.source)))?,
            state: HelpState::parse(&r.state)
                .ok_or_else(|| Error::internal(format!("help state {}", r.state)))?,
            agent: r.agent,
            citizen_name: r.citizen_name,
            citizen_phone: r.citizen_phone,
            need: r.need,
            project: r.project,
            enterprise: r.enterprise,
            ticket_id: r.ticket_id,
            work_order: r.work_order,
            created_at: from_micros(r.created_at),
            assigned_at: r.assigned_at.map(from_micros),
            first_contact_at: r.first_contact_at.map(from_micros),
            closed_at: r.closed_at.map(from_micros),
            close_note: r.close_note,
            rating: r.rating.and_then(|n| u8::try_from(n).ok()),
            rating_comment: r.rating_comment,
            rated_at: r.rated_at.map(from_micros),
        })
    }
}

const REQUEST: &str = "SELECT id, link, hall, source, state, agent, citizen_name, citizen_phone, need, \
     project, enterprise, ticket_id, work_order, created_at, assigned_at, first_contact_at, closed_at, \
     close_note, rating, rating_comment, rated_at FROM help_requests";

fn lock(tx: &Tx) -> &'static str {
    match tx.backend() {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    }
}

pub struct NewRequest<'a> {
    pub link: &'a str,
    pub hall: &'a str,
    pub source: HelpSource,
    pub citizen_name: &'a str,
    pub citizen_phone: &'a str,
    pub need: &'a str,
    pub project: Option<&'a str>,
    pub enterprise: Option<&'a str>,
    pub ticket_id: Option<i64>,
    pub work_order: Option<&'a str>,
    pub created_by: &'a str,
}

pub async fn insert_request(tx: &mut Tx, r: &NewRequest<'_>, now: DateTime<Utc>) -> Result<i64> {
    tx_run!(tx, |c| sqlx::query_scalar(
        "INSERT INTO help_requests (link, hall, source, state, citizen_name, citizen_phone, need, \
         project, enterprise, ticket_id, work_order, created_at, created_by) \
         VALUES ($1, $2, $3, 'open', $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id"
    )
    .bind(r.link)
    .bind(r.hall)
    .bind(r.source.as_str())
    .bind(r.citizen_name)
    .bind(r.citizen_phone)
    .bind(r.need)
    .bind(r.project)
    .bind(r.enterprise)
    .bind(r.ticket_id)
    .bind(r.work_order)
    .bind(micros(now))
    .bind(r.created_by)
    .fetch_one(c)
    .await
    .map_err(db_err))
}

fn unknown_request() -> Error {
    Error::not_found("help_request_not_found", "没有找到这条帮办代办求助")
}

pub async fn request(db: &Db, id: i64) -> Result<RequestRow> {
    let sql = format!("{REQUEST} WHERE id = $1");
    let r: Option<RawRequest> = db_run!(db, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(id)
        .fetch_optional(c)
        .await
        .map_err(db_err)?);
    r.ok_or_else(unknown_request)?.try_into()
}

pub async fn request_for_update(tx: &mut Tx, id: i64) -> Result<RequestRow> {
    let sql = format!("{REQUEST} WHERE id = $1{}", lock(tx));
    let r: Option<RawRequest> = tx_run!(tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(id)
        .fetch_optional(c)
        .await
        .map_err(db_err)?);
    r.ok_or_else(unknown_request)?.try_into()
}

pub async fn request_by_link(db: &Db, link: &str) -> Result<Option<RequestRow>> {
    let sql = format!("{REQUEST} WHERE link = $1");
    let r: Option<RawRequest> = db_run!(db, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(link)
        .fetch_optional(c)
        .await
        .map_err(db_err)?);
    r.map(RequestRow::try_from).transpose()
}

/// Requests of a hall (`agent`: only that agent's), open ones first, newest first.
pub async fn requests(db: &Db, hall: Option<&str>, agent: Option<&str>) -> Result<Vec<RequestRow>> {
    let sql = format!(
        "{REQUEST} WHERE ($1 IS NULL OR hall = $1) AND ($2 IS NULL OR agent = $2) \
         ORDER BY CASE WHEN state = 'closed' THEN 1 ELSE 0 END, id DESC LIMIT 500"
    );
    let rows: Vec<RawRequest> = db_run!(db, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(hall)
        .bind(agent)
        .fetch_all(c)
        .await
        .map_err(db_err)?);
    rows.into_iter().map(RequestRow::try_from).collect()
}

/// How many requests a phone number has open (the public page's limit).
pub async fn open_by_phone(tx: &mut Tx, phone: &str) -> Result<i64> {
    tx_run!(tx, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM help_requests WHERE citizen_phone = $1 AND state <> 'closed'"
    )
    .bind(phone)
    .fetch_one(c)
    .await
    .map_err(db_err))
}

/// Writes a request's state, agent, times, closing note and rating.
pub async fn save_request(tx: &mut Tx, r: &RequestRow) -> Result<()> {
    tx_run!(tx, |c| {
        sqlx::query(
        "UPDATE help_requests SET state = $1, agent = $2, assigned_at = $3, first_contact_at = $4, \
         closed_at = $5, close_note = $6, rating = $7, rating_comment = $8, rated_at = $9 WHERE id = $10"
    )
    .bind(r.state.as_str())
    .bind(r.agent.as_deref())
    .bind(r.assigned_at.map(micros))
    .bind(r.first_contact_at.map(micros))
    .bind(r.closed_at.map(micros))
    .bind(&r.close_note)
    .bind(r.rating.map(i64::from))
    .bind(&r.rating_comment)
    .bind(r.rated_at.map(micros))
    .bind(r.id)
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected()
    });
    Ok(())
}

// --- milestones of a key project ------------------------------------------------------------

#[derive(Debug, Clone, sqlx::FromRow)]
struct RawMilestone {
    seq: i64,
    title: String,
    due_on: String,
    case_number: Option<String>,
    done_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct Milestone {
    pub seq: i64,
    pub title: String,
    pub due_on: NaiveDate,
    pub case_number: Option<String>,
    pub done_at: Option<DateTime<Utc>>,
}

pub async fn insert_milestone(
    tx: &mut Tx,
    request_id: i64,
    seq: i64,
    title: &str,
    due_on: NaiveDate,
) -> Result<()> {
    tx_run!(tx, |c| sqlx::query(
        "INSERT INTO help_milestones (request_id, seq, title, due_on) VALUES ($1, $2, $3, $4)"
    )
    .bind(request_id)
    .bind(seq)
    .bind(title)
    .bind(due_on.to_string())
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected());
    Ok(())
}

pub async fn milestones(db: &Db, request_id: i64) -> Result<Vec<Milestone>> {
    let rows: Vec<RawMilestone> = db_run!(db, |c| sqlx::query_as(
        "SELECT seq, title, due_on, case_number, done_at FROM help_milestones \
         WHERE request_id = $1 ORDER BY seq"
    )
    .bind(request_id)
    .fetch_all(c)
    .await
    .map_err(db_err)?);
    rows.into_iter()
        .map(|r| {
            Ok(Milestone {
                seq: r.seq,
                title: r.title,
                due_on: r
                    .due_on
                    .parse()
                    .map_err(|_| Error::internal(format!("milestone due {}", r.due_on)))?,
                case_number: r.case_number,
                done_at: r.done_at.map(from_micros),
            })
        })
        .collect()
}

/// Marks a milestone done (with the case that achieved it); `false` if there is no open one
/// of that number.
pub async fn finish_milestone(
    tx: &mut Tx,
    request_id: i64,
    seq: i64,
    case_number: Option<&str>,
    now: DateTime<Utc>,
) -> Result<bool> {
    let n = tx_run!(tx, |c| sqlx::query(
        "UPDATE help_milestones SET done_at = $1, case_number = $2 \
         WHERE request_id = $3 AND seq = $4 AND done_at IS NULL"
    )
    .bind(micros(now))
    .bind(case_number)
    .bind(request_id)
    .bind(seq)
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected());
    Ok(n == 1)
}

// --- mandates --------------------------------------------------------------------------------

#[derive(Debug, Clone, sqlx::FromRow)]
struct RawMandate {
    id: i64,
    number: String,
    hall: String,
    agent: String,
    principal_name: String,
    principal_id_number: String,
    applicant_id: i64,
    request_id: Option<i64>,
    items: String,
    bundles: String,
    actions: String,
    valid_from: String,
    valid_until: String,
    revoked_at: Option<i64>,
    document_sha: Option<String>,
    created_at: i64,
}

/// A mandate as stored: the domain's [`Mandate`] and where it lies.
#[derive(Debug, Clone)]
pub struct MandateRow {
    pub id: i64,
    pub number: String,
    pub hall: String,
    pub applicant_id: i64,
    pub request_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    /// When the principal revoked it (the domain's `revoked_at` is this in hall time, which
    /// the server fills in: the store knows no time zone).
    pub revoked_at: Option<DateTime<Utc>>,
    pub mandate: Mandate,
}

fn list<T: serde::de::DeserializeOwned>(s: &str, what: &str) -> Result<Vec<T>> {
    serde_json::from_str(s).map_err(|e| Error::internal(format!("mandate {what}: {e}")))
}

fn date(s: &str) -> Result<NaiveDate> {
    s.parse()
        .map_err(|_| Error::internal(format!("mandate date {s}")))
}

impl TryFrom<RawMandate> for MandateRow {
    type Error = Error;
    fn try_from(r: RawMandate) -> Result<MandateRow> {
        let actions: Vec<MandateAction> = list(&r.actions, "actions")?;
        Ok(MandateRow {
            id: r.id,
            number: r.number,
            hall: r.hall,
            applicant_id: r.applicant_id,
            request_id: r.request_id,
            created_at: from_micros(r.created_at),
            revoked_at: r.revoked_at.map(from_micros),
            mandate: Mandate {
                agent: r.agent,
                principal_name: r.principal_name,
                principal_id_number: r.principal_id_number,
                items: list(&r.items, "items")?,
                bundles: list(&r.bundles, "bundles")?,
                actions,
                valid_from: date(&r.valid_from)?,
                valid_until: date(&r.valid_until)?,
                revoked_at: None,
                document: r.document_sha,
            },
        })
    }
}

const MANDATE: &str = "SELECT id, number, hall, agent, principal_name, principal_id_number, applicant_id, \
     request_id, items, bundles, actions, valid_from, valid_until, revoked_at, document_sha, created_at \
     FROM mandates";

pub struct NewMandate<'a> {
    pub number: &'a str,
    pub hall: &'a str,
    pub applicant_id: i64,
    pub request_id: Option<i64>,
    pub mandate: &'a Mandate,
    pub created_by: &'a str,
}

fn json_list<T: serde::Serialize>(v: &[T]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

pub async fn insert_mandate(tx: &mut Tx, n: &NewMandate<'_>, now: DateTime<Utc>) -> Result<i64> {
    let m = n.mandate;
    tx_run!(tx, |c| {
        sqlx::query_scalar(
        "INSERT INTO mandates (number, hall, agent, principal_name, principal_id_number, applicant_id, \
         request_id, items, bundles, actions, valid_from, valid_until, document_sha, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id"
    )
    .bind(n.number)
    .bind(n.hall)
    .bind(&m.agent)
    .bind(&m.principal_name)
    .bind(&m.principal_id_number)
    .bind(n.applicant_id)
    .bind(n.request_id)
    .bind(json_list(&m.items))
    .bind(json_list(&m.bundles))
    .bind(json_list(&m.actions))
    .bind(m.valid_from.to_string())
    .bind(m.valid_until.to_string())
    .bind(m.document.as_deref())
    .bind(micros(now))
    .bind(n.created_by)
    .fetch_one(c)
    .await
    .map_err(db_err)
    })
}

fn unknown_mandate(number: &str) -> Error {
    Error::not_found(
        "mandate_not_found",
        format!("没有编号为 {number} 的授权委托书"),
    )
}

pub async fn mandate(db: &Db, number: &str) -> Result<MandateRow> {
    let sql = format!("{MANDATE} WHERE number = $1");
    let r: Option<RawMandate> = db_run!(db, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(number.trim())
        .fetch_optional(c)
        .await
        .map_err(db_err)?);
    r.ok_or_else(|| unknown_mandate(number))?.try_into()
}

/// Mandates of an agent (`None`: of a hall), newest first.
pub async fn mandates(db: &Db, hall: Option<&str>, agent: Option<&str>) -> Result<Vec<MandateRow>> {
    let sql = format!(
        "{MANDATE} WHERE ($1 IS NULL OR hall = $1) AND ($2 IS NULL OR agent = $2) ORDER BY id DESC LIMIT 500"
    );
    let rows: Vec<RawMandate> = db_run!(db, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(hall)
        .bind(agent)
        .fetch_all(c)
        .await
        .map_err(db_err)?);
    rows.into_iter().map(MandateRow::try_from).collect()
}

pub async fn mandates_of_request(db: &Db, request_id: i64) -> Result<Vec<MandateRow>> {
    let sql = format!("{MANDATE} WHERE request_id = $1 ORDER BY id");
    let rows: Vec<RawMandate> = db_run!(db, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(request_id)
        .fetch_all(c)
        .await
        .map_err(db_err)?);
    rows.into_iter().map(MandateRow::try_from).collect()
}

/// Records a mandate's revocation; `false` if it was revoked already.
pub async fn revoke_mandate(tx: &mut Tx, id: i64, at: DateTime<Utc>) -> Result<bool> {
    let n = tx_run!(tx, |c| sqlx::query(
        "UPDATE mandates SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL"
    )
    .bind(micros(at))
    .bind(id)
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected());
    Ok(n == 1)
}

/// The next mandate number of a day: `WT` + the date + a 4-digit sequence.
pub async fn next_mandate_number(tx: &mut Tx, day: NaiveDate) -> Result<String> {
    let prefix = format!("WT{}", day.format("%Y%m%d"));
    let n: i64 = tx_run!(tx, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM mandates WHERE number LIKE $1"
    )
    .bind(format!("{prefix}%"))
    .fetch_one(c)
    .await
    .map_err(db_err)?);
    Ok(format!("{prefix}{:04}", n + 1))
}

/// Records the signed document of a mandate entered without it.
pub async fn set_document(tx: &mut Tx, id: i64, sha: &str) -> Result<()> {
    tx_run!(tx, |c| sqlx::query(
        "UPDATE mandates SET document_sha = $1 WHERE id = $2 AND document_sha IS NULL"
    )
    .bind(sha)
    .bind(id)
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected());
    Ok(())
}
