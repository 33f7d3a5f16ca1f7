//! 问题台账 (R-LEDGER): entries from 差评, 办不成事, work-order clusters (未诉先办) and inspections,
//! closed out with evidence and another's approval, revisited after close-out; the ledger as the
//! .xlsx halls keep (one row per entry, Chinese headers), exported and imported whole.

use std::io::Cursor;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use calamine::{Data, Reader, Xlsx};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::json;
use yichuang_domain::work_order::ledger::{Entry, LedgerAction, LedgerSource, LedgerStatus};
use yichuang_domain::workdays::WorkingDays;
use yichuang_domain::{Actor, Error, Result, Role};
use yichuang_store::events::{self, NewEvent};
use yichuang_store::timers;
use yichuang_store::work_orders::{self as store, EntryFilter, EntryRow, NewEntry};

use super::views::{EntryView, TimelineLine, timeline};
use super::{REVISIT_TIMER, morning};
use crate::auth::CurrentActor;
use crate::cases::time::local;
use crate::error::ApiResult;
use crate::extract::{Json, Path, Query};
use crate::state::AppState;

pub fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/ledger", get(list).post(create_api))
        .route("/api/v1/ledger/suggestions", get(suggestions_api))
        .route("/api/v1/ledger/import", post(import_api))
        .route("/api/v1/ledger/{id}", get(one))
        .route("/api/v1/ledger/{id}/actions", post(action_api))
}

#[derive(Deserialize, Default, Debug, Clone)]
#[serde(default)]
pub struct NewEntryBody {
    pub source: String,
    pub point: String,
    pub title: String,
    pub description: String,
    pub owner: String,
    pub deadline: Option<NaiveDate>,
    pub measures: String,
    /// Work orders this entry takes up (a cluster's).
    pub work_orders: Vec<String>,
    /// A cluster suggestion taken up whole: its category and unit.
    pub cluster_category: Option<String>,
    pub cluster_unit: Option<String>,
}

fn may_keep_ledger(actor: &Actor) -> Result<()> {
    actor.require_role(
        &[Role::Admin, Role::HallManager, Role::Supervisor],
        "登记问题台账",
    )
}

/// Who may see an entry: its owner's approvers, the ledger keepers.
pub fn may_see(actor: &Actor, row: &EntryRow) -> Result<()> {
    match actor.role {
        Role::Admin | Role::Supervisor | Role::HallManager => Ok(()),
        Role::Approver if actor.department.as_deref() == Some(row.owner.as_str()) => Ok(()),
        _ => Err(Error::forbidden("无权查看该台账条目")),
    }
}

async fn checked(st: &AppState, b: &NewEntryBody) -> Result<(LedgerSource, NaiveDate)> {
    let s = super::settings(&st.db).await?;
    let units = super::units(st).await?;
    let today = local(st.now()).date();
    let mut p = yichuang_domain::Problems::new();
    let source = LedgerSource::parse(&b.source);
    p.check(source.is_some(), "source", "请选择问题来源");
    p.check(
        s.aspect_of_point(&b.point).is_some(),
        "point",
        "请选择问题类别（方面和要点）",
    );
    let title = b.title.trim().chars().count();
    p.check(
        title > 0 && title <= 100,
        "title",
        "请填写问题标题（不超过 100 字）",
    );
    let desc = b.description.trim().chars().count();
    p.check(
        desc > 0 && desc <= 2000,
        "description",
        "请填写问题描述（不超过 2000 字）",
    );
    p.check(units.contains_key(&b.owner), "owner", "请选择责任单位");
    if let Some(d) = b.deadline {
        p.check(d > today, "deadline", "整改时限须晚于今天");
    }
    p.finish()?;
    let cal = super::calendar_of(st, None).await?;
    let deadline = b
        .deadline
        .unwrap_or_else(|| cal.add_working_days(today, i64::from(s.ledger_days)));
    Ok((source.expect("checked"), deadline))
}

