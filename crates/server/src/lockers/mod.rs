//! Smart lockers (智能文件柜, issue 14): the issuance window puts a result into a compartment and
//! the applicant picks it up around the clock with an SMS code; an applicant waiting for a
//! supplement books a compartment on the phone and drops the materials off at night; the
//! controller of the locker talks to [`device`] (an HTTP protocol with a device token and an
//! idempotency key per message). The rules are in `yichuang_domain::locker`; every change is
//! an event in the hall's log, written with the compartment's and the case's change.

pub mod api;
pub mod device;
pub mod pages;
pub mod views;

use chrono::{DateTime, Utc};
use serde_json::json;
use sha2::{Digest, Sha256};
use yichuang_domain::case::process::StepAction;
use yichuang_domain::case::{Case, Command, Delivery, ProcessDefinition};
use yichuang_domain::locker::{
    self, CompartmentState, IssuedAt, LockerSettings, Move, ParcelKind, ParcelStatus, Size, Slot,
};
use yichuang_domain::pii::{mask_name, mask_phone};
use yichuang_domain::{Actor, Error, Result, Role};
use yichuang_store::cases::outbox;
use yichuang_store::lockers::{self as store, BankRow, Compartment, NewParcel, Parcel};
use yichuang_store::{Tx, timers};

use crate::cases::service::{self, Env, Loaded};
use crate::cases::time::{local, utc};
use crate::state::AppState;

/// The timer that ends a code's validity (subject: the parcel's id).
pub const EXPIRY_TIMER: &str = "locker_code_expiry";

/// The settings (RULES: settings, not constants), under the key `lockers`.
pub async fn settings(st: &AppState) -> Result<LockerSettings> {
    Ok(st
        .caches
        .setting(&st.db, "lockers")
        .await?
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default())
}

async fn settings_in(tx: &mut Tx) -> Result<LockerSettings> {
    Ok(yichuang_store::settings::get_in(tx, "lockers")
        .await?
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default())
}

/// What the database keeps of a code or an ID number typed at a door: a digest salted with
/// the compartment, never the value.
pub fn credential_digest(compartment_id: i64, what: &str, value: &str) -> String {
    let h = Sha256::digest(format!("yichuang-locker:{compartment_id}:{what}:{value}").as_bytes());
    h.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new 8-digit code from the operating system's CSPRNG.
fn new_code() -> Result<String> {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).map_err(Error::internal)?;
    Ok(locker::code_from_random(b))
}

/// Staff who may work a hall's lockers: its issuance and front-desk staff and its manager.
pub fn require_locker_staff(actor: &Actor, hall: &str) -> Result<()> {
    actor.require_role(
        &[Role::Admin, Role::HallManager, Role::Clerk, Role::Issuance],
        "操作智能文件柜",
    )?;
    actor.require_hall(hall, "操作")
}

fn slots(cs: &[Compartment]) -> Vec<Slot<'_>> {
    cs.iter()
        .map(|c| Slot {
            door: &c.door,
            size: c.size,
            state: c.state,
            locked: c.locked_at.is_some(),
        })
        .collect()
}

fn parse_size(s: &str) -> Result<Size> {
    Size::parse(s.trim()).ok_or_else(|| {
        Error::validation(vec![]).field(
            "size",
            "格口大小应为 small（小格）、medium（中格）或 large（大格）",
        )
    })
}

/// The process step of a case that hands the result over, if one is open.
pub fn issue_node(case: &Case, process: &ProcessDefinition) -> Result<String> {
    case.tokens
        .iter()
        .find(|t| {
            process
                .node(&t.node)
                .and_then(|n| n.task())
                .is_some_and(|task| task.action == StepAction::Issue)
        })
        .map(|t| t.node.clone())
        .ok_or_else(|| Error::conflict("step_not_open", "办件当前没有待出件的环节，不能放入文件柜"))
}

/// What a deposit or a booking hands back.
pub struct Placed {
    pub bank: BankRow,
    pub door: String,
    pub parcel_id: i64,
    pub code: String,
    pub expires_at: DateTime<Utc>,
}

