//! Pages of 好差评 and 回访: the rater's phone page (`/rate/{token}`, from the QR code on the
//! receipt or the SMS invitation, and from /my), the callback staff's list and call sheet, the
//! rectification owner's and the supervisor's pages, and the staff's numbers.

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::State;
use axum::http::Uri;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use yichuang_domain::rating::callback::Attempt;
use yichuang_domain::rating::{Channel, Level, SubjectKind, Submission};
use yichuang_domain::{Actor, Error, Role};
use yichuang_store::ratings::{self as store, CallbackFilter, RatingFilter};

use super::api::{ActionBody, rectification_filter};
use super::report::{HEADERS, NumbersRow, Period, by_dim, numbers};
use super::views::{CallbackView, RatingView, RectificationView};
use crate::accounts::{FormErrors, Page, forbidden_page, render_form, require_page_actor};
use crate::auth::MaybeActor;
use crate::extract::{Path, Query};
use crate::pages::{Layout, render};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/rate/{token}", get(rate_page).post(rate_post))
        .route("/rate/{token}/qr.svg", get(rate_qr))
        .route("/callbacks", get(callbacks_page))
        .route("/callbacks/{id}", get(callback_page))
        .route("/callbacks/{id}/take", post(callback_take))
        .route("/callbacks/{id}/record", post(callback_record))
        .route("/rectifications", get(rectifications_page))
        .route(
            "/rectifications/{id}",
            get(rectification_page).post(rectification_post),
        )
        .route("/ratings", get(ratings_page))
}

