//! Supervision (电子监察, R-SUPERVISE): the hourly sweep (anomalies from new case events, 督办
//! for what turned red, escalation of ignored notices, the day's rollup), the numbers read
//! from the rollup, window rankings, and who may see which halls. Rules live in
//! `yichuang_domain::supervision`; this module reads, asks them and writes back.

pub mod api;
pub mod pages;
pub mod svg;
pub mod views;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Timelike, Utc};
use serde_json::json;
use yichuang_domain::case::Case;
use yichuang_domain::supervision::numbers::{Figures, Metric, Tally, case_day};
use yichuang_domain::supervision::ranking::{Inputs, Ranked, rank};
use yichuang_domain::supervision::{
    Action, Late, OpenNotice, RecordKind, RecordState, SubjectKind, SupervisionSettings, anomaly,
    plan,
};
use yichuang_domain::{Actor, Error, Result, Role};
use yichuang_store::supervision::{self as store, Group, NewRecord, RankingRow, StatRow};
use yichuang_store::{Tx, timers};

use crate::cases::time::{local, utc};
use crate::state::AppState;

pub const SWEEP_TIMER: &str = "supervision_sweep";
const SETTINGS_KEY: &str = "supervision";
const ACTOR: &str = "system:supervision";

pub async fn settings(db: &yichuang_store::Db) -> Result<SupervisionSettings> {
    Ok(yichuang_store::settings::get(db, SETTINGS_KEY)
        .await?
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default())
}

pub async fn put_settings(st: &AppState, actor: &Actor, s: &SupervisionSettings) -> Result<()> {
    actor.require_role(&[Role::Admin], "修改电子监察设置")?;
    s.validate()?;
    let now = st.now();
    let before = settings(&st.db).await?;
    let mut tx = st.db.begin().await?;
    yichuang_store::settings::put(&mut tx, SETTINGS_KEY, &json!(s), now).await?;
    event(
        &mut tx,
        now,
        &actor.event_name(),
        "supervision_settings_changed",
        SETTINGS_KEY,
        json!({"before": before, "after": s}),
    )
    .await?;
    tx.commit().await
}

