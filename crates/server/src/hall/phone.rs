//! The visitor's phone pages, reached by scanning the hall's QR code on the kiosk or the board:
//! take a ticket for a queue, book an appointment (queue → date → free slot → ID or mobile
//! number → confirmation with its code and QR code), and, from the confirmation page, cancel
//! or reschedule it. Plain forms that work without scripts; every action calls the same
//! service function as the API.

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono::{Datelike, NaiveDate};
use serde::Deserialize;
use serde_json::Value;
use yichuang_domain::queue::appointments::AppointmentStatus;
use yichuang_domain::{Error, Result};
use yichuang_store::hall::{self as store, HallRow};

use super::HallSettings;
use super::appointments::{
    BookBody, RescheduleBody, Who, appointment_for_holder, book_appointment, bookable,
    cancel_appointment, free_slots, parse_code, parse_date, reschedule_appointment,
};
use super::pages::{QueueLine, queue_lines};
use super::setup::hall_view;
use super::tickets::{Priority, TakeBody, take_ticket};
use crate::accounts::{ClientAddress, FormErrors, render_form};
use crate::error::ApiResult;
use crate::extract::{Path, Query};
use crate::pages::{Layout, render};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/halls/{hall}/phone", get(home).post(take))
        .route("/halls/{hall}/phone/qr.svg", get(hall_qr))
        .route("/halls/{hall}/phone/book", get(book_page).post(book))
        .route("/appointments/{code}", get(appointment_page))
        .route("/appointments/{code}/qr.svg", get(appointment_qr))
        .route("/appointments/{code}/cancel", axum::routing::post(cancel))
        .route(
            "/appointments/{code}/reschedule",
            axum::routing::post(reschedule),
        )
}

/// The address the visitor reached this server at, for links in QR codes.
fn origin(headers: &HeaderMap) -> String {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
}

fn svg(body: String) -> Response {
    ([(axum::http::header::CONTENT_TYPE, "image/svg+xml")], body).into_response()
}

/// The field a fieldless error belongs next to, so it shows where the visitor acts.
fn field_of(code: &str) -> &'static str {
    match code {
        "slot_full" | "slot_not_bookable" | "same_slot" | "change_too_late"
        | "reschedule_limit" => "start",
        "unknown_queue" => "queue",
        _ => "id_number",
    }
}

fn date_label(d: NaiveDate) -> String {
    const DAYS: [&str; 7] = ["一", "二", "三", "四", "五", "六", "日"];
    let w = DAYS[d.weekday().num_days_from_monday() as usize];
    format!("{}月{}日 星期{w}", d.month(), d.day())
}

// --- the hall's phone page: take a ticket, start a booking ----------------------------------

#[derive(Template)]
#[template(path = "hall_phone_home.html")]
struct HomePage {
    layout: Layout,
    hall: String,
    name: String,
    queues: Vec<QueueLine>,
    phone: String,
    errors: FormErrors,
}

async fn home_page(st: &AppState, hall: &HallRow) -> Result<HomePage> {
    let v = hall_view(&st.db, hall).await?;
    Ok(HomePage {
        layout: Layout::new(format!("{} · 手机取号预约", hall.name), None),
        hall: hall.code.clone(),
        name: hall.name.clone(),
        queues: queue_lines(&v),
        phone: String::new(),
        errors: FormErrors::default(),
    })
}

