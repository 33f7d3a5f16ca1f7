//! Taking tickets (kiosk, phone, guide desk), calling and serving them (API-V1 "Tickets and
//! calling"). Every change is one transaction: the ticket row, its intervals and its event.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use yichuang_domain::identity::{parse_id_number, parse_mobile};
use yichuang_domain::queue::estimate::{
    QueueLoad, display_minutes, estimate_wait_minutes, service_minutes,
};
use yichuang_domain::queue::limits::{Requester, TakenToday, check_ticket_limits};
use yichuang_domain::queue::policy::{Claim, rank_instant};
use yichuang_domain::queue::window::WindowStatus;
use yichuang_domain::queue::{
    Categories, Category, Channel, Holder, NewTicket, Ticket, TicketNumber, Transition, next_ticket,
};
use yichuang_domain::{Actor, Error, Problems, Result, Role};
use yichuang_store::hall::{self as store, HallRow, NewTicketRow, QueueRow, TicketRow};
use yichuang_store::{Db, Tx};

use super::{HallSettings, actor_name, person_hash, record, require_window_operator, service_date};
use crate::accounts::ClientAddress;
use crate::auth::{CurrentActor, MaybeActor};
use crate::clock::hall_time;
use crate::error::ApiResult;
use crate::extract::{Json, Path};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/halls/{hall}/tickets", post(take))
        .route("/api/v1/windows/{id}/call", post(call))
        .route("/api/v1/windows/{id}/tickets", get(at_window))
        .route("/api/v1/tickets/{id}", get(get_ticket))
        .route("/api/v1/tickets/{id}/recall", post(recall))
        .route("/api/v1/tickets/{id}/start", post(start))
        .route("/api/v1/tickets/{id}/finish", post(finish))
        .route("/api/v1/tickets/{id}/no-show", post(no_show))
        .route("/api/v1/tickets/{id}/requeue", post(requeue))
        .route("/api/v1/tickets/{id}/park", post(park))
        .route("/api/v1/tickets/{id}/resume", post(resume))
        .route("/api/v1/tickets/{id}/transfer", post(transfer))
}

/// How many tickets at the head of each line a call looks at. The head is ordered by the
/// policy's rank instant, so the policy's choice is among the first few; a handful more keeps
/// a call quick when other windows hold the very first ones.
const LINE_HEAD: i64 = 8;

