//! The `cases` rows, their event streams and their open steps (the worklists).

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Utc};
use yichuang_domain::case::events::SYSTEM;
use yichuang_domain::case::{Case, CaseEvent, Change, ReceiptKey};
use yichuang_domain::{Error, Result};

use super::applicants::ApplicantRow;
use crate::db::{Arg, Backend, db_err, micros, parameter_list, placeholders};
use crate::{Db, Tx, db_run, tx_run};

pub struct NewCase<'a> {
    pub number: &'a str,
    pub item: &'a str,
    pub item_version: i64,
    pub department: &'a str,
    pub hall: Option<&'a str>,
    pub applicant_id: i64,
    pub process_code: &'a str,
    pub process_version: i64,
    pub parent: Option<&'a str>,
    pub received_at: DateTime<Utc>,
    /// The receipt's query code (random, unique).
    pub query_code: &'a str,
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Deserialize)]
pub struct CaseRow {
    pub id: i64,
    pub number: String,
    pub item: String,
    pub item_version: i64,
    pub department: String,
    pub hall: Option<String>,
    pub applicant_id: i64,
    pub status: String,
    pub process_code: String,
    pub process_version: i64,
    pub parent: Option<String>,
    pub received_at: i64,
    pub accepted_on: Option<String>,
    pub due_date: Option<String>,
    pub events: i64,
    pub query_code: Option<String>,
}

const CASE_COLUMNS: &str = "id, number, item, item_version, department, hall, applicant_id, status, \
     process_code, process_version, parent, received_at, accepted_on, due_date, events, query_code";

/// A case row with its events, the receipt carrying the full applicant again.
#[derive(Debug, Clone)]
pub struct StoredCase {
    pub row: CaseRow,
    pub events: Vec<CaseEvent>,
}

/// One open step of a case, as the worklists show it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize, serde::Deserialize)]
pub struct StepRow {
    pub node: String,
    pub name: String,
    pub department: Option<String>,
    pub role: String,
    pub since: i64,
    pub due: String,
    pub claimed_by: Option<String>,
}

/// The next readable case number of `day`: `YC` + yymmdd + a 4-digit sequence (wider past
/// 9999), unique because the per-day counter is raised in the same transaction.
pub async fn next_number(tx: &mut Tx, day: NaiveDate) -> Result<String> {
    let key = day.format("%y%m%d").to_string();
    let n = tx
        .returning(
            "INSERT INTO case_numbers (day, last) VALUES ($1, 1) \
             ON CONFLICT (day) DO UPDATE SET last = case_numbers.last + 1 RETURNING last AS value",
            vec![key.as_str().into()],
        )
        .await?;
    Ok(format!("YC{key}{n:04}"))
}

pub async fn insert(tx: &mut Tx, new: &NewCase<'_>, now: DateTime<Utc>) -> Result<i64> {
    tx.returning(
        "INSERT INTO cases (number, item, item_version, department, hall, applicant_id, status, \
         process_code, process_version, parent, received_at, events, created_at, updated_at, \
         query_code) \
         VALUES ($1, $2, $3, $4, $5, $6, 'received', $7, $8, $9, $10, 0, $11, $11, $12) \
         RETURNING id AS value",
        vec![
            new.number.into(),
            new.item.into(),
            new.item_version.into(),
            new.department.into(),
            new.hall.into(),
            new.applicant_id.into(),
            new.process_code.into(),
            new.process_version.into(),
            new.parent.into(),
            micros(new.received_at).into(),
            micros(now).into(),
            new.query_code.into(),
        ],
    )
    .await
}

/// Marks a case just received in `tx` as made by `key` ([`ReceiptKey`]): a second receipt with
/// the key breaks the unique index and fails with `duplicate`, even one in the same shared
/// transaction.
pub async fn set_receipt_key(tx: &mut Tx, id: i64, key: &ReceiptKey) -> Result<()> {
    tx.write(
        "UPDATE cases SET receipt_key = $1 WHERE id = $2",
        vec![key.as_str().into(), id.into()],
    )
    .await
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct Made {
    number: String,
}

/// What a receipt's key makes: a case, or a bundle's parent (一件事).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receipts {
    Cases,
    Bundles,
}

