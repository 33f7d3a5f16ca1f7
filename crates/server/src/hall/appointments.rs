//! Appointments (预约): the bookable slots of a queue, booking, cancelling, rescheduling and
//! checking in, which issues a ticket with the appointment category when on time; a durable
//! timer per booked appointment marks it a no-show when its check-in window closes. The rules
//! are `queue::appointments`'s; working days and office hours come from the hall's calendar
//! (R-WORKDAY, R-HOURS).
//!
//! The API handlers here and the phone and kiosk pages call the same service functions
//! ([`book_appointment`], [`cancel_appointment`], [`reschedule_appointment`],
//! [`check_in_at_hall`]), so a page can never do what the API would refuse.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use yichuang_domain::identity::{parse_id_number, parse_mobile};
use yichuang_domain::queue::appointments::{
    Appointment, AppointmentSettings, AppointmentStatus, Availability, PersonBookings, Slot,
    blocked_until, bookable_dates, check_booking, slots_for,
};
use yichuang_domain::queue::policy::Claim;
use yichuang_domain::queue::{Channel, Holder};
use yichuang_domain::{Actor, Error, Problems, Result};
use yichuang_store::hall::{self as store, AppointmentRow, HallRow, QueueRow};
use yichuang_store::{Tx, timers};

use super::tickets::{Issue, find_queue, issue_in, ticket_view};
use super::{HallSettings, actor_name, hall_instant, person_hash, record};
use crate::auth::MaybeActor;
use crate::clock::{hall_time, hall_zone};
use crate::error::ApiResult;
use crate::extract::{Json, Path, Query};
use crate::state::AppState;

/// The timer kind that marks a booked appointment a no-show; its subject is the appointment id.
pub const NO_SHOW_TIMER: &str = "hall_appointment_no_show";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/halls/{hall}/slots", get(slots))
        .route("/api/v1/halls/{hall}/appointments", post(book))
        .route("/api/v1/halls/{hall}/check-in", post(hall_check_in))
        .route("/api/v1/appointments/{id}", get(get_appointment))
        .route("/api/v1/appointments/{id}/cancel", post(cancel))
        .route("/api/v1/appointments/{id}/reschedule", post(reschedule))
        .route("/api/v1/appointments/{id}/check-in", post(check_in))
}

pub fn local_now(st: &AppState) -> NaiveDateTime {
    st.now().with_timezone(&hall_zone()).naive_local()
}

fn hhmm(t: NaiveTime) -> String {
    t.format("%H:%M").to_string()
}

/// The slots of `date`: the calendar's office intervals for that kind of day, cut to size.
async fn day_slots(
    st: &AppState,
    hall: &HallRow,
    settings: &HallSettings,
    date: NaiveDate,
) -> Result<Vec<Slot>> {
    let calendar = crate::calendar::current(st, hall.region.as_deref()).await?;
    let (hours, _) = crate::calendar::hours_of(&st.db, &hall.code).await?;
    let t = |m: u16| NaiveTime::from_num_seconds_from_midnight_opt(u32::from(m) * 60, 0);
    let office: Vec<(NaiveTime, NaiveTime)> = hours
        .for_kind(calendar.day(date).kind)
        .into_iter()
        .filter_map(|i| Some((t(i.start)?, t(i.end.min(1439))?)))
        .collect();
    slots_for(date, &office, &settings.appointments)
}

/// The slot of `date` starting at `start` (HH:MM), or a field error on `start`.
async fn find_slot(
    st: &AppState,
    hall: &HallRow,
    settings: &HallSettings,
    date: NaiveDate,
    start: &str,
) -> Result<Slot> {
    day_slots(st, hall, settings, date)
        .await?
        .into_iter()
        .find(|s| hhmm(s.start) == start.trim())
        .ok_or_else(|| Error::validation(vec![]).field("start", "该日没有这个预约时段"))
}

