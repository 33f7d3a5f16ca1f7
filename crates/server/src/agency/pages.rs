//! The pages of 帮办代办: the agents' worklist (and the manager's figures), a help request with
//! what may be done to it, the mandate form (with the signed document) and a mandate's page,
//! the citizen's phone page to ask for help and their own page by link (status, rating).

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Form, Multipart, OriginalUri, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;
use yichuang_domain::agency::{HelpSource, HelpState, MandateAction, MilestonePlan};
use yichuang_domain::{Actor, Error, Kind, Role};
use yichuang_store::agency as store;

use super::views::{CitizenHelpView, HelpRequestView, MandateView};
use super::{AgentStats, HelpAct, Names, NewHelp, NewMandateBody};
use crate::accounts::{FormErrors, Page, forbidden_page, render_form, require_page_actor};
use crate::auth::MaybeActor;
use crate::extract::{Path, Query};
use crate::pages::{Layout, render};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/agency", get(worklist).post(worklist_post))
        .route("/agency/requests/{number}", get(request).post(request_post))
        .route(
            "/agency/mandates/new",
            get(mandate_new)
                .post(mandate_post)
                .layer(DefaultBodyLimit::max(UPLOAD_LIMIT)),
        )
        .route("/agency/mandates/{number}", get(mandate).post(mandate_act))
        .route("/agency/mandates/{number}/document", get(mandate_document))
        .route("/halls/{hall}/help", get(help_form).post(help_post))
        .route("/help/{link}", get(citizen).post(citizen_rate))
}

const UPLOAD_LIMIT: usize = yichuang_store::cases::vault::MAX_BYTES + 64 * 1024;

const STAFF: [Role; 4] = [Role::Admin, Role::HallManager, Role::Agent, Role::Clerk];

/// An error as a page: forbidden, not found, or the message.
fn failed(actor: Option<Actor>, uri: &Uri, e: Error) -> Response {
    match e.kind {
        Kind::Forbidden | Kind::Unauthorized => forbidden_page(actor, uri, e.title),
        _ => crate::error::Problem(e).into_response(),
    }
}

/// A form refused with `e`: the page again with the messages beside its fields, or the error
/// page if the page itself cannot be made.
fn refused<T: Template>(actor: Actor, uri: &Uri, e: &Error, page: Result<T, Error>) -> Page {
    match page {
        Ok(p) => Ok(render_form(&p, Some(e))),
        Err(e2) => Err(failed(Some(actor), uri, e2)),
    }
}

fn hall_of(actor: &Actor) -> Result<String, Error> {
    actor
        .hall
        .clone()
        .ok_or_else(|| Error::forbidden("帮办代办工作台按大厅办理，请使用所属大厅的账号"))
}

pub struct Choice {
    pub value: String,
    pub label: String,
}

// --- the worklist -----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "agency.html")]
struct WorklistPage {
    layout: Layout,
    hall: String,
    requests: Vec<HelpRequestView>,
    mandates: Vec<MandateView>,
    stats: Vec<AgentStats>,
    agents: Vec<Choice>,
    manager: bool,
    agent: bool,
    f: HelpForm,
    errors: FormErrors,
    done: String,
}

