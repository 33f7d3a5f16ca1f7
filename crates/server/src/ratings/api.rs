//! `/api/v1/ratings…`, `/api/v1/rectifications…`, `/api/v1/callbacks…` (API-V1 "Feedback").

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;
use yichuang_domain::rating::callback::Attempt;
use yichuang_domain::rating::rectification::Action;
use yichuang_domain::rating::{Channel, Level, RatingSettings, SubjectKind, Submission};
use yichuang_domain::{Actor, Error, Result, Role};
use yichuang_store::ratings::{self as store, CallbackFilter, RatingFilter, RectificationFilter};

use super::report::{Period, by_dim, numbers};
use super::views::{CallbackView, RatingView, RectificationView};
use crate::auth::{CurrentActor, MaybeActor};
use crate::clock::hall_time;
use crate::error::ApiResult;
use crate::extract::{Json, Path, Query};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/ratings", post(create).get(list))
        .route("/api/v1/ratings/stats", get(stats))
        .route("/api/v1/rating-tokens/{token}", get(token))
        .route(
            "/api/v1/rating-settings",
            get(get_settings).put(put_settings),
        )
        .route("/api/v1/rectifications", get(rectifications))
        .route("/api/v1/rectifications/{id}", get(rectification))
        .route(
            "/api/v1/rectifications/{id}/actions",
            post(rectification_action),
        )
        .route("/api/v1/callbacks", get(callbacks))
        .route("/api/v1/callbacks/{id}/take", post(take))
        .route("/api/v1/callbacks/{id}/phone", get(phone))
        .route("/api/v1/callbacks/{id}/attempts", post(attempt))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RateBody {
    pub token: Option<String>,
    pub level: Option<i64>,
    pub indicators: std::collections::BTreeMap<String, i64>,
    pub comment: Option<String>,
    pub channel: Option<String>,
    /// `import` with a staff token: a rating from the provincial platform or 12345.
    pub source: Option<String>,
    pub system: Option<String>,
    pub external_id: Option<String>,
    pub case_number: Option<String>,
}

/// A citizen with a token, or staff importing (API-V1). Staff never rate for the applicant
/// (R-EVAL-ONCE), and a case number alone never rates.
async fn create(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    Json(b): Json<RateBody>,
) -> ApiResult<Response> {
    if b.source.as_deref() == Some("import") {
        let actor = actor.ok_or_else(Error::unauthorized)?;
        let (id, new) = super::import(
            &st,
            &actor,
            &super::Import {
                system: b.system.unwrap_or_default(),
                external_id: b.external_id.unwrap_or_default(),
                case_number: b.case_number.unwrap_or_default(),
                level: b.level,
                comment: b.comment,
            },
        )
        .await?;
        let status = if new {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        return Ok((status, axum::Json(json!({"id": id, "duplicate": !new}))).into_response());
    }
    if let Some(a) = actor {
        return Err(Error::forbidden(format!(
            "工作人员（{}）不能代替群众评价；请群众在评价器或手机上自行评价",
            a.display_name
        ))
        .into());
    }
    let token = b
        .token
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            Error::invalid(
                "rating_token_required",
                "评价需要回执、短信或评价器上的评价码，只凭办件编号不能评价",
            )
            .field("token", "缺少评价码")
        })?;
    let channel = match b.channel.as_deref() {
        None | Some("") => Channel::Phone,
        Some(c) => Channel::parse(c)
            .filter(|c| c.takes_token())
            .ok_or_else(|| {
                Error::invalid("bad_channel", "评价渠道无效")
                    .field("channel", "可选 pad、phone、web、kiosk")
            })?,
    };
    if let Some(n) = b
        .case_number
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        let v = super::token_view(&st, token).await?;
        if v.row.subject_id != n {
            return Err(
                Error::invalid("rating_token_mismatch", "评价码不属于这个办件")
                    .field("token", format!("这个评价码不是办件 {n} 的"))
                    .into(),
            );
        }
    }
    let sub = Submission {
        level: b.level,
        indicators: b.indicators,
        comment: b.comment,
    };
    let r = super::rate(&st, token, &sub, channel).await?;
    Ok((StatusCode::CREATED, axum::Json(r)).into_response())
}