#[derive(Deserialize, Default)]
#[serde(untagged)]
pub enum Priority {
    #[default]
    None,
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
pub struct TakeBody {
    pub queue: String,
    #[serde(default)]
    pub id_number: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub priority: Priority,
    /// `kiosk` (default) or `phone` for anonymous requests; staff tickets are `guide_desk`.
    #[serde(default)]
    pub channel: Option<String>,
}

/// Who a ticket is for, once validated.
struct Person {
    holder: Option<Holder>,
    hash: Option<String>,
    claim: Claim,
}

fn blank(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// R-ID-18 and the mobile rule: every problem of the request at once.
fn validate_take(
    b: &TakeBody,
    hall: &str,
    actor: Option<&Actor>,
    now: DateTime<Utc>,
) -> Result<(Person, Channel)> {
    let mut p = Problems::new();
    let today = service_date(now);
    let mut person = Person {
        holder: None,
        hash: None,
        claim: Claim::default(),
    };
    if let Some(raw) = blank(&b.id_number) {
        match parse_id_number(raw, today) {
            Ok(id) => {
                person.holder = Some(Holder::from_id_number(&id.number));
                person.hash = Some(person_hash(hall, "id", &id.number));
                person.claim.birth_date = Some(id.birth_date);
            }
            Err(e) => e.report(&mut p, "id_number"),
        }
    }
    if let Some(raw) = blank(&b.phone) {
        match parse_mobile(raw) {
            Ok(m) if person.holder.is_none() => {
                person.holder = Some(Holder::from_phone(&m));
                person.hash = Some(person_hash(hall, "phone", &m));
            }
            Ok(_) => {}
            Err(e) => e.report(&mut p, "phone"),
        }
    }
    let names: Vec<&String> = match &b.priority {
        Priority::None => vec![],
        Priority::One(s) => vec![s],
        Priority::Many(v) => v.iter().collect(),
    };
    for n in names {
        match Category::parse(n) {
            Some(Category::Disabled) => person.claim.disabled = true,
            Some(Category::Military) => person.claim.military = true,
            Some(Category::Pregnant) => person.claim.pregnant = true,
            Some(Category::Elderly) => {}
            _ => p.add(
                "priority",
                format!("不认识的优先类别 {n}：可选 disabled（残疾人）、military（军人）、pregnant（孕妇）；老年人由身份证号自动识别"),
            ),
        }
    }
    let claims_priority = person.claim.disabled || person.claim.military || person.claim.pregnant;
    p.check(
        actor.is_some() || !claims_priority,
        "priority",
        "优先类别须由导询台工作人员核实后取号",
    );
    // A channel outside the list is refused even when staff take the number (and the channel
    // is then the guide desk): a wrong value is never silently ignored.
    let channel = match (actor, b.channel.as_deref()) {
        (_, Some(c)) if !matches!(c, "kiosk" | "phone") => {
            p.add("channel", "取号渠道须为 kiosk（自助机）或 phone（手机）");
            Channel::Kiosk
        }
        (Some(_), _) => Channel::GuideDesk,
        (None, None | Some("kiosk")) => Channel::Kiosk,
        (None, Some(_)) => Channel::Phone,
    };
    p.finish()?;
    Ok((person, channel))
}

pub fn find_queue<'a>(queues: &'a [QueueRow], code: &str) -> Result<&'a QueueRow> {
    queues.iter().find(|q| q.code == code).ok_or_else(|| {
        Error::invalid("unknown_queue", "队列不存在")
            .field("queue", format!("本大厅没有队列 {code}"))
    })
}

/// What a new ticket needs beyond the queue and the hall.
pub struct Issue {
    pub channel: Channel,
    pub categories: Categories,
    pub holder: Option<Holder>,
    pub person_hash: Option<String>,
    pub address_hash: Option<String>,
    pub appointment_id: Option<i64>,
}

