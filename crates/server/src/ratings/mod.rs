//! 好差评 and 回访 (issue 11): tokens handed out when a visit or case ends, ratings from the
//! window pad, the phone, /my and imports, the rectification every bad rating opens, the daily
//! callback list, and the numbers. The rules are `yichuang_domain::rating`'s; this area loads
//! rows, applies them and stores the result with its event in one transaction.

pub mod api;
pub mod import;
pub mod pad;
pub mod pages;
pub mod report;
pub mod views;

use std::sync::Arc;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde_json::json;
use yichuang_domain::calendar::Calendar;
use yichuang_domain::case::Case;
use yichuang_domain::pii::{mask_name, mask_phone};
use yichuang_domain::rating::callback::{self, Attempt, Callback, Then};
use yichuang_domain::rating::rectification::{self as rect, Action, Rectification};
use yichuang_domain::rating::{
    self, Channel, Level, RatingSettings, Stage, SubjectKind, Submission, TokenState,
};
use yichuang_domain::{Actor, Error, Result, Role};
use yichuang_store::events::{self, NewEvent};
use yichuang_store::ratings::{
    self as store, CallbackChange, CallbackRow, Dims, NewCallback, NewRating, NewRectification,
    RectificationChange, RectificationRow, TokenRow,
};
use yichuang_store::{Tx, from_micros};

use crate::cases::time::{local, utc};
use crate::state::AppState;

/// Timer kinds: the SMS invitation and the default rating of an unrated subject (R-EVAL-DEFAULT).
/// Their subject is the token's id.
pub const INVITE_TIMER: &str = "rating_invite";
pub const DEFAULT_TIMER: &str = "rating_default";

const SETTINGS_KEY: &str = "rating";

pub fn routes() -> axum::Router<AppState> {
    api::routes()
        .merge(pad::api_routes())
        .merge(import::routes())
}

pub fn page_routes() -> axum::Router<AppState> {
    pages::routes()
        .merge(pad::page_routes())
        .merge(report::routes())
}

/// The practice settings of 好差评 and 回访 (RULES: settings, not constants).
pub async fn settings(db: &yichuang_store::Db) -> Result<RatingSettings> {
    Ok(yichuang_store::settings::get(db, SETTINGS_KEY)
        .await?
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default())
}

pub async fn put_settings(st: &AppState, actor: &Actor, s: &RatingSettings) -> Result<()> {
    actor.require_role(&[Role::Admin], "修改好差评设置")?;
    s.validate()?;
    let now = st.now();
    let mut tx = st.db.begin().await?;
    let before = settings(&st.db).await?;
    yichuang_store::settings::put(&mut tx, SETTINGS_KEY, &json!(s), now).await?;
    log(
        &mut tx,
        now,
        None,
        &actor.event_name(),
        "rating_settings_changed",
        ("settings", "rating"),
        json!({"before": before, "after": s}),
    )
    .await?;
    tx.commit().await
}

/// A new rating token: 20 characters of an alphabet without look-alikes, 100 bits of chance:
/// nothing in a public link is guessable.
pub fn new_token() -> Result<String> {
    const ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";
    let mut b = [0u8; 20];
    getrandom::fill(&mut b).map_err(Error::internal)?;
    Ok(b.iter()
        .map(|x| ALPHABET[*x as usize % ALPHABET.len()] as char)
        .collect())
}

/// The hall-local month an instant belongs to (`2026-12`).
pub fn month_of(t: DateTime<Utc>) -> String {
    let d = local(t).date();
    format!("{:04}-{:02}", d.year(), d.month())
}

/// The calendar deadlines of a hall's ratings are counted on (R-CALENDAR: its region's).
pub async fn calendar_of(
    st: &AppState,
    hall: Option<&str>,
) -> Result<(Arc<Calendar>, Option<String>)> {
    let region = match hall {
        Some(h) => st.caches.hall_region(&st.db, h).await.ok().flatten(),
        None => None,
    };
    Ok((
        crate::calendar::current(st, region.as_deref()).await?,
        region,
    ))
}

/// Appends an event; one of a hall also reaches the hall's live feed (the pads listen there).
async fn log(
    tx: &mut Tx,
    now: DateTime<Utc>,
    hall: Option<&str>,
    actor: &str,
    kind: &str,
    subject: (&str, &str),
    payload: serde_json::Value,
) -> Result<i64> {
    let e = NewEvent {
        actor,
        kind,
        subject_type: subject.0,
        subject_id: subject.1,
        payload,
    };
    match hall {
        Some(h) => events::append_in_hall(tx, now, h, e).await,
        None => events::append(tx, now, e).await,
    }
}

// --- tokens: handed out when a visit or a case ends -------------------------------------------

/// A ticket was taken: its token is made now, for the QR code on the slip; it becomes usable
/// when the visit is served. Returns the rating page's path.
pub async fn on_ticket_taken(
    tx: &mut Tx,
    now: DateTime<Utc>,
    hall: &str,
    ticket_id: i64,
    number: &str,
) -> Result<String> {
    let token = new_token()?;
    let dims = Dims {
        hall: Some(hall.to_string()),
        ..Dims::default()
    };
    store::insert_token(
        tx,
        &store::NewToken {
            token: &token,
            subject_type: SubjectKind::Visit.as_str(),
            subject_id: &ticket_id.to_string(),
            stage: Stage::Conclusion.as_str(),
            label: &format!("{number} 号"),
            dims: &dims,
            applicant_id: None,
            phone: None,
            ready_at: None,
            expires_at: now + chrono::Duration::days(2),
        },
        now,
    )
    .await?;
    Ok(format!("/rate/{token}"))
}