/// An error as a page of its own (a person never gets JSON).
pub(crate) fn error_page(actor: Option<Actor>, uri: &Uri, e: &Error) -> Response {
    match e.kind {
        yichuang_domain::Kind::Forbidden | yichuang_domain::Kind::Unauthorized => {
            forbidden_page(actor, uri, e.title.clone())
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

#[derive(Template)]
#[template(path = "rating_message.html")]
struct MessagePage {
    layout: Layout,
    message: String,
}

// --- the rater's phone page ---------------------------------------------------------------------

pub struct Choice {
    pub level: i64,
    pub label: &'static str,
    pub checked: bool,
}

pub struct IndicatorChoice {
    pub code: &'static str,
    pub label: &'static str,
    pub value: i64,
}

#[derive(Template)]
#[template(path = "rating_rate.html")]
struct RatePage {
    layout: Layout,
    token: String,
    label: String,
    kind: &'static str,
    levels: Vec<Choice>,
    indicators: Vec<IndicatorChoice>,
    comment: String,
    max_chars: usize,
    errors: FormErrors,
    /// Shown instead of the form: thanks, or why it cannot be rated.
    done: Option<String>,
    bad_followed: bool,
    /// `web` (from /my) or `kiosk` (scanned at the kiosk); the phone otherwise.
    via: &'static str,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Via {
    via: String,
}

impl Via {
    fn channel(&self) -> Channel {
        match self.via.as_str() {
            "web" => Channel::Web,
            "kiosk" => Channel::Kiosk,
            _ => Channel::Phone,
        }
    }
}

async fn rate_form(
    st: &AppState,
    token: &str,
    errors: FormErrors,
    form: Option<&RateForm>,
) -> Result<RatePage, Error> {
    let v = super::token_view(st, token).await?;
    let s = super::settings(&st.db).await?;
    let chosen = form.and_then(|f| f.level);
    let mut done = None;
    if let Err(e) =
        yichuang_domain::rating::check_token(&v.state, crate::cases::time::local(st.now()))
    {
        done = Some(e.title);
    }
    Ok(RatePage {
        layout: Layout::new("服务评价", None),
        token: token.to_string(),
        label: v.row.label.clone(),
        kind: v.subject.label(),
        levels: Level::ALL
            .iter()
            .map(|l| Choice {
                level: l.number(),
                label: l.label(),
                checked: chosen == Some(l.number()),
            })
            .collect(),
        indicators: v
            .subject
            .question_set()
            .indicators
            .iter()
            .map(|(c, l)| IndicatorChoice {
                code: c,
                label: l,
                value: form.and_then(|f| f.indicator(c)).unwrap_or(0),
            })
            .collect(),
        comment: form.map(|f| f.comment.clone()).unwrap_or_default(),
        max_chars: s.comment_max_chars,
        errors,
        done,
        bad_followed: false,
        via: "phone",
    })
}

async fn rate_page(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    uri: Uri,
    Path(token): Path<String>,
    Query(via): Query<Via>,
) -> Response {
    match rate_form(&st, &token, FormErrors::default(), None).await {
        Ok(mut p) => {
            p.via = via.channel().as_str();
            render(&p)
        }
        Err(e) => error_page(actor, &uri, &e),
    }
}

/// The QR code of a rating page, for the ticket slip (the token itself is the secret).
async fn rate_qr(
    State(st): State<AppState>,
    headers: axum::http::HeaderMap,
    Path(token): Path<String>,
) -> Response {
    if let Err(e) = super::token_view(&st, &token).await {
        return crate::error::Problem(e).into_response();
    }
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let svg = crate::qr::svg(
        &format!("http://{host}/rate/{token}"),
        120,
        "服务评价二维码",
    )
    .unwrap_or_default();
    ([(axum::http::header::CONTENT_TYPE, "image/svg+xml")], svg).into_response()
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RateForm {
    level: Option<i64>,
    comment: String,
    efficiency: Option<i64>,
    competence: Option<i64>,
    attitude: Option<i64>,
    guide_accuracy: Option<i64>,
    convenience: Option<i64>,
    usability: Option<i64>,
}

impl RateForm {
    fn indicator(&self, code: &str) -> Option<i64> {
        match code {
            "efficiency" => self.efficiency,
            "competence" => self.competence,
            "attitude" => self.attitude,
            "guide_accuracy" => self.guide_accuracy,
            "convenience" => self.convenience,
            "usability" => self.usability,
            _ => None,
        }
    }
}

/// The phone form: the token in the address is the rater's proof (R-EVAL-ONCE); a staff
/// member's session cannot rate.
async fn rate_post(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    uri: Uri,
    Path(token): Path<String>,
    Query(via): Query<Via>,
    Form(f): Form<RateForm>,
) -> Response {
    if let Some(a) = &actor {
        let e = Error::forbidden(format!("工作人员（{}）不能代替群众评价", a.display_name));
        return error_page(actor, &uri, &e);
    }
    let kind = match super::token_view(&st, &token).await {
        Ok(v) => v.subject,
        Err(e) => return error_page(None, &uri, &e),
    };
    let sub = Submission {
        level: f.level,
        indicators: kind
            .question_set()
            .indicators
            .iter()
            .filter_map(|(c, _)| {
                f.indicator(c)
                    .filter(|v| *v > 0)
                    .map(|v| (c.to_string(), v))
            })
            .collect(),
        comment: Some(f.comment.clone()),
    };
    let channel = via.channel();
    match super::rate(&st, &token, &sub, channel).await {
        Ok(r) => match rate_form(&st, &token, FormErrors::default(), None).await {
            Ok(mut p) => {
                p.done = Some(format!("感谢您的评价！您的评价：{}。", r.level_label));
                p.bad_followed = r.bad;
                render(&p)
            }
            Err(e) => error_page(None, &uri, &e),
        },
        Err(e) => match rate_form(&st, &token, FormErrors::at(&e, "level"), Some(&f)).await {
            Ok(mut p) => {
                p.via = channel.as_str();
                render_form(&p, Some(&e))
            }
            Err(e2) => error_page(None, &uri, &e2),
        },
    }
}

// --- the callback centre --------------------------------------------------------------------------

const CALLBACK_ROLES: &[Role] = &[
    Role::Admin,
    Role::Callback,
    Role::Supervisor,
    Role::HallManager,
];

#[derive(Template)]
#[template(path = "callbacks.html")]
struct CallbacksPage {
    layout: Layout,
    open: Vec<CallbackView>,
}

async fn callbacks_page(State(st): State<AppState>, MaybeActor(a): MaybeActor, uri: Uri) -> Page {
    let actor = require_page_actor(a, &uri, CALLBACK_ROLES)?;
    let rows = store::callbacks(
        &st.db,
        &CallbackFilter {
            hall: actor.hall.clone(),
            open: true,
            limit: 500,
        },
    )
    .await
    .map_err(|e| error_page(Some(actor.clone()), &uri, &e))?;
    let now = st.now();
    let open = rows
        .iter()
        .map(|c| CallbackView::of(c, actor.id, now))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| error_page(Some(actor.clone()), &uri, &e))?;
    Ok(render(&CallbacksPage {
        layout: Layout::new("回访工作台", Some(actor)),
        open,
    }))
}

#[derive(Template)]
#[template(path = "callback.html")]
struct CallbackPage {
    layout: Layout,
    c: CallbackView,
    full_phone: Option<String>,
    can_work: bool,
    errors: FormErrors,
    saved: bool,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CallbackQuery {
    show: bool,
    saved: bool,
}

async fn callback_page(
    State(st): State<AppState>,
    MaybeActor(a): MaybeActor,
    uri: Uri,
    Path(id): Path<i64>,
    Query(q): Query<CallbackQuery>,
) -> Page {
    let actor = require_page_actor(a, &uri, CALLBACK_ROLES)?;
    let fail = |e: Error| error_page(Some(actor.clone()), &uri, &e);
    let c = super::callback_for(&st, &actor, id).await.map_err(fail)?;
    let full_phone = if q.show {
        Some(super::reveal_phone(&st, &actor, id).await.map_err(fail)?)
    } else {
        None
    };
    Ok(render(&CallbackPage {
        c: CallbackView::of(&c, actor.id, st.now()).map_err(fail)?,
        full_phone,
        can_work: super::may_work_callbacks(&actor).is_ok(),
        errors: FormErrors::default(),
        saved: q.saved,
        layout: Layout::new("回访", Some(actor)),
    }))
}

async fn callback_take(
    State(st): State<AppState>,
    MaybeActor(a): MaybeActor,
    uri: Uri,
    Path(id): Path<i64>,
) -> Page {
    let actor = require_page_actor(a, &uri, &[Role::Admin, Role::Callback])?;
    super::take_callback(&st, &actor, id)
        .await
        .map_err(|e| error_page(Some(actor.clone()), &uri, &e))?;
    Ok(Redirect::to(&format!("/callbacks/{id}")).into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RecordForm {
    outcome: String,
    satisfied: String,
    problem: String,
    fix_level: Option<i64>,
}

async fn callback_record(
    State(st): State<AppState>,
    MaybeActor(a): MaybeActor,
    uri: Uri,
    Path(id): Path<i64>,
    Form(f): Form<RecordForm>,
) -> Page {
    let actor = require_page_actor(a, &uri, &[Role::Admin, Role::Callback])?;
    let attempt = match f.outcome.as_str() {
        "reached" => Ok(Attempt::Reached {
            satisfied: f.satisfied != "no",
            problem: f.problem.clone(),
            fix_level: f.fix_level,
        }),
        "unreachable" => Ok(Attempt::Unreachable),
        "refused" => Ok(Attempt::Refused),
        _ => Err(Error::invalid("outcome_required", "请选择回访结果")
            .field("outcome", "请选择：已接通、无法接通或拒绝回访")),
    };
    let r = match attempt {
        Ok(a) => super::record_attempt(&st, &actor, id, &a).await,
        Err(e) => Err(e),
    };
    match r {
        Ok(_) => Ok(Redirect::to(&format!("/callbacks/{id}?saved=true")).into_response()),
        Err(e) if e.kind == yichuang_domain::Kind::Invalid => {
            let fail = |e: Error| error_page(Some(actor.clone()), &uri, &e);
            let c = super::callback_for(&st, &actor, id).await.map_err(fail)?;
            Ok(render_form(
                &CallbackPage {
                    c: CallbackView::of(&c, actor.id, st.now()).map_err(fail)?,
                    full_phone: None,
                    can_work: true,
                    errors: FormErrors::at(&e, "outcome"),
                    saved: false,
                    layout: Layout::new("回访", Some(actor.clone())),
                },
                Some(&e),
            ))
        }
        Err(e) => Err(error_page(Some(actor), &uri, &e)),
    }
}

// --- rectifications -----------------------------------------------------------------------------

const RECTIFICATION_ROLES: &[Role] = &[
    Role::Admin,
    Role::Supervisor,
    Role::Approver,
    Role::HallManager,
];

#[derive(Template)]
#[template(path = "rectifications.html")]
struct RectificationsPage {
    layout: Layout,
    items: Vec<RectificationView>,
}

async fn rectifications_page(
    State(st): State<AppState>,
    MaybeActor(a): MaybeActor,
    uri: Uri,
) -> Page {
    let actor = require_page_actor(a, &uri, RECTIFICATION_ROLES)?;
    let fail = |e: Error| error_page(Some(actor.clone()), &uri, &e);
    let f = rectification_filter(&actor, None, None, None).map_err(fail)?;
    let rows = store::rectifications(&st.db, &f).await.map_err(fail)?;
    let items = RectificationView::list(&st, &rows).await.map_err(fail)?;
    Ok(render(&RectificationsPage {
        layout: Layout::new("差评整改", Some(actor)),
        items,
    }))
}

#[derive(Template)]
#[template(path = "rectification.html")]
struct RectificationPage {
    layout: Layout,
    r: RectificationView,
    rating: Option<RatingView>,
    owner: bool,
    supervisor: bool,
    errors: FormErrors,
    saved: bool,
}

async fn rectification_view(
    st: &AppState,
    actor: &Actor,
    id: i64,
) -> Result<(RectificationView, Option<RatingView>), Error> {
    let row = store::rectification(&st.db, id).await?;
    super::may_see_rectification(actor, &row)?;
    let r = RectificationView::list(st, std::slice::from_ref(&row))
        .await?
        .remove(0);
    let rating = match row.rating_id {
        Some(rid) => Some(RatingView::of(&store::rating(&st.db, rid).await?)?),
        None => None,
    };
    Ok((r, rating))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SavedQuery {
    saved: bool,
}

async fn rectification_page(
    State(st): State<AppState>,
    MaybeActor(a): MaybeActor,
    uri: Uri,
    Path(id): Path<i64>,
    Query(q): Query<SavedQuery>,
) -> Page {
    let actor = require_page_actor(a, &uri, RECTIFICATION_ROLES)?;
    let (r, rating) = rectification_view(&st, &actor, id)
        .await
        .map_err(|e| error_page(Some(actor.clone()), &uri, &e))?;
    Ok(render(&RectificationPage {
        owner: matches!(actor.role, Role::Admin | Role::Approver | Role::HallManager),
        supervisor: matches!(actor.role, Role::Admin | Role::Supervisor),
        layout: Layout::new("差评整改", Some(actor)),
        r,
        rating,
        errors: FormErrors::default(),
        saved: q.saved,
    }))
}

async fn rectification_post(
    State(st): State<AppState>,
    MaybeActor(a): MaybeActor,
    uri: Uri,
    Path(id): Path<i64>,
    Form(b): Form<ActionBody>,
) -> Page {
    let actor = require_page_actor(a, &uri, RECTIFICATION_ROLES)?;
    let r = match b.action() {
        Ok(action) => super::act_on_rectification(&st, &actor, id, &action).await,
        Err(e) => Err(e),
    };
    match r {
        Ok(_) => Ok(Redirect::to(&format!("/rectifications/{id}?saved=true")).into_response()),
        Err(e)
            if matches!(
                e.kind,
                yichuang_domain::Kind::Invalid | yichuang_domain::Kind::Conflict
            ) =>
        {
            let (r, rating) = rectification_view(&st, &actor, id)
                .await
                .map_err(|e| error_page(Some(actor.clone()), &uri, &e))?;
            Ok(render_form(
                &RectificationPage {
                    owner: matches!(actor.role, Role::Admin | Role::Approver | Role::HallManager),
                    supervisor: matches!(actor.role, Role::Admin | Role::Supervisor),
                    layout: Layout::new("差评整改", Some(actor.clone())),
                    r,
                    rating,
                    errors: FormErrors::at(&e, "evidence"),
                    saved: false,
                },
                Some(&e),
            ))
        }
        Err(e) => Err(error_page(Some(actor), &uri, &e)),
    }
}

// --- the staff's numbers ----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "ratings_staff.html")]
struct RatingsPage {
    layout: Layout,
    month: String,
    period: String,
    /// This week's Monday and Sunday, for the weekly summary's link.
    week: (String, String),
    by: String,
    dims: Vec<(&'static str, &'static str)>,
    rows: Vec<NumbersRow>,
    headers: [&'static str; 6],
    recent: Vec<RatingView>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RatingsQuery {
    month: Option<String>,
    /// A week or any span (周汇总): both dates.
    from: Option<String>,
    to: Option<String>,
    by: Option<String>,
}

async fn ratings_page(
    State(st): State<AppState>,
    MaybeActor(a): MaybeActor,
    uri: Uri,
    Query(q): Query<RatingsQuery>,
) -> Page {
    let actor = require_page_actor(
        a,
        &uri,
        &[
            Role::Admin,
            Role::Supervisor,
            Role::HallManager,
            Role::Callback,
            Role::Approver,
        ],
    )?;
    let fail = |e: Error| error_page(Some(actor.clone()), &uri, &e);
    let period = Period::parse(
        q.month.as_deref(),
        q.from.as_deref(),
        q.to.as_deref(),
        st.now(),
    )
    .map_err(fail)?;
    let by = q.by.unwrap_or_else(|| "hall".into());
    let dim = by_dim(&by).map_err(fail)?;
    let hall = if actor.role == Role::HallManager {
        actor.hall.clone()
    } else {
        None
    };
    let rows = numbers(&st, dim, &period, hall.as_deref())
        .await
        .map_err(fail)?;
    let recent = store::ratings(
        &st.db,
        &RatingFilter {
            hall: hall.clone(),
            department: if actor.role == Role::Approver {
                actor.department.clone()
            } else {
                None
            },
            limit: 30,
            ..Default::default()
        },
    )
    .await
    .map_err(fail)?;
    let recent = recent
        .iter()
        .map(RatingView::of)
        .collect::<Result<Vec<_>, _>>()
        .map_err(fail)?;
    use chrono::Datelike;
    Ok(render(&RatingsPage {
        layout: Layout::new("好差评统计", Some(actor)),
        month: format!("{:04}-{:02}", period.from.year(), period.from.month()),
        period: period.label(),
        week: {
            let today = crate::cases::time::local(st.now()).date();
            let monday =
                today - chrono::Duration::days(i64::from(today.weekday().num_days_from_monday()));
            (
                monday.to_string(),
                (monday + chrono::Duration::days(6)).to_string(),
            )
        },
        by,
        dims: vec![
            ("hall", "大厅"),
            ("department", "部门"),
            ("window", "窗口"),
            ("staff", "人员"),
            ("item", "事项"),
            ("month", "月份"),
        ],
        rows,
        headers: HEADERS,
        recent,
    }))
}
