//! `/admin/calendar`: a year as twelve month grids coloured by kind of day, the loaded years with
//! their notices, and the import form (TOML text or file) with errors next to it.

use askama::Template;
use axum::Router;
use axum::extract::{Multipart, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{Datelike, Duration, NaiveDate};
use serde::Deserialize;
use yichuang_domain::calendar::{
    Calendar, DayKind, FIRST_YEAR, LAST_YEAR, Notice, YearArrangement,
};
use yichuang_domain::{Actor, Error, FieldError, Role};
use yichuang_store::calendar as store;

use super::{DayChange, current, import};
use crate::accounts::require_page_actor;
use crate::auth::MaybeActor;
use crate::pages::{Layout, render};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/calendar", get(show))
        .route("/admin/calendar/import", axum::routing::post(upload))
}

/// One square of a month grid; `day == 0` is padding before the 1st or after the last day.
pub struct Cell {
    pub day: u32,
    pub class: &'static str,
    pub mark: &'static str,
    pub title: String,
}

pub struct Month {
    pub title: String,
    pub weeks: Vec<Vec<Cell>>,
}

pub struct YearLine {
    pub year: i32,
    pub source: String,
    pub origin: &'static str,
    pub updated: String,
}

#[derive(Template)]
#[template(path = "admin_calendar.html")]
struct CalendarPage {
    layout: Layout,
    year: i32,
    prev: Option<i32>,
    next: Option<i32>,
    loaded: bool,
    notices: Vec<Notice>,
    months: Vec<Month>,
    years: Vec<YearLine>,
    can_import: bool,
    form_text: String,
    errors: Vec<FieldError>,
    message: Option<String>,
    changes: Vec<DayChange>,
}

fn month_grid(cal: &Calendar, year: i32, month: u32) -> Month {
    let first = NaiveDate::from_ymd_opt(year, month, 1).unwrap_or_default();
    let pad = first.weekday().num_days_from_monday() as usize;
    let mut cells: Vec<Cell> = (0..pad).map(|_| blank()).collect();
    let mut d = first;
    while d.month() == month && d.year() == year {
        let day = cal.day(d);
        let (class, mark) = match (day.kind, day.adjusted) {
            (DayKind::Holiday, _) => ("holiday", "休"),
            (DayKind::Workday, true) => ("adjusted", "班"),
            (DayKind::Workday, false) => ("workday", ""),
            (DayKind::Restday, _) => ("restday", ""),
        };
        let mut title = format!("{d} {}", day.kind.label());
        if let Some(n) = day.name {
            title += &format!("：{n}");
        }
        if day.adjusted {
            title += "（调休上班）";
        }
        if day.local {
            title += "（地方规定）";
        }
        if day.unofficial {
            title += "（该年安排未导入，仅按周末推算）";
        }
        cells.push(Cell {
            day: d.day(),
            class,
            mark,
            title,
        });
        d += Duration::days(1);
    }
    while !cells.len().is_multiple_of(7) {
        cells.push(blank());
    }
    let mut weeks = Vec::new();
    let mut it = cells.into_iter().peekable();
    while it.peek().is_some() {
        weeks.push(it.by_ref().take(7).collect());
    }
    Month {
        title: format!("{month}月"),
        weeks,
    }
}

fn blank() -> Cell {
    Cell {
        day: 0,
        class: "blank",
        mark: "",
        title: String::new(),
    }
}

#[derive(Deserialize)]
struct YearQuery {
    year: Option<i32>,
}

