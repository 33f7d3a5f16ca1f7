//! 工单 and 问题台账 (issue 12): orders from the 办不成事 window, the hotline, the public and
//! Open311, a bad rating or a callback problem, handled in a closed loop on the working-day
//! clock; duplicates merged; clusters and inspections in the ledger, closed out and revisited.
//! The rules are `yichuang_domain::work_order`'s; this area loads a row, applies them and stores
//! the result with its event, its timers and its messages in one transaction.

pub mod api;
pub mod ledger;
pub mod open311;
pub mod pages;
pub mod views;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde_json::json;
use yichuang_domain::calendar::Calendar;
use yichuang_domain::identity::parse_mobile;
use yichuang_domain::pii::{mask_name, mask_phone};
use yichuang_domain::work_order::dedupe::{Candidate, Probe, duplicate_score};
use yichuang_domain::work_order::{Action, Source, Status, WorkOrder, WorkOrderSettings};
use yichuang_domain::workdays::WorkingDays;
use yichuang_domain::{Actor, Error, Result, Role};
use yichuang_store::events::{self, NewEvent};
use yichuang_store::timers;
use yichuang_store::work_orders::{self as store, Change, NewWorkOrder, WorkOrderRow};
use yichuang_store::{
    Tx,
    cases::{outbox, vault},
};

use crate::cases::time::{local, utc};
use crate::state::AppState;

/// Timer kinds: 催办 the working day after a missed deadline, 督办 later, 回头看 of the ledger.
/// The subject is the order's number (the entry's id for the revisit).
pub const URGE_TIMER: &str = "work_order_urge";
pub const OVERSEE_TIMER: &str = "work_order_oversee";
pub const REVISIT_TIMER: &str = "ledger_revisit";

const SETTINGS_KEY: &str = "work_orders";

pub fn routes() -> axum::Router<AppState> {
    api::routes().merge(open311::routes())
}

pub fn page_routes() -> axum::Router<AppState> {
    pages::routes()
}

pub async fn settings(db: &yichuang_store::Db) -> Result<WorkOrderSettings> {
    Ok(yichuang_store::settings::get(db, SETTINGS_KEY)
        .await?
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default())
}

pub async fn put_settings(st: &AppState, actor: &Actor, s: &WorkOrderSettings) -> Result<()> {
    actor.require_role(&[Role::Admin], "修改工单设置")?;
    s.validate()?;
    let units = units(st).await?;
    for c in &s.categories {
        if let Some(u) = &c.unit
            && !units.contains_key(u)
        {
            return Err(Error::invalid(
                "unknown_unit",
                format!("分类“{}”的承办单位“{u}”不存在", c.name),
            )
            .field("categories", "请选择已有的部门"));
        }
    }
    let now = st.now();
    let before = settings(&st.db).await?;
    let mut tx = st.db.begin().await?;
    yichuang_store::settings::put(&mut tx, SETTINGS_KEY, &json!(s), now).await?;
    events::append(
        &mut tx,
        now,
        NewEvent {
            actor: &actor.event_name(),
            kind: "work_order_settings_changed",
            subject_type: "settings",
            subject_id: SETTINGS_KEY,
            payload: json!({"before": before, "after": s}),
        },
    )
    .await?;
    tx.commit().await
}

/// The units orders are dispatched to: the departments, by code with their names.
pub async fn units(st: &AppState) -> Result<HashMap<String, String>> {
    Ok(yichuang_store::catalogue::departments(&st.db)
        .await?
        .into_iter()
        .map(|d| (d.code, d.name))
        .collect())
}

/// The calendar an order's deadlines are counted on: its hall's region's.
pub async fn calendar_of(st: &AppState, hall: Option<&str>) -> Result<Arc<Calendar>> {
    Ok(crate::ratings::calendar_of(st, hall).await?.0)
}

/// Who acts: a signed-in member of staff, the requester (by the order's link), a system
/// (timers, an Open311 client by its token).
// A `Who` lives for one request and is never kept in a collection: boxing the actor would only
// add an allocation to every request.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Who {
    Staff(Actor),
    Requester,
    System(String),
}

