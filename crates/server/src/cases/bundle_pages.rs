//! The window's pages for 一件事一次办: receive a bundle (the clerk picks the bundle, enters the
//! applicant, answers each question once and ticks the materials, each shared material once),
//! print one receipt or one one-time notice for the whole, and follow the parent: its
//! sub-cases, which one holds it up, one clock, the window's supplement and one issuance.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;
use yichuang_domain::case::{Applicant, ApplicantKind, ReceiptKey};
use yichuang_domain::catalogue::{Bundle, Situation};
use yichuang_domain::{Actor, Error, Kind, Role};

use super::bundles::{self, BundleApplication, BundleDelivery, BundleView, ChecklistEntry};
use crate::accounts::{FormErrors, Page, forbidden_page, require_page_actor};
use crate::auth::MaybeActor;
use crate::extract::{Path, Query};
use crate::pages::{Layout, render};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/bundle-cases/new", get(new_page).post(new_submit))
        .route("/bundle-cases/{number}", get(bundle_page).post(bundle_act))
        .route("/bundle-cases/{number}/receipt", get(receipt_page))
}

const FRONT_DESK: [Role; 3] = [Role::Clerk, Role::HallManager, Role::Admin];

// --- receiving a bundle -------------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(default)]
struct NewQuery {
    bundle: String,
    ticket: String,
    /// An agent's mandate to file under (代办).
    mandate: String,
}

/// The form as the clerk filled it (kept when it comes back with errors).
#[derive(Default)]
struct Filled {
    kind: String,
    name: String,
    id_number: String,
    phone: String,
    answers: BTreeMap<String, String>,
    ticked: Vec<String>,
    /// The receipt's key ([`ReceiptKey`]): 受理 pressed twice makes one bundle.
    receipt_key: String,
}

#[derive(Template)]
#[template(path = "bundle_case_new.html")]
struct NewPage {
    layout: Layout,
    ticket: String,
    bundles: Vec<(String, String)>,
    bundle: Option<Bundle>,
    questions: Vec<Situation>,
    checklist: Vec<ChecklistEntry>,
    f: Filled,
    errors: FormErrors,
    /// The mandate an agent files under and how the record will read (代办员 … 代 …).
    mandate: String,
    on_behalf: Option<String>,
}

impl NewPage {
    fn answered(&self, question: &str, option: &str) -> bool {
        self.f.answers.get(question).map(String::as_str) == Some(option)
    }

    fn ticked(&self, key: &str) -> bool {
        self.f.ticked.iter().any(|k| k == key)
    }

    fn answer_error(&self, question: &str) -> Option<&str> {
        self.errors.get(&format!("answers.{question}"))
    }

    /// An id usable in HTML and CSS for a checklist key (`ITEM:CODE` has a colon).
    fn dom_id(&self, key: &str) -> String {
        key.replace([':', '.'], "-")
    }
}

/// Who may open the bundle form: the front desk, and agents (who file only with a mandate).
const RECEIVERS: [Role; 4] = [Role::Clerk, Role::HallManager, Role::Admin, Role::Agent];

async fn new_form(
    st: &AppState,
    actor: Actor,
    bundle_code: &str,
    ticket: String,
    f: Filled,
    errors: FormErrors,
    mandate: String,
) -> NewPage {
    let on_behalf = match mandate.trim() {
        "" => None,
        m => crate::agency::mandate_for(st, &actor, m)
            .await
            .ok()
            .map(|row| {
                let ob = yichuang_domain::agency::OnBehalf::new(
                    &row.number,
                    &actor.display_name,
                    &row.mandate,
                );
                format!("{}（授权委托书 {}）", ob.label(), row.number)
            }),
    };
    let bundles = super::items::bundle_names(&st.db).await;
    let bundle = super::items::current_bundle(&st.db, bundle_code)
        .await
        .ok()
        .map(|(_, b)| b);
    let (questions, checklist) = match &bundle {
        Some(b) => match bundles::member_items(st, b).await {
            Ok(members) => (
                bundles::questions(&members),
                bundles::checklist(b, &members),
            ),
            Err(_) => (Vec::new(), Vec::new()),
        },
        None => (Vec::new(), Vec::new()),
    };
    NewPage {
        layout: Layout::new("一件事受理", Some(actor)),
        ticket,
        bundles,
        bundle,
        questions,
        checklist,
        f,
        errors,
        mandate,
        on_behalf,
    }
}

