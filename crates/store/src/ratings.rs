//! 好差评 and 回访 (issue 11): rating tokens, ratings (append-only: the table refuses UPDATE and
//! DELETE), rectifications, callbacks and the window pads' keys. Every write runs in the
//! caller's transaction beside its event.

use chrono::{DateTime, Utc};
use yichuang_domain::Result;

use crate::db::{Arg, db_err, micros};
use crate::{Db, Tx, db_run, tx_run};

/// Who and what a rating concerns: the dimensions the numbers are grouped by.
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct Dims {
    pub hall: Option<String>,
    pub department: Option<String>,
    pub item: Option<String>,
    pub window_id: Option<i64>,
    pub staff: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewToken<'a> {
    pub token: &'a str,
    pub subject_type: &'a str,
    pub subject_id: &'a str,
    pub stage: &'a str,
    /// What the rater sees: "A012 号 · 3号窗口" or the item's name.
    pub label: &'a str,
    pub dims: &'a Dims,
    pub applicant_id: Option<i64>,
    pub phone: Option<&'a str>,
    pub ready_at: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Deserialize)]
pub struct TokenRow {
    pub id: i64,
    pub token: String,
    pub subject_type: String,
    pub subject_id: String,
    pub stage: String,
    pub label: String,
    pub hall: Option<String>,
    pub department: Option<String>,
    pub item: Option<String>,
    pub window_id: Option<i64>,
    pub staff: Option<String>,
    pub applicant_id: Option<i64>,
    pub phone: Option<String>,
    pub created_at: i64,
    pub ready_at: Option<i64>,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

impl TokenRow {
    pub fn dims(&self) -> Dims {
        Dims {
            hall: self.hall.clone(),
            department: self.department.clone(),
            item: self.item.clone(),
            window_id: self.window_id,
            staff: self.staff.clone(),
        }
    }
}

const TOKEN_COLUMNS: &str = "SELECT id, token, subject_type, subject_id, stage, label, hall, department, item, \
     window_id, staff, applicant_id, phone, created_at, ready_at, expires_at, used_at FROM rating_tokens";

/// Creates the token of a subject and stage unless it exists (a retried command keeps the
/// first). Returns whether it was created.
pub async fn insert_token(tx: &mut Tx, t: &NewToken<'_>, now: DateTime<Utc>) -> Result<()> {
    // Deferred: nothing is read back, so it goes to the database with the transaction's other
    // writes (a subject's token for a stage is made once; a second is ignored).
    tx.write(
        &format!("{TOKEN_INSERT} ON CONFLICT (subject_type, subject_id, stage) DO NOTHING"),
        token_args(t, now),
    )
    .await
}

/// Makes a visit's conclusion token ready to be rated on the window's pad: the slip's token
/// when the ticket has one not yet ready, else `t` as a new token (a ticket taken before slips
/// carried one). Deferred like [`insert_token`].
pub async fn invite_visit_rating(tx: &mut Tx, t: &NewToken<'_>, now: DateTime<Utc>) -> Result<()> {
    tx.write(
        &format!(
            "{TOKEN_INSERT} ON CONFLICT (subject_type, subject_id, stage) DO UPDATE SET \
             ready_at = excluded.ready_at, expires_at = excluded.expires_at, \
             window_id = excluded.window_id, staff = excluded.staff, label = excluded.label \
             WHERE rating_tokens.ready_at IS NULL"
        ),
        token_args(t, now),
    )
    .await
}

const TOKEN_INSERT: &str = "INSERT INTO rating_tokens (token, subject_type, subject_id, stage, label, hall, \
     department, item, window_id, staff, applicant_id, phone, created_at, ready_at, expires_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)";

fn token_args(t: &NewToken<'_>, now: DateTime<Utc>) -> Vec<Arg> {
    vec![
        t.token.into(),
        t.subject_type.into(),
        t.subject_id.into(),
        t.stage.into(),
        t.label.into(),
        t.dims.hall.clone().into(),
        t.dims.department.clone().into(),
        t.dims.item.clone().into(),
        t.dims.window_id.into(),
        t.dims.staff.clone().into(),
        t.applicant_id.into(),
        t.phone.into(),
        micros(now).into(),
        t.ready_at.map(micros).into(),
        micros(t.expires_at).into(),
    ]
}

pub async fn token(db: &Db, token: &str) -> Result<Option<TokenRow>> {
    let q = format!("{TOKEN_COLUMNS} WHERE token = $1");
    db_run!(db, |c| sqlx::query_as::<_, TokenRow>(sqlx::AssertSqlSafe(
        q.clone()
    ))
    .bind(token)
    .fetch_optional(c)
    .await
    .map_err(db_err))
}

pub async fn token_in_tx(tx: &mut Tx, token: &str) -> Result<Option<TokenRow>> {
    tx.read_one(
        &format!("{TOKEN_COLUMNS} WHERE token = $1"),
        vec![token.into()],
    )
    .await
}

pub async fn token_by_id(tx: &mut Tx, id: i64) -> Result<Option<TokenRow>> {
    tx.read_one(&format!("{TOKEN_COLUMNS} WHERE id = $1"), vec![id.into()])
        .await
}

pub async fn token_of_subject(
    db: &Db,
    subject_type: &str,
    subject_id: &str,
    stage: &str,
) -> Result<Option<TokenRow>> {
    let q = format!("{TOKEN_COLUMNS} WHERE subject_type = $1 AND subject_id = $2 AND stage = $3");
    db_run!(db, |c| sqlx::query_as::<_, TokenRow>(sqlx::AssertSqlSafe(
        q.clone()
    ))
    .bind(subject_type)
    .bind(subject_id)
    .bind(stage)
    .fetch_optional(c)
    .await
    .map_err(db_err))
}

/// The subject ended: the token may rate from now on, on the pad of `window_id` if any.
pub async fn make_ready(
    tx: &mut Tx,
    subject_type: &str,
    subject_id: &str,
    stage: &str,
    window_id: Option<i64>,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<Option<TokenRow>> {
    let q = "UPDATE rating_tokens SET ready_at = $1, expires_at = $2, window_id = COALESCE($3, window_id) \
             WHERE subject_type = $4 AND subject_id = $5 AND stage = $6 AND ready_at IS NULL \
             RETURNING id, token, subject_type, subject_id, stage, label, hall, department, item, \
             window_id, staff, applicant_id, phone, created_at, ready_at, expires_at, used_at";
    tx.read_one(
        q,
        vec![
            micros(now).into(),
            micros(expires_at).into(),
            window_id.into(),
            subject_type.into(),
            subject_id.into(),
            stage.into(),
        ],
    )
    .await
}

/// Spends a token; false when it was spent already (a concurrent rating won).
pub async fn spend_token(tx: &mut Tx, id: i64, now: DateTime<Utc>) -> Result<bool> {
    let spent = tx
        .returning_optional(
            "UPDATE rating_tokens SET used_at = $1 WHERE id = $2 AND used_at IS NULL \
             RETURNING id AS value",
            vec![micros(now).into(), id.into()],
        )
        .await?;
    Ok(spent.is_some())
}

/// What a window's pad should show: the newest unspent token made ready there since `since`.
pub async fn pad_token(db: &Db, window_id: i64, since: DateTime<Utc>) -> Result<Option<TokenRow>> {
    let q = format!(
        "{TOKEN_COLUMNS} WHERE window_id = $1 AND used_at IS NULL AND ready_at >= $2 ORDER BY ready_at DESC, id DESC LIMIT 1"
    );
    db_run!(db, |c| sqlx::query_as::<_, TokenRow>(sqlx::AssertSqlSafe(
        q.clone()
    ))
    .bind(window_id)
    .bind(micros(since))
    .fetch_optional(c)
    .await
    .map_err(db_err))
}

#[derive(Debug, Clone)]
pub struct NewRating<'a> {
    pub token_id: Option<i64>,
    pub subject_type: &'a str,
    pub subject_id: &'a str,
    pub stage: &'a str,
    pub level: i64,
    pub indicators: &'a str,
    pub comment: &'a str,
    pub channel: &'a str,
    pub source: &'a str,
    pub bad: bool,
    pub named: bool,
    pub question_set: i64,
    pub dims: &'a Dims,
    pub month: &'a str,
    pub import_key: Option<&'a str>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RatingRow {
    pub id: i64,
    pub subject_type: String,
    pub subject_id: String,
    pub stage: String,
    pub level: i64,
    pub indicators: String,
    pub comment: String,
    pub channel: String,
    pub source: String,
    pub bad: i64,
    pub named: i64,
    pub question_set: i64,
    pub hall: Option<String>,
    pub department: Option<String>,
    pub item: Option<String>,
    pub window_id: Option<i64>,
    pub staff: Option<String>,
    pub rated_at: i64,
    pub month: String,
    /// What the rater saw: the item's name, or the ticket and window.
    pub label: String,
    /// Whether an upheld appeal keeps it out of the numbers (the rating itself stays).
    pub excluded: i64,
}

const RATING_COLUMNS: &str = "SELECT r.id, r.subject_type, r.subject_id, r.stage, r.level, r.indicators, r.comment, \
     r.channel, r.source, r.bad, r.named, r.question_set, r.hall, r.department, r.item, r.window_id, r.staff, \
     r.rated_at, r.month, COALESCE((SELECT t.label FROM rating_tokens t WHERE t.id = r.token_id), r.subject_id) AS label, \
     CAST(CASE WHEN EXISTS (SELECT 1 FROM rectifications x WHERE x.rating_id = r.id AND x.outcome = 'appeal_upheld') \
     THEN 1 ELSE 0 END AS BIGINT) AS excluded FROM ratings r";

pub async fn insert_rating(tx: &mut Tx, r: &NewRating<'_>, now: DateTime<Utc>) -> Result<i64> {
    tx_run!(tx, |c| {
        sqlx::query_scalar(
        "INSERT INTO ratings (token_id, subject_type, subject_id, stage, level, indicators, comment, channel, \
         source, bad, named, question_set, hall, department, item, window_id, staff, rated_at, month, import_key) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20) \
         RETURNING id"
    )
    .bind(r.token_id)
    .bind(r.subject_type)
    .bind(r.subject_id)
    .bind(r.stage)
    .bind(r.level)
    .bind(r.indicators)
    .bind(r.comment)
    .bind(r.channel)
    .bind(r.source)
    .bind(i64::from(r.bad))
    .bind(i64::from(r.named))
    .bind(r.question_set)
    .bind(&r.dims.hall)
    .bind(&r.dims.department)
    .bind(&r.dims.item)
    .bind(r.dims.window_id)
    .bind(&r.dims.staff)
    .bind(micros(now))
    .bind(r.month)
    .bind(r.import_key)
    .fetch_one(c)
    .await
    .map_err(db_err)
    })
}

pub async fn rating(db: &Db, id: i64) -> Result<RatingRow> {
    let q = format!("{RATING_COLUMNS} WHERE r.id = $1");
    db_run!(db, |c| sqlx::query_as::<_, RatingRow>(sqlx::AssertSqlSafe(
        q.clone()
    ))
    .bind(id)
    .fetch_one(c)
    .await
    .map_err(db_err))
}

/// The id of a rating of this subject and stage, or with this import key.
pub async fn existing_rating(
    tx: &mut Tx,
    subject_type: &str,
    subject_id: &str,
    stage: &str,
    import_key: Option<&str>,
) -> Result<Option<i64>> {
    tx_run!(tx, |c| sqlx::query_scalar(
        "SELECT id FROM ratings WHERE (subject_type = $1 AND subject_id = $2 AND stage = $3) \
         OR ($4 IS NOT NULL AND import_key = $4) LIMIT 1"
    )
    .bind(subject_type)
    .bind(subject_id)
    .bind(stage)
    .bind(import_key)
    .fetch_optional(c)
    .await
    .map_err(db_err))
}

/// Filters of the staff's list of ratings.
#[derive(Debug, Clone, Default)]
pub struct RatingFilter {
    pub hall: Option<String>,
    pub department: Option<String>,
    pub month: Option<String>,
    pub level: Option<i64>,
    pub bad: Option<bool>,
    pub channel: Option<String>,
    pub limit: i64,
}

pub async fn ratings(db: &Db, f: &RatingFilter) -> Result<Vec<RatingRow>> {
    let q = format!(
        "{RATING_COLUMNS} WHERE ($1 IS NULL OR r.hall = $1) AND ($2 IS NULL OR r.department = $2) \
         AND ($3 IS NULL OR r.month = $3) AND ($4 IS NULL OR r.level = $4) AND ($5 IS NULL OR r.bad = $5) \
         AND ($6 IS NULL OR r.channel = $6) ORDER BY r.id DESC {}",
        crate::db::limit(f.limit)
    );
    db_run!(db, |c| sqlx::query_as::<_, RatingRow>(sqlx::AssertSqlSafe(
        q.clone()
    ))
    .bind(&f.hall)
    .bind(&f.department)
    .bind(&f.month)
    .bind(f.level)
    .bind(f.bad.map(i64::from))
    .bind(&f.channel)
    .fetch_all(c)
    .await
    .map_err(db_err))
}

#[derive(Debug, Clone)]
pub struct NewRectification<'a> {
    pub source: &'a str,
    pub rating_id: Option<i64>,
    pub callback_id: Option<i64>,
    pub subject_type: &'a str,
    pub subject_id: &'a str,
    pub label: &'a str,
    pub dims: &'a Dims,
    pub problem: &'a str,
    pub opened_on: &'a str,
    pub deadline: &'a str,
    pub month: &'a str,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RectificationRow {
    pub id: i64,
    pub source: String,
    pub rating_id: Option<i64>,
    pub callback_id: Option<i64>,
    pub subject_type: String,
    pub subject_id: String,
    pub label: String,
    pub hall: Option<String>,
    pub department: Option<String>,
    pub item: Option<String>,
    pub window_id: Option<i64>,
    pub staff: Option<String>,
    pub problem: String,
    pub status: String,
    pub outcome: Option<String>,
    pub opened_at: i64,
    pub opened_on: String,
    pub deadline: String,
    pub closed_on: Option<String>,
    pub evidence: Option<String>,
    pub appeal_reason: Option<String>,
    pub appeal_note: Option<String>,
    pub rater_level: Option<i64>,
}

