//! Running the case engine against the store: load the case, run the domain command at the
//! server's time, and persist its events with everything derived from them in one
//! transaction — the case row and open steps, the masked event log, the next durable timer
//! (`Case::next_deadline`), the applicant's notifications and the certificate.

use std::sync::Arc;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Utc};
use serde_json::json;
use yichuang_domain::calendar::{Calendar, OfficeTime};
use yichuang_domain::case::certificate::CertificateDoc;
use yichuang_domain::case::effects::{Effects, OpenWork};
use yichuang_domain::case::events::{Change, Outcome};
use yichuang_domain::case::{
    Case, CaseEvent, CaseSettings, CaseStatus, Command, Context, Delivery, ProcessDefinition,
    Receipt, ReceiptKey, Warning, receive_at_window,
};
use yichuang_domain::catalogue::ServiceItem;
use yichuang_domain::{Actor, Error, Result, Role};
use yichuang_store::Tx;
use yichuang_store::cases::records::{self, CaseRow, NewCase, Receipts, Source, Summary};
use yichuang_store::cases::{StepRow, applicants, definitions, issuance, outbox};
use yichuang_store::{micros, timers};

use super::items;
use super::notify;
use super::time::{local, utc};
use crate::clock::hall_zone;
use crate::state::AppState;

/// The timer kind of a case's next deadline; its subject is the case number.
pub const DEADLINE_TIMER: &str = timers::CASE_DEADLINE;

/// The timer kind of the moment a case's light turns yellow or red (supervision, 电子监察).
pub const WARNING_TIMER: &str = timers::CASE_WARNING;

/// The warning timer fired: if the light really changed (the due date may have moved), log it
/// for supervision; either way set the next one.
pub async fn warn_in(
    tx: &mut Tx,
    state: &AppState,
    number: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let l = change_in(tx, state, now, number, None, |_, _| Ok(Vec::new())).await?;
    let env = Env::at(state, now, l.row.hall.as_deref()).await?;
    let reading = env.with_ctx(&l.item, &l.process, |ctx| {
        l.case.reading(ctx.calendar, ctx.today(), ctx.settings)
    });
    let Some(r) = reading.filter(|r| r.warning != Warning::Green) else {
        return Ok(());
    };
    let logged = records::logged(tx, number, "case_warning_changed").await?;
    let level = json!(r.warning);
    if logged.iter().any(|p| p.get("warning") == Some(&level)) {
        return Ok(());
    }
    yichuang_store::events::append(
        tx,
        now,
        yichuang_store::events::NewEvent {
            actor: yichuang_domain::case::events::SYSTEM,
            kind: "case_warning_changed",
            subject_type: "case",
            subject_id: number,
            payload: json!({"warning": r.warning, "label": r.warning.label(), "due_date": r.due_date,
                            "working_days_left": r.working_days_left}),
        },
    )
    .await?;
    Ok(())
}

/// The practice settings (RULES: settings, not constants), under the key `case`.
pub async fn settings(state: &AppState) -> Result<CaseSettings> {
    Ok(state
        .caches
        .setting(&state.db, "case")
        .await?
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default())
}

/// What a command runs with besides the case: time, the calendar (R-WORKDAY, R-CALENDAR), the
/// office hours of the case's hall (R-HOURS) and the settings.
pub struct Env {
    pub now: DateTime<Utc>,
    pub calendar: Arc<Calendar>,
    pub office: Arc<OfficeTime>,
    pub settings: CaseSettings,
    /// For the rare work a command's events may need (an approval's certificate goes into the
    /// vault), resolved only then rather than for every command.
    state: AppState,
}

impl Env {
    /// The environment of a case handled by `hall`: the calendar of the hall's region, with
    /// its local days (R-CALENDAR), and the hall's office hours (R-HOURS); the national
    /// calendar and the default hours for a case no set-up hall received (online, or a hall
    /// code with no hall row).
    pub async fn at(state: &AppState, now: DateTime<Utc>, hall: Option<&str>) -> Result<Env> {
        let region = match hall {
            Some(h) => state.caches.hall_region(&state.db, h).await?,
            None => None,
        };
        let region = region.as_deref();
        Ok(Env {
            now,
            calendar: crate::calendar::current(state, region).await?,
            office: crate::calendar::office_time(state, hall.unwrap_or(""), region).await?,
            settings: settings(state).await?,
            state: state.clone(),
        })
    }

