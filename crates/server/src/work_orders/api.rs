//! `/api/v1/work-orders…`, `/api/v1/work-order-settings`, `/api/v1/ledger…` (issue 12).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::json;
use yichuang_domain::rating::Level;
use yichuang_domain::work_order::{Action, Source, Status, WorkOrderSettings};
use yichuang_domain::{Actor, Error, Result, Role};
use yichuang_store::work_orders::{self as store, Filter, Scope, WorkOrderRow};

use super::views::{TimelineLine, WorkOrderView, timeline};
use super::{NewOrder, Who};
use crate::auth::{CurrentActor, MaybeActor};
use crate::cases::time::local;
use crate::error::ApiResult;
use crate::extract::{Json, Path, Query};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/work-orders", post(create).get(list))
        .route("/api/v1/work-orders/{number}", get(one))
        .route("/api/v1/work-orders/{number}/actions", post(action))
        .route("/api/v1/work-orders/{number}/duplicates", get(duplicates))
        .route(
            "/api/v1/work-orders/{number}/files",
            post(upload).layer(axum::extract::DefaultBodyLimit::max(
                yichuang_store::cases::vault::MAX_BYTES + 1,
            )),
        )
        .route("/api/v1/work-orders/{number}/files/{id}", get(download))
        .route(
            "/api/v1/work-order-settings",
            get(get_settings).put(put_settings),
        )
        .merge(super::ledger::api_routes())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CreateBody {
    pub source: Option<String>,
    pub hall: Option<String>,
    pub requester_name: String,
    pub requester_phone: String,
    pub place: String,
    pub text: String,
    pub category: Option<String>,
    pub case_number: Option<String>,
    pub ticket_id: Option<i64>,
    pub rating_id: Option<i64>,
    pub external_id: Option<String>,
    pub answer_now: Option<String>,
}

impl CreateBody {
    pub fn order(self) -> Result<NewOrder> {
        let source = match self.source.as_deref() {
            None | Some("") => None,
            Some(s) => Some(Source::parse(s).ok_or_else(|| {
                Error::invalid("bad_source", "工单来源无效").field(
                    "source",
                    "可选 unresolved_window、hotline、public、bad_rating、callback_problem",
                )
            })?),
        };
        let blank = |o: Option<String>| o.filter(|s| !s.trim().is_empty());
        Ok(NewOrder {
            source,
            hall: blank(self.hall),
            requester_name: self.requester_name,
            requester_phone: self.requester_phone,
            place: self.place,
            text: self.text,
            category: blank(self.category),
            case_number: blank(self.case_number),
            ticket_id: self.ticket_id,
            rating_id: self.rating_id,
            external_id: blank(self.external_id),
            answer_now: blank(self.answer_now),
        })
    }
}

/// Staff record orders from their sources; without a login only the public source is taken.
async fn create(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    Json(b): Json<CreateBody>,
) -> ApiResult<Response> {
    let mut n = b.order()?;
    let who = match actor {
        Some(a) => Who::Staff(a),
        None => {
            if n.source.is_some_and(|s| s != Source::Public) {
                return Err(Error::unauthorized().into());
            }
            n.source = Some(Source::Public);
            n.answer_now = None;
            Who::System("applicant:public".into())
        }
    };
    let (row, new) = super::create(&st, &who, &n).await?;
    let view = view_of(&st, &row).await?;
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, axum::Json(view)).into_response())
}