impl Receipts {
    fn made_by_key(self) -> &'static str {
        match self {
            Receipts::Cases => "SELECT number FROM cases WHERE receipt_key = $1",
            Receipts::Bundles => "SELECT number FROM bundle_cases WHERE receipt_key = $1",
        }
    }
}

/// The number of the committed case (or bundle) `key` made, if any.
pub async fn made_by_key(db: &Db, made: Receipts, key: &ReceiptKey) -> Result<Option<String>> {
    let rows: Vec<Made> = db
        .read(made.made_by_key(), vec![key.as_str().into()])
        .await?;
    Ok(rows.into_iter().next().map(|m| m.number))
}

/// [`made_by_key`], read in a write: a receipt with the key still committing (on SQLite in the
/// same shared transaction as the one its key turned away) is waited for, not missed.
pub async fn made_by_key_once_committed(
    db: &Db,
    made: Receipts,
    key: &ReceiptKey,
) -> Result<Option<String>> {
    let mut tx = db.begin().await?;
    let row: Option<Made> = tx
        .read_one(made.made_by_key(), vec![key.as_str().into()])
        .await?;
    tx.commit().await?;
    Ok(row.map(|m| m.number))
}

/// Appends events to a case's stream (numbered after the `row.events` already there), in the
/// caller's transaction, in one multi-row statement. `department` is the acting person's
/// department (what "已办" lists by); deadline events carry none.
///
/// The stream is the case's part of the event log: its rows are append-only and masked
/// (R-PII), so they are not copied into the shared `events` table as well. The copy held the
/// same actor, kind, time and masked body, was read by nothing but tests, and cost every case
/// command a statement and its pages in the commit (issue 9).
pub async fn append(
    tx: &mut Tx,
    row: &CaseRow,
    events_in: &[CaseEvent],
    department: Option<&str>,
    zone: FixedOffset,
) -> Result<()> {
    if events_in.is_empty() {
        return Ok(());
    }
    let mut rows = Vec::with_capacity(events_in.len());
    for (i, e) in events_in.iter().enumerate() {
        let body = serde_json::to_string(&stored_form(e)).map_err(Error::internal)?;
        let dept = (e.by != SYSTEM).then_some(department).flatten();
        rows.push((
            row.events + i as i64 + 1,
            micros(utc(e.at, zone)),
            e,
            dept,
            body,
        ));
    }
    let sql = format!(
        "INSERT INTO case_events (case_id, seq, at, actor, department, kind, body) VALUES {}",
        placeholders(rows.len(), 7)
    );
    let mut args: Vec<Arg> = Vec::with_capacity(rows.len() * 7);
    for (seq, at, e, dept, body) in rows {
        args.extend([
            row.id.into(),
            seq.into(),
            at.into(),
            e.by.as_str().into(),
            dept.into(),
            e.change.kind().into(),
            body.into(),
        ]);
    }
    tx.write(&sql, args).await
}

/// An event as the stream keeps it. R-PII: the applicant's full numbers stay in `applicants`.
fn stored_form(e: &CaseEvent) -> CaseEvent {
    let mut stored = e.clone();
    if let Change::Received { applicant, .. } = &mut stored.change {
        *applicant = applicant.masked();
    }
    stored
}

/// The hall-local time of an event as a UTC instant.
pub fn utc(local: NaiveDateTime, zone: FixedOffset) -> DateTime<Utc> {
    (local - chrono::Duration::seconds(i64::from(zone.local_minus_utc()))).and_utc()
}