const RECTIFICATION_COLUMNS: &str = "SELECT id, source, rating_id, callback_id, subject_type, subject_id, label, hall, \
     department, item, window_id, staff, problem, status, outcome, opened_at, opened_on, deadline, closed_on, \
     evidence, appeal_reason, appeal_note, rater_level FROM rectifications";

pub async fn insert_rectification(
    tx: &mut Tx,
    r: &NewRectification<'_>,
    now: DateTime<Utc>,
) -> Result<i64> {
    tx_run!(tx, |c| {
        sqlx::query_scalar(
        "INSERT INTO rectifications (source, rating_id, callback_id, subject_type, subject_id, label, hall, \
         department, item, window_id, staff, problem, status, opened_at, opened_on, deadline, month, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'open', $13, $14, $15, $16, $13) RETURNING id"
    )
    .bind(r.source)
    .bind(r.rating_id)
    .bind(r.callback_id)
    .bind(r.subject_type)
    .bind(r.subject_id)
    .bind(r.label)
    .bind(&r.dims.hall)
    .bind(&r.dims.department)
    .bind(&r.dims.item)
    .bind(r.dims.window_id)
    .bind(&r.dims.staff)
    .bind(r.problem)
    .bind(micros(now))
    .bind(r.opened_on)
    .bind(r.deadline)
    .bind(r.month)
    .fetch_one(c)
    .await
    .map_err(db_err)
    })
}

