//! The applicant's pages on the phone (`/my`, 我的办件): sign in with the phone number and a
//! one-time code (sent through the notification outbox), the cases and bundles of that phone
//! with status and the clock's light, a case's timeline in plain words, the one-time notice with
//! a file upload per missing material that performs the supplement, the electronic certificate,
//! and an online application for an item.
//!
//! Errors are pages with the message next to the field, never problem+json. Uploaded files go
//! into the vault only as part of a change that commits; when the change is refused no file
//! stays behind. Personal numbers are masked (R-PII).

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::Router;
use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::FormRejection;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use yichuang_domain::case::events::{Change, Delivery, Outcome};
use yichuang_domain::case::{
    Applicant, ApplicantKind, CaseEvent, Receipt, ReceiptKey, WINDOW_NODE, Warning,
};
use yichuang_domain::catalogue::ServiceItem;
use yichuang_domain::pii::mask_phone;
use yichuang_domain::{Actor, Error};
use yichuang_store::cases::records::{self, Receipts};
use yichuang_store::cases::{bundles as bundle_rows, issuance, phone_login, vault as vault_store};
use yichuang_store::catalogue::{self, ItemQuery, ItemStatus};

use super::bundles;
use super::service::{self, Application, Channel, Env, Loaded};
use super::vault::{Upload, blob_store, prepare_all, store_all};
use crate::accounts::FormErrors;
use crate::extract::{Path, Query};
use crate::pages::{Layout, render};
use crate::state::AppState;

/// The applicant's session cookie: separate from the staff session, so one browser can hold
/// both, and sent only to `/my`.
pub const APPLICANT_COOKIE: &str = "yc_applicant";

/// Uploads on these pages: a few files of up to `vault::MAX_BYTES` each.
const BODY_LIMIT: usize = 4 * vault_store::MAX_BYTES;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/my", get(home))
        .route("/my/code", post(send_code))
        .route("/my/login", post(login))
        .route("/my/logout", post(logout))
        .route(
            "/my/apply",
            get(apply_page)
                .post(apply_submit)
                .layer(DefaultBodyLimit::max(BODY_LIMIT)),
        )
        .route("/my/cases/{number}", get(case_page))
        .route(
            "/my/cases/{number}/supplement",
            post(supplement).layer(DefaultBodyLimit::max(BODY_LIMIT)),
        )
        .route("/my/cases/{number}/certificate", get(certificate))
        .route("/my/cases/{number}/locker", post(book_locker))
}

// --- the session --------------------------------------------------------------------------------

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    for v in headers.get_all(header::COOKIE) {
        let Ok(s) = v.to_str() else { continue };
        for pair in s.split(';') {
            if let Some((k, val)) = pair.trim().split_once('=')
                && k == APPLICANT_COOKIE
                && !val.is_empty()
            {
                return Some(val.to_string());
            }
        }
    }
    None
}

fn session_cookie(token: Option<&str>) -> HeaderValue {
    let v = match token {
        Some(t) => format!("{APPLICANT_COOKIE}={t}; Path=/my; HttpOnly; SameSite=Lax"),
        None => format!("{APPLICANT_COOKIE}=; Path=/my; HttpOnly; SameSite=Lax; Max-Age=0"),
    };
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The phone signed in on this browser, if any.
struct MyPhone(Option<String>);

impl axum::extract::FromRequestParts<AppState> for MyPhone {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        let phone = match cookie_token(&parts.headers) {
            Some(t) => super::online::session_phone(st, &t).await.ok().flatten(),
            None => None,
        };
        Ok(MyPhone(phone))
    }
}

/// Whoever acts for the applicant in the case engine: the front desk's online inbox, in the
/// case's hall (a supplement given on the phone is received there).
fn phone_actor(hall: Option<String>) -> Actor {
    Actor::applicant(hall)
}

fn with_status(mut r: Response, e: &Error) -> Response {
    *r.status_mut() = crate::error::status_of(e.kind);
    r
}

fn layout(title: impl Into<String>) -> Layout {
    Layout::new(title, None)
}