    pub fn local_now(&self) -> NaiveDateTime {
        local(self.now)
    }

    pub fn today(&self) -> NaiveDate {
        self.local_now().date()
    }

    /// Whether a date the clock shows rests on the weekends-only fallback (R-CALENDAR).
    pub fn unofficial(&self, d: NaiveDate) -> bool {
        !self.calendar.is_loaded(d.year())
    }

    /// Runs `f` with the domain's context for `item` and `process`.
    pub fn with_ctx<T>(
        &self,
        item: &ServiceItem,
        process: &ProcessDefinition,
        f: impl FnOnce(&Context) -> T,
    ) -> T {
        let ctx = Context {
            now: self.local_now(),
            calendar: &*self.calendar,
            office: &*self.office,
            item,
            process,
            settings: &self.settings,
        };
        f(&ctx)
    }
}

/// A case with the item and process versions it runs.
pub struct Loaded {
    pub row: CaseRow,
    pub events: Vec<CaseEvent>,
    pub case: Case,
    pub item: ServiceItem,
    pub process: ProcessDefinition,
    /// What a change left in the row beside `row` and `case` (`None` for a case read): kept
    /// once the change commits, for the next command on the case ([`records::Source::Kept`]).
    pub left: Option<Left>,
}

/// The timer plan and open steps a change left in the case row.
pub struct Left {
    timer_plan: String,
    steps: Option<Vec<StepRow>>,
}

impl Loaded {
    /// Keeps the case's state as this change, now committed, left it.
    pub fn keep(&self, db: &yichuang_store::Db) {
        let Some(left) = &self.left else { return };
        records::keep_state(
            db,
            records::CaseState {
                row: self.row.clone(),
                case: self.case.clone(),
                timer_plan: Some(left.timer_plan.clone()),
                steps: left.steps.clone(),
            },
        );
    }
}

async fn complete(state: &AppState, stored: records::StoredCase) -> Result<Loaded> {
    let case = Case::replay(&stored.events)?;
    let item = items::item_of(&state.db, &stored.row.item, stored.row.item_version).await?;
    let process = items::process_of(&state.db, &case).await?;
    Ok(Loaded {
        row: stored.row,
        events: stored.events,
        case,
        item,
        process,
        left: None,
    })
}

/// A case for reading.
pub async fn load(state: &AppState, number: &str) -> Result<Loaded> {
    let stored = records::load(&state.db, number.trim()).await?;
    complete(state, stored).await
}

/// Everything a change leaves behind, derived before anything is written: the domain's
/// [`Effects`] and the applicant's messages.
struct Derived {
    effects: Effects,
    status: String,
    messages: Vec<notify::Message>,
}

/// The open work as the worklists' rows.
pub(super) fn step_rows(work: &[OpenWork]) -> Vec<StepRow> {
    work.iter()
        .map(|w| StepRow {
            node: w.node.clone(),
            name: w.name.clone(),
            department: w.department.clone(),
            role: w.role.as_str().into(),
            since: micros(utc(w.since)),
            due: w.due.to_string(),
            claimed_by: w.claimed_by.clone(),
        })
        .collect()
}

fn derive(before: Option<&Case>, events: &[CaseEvent], ctx: &Context) -> Result<Derived> {
    let effects = Effects::of(before, events, ctx)?;
    Ok(Derived {
        status: effects.after.status.as_str().to_string(),
        messages: notify::messages(events, &effects.after, ctx.item, effects.due_date),
        effects,
    })
}

/// The case's pending timers after a change: the next deadline and the next change of its
/// warning light (kind, due time, payload).
fn next_timers(d: &Derived) -> Vec<(&'static str, DateTime<Utc>, serde_json::Value)> {
    let mut next = Vec::new();
    if let Some(at) = d.effects.next_deadline {
        next.push((DEADLINE_TIMER, utc(at), json!({})));
    }
    if let Some((at, level)) = d.effects.next_warning {
        next.push((WARNING_TIMER, utc(at), json!({"warning": level})));
    }
    next
}

/// The pending timers as the case row notes them, to tell whether a change moved them.
pub(super) fn timer_plan(next: &[(&str, DateTime<Utc>, serde_json::Value)]) -> String {
    next.iter()
        .map(|(kind, at, payload)| format!("{kind}@{}:{payload}", micros(*at)))
        .collect::<Vec<_>>()
        .join(";")
}

