//! The applicant online: phone login with a one-time code sent through the notification
//! outbox, their cases, and online applications, which the front desk pre-reviews (预审):
//! accept, or give the one-time notice (R-ACCEPT-5D: five working days, else deemed accepted —
//! the case's deadline timer sees to it).

use axum::Router;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use chrono::Duration;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use yichuang_domain::case::{Applicant, ApplicantKind, Command, Receipt};
use yichuang_domain::identity::parse_mobile;
use yichuang_domain::pii::mask_phone;
use yichuang_domain::{Actor, Error, Kind};
use yichuang_store::cases::{outbox, phone_login};

use super::service::{self, Application, Channel};
use crate::auth::{CurrentActor, request_token};
use crate::error::{ApiResult, Problem};
use crate::extract::{Json, Path};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/applicant/code", post(send_code))
        .route("/api/v1/applicant/login", post(login))
        .route("/api/v1/applicant/cases", get(my_cases))
        .route("/api/v1/applicant/applications", post(apply))
        .route(
            "/api/v1/applicant/cases/{number}/materials/{code}",
            put(upload).layer(DefaultBodyLimit::max(
                yichuang_store::cases::vault::MAX_BYTES + 1,
            )),
        )
        .route("/api/v1/cases/{number}/accept", post(accept))
        .route("/api/v1/cases/{number}/notice", post(notice))
}

/// A code lives 5 minutes; a new one may be asked for after a minute; 5 wrong tries end it.
const CODE_MINUTES: i64 = 5;
const RESEND_SECONDS: i64 = 60;
const MAX_ATTEMPTS: i64 = 5;
const SESSION_HOURS: i64 = 12;

fn digest(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn random_digits(n: usize) -> Result<String, Error> {
    let mut b = vec![0u8; n];
    getrandom::fill(&mut b).map_err(Error::internal)?;
    Ok(b.iter().map(|x| char::from(b'0' + x % 10)).collect())
}

#[derive(Deserialize)]
struct CodeBody {
    phone: String,
}

/// Sends a one-time login code to `phone` through the outbox (one a minute).
pub async fn send_code_to(st: &AppState, phone: &str) -> Result<(), Error> {
    let phone = parse_mobile(phone).map_err(|e| e.into_error("phone"))?;
    let now = st.now();
    let code = random_digits(6)?;
    let mut tx = st.db.begin().await?;
    if let Some(p) = phone_login::pending(&mut tx, &phone).await?
        && p.created_at + RESEND_SECONDS * 1_000_000 > yichuang_store::micros(now)
    {
        return Err(Error::new(
            Kind::TooMany,
            "code_too_soon",
            "验证码已发送，请 1 分钟后再试",
        )
        .field("phone", "验证码已发送，请 1 分钟后再试"));
    }
    phone_login::put_code(
        &mut tx,
        &phone,
        &digest(&code),
        now,
        now + Duration::minutes(CODE_MINUTES),
    )
    .await?;
    let text =
        format!("【一窗】您的登录验证码为 {code}，{CODE_MINUTES} 分钟内有效。请勿告诉他人。");
    outbox::enqueue(
        &mut tx,
        "login_code",
        // Masked (R-PII): a plain SHA-256 of an 11-digit number is undone by trying them all,
        // and the subject is logged by the log sender and sent to the SMS gateway.
        &format!("phone:{}", mask_phone(&phone)),
        &phone,
        &text,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

async fn send_code(State(st): State<AppState>, Json(b): Json<CodeBody>) -> ApiResult<Response> {
    send_code_to(&st, &b.phone).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(json!({"sent": true}))).into_response())
}

#[derive(Deserialize)]
struct LoginBody {
    phone: String,
    code: String,
}

/// Signs in with the code sent to `phone`: a session token (one code, one sign-in; five wrong
/// tries end the code).
pub async fn sign_in(st: &AppState, phone: &str, code: &str) -> Result<String, Error> {
    let phone = parse_mobile(phone).map_err(|e| e.into_error("phone"))?;
    let now = st.now();
    let wrong = || {
        Error::invalid("wrong_code", "验证码不正确或已过期")
            .field("code", "请输入短信中的 6 位验证码")
    };
    let mut tx = st.db.begin().await?;
    let Some(p) = phone_login::pending(&mut tx, &phone).await? else {
        return Err(wrong());
    };
    if p.expires_at <= yichuang_store::micros(now) || p.attempts >= MAX_ATTEMPTS {
        phone_login::drop_code(&mut tx, &phone).await?;
        tx.commit().await?;
        return Err(wrong());
    }
    if p.code_hash != digest(code.trim()) {
        phone_login::count_attempt(&mut tx, &phone).await?;
        tx.commit().await?;
        return Err(wrong());
    }
    phone_login::drop_code(&mut tx, &phone).await?;
    let token = random_digits(32)?;
    phone_login::open_session(
        &mut tx,
        &digest(&token),
        &phone,
        now,
        now + Duration::hours(SESSION_HOURS),
    )
    .await?;
    tx.commit().await?;
    Ok(token)
}

/// The phone a live applicant session token belongs to.
pub async fn session_phone(st: &AppState, token: &str) -> Result<Option<String>, Error> {
    phone_login::session_phone(&st.db, &digest(token), st.now()).await
}

/// Ends an applicant session.
pub async fn sign_out(st: &AppState, token: &str) -> Result<(), Error> {
    let mut tx = st.db.begin().await?;
    phone_login::close_session(&mut tx, &digest(token)).await?;
    tx.commit().await?;
    Ok(())
}

async fn login(State(st): State<AppState>, Json(b): Json<LoginBody>) -> ApiResult<Response> {
    let token = sign_in(&st, &b.phone, &b.code).await?;
    Ok(axum::Json(json!({"token": token})).into_response())
}

/// An applicant signed in by phone.
pub struct ApplicantSession {
    pub phone: String,
}

impl FromRequestParts<AppState> for ApplicantSession {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Problem> {
        let token = request_token(parts).ok_or_else(|| Problem(Error::unauthorized()))?;
        let phone = session_phone(st, &token)
            .await?
            .ok_or_else(|| Problem(Error::unauthorized()))?;
        Ok(ApplicantSession { phone })
    }
}

async fn my_cases(State(st): State<AppState>, who: ApplicantSession) -> ApiResult<Response> {
    let rows = phone_login::cases_of_phone(&st.db, &who.phone).await?;
    let items: Vec<_> = rows
        .iter()
        .map(|(number, item, status, due, parent)| json!({"number": number, "item": item, "status": status, "due_date": due, "bundle_case": parent}))
        .collect();
    Ok(axum::Json(json!({"items": items})).into_response())
}

#[derive(Deserialize)]
struct ApplyBody {
    item: String,
    kind: ApplicantKind,
    name: String,
    id_number: String,
    #[serde(default)]
    materials: Vec<String>,
    #[serde(default)]
    answers: std::collections::BTreeMap<String, String>,
}

/// The front desk's online inbox signs online receipts: the domain records who received it.
pub fn online_desk() -> Actor {
    Actor::online_desk()
}

async fn apply(
    State(st): State<AppState>,
    who: ApplicantSession,
    headers: axum::http::HeaderMap,
    Json(b): Json<ApplyBody>,
) -> ApiResult<Response> {
    let key = super::api::receipt_key(&headers)?;
    let app = Application {
        item: b.item,
        receipt: Receipt {
            number: String::new(),
            applicant: Applicant {
                kind: b.kind,
                name: b.name,
                id_number: b.id_number,
                phone: who.phone,
            },
            materials: b.materials,
            answers: b.answers,
            parent: None,
        },
        key,
    };
    let l = service::receive_as(&st, &online_desk(), app, Channel::Online).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"number": l.case.number, "status": l.case.status.as_str()})),
    )
        .into_response())
}