/// What lists filter on, derived from the folded case after a change, and the folded case
/// itself: the state the next command starts from instead of replaying the history.
pub struct Summary<'a> {
    pub status: &'a str,
    pub accepted_on: Option<NaiveDate>,
    pub due_date: Option<NaiveDate>,
    pub events: i64,
    pub state: &'a Case,
    /// The pending timers as just written or left (see [`CaseState::timer_plan`]).
    pub timer_plan: &'a str,
    /// The open steps as [`write_steps`] leaves them (see [`CaseState::steps`]).
    pub steps: &'a [StepRow],
}

/// The case row as the change started from it: its two writes change the row only if it still
/// stands so ([`Tx::write_guarded`]), since a command may start from a state kept in this
/// process ([`load_for_change`]) rather than one read under the writer's turn. The event count
/// moves with every change that adds events, the timer plan with every change that does not.
#[derive(Debug, Clone, Copy)]
pub struct Before<'a> {
    pub events: i64,
    pub timer_plan: Option<&'a str>,
    /// What lists filter on, as the row holds it (the guard above vouches that it still does).
    pub status: &'a str,
    pub accepted_on: Option<&'a str>,
    pub due_date: Option<&'a str>,
}

impl<'a> Before<'a> {
    /// `row` as it was read or kept, with the timer plan it noted.
    pub fn of(row: &'a CaseRow, timer_plan: Option<&'a str>) -> Self {
        Before {
            events: row.events,
            timer_plan,
            status: &row.status,
            accepted_on: row.accepted_on.as_deref(),
            due_date: row.due_date.as_deref(),
        }
    }
}

/// Writes the row after a change that added events. Status, acceptance day and due date are
/// named only when one of them moved: most commands move none, and naming an indexed column
/// makes SQLite rewrite its index entries even when the value stays (two indexes here, about a
/// third of the statement's time; docs/performance.md, issue 9's sixteenth part).
pub async fn update(
    tx: &mut Tx,
    id: i64,
    before: Before<'_>,
    s: &Summary<'_>,
    now: DateTime<Utc>,
) -> Result<()> {
    let state = snapshot(s.state)?;
    let steps = serde_json::to_string(s.steps).map_err(Error::internal)?;
    let accepted_on = s.accepted_on.map(|d| d.to_string());
    let due_date = s.due_date.map(|d| d.to_string());
    let listed_moved = before.status != s.status
        || before.accepted_on != accepted_on.as_deref()
        || before.due_date != due_date.as_deref();
    let mut args = vec![
        s.events.into(),
        micros(now).into(),
        state.into(),
        s.timer_plan.into(),
        steps.into(),
        id.into(),
        before.events.into(),
        before.timer_plan.into(),
    ];
    let sql = if listed_moved {
        args.extend([s.status.into(), accepted_on.into(), due_date.into()]);
        "UPDATE cases SET events = $1, updated_at = $2, state = $3, timer_plan = $4, open_steps = $5, \
         status = $9, accepted_on = $10, due_date = $11 \
         WHERE id = $6 AND events = $7 AND timer_plan IS NOT DISTINCT FROM $8"
    } else {
        "UPDATE cases SET events = $1, updated_at = $2, state = $3, timer_plan = $4, open_steps = $5 \
         WHERE id = $6 AND events = $7 AND timer_plan IS NOT DISTINCT FROM $8"
    };
    tx.write_guarded(sql, args).await
}

/// Notes the pending timers written by a change that added no events.
pub async fn set_timer_plan(tx: &mut Tx, id: i64, before: Before<'_>, plan: &str) -> Result<()> {
    tx.write_guarded(
        "UPDATE cases SET timer_plan = $1 \
         WHERE id = $2 AND events = $3 AND timer_plan IS NOT DISTINCT FROM $4",
        vec![
            plan.into(),
            id.into(),
            before.events.into(),
            before.timer_plan.into(),
        ],
    )
    .await
}