impl Who {
    pub fn event_name(&self) -> String {
        match self {
            Who::Staff(a) => a.event_name(),
            Who::Requester => "applicant:requester".into(),
            Who::System(s) => s.clone(),
        }
    }
    fn staff(&self) -> Option<&Actor> {
        match self {
            Who::Staff(a) => Some(a),
            _ => None,
        }
    }
}

/// What a new order says.
#[derive(Debug, Clone, Default)]
pub struct NewOrder {
    pub source: Option<Source>,
    pub hall: Option<String>,
    pub requester_name: String,
    pub requester_phone: String,
    pub place: String,
    pub text: String,
    pub category: Option<String>,
    pub case_number: Option<String>,
    pub ticket_id: Option<i64>,
    pub rating_id: Option<i64>,
    pub external_id: Option<String>,
    /// 即办: answered on the spot at the window, in the given category.
    pub answer_now: Option<String>,
}

fn may_create(who: &Who, source: Source) -> Result<()> {
    let staff = |allowed: &[Role], what: &str| match who.staff() {
        Some(a) => a.require_role(allowed, what),
        None => Err(Error::unauthorized()),
    };
    match source {
        Source::UnresolvedWindow => staff(
            &[Role::Clerk, Role::HallManager, Role::Admin],
            "登记办不成事工单",
        ),
        Source::Hotline => staff(
            &[Role::Callback, Role::HallManager, Role::Admin],
            "登记热线工单",
        ),
        Source::BadRating | Source::CallbackProblem => staff(
            &[
                Role::Callback,
                Role::HallManager,
                Role::Admin,
                Role::Supervisor,
            ],
            "把差评或回访问题转为工单",
        ),
        Source::Public | Source::Open311 => Ok(()),
    }
}

fn check_new(n: &NewOrder, s: &WorkOrderSettings) -> Result<Option<String>> {
    let mut problems = yichuang_domain::Problems::new();
    let text_len = n.text.trim().chars().count();
    if text_len == 0 {
        problems.add("text", "请写明反映的问题");
    } else if text_len > 2000 {
        problems.add("text", "问题描述请不超过 2000 字");
    }
    if n.requester_name.trim().chars().count() > 50 {
        problems.add("requester_name", "姓名请不超过 50 字");
    }
    if n.place.trim().chars().count() > 200 {
        problems.add("place", "地点请不超过 200 字");
    }
    let phone = match n.requester_phone.trim() {
        "" => None,
        p => match parse_mobile(p) {
            Ok(p) => Some(p),
            Err(e) => {
                e.report(&mut problems, "requester_phone");
                None
            }
        },
    };
    if let Some(c) = &n.category
        && s.category(c).is_none()
    {
        problems.add("category", "请选择问题分类");
    }
    if n.answer_now.is_some() && n.category.is_none() {
        problems.add("category", "当场解答须选择问题分类");
    }
    if let Some(a) = &n.answer_now
        && a.trim().is_empty()
    {
        problems.add("answer_now", "请填写当场解答的内容");
    }
    problems.finish()?;
    Ok(phone)
}

/// A new random token for the requester's link (100 bits: nothing guessable).
fn new_token() -> Result<String> {
    crate::ratings::new_token()
}