pub async fn rectification(db: &Db, id: i64) -> Result<RectificationRow> {
    by_id(db, RECTIFICATION_COLUMNS, id, rectification_missing).await
}

pub async fn rectification_for_update(tx: &mut Tx, id: i64) -> Result<RectificationRow> {
    by_id_for_update(tx, RECTIFICATION_COLUMNS, id, rectification_missing).await
}

fn rectification_missing() -> yichuang_domain::Error {
    yichuang_domain::Error::not_found("rectification_not_found", "整改记录不存在")
}

/// A row both backends decode.
pub trait Row:
    for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
    + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
    + Send
    + Unpin
{
}

impl<T> Row for T where
    T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + Send
        + Unpin
{
}

/// `columns` (a `SELECT … FROM table`) of the row with this id, or `missing()`.
pub(crate) async fn by_id<T: Row>(
    db: &Db,
    columns: &str,
    id: i64,
    missing: fn() -> yichuang_domain::Error,
) -> Result<T> {
    let q = format!("{columns} WHERE id = $1");
    db_run!(db, |c| sqlx::query_as::<_, T>(sqlx::AssertSqlSafe(
        q.clone()
    ))
    .bind(id)
    .fetch_optional(c)
    .await
    .map_err(db_err)?)
    .ok_or_else(missing)
}