/// The applicant uploads a material the one-time notice asks for (the phone page's upload, for
/// apps): the file goes into the vault and supplements the case in one transaction; the last
/// missing one accepts the case and pushes it to the department.
async fn upload(
    State(st): State<AppState>,
    who: ApplicantSession,
    Path((number, code)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Response> {
    let Some(l) = super::my::my_case(&st, &who.phone, &number).await else {
        return Err(Error::not_found("case_not_found", "没有这个办件").into());
    };
    let files = std::collections::BTreeMap::from([(format!("f_{code}"), body.to_vec())]);
    super::my::supplement_case(&st, &l, files).await?;
    let l = service::load(&st, &number).await?;
    let missing = l
        .case
        .open_notice()
        .map(|n| n.outstanding())
        .unwrap_or_default();
    Ok(axum::Json(json!({"number": l.case.number,
        "status": l.case.status.as_str(), "missing": missing}))
    .into_response())
}

/// Pre-review: the front desk accepts an online application.
async fn accept(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(number): Path<String>,
) -> ApiResult<Response> {
    let l = service::run(&st, &number, &actor, &Command::Accept).await?;
    super::api::answer(&st, &l, StatusCode::OK).await
}

#[derive(Deserialize)]
struct NoticeBody {
    items: Vec<String>,
    #[serde(default)]
    note: String,
}

/// Pre-review: the one-time notice, online (it must list everything missing).
async fn notice(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(number): Path<String>,
    Json(b): Json<NoticeBody>,
) -> ApiResult<Response> {
    let c = Command::GiveOneTimeNotice {
        items: b.items,
        note: b.note,
    };
    let l = service::run(&st, &number, &actor, &c).await?;
    super::api::answer(&st, &l, StatusCode::OK).await
}