/// The kinds of timer a plan of [`timer_plan`] lists.
fn planned_kinds(plan: &str) -> Vec<&'static str> {
    [DEADLINE_TIMER, WARNING_TIMER]
        .into_iter()
        .filter(|kind| {
            plan.split(';')
                .any(|entry| entry.split_once('@').is_some_and(|(k, _)| k == *kind))
        })
        .collect()
}

/// What the case row noted of its last change, so that a change writes only what moved.
struct Written<'a> {
    /// The row as the change started from it: its writes are guarded by it.
    before: records::Before<'a>,
    /// The pending timers as the row noted them before a person's command (`None` for a new
    /// case or a timer's own change: write them).
    timers: Option<&'a str>,
    /// The open steps as last written (`None` when unknown: write them afresh).
    steps: Option<&'a [StepRow]>,
}

/// Writes a change: events, summary, steps, next timer, notifications, certificate. Answers
/// what it left in the row beside the case.
#[allow(clippy::too_many_arguments)]
async fn persist(
    tx: &mut Tx,
    env: &Env,
    item: &ServiceItem,
    row: &CaseRow,
    events: &[CaseEvent],
    d: &Derived,
    department: Option<&str>,
    written: Written<'_>,
) -> Result<Left> {
    let now = env.now;
    let next = next_timers(d);
    let plan = timer_plan(&next);
    let planned = written.timers;
    // Most commands leave the deadline and the next light where they were: then no timer row
    // is written. A timer's own change (`planned` is None) always sets them again, since the
    // one firing is among them.
    let moved = planned != Some(plan.as_str());
    // The row first: its guard stops a change begun from a state the row has since left
    // before anything else of it is written (the stream's next number would clash first).
    let steps = (!events.is_empty()).then(|| step_rows(&d.effects.work));
    match &steps {
        Some(steps) => {
            records::update(
                tx,
                row.id,
                written.before,
                &Summary {
                    status: &d.status,
                    accepted_on: d.effects.after.accepted_on,
                    due_date: d.effects.due_date,
                    events: row.events + events.len() as i64,
                    state: &d.effects.after,
                    timer_plan: &plan,
                    steps,
                },
                now,
            )
            .await?
        }
        None if moved => records::set_timer_plan(tx, row.id, written.before, &plan).await?,
        None => {}
    }
    if moved {
        // What may be pending: the kinds the row noted, or both when it does not know. A kind
        // the plan left out has no pending row to cancel (only its own firing ends one).
        let kinds = match planned {
            Some(plan) => planned_kinds(plan),
            None => vec![DEADLINE_TIMER, WARNING_TIMER],
        };
        timers::replace(tx, &kinds, &row.number, &next, now).await?;
    }
    let Some(steps) = steps else {
        return Ok(Left {
            timer_plan: plan,
            steps: written.steps.map(<[StepRow]>::to_vec),
        });
    };
    records::append(tx, row, events, department, hall_zone()).await?;
    records::write_steps(tx, row.id, written.steps, &steps).await?;
    crate::ratings::on_case_changed(
        tx,
        now,
        &crate::ratings::CaseChange {
            number: &row.number,
            item_code: &item.code,
            item_name: &item.name,
            department: &row.department,
            hall: row.hall.as_deref(),
            applicant_id: row.applicant_id,
            events_before: row.events,
            before_final: CaseStatus::parse(&row.status).is_some_and(CaseStatus::is_final),
            after: &d.effects.after,
            by: events.last().map_or("system", |e| e.by.as_str()),
            calendar: &env.calendar,
        },
    )
    .await?;
    for (kind, body) in &d.messages {
        outbox::enqueue(
            tx,
            kind,
            &row.number,
            &d.effects.after.applicant.phone,
            body,
            now,
        )
        .await?;
    }
    for e in events {
        if let Change::Issued { delivery, .. } = &e.change {
            issuance::record_issuance(tx, &row.number, delivery, now).await?;
        }
        if let Change::Decided {
            outcome: Outcome::Approved,
            on,
            ..
        } = &e.change
        {
            let valid_until = item.result.valid_until(*on);
            let number = issuance::record_certificate(
                tx,
                &issuance::NewCertificate {
                    case_number: &row.number,
                    item: &row.item,
                    applicant_id: row.applicant_id,
                    issued_on: *on,
                    valid_until,
                },
                now,
            )
            .await?;
            let issuer = issuance::department_name(&env.state.db, &item.department)
                .await?
                .unwrap_or_else(|| item.department.clone());
            let masked = d.effects.after.applicant.masked();
            let hall = crate::pages::paper::Paper::of_hall(&env.state.db, row.hall.as_deref())
                .await
                .hall_name;
            let doc = CertificateDoc {
                hall,
                number,
                title: certificate_title(item).to_string(),
                item_name: item.name.clone(),
                holder: masked.name,
                // R-PII masks persons' numbers, not an enterprise's own code (issue 10 item 10).
                holder_id: d.effects.after.applicant.certificate_id(),
                issued_on: *on,
                valid_until,
                case_number: row.number.clone(),
                issuer,
                qr: env
                    .state
                    .config
                    .public_url
                    .as_deref()
                    .and_then(|u| crate::qr::modules(&query_path(u, row)).ok()),
            };
            keep_certificate(tx, env, item, row, &e.by, &doc).await?;
        }
    }
    Ok(Left {
        timer_plan: plan,
        steps: Some(steps),
    })
}