// --- sign in ----------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "my_login.html")]
struct LoginPage {
    layout: Layout,
    phone: String,
    sent: bool,
    errors: FormErrors,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PhoneForm {
    phone: String,
    code: String,
}

/// The form as sent; a body that is not a form counts as empty (the page says what is missing).
fn phone_form(f: Result<axum::Form<PhoneForm>, FormRejection>) -> PhoneForm {
    f.map(|axum::Form(f)| f).unwrap_or_default()
}

async fn send_code(
    State(st): State<AppState>,
    f: Result<axum::Form<PhoneForm>, FormRejection>,
) -> Response {
    let f = phone_form(f);
    let result = super::online::send_code_to(&st, &f.phone).await;
    let page = LoginPage {
        layout: layout("我的办件 · 登录"),
        phone: f.phone.trim().to_string(),
        sent: result.is_ok(),
        errors: result
            .as_ref()
            .err()
            .map(FormErrors::of)
            .unwrap_or_default(),
    };
    match result {
        Ok(()) => render(&page),
        Err(e) => with_status(render(&page), &e),
    }
}

async fn login(
    State(st): State<AppState>,
    f: Result<axum::Form<PhoneForm>, FormRejection>,
) -> Response {
    let f = phone_form(f);
    match super::online::sign_in(&st, &f.phone, &f.code).await {
        Ok(token) => {
            let mut r = Redirect::to("/my").into_response();
            r.headers_mut()
                .insert(header::SET_COOKIE, session_cookie(Some(&token)));
            r
        }
        Err(e) => {
            let page = LoginPage {
                layout: layout("我的办件 · 登录"),
                phone: f.phone.trim().to_string(),
                sent: true,
                errors: FormErrors::of(&e),
            };
            with_status(render(&page), &e)
        }
    }
}

async fn logout(State(st): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(t) = cookie_token(&headers) {
        let _ = super::online::sign_out(&st, &t).await;
    }
    let mut r = Redirect::to("/my").into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, session_cookie(None));
    r
}

// --- my cases ---------------------------------------------------------------------------------

/// One line of the list: a case or a bundle.
struct Line {
    number: String,
    name: String,
    status_label: String,
    due_date: String,
    warning: Option<Warning>,
    /// The one-time notice waits for the applicant.
    needs_me: bool,
    bundle: bool,
}

#[derive(Template)]
#[template(path = "my_list.html")]
struct ListPage {
    layout: Layout,
    phone_masked: String,
    lines: Vec<Line>,
}

async fn home(State(st): State<AppState>, MyPhone(phone): MyPhone) -> Response {
    let Some(phone) = phone else {
        return render(&LoginPage {
            layout: layout("我的办件 · 登录"),
            phone: String::new(),
            sent: false,
            errors: FormErrors::default(),
        });
    };
    let mut lines = Vec::new();
    for (number, _) in bundle_rows::of_phone(&st.db, &phone)
        .await
        .unwrap_or_default()
    {
        if let Ok(v) = bundles::bundle_view(&st, &number).await {
            lines.push(Line {
                number,
                due_date: v.due_text(),
                needs_me: v.is_awaiting_supplement(),
                name: v.bundle_name,
                status_label: v.status_label.to_string(),
                warning: v.clock.warning,
                bundle: true,
            });
        }
    }
    let cases = phone_login::cases_of_phone(&st.db, &phone)
        .await
        .unwrap_or_default();
    for (number, _, _, _, parent) in cases {
        // A bundle's sub-cases are shown on the bundle's page.
        if parent.is_some() {
            continue;
        }
        let Ok(l) = service::load(&st, &number).await else {
            continue;
        };
        let Ok(env) = Env::at(&st, st.now(), l.row.hall.as_deref()).await else {
            continue;
        };
        let v = super::view::case_view(&l, &env);
        lines.push(Line {
            number,
            name: l.item.name.clone(),
            status_label: l.case.status.label().to_string(),
            due_date: v.due_text(),
            warning: v.warning,
            needs_me: l.case.open_notice().is_some(),
            bundle: false,
        });
    }
    render(&ListPage {
        layout: layout("我的办件"),
        phone_masked: mask_phone(&phone),
        lines,
    })
}

// --- one case or bundle -------------------------------------------------------------------------

/// One entry of the timeline, in plain words.
pub(crate) struct Step {
    pub at: String,
    pub text: String,
    pub kind: String,
}

/// A material still wanted, with its upload field.
struct Wanted {
    key: String,
    name: String,
    /// For a bundle: the member items it serves.
    serves: String,
}

#[derive(Template)]
#[template(path = "my_case.html")]
struct CasePage {
    layout: Layout,
    c: super::view::CaseView,
    steps: Vec<Step>,
    wanted: Vec<Wanted>,
    electronic: bool,
    errors: FormErrors,
    /// 一事一评: the link to rate the finished case, while it may still be rated.
    rate: Option<String>,
    /// The locker banks the materials may be dropped off in (a case waiting for a supplement).
    lockers: Vec<(String, String)>,
    /// The case's parcels in lockers (results to pick up, materials dropped off).
    parcels: Vec<crate::lockers::views::ParcelView>,
    /// The drop-off just booked, with its code (shown this once; also sent by SMS).
    booked: Option<crate::lockers::views::PlacedView>,
}