/// Brings the open steps of a case from `before` (as last written, [`CaseState::steps`]; `None`
/// when unknown) to `after`, writing only what changed (issue 9): one delete of the steps that
/// closed and one multi-row upsert of those that opened or changed, each only when there are
/// any. Most commands close or open a step, or claim one: one statement, not the delete and
/// insert of every open step.
pub async fn write_steps(
    tx: &mut Tx,
    case_id: i64,
    before: Option<&[StepRow]>,
    after: &[StepRow],
) -> Result<()> {
    let Some(before) = before else {
        tx.write(
            "DELETE FROM case_steps WHERE case_id = $1",
            vec![case_id.into()],
        )
        .await?;
        return upsert_steps(tx, case_id, &after.iter().collect::<Vec<_>>()).await;
    };
    let closed: Vec<&str> = before
        .iter()
        .filter(|b| !after.iter().any(|a| a.node == b.node))
        .map(|b| b.node.as_str())
        .collect();
    if !closed.is_empty() {
        let sql = format!(
            "DELETE FROM case_steps WHERE case_id = $1 AND node IN ({})",
            parameter_list(2, closed.len())
        );
        let mut args: Vec<Arg> = vec![case_id.into()];
        args.extend(closed.into_iter().map(Arg::from));
        tx.write(&sql, args).await?;
    }
    let changed: Vec<&StepRow> = after.iter().filter(|a| !before.contains(a)).collect();
    upsert_steps(tx, case_id, &changed).await
}

async fn upsert_steps(tx: &mut Tx, case_id: i64, steps: &[&StepRow]) -> Result<()> {
    if steps.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO case_steps (case_id, node, name, department, role, since, due, claimed_by) \
         VALUES {} ON CONFLICT (case_id, node) DO UPDATE SET name = excluded.name, \
         department = excluded.department, role = excluded.role, since = excluded.since, \
         due = excluded.due, claimed_by = excluded.claimed_by",
        placeholders(steps.len(), 8)
    );
    let mut args: Vec<Arg> = Vec::with_capacity(steps.len() * 8);
    for s in steps {
        args.extend([
            case_id.into(),
            s.node.as_str().into(),
            s.name.as_str().into(),
            s.department.clone().into(),
            s.role.as_str().into(),
            s.since.into(),
            s.due.as_str().into(),
            s.claimed_by.clone().into(),
        ]);
    }
    tx.write(&sql, args).await
}

fn not_found(number: &str) -> Error {
    Error::not_found("case_not_found", format!("办件 {number} 不存在"))
}

const EVENTS_OF: &str = "SELECT body FROM case_events WHERE case_id = $1 ORDER BY seq";
const APPLICANT_OF: &str = "SELECT id_number, phone FROM applicants WHERE id = $1";

fn restore(row: CaseRow, mut events: Vec<CaseEvent>, applicant: ApplicantRow) -> StoredCase {
    if let Some(Change::Received { applicant: a, .. }) = events.first_mut().map(|e| &mut e.change) {
        a.id_number = applicant.id_number;
        a.phone = applicant.phone;
    }
    StoredCase { row, events }
}

/// The number of the case a query code belongs to.
pub async fn number_by_query_code(db: &Db, code: &str) -> Result<Option<String>> {
    db_run!(db, |c| sqlx::query_scalar(
        "SELECT number FROM cases WHERE query_code = $1"
    )
    .bind(code)
    .fetch_optional(c)
    .await
    .map_err(db_err))
}

/// A case for reading.
pub async fn load(db: &Db, number: &str) -> Result<StoredCase> {
    let sql = format!("SELECT {CASE_COLUMNS} FROM cases WHERE number = $1");
    let row: Option<CaseRow> = db_run!(db, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(number)
        .fetch_optional(c)
        .await
        .map_err(db_err)?);
    let row = row.ok_or_else(|| not_found(number))?;
    let events = history(db, row.id, row.events).await?;
    let applicant: ApplicantRow = db_run!(db, |c| sqlx::query_as(APPLICANT_OF)
        .bind(row.applicant_id)
        .fetch_one(c)
        .await
        .map_err(db_err)?);
    Ok(restore(row, events, applicant))
}

