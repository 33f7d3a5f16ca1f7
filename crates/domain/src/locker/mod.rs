//! Smart lockers (智能文件柜, 24 小时自助区): a locker bank (`Locker`) of a hall, its compartments
//! (`Compartment`, 格口) and what they hold (a parcel: a result to pick up, or materials dropped
//! off for a case waiting for a supplement). Pure rules: the states a compartment may move
//! between, the pick-up and drop-off codes, their expiry, the wrong-code lockout, which
//! compartment a parcel goes to, and the day a dropped-off supplement counts as received.
//!
//! Codes: 8 digits drawn by the server from a CSPRNG ([`code_from_random`]), single-use, stored
//! only as a digest, valid for a set time; at the locker the person types the door number and
//! the code (or the ID number), so ten wrong tries at one door lock that door (the manager is
//! told) and guessing one of 10⁸ codes in ten tries is hopeless.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::case::clock::end_of;
use crate::case::{Case, CaseStatus};
use crate::error::{Error, Problems, Result};

/// Digits of a pick-up or drop-off code (the SMS carries it).
pub const CODE_DIGITS: usize = 8;

/// A compartment's size (格口大小): a certificate fits a small one, a folder of materials a
/// medium one, a box a large one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Size {
    Small,
    Medium,
    Large,
}

impl Size {
    pub const ALL: [Size; 3] = [Size::Small, Size::Medium, Size::Large];

    pub fn as_str(self) -> &'static str {
        match self {
            Size::Small => "small",
            Size::Medium => "medium",
            Size::Large => "large",
        }
    }

    pub fn parse(s: &str) -> Option<Size> {
        Size::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Size::Small => "小格",
            Size::Medium => "中格",
            Size::Large => "大格",
        }
    }
}

/// What a compartment is doing. A compartment holds one thing at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompartmentState {
    Free,
    /// Booked for a drop-off; the door opens only for its code.
    Reserved,
    /// Something is inside (a result waiting for its applicant, or dropped-off materials).
    Holding,
    /// 故障停用: the manager took it out of service; nothing is put in it.
    OutOfOrder,
}

impl CompartmentState {
    pub const ALL: [CompartmentState; 4] = [
        CompartmentState::Free,
        CompartmentState::Reserved,
        CompartmentState::Holding,
        CompartmentState::OutOfOrder,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CompartmentState::Free => "free",
            CompartmentState::Reserved => "reserved",
            CompartmentState::Holding => "holding",
            CompartmentState::OutOfOrder => "out_of_order",
        }
    }

    pub fn parse(s: &str) -> Option<CompartmentState> {
        CompartmentState::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            CompartmentState::Free => "空闲",
            CompartmentState::Reserved => "已预约",
            CompartmentState::Holding => "存放中",
            CompartmentState::OutOfOrder => "故障停用",
        }
    }
}

/// What moves a compartment from one state to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    /// A citizen books it for a drop-off.
    Reserve,
    /// Something was put in and the door closed (the issuance clerk, or the citizen).
    Deposit,
    /// What was inside was taken out (picked up, collected by the front desk, or taken back to
    /// the issuance window).
    Empty,
    /// A booking ended without a deposit (expired).
    Release,
    /// The manager takes it out of service.
    Break,
    /// The manager puts it back into service.
    Repair,
}

/// The allowed transitions; anything else is refused with the reason in Chinese.
pub fn next(state: CompartmentState, m: Move) -> Result<CompartmentState> {
    use CompartmentState::*;
    match (state, m) {
        (Free, Move::Reserve) => Ok(Reserved),
        (Free | Reserved, Move::Deposit) => Ok(Holding),
        (Holding, Move::Empty) => Ok(Free),
        (Reserved, Move::Release) => Ok(Free),
        (Free, Move::Break) => Ok(OutOfOrder),
        (OutOfOrder, Move::Repair) => Ok(Free),
        (Holding, Move::Break) => Err(Error::conflict(
            "compartment_in_use",
            "格口内有物品，请先取出再停用",
        )),
        (Reserved, Move::Break) => Err(Error::conflict(
            "compartment_in_use",
            "格口已被群众预约投递，预约结束后才能停用",
        )),
        (OutOfOrder, _) => Err(Error::conflict(
            "compartment_out_of_order",
            "格口已故障停用",
        )),
        (s, _) => Err(Error::conflict(
            "compartment_state",
            format!("格口当前为“{}”，不能进行此操作", s.label()),
        )),
    }
}

/// What a parcel is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParcelKind {
    /// 自助取件: a result the issuance window put in for the applicant.
    Pickup,
    /// 自助投递: materials the applicant drops off for a supplement.
    DropOff,
}