/// Writes one checked entry with its links and its event, in the caller's transaction.
async fn write_entry(
    tx: &mut yichuang_store::Tx,
    actor: &Actor,
    b: &NewEntryBody,
    deadline: NaiveDate,
    orders: &[i64],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<i64> {
    let entry = Entry::open(deadline, &b.measures);
    let state = serde_json::to_string(&entry).map_err(Error::internal)?;
    let id = store::insert_entry(
        tx,
        &NewEntry {
            hall: actor.hall.as_deref(),
            source: &b.source,
            point: &b.point,
            title: b.title.trim(),
            description: b.description.trim(),
            owner: &b.owner,
            status: entry.status.as_str(),
            deadline,
            created_by: &actor.event_name(),
            state: &state,
        },
        now,
    )
    .await?;
    for o in orders {
        store::link(tx, id, *o).await?;
    }
    events::append(
        tx,
        now,
        NewEvent {
            actor: &actor.event_name(),
            kind: "ledger_entry_created",
            subject_type: "ledger_entry",
            subject_id: &id.to_string(),
            payload: json!({"source": b.source, "point": b.point, "owner": b.owner,
                            "deadline": deadline, "work_orders": orders.len(),
                            "note": b.title.trim()}),
        },
    )
    .await?;
    Ok(id)
}

/// The rectification an escalated 督办 demands (R-SUPERVISE → R-LEDGER), in the sweep's
/// transaction: owned by the late unit, under the key point about lateness (one named
/// “超时…”, else the first), with the settings' ledger period. `None` when the unit is not a
/// department the ledger knows (a hall's own lateness stays in the 通报 report only).
pub async fn from_escalation(
    st: &AppState,
    tx: &mut yichuang_store::Tx,
    hall: Option<&str>,
    owner: &str,
    title: &str,
    description: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<i64>> {
    let s = super::settings(&st.db).await?;
    if !super::units(st).await?.contains_key(owner) {
        return Ok(None);
    }
    let points: Vec<&yichuang_domain::work_order::settings::Point> =
        s.aspects.iter().flat_map(|a| a.points.iter()).collect();
    let Some(point) = points
        .iter()
        .find(|p| p.name.contains("超时"))
        .or(points.first())
    else {
        return Ok(None);
    };
    let cal = super::calendar_of(st, hall).await?;
    let deadline = cal.add_working_days(local(now).date(), i64::from(s.ledger_days));
    let system = Actor::system(
        "supervision",
        "电子监察",
        Role::Supervisor,
        hall.map(str::to_string),
    );
    let body = NewEntryBody {
        source: LedgerSource::Supervision.as_str().into(),
        point: point.code.clone(),
        title: title.chars().take(100).collect(),
        description: description.chars().take(2000).collect(),
        owner: owner.into(),
        deadline: Some(deadline),
        measures: String::new(),
        work_orders: Vec::new(),
        cluster_category: None,
        cluster_unit: None,
    };
    write_entry(tx, &system, &body, deadline, &[], now)
        .await
        .map(Some)
}

/// Creates an entry, linking the orders it takes up.
pub async fn create(st: &AppState, actor: &Actor, b: &NewEntryBody) -> Result<EntryRow> {
    may_keep_ledger(actor)?;
    let (_, deadline) = checked(st, b).await?;
    let s = super::settings(&st.db).await?;
    let now = st.now();
    let today = local(now).date();
    let mut tx = st.db.begin().await?;
    let mut orders: Vec<i64> = Vec::new();
    for n in &b.work_orders {
        let row = store::by_number_in(&mut tx, n).await.map_err(|_| {
            Error::invalid("unknown_work_order", format!("工单 {n} 不存在"))
                .field("work_orders", format!("工单 {n} 不存在"))
        })?;
        orders.push(row.id);
    }
    if let (Some(cat), Some(unit)) = (&b.cluster_category, &b.cluster_unit) {
        let since = today - chrono::Days::new(u64::from(s.cluster_window_days));
        orders.extend(store::cluster_orders(&mut tx, since, cat, unit).await?);
    }
    let id = write_entry(&mut tx, actor, b, deadline, &orders, now).await?;
    tx.commit().await?;
    store::entry(&st.db, id).await
}

pub fn entry_state(row: &EntryRow) -> Result<Entry> {
    serde_json::from_str(&row.state).map_err(Error::internal)
}

/// The owner reports; a reviewer other than the one who asked decides; keepers revisit.
pub async fn act(st: &AppState, actor: &Actor, id: i64, action: &LedgerAction) -> Result<EntryRow> {
    let before = store::entry(&st.db, id).await?;
    may_see(actor, &before)?;
    match action {
        LedgerAction::RequestCloseOut { .. } => actor.require_role(
            &[Role::Admin, Role::HallManager, Role::Approver],
            "申请销号",
        )?,
        LedgerAction::Review { .. } => {
            actor.require_role(&[Role::Admin, Role::Supervisor], "审核销号")?
        }
        LedgerAction::Revisit { .. } => actor.require_role(
            &[Role::Admin, Role::Supervisor, Role::HallManager],
            "回头看",
        )?,
    }
    let s = super::settings(&st.db).await?;
    let now = st.now();
    let today = local(now).date();
    let mut tx = st.db.begin().await?;
    let row = store::entry_for_update(&mut tx, id).await?;
    let e = entry_state(&row)?;
    let after = e.apply(action, today, &actor.event_name(), s.revisit_after_days)?;
    let state = serde_json::to_string(&after).map_err(Error::internal)?;
    store::update_entry(
        &mut tx,
        id,
        after.status.as_str(),
        after.deadline,
        after.revisit_on,
        &state,
        now,
    )
    .await?;
    let note = match action {
        LedgerAction::RequestCloseOut { evidence, .. } => evidence.trim().to_string(),
        LedgerAction::Review { note, .. } | LedgerAction::Revisit { note, .. } => {
            note.trim().to_string()
        }
    };
    events::append(
        &mut tx,
        now,
        NewEvent {
            actor: &actor.event_name(),
            kind: action.event(),
            subject_type: "ledger_entry",
            subject_id: &id.to_string(),
            payload: json!({"before": {"status": e.status}, "after": {"status": after.status,
                            "deadline": after.deadline, "revisit_on": after.revisit_on},
                            "note": note}),
        },
    )
    .await?;
    timers::cancel(&mut tx, REVISIT_TIMER, &id.to_string(), now).await?;
    if let (LedgerStatus::ClosedOut, Some(d), None) =
        (after.status, after.revisit_on, after.revisited_on)
    {
        timers::schedule(
            &mut tx,
            REVISIT_TIMER,
            &id.to_string(),
            morning(d),
            json!({}),
            now,
        )
        .await?;
    }
    tx.commit().await?;
    store::entry(&st.db, id).await
}

/// The revisit falls due: recorded, so the entry shows in the keepers' list of revisits owed.
pub async fn fire_revisit(
    tx: &mut yichuang_store::Tx,
    id: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    events::append(
        tx,
        now,
        NewEvent {
            actor: "system:timer",
            kind: "ledger_revisit_due",
            subject_type: "ledger_entry",
            subject_id: id,
            payload: json!({}),
        },
    )
    .await?;
    Ok(())
}

#[derive(Deserialize, Default, Debug)]
#[serde(default)]
pub struct LedgerActionBody {
    pub action: String,
    pub measures: String,
    pub evidence: String,
    pub approve: Option<bool>,
    pub held: Option<bool>,
    pub note: String,
    pub new_deadline: Option<NaiveDate>,
}

impl LedgerActionBody {
    pub fn action(&self) -> Result<LedgerAction> {
        Ok(match self.action.as_str() {
            "request_close_out" => LedgerAction::RequestCloseOut {
                measures: self.measures.clone(),
                evidence: self.evidence.clone(),
            },
            "review" => LedgerAction::Review {
                approve: self.approve.ok_or_else(|| {
                    Error::invalid("missing_decision", "请选择审核结果")
                        .field("approve", "请选择通过或退回")
                })?,
                note: self.note.clone(),
            },
            "revisit" => LedgerAction::Revisit {
                held: self.held.ok_or_else(|| {
                    Error::invalid("missing_result", "请选择回头看结果")
                        .field("held", "请选择巩固或反弹")
                })?,
                note: self.note.clone(),
                new_deadline: self.new_deadline,
            },
            _ => {
                return Err(Error::invalid("bad_action", "操作无效")
                    .field("action", "可选 request_close_out、review、revisit"));
            }
        })
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LedgerQuery {
    pub status: Option<String>,
    pub owner: Option<String>,
    pub source: Option<String>,
    pub aspect: Option<String>,
}

pub fn filter(actor: &Actor, q: &LedgerQuery) -> Result<EntryFilter> {
    actor.require_role(
        &[
            Role::Admin,
            Role::HallManager,
            Role::Supervisor,
            Role::Approver,
        ],
        "查看问题台账",
    )?;
    let blank = |o: &Option<String>| o.clone().filter(|s| !s.is_empty());
    let mut p = yichuang_domain::Problems::new();
    if let Some(s) = blank(&q.status) {
        p.check(LedgerStatus::parse(&s).is_some(), "status", "台账状态无效");
    }
    if let Some(s) = blank(&q.source) {
        p.check(LedgerSource::parse(&s).is_some(), "source", "问题来源无效");
    }
    p.finish()?;
    Ok(EntryFilter {
        status: blank(&q.status),
        owner: if actor.role == Role::Approver {
            actor.department.clone()
        } else {
            blank(&q.owner)
        },
        source: blank(&q.source),
        point_prefix: blank(&q.aspect),
    })
}

pub async fn views(st: &AppState, rows: &[EntryRow]) -> Result<Vec<EntryView>> {
    let s = super::settings(&st.db).await?;
    let units = super::units(st).await?;
    let today = local(st.now()).date();
    rows.iter()
        .map(|r| EntryView::of(r, &s, &units, today, Vec::new()))
        .collect()
}

async fn list(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Query(q): Query<LedgerQuery>,
) -> ApiResult<Response> {
    let f = filter(&actor, &q)?;
    crate::extract::not_blank(
        "status",
        q.status.as_deref(),
        "open、awaiting_review、closed_out",
    )?;
    crate::extract::not_blank(
        "source",
        q.source.as_deref(),
        "问题来源代码，见 OpenAPI 文档",
    )?;
    let rows = store::entries(&st.db, &f).await?;
    Ok(axum::Json(json!({"entries": views(&st, &rows).await?})).into_response())
}

#[derive(Serialize)]
pub struct EntryDetail {
    #[serde(flatten)]
    pub entry: EntryView,
    pub timeline: Vec<TimelineLine>,
}

pub async fn detail(st: &AppState, actor: &Actor, id: i64) -> Result<EntryDetail> {
    let row = store::entry(&st.db, id).await?;
    may_see(actor, &row)?;
    let s = super::settings(&st.db).await?;
    let units = super::units(st).await?;
    let orders = store::linked_orders(&st.db, id).await?;
    let events = events::for_subject(&st.db, "ledger_entry", &id.to_string()).await?;
    Ok(EntryDetail {
        entry: EntryView::of(&row, &s, &units, local(st.now()).date(), orders)?,
        timeline: timeline(
            &events,
            &units,
            &super::views::names_in(&st.db, &events).await?,
        ),
    })
}

async fn one(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    Ok(axum::Json(detail(&st, &actor, id).await?).into_response())
}

async fn create_api(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Json(b): Json<NewEntryBody>,
) -> ApiResult<Response> {
    let row = create(&st, &actor, &b).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(detail(&st, &actor, row.id).await?),
    )
        .into_response())
}

async fn action_api(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<i64>,
    Json(b): Json<LedgerActionBody>,
) -> ApiResult<Response> {
    act(&st, &actor, id, &b.action()?).await?;
    Ok(axum::Json(detail(&st, &actor, id).await?).into_response())
}

#[derive(Serialize, Debug, Clone)]
pub struct Suggestion {
    pub category: String,
    pub category_label: String,
    pub unit: String,
    pub unit_name: String,
    pub orders: i64,
}

/// 未诉先办: clusters of orders of one category at one unit, not yet in the ledger.
pub async fn suggestions(st: &AppState, actor: &Actor) -> Result<Vec<Suggestion>> {
    may_keep_ledger(actor)?;
    let s = super::settings(&st.db).await?;
    let units = super::units(st).await?;
    let since = local(st.now()).date() - chrono::Days::new(u64::from(s.cluster_window_days));
    Ok(
        store::clusters(&st.db, since, i64::from(s.cluster_threshold))
            .await?
            .into_iter()
            .map(|c| Suggestion {
                category_label: s.category_path(&c.category),
                unit_name: units.get(&c.lead_unit).cloned().unwrap_or_default(),
                category: c.category,
                unit: c.lead_unit,
                orders: c.orders,
            })
            .collect(),
    )
}

async fn suggestions_api(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
) -> ApiResult<Response> {
    Ok(axum::Json(json!({"suggestions": suggestions(&st, &actor).await?})).into_response())
}

pub const HEADERS: [&str; 12] = [
    "序号",
    "问题来源",
    "问题类别",
    "要点代码",
    "问题标题",
    "问题描述",
    "责任单位",
    "整改措施",
    "整改时限",
    "整改状态",
    "销号日期",
    "回头看日期",
];

/// The ledger as one sheet, one row per entry, as halls keep it.
pub async fn export(st: &AppState, actor: &Actor, q: &LedgerQuery) -> Result<Vec<u8>> {
    let rows = store::entries(&st.db, &filter(actor, q)?).await?;
    let views = views(st, &rows).await?;
    let mut book = rust_xlsxwriter::Workbook::new();
    let ws = book.add_worksheet();
    ws.set_name("问题台账").map_err(Error::internal)?;
    let bold = rust_xlsxwriter::Format::new().set_bold();
    for (c, h) in HEADERS.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)
            .map_err(Error::internal)?;
    }
    for (i, v) in views.iter().enumerate() {
        let r = (i + 1) as u32;
        let cells = [
            (i + 1).to_string(),
            v.source_label.to_string(),
            v.category_label.clone(),
            v.point.clone(),
            v.title.clone(),
            v.description.clone(),
            v.owner.name.clone(),
            v.measures.clone(),
            v.deadline.to_string(),
            v.status_label.to_string(),
            v.closed_out_on_text.clone().unwrap_or_default(),
            v.revisit_on_text.clone().unwrap_or_default(),
        ];
        for (c, text) in cells.iter().enumerate() {
            ws.write_string(r, c as u16, text)
                .map_err(Error::internal)?;
        }
    }
    ws.set_column_width(5, 50).map_err(Error::internal)?;
    book.save_to_buffer().map_err(Error::internal)
}