/// 证照名称: the item's declared result, or its own name.
pub fn certificate_title(item: &ServiceItem) -> &str {
    if item.result.name.is_empty() {
        &item.name
    } else {
        &item.result.name
    }
}

/// Puts an approval's certificate into the material vault as the applicant's material, under
/// the code other items ask for (材料共享), valid as long as the certificate. The file is
/// content-addressed and its bytes depend only on the certificate, so a transaction that does
/// not commit leaves at most a file the retry writes again unchanged.
async fn keep_certificate(
    tx: &mut Tx,
    env: &Env,
    item: &ServiceItem,
    row: &CaseRow,
    by: &str,
    doc: &CertificateDoc,
) -> Result<()> {
    let upload = super::vault::Upload {
        code: item.result.vault_code(&item.code),
        name: doc.title.clone(),
        bytes: doc.pdf(),
        valid_until: doc.valid_until,
    };
    let blobs = super::vault::blob_store(&env.state).await?;
    let mut written = Vec::new();
    // A command from its kept state has only deferred its writes so far: this is before the
    // SQLite writer's turn.
    let prepared =
        super::vault::prepare_all(&blobs, std::slice::from_ref(&upload), &mut written).await?;
    super::vault::store_all(
        tx,
        &blobs,
        row.applicant_id,
        &row.number,
        by,
        &prepared,
        env.now,
        &mut written,
    )
    .await?;
    Ok(())
}

/// The row after a change, for the caller's view.
fn advanced(row: &CaseRow, d: &Derived, added: usize) -> CaseRow {
    CaseRow {
        status: d.status.clone(),
        events: row.events + added as i64,
        accepted_on: d.effects.after.accepted_on.map(|x| x.to_string()),
        due_date: d.effects.due_date.map(|x| x.to_string()),
        ..row.clone()
    }
}

/// What `POST /api/v1/cases` receives beyond the domain's receipt.
pub struct Application {
    pub item: String,
    pub receipt: Receipt,
    /// The submission's key: sent again, it answers the case the first made.
    pub key: Option<ReceiptKey>,
}

/// Receives an application at the window: accepted at once when complete, else the one-time
/// notice (API-V1). Bad input changes nothing: the number, applicant and case are written in
/// the transaction the domain's checks run before.
pub async fn receive(state: &AppState, actor: &Actor, app: Application) -> Result<Loaded> {
    receive_as(state, actor, app, Channel::Window).await
}

/// How an application arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// At the window: accepted at once or the one-time notice (API-V1).
    Window,
    /// Online: received, waiting for the front desk's pre-review (预审); R-ACCEPT-5D runs.
    Online,
    /// At the window, and pushed to the department at once when accepted: a bundle's members,
    /// whose parent the window received (一窗受理, nobody else would push them).
    WindowRouted,
}