/// What a new parcel needs: where, what for, for whom and until when.
struct Placing<'a> {
    bank: &'a BankRow,
    size: Size,
    kind: ParcelKind,
    l: &'a Loaded,
    by: &'a str,
    deposited_by: Option<&'a str>,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
}

/// Takes the chosen free compartment of the bank for a new parcel (the smallest that fits,
/// out-of-order and locked ones skipped), writes the parcel, schedules its expiry, sends the
/// door and the code by SMS through the outbox and records the event.
async fn place(tx: &mut Tx, x: Placing<'_>) -> Result<Placed> {
    let Placing {
        bank,
        size,
        kind,
        l,
        by,
        deposited_by,
        expires_at,
        now,
    } = x;
    let mut cs = store::compartments_for_update(tx, bank.id).await?;
    let door = locker::choose(&slots(&cs), size)?.to_string();
    let c = cs
        .iter_mut()
        .find(|c| c.door == door)
        .ok_or_else(|| Error::internal("chosen door vanished"))?;
    let (m, status, deposited_at) = match kind {
        ParcelKind::Pickup => (Move::Deposit, ParcelStatus::Deposited, Some(now)),
        ParcelKind::DropOff => (Move::Reserve, ParcelStatus::Booked, None),
    };
    c.state = locker::next(c.state, m)?;
    let code = new_code()?;
    let a = &l.case.applicant;
    let parcel_id = store::insert_parcel(
        tx,
        &NewParcel {
            compartment_id: c.id,
            kind,
            status,
            case_number: &l.case.number,
            hall: &bank.hall,
            code_digest: &credential_digest(c.id, "code", &code),
            id_digest: &credential_digest(c.id, "id", &a.id_number.to_ascii_uppercase()),
            phone: &a.phone,
            expires_at,
            deposited_by,
            deposited_at,
            created_by: by,
        },
        now,
    )
    .await?;
    c.parcel_id = Some(parcel_id);
    store::save_compartment(tx, c, now).await?;
    timers::schedule(
        tx,
        EXPIRY_TIMER,
        &parcel_id.to_string(),
        expires_at,
        json!({}),
        now,
    )
    .await?;
    let until = views::until_text(expires_at);
    let (number, place, door) = (&l.case.number, bank_place(bank), &c.door);
    let (sms, event) = match kind {
        ParcelKind::Pickup => (
            format!(
                "【一窗】您的办件 {number} 结果已放入{place} {door} 号格口。请凭格口号和取件码 {code}（或身份证号）于{until}前领取，24 小时可取；逾期将转回出件窗口。"
            ),
            "locker_result_deposited",
        ),
        ParcelKind::DropOff => (
            format!(
                "【一窗】您已预约{place} {door} 号格口投递办件 {number} 的补正材料。请凭格口号和投递码 {code} 于{until}前投递，关好柜门即完成。"
            ),
            "locker_drop_off_booked",
        ),
    };
    outbox::enqueue(tx, "locker_code", number, &a.phone, &sms, now).await?;
    crate::hall::record(
        tx,
        now,
        &bank.hall,
        by,
        event,
        ("locker_parcel", parcel_id),
        json!({"case": number, "locker": bank.code, "door": door,
               "expires_at": crate::clock::hall_time(expires_at),
               "applicant": mask_name(&a.name), "phone": mask_phone(&a.phone)}),
    )
    .await?;
    Ok(Placed {
        bank: bank.clone(),
        door: c.door.clone(),
        parcel_id,
        code,
        expires_at,
    })
}

fn bank_place(bank: &BankRow) -> String {
    if bank.place.is_empty() {
        bank.name.clone()
    } else {
        format!("{}（{}）", bank.name, bank.place)
    }
}