pub async fn view_of(st: &AppState, row: &WorkOrderRow) -> Result<WorkOrderView> {
    let s = super::settings(&st.db).await?;
    let units = super::units(st).await?;
    let cal = super::calendar_of(st, row.hall.as_deref()).await?;
    WorkOrderView::of(row, &s, &units, &*cal, local(st.now()).date())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ListQuery {
    pub status: Option<String>,
    pub unit: Option<String>,
    pub category: Option<String>,
    /// `open` (default), `closed`, `all`, `late`.
    pub view: Option<String>,
    pub page: Option<i64>,
}

pub const PAGE: i64 = 50;

/// The board's and the worklists' filter for an actor: units see their own orders (lead or
/// assisting), a hall's staff their hall's.
pub fn filter_for(actor: &Actor, q: &ListQuery, today: chrono::NaiveDate) -> Result<Filter> {
    actor.require_role(
        &[
            Role::Admin,
            Role::HallManager,
            Role::Supervisor,
            Role::Approver,
            Role::Callback,
            Role::Clerk,
        ],
        "查看工单",
    )?;
    let mut f = Filter {
        limit: PAGE,
        offset: (q.page.unwrap_or(1).clamp(1, 10_000) - 1) * PAGE,
        ..Filter::default()
    };
    // The view is checked even when a status overrides it: a wrong value is refused, not ignored.
    let view = match q.view.as_deref().unwrap_or("open") {
        "open" | "" => Scope::Open,
        "late" => Scope::Late(today),
        "closed" => Scope::Closed,
        "all" => Scope::All,
        _ => {
            return Err(Error::invalid("bad_view", "列表范围无效")
                .field("view", "可选 open、late、closed、all"));
        }
    };
    if let Some(s) = q.status.as_deref().filter(|s| !s.is_empty()) {
        let st = Status::parse(s).ok_or_else(|| {
            Error::invalid("bad_status", "工单状态无效").field("status", "工单状态无效")
        })?;
        f.status = Some(st.as_str().to_string());
        f.scope = Scope::All;
    } else {
        f.scope = view;
    }
    f.category = q.category.clone().filter(|c| !c.is_empty());
    f.unit = q.unit.clone().filter(|u| !u.is_empty());
    match actor.role {
        Role::Approver => f.unit = actor.department.clone(),
        Role::HallManager | Role::Clerk => f.hall = actor.hall.clone(),
        _ => {}
    }
    Ok(f)
}

#[derive(Serialize)]
struct ListBody {
    work_orders: Vec<WorkOrderView>,
    page: i64,
}

async fn list(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Query(q): Query<ListQuery>,
) -> ApiResult<Response> {
    let today = local(st.now()).date();
    let f = filter_for(&actor, &q, today)?;
    crate::extract::not_blank("view", q.view.as_deref(), "open、late、closed、all")?;
    crate::extract::not_blank(
        "status",
        q.status.as_deref(),
        "工单状态代码，见 OpenAPI 文档",
    )?;
    let rows = store::list(&st.db, &f).await?;
    Ok(axum::Json(ListBody {
        work_orders: views(&st, &rows).await?,
        page: q.page.unwrap_or(1).clamp(1, 10_000),
    })
    .into_response())
}

/// Views of many rows with one read of the settings, the units and the calendars.
pub async fn views(st: &AppState, rows: &[WorkOrderRow]) -> Result<Vec<WorkOrderView>> {
    let s = super::settings(&st.db).await?;
    let units = super::units(st).await?;
    let today = local(st.now()).date();
    let mut cals = std::collections::HashMap::new();
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let key = r.hall.clone();
        if !cals.contains_key(&key) {
            cals.insert(key.clone(), super::calendar_of(st, key.as_deref()).await?);
        }
        out.push(WorkOrderView::of(r, &s, &units, &*cals[&key], today)?);
    }
    Ok(out)
}

#[derive(Serialize)]
pub struct Detail {
    #[serde(flatten)]
    pub order: WorkOrderView,
    pub timeline: Vec<TimelineLine>,
    pub files: Vec<FileView>,
}

/// An attachment as people see it.
#[derive(Serialize)]
pub struct FileView {
    pub id: i64,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    pub size_text: String,
    pub added_at_text: String,
}

impl FileView {
    fn of(f: &yichuang_store::work_orders::FileRow) -> FileView {
        FileView {
            id: f.id,
            name: f.name.clone(),
            content_type: f.content_type.clone(),
            size: f.size,
            size_text: if f.size >= 1024 * 1024 {
                format!("{:.1} MB", f.size as f64 / 1024.0 / 1024.0)
            } else {
                format!("{} KB", (f.size + 1023) / 1024)
            },
            added_at_text: crate::ratings::views::chinese_time(f.added_at),
        }
    }
}