/// Everything but the form's state, for a given year.
async fn page(st: &AppState, actor: &Actor, year: i32) -> Result<CalendarPage, Error> {
    let year = year.clamp(FIRST_YEAR, LAST_YEAR);
    let cal = current(st, None).await?;
    let records = store::list_years(&st.db).await?;
    let people = crate::people::People::load(st).await;
    let years = records
        .iter()
        .map(|r| YearLine {
            year: r.arrangement.year,
            source: r.arrangement.source(),
            origin: if r.origin == store::ORIGIN_SHIPPED {
                "随系统提供"
            } else {
                "管理员导入"
            },
            // Beijing time in words and the person's name (issue 10 item 3).
            updated: format!(
                "{} · {}",
                crate::cases::view::chinese_at(crate::cases::time::local(r.updated_at)),
                people.who(&r.updated_by)
            ),
        })
        .collect();
    let arrangement: Option<&YearArrangement> = cal.arrangement(year);
    Ok(CalendarPage {
        layout: Layout::new(format!("工作日历 · {year}年"), Some(actor.clone())),
        year,
        prev: (year > FIRST_YEAR).then_some(year - 1),
        next: (year < LAST_YEAR).then_some(year + 1),
        loaded: cal.is_loaded(year),
        notices: arrangement.map(|a| a.notices.clone()).unwrap_or_default(),
        months: (1..=12).map(|m| month_grid(&cal, year, m)).collect(),
        years,
        can_import: actor.role == Role::Admin,
        form_text: String::new(),
        errors: Vec::new(),
        message: None,
        changes: Vec::new(),
    })
}

fn failed(e: Error) -> Response {
    crate::error::Problem(e).into_response()
}

/// Who may see the page: administrators, and hall managers (read only).
const VIEWERS: [Role; 2] = [Role::Admin, Role::HallManager];

async fn show(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    uri: Uri,
    Query(q): Query<YearQuery>,
) -> Response {
    let actor = match require_page_actor(actor, &uri, &VIEWERS) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let actor = &actor;
    let year = q.year.unwrap_or_else(|| this_year(&st));
    match page(&st, actor, year).await {
        Ok(p) => render(&p),
        Err(e) => failed(e),
    }
}

/// Reads the form: a chosen file wins over the textarea.
async fn read_form(mut form: Multipart) -> Result<String, String> {
    let mut text = String::new();
    let mut file = String::new();
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| format!("表单读取失败：{e}"))?
    {
        let name = field.name().unwrap_or("").to_string();
        let bytes = field
            .bytes()
            .await
            .map_err(|e| format!("表单读取失败：{e}"))?;
        let value = String::from_utf8(bytes.to_vec())
            .map_err(|_| "文件须为 UTF-8 编码的 TOML 文本".to_string())?;
        match name.as_str() {
            "toml" => text = value,
            "file" => file = value,
            _ => {}
        }
    }
    Ok(if file.trim().is_empty() { text } else { file })
}

fn this_year(st: &AppState) -> i32 {
    crate::clock::hall_time(st.now())[..4]
        .parse()
        .unwrap_or(FIRST_YEAR)
}

async fn upload(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    form: Multipart,
) -> Response {
    // After signing in, come back to the page, not to this POST-only address.
    let back = Uri::from_static("/admin/calendar");
    let actor = match require_page_actor(actor, &back, &[Role::Admin]) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let actor = &actor;
    let (text, result) = match read_form(form).await {
        Ok(text) => {
            let result = match YearArrangement::from_toml(&text) {
                Ok(y) => import(&st.db, st.now(), &actor.event_name(), &y).await,
                Err(e) => Err(e),
            };
            (text, result)
        }
        Err(msg) => (
            String::new(),
            Err(Error::validation(vec![]).field("file", msg)),
        ),
    };
    match result {
        Ok(done) => match page(&st, actor, done.year).await {
            Ok(mut p) => {
                p.message = Some(format!(
                    "已{}{}年的节假日安排，{}处日期与之前不同",
                    if done.created { "导入" } else { "更正" },
                    done.year,
                    done.changes.len()
                ));
                p.changes = done.changes;
                render(&p)
            }
            Err(e) => failed(e),
        },
        // Bad input: the same page with the text kept and every problem next to the form.
        Err(e) if e.kind == yichuang_domain::Kind::Invalid => {
            match page(&st, actor, this_year(&st)).await {
                Ok(mut p) => {
                    p.form_text = text;
                    p.errors = e.fields;
                    let mut r = render(&p);
                    *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
                    r
                }
                Err(e) => failed(e),
            }
        }
        Err(e) => failed(e),
    }
}