impl WorklistPage {
    fn source_selected(&self, v: &str) -> bool {
        self.f.source == v
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct HelpForm {
    /// `new` (登记求助), `take`, `assign`.
    action: String,
    number: String,
    agent: String,
    source: String,
    citizen_name: String,
    citizen_phone: String,
    need: String,
    work_order: String,
    project: String,
    enterprise: String,
    m1: String,
    d1: String,
    m2: String,
    d2: String,
    m3: String,
    d3: String,
    m4: String,
    d4: String,
}

impl HelpForm {
    fn new_help(&self) -> Result<NewHelp, Error> {
        let source = HelpSource::parse(&self.source)
            .ok_or_else(|| Error::validation(vec![]).field("source", "请选择求助来源"))?;
        let mut milestones = Vec::new();
        let mut p = yichuang_domain::Problems::new();
        for (i, (t, d)) in [
            (&self.m1, &self.d1),
            (&self.m2, &self.d2),
            (&self.m3, &self.d3),
            (&self.m4, &self.d4),
        ]
        .into_iter()
        .enumerate()
        {
            if t.trim().is_empty() && d.trim().is_empty() {
                continue;
            }
            match d.trim().parse() {
                Ok(due_on) => milestones.push(MilestonePlan {
                    title: t.clone(),
                    due_on,
                }),
                Err(_) => p.add(format!("d{}", i + 1), "请选择计划完成日期"),
            }
        }
        p.finish()?;
        let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        Ok(NewHelp {
            source: Some(source),
            citizen_name: self.citizen_name.clone(),
            citizen_phone: self.citizen_phone.clone(),
            need: self.need.clone(),
            work_order: opt(&self.work_order),
            project: opt(&self.project),
            enterprise: opt(&self.enterprise),
            milestones,
        })
    }
}

async fn worklist_page(
    st: &AppState,
    actor: Actor,
    f: HelpForm,
    errors: FormErrors,
    done: String,
) -> Result<WorklistPage, Error> {
    let hall = hall_of(&actor)?;
    let names = Names::load(st).await;
    let rows = super::worklist(st, &actor, &hall).await?;
    let mut requests = Vec::new();
    for r in &rows {
        requests.push(super::request_view(st, r, Some(&actor), &names).await?);
    }
    let manager = matches!(actor.role, Role::Admin | Role::HallManager);
    let agent = actor.role == Role::Agent;
    let mine = agent.then_some(actor.username.as_str());
    let mandates = store::mandates(&st.db, Some(&hall), mine)
        .await?
        .iter()
        .map(|m| super::mandate_view(st, m, &names))
        .collect();
    let stats = if manager {
        super::stats(st, &hall).await?
    } else {
        Vec::new()
    };
    let agents = yichuang_store::accounts::list(&st.db, Some(&hall))
        .await?
        .into_iter()
        .filter(|a| a.active && a.role().ok() == Some(Role::Agent))
        .map(|a| Choice {
            value: a.username,
            label: a.display_name,
        })
        .collect();
    Ok(WorklistPage {
        layout: Layout::new("帮办代办", Some(actor.clone())),
        hall,
        requests,
        mandates,
        stats,
        agents,
        manager,
        agent,
        f,
        errors,
        done,
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Done {
    done: String,
}

async fn worklist(
    State(st): State<AppState>,
    MaybeActor(a): MaybeActor,
    OriginalUri(uri): OriginalUri,
    Query(q): Query<Done>,
) -> Page {
    let actor = require_page_actor(a, &uri, &STAFF)?;
    let f = HelpForm {
        source: "kiosk".into(),
        ..HelpForm::default()
    };
    match worklist_page(&st, actor.clone(), f, FormErrors::default(), q.done).await {
        Ok(p) => Ok(render(&p)),
        Err(e) => Err(failed(Some(actor), &uri, e)),
    }
}

async fn worklist_post(
    State(st): State<AppState>,
    MaybeActor(a): MaybeActor,
    OriginalUri(uri): OriginalUri,
    Form(f): Form<HelpForm>,
) -> Page {
    let actor = require_page_actor(a, &uri, &STAFF)?;
    let result = async {
        match f.action.as_str() {
            "new" => {
                let hall = hall_of(&actor)?;
                let r = super::create(&st, Some(&actor), &hall, &f.new_help()?).await?;
                Ok(format!("/agency/requests/{}?done=created", r.number()))
            }
            "take" | "assign" => {
                let r = super::request_for(&st, &actor, &f.number).await?;
                let a = if f.action == "take" {
                    HelpAct::Take
                } else {
                    HelpAct::Assign {
                        agent: f.agent.clone(),
                    }
                };
                super::act(&st, &actor, r.id, &a).await?;
                Ok(format!("/agency?done={}", f.action))
            }
            _ => Err(Error::validation(vec![]).field("action", "未知的操作")),
        }
    }
    .await;
    match result {
        Ok(to) => Ok(Redirect::to(&to).into_response()),
        Err(e) if matches!(e.kind, Kind::Forbidden | Kind::NotFound) => {
            Err(failed(Some(actor), &uri, e))
        }
        Err(e) => {
            let page =
                worklist_page(&st, actor.clone(), f, FormErrors::of(&e), String::new()).await;
            refused(actor, &uri, &e, page)
        }
    }
}

// --- one request ------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "agency_request.html")]
struct RequestPage {
    layout: Layout,
    r: HelpRequestView,
    mandates: Vec<MandateView>,
    serving: bool,
    assigned_to_me: bool,
    can_take: bool,
    errors: FormErrors,
    done: String,
}

async fn request_page(
    st: &AppState,
    actor: Actor,
    number: &str,
    errors: FormErrors,
    done: String,
) -> Result<RequestPage, Error> {
    let row = super::request_for(st, &actor, number).await?;
    let names = Names::load(st).await;
    let r = super::request_view(st, &row, Some(&actor), &names).await?;
    let mandates = store::mandates_of_request(&st.db, row.id)
        .await?
        .iter()
        .map(|m| super::mandate_view(st, m, &names))
        .collect();
    let assigned_to_me = row.agent.as_deref() == Some(actor.username.as_str());
    let serving = row.state != HelpState::Closed
        && (assigned_to_me || matches!(actor.role, Role::Admin | Role::HallManager));
    let can_take = actor.role == Role::Agent && row.state == HelpState::Open;
    Ok(RequestPage {
        can_take,
        layout: Layout::new(format!("帮办代办 {}", r.number), Some(actor)),
        r,
        mandates,
        serving,
        assigned_to_me,
        errors,
        done,
    })
}

async fn request(
    State(st): State<AppState>,
    MaybeActor(a): MaybeActor,
    OriginalUri(uri): OriginalUri,
    Path(number): Path<String>,
    Query(q): Query<Done>,
) -> Page {
    let actor = require_page_actor(a, &uri, &STAFF)?;
    match request_page(&st, actor.clone(), &number, FormErrors::default(), q.done).await {
        Ok(p) => Ok(render(&p)),
        Err(e) => Err(failed(Some(actor), &uri, e)),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RequestForm {
    action: String,
    note: String,
    seq: i64,
    case_number: String,
}

async fn request_post(
    State(st): State<AppState>,
    MaybeActor(a): MaybeActor,
    OriginalUri(uri): OriginalUri,
    Path(number): Path<String>,
    Form(f): Form<RequestForm>,
) -> Page {
    let actor = require_page_actor(a, &uri, &STAFF)?;
    let act = match f.action.as_str() {
        "contact" => Some(HelpAct::Contact),
        "close" => Some(HelpAct::Close {
            note: f.note.clone(),
        }),
        "milestone" => Some(HelpAct::Milestone {
            seq: f.seq,
            case_number: Some(f.case_number.clone()),
        }),
        "take" => Some(HelpAct::Take),
        _ => None,
    };
    let result = async {
        let act = act.ok_or_else(|| Error::validation(vec![]).field("action", "未知的操作"))?;
        let r = super::request_for(&st, &actor, &number).await?;
        super::act(&st, &actor, r.id, &act).await
    }
    .await;
    match result {
        Ok(r) => Ok(Redirect::to(&format!(
            "/agency/requests/{}?done={}",
            r.number(),
            f.action
        ))
        .into_response()),
        Err(e) if matches!(e.kind, Kind::Forbidden | Kind::NotFound) => {
            Err(failed(Some(actor), &uri, e))
        }
        Err(e) => {
            match request_page(
                &st,
                actor.clone(),
                &number,
                FormErrors::of(&e),
                String::new(),
            )
            .await
            {
                Ok(p) => Ok(render_form(&p, Some(&e))),
                Err(e2) => Err(failed(Some(actor), &uri, e2)),
            }
        }
    }
}

// --- mandates ---------------------------------------------------------------------------------

pub struct Pick {
    pub value: String,
    pub label: String,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "agency_mandate_new.html")]
struct MandateNewPage {
    layout: Layout,
    agent: bool,
    agents: Vec<Choice>,
    items: Vec<Pick>,
    bundles: Vec<Pick>,
    actions: Vec<Pick>,
    f: HashMap<String, String>,
    errors: FormErrors,
}

impl MandateNewPage {
    fn v(&self, k: &str) -> String {
        self.f.get(k).cloned().unwrap_or_default()
    }
}

async fn mandate_form(
    st: &AppState,
    actor: Actor,
    f: HashMap<String, String>,
    picked: &HashMap<String, Vec<String>>,
    errors: FormErrors,
) -> Result<MandateNewPage, Error> {
    let hall = hall_of(&actor)?;
    super::require_staff(&actor, &hall)?;
    let has = |k: &str, v: &str| picked.get(k).is_some_and(|l| l.iter().any(|x| x == v));
    let query = yichuang_store::catalogue::ItemQuery {
        limit: 500,
        ..Default::default()
    };
    let items = yichuang_store::catalogue::list_items(&st.db, &query)
        .await?
        .1
        .into_iter()
        .map(|r| Pick {
            checked: has("items", &r.code),
            label: format!("{}（{}）", r.name, r.department_name),
            value: r.code,
        })
        .collect();
    let bundles = yichuang_store::catalogue::bundles(&st.db)
        .await?
        .into_iter()
        .map(|r| Pick {
            checked: has("bundles", &r.bundle.code),
            value: r.bundle.code,
            label: r.bundle.name,
        })
        .collect();
    let fresh = picked.is_empty();
    let actions = MandateAction::ALL
        .iter()
        .map(|a| Pick {
            value: a.as_str().to_string(),
            label: a.label().to_string(),
            checked: has("actions", a.as_str())
                || (fresh && matches!(a, MandateAction::Apply | MandateAction::Supplement)),
        })
        .collect();
    let agents = yichuang_store::accounts::list(&st.db, Some(&hall))
        .await?
        .into_iter()
        .filter(|a| a.active && a.role().ok() == Some(Role::Agent))
        .map(|a| Choice {
            value: a.username,
            label: a.display_name,
        })
        .collect();
    Ok(MandateNewPage {
        layout: Layout::new("登记授权委托书", Some(actor.clone())),
        agent: actor.role == Role::Agent,
        agents,
        items,
        bundles,
        actions,
        f,
        errors,
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct MandateQuery {
    request: String,
}

async fn mandate_new(
    State(st): State<AppState>,
    MaybeActor(a): MaybeActor,
    OriginalUri(uri): OriginalUri,
    Query(q): Query<MandateQuery>,
) -> Page {
    let actor = require_page_actor(a, &uri, &STAFF)?;
    let today = crate::cases::time::local(st.now()).date();
    let mut f = HashMap::new();
    f.insert("request".to_string(), q.request);
    f.insert("valid_from".to_string(), today.to_string());
    f.insert(
        "valid_until".to_string(),
        (today + chrono::Days::new(90)).to_string(),
    );
    match mandate_form(
        &st,
        actor.clone(),
        f,
        &HashMap::new(),
        FormErrors::default(),
    )
    .await
    {
        Ok(p) => Ok(render(&p)),
        Err(e) => Err(failed(Some(actor), &uri, e)),
    }
}

/// The fields of a multipart form (lists for repeated names) and its one file.
async fn read_multipart(
    m: Result<Multipart, MultipartRejection>,
) -> Result<(HashMap<String, Vec<String>>, Option<Vec<u8>>), Error> {
    let bad = || Error::validation(vec![]).field("document", "上传失败，请重新选择文件");
    let mut m = m.map_err(|_| bad())?;
    let mut fields: HashMap<String, Vec<String>> = HashMap::new();
    let mut file = None;
    while let Some(part) = m.next_field().await.map_err(|_| bad())? {
        let name = part.name().unwrap_or_default().to_string();
        if part.file_name().is_some() {
            let bytes = part.bytes().await.map_err(|_| bad())?;
            if !bytes.is_empty() {
                file = Some(bytes.to_vec());
            }
        } else {
            let text = part.text().await.map_err(|_| bad())?;
            fields.entry(name).or_default().push(text);
        }
    }
    Ok((fields, file))
}

async fn mandate_post(
    State(st): State<AppState>,
    MaybeActor(a): MaybeActor,
    OriginalUri(uri): OriginalUri,
    m: Result<Multipart, MultipartRejection>,
) -> Page {
    let actor = require_page_actor(a, &uri, &STAFF)?;
    // An unreadable form is an empty one: the missing document is then said beside its field.
    let (fields, file) = read_multipart(m).await.unwrap_or_default();
    let one = |k: &str| {
        fields
            .get(k)
            .and_then(|v| v.first())
            .cloned()
            .unwrap_or_default()
    };
    let many = |k: &str| fields.get(k).cloned().unwrap_or_default();
    let date = |k: &str| one(k).trim().parse().ok();
    let body = NewMandateBody {
        agent: one("agent"),
        principal_name: one("principal_name"),
        principal_id_number: one("principal_id_number"),
        principal_phone: one("principal_phone"),
        items: many("items"),
        bundles: many("bundles"),
        actions: many("actions")
            .iter()
            .filter_map(|a| MandateAction::parse(a))
            .collect(),
        valid_from: date("valid_from"),
        valid_until: date("valid_until"),
        request: store::id_of(&one("request")),
    };
    let result = super::create_mandate(&st, &actor, &body, file.as_deref(), true).await;
    match result {
        Ok(row) => Ok(
            Redirect::to(&format!("/agency/mandates/{}?done=created", row.number)).into_response(),
        ),
        Err(e) if e.kind == Kind::Forbidden => Err(failed(Some(actor), &uri, e)),
        Err(e) => {
            let f: HashMap<String, String> = fields
                .iter()
                .filter_map(|(k, v)| v.first().map(|x| (k.clone(), x.clone())))
                .collect();
            let page = mandate_form(&st, actor.clone(), f, &fields, FormErrors::of(&e)).await;
            refused(actor, &uri, &e, page)
        }
    }
}

#[derive(Template)]
#[template(path = "agency_mandate.html")]
struct MandatePage {
    layout: Layout,
    m: MandateView,
    done: String,
    error: Option<String>,
}

async fn mandate_page(
    st: &AppState,
    actor: Actor,
    number: &str,
    done: String,
    error: Option<String>,
) -> Result<MandatePage, Error> {
    let row = super::mandate_for(st, &actor, number).await?;
    let names = Names::load(st).await;
    Ok(MandatePage {
        layout: Layout::new(format!("授权委托书 {}", row.number), Some(actor)),
        m: super::mandate_view(st, &row, &names),
        done,
        error,
    })
}

async fn mandate(
    State(st): State<AppState>,
    MaybeActor(a): MaybeActor,
    OriginalUri(uri): OriginalUri,
    Path(number): Path<String>,
    Query(q): Query<Done>,
) -> Page {
    let actor = require_page_actor(a, &uri, &STAFF)?;
    match mandate_page(&st, actor.clone(), &number, q.done, None).await {
        Ok(p) => Ok(render(&p)),
        Err(e) => Err(failed(Some(actor), &uri, e)),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct MandateAct {
    action: String,
}

async fn mandate_act(
    State(st): State<AppState>,
    MaybeActor(a): MaybeActor,
    OriginalUri(uri): OriginalUri,
    Path(number): Path<String>,
    Form(f): Form<MandateAct>,
) -> Page {
    let actor = require_page_actor(a, &uri, &STAFF)?;
    let result = match f.action.as_str() {
        "revoke" => super::revoke(&st, &actor, &number).await.map(|_| ()),
        _ => Err(Error::validation(vec![]).field("action", "未知的操作")),
    };
    match result {
        Ok(()) => {
            Ok(Redirect::to(&format!("/agency/mandates/{number}?done=revoked")).into_response())
        }
        Err(e) if matches!(e.kind, Kind::Forbidden | Kind::NotFound) => {
            Err(failed(Some(actor), &uri, e))
        }
        Err(e) => match mandate_page(
            &st,
            actor.clone(),
            &number,
            String::new(),
            Some(e.title.clone()),
        )
        .await
        {
            Ok(p) => Ok(render_form(&p, Some(&e))),
            Err(e2) => Err(failed(Some(actor), &uri, e2)),
        },
    }
}

async fn mandate_document(
    State(st): State<AppState>,
    MaybeActor(a): MaybeActor,
    OriginalUri(uri): OriginalUri,
    Path(number): Path<String>,
) -> Page {
    let actor = require_page_actor(a, &uri, &STAFF)?;
    let result = async {
        let row = super::mandate_for(&st, &actor, &number).await?;
        let sha = row.mandate.document.clone().ok_or_else(|| {
            Error::not_found("mandate_document_missing", "该授权委托书还没有存入扫描件")
        })?;
        let blobs = crate::cases::vault::blob_store(&st).await?;
        let bytes = blobs.get(&st.db, &sha).await?;
        let ct = yichuang_store::cases::vault::sniff(&bytes).unwrap_or("application/octet-stream");
        Ok::<_, Error>((ct, bytes))
    }
    .await;
    match result {
        Ok((ct, bytes)) => {
            let name = format!("mandate-{number}");
            Ok((crate::security::file_headers(ct, &name), bytes).into_response())
        }
        Err(e) => Err(failed(Some(actor), &uri, e)),
    }
}

// --- the citizen ------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "help_phone.html")]
struct HelpPhonePage {
    layout: Layout,
    hall: String,
    hall_name: String,
    f: HelpForm,
    errors: FormErrors,
}

async fn help_form(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    OriginalUri(uri): OriginalUri,
    Path(hall): Path<String>,
) -> Page {
    match yichuang_store::hall::hall(&st.db, &hall).await {
        Ok(h) => Ok(render(&HelpPhonePage {
            layout: Layout::new("帮办代办", actor),
            hall,
            hall_name: h.name,
            f: HelpForm::default(),
            errors: FormErrors::default(),
        })),
        Err(e) => Err(failed(actor, &uri, e)),
    }
}

async fn help_post(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    OriginalUri(uri): OriginalUri,
    Path(hall): Path<String>,
    Form(f): Form<HelpForm>,
) -> Page {
    let h = match yichuang_store::hall::hall(&st.db, &hall).await {
        Ok(h) => h,
        Err(e) => return Err(failed(actor, &uri, e)),
    };
    let n = NewHelp {
        citizen_name: f.citizen_name.clone(),
        citizen_phone: f.citizen_phone.clone(),
        need: f.need.clone(),
        ..NewHelp::default()
    };
    // The public page files as nobody, whoever is signed in on this browser.
    match super::create(&st, None, &hall, &n).await {
        Ok(r) => Ok(Redirect::to(&format!("/help/{}?new=1", r.link)).into_response()),
        Err(e) => Ok(render_form(
            &HelpPhonePage {
                layout: Layout::new("帮办代办", actor),
                hall,
                hall_name: h.name,
                f,
                errors: FormErrors::of(&e),
            },
            Some(&e),
        )),
    }
}

#[derive(Template)]
#[template(path = "help_status.html")]
struct CitizenPage {
    layout: Layout,
    link: String,
    h: CitizenHelpView,
    fresh: bool,
    errors: FormErrors,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Fresh {
    new: Option<String>,
}

async fn citizen_view(st: &AppState, link: &str) -> Result<CitizenHelpView, Error> {
    let r = store::request_by_link(&st.db, link).await?.ok_or_else(|| {
        Error::not_found("help_request_not_found", "没有找到这条求助，请核对链接")
    })?;
    let names = Names::load(st).await;
    Ok(CitizenHelpView::of(&r, &|u| names.staff(u)))
}

async fn citizen(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    OriginalUri(uri): OriginalUri,
    Path(link): Path<String>,
    Query(q): Query<Fresh>,
) -> Page {
    match citizen_view(&st, &link).await {
        Ok(h) => Ok(render(&CitizenPage {
            layout: Layout::new("我的帮办代办", actor),
            link,
            h,
            fresh: q.new.is_some(),
            errors: FormErrors::default(),
        })),
        Err(e) => Err(failed(actor, &uri, e)),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RateForm {
    stars: String,
    comment: String,
}

async fn citizen_rate(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    OriginalUri(uri): OriginalUri,
    Path(link): Path<String>,
    Form(f): Form<RateForm>,
) -> Page {
    let stars = f.stars.trim().parse::<u8>().unwrap_or(0);
    match super::rate(&st, &link, stars, &f.comment).await {
        Ok(_) => Ok(Redirect::to(&format!("/help/{link}")).into_response()),
        Err(e) if e.kind == Kind::NotFound => Err(failed(actor, &uri, e)),
        Err(e) => match citizen_view(&st, &link).await {
            Ok(h) => Ok(render_form(
                &CitizenPage {
                    layout: Layout::new("我的帮办代办", actor),
                    link,
                    h,
                    fresh: false,
                    errors: FormErrors::of(&e),
                },
                Some(&e),
            )),
            Err(e2) => Err(failed(actor, &uri, e2)),
        },
    }
}