/// A ticket was finished at a window: the visit may be rated on that window's pad at once
/// (一次一评), or with the slip's QR code. Runs in the finishing transaction.
pub async fn on_ticket_finished(
    tx: &mut Tx,
    now: DateTime<Utc>,
    hall: &str,
    ticket_id: i64,
    number: &str,
    window: (i64, &str),
    staff: Option<&str>,
) -> Result<()> {
    let s = settings_in(tx).await?;
    let (_, _, expires) = rating::schedule(local(now), &s);
    let subject = ticket_id.to_string();
    // The slip's token, or a new one for a ticket taken before slips carried one (or checked
    // in from an appointment): one deferred upsert, nothing read back in the writer's turn.
    let token = new_token()?;
    let dims = Dims {
        hall: Some(hall.to_string()),
        department: None,
        item: None,
        window_id: Some(window.0),
        staff: staff.map(str::to_string),
    };
    let label = format!("{number} 号 · {}", window.1);
    store::invite_visit_rating(
        tx,
        &store::NewToken {
            token: &token,
            subject_type: SubjectKind::Visit.as_str(),
            subject_id: &subject,
            stage: Stage::Conclusion.as_str(),
            label: &label,
            dims: &dims,
            applicant_id: None,
            phone: None,
            ready_at: Some(now),
            expires_at: utc(expires),
        },
        now,
    )
    .await?;
    // Written with the other deferred writes: nothing needs its id.
    events::write_in_hall(
        tx,
        now,
        hall,
        NewEvent {
            actor: "system",
            kind: "rating_invited",
            subject_type: "visit",
            subject_id: &subject,
            payload: json!({"window": window.0, "channel": "pad"}),
        },
    )
    .await
}

/// Settings, for code running inside a write transaction (kept, as of the last commit).
async fn settings_in(tx: &mut Tx) -> Result<RatingSettings> {
    Ok(yichuang_store::settings::get_in(tx, SETTINGS_KEY)
        .await?
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default())
}

/// What a case's rating needs of the case command that changed it.
pub struct CaseChange<'a> {
    pub number: &'a str,
    pub item_code: &'a str,
    pub item_name: &'a str,
    pub department: &'a str,
    pub hall: Option<&'a str>,
    pub applicant_id: i64,
    /// Events written before this change (0: the case is new).
    pub events_before: i64,
    pub before_final: bool,
    pub after: &'a Case,
    /// Who made the change (`role:username`).
    pub by: &'a str,
    pub calendar: &'a Calendar,
}

/// A case was received: its token is made now (the receipt carries its QR code); when the case
/// ends (issued or refused) it becomes usable, the invitation and the default rating are
/// scheduled (R-EVAL-DEFAULT) and the case may be drawn for the day's callbacks
/// (R-CALLBACK-DAILY). Runs in the case command's transaction.
pub async fn on_case_changed(tx: &mut Tx, now: DateTime<Utc>, c: &CaseChange<'_>) -> Result<()> {
    let is_final = c.after.status.is_final();
    if c.events_before > 0 && (c.before_final || !is_final) {
        return Ok(());
    }
    let s = settings_in(tx).await?;
    let staff = c.by.split_once(':').map(|(_, u)| u.to_string());
    let dims = Dims {
        hall: c.hall.map(str::to_string),
        department: Some(c.department.to_string()),
        item: Some(c.item_code.to_string()),
        window_id: None,
        staff,
    };
    if c.events_before == 0 {
        let far = now + chrono::Duration::days(366 * 3);
        let stages: &[Stage] = if s.multi_stage {
            &[Stage::Acceptance, Stage::Conclusion]
        } else {
            &[Stage::Conclusion]
        };
        for stage in stages {
            let token = new_token()?;
            let ready = (*stage != Stage::Conclusion).then_some(now);
            store::insert_token(
                tx,
                &store::NewToken {
                    token: &token,
                    subject_type: SubjectKind::Case.as_str(),
                    subject_id: c.number,
                    stage: stage.as_str(),
                    label: c.item_name,
                    dims: &dims,
                    applicant_id: Some(c.applicant_id),
                    phone: Some(&c.after.applicant.phone),
                    ready_at: ready,
                    expires_at: far,
                },
                now,
            )
            .await?;
        }
    }
    if !is_final || c.before_final {
        return Ok(());
    }
    // Shown on the pad of the window the result was handed over at, if the actor sits at one.
    let window = match c.by.split_once(':') {
        Some(_) => window_of_actor(tx, c.by).await?,
        None => None,
    };
    let (invite, default, expires) = rating::schedule(local(now), &s);
    let Some(t) = store::make_ready(
        tx,
        SubjectKind::Case.as_str(),
        c.number,
        Stage::Conclusion.as_str(),
        window,
        now,
        utc(expires),
    )
    .await?
    else {
        return Ok(());
    };
    let id = t.id.to_string();
    yichuang_store::timers::schedule_all(
        tx,
        &id,
        &[
            (INVITE_TIMER, utc(invite), json!({})),
            (DEFAULT_TIMER, utc(default), json!({})),
        ],
        now,
    )
    .await?;
    log(
        tx,
        now,
        c.hall,
        "system",
        "rating_invited",
        ("case", c.number),
        json!({"window": window, "channel": if window.is_some() { "pad" } else { "phone" }}),
    )
    .await?;
    if callback::sampled(c.number, s.callback_sample_percent) {
        let a = &c.after.applicant;
        open_callback(
            tx,
            now,
            c.calendar,
            &s,
            callback::Kind::Routine,
            &t,
            None,
            None,
            (&a.name, &a.phone),
        )
        .await?;
    }
    Ok(())
}

