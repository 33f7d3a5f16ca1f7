//! Pages of work orders and the ledger: the 办不成事 window's and the hotline's form, the
//! dispatcher's board and each unit's worklist (one page, scoped by role), an order with what the
//! viewer may do to it, the public form and the requester's page (by an unguessable link), the
//! ledger with its suggestions, close-out and revisit.

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::Multipart;
use axum::extract::State;
use axum::extract::multipart::MultipartRejection;
use axum::http::Uri;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::NaiveDate;
use serde::Deserialize;
use yichuang_domain::work_order::ledger::{LedgerSource, LedgerStatus};
use yichuang_domain::work_order::{Category, Source, Status, Tier, WorkOrderSettings};
use yichuang_domain::{Actor, Error, Role};
use yichuang_store::work_orders as store;

use super::api::{
    ActionBody, Detail, DuplicateView, ListQuery, duplicate_views, filter_for, views,
};
use super::ledger::{EntryDetail, LedgerActionBody, LedgerQuery, NewEntryBody, Suggestion};
use super::views::{EntryView, WorkOrderView};
use super::{NewOrder, Who};
use crate::accounts::{FormErrors, forbidden_page, render_form, require_page_actor};
use crate::auth::MaybeActor;
use crate::cases::time::local;
use crate::extract::{Path, Query};
use crate::pages::{Layout, render};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/work-orders", get(board))
        .route("/work-orders/new", get(new_page).post(new_post))
        .route(
            "/work-orders/settings",
            get(settings_page).post(settings_post),
        )
        .route("/work-orders/{number}", get(order_page).post(order_post))
        .route("/feedback", get(public_page).post(public_post))
        .route(
            "/work-orders/{number}/files",
            post(order_files).layer(axum::extract::DefaultBodyLimit::max(UPLOAD_LIMIT)),
        )
        .route("/work-orders/{number}/files/{id}", get(order_file))
        .route("/work-orders/{number}/receipt", get(receipt_page))
        .route("/wo/{token}", get(requester_page).post(requester_post))
        .route(
            "/wo/{token}/files",
            post(requester_files).layer(axum::extract::DefaultBodyLimit::max(UPLOAD_LIMIT)),
        )
        .route("/ledger", get(ledger_page).post(ledger_post))
        .route("/ledger.xlsx", get(ledger_xlsx))
        .route("/ledger/import", post(ledger_import))
        .route("/ledger/{id}", get(entry_page).post(entry_post))
}

/// One file and the form around it.
const UPLOAD_LIMIT: usize = yichuang_store::cases::vault::MAX_BYTES + 64 * 1024;

const STAFF: &[Role] = &[
    Role::Admin,
    Role::HallManager,
    Role::Supervisor,
    Role::Approver,
    Role::Callback,
    Role::Clerk,
];

fn error_page(actor: Option<Actor>, uri: &Uri, e: &Error) -> Response {
    match e.kind {
        yichuang_domain::Kind::Forbidden | yichuang_domain::Kind::Unauthorized => {
            forbidden_page(actor, uri, e.title.clone())
        }
        yichuang_domain::Kind::NotFound => {
            let mut r = render(&MessagePage {
                layout: Layout::new("未找到", actor),
                message: e.title.clone(),
            });
            *r.status_mut() = axum::http::StatusCode::NOT_FOUND;
            r
        }
        _ => render_form(
            &MessagePage {
                layout: Layout::new("提示", actor),
                message: e.title.clone(),
            },
            Some(e),
        ),
    }
}

/// The page, or the error as a page of its own.
fn shown<T: Template>(actor: &Actor, uri: &Uri, page: Result<T, Error>) -> Response {
    match page {
        Ok(p) => render(&p),
        Err(e) => error_page(Some(actor.clone()), uri, &e),
    }
}

/// A form refused with `e`: the form again with the messages beside its fields.
fn refused<T: Template>(actor: &Actor, uri: &Uri, e: &Error, page: Result<T, Error>) -> Response {
    match page {
        Ok(p) => render_form(&p, Some(e)),
        Err(e2) => error_page(Some(actor.clone()), uri, &e2),
    }
}

#[derive(Template)]
#[template(path = "rating_message.html")]
struct MessagePage {
    layout: Layout,
    message: String,
}

pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

fn choices<'a>(items: impl Iterator<Item = (&'a str, String)>, chosen: &str) -> Vec<Choice> {
    items
        .map(|(v, l)| Choice {
            value: v.to_string(),
            label: l,
            selected: v == chosen,
        })
        .collect()
}

fn category_choices(s: &WorkOrderSettings, chosen: &str, public_only: bool) -> Vec<Choice> {
    choices(
        s.categories
            .iter()
            .filter(|c: &&Category| !public_only || c.public)
            .map(|c| (c.code.as_str(), s.category_path(&c.code))),
        chosen,
    )
}

fn tier_choices(tiers: &[Tier], chosen: &str) -> Vec<Choice> {
    choices(
        tiers.iter().map(|t| {
            (
                t.code.as_str(),
                if t.days == 0 {
                    format!("{}（当日）", t.name)
                } else {
                    format!("{}（{} 个工作日）", t.name, t.days)
                },
            )
        }),
        chosen,
    )
}

async fn unit_choices(st: &AppState, chosen: &str) -> Result<Vec<Choice>, Error> {
    let mut u: Vec<(String, String)> = super::units(st).await?.into_iter().collect();
    u.sort();
    Ok(u.into_iter()
        .map(|(code, name)| Choice {
            selected: code == chosen,
            value: code,
            label: name,
        })
        .collect())
}

