//! `/api/v1/cases…`: API-V1 "Catalogue and cases" and the back-office commands around it.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use yichuang_domain::case::{Applicant, Command, Delivery, Outcome, Receipt, ReceiptKey};
use yichuang_domain::workdays::WorkingDays;
use yichuang_domain::{Actor, Error, Role};
use yichuang_store::cases::{issuance, outbox, records};

use super::bundles;
use super::service::{self, Application, Env, Loaded};
use super::view;
use crate::auth::CurrentActor;
use crate::clock::hall_time;
use crate::error::ApiResult;
use crate::extract::{Json, Path, Query};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/cases", post(create))
        .route("/api/v1/cases/{number}", get(show))
        .route("/api/v1/cases/{number}/supplement", post(supplement))
        .route("/api/v1/cases/{number}/refuse", post(refuse))
        .route("/api/v1/cases/{number}/route", post(route))
        .route("/api/v1/cases/{number}/confirm", post(confirm))
        .route("/api/v1/cases/{number}/extend", post(extend))
        .route("/api/v1/cases/{number}/notifications", get(notifications))
        .route("/api/v1/cases/{number}/certificate", get(certificate))
        .route("/api/v1/cases/{number}/steps/{node}/{action}", post(step))
        .route("/api/v1/departments/{department}/worklist", get(worklist))
        .route("/api/v1/query/cases", get(public_query))
        .route(
            "/api/v1/processes/{item}",
            get(show_process).put(save_process),
        )
        .route("/api/v1/bundle-cases", post(create_bundle_case))
        .route("/api/v1/bundle-cases/{number}", get(show_bundle_case))
        .route(
            "/api/v1/bundle-cases/{number}/supplement",
            post(supplement_bundle_case),
        )
        .route(
            "/api/v1/bundle-cases/{number}/issue",
            post(issue_bundle_case),
        )
}

#[derive(Deserialize)]
struct NewCaseBody {
    item: String,
    applicant: Applicant,
    #[serde(default)]
    materials: Vec<String>,
    #[serde(default)]
    answers: BTreeMap<String, String>,
    #[serde(default)]
    parent: Option<String>,
    /// An agent's mandate (授权委托书) to file for the applicant.
    #[serde(default)]
    mandate: Option<String>,
}

pub(crate) async fn answer(
    state: &AppState,
    l: &Loaded,
    status: StatusCode,
) -> ApiResult<Response> {
    let env = Env::at(state, state.now(), l.row.hall.as_deref()).await?;
    // Serialized straight from the view: a `serde_json::Value` in between cost every command
    // a tree of maps and strings as large as the case's timeline (docs/performance.md, issue
    // 9's fifteenth part).
    Ok((status, axum::Json(view::case_view(l, &env))).into_response())
}

/// The header a client names a receipt with, so that sending it again answers the same case
/// ([`ReceiptKey`]).
pub const RECEIPT_KEY_HEADER: &str = "idempotency-key";

/// The receipt's key, if the client sent one; a malformed one is refused (422), not ignored.
pub fn receipt_key(headers: &axum::http::HeaderMap) -> yichuang_domain::Result<Option<ReceiptKey>> {
    headers
        .get(RECEIPT_KEY_HEADER)
        .map(|v| ReceiptKey::parse(v.to_str().unwrap_or_default()))
        .transpose()
}

async fn create(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    headers: axum::http::HeaderMap,
    Json(b): Json<NewCaseBody>,
) -> ApiResult<Response> {
    let key = receipt_key(&headers)?;
    let actor = crate::agency::acting_for(
        &st,
        &actor,
        b.mandate.as_deref(),
        &b.applicant.id_number,
        &yichuang_domain::agency::MandateTarget::Item(b.item.trim().to_string()),
        yichuang_domain::agency::MandateAction::Apply,
    )
    .await?;
    let l = service::receive(
        &st,
        &actor,
        Application {
            item: b.item,
            receipt: Receipt {
                number: String::new(),
                applicant: b.applicant,
                materials: b.materials,
                answers: b.answers,
                parent: b.parent,
            },
            key,
        },
    )
    .await?;
    // A receipt sent again with its key answers as the first did.
    answer(&st, &l, StatusCode::CREATED).await
}

async fn show(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(number): Path<String>,
) -> ApiResult<Response> {
    let l = service::load(&st, &number).await?;
    service::may_view(&actor, &l)?;
    answer(&st, &l, StatusCode::OK).await
}

async fn command(st: &AppState, number: &str, actor: &Actor, c: Command) -> ApiResult<Response> {
    let l = service::run(st, number, actor, &c).await?;
    answer(st, &l, StatusCode::OK).await
}

