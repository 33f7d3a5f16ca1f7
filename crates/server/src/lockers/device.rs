//! The locker hardware protocol: the controller of a locker bank posts its messages to
//! `POST /api/v1/lockers/{code}/device/messages` with `Authorization: Bearer <device token>`.
//! Every message carries a `message_id` chosen by the controller (its idempotency key): the
//! first arrival acts and its answer is stored in the same transaction; a retry or a duplicate
//! gets the stored answer and acts no more. The door is opened only on an `open` answer, once
//! per `message_id`; the code it was opened with is used up with that answer, so a second
//! message (another id) with the same code is refused. Door reports may come late or out of
//! order: `door_closed` completes what the open began whether or not `door_opened` came first,
//! and a report about a door with nothing pending is recorded and changes nothing.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use yichuang_domain::case::{CaseStatus, Command, Delivery};
use yichuang_domain::locker::{
    self, DoorFacts, IssuedAt, Move, ParcelKind, ParcelStatus, WrongCode,
};
use yichuang_domain::pii::mask_phone;
use yichuang_domain::{Actor, Error, Result};
use yichuang_store::Tx;
use yichuang_store::cases::outbox;
use yichuang_store::lockers::{self as store, BankRow, Compartment};

use super::{credential_digest, empty, settings_in};
use crate::accounts::secrets::token_digest;
use crate::cases::service;
use crate::cases::time::local;
use crate::state::AppState;

/// The device token's prefix: recognisable in a log or a config file for what it is.
pub const TOKEN_PREFIX: &str = "ycd_";

/// A new device token for a locker bank (shown once; only its digest is kept).
pub fn new_device_token() -> Result<String> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(Error::internal)?;
    Ok(format!(
        "{TOKEN_PREFIX}{}",
        b.iter().map(|x| format!("{x:02x}")).collect::<String>()
    ))
}

/// The bank a controller speaks for, if its token is the bank's.
pub async fn authenticate(st: &AppState, code: &str, token: Option<&str>) -> Result<BankRow> {
    let bank = store::bank(&st.db, code)
        .await
        .map_err(|_| device_refused())?;
    match token {
        Some(t) if !t.is_empty() && token_digest(t) == bank.device_key => Ok(bank),
        _ => Err(device_refused()),
    }
}

fn device_refused() -> Error {
    Error::new(
        yichuang_domain::Kind::Unauthorized,
        "device_unauthorized",
        "文件柜设备令牌无效",
    )
}

/// One message of the controller.
#[derive(Debug, Clone, Deserialize)]
pub struct Message {
    pub message_id: String,
    #[serde(flatten)]
    pub body: Body,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Body {
    /// Someone typed a door number and a code (or an ID number) at the locker's screen: may
    /// the door open?
    OpenRequest {
        door: String,
        #[serde(default)]
        code: Option<String>,
        #[serde(default)]
        id_number: Option<String>,
    },
    DoorOpened {
        door: String,
    },
    DoorClosed {
        door: String,
    },
}

impl Body {
    fn kind(&self) -> &'static str {
        match self {
            Body::OpenRequest { .. } => "open_request",
            Body::DoorOpened { .. } => "door_opened",
            Body::DoorClosed { .. } => "door_closed",
        }
    }
}

/// The answer to a message (stored with its key and sent again to a retry).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Answer {
    pub message_id: String,
    /// `open` (open `door` now, once), `refused`, or `recorded` (a door report).
    pub result: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub door: Option<String>,
    /// What the person came for: `pickup` or `drop_off`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purpose: Option<ParcelKind>,
    /// Why it was refused (stable), for a refusal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// What the locker's screen shows, in Chinese.
    pub message: String,
    /// Wrong tries left at this door before it locks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempts_left: Option<u32>,
    /// Whether this is the stored answer to a message seen before.
    #[serde(default)]
    pub replayed: bool,
}

impl Answer {
    fn new(id: &str, result: &str, message: impl Into<String>) -> Answer {
        Answer {
            message_id: id.to_string(),
            result: result.into(),
            door: None,
            purpose: None,
            code: None,
            message: message.into(),
            attempts_left: None,
            replayed: false,
        }
    }