/// After `events`, a case that stands accepted is pushed to its department in the same
/// command (ARCHITECTURE: after acceptance the case goes to the department), by `actor`.
pub fn then_route(
    before: Option<&Case>,
    events: &mut Vec<CaseEvent>,
    actor: &Actor,
    ctx: &Context,
) -> Result<()> {
    let after = match before {
        Some(c) => {
            let mut c = c.clone();
            for e in events.iter() {
                c.apply(e);
            }
            c
        }
        None => Case::replay(events)?,
    };
    if after.status == CaseStatus::Accepted {
        events.extend(after.handle(&Command::Route, actor, ctx)?);
    }
    Ok(())
}

/// The applicant's supplement (R-SUPPLEMENT-PAUSE), and the push to the department when it
/// completes the materials: nobody at a window sees a supplement given online or to a bundle.
pub fn supplement_then_route(
    case: &Case,
    materials: Vec<String>,
    actor: &Actor,
    ctx: &Context,
) -> Result<Vec<CaseEvent>> {
    let mut events = case.handle(&Command::Supplement { materials }, actor, ctx)?;
    then_route(Some(case), &mut events, actor, ctx)?;
    Ok(events)
}

pub async fn receive_as(
    state: &AppState,
    actor: &Actor,
    app: Application,
    channel: Channel,
) -> Result<Loaded> {
    let key = app.key.as_ref();
    let receive = async {
        let env = Env::at(state, state.now(), actor.hall.as_deref()).await?;
        let (item_version, item) = items::current_item(&state.db, &app.item).await?;
        let process = items::process_for(&state.db, &item).await?;
        let mut tx = state.db.begin().await?;
        let l = receive_in(
            &mut tx,
            &env,
            actor,
            channel,
            item_version,
            item,
            process,
            app.receipt.clone(),
        )
        .await?;
        if let Some(key) = key {
            records::set_receipt_key(&mut tx, l.row.id, key).await?;
        }
        tx.commit().await?;
        // Committed: the id is the case's for good.
        records::keep_received(&state.db, l.row.id, &l.events);
        l.keep(&state.db);
        Ok(l)
    };
    once_per_key(state, Receipts::Cases, key, receive, |number| {
        made_before(state, actor, channel, number, &app)
    })
    .await
}

/// Runs `receive` once per `key`: a receipt sent again with the key (a second press of 受理,
/// a retry after an answer lost on the way) answers what the first made, by `made_before`,
/// also when both arrive at once (the second then fails on the key's unique index and finds
/// the first); without a key every receipt makes anew.
pub async fn once_per_key<T, Before>(
    state: &AppState,
    made: Receipts,
    key: Option<&ReceiptKey>,
    receive: impl Future<Output = Result<T>>,
    made_before: impl FnOnce(String) -> Before,
) -> Result<T>
where
    Before: Future<Output = Result<T>>,
{
    let Some(key) = key else {
        return receive.await;
    };
    if let Some(number) = records::made_by_key(&state.db, made, key).await? {
        return made_before(number).await;
    }
    match receive.await {
        Err(e) if e.code == yichuang_store::db::DUPLICATE => {
            match records::made_by_key_once_committed(&state.db, made, key).await? {
                Some(number) => made_before(number).await,
                None => Err(e),
            }
        }
        received => received,
    }
}

/// The code of a receipt key sent again with another item or applicant.
pub const RECEIPT_KEY_REUSED: &str = "receipt_key_reused";

/// The answer to a receipt key sent with another item or applicant: a form used again for
/// someone else (opened from the browser's history, say). Answering the first case would hide
/// that nothing was made for them. The words are the sender's: a clerk's 受理单, an
/// applicant's 申请表 on the phone page.
pub fn receipt_key_reused(channel: Channel) -> Error {
    let title = match channel {
        Channel::Online => "这份申请表已经提交过另一份申请，本次没有提交。请核对后重新提交",
        Channel::Window | Channel::WindowRouted => {
            "这张受理单已用于另一份申请，本次没有受理。请核对后用新的受理单再次提交"
        }
    };
    Error::conflict(RECEIPT_KEY_REUSED, title)
}

/// The case a receipt's key made before, as its sender may see it: staff as [`may_view`]
/// lets them, an applicant online only a case under their own phone.
pub async fn made_before(
    state: &AppState,
    actor: &Actor,
    channel: Channel,
    number: String,
    app: &Application,
) -> Result<Loaded> {
    let l = load(state, &number).await?;
    may_view(actor, &l)?;
    let applicant = &app.receipt.applicant;
    let theirs = channel != Channel::Online || l.case.applicant.phone == applicant.phone;
    if !(theirs && l.row.item == app.item.trim() && l.case.applicant.is_same_as(applicant)) {
        return Err(receipt_key_reused(channel));
    }
    Ok(l)
}