/// Records a new order; an import with a known `external_id` answers the existing one.
pub async fn create(st: &AppState, who: &Who, n: &NewOrder) -> Result<(WorkOrderRow, bool)> {
    let source = n.source.ok_or_else(|| {
        Error::invalid("missing_source", "请选择工单来源").field("source", "请选择工单来源")
    })?;
    may_create(who, source)?;
    let s = settings(&st.db).await?;
    let phone = check_new(n, &s)?;
    let hall = match (&n.hall, who.staff().and_then(|a| a.hall.clone())) {
        (Some(h), _) => Some(h.clone()),
        (None, h) => h,
    };
    let cal = calendar_of(st, hall.as_deref()).await?;
    let now = st.now();
    let today = local(now).date();
    let token = new_token()?;
    let mut tx = st.db.begin().await?;
    if let Some(x) = n.external_id.as_deref().filter(|x| !x.is_empty())
        && let Some(number) = store::id_of_external(&mut tx, x).await?
    {
        // Committed (it wrote nothing), not dropped: the order it found may be another
        // transaction's in the same group commit, which the read below needs committed.
        tx.commit().await?;
        return Ok((store::by_number(&st.db, &number).await?, false));
    }
    let number = store::next_number(&mut tx, today).await?;
    let mut order = WorkOrder::receive(today);
    // The requester's or the clerk's choice is a proposal the dispatcher confirms or changes.
    order.category = n.category.clone();
    let state = serde_json::to_string(&order).map_err(Error::internal)?;
    store::insert(
        &mut tx,
        &NewWorkOrder {
            number: &number,
            token: &token,
            hall: hall.as_deref(),
            source: source.as_str(),
            status: order.status.as_str(),
            category: n.category.as_deref(),
            requester_name: n.requester_name.trim(),
            requester_phone: phone.as_deref(),
            place: n.place.trim(),
            body: n.text.trim(),
            case_number: n.case_number.as_deref().filter(|x| !x.is_empty()),
            ticket_id: n.ticket_id,
            rating_id: n.rating_id,
            external_id: n.external_id.as_deref().filter(|x| !x.is_empty()),
            received_on: today,
            created_by: &who.event_name(),
            state: &state,
        },
        now,
    )
    .await?;
    events::append(
        &mut tx,
        now,
        NewEvent {
            actor: &who.event_name(),
            kind: "work_order_received",
            subject_type: "work_order",
            subject_id: &number,
            payload: json!({
                "source": source, "hall": hall, "category": n.category,
                "requester": mask_name(n.requester_name.trim()),
                "phone": phone.as_deref().map(mask_phone),
                "case_number": n.case_number, "rating_id": n.rating_id,
                "external_id": n.external_id,
            }),
        },
    )
    .await?;
    if let Some(p) = &phone {
        outbox::enqueue(
            &mut tx,
            "work_order_received",
            &number,
            p,
            &format!(
                "您反映的问题已受理，工单编号 {number}。可凭短信中的链接查看办理进度：/wo/{token}"
            ),
            now,
        )
        .await?;
    }
    let mut row = store::by_number_in(&mut tx, &number).await?;
    if let (Some(answer), Some(category)) = (&n.answer_now, &n.category) {
        let is_unit = |_: &str| false;
        for action in [
            Action::Classify {
                category: category.clone(),
                tier: s
                    .tiers
                    .iter()
                    .find(|t| t.days == 0)
                    .map(|t| t.code.clone())
                    .unwrap_or_else(|| "immediate".into()),
                lead_unit: None,
                assisting_units: vec![],
            },
            Action::Answer {
                text: answer.clone(),
                negative: false,
                reasons: String::new(),
            },
        ] {
            row = apply_in(&mut tx, who, &row, &action, &s, &*cal, &is_unit, now).await?;
        }
    }
    tx.commit().await?;
    Ok((row, true))
}

pub fn state_of(row: &WorkOrderRow) -> Result<WorkOrder> {
    serde_json::from_str(&row.state).map_err(Error::internal)
}

/// Whether `who` may take `action` on `row`.
fn may_act(who: &Who, row: &WorkOrderRow, o: &WorkOrder, action: &Action) -> Result<()> {
    let dispatcher = |a: &Actor, what: &str| -> Result<()> {
        a.require_role(&[Role::Admin, Role::HallManager], what)?;
        if a.role == Role::HallManager
            && let Some(h) = &row.hall
        {
            a.require_hall(h, what)?;
        }
        Ok(())
    };
    let unit = |a: &Actor, what: &str| -> Result<()> {
        match (&o.lead_unit, a.role) {
            (_, Role::Admin) => Ok(()),
            (Some(u), Role::Approver) if a.department.as_deref() == Some(u) => Ok(()),
            // 即办: no unit; the window answers at once.
            (None, Role::Clerk | Role::HallManager) => Ok(()),
            _ => Err(Error::forbidden(format!("只有主办单位可以{what}"))),
        }
    };
    match (who, action) {
        (Who::System(_), Action::Urge | Action::Oversee) => Ok(()),
        (Who::Requester, Action::RequesterReplied { .. }) => Ok(()),
        (Who::Staff(a), Action::Classify { .. }) => dispatcher(a, "分类转办"),
        (Who::Staff(a), Action::ReviewObjection { .. }) => dispatcher(a, "审核派单异议"),
        (Who::Staff(a), Action::DecideExtension { .. }) => dispatcher(a, "审批延期"),
        (Who::Staff(a), Action::Decline { .. }) => dispatcher(a, "不予受理"),
        (Who::Staff(a), Action::Merge { .. }) => dispatcher(a, "并单"),
        (Who::Staff(a), Action::Object { .. }) => unit(a, "提出派单异议"),
        (Who::Staff(a), Action::AskExtension { .. }) => unit(a, "申请延期"),
        (Who::Staff(a), Action::AskRequester { .. }) => unit(a, "请群众补充"),
        (Who::Staff(a), Action::Answer { .. }) => unit(a, "答复"),
        (Who::Staff(a), Action::RequesterReplied { .. }) => a.require_role(
            &[Role::Admin, Role::HallManager, Role::Callback],
            "登记群众补充",
        ),
        (Who::Staff(a), Action::Feedback { .. }) => a.require_role(
            &[
                Role::Admin,
                Role::HallManager,
                Role::Callback,
                Role::Supervisor,
            ],
            "登记回访",
        ),
        _ => Err(Error::forbidden("无权进行此操作")),
    }
}