    fn refused(id: &str, e: &Error) -> Answer {
        Answer {
            code: Some(e.code.to_string()),
            ..Answer::new(id, "refused", e.title.clone())
        }
    }
}

fn check_message(m: &Message) -> Result<()> {
    let id = m.message_id.trim();
    if id.is_empty() || id.len() > 100 {
        return Err(Error::validation(vec![]).field(
            "message_id",
            "每条消息需带 1–100 个字符的 message_id（幂等键），重试时保持不变",
        ));
    }
    if let Body::OpenRequest {
        code, id_number, ..
    } = &m.body
    {
        let has = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
        if !has(code) && !has(id_number) {
            return Err(Error::validation(vec![]).field("code", "请输入取件码或身份证号"));
        }
    }
    Ok(())
}

/// Handles one controller message exactly once.
pub async fn handle(st: &AppState, bank: &BankRow, m: Message) -> Result<Answer> {
    check_message(&m)?;
    let id = m.message_id.trim().to_string();
    let now = st.now();
    let mut tx = st.db.begin().await?;
    if !store::claim_message(&mut tx, bank.id, &id, m.body.kind(), now).await? {
        // Committed (it wrote nothing), not dropped: the claim it found may be another
        // transaction's in the same group commit, which the answer read below needs committed.
        tx.commit().await?;
        return replay(st, bank, &id, m.body.kind()).await;
    }
    let answer = match &m.body {
        Body::OpenRequest {
            door,
            code,
            id_number,
        } => open_request(&mut tx, st, bank, &id, door, code, id_number, now).await?,
        Body::DoorOpened { door } => door_report(&mut tx, bank, &id, door, false, now).await?,
        Body::DoorClosed { door } => door_report(&mut tx, bank, &id, door, true, now).await?,
    };
    store::save_response(
        &mut tx,
        bank.id,
        &id,
        &serde_json::to_value(&answer).map_err(Error::internal)?,
    )
    .await?;
    tx.commit().await?;
    Ok(answer)
}

async fn replay(st: &AppState, bank: &BankRow, id: &str, kind: &str) -> Result<Answer> {
    let Some((was, v)) = store::message_response(&st.db, bank.id, id).await? else {
        return Err(Error::internal("claimed message without a row"));
    };
    if was != kind {
        return Err(Error::conflict(
            "message_id_reused",
            "该 message_id 已用于另一种消息，请为每条新消息使用新的 message_id",
        ));
    }
    let mut a: Answer = serde_json::from_value(v).map_err(Error::internal)?;
    a.replayed = true;
    Ok(a)
}