/// The issuance clerk puts a case's result into a locker: a free compartment that fits
/// (out-of-order and locked ones are skipped), an SMS with the door and the single-use code
/// through the outbox, a timer for the code's expiry; the issuance itself is recorded now or
/// at the pick-up as the setting says (R-ISSUE-10D).
pub async fn deposit_result(
    st: &AppState,
    actor: &Actor,
    number: &str,
    bank_code: &str,
    size: &str,
) -> Result<Placed> {
    let size = parse_size(size)?;
    let bank = store::bank(&st.db, bank_code.trim()).await?;
    let l = service::load(st, number).await?;
    service::may_view(actor, &l)?;
    if l.row.hall.as_deref().is_some_and(|h| h != bank.hall) {
        return Err(Error::conflict(
            "locker_of_another_hall",
            "该文件柜不属于办件所在大厅",
        ));
    }
    require_locker_staff(actor, &bank.hall)?;
    refuse_second(st, &l.case.number, ParcelKind::Pickup).await?;
    let node = issue_node(&l.case, &l.process)?;
    let now = st.now();
    // The case engine decides whether this actor may issue now (status, the step held).
    let issue = |door: &str| Command::Issue {
        node: node.clone(),
        delivery: Delivery::Locker {
            locker: bank.code.clone(),
            door: door.to_string(),
        },
    };
    let env = Env::at(st, now, l.row.hall.as_deref()).await?;
    env.with_ctx(&l.item, &l.process, |ctx| {
        l.case.handle(&issue("-"), actor, ctx)
    })?;
    let s = settings(st).await?;
    let expires_at = utc(s.pickup_expires(local(now)));
    let by = actor.event_name();
    let actor_json = serde_json::to_string(actor).map_err(Error::internal)?;
    let mut tx = st.db.begin().await?;
    let placed = place(
        &mut tx,
        Placing {
            bank: &bank,
            size,
            kind: ParcelKind::Pickup,
            l: &l,
            by: &by,
            deposited_by: Some(&actor_json),
            expires_at,
            now,
        },
    )
    .await?;
    if s.issued_at == IssuedAt::Deposit {
        service::change_in(&mut tx, st, now, number, Some(actor), |case, ctx| {
            case.handle(&issue(&placed.door), actor, ctx)
        })
        .await?;
    }
    tx.commit().await?;
    Ok(placed)
}