/// The hall-local morning a timer for `day` fires at (office hours start).
pub(crate) fn morning(day: NaiveDate) -> DateTime<Utc> {
    utc(day.and_time(NaiveTime::from_hms_opt(9, 0, 0).expect("09:00")))
}

/// Applies `action` inside the caller's transaction: the row, its units, the event, the timers
/// and the messages. Returns the row as it now stands.
#[allow(clippy::too_many_arguments)]
async fn apply_in(
    tx: &mut Tx,
    who: &Who,
    row: &WorkOrderRow,
    action: &Action,
    s: &WorkOrderSettings,
    cal: &(dyn WorkingDays + Sync),
    is_unit: &(dyn Fn(&str) -> bool + Sync),
    now: DateTime<Utc>,
) -> Result<WorkOrderRow> {
    let today = local(now).date();
    let before = state_of(row)?;
    let after = before.apply(action, today, s, cal, is_unit)?;
    let reading = after.reading(cal, today, s.yellow_at_percent);
    let state = serde_json::to_string(&after).map_err(Error::internal)?;
    store::update(
        tx,
        row.id,
        &Change {
            status: after.status.as_str(),
            category: after.category.as_deref(),
            lead_unit: after.lead_unit.as_deref(),
            merged_into: after.merged_into.as_deref(),
            due_on: reading
                .as_ref()
                .filter(|_| !after.status.is_closed())
                .map(|r| r.due_date),
            closed: after.status.is_closed(),
            state: &state,
        },
        now,
    )
    .await?;
    if after.assisting_units != before.assisting_units {
        store::set_assisting(tx, row.id, &after.assisting_units).await?;
    }
    events::append(
        tx,
        now,
        NewEvent {
            actor: &who.event_name(),
            kind: action.event(),
            subject_type: "work_order",
            subject_id: &row.number,
            payload: json!({
                "before": {"status": before.status, "lead_unit": before.lead_unit},
                "after": {"status": after.status, "lead_unit": after.lead_unit,
                          "due_date": reading.as_ref().map(|r| r.due_date)},
                "detail": action_detail(action),
            }),
        },
    )
    .await?;
    // The clock's timers follow the state: cancelled, then set again where something is owed.
    let (urge, oversee) = after.next_timers(cal, today, s);
    let (old_urge, old_oversee) = before.next_timers(cal, today, s);
    if (urge, oversee) != (old_urge, old_oversee)
        || matches!(action, Action::Urge | Action::Oversee)
    {
        for (kind, day) in [(URGE_TIMER, urge), (OVERSEE_TIMER, oversee)] {
            timers::cancel(tx, kind, &row.number, now).await?;
            if let Some(d) = day {
                timers::schedule(tx, kind, &row.number, morning(d), json!({}), now).await?;
            }
        }
    }
    tell_requesters(tx, row, &before, &after, action, now).await?;
    store::by_number_in(tx, &row.number).await
}