/// The dates that may be booked today (R-WORKDAY).
pub async fn bookable(
    st: &AppState,
    hall: &HallRow,
    settings: &HallSettings,
) -> Result<Vec<NaiveDate>> {
    let calendar = crate::calendar::current(st, hall.region.as_deref()).await?;
    Ok(bookable_dates(
        calendar.as_ref(),
        local_now(st).date(),
        &settings.appointments,
    ))
}

/// One slot as the API and the phone page list it.
pub struct SlotLine {
    pub start: String,
    pub end: String,
    /// Places left; 0 when full or when the slot has already begun.
    pub available: i64,
}

/// The slots of a queue on `date` with the places left, and whether the date may be booked.
pub async fn free_slots(
    st: &AppState,
    hall: &HallRow,
    settings: &HallSettings,
    queue: &QueueRow,
    date: NaiveDate,
) -> Result<(bool, Vec<SlotLine>)> {
    let open = bookable(st, hall, settings).await?.contains(&date);
    if !open {
        return Ok((false, vec![]));
    }
    let now = local_now(st);
    let booked = store::booked_per_slot(&st.db, queue.id, date).await?;
    let out = day_slots(st, hall, settings, date)
        .await?
        .into_iter()
        .map(|s| {
            let start = hhmm(s.start);
            let taken = booked.iter().find(|b| b.0 == start).map_or(0, |b| b.1);
            let left = i64::from(settings.appointments.capacity_per_slot) - taken;
            SlotLine {
                available: if s.starts_at() <= now { 0 } else { left.max(0) },
                start,
                end: hhmm(s.end),
            }
        })
        .collect();
    Ok((true, out))
}

#[derive(Deserialize)]
struct SlotsQuery {
    queue: String,
    date: String,
}

pub fn parse_date(s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| Error::validation(vec![]).field("date", "请选择日期（格式 YYYY-MM-DD）"))
}

async fn slots(
    State(st): State<AppState>,
    Path(code): Path<String>,
    Query(q): Query<SlotsQuery>,
) -> ApiResult<Response> {
    let date = parse_date(&q.date)?;
    let hall = store::hall(&st.db, &code).await?;
    let settings = HallSettings::of(&hall)?;
    let queues = store::queues(&st.db, hall.id).await?;
    let queue = find_queue(&queues, &q.queue)?.clone();
    let (open, lines) = free_slots(&st, &hall, &settings, &queue, date).await?;
    let out: Vec<Value> = lines
        .iter()
        .map(|s| json!({"start": s.start, "end": s.end, "available": s.available}))
        .collect();
    Ok(axum::Json(
        json!({"date": date.to_string(), "queue": queue.code, "bookable": open, "slots": out}),
    )
    .into_response())
}

/// Who is booking or proving they hold an appointment: an ID or mobile number, or the
/// appointment's code (from its confirmation or its QR code).
#[derive(Deserialize, Default, Clone)]
pub struct Who {
    #[serde(default)]
    pub id_number: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub code: Option<String>,
}

fn blank(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

impl Who {
    /// The person's masked holder text and hash; an appointment is always real-name.
    fn person(&self, hall: &str, today: NaiveDate) -> Result<(Holder, String, Claim)> {
        let mut p = Problems::new();
        let mut out = None;
        if let Some(raw) = blank(&self.id_number) {
            match parse_id_number(&raw, today) {
                Ok(id) => {
                    let claim = Claim {
                        birth_date: Some(id.birth_date),
                        ..Claim::default()
                    };
                    out = Some((
                        Holder::from_id_number(&id.number),
                        person_hash(hall, "id", &id.number),
                        claim,
                    ));
                }
                Err(e) => e.report(&mut p, "id_number"),
            }
        } else if let Some(raw) = blank(&self.phone) {
            match parse_mobile(&raw) {
                Ok(m) => {
                    out = Some((
                        Holder::from_phone(&m),
                        person_hash(hall, "phone", &m),
                        Claim::default(),
                    ))
                }
                Err(e) => e.report(&mut p, "phone"),
            }
        } else {
            p.add("id_number", "请填写身份证号或手机号");
        }
        p.finish()?;
        out.ok_or_else(|| Error::internal("no person"))
    }

    /// The field an error about this person belongs next to.
    fn field(&self) -> &'static str {
        if blank(&self.id_number).is_none() && blank(&self.phone).is_some() {
            "phone"
        } else {
            "id_number"
        }
    }
}