#[derive(Template)]
#[template(path = "my_bundle.html")]
struct BundlePage {
    layout: Layout,
    b: bundles::BundleView,
    wanted: Vec<Wanted>,
    errors: FormErrors,
}

fn names(item: &ServiceItem, codes: &[String]) -> String {
    codes
        .iter()
        .map(|c| {
            item.materials
                .iter()
                .find(|m| &m.code == c)
                .map_or_else(|| c.clone(), |m| m.name.clone())
        })
        .collect::<Vec<_>>()
        .join("、")
}

/// The case's timeline in plain words, as the applicant reads it (here and on `/query`).
pub(crate) async fn plain_steps(st: &AppState, l: &Loaded) -> Vec<Step> {
    let department = department_name(st, &l.case.department).await;
    l.events
        .iter()
        .filter_map(|e| {
            plain(e, l, &department).map(|text| Step {
                at: super::view::chinese_at(e.at),
                text,
                kind: e.change.kind().trim_start_matches("case_").to_string(),
            })
        })
        .collect()
}

/// The names of the materials a case still waits for (its open notice's outstanding items).
pub(crate) fn missing_names(l: &Loaded) -> Vec<String> {
    l.case
        .open_notice()
        .map(|n| {
            n.outstanding()
                .iter()
                .map(|code| names(&l.item, &[code.to_string()]))
                .collect()
        })
        .unwrap_or_default()
}

/// What an event means to the applicant, in plain Chinese (None: internal bookkeeping).
/// A date as the applicant reads it: 2026年3月2日.
fn day(d: chrono::NaiveDate) -> String {
    super::view::chinese_day(d)
}

fn plain(e: &CaseEvent, l: &Loaded, department: &str) -> Option<String> {
    let step = |node: &str| {
        l.process
            .node(node)
            .map_or_else(|| node.to_string(), |n| n.name.clone())
    };
    Some(match &e.change {
        Change::Received { .. } => {
            if e.by == "clerk:online" {
                "网上收到您的申请，等待窗口预审".to_string()
            } else if e.by == "clerk:bundle" {
                "前置事项办结，本事项自动开始办理".to_string()
            } else if let Some(ob) = &e.on_behalf_of {
                format!(
                    "帮办代办员 {} 凭您的授权委托书代您提交了申请",
                    ob.agent_name
                )
            } else {
                "窗口收到您的申请材料".to_string()
            }
        }
        Change::OneTimeNoticeGiven { items, .. } => {
            format!("材料不齐全，一次性告知您需补正：{}", names(&l.item, items))
        }
        Change::MaterialsReceived { materials } => {
            format!("收到您补正的材料：{}", names(&l.item, materials))
        }
        Change::Accepted { on, deemed: true } => format!(
            "收到材料后 5 个工作日内未告知补正，依法自{}起视为受理，开始计算办理时限",
            day(*on)
        ),
        Change::Accepted { on, .. } => format!("已受理（{}），开始计算办理时限", day(*on)),
        Change::Refused { reasons } => format!("不予受理，理由：{}", reasons.join("；")),
        Change::Routed { .. } => format!("已推送到{department}办理"),
        Change::RouteConfirmed { .. } => format!("{department}已接收，开始办理"),
        Change::StepClaimed { node } => format!("工作人员开始办理“{}”", step(node)),
        Change::StepApproved { node, .. } => format!("“{}”已通过", step(node)),
        Change::StepReturned { node, .. } => format!("“{}”退回上一环节重新办理", step(node)),
        Change::StepDeemedApproved { node, due } => format!(
            "“{}”在期限（{}）内未办理，按规定视为同意（超时默认通过），继续办理",
            step(node),
            day(*due)
        ),
        Change::LateOpinionRecorded { node, .. } => {
            format!("{department}补充了对“{}”的意见", step(node))
        }
        Change::TimerElapsed { node } => format!("“{}”等待期满", step(node)),
        Change::SupplementRequested { items, .. } => format!(
            "办理中需要您补正：{}，补正期间暂停计时",
            names(&l.item, items)
        ),
        Change::SuspensionStarted { suspension } => {
            format!("暂停计时：{}", suspension.reason.label())
        }
        Change::SuspensionEnded { .. } => "恢复计时".to_string(),
        Change::Extended { extension } => format!(
            "经批准延长 {} 个工作日，理由：{}",
            extension.days, extension.reason
        ),
        Change::Decided {
            outcome: Outcome::Approved,
            document_number,
            ..
        } => format!("作出准予决定（文书号 {document_number}）"),
        Change::Decided {
            outcome: Outcome::Denied,
            document_number,
            reasons,
            ..
        } => format!(
            "作出不予许可决定（文书号 {document_number}），理由：{}",
            reasons.join("；")
        ),
        Change::Issued { node, delivery } if node == WINDOW_NODE => match delivery {
            Delivery::Electronic { certificate } => {
                format!("窗口当场办结，电子证照 {certificate} 已签发，可在本页下载")
            }
            _ => "窗口当场办结，结果已当面交付".to_string(),
        },
        Change::Issued { delivery, .. } => match delivery {
            Delivery::Pickup { code } => format!("结果已凭取件码 {code} 在出件窗口领取"),
            Delivery::Locker { door, .. } => format!("结果经智能文件柜 {door} 号格口交付"),
            Delivery::Mail {
                carrier,
                tracking_number,
                ..
            } => format!("结果已邮寄：{carrier}，运单号 {tracking_number}"),
            Delivery::Electronic { certificate } => {
                format!("电子证照 {certificate} 已签发，可在本页下载")
            }
        },
        Change::OpinionRecorded { .. } | Change::TokensMoved { .. } => return None,
    })
}

