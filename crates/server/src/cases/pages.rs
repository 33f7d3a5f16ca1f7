//! The case pages: the clerk's acceptance page with the printable receipt or one-time notice,
//! the staff case page (timeline, clock, the open steps with their actions), the department
//! worklist, and the public query page. The forms post with the session cookie and run the
//! same service functions as the API.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::Value;
use yichuang_domain::case::{
    Applicant, ApplicantKind, CaseStatus, Command, Delivery, Receipt, ReceiptKey,
};
use yichuang_domain::catalogue::ServiceItem;
use yichuang_domain::{Actor, Error, Role};
use yichuang_store::cases::records;
use yichuang_store::catalogue::{self, ItemQuery, ItemStatus, ItemSummary};

use super::api::{StepBody, step_command};
use super::service::{self, Application, Env, Loaded};
use super::view;
use crate::accounts::{Page, forbidden_page, require_page_actor};
use crate::auth::MaybeActor;
use crate::extract::{Path, Query};
use crate::pages::paper::{Paper, PaperMaterial};
use crate::pages::{Layout, render};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/cases/new", get(new_page).post(new_submit))
        .route("/cases/{number}", get(case_page).post(case_act))
        .route("/cases/{number}/receipt", get(receipt_page))
        .route("/cases/{number}/pickup-slip", get(pickup_slip_page))
        .route("/cases/{number}/files/{sha256}", get(case_file_page))
        .route("/departments/{department}/worklist", get(worklist_page))
        .route("/query", get(query_page))
}

const FRONT_DESK: [Role; 3] = [Role::Clerk, Role::HallManager, Role::Admin];

/// An SVG QR code of `text` (no external service: halls run on an intranet).
pub fn qr_svg(text: &str) -> String {
    crate::qr::svg(text, 140, "办件查询二维码").unwrap_or_default()
}

// --- acceptance -----------------------------------------------------------------------------

#[derive(Deserialize, Default)]
struct NewQuery {
    #[serde(default)]
    ticket: String,
    #[serde(default)]
    item: String,
    /// The applicant's identity number: the vault's materials of a returning applicant are
    /// ticked in advance (材料共享).
    #[serde(default)]
    id_number: String,
    #[serde(default)]
    kind: String,
}

pub struct Check {
    pub code: String,
    pub name: String,
    pub form: String,
    pub checked: bool,
    /// Held in the vault for this applicant (and still valid).
    pub in_vault: bool,
    /// Needed only for some answers to a 办理情形 question: the question and the answers
    /// (space-separated), which the page's script follows as answers change.
    pub condition: Option<(String, String)>,
    /// Not needed for the answers given (or the first option of a question not answered yet).
    pub hidden: bool,
}

#[derive(Template)]
#[template(path = "case_new.html")]
struct NewPage {
    layout: Layout,
    ticket: String,
    items: Vec<ItemSummary>,
    item: Option<ServiceItem>,
    checklist: Vec<Check>,
    kind: String,
    name: String,
    id_number: String,
    phone: String,
    /// Answers to the item's situations (办理情形).
    answers: BTreeMap<String, String>,
    /// 即办件: the document number for a decision on the spot.
    document_number: String,
    general: Option<String>,
    field_errors: Vec<(String, String)>,
    /// This form's receipt key ([`ReceiptKey`]): pressed twice, 受理 makes one case.
    receipt_key: String,
}

impl NewPage {
    fn answered(&self, q: &str, o: &str) -> bool {
        self.answers.get(q).map(String::as_str) == Some(o)
    }

    fn answer_error(&self, q: &str) -> Option<&str> {
        self.error(&format!("answers.{q}"))
    }

    fn immediate(&self) -> bool {
        self.item
            .as_ref()
            .is_some_and(|i| i.kind == yichuang_domain::catalogue::ItemKind::Immediate)
    }

    fn error(&self, field: &str) -> Option<&str> {
        self.field_errors
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }
}