/// An appointment's code: its id and a digest of the id with its holder's person hash. Knowing
/// it proves no more than knowing the holder's number, which cancel and check-in already accept;
/// it lets the holder's phone link and QR code do the same without the number.
pub fn appointment_code(id: i64, person_hash: &str) -> String {
    let mut h = Sha256::new();
    h.update(format!("yichuang-appointment:{id}:{person_hash}").as_bytes());
    let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    format!("{id}-{}", &hex[..10])
}

/// The appointment id of a code as typed or scanned: the bare code, or the confirmation link
/// that carries it (`…/appointments/12-3fa9c0d1e2`).
pub fn parse_code(text: &str) -> Option<(i64, String)> {
    let last = text.trim().rsplit('/').next()?;
    let code = last.split(['?', '#']).next()?.trim().to_ascii_lowercase();
    let (id, digest) = code.split_once('-')?;
    let ok = digest.len() == 10 && digest.bytes().all(|b| b.is_ascii_hexdigit());
    Some((id.parse().ok()?, code.clone())).filter(|_| ok)
}

fn bad_code() -> Error {
    Error::invalid("invalid_appointment_code", "预约码无法识别").field(
        "code",
        "预约码无法识别，请重新扫描预约二维码，或输入身份证号签到",
    )
}

#[derive(Deserialize)]
pub struct BookBody {
    pub queue: String,
    pub date: String,
    pub start: String,
    #[serde(flatten)]
    pub who: Who,
}

pub fn domain(row: &AppointmentRow) -> Result<Appointment> {
    let bad = || Error::internal(format!("appointment {} has bad fields", row.id));
    let date = NaiveDate::parse_from_str(&row.slot_date, "%Y-%m-%d").map_err(|_| bad())?;
    let t = |s: &str| NaiveTime::parse_from_str(s, "%H:%M").map_err(|_| bad());
    let status = row.appointment_status().ok_or_else(bad)?;
    Ok(Appointment {
        id: row.id,
        queue: row.queue_id,
        slot: Slot {
            date,
            start: t(&row.slot_start)?,
            end: t(&row.slot_end)?,
        },
        status,
        reschedules: u32::try_from(row.reschedules).unwrap_or(0),
        holder: row.holder.as_deref().map(Holder::from_masked).transpose()?,
    })
}

fn view(a: &Appointment, queue: &str) -> Value {
    json!({
        "id": a.id, "queue": queue, "date": a.slot.date.to_string(),
        "start": hhmm(a.slot.start), "end": hhmm(a.slot.end),
        "status": a.status.as_str(), "status_label": a.status.label(), "holder": a.holder,
        "reschedules": a.reschedules,
    })
}

/// The view its holder sees: with the code, its page and when check-in opens and closes.
fn holder_view(
    a: &Appointment,
    queue: &QueueRow,
    person_hash: &str,
    s: &AppointmentSettings,
) -> Value {
    let mut v = view(a, &queue.code);
    let code = appointment_code(a.id, person_hash);
    let (open, close) = a.check_in_window(s);
    let at = |t: NaiveDateTime| hall_time(hall_instant(t.date(), t.time()));
    v["queue_name"] = json!(queue.name);
    v["code"] = json!(code);
    v["url"] = json!(format!("/appointments/{code}"));
    v["check_in_from"] = json!(at(open));
    v["check_in_until"] = json!(at(close));
    v
}