// --- the board and the worklists ---------------------------------------------------------------

#[derive(Template)]
#[template(path = "work_orders.html")]
struct BoardPage {
    layout: Layout,
    heading: String,
    view: String,
    tabs: Vec<Choice>,
    orders: Vec<WorkOrderView>,
    may_create: bool,
    may_configure: bool,
    next_page: Option<i64>,
}

async fn board(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    uri: Uri,
    Query(q): Query<ListQuery>,
) -> Response {
    let actor = match require_page_actor(actor, &uri, STAFF) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let today = local(st.now()).date();
    let f = match filter_for(&actor, &q, today) {
        Ok(f) => f,
        Err(e) => return error_page(Some(actor), &uri, &e),
    };
    let rows = match store::list(&st.db, &f).await {
        Ok(r) => r,
        Err(e) => return error_page(Some(actor), &uri, &e),
    };
    let orders = match views(&st, &rows).await {
        Ok(v) => v,
        Err(e) => return error_page(Some(actor), &uri, &e),
    };
    let view = q.view.clone().unwrap_or_else(|| "open".into());
    let heading = match (actor.role, &actor.department) {
        (Role::Approver, Some(d)) => {
            let name = super::units(&st)
                .await
                .ok()
                .and_then(|u| u.get(d).cloned())
                .unwrap_or_else(|| d.clone());
            format!("{name} · 工单待办")
        }
        _ => "工单调度".to_string(),
    };
    let page = q.page.unwrap_or(1).clamp(1, 10_000);
    render(&BoardPage {
        heading,
        tabs: choices(
            [
                ("open", "办理中".to_string()),
                ("late", "已超期".to_string()),
                ("closed", "已办结".to_string()),
                ("all", "全部".to_string()),
            ]
            .into_iter(),
            &view,
        ),
        view,
        next_page: (orders.len() as i64 == super::api::PAGE).then_some(page + 1),
        orders,
        may_configure: actor.role == Role::Admin,
        may_create: matches!(
            actor.role,
            Role::Admin | Role::HallManager | Role::Clerk | Role::Callback
        ),
        layout: Layout::new("工单", Some(actor)),
    })
}

// --- new order (staff) ----------------------------------------------------------------------

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct NewForm {
    source: String,
    requester_name: String,
    requester_phone: String,
    place: String,
    text: String,
    category: String,
    case_number: String,
    answer_now: String,
    /// A 差评 or callback problem turned into an order (from the rectification's page).
    rating_id: String,
}

impl NewForm {
    fn order(&self) -> NewOrder {
        let blank = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
        NewOrder {
            source: Source::parse(&self.source),
            requester_name: self.requester_name.clone(),
            requester_phone: self.requester_phone.clone(),
            place: self.place.clone(),
            text: self.text.clone(),
            category: blank(&self.category),
            case_number: blank(&self.case_number),
            answer_now: blank(&self.answer_now),
            rating_id: self.rating_id.trim().parse().ok(),
            ..NewOrder::default()
        }
    }
}

#[derive(Template)]
#[template(path = "work_order_new.html")]
struct NewPage {
    layout: Layout,
    form: NewForm,
    sources: Vec<Choice>,
    categories: Vec<Choice>,
    errors: FormErrors,
}

fn sources_for(actor: &Actor, chosen: &str) -> Vec<Choice> {
    let allowed: &[Source] = match actor.role {
        Role::Clerk => &[Source::UnresolvedWindow],
        Role::Callback => &[Source::Hotline, Source::CallbackProblem, Source::BadRating],
        Role::Supervisor => &[Source::BadRating, Source::CallbackProblem],
        _ => &[
            Source::UnresolvedWindow,
            Source::Hotline,
            Source::BadRating,
            Source::CallbackProblem,
        ],
    };
    choices(
        allowed.iter().map(|s| (s.as_str(), s.label().to_string())),
        chosen,
    )
}

async fn new_form(
    st: &AppState,
    actor: Actor,
    form: NewForm,
    errors: FormErrors,
) -> Result<NewPage, Error> {
    let s = super::settings(&st.db).await?;
    Ok(NewPage {
        sources: sources_for(&actor, &form.source),
        categories: category_choices(&s, &form.category, false),
        form,
        errors,
        layout: Layout::new("登记工单", Some(actor)),
    })
}

const CREATORS: &[Role] = &[
    Role::Admin,
    Role::HallManager,
    Role::Clerk,
    Role::Callback,
    Role::Supervisor,
];

/// The form, prefilled from the query where another page sends a problem here (a
/// rectification's 转为工单).
async fn new_page(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    uri: Uri,
    Query(prefill): Query<NewForm>,
) -> Response {
    let actor = match require_page_actor(actor, &uri, CREATORS) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let mut form = prefill;
    if form.source.is_empty() {
        form.source = if actor.role == Role::Callback {
            "hotline".into()
        } else {
            "unresolved_window".into()
        };
    }
    shown(
        &actor,
        &uri,
        new_form(&st, actor.clone(), form, FormErrors::default()).await,
    )
}

async fn new_post(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    uri: Uri,
    Form(f): Form<NewForm>,
) -> Response {
    let actor = match require_page_actor(actor, &uri, CREATORS) {
        Ok(a) => a,
        Err(r) => return r,
    };
    match super::create(&st, &Who::Staff(actor.clone()), &f.order()).await {
        Ok((row, _)) => {
            Redirect::to(&format!("/work-orders/{}?saved=1", row.number)).into_response()
        }
        Err(e) => refused(
            &actor,
            &uri,
            &e,
            new_form(&st, actor.clone(), f, FormErrors::of(&e)).await,
        ),
    }
}