/// Like [`by_id`] inside a write, locking the row on PostgreSQL (SQLite's writer holds the
/// whole database already).
pub(crate) async fn by_id_for_update<T: Row>(
    tx: &mut Tx,
    columns: &str,
    id: i64,
    missing: fn() -> yichuang_domain::Error,
) -> Result<T> {
    let lock = match tx.backend() {
        crate::Backend::Postgres => " FOR UPDATE",
        crate::Backend::Sqlite => "",
    };
    let q = format!("{columns} WHERE id = $1{lock}");
    tx_run!(tx, |c| sqlx::query_as::<_, T>(sqlx::AssertSqlSafe(
        q.clone()
    ))
    .bind(id)
    .fetch_optional(c)
    .await
    .map_err(db_err)?)
    .ok_or_else(missing)
}

/// The open rectification of a rating, if any (a callback's problem joins it).
pub async fn rectification_of_rating(tx: &mut Tx, rating_id: i64) -> Result<Option<i64>> {
    tx_run!(tx, |c| sqlx::query_scalar(
        "SELECT id FROM rectifications WHERE rating_id = $1 ORDER BY id DESC LIMIT 1"
    )
    .bind(rating_id)
    .fetch_optional(c)
    .await
    .map_err(db_err))
}

/// What a change leaves of a rectification (all columns an action may set).
#[derive(Debug, Clone)]
pub struct RectificationChange<'a> {
    pub status: &'a str,
    pub outcome: Option<&'a str>,
    pub closed_on: Option<String>,
    pub evidence: Option<&'a str>,
    pub appeal_reason: Option<&'a str>,
    pub appeal_note: Option<&'a str>,
    pub rater_level: Option<i64>,
    pub problem: Option<&'a str>,
}