/// What the caller counted about a person's other appointments.
fn person_bookings(mine: &[AppointmentRow], queue_id: i64, date: NaiveDate) -> PersonBookings {
    PersonBookings {
        open: mine.iter().filter(|a| a.is_booked()).count() as u32,
        same_queue_same_date: mine
            .iter()
            .filter(|a| a.is_booked() && a.queue_id == queue_id && a.slot_date == date.to_string())
            .count() as u32,
        no_show_dates: no_show_dates(mine),
    }
}

fn no_show_dates(mine: &[AppointmentRow]) -> Vec<NaiveDate> {
    mine.iter()
        .filter(|a| a.appointment_status() == Some(AppointmentStatus::NoShow))
        .filter_map(|a| NaiveDate::parse_from_str(&a.slot_date, "%Y-%m-%d").ok())
        .collect()
}

/// The instant the no-show timer fires: just after the check-in window closes.
fn no_show_due(a: &Appointment, s: &AppointmentSettings) -> DateTime<Utc> {
    let (_, close) = a.check_in_window(s);
    hall_instant(close.date(), close.time()) + Duration::seconds(1)
}

async fn schedule_no_show(
    tx: &mut Tx,
    a: &Appointment,
    s: &AppointmentSettings,
    now: DateTime<Utc>,
) -> Result<()> {
    let due = no_show_due(a, s);
    timers::schedule(tx, NO_SHOW_TIMER, &a.id.to_string(), due, json!({}), now).await?;
    Ok(())
}

async fn queue_of(tx: &mut Tx, hall: &HallRow, queue_id: i64) -> Result<QueueRow> {
    store::queues_in_tx(tx, hall.id)
        .await?
        .into_iter()
        .find(|q| q.id == queue_id)
        .ok_or_else(|| Error::internal(format!("queue {queue_id}")))
}

/// Books a slot (the API and the phone page): limits, capacity and blocks checked, the
/// no-show timer set. Returns the holder's view, with the appointment's code.
pub async fn book_appointment(st: &AppState, hall_code: &str, b: &BookBody) -> Result<Value> {
    let now = local_now(st);
    let mut p = Problems::new();
    if b.queue.trim().is_empty() {
        p.add("queue", "请选择办理事项");
    }
    let date = parse_date(&b.date);
    if let Err(e) = &date {
        for f in &e.fields {
            p.add(f.field.clone(), f.message.clone());
        }
    }
    if b.start.trim().is_empty() {
        p.add("start", "请选择预约时段");
    }
    let person = b.who.person(hall_code, now.date());
    if let Err(e) = &person {
        for f in &e.fields {
            p.add(f.field.clone(), f.message.clone());
        }
    }
    p.finish()?;
    let (date, (holder, hash, _)) = (date?, person?);
    let hall = store::hall(&st.db, hall_code).await?;
    let settings = HallSettings::of(&hall)?;
    let queues = store::queues(&st.db, hall.id).await?;
    let queue = find_queue(&queues, &b.queue)?.clone();
    let slot = find_slot(st, &hall, &settings, date, &b.start).await?;
    let dates = bookable(st, &hall, &settings).await?;
    let mut tx = st.db.begin().await?;
    store::lock_queue_for_booking(&mut tx, queue.id).await?;
    let start = hhmm(slot.start);
    let mine = store::appointments_of_person(&mut tx, hall.id, &hash).await?;
    let person = person_bookings(&mine, queue.id, date);
    let booked = store::booked_in_slot(&mut tx, queue.id, date, &start).await?;
    let avail = Availability {
        booked_in_slot: u32::try_from(booked).unwrap_or(u32::MAX),
        person: &person,
        bookable: &dates,
    };
    check_booking(&slot, &avail, now, &settings.appointments)?;
    let new = store::NewAppointment {
        hall_id: hall.id,
        queue_id: queue.id,
        slot_date: date,
        slot_start: &start,
        slot_end: &hhmm(slot.end),
        holder: Some(holder.as_str()),
        person_hash: &hash,
    };
    let id = store::insert_appointment(&mut tx, &new, st.now()).await?;
    let a = Appointment::book(id, queue.id, slot, Some(holder));
    schedule_no_show(&mut tx, &a, &settings.appointments, st.now()).await?;
    record(
        &mut tx,
        st.now(),
        &hall.code,
        "public",
        "appointment_booked",
        ("appointment", id),
        json!({"after": view(&a, &queue.code)}),
    )
    .await?;
    tx.commit().await?;
    Ok(holder_view(&a, &queue, &hash, &settings.appointments))
}