// --- one order ------------------------------------------------------------------------------

/// What the viewer may do now (the page offers only these forms).
#[derive(Default)]
struct Offers {
    classify: bool,
    decline: bool,
    merge: bool,
    review_objection: bool,
    decide_extension: bool,
    unit_work: bool,
    ask_extension: bool,
    feedback: bool,
    requester_replied: bool,
}

fn offers(actor: &Actor, v: &WorkOrderView) -> Offers {
    let dispatcher = matches!(actor.role, Role::Admin | Role::HallManager);
    let is_unit = actor.role == Role::Admin
        || (actor.role == Role::Approver
            && v.lead_unit.as_ref().map(|u| &u.code) == actor.department.as_ref());
    Offers {
        classify: dispatcher && v.status == Status::Received,
        decline: dispatcher && v.status == Status::Received,
        merge: dispatcher && v.open && v.status != Status::Answered,
        review_objection: dispatcher && v.status == Status::Objected,
        decide_extension: dispatcher && v.pending_extension && v.open,
        unit_work: is_unit && v.status == Status::Dispatched,
        ask_extension: is_unit && v.status == Status::Dispatched && !v.pending_extension,
        feedback: matches!(
            actor.role,
            Role::Admin | Role::HallManager | Role::Callback | Role::Supervisor
        ) && v.status == Status::Answered,
        requester_replied: matches!(actor.role, Role::Admin | Role::HallManager | Role::Callback)
            && v.status == Status::AwaitingRequester,
    }
}

#[derive(Template)]
#[template(path = "work_order.html")]
struct OrderPage {
    layout: Layout,
    d: Detail,
    o: Offers,
    categories: Vec<Choice>,
    tiers: Vec<Choice>,
    units: Vec<Choice>,
    duplicates: Vec<DuplicateView>,
    errors: FormErrors,
    saved: bool,
    /// The form that failed, so its message shows beside it, and what was typed into it.
    failed: String,
    typed: ActionForm,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Saved {
    saved: Option<String>,
}

async fn order_view(
    st: &AppState,
    actor: &Actor,
    number: &str,
    errors: FormErrors,
    saved: bool,
    failed: String,
    typed: ActionForm,
) -> Result<OrderPage, Error> {
    let (row, d) = super::api::detail(st, actor, number).await?;
    let s = super::settings(&st.db).await?;
    let o = offers(actor, &d.order);
    let duplicates = if o.merge {
        duplicate_views(st, &row).await?
    } else {
        Vec::new()
    };
    let category = d.order.category.clone().unwrap_or_default();
    let proposed = s.category(&category);
    Ok(OrderPage {
        categories: category_choices(&s, &category, false),
        tiers: tier_choices(
            &s.tiers,
            proposed
                .and_then(|c| c.tier.as_deref())
                .unwrap_or("general"),
        ),
        units: unit_choices(st, proposed.and_then(|c| c.unit.as_deref()).unwrap_or("")).await?,
        duplicates,
        o,
        errors,
        saved,
        failed,
        typed,
        layout: Layout::new(format!("工单 {}", d.order.number), Some(actor.clone())),
        d,
    })
}

async fn order_page(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    uri: Uri,
    Path(number): Path<String>,
    Query(q): Query<Saved>,
) -> Response {
    let actor = match require_page_actor(actor, &uri, STAFF) {
        Ok(a) => a,
        Err(r) => return r,
    };
    shown(
        &actor,
        &uri,
        order_view(
            &st,
            &actor,
            &number,
            FormErrors::default(),
            q.saved.is_some(),
            String::new(),
            ActionForm::default(),
        )
        .await,
    )
}

/// Every action form posts here with `action` and its fields as text.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct ActionForm {
    action: String,
    category: String,
    tier: String,
    lead_unit: String,
    assisting_unit: String,
    reason: String,
    note: String,
    reassign_to: String,
    days: String,
    decision: String,
    text: String,
    negative: String,
    reasons: String,
    handler_at_fault: String,
    level: String,
    refer_to: String,
    into: String,
}

impl ActionForm {
    fn body(&self) -> Result<ActionBody, Error> {
        let days = match self.days.trim() {
            "" => None,
            d => Some(d.parse::<u32>().map_err(|_| {
                Error::invalid("bad_days", "延期天数须为 1–30 的整数")
                    .field("days", "请填写 1–30 的整数")
            })?),
        };
        let yes_no = |s: &str| match s {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        };
        Ok(ActionBody {
            action: self.action.clone(),
            category: self.category.clone(),
            tier: self.tier.clone(),
            lead_unit: Some(self.lead_unit.clone()),
            assisting_units: vec![self.assisting_unit.clone()],
            reason: self.reason.clone(),
            note: self.note.clone(),
            reassign_to: Some(self.reassign_to.clone()),
            days,
            approve: yes_no(&self.decision),
            text: self.text.clone(),
            negative: self.negative == "on",
            reasons: self.reasons.clone(),
            satisfied: yes_no(&self.decision),
            handler_at_fault: self.handler_at_fault == "on",
            level: self.level.trim().parse().ok(),
            refer_to: self.refer_to.clone(),
            into: self.into.clone(),
        })
    }
}