/// The folded case as the row keeps it. R-PII: the applicant's full numbers stay in
/// `applicants` and are put back on loading, as for the event stream.
fn snapshot(case: &Case) -> Result<String> {
    let mut kept = case.clone();
    kept.applicant = case.applicant.masked();
    serde_json::to_string(&kept).map_err(Error::internal)
}

/// A case as a command starts from: its row and its folded state.
#[derive(Debug, Clone)]
pub struct CaseState {
    pub row: CaseRow,
    pub case: Case,
    /// The pending timers as last written ([`Summary::timer_plan`]); `None` when unknown.
    pub timer_plan: Option<String>,
    /// The open steps as last written ([`Summary::steps`]); `None` when unknown (a row written
    /// before they were kept): then they are written afresh.
    pub steps: Option<Vec<StepRow>>,
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct StateRow {
    #[sqlx(flatten)]
    #[serde(flatten)]
    row: CaseRow,
    state: Option<String>,
    timer_plan: Option<String>,
    open_steps: Option<String>,
    id_number: String,
    phone: String,
}

/// A case for changing, in one statement: the row, its kept state and the applicant's full
/// numbers (no replay of the history). On PostgreSQL the case row stays locked until the
/// transaction ends, so two commands on one case run one after the other (SQLite's write lock
/// does that already). A row written before states were kept is folded from its events once;
/// its next change keeps the state.
pub async fn load_for_update(tx: &mut Tx, number: &str) -> Result<CaseState> {
    let lock = match tx.backend() {
        Backend::Postgres => " FOR UPDATE OF c",
        Backend::Sqlite => "",
    };
    let columns = CASE_COLUMNS
        .split(", ")
        .map(|c| format!("c.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT {columns}, c.state, c.timer_plan, c.open_steps, a.id_number, a.phone FROM cases c \
         JOIN applicants a ON a.id = c.applicant_id WHERE c.number = $1{lock}"
    );
    let found: Option<StateRow> = tx.read_one(&sql, vec![number.into()]).await?;
    let found = found.ok_or_else(|| not_found(number))?;
    let mut case = match &found.state {
        Some(state) => serde_json::from_str::<Case>(state).map_err(Error::internal)?,
        None => {
            let bodies: Vec<String> = tx_run!(&mut *tx, |c| sqlx::query_scalar(EVENTS_OF)
                .bind(found.row.id)
                .fetch_all(c)
                .await
                .map_err(db_err)?);
            Case::replay(&decode(&bodies)?)?
        }
    };
    case.applicant.id_number = found.id_number;
    case.applicant.phone = found.phone;
    let steps = match &found.open_steps {
        Some(kept) => Some(serde_json::from_str(kept).map_err(Error::internal)?),
        None => None,
    };
    Ok(CaseState {
        row: found.row,
        case,
        timer_plan: found.timer_plan,
        steps,
    })
}

/// Where a command's case comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Read in the transaction (on PostgreSQL, locked until it ends).
    Stored,
    /// The state this process kept after the case's last committed change, when it has one:
    /// no statement, and on SQLite no decoding of the state under the writer's turn (issue 9).
    /// The change's guarded writes ([`Before`]) fail with [`crate::db::STALE`] if the row has
    /// moved on since (another process or instance, or a change committed but not yet kept);
    /// the caller then runs it again from [`Source::Stored`]. On PostgreSQL the row is then
    /// not locked from the start: the guarded update, the change's first write, locks it, and
    /// a command on the same case that holds it first makes the guard fail.
    Kept,
}

/// A case for changing, from `source`; the flag says whether it came from what was kept.
pub async fn load_for_change(
    tx: &mut Tx,
    number: &str,
    source: Source,
) -> Result<(CaseState, bool)> {
    if source == Source::Kept
        && let Some(kept) = STATES.get(tx.db(), number)
    {
        return Ok((kept, true));
    }
    Ok((load_for_update(tx, number).await?, false))
}

/// Keeps a case's state as a change just committed it, for the next command on it
/// ([`Source::Kept`]). A state with fewer events than the one kept is older and is dropped.
pub fn keep_state(db: &Db, state: CaseState) {
    STATES.keep(db, state);
}

/// Forgets the state kept for a case (a change from it failed, or a change that keeps nothing
/// is under way).
pub fn forget_state(db: &Db, number: &str) {
    STATES
        .lock()
        .kept
        .remove(&(db.identity(), number.to_string()));
}

/// A command on a case, from its start until it is dropped (after its state is kept): the
/// case's turn in this process.
pub type Working = crate::turns::Turn;

/// The turns of commands on cases ([`working_on`]).
static CASE_TURNS: crate::turns::Turns = crate::turns::Turns::new();

/// Marks a command on `number` as under way, once any other command on the case in this
/// process has ended, and says where it should start from: from the state that one kept. Two
/// commands on one case at once (two parallel reviews) would otherwise both start from the
/// same state, and the second would fail its guard and run again; started from the row
/// instead, it read the row in the write, and on SQLite a member of the writer's turn that
/// reads costs the turn its savepoint (issue 9's eighteenth part). Past the turn's wait it
/// starts from the row beside the other ([`crate::turns`]).
pub async fn working_on(db: &Db, number: &str) -> (Working, Source) {
    let turn = CASE_TURNS.take(db, number).await;
    let source = if turn.held() {
        Source::Kept
    } else {
        Source::Stored
    };
    (turn, source)
}

/// Case states lately changed, per database and case number.
static STATES: States = States(std::sync::LazyLock::new(Default::default));

type StateKey = (String, String);

#[derive(Default)]
struct Kept {
    kept: std::collections::HashMap<StateKey, CaseState>,
}

struct States(std::sync::LazyLock<std::sync::Mutex<Kept>>);

impl States {
    fn lock(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn get(&self, db: &Db, number: &str) -> Option<CaseState> {
        self.lock()
            .kept
            .get(&(db.identity(), number.to_string()))
            .cloned()
    }

    fn keep(&self, db: &Db, state: CaseState) {
        let all = &mut self.lock().kept;
        // The same bound as the histories: the cases being worked on.
        if all.len() >= MAX_HISTORIES {
            all.clear();
        }
        let key = (db.identity(), state.row.number.clone());
        if all
            .get(&key)
            .is_some_and(|k| k.row.events > state.row.events)
        {
            return;
        }
        all.insert(key, state);
    }
}

/// A case's history, oldest first, as it stood with `count` events (the applicant's numbers
/// in it masked). A stream is only ever appended to, so a history kept with as many events as
/// the row counts is the stored one, and is served without a read.
pub async fn history(db: &Db, case_id: i64, count: i64) -> Result<Vec<CaseEvent>> {
    if let Some(kept) = HISTORIES.get(db, case_id, count) {
        return Ok(kept);
    }
    let bodies: Vec<String> = db_run!(db, |c| sqlx::query_scalar(EVENTS_OF)
        .bind(case_id)
        .fetch_all(c)
        .await
        .map_err(db_err)?);
    let events = decode(&bodies)?;
    HISTORIES.keep(db, case_id, &events);
    Ok(events)
}

/// A case's history after a change that added `added` to the `before` events its row counted:
/// the kept history and the new events, or read when none is kept.
pub async fn history_after(
    db: &Db,
    case_id: i64,
    before: i64,
    added: &[CaseEvent],
) -> Result<Vec<CaseEvent>> {
    if let Some(mut events) = HISTORIES.get(db, case_id, before) {
        events.extend(added.iter().map(stored_form));
        HISTORIES.keep(db, case_id, &events);
        return Ok(events);
    }
    history(db, case_id, before + added.len() as i64).await
}

/// Keeps the history of a case just received and committed (its first events), so that the
/// first command on it need not read them back.
pub fn keep_received(db: &Db, case_id: i64, events: &[CaseEvent]) {
    let stored: Vec<CaseEvent> = events.iter().map(stored_form).collect();
    HISTORIES.keep(db, case_id, &stored);
}

/// Histories lately read or written, per database and case.
static HISTORIES: Histories = Histories(std::sync::LazyLock::new(Default::default));

/// At most this many histories are kept (about 10 kB each): the cases being worked on.
const MAX_HISTORIES: usize = 4096;

type HistoryKey = (String, i64);

struct Histories(
    std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<HistoryKey, Vec<CaseEvent>>>>,
);

impl Histories {
    fn get(&self, db: &Db, case_id: i64, count: i64) -> Option<Vec<CaseEvent>> {
        let all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        all.get(&(db.identity(), case_id))
            .filter(|h| h.len() as i64 == count)
            .cloned()
    }