async fn event(
    tx: &mut Tx,
    now: DateTime<Utc>,
    actor: &str,
    kind: &str,
    subject: &str,
    payload: serde_json::Value,
) -> Result<()> {
    yichuang_store::events::append(
        tx,
        now,
        yichuang_store::events::NewEvent {
            actor,
            kind,
            subject_type: "supervision",
            subject_id: subject,
            payload,
        },
    )
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Who sees what.

/// The halls an actor may read numbers and records of: `None` for all (admins, city-wide
/// supervisors), one hall for its manager, the region's halls for a scoped supervisor.
pub fn scope(actor: &Actor) -> Result<Option<Vec<String>>> {
    match actor.role {
        Role::Admin => Ok(None),
        Role::Supervisor => Ok(actor.scope_halls.clone()),
        Role::HallManager => Ok(Some(actor.hall.clone().into_iter().collect())),
        _ => Err(Error::forbidden("当前账号无权查看电子监察")),
    }
}

/// Whether a record is within an actor's sight: by hall for the scoped, by department or as
/// owner/head for the department staff who must act on it.
pub fn sees_record(actor: &Actor, r: &store::RecordRow) -> bool {
    match actor.role {
        Role::Admin => true,
        Role::Supervisor | Role::HallManager => match scope(actor) {
            Ok(None) => true,
            Ok(Some(halls)) => r.hall.as_ref().is_some_and(|h| halls.contains(h)),
            Err(_) => false,
        },
        _ => is_addressee(actor, r),
    }
}

/// The owner (by account or unit) or the head a notice is addressed to.
pub fn is_addressee(actor: &Actor, r: &store::RecordRow) -> bool {
    let me = actor.event_name();
    r.owner.as_deref() == Some(me.as_str())
        || r.head.as_deref() == Some(actor.username.as_str())
        || (actor.department.is_some() && r.owner.as_deref() == actor.department.as_deref())
}

/// Resolves a region-scoped supervisor's halls (done once per request, at sign-in).
pub async fn resolve_scope(db: &yichuang_store::Db, actor: &mut Actor) -> Result<()> {
    if actor.role == Role::Supervisor
        && let Some(region) = &actor.region
    {
        actor.scope_halls = Some(store::halls_under(db, region).await?);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The sweep.

/// Keeps one sweep pending: at the next full hour.
pub async fn ensure_sweep(st: &AppState) -> Result<()> {
    let now = st.now();
    let mut tx = st.db.begin().await?;
    timers::cancel(&mut tx, SWEEP_TIMER, "all", now).await?;
    timers::schedule(&mut tx, SWEEP_TIMER, "all", next_hour(now), json!({}), now).await?;
    tx.commit().await
}

fn next_hour(now: DateTime<Utc>) -> DateTime<Utc> {
    let t = now + Duration::hours(1);
    t.with_minute(0)
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(t)
}

/// The timer: sweep, then set the next one in the same transaction; the rollup follows on its
/// own, after this transaction (it reads much and must not hold the timer's writer).
pub async fn fire_sweep(st: &AppState, tx: &mut Tx, now: DateTime<Utc>) -> Result<()> {
    sweep_in(st, tx, now).await?;
    timers::schedule(tx, SWEEP_TIMER, "all", next_hour(now), json!({}), now).await?;
    let st = st.clone();
    tokio::spawn(async move {
        if let Err(e) = roll_up_recent(&st).await {
            tracing::warn!(error = %e, "supervision rollup failed; the next sweep tries again");
        }
    });
    Ok(())
}

/// What a sweep did, for the API and the log.
#[derive(Debug, Default, serde::Serialize)]
pub struct SweepReport {
    pub notices: usize,
    pub escalated: usize,
    pub resolved: usize,
    pub anomalies: usize,
    pub days_rolled_up: usize,
}

pub async fn sweep(st: &AppState) -> Result<SweepReport> {
    let now = st.now();
    let mut tx = st.db.begin().await?;
    let mut r = sweep_in(st, &mut tx, now).await?;
    tx.commit().await?;
    r.days_rolled_up = roll_up_recent(st).await?;
    Ok(r)
}

async fn sweep_in(st: &AppState, tx: &mut Tx, now: DateTime<Utc>) -> Result<SweepReport> {
    let s = settings(&st.db).await?;
    let today = local(now).date();
    let mut report = SweepReport {
        anomalies: anomalies(st, tx, now, &s).await?,
        ..Default::default()
    };
    lateness(st, tx, now, today, &s, &mut report).await?;
    Ok(report)
}

/// Rolls up from the last day rolled up (its last hours came in after that sweep) to today, so
/// days the server was down for are filled in; at most two months at a time.
pub async fn roll_up_recent(st: &AppState) -> Result<usize> {
    let now = st.now();
    let today = local(now).date();
    let last = store::last_rolled_day(&st.db).await?;
    let from = last
        .map_or(today - Duration::days(1), |d| {
            d.max(today - Duration::days(62))
        })
        .min(today);
    write_days(st, from, today, now).await
}

/// Each day's rows are counted outside any transaction (a busy day reads thousands of cases)
/// and written in a short one of their own: the hourly rollup never holds SQLite's one writer
/// while it reads.
async fn write_days(
    st: &AppState,
    from: NaiveDate,
    to: NaiveDate,
    now: DateTime<Utc>,
) -> Result<usize> {
    let mut n = 0;
    let mut day = from;
    while day <= to {
        let rows = count_day(st, day).await?;
        let mut tx = st.db.begin().await?;
        store::replace_day(&mut tx, day, &rows, now).await?;
        tx.commit().await?;
        n += 1;
        day += Duration::days(1);
    }
    Ok(n)
}

/// Cases with events since the last sweep are read again for anomalies; each anomaly is
/// recorded once per case and kind.
async fn anomalies(
    st: &AppState,
    tx: &mut Tx,
    now: DateTime<Utc>,
    s: &SupervisionSettings,
) -> Result<usize> {
    let mut found = 0;
    loop {
        let after = store::cursor(tx, "case_events").await?;
        let (numbers, last) = store::cases_changed_after(tx, after, 2000).await?;
        if last == after {
            return Ok(found);
        }
        for number in numbers {
            let c = yichuang_store::cases::records::load(&st.db, &number).await?;
            let case = Case::replay(&c.events)?;
            let process = crate::cases::items::process_of(&st.db, &case).await.ok();
            let step_name = |node: &str| {
                process
                    .as_ref()
                    .and_then(|p| p.node(node))
                    .map_or_else(|| node.to_string(), |n| n.name.clone())
            };
            for a in anomaly::detect(&c.events, s, &step_name) {
                let evidence: Vec<serde_json::Value> = a
                    .evidence
                    .iter()
                    .filter_map(|i| c.events.get(*i))
                    .map(|e| json!({"at": e.at, "by": e.by, "kind": e.change.kind()}))
                    .collect();
                let head = s.head_of(&c.row.department);
                let id = store::insert(
                    tx,
                    &NewRecord {
                        kind: a.kind.as_str(),
                        subject_kind: SubjectKind::Case.as_str(),
                        subject_id: &number,
                        case_number: Some(&number),
                        hall: c.row.hall.as_deref(),
                        department: Some(&c.row.department),
                        owner: Some(&c.row.department),
                        head,
                        note: &a.note,
                        evidence: &serde_json::Value::Array(evidence).to_string(),
                        due_on: None,
                        deadline: None,
                        opened_on: &local(now).date().to_string(),
                    },
                    now,
                )
                .await?;
                if let Some(id) = id {
                    found += 1;
                    event(
                        tx,
                        now,
                        ACTOR,
                        "supervision_anomaly_found",
                        &id.to_string(),
                        json!({"kind": a.kind, "case": number, "note": a.note}),
                    )
                    .await?;
                }
            }
        }
        store::set_cursor(tx, "case_events", last).await?;
    }
}

async fn lateness(
    st: &AppState,
    tx: &mut Tx,
    now: DateTime<Utc>,
    today: NaiveDate,
    s: &SupervisionSettings,
    report: &mut SweepReport,
) -> Result<()> {
    let rows = store::late(&st.db, today).await?;
    let late: Vec<Late> = rows
        .iter()
        .filter_map(|r| {
            Some(Late {
                subject: SubjectKind::parse(&r.subject_kind)?,
                subject_id: r.subject_id.clone(),
                due: r.due.parse().ok()?,
            })
        })
        .collect();
    let records = store::sweep_notices(tx).await?;
    let open: Vec<OpenNotice> = records
        .iter()
        .filter_map(|r| {
            Some(OpenNotice {
                id: r.id,
                subject: SubjectKind::parse(&r.subject_kind)?,
                subject_id: r.subject_id.clone(),
                deadline: r.deadline.as_deref()?.parse().ok()?,
                escalated: r.state == RecordState::Escalated.as_str(),
            })
        })
        .collect();
    let cal = crate::calendar::current(st, None).await?;
    let day = today.to_string();
    for action in plan(cal.as_ref(), today, &late, &open, s) {
        match action {
            Action::Notify { late, deadline } => {
                let Some(r) = rows.iter().find(|r| r.subject_id == late.subject_id) else {
                    continue;
                };
                let unit = r.department.as_deref().or(r.hall.as_deref()).unwrap_or("");
                let note = format!(
                    "{}“{}”已超过办理期限（{}），请于 {} 前办结或说明情况",
                    late.subject.label(),
                    r.label,
                    crate::ratings::views::chinese_date(late.due),
                    crate::ratings::views::chinese_date(deadline),
                );
                let id = store::insert(
                    tx,
                    &NewRecord {
                        kind: RecordKind::Overdue.as_str(),
                        subject_kind: late.subject.as_str(),
                        subject_id: &late.subject_id,
                        case_number: r.case_number.as_deref(),
                        hall: r.hall.as_deref(),
                        department: r.department.as_deref(),
                        owner: r.owner.as_deref(),
                        head: s.head_of(unit),
                        note: &note,
                        evidence: "[]",
                        due_on: Some(&r.due),
                        deadline: Some(&deadline.to_string()),
                        opened_on: &day,
                    },
                    now,
                )
                .await?;
                if let Some(id) = id {
                    report.notices += 1;
                    event(
                        tx,
                        now,
                        ACTOR,
                        "supervision_notice_issued",
                        &id.to_string(),
                        json!({"subject": late.subject, "subject_id": late.subject_id,
                               "owner": r.owner, "head": s.head_of(unit), "deadline": deadline}),
                    )
                    .await?;
                }
            }
            Action::Escalate { id } => {
                let Some(r) = records.iter().find(|r| r.id == id) else {
                    continue;
                };
                let plain = "督办期满仍未办结：列入通报，责令整改";
                let (open, escalated) =
                    (RecordState::Open.as_str(), RecordState::Escalated.as_str());
                if !store::set_state(
                    tx,
                    id,
                    open,
                    escalated,
                    Some(&day),
                    Some(ACTOR),
                    Some(plain),
                    now,
                )
                .await?
                {
                    continue;
                }
                // The rectification it demands goes into the ledger, whose loop closes it.
                let owner = r.department.as_deref().or(r.hall.as_deref()).unwrap_or("");
                let entry = crate::work_orders::ledger::from_escalation(
                    st,
                    tx,
                    r.hall.as_deref(),
                    owner,
                    &format!("电子监察通报：{}", r.subject_id),
                    &r.note,
                    now,
                )
                .await?;
                if let Some(e) = entry {
                    let reason = format!("{plain}（问题台账第 {e} 号）");
                    store::set_state(tx, id, escalated, escalated, None, None, Some(&reason), now)
                        .await?;
                }
                report.escalated += 1;
                event(
                    tx,
                    now,
                    ACTOR,
                    "supervision_escalated",
                    &id.to_string(),
                    json!({"ledger_entry": entry}),
                )
                .await?;
            }
            Action::Resolve { id } => {
                if store::set_state(
                    tx,
                    id,
                    RecordState::Open.as_str(),
                    RecordState::Resolved.as_str(),
                    Some(&day),
                    None,
                    None,
                    now,
                )
                .await?
                {
                    report.resolved += 1;
                    event(
                        tx,
                        now,
                        ACTOR,
                        "supervision_resolved",
                        &id.to_string(),
                        json!({}),
                    )
                    .await?;
                }
            }
        }
    }
    Ok(())
}

/// A supervisor confirms an anomaly (it goes to the 通报 report) or dismisses it with reasons.
pub async fn decide(
    st: &AppState,
    actor: &Actor,
    id: i64,
    confirm: bool,
    reason: &str,
) -> Result<store::RecordRow> {
    actor.require_role(&[Role::Admin, Role::Supervisor], "处理监察记录")?;
    let r = store::get(&st.db, id)
        .await?
        .filter(|r| sees_record(actor, r))
        .ok_or_else(|| Error::not_found("record_not_found", format!("监察记录 {id} 不存在")))?;
    let kind = RecordKind::parse(&r.kind).ok_or_else(|| Error::internal("record kind"))?;
    if !kind.is_anomaly() {
        return Err(Error::conflict(
            "not_an_anomaly",
            "超期督办由系统按办理情况办结或通报，无需人工确认",
        ));
    }
    let reason = reason.trim();
    if !confirm && reason.is_empty() {
        return Err(Error::validation(vec![]).field("reason", "排除异常须写明理由"));
    }
    if reason.chars().count() > 500 {
        return Err(Error::validation(vec![]).field("reason", "理由不能超过 500 字"));
    }
    let now = st.now();
    let to = if confirm {
        RecordState::Confirmed
    } else {
        RecordState::Dismissed
    };
    let mut tx = st.db.begin().await?;
    let moved = store::set_state(
        &mut tx,
        id,
        RecordState::Open.as_str(),
        to.as_str(),
        Some(&local(now).date().to_string()),
        Some(&actor.event_name()),
        Some(reason),
        now,
    )
    .await?;
    if !moved {
        return Err(Error::conflict("record_closed", "该记录已处理过"));
    }
    event(
        &mut tx,
        now,
        &actor.event_name(),
        if confirm {
            "supervision_anomaly_confirmed"
        } else {
            "supervision_anomaly_dismissed"
        },
        &id.to_string(),
        json!({"reason": reason}),
    )
    .await?;
    tx.commit().await?;
    store::get(&st.db, id)
        .await?
        .ok_or_else(|| Error::internal("record vanished"))
}

// ---------------------------------------------------------------------------------------------
// The rollup.

/// Rebuilds the rollup of `from..=to` from the records (at most a year at a time).
pub async fn roll_up(st: &AppState, from: NaiveDate, to: NaiveDate) -> Result<usize> {
    if to < from || (to - from).num_days() > 366 {
        return Err(
            Error::validation(vec![]).field("to", "重算范围应在一年以内，且结束日期不早于开始日期")
        );
    }
    write_days(st, from, to, st.now()).await
}

/// One day's rollup rows: tickets (hall, windows, staff) from the queue's intervals, cases from
/// their events of the day, people's ratings, work orders.
async fn count_day(st: &AppState, day: NaiveDate) -> Result<Vec<StatRow>> {
    let start = utc(day.and_hms_opt(0, 0, 0).unwrap_or_default());
    let end = start + Duration::days(1);
    // (hall, department, item, window, staff): a row is about at most one of window and staff.
    type Key = (String, String, String, i64, String);
    let mut cells: BTreeMap<Key, Tally> = BTreeMap::new();
    let mut add = |hall: &str, dept: &str, item: &str, window: i64, staff: &str, t: Tally| {
        cells
            .entry((
                hall.to_string(),
                dept.to_string(),
                item.to_string(),
                window,
                staff.to_string(),
            ))
            .or_default()
            .add(&t);
    };
    for hall in yichuang_store::hall::halls(&st.db).await? {
        let r = crate::hall::stats::hall_report(&st.db, &hall, day, day).await?;
        add(&hall.code, "", "", 0, "", Tally::from_tickets(&r.total));
        for (w, f) in &r.by_window {
            add(&hall.code, "", "", *w, "", Tally::from_tickets(f));
        }
        let ids: Vec<i64> = r.by_staff.keys().copied().collect();
        let names = yichuang_store::accounts::names(&st.db, &ids).await?;
        for (id, f) in &r.by_staff {
            if let Some(n) = names.iter().find(|n| n.0 == *id) {
                add(&hall.code, "", "", 0, &n.1, Tally::from_tickets(f));
            }
        }
    }
    let cal = crate::calendar::current(st, None).await?;
    for number in store::cases_active_between(&st.db, start, end).await? {
        let c = yichuang_store::cases::records::load(&st.db, &number).await?;
        let case = Case::replay(&c.events)?;
        let t = case_day(&case, &c.events, day, cal.as_ref());
        add(
            c.row.hall.as_deref().unwrap_or(""),
            &c.row.department,
            &c.row.item,
            0,
            "",
            t,
        );
    }
    for r in store::ratings_between(&st.db, start, end).await? {
        let mut t = Tally::default();
        t.bump(Metric::Ratings, r.ratings);
        t.bump(Metric::Satisfied, r.satisfied);
        t.bump(Metric::Bad, r.bad);
        let hall = r.hall.as_deref().unwrap_or("");
        add(
            hall,
            r.department.as_deref().unwrap_or(""),
            r.item.as_deref().unwrap_or(""),
            0,
            "",
            t.clone(),
        );
        if let Some(w) = r.window_id {
            add(hall, "", "", w, "", t.clone());
        }
        if let Some(staff) = r.staff.as_deref().filter(|s| !s.is_empty()) {
            add(hall, "", "", 0, staff, t);
        }
    }
    for (hall, received, closed, on_time) in store::work_orders_day(&st.db, day, start, end).await?
    {
        let mut t = Tally::default();
        t.bump(Metric::WorkOrders, received);
        t.bump(Metric::WorkOrdersClosed, closed);
        t.bump(Metric::WorkOrdersOnTime, on_time);
        add(hall.as_deref().unwrap_or(""), "", "", 0, "", t);
    }
    let rows: Vec<StatRow> = cells
        .into_iter()
        .flat_map(|((hall, department, item, window_id, staff), t)| {
            t.0.into_iter().map(move |(m, value)| StatRow {
                hall: hall.clone(),
                department: department.clone(),
                item: item.clone(),
                window_id,
                staff: staff.clone(),
                metric: m.as_str().to_string(),
                value,
            })
        })
        .collect();
    Ok(rows)
}

/// Figures over `from..=to` grouped, for the halls in `scope`, from the rollup.
pub async fn figures(
    st: &AppState,
    from: NaiveDate,
    to: NaiveDate,
    scope: Option<&[String]>,
    group: Group,
) -> Result<Vec<(String, Figures)>> {
    let sums = store::sums(&st.db, from, to, scope, group).await?;
    let mut by: BTreeMap<String, Tally> = BTreeMap::new();
    for (key, metric, value) in sums {
        if let Some(m) = Metric::parse(&metric) {
            by.entry(key).or_default().bump(m, value);
        }
    }
    if group == Group::Total && by.is_empty() {
        by.insert(String::new(), Tally::default());
    }
    Ok(by.into_iter().map(|(k, t)| (k, Figures::of(t))).collect())
}

/// The total over a period.
pub async fn total(
    st: &AppState,
    from: NaiveDate,
    to: NaiveDate,
    scope: Option<&[String]>,
) -> Result<Figures> {
    Ok(figures(st, from, to, scope, Group::Total)
        .await?
        .into_iter()
        .next()
        .map(|x| x.1)
        .unwrap_or_else(|| Figures::of(Tally::default())))
}

// ---------------------------------------------------------------------------------------------
// Rankings.

yichuang_domain::labelled_enum! {
    /// What a ranking ranks.
    pub enum RankKind {
        Window = ("window", "窗口"),
        Staff = ("staff", "工作人员"),
    }
}

/// The period a ranking covers: a month (`2026-12`) or a quarter (`2026-Q4`), and the one before
/// it (whose bottom, at the bottom again, is called in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RankPeriod {
    pub label: String,
    pub name: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub previous: String,
}

impl RankPeriod {
    pub fn month(y: i32, m: u32) -> RankPeriod {
        use yichuang_domain::supervision::numbers::{month_of, previous_months};
        let (from, to) = month_of(y, m);
        let ((py, pm), _) = previous_months(y, m);
        RankPeriod {
            label: format!("{y:04}-{m:02}"),
            name: format!("{y}年{m}月"),
            from,
            to,
            previous: format!("{py:04}-{pm:02}"),
        }
    }

    pub fn quarter(y: i32, q: u32) -> RankPeriod {
        use yichuang_domain::supervision::numbers::month_of;
        let (from, _) = month_of(y, q * 3 - 2);
        let (_, to) = month_of(y, q * 3);
        let (py, pq) = if q == 1 { (y - 1, 4) } else { (y, q - 1) };
        RankPeriod {
            label: format!("{y:04}-Q{q}"),
            name: format!("{y}年第{q}季度"),
            from,
            to,
            previous: format!("{py:04}-Q{pq}"),
        }
    }
}

/// A hall's ranking of its windows or staff over a period, with the last period's bottom for
/// 约谈; kept when `keep` (the period is over). Keys are window ids or usernames, as text.
pub async fn ranking(
    st: &AppState,
    hall: &str,
    period: &RankPeriod,
    kind: RankKind,
    keep: bool,
) -> Result<Vec<Ranked<String>>> {
    let s = settings(&st.db).await?;
    let scope = vec![hall.to_string()];
    let group = match kind {
        RankKind::Window => Group::Window,
        RankKind::Staff => Group::Staff,
    };
    let rows = figures(st, period.from, period.to, Some(&scope), group).await?;
    // Only windows and staff that served or were rated in the period are ranked: an idle one
    // would otherwise score full marks on having nothing counted.
    let entries: Vec<(String, Inputs)> = rows
        .iter()
        .filter(|(_, f)| f.count(Metric::Tickets) + f.count(Metric::Ratings) > 0)
        .filter_map(|(k, f)| Some((k.split_once('#')?.1.to_string(), Inputs::of(f))))
        .collect();
    let last = store::ranking(&st.db, &period.previous, hall, kind.as_str()).await?;
    let last_bottom = last
        .iter()
        .max_by_key(|r| r.place)
        .map(|r| r.subject.clone());
    let ranked = rank(entries, &s.ranking, s.top_windows, last_bottom.as_ref());
    if keep {
        let rows: Vec<RankingRow> = ranked
            .iter()
            .map(|r| RankingRow {
                period: period.label.clone(),
                hall: hall.to_string(),
                kind: kind.as_str().to_string(),
                subject: r.key.clone(),
                place: r.place as i64,
                score: r.score,
                inputs: json!(r.inputs).to_string(),
                flag: r.flag,
                talk: r.talk,
            })
            .collect();
        let now = st.now();
        let mut tx = st.db.begin().await?;
        store::keep_ranking(&mut tx, &rows, now).await?;
        event(
            &mut tx,
            now,
            ACTOR,
            "ranking_kept",
            &format!("{hall}/{}/{}", kind.as_str(), period.label),
            json!({"ranked": rows.len()}),
        )
        .await?;
        tx.commit().await?;
    }
    Ok(ranked)
}