async fn order_post(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    uri: Uri,
    Path(number): Path<String>,
    Form(f): Form<ActionForm>,
) -> Response {
    let actor = match require_page_actor(actor, &uri, STAFF) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let result = async {
        let row = store::by_number(&st.db, &number).await?;
        let a = f.body()?.action(Some(&actor), row.lead_unit.as_deref())?;
        super::act(&st, &Who::Staff(actor.clone()), &number, &a).await
    }
    .await;
    match result {
        Ok(after) => {
            Redirect::to(&format!("/work-orders/{}?saved=1", after.number)).into_response()
        }
        Err(e)
            if matches!(
                e.kind,
                yichuang_domain::Kind::Invalid | yichuang_domain::Kind::Conflict
            ) =>
        {
            let failed = f.action.clone();
            refused(
                &actor,
                &uri,
                &e,
                order_view(&st, &actor, &number, FormErrors::of(&e), false, failed, f).await,
            )
        }
        Err(e) => error_page(Some(actor), &uri, &e),
    }
}

// --- the public form and the requester's page ---------------------------------------------------

#[derive(Template)]
#[template(path = "work_order_public.html")]
struct PublicPage {
    layout: Layout,
    form: NewForm,
    categories: Vec<Choice>,
    errors: FormErrors,
}

async fn public_page(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    uri: Uri,
) -> Response {
    match super::settings(&st.db).await {
        Ok(s) => render(&PublicPage {
            categories: category_choices(&s, "", true),
            form: NewForm::default(),
            errors: FormErrors::default(),
            layout: Layout::new("我要反映", actor),
        }),
        Err(e) => error_page(actor, &uri, &e),
    }
}

async fn public_post(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    uri: Uri,
    Form(f): Form<NewForm>,
) -> Response {
    let mut n = f.order();
    n.source = Some(Source::Public);
    n.answer_now = None;
    let s = match super::settings(&st.db).await {
        Ok(s) => s,
        Err(e) => return error_page(actor, &uri, &e),
    };
    let mut check = yichuang_domain::Problems::new();
    check.check(
        n.category
            .as_deref()
            .and_then(|c| s.category(c))
            .is_some_and(|c| c.public),
        "category",
        "请选择问题类型",
    );
    check.check(
        !n.requester_phone.trim().is_empty(),
        "requester_phone",
        "请留下手机号码，便于答复和回访",
    );
    let result = match check.finish() {
        Ok(()) => super::create(&st, &Who::System("applicant:public".into()), &n).await,
        Err(e) => Err(e),
    };
    match result {
        Ok((row, _)) => Redirect::to(&format!("/wo/{}?new=1", row.token)).into_response(),
        Err(e) => render_form(
            &PublicPage {
                categories: category_choices(&s, &f.category, true),
                form: f,
                errors: FormErrors::of(&e),
                layout: Layout::new("我要反映", actor),
            },
            Some(&e),
        ),
    }
}