/// The active items of the catalogue, for the picker.
async fn picker(st: &AppState) -> Vec<ItemSummary> {
    let q = ItemQuery {
        q: None,
        department: None,
        status: ItemStatus::Active,
        offset: 0,
        limit: 2000,
    };
    catalogue::list_items(&st.db, &q)
        .await
        .map(|(_, items)| items)
        .unwrap_or_default()
}

/// The item's checklist for these answers (issue 10 item 10: no 授权委托书 when no agent was
/// chosen). A question not answered yet counts as its first option, as its select shows.
fn checklist(
    item: &ServiceItem,
    given: &[String],
    vault: &[String],
    answers: &BTreeMap<String, String>,
) -> Vec<Check> {
    let mut effective = answers.clone();
    for q in &item.situations {
        if let Some(first) = q.options.first() {
            effective
                .entry(q.code.clone())
                .or_insert_with(|| first.code.clone());
        }
    }
    let needed = yichuang_domain::case::applicant::required_materials(item, &effective);
    item.materials
        .iter()
        .map(|m| {
            let hidden = !needed.iter().any(|n| n.code == m.code);
            Check {
                code: m.code.clone(),
                name: m.name.clone(),
                form: format!("{} {} 份", m.form.label(), m.copies),
                checked: !hidden && (given.contains(&m.code) || vault.contains(&m.code)),
                in_vault: vault.contains(&m.code),
                condition: m
                    .required_if
                    .as_ref()
                    .map(|r| (r.question.clone(), r.answers.join(" "))),
                hidden,
            }
        })
        .collect()
}

/// The material codes the vault holds, still valid, for the applicant with this number.
async fn vault_codes(st: &AppState, kind: ApplicantKind, id_number: &str) -> Vec<String> {
    let Ok(Some(id)) =
        yichuang_store::cases::applicants::find(&st.db, kind, id_number.trim()).await
    else {
        return Vec::new();
    };
    let today = super::time::local(st.now()).date();
    yichuang_store::cases::vault::valid_for(&st.db, id, today)
        .await
        .map(|v| v.into_iter().map(|m| m.material_code).collect())
        .unwrap_or_default()
}

fn kind_of(s: &str) -> ApplicantKind {
    if s == "enterprise" {
        ApplicantKind::Enterprise
    } else {
        ApplicantKind::Person
    }
}

async fn new_page(
    State(st): State<AppState>,
    MaybeActor(a): MaybeActor,
    OriginalUri(uri): OriginalUri,
    Query(q): Query<NewQuery>,
) -> Page {
    let actor = require_page_actor(a, &uri, &FRONT_DESK)?;
    let items = picker(&st).await;
    let item = super::items::current_item(&st.db, &q.item)
        .await
        .ok()
        .map(|(_, i)| i);
    let vault = vault_codes(&st, kind_of(&q.kind), &q.id_number).await;
    Ok(render(&NewPage {
        layout: Layout::new("窗口受理", Some(actor)),
        ticket: q.ticket,
        checklist: item
            .as_ref()
            .map(|i| checklist(i, &[], &vault, &BTreeMap::new()))
            .unwrap_or_default(),
        item,
        items,
        kind: if q.kind.is_empty() {
            "person".into()
        } else {
            q.kind
        },
        name: String::new(),
        id_number: q.id_number,
        phone: String::new(),
        answers: BTreeMap::new(),
        document_number: String::new(),
        general: None,
        field_errors: Vec::new(),
        // Without one (no randomness to be had) the form still makes its case, unguarded.
        receipt_key: service::new_receipt_key().unwrap_or_default(),
    }))
}