impl ParcelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ParcelKind::Pickup => "pickup",
            ParcelKind::DropOff => "drop_off",
        }
    }
    pub fn parse(s: &str) -> Option<ParcelKind> {
        [ParcelKind::Pickup, ParcelKind::DropOff]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
    pub fn label(self) -> &'static str {
        match self {
            ParcelKind::Pickup => "自助取件",
            ParcelKind::DropOff => "自助投递",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParcelStatus {
    /// A drop-off booked, not yet deposited.
    Booked,
    /// In the compartment.
    Deposited,
    /// Taken out by whom it was for (the applicant picked up; the front desk collected).
    Collected,
    /// The code expired: a drop-off never deposited, or a result not picked up in time and
    /// waiting to be taken back to the issuance window.
    Expired,
    /// An uncollected result taken back to the issuance window.
    Returned,
}

impl ParcelStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ParcelStatus::Booked => "booked",
            ParcelStatus::Deposited => "deposited",
            ParcelStatus::Collected => "collected",
            ParcelStatus::Expired => "expired",
            ParcelStatus::Returned => "returned",
        }
    }
    pub fn parse(s: &str) -> Option<ParcelStatus> {
        [
            ParcelStatus::Booked,
            ParcelStatus::Deposited,
            ParcelStatus::Collected,
            ParcelStatus::Expired,
            ParcelStatus::Returned,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
    pub fn label(self, kind: ParcelKind) -> &'static str {
        match (self, kind) {
            (ParcelStatus::Booked, _) => "已预约，待投递",
            (ParcelStatus::Deposited, ParcelKind::Pickup) => "已入柜，待领取",
            (ParcelStatus::Deposited, ParcelKind::DropOff) => "已投递，待前台取出",
            (ParcelStatus::Collected, ParcelKind::Pickup) => "已领取",
            (ParcelStatus::Collected, ParcelKind::DropOff) => "前台已取出并登记补正",
            (ParcelStatus::Expired, ParcelKind::Pickup) => "逾期未取，待取回出件窗口",
            (ParcelStatus::Expired, ParcelKind::DropOff) => "预约已过期",
            (ParcelStatus::Returned, _) => "已取回出件窗口",
        }
    }
}

/// When R-ISSUE-10D counts a result put into a locker as issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IssuedAt {
    /// When the issuance clerk puts it in (the result is at the applicant's disposal).
    Deposit,
    /// When the applicant takes it out (delivered into their hands).
    Pickup,
}

/// From when R-SUPPLEMENT-PAUSE counts materials dropped off in a locker as received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SupplementFrom {
    /// The day the applicant deposited them (the clock does not wait for the front desk).
    Deposit,
    /// The day the front desk took them out.
    Collection,
}

/// The practice rules of lockers (RULES.md: settings, not constants), under the key `lockers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LockerSettings {
    /// Natural days a pick-up code is valid after the deposit (the locker is open 24 hours,
    /// weekends included); then the result goes back to the issuance window.
    pub pickup_days: u32,
    /// Hours a drop-off booking (and its code) is valid.
    pub booking_hours: u32,
    pub issued_at: IssuedAt,
    pub supplement_from: SupplementFrom,
    /// Wrong codes at one door before it locks.
    pub wrong_code_limit: u32,
}

impl Default for LockerSettings {
    fn default() -> Self {
        LockerSettings {
            pickup_days: 7,
            booking_hours: 24,
            issued_at: IssuedAt::Pickup,
            supplement_from: SupplementFrom::Deposit,
            wrong_code_limit: 10,
        }
    }
}

impl LockerSettings {
    pub fn validate(&self) -> Result<()> {
        let mut p = Problems::new();
        p.check(
            (1..=30).contains(&self.pickup_days),
            "pickup_days",
            "取件码有效期应在 1–30 天之间",
        );
        p.check(
            (1..=168).contains(&self.booking_hours),
            "booking_hours",
            "投递预约有效期应在 1–168 小时之间",
        );
        p.check(
            (3..=20).contains(&self.wrong_code_limit),
            "wrong_code_limit",
            "错误次数上限应在 3–20 次之间",
        );
        p.finish()
    }

    /// A pick-up code deposited at `at` is valid to the end of the `pickup_days`-th day after
    /// it (R-FIRST-DAY style: the day of the deposit does not count).
    pub fn pickup_expires(&self, at: NaiveDateTime) -> NaiveDateTime {
        end_of(at.date() + Duration::days(self.pickup_days.into()))
    }

    pub fn booking_expires(&self, at: NaiveDateTime) -> NaiveDateTime {
        at + Duration::hours(self.booking_hours.into())
    }

    /// The day the supplement counts as received (R-SUPPLEMENT-PAUSE, the setting).
    pub fn supplement_day(&self, deposited: NaiveDateTime, collected: NaiveDateTime) -> NaiveDate {
        match self.supplement_from {
            SupplementFrom::Deposit => deposited.date().min(collected.date()),
            SupplementFrom::Collection => collected.date(),
        }
    }