/// [`receive`] inside the caller's transaction (a bundle receives its sub-cases so).
#[allow(clippy::too_many_arguments)]
pub async fn receive_in(
    tx: &mut Tx,
    env: &Env,
    actor: &Actor,
    channel: Channel,
    item_version: i64,
    item: ServiceItem,
    process: ProcessDefinition,
    receipt: Receipt,
) -> Result<Loaded> {
    receive_with(
        tx,
        env,
        actor,
        item_version,
        item,
        process,
        receipt,
        |receipt, actor, ctx| {
            Ok(match channel {
                Channel::Window => receive_at_window(receipt, actor, ctx)?,
                Channel::WindowRouted => {
                    let mut events = receive_at_window(receipt, actor, ctx)?;
                    then_route(None, &mut events, actor, ctx)?;
                    events
                }
                Channel::Online => yichuang_domain::case::receive(receipt, actor, ctx)?,
            })
        },
    )
    .await
}

/// Receives an application with the first events `make` gives for the numbered receipt.
#[allow(clippy::too_many_arguments)]
pub async fn receive_with(
    tx: &mut Tx,
    env: &Env,
    actor: &Actor,
    item_version: i64,
    item: ServiceItem,
    process: ProcessDefinition,
    receipt: Receipt,
    make: impl FnOnce(&Receipt, &Actor, &Context) -> Result<Vec<CaseEvent>>,
) -> Result<Loaded> {
    definitions::record_item(tx, &item, item_version, env.now).await?;
    let number = records::next_number(tx, env.today()).await?;
    let receipt = Receipt {
        number: number.clone(),
        ..receipt
    };
    let (events, derived) = env.with_ctx(&item, &process, |ctx| -> Result<_> {
        let events = make(&receipt, actor, ctx)?;
        let d = derive(None, &events, ctx)?;
        Ok((events, d))
    })?;
    let applicant_id = applicants::upsert(tx, &derived.effects.after.applicant, env.now).await?;
    let query_code = new_query_code()?;
    let id = records::insert(
        tx,
        &NewCase {
            number: &number,
            item: &item.code,
            item_version,
            department: &item.department,
            hall: actor.hall.as_deref(),
            applicant_id,
            process_code: &process.code,
            process_version: i64::from(process.version),
            parent: receipt.parent.as_deref(),
            received_at: env.now,
            query_code: &query_code,
        },
        env.now,
    )
    .await?;
    let row = CaseRow {
        id,
        number: number.clone(),
        item: item.code.clone(),
        item_version,
        department: item.department.clone(),
        hall: actor.hall.clone(),
        applicant_id,
        status: "received".into(),
        process_code: process.code.clone(),
        process_version: i64::from(process.version),
        parent: receipt.parent.clone(),
        received_at: micros(env.now),
        accepted_on: None,
        due_date: None,
        events: 0,
        query_code: Some(query_code),
    };
    let left = persist(
        tx,
        env,
        &item,
        &row,
        &events,
        &derived,
        actor.department.as_deref(),
        Written {
            // As `records::insert` wrote it.
            before: records::Before::of(&row, None),
            timers: None,
            steps: Some(&[]),
        },
    )
    .await?;
    Ok(Loaded {
        row: advanced(&row, &derived, events.len()),
        events,
        case: derived.effects.after,
        item,
        process,
        left: Some(left),
    })
}