pub async fn update_rectification(
    tx: &mut Tx,
    id: i64,
    ch: &RectificationChange<'_>,
    now: DateTime<Utc>,
) -> Result<()> {
    tx_run!(tx, |c| sqlx::query(
        "UPDATE rectifications SET status = $1, outcome = $2, closed_on = $3, \
         evidence = COALESCE($4, evidence), appeal_reason = COALESCE($5, appeal_reason), \
         appeal_note = COALESCE($6, appeal_note), rater_level = COALESCE($7, rater_level), \
         problem = COALESCE($8, problem), updated_at = $9 WHERE id = $10"
    )
    .bind(ch.status)
    .bind(ch.outcome)
    .bind(&ch.closed_on)
    .bind(ch.evidence)
    .bind(ch.appeal_reason)
    .bind(ch.appeal_note)
    .bind(ch.rater_level)
    .bind(ch.problem)
    .bind(micros(now))
    .bind(id)
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected());
    Ok(())
}

/// Which rectifications a list shows: of a hall, a department, a status.
#[derive(Debug, Clone, Default)]
pub struct RectificationFilter {
    pub hall: Option<String>,
    pub department: Option<String>,
    pub status: Option<String>,
    pub limit: i64,
}

pub async fn rectifications(db: &Db, f: &RectificationFilter) -> Result<Vec<RectificationRow>> {
    let q = format!(
        "{RECTIFICATION_COLUMNS} WHERE ($1 IS NULL OR hall = $1) AND ($2 IS NULL OR department = $2) \
         AND ($3 IS NULL OR status = $3) ORDER BY CASE WHEN status = 'closed' THEN 1 ELSE 0 END, deadline, id {}",
        crate::db::limit(f.limit)
    );
    db_run!(db, |c| sqlx::query_as::<_, RectificationRow>(
        sqlx::AssertSqlSafe(q.clone())
    )
    .bind(&f.hall)
    .bind(&f.department)
    .bind(&f.status)
    .fetch_all(c)
    .await
    .map_err(db_err))
}

#[derive(Debug, Clone)]
pub struct NewCallback<'a> {
    pub kind: &'a str,
    pub subject_type: &'a str,
    pub subject_id: &'a str,
    pub label: &'a str,
    pub rating_id: Option<i64>,
    pub rectification_id: Option<i64>,
    pub dims: &'a Dims,
    pub phone: &'a str,
    pub phone_masked: &'a str,
    pub name_masked: &'a str,
    pub due_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CallbackRow {
    pub id: i64,
    pub kind: String,
    pub status: String,
    pub attempts: i64,
    pub subject_type: String,
    pub subject_id: String,
    pub label: String,
    pub rating_id: Option<i64>,
    pub rectification_id: Option<i64>,
    pub hall: Option<String>,
    pub department: Option<String>,
    pub item: Option<String>,
    pub phone: String,
    pub phone_masked: String,
    pub name_masked: String,
    pub created_at: i64,
    pub due_at: i64,
    pub holder_id: Option<i64>,
    pub satisfied: Option<i64>,
    pub problem: Option<String>,
    pub closed_at: Option<i64>,
}