/// The case, if it is one of this phone's.
pub(super) async fn my_case(st: &AppState, phone: &str, number: &str) -> Option<Loaded> {
    let l = service::load(st, number).await.ok()?;
    (l.case.applicant.phone == phone).then_some(l)
}

/// The bundle's view, if it is one of this phone's.
async fn my_bundle(st: &AppState, phone: &str, number: &str) -> Option<bundles::BundleView> {
    if !bundle_rows::exists(&st.db, number.trim()).await.ok()? {
        return None;
    }
    let first = yichuang_store::cases::records::children(&st.db, number.trim())
        .await
        .ok()?
        .into_iter()
        .next()?;
    my_case(st, phone, &first).await?;
    bundles::bundle_view(st, number).await.ok()
}

async fn department_name(st: &AppState, code: &str) -> String {
    catalogue::department(&st.db, code)
        .await
        .ok()
        .flatten()
        .map_or_else(|| code.to_string(), |d| d.name)
}

async fn case_view(st: &AppState, l: &Loaded, errors: FormErrors) -> Result<CasePage, Error> {
    let env = Env::at(st, st.now(), l.row.hall.as_deref()).await?;
    let c = super::view::case_view(l, &env);
    let steps = plain_steps(st, l).await;
    let wanted = l
        .case
        .open_notice()
        .map(|n| {
            n.outstanding()
                .iter()
                .map(|code| Wanted {
                    key: code.to_string(),
                    name: names(&l.item, &[code.to_string()]),
                    serves: String::new(),
                })
                .collect()
        })
        .unwrap_or_default();
    // The certificate is offered as soon as the approval put it in the vault, whatever way
    // the paper goes out (issue 10 item 10).
    let electronic = super::vault::certificate_material(st, l).await?.is_some();
    let rate = crate::ratings::rating_link(st, &l.case.number).await?;
    let lockers = match (&l.row.hall, yichuang_domain::locker::may_drop_off(&l.case)) {
        (Some(h), Ok(())) => yichuang_store::lockers::banks_of_hall(&st.db, h)
            .await?
            .into_iter()
            .map(|b| (b.code, b.name))
            .collect(),
        _ => Vec::new(),
    };
    let parcels = yichuang_store::lockers::parcels_of_case(&st.db, &l.case.number)
        .await?
        .iter()
        .filter(|p| p.parcel.closed_at.is_none())
        .map(crate::lockers::views::ParcelView::from)
        .collect();
    Ok(CasePage {
        lockers,
        parcels,
        booked: None,
        layout: layout(format!("我的办件 {}", l.case.number)),
        c,
        steps,
        wanted,
        electronic,
        errors,
        rate,
    })
}

fn bundle_wanted(b: &bundles::BundleView) -> Vec<Wanted> {
    b.notice_lines()
        .iter()
        .map(|l| Wanted {
            key: l.key.clone(),
            name: l.name.clone(),
            serves: l.items.join("、"),
        })
        .collect()
}

fn bundle_view_page(b: bundles::BundleView, errors: FormErrors) -> BundlePage {
    BundlePage {
        layout: layout(format!("我的办件 {}", b.number)),
        wanted: bundle_wanted(&b),
        b,
        errors,
    }
}