/// Who may read ratings: staff see the rating, never who gave it (R-EVAL-ONCE).
fn rating_scope(actor: &Actor) -> Result<(Option<String>, Option<String>)> {
    match actor.role {
        Role::Admin | Role::Supervisor | Role::Callback => Ok((None, None)),
        Role::HallManager => Ok((actor.hall.clone(), None)),
        Role::Approver => Ok((None, actor.department.clone())),
        _ => Err(Error::forbidden(format!(
            "当前账号（{}）无权查看评价",
            actor.role.label()
        ))),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ListQuery {
    hall: Option<String>,
    department: Option<String>,
    month: Option<String>,
    level: Option<i64>,
    bad: Option<bool>,
    channel: Option<String>,
    limit: Option<i64>,
}

async fn list(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Query(q): Query<ListQuery>,
) -> ApiResult<Response> {
    let (hall, department) = rating_scope(&actor)?;
    let mut p = yichuang_domain::Problems::new();
    if let Some(l) = q.level {
        p.check(
            Level::from_number(l).is_some(),
            "level",
            "评价等级须为 1 到 5",
        );
    }
    if let Some(c) = q.channel.as_deref() {
        p.check(Channel::parse(c).is_some(), "channel", "评价渠道无效");
    }
    if let Some(m) = q.month.as_deref() {
        p.check(
            super::report::parse_month(m).is_some(),
            "month",
            "月份格式为 2026-12",
        );
    }
    p.finish()?;
    let rows = store::ratings(
        &st.db,
        &RatingFilter {
            hall: hall.or(q.hall),
            department: department.or(q.department),
            month: q.month,
            level: q.level,
            bad: q.bad,
            channel: q.channel,
            limit: q.limit.unwrap_or(200).clamp(1, 1000),
        },
    )
    .await?;
    let ratings = rows
        .iter()
        .map(RatingView::of)
        .collect::<Result<Vec<_>>>()?;
    Ok(axum::Json(json!({"ratings": ratings})).into_response())
}

/// What the rater's page or app needs to show for a token (no personal data).
async fn token(State(st): State<AppState>, Path(token): Path<String>) -> ApiResult<Response> {
    let v = super::token_view(&st, &token).await?;
    let set = v.subject.question_set();
    Ok(axum::Json(json!({
        "subject": {"type": v.subject, "label": v.row.label},
        "stage": v.state.stage,
        "ready": v.state.ready,
        "used": v.state.used,
        "expires_at": hall_time(yichuang_store::from_micros(v.row.expires_at)),
        "levels": Level::ALL.iter().map(|l| json!({"level": l, "label": l.label()})).collect::<Vec<_>>(),
        "indicators": set.indicators.iter().map(|(c, l)| json!({"code": c, "label": l})).collect::<Vec<_>>(),
        "question_set": set.version,
    }))
    .into_response())
}

async fn get_settings(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
) -> ApiResult<Response> {
    actor.require_role(
        &[Role::Admin, Role::Supervisor, Role::HallManager],
        "查看好差评设置",
    )?;
    Ok(axum::Json(super::settings(&st.db).await?).into_response())
}

async fn put_settings(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Json(s): Json<RatingSettings>,
) -> ApiResult<Response> {
    super::put_settings(&st, &actor, &s).await?;
    Ok(axum::Json(s).into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct StatsQuery {
    pub from: Option<String>,
    pub to: Option<String>,
    pub month: Option<String>,
    pub by: Option<String>,
    pub hall: Option<String>,
}

async fn stats(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Query(q): Query<StatsQuery>,
) -> ApiResult<Response> {
    let (scope_hall, _) = rating_scope(&actor)?;
    let period = Period::parse(
        q.month.as_deref(),
        q.from.as_deref(),
        q.to.as_deref(),
        st.now(),
    )?;
    let dim = by_dim(q.by.as_deref().unwrap_or("hall"))?;
    let hall = scope_hall.or(q.hall);
    let rows = numbers(&st, dim, &period, hall.as_deref()).await?;
    Ok(axum::Json(json!({"from": period.from, "to": period.to, "by": q.by.unwrap_or_else(|| "hall".into()), "rows": rows}))
        .into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RectificationQuery {
    status: Option<String>,
    hall: Option<String>,
    department: Option<String>,
}

/// The filter an actor's list is limited to: an approver their department, a hall manager their hall.
pub fn rectification_filter(
    actor: &Actor,
    status: Option<String>,
    hall: Option<String>,
    department: Option<String>,
) -> Result<RectificationFilter> {
    let (hall, department) = match actor.role {
        Role::Admin | Role::Supervisor => (hall, department),
        Role::Approver => (
            None,
            Some(
                actor
                    .department
                    .clone()
                    .ok_or_else(|| Error::forbidden("账号未归属部门"))?,
            ),
        ),
        Role::HallManager => (
            Some(
                actor
                    .hall
                    .clone()
                    .ok_or_else(|| Error::forbidden("账号未归属大厅"))?,
            ),
            None,
        ),
        _ => {
            return Err(Error::forbidden(format!(
                "当前账号（{}）无权查看整改",
                actor.role.label()
            )));
        }
    };
    if let Some(s) = status.as_deref()
        && yichuang_domain::rating::rectification::Status::parse(s).is_none()
    {
        return Err(Error::invalid("bad_status", "整改状态无效")
            .field("status", "可选 open、appealed、closed"));
    }
    Ok(RectificationFilter {
        hall,
        department,
        status,
        limit: 500,
    })
}

async fn rectifications(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Query(q): Query<RectificationQuery>,
) -> ApiResult<Response> {
    let f = rectification_filter(&actor, q.status, q.hall, q.department)?;
    let rows = store::rectifications(&st.db, &f).await?;
    Ok(
        axum::Json(json!({"rectifications": RectificationView::list(&st, &rows).await?}))
            .into_response(),
    )
}

async fn rectification(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    let r = store::rectification(&st.db, id).await?;
    super::may_see_rectification(&actor, &r)?;
    let v = RectificationView::list(&st, std::slice::from_ref(&r)).await?;
    Ok(axum::Json(&v[0]).into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ActionBody {
    pub action: String,
    pub evidence: String,
    pub reason: String,
    pub note: String,
}

impl ActionBody {
    pub fn action(&self) -> Result<Action> {
        Ok(match self.action.as_str() {
            "fix" => Action::Fix {
                evidence: self.evidence.clone(),
            },
            "explain" => Action::Explain {
                evidence: self.evidence.clone(),
            },
            "appeal" => Action::Appeal {
                reason: self.reason.clone(),
            },
            "uphold" => Action::DecideAppeal {
                upheld: true,
                note: self.note.clone(),
            },
            "reject" => Action::DecideAppeal {
                upheld: false,
                note: self.note.clone(),
            },
            _ => {
                return Err(Error::invalid("bad_action", "整改操作无效")
                    .field("action", "可选 fix（已整改）、explain（解释说明）、appeal（申诉）、uphold / reject（复核申诉）"));
            }
        })
    }
}

async fn rectification_action(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<i64>,
    Json(b): Json<ActionBody>,
) -> ApiResult<Response> {
    let r = super::act_on_rectification(&st, &actor, id, &b.action()?).await?;
    let v = RectificationView::list(&st, std::slice::from_ref(&r)).await?;
    Ok(axum::Json(&v[0]).into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CallbackQuery {
    all: bool,
}

async fn callbacks(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Query(q): Query<CallbackQuery>,
) -> ApiResult<Response> {
    actor.require_role(
        &[
            Role::Admin,
            Role::Callback,
            Role::Supervisor,
            Role::HallManager,
        ],
        "查看回访",
    )?;
    let rows = store::callbacks(
        &st.db,
        &CallbackFilter {
            hall: actor.hall.clone(),
            open: !q.all,
            limit: 500,
        },
    )
    .await?;
    let now = st.now();
    let v = rows
        .iter()
        .map(|c| CallbackView::of(c, actor.id, now))
        .collect::<Result<Vec<_>>>()?;
    Ok(axum::Json(json!({"callbacks": v})).into_response())
}

async fn take(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    let c = super::take_callback(&st, &actor, id).await?;
    Ok(axum::Json(CallbackView::of(&c, actor.id, st.now())?).into_response())
}

async fn phone(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    let phone = super::reveal_phone(&st, &actor, id).await?;
    Ok(axum::Json(json!({"phone": phone})).into_response())
}

async fn attempt(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<i64>,
    Json(a): Json<Attempt>,
) -> ApiResult<Response> {
    let c = super::record_attempt(&st, &actor, id, &a).await?;
    Ok(axum::Json(CallbackView::of(&c, actor.id, st.now())?).into_response())
}

/// Whether a subject kind is rated on site (the pad's question set) — for pages.
pub fn on_site(kind: SubjectKind) -> bool {
    kind == SubjectKind::Visit
}