async fn book(
    State(st): State<AppState>,
    Path(code): Path<String>,
    Json(b): Json<BookBody>,
) -> ApiResult<Response> {
    let v = book_appointment(&st, &code, &b).await?;
    Ok((StatusCode::CREATED, axum::Json(v)).into_response())
}

/// Loads an appointment (locked) for a change by its holder, who proves it with the same
/// number or with the appointment's code.
async fn owned(
    st: &AppState,
    tx: &mut Tx,
    id: i64,
    who: &Who,
) -> Result<(AppointmentRow, HallRow, Claim)> {
    let row = store::appointment_for_update(tx, id).await?;
    let hall = store::hall_by_id_in_tx(tx, row.hall_id).await?;
    if let Some(text) = blank(&who.code) {
        let given = parse_code(&text).ok_or_else(bad_code)?;
        if given.0 != id || given.1 != appointment_code(id, &row.person_hash) {
            return Err(Error::forbidden("预约码与该预约不符"));
        }
        return Ok((row, hall, Claim::default()));
    }
    let (_, hash, claim) = who.person(&hall.code, local_now(st).date())?;
    if hash != row.person_hash {
        return Err(Error::forbidden("证件号或手机号与预约人不符"));
    }
    Ok((row, hall, claim))
}

/// An appointment as its holder sees it (the phone page), after proving they hold it.
pub async fn appointment_for_holder(st: &AppState, id: i64, who: &Who) -> Result<Value> {
    // A read, but through a transaction: `owned` is the one place that checks the proof.
    let mut tx = st.db.begin().await?;
    let (row, hall, _) = owned(st, &mut tx, id, who).await?;
    let queue = queue_of(&mut tx, &hall, row.queue_id).await?;
    tx.commit().await?;
    let settings = HallSettings::of(&hall)?;
    let mut v = holder_view(
        &domain(&row)?,
        &queue,
        &row.person_hash,
        &settings.appointments,
    );
    v["hall"] = json!(hall.code);
    v["hall_name"] = json!(hall.name);
    v["ticket"] = json!(row.ticket_id);
    if let Some(t) = row.ticket_id {
        let link = store::ticket(&st.db, t).await?.link;
        v["ticket_link"] = json!(link.map(|l| format!("/t/{l}")));
    }
    Ok(v)
}

#[derive(Deserialize, Default)]
struct CodeQuery {
    #[serde(default)]
    code: Option<String>,
}

async fn get_appointment(
    State(st): State<AppState>,
    Path(id): Path<i64>,
    Query(q): Query<CodeQuery>,
) -> ApiResult<Response> {
    if blank(&q.code).is_none() {
        return Err(Error::validation(vec![])
            .field("code", "请提供预约码")
            .into());
    }
    let who = Who {
        code: q.code,
        ..Who::default()
    };
    Ok(axum::Json(appointment_for_holder(&st, id, &who).await?).into_response())
}