async fn not_mine() -> Response {
    crate::pages::not_found(crate::auth::MaybeActor(None)).await
}

async fn case_page(
    State(st): State<AppState>,
    MyPhone(phone): MyPhone,
    Path(number): Path<String>,
) -> Response {
    let Some(phone) = phone else {
        return Redirect::to("/my").into_response();
    };
    if let Some(b) = my_bundle(&st, &phone, &number).await {
        return render(&bundle_view_page(b, FormErrors::default()));
    }
    let Some(l) = my_case(&st, &phone, &number).await else {
        return not_mine().await;
    };
    match case_view(&st, &l, FormErrors::default()).await {
        Ok(p) => render(&p),
        Err(e) => with_status(render(&error_page(&e)), &e),
    }
}

#[derive(Template)]
#[template(path = "my_error.html")]
struct ErrorPage {
    layout: Layout,
    message: String,
}

fn error_page(e: &Error) -> ErrorPage {
    ErrorPage {
        layout: layout("出错了"),
        message: e.title.clone(),
    }
}

/// The text fields and the non-empty files of a multipart form (files by field name); a body
/// that is not a multipart form is an error shown on the page, like any other.
pub(crate) async fn read_form(
    m: Result<Multipart, MultipartRejection>,
) -> Result<(HashMap<String, String>, BTreeMap<String, Vec<u8>>), Error> {
    let mut m = m.map_err(|e| {
        Error::invalid("bad_upload", "请用页面上的表单提交").field("file", e.body_text())
    })?;
    let mut fields = HashMap::new();
    let mut files = BTreeMap::new();
    loop {
        let field = match m.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                return Err(Error::invalid("bad_upload", "上传未完成，请重试")
                    .field("file", format!("无法读取上传的内容（{}）", e.body_text())));
            }
        };
        let name = field.name().unwrap_or_default().to_string();
        if field.file_name().is_some() {
            let bytes = field.bytes().await.map_err(|e| {
                Error::invalid("bad_upload", "上传未完成，请重试").field(
                    name.clone(),
                    format!("文件读取失败或过大（{}）", e.body_text()),
                )
            })?;
            if !bytes.is_empty() {
                files.insert(name, bytes.to_vec());
            }
        } else {
            let v = field.text().await.unwrap_or_default();
            fields.insert(name, v);
        }
    }
    Ok((fields, files))
}

/// Each file checked (type and size), reported next to its own field.
fn check_files(files: &BTreeMap<String, Vec<u8>>) -> Result<(), Error> {
    let mut e = Error::validation(vec![]);
    let mut bad = false;
    for (field, bytes) in files {
        if let Err(x) = vault_store::check_upload(bytes) {
            bad = true;
            let msg = x
                .fields
                .first()
                .map_or(x.title.clone(), |f| f.message.clone());
            e = e.field(field.clone(), msg);
        }
    }
    if bad { Err(e) } else { Ok(()) }
}

/// The files of a notice form (`f_<key>`), as (key, bytes).
fn notice_files(files: BTreeMap<String, Vec<u8>>) -> Vec<(String, Vec<u8>)> {
    files
        .into_iter()
        .filter_map(|(k, v)| k.strip_prefix("f_").map(|key| (key.to_string(), v)))
        .collect()
}

fn nothing_chosen() -> Error {
    Error::invalid("no_file", "请选择要上传的材料")
        .field("files", "请至少为一项需补正的材料选择文件")
}