const CALLBACK_COLUMNS: &str = "SELECT id, kind, status, attempts, subject_type, subject_id, label, rating_id, \
     rectification_id, hall, department, item, phone, phone_masked, name_masked, created_at, due_at, holder_id, \
     satisfied, problem, closed_at FROM callbacks";

pub async fn insert_callback(tx: &mut Tx, c: &NewCallback<'_>, now: DateTime<Utc>) -> Result<i64> {
    tx_run!(tx, |conn| {
        sqlx::query_scalar(
        "INSERT INTO callbacks (kind, status, subject_type, subject_id, label, rating_id, rectification_id, hall, \
         department, item, phone, phone_masked, name_masked, created_at, due_at, updated_at) \
         VALUES ($1, 'open', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $13) RETURNING id"
    )
    .bind(c.kind)
    .bind(c.subject_type)
    .bind(c.subject_id)
    .bind(c.label)
    .bind(c.rating_id)
    .bind(c.rectification_id)
    .bind(&c.dims.hall)
    .bind(&c.dims.department)
    .bind(&c.dims.item)
    .bind(c.phone)
    .bind(c.phone_masked)
    .bind(c.name_masked)
    .bind(micros(now))
    .bind(micros(c.due_at))
    .fetch_one(conn)
    .await
    .map_err(db_err)
    })
}

pub async fn callback(db: &Db, id: i64) -> Result<CallbackRow> {
    by_id(db, CALLBACK_COLUMNS, id, callback_missing).await
}

pub async fn callback_for_update(tx: &mut Tx, id: i64) -> Result<CallbackRow> {
    by_id_for_update(tx, CALLBACK_COLUMNS, id, callback_missing).await
}

fn callback_missing() -> yichuang_domain::Error {
    yichuang_domain::Error::not_found("callback_not_found", "回访任务不存在")
}

#[derive(Debug, Clone)]
pub struct CallbackChange<'a> {
    pub status: &'a str,
    pub attempts: i64,
    pub holder_id: Option<i64>,
    pub satisfied: Option<bool>,
    pub problem: Option<&'a str>,
    pub closed: bool,
}

pub async fn update_callback(
    tx: &mut Tx,
    id: i64,
    ch: &CallbackChange<'_>,
    now: DateTime<Utc>,
) -> Result<()> {
    tx_run!(tx, |c| {
        sqlx::query(
        "UPDATE callbacks SET status = $1, attempts = $2, holder_id = $3, satisfied = COALESCE($4, satisfied), \
         problem = COALESCE($5, problem), closed_at = CASE WHEN $6 = 1 THEN $7 ELSE closed_at END, updated_at = $7 \
         WHERE id = $8"
    )
    .bind(ch.status)
    .bind(ch.attempts)
    .bind(ch.holder_id)
    .bind(ch.satisfied.map(i64::from))
    .bind(ch.problem)
    .bind(i64::from(ch.closed))
    .bind(micros(now))
    .bind(id)
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected()
    });
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct CallbackFilter {
    pub hall: Option<String>,
    /// Open ones only (the worklist), or every one.
    pub open: bool,
    pub limit: i64,
}

pub async fn callbacks(db: &Db, f: &CallbackFilter) -> Result<Vec<CallbackRow>> {
    let q = format!(
        "{CALLBACK_COLUMNS} WHERE ($1 IS NULL OR hall = $1) AND ($2 = 0 OR status = 'open') \
         ORDER BY CASE WHEN status = 'open' THEN 0 ELSE 1 END, due_at, id {}",
        crate::db::limit(f.limit)
    );
    db_run!(db, |c| sqlx::query_as::<_, CallbackRow>(
        sqlx::AssertSqlSafe(q.clone())
    )
    .bind(&f.hall)
    .bind(i64::from(f.open))
    .fetch_all(c)
    .await
    .map_err(db_err))
}

/// A group of the numbers: its key (a hall code, a department code, a window id, a staff
/// member's username, an item code or a month) and what was counted.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct CountRow {
    pub key: Option<String>,
    pub ratings: i64,
    pub by_people: i64,
    pub satisfied: i64,
    pub bad: i64,
    pub named_bad: i64,
    pub named_bad_called: i64,
}

#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct RectificationCountRow {
    pub key: Option<String>,
    pub rectifications: i64,
    pub rectified: i64,
    pub rectified_on_time: i64,
}

/// A dimension the numbers are grouped by; the column it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dim {
    Hall,
    Department,
    Window,
    Staff,
    Item,
    Month,
}