/// The window a staff member (by event name) is signed in to.
async fn window_of_actor(tx: &mut Tx, by: &str) -> Result<Option<i64>> {
    let Some((_, username)) = by.split_once(':') else {
        return Ok(None);
    };
    store::window_of_username(tx.db(), username).await
}

#[allow(clippy::too_many_arguments)]
async fn open_callback(
    tx: &mut Tx,
    now: DateTime<Utc>,
    cal: &Calendar,
    s: &RatingSettings,
    kind: callback::Kind,
    t: &TokenRow,
    rating_id: Option<i64>,
    rectification_id: Option<i64>,
    who: (&str, &str),
) -> Result<i64> {
    let due = callback::due(cal, local(now), s);
    let id = store::insert_callback(
        tx,
        &NewCallback {
            kind: kind.as_str(),
            subject_type: &t.subject_type,
            subject_id: &t.subject_id,
            label: &t.label,
            rating_id,
            rectification_id,
            dims: &t.dims(),
            phone: who.1,
            phone_masked: &mask_phone(who.1),
            name_masked: &mask_name(who.0),
            due_at: utc(due),
        },
        now,
    )
    .await?;
    log(
        tx,
        now,
        t.hall.as_deref(),
        "system",
        "callback_listed",
        ("callback", &id.to_string()),
        json!({"kind": kind, "subject": {"type": t.subject_type, "id": t.subject_id},
               "rating": rating_id, "rectification": rectification_id}),
    )
    .await?;
    Ok(id)
}

/// Lists a callback for a result left in a smart locker past its pick-up days (issue 14): the
/// applicant is phoned about picking it up at the issuance window or having it mailed.
pub async fn uncollected_callback(
    tx: &mut Tx,
    st: &AppState,
    now: DateTime<Utc>,
    l: &crate::cases::service::Loaded,
    hall: &str,
) -> Result<i64> {
    let s = settings_in(tx).await?;
    let cal = crate::calendar::current(st, None).await?;
    let a = &l.case.applicant;
    let dims = Dims {
        hall: Some(hall.to_string()),
        department: Some(l.case.department.clone()),
        item: Some(l.case.item.clone()),
        ..Dims::default()
    };
    let kind = callback::Kind::Uncollected;
    let id = store::insert_callback(
        tx,
        &NewCallback {
            kind: kind.as_str(),
            subject_type: SubjectKind::Case.as_str(),
            subject_id: &l.case.number,
            label: &l.item.name,
            rating_id: None,
            rectification_id: None,
            dims: &dims,
            phone: &a.phone,
            phone_masked: &mask_phone(&a.phone),
            name_masked: &mask_name(&a.name),
            due_at: utc(callback::due(&*cal, local(now), &s)),
        },
        now,
    )
    .await?;
    log(
        tx,
        now,
        Some(hall),
        "system",
        "callback_listed",
        ("callback", &id.to_string()),
        json!({"kind": kind, "subject": {"type": "case", "id": l.case.number}}),
    )
    .await?;
    Ok(id)
}

// --- ratings ----------------------------------------------------------------------------------

/// What the rater sees of a token: what is rated, where, and whether it can still be rated.
pub struct TokenView {
    pub row: TokenRow,
    pub subject: SubjectKind,
    pub state: TokenState,
}

fn token_state(t: &TokenRow) -> Result<TokenState> {
    Ok(TokenState {
        subject: SubjectKind::parse(&t.subject_type)
            .ok_or_else(|| Error::internal(format!("token subject {}", t.subject_type)))?,
        subject_id: t.subject_id.clone(),
        stage: Stage::parse(&t.stage).ok_or_else(|| Error::internal("token stage"))?,
        ready: t.ready_at.is_some(),
        expires_at: local(from_micros(t.expires_at)),
        used: t.used_at.is_some(),
    })
}

fn unknown_token() -> Error {
    Error::not_found(
        "rating_token_unknown",
        "评价链接无效。请扫描回执或短信中的二维码/链接；只凭办件编号不能评价。",
    )
    .field("token", "评价码无效")
}

pub async fn token_view(st: &AppState, token: &str) -> Result<TokenView> {
    let row = store::token(&st.db, token.trim())
        .await?
        .ok_or_else(unknown_token)?;
    let state = token_state(&row)?;
    Ok(TokenView {
        subject: state.subject,
        row,
        state,
    })
}