/// What the action said, for the event (texts are the staff's words, not personal data).
fn action_detail(a: &Action) -> serde_json::Value {
    match a {
        Action::Classify {
            category,
            tier,
            lead_unit,
            assisting_units,
        } => json!({"category": category, "tier": tier, "lead_unit": lead_unit,
                    "assisting_units": assisting_units}),
        Action::Object { unit, reason } => json!({"unit": unit, "reason": reason}),
        Action::ReviewObjection { reassign_to, note } => {
            json!({"reassign_to": reassign_to, "note": note})
        }
        Action::AskExtension { days, reason } => json!({"days": days, "reason": reason}),
        Action::DecideExtension { approve, note } => json!({"approve": approve, "note": note}),
        Action::AskRequester { note } => json!({"note": note}),
        Action::RequesterReplied { text } => json!({"text": text}),
        Action::Answer {
            text,
            negative,
            reasons,
        } => json!({"text": text, "negative": negative, "reasons": reasons}),
        Action::Feedback {
            satisfied,
            handler_at_fault,
            level,
            note,
        } => json!({"satisfied": satisfied, "handler_at_fault": handler_at_fault,
                    "level": level.map(|l| l.number()), "note": note}),
        Action::Decline { reason, refer_to } => json!({"reason": reason, "refer_to": refer_to}),
        Action::Merge { into } => json!({"into": into}),
        Action::Urge | Action::Oversee => json!({}),
    }
}

/// The requester hears of what concerns them: an answer (with every order merged into this one),
/// a decline with where to go, a merge, a question from the unit.
async fn tell_requesters(
    tx: &mut Tx,
    row: &WorkOrderRow,
    before: &WorkOrder,
    after: &WorkOrder,
    action: &Action,
    now: DateTime<Utc>,
) -> Result<()> {
    let body = match action {
        Action::Answer { .. } => format!(
            "您反映的问题（工单 {}）已有答复，请查看：/wo/{}。稍后我们会回访您的意见。",
            row.number, row.token
        ),
        Action::Decline { refer_to, .. } => format!(
            "您反映的问题（工单 {}）不属于本中心受理范围，请向{}反映。",
            row.number, refer_to
        ),
        Action::Merge { into } => format!(
            "您反映的问题（工单 {}）与他人反映的同一问题合并办理，主工单编号 {into}，答复会同时告知您。",
            row.number
        ),
        Action::AskRequester { note } => format!(
            "您反映的问题（工单 {}）需要补充情况：{note}。请通过 /wo/{} 补充。",
            row.number, row.token
        ),
        Action::Feedback { .. } if after.reopened > before.reopened => format!(
            "您对工单 {} 的答复不满意，已重新交办，我们会再次答复您。",
            row.number
        ),
        _ => return Ok(()),
    };
    let mut to: Vec<(String, String)> = Vec::new();
    if let Some(p) = &row.requester_phone {
        to.push((row.number.clone(), p.clone()));
    }
    if matches!(action, Action::Answer { .. }) {
        for m in store::merged_into(tx, &row.number).await? {
            if let Some(p) = m.requester_phone {
                to.push((m.number, p));
            }
        }
    }
    for (subject, phone) in to {
        outbox::enqueue(tx, action.event(), &subject, &phone, &body, now).await?;
    }
    Ok(())
}