    fn keep(&self, db: &Db, case_id: i64, events: &[CaseEvent]) {
        let mut all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if all.len() >= MAX_HISTORIES {
            all.clear();
        }
        all.insert((db.identity(), case_id), events.to_vec());
    }
}

fn decode(bodies: &[String]) -> Result<Vec<CaseEvent>> {
    bodies
        .iter()
        .map(|b| serde_json::from_str::<CaseEvent>(b).map_err(Error::internal))
        .collect()
}

const CHILDREN: &str = "SELECT number AS value FROM cases WHERE parent = $1 ORDER BY id";

/// The numbers of a bundle's sub-cases, in the order they were received.
pub async fn children(db: &Db, parent: &str) -> Result<Vec<String>> {
    db_run!(db, |c| sqlx::query_scalar(CHILDREN)
        .bind(parent)
        .fetch_all(c)
        .await
        .map_err(db_err))
}

pub async fn children_in(tx: &mut Tx, parent: &str) -> Result<Vec<String>> {
    tx.texts(CHILDREN, vec![parent.into()]).await
}

/// One line of a department worklist.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WorkRow {
    pub number: String,
    pub item: String,
    pub status: String,
    pub node: Option<String>,
    pub name: Option<String>,
    pub since: Option<i64>,
    pub due: Option<String>,
    pub claimed_by: Option<String>,
    pub case_due: Option<String>,
}

/// 待办: the open steps of `department`, with a due date in `[due_from, due_to]` when given
/// (即将超期 and 已超期 are such ranges), earliest due first.
pub async fn open_steps(
    db: &Db,
    department: &str,
    due_from: Option<NaiveDate>,
    due_to: Option<NaiveDate>,
    limit: i64,
) -> Result<Vec<WorkRow>> {
    let from = due_from.map_or_else(|| "0000-00-00".to_string(), |d| d.to_string());
    let to = due_to.map_or_else(|| "9999-99-99".to_string(), |d| d.to_string());
    db_run!(db, |c| sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT c.number, c.item, c.status, s.node, s.name, s.since, s.due, s.claimed_by, \
         c.due_date AS case_due FROM case_steps s JOIN cases c ON c.id = s.case_id \
         WHERE s.department = $1 AND s.due >= $2 AND s.due <= $3 ORDER BY s.due, c.id {}",
        crate::db::limit(limit)
    )))
    .bind(department)
    .bind(from)
    .bind(to)
    .fetch_all(c)
    .await
    .map_err(db_err))
}