#[allow(clippy::too_many_arguments)]
async fn open_request(
    tx: &mut Tx,
    st: &AppState,
    bank: &BankRow,
    id: &str,
    door: &str,
    code: &Option<String>,
    id_number: &Option<String>,
    now: DateTime<Utc>,
) -> Result<Answer> {
    let door = locker::normalize_door(door);
    let Some(mut c) = store::compartment_for_update(tx, bank.id, &door).await? else {
        return Ok(Answer::refused(
            id,
            &Error::invalid(
                "no_such_door",
                format!("没有 {door} 号格口，请核对短信中的格口号"),
            ),
        ));
    };
    let digest = match (code.as_deref().map(str::trim), id_number.as_deref()) {
        (Some(code), _) if !code.is_empty() => {
            credential_digest(c.id, "code", &locker::normalize_code(code))
        }
        (_, Some(idn)) => credential_digest(c.id, "id", &idn.trim().to_ascii_uppercase()),
        _ => String::new(),
    };
    let parcel = store::parcel_by_credential(tx, c.id, &digest).await?;
    let facts = DoorFacts {
        state: c.state,
        locked: c.locked_at.is_some(),
        parcel: parcel.as_ref().map(|p| {
            (
                p.kind,
                p.status,
                p.code_used_at.is_some(),
                local(p.expires_at),
            )
        }),
    };
    let purpose = match locker::check_door(&facts, local(now)) {
        Ok(k) => k,
        Err(e) if e.code == "wrong_code" => return wrong(tx, bank, id, &mut c, now).await,
        Err(e) => {
            crate::hall::record(
                tx,
                now,
                &bank.hall,
                &device_actor(bank),
                "locker_open_refused",
                ("locker_compartment", c.id),
                json!({"locker": bank.code, "door": c.door, "reason": e.code}),
            )
            .await?;
            return Ok(Answer::refused(id, &e));
        }
    };
    let Some(mut p) = parcel else {
        return Err(Error::internal("a door opened without its parcel"));
    };
    p.code_used_at = Some(now);
    c.wrong_codes = 0;
    store::save_compartment(tx, &c, now).await?;
    let message = match purpose {
        ParcelKind::Pickup => {
            p.status = ParcelStatus::Collected;
            p.collected_at = Some(now);
            p.closed_at = Some(now);
            if settings_in(tx).await?.issued_at == IssuedAt::Pickup {
                record_issuance(
                    tx,
                    st,
                    bank,
                    &c,
                    &p.case_number,
                    p.deposited_by.as_deref(),
                    now,
                )
                .await?;
            }
            outbox::enqueue(
                tx,
                "locker_picked_up",
                &p.case_number,
                &p.phone,
                &format!(
                    "【一窗】您的办件 {} 结果已于 {} 从智能文件柜 {} 号格口取出。如非本人操作，请致电大厅。",
                    p.case_number,
                    crate::ratings::views::chinese_time(yichuang_store::micros(now)),
                    c.door
                ),
                now,
            )
            .await?;
            "柜门已打开，请取走您的办件结果并关好柜门"
        }
        ParcelKind::DropOff => "柜门已打开，请放入补正材料并关好柜门",
    };
    store::save_parcel(tx, &p).await?;
    timers_cancel(tx, &p, purpose, now).await?;
    crate::hall::record(
        tx,
        now,
        &bank.hall,
        &device_actor(bank),
        "locker_door_granted",
        ("locker_parcel", p.id),
        json!({"locker": bank.code, "door": c.door, "case": p.case_number,
               "purpose": purpose, "message_id": id, "phone": mask_phone(&p.phone)}),
    )
    .await?;
    Ok(Answer {
        door: Some(c.door.clone()),
        purpose: Some(purpose),
        ..Answer::new(id, "open", message)
    })
}

/// A pick-up code that opened its door cannot expire any more; a drop-off's expiry stays until
/// the door closes on the materials.
async fn timers_cancel(
    tx: &mut Tx,
    p: &store::Parcel,
    purpose: ParcelKind,
    now: DateTime<Utc>,
) -> Result<()> {
    if purpose == ParcelKind::Pickup {
        yichuang_store::timers::cancel(tx, super::EXPIRY_TIMER, &p.id.to_string(), now).await?;
    }
    Ok(())
}

/// R-ISSUE-10D satisfied at the pick-up: the issuance is recorded in the name of the clerk who
/// put the result in (who holds the issuance step), at the time the door opened.
async fn record_issuance(
    tx: &mut Tx,
    st: &AppState,
    bank: &BankRow,
    c: &Compartment,
    number: &str,
    deposited_by: Option<&str>,
    now: DateTime<Utc>,
) -> Result<()> {
    if service::load(st, number).await?.case.status == CaseStatus::Issued {
        // Handed over another way meanwhile (the window): the issuance stands as recorded.
        return Ok(());
    }
    let clerk: Actor = deposited_by
        .and_then(|j| serde_json::from_str(j).ok())
        .ok_or_else(|| Error::internal("a locker result without its clerk"))?;
    service::change_in(tx, st, now, number, None, |case, ctx| {
        let node = super::issue_node(case, ctx.process)?;
        case.handle(
            &Command::Issue {
                node,
                delivery: Delivery::Locker {
                    locker: bank.code.clone(),
                    door: c.door.clone(),
                },
            },
            &clerk,
            ctx,
        )
    })
    .await?;
    Ok(())
}