/// An action on an order by staff, the requester or a system. A reply to a merged order lands on
/// its survivor (R-HOTLINE: later replies go to the surviving order).
pub async fn act(st: &AppState, who: &Who, number: &str, action: &Action) -> Result<WorkOrderRow> {
    let mut number = number.to_string();
    let first = store::by_number(&st.db, &number).await?;
    let mut row = first.clone();
    if matches!(
        action,
        Action::RequesterReplied { .. } | Action::Answer { .. }
    ) {
        for _ in 0..8 {
            match row.merged_into.clone() {
                Some(survivor) => {
                    row = store::by_number(&st.db, &survivor).await?;
                    number = survivor;
                }
                None => break,
            }
        }
    }
    may_act(who, &row, &state_of(&row)?, action)?;
    if let Action::Merge { into } = action {
        check_survivor(st, &row, into).await?;
    }
    let s = settings(&st.db).await?;
    let cal = calendar_of(st, row.hall.as_deref()).await?;
    let units = units(st).await?;
    let is_unit = |u: &str| units.contains_key(u);
    let now = st.now();
    let mut tx = st.db.begin().await?;
    let row = store::for_update(&mut tx, &number).await?;
    let after = apply_in(&mut tx, who, &row, action, &s, &*cal, &is_unit, now).await?;
    if let Action::Merge { into } = action {
        events::append(
            &mut tx,
            now,
            NewEvent {
                actor: &who.event_name(),
                kind: "work_order_merge_received",
                subject_type: "work_order",
                subject_id: into,
                payload: json!({"merged": row.number}),
            },
        )
        .await?;
    }
    if first.number != after.number {
        events::append(
            &mut tx,
            now,
            NewEvent {
                actor: &who.event_name(),
                kind: "work_order_reply_forwarded",
                subject_type: "work_order",
                subject_id: &first.number,
                payload: json!({"to": after.number, "action": action.event()}),
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(after)
}

async fn check_survivor(st: &AppState, row: &WorkOrderRow, into: &str) -> Result<()> {
    let bad = |msg: &str| Err(Error::invalid("bad_survivor", msg).field("into", msg));
    if into == row.number {
        return bad("不能并入本工单自己");
    }
    let Ok(survivor) = store::by_number(&st.db, into).await else {
        return bad("要并入的主工单不存在");
    };
    let status = Status::parse(&survivor.status).ok_or_else(|| Error::internal("status"))?;
    if status.is_closed() {
        return bad("主工单已办结或已并单，不能并入");
    }
    Ok(())
}

/// The timers: 催办 and 督办 of a late order. An order no longer late (answered, extended) is
/// left alone; the event says so where the timer found it otherwise.
pub async fn fire(
    st: &AppState,
    tx: &mut Tx,
    kind: &str,
    number: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let s = settings(&st.db).await?;
    let row = store::for_update(tx, number).await?;
    let cal = calendar_of(st, row.hall.as_deref()).await?;
    let action = if kind == URGE_TIMER {
        Action::Urge
    } else {
        Action::Oversee
    };
    let who = Who::System("system:timer".into());
    let never = |_: &str| false;
    match apply_in(tx, &who, &row, &action, &s, &*cal, &never, now).await {
        Ok(_) => Ok(()),
        // Not late any more, or not with the unit: nothing is owed.
        Err(e) if e.kind == yichuang_domain::Kind::Conflict => Ok(()),
        Err(e) => Err(e),
    }
}

/// Likely duplicates of an order among those of the settings' window, best first (at most
/// ten, read whole once chosen).
pub async fn duplicates(
    st: &AppState,
    row: &WorkOrderRow,
) -> Result<Vec<(WorkOrderRow, u8, Vec<&'static str>)>> {
    let s = settings(&st.db).await?;
    let received: NaiveDate = row.received_on.parse().map_err(Error::internal)?;
    let since = received - chrono::Days::new(u64::from(s.duplicate_window_days));
    let found = store::duplicate_candidates(
        &st.db,
        since,
        row.category.as_deref(),
        row.requester_phone.as_deref(),
        row.id,
        1000,
    )
    .await?;
    let probe = Probe::new(Candidate {
        received_on: received,
        category: row.category.as_deref(),
        phone: row.requester_phone.as_deref(),
        place: &row.place,
        text: &row.body,
    });
    let mut scored: Vec<_> = found
        .iter()
        .filter_map(|o| {
            let on: NaiveDate = o.received_on.parse().ok()?;
            let other = Candidate {
                received_on: on,
                category: o.category.as_deref(),
                phone: o.requester_phone.as_deref(),
                place: &o.place,
                text: &o.body,
            };
            let (score, why) = duplicate_score(
                &probe,
                &other,
                s.duplicate_window_days,
                s.duplicate_similarity_percent,
            )?;
            Some((o.id, score, why))
        })
        .collect();
    scored.sort_by(|a, b| b.1.cmp(&a.1).then(b.0.cmp(&a.0)));
    scored.truncate(10);
    let mut out = Vec::with_capacity(scored.len());
    for (id, score, why) in scored {
        out.push((store::by_id_row(&st.db, id).await?, score, why));
    }
    Ok(out)
}

/// Who may see an order: staff of its hall, its units, supervisors and admins.
pub fn may_see(actor: &Actor, row: &WorkOrderRow) -> Result<()> {
    let assisting = state_of(row)?.assisting_units;
    let ok = match actor.role {
        Role::Admin | Role::Supervisor => true,
        Role::HallManager | Role::Clerk | Role::Callback => {
            row.hall.is_none() || actor.hall == row.hall || actor.role == Role::Callback
        }
        Role::Approver => {
            let d = actor.department.as_deref();
            d.is_some()
                && (row.lead_unit.as_deref() == d
                    || assisting.iter().any(|u| Some(u.as_str()) == d))
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(Error::forbidden("无权查看该工单"))
    }
}

/// One attachment to add: a name people read and the bytes (PDF, JPEG or PNG, checked).
pub struct Attachment {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// Attaches files to an order (staff who may see it, or the requester by the order's link), with
/// an event each; a failure leaves neither rows nor files behind.
pub async fn attach(
    st: &AppState,
    who: &Who,
    number: &str,
    files: &[Attachment],
) -> Result<Vec<i64>> {
    let row = store::by_number(&st.db, number).await?;
    if let Who::Staff(a) = who {
        may_see(a, &row)?;
    }
    if files.is_empty() {
        return Err(
            Error::invalid("missing_file", "请选择要上传的文件").field("file", "请选择文件")
        );
    }
    if files.len() > 10 {
        return Err(Error::invalid("too_many_files", "一次最多上传 10 个文件")
            .field("file", "一次最多上传 10 个文件"));
    }
    let blobs = crate::cases::vault::blob_store(st).await?;
    let now = st.now();
    let mut written = Vec::new();
    let stored = async {
        // Written before the transaction's first statement (see `vault::prepare_blob`).
        let bytes: Vec<&[u8]> = files.iter().map(|f| f.bytes.as_slice()).collect();
        let prepared = vault::prepare_blobs(&blobs, &bytes, &mut written).await?;
        let mut tx = st.db.begin().await?;
        let mut ids = Vec::new();
        for (f, p) in files.iter().zip(&prepared) {
            let new_file = vault::store_prepared(&mut tx, &blobs, p, now).await?;
            vault::note_written(&mut written, &p.sha, new_file);
            let sha = p.sha.clone();
            let name: String = f
                .name
                .trim()
                .chars()
                .filter(|c| !c.is_control())
                .take(100)
                .collect();
            let id = store::add_file(
                &mut tx,
                &yichuang_store::work_orders::FileRow {
                    id: 0,
                    order_id: row.id,
                    name: if name.is_empty() {
                        "附件".into()
                    } else {
                        name
                    },
                    content_type: vault::sniff(&f.bytes)
                        .unwrap_or("application/octet-stream")
                        .into(),
                    size: f.bytes.len() as i64,
                    sha256: sha,
                    added_by: who.event_name(),
                    added_at: yichuang_store::micros(now),
                },
            )
            .await?;
            events::append(
                &mut tx,
                now,
                NewEvent {
                    actor: &who.event_name(),
                    kind: "work_order_file_added",
                    subject_type: "work_order",
                    subject_id: &row.number,
                    payload: json!({"file": id, "size": f.bytes.len(), "note": f.name.trim()}),
                },
            )
            .await?;
            ids.push(id);
        }
        tx.commit().await?;
        Ok::<_, Error>(ids)
    }
    .await;
    match stored {
        Ok(ids) => Ok(ids),
        Err(e) => {
            blobs.discard(&st.db, &written).await;
            Err(e)
        }
    }
}

/// An attachment's bytes for staff who may see the order.
pub async fn attachment(
    st: &AppState,
    actor: &Actor,
    number: &str,
    id: i64,
) -> Result<(yichuang_store::work_orders::FileRow, Vec<u8>)> {
    let row = store::by_number(&st.db, number).await?;
    may_see(actor, &row)?;
    let f = store::file(&st.db, row.id, id).await?;
    let blobs = crate::cases::vault::blob_store(st).await?;
    let bytes = blobs.get(&st.db, &f.sha256).await?;
    Ok((f, bytes))
}