async fn home(State(st): State<AppState>, Path(code): Path<String>) -> ApiResult<Response> {
    let hall = store::hall(&st.db, &code).await?;
    Ok(render(&home_page(&st, &hall).await?))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TakeForm {
    queue: String,
    phone: String,
}

/// A ticket from the phone: always the anonymous phone channel with its limits, whoever's
/// cookie the browser may hold.
async fn take(
    State(st): State<AppState>,
    ClientAddress(address): ClientAddress,
    Path(code): Path<String>,
    Form(f): Form<TakeForm>,
) -> ApiResult<Response> {
    let body = TakeBody {
        queue: f.queue.clone(),
        id_number: None,
        phone: Some(f.phone.clone()),
        priority: Priority::None,
        channel: Some("phone".into()),
    };
    match take_ticket(&st, None, &address, &code, &body).await {
        Ok(t) => Ok(Redirect::to(t["link"].as_str().unwrap_or("/")).into_response()),
        Err(e) => {
            let hall = store::hall(&st.db, &code).await?;
            let mut page = home_page(&st, &hall).await?;
            page.phone = f.phone;
            page.errors = FormErrors::at(&e, "queue");
            Ok(render_form(&page, Some(&e)))
        }
    }
}

async fn hall_qr(
    State(st): State<AppState>,
    Path(code): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    store::hall(&st.db, &code).await?;
    let link = format!("{}/halls/{code}/phone", origin(&headers));
    Ok(svg(crate::qr::svg(&link, 160, "手机扫码取号、预约")?))
}

// --- booking ---------------------------------------------------------------------------------

/// A date to choose.
pub struct DateChoice {
    pub value: String,
    pub label: String,
}

/// A slot to choose.
pub struct SlotChoice {
    pub start: String,
    pub end: String,
    pub available: i64,
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct BookForm {
    queue: String,
    date: String,
    start: String,
    id_number: String,
    phone: String,
}

#[derive(Template)]
#[template(path = "hall_phone_book.html")]
struct BookPage {
    layout: Layout,
    hall: String,
    name: String,
    queues: Vec<QueueLine>,
    queue_name: String,
    dates: Vec<DateChoice>,
    date_label: String,
    slots: Vec<SlotChoice>,
    form: BookForm,
    errors: FormErrors,
}

/// The dates a queue may be booked on, and the slots of the chosen one.
async fn choices(
    st: &AppState,
    hall: &HallRow,
    queue: &str,
    date: &str,
) -> Result<(Vec<DateChoice>, Vec<SlotChoice>, String)> {
    let settings = HallSettings::of(hall)?;
    let dates: Vec<DateChoice> = bookable(st, hall, &settings)
        .await?
        .into_iter()
        .map(|d| DateChoice {
            value: d.to_string(),
            label: date_label(d),
        })
        .collect();
    let queues = store::queues(&st.db, hall.id).await?;
    let (Some(q), Ok(d)) = (queues.iter().find(|q| q.code == queue), parse_date(date)) else {
        return Ok((dates, vec![], String::new()));
    };
    let (_, lines) = free_slots(st, hall, &settings, q, d).await?;
    let slots = lines
        .into_iter()
        .map(|s| SlotChoice {
            start: s.start,
            end: s.end,
            available: s.available,
        })
        .collect();
    Ok((dates, slots, date_label(d)))
}

async fn book_page_of(st: &AppState, hall: &HallRow, form: BookForm) -> Result<BookPage> {
    let v = hall_view(&st.db, hall).await?;
    let queues = queue_lines(&v);
    let queue_name = queues
        .iter()
        .find(|q| q.code == form.queue)
        .map(|q| q.name.clone())
        .unwrap_or_default();
    let mut form = form;
    if queue_name.is_empty() {
        form.queue.clear();
    }
    let (dates, slots, date_label) = choices(st, hall, &form.queue, &form.date).await?;
    if !dates.iter().any(|d| d.value == form.date) {
        form.date.clear();
    }
    Ok(BookPage {
        layout: Layout::new(format!("{} · 预约", hall.name), None),
        hall: hall.code.clone(),
        name: hall.name.clone(),
        queues,
        queue_name,
        dates,
        date_label: if form.date.is_empty() {
            String::new()
        } else {
            date_label
        },
        slots,
        form,
        errors: FormErrors::default(),
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct BookQuery {
    queue: String,
    date: String,
}

async fn book_page(
    State(st): State<AppState>,
    Path(code): Path<String>,
    Query(q): Query<BookQuery>,
) -> ApiResult<Response> {
    let hall = store::hall(&st.db, &code).await?;
    let form = BookForm {
        queue: q.queue,
        date: q.date,
        ..BookForm::default()
    };
    Ok(render(&book_page_of(&st, &hall, form).await?))
}

async fn book(
    State(st): State<AppState>,
    Path(code): Path<String>,
    Form(f): Form<BookForm>,
) -> ApiResult<Response> {
    let body = BookBody {
        queue: f.queue.clone(),
        date: f.date.clone(),
        start: f.start.clone(),
        who: Who {
            id_number: Some(f.id_number.clone()),
            phone: Some(f.phone.clone()),
            code: None,
        },
    };
    match book_appointment(&st, &code, &body).await {
        Ok(v) => {
            let url = v["url"].as_str().unwrap_or("/");
            Ok(Redirect::to(&format!("{url}?done=booked")).into_response())
        }
        Err(e) => {
            let hall = store::hall(&st.db, &code).await?;
            let mut page = book_page_of(&st, &hall, f).await?;
            page.errors = FormErrors::at(&e, field_of(&e.code));
            Ok(render_form(&page, Some(&e)))
        }
    }
}

// --- the holder's appointment page -----------------------------------------------------------

#[derive(Template)]
#[template(path = "hall_appointment.html")]
struct AppointmentPage {
    layout: Layout,
    code: String,
    hall: String,
    hall_name: String,
    queue_name: String,
    date_label: String,
    start: String,
    end: String,
    status: AppointmentStatus,
    status_label: String,
    holder: String,
    check_in_from: String,
    check_in_until: String,
    /// The phone page of the ticket it was checked in to.
    ticket: Option<String>,
    notice: Option<String>,
    dates: Vec<DateChoice>,
    new_date: String,
    new_date_label: String,
    slots: Vec<SlotChoice>,
    errors: FormErrors,
    /// The cancel button was pressed once: ask to confirm.
    confirm_cancel: bool,
}

/// Finds the appointment a code names, for its holder; anything else is "not found", so a
/// guessed code tells nothing.
async fn holder_view(st: &AppState, code: &str) -> Result<Value> {
    let not_found = || Error::not_found("appointment_not_found", "预约不存在，请核对链接");
    let (id, _) = parse_code(code).ok_or_else(not_found)?;
    let who = Who {
        code: Some(code.to_string()),
        ..Who::default()
    };
    appointment_for_holder(st, id, &who).await.map_err(|e| {
        if e.kind == yichuang_domain::Kind::Internal {
            e
        } else {
            not_found()
        }
    })
}

async fn appointment_page_of(
    st: &AppState,
    code: &str,
    new_date: &str,
    notice: Option<String>,
) -> Result<AppointmentPage> {
    let v = holder_view(st, code).await?;
    let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
    let hall = store::hall(&st.db, &s("hall")).await?;
    let date = parse_date(&s("date"))?;
    let status = AppointmentStatus::parse(&s("status"))
        .ok_or_else(|| Error::internal("an appointment without a status"))?;
    let booked = status.is_booked();
    let (dates, slots, new_date_label) = if booked {
        choices(st, &hall, &s("queue"), new_date).await?
    } else {
        (vec![], vec![], String::new())
    };
    let hm = |k: &str| {
        let t = s(k);
        // "2026-03-03T08:30:00+08:00" → "3月3日 08:30"
        parse_date(t.get(..10).unwrap_or_default())
            .map(|d| {
                format!(
                    "{}月{}日 {}",
                    d.month(),
                    d.day(),
                    t.get(11..16).unwrap_or_default()
                )
            })
            .unwrap_or(t)
    };
    Ok(AppointmentPage {
        layout: Layout::new(format!("预约 · {}", hall.name), None),
        code: code.to_string(),
        hall: hall.code.clone(),
        hall_name: hall.name.clone(),
        queue_name: s("queue_name"),
        date_label: date_label(date),
        start: s("start"),
        end: s("end"),
        status,
        status_label: s("status_label"),
        holder: s("holder"),
        check_in_from: hm("check_in_from"),
        check_in_until: hm("check_in_until"),
        ticket: v["ticket_link"].as_str().map(str::to_string),
        notice,
        new_date: if new_date_label.is_empty() {
            String::new()
        } else {
            new_date.to_string()
        },
        new_date_label,
        dates,
        slots,
        errors: FormErrors::default(),
        confirm_cancel: false,
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AppointmentQuery {
    done: String,
    date: String,
}

async fn appointment_page(
    State(st): State<AppState>,
    Path(code): Path<String>,
    Query(q): Query<AppointmentQuery>,
) -> ApiResult<Response> {
    let notice = match q.done.as_str() {
        "booked" => Some(
            "预约成功！请保存本页（或截图二维码），到大厅后在自助机“预约签到”扫码或输入身份证号签到。",
        ),
        "cancelled" => Some("预约已取消。"),
        "rescheduled" => Some("已改约到新的时段。"),
        _ => None,
    };
    let page = appointment_page_of(&st, &code, &q.date, notice.map(str::to_string)).await?;
    Ok(render(&page))
}

async fn appointment_qr(
    State(st): State<AppState>,
    Path(code): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    holder_view(&st, &code).await?;
    let link = format!("{}/appointments/{code}", origin(&headers));
    Ok(svg(crate::qr::svg(&link, 200, "预约签到二维码")?))
}

fn code_who(code: &str) -> Who {
    Who {
        code: Some(code.to_string()),
        ..Who::default()
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CancelForm {
    confirm: String,
}

/// Cancels after a confirmation step (issue 10 item 5): the first press shows what will be
/// cancelled and asks again; only `confirm=yes` cancels.
async fn cancel(
    State(st): State<AppState>,
    Path(code): Path<String>,
    Form(f): Form<CancelForm>,
) -> ApiResult<Response> {
    let (id, _) = parse_code(&code)
        .ok_or_else(|| Error::not_found("appointment_not_found", "预约不存在，请核对链接"))?;
    if f.confirm != "yes" {
        let mut page = appointment_page_of(&st, &code, "", None).await?;
        page.confirm_cancel = true;
        return Ok(crate::pages::render(&page));
    }
    match cancel_appointment(&st, id, &code_who(&code)).await {
        Ok(_) => Ok(Redirect::to(&format!("/appointments/{code}?done=cancelled")).into_response()),
        Err(e) => {
            let mut page = appointment_page_of(&st, &code, "", None).await?;
            page.errors = FormErrors::at(&e, "cancel");
            Ok(render_form(&page, Some(&e)))
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RescheduleForm {
    date: String,
    start: String,
}

async fn reschedule(
    State(st): State<AppState>,
    Path(code): Path<String>,
    Form(f): Form<RescheduleForm>,
) -> ApiResult<Response> {
    let (id, _) = parse_code(&code)
        .ok_or_else(|| Error::not_found("appointment_not_found", "预约不存在，请核对链接"))?;
    let body = RescheduleBody {
        date: f.date.clone(),
        start: f.start.clone(),
        who: code_who(&code),
    };
    match reschedule_appointment(&st, id, &body).await {
        Ok(_) => {
            Ok(Redirect::to(&format!("/appointments/{code}?done=rescheduled")).into_response())
        }
        Err(e) => {
            let mut page = appointment_page_of(&st, &code, &f.date, None).await?;
            page.errors = FormErrors::at(&e, "start");
            Ok(render_form(&page, Some(&e)))
        }
    }
}