/// The path of a case's rating page (`/rate/{token}`) while it may still be rated or will be
/// once the case ends; None once rated or expired. For the receipt's QR code and /my.
pub async fn rating_link(st: &AppState, number: &str) -> Result<Option<String>> {
    let Some(t) =
        store::token_of_subject(&st.db, "case", number, Stage::Conclusion.as_str()).await?
    else {
        return Ok(None);
    };
    let open = t.used_at.is_none() && from_micros(t.expires_at) > st.now();
    Ok(open.then(|| format!("/rate/{}", t.token)))
}

/// The recorded rating, as the API answers.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Recorded {
    pub id: i64,
    pub level: Level,
    pub level_label: &'static str,
    pub bad: bool,
    pub rectification: Option<i64>,
    pub callback: Option<i64>,
}

/// A citizen rates with a token (R-EVAL-ONCE). A 差评 opens its rectification (R-BAD-RATING)
/// and, when the rater is known, the callback (实名差评回访 100 %).
pub async fn rate(
    st: &AppState,
    token: &str,
    sub: &Submission,
    channel: Channel,
) -> Result<Recorded> {
    if !channel.takes_token() {
        return Err(Error::invalid("bad_channel", "评价渠道无效")
            .field("channel", "请选择评价器、手机、网上或自助终端"));
    }
    let s = settings(&st.db).await?;
    let view = token_view(st, token).await?;
    let valid = rating::check_content(sub, view.subject, &s)?;
    let (cal, region) = calendar_of(st, view.row.hall.as_deref()).await?;
    let now = st.now();
    let mut tx = st.db.begin().await?;
    let t = store::token_in_tx(&mut tx, token.trim())
        .await?
        .ok_or_else(unknown_token)?;
    rating::check_token(&token_state(&t)?, local(now))?;
    if !store::spend_token(&mut tx, t.id, now).await? {
        return Err(rating::check_token(
            &TokenState {
                used: true,
                ..token_state(&t)?
            },
            local(now),
        )
        .err()
        .unwrap_or_else(|| Error::internal("token spent")));
    }
    let named = t.applicant_id.is_some() || t.phone.is_some();
    let indicators: serde_json::Map<String, serde_json::Value> = valid
        .indicators
        .iter()
        .map(|(k, l)| (k.clone(), json!(l.number())))
        .collect();
    let dims = t.dims();
    let id = store::insert_rating(
        &mut tx,
        &NewRating {
            token_id: Some(t.id),
            subject_type: &t.subject_type,
            subject_id: &t.subject_id,
            stage: &t.stage,
            level: valid.level.number(),
            indicators: &serde_json::Value::Object(indicators).to_string(),
            comment: &valid.comment,
            channel: channel.as_str(),
            source: "person",
            bad: valid.bad,
            named,
            question_set: i64::from(valid.question_set),
            dims: &dims,
            month: &month_of(now),
            import_key: None,
        },
        now,
    )
    .await?;
    // The rater is never named in the log (R-EVAL-ONCE: identity protected).
    log(
        &mut tx,
        now,
        t.hall.as_deref(),
        "applicant",
        "rating_given",
        ("rating", &id.to_string()),
        json!({"subject": {"type": t.subject_type, "id": t.subject_id}, "stage": t.stage,
               "level": valid.level, "bad": valid.bad, "channel": channel, "window": t.window_id}),
    )
    .await?;
    let mut out = Recorded {
        id,
        level: valid.level,
        level_label: valid.level.label(),
        bad: valid.bad,
        rectification: None,
        callback: None,
    };
    if valid.bad {
        let problem = if valid.comment.is_empty() {
            format!("差评：{}", valid.level.label())
        } else {
            format!("差评：{}。{}", valid.level.label(), valid.comment)
        };
        let days = s.rectification_days_for(region.as_deref());
        out.rectification = Some(
            open_rectification(
                &mut tx,
                now,
                &cal,
                rect::Source::BadRating,
                Some(id),
                None,
                &About::of_token(&t),
                &problem,
                days,
            )
            .await?,
        );
        if let Some(who) = contact(&mut tx, &t).await? {
            out.callback = Some(
                open_callback(
                    &mut tx,
                    now,
                    &cal,
                    &s,
                    callback::Kind::BadRating,
                    &t,
                    Some(id),
                    out.rectification,
                    (&who.0, &who.1),
                )
                .await?,
            );
        }
    }
    yichuang_store::timers::cancel(&mut tx, INVITE_TIMER, &t.id.to_string(), now).await?;
    yichuang_store::timers::cancel(&mut tx, DEFAULT_TIMER, &t.id.to_string(), now).await?;
    tx.commit().await?;
    st.hall_feed.wake();
    Ok(out)
}

/// The rater's name and phone when known (a case's applicant).
async fn contact(tx: &mut Tx, t: &TokenRow) -> Result<Option<(String, String)>> {
    match t.applicant_id {
        Some(a) => store::applicant_contact(tx, a).await,
        None => Ok(None),
    }
}

/// What a rectification is about: the subject, what the owner sees of it, who handled it.
struct About {
    subject_type: String,
    subject_id: String,
    label: String,
    dims: Dims,
}