impl Dim {
    fn column(self) -> &'static str {
        match self {
            Dim::Hall => "r.hall",
            Dim::Department => "r.department",
            Dim::Window => "CAST(r.window_id AS TEXT)",
            Dim::Staff => "r.staff",
            Dim::Item => "r.item",
            Dim::Month => "r.month",
        }
    }
}

/// Counts of ratings given in `[from, to)`, of one hall or all, grouped by `dim`. Ratings
/// excluded by an upheld appeal are left out; defaults count in `ratings` only
/// (R-EVAL-DEFAULT). Three grouped scans, none with a lookup per rating: all ratings, minus
/// the few an appeal excluded, plus the named 差评 whose callback ended.
pub async fn rating_counts(
    db: &Db,
    dim: Dim,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    hall: Option<&str>,
) -> Result<Vec<CountRow>> {
    let col = dim.column();
    let sums = "COUNT(*) AS ratings, \
         COALESCE(SUM(CASE WHEN r.source <> 'default' THEN 1 ELSE 0 END), 0) AS by_people, \
         COALESCE(SUM(CASE WHEN r.source <> 'default' AND r.level >= 3 THEN 1 ELSE 0 END), 0) AS satisfied, \
         COALESCE(SUM(CASE WHEN r.source <> 'default' AND r.bad = 1 THEN 1 ELSE 0 END), 0) AS bad, \
         COALESCE(SUM(CASE WHEN r.source <> 'default' AND r.bad = 1 AND r.named = 1 THEN 1 ELSE 0 END), 0) AS named_bad, \
         CAST(0 AS BIGINT) AS named_bad_called";
    let range = "r.rated_at >= $1 AND r.rated_at < $2 AND ($3 IS NULL OR r.hall = $3)";
    // CROSS JOIN: SQLite starts from the small side (upheld appeals, ended callbacks) instead of
    // walking every rating of the period; PostgreSQL plans it as any join.
    let upheld = "x.rating_id = r.id AND x.outcome = 'appeal_upheld'";
    let all = format!("SELECT {col} AS key, {sums} FROM ratings r WHERE {range} GROUP BY {col}");
    let excluded = format!(
        "SELECT {col} AS key, {sums} FROM rectifications x CROSS JOIN ratings r WHERE {upheld} AND {range} GROUP BY {col}"
    );
    let called = format!(
        "SELECT {col} AS key, CAST(0 AS BIGINT) AS ratings, CAST(0 AS BIGINT) AS by_people, \
         CAST(0 AS BIGINT) AS satisfied, CAST(0 AS BIGINT) AS bad, CAST(0 AS BIGINT) AS named_bad, \
         COUNT(DISTINCT r.id) AS named_bad_called \
         FROM callbacks cb CROSS JOIN ratings r \
         WHERE r.id = cb.rating_id AND cb.status <> 'open' AND r.source <> 'default' AND r.bad = 1 AND r.named = 1 AND {range} \
         AND NOT EXISTS (SELECT 1 FROM rectifications x WHERE {upheld}) GROUP BY {col}"
    );
    let mut out: std::collections::BTreeMap<Option<String>, CountRow> = Default::default();
    for (q, sign) in [(all, 1), (excluded, -1), (called, 1)] {
        let rows = db_run!(db, |c| sqlx::query_as::<_, CountRow>(sqlx::AssertSqlSafe(
            q.clone()
        ))
        .bind(micros(from))
        .bind(micros(to))
        .bind(hall)
        .fetch_all(c)
        .await
        .map_err(db_err)?);
        for r in rows {
            let e = out.entry(r.key.clone()).or_insert_with(|| CountRow {
                key: r.key.clone(),
                ..Default::default()
            });
            e.ratings += sign * r.ratings;
            e.by_people += sign * r.by_people;
            e.satisfied += sign * r.satisfied;
            e.bad += sign * r.bad;
            e.named_bad += sign * r.named_bad;
            e.named_bad_called += sign * r.named_bad_called;
        }
    }
    Ok(out.into_values().filter(|r| r.ratings > 0).collect())
}