#[derive(Deserialize)]
struct MaterialsBody {
    materials: Vec<String>,
    /// An agent's mandate (授权委托书) to hand the supplement in for the applicant.
    #[serde(default)]
    mandate: Option<String>,
}

async fn supplement(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(number): Path<String>,
    Json(b): Json<MaterialsBody>,
) -> ApiResult<Response> {
    let actor = match b.mandate.as_deref() {
        Some(m) => {
            let l = service::load(&st, &number).await?;
            crate::agency::acting_for(
                &st,
                &actor,
                Some(m),
                &l.case.applicant.id_number,
                &yichuang_domain::agency::MandateTarget::Item(l.case.item.clone()),
                yichuang_domain::agency::MandateAction::Supplement,
            )
            .await?
        }
        None => actor,
    };
    let c = Command::Supplement {
        materials: b.materials,
    };
    command(&st, &number, &actor, c).await
}

#[derive(Deserialize)]
struct ReasonsBody {
    reasons: Vec<String>,
}

async fn refuse(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(number): Path<String>,
    Json(b): Json<ReasonsBody>,
) -> ApiResult<Response> {
    let c = Command::Refuse { reasons: b.reasons };
    command(&st, &number, &actor, c).await
}

async fn route(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(number): Path<String>,
) -> ApiResult<Response> {
    command(&st, &number, &actor, Command::Route).await
}

async fn confirm(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(number): Path<String>,
) -> ApiResult<Response> {
    command(&st, &number, &actor, Command::ConfirmRoute).await
}

#[derive(Deserialize)]
struct ExtendBody {
    reason: String,
    approved_by: String,
}

async fn extend(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(number): Path<String>,
    Json(b): Json<ExtendBody>,
) -> ApiResult<Response> {
    let c = Command::Extend {
        reason: b.reason,
        approved_by: b.approved_by,
    };
    command(&st, &number, &actor, c).await
}

/// The body of a step action; which fields matter depends on the action.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct StepBody {
    pub opinion: String,
    pub reason: String,
    pub items: Vec<String>,
    pub note: String,
    pub name: String,
    pub days: Option<u32>,
    pub outcome: Option<Outcome>,
    pub document_number: String,
    pub reasons: Vec<String>,
    /// Issuance: `pickup` | `mail` | `electronic`.
    pub method: String,
    /// Mail: where it goes.
    pub address: String,
    pub carrier: String,
    pub tracking_number: String,
}

/// A six-digit pickup code (取件码).
pub(crate) fn pickup_code() -> Result<String, Error> {
    let mut b = [0u8; 4];
    getrandom::fill(&mut b).map_err(Error::internal)?;
    Ok(format!("{:06}", u32::from_le_bytes(b) % 1_000_000))
}

pub(crate) async fn step_command(
    st: &AppState,
    number: &str,
    node: String,
    action: &str,
    b: StepBody,
) -> Result<Command, Error> {
    Ok(match action {
        "claim" => Command::Claim { node },
        "opinion" => Command::RecordOpinion {
            node,
            opinion: b.opinion,
        },
        "approve" => Command::Approve {
            node,
            opinion: b.opinion,
        },
        "return" => Command::Return {
            node,
            reason: b.reason,
        },
        "supplement" => Command::RequestSupplement {
            node,
            items: b.items,
            note: b.note,
        },
        "special-procedure" => Command::StartSpecialProcedure {
            node,
            name: b.name,
            days: b.days,
        },
        "special-procedure-end" => Command::EndSpecialProcedure { node },
        "late-opinion" => Command::RecordLateOpinion {
            node,
            opinion: b.opinion,
        },
        "decide" => Command::Decide {
            node,
            outcome: b.outcome.ok_or_else(|| {
                Error::validation(vec![]).field(
                    "outcome",
                    "请选择决定结果：approved（准予）或 denied（不予）",
                )
            })?,
            document_number: b.document_number,
            reasons: b.reasons,
        },
        "issue" => Command::Issue {
            node,
            delivery: match b.method.as_str() {
                "pickup" => Delivery::Pickup {
                    code: pickup_code()?,
                },
                "mail" => Delivery::Mail {
                    address: b.address,
                    carrier: b.carrier,
                    tracking_number: b.tracking_number,
                },
                "electronic" => {
                    let cert = issuance::certificate_of(&st.db, number).await?;
                    Delivery::Electronic {
                        certificate: cert.map(|c| c.number).ok_or_else(|| {
                            Error::conflict(
                                "no_certificate",
                                "该办件没有电子证照（仅准予的办件签发证照）",
                            )
                        })?,
                    }
                }
                _ => {
                    return Err(Error::validation(vec![]).field(
                        "method",
                        "出件方式应为 pickup（窗口领取）、mail（邮寄）或 electronic（电子证照）",
                    ));
                }
            },
        },
        other => {
            return Err(Error::not_found(
                "unknown_step_action",
                format!("没有“{other}”这种环节操作"),
            ));
        }
    })
}