async fn new_submit(
    State(st): State<AppState>,
    MaybeActor(a): MaybeActor,
    OriginalUri(uri): OriginalUri,
    Form(f): Form<HashMap<String, String>>,
) -> Page {
    let actor = require_page_actor(a, &uri, &FRONT_DESK)?;
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    let materials: Vec<String> = f
        .keys()
        .filter_map(|k| k.strip_prefix("m_").map(str::to_string))
        .collect();
    let kind = kind_of(&get("kind"));
    let answers: BTreeMap<String, String> = f
        .iter()
        .filter_map(|(k, v)| k.strip_prefix("a_").map(|q| (q.to_string(), v.clone())))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    let app = Application {
        item: get("item"),
        receipt: Receipt {
            number: String::new(),
            applicant: Applicant {
                kind,
                name: get("name"),
                id_number: get("id_number"),
                phone: get("phone"),
            },
            materials: materials.clone(),
            answers: answers.clone(),
            parent: None,
        },
        // A form without a good key (one rendered before keys) still makes its case.
        key: ReceiptKey::parse(&get("receipt_key")).ok(),
    };
    // 即办件: the clerk may decide and hand over the result on the spot.
    let received = if f.contains_key("spot") {
        service::receive_on_the_spot(
            &st,
            &actor,
            app,
            get("document_number"),
            &get("spot_method"),
        )
        .await
    } else {
        service::receive(&st, &actor, app).await
    };
    match received {
        Ok(l) => Ok(Redirect::to(&format!("/cases/{}/receipt", l.case.number)).into_response()),
        Err(e) => {
            let items = picker(&st).await;
            let item = super::items::current_item(&st.db, &get("item"))
                .await
                .ok()
                .map(|(_, i)| i);
            let mut r = render(&NewPage {
                layout: Layout::new("窗口受理", Some(actor)),
                ticket: get("ticket"),
                checklist: item
                    .as_ref()
                    .map(|i| checklist(i, &materials, &[], &answers))
                    .unwrap_or_default(),
                item,
                items,
                kind: get("kind"),
                name: get("name"),
                id_number: get("id_number"),
                phone: get("phone"),
                answers,
                document_number: get("document_number"),
                general: Some(e.title.clone()),
                // Nothing was made with it, so the corrected form may use it again; one that
                // made another applicant's case gives way to a new one.
                receipt_key: if e.code == service::RECEIPT_KEY_REUSED {
                    service::new_receipt_key().unwrap_or_default()
                } else {
                    get("receipt_key")
                },
                field_errors: e
                    .fields
                    .iter()
                    .map(|f| (f.field.clone(), f.message.clone()))
                    .collect(),
            });
            *r.status_mut() = crate::error::status_of(e.kind);
            Ok(r)
        }
    }
}

// --- the case -------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "case_receipt.html")]
struct ReceiptPage {
    layout: Layout,
    c: view::CaseView,
    /// The hall's name, telephone and address as the paper prints them (issue 10 item 2).
    paper: Paper,
    /// Beijing time in Chinese form: 2026年12月4日 15:10.
    received_label: String,
    accepted_label: String,
    due_label: String,
    materials: Vec<(String, PaperMaterial)>,
    missing: Vec<(String, PaperMaterial)>,
    qr: String,
    /// `ABCD-EFGH-JKMN`: follows the case without the ID or phone (issue 15).
    query_code: Option<String>,
    /// The QR code of the case's rating link (R-EVAL-ONCE: a token, never the number alone).
    rate_qr: Option<String>,
}

/// The materials `codes` names, as a paper lists them: name, 原件/复印件, how many.
fn paper_materials<'a>(
    item: &ServiceItem,
    codes: impl IntoIterator<Item = &'a String>,
) -> Vec<(String, PaperMaterial)> {
    codes
        .into_iter()
        .map(|c| {
            let m = item.materials.iter().find(|m| &m.code == c);
            let paper = PaperMaterial {
                name: m.map_or_else(|| c.to_string(), |m| m.name.clone()),
                form: m.map_or("原件", |m| m.form.label()),
                copies: m.map_or(1, |m| m.copies.max(1)),
            };
            (c.to_string(), paper)
        })
        .collect()
}