/// 即办件 at the window: received, accepted, approved and issued in one transaction
/// (`Command::DecideOnTheSpot`). `method`: `pickup` (handed over at the window) or
/// `electronic` (the certificate recorded with the decision).
pub async fn receive_on_the_spot(
    state: &AppState,
    actor: &Actor,
    app: Application,
    document_number: String,
    method: &str,
) -> Result<Loaded> {
    let key = app.key.as_ref();
    let receive = async {
        let code = super::api::pickup_code()?;
        let method = method.to_string();
        let env = Env::at(state, state.now(), actor.hall.as_deref()).await?;
        let (item_version, item) = items::current_item(&state.db, &app.item).await?;
        let process = items::process_for(&state.db, &item).await?;
        let mut tx = state.db.begin().await?;
        let l = receive_with(
            &mut tx,
            &env,
            actor,
            item_version,
            item,
            process,
            app.receipt.clone(),
            |receipt, actor, ctx| {
                let delivery = match method.as_str() {
                    "electronic" => Delivery::Electronic {
                        certificate: issuance::certificate_number(&receipt.number),
                    },
                    _ => Delivery::Pickup { code },
                };
                let mut events = yichuang_domain::case::receive(receipt, actor, ctx)?;
                let case = Case::replay(&events)?;
                events.extend(case.handle(
                    &Command::DecideOnTheSpot {
                        document_number,
                        delivery,
                    },
                    actor,
                    ctx,
                )?);
                Ok(events)
            },
        )
        .await?;
        if let Some(key) = key {
            records::set_receipt_key(&mut tx, l.row.id, key).await?;
        }
        tx.commit().await?;
        Ok(l)
    };
    once_per_key(state, Receipts::Cases, key, receive, |number| {
        made_before(state, actor, Channel::Window, number, &app)
    })
    .await
}

/// Runs one command on a case, as `actor`; the answer carries the case's whole history.
pub async fn run(
    state: &AppState,
    number: &str,
    actor: &Actor,
    command: &Command,
) -> Result<Loaded> {
    let mut l = apply(state, number, actor, command).await?;
    // Outside the writer's turn: the history kept in this process, or read after the commit.
    let before = l.row.events - l.events.len() as i64;
    l.events = records::history_after(&state.db, l.row.id, before, &l.events).await?;
    Ok(l)
}

/// Runs one command on a case, as `actor`, for a caller that shows the case afresh (a page's
/// post answers with a redirect): the answer's `events` are only the ones it added.
pub async fn apply(
    state: &AppState,
    number: &str,
    actor: &Actor,
    command: &Command,
) -> Result<Loaded> {
    let attempt = |source: Source| async move {
        let mut tx = state.db.begin().await?;
        let l = change_from(
            &mut tx,
            state,
            state.now(),
            number,
            Some(actor),
            source,
            |case, ctx| case.handle(command, actor, ctx),
        )
        .await?;
        tx.commit().await?;
        l.keep(&state.db);
        Ok::<_, yichuang_domain::Error>(l)
    };
    let (_working, source) = records::working_on(&state.db, number.trim()).await;
    // A connection lost before the commit rolled everything back: run it again once.
    yichuang_store::retry_once(|| async move {
        match attempt(source).await {
            Err(e) if e.code == yichuang_store::db::STALE => {
                // Nothing of it was written: run it again from the row.
                records::forget_state(&state.db, number.trim());
                attempt(Source::Stored).await
            }
            r => r,
        }
    })
    .await
}

/// Brings a case up to the server's time (the deadline timer's work), as the system.
pub async fn tick_in(
    tx: &mut Tx,
    state: &AppState,
    number: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    change_in(tx, state, now, number, None, |case, ctx| case.tick(ctx)).await?;
    Ok(())
}

/// One change of a case inside the caller's transaction, starting from the case's kept state.
/// An approved sub-case of a bundle starts the members that waited for it (serial, 串联). The
/// answer's `events` are only the ones this change added.
pub async fn change_in(
    tx: &mut Tx,
    state: &AppState,
    now: DateTime<Utc>,
    number: &str,
    actor: Option<&Actor>,
    f: impl FnOnce(&Case, &Context) -> Result<Vec<CaseEvent>>,
) -> Result<Loaded> {
    change_from(tx, state, now, number, actor, Source::Stored, f).await
}