/// Cancels a booked appointment (the API and the phone page); its place is free again.
pub async fn cancel_appointment(st: &AppState, id: i64, who: &Who) -> Result<Value> {
    let mut tx = st.db.begin().await?;
    let (row, hall, _) = owned(st, &mut tx, id, who).await?;
    let settings = HallSettings::of(&hall)?;
    let a = domain(&row)?.cancel(local_now(st), &settings.appointments)?;
    store::set_appointment_status(&mut tx, id, "cancelled", None).await?;
    timers::cancel(&mut tx, NO_SHOW_TIMER, &id.to_string(), st.now()).await?;
    record(
        &mut tx,
        st.now(),
        &hall.code,
        "public",
        "appointment_cancelled",
        ("appointment", id),
        json!({"before": {"status": row.status}, "after": {"status": "cancelled"}}),
    )
    .await?;
    let queue = queue_of(&mut tx, &hall, row.queue_id).await?;
    tx.commit().await?;
    Ok(view(&a, &queue.code))
}

async fn cancel(
    State(st): State<AppState>,
    Path(id): Path<i64>,
    Json(who): Json<Who>,
) -> ApiResult<Response> {
    Ok(axum::Json(cancel_appointment(&st, id, &who).await?).into_response())
}

#[derive(Deserialize)]
pub struct RescheduleBody {
    pub date: String,
    pub start: String,
    #[serde(flatten)]
    pub who: Who,
}

/// Moves a booked appointment to another slot of its queue (the API and the phone page): the
/// same limits and capacity as a booking, the old place freed, the no-show timer moved.
pub async fn reschedule_appointment(st: &AppState, id: i64, b: &RescheduleBody) -> Result<Value> {
    let now = local_now(st);
    let date = parse_date(&b.date)?;
    if b.start.trim().is_empty() {
        return Err(Error::validation(vec![]).field("start", "请选择新的预约时段"));
    }
    // The slots come from the calendar, read before the write transaction takes its lock.
    let peek = store::appointment(&st.db, id).await?;
    let hall = store::hall_by_id(&st.db, peek.hall_id).await?;
    let settings = HallSettings::of(&hall)?;
    let slot = find_slot(st, &hall, &settings, date, &b.start).await?;
    let dates = bookable(st, &hall, &settings).await?;
    let mut tx = st.db.begin().await?;
    let (row, hall, _) = owned(st, &mut tx, id, &b.who).await?;
    let settings = HallSettings::of(&hall)?;
    store::lock_queue_for_booking(&mut tx, row.queue_id).await?;
    let before = domain(&row)?;
    let start = hhmm(slot.start);
    // The counts leave out the appointment being moved.
    let others: Vec<AppointmentRow> =
        store::appointments_of_person(&mut tx, hall.id, &row.person_hash)
            .await?
            .into_iter()
            .filter(|a| a.id != id)
            .collect();
    let person = person_bookings(&others, row.queue_id, date);
    let booked = store::booked_in_slot(&mut tx, row.queue_id, date, &start).await?;
    let avail = Availability {
        booked_in_slot: u32::try_from(booked).unwrap_or(u32::MAX),
        person: &person,
        bookable: &dates,
    };
    let after = before.reschedule(slot, &avail, now, &settings.appointments)?;
    store::move_appointment(
        &mut tx,
        id,
        date,
        &start,
        &hhmm(slot.end),
        i64::from(after.reschedules),
    )
    .await?;
    timers::cancel(&mut tx, NO_SHOW_TIMER, &id.to_string(), st.now()).await?;
    schedule_no_show(&mut tx, &after, &settings.appointments, st.now()).await?;
    let queue = queue_of(&mut tx, &hall, row.queue_id).await?;
    record(
        &mut tx,
        st.now(),
        &hall.code,
        "public",
        "appointment_rescheduled",
        ("appointment", id),
        json!({"before": view(&before, &queue.code), "after": view(&after, &queue.code)}),
    )
    .await?;
    tx.commit().await?;
    Ok(holder_view(
        &after,
        &queue,
        &row.person_hash,
        &settings.appointments,
    ))
}

async fn reschedule(
    State(st): State<AppState>,
    Path(id): Path<i64>,
    Json(b): Json<RescheduleBody>,
) -> ApiResult<Response> {
    Ok(axum::Json(reschedule_appointment(&st, id, &b).await?).into_response())
}