/// The case as `actor` may see it, or the page to send instead (404, 403).
async fn staff_case(
    st: &AppState,
    actor: &Actor,
    uri: &axum::http::Uri,
    number: &str,
) -> Result<(Loaded, view::CaseView), Response> {
    let found = async {
        let l = service::load(st, number).await?;
        service::may_view(actor, &l)?;
        let env = Env::at(st, st.now(), l.row.hall.as_deref()).await?;
        let v = view::case_view(&l, &env);
        Ok::<_, Error>((l, v))
    };
    match found.await {
        Ok(x) => Ok(x),
        Err(e) if e.kind == yichuang_domain::Kind::NotFound => {
            Err(crate::pages::not_found(MaybeActor(Some(actor.clone()))).await)
        }
        Err(e) => Err(forbidden_page(Some(actor.clone()), uri, e.title)),
    }
}

/// The address the client reached this server at, for links in QR codes.
pub(crate) fn origin(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
}

async fn receipt_page(
    State(st): State<AppState>,
    MaybeActor(a): MaybeActor,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    Path(number): Path<String>,
) -> Page {
    let actor = require_page_actor(a, &uri, &[])?;
    let (l, c) = staff_case(&st, &actor, &uri, &number).await?;
    let missing = paper_materials(
        &l.item,
        c.one_time_notice.iter().flat_map(|n| n.missing.iter()),
    );
    let materials = paper_materials(&l.item, &l.case.materials);
    Ok(render(&ReceiptPage {
        layout: Layout::new("办件回执", Some(actor)),
        paper: Paper::of_hall(&st.db, l.row.hall.as_deref()).await,
        received_label: c.received_text(),
        accepted_label: c.accepted_on.map(view::chinese_day).unwrap_or_default(),
        due_label: c.due_text(),
        qr: qr_svg(&super::service::query_path(&origin(&headers), &l.row)),
        query_code: l
            .row
            .query_code
            .as_deref()
            .map(super::service::group_query_code),
        rate_qr: crate::ratings::rating_link(&st, &l.case.number)
            .await
            .ok()
            .flatten()
            .map(|path| {
                crate::qr::svg(
                    &format!("{}{path}", origin(&headers)),
                    140,
                    "服务评价二维码",
                )
                .unwrap_or_default()
            }),
        materials,
        missing,
        c,
    }))
}

#[derive(Template)]
#[template(path = "case_page.html")]
struct CasePage {
    layout: Layout,
    c: view::CaseView,
    error: Option<String>,
    materials: Vec<(String, String)>,
    can_front_desk: bool,
    /// The case's hall's locker banks (code, name), for 放入智能文件柜.
    lockers: Vec<(String, String)>,
    /// What the case has in lockers (results to pick up, materials dropped off).
    parcels: Vec<crate::lockers::views::ParcelView>,
    /// The materials received and their files (issue 10 item 1).
    received: Vec<view::ReceivedMaterial>,
    /// The timeline in Beijing time and people's names (issue 10 item 3).
    timeline: Vec<view::TimelineRow>,
    received_at: String,
    /// When and by whom the result went out, in words.
    issued: Option<(String, String)>,
    people: crate::people::People,
    /// The confirmation of the action just done.
    done: Option<String>,
}

impl CasePage {
    /// The name of whoever an event name (`role:username`) stands for.
    fn who(&self, event_name: &str) -> String {
        self.people.who(event_name)
    }

    /// A day in Chinese form (2026年12月4日).
    fn day(&self, d: &chrono::NaiveDate) -> String {
        view::chinese_day(*d)
    }