async fn step(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path((number, node, action)): Path<(String, String, String)>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    // Claiming and ending a procedure need no body: an empty one is fine.
    let b: StepBody = if body.iter().all(u8::is_ascii_whitespace) {
        StepBody::default()
    } else {
        crate::extract::from_json_slice(&body)
            .map_err(|e| crate::error::malformed(None, format!("无法识别提交的内容：{e}")))?
    };
    let c = step_command(&st, &number, node, &action, b).await?;
    command(&st, &number, &actor, c).await
}

async fn notifications(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(number): Path<String>,
) -> ApiResult<Response> {
    let l = service::load(&st, &number).await?;
    service::may_view(&actor, &l)?;
    let list = outbox::for_subject(&st.db, &l.case.number).await?;
    let items: Vec<Value> = list
        .iter()
        .map(|m| {
            json!({"id": m.id, "kind": m.kind, "body": m.body,
                        "sent": m.sent_at.is_some(), "attempts": m.attempts})
        })
        .collect();
    Ok(axum::Json(json!({"items": items})).into_response())
}

async fn certificate(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(number): Path<String>,
) -> ApiResult<Response> {
    let l = service::load(&st, &number).await?;
    service::may_view(&actor, &l)?;
    let c = issuance::certificate_of(&st.db, &l.case.number)
        .await?
        .ok_or_else(|| Error::not_found("no_certificate", "该办件没有证照"))?;
    // The PDF the approval put in the applicant's vault, where later cases find it.
    let file = super::vault::certificate_material(&st, &l).await?.map(|m| {
        json!({"material_code": m.material_code, "sha256": m.sha256, "size": m.size,
                        "content_type": m.content_type,
                        "href": format!("/api/v1/cases/{}/files/{}", l.row.number, m.sha256)})
    });
    Ok(axum::Json(
        json!({"number": c.number, "case": c.case_number, "item": c.item,
        "title": service::certificate_title(&l.item),
        "holder": l.case.applicant.masked(), "issued_on": c.issued_on, "valid_until": c.valid_until,
        "file": file}),
    )
    .into_response())
}

#[derive(Deserialize)]
struct WorklistQuery {
    /// `todo` (待办, default) | `done` (已办) | `due_soon` (即将超期) | `overdue` (已超期).
    #[serde(default)]
    view: Option<String>,
}

/// Working days ahead that count as "即将超期".
const DUE_SOON_DAYS: i64 = 2;

/// The rows of one worklist view: `todo` (待办), `done` (已办), `due_soon` (即将超期),
/// `overdue` (已超期).
pub(crate) async fn worklist_rows(
    st: &AppState,
    actor: &Actor,
    department: &str,
    view: &str,
) -> Result<Vec<records::WorkRow>, Error> {
    actor.require_role(
        &[Role::Approver, Role::Admin, Role::Supervisor],
        "查看部门工作台",
    )?;
    actor.require_department(department, "查看")?;
    let env = Env::at(st, st.now(), actor.hall.as_deref()).await?;
    let today = env.today();
    Ok(match view {
        "todo" => records::open_steps(&st.db, department, None, None, 500).await?,
        "due_soon" => {
            let until = env.calendar.add_working_days(today, DUE_SOON_DAYS);
            records::open_steps(&st.db, department, Some(today), Some(until), 500).await?
        }
        "overdue" => {
            let yesterday = today.pred_opt().unwrap_or(today);
            records::open_steps(&st.db, department, None, Some(yesterday), 500).await?
        }
        "done" => records::done(&st.db, department, 500).await?,
        other => {
            return Err(Error::validation(vec![]).field(
                "view",
                format!("“{other}”不是工作台视图：todo、done、due_soon 或 overdue"),
            ));
        }
    })
}