/// Checks in a locked, owned appointment: a ticket with the appointment category (policy: an
/// on-time appointment goes ahead). Returns the ticket's id.
async fn check_in_row(
    st: &AppState,
    tx: &mut Tx,
    row: &AppointmentRow,
    hall: &HallRow,
    mut claim: Claim,
    actor: Option<&Actor>,
) -> Result<i64> {
    let now = st.now();
    let settings = HallSettings::of(hall)?;
    domain(row)?.check_in(local_now(st), &settings.appointments)?;
    claim.appointment_on_time = true;
    let queue = queue_of(tx, hall, row.queue_id).await?;
    let issue = Issue {
        channel: Channel::Appointment,
        categories: settings.policy.classify(&claim, super::service_date(now)),
        holder: row.holder.as_deref().map(Holder::from_masked).transpose()?,
        person_hash: Some(row.person_hash.clone()),
        address_hash: None,
        appointment_id: Some(row.id),
    };
    let (ticket, _) = issue_in(tx, hall, &settings, &queue, issue, &actor_name(actor), now).await?;
    store::set_appointment_status(tx, row.id, "checked_in", Some(ticket.id)).await?;
    timers::cancel(tx, NO_SHOW_TIMER, &row.id.to_string(), now).await?;
    record(
        tx,
        now,
        &hall.code,
        &actor_name(actor),
        "appointment_checked_in",
        ("appointment", row.id),
        json!({"before": {"status": row.status}, "after": {"status": "checked_in", "ticket": ticket.id}}),
    )
    .await?;
    Ok(ticket.id)
}

async fn issued(st: &AppState, hall: &HallRow, ticket: i64) -> Result<Value> {
    st.hall_feed.wake();
    let settings = HallSettings::of(hall)?;
    let t = store::ticket(&st.db, ticket).await?;
    ticket_view(&st.db, &t, &settings, None).await
}

/// Checking in one appointment by its id (staff at the guide desk, or a device that knows it).
async fn check_in(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    Path(id): Path<i64>,
    Json(who): Json<Who>,
) -> ApiResult<Response> {
    let mut tx = st.db.begin().await?;
    let (row, hall, claim) = owned(&st, &mut tx, id, &who).await?;
    let ticket = check_in_row(&st, &mut tx, &row, &hall, claim, actor.as_ref()).await?;
    tx.commit().await?;
    let v = issued(&st, &hall, ticket).await?;
    Ok((StatusCode::CREATED, axum::Json(v)).into_response())
}

/// Check-in at a hall's kiosk: by the appointment's code (scanned or typed) or by the ID or
/// mobile number it was booked with, which finds today's appointment. Returns the ticket, with
/// the appointment under `appointment`.
pub async fn check_in_at_hall(
    st: &AppState,
    actor: Option<&Actor>,
    hall_code: &str,
    who: &Who,
) -> Result<Value> {
    let now = local_now(st);
    let mut tx = st.db.begin().await?;
    let (row, hall, claim) = if let Some(text) = blank(&who.code) {
        let (id, _) = parse_code(&text).ok_or_else(bad_code)?;
        let owned = match owned(st, &mut tx, id, who).await {
            Err(e) if e.code == "appointment_not_found" || e.code == "forbidden" => Err(bad_code()),
            other => other,
        }?;
        if owned.1.code != hall_code {
            return Err(
                Error::not_found("appointment_not_found", "该预约不在本大厅").field(
                    "code",
                    format!("这是{}的预约，请到该大厅签到", owned.1.name),
                ),
            );
        }
        owned
    } else {
        let (_, hash, claim) = who.person(hall_code, now.date())?;
        let hall = store::hall_in_tx(&mut tx, hall_code).await?;
        let settings = HallSettings::of(&hall)?;
        let today: Vec<Appointment> = store::appointments_of_person(&mut tx, hall.id, &hash)
            .await?
            .iter()
            .filter(|a| a.is_booked() && a.slot_date == now.date().to_string())
            .map(domain)
            .collect::<Result<_>>()?;
        let s = &settings.appointments;
        // The one whose window is open; else the next to open (too early) or the last to have
        // closed (too late), so the visitor is told which.
        let chosen = today
            .iter()
            .find(|a| {
                let (open, close) = a.check_in_window(s);
                open <= now && now <= close
            })
            .or_else(|| today.iter().find(|a| a.check_in_window(s).0 > now))
            .or_else(|| today.last())
            .ok_or_else(|| {
                Error::not_found("appointment_not_found", "未找到您今天的预约").field(
                    who.field(),
                    "未找到该号码今天在本大厅的预约，请核对号码，或直接取号",
                )
            })?;
        let row = store::appointment_for_update(&mut tx, chosen.id).await?;
        (row, hall, claim)
    };
    let ticket = check_in_row(st, &mut tx, &row, &hall, claim, actor).await?;
    let queue = queue_of(&mut tx, &hall, row.queue_id).await?;
    tx.commit().await?;
    let mut v = issued(st, &hall, ticket).await?;
    let a = domain(&store::appointment(&st.db, row.id).await?)?;
    v["appointment"] = view(&a, &queue.code);
    Ok(v)
}