/// Counts of rectifications opened in `[from, to)`, grouped like [`rating_counts`].
pub async fn rectification_counts(
    db: &Db,
    dim: Dim,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    hall: Option<&str>,
) -> Result<Vec<RectificationCountRow>> {
    let col = dim.column();
    let q = format!(
        "SELECT {col} AS key, COUNT(*) AS rectifications, \
         COALESCE(SUM(CASE WHEN outcome IN ('fixed_at_once', 'fixed_by_deadline', 'explained') THEN 1 ELSE 0 END), 0) \
           AS rectified, \
         COALESCE(SUM(CASE WHEN outcome IN ('fixed_at_once', 'fixed_by_deadline', 'explained') \
           AND closed_on <= deadline THEN 1 ELSE 0 END), 0) AS rectified_on_time \
         FROM rectifications r WHERE r.opened_at >= $1 AND r.opened_at < $2 AND ($3 IS NULL OR r.hall = $3) \
         GROUP BY {col} ORDER BY {col}"
    );
    db_run!(db, |c| sqlx::query_as::<_, RectificationCountRow>(
        sqlx::AssertSqlSafe(q.clone())
    )
    .bind(micros(from))
    .bind(micros(to))
    .bind(hall)
    .fetch_all(c)
    .await
    .map_err(db_err))
}

/// Gives a window's pad a new key (the old one stops working).
pub async fn set_pad_key(
    tx: &mut Tx,
    window_id: i64,
    digest: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    tx_run!(tx, |c| {
        sqlx::query(
        "INSERT INTO rating_pads (window_id, key_digest, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (window_id) DO UPDATE SET key_digest = excluded.key_digest, created_at = excluded.created_at"
    )
    .bind(window_id)
    .bind(digest)
    .bind(micros(now))
    .execute(c)
    .await
    .map_err(db_err)?
    .rows_affected()
    });
    Ok(())
}

/// Whether `digest` is the key of the pad of `window_id`.
pub async fn pad_key_matches(db: &Db, window_id: i64, digest: &str) -> Result<bool> {
    let n: i64 = db_run!(db, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM rating_pads WHERE window_id = $1 AND key_digest = $2"
    )
    .bind(window_id)
    .bind(digest)
    .fetch_one(c)
    .await
    .map_err(db_err)?);
    Ok(n > 0)
}

/// The applicant's name and phone, for a callback's script and dial.
pub async fn applicant_contact(tx: &mut Tx, id: i64) -> Result<Option<(String, String)>> {
    tx_run!(tx, |c| sqlx::query_as::<_, (String, String)>(
        "SELECT name, phone FROM applicants WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(c)
    .await
    .map_err(db_err))
}

/// The names people read for the keys of a dimension (hall, department, item, window, staff).
pub async fn names(db: &Db, dim: Dim) -> Result<Vec<(String, String)>> {
    let q = match dim {
        Dim::Hall => "SELECT code, name FROM halls",
        Dim::Department => "SELECT code, name FROM departments",
        Dim::Item => "SELECT code, name FROM items",
        Dim::Window => {
            "SELECT CAST(w.id AS TEXT), h.name || ' ' || w.name FROM windows w JOIN halls h ON h.id = w.hall_id"
        }
        Dim::Staff => "SELECT username, display_name FROM accounts",
        Dim::Month => return Ok(Vec::new()),
    };
    db_run!(db, |c| sqlx::query_as::<_, (String, String)>(q)
        .fetch_all(c)
        .await
        .map_err(db_err))
}

/// The first token of a subject (its rater's contact), read inside a write.
pub async fn first_token_of_subject(
    tx: &mut Tx,
    subject_type: &str,
    subject_id: &str,
) -> Result<Option<TokenRow>> {
    let q =
        format!("{TOKEN_COLUMNS} WHERE subject_type = $1 AND subject_id = $2 ORDER BY id LIMIT 1");
    tx_run!(tx, |c| sqlx::query_as::<_, TokenRow>(sqlx::AssertSqlSafe(
        q.clone()
    ))
    .bind(subject_type)
    .bind(subject_id)
    .fetch_optional(c)
    .await
    .map_err(db_err))
}

/// The window a staff member (by username) is signed in to, if any. Read outside the caller's
/// write, which it only labels (which pad a rating is invited on): in the write it would make a
/// command that otherwise only writes a member of the SQLite writer's turn that reads, and
/// that costs the turn its savepoint's two statements (issue 9).
pub async fn window_of_username(db: &Db, username: &str) -> Result<Option<i64>> {
    db_run!(db, |c| sqlx::query_scalar(
        "SELECT w.id FROM windows w JOIN accounts s ON s.id = w.staff_id \
         WHERE s.username = $1 AND w.status <> 'closed' LIMIT 1"
    )
    .bind(username)
    .fetch_optional(c)
    .await
    .map_err(db_err))
}