async fn worklist(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(department): Path<String>,
    Query(q): Query<WorklistQuery>,
) -> ApiResult<Response> {
    let view = q.view.as_deref().unwrap_or("todo");
    let rows = worklist_rows(&st, &actor, &department, view).await?;
    let items: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({"number": r.number, "item": r.item, "status": r.status, "node": r.node,
                   "name": r.name, "since": r.since.map(|s| hall_time(yichuang_store::from_micros(s))),
                   "due": r.due, "claimed_by": r.claimed_by, "case_due_date": r.case_due})
        })
        .collect();
    Ok(axum::Json(json!({"view": view, "department": department, "items": items})).into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct PublicQuery {
    pub number: String,
    /// The last 4 characters of the applicant's ID number or phone.
    pub last4: String,
    /// The receipt's query code, instead of both.
    pub code: String,
}

/// The public query is anonymous and its keys are short: every wrong answer is recorded like a
/// wrong password (persisted, so restarts and other instances count it too). Five wrong tries
/// at one case from one address stop that address for 15 minutes, twenty of any from one
/// address stop it, and tries at one case from many addresses are slowed to one per 30 s.
async fn query_guard(st: &AppState, key: &str, address: &str) -> Result<(), Error> {
    use yichuang_domain::login_throttle::{Failure, Policy, check_for};
    let policy = Policy::default();
    let now = st.now();
    let (by_key, by_address) = yichuang_store::accounts::recent_failures(
        &st.db,
        key,
        &query_address(address),
        now - policy.lookback(),
    )
    .await?;
    let key_failures: Vec<Failure> = by_key
        .into_iter()
        .map(|(at, a)| Failure {
            at: yichuang_store::from_micros(at),
            here: a == query_address(address),
        })
        .collect();
    let address_failures: Vec<_> = by_address
        .into_iter()
        .map(yichuang_store::from_micros)
        .collect();
    check_for("查询", &policy, &key_failures, &address_failures, now)
}

/// Query failures are kept apart from login failures of the same address: a citizen mistyping
/// a number must not lock the hall's staff out of signing in behind the same NAT address.
fn query_address(address: &str) -> String {
    format!("query@{address}")
}

async fn query_failed(st: &AppState, key: &str, address: &str) -> Result<(), Error> {
    let now = st.now();
    let policy = yichuang_domain::login_throttle::Policy::default();
    let mut tx = st.db.begin().await?;
    yichuang_store::accounts::prune_failures(&mut tx, now - policy.lookback()).await?;
    yichuang_store::accounts::record_failure(&mut tx, key, &query_address(address), now).await?;
    tx.commit().await
}

/// Anyone may follow a case with its receipt's query code, or with its number and the last 4
/// characters of the ID or phone; a wrong pair and an unknown number get the same answer, so
/// numbers cannot be probed, and wrong answers are throttled ([`query_guard`]).
/// What a public query found: a case, or a bundle (一件事) by the number on its notice.
pub(crate) enum Found {
    Case(Box<service::Loaded>, view::PublicCaseView),
    Bundle(bundles::PublicBundleView),
}

impl Found {
    pub fn json(self) -> Value {
        match self {
            Found::Case(_, v) => bundles::to_json(&v),
            Found::Bundle(v) => bundles::to_json(&v),
        }
    }
}

pub(crate) async fn public_case(
    st: &AppState,
    q: &PublicQuery,
    address: &str,
) -> Result<Value, Error> {
    Ok(public_lookup(st, q, address).await?.json())
}

pub(crate) async fn public_lookup(
    st: &AppState,
    q: &PublicQuery,
    address: &str,
) -> Result<Found, Error> {
    let nope = || Error::not_found("case_not_found", "办件编号或证件号/手机号后四位不正确");
    let code = service::normalize_query_code(&q.code);
    if !code.is_empty() {
        query_guard(st, "query-code", address).await?;
        let number = yichuang_store::cases::records::number_by_query_code(&st.db, &code).await?;
        let Some(number) = number else {
            query_failed(st, "query-code", address).await?;
            return Err(Error::not_found(
                "case_not_found",
                "查询码不正确，请核对回执上的查询码",
            ));
        };
        let l = service::load(st, &number).await?;
        let env = Env::at(st, st.now(), l.row.hall.as_deref()).await?;
        let v = view::public_view(&l, &env);
        return Ok(Found::Case(Box::new(l), v));
    }
    let last4 = q.last4.trim().to_uppercase();
    if last4.chars().count() != 4 {
        return Err(Error::validation(vec![]).field("last4", "请输入证件号码或手机号码的后四位"));
    }
    let number = q.number.trim().to_uppercase();
    let key = format!("query:{number}");
    query_guard(st, &key, address).await?;
    let tail = |s: &str| {
        let chars: Vec<char> = s.to_uppercase().chars().collect();
        chars[chars.len().saturating_sub(4)..]
            .iter()
            .collect::<String>()
    };
    let Ok(l) = service::load(st, &number).await else {
        // The number printed on a 一件事's notice (issue 10 item 9).
        if let Ok(row) = yichuang_store::cases::bundles::load(&st.db, &number).await {
            let contact =
                yichuang_store::cases::applicants::contact(&st.db, row.applicant_id).await?;
            if contact.is_some_and(|(id, phone)| tail(&id) == last4 || tail(&phone) == last4) {
                return Ok(Found::Bundle(bundles::public_view(st, &number).await?));
            }
        }
        query_failed(st, &key, address).await?;
        return Err(nope());
    };
    let a = &l.case.applicant;
    if tail(&a.id_number) != last4 && tail(&a.phone) != last4 {
        query_failed(st, &key, address).await?;
        return Err(nope());
    }
    let env = Env::at(st, st.now(), l.row.hall.as_deref()).await?;
    let v = view::public_view(&l, &env);
    Ok(Found::Case(Box::new(l), v))
}

async fn public_query(
    State(st): State<AppState>,
    crate::accounts::ClientAddress(address): crate::accounts::ClientAddress,
    Query(q): Query<PublicQuery>,
) -> ApiResult<Response> {
    Ok(axum::Json(public_case(&st, &q, &address).await?).into_response())
}

#[derive(Deserialize)]
struct NewBundleCaseBody {
    bundle: String,
    applicant: Applicant,
    #[serde(default)]
    materials: Vec<String>,
    #[serde(default)]
    answers: BTreeMap<String, String>,
    /// An agent's mandate (授权委托书) to file for the applicant.
    #[serde(default)]
    mandate: Option<String>,
}

async fn create_bundle_case(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    headers: axum::http::HeaderMap,
    Json(b): Json<NewBundleCaseBody>,
) -> ApiResult<Response> {
    let key = receipt_key(&headers)?;
    let number = bundles::receive(
        &st,
        &actor,
        bundles::BundleApplication {
            bundle: b.bundle,
            applicant: b.applicant,
            materials: b.materials,
            answers: b.answers,
            ticket: None,
            mandate: b.mandate,
            key,
        },
    )
    .await?;
    let v = bundles::view(&st, &number).await?;
    Ok((StatusCode::CREATED, axum::Json(v)).into_response())
}

async fn show_bundle_case(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(number): Path<String>,
) -> ApiResult<Response> {
    Ok(axum::Json(bundles::to_json(
        &bundles::view_for(&st, &actor, &number).await?,
    ))
    .into_response())
}

async fn supplement_bundle_case(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(number): Path<String>,
    Json(b): Json<MaterialsBody>,
) -> ApiResult<Response> {
    let actor = crate::agency::acting_for_bundle(
        &st,
        &actor,
        b.mandate.as_deref(),
        &number,
        yichuang_domain::agency::MandateAction::Supplement,
    )
    .await?;
    bundles::supplement(&st, &actor, &number, b.materials).await?;
    Ok(axum::Json(bundles::view(&st, &number).await?).into_response())
}

/// 统一出件 through the API: every decided sub-case's result by one pickup code or one parcel.
async fn issue_bundle_case(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(number): Path<String>,
    Json(how): Json<bundles::BundleDelivery>,
) -> ApiResult<Response> {
    let issued = bundles::issue_all(&st, &actor, &number, how).await?;
    let mut v = bundles::view(&st, &number).await?;
    v["issued"] = issued.into();
    Ok(axum::Json(v).into_response())
}

/// The process new cases of an item run (its own, or the default one).
async fn show_process(
    State(st): State<AppState>,
    CurrentActor(_actor): CurrentActor,
    Path(item): Path<String>,
) -> ApiResult<Response> {
    let (_, item) = super::items::current_item(&st.db, &item).await?;
    let p = super::items::process_for(&st.db, &item).await?;
    Ok(axum::Json(p).into_response())
}

/// Saves an item's process as data (validated: no unreachable task, every split joined, the
/// exclusive choices covering the item's situations). Each change is a new version; running
/// cases keep the version they started with.
async fn save_process(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(item): Path<String>,
    Json(mut def): Json<yichuang_domain::case::ProcessDefinition>,
) -> ApiResult<Response> {
    actor.require_catalogue_editor()?;
    let (_, item) = super::items::current_item(&st.db, &item).await?;
    def.code = item.code.clone();
    def.validate(&item.situations)?;
    let now = st.now();
    let mut tx = st.db.begin().await?;
    let saved = yichuang_store::cases::definitions::save_process(&mut tx, &def, now).await?;
    yichuang_store::events::append(
        &mut tx,
        now,
        yichuang_store::events::NewEvent {
            actor: &actor.event_name(),
            kind: "process_saved",
            subject_type: "process",
            subject_id: &saved.code,
            payload: json!({"version": saved.version}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(axum::Json(saved).into_response())
}