async fn hall_check_in(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    Path(code): Path<String>,
    Json(who): Json<Who>,
) -> ApiResult<Response> {
    let v = check_in_at_hall(&st, actor.as_ref(), &code, &who).await?;
    Ok((StatusCode::CREATED, axum::Json(v)).into_response())
}

/// The no-show timer fired: a still-booked appointment whose check-in window has closed
/// becomes a no-show, with its event (and the block it causes, if any). Anything else — it
/// was checked in, cancelled, moved later, or the hall widened its window since — is left as
/// it is, a later window getting a timer of its own.
pub async fn fire_no_show(tx: &mut Tx, subject: &str, now: DateTime<Utc>) -> Result<()> {
    let Ok(id) = subject.parse::<i64>() else {
        return Ok(());
    };
    let Some(row) = store::appointment_in_tx(tx, id).await? else {
        return Ok(());
    };
    if !row.is_booked() {
        return Ok(());
    }
    let hall = store::hall_by_id_in_tx(tx, row.hall_id).await?;
    let settings = HallSettings::of(&hall)?;
    let s = &settings.appointments;
    let a = domain(&row)?;
    let local = now.with_timezone(&hall_zone()).naive_local();
    if !a.is_missed(local, s) {
        return schedule_no_show(tx, &a, s, now).await;
    }
    let missed = a.mark_no_show(local, s)?;
    store::set_appointment_status(tx, id, "no_show", None).await?;
    let mine = store::appointments_of_person(tx, hall.id, &row.person_hash).await?;
    let blocked = blocked_until(&no_show_dates(&mine), local.date(), s);
    let queue = queue_of(tx, &hall, row.queue_id).await?;
    record(
        tx,
        now,
        &hall.code,
        "system:appointments",
        "appointment_no_show",
        ("appointment", id),
        json!({
            "before": {"status": row.status},
            "after": view(&missed, &queue.code),
            "blocked_until": blocked.map(|d| d.to_string()),
        }),
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_read_from_itself_or_from_the_link_a_scanner_types() {
        let code = appointment_code(12, "abc");
        assert!(code.starts_with("12-") && code.len() == 13, "{code}");
        assert_eq!(parse_code(&code), Some((12, code.clone())));
        let link = format!(
            "http://10.0.0.5:8080/appointments/{}?x=1\n",
            code.to_uppercase()
        );
        assert_eq!(parse_code(&link), Some((12, code.clone())));
        assert_eq!(parse_code("110105199003071239"), None);
        assert_eq!(parse_code("12-xyz"), None);
        assert_ne!(
            appointment_code(12, "abd"),
            code,
            "another holder, another code"
        );
        assert_ne!(appointment_code(13, "abc")[3..], code[3..]);
    }
}