async fn new_page(
    State(st): State<AppState>,
    MaybeActor(a): MaybeActor,
    OriginalUri(uri): OriginalUri,
    Query(q): Query<NewQuery>,
) -> Page {
    let actor = require_page_actor(a, &uri, &RECEIVERS)?;
    // Without one (no randomness to be had) the form still makes its bundle, unguarded.
    let receipt_key = super::service::new_receipt_key().unwrap_or_default();
    let mut f = Filled {
        kind: "enterprise".into(),
        receipt_key: receipt_key.clone(),
        ..Filled::default()
    };
    // Filing for a principal: the applicant is the mandate's principal.
    if let Ok(row) = crate::agency::mandate_for(&st, &actor, &q.mandate).await {
        let phone = yichuang_store::cases::applicants::contact(&st.db, row.applicant_id)
            .await
            .ok()
            .flatten()
            .map(|(_, p)| p)
            .unwrap_or_default();
        f = Filled {
            kind: "person".into(),
            name: row.mandate.principal_name.clone(),
            id_number: row.mandate.principal_id_number.clone(),
            phone,
            receipt_key,
            ..Filled::default()
        };
    }
    let page = new_form(
        &st,
        actor,
        &q.bundle,
        q.ticket,
        f,
        FormErrors::default(),
        q.mandate,
    )
    .await;
    Ok(render(&page))
}

async fn new_submit(
    State(st): State<AppState>,
    MaybeActor(a): MaybeActor,
    OriginalUri(uri): OriginalUri,
    Form(form): Form<HashMap<String, String>>,
) -> Page {
    let actor = require_page_actor(a, &uri, &RECEIVERS)?;
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    let mut ticked: Vec<String> = form
        .keys()
        .filter_map(|k| k.strip_prefix("m_").map(str::to_string))
        .collect();
    ticked.sort();
    let answers: BTreeMap<String, String> = form
        .iter()
        .filter_map(|(k, v)| k.strip_prefix("a_").map(|q| (q.to_string(), v.clone())))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    let kind = if get("kind") == "person" {
        ApplicantKind::Person
    } else {
        ApplicantKind::Enterprise
    };
    let ticket = get("ticket");
    let app = BundleApplication {
        bundle: get("bundle"),
        applicant: Applicant {
            kind,
            name: get("name"),
            id_number: get("id_number"),
            phone: get("phone"),
        },
        materials: ticked.clone(),
        answers: answers.clone(),
        ticket: Some(ticket.clone()).filter(|t| !t.is_empty()),
        mandate: Some(get("mandate")).filter(|m| !m.is_empty()),
        // A form without a good key (one rendered before keys) still makes its bundle.
        key: ReceiptKey::parse(&get("receipt_key")).ok(),
    };
    match bundles::receive(&st, &actor, app).await {
        Ok(number) => Ok(Redirect::to(&format!("/bundle-cases/{number}/receipt")).into_response()),
        Err(e) => {
            let f = Filled {
                kind: get("kind"),
                name: get("name"),
                id_number: get("id_number"),
                phone: get("phone"),
                answers,
                ticked,
                // Nothing was made with it, so the corrected form may use it again; one that
                // made another applicant's bundle gives way to a new one.
                receipt_key: if e.code == super::service::RECEIPT_KEY_REUSED {
                    super::service::new_receipt_key().unwrap_or_default()
                } else {
                    get("receipt_key")
                },
            };
            let page = new_form(
                &st,
                actor,
                &get("bundle"),
                ticket,
                f,
                FormErrors::of(&e),
                get("mandate"),
            )
            .await;
            Ok(with_status(render(&page), &e))
        }
    }
}

fn with_status(mut r: Response, e: &Error) -> Response {
    *r.status_mut() = crate::error::status_of(e.kind);
    r
}

// --- the parent case ----------------------------------------------------------------------------

/// The parent as staff see it, or the page to send instead.
async fn staff_bundle(
    st: &AppState,
    actor: &Actor,
    uri: &axum::http::Uri,
    number: &str,
) -> Result<BundleView, Response> {
    match bundles::view_for(st, actor, number).await {
        Ok(v) => Ok(v),
        Err(e) if e.kind == Kind::NotFound => {
            Err(crate::pages::not_found(MaybeActor(Some(actor.clone()))).await)
        }
        Err(e) => Err(forbidden_page(Some(actor.clone()), uri, e.title)),
    }
}