    /// What one more wrong code at a door leads to.
    pub fn after_wrong_code(&self, wrong_before: u32) -> WrongCode {
        let wrong = wrong_before + 1;
        if wrong >= self.wrong_code_limit {
            WrongCode::Lock { wrong }
        } else {
            WrongCode::TryAgain {
                wrong,
                left: self.wrong_code_limit - wrong,
            }
        }
    }
}

/// The answer to a wrong code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WrongCode {
    TryAgain {
        wrong: u32,
        left: u32,
    },
    /// The limit is reached: the door locks until the manager unlocks it.
    Lock {
        wrong: u32,
    },
}

/// An 8-digit code from 8 random bytes (the server draws them from the OS's CSPRNG). The
/// modulo bias of 2⁶⁴ mod 10⁸ is below 10⁻¹⁰.
pub fn code_from_random(bytes: [u8; 8]) -> String {
    let n = u64::from_le_bytes(bytes) % 10u64.pow(CODE_DIGITS as u32);
    format!("{n:0width$}", width = CODE_DIGITS)
}

/// A code as typed: digits only (spaces and dashes dropped).
pub fn normalize_code(typed: &str) -> String {
    typed.chars().filter(char::is_ascii_digit).collect()
}

/// A door number as typed: `a3`, `A03` and ` A-03 ` are the door `A03`.
pub fn normalize_door(typed: &str) -> String {
    let t: String = typed
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let letters: String = t.chars().take_while(char::is_ascii_alphabetic).collect();
    let digits = &t[letters.len()..];
    match digits.parse::<u32>() {
        Ok(n) if !letters.is_empty() => format!("{letters}{n:02}"),
        _ => t,
    }
}

/// One compartment as the choice of a free one sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot<'a> {
    pub door: &'a str,
    pub size: Size,
    pub state: CompartmentState,
    pub locked: bool,
}

/// The compartment a new parcel goes into: the smallest free one it fits in, skipping those
/// out of order or locked; by door number among equals.
pub fn choose<'a>(slots: &[Slot<'a>], fits_in: Size) -> Result<&'a str> {
    slots
        .iter()
        .filter(|s| s.state == CompartmentState::Free && !s.locked && s.size >= fits_in)
        .min_by(|a, b| a.size.cmp(&b.size).then(a.door.cmp(b.door)))
        .map(|s| s.door)
        .ok_or_else(|| {
            Error::conflict(
                "no_free_compartment",
                format!(
                    "没有空闲的{}或更大的格口，请稍后再试或改在窗口办理",
                    fits_in.label()
                ),
            )
        })
}

/// A drop-off may be booked only for a case waiting for supplementary materials: before
/// acceptance (一次性告知) or during handling with the clock suspended (补正).
pub fn may_drop_off(case: &Case) -> Result<()> {
    let waiting = match case.status {
        CaseStatus::AwaitingSupplement => true,
        CaseStatus::InProgress => case.open_notice().is_some_and(|n| n.suspension.is_some()),
        _ => false,
    };
    if waiting {
        Ok(())
    } else {
        Err(Error::conflict(
            "no_supplement_expected",
            format!(
                "办件当前状态为“{}”，没有待补正的材料，不能预约投递",
                case.status.label()
            ),
        ))
    }
}

/// What the code check at a door finds (the store supplies the facts, this decides).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoorFacts {
    pub state: CompartmentState,
    pub locked: bool,
    /// The open parcel of the door: its kind, status, whether its code was used, and expiry.
    pub parcel: Option<(ParcelKind, ParcelStatus, bool, NaiveDateTime)>,
}

/// Why a door does not open for a credential that matches its parcel (or whether it does).
pub fn check_door(f: &DoorFacts, now: NaiveDateTime) -> Result<ParcelKind> {
    if f.locked {
        return Err(Error::new(
            crate::error::Kind::TooMany,
            "compartment_locked",
            "该格口因多次输入错误已锁定，请联系大厅工作人员",
        ));
    }
    if f.state == CompartmentState::OutOfOrder {
        return Err(Error::conflict(
            "compartment_out_of_order",
            "该格口故障停用，请联系大厅工作人员",
        ));
    }
    let Some((kind, status, used, expires)) = f.parcel else {
        return Err(wrong_code());
    };
    let open = matches!(
        (kind, status),
        (ParcelKind::Pickup, ParcelStatus::Deposited) | (ParcelKind::DropOff, ParcelStatus::Booked)
    );
    let expired = status == ParcelStatus::Expired || (open && !used && now >= expires);
    if expired {
        return Err(Error::conflict(
            "code_expired",
            "该码已过期。取件请到出件窗口领取；投递请在手机上重新预约",
        ));
    }
    if used || !open {
        return Err(Error::conflict("code_used", "该码已使用，不能再次开门"));
    }
    Ok(kind)
}

pub fn wrong_code() -> Error {
    Error::invalid("wrong_code", "格口号或取件码不正确").field("code", "格口号或取件码不正确")
}

#[cfg(test)]
mod tests;
