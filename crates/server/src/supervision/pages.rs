//! Supervision pages: the director's dashboard (`/supervision`), the wall page for the hall's big
//! screen (`/supervision/wall/{hall}`), a record with its 督办 notice to print
//! (`/supervision/records/{id}`), the monthly report to print and as .xlsx.

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::State;
use axum::http::Uri;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono::Datelike;
use serde::Deserialize;
use yichuang_domain::supervision::numbers::{Metric, month_of};
use yichuang_domain::{Actor, Error, Result, Role};
use yichuang_store::supervision::{self as store, Group};

use super::api::{
    MonthQuery, RecordQuery, month, numbers_for, ranking_for, report_for, visible_records,
};
use super::svg;
use super::views::{FigureTable, FiguresView, Names, RankedView, RecordView, side_by_side, tables};
use crate::accounts::{FormErrors, Page, render_form, require_page_actor};
use crate::auth::MaybeActor;
use crate::cases::time::local;
use crate::extract::{Path, Query};
use crate::pages::{Layout, render};
use crate::ratings::pages::error_page;
use crate::state::AppState;

const READERS: &[Role] = &[Role::Admin, Role::Supervisor, Role::HallManager];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/supervision", get(dashboard))
        .route("/supervision/sweep", axum::routing::post(sweep_now))
        .route("/supervision/wall/{hall}", get(wall))
        .route(
            "/supervision/records/{id}",
            get(record_page).post(record_post),
        )
        .route("/supervision/report", get(report_page))
        .route("/supervision/report.xlsx", get(report_xlsx))
}

/// The live part of the dashboard: today in the halls.
struct Live {
    waiting: i64,
    windows_open: i64,
    windows: i64,
    calls_per_hour: String,
    late: i64,
    late_steps: i64,
    yellow: i64,
}

/// Today's counts, each an indexed count: the dashboard answers the same with five years of a
/// province's history behind it. Yellow here is "due by the next working day" (the lamp of
/// `Light::of`), which a count can read from the due date alone.
async fn live(st: &AppState, scope: Option<&[String]>) -> Result<Live> {
    let now = st.now();
    let today = local(now).date();
    let cal = crate::calendar::current(st, None).await?;
    let soon = yichuang_domain::workdays::WorkingDays::add_working_days(cal.as_ref(), today, 1);
    let c = store::live_counts(&st.db, today, soon, scope).await?;
    // Office hours begin at 8:30; before that the rate has nothing to divide by.
    let opened = chrono::NaiveTime::from_hms_opt(8, 30, 0).unwrap_or_default();
    let hours = local(now)
        .time()
        .signed_duration_since(opened)
        .num_minutes() as f64
        / 60.0;
    Ok(Live {
        waiting: c.waiting,
        windows_open: c.windows_open,
        windows: c.windows,
        calls_per_hour: if hours > 0.0 {
            format!("{:.1}", c.called as f64 / hours)
        } else {
            "—".into()
        },
        late: c.late_cases,
        late_steps: c.late_steps,
        yellow: c.due_soon,
    })
}

#[derive(Template)]
#[template(path = "supervision.html")]
struct DashboardPage {
    layout: Layout,
    scope_label: String,
    month_label: String,
    live: Live,
    compare: Vec<FigureTable>,
    regions: Vec<FigureTable>,
    halls: Vec<FigureTable>,
    chart: String,
    records: Vec<RecordView>,
    halls_for_wall: Vec<(String, String)>,
    ranking_hall: Option<String>,
    ranking_code: String,
    ranking: Vec<RankedView>,
    staff_ranking: Vec<RankedView>,
    formula: String,
    can_sweep: bool,
}