async fn supplement(
    State(st): State<AppState>,
    MyPhone(phone): MyPhone,
    Path(number): Path<String>,
    form: Result<Multipart, MultipartRejection>,
) -> Response {
    let Some(phone) = phone else {
        return Redirect::to("/my").into_response();
    };
    let read = read_form(form).await;
    if let Some(b) = my_bundle(&st, &phone, &number).await {
        let result = match read {
            Ok((_, files)) => supplement_bundle(&st, &b, files).await,
            Err(e) => Err(e),
        };
        return match result {
            Ok(()) => Redirect::to(&format!("/my/cases/{number}")).into_response(),
            Err(e) => {
                let b = bundles::bundle_view(&st, &number).await.unwrap_or(b);
                with_status(render(&bundle_view_page(b, FormErrors::of(&e))), &e)
            }
        };
    }
    let Some(l) = my_case(&st, &phone, &number).await else {
        return not_mine().await;
    };
    let result = match read {
        Ok((_, files)) => supplement_case(&st, &l, files).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Redirect::to(&format!("/my/cases/{number}")).into_response(),
        Err(e) => {
            let l = my_case(&st, &phone, &number).await.unwrap_or(l);
            match case_view(&st, &l, FormErrors::of(&e)).await {
                Ok(p) => with_status(render(&p), &e),
                Err(e2) => with_status(render(&error_page(&e2)), &e2),
            }
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LockerForm {
    locker: String,
    size: String,
}

/// 预约文件柜投递: the door and the code are shown once on the page (and sent by SMS).
async fn book_locker(
    State(st): State<AppState>,
    MyPhone(phone): MyPhone,
    Path(number): Path<String>,
    f: Result<axum::Form<LockerForm>, FormRejection>,
) -> Response {
    let Some(phone) = phone else {
        return Redirect::to("/my").into_response();
    };
    let Some(l) = my_case(&st, &phone, &number).await else {
        return not_mine().await;
    };
    let f = f.map(|axum::Form(f)| f).unwrap_or_default();
    let booked = crate::lockers::book_drop_off(&st, &phone, &number, &f.locker, &f.size).await;
    st.hall_feed.wake();
    let l = my_case(&st, &phone, &number).await.unwrap_or(l);
    match booked {
        Ok(p) => match case_view(&st, &l, FormErrors::default()).await {
            Ok(mut page) => {
                page.booked = Some(crate::lockers::views::PlacedView::of(&p, &number, true));
                render(&page)
            }
            Err(e) => with_status(render(&error_page(&e)), &e),
        },
        Err(e) => match case_view(&st, &l, FormErrors::at(&e, "locker")).await {
            Ok(p) => with_status(render(&p), &e),
            Err(e2) => with_status(render(&error_page(&e2)), &e2),
        },
    }
}

/// The supplement of a case with the uploaded files, which go into the vault in the same
/// transaction (R-SUPPLEMENT-PAUSE; a supplement that completes the materials accepts the
/// case and pushes it to the department).
pub(super) async fn supplement_case(
    st: &AppState,
    l: &Loaded,
    files: BTreeMap<String, Vec<u8>>,
) -> Result<(), Error> {
    check_files(&files)?;
    let files = notice_files(files);
    if files.is_empty() {
        return Err(nothing_chosen());
    }
    let codes: Vec<String> = files.iter().map(|(k, _)| k.clone()).collect();
    let uploads: Vec<Upload> = files
        .into_iter()
        .map(|(code, bytes)| Upload {
            name: names(&l.item, std::slice::from_ref(&code)),
            code,
            bytes,
            valid_until: None,
        })
        .collect();
    let actor = phone_actor(l.row.hall.clone());
    let blobs = blob_store(st).await?;
    let now = st.now();
    let mut written = Vec::new();
    let result = async {
        let prepared = prepare_all(&blobs, &uploads, &mut written).await?;
        let mut tx = st.db.begin().await?;
        let after = service::change_in(
            &mut tx,
            st,
            now,
            &l.case.number,
            Some(&actor),
            |case, ctx| service::supplement_then_route(case, codes.clone(), &actor, ctx),
        )
        .await?;
        store_all(
            &mut tx,
            &blobs,
            after.row.applicant_id,
            &after.case.number,
            &actor.event_name(),
            &prepared,
            now,
            &mut written,
        )
        .await?;
        tx.commit().await?;
        Ok::<_, Error>(())
    }
    .await;
    if result.is_err() {
        blobs.discard(&st.db, &written).await;
    }
    result
}

/// The bundle's supplement with the uploaded files (each shared material once).
async fn supplement_bundle(
    st: &AppState,
    b: &bundles::BundleView,
    files: BTreeMap<String, Vec<u8>>,
) -> Result<(), Error> {
    check_files(&files)?;
    let files = notice_files(files);
    if files.is_empty() {
        return Err(nothing_chosen());
    }
    let wanted = bundle_wanted(b);
    let keys: Vec<String> = files.iter().map(|(k, _)| k.clone()).collect();
    let uploads: Vec<Upload> = files
        .into_iter()
        .map(|(key, bytes)| Upload {
            name: wanted
                .iter()
                .find(|w| w.key == key)
                .map_or_else(|| key.clone(), |w| w.name.clone()),
            code: key,
            bytes,
            valid_until: None,
        })
        .collect();
    let number = b.number.clone();
    let actor = phone_actor(b.hall.clone());
    let blobs = blob_store(st).await?;
    let now = st.now();
    let mut written = Vec::new();
    let result = async {
        let prepared = prepare_all(&blobs, &uploads, &mut written).await?;
        let mut tx = st.db.begin().await?;
        let row = bundles::supplement_in(&mut tx, st, &actor, &number, keys).await?;
        store_all(
            &mut tx,
            &blobs,
            row.applicant_id,
            &number,
            &actor.event_name(),
            &prepared,
            now,
            &mut written,
        )
        .await?;
        tx.commit().await?;
        Ok::<_, Error>(())
    }
    .await;
    if result.is_err() {
        blobs.discard(&st.db, &written).await;
    }
    result
}

// --- the electronic certificate -------------------------------------------------------------

/// The electronic certificate as the PDF the approval put in the applicant's vault.
async fn certificate(
    State(st): State<AppState>,
    MyPhone(phone): MyPhone,
    Path(number): Path<String>,
) -> Response {
    let Some(phone) = phone else {
        return Redirect::to("/my").into_response();
    };
    let Some(l) = my_case(&st, &phone, &number).await else {
        return not_mine().await;
    };
    // The approval left the certificate in the vault: the holder may download it from then on.
    let (_, bytes) = match super::vault::certificate_file(&st, &l).await {
        Ok(Some(f)) => f,
        Ok(None) => {
            let e = Error::not_found("no_certificate", "该办件尚未审批通过，没有电子证照");
            return with_status(render(&error_page(&e)), &e);
        }
        Err(e) => return with_status(render(&error_page(&e)), &e),
    };
    let filename = format!("{}.pdf", issuance::certificate_number(&l.row.number));
    (
        crate::security::file_headers("application/pdf", &filename),
        bytes,
    )
        .into_response()
}

// --- applying online ----------------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(default)]
struct ApplyQuery {
    item: String,
}

#[derive(Template)]
#[template(path = "my_apply.html")]
struct ApplyPage {
    layout: Layout,
    items: Vec<(String, String)>,
    item: Option<ServiceItem>,
    phone_masked: String,
    f: Applying,
    errors: FormErrors,
}

/// The online application form as the applicant filled it (kept when it comes back).
struct Applying {
    item: String,
    kind: String,
    name: String,
    id_number: String,
    answers: BTreeMap<String, String>,
    /// The receipt's key ([`ReceiptKey`]): 提交 pressed twice makes one case.
    receipt_key: String,
}

impl Applying {
    /// An empty form for `item`, with a new key (without one, no randomness to be had, the
    /// form still makes its case, unguarded).
    fn new(item: String) -> Applying {
        Applying {
            item,
            kind: "person".into(),
            name: String::new(),
            id_number: String::new(),
            answers: BTreeMap::new(),
            receipt_key: service::new_receipt_key().unwrap_or_default(),
        }
    }
}

impl ApplyPage {
    fn answered(&self, q: &str, o: &str) -> bool {
        self.f.answers.get(q).map(String::as_str) == Some(o)
    }

    fn answer_error(&self, q: &str) -> Option<&str> {
        self.errors.get(&format!("answers.{q}"))
    }

    fn file_error(&self, code: &str) -> Option<&str> {
        self.errors.get(&format!("f_{code}"))
    }
}

/// The active items that can be applied for online.
async fn online_items(st: &AppState) -> Vec<(String, String)> {
    let q = ItemQuery {
        q: None,
        department: None,
        status: ItemStatus::Active,
        offset: 0,
        limit: 2000,
    };
    catalogue::list_items(&st.db, &q)
        .await
        .map(|(_, v)| {
            v.into_iter()
                .filter(|i| i.online)
                .map(|i| (i.code, i.name))
                .collect()
        })
        .unwrap_or_default()
}

async fn apply_form(st: &AppState, phone: &str, f: Applying, errors: FormErrors) -> ApplyPage {
    ApplyPage {
        layout: layout("网上申请"),
        items: online_items(st).await,
        item: super::items::current_item(&st.db, &f.item)
            .await
            .ok()
            .map(|(_, i)| i),
        phone_masked: mask_phone(phone),
        f,
        errors,
    }
}

async fn apply_page(
    State(st): State<AppState>,
    MyPhone(phone): MyPhone,
    Query(q): Query<ApplyQuery>,
) -> Response {
    let Some(phone) = phone else {
        return Redirect::to("/my").into_response();
    };
    let page = apply_form(&st, &phone, Applying::new(q.item), FormErrors::default()).await;
    render(&page)
}

async fn apply_submit(
    State(st): State<AppState>,
    MyPhone(phone): MyPhone,
    form: Result<Multipart, MultipartRejection>,
) -> Response {
    let Some(phone) = phone else {
        return Redirect::to("/my").into_response();
    };
    let (fields, files) = match read_form(form).await {
        Ok(x) => x,
        Err(e) => {
            let f = Applying::new(String::new());
            let page = apply_form(&st, &phone, f, FormErrors::of(&e)).await;
            return with_status(render(&page), &e);
        }
    };
    let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
    let answers: BTreeMap<String, String> = fields
        .iter()
        .filter_map(|(k, v)| k.strip_prefix("a_").map(|q| (q.to_string(), v.clone())))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    match apply(&st, &phone, &fields, files, answers.clone()).await {
        Ok(number) => Redirect::to(&format!("/my/cases/{number}")).into_response(),
        Err(e) => {
            let f = Applying {
                item: get("item"),
                kind: get("kind"),
                name: get("name"),
                id_number: get("id_number"),
                answers,
                // Nothing was made with it, so the corrected form may use it again; one that
                // made another applicant's case gives way to a new one.
                receipt_key: if e.code == service::RECEIPT_KEY_REUSED {
                    service::new_receipt_key().unwrap_or_default()
                } else {
                    get("receipt_key")
                },
            };
            let page = apply_form(&st, &phone, f, FormErrors::of(&e)).await;
            with_status(render(&page), &e)
        }
    }
}

/// An online application (the same receipt as `POST /api/v1/applicant/applications`), with its
/// files stored in the vault in the receiving transaction.
async fn apply(
    st: &AppState,
    phone: &str,
    fields: &HashMap<String, String>,
    files: BTreeMap<String, Vec<u8>>,
    answers: BTreeMap<String, String>,
) -> Result<String, Error> {
    let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
    check_files(&files)?;
    let files = notice_files(files);
    let (item_version, item) = super::items::current_item(&st.db, &get("item")).await?;
    let process = super::items::process_for(&st.db, &item).await?;
    let uploads: Vec<Upload> = files
        .into_iter()
        .map(|(code, bytes)| Upload {
            name: names(&item, std::slice::from_ref(&code)),
            code,
            bytes,
            valid_until: None,
        })
        .collect();
    let app = Application {
        item: item.code.clone(),
        receipt: Receipt {
            number: String::new(),
            applicant: Applicant {
                kind: if get("kind") == "enterprise" {
                    ApplicantKind::Enterprise
                } else {
                    ApplicantKind::Person
                },
                name: get("name"),
                id_number: get("id_number"),
                phone: phone.to_string(),
            },
            materials: uploads.iter().map(|u| u.code.clone()).collect(),
            answers,
            parent: None,
        },
        // A form without a good key (one rendered before keys) still makes its case.
        key: ReceiptKey::parse(&get("receipt_key")).ok(),
    };
    let actor = super::online::online_desk();
    let (app, actor) = (&app, &actor);
    let blobs = blob_store(st).await?;
    let env = Env::at(st, st.now(), None).await?;
    let receive = async {
        let mut written = Vec::new();
        let result = async {
            let prepared = prepare_all(&blobs, &uploads, &mut written).await?;
            let mut tx = st.db.begin().await?;
            let l = service::receive_in(
                &mut tx,
                &env,
                actor,
                Channel::Online,
                item_version,
                item,
                process,
                app.receipt.clone(),
            )
            .await?;
            if let Some(key) = &app.key {
                records::set_receipt_key(&mut tx, l.row.id, key).await?;
            }
            store_all(
                &mut tx,
                &blobs,
                l.row.applicant_id,
                &l.case.number,
                &actor.event_name(),
                &prepared,
                env.now,
                &mut written,
            )
            .await?;
            tx.commit().await?;
            Ok::<_, Error>(l.case.number)
        }
        .await;
        if result.is_err() {
            blobs.discard(&st.db, &written).await;
        }
        result
    };
    service::once_per_key(
        st,
        Receipts::Cases,
        app.key.as_ref(),
        receive,
        |number| async move {
            let l = service::made_before(st, actor, Channel::Online, number, app).await?;
            Ok(l.case.number)
        },
    )
    .await
}

// --- templates ----------------------------------------------------------------------------------

impl CasePage {
    fn file_error(&self, key: &str) -> Option<&str> {
        self.errors.get(&format!("f_{key}"))
    }
}

impl BundlePage {
    fn file_error(&self, key: &str) -> Option<&str> {
        self.errors.get(&format!("f_{key}"))
    }
}

/// Used by the list template.
impl Line {
    fn words(&self) -> &'static str {
        self.warning.map_or("", Warning::plain_words)
    }

    fn warning_code(&self) -> &'static str {
        self.warning.map_or("", Warning::code)
    }
}
