//! Appointments (预约): the bookable slots of a queue, booking, cancelling and checking in,
//! which issues a ticket with the appointment category when on time. The rules are
//! `queue::appointments`'s; working days and office hours come from the hall's calendar
//! (R-WORKDAY, R-HOURS).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use serde::Deserialize;
use serde_json::{Value, json};
use yichuang_domain::identity::{parse_id_number, parse_mobile};
use yichuang_domain::queue::appointments::{
    Appointment, AppointmentStatus, Availability, PersonBookings, Slot, bookable_dates,
    check_booking, slots_for,
};
use yichuang_domain::queue::policy::Claim;
use yichuang_domain::queue::{Channel, Holder};
use yichuang_domain::{Error, Problems, Result};
use yichuang_store::hall::{self as store, AppointmentRow, HallRow};

use super::tickets::{Issue, find_queue, issue_in, ticket_view};
use super::{HallSettings, actor_name, person_hash, record};
use crate::auth::MaybeActor;
use crate::clock::hall_zone;
use crate::error::ApiResult;
use crate::extract::{Json, Path, Query};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/halls/{hall}/slots", get(slots))
        .route("/api/v1/halls/{hall}/appointments", post(book))
        .route("/api/v1/appointments/{id}/cancel", post(cancel))
        .route("/api/v1/appointments/{id}/check-in", post(check_in))
}

fn local_now(st: &AppState) -> NaiveDateTime {
    st.now().with_timezone(&hall_zone()).naive_local()
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

async fn bookable(
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

#[derive(Deserialize)]
struct SlotsQuery {
    queue: String,
    date: String,
}

fn parse_date(s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| Error::validation(vec![]).field("date", "日期格式应为 YYYY-MM-DD"))
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
    let open = bookable(&st, &hall, &settings).await?.contains(&date);
    let mut out = vec![];
    if open {
        let day = day_slots(&st, &hall, &settings, date).await?;
        let mut tx = st.db.begin().await?;
        for s in day {
            let start = s.start.format("%H:%M").to_string();
            let booked = store::booked_in_slot(&mut tx, queue.id, date, &start).await?;
            let left = i64::from(settings.appointments.capacity_per_slot) - booked;
            out.push(json!({"start": start, "end": s.end.format("%H:%M").to_string(), "available": left.max(0)}));
        }
        tx.commit().await?;
    }
    Ok(axum::Json(
        json!({"date": date.to_string(), "queue": queue.code, "bookable": open, "slots": out}),
    )
    .into_response())
}

#[derive(Deserialize)]
struct Who {
    #[serde(default)]
    id_number: Option<String>,
    #[serde(default)]
    phone: Option<String>,
}

impl Who {
    /// The person's masked holder text and hash; an appointment is always real-name.
    fn person(&self, hall: &str, today: NaiveDate) -> Result<(Holder, String, Claim)> {
        let mut p = Problems::new();
        let blank = |s: &Option<String>| {
            s.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
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
            p.add("id_number", "预约须填写身份证号或手机号");
        }
        p.finish()?;
        out.ok_or_else(|| Error::internal("no person"))
    }
}

#[derive(Deserialize)]
struct BookBody {
    queue: String,
    date: String,
    start: String,
    #[serde(flatten)]
    who: Who,
}

fn domain(row: &AppointmentRow) -> Result<Appointment> {
    let bad = || Error::internal(format!("appointment {} has bad fields", row.id));
    let date = NaiveDate::parse_from_str(&row.slot_date, "%Y-%m-%d").map_err(|_| bad())?;
    let t = |s: &str| NaiveTime::parse_from_str(s, "%H:%M").map_err(|_| bad());
    let status = match row.status.as_str() {
        "booked" => AppointmentStatus::Booked,
        "checked_in" => AppointmentStatus::CheckedIn,
        "cancelled" => AppointmentStatus::Cancelled,
        "no_show" => AppointmentStatus::NoShow,
        _ => return Err(bad()),
    };
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

fn status_name(s: AppointmentStatus) -> &'static str {
    match s {
        AppointmentStatus::Booked => "booked",
        AppointmentStatus::CheckedIn => "checked_in",
        AppointmentStatus::Cancelled => "cancelled",
        AppointmentStatus::NoShow => "no_show",
    }
}

fn view(a: &Appointment, queue: &str) -> Value {
    json!({
        "id": a.id, "queue": queue, "date": a.slot.date.to_string(),
        "start": a.slot.start.format("%H:%M").to_string(), "end": a.slot.end.format("%H:%M").to_string(),
        "status": status_name(a.status), "status_label": a.status.label(), "holder": a.holder,
    })
}

async fn book(
    State(st): State<AppState>,
    Path(code): Path<String>,
    Json(b): Json<BookBody>,
) -> ApiResult<Response> {
    let now = local_now(&st);
    let date = parse_date(&b.date)?;
    let (holder, hash, _) = b.who.person(&code, now.date())?;
    let hall = store::hall(&st.db, &code).await?;
    let settings = HallSettings::of(&hall)?;
    let queues = store::queues(&st.db, hall.id).await?;
    let queue = find_queue(&queues, &b.queue)?.clone();
    let slot = day_slots(&st, &hall, &settings, date)
        .await?
        .into_iter()
        .find(|s| s.start.format("%H:%M").to_string() == b.start.trim())
        .ok_or_else(|| Error::validation(vec![]).field("start", "该日没有这个预约时段"))?;
    let dates = bookable(&st, &hall, &settings).await?;
    let mut tx = st.db.begin().await?;
    let start = slot.start.format("%H:%M").to_string();
    let mine = store::appointments_of_person(&mut tx, hall.id, &hash).await?;
    let person = PersonBookings {
        open: mine.iter().filter(|a| a.status == "booked").count() as u32,
        same_queue_same_date: mine
            .iter()
            .filter(|a| {
                a.status == "booked" && a.queue_id == queue.id && a.slot_date == date.to_string()
            })
            .count() as u32,
        no_show_dates: mine
            .iter()
            .filter(|a| a.status == "no_show")
            .filter_map(|a| NaiveDate::parse_from_str(&a.slot_date, "%Y-%m-%d").ok())
            .collect(),
    };
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
        slot_end: &slot.end.format("%H:%M").to_string(),
        holder: Some(holder.as_str()),
        person_hash: &hash,
    };
    let id = store::insert_appointment(&mut tx, &new, st.now()).await?;
    let a = Appointment::book(id, queue.id, slot, Some(holder));
    let v = view(&a, &queue.code);
    record(
        &mut tx,
        st.now(),
        &hall.code,
        "public",
        "appointment_booked",
        ("appointment", id),
        json!({"after": v}),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, axum::Json(v)).into_response())
}