    /// The delivery's method as the API names it (`mail`), for tests and styles.
    fn method(&self, d: &Delivery) -> &'static str {
        match d {
            Delivery::Mail { .. } => "mail",
            Delivery::Pickup { .. } => "pickup",
            Delivery::Electronic { .. } => "electronic",
            Delivery::Locker { .. } => "locker",
        }
    }

    async fn new(
        st: &AppState,
        actor: Actor,
        l: Loaded,
        c: view::CaseView,
        error: Option<String>,
    ) -> Self {
        let people = crate::people::People::load(st).await;
        let held = super::vault::case_files(st, &l).await.unwrap_or_default();
        let (lockers, parcels) = locker_facts(st, &l).await;
        CasePage {
            lockers,
            parcels,
            materials: l
                .item
                .materials
                .iter()
                .map(|m| (m.code.clone(), m.name.clone()))
                .collect(),
            can_front_desk: FRONT_DESK.contains(&actor.role),
            received: view::received_materials(&l, &held, &people),
            timeline: view::timeline_rows(&l, &people),
            received_at: view::chinese_at(l.case.received_at),
            issued: l
                .case
                .issuance
                .as_ref()
                .map(|i| (view::chinese_at(i.at), people.who(&i.by))),
            people,
            done: None,
            layout: Layout::new(format!("办件 {}", l.case.number), Some(actor)),
            c,
            error,
        }
    }
}

/// The 领取凭证 the issuance window prints when it hands the result over (issue 10 item 2):
/// the hall's name, what was handed over, to whom (the ID masked per R-PII; an enterprise's
/// own credit code in full, as on its licence), when in Beijing time, who handed it over, the
/// recipient's signature line and the seal area.
#[derive(Template)]
#[template(path = "case_pickup_slip.html")]
struct PickupSlipPage {
    layout: Layout,
    paper: Paper,
    c: view::CaseView,
    /// 证件号码 as the slip prints it.
    holder_id: String,
    /// 办理结果: the certificate's title, and the decision's document number.
    result: String,
    issued_at: String,
    issued_by: String,
    method: &'static str,
    /// Printed at: Beijing time in Chinese form.
    printed: String,
}

async fn pickup_slip_page(
    State(st): State<AppState>,
    MaybeActor(a): MaybeActor,
    OriginalUri(uri): OriginalUri,
    Path(number): Path<String>,
) -> Page {
    let actor = require_page_actor(a, &uri, &[])?;
    let (l, c) = staff_case(&st, &actor, &uri, &number).await?;
    let Some(issuance) = l.case.issuance.clone() else {
        return Err(forbidden_page(
            Some(actor),
            &uri,
            "尚未出件，没有领取凭证可打印".to_string(),
        ));
    };
    let people = crate::people::People::load(&st).await;
    Ok(render(&PickupSlipPage {
        layout: Layout::new(format!("领取凭证 {number}"), Some(actor)),
        paper: Paper::of_hall(&st.db, l.row.hall.as_deref()).await,
        holder_id: l.case.applicant.certificate_id(),
        result: super::service::certificate_title(&l.item).to_string(),
        issued_at: view::chinese_at(issuance.at),
        issued_by: people.who(&issuance.by),
        method: issuance.delivery.label(),
        printed: view::chinese_at(super::time::local(st.now())),
        c,
    }))
}