/// 待出件: the open issuance steps (制证出件) of the cases of `hall`, earliest due first — the
/// list an issuance clerk works from.
pub async fn issuance_steps(db: &Db, hall: &str, limit: i64) -> Result<Vec<WorkRow>> {
    db_run!(db, |c| sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT c.number, c.item, c.status, s.node, s.name, s.since, s.due, s.claimed_by, \
         c.due_date AS case_due FROM case_steps s JOIN cases c ON c.id = s.case_id \
         WHERE s.role = 'issuance' AND c.hall = $1 ORDER BY s.due, c.id {}",
        crate::db::limit(limit)
    )))
    .bind(hall)
    .fetch_all(c)
    .await
    .map_err(db_err))
}

/// 已办: cases someone of `department` worked on that wait for nothing from it now.
pub async fn done(db: &Db, department: &str, limit: i64) -> Result<Vec<WorkRow>> {
    db_run!(db, |c| {
        sqlx::query_as(
        sqlx::AssertSqlSafe(format!("SELECT c.number, c.item, c.status, NULL AS node, NULL AS name, CAST(NULL AS BIGINT) AS since, \
         NULL AS due, NULL AS claimed_by, c.due_date AS case_due FROM cases c \
         WHERE EXISTS (SELECT 1 FROM case_events e WHERE e.case_id = c.id AND e.department = $1) \
         AND NOT EXISTS (SELECT 1 FROM case_steps s WHERE s.case_id = c.id AND s.department = $1) \
         ORDER BY c.updated_at DESC {}", crate::db::limit(limit)))
    )
    .bind(department)
    .fetch_all(c)
    .await
    .map_err(db_err)
    })
}