pub async fn detail(st: &AppState, actor: &Actor, number: &str) -> Result<(WorkOrderRow, Detail)> {
    let row = store::by_number(&st.db, number).await?;
    super::may_see(actor, &row)?;
    let events = yichuang_store::events::for_subject(&st.db, "work_order", number).await?;
    let units = super::units(st).await?;
    let files = store::files(&st.db, row.id).await?;
    let s = super::settings(&st.db).await?;
    let cal = super::calendar_of(st, row.hall.as_deref()).await?;
    let order = WorkOrderView::of(&row, &s, &units, &*cal, local(st.now()).date())?;
    Ok((
        row,
        Detail {
            order,
            timeline: timeline(
                &events,
                &units,
                &super::views::names_in(&st.db, &events).await?,
            ),
            files: files.iter().map(FileView::of).collect(),
        },
    ))
}

async fn one(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(number): Path<String>,
) -> ApiResult<Response> {
    Ok(axum::Json(detail(&st, &actor, &number).await?.1).into_response())
}

/// An action, as the API and the pages post it.
#[derive(Deserialize, Default, Debug)]
#[serde(default)]
pub struct ActionBody {
    pub action: String,
    pub category: String,
    pub tier: String,
    pub lead_unit: Option<String>,
    pub assisting_units: Vec<String>,
    pub reason: String,
    pub note: String,
    pub reassign_to: Option<String>,
    pub days: Option<u32>,
    pub approve: Option<bool>,
    pub text: String,
    pub negative: bool,
    pub reasons: String,
    pub satisfied: Option<bool>,
    pub handler_at_fault: bool,
    pub level: Option<i64>,
    pub refer_to: String,
    pub into: String,
}

impl ActionBody {
    /// The domain's action; `actor` names the unit an objection comes from.
    pub fn action(&self, actor: Option<&Actor>, lead_unit: Option<&str>) -> Result<Action> {
        let blank = |o: &Option<String>| o.clone().filter(|s| !s.trim().is_empty());
        Ok(match self.action.as_str() {
            "classify" => Action::Classify {
                category: self.category.clone(),
                tier: self.tier.clone(),
                lead_unit: blank(&self.lead_unit),
                assisting_units: self
                    .assisting_units
                    .iter()
                    .filter(|u| !u.trim().is_empty())
                    .cloned()
                    .collect(),
            },
            "object" => Action::Object {
                unit: match actor {
                    Some(a) if a.role == Role::Approver => a.department.clone().unwrap_or_default(),
                    _ => lead_unit.unwrap_or_default().to_string(),
                },
                reason: self.reason.clone(),
            },
            "review_objection" => Action::ReviewObjection {
                reassign_to: blank(&self.reassign_to),
                note: self.note.clone(),
            },
            "ask_extension" => Action::AskExtension {
                days: self.days.ok_or_else(|| {
                    Error::invalid("missing_days", "请填写延期天数").field("days", "请填写延期天数")
                })?,
                reason: self.reason.clone(),
            },
            "decide_extension" => Action::DecideExtension {
                approve: self.approve.ok_or_else(|| {
                    Error::invalid("missing_decision", "请选择是否批准延期")
                        .field("approve", "请选择是否批准")
                })?,
                note: self.note.clone(),
            },
            "ask_requester" => Action::AskRequester {
                note: self.note.clone(),
            },
            "requester_replied" => Action::RequesterReplied {
                text: self.text.clone(),
            },
            "answer" => Action::Answer {
                text: self.text.clone(),
                negative: self.negative,
                reasons: self.reasons.clone(),
            },
            "feedback" => Action::Feedback {
                satisfied: self.satisfied.ok_or_else(|| {
                    Error::invalid("missing_satisfied", "请选择诉求人是否满意")
                        .field("satisfied", "请选择是否满意")
                })?,
                handler_at_fault: self.handler_at_fault,
                level: match self.level {
                    None => None,
                    Some(n) => Some(Level::from_number(n).ok_or_else(|| {
                        Error::invalid("bad_level", "评价等级须为 1 到 5")
                            .field("level", "评价等级须为 1 到 5")
                    })?),
                },
                note: self.note.clone(),
            },
            "decline" => Action::Decline {
                reason: self.reason.clone(),
                refer_to: self.refer_to.clone(),
            },
            "merge" => Action::Merge {
                into: self.into.trim().to_string(),
            },
            _ => {
                return Err(Error::invalid("bad_action", "操作无效").field(
                    "action",
                    "可选 classify、object、review_objection、ask_extension、decide_extension、\
                     ask_requester、requester_replied、answer、feedback、decline、merge",
                ));
            }
        })
    }
}