/// A file of the case's applicant, for staff who may view the case: a PDF or an image shown
/// inside the case page (sandboxed, R-PII: only this case's applicant's files), or saved with
/// `?download=1`.
async fn case_file_page(
    State(st): State<AppState>,
    MaybeActor(a): MaybeActor,
    OriginalUri(uri): OriginalUri,
    Path((number, sha)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Page {
    let actor = require_page_actor(a, &uri, &[])?;
    match super::vault::case_file(&st, &actor, &number, &sha).await {
        Ok((m, bytes)) => {
            let name = super::vault::file_name(&m);
            Ok(if q.contains_key("download") {
                (crate::security::file_headers(&m.content_type, &name), bytes).into_response()
            } else if m.content_type == "application/pdf" && bytes.starts_with(b"%PDF-") {
                // Chromium shows a PDF only in a frame that is not sandboxed (issue 10 item 6).
                (crate::security::inline_pdf_headers(&name), bytes).into_response()
            } else {
                (
                    crate::security::inline_file_headers(&m.content_type, &name),
                    bytes,
                )
                    .into_response()
            })
        }
        Err(e) if e.kind == yichuang_domain::Kind::NotFound => {
            Err(crate::pages::not_found(MaybeActor(Some(actor))).await)
        }
        Err(e) => Err(forbidden_page(Some(actor), &uri, e.title)),
    }
}

/// The action a form ran, as the confirmation's key (nothing else gets through).
fn done_key(action: &str) -> &'static str {
    DONE.iter()
        .find(|(k, _)| *k == action)
        .map_or("saved", |(k, _)| k)
}

/// What the case page confirms after each action of its forms (issue 10 item 5).
const DONE: [(&str, &str); 12] = [
    ("route", "已推送到部门，等待部门确认接收"),
    ("confirm", "已确认接收，可以认领办理"),
    ("supplement", "已收取补正材料"),
    ("refuse", "已作出不予受理决定"),
    ("extend", "已延长办理期限"),
    ("claim", "已认领，请办理"),
    ("approve", "已审核通过，办件已转入下一环节"),
    ("opinion", "意见已记录"),
    ("decide", "决定已作出"),
    ("issue", "已出件"),
    ("late-opinion", "部门意见已提交"),
    ("saved", "已保存"),
];

fn done_message(key: &str) -> Option<String> {
    DONE.iter()
        .find(|(k, _)| *k == key)
        .map(|(_, m)| m.to_string())
}

/// The locker banks of a case's hall and the case's parcels in them.
async fn locker_facts(
    st: &AppState,
    l: &Loaded,
) -> (
    Vec<(String, String)>,
    Vec<crate::lockers::views::ParcelView>,
) {
    let banks = match &l.row.hall {
        Some(h) => yichuang_store::lockers::banks_of_hall(&st.db, h)
            .await
            .unwrap_or_default(),
        None => Vec::new(),
    };
    let parcels = yichuang_store::lockers::parcels_of_case(&st.db, &l.case.number)
        .await
        .unwrap_or_default();
    (
        banks.into_iter().map(|b| (b.code, b.name)).collect(),
        parcels
            .iter()
            .map(crate::lockers::views::ParcelView::from)
            .collect(),
    )
}

async fn case_page(
    State(st): State<AppState>,
    MaybeActor(a): MaybeActor,
    OriginalUri(uri): OriginalUri,
    Path(number): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Page {
    let actor = require_page_actor(a, &uri, &[])?;
    let (l, c) = staff_case(&st, &actor, &uri, &number).await?;
    let mut page = CasePage::new(&st, actor, l, c, None).await;
    page.done = q.get("done").and_then(|d| done_message(d));
    Ok(render(&page))
}

/// One action form of the case page: `action` names it; `node` the step, if any.
async fn case_act(
    State(st): State<AppState>,
    MaybeActor(a): MaybeActor,
    OriginalUri(uri): OriginalUri,
    Path(number): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Page {
    let actor = require_page_actor(a, &uri, &[])?;
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    let materials: Vec<String> = f
        .keys()
        .filter_map(|k| k.strip_prefix("m_").map(str::to_string))
        .collect();
    let lines = |k: &str| -> Vec<String> { get(k).lines().map(str::to_string).collect() };
    let command = match get("action").as_str() {
        "route" => Ok(Command::Route),
        "confirm" => Ok(Command::ConfirmRoute),
        "supplement" => Ok(Command::Supplement { materials }),
        "refuse" => Ok(Command::Refuse {
            reasons: lines("reasons"),
        }),
        "extend" => Ok(Command::Extend {
            reason: get("reason"),
            approved_by: get("approved_by"),
        }),
        action => {
            let body = StepBody {
                opinion: get("opinion"),
                reason: get("reason"),
                items: materials,
                note: get("note"),
                name: get("name"),
                days: get("days").parse().ok(),
                outcome: serde_json::from_value(Value::String(get("outcome"))).ok(),
                document_number: get("document_number"),
                reasons: lines("reasons"),
                method: get("method"),
                address: get("address"),
                carrier: get("carrier"),
                tracking_number: get("tracking_number"),
            };
            step_command(&st, &number, get("node"), action, body).await
        }
    };
    let result = match (get("action").as_str(), command) {
        ("locker", _) => {
            crate::lockers::deposit_result(&st, &actor, &number, &get("locker"), &get("size"))
                .await
                .map(|_| ())
        }
        (_, Ok(c)) => service::apply(&st, &number, &actor, &c).await.map(|_| ()),
        (_, Err(e)) => Err(e),
    };
    match result {
        // The page says what was done (issue 10 item 5).
        Ok(()) => Ok(Redirect::to(&format!(
            "/cases/{number}?done={}",
            done_key(&get("action"))
        ))
        .into_response()),
        Err(e) => {
            let (l, c) = staff_case(&st, &actor, &uri, &number).await?;
            let message = std::iter::once(e.title.clone())
                .chain(e.fields.iter().map(|f| f.message.clone()))
                .collect::<Vec<_>>()
                .join("：");
            let mut r = render(&CasePage::new(&st, actor, l, c, Some(message)).await);
            *r.status_mut() = crate::error::status_of(e.kind);
            Ok(r)
        }
    }
}

// --- worklist and public query ---------------------------------------------------------------

#[derive(Deserialize, Default)]
struct ViewQuery {
    #[serde(default)]
    view: Option<String>,
}

/// A row of the worklist as people read it: the item's and the claimant's names, and whether
/// its step or its case is past its due date (shown red).
struct WorkRowView {
    row: records::WorkRow,
    /// The step's and the case's due days in Chinese form (2026年12月4日).
    due_text: String,
    case_due_text: String,
    item_name: String,
    claimed_by: Option<String>,
    late: bool,
}

/// A stored `YYYY-MM-DD` day as people read it (2026年12月4日); anything else as it is.
fn chinese_day_of(d: Option<&str>) -> String {
    match d {
        None => String::new(),
        Some(d) => d
            .parse::<chrono::NaiveDate>()
            .map_or_else(|_| d.to_string(), view::chinese_day),
    }
}

#[derive(Template)]
#[template(path = "case_worklist.html")]
struct WorklistPage {
    layout: Layout,
    department: String,
    view: String,
    department_name: String,
    rows: Vec<WorkRowView>,
    /// Open 督办 notices addressed to this account or its department (R-SUPERVISE).
    notices: Vec<crate::supervision::views::RecordView>,
}

async fn worklist_page(
    State(st): State<AppState>,
    MaybeActor(a): MaybeActor,
    OriginalUri(uri): OriginalUri,
    Path(department): Path<String>,
    Query(q): Query<ViewQuery>,
) -> Page {
    let actor = require_page_actor(a, &uri, &[Role::Approver, Role::Admin, Role::Supervisor])?;
    if let Err(e) = actor.require_department(&department, "查看") {
        return Err(forbidden_page(Some(actor), &uri, e.title));
    }
    // An unknown department is a bad link, not an empty worklist (issue 10 item 8).
    if !catalogue::department_exists(&st.db, &department)
        .await
        .unwrap_or(true)
    {
        let e = Error::not_found("department_not_found", format!("部门 {department} 不存在"));
        return Err(crate::error::Problem(e).into_response());
    }
    let view = q.view.unwrap_or_else(|| "todo".into());
    let rows = super::api::worklist_rows(&st, &actor, &department, &view)
        .await
        .map_err(|e| forbidden_page(Some(actor.clone()), &uri, e.title))?;
    let today = super::time::local(st.now()).date().to_string();
    let past = |d: &Option<String>| d.as_ref().is_some_and(|d| *d < today);
    // Names, not codes or `role:username` (issue 10 item 3).
    let people = crate::people::People::load(&st).await;
    let rows = rows
        .into_iter()
        .map(|r| {
            let late = past(&r.due) || past(&r.case_due);
            WorkRowView {
                due_text: chinese_day_of(r.due.as_deref()),
                case_due_text: chinese_day_of(r.case_due.as_deref()),
                item_name: people.item(&r.item),
                claimed_by: r.claimed_by.as_deref().map(|c| people.who(c)),
                late,
                row: r,
            }
        })
        .collect();
    let department_name = people.department(&department);
    let notices = crate::supervision::api::my_notices(&st, &actor)
        .await
        .map_err(|e| forbidden_page(Some(actor.clone()), &uri, e.title))?
        .into_iter()
        .filter(|n| n.department.as_deref() == Some(department.as_str()))
        .collect();
    Ok(render(&WorklistPage {
        layout: Layout::new("部门工作台", Some(actor)),
        department,
        department_name,
        view,
        rows,
        notices,
    }))
}

#[derive(Template)]
#[template(path = "case_query.html")]
struct QueryPage {
    layout: Layout,
    number: String,
    result: Option<QueryAnswer>,
    error: Option<String>,
    /// A single case's timeline in plain words and the materials it waits for (issue 10
    /// item 9); a bundle's members and missing materials come in `result`.
    steps: Vec<super::my::Step>,
    missing: Vec<String>,
}

async fn query_page(
    State(st): State<AppState>,
    MaybeActor(a): MaybeActor,
    crate::accounts::ClientAddress(address): crate::accounts::ClientAddress,
    Query(q): Query<super::api::PublicQuery>,
) -> Response {
    let asked = !q.code.trim().is_empty() || (!q.number.is_empty() && !q.last4.is_empty());
    let mut steps = Vec::new();
    let mut missing = Vec::new();
    let (result, error) = if !asked {
        (None, None)
    } else {
        match super::api::public_lookup(&st, &q, &address).await {
            Ok(super::api::Found::Case(l, v)) => {
                steps = super::my::plain_steps(&st, &l).await;
                missing = super::my::missing_names(&l);
                (Some(QueryAnswer::case(v)), None)
            }
            Ok(super::api::Found::Bundle(v)) => {
                missing = v.missing.clone();
                (Some(QueryAnswer::bundle(v)), None)
            }
            Err(e) => (
                None,
                Some(
                    e.fields
                        .first()
                        .map_or(e.title.clone(), |f| f.message.clone()),
                ),
            ),
        }
    };
    render(&QueryPage {
        layout: Layout::new("办件查询", a),
        number: q.number,
        result,
        error,
        steps,
        missing,
    })
}

/// What the query page shows of a case or a 一件事 (from their public views).
struct QueryAnswer {
    item_name: String,
    number: String,
    status_label: &'static str,
    due_date: Option<chrono::NaiveDate>,
    /// Still counting: the working days left are worth saying.
    running: bool,
    working_days_left: Option<i64>,
    /// A 一件事's members (none for a single case).
    bundle: Option<Vec<super::bundles::PublicMember>>,
}

impl QueryAnswer {
    fn case(v: super::view::PublicCaseView) -> Self {
        QueryAnswer {
            running: v.decision.is_none()
                && !matches!(
                    v.status,
                    CaseStatus::Refused | CaseStatus::Issued | CaseStatus::Concluded
                ),
            item_name: v.item_name,
            number: v.number,
            status_label: v.status_label,
            due_date: v.due_date,
            working_days_left: v.working_days_left,
            bundle: None,
        }
    }

    fn bundle(v: super::bundles::PublicBundleView) -> Self {
        use super::bundles::BundleStatus;
        QueryAnswer {
            running: !matches!(v.status, BundleStatus::Issued | BundleStatus::Concluded),
            item_name: v.item_name,
            number: v.number,
            status_label: v.status_label,
            due_date: v.due_date.as_deref().and_then(|d| d.parse().ok()),
            working_days_left: v.working_days_left,
            bundle: Some(v.members),
        }
    }

    fn due_text(&self) -> String {
        self.due_date.map(view::chinese_day).unwrap_or_default()
    }

    fn days_left_text(&self) -> String {
        self.working_days_left
            .map(|d| d.to_string())
            .unwrap_or_default()
    }
}