/// A wrong code at a door: counted; the limit locks the door and tells the manager (the hall's
/// live feed and the lockers page); nothing else changes.
async fn wrong(
    tx: &mut Tx,
    bank: &BankRow,
    id: &str,
    c: &mut Compartment,
    now: DateTime<Utc>,
) -> Result<Answer> {
    let s = settings_in(tx).await?;
    let answer = match s.after_wrong_code(c.wrong_codes) {
        WrongCode::TryAgain { wrong, left } => {
            c.wrong_codes = wrong;
            crate::hall::record(
                tx,
                now,
                &bank.hall,
                &device_actor(bank),
                "locker_wrong_code",
                ("locker_compartment", c.id),
                json!({"locker": bank.code, "door": c.door, "wrong": wrong}),
            )
            .await?;
            Answer {
                attempts_left: Some(left),
                ..Answer::refused(
                    id,
                    &Error::invalid(
                        "wrong_code",
                        format!("格口号或取件码不正确，还可再试 {left} 次"),
                    ),
                )
            }
        }
        WrongCode::Lock { wrong } => {
            c.wrong_codes = wrong;
            c.locked_at = Some(now);
            crate::hall::record(
                tx,
                now,
                &bank.hall,
                &device_actor(bank),
                "locker_compartment_locked",
                ("locker_compartment", c.id),
                json!({"locker": bank.code, "door": c.door, "wrong": wrong,
                       "notice": format!("{} {} 号格口连续 {wrong} 次输入错误，已锁定，请核实后解锁", bank.name, c.door)}),
            )
            .await?;
            Answer {
                attempts_left: Some(0),
                ..Answer::refused(
                    id,
                    &Error::invalid(
                        "compartment_locked",
                        "输入错误次数过多，该格口已锁定，请联系大厅工作人员",
                    ),
                )
            }
        }
    };
    store::save_compartment(tx, c, now).await?;
    Ok(answer)
}

/// `door_opened` is recorded; `door_closed` completes what an open began: a picked-up
/// compartment is free again, a drop-off is deposited (its time is when the door closed).
async fn door_report(
    tx: &mut Tx,
    bank: &BankRow,
    id: &str,
    door: &str,
    closed: bool,
    now: DateTime<Utc>,
) -> Result<Answer> {
    let door = locker::normalize_door(door);
    let Some(mut c) = store::compartment_for_update(tx, bank.id, &door).await? else {
        return Ok(Answer::refused(
            id,
            &Error::invalid("no_such_door", format!("没有 {door} 号格口")),
        ));
    };
    let parcel = match c.parcel_id {
        Some(pid) => Some(store::parcel_for_update(tx, pid).await?),
        None => None,
    };
    let mut effect = "none";
    if closed && let Some(mut p) = parcel {
        match (p.kind, p.status, p.code_used_at.is_some()) {
            (ParcelKind::Pickup, ParcelStatus::Collected, true) => {
                empty(tx, &mut c, now).await?;
                effect = "emptied";
            }
            (ParcelKind::DropOff, ParcelStatus::Booked, true) => {
                p.status = ParcelStatus::Deposited;
                p.deposited_at = Some(now);
                store::save_parcel(tx, &p).await?;
                c.state = locker::next(c.state, Move::Deposit)?;
                store::save_compartment(tx, &c, now).await?;
                yichuang_store::timers::cancel(tx, super::EXPIRY_TIMER, &p.id.to_string(), now)
                    .await?;
                crate::hall::record(
                    tx,
                    now,
                    &bank.hall,
                    &device_actor(bank),
                    "locker_drop_off_deposited",
                    ("locker_parcel", p.id),
                    json!({"locker": bank.code, "door": c.door, "case": p.case_number}),
                )
                .await?;
                effect = "deposited";
            }
            _ => {}
        }
    }
    crate::hall::record(
        tx,
        now,
        &bank.hall,
        &device_actor(bank),
        if closed {
            "locker_door_closed"
        } else {
            "locker_door_opened"
        },
        ("locker_compartment", c.id),
        json!({"locker": bank.code, "door": c.door, "message_id": id, "effect": effect}),
    )
    .await?;
    Ok(Answer {
        door: Some(c.door.clone()),
        ..Answer::new(id, "recorded", "已记录")
    })
}

/// The name a locker's controller has in the event log: a device is a real actor.
pub fn device_actor(bank: &BankRow) -> String {
    format!("locker:{}", bank.code)
}