/// Numbers and stores a waiting ticket with its first interval and its event.
pub async fn issue_in(
    tx: &mut Tx,
    hall: &HallRow,
    settings: &HallSettings,
    queue: &QueueRow,
    issue: Issue,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(Ticket, TicketRow)> {
    let date = service_date(now);
    let seq = store::next_seq(tx, queue.id, date).await?;
    let number = TicketNumber::next_today(&queue.prefix, u32::try_from(seq - 1).ok())?;
    let rank_at = rank_instant(issue.categories, now, &settings.policy);
    let row = NewTicketRow {
        hall_id: hall.id,
        service_date: date,
        seq,
        channel: issue.channel,
        categories: issue.categories,
        holder: issue.holder.as_ref().map(Holder::as_str),
        person_hash: issue.person_hash.as_deref(),
        address_hash: issue.address_hash.as_deref(),
        appointment_id: issue.appointment_id,
        link: &crate::ratings::new_token()?,
    };
    let (stored, waiting) =
        store::insert_ticket(tx, &row, queue, &number.to_string(), now, rank_at).await?;
    let id = stored.id;
    let tr = Ticket::issue(
        NewTicket {
            id,
            queue: queue.id,
            number,
            channel: issue.channel,
            categories: issue.categories,
            holder: issue.holder,
        },
        now,
    );
    store::record_intervals(tx, None, tr.opened.as_ref()).await?;
    record(
        tx,
        now,
        &hall.code,
        actor,
        "ticket_taken",
        ("ticket", id),
        json!({
            "ticket": {"id": id, "number": tr.ticket.number, "queue": queue.code,
                       "channel": issue.channel, "holder": tr.ticket.holder,
                       "categories": tr.ticket.categories},
            "queues": [{"code": queue.code, "waiting": waiting}],
        }),
    )
    .await?;
    if queue.code == yichuang_domain::agency::HELP_QUEUE {
        crate::agency::on_help_ticket(
            tx,
            &hall.code,
            id,
            &tr.ticket.number.to_string(),
            actor,
            now,
        )
        .await?;
    }
    Ok((tr.ticket, stored))
}

async fn take(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    ClientAddress(address): ClientAddress,
    Path(hall_code): Path<String>,
    Json(b): Json<TakeBody>,
) -> ApiResult<Response> {
    let body = take_ticket(&st, actor.as_ref(), &address, &hall_code, &b).await?;
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

/// Takes a ticket (the API, the kiosk and the phone page): staff at the guide desk when
/// `actor` is set, else an anonymous kiosk or phone with the per-person and per-address
/// limits. Returns the ticket as shown.
pub async fn take_ticket(
    st: &AppState,
    actor: Option<&Actor>,
    address: &str,
    hall_code: &str,
    b: &TakeBody,
) -> Result<Value> {
    let now = st.now();
    if let Some(a) = actor {
        a.require_role(
            &[
                Role::Admin,
                Role::HallManager,
                Role::Clerk,
                Role::Issuance,
                Role::Agent,
            ],
            "在导询台取号",
        )?;
        a.require_hall(hall_code, "为")?;
    }
    let (person, channel) = validate_take(b, hall_code, actor, now)?;
    // The hall and its lines as kept (they change rarely, and every change moves the change
    // counter): read before the writer's turn, not in it.
    let hall = store::hall(&st.db, hall_code).await?;
    let queues = store::queues(&st.db, hall.id).await?;
    let queue = find_queue(&queues, &b.queue)?.clone();
    // A connection lost before the commit rolled everything back: run it again once.
    let (person, hall, queue) = (&person, &hall, &queue);
    let (row, rate, settings) = yichuang_store::retry_once(|| async move {
        let mut tx = st.db.begin().await?;
        let settings = HallSettings::of(hall)?;
        let address_hash = person_hash(&hall.code, "address", address);
        let requester = match actor {
            Some(_) => Requester::Staff,
            None => Requester::Anonymous { address },
        };
        if requester != Requester::Staff {
            let (by_person, by_address) = store::taken_today(
                &mut tx,
                hall.id,
                service_date(now),
                person.hash.as_deref(),
                &address_hash,
            )
            .await?;
            let taken = TakenToday {
                by_person: person
                    .hash
                    .as_ref()
                    .map(|_| u32::try_from(by_person).unwrap_or(u32::MAX)),
                by_address: u32::try_from(by_address).unwrap_or(u32::MAX),
            };
            check_ticket_limits(requester, taken, &settings.limits)?;
        }
        let categories = settings.policy.classify(&person.claim, service_date(now));
        let issue = Issue {
            channel,
            categories,
            holder: person.holder.clone(),
            person_hash: person.hash.clone(),
            address_hash: Some(address_hash),
            appointment_id: None,
        };
        let (ticket, row) = issue_in(
            &mut tx,
            hall,
            &settings,
            queue,
            issue,
            &actor_name(actor),
            now,
        )
        .await?;
        // The slip carries the visit's rating QR code (R-EVAL-ONCE): usable once it is served.
        let rate = crate::ratings::on_ticket_taken(
            &mut tx,
            now,
            &hall.code,
            ticket.id,
            &ticket.number.to_string(),
        )
        .await?;
        tx.commit().await?;
        Ok((row, rate, settings))
    })
    .await?;
    st.hall_feed.wake();
    // The row as stored: nothing to read again. The new ticket stands at its line's tail.
    let mut v = ticket_view_counted(&st.db, &row, &settings, None, store::CountFrom::Tail).await?;
    v["rating_link"] = json!(rate);
    Ok(v)
}

/// The ticket as a phone, a kiosk slip or a window shows it (masked holder only, R-PII).
pub async fn ticket_view(
    db: &Db,
    row: &TicketRow,
    settings: &HallSettings,
    window: Option<&store::WindowRow>,
) -> Result<Value> {
    ticket_view_counted(db, row, settings, window, store::CountFrom::Head).await
}

/// [`ticket_view`], its place in the line counted from the given end (the same figure either
/// way: the end nearer the ticket reads fewer tickets).
async fn ticket_view_counted(
    db: &Db,
    row: &TicketRow,
    settings: &HallSettings,
    window: Option<&store::WindowRow>,
    from: store::CountFrom,
) -> Result<Value> {
    let t = row.ticket()?;
    let mut v = json!({
        "id": row.id,
        "number": row.number,
        "queue": row.queue_code,
        "queue_name": row.queue_name,
        "status": row.status,
        "status_label": t.status.label(),
        "channel": row.channel,
        "holder": row.holder,
        "categories": t.categories,
        // 优先: an elderly or disabled person's slip and phone page say so.
        "priority_mark": t.categories.priority_mark(),
        "issued_at": hall_time(t.issued_at),
        // As the slip prints it: 2026年12月4日 15:10.
        "issued_label": t.issued_at.with_timezone(&crate::clock::hall_zone()).format("%Y年%-m月%-d日 %H:%M").to_string(),
        "service_date": row.service_date,
        "recalls": row.recalls,
        "transfers": row.transfers,
        "close_reason": row.close_reason,
        // The phone page's link: random, not the consecutive id (issue 10 item 8).
        "link": row.link.as_ref().map(|l| format!("/t/{l}")),
    });
    if t.status == yichuang_domain::queue::TicketStatus::Waiting {
        let p = store::line_position(
            db,
            row,
            i64::try_from(settings.estimate.sample_size).unwrap_or(100),
            from,
        )
        .await?;
        let load = QueueLoad {
            ahead: u32::try_from(p.ahead).unwrap_or(u32::MAX),
            busy: u32::try_from(p.windows_busy).unwrap_or(0),
            windows_open: u32::try_from(p.windows_open).unwrap_or(0),
        };
        let minutes = estimate_wait_minutes(
            load,
            service_minutes(&p.recent_service_minutes, &settings.estimate),
        )
        .map(display_minutes);
        v["ahead"] = json!(p.ahead);
        v["estimated_wait_minutes"] = json!(minutes);
    } else {
        v["ahead"] = json!(0);
        v["estimated_wait_minutes"] = json!(0);
    }
    if let Some(w) = window {
        v["window"] = json!({"id": w.id, "code": w.code, "name": w.name});
    }
    Ok(v)
}

async fn window_of(db: &Db, row: &TicketRow) -> Result<Option<store::WindowRow>> {
    match row.window_id {
        Some(w) => Ok(Some(store::window(db, w).await?)),
        None => Ok(None),
    }
}

/// A ticket by its id (API-V1) or by its phone page's link, which the phone page follows it by.
pub async fn ticket_by_id_or_link(db: &Db, key: &str) -> Result<TicketRow> {
    match key.parse::<i64>() {
        Ok(id) if key.len() < 19 => store::ticket(db, id).await,
        _ => store::ticket_by_link(db, key).await,
    }
}

async fn get_ticket(State(st): State<AppState>, Path(key): Path<String>) -> ApiResult<Response> {
    let row = ticket_by_id_or_link(&st.db, &key).await?;
    let id = row.id;
    let hall = hall_of(&st.db, &row).await?;
    let settings = HallSettings::of(&hall)?;
    let w = window_of(&st.db, &row).await?;
    let mut v = ticket_view(&st.db, &row, &settings, w.as_ref()).await?;
    v["hall"] = json!(hall.code);
    // The ticket's history as recorded: one entry per interval (no personal data in it).
    let history: Vec<Value> = store::ticket_intervals(&st.db, id)
        .await?
        .iter()
        .map(|i| {
            json!({"kind": i.kind, "queue": i.queue_id, "window": i.window_id,
                   "start": hall_time(yichuang_store::from_micros(i.start_at)),
                   "end": i.end_at.map(|e| hall_time(yichuang_store::from_micros(e)))})
        })
        .collect();
    v["history"] = json!(history);
    Ok(axum::Json(v).into_response())
}

async fn hall_of(db: &Db, row: &TicketRow) -> Result<HallRow> {
    store::hall_by_id(db, row.hall_id).await
}

/// The call text boards speak: 请A012号到5号窗口办理.
pub fn announcement(number: &str, window_code: &str) -> String {
    format!("请{number}号到{window_code}号窗口办理")
}

/// Calls the next ticket for a window, or `None` when nobody waits for it.
pub async fn call_next(st: &AppState, actor: &Actor, window_id: i64) -> Result<Option<Value>> {
    let w = store::window(&st.db, window_id).await?;
    require_window_operator(actor, &w)?;
    if w.session() == WindowStatus::Paused && w.staff_id == Some(actor.id) {
        return Err(Error::conflict(
            "window_paused",
            "窗口已暂停服务，请先恢复再叫号",
        ));
    }
    // Nobody waiting: answered from a read, without the writer's turn. A ticket taken a moment
    // later is the window's next call, as it would be had the clerk pressed a moment sooner.
    if !store::anyone_waiting_for(&st.db, window_id).await? {
        return Ok(None);
    }
    let queues = store::window_queues(&st.db, window_id).await?;
    let hall = store::hall(&st.db, &w.hall_code).await?;
    let settings = HallSettings::of(&hall)?;
    let now = st.now();
    // A connection lost before the commit rolled everything back: run it again once.
    let (queues, settings, w, hall) = (&queues, &settings, &w, &hall);
    let called = yichuang_store::retry_once(|| async move {
        let mut tx = st.db.begin().await?;
        for q in queues {
            let (head, waiting) = store::line_head(&mut tx, q.id, LINE_HEAD).await?;
            if head.is_empty() {
                continue;
            }
            let tickets: Vec<Ticket> = head.iter().map(TicketRow::ticket).collect::<Result<_>>()?;
            let Some(id) = next_ticket(&[q.id], &tickets, now, &settings.policy) else {
                continue;
            };
            let (row, t) = head
                .iter()
                .zip(&tickets)
                .find(|(_, t)| t.id == id)
                .ok_or_else(|| Error::internal("chosen ticket not in the line head"))?;
            let tr = t.call(now, window_id, Some(actor.id))?;
            let rank_at = rank_instant(
                tr.ticket.categories,
                tr.ticket.waiting_since,
                &settings.policy,
            );
            store::save_ticket(
                &mut tx,
                &tr.ticket,
                rank_at,
                tr.closed.as_ref(),
                tr.opened.as_ref(),
            )
            .await?;
            // Counted with the head, before the called ticket left the line.
            let waiting = waiting - 1;
            record(
                &mut tx,
                now,
                &hall.code,
                &actor.event_name(),
                "ticket_called",
                ("ticket", id),
                json!({
                    "ticket": {"id": id, "number": row.number, "queue": q.code},
                    "window": {"id": w.id, "code": w.code, "name": w.name},
                    "announce": announcement(&row.number, &w.code),
                    "queues": [{"code": q.code, "waiting": waiting}],
                    "before": {"status": "waiting"}, "after": {"status": "called"},
                }),
            )
            .await?;
            tx.commit().await?;
            return Ok(Some(row.saved(&tr.ticket, rank_at, q)));
        }
        tx.commit().await?;
        Ok(None)
    })
    .await?;
    let Some(row) = called else {
        return Ok(None);
    };
    st.hall_feed.wake();
    Ok(Some(ticket_view(&st.db, &row, settings, Some(w)).await?))
}

async fn call(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    match call_next(&st, &actor, id).await? {
        Some(t) => Ok(axum::Json(json!({ "ticket": t })).into_response()),
        None => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}

/// The tickets a window holds (called, serving, parked), for its workstation.
async fn at_window(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    let w = store::window(&st.db, id).await?;
    actor.require_hall(&w.hall_code, "查看")?;
    let hall = store::hall(&st.db, &w.hall_code).await?;
    let settings = HallSettings::of(&hall)?;
    let mut out = vec![];
    for row in store::tickets_at_window(&st.db, id).await? {
        out.push(ticket_view(&st.db, &row, &settings, Some(&w)).await?);
    }
    Ok(axum::Json(json!({ "tickets": out })).into_response())
}

/// What staff do to a ticket they hold.
#[derive(Clone, Copy)]
enum Act {
    Recall,
    Start,
    Finish,
    NoShow,
    Requeue,
    Park,
    Resume,
}

impl Act {
    fn event(self) -> &'static str {
        match self {
            Act::Recall => "ticket_recalled",
            Act::Start => "ticket_started",
            Act::Finish => "ticket_finished",
            Act::NoShow => "ticket_no_show",
            Act::Requeue => "ticket_requeued",
            Act::Park => "ticket_parked",
            Act::Resume => "ticket_resumed",
        }
    }
}

/// Loads the ticket, checks the actor may act on it, applies `change`, stores the transition
/// and its event; returns the ticket as shown.
async fn transition(
    st: &AppState,
    actor: &Actor,
    id: i64,
    kind: &str,
    change: impl Fn(&Ticket, &HallSettings, &[QueueRow], DateTime<Utc>) -> Result<Transition>,
) -> Result<Value> {
    let now = st.now();
    let change = &change;
    let attempt = || async move {
        // Read as last committed, outside the write: the ticket is written back guarded by the row
        // as read here (`store::save_ticket_from`).
        let (row, window) = store::ticket_at_window(&st.db, id).await?;
        // The hall and its queues as this process keeps them (they change rarely; see
        // `store::hall`): reading them costs no statement while nothing changed.
        let hall = store::hall_by_id(&st.db, row.hall_id).await?;
        actor.require_hall(&hall.code, "处理")?;
        let t = row.ticket()?;
        match &window {
            Some(w) => require_window_operator(actor, w)?,
            // A waiting ticket belongs to no window: staff of the hall may move it.
            None => actor.require_role(
                &[
                    Role::Admin,
                    Role::HallManager,
                    Role::Clerk,
                    Role::Issuance,
                    Role::Agent,
                ],
                "处理号票",
            )?,
        }
        let settings = HallSettings::of(&hall)?;
        let queues = store::queues(&st.db, hall.id).await?;
        let tr = change(&t, &settings, &queues, now)?;
        let rank_at = rank_instant(
            tr.ticket.categories,
            tr.ticket.waiting_since,
            &settings.policy,
        );
        let mut tx = st.db.begin().await?;
        store::save_ticket_from(
            &mut tx,
            &row,
            &tr.ticket,
            rank_at,
            tr.closed.as_ref(),
            tr.opened.as_ref(),
        )
        .await?;
        let mut changed = vec![];
        // Only a ticket that joins or leaves a line changes what the boards show as waiting.
        let waiting = yichuang_domain::queue::TicketStatus::Waiting;
        let lines = if t.status == waiting || tr.ticket.status == waiting {
            vec![t.queue, tr.ticket.queue]
        } else {
            vec![]
        };
        for qid in lines {
            if changed.iter().any(|(id, _)| *id == qid) {
                continue;
            }
            let n = store::waiting_count(&mut tx, qid).await?;
            changed.push((qid, n));
        }
        let queue_code = |qid: i64| {
            queues
                .iter()
                .find(|q| q.id == qid)
                .map(|q| q.code.clone())
                .unwrap_or_default()
        };
        let mut payload = json!({
            "ticket": {"id": id, "number": row.number, "queue": queue_code(tr.ticket.queue)},
            "before": {"status": t.status, "queue": queue_code(t.queue), "recalls": t.recalls},
            "after": {"status": tr.ticket.status, "queue": queue_code(tr.ticket.queue), "recalls": tr.ticket.recalls},
            "queues": changed.iter().map(|(q, n)| json!({"code": queue_code(*q), "waiting": n})).collect::<Vec<_>>(),
        });
        if let Some(w) = &window {
            payload["window"] = json!({"id": w.id, "code": w.code, "name": w.name});
            payload["announce"] = json!(announcement(&row.number, &w.code));
        }
        record(
            &mut tx,
            now,
            &hall.code,
            &actor.event_name(),
            kind,
            ("ticket", id),
            payload,
        )
        .await?;
        // A served visit is rated on the window's pad (一次一评, R-EVAL-ONCE).
        if let (Transition { ticket: after, .. }, Some(w)) = (&tr, &window)
            && after.status == yichuang_domain::queue::TicketStatus::Finished
        {
            let staff = (w.staff_id == Some(actor.id)).then_some(actor.username.as_str());
            crate::ratings::on_ticket_finished(
                &mut tx,
                now,
                &hall.code,
                id,
                &row.number,
                (w.id, &w.name),
                staff,
            )
            .await?;
        }
        tx.commit().await?;
        // The answer shows the ticket as just saved and the window it was at, when it still is:
        // neither needs reading again.
        let after = queues
            .iter()
            .find(|q| q.id == tr.ticket.queue)
            .map(|q| row.saved(&tr.ticket, rank_at, q));
        let window = window.filter(|w| tr.ticket.window == Some(w.id));
        Ok::<_, yichuang_domain::Error>((settings, id, after, window))
    };
    let _turn = store::working_on_ticket(&st.db, id).await;
    // A connection lost before the commit rolled everything back: run it again once.
    let answer = yichuang_store::retry_once(|| async move {
        // Another's transition of the ticket since it was read (another instance's, or one
        // that went beside a stuck turn): nothing of this one was written, and it runs again
        // from the ticket as that one left it.
        let mut left = STALE_TRIES;
        loop {
            match attempt().await {
                Err(e) if e.code == yichuang_store::db::STALE && left > 0 => left -= 1,
                r => return r,
            }
        }
    })
    .await?;
    let (settings, id, after, window) = answer;
    st.hall_feed.wake();
    let row = match after {
        Some(row) => row,
        None => store::ticket(&st.db, id).await?,
    };
    let w = match window {
        Some(w) => Some(w),
        None => window_of(&st.db, &row).await?,
    };
    ticket_view(&st.db, &row, &settings, w.as_ref()).await
}

/// How many times a transition that found its ticket moved on runs again: two staff acting on
/// one ticket at once, the second then acts on what the first left (or is refused by it).
const STALE_TRIES: u32 = 3;

async fn act(st: AppState, actor: Actor, id: i64, a: Act) -> ApiResult<Response> {
    let v = transition(&st, &actor, id, a.event(), |t, s, _, now| match a {
        Act::Recall => t.recall(),
        Act::Start => t.start(now),
        Act::Finish => t.finish(now),
        Act::NoShow => t.no_show(now, &s.tickets),
        Act::Requeue => t.requeue(now),
        Act::Park => t.park(now),
        Act::Resume => t.resume(now),
    })
    .await?;
    Ok(axum::Json(v).into_response())
}

macro_rules! ticket_action {
    ($name:ident, $act:expr) => {
        async fn $name(
            State(st): State<AppState>,
            CurrentActor(actor): CurrentActor,
            Path(id): Path<i64>,
        ) -> ApiResult<Response> {
            act(st, actor, id, $act).await
        }
    };
}

ticket_action!(recall, Act::Recall);
ticket_action!(start, Act::Start);
ticket_action!(finish, Act::Finish);
ticket_action!(no_show, Act::NoShow);
ticket_action!(requeue, Act::Requeue);
ticket_action!(park, Act::Park);
ticket_action!(resume, Act::Resume);

#[derive(Deserialize)]
struct TransferBody {
    queue: String,
}

async fn transfer(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<i64>,
    Json(b): Json<TransferBody>,
) -> ApiResult<Response> {
    let v = transition(
        &st,
        &actor,
        id,
        "ticket_transferred",
        |t, _, queues, now| {
            let q = find_queue(queues, &b.queue)?;
            t.transfer(now, q.id)
        },
    )
    .await?;
    Ok(axum::Json(v).into_response())
}