/// The applicant of a case waiting for a supplement books a compartment on the phone for a
/// drop-off: a door and a single-use code, valid for the booking hours (R-SUPPLEMENT-PAUSE
/// is applied when the front desk collects).
pub async fn book_drop_off(
    st: &AppState,
    phone: &str,
    number: &str,
    bank_code: &str,
    size: &str,
) -> Result<Placed> {
    let size = parse_size(size)?;
    let l = service::load(st, number).await?;
    if l.case.applicant.phone != phone {
        return Err(Error::not_found("case_not_found", "没有找到您的这件办件"));
    }
    locker::may_drop_off(&l.case)?;
    refuse_second(st, &l.case.number, ParcelKind::DropOff).await?;
    let bank = store::bank(&st.db, bank_code.trim()).await?;
    if l.row.hall.as_deref().is_some_and(|h| h != bank.hall) {
        return Err(Error::conflict(
            "locker_of_another_hall",
            "请选择受理您办件的大厅的文件柜",
        ));
    }
    let now = st.now();
    let s = settings(st).await?;
    let expires_at = utc(s.booking_expires(local(now)));
    let by = format!("applicant:{}", mask_phone(phone));
    let mut tx = st.db.begin().await?;
    let placed = place(
        &mut tx,
        Placing {
            bank: &bank,
            size,
            kind: ParcelKind::DropOff,
            l: &l,
            by: &by,
            deposited_by: None,
            expires_at,
            now,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(placed)
}

/// A case has at most one open parcel of a kind: one result in a locker, one drop-off booked.
async fn refuse_second(st: &AppState, number: &str, kind: ParcelKind) -> Result<()> {
    let open = store::parcels_of_case(&st.db, number)
        .await?
        .into_iter()
        .find(|p| p.parcel.kind == kind && p.parcel.closed_at.is_none());
    match open {
        Some(p) => Err(Error::conflict(
            "parcel_exists",
            match kind {
                ParcelKind::Pickup => format!("该办件结果已在文件柜 {} 号格口", p.door),
                ParcelKind::DropOff => {
                    format!("您已预约 {} 号格口投递，请直接使用短信中的投递码", p.door)
                }
            },
        )),
        None => Ok(()),
    }
}

/// A parcel with its compartment and bank, for staff operations (locked for the write).
async fn parcel_in(tx: &mut Tx, id: i64) -> Result<(Parcel, Compartment, BankRow)> {
    let p = store::parcel_for_update(tx, id).await?;
    let c = store::compartment_by_id(tx, p.compartment_id).await?;
    let b = store::bank_by_id(tx, c.bank_id).await?;
    Ok((p, c, b))
}

/// Empties a compartment whose parcel has just ended (picked up, collected, taken back).
async fn empty(tx: &mut Tx, c: &mut Compartment, now: DateTime<Utc>) -> Result<()> {
    c.state = locker::next(c.state, Move::Empty)?;
    c.parcel_id = None;
    store::save_compartment(tx, c, now).await
}

/// The front desk takes dropped-off materials out of the locker and records the supplement:
/// the clock resumes as of the deposit or of now, as the setting says (R-SUPPLEMENT-PAUSE).
pub async fn collect_drop_off(
    st: &AppState,
    actor: &Actor,
    parcel_id: i64,
    materials: Vec<String>,
) -> Result<String> {
    let now = st.now();
    let mut tx = st.db.begin().await?;
    let (mut p, mut c, bank) = parcel_in(&mut tx, parcel_id).await?;
    require_locker_staff(actor, &bank.hall)?;
    actor.require_role(
        &[Role::Admin, Role::HallManager, Role::Clerk],
        "接收投递的补正材料",
    )?;
    if p.kind != ParcelKind::DropOff || p.status != ParcelStatus::Deposited {
        return Err(Error::conflict(
            "parcel_not_waiting",
            format!("该格口物品当前为“{}”，不能取出登记", p.status.label(p.kind)),
        ));
    }
    let deposited = p.deposited_at.unwrap_or(now);
    let on = settings_in(&mut tx)
        .await?
        .supplement_day(local(deposited), local(now));
    let number = p.case_number.clone();
    // Materials handed in at a window meanwhile: the locker is emptied, nothing is recorded twice.
    let awaited = locker::may_drop_off(&service::load(st, &number).await?.case).is_ok();
    if awaited {
        service::change_in(&mut tx, st, now, &number, Some(actor), |case, ctx| {
            let materials = if materials.is_empty() {
                case.open_notice()
                    .map(|n| n.outstanding().iter().map(|m| m.to_string()).collect())
                    .unwrap_or_default()
            } else {
                materials.clone()
            };
            case.handle(&Command::SupplementReceivedOn { materials, on }, actor, ctx)
        })
        .await?;
    }
    p.status = ParcelStatus::Collected;
    p.collected_at = Some(now);
    p.closed_at = Some(now);
    store::save_parcel(&mut tx, &p).await?;
    empty(&mut tx, &mut c, now).await?;
    timers::cancel(&mut tx, EXPIRY_TIMER, &p.id.to_string(), now).await?;
    crate::hall::record(
        &mut tx,
        now,
        &bank.hall,
        &actor.event_name(),
        "locker_drop_off_collected",
        ("locker_parcel", p.id),
        json!({"case": number, "locker": bank.code, "door": c.door,
               "deposited_at": crate::clock::hall_time(deposited),
               "supplement": awaited.then(|| on.to_string())}),
    )
    .await?;
    tx.commit().await?;
    Ok(number)
}

/// An uncollected result is taken back to the issuance window (the compartment is free again;
/// the window hands it over as usual).
pub async fn retrieve(st: &AppState, actor: &Actor, parcel_id: i64) -> Result<String> {
    let now = st.now();
    let mut tx = st.db.begin().await?;
    let (mut p, mut c, bank) = parcel_in(&mut tx, parcel_id).await?;
    require_locker_staff(actor, &bank.hall)?;
    if p.kind != ParcelKind::Pickup || p.status != ParcelStatus::Expired {
        return Err(Error::conflict(
            "parcel_not_waiting",
            format!("该格口物品当前为“{}”，无需取回", p.status.label(p.kind)),
        ));
    }
    p.status = ParcelStatus::Returned;
    p.closed_at = Some(now);
    store::save_parcel(&mut tx, &p).await?;
    empty(&mut tx, &mut c, now).await?;
    crate::hall::record(
        &mut tx,
        now,
        &bank.hall,
        &actor.event_name(),
        "locker_result_returned",
        ("locker_parcel", p.id),
        json!({"case": p.case_number, "locker": bank.code, "door": c.door}),
    )
    .await?;
    tx.commit().await?;
    Ok(p.case_number)
}

/// The manager takes a compartment out of service or back (故障停用 / 恢复使用), or unlocks
/// one the wrong-code limit locked.
pub async fn set_compartment(
    st: &AppState,
    actor: &Actor,
    bank_code: &str,
    door: &str,
    change: CompartmentChange,
) -> Result<Compartment> {
    let bank = store::bank(&st.db, bank_code).await?;
    crate::hall::require_hall_manager(actor, &bank.hall)?;
    let now = st.now();
    let door = locker::normalize_door(door);
    let mut tx = st.db.begin().await?;
    let mut c = store::compartment_for_update(&mut tx, bank.id, &door)
        .await?
        .ok_or_else(|| Error::not_found("compartment_not_found", format!("没有 {door} 号格口")))?;
    let before = c.state;
    let kind = match change {
        CompartmentChange::OutOfOrder => {
            c.state = locker::next(c.state, Move::Break)?;
            "locker_compartment_out_of_order"
        }
        CompartmentChange::Repaired => {
            c.state = locker::next(c.state, Move::Repair)?;
            "locker_compartment_repaired"
        }
        CompartmentChange::Unlock => {
            if c.locked_at.is_none() {
                return Err(Error::conflict("compartment_not_locked", "该格口没有锁定"));
            }
            c.locked_at = None;
            c.wrong_codes = 0;
            "locker_compartment_unlocked"
        }
    };
    store::save_compartment(&mut tx, &c, now).await?;
    crate::hall::record(
        &mut tx,
        now,
        &bank.hall,
        &actor.event_name(),
        kind,
        ("locker_compartment", c.id),
        json!({"locker": bank.code, "door": c.door,
               "before": before.as_str(), "after": c.state.as_str()}),
    )
    .await?;
    tx.commit().await?;
    Ok(c)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompartmentChange {
    OutOfOrder,
    Repaired,
    Unlock,
}

/// A code's time ran out (the durable timer): an uncollected result waits to be taken back to
/// the issuance window and a callback task is listed; a booking never used frees its
/// compartment.
pub async fn fire_expiry(
    st: &AppState,
    tx: &mut Tx,
    subject: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let Ok(id) = subject.parse::<i64>() else {
        return Ok(());
    };
    let (mut p, mut c, bank) = parcel_in(tx, id).await?;
    match (p.kind, p.status) {
        (ParcelKind::Pickup, ParcelStatus::Deposited) if p.code_used_at.is_none() => {
            p.status = ParcelStatus::Expired;
            store::save_parcel(tx, &p).await?;
            let l = service::load(st, &p.case_number).await?;
            crate::ratings::uncollected_callback(tx, st, now, &l, &bank.hall).await?;
            outbox::enqueue(
                tx,
                "locker_uncollected",
                &p.case_number,
                &p.phone,
                &format!(
                    "【一窗】您的办件 {} 结果在智能文件柜存放期满未领取，已转回出件窗口，请在办公时间到出件窗口领取。",
                    p.case_number
                ),
                now,
            )
            .await?;
            crate::hall::record(
                tx,
                now,
                &bank.hall,
                "system",
                "locker_result_uncollected",
                ("locker_parcel", p.id),
                json!({"case": p.case_number, "locker": bank.code, "door": c.door}),
            )
            .await?;
        }
        (ParcelKind::DropOff, ParcelStatus::Booked) if p.code_used_at.is_none() => {
            p.status = ParcelStatus::Expired;
            p.closed_at = Some(now);
            store::save_parcel(tx, &p).await?;
            c.state = locker::next(c.state, Move::Release)?;
            c.parcel_id = None;
            store::save_compartment(tx, &c, now).await?;
            crate::hall::record(
                tx,
                now,
                &bank.hall,
                "system",
                "locker_booking_expired",
                ("locker_parcel", p.id),
                json!({"case": p.case_number, "locker": bank.code, "door": c.door}),
            )
            .await?;
        }
        _ => {}
    }
    Ok(())
}

/// Whether a compartment's state is one a parcel sits in.
pub fn holds(c: &Compartment) -> bool {
    matches!(
        c.state,
        CompartmentState::Holding | CompartmentState::Reserved
    )
}
