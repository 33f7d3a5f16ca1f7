//! What the API returns and the pages show of lockers: one typed view per thing
//! (ARCHITECTURE principle 10). Phone numbers are masked (R-PII); times are Beijing time, in
//! RFC 3339 for machines and in Chinese for people.

use serde::Serialize;
use yichuang_domain::Result;
use yichuang_domain::locker::{CompartmentState, ParcelKind, ParcelStatus, Size};
use yichuang_domain::pii::mask_phone;
use yichuang_store::lockers::{self as store, BankRow, Compartment, Placed};
use yichuang_store::micros;

use crate::clock::hall_time;
use crate::ratings::views::chinese_time;
use crate::state::AppState;

/// A validity's end as people read it: a code valid through 11 December ends at midnight,
/// shown as 2026年12月11日 24:00 rather than as the next day's 00:00.
pub fn until_text(t: chrono::DateTime<chrono::Utc>) -> String {
    let l = crate::cases::time::local(t);
    if l.time() == chrono::NaiveTime::MIN {
        let day = l.date().pred_opt().unwrap_or(l.date());
        format!("{} 24:00", day.format("%Y年%-m月%-d日"))
    } else {
        chinese_time(micros(t))
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CompartmentView {
    pub door: String,
    pub size: Size,
    pub size_label: &'static str,
    pub state: CompartmentState,
    pub state_label: &'static str,
    /// Locked by the wrong-code limit until the manager unlocks it.
    pub locked: bool,
}

impl From<&Compartment> for CompartmentView {
    fn from(c: &Compartment) -> Self {
        CompartmentView {
            door: c.door.clone(),
            size: c.size,
            size_label: c.size.label(),
            state: c.state,
            state_label: c.state.label(),
            locked: c.locked_at.is_some(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ParcelView {
    pub id: i64,
    pub kind: ParcelKind,
    pub kind_label: &'static str,
    pub status: ParcelStatus,
    pub status_label: &'static str,
    pub case_number: String,
    pub locker: String,
    pub door: String,
    pub phone: String,
    pub booked_at: String,
    pub deposited_at: Option<String>,
    pub expires_at: String,
    #[serde(skip)]
    pub deposited_text: String,
    #[serde(skip)]
    pub expires_text: String,
}

impl From<&Placed> for ParcelView {
    fn from(x: &Placed) -> Self {
        let p = &x.parcel;
        ParcelView {
            id: p.id,
            kind: p.kind,
            kind_label: p.kind.label(),
            status: p.status,
            status_label: p.status.label(p.kind),
            case_number: p.case_number.clone(),
            locker: x.bank.clone(),
            door: x.door.clone(),
            phone: mask_phone(&p.phone),
            booked_at: hall_time(p.booked_at),
            deposited_at: p.deposited_at.map(hall_time),
            expires_at: hall_time(p.expires_at),
            deposited_text: p
                .deposited_at
                .map(|t| chinese_time(micros(t)))
                .unwrap_or_default(),
            expires_text: until_text(p.expires_at),
        }
    }
}

impl ParcelView {
    /// A result waiting in its compartment for the applicant to pick up.
    pub fn awaits_pickup(&self) -> bool {
        self.status == ParcelStatus::Deposited && self.kind == ParcelKind::Pickup
    }

    /// An uncollected result waiting to be taken back to the issuance window.
    pub fn to_retrieve(&self) -> bool {
        self.kind == ParcelKind::Pickup && self.status == ParcelStatus::Expired
    }
    /// Dropped-off materials waiting for the front desk.
    pub fn to_collect(&self) -> bool {
        self.kind == ParcelKind::DropOff && self.status == ParcelStatus::Deposited
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct BankView {
    pub code: String,
    pub hall: String,
    pub name: String,
    pub place: String,
    pub compartments: Vec<CompartmentView>,
    /// The hall's parcels of this bank still open (in a compartment or to be taken back).
    pub parcels: Vec<ParcelView>,
}

impl BankView {
    pub async fn load(st: &AppState, bank: BankRow) -> Result<BankView> {
        let cs = store::compartments(&st.db, bank.id).await?;
        let parcels = store::open_parcels(&st.db, &bank.hall)
            .await?
            .iter()
            .filter(|p| p.bank == bank.code)
            .map(ParcelView::from)
            .collect();
        Ok(BankView {
            compartments: cs.iter().map(CompartmentView::from).collect(),
            parcels,
            code: bank.code,
            hall: bank.hall,
            name: bank.name,
            place: bank.place,
        })
    }

    pub fn locked(&self) -> impl Iterator<Item = &CompartmentView> {
        self.compartments.iter().filter(|c| c.locked)
    }
}

/// A deposit or a booking as the clerk or the applicant sees it.
#[derive(Debug, Clone, Serialize)]
pub struct PlacedView {
    pub case_number: String,
    pub locker: String,
    pub locker_name: String,
    pub place: String,
    pub door: String,
    pub expires_at: String,
    pub expires_text: String,
    /// Only the applicant's own booking shows its code (a pick-up code goes by SMS alone).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

impl PlacedView {
    pub fn of(p: &super::Placed, case_number: &str, show_code: bool) -> PlacedView {
        PlacedView {
            case_number: case_number.to_string(),
            locker: p.bank.code.clone(),
            locker_name: p.bank.name.clone(),
            place: p.bank.place.clone(),
            door: p.door.clone(),
            expires_at: hall_time(p.expires_at),
            expires_text: until_text(p.expires_at),
            code: show_code.then(|| p.code.clone()),
        }
    }
}