/// Loads an appointment for a change by its holder, who proves it with the same number.
async fn owned(
    st: &AppState,
    tx: &mut yichuang_store::Tx,
    id: i64,
    who: &Who,
) -> Result<(AppointmentRow, HallRow, Claim)> {
    let row = store::appointment_for_update(tx, id).await?;
    let hall = store::hall_by_id_in_tx(tx, row.hall_id).await?;
    let (_, hash, claim) = who.person(&hall.code, local_now(st).date())?;
    if hash != row.person_hash {
        return Err(Error::forbidden("证件号或手机号与预约人不符"));
    }
    Ok((row, hall, claim))
}

async fn cancel(
    State(st): State<AppState>,
    Path(id): Path<i64>,
    Json(who): Json<Who>,
) -> ApiResult<Response> {
    let mut tx = st.db.begin().await?;
    let (row, hall, _) = owned(&st, &mut tx, id, &who).await?;
    let settings = HallSettings::of(&hall)?;
    let a = domain(&row)?.cancel(local_now(&st), &settings.appointments)?;
    store::set_appointment_status(&mut tx, id, "cancelled", None).await?;
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
    tx.commit().await?;
    let queue = store::queues(&st.db, hall.id)
        .await?
        .into_iter()
        .find(|q| q.id == row.queue_id)
        .map(|q| q.code)
        .unwrap_or_default();
    Ok(axum::Json(view(&a, &queue)).into_response())
}

/// Checking in (at the kiosk, or staff at the guide desk) turns the appointment into a ticket
/// with the appointment category (policy: an on-time appointment goes ahead).
async fn check_in(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    Path(id): Path<i64>,
    Json(who): Json<Who>,
) -> ApiResult<Response> {
    let now = st.now();
    let mut tx = st.db.begin().await?;
    let (row, hall, mut claim) = owned(&st, &mut tx, id, &who).await?;
    let settings = HallSettings::of(&hall)?;
    domain(&row)?.check_in(local_now(&st), &settings.appointments)?;
    claim.appointment_on_time = true;
    let queues = store::queues_in_tx(&mut tx, hall.id).await?;
    let queue = queues
        .iter()
        .find(|q| q.id == row.queue_id)
        .cloned()
        .ok_or_else(|| Error::internal("queue"))?;
    let issue = Issue {
        channel: Channel::Appointment,
        categories: settings.policy.classify(&claim, super::service_date(now)),
        holder: row.holder.as_deref().map(Holder::from_masked).transpose()?,
        person_hash: Some(row.person_hash.clone()),
        address_hash: None,
        appointment_id: Some(id),
    };
    let ticket = issue_in(
        &mut tx,
        &hall,
        &settings,
        &queue,
        issue,
        &actor_name(actor.as_ref()),
        now,
    )
    .await?;
    store::set_appointment_status(&mut tx, id, "checked_in", Some(ticket.id)).await?;
    record(&mut tx, now, &hall.code, &actor_name(actor.as_ref()), "appointment_checked_in", ("appointment", id),
        json!({"before": {"status": row.status}, "after": {"status": "checked_in", "ticket": ticket.id}})).await?;
    tx.commit().await?;
    st.hall_feed.wake();
    let t = store::ticket(&st.db, ticket.id).await?;
    let v = ticket_view(&st.db, &t, &settings, None).await?;
    Ok((StatusCode::CREATED, axum::Json(v)).into_response())
}