impl About {
    fn of_token(t: &TokenRow) -> About {
        About {
            subject_type: t.subject_type.clone(),
            subject_id: t.subject_id.clone(),
            label: t.label.clone(),
            dims: t.dims(),
        }
    }

    fn of_callback(c: &CallbackRow) -> About {
        About {
            subject_type: c.subject_type.clone(),
            subject_id: c.subject_id.clone(),
            label: c.label.clone(),
            dims: Dims {
                hall: c.hall.clone(),
                department: c.department.clone(),
                item: c.item.clone(),
                window_id: None,
                staff: None,
            },
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn open_rectification(
    tx: &mut Tx,
    now: DateTime<Utc>,
    cal: &Calendar,
    source: rect::Source,
    rating_id: Option<i64>,
    callback_id: Option<i64>,
    t: &About,
    problem: &str,
    days: i64,
) -> Result<i64> {
    let today = local(now).date();
    let deadline = rating::working_deadline(cal, today, days);
    let id = store::insert_rectification(
        tx,
        &NewRectification {
            source: source.as_str(),
            rating_id,
            callback_id,
            subject_type: &t.subject_type,
            subject_id: &t.subject_id,
            label: &t.label,
            dims: &t.dims,
            problem,
            opened_on: &today.to_string(),
            deadline: &deadline.to_string(),
            month: &month_of(now),
        },
        now,
    )
    .await?;
    log(
        tx,
        now,
        t.dims.hall.as_deref(),
        "system",
        "rectification_opened",
        ("rectification", &id.to_string()),
        json!({"source": source, "rating": rating_id, "callback": callback_id, "deadline": deadline,
               "department": t.dims.department, "window": t.dims.window_id}),
    )
    .await?;
    Ok(id)
}

/// An import from the provincial platform or 12345 (staff only), deduplicated by its system's
/// id: one row of [`import`]'s list.
pub use import::Row as Import;

/// Imports one rating; returns its id and whether it was new.
pub async fn import(st: &AppState, actor: &Actor, imp: &Import) -> Result<(i64, bool)> {
    actor.require_role(
        &[Role::Admin, Role::Supervisor, Role::HallManager],
        "导入评价",
    )?;
    let mut p = yichuang_domain::Problems::new();
    p.check(
        !imp.system.trim().is_empty(),
        "system",
        "请填写评价来源系统（如 12345、省政务服务平台）",
    );
    p.check(
        !imp.external_id.trim().is_empty(),
        "external_id",
        "请填写来源系统中的评价编号",
    );
    p.check(
        !imp.case_number.trim().is_empty(),
        "case_number",
        "请填写被评价的办件编号",
    );
    p.finish()?;
    let s = settings(&st.db).await?;
    let valid = rating::check_content(
        &Submission {
            level: imp.level,
            comment: imp.comment.clone(),
            ..Default::default()
        },
        SubjectKind::Case,
        &s,
    )?;
    let number = imp.case_number.trim();
    let t = store::token_of_subject(&st.db, "case", number, Stage::Conclusion.as_str())
        .await?
        .ok_or_else(|| {
            Error::invalid("unknown_case", "没有这个办件")
                .field("case_number", format!("办件 {number} 不存在"))
        })?;
    if let Some(h) = &t.hall {
        actor.require_hall(h, "导入")?;
    }
    let key = format!("{}:{}", imp.system.trim(), imp.external_id.trim());
    let now = st.now();
    let mut tx = st.db.begin().await?;
    if let Some(id) = store::existing_rating(
        &mut tx,
        "case",
        number,
        Stage::Conclusion.as_str(),
        Some(&key),
    )
    .await?
    {
        return Ok((id, false));
    }
    let dims = t.dims();
    let id = store::insert_rating(
        &mut tx,
        &NewRating {
            token_id: Some(t.id),
            subject_type: "case",
            subject_id: number,
            stage: Stage::Conclusion.as_str(),
            level: valid.level.number(),
            indicators: "{}",
            comment: &valid.comment,
            channel: Channel::Import.as_str(),
            source: "import",
            bad: valid.bad,
            named: true,
            question_set: i64::from(valid.question_set),
            dims: &dims,
            month: &month_of(now),
            import_key: Some(&key),
        },
        now,
    )
    .await?;
    store::spend_token(&mut tx, t.id, now).await?;
    log(
        &mut tx,
        now,
        t.hall.as_deref(),
        &actor.event_name(),
        "rating_imported",
        ("rating", &id.to_string()),
        json!({"case": number, "system": imp.system.trim(), "external_id": imp.external_id.trim(),
               "level": valid.level, "bad": valid.bad}),
    )
    .await?;
    if valid.bad {
        let (cal, region) = calendar_of(st, t.hall.as_deref()).await?;
        let problem = format!(
            "差评（{}导入）：{}。{}",
            imp.system.trim(),
            valid.level.label(),
            valid.comment
        );
        let r = open_rectification(
            &mut tx,
            now,
            &cal,
            rect::Source::BadRating,
            Some(id),
            None,
            &About::of_token(&t),
            problem.trim_end_matches('。'),
            s.rectification_days_for(region.as_deref()),
        )
        .await?;
        if let Some(who) = contact(&mut tx, &t).await? {
            open_callback(
                &mut tx,
                now,
                &cal,
                &s,
                callback::Kind::BadRating,
                &t,
                Some(id),
                Some(r),
                (&who.0, &who.1),
            )
            .await?;
        }
    }
    yichuang_store::timers::cancel(&mut tx, INVITE_TIMER, &t.id.to_string(), now).await?;
    yichuang_store::timers::cancel(&mut tx, DEFAULT_TIMER, &t.id.to_string(), now).await?;
    tx.commit().await?;
    Ok((id, true))
}

// --- timers: invitation and default rating (R-EVAL-DEFAULT) ----------------------------------

/// The invitation: an SMS with the rating link to an applicant who has not rated yet.
pub async fn fire_invite(
    st: &AppState,
    tx: &mut Tx,
    token_id: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let Ok(id) = token_id.parse::<i64>() else {
        return Ok(());
    };
    let Some(t) = store::token_by_id(tx, id).await? else {
        return Ok(());
    };
    let (Some(phone), None) = (&t.phone, t.used_at) else {
        return Ok(());
    };
    let link = format!(
        "{}/rate/{}",
        st.config.public_url.as_deref().unwrap_or(""),
        t.token
    );
    let body = format!(
        "【一窗】您办理的“{}”（办件编号 {}）已办结，请对我们的服务进行评价：{link}",
        t.label, t.subject_id
    );
    yichuang_store::cases::outbox::enqueue(tx, "rating_invite", &t.subject_id, phone, &body, now)
        .await?;
    log(
        tx,
        now,
        t.hall.as_deref(),
        "system",
        "rating_invitation_sent",
        (&t.subject_type, &t.subject_id),
        json!({"channel": "sms"}),
    )
    .await?;
    Ok(())
}

/// The default rating of a subject nobody rated in time, flagged so it never counts in
/// 主动评价率 or 满意率.
pub async fn fire_default(tx: &mut Tx, token_id: &str, now: DateTime<Utc>) -> Result<()> {
    let Ok(id) = token_id.parse::<i64>() else {
        return Ok(());
    };
    let Some(t) = store::token_by_id(tx, id).await? else {
        return Ok(());
    };
    if t.used_at.is_some() || !store::spend_token(tx, t.id, now).await? {
        return Ok(());
    }
    let s = settings_in(tx).await?;
    let dims = t.dims();
    let rid = store::insert_rating(
        tx,
        &NewRating {
            token_id: Some(t.id),
            subject_type: &t.subject_type,
            subject_id: &t.subject_id,
            stage: &t.stage,
            level: s.default_level.number(),
            indicators: "{}",
            comment: "",
            channel: Channel::Default.as_str(),
            source: "default",
            bad: false,
            named: false,
            question_set: 1,
            dims: &dims,
            month: &month_of(now),
            import_key: None,
        },
        now,
    )
    .await?;
    log(
        tx,
        now,
        t.hall.as_deref(),
        "system",
        "rating_defaulted",
        ("rating", &rid.to_string()),
        json!({"subject": {"type": t.subject_type, "id": t.subject_id}, "level": s.default_level}),
    )
    .await?;
    Ok(())
}

// --- rectifications ---------------------------------------------------------------------------

/// Who owns a rectification: the handling department's approvers, the hall's manager (a visit,
/// a window), admins. Supervisors see all and decide appeals.
pub fn may_see_rectification(actor: &Actor, r: &RectificationRow) -> Result<()> {
    match actor.role {
        Role::Admin | Role::Supervisor => Ok(()),
        Role::Approver => match (&actor.department, &r.department) {
            (Some(a), Some(d)) if a == d => Ok(()),
            _ => Err(Error::forbidden("只能处理本部门的整改")),
        },
        Role::HallManager => match (&actor.hall, &r.hall) {
            (Some(a), Some(h)) if a == h => Ok(()),
            _ => Err(Error::forbidden("只能处理本大厅的整改")),
        },
        _ => Err(Error::forbidden(format!(
            "当前账号（{}）无权处理整改",
            actor.role.label()
        ))),
    }
}

pub fn rectification_state(r: &RectificationRow) -> Result<Rectification> {
    let date = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(Error::internal);
    Ok(Rectification {
        source: rect::Source::parse(&r.source)
            .ok_or_else(|| Error::internal("rectification source"))?,
        status: rect::Status::parse(&r.status)
            .ok_or_else(|| Error::internal("rectification status"))?,
        opened_on: date(&r.opened_on)?,
        deadline: date(&r.deadline)?,
        outcome: r.outcome.as_deref().and_then(rect::Outcome::parse),
        closed_on: r.closed_on.as_deref().map(date).transpose()?,
        rater_level: r.rater_level.and_then(Level::from_number),
    })
}

/// The owner's or the supervisor's action on a rectification; a fix or an explanation lists
/// the second callback (R-CALLBACK-DAILY "a second callback after the fix").
pub async fn act_on_rectification(
    st: &AppState,
    actor: &Actor,
    id: i64,
    action: &Action,
) -> Result<RectificationRow> {
    let before = store::rectification(&st.db, id).await?;
    may_see_rectification(actor, &before)?;
    match action {
        Action::DecideAppeal { .. } => {
            actor.require_role(&[Role::Admin, Role::Supervisor], "复核申诉")?
        }
        Action::RateFix { .. } => return Err(Error::forbidden("整改结果由群众在整改后回访中评价")),
        _ => actor.require_role(
            &[Role::Admin, Role::Approver, Role::HallManager],
            "登记整改结果",
        )?,
    }
    let s = settings(&st.db).await?;
    let (cal, _) = calendar_of(st, before.hall.as_deref()).await?;
    let now = st.now();
    let mut tx = st.db.begin().await?;
    let row = store::rectification_for_update(&mut tx, id).await?;
    let after = rectification_state(&row)?.apply(action, local(now).date())?;
    let (evidence, reason, note) = match action {
        Action::Fix { evidence } | Action::Explain { evidence } => {
            (Some(evidence.trim()), None, None)
        }
        Action::Appeal { reason } => (None, Some(reason.trim()), None),
        Action::DecideAppeal { note, .. } => (None, None, Some(note.trim())),
        Action::RateFix { .. } => (None, None, None),
    };
    store::update_rectification(
        &mut tx,
        id,
        &RectificationChange {
            status: after.status.as_str(),
            outcome: after.outcome.map(rect::Outcome::as_str),
            closed_on: after.closed_on.map(|d| d.to_string()),
            evidence,
            appeal_reason: reason,
            appeal_note: note,
            rater_level: None,
            problem: None,
        },
        now,
    )
    .await?;
    log(
        &mut tx,
        now,
        row.hall.as_deref(),
        &actor.event_name(),
        action.event(),
        ("rectification", &id.to_string()),
        json!({"before": {"status": row.status, "outcome": row.outcome},
               "after": {"status": after.status, "outcome": after.outcome},
               "evidence": evidence, "reason": reason, "note": note}),
    )
    .await?;
    if after.needs_follow_up() {
        let t = rater_token(&mut tx, &row).await?;
        if let Some(t) = t
            && let Some(who) = contact(&mut tx, &t).await?
        {
            open_callback(
                &mut tx,
                now,
                &cal,
                &s,
                callback::Kind::FollowUp,
                &t,
                row.rating_id,
                Some(id),
                (&who.0, &who.1),
            )
            .await?;
        }
    }
    tx.commit().await?;
    store::rectification(&st.db, id).await
}

/// The token of the subject a rectification is about (it leads to the rater's contact).
async fn rater_token(tx: &mut Tx, r: &RectificationRow) -> Result<Option<TokenRow>> {
    store::first_token_of_subject(tx, &r.subject_type, &r.subject_id).await
}

// --- callbacks (R-CALLBACK-DAILY) ---------------------------------------------------------------

/// Callback staff (and admins) work the callback list; a hall manager may look at it.
pub fn may_work_callbacks(actor: &Actor) -> Result<()> {
    actor.require_role(&[Role::Admin, Role::Callback], "回访")
}

fn may_see_callback(actor: &Actor, c: &CallbackRow) -> Result<()> {
    match actor.role {
        Role::Admin | Role::Supervisor => Ok(()),
        Role::Callback | Role::HallManager => match (&actor.hall, &c.hall) {
            // A callback centre without a hall serves every hall.
            (None, _) if actor.role == Role::Callback => Ok(()),
            (Some(a), Some(h)) if a == h => Ok(()),
            _ => Err(Error::forbidden("只能查看本大厅的回访")),
        },
        _ => Err(Error::forbidden(format!(
            "当前账号（{}）无权查看回访",
            actor.role.label()
        ))),
    }
}

pub async fn callback_for(st: &AppState, actor: &Actor, id: i64) -> Result<CallbackRow> {
    let c = store::callback(&st.db, id).await?;
    may_see_callback(actor, &c)?;
    Ok(c)
}

/// Takes a callback onto the staff member's own list; only the holder sees the full number.
pub async fn take_callback(st: &AppState, actor: &Actor, id: i64) -> Result<CallbackRow> {
    may_work_callbacks(actor)?;
    callback_for(st, actor, id).await?;
    let now = st.now();
    let mut tx = st.db.begin().await?;
    let c = store::callback_for_update(&mut tx, id).await?;
    if c.status != "open" {
        return Err(Error::conflict("callback_closed", "这条回访已结束"));
    }
    if let Some(h) = c.holder_id.filter(|h| *h != actor.id) {
        return Err(Error::conflict(
            "callback_held",
            format!("这条回访已由其他回访员（编号 {h}）领取"),
        ));
    }
    store::update_callback(
        &mut tx,
        id,
        &CallbackChange {
            status: &c.status,
            attempts: c.attempts,
            holder_id: Some(actor.id),
            satisfied: None,
            problem: None,
            closed: false,
        },
        now,
    )
    .await?;
    log(
        &mut tx,
        now,
        c.hall.as_deref(),
        &actor.event_name(),
        "callback_taken",
        ("callback", &id.to_string()),
        json!({"holder": actor.username}),
    )
    .await?;
    tx.commit().await?;
    store::callback(&st.db, id).await
}

/// The full number, to the holder only, and the showing is logged (R-PII: every full view is
/// audited).
pub async fn reveal_phone(st: &AppState, actor: &Actor, id: i64) -> Result<String> {
    may_work_callbacks(actor)?;
    let c = callback_for(st, actor, id).await?;
    if c.holder_id != Some(actor.id) {
        return Err(Error::forbidden(
            "请先领取这条回访，领取人才能查看完整电话号码",
        ));
    }
    let now = st.now();
    let mut tx = st.db.begin().await?;
    log(
        &mut tx,
        now,
        None,
        &actor.event_name(),
        "callback_phone_shown",
        ("callback", &id.to_string()),
        json!({"phone": c.phone_masked}),
    )
    .await?;
    tx.commit().await?;
    Ok(c.phone)
}

/// Records an attempt. "Not satisfied" puts the problem to the window with a deadline (joining
/// the rating's open rectification if there is one); a follow-up's answer rates the fix.
pub async fn record_attempt(
    st: &AppState,
    actor: &Actor,
    id: i64,
    attempt: &Attempt,
) -> Result<CallbackRow> {
    may_work_callbacks(actor)?;
    let before = callback_for(st, actor, id).await?;
    if before.holder_id.is_some_and(|h| h != actor.id) {
        return Err(Error::conflict(
            "callback_held",
            "这条回访已由其他回访员领取",
        ));
    }
    let s = settings(&st.db).await?;
    let (cal, _) = calendar_of(st, before.hall.as_deref()).await?;
    let now = st.now();
    let mut tx = st.db.begin().await?;
    let c = store::callback_for_update(&mut tx, id).await?;
    let state = Callback {
        kind: callback::Kind::parse(&c.kind).ok_or_else(|| Error::internal("callback kind"))?,
        status: callback::Status::parse(&c.status)
            .ok_or_else(|| Error::internal("callback status"))?,
        attempts: u32::try_from(c.attempts).unwrap_or(u32::MAX),
    };
    let (next, then) = state.record(attempt, &s)?;
    let (satisfied, problem) = match attempt {
        Attempt::Reached {
            satisfied, problem, ..
        } => (
            Some(*satisfied),
            Some(problem.trim()).filter(|p| !p.is_empty()),
        ),
        _ => (None, None),
    };
    store::update_callback(
        &mut tx,
        id,
        &CallbackChange {
            status: next.status.as_str(),
            attempts: i64::from(next.attempts),
            holder_id: Some(actor.id),
            satisfied,
            problem,
            closed: next.status != callback::Status::Open,
        },
        now,
    )
    .await?;
    log(&mut tx, now, c.hall.as_deref(), &actor.event_name(), "callback_attempted", ("callback", &id.to_string()),
        json!({"attempt": next.attempts, "status": next.status, "satisfied": satisfied, "problem": problem})).await?;
    match then {
        Then::Nothing => {}
        Then::Problem(p) => {
            let existing = match c.rating_id {
                Some(r) => store::rectification_of_rating(&mut tx, r).await?,
                None => None,
            };
            match existing {
                Some(rid) => {
                    let r = store::rectification_for_update(&mut tx, rid).await?;
                    let joined = format!("{}\n回访反映：{p}", r.problem);
                    store::update_rectification(
                        &mut tx,
                        rid,
                        &RectificationChange {
                            status: &r.status,
                            outcome: r.outcome.as_deref(),
                            closed_on: r.closed_on.clone(),
                            evidence: None,
                            appeal_reason: None,
                            appeal_note: None,
                            rater_level: None,
                            problem: Some(&joined),
                        },
                        now,
                    )
                    .await?;
                    log(
                        &mut tx,
                        now,
                        c.hall.as_deref(),
                        &actor.event_name(),
                        "rectification_problem_added",
                        ("rectification", &rid.to_string()),
                        json!({"callback": id, "problem": p}),
                    )
                    .await?;
                }
                None => {
                    let about = About::of_callback(&c);
                    open_rectification(
                        &mut tx,
                        now,
                        &cal,
                        rect::Source::CallbackProblem,
                        c.rating_id,
                        Some(id),
                        &about,
                        &format!("回访反映：{p}"),
                        s.callback_problem_days,
                    )
                    .await?;
                }
            }
        }
        Then::RateFix(level) => {
            if let Some(rid) = c.rectification_id {
                let r = store::rectification_for_update(&mut tx, rid).await?;
                let after = rectification_state(&r)?
                    .apply(&Action::RateFix { level }, local(now).date())?;
                store::update_rectification(
                    &mut tx,
                    rid,
                    &RectificationChange {
                        status: after.status.as_str(),
                        outcome: r.outcome.as_deref(),
                        closed_on: r.closed_on.clone(),
                        evidence: None,
                        appeal_reason: None,
                        appeal_note: None,
                        rater_level: after.rater_level.map(Level::number),
                        problem: None,
                    },
                    now,
                )
                .await?;
                log(
                    &mut tx,
                    now,
                    c.hall.as_deref(),
                    &actor.event_name(),
                    "rectification_rated",
                    ("rectification", &rid.to_string()),
                    json!({"level": level, "callback": id}),
                )
                .await?;
            }
        }
    }
    tx.commit().await?;
    store::callback(&st.db, id).await
}