/// How many cases there are (load figures).
pub async fn count(db: &Db) -> Result<i64> {
    db_run!(db, |c| sqlx::query_scalar("SELECT COUNT(*) FROM cases")
        .fetch_one(c)
        .await
        .map_err(db_err))
}

/// The payloads of the shared log's entries of `kind` for a case, read in the transaction.
pub async fn logged(tx: &mut Tx, number: &str, kind: &str) -> Result<Vec<serde_json::Value>> {
    let rows = tx
        .texts(
            "SELECT payload AS value FROM events WHERE subject_type = 'case' AND subject_id = $1 \
             AND kind = $2 ORDER BY id",
            vec![number.into(), kind.into()],
        )
        .await?;
    Ok(rows
        .iter()
        .filter_map(|p| serde_json::from_str(p).ok())
        .collect())
}

/// Everything stored of one case, read in one transaction past what this process keeps, and
/// beside it what this process keeps: for checking that they all agree (the server's
/// `cases::audit`), since a command writes a case's parts from a kept state, not a replay.
pub struct Whole {
    /// The row with its kept state, timer plan and open steps, and the applicant's numbers.
    pub stored: CaseState,
    /// The case's events as stored (the applicant's numbers masked), in order.
    pub events: Vec<CaseEvent>,
    /// The rows of `case_steps`, by node.
    pub steps: Vec<StepRow>,
    /// The pending rows of `timers` for the case: kind, due time and payload, by kind.
    pub timers: Vec<PendingTimer>,
    /// The state this process kept after the case's last change, if any.
    pub kept: Option<CaseState>,
    /// The history this process keeps for as many events as the row counts, if any.
    pub kept_history: Option<Vec<CaseEvent>>,
}

/// A timer not yet fired nor cancelled.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct PendingTimer {
    pub kind: String,
    pub due_at: i64,
    pub payload: String,
}

/// Reads [`Whole`]: nothing of it is written (the transaction is dropped).
pub async fn whole(db: &Db, number: &str) -> Result<Whole> {
    let mut tx = db.begin().await?;
    let stored = load_for_update(&mut tx, number).await?;
    let id = stored.row.id;
    let bodies: Vec<String> = tx_run!(&mut tx, |c| sqlx::query_scalar(EVENTS_OF)
        .bind(id)
        .fetch_all(c)
        .await
        .map_err(db_err)?);
    let steps = tx
        .read(
            "SELECT node, name, department, role, since, due, claimed_by FROM case_steps \
             WHERE case_id = $1 ORDER BY node",
            vec![id.into()],
        )
        .await?;
    let timers = tx
        .read(
            "SELECT kind, due_at, payload FROM timers WHERE subject = $1 \
             AND fired_at IS NULL AND cancelled_at IS NULL ORDER BY kind",
            vec![number.into()],
        )
        .await?;
    drop(tx);
    Ok(Whole {
        kept: STATES.get(db, number),
        kept_history: HISTORIES.get(db, id, stored.row.events),
        events: decode(&bodies)?,
        stored,
        steps,
        timers,
    })
}