/// [`change_in`] from the case's state as `source` gives it.
async fn change_from(
    tx: &mut Tx,
    state: &AppState,
    now: DateTime<Utc>,
    number: &str,
    actor: Option<&Actor>,
    source: Source,
    f: impl FnOnce(&Case, &Context) -> Result<Vec<CaseEvent>>,
) -> Result<Loaded> {
    let (
        records::CaseState {
            row,
            case,
            timer_plan,
            steps,
        },
        kept,
    ) = records::load_for_change(tx, number.trim(), source).await?;
    if !kept {
        // What is kept of the case is about to be behind the row; `apply` keeps it again.
        records::forget_state(&state.db, &row.number);
    }
    let planned = timer_plan.as_deref().filter(|_| actor.is_some());
    let env = &Env::at(state, now, row.hall.as_deref()).await?;
    if let Some(a) = actor {
        hall_scope(a, &row)?;
    }
    let item = items::item_of(&state.db, &row.item, row.item_version).await?;
    let process = items::process_of(&state.db, &case).await?;
    let department = actor.and_then(|a| a.department.as_deref());
    let decided = env.with_ctx(&item, &process, |ctx| -> Result<_> {
        let events = f(&case, ctx)?;
        let d = derive(Some(&case), &events, ctx)?;
        Ok((events, d))
    });
    let (events, d) = match decided {
        // A refusal of a state kept in this process may be a refusal of the past (the row
        // moved on, another process): the caller asks the row itself before saying no.
        Err(_) if kept => return Err(yichuang_store::db::stale_row()),
        r => r?,
    };
    let written = Written {
        before: records::Before::of(&row, timer_plan.as_deref()),
        timers: planned,
        steps: steps.as_deref(),
    };
    let left = persist(tx, env, &item, &row, &events, &d, department, written).await?;
    let approved = events.iter().any(|e| {
        matches!(
            e.change,
            Change::Decided {
                outcome: Outcome::Approved,
                ..
            }
        )
    });
    if let (true, Some(parent)) = (approved, &d.effects.after.parent) {
        super::bundles::start_ready(tx, state, now, parent).await?;
    }
    Ok(Loaded {
        row: advanced(&row, &d, events.len()),
        events,
        case: d.effects.after,
        item,
        process,
        left: Some(left),
    })
}

/// Hall staff work on their own hall's cases (an online application, with no hall yet, is
/// open to every front desk).
fn hall_scope(actor: &Actor, row: &CaseRow) -> Result<()> {
    match &row.hall {
        Some(hall) if actor.role.needs_hall() => actor.require_hall(hall, "办理"),
        _ => Ok(()),
    }
}

/// Department staff see only their department's cases (and those with a step of theirs).
pub fn may_view(actor: &Actor, l: &Loaded) -> Result<()> {
    hall_scope(actor, &l.row)?;
    if actor.role != Role::Approver {
        return Ok(());
    }
    let own = actor.department.as_deref();
    let step_of_theirs = l.process.nodes.iter().any(|n| {
        n.task()
            .and_then(|t| t.department.as_deref())
            .is_some_and(|d| Some(d) == own)
    });
    if step_of_theirs {
        return Ok(());
    }
    actor.require_department(&l.case.department, "查看")
}

/// The receipt's query code: 12 characters of an alphabet without look-alikes (60 bits), shown
/// as three groups of four; unlike the sequential case number it cannot be guessed (issue 15).
pub fn new_query_code() -> Result<String> {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
    let mut b = [0u8; 12];
    getrandom::fill(&mut b).map_err(yichuang_domain::Error::internal)?;
    Ok(b.iter()
        .map(|x| ALPHABET[*x as usize % ALPHABET.len()] as char)
        .collect())
}

/// A fresh key for a receipt form: 128 random bits in hex.
pub fn new_receipt_key() -> Result<String> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(yichuang_domain::Error::internal)?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// A query code as people read and type it: `ABCD-EFGH-JKMN`; typed back in any case, with or
/// without the dashes and spaces.
pub fn group_query_code(code: &str) -> String {
    code.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

pub fn normalize_query_code(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// The public query link of a case: by its query code; cases from before codes existed by
/// their number (the query page then asks for the last four of an ID or phone).
pub fn query_path(origin: &str, row: &CaseRow) -> String {
    match &row.query_code {
        Some(code) => format!("{origin}/query?code={code}"),
        None => format!("{origin}/query?number={}", row.number),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timer_plan_gives_back_the_kinds_it_was_made_of_and_an_empty_plan_none() {
        let at = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 3, 2, 1, 0, 0).unwrap();
        let both = [
            (DEADLINE_TIMER, at, json!({})),
            (WARNING_TIMER, at, json!({"warning": "yellow"})),
        ];
        assert_eq!(
            planned_kinds(&timer_plan(&both)),
            vec![DEADLINE_TIMER, WARNING_TIMER]
        );
        assert_eq!(planned_kinds(&timer_plan(&both[1..])), vec![WARNING_TIMER]);
        assert!(planned_kinds(&timer_plan(&[])).is_empty());
    }
}
