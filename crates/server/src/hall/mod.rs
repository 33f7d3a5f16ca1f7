//! The hall (issue 3): set-up of halls, queues and windows; staff signing in to windows; tickets
//! from the kiosk, the phone, appointment check-in and the guide desk; calling and serving; the
//! live feed for display boards; statistics; the pages of all of it.
//!
//! The rules are `yichuang_domain::queue`'s; this area loads rows, applies them, stores the
//! result with its event in one transaction, and wakes the live feed.

pub mod appointments;
pub mod board;
pub mod day_end;
pub mod demo;
pub mod feed;
pub mod manage;
pub mod pages;
pub mod phone;
pub mod setup;
pub mod stats;
pub mod tickets;

use axum::Router;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use yichuang_domain::queue::appointments::AppointmentSettings;
use yichuang_domain::queue::estimate::EstimateSettings;
use yichuang_domain::queue::limits::LimitSettings;
use yichuang_domain::queue::{PolicySettings, TicketSettings};
use yichuang_domain::{Actor, Error, Problems, Result, Role};
use yichuang_store::events::NewEvent;
use yichuang_store::hall::{HallRow, WindowRow};
use yichuang_store::{Tx, events};

use crate::clock::hall_zone;
use crate::state::AppState;

pub use demo::load_demo_halls;

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(setup::routes())
        .merge(tickets::routes())
        .merge(appointments::routes())
        .merge(feed::routes())
        .merge(stats::routes())
        .merge(board::routes())
}

pub fn page_routes() -> Router<AppState> {
    pages::routes()
        .merge(board::page_routes())
        .merge(phone::routes())
        .merge(manage::routes())
}

/// A hall's settings (RULES "practice": each a setting with a default), stored as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HallSettings {
    pub policy: PolicySettings,
    pub limits: LimitSettings,
    pub tickets: TicketSettings,
    pub estimate: EstimateSettings,
    pub appointments: AppointmentSettings,
    /// When open tickets are closed for the day, hall-local.
    pub day_end: NaiveTime,
    /// The reason a ticket closed at day end shows.
    pub day_end_reason: String,
    /// Seconds of no touch after which the kiosk clears a slip and what was typed, and
    /// returns to its start (practice: the next visitor must not see the last one's slip).
    pub kiosk_reset_seconds: u32,
    /// The hall's telephone, printed on every paper it hands out (slip, receipt, notice).
    pub phone: String,
    /// The hall's address, printed likewise.
    pub address: String,
}

impl Default for HallSettings {
    fn default() -> Self {
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap_or_default();
        HallSettings {
            policy: PolicySettings::default(),
            limits: LimitSettings::default(),
            tickets: TicketSettings::default(),
            estimate: EstimateSettings::default(),
            appointments: AppointmentSettings::default(),
            day_end: t(18, 0),
            day_end_reason: "今日办公时间已结束，未办理的号票已关闭，请下个工作日再来".to_string(),
            kiosk_reset_seconds: 30,
            phone: String::new(),
            address: String::new(),
        }
    }
}

impl HallSettings {
    pub fn of(hall: &HallRow) -> Result<HallSettings> {
        serde_json::from_str(&hall.settings)
            .map_err(|e| Error::internal(format!("hall {} settings: {e}", hall.code)))
    }

    /// Every problem at once, with the field of the part it is in.
    pub fn validate(&self) -> Result<()> {
        let mut p = Problems::new();
        for (part, r) in [
            ("policy", self.policy.validate()),
            ("limits", self.limits.validate()),
            ("tickets", self.tickets.validate()),
            ("estimate", self.estimate.validate()),
            ("appointments", self.appointments.validate()),
        ] {
            if let Err(e) = r {
                for f in e.fields {
                    p.add(format!("{part}.{}", f.field), f.message);
                }
            }
        }
        p.check(
            !self.day_end_reason.trim().is_empty(),
            "day_end_reason",
            "请填写日终关闭号票的原因",
        );
        p.check(
            (5..=600).contains(&self.kiosk_reset_seconds),
            "kiosk_reset_seconds",
            "自助机无人操作后复位的时间须在 5 到 600 秒之间",
        );
        p.finish()
    }
}

/// The hall-local date a ticket taken at `now` belongs to: numbers restart each such day.
pub fn service_date(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&hall_zone()).date_naive()
}

/// A hall-local wall-clock time on a date, as an instant.
pub fn hall_instant(date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    date.and_time(time)
        .and_local_timezone(hall_zone())
        .single()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

/// A one-way digest of an ID or phone number (or an address) within a hall: enough to count
/// a person's tickets for the limits, useless to read the number back (R-PII).
pub fn person_hash(hall: &str, kind: &str, value: &str) -> String {
    let mut h = Sha256::new();
    h.update(format!("yichuang-hall:{hall}:{kind}:{value}").as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Set-up of a hall: admins anywhere, a hall manager only its own hall.
pub fn require_hall_manager(actor: &Actor, hall: &str) -> Result<()> {
    actor.require_role(&[Role::Admin, Role::HallManager], "设置大厅")?;
    actor.require_hall(hall, "设置")
}

/// Whether the actor may operate a window: an admin or the hall's manager any window of the
/// hall, front-line staff only the window they are signed in to.
pub fn require_window_operator(actor: &Actor, w: &WindowRow) -> Result<()> {
    match actor.role {
        Role::Admin => Ok(()),
        Role::HallManager => actor.require_hall(&w.hall_code, "操作窗口"),
        Role::Clerk | Role::Issuance | Role::Agent => {
            if w.staff_id == Some(actor.id) && w.status != "closed" {
                Ok(())
            } else {
                Err(Error::forbidden(format!(
                    "您未登录到窗口 {}，请先在该窗口签到",
                    w.code
                )))
            }
        }
        _ => Err(Error::forbidden(format!(
            "当前账号（{}）无权操作窗口",
            actor.role.label()
        ))),
    }
}

/// Appends an event of a hall (the live feed reads these).
pub async fn record(
    tx: &mut Tx,
    now: DateTime<Utc>,
    hall: &str,
    actor: &str,
    kind: &str,
    subject: (&str, i64),
    payload: serde_json::Value,
) -> Result<()> {
    events::write_in_hall(
        tx,
        now,
        hall,
        NewEvent {
            actor,
            kind,
            subject_type: subject.0,
            subject_id: &subject.1.to_string(),
            payload,
        },
    )
    .await
}

/// The event-log name of an actor, or of an anonymous device.
pub fn actor_name(actor: Option<&Actor>) -> String {
    actor.map_or_else(|| "public".to_string(), Actor::event_name)
}