async fn dashboard(
    State(st): State<AppState>,
    MaybeActor(a): MaybeActor,
    uri: Uri,
    Query(q): Query<HallQuery>,
) -> Page {
    let actor = require_page_actor(a, &uri, READERS)?;
    build_dashboard(&st, &actor, q.hall.as_deref())
        .await
        .map_err(|e| error_page(Some(actor), &uri, &e))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct HallQuery {
    hall: Option<String>,
}

/// 立即巡查 from the dashboard: the sweep the worker runs every hour, now.
async fn sweep_now(State(st): State<AppState>, MaybeActor(a): MaybeActor, uri: Uri) -> Page {
    let actor = require_page_actor(a, &uri, &[Role::Admin, Role::Supervisor])?;
    super::sweep(&st)
        .await
        .map_err(|e| error_page(Some(actor), &uri, &e))?;
    Ok(Redirect::to("/supervision").into_response())
}

async fn build_dashboard(st: &AppState, actor: &Actor, hall: Option<&str>) -> Result<Response> {
    let scope = super::scope(actor)?;
    let today = local(st.now()).date();
    let (y, m) = (today.year(), today.month());
    let r = report_for(st, actor, (y, m)).await?;
    let (from, to) = month_of(y, m);
    let days = numbers_for(st, actor, from, to, Group::Day).await?;
    let labels: Vec<String> = (0..=(to - from).num_days())
        .map(|i| format!("{}日", i + 1))
        .collect();
    let series = |metric: Metric| -> Vec<i64> {
        (0..=(to - from).num_days())
            .map(|i| {
                let d = (from + chrono::Duration::days(i)).to_string();
                days.iter()
                    .find(|r| r.key == d)
                    .map_or(0, |r| r.figures.count(metric))
            })
            .collect()
    };
    let chart = svg::bars(
        &format!("{y}年{m}月每日收件与办结"),
        &labels,
        &[
            ("收件", "#1f6feb", series(Metric::Received)),
            ("办结", "#2da44e", series(Metric::Decided)),
        ],
    );
    let names = Names::load(&st.db).await?;
    let halls: Vec<(String, String)> = store::halls(&st.db)
        .await?
        .into_iter()
        .filter(|h| scope.as_ref().is_none_or(|s| s.contains(&h.code)))
        .map(|h| (h.code, h.name))
        .collect();
    let ranking_hall = hall
        .filter(|h| halls.iter().any(|x| x.0 == *h))
        .map(str::to_string)
        .or_else(|| actor.hall.clone())
        .or_else(|| halls.first().map(|h| h.0.clone()));
    let period = super::RankPeriod::month(y, m);
    let (ranking, formula) = match &ranking_hall {
        Some(h) => ranking_for(st, actor, h, &period, super::RankKind::Window).await?,
        None => (Vec::new(), String::new()),
    };
    let staff_ranking = match &ranking_hall {
        Some(h) => {
            ranking_for(st, actor, h, &period, super::RankKind::Staff)
                .await?
                .0
        }
        None => Vec::new(),
    };
    let scope_label = match (&actor.region, actor.role) {
        (Some(region), Role::Supervisor) => format!("{}及所辖", region_name(st, region).await?),
        (_, Role::HallManager) => actor
            .hall
            .as_deref()
            .map(|h| names.of(h))
            .unwrap_or_default(),
        _ => "全部大厅".into(),
    };
    let records = visible_records(
        st,
        actor,
        &RecordQuery {
            state: Some("open".into()),
            ..Default::default()
        },
    )
    .await?;
    Ok(render(&DashboardPage {
        layout: Layout::new("电子监察", Some(actor.clone())),
        scope_label,
        month_label: format!("{y}年{m}月"),
        live: live(st, scope.as_deref()).await?,
        compare: vec![side_by_side(&[r.total, r.last_month, r.last_year])],
        regions: tables("区域", &r.regions),
        halls: tables("大厅", &r.halls),
        chart,
        records,
        halls_for_wall: halls,
        ranking_code: ranking_hall.clone().unwrap_or_default(),
        ranking_hall: ranking_hall.map(|h| names.of(&h)),
        ranking,
        staff_ranking,
        formula,
        can_sweep: matches!(actor.role, Role::Admin | Role::Supervisor),
    }))
}

async fn region_name(st: &AppState, code: &str) -> Result<String> {
    Ok(store::regions(&st.db)
        .await?
        .into_iter()
        .find(|r| r.code == code)
        .map_or_else(|| code.to_string(), |r| r.name))
}

#[derive(Template)]
#[template(path = "supervision_wall.html")]
struct WallPage {
    hall_name: String,
    hall: String,
    time_text: String,
    live: Live,
    today: FiguresView,
    month: FiguresView,
    late: Vec<RecordView>,
}

async fn wall(
    State(st): State<AppState>,
    MaybeActor(a): MaybeActor,
    uri: Uri,
    Path(hall): Path<String>,
) -> Page {
    let actor = require_page_actor(a, &uri, READERS)?;
    build_wall(&st, &actor, &hall)
        .await
        .map_err(|e| error_page(Some(actor), &uri, &e))
}

async fn build_wall(st: &AppState, actor: &Actor, hall: &str) -> Result<Response> {
    actor.require_hall(hall, "查看")?;
    let row = yichuang_store::hall::hall(&st.db, hall).await?;
    let now = st.now();
    let today = local(now).date();
    let scope = vec![hall.to_string()];
    let (first, last) = month_of(today.year(), today.month());
    let t = super::total(st, today, today, Some(&scope)).await?;
    let m = super::total(st, first, last, Some(&scope)).await?;
    let names = Names::load(&st.db).await?;
    let late = store::list(&st.db, Some("open"), None, None, 200)
        .await?
        .iter()
        .filter(|r| r.hall.as_deref() == Some(hall) && r.kind == "overdue")
        .take(8)
        .map(|r| RecordView::of(r, &names, today))
        .collect::<Result<Vec<_>>>()?;
    Ok(render(&WallPage {
        hall_name: row.name,
        hall: hall.to_string(),
        time_text: local(now).format("%Y年%-m月%-d日 %H:%M").to_string(),
        live: live(st, Some(&scope)).await?,
        today: FiguresView::of("", "今日".into(), &t),
        month: FiguresView::of("", "本月".into(), &m),
        late,
    }))
}

#[derive(Template)]
#[template(path = "supervision_record.html")]
struct RecordPage {
    layout: Layout,
    r: RecordView,
    can_decide: bool,
    errors: FormErrors,
    saved: bool,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SavedQuery {
    saved: bool,
}

async fn record_view(st: &AppState, actor: &Actor, id: i64) -> Result<RecordView> {
    let r = store::get(&st.db, id)
        .await?
        .filter(|r| super::sees_record(actor, r))
        .ok_or_else(|| Error::not_found("record_not_found", format!("监察记录 {id} 不存在")))?;
    RecordView::of(&r, &Names::load(&st.db).await?, local(st.now()).date())
}

async fn record_page(
    State(st): State<AppState>,
    MaybeActor(a): MaybeActor,
    uri: Uri,
    Path(id): Path<i64>,
    Query(q): Query<SavedQuery>,
) -> Page {
    let actor = require_page_actor(
        a,
        &uri,
        &[
            Role::Admin,
            Role::Supervisor,
            Role::HallManager,
            Role::Approver,
            Role::Clerk,
            Role::Issuance,
        ],
    )?;
    let r = record_view(&st, &actor, id)
        .await
        .map_err(|e| error_page(Some(actor.clone()), &uri, &e))?;
    Ok(render(&RecordPage {
        can_decide: r.anomaly && r.open && matches!(actor.role, Role::Admin | Role::Supervisor),
        layout: Layout::new("监察记录", Some(actor)),
        r,
        errors: FormErrors::default(),
        saved: q.saved,
    }))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DecisionForm {
    decision: String,
    reason: String,
}

async fn record_post(
    State(st): State<AppState>,
    MaybeActor(a): MaybeActor,
    uri: Uri,
    Path(id): Path<i64>,
    Form(f): Form<DecisionForm>,
) -> Page {
    let actor = require_page_actor(a, &uri, &[Role::Admin, Role::Supervisor])?;
    match super::decide(&st, &actor, id, f.decision == "confirm", &f.reason).await {
        Ok(_) => Ok(Redirect::to(&format!("/supervision/records/{id}?saved=true")).into_response()),
        Err(e)
            if matches!(
                e.kind,
                yichuang_domain::Kind::Invalid | yichuang_domain::Kind::Conflict
            ) =>
        {
            let r = record_view(&st, &actor, id)
                .await
                .map_err(|e| error_page(Some(actor.clone()), &uri, &e))?;
            Ok(render_form(
                &RecordPage {
                    can_decide: r.open,
                    layout: Layout::new("监察记录", Some(actor.clone())),
                    r,
                    errors: FormErrors::at(&e, "reason"),
                    saved: false,
                },
                Some(&e),
            ))
        }
        Err(e) => Err(error_page(Some(actor), &uri, &e)),
    }
}

#[derive(Template)]
#[template(path = "supervision_report.html")]
struct ReportPage {
    layout: Layout,
    title: String,
    month: String,
    compare: Vec<FigureTable>,
    regions: Vec<FigureTable>,
    halls: Vec<FigureTable>,
    departments: Vec<FigureTable>,
    reported: Vec<RecordView>,
    printed_text: String,
}

async fn report_page(
    State(st): State<AppState>,
    MaybeActor(a): MaybeActor,
    uri: Uri,
    Query(q): Query<MonthQuery>,
) -> Page {
    let actor = require_page_actor(a, &uri, READERS)?;
    let built = async {
        let ym = month(&q, local(st.now()).date())?;
        let r = report_for(&st, &actor, ym).await?;
        Ok::<_, Error>(render(&ReportPage {
            layout: Layout::new("月度报告", Some(actor.clone())),
            title: format!("{}年{}月政务服务运行情况", r.year, r.month),
            month: format!("{:04}-{:02}", r.year, r.month),
            compare: vec![side_by_side(&[r.total, r.last_month, r.last_year])],
            regions: tables("区域", &r.regions),
            halls: tables("大厅", &r.halls),
            departments: tables("部门", &r.departments),
            reported: r.reported,
            printed_text: local(st.now()).format("%Y年%-m月%-d日 %H:%M").to_string(),
        }))
    };
    built
        .await
        .map_err(|e| error_page(Some(actor.clone()), &uri, &e))
}

/// The monthly report as a workbook: the same rows and cells as the page.
async fn report_xlsx(
    State(st): State<AppState>,
    MaybeActor(a): MaybeActor,
    uri: Uri,
    Query(q): Query<MonthQuery>,
) -> Page {
    let actor = require_page_actor(a, &uri, READERS)?;
    let built = async {
        let ym = month(&q, local(st.now()).date())?;
        let r = report_for(&st, &actor, ym).await?;
        let mut book = rust_xlsxwriter::Workbook::new();
        let bold = rust_xlsxwriter::Format::new().set_bold();
        let sheets: [(&str, Vec<&FiguresView>); 4] = [
            ("总体", vec![&r.total, &r.last_month, &r.last_year]),
            ("分区域", r.regions.iter().collect()),
            ("分大厅", r.halls.iter().collect()),
            ("分部门", r.departments.iter().collect()),
        ];
        for (name, rows) in sheets {
            let ws = book.add_worksheet();
            ws.set_name(name).map_err(Error::internal)?;
            for (c, (h, _)) in r.total.columns().iter().enumerate() {
                ws.write_string_with_format(0, c as u16, *h, &bold)
                    .map_err(Error::internal)?;
            }
            for (i, v) in rows.iter().enumerate() {
                for (c, (_, cell)) in v.columns().iter().enumerate() {
                    ws.write_string((i + 1) as u32, c as u16, cell)
                        .map_err(Error::internal)?;
                }
            }
            ws.set_column_width(0, 24).map_err(Error::internal)?;
        }
        let ws = book.add_worksheet();
        ws.set_name("通报").map_err(Error::internal)?;
        for (c, h) in ["类型", "大厅", "部门", "办件", "说明", "通报日期"]
            .iter()
            .enumerate()
        {
            ws.write_string_with_format(0, c as u16, *h, &bold)
                .map_err(Error::internal)?;
        }
        for (i, x) in r.reported.iter().enumerate() {
            let cells = [
                x.kind_label.to_string(),
                x.hall_name.clone(),
                x.department_name.clone(),
                x.subject_text.clone(),
                x.note.clone(),
                x.closed_text.clone(),
            ];
            for (c, cell) in cells.iter().enumerate() {
                ws.write_string((i + 1) as u32, c as u16, cell)
                    .map_err(Error::internal)?;
            }
        }
        let bytes = book.save_to_buffer().map_err(Error::internal)?;
        Ok::<_, Error>(crate::work_orders::ledger::xlsx_response(
            bytes,
            &format!("yuedubaogao-{:04}-{:02}.xlsx", ym.0, ym.1),
        ))
    };
    built
        .await
        .map_err(|e| error_page(Some(actor.clone()), &uri, &e))
}