async fn action(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(number): Path<String>,
    Json(b): Json<ActionBody>,
) -> ApiResult<Response> {
    // Who may act is the rule's to say (`may_act`), against the order the action lands on: a
    // reply to a merged order goes to its survivor, which the replying unit holds.
    let row = store::by_number(&st.db, &number).await?;
    let a = b.action(Some(&actor), row.lead_unit.as_deref())?;
    let after = super::act(&st, &Who::Staff(actor), &number, &a).await?;
    Ok(axum::Json(view_of(&st, &after).await?).into_response())
}

#[derive(Serialize)]
pub struct DuplicateView {
    #[serde(flatten)]
    pub order: WorkOrderView,
    pub similarity: u8,
    pub reasons: Vec<&'static str>,
}

pub async fn duplicate_views(st: &AppState, row: &WorkOrderRow) -> Result<Vec<DuplicateView>> {
    let found = super::duplicates(st, row).await?;
    let rows: Vec<WorkOrderRow> = found.iter().map(|(r, _, _)| r.clone()).collect();
    let views = views(st, &rows).await?;
    Ok(views
        .into_iter()
        .zip(found)
        .map(|(order, (_, similarity, reasons))| DuplicateView {
            order,
            similarity,
            reasons,
        })
        .collect())
}

async fn duplicates(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(number): Path<String>,
) -> ApiResult<Response> {
    let row = store::by_number(&st.db, &number).await?;
    super::may_see(&actor, &row)?;
    Ok(axum::Json(json!({"duplicates": duplicate_views(&st, &row).await?})).into_response())
}

async fn get_settings(
    State(st): State<AppState>,
    CurrentActor(_actor): CurrentActor,
) -> ApiResult<Response> {
    Ok(axum::Json(super::settings(&st.db).await?).into_response())
}

async fn put_settings(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Json(s): Json<WorkOrderSettings>,
) -> ApiResult<Response> {
    super::put_settings(&st, &actor, &s).await?;
    Ok(axum::Json(super::settings(&st.db).await?).into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct FileQuery {
    name: String,
}

/// The body is the file itself (PDF, JPEG or PNG); `?name=` what people will read.
async fn upload(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(number): Path<String>,
    Query(q): Query<FileQuery>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let ids = super::attach(
        &st,
        &Who::Staff(actor),
        &number,
        &[super::Attachment {
            name: q.name,
            bytes: body.to_vec(),
        }],
    )
    .await?;
    Ok((StatusCode::CREATED, axum::Json(json!({"id": ids[0]}))).into_response())
}

pub async fn download_response(
    st: &AppState,
    actor: &Actor,
    number: &str,
    id: i64,
) -> Result<Response> {
    let (f, bytes) = super::attachment(st, actor, number, id).await?;
    let ext = match f.content_type.as_str() {
        "application/pdf" => "pdf",
        "image/png" => "png",
        _ => "jpg",
    };
    Ok((
        crate::security::file_headers(&f.content_type, &format!("{number}-{id}.{ext}")),
        bytes,
    )
        .into_response())
}

async fn download(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path((number, id)): Path<(String, i64)>,
) -> ApiResult<Response> {
    Ok(download_response(&st, &actor, &number, id).await?)
}