fn cell(d: Option<&Data>) -> String {
    match d {
        None | Some(Data::Empty) => String::new(),
        Some(Data::String(s)) => s.trim().to_string(),
        Some(Data::Float(f)) if f.fract() == 0.0 => format!("{}", *f as i64),
        Some(Data::DateTime(x)) => {
            // Excel's serial day count (1900 system), as the sheet's date cells hold it.
            let base = NaiveDate::from_ymd_opt(1899, 12, 30).expect("epoch");
            base.checked_add_days(chrono::Days::new(x.as_f64().max(0.0) as u64))
                .map(|d| d.to_string())
                .unwrap_or_default()
        }
        Some(other) => other.to_string(),
    }
}

/// Imports a workbook in the export's format: every row checked first, then all written, or
/// nothing with every problem listed by row.
pub async fn import(st: &AppState, actor: &Actor, bytes: &[u8]) -> Result<usize> {
    may_keep_ledger(actor)?;
    let unreadable = || {
        Error::invalid(
            "unreadable_file",
            "无法读取该文件，请上传导出的 .xlsx 问题台账",
        )
        .field("file", "文件不是有效的 .xlsx 工作簿")
    };
    let mut wb: Xlsx<_> =
        calamine::open_workbook_from_rs(Cursor::new(bytes)).map_err(|_| unreadable())?;
    let name = wb.sheet_names().first().cloned().ok_or_else(unreadable)?;
    let range = wb.worksheet_range(&name).map_err(|_| unreadable())?;
    let units = super::units(st).await?;
    let mut bodies = Vec::new();
    let mut p = yichuang_domain::Problems::new();
    let header: Vec<String> = (0..HEADERS.len())
        .map(|c| cell(range.get_value((0, c as u32))))
        .collect();
    if header != HEADERS {
        return Err(Error::invalid("bad_headers", "表头与问题台账模板不一致")
            .field("file", format!("第一行应为：{}", HEADERS.join("、"))));
    }
    for r in 1..range.height() as u32 {
        let get = |c: u32| cell(range.get_value((r, c)));
        if (0..HEADERS.len() as u32).all(|c| get(c).is_empty()) {
            continue;
        }
        let source = LedgerSource::ALL
            .iter()
            .find(|s| s.label() == get(1) || s.as_str() == get(1))
            .map(|s| s.as_str().to_string())
            .unwrap_or_default();
        let owner = units
            .iter()
            .find(|(code, name)| **name == get(6) || **code == get(6))
            .map(|(c, _)| c.clone())
            .unwrap_or_default();
        let deadline = NaiveDate::parse_from_str(&get(8), "%Y-%m-%d").ok();
        if deadline.is_none() {
            p.add(
                format!("row{}.deadline", r + 1),
                format!("第 {} 行：整改时限应为 2026-12-31 格式", r + 1),
            );
        }
        let b = NewEntryBody {
            source,
            point: get(3),
            title: get(4),
            description: get(5),
            owner,
            deadline,
            measures: get(7),
            ..NewEntryBody::default()
        };
        if let Err(e) = checked(st, &b).await {
            for f in e.fields {
                p.add(
                    format!("row{}.{}", r + 1, f.field),
                    format!("第 {} 行：{}", r + 1, f.message),
                );
            }
        }
        bodies.push(b);
    }
    p.finish()?;
    if bodies.is_empty() {
        return Err(
            Error::invalid("empty_file", "文件中没有台账条目").field("file", "没有可导入的行")
        );
    }
    // All rows are valid: written in one transaction, so a failure leaves nothing behind.
    let now = st.now();
    let mut tx = st.db.begin().await?;
    for b in &bodies {
        write_entry(&mut tx, actor, b, b.deadline.expect("checked"), &[], now).await?;
    }
    tx.commit().await?;
    Ok(bodies.len())
}

async fn import_api(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    body: Bytes,
) -> ApiResult<Response> {
    let n = import(&st, &actor, &body).await?;
    Ok((StatusCode::CREATED, axum::Json(json!({"imported": n}))).into_response())
}

/// A workbook as a download; `filename` is ASCII (pinyin), which every browser keeps.
pub fn xlsx_response(bytes: Vec<u8>, filename: &str) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}