#[derive(Template)]
#[template(path = "work_order_requester.html")]
struct RequesterPage {
    layout: Layout,
    token: String,
    o: WorkOrderView,
    awaiting: bool,
    fresh: bool,
    uploaded: bool,
    errors: FormErrors,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Fresh {
    new: Option<String>,
    uploaded: Option<String>,
}

async fn requester_view(st: &AppState, token: &str) -> Result<WorkOrderView, Error> {
    let row = store::by_token(&st.db, token).await?.ok_or_else(|| {
        Error::not_found(
            "work_order_not_found",
            "没有找到这个工单，请核对短信中的链接",
        )
    })?;
    super::api::view_of(st, &row).await
}

async fn requester_page(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    uri: Uri,
    Path(token): Path<String>,
    Query(q): Query<Fresh>,
) -> Response {
    match requester_view(&st, &token).await {
        Ok(o) => render(&RequesterPage {
            layout: Layout::new("我反映的问题", actor),
            token,
            awaiting: o.status == Status::AwaitingRequester,
            o,
            fresh: q.new.is_some(),
            uploaded: q.uploaded.is_some(),
            errors: FormErrors::default(),
        }),
        Err(e) => error_page(actor, &uri, &e),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ReplyForm {
    text: String,
}

async fn requester_post(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    uri: Uri,
    Path(token): Path<String>,
    Form(f): Form<ReplyForm>,
) -> Response {
    let result = async {
        let row = store::by_token(&st.db, &token)
            .await?
            .ok_or_else(|| Error::not_found("work_order_not_found", "没有找到这个工单"))?;
        super::act(
            &st,
            &Who::Requester,
            &row.number,
            &yichuang_domain::work_order::Action::RequesterReplied {
                text: f.text.clone(),
            },
        )
        .await
    }
    .await;
    match result {
        Ok(_) => Redirect::to(&format!("/wo/{token}")).into_response(),
        Err(e) => match requester_view(&st, &token).await {
            Ok(o) => render_form(
                &RequesterPage {
                    layout: Layout::new("我反映的问题", actor),
                    token,
                    awaiting: o.status == Status::AwaitingRequester,
                    o,
                    fresh: false,
                    uploaded: false,
                    errors: FormErrors::of(&e),
                },
                Some(&e),
            ),
            Err(e2) => error_page(actor, &uri, &e2),
        },
    }
}

// --- the ledger ----------------------------------------------------------------------------

const LEDGER: &[Role] = &[
    Role::Admin,
    Role::HallManager,
    Role::Supervisor,
    Role::Approver,
];

#[derive(Template)]
#[template(path = "ledger.html")]
struct LedgerPage {
    layout: Layout,
    entries: Vec<EntryView>,
    suggestions: Vec<Suggestion>,
    keeper: bool,
    statuses: Vec<Choice>,
    filter_sources: Vec<Choice>,
    form_sources: Vec<Choice>,
    points: Vec<Choice>,
    owners: Vec<Choice>,
    form: EntryForm,
    errors: FormErrors,
    query: String,
    imported: Option<String>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct EntryForm {
    source: String,
    point: String,
    title: String,
    description: String,
    owner: String,
    deadline: String,
    measures: String,
    cluster_category: String,
    cluster_unit: String,
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct LedgerPageQuery {
    status: Option<String>,
    owner: Option<String>,
    source: Option<String>,
    aspect: Option<String>,
    imported: Option<String>,
}

impl LedgerPageQuery {
    fn ledger(&self) -> LedgerQuery {
        LedgerQuery {
            status: self.status.clone(),
            owner: self.owner.clone(),
            source: self.source.clone(),
            aspect: self.aspect.clone(),
        }
    }
}

fn with_all(label: &str, chosen: &str, rest: Vec<Choice>) -> Vec<Choice> {
    let mut v = vec![Choice {
        value: String::new(),
        label: label.into(),
        selected: chosen.is_empty(),
    }];
    v.extend(rest);
    v
}

async fn ledger_view(
    st: &AppState,
    actor: &Actor,
    q: &LedgerPageQuery,
    form: EntryForm,
    errors: FormErrors,
) -> Result<LedgerPage, Error> {
    let f = super::ledger::filter(actor, &q.ledger())?;
    let rows = store::entries(&st.db, &f).await?;
    let entries = super::ledger::views(st, &rows).await?;
    let keeper = matches!(
        actor.role,
        Role::Admin | Role::HallManager | Role::Supervisor
    );
    let s = super::settings(&st.db).await?;
    let suggestions = if keeper {
        super::ledger::suggestions(st, actor).await?
    } else {
        Vec::new()
    };
    let status = q.status.clone().unwrap_or_default();
    let source = q.source.clone().unwrap_or_default();
    let source_list = |chosen: &str| {
        choices(
            LedgerSource::ALL
                .iter()
                .map(|x| (x.as_str(), x.label().to_string())),
            chosen,
        )
    };
    let points = s
        .aspects
        .iter()
        .flat_map(|a| {
            a.points.iter().map(|p| Choice {
                value: p.code.clone(),
                label: format!("{} / {}", a.name, p.name),
                selected: p.code == form.point,
            })
        })
        .collect();
    Ok(LedgerPage {
        entries,
        suggestions,
        keeper,
        statuses: with_all(
            "全部状态",
            &status,
            choices(
                LedgerStatus::ALL
                    .iter()
                    .map(|x| (x.as_str(), x.label().to_string())),
                &status,
            ),
        ),
        filter_sources: with_all("全部来源", &source, source_list(&source)),
        form_sources: with_all("请选择", &form.source, source_list(&form.source)),
        points,
        owners: unit_choices(st, &form.owner).await?,
        query: serde_urlencoded_query(&q.ledger()),
        imported: q.imported.clone(),
        form,
        errors,
        layout: Layout::new("问题台账", Some(actor.clone())),
    })
}

/// The list's filter as a query string, for the export link.
fn serde_urlencoded_query(q: &LedgerQuery) -> String {
    let mut parts = Vec::new();
    for (k, v) in [
        ("status", &q.status),
        ("owner", &q.owner),
        ("source", &q.source),
        ("aspect", &q.aspect),
    ] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            parts.push(format!("{k}={}", urlencode(v)));
        }
    }
    parts.join("&")
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn ledger_page(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    uri: Uri,
    Query(q): Query<LedgerPageQuery>,
) -> Response {
    let actor = match require_page_actor(actor, &uri, LEDGER) {
        Ok(a) => a,
        Err(r) => return r,
    };
    shown(
        &actor,
        &uri,
        ledger_view(&st, &actor, &q, EntryForm::default(), FormErrors::default()).await,
    )
}

async fn ledger_post(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    uri: Uri,
    Form(f): Form<EntryForm>,
) -> Response {
    let actor = match require_page_actor(actor, &uri, LEDGER) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let blank = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
    let result = async {
        let deadline = match f.deadline.trim() {
            "" => None,
            d => Some(NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
                Error::invalid("bad_deadline", "整改时限格式有误").field("deadline", "请选择日期")
            })?),
        };
        super::ledger::create(
            &st,
            &actor,
            &NewEntryBody {
                source: f.source.clone(),
                point: f.point.clone(),
                title: f.title.clone(),
                description: f.description.clone(),
                owner: f.owner.clone(),
                deadline,
                measures: f.measures.clone(),
                work_orders: Vec::new(),
                cluster_category: blank(&f.cluster_category),
                cluster_unit: blank(&f.cluster_unit),
            },
        )
        .await
    }
    .await;
    match result {
        Ok(row) => Redirect::to(&format!("/ledger/{}?saved=1", row.id)).into_response(),
        Err(e) => refused(
            &actor,
            &uri,
            &e,
            ledger_view(
                &st,
                &actor,
                &LedgerPageQuery::default(),
                f,
                FormErrors::of(&e),
            )
            .await,
        ),
    }
}

async fn ledger_xlsx(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    uri: Uri,
    Query(q): Query<LedgerPageQuery>,
) -> Response {
    let actor = match require_page_actor(actor, &uri, LEDGER) {
        Ok(a) => a,
        Err(r) => return r,
    };
    match super::ledger::export(&st, &actor, &q.ledger()).await {
        Ok(b) => super::ledger::xlsx_response(b, "wentitaizhang.xlsx"),
        Err(e) => error_page(Some(actor), &uri, &e),
    }
}

/// The workbook from the page's file field (multipart).
async fn ledger_import(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    uri: Uri,
    m: Result<Multipart, MultipartRejection>,
) -> Response {
    let actor = match require_page_actor(actor, &uri, LEDGER) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let result = async {
        let (_, files) = crate::cases::my::read_form(m).await?;
        let bytes = files.get("file").ok_or_else(|| {
            Error::invalid("missing_file", "请选择要导入的 .xlsx 文件").field("file", "请选择文件")
        })?;
        super::ledger::import(&st, &actor, bytes).await
    }
    .await;
    match result {
        Ok(n) => Redirect::to(&format!("/ledger?imported={n}")).into_response(),
        Err(e) => refused(
            &actor,
            &uri,
            &e,
            ledger_view(
                &st,
                &actor,
                &LedgerPageQuery::default(),
                EntryForm::default(),
                FormErrors::of(&e),
            )
            .await,
        ),
    }
}

#[derive(Template)]
#[template(path = "ledger_entry.html")]
struct EntryPage {
    layout: Layout,
    d: EntryDetail,
    owner: bool,
    reviewer: bool,
    revisitor: bool,
    errors: FormErrors,
    saved: bool,
    /// What was typed into the form that failed (kept, never lost).
    typed: EntryActionForm,
}

async fn entry_view(
    st: &AppState,
    actor: &Actor,
    id: i64,
    errors: FormErrors,
    saved: bool,
    typed: Option<EntryActionForm>,
) -> Result<EntryPage, Error> {
    let d = super::ledger::detail(st, actor, id).await?;
    let typed = typed.unwrap_or_else(|| EntryActionForm {
        measures: d.entry.measures.clone(),
        ..EntryActionForm::default()
    });
    Ok(EntryPage {
        typed,
        owner: d.entry.status == LedgerStatus::Open
            && (matches!(actor.role, Role::Admin | Role::HallManager)
                || (actor.role == Role::Approver
                    && actor.department.as_deref() == Some(d.entry.owner.code.as_str()))),
        reviewer: d.entry.status == LedgerStatus::AwaitingReview
            && matches!(actor.role, Role::Admin | Role::Supervisor),
        revisitor: d.entry.status == LedgerStatus::ClosedOut
            && d.entry.revisited_on_text.is_none()
            && matches!(
                actor.role,
                Role::Admin | Role::Supervisor | Role::HallManager
            ),
        errors,
        saved,
        layout: Layout::new(format!("台账 · {}", d.entry.title), Some(actor.clone())),
        d,
    })
}

async fn entry_page(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    uri: Uri,
    Path(id): Path<i64>,
    Query(q): Query<Saved>,
) -> Response {
    let actor = match require_page_actor(actor, &uri, LEDGER) {
        Ok(a) => a,
        Err(r) => return r,
    };
    shown(
        &actor,
        &uri,
        entry_view(
            &st,
            &actor,
            id,
            FormErrors::default(),
            q.saved.is_some(),
            None,
        )
        .await,
    )
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct EntryActionForm {
    action: String,
    measures: String,
    evidence: String,
    decision: String,
    note: String,
    new_deadline: String,
}

async fn entry_post(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    uri: Uri,
    Path(id): Path<i64>,
    Form(f): Form<EntryActionForm>,
) -> Response {
    let actor = match require_page_actor(actor, &uri, LEDGER) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let yes_no = |s: &str| match s {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    };
    let body = LedgerActionBody {
        action: f.action.clone(),
        measures: f.measures.clone(),
        evidence: f.evidence.clone(),
        approve: yes_no(&f.decision),
        held: yes_no(&f.decision),
        note: f.note.clone(),
        new_deadline: NaiveDate::parse_from_str(f.new_deadline.trim(), "%Y-%m-%d").ok(),
    };
    let result = async { super::ledger::act(&st, &actor, id, &body.action()?).await }.await;
    match result {
        Ok(_) => Redirect::to(&format!("/ledger/{id}?saved=1")).into_response(),
        Err(e)
            if matches!(
                e.kind,
                yichuang_domain::Kind::Invalid | yichuang_domain::Kind::Conflict
            ) =>
        {
            refused(
                &actor,
                &uri,
                &e,
                entry_view(&st, &actor, id, FormErrors::of(&e), false, Some(f)).await,
            )
        }
        Err(e) => error_page(Some(actor), &uri, &e),
    }
}

// --- attachments --------------------------------------------------------------------------

/// The file field `file` of a page's upload form, with its name as people gave it.
async fn uploaded(
    m: Result<Multipart, MultipartRejection>,
) -> Result<Vec<super::Attachment>, Error> {
    let (fields, files) = crate::cases::my::read_form(m).await?;
    let name = fields.get("name").cloned().unwrap_or_default();
    Ok(files
        .into_iter()
        .filter(|(k, _)| k == "file")
        .map(|(_, bytes)| super::Attachment {
            name: name.clone(),
            bytes,
        })
        .collect())
}

async fn order_files(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    uri: Uri,
    Path(number): Path<String>,
    m: Result<Multipart, MultipartRejection>,
) -> Response {
    let actor = match require_page_actor(actor, &uri, STAFF) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let result = async {
        let files = uploaded(m).await?;
        super::attach(&st, &Who::Staff(actor.clone()), &number, &files).await
    }
    .await;
    match result {
        Ok(_) => Redirect::to(&format!("/work-orders/{number}?saved=1")).into_response(),
        Err(e) if e.kind == yichuang_domain::Kind::Invalid => refused(
            &actor,
            &uri,
            &e,
            order_view(
                &st,
                &actor,
                &number,
                FormErrors::at(&e, "file"),
                false,
                "file".into(),
                ActionForm::default(),
            )
            .await,
        ),
        Err(e) => error_page(Some(actor), &uri, &e),
    }
}

async fn order_file(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    uri: Uri,
    Path((number, id)): Path<(String, i64)>,
) -> Response {
    let actor = match require_page_actor(actor, &uri, STAFF) {
        Ok(a) => a,
        Err(r) => return r,
    };
    match super::api::download_response(&st, &actor, &number, id).await {
        Ok(r) => r,
        Err(e) => error_page(Some(actor), &uri, &e),
    }
}

async fn requester_files(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    uri: Uri,
    Path(token): Path<String>,
    m: Result<Multipart, MultipartRejection>,
) -> Response {
    let result = async {
        let row = store::by_token(&st.db, &token)
            .await?
            .ok_or_else(|| Error::not_found("work_order_not_found", "没有找到这个工单"))?;
        let files = uploaded(m).await?;
        super::attach(&st, &Who::Requester, &row.number, &files).await
    }
    .await;
    match result {
        Ok(_) => Redirect::to(&format!("/wo/{token}?uploaded=1")).into_response(),
        Err(e) => match requester_view(&st, &token).await {
            Ok(o) => render_form(
                &RequesterPage {
                    layout: Layout::new("我反映的问题", actor),
                    token,
                    awaiting: o.status == Status::AwaitingRequester,
                    o,
                    fresh: false,
                    uploaded: false,
                    errors: FormErrors::at(&e, "file"),
                },
                Some(&e),
            ),
            Err(e2) => error_page(actor, &uri, &e2),
        },
    }
}

// --- the dispatch catalogue and the numbers (admins) ----------------------------------------

/// One row of the category table as the form shows it.
struct CategoryRow {
    code: String,
    name: String,
    parents: Vec<Choice>,
    units: Vec<Choice>,
    tiers: Vec<Choice>,
    public: bool,
}

#[derive(Template)]
#[template(path = "work_order_settings.html")]
struct SettingsPage {
    layout: Layout,
    tiers: Vec<Tier>,
    categories: Vec<CategoryRow>,
    pause_objected: bool,
    numbers: Vec<(&'static str, &'static str, String)>,
    errors: FormErrors,
    saved: bool,
}

async fn settings_view(
    st: &AppState,
    actor: &Actor,
    s: &WorkOrderSettings,
    errors: FormErrors,
    saved: bool,
) -> Result<SettingsPage, Error> {
    let mut rows: Vec<CategoryRow> = Vec::new();
    // The existing categories, then two empty rows to add to.
    let empty = Category {
        code: String::new(),
        name: String::new(),
        parent: None,
        unit: None,
        tier: None,
        public: false,
        description: String::new(),
    };
    for c in s.categories.iter().chain([&empty, &empty]) {
        let mut parents = vec![Choice {
            value: String::new(),
            label: "（顶级）".into(),
            selected: c.parent.is_none(),
        }];
        parents.extend(
            s.categories
                .iter()
                .filter(|p| p.code != c.code)
                .map(|p| Choice {
                    value: p.code.clone(),
                    label: p.name.clone(),
                    selected: c.parent.as_deref() == Some(p.code.as_str()),
                }),
        );
        let mut units = vec![Choice {
            value: String::new(),
            label: "由调度选择".into(),
            selected: c.unit.is_none(),
        }];
        units.extend(unit_choices(st, c.unit.as_deref().unwrap_or("-")).await?);
        rows.push(CategoryRow {
            code: c.code.clone(),
            name: c.name.clone(),
            parents,
            units,
            tiers: tier_choices(&s.tiers, c.tier.as_deref().unwrap_or("general")),
            public: c.public,
        });
    }
    let mut tiers = s.tiers.clone();
    tiers.push(Tier {
        code: String::new(),
        name: String::new(),
        days: 0,
    });
    Ok(SettingsPage {
        tiers,
        categories: rows,
        pause_objected: s.pause_states.contains(&Status::Objected),
        numbers: WorkOrderSettings::NUMBERS
            .iter()
            .map(|(key, label)| (*key, *label, s.number(key).unwrap_or_default().to_string()))
            .collect(),
        errors,
        saved,
        layout: Layout::new("工单设置", Some(actor.clone())),
    })
}

async fn settings_page(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    uri: Uri,
    Query(q): Query<Saved>,
) -> Response {
    let actor = match require_page_actor(actor, &uri, &[Role::Admin]) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let page = async {
        let s = super::settings(&st.db).await?;
        settings_view(&st, &actor, &s, FormErrors::default(), q.saved.is_some()).await
    }
    .await;
    shown(&actor, &uri, page)
}

/// The form's rows (`tier[0].code`, `cat[3].unit`, …) back into settings; the rest of the
/// settings (ledger aspects, pause states other than the objection) are kept.
fn settings_from_form(
    before: &WorkOrderSettings,
    pairs: &[(String, String)],
) -> Result<WorkOrderSettings, Error> {
    use std::collections::BTreeMap;
    let mut rows: BTreeMap<(String, usize), BTreeMap<String, String>> = BTreeMap::new();
    let mut plain: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in pairs {
        let parsed = k.split_once('[').and_then(|(table, rest)| {
            let (i, field) = rest.split_once("].")?;
            Some((
                table.to_string(),
                i.parse::<usize>().ok()?,
                field.to_string(),
            ))
        });
        match parsed {
            Some((table, i, field)) => {
                rows.entry((table, i))
                    .or_default()
                    .insert(field, v.trim().to_string());
            }
            None => {
                plain.insert(k.clone(), v.trim().to_string());
            }
        }
    }
    let mut s = before.clone();
    let mut p = yichuang_domain::Problems::new();
    let opt = |m: &BTreeMap<String, String>, k: &str| m.get(k).filter(|v| !v.is_empty()).cloned();
    s.tiers = rows
        .iter()
        .filter(|((t, _), m)| t == "tier" && opt(m, "code").is_some())
        .map(|(_, m)| Tier {
            code: opt(m, "code").unwrap_or_default(),
            name: opt(m, "name").unwrap_or_default(),
            days: m
                .get("days")
                .and_then(|d| d.parse().ok())
                .unwrap_or(u32::MAX),
        })
        .collect();
    if s.tiers.iter().any(|t| t.days == u32::MAX) {
        p.add("tiers", "时限档次的工作日须为 0–60 的整数");
    }
    s.categories = rows
        .iter()
        .filter(|((t, _), m)| t == "cat" && (opt(m, "code").is_some() || opt(m, "name").is_some()))
        .map(|(_, m)| Category {
            code: opt(m, "code").unwrap_or_default(),
            name: opt(m, "name").unwrap_or_default(),
            parent: opt(m, "parent"),
            unit: opt(m, "unit"),
            tier: opt(m, "tier"),
            public: m.get("public").is_some_and(|v| v == "on"),
            description: before
                .category(m.get("code").map_or("", String::as_str))
                .map(|c| c.description.clone())
                .unwrap_or_default(),
        })
        .collect();
    s.pause_states.retain(|x| *x != Status::Objected);
    if plain.get("pause_objected").is_some_and(|v| v == "on") {
        s.pause_states.push(Status::Objected);
    }
    for (key, label) in WorkOrderSettings::NUMBERS {
        if let Some(v) = plain.get(key) {
            let fits = v.parse::<u32>().is_ok_and(|n| s.set_number(key, n));
            if !fits {
                p.add(key, format!("{label}须为整数"));
            }
        }
    }
    p.finish()?;
    Ok(s)
}

async fn settings_post(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    uri: Uri,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let actor = match require_page_actor(actor, &uri, &[Role::Admin]) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let before = match super::settings(&st.db).await {
        Ok(s) => s,
        Err(e) => return error_page(Some(actor), &uri, &e),
    };
    let result = async {
        let s = settings_from_form(&before, &pairs)?;
        super::put_settings(&st, &actor, &s).await?;
        Ok::<_, Error>(())
    }
    .await;
    match result {
        Ok(()) => Redirect::to("/work-orders/settings?saved=1").into_response(),
        Err(e) => {
            let shown_settings = settings_from_form(&before, &pairs).unwrap_or(before);
            refused(
                &actor,
                &uri,
                &e,
                settings_view(&st, &actor, &shown_settings, FormErrors::of(&e), false).await,
            )
        }
    }
}

// --- the visitor's receipt ----------------------------------------------------------------

#[derive(Template)]
#[template(path = "work_order_receipt.html")]
struct ReceiptPage {
    layout: Layout,
    hall_name: String,
    o: WorkOrderView,
    promise: String,
    qr: String,
    clerk: String,
}

/// 受理回执: what the 办不成事 window hands the visitor — the number, the promise, and the QR code
/// of the order's own link (progress, answers, adding photos).
async fn receipt_page(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    uri: Uri,
    headers: axum::http::HeaderMap,
    Path(number): Path<String>,
) -> Response {
    let actor = match require_page_actor(actor, &uri, STAFF) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let page = async {
        let row = store::by_number(&st.db, &number).await?;
        super::may_see(&actor, &row)?;
        let o = super::api::view_of(&st, &row).await?;
        let s = super::settings(&st.db).await?;
        let hall_name = match &row.hall {
            Some(h) => yichuang_store::hall::hall(&st.db, h)
                .await
                .map(|h| h.name)
                .unwrap_or_else(|_| "政务服务中心".into()),
            None => "政务服务中心".into(),
        };
        let promise = match (&o.due_date, o.open) {
            (Some(_), true) => format!("我们将于 {} 前答复您。", o.due_text),
            (_, false) => format!("本问题已于 {} 办结。", o.closed_on_text.clone().unwrap_or_default()),
            (None, true) => format!(
                "工作人员将在当日分类转办，一般问题 {} 个工作日内答复，复杂问题 {} 个工作日内答复。",
                s.tier("general").map_or(5, |t| t.days),
                s.tier("complex").map_or(10, |t| t.days)
            ),
        };
        let link = format!("{}/wo/{}", crate::cases::pages::origin(&headers), row.token);
        Ok::<_, Error>(ReceiptPage {
            layout: Layout::new(format!("受理回执 {number}"), Some(actor.clone())),
            hall_name,
            promise,
            qr: crate::qr::svg(&link, 140, "查看办理进度二维码").unwrap_or_default(),
            clerk: actor.display_name.clone(),
            o,
        })
    }
    .await;
    shown(&actor, &uri, page)
}