#[derive(Template)]
#[template(path = "bundle_case_page.html")]
struct BundlePage {
    layout: Layout,
    b: BundleView,
    can_front_desk: bool,
    can_issue: bool,
    errors: FormErrors,
    /// The issuance form as it was filled (kept when it comes back with errors).
    issue: HashMap<String, String>,
    /// 代办员 … 代 …（委托人）办理, when an agent filed it under a mandate.
    on_behalf: Option<String>,
}

async fn bundle_page(
    State(st): State<AppState>,
    MaybeActor(a): MaybeActor,
    OriginalUri(uri): OriginalUri,
    Path(number): Path<String>,
) -> Page {
    let actor = require_page_actor(a, &uri, &[])?;
    let b = staff_bundle(&st, &actor, &uri, &number).await?;
    Ok(render(&BundlePage {
        can_front_desk: FRONT_DESK.contains(&actor.role),
        can_issue: actor.role == Role::Issuance,
        layout: Layout::new(format!("一件事 {number}"), Some(actor)),
        b,
        errors: FormErrors::default(),
        issue: HashMap::new(),
        on_behalf: crate::agency::bundle_filed_for(&st, &number).await,
    }))
}

/// The parent's actions: `supplement` (the window receives missing materials) and `issue`
/// (统一出件).
async fn bundle_act(
    State(st): State<AppState>,
    MaybeActor(a): MaybeActor,
    OriginalUri(uri): OriginalUri,
    Path(number): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Page {
    let actor = require_page_actor(a, &uri, &[])?;
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    let result = match get("action").as_str() {
        "supplement" => {
            let given: Vec<String> = form
                .keys()
                .filter_map(|k| k.strip_prefix("m_").map(str::to_string))
                .collect();
            bundles::supplement(&st, &actor, &number, given).await
        }
        "issue" => bundles::issue_all(
            &st,
            &actor,
            &number,
            BundleDelivery {
                method: get("method"),
                address: get("address"),
                carrier: get("carrier"),
                tracking_number: get("tracking_number"),
            },
        )
        .await
        .map(|_| ()),
        other => Err(Error::invalid("unknown_action", "没有这种操作")
            .field("action", format!("“{other}”不是一件事办件的操作"))),
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/bundle-cases/{number}")).into_response()),
        Err(e) => {
            let b = staff_bundle(&st, &actor, &uri, &number).await?;
            let page = BundlePage {
                can_front_desk: FRONT_DESK.contains(&actor.role),
                can_issue: actor.role == Role::Issuance,
                layout: Layout::new(format!("一件事 {number}"), Some(actor)),
                b,
                on_behalf: crate::agency::bundle_filed_for(&st, &number).await,
                errors: FormErrors::of(&e),
                issue: form,
            };
            Ok(with_status(render(&page), &e))
        }
    }
}

#[derive(Template)]
#[template(path = "bundle_case_receipt.html")]
struct ReceiptPage {
    layout: Layout,
    b: BundleView,
    /// The hall's name, telephone and address as the paper prints them (issue 10 item 2).
    paper: crate::pages::paper::Paper,
    /// When it was received, in Chinese form: 2026年12月4日 15:10.
    received_label: String,
    qr: String,
}

async fn receipt_page(
    State(st): State<AppState>,
    MaybeActor(a): MaybeActor,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    Path(number): Path<String>,
) -> Page {
    let actor = require_page_actor(a, &uri, &[])?;
    let b = staff_bundle(&st, &actor, &uri, &number).await?;
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let paper = crate::pages::paper::Paper::of_hall(&st.db, b.hall.as_deref()).await;
    Ok(render(&ReceiptPage {
        layout: Layout::new("一件事回执", Some(actor)),
        paper,
        received_label: b.received_text(),
        qr: crate::qr::svg(&format!("http://{host}/my"), 140, "手机查看办理进度")
            .unwrap_or_default(),
        b,
    }))
}

impl BundlePage {
    fn filled(&self, k: &str) -> String {
        self.issue.get(k).cloned().unwrap_or_default()
    }
}
