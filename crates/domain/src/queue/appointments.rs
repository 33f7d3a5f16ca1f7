//! Appointments (预约): slots, booking, check-in, cancellation, no-shows.
//!
//! All times here are the hall's wall-clock times (`NaiveDate`, `NaiveTime`, `NaiveDateTime`),
//! like the office hours they come from (R-HOURS); the caller converts `now` to the hall's zone.
//!
//! - **Slots** per queue and working day: each office interval of that date is cut into slots of
//!   `slot_minutes`; a remainder too short for a slot is not offered. Every slot takes
//!   `capacity_per_slot` bookings.
//! - **Booking horizon**: the next `horizon_working_days` working days (R-WORKDAY; today too
//!   when `same_day_booking`), from the hall's calendar.
//! - **Per person**: at most `max_open_per_person` booked appointments not yet due, and at most
//!   `max_per_person_per_day` in one queue on one date.
//! - **Cancel and reschedule**: only a booked appointment, only until `change_cutoff_minutes`
//!   before the slot starts; at most `max_reschedules` moves.
//! - **Check-in**: from `check_in_before_minutes` before the slot starts to
//!   `check_in_after_minutes` after. Checking in turns the appointment into a ticket with the
//!   `appointment` priority category (see `policy`); too late, and it is a no-show.
//! - **No-shows**: `no_show_threshold` no-shows within `no_show_period_days` block booking for
//!   `block_days` from the next day. The no-shows that caused a block do not count again.
//!
//! All of these are settings (RULES "practice"); the defaults are in [`AppointmentSettings`].

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use serde::{Deserialize, Serialize};

use super::{Holder, QueueId};
use crate::workdays::WorkingDays;
use crate::{Error, Kind, Problems, Result};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AppointmentSettings {
    pub slot_minutes: u32,
    pub capacity_per_slot: u32,
    pub horizon_working_days: u32,
    pub same_day_booking: bool,
    pub max_open_per_person: u32,
    pub max_per_person_per_day: u32,
    pub change_cutoff_minutes: u32,
    pub max_reschedules: u32,
    pub check_in_before_minutes: u32,
    pub check_in_after_minutes: u32,
    pub no_show_threshold: u32,
    pub no_show_period_days: u32,
    pub block_days: u32,
}

impl Default for AppointmentSettings {
    fn default() -> Self {
        AppointmentSettings {
            slot_minutes: 30,
            capacity_per_slot: 4,
            horizon_working_days: 7,
            same_day_booking: false,
            max_open_per_person: 3,
            max_per_person_per_day: 1,
            change_cutoff_minutes: 0,
            max_reschedules: 2,
            check_in_before_minutes: 30,
            check_in_after_minutes: 15,
            no_show_threshold: 3,
            no_show_period_days: 90,
            block_days: 30,
        }
    }
}

impl AppointmentSettings {
    pub fn validate(&self) -> Result<()> {
        let mut p = Problems::new();
        p.check(
            (5..=240).contains(&self.slot_minutes),
            "slot_minutes",
            "预约时段长度须在5到240分钟之间",
        );
        p.check(
            self.capacity_per_slot >= 1,
            "capacity_per_slot",
            "每个时段至少可约1人",
        );
        p.check(
            (1..=60).contains(&self.horizon_working_days),
            "horizon_working_days",
            "可预约范围须在1到60个工作日之间",
        );
        p.check(
            self.max_open_per_person >= 1,
            "max_open_per_person",
            "每人至少可有1个预约",
        );
        p.check(
            self.max_per_person_per_day >= 1,
            "max_per_person_per_day",
            "每人每天至少可约1次",
        );
        p.check(
            self.check_in_before_minutes <= 240 && self.check_in_after_minutes <= 240,
            "check_in_before_minutes",
            "签到时间窗口不能超过240分钟",
        );
        p.check(
            self.no_show_threshold >= 1,
            "no_show_threshold",
            "爽约次数阈值至少为1",
        );
        p.check(
            self.no_show_period_days >= 1,
            "no_show_period_days",
            "爽约统计周期至少为1天",
        );
        p.finish()
    }
}

/// One bookable stretch of a queue's day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Slot {
    pub date: NaiveDate,
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl Slot {
    pub fn starts_at(&self) -> NaiveDateTime {
        self.date.and_time(self.start)
    }
}

/// The slots of one queue on `date`, cut from that date's office intervals (empty on a day the
/// hall is closed). The intervals must be in order and must not overlap.
pub fn slots_for(
    date: NaiveDate,
    office: &[(NaiveTime, NaiveTime)],
    settings: &AppointmentSettings,
) -> Result<Vec<Slot>> {
    let ordered = office.iter().all(|(a, b)| a < b) && office.windows(2).all(|w| w[0].1 <= w[1].0);
    if !ordered {
        return Err(Error::validation(vec![])
            .field("office_hours", "办公时间段须按时间先后排列，且不能重叠"));
    }
    let len = Duration::minutes(i64::from(settings.slot_minutes.max(1)));
    let mut slots = vec![];
    for &(open, close) in office {
        let mut start = date.and_time(open);
        let close = date.and_time(close);
        while start + len <= close {
            slots.push(Slot {
                date,
                start: start.time(),
                end: (start + len).time(),
            });
            start += len;
        }
    }
    Ok(slots)
}

/// The dates that may be booked on `today`: the next `horizon_working_days` working days, and
/// today as well if it is a working day and same-day booking is on.
pub fn bookable_dates(
    calendar: &impl WorkingDays,
    today: NaiveDate,
    settings: &AppointmentSettings,
) -> Vec<NaiveDate> {
    let same_day = (settings.same_day_booking && calendar.is_working_day(today)).then_some(today);
    same_day
        .into_iter()
        .chain(
            (1..=i64::from(settings.horizon_working_days))
                .map(|n| calendar.add_working_days(today, n)),
        )
        .collect()
}

/// What the caller counted about the person booking.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonBookings {
    /// Booked appointments not yet checked in, cancelled or missed (all queues of the hall).
    pub open: u32,
    /// Booked appointments in the same queue on the slot's date.
    pub same_queue_same_date: u32,
    /// The dates of the person's appointment no-shows (any order).
    pub no_show_dates: Vec<NaiveDate>,
}

/// What the caller knows about the slot asked for. When rescheduling, counts must leave out the
/// appointment being moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Availability<'a> {
    pub booked_in_slot: u32,
    pub person: &'a PersonBookings,
    pub bookable: &'a [NaiveDate],
}

/// Whether `slot` may be booked now (`now` in hall-local time).
pub fn check_booking(
    slot: &Slot,
    avail: &Availability<'_>,
    now: NaiveDateTime,
    s: &AppointmentSettings,
) -> Result<()> {
    if let Some(until) = blocked_until(&avail.person.no_show_dates, now.date(), s) {
        return Err(Error::new(
            Kind::Forbidden,
            "booking_blocked",
            format!(
                "因多次预约未到，{}前暂停预约，可现场取号办理",
                until.format("%Y年%-m月%-d日")
            ),
        ));
    }
    if !avail.bookable.contains(&slot.date) || slot.starts_at() <= now {
        let e = Error::invalid("slot_not_bookable", "该时段不在可预约范围内");
        return Err(e.field(
            "slot",
            format!(
                "只能预约未来{}个工作日内尚未开始的时段",
                s.horizon_working_days
            ),
        ));
    }
    if avail.booked_in_slot >= s.capacity_per_slot {
        return Err(Error::conflict("slot_full", "该时段已约满，请选择其他时段"));
    }
    if avail.person.same_queue_same_date >= s.max_per_person_per_day {
        return Err(Error::new(
            Kind::TooMany,
            "booking_limit_day",
            format!("同一事项每人每天最多预约{}次", s.max_per_person_per_day),
        ));
    }
    if avail.person.open >= s.max_open_per_person {
        return Err(Error::new(
            Kind::TooMany,
            "booking_limit_open",
            format!(
                "您已有{}个未办理的预约，请先办理或取消后再约",
                avail.person.open
            ),
        ));
    }
    Ok(())
}

/// The last day a person is blocked from booking on `today`, if they are.
pub fn blocked_until(
    no_show_dates: &[NaiveDate],
    today: NaiveDate,
    s: &AppointmentSettings,
) -> Option<NaiveDate> {
    let mut dates = no_show_dates.to_vec();
    dates.sort_unstable();
    let period = i64::from(s.no_show_period_days);
    let threshold = usize::try_from(s.no_show_threshold.max(1)).unwrap_or(usize::MAX);
    let mut counted: Vec<NaiveDate> = vec![];
    let mut last_block = None;
    for d in dates {
        counted.retain(|x| (d - *x).num_days() < period);
        counted.push(d);
        if counted.len() >= threshold {
            last_block = Some(d + Duration::days(i64::from(s.block_days)));
            // A block uses up the no-shows that caused it.
            counted.clear();
        }
    }
    last_block.filter(|until| *until >= today && s.block_days > 0)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppointmentStatus {
    Booked,
    CheckedIn,
    Cancelled,
    NoShow,
}

impl AppointmentStatus {
    pub const ALL: [AppointmentStatus; 4] = [
        AppointmentStatus::Booked,
        AppointmentStatus::CheckedIn,
        AppointmentStatus::Cancelled,
        AppointmentStatus::NoShow,
    ];

    /// The status as it is stored and the API names it (`checked_in`).
    pub fn as_str(self) -> &'static str {
        match self {
            AppointmentStatus::Booked => "booked",
            AppointmentStatus::CheckedIn => "checked_in",
            AppointmentStatus::Cancelled => "cancelled",
            AppointmentStatus::NoShow => "no_show",
        }
    }

    pub fn parse(s: &str) -> Option<AppointmentStatus> {
        AppointmentStatus::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// Booked and not yet checked in, cancelled or missed: it may still be used or changed.
    pub fn is_booked(self) -> bool {
        self == AppointmentStatus::Booked
    }

    pub fn label(self) -> &'static str {
        match self {
            AppointmentStatus::Booked => "已预约",
            AppointmentStatus::CheckedIn => "已签到",
            AppointmentStatus::Cancelled => "已取消",
            AppointmentStatus::NoShow => "已爽约",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appointment {
    pub id: i64,
    pub queue: QueueId,
    pub slot: Slot,
    pub status: AppointmentStatus,
    pub reschedules: u32,
    pub holder: Option<Holder>,
}

impl Appointment {
    /// A booking the caller has checked with [`check_booking`].
    pub fn book(id: i64, queue: QueueId, slot: Slot, holder: Option<Holder>) -> Appointment {
        Appointment {
            id,
            queue,
            slot,
            status: AppointmentStatus::Booked,
            reschedules: 0,
            holder,
        }
    }

    pub fn cancel(&self, now: NaiveDateTime, s: &AppointmentSettings) -> Result<Appointment> {
        self.changeable("取消", now, s)?;
        Ok(Appointment {
            status: AppointmentStatus::Cancelled,
            ..self.clone()
        })
    }

    /// Moves the appointment to another slot of the same queue.
    pub fn reschedule(
        &self,
        to: Slot,
        avail: &Availability<'_>,
        now: NaiveDateTime,
        s: &AppointmentSettings,
    ) -> Result<Appointment> {
        self.changeable("改约", now, s)?;
        if self.reschedules >= s.max_reschedules {
            return Err(Error::conflict(
                "reschedule_limit",
                format!("每个预约最多改约{}次", s.max_reschedules),
            ));
        }
        if to == self.slot {
            return Err(
                Error::invalid("same_slot", "新时段与原时段相同").field("slot", "请选择另一个时段")
            );
        }
        check_booking(&to, avail, now, s)?;
        Ok(Appointment {
            slot: to,
            reschedules: self.reschedules + 1,
            ..self.clone()
        })
    }

    /// The first and last instant check-in is open.
    pub fn check_in_window(&self, s: &AppointmentSettings) -> (NaiveDateTime, NaiveDateTime) {
        let start = self.slot.starts_at();
        (
            start - Duration::minutes(i64::from(s.check_in_before_minutes)),
            start + Duration::minutes(i64::from(s.check_in_after_minutes)),
        )
    }

    /// Checks in; the caller then issues a ticket with the appointment category.
    pub fn check_in(&self, now: NaiveDateTime, s: &AppointmentSettings) -> Result<Appointment> {
        self.expect_booked("签到")?;
        let (open, close) = self.check_in_window(s);
        if now < open {
            return Err(Error::conflict(
                "check_in_too_early",
                format!(
                    "签到时间未到，请于{}后签到",
                    open.format("%-m月%-d日 %H:%M")
                ),
            ));
        }
        if now > close {
            return Err(Error::conflict(
                "check_in_too_late",
                format!(
                    "已超过签到时间（{}），本次预约按未到处理，请现场取号",
                    close.format("%H:%M")
                ),
            ));
        }
        Ok(Appointment {
            status: AppointmentStatus::CheckedIn,
            ..self.clone()
        })
    }

    /// Booked and the check-in window is over: the visitor did not come.
    pub fn is_missed(&self, now: NaiveDateTime, s: &AppointmentSettings) -> bool {
        self.status == AppointmentStatus::Booked && now > self.check_in_window(s).1
    }

    pub fn mark_no_show(&self, now: NaiveDateTime, s: &AppointmentSettings) -> Result<Appointment> {
        self.expect_booked("记为爽约")?;
        if !self.is_missed(now, s) {
            return Err(Error::conflict(
                "check_in_still_open",
                "签到时间尚未结束，不能记为爽约",
            ));
        }
        Ok(Appointment {
            status: AppointmentStatus::NoShow,
            ..self.clone()
        })
    }

    fn expect_booked(&self, action: &str) -> Result<()> {
        if self.status == AppointmentStatus::Booked {
            Ok(())
        } else {
            Err(Error::conflict(
                "invalid_appointment_transition",
                format!("该预约{}，不能{}", self.status.label(), action),
            ))
        }
    }

    fn changeable(&self, action: &str, now: NaiveDateTime, s: &AppointmentSettings) -> Result<()> {
        self.expect_booked(action)?;
        let cutoff = self.slot.starts_at() - Duration::minutes(i64::from(s.change_cutoff_minutes));
        if now >= cutoff {
            return Err(Error::conflict(
                "change_too_late",
                format!(
                    "预约时段开始前{}分钟起不能再{}",
                    s.change_cutoff_minutes, action
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).unwrap()
    }

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    fn at(m: u32, day: u32, h: u32, min: u32) -> NaiveDateTime {
        d(m, day).and_time(t(h, min))
    }

    /// Weekdays only: enough to test the rules here.
    struct Weekdays;
    impl WorkingDays for Weekdays {
        fn is_working_day(&self, d: NaiveDate) -> bool {
            use chrono::Datelike;
            d.weekday().num_days_from_monday() < 5
        }
        fn add_working_days(&self, from: NaiveDate, n: i64) -> NaiveDate {
            let mut d = from;
            for _ in 0..n {
                d = d.succ_opt().unwrap();
                while !self.is_working_day(d) {
                    d = d.succ_opt().unwrap();
                }
            }
            d
        }
        fn working_days_between(&self, _: NaiveDate, _: NaiveDate) -> i64 {
            unreachable!("not used by appointments")
        }
    }

    fn office() -> Vec<(NaiveTime, NaiveTime)> {
        vec![(t(9, 0), t(12, 0)), (t(13, 30), t(17, 30))]
    }

    fn slot(h: u32, m: u32) -> Slot {
        Slot {
            date: d(3, 4),
            start: t(h, m),
            end: t(h, m) + Duration::minutes(30),
        }
    }

    fn free() -> PersonBookings {
        PersonBookings::default()
    }

    fn avail<'a>(person: &'a PersonBookings, bookable: &'a [NaiveDate]) -> Availability<'a> {
        Availability {
            booked_in_slot: 0,
            person,
            bookable,
        }
    }

    #[test]
    fn slots_are_cut_from_each_office_interval_r_hours() {
        let s = AppointmentSettings::default();
        let slots = slots_for(d(3, 4), &office(), &s).unwrap();
        assert_eq!(slots.len(), 6 + 8);
        assert_eq!((slots[0].start, slots[0].end), (t(9, 0), t(9, 30)));
        assert_eq!(slots[5].end, t(12, 0));
        assert_eq!(slots[6].start, t(13, 30));
        assert_eq!(slots.last().unwrap().end, t(17, 30));
    }

    #[test]
    fn a_remainder_too_short_for_a_slot_is_not_offered() {
        let s = AppointmentSettings {
            slot_minutes: 40,
            ..AppointmentSettings::default()
        };
        let slots = slots_for(d(3, 4), &[(t(9, 0), t(11, 0))], &s).unwrap();
        let starts: Vec<_> = slots.iter().map(|s| s.start).collect();
        assert_eq!(starts, [t(9, 0), t(9, 40), t(10, 20)]);
        let slots = slots_for(d(3, 4), &[(t(9, 0), t(10, 30))], &s).unwrap();
        assert_eq!(slots.len(), 2);
    }

    #[test]
    fn a_closed_day_has_no_slots_and_overlapping_hours_are_refused() {
        let s = AppointmentSettings::default();
        assert!(slots_for(d(3, 7), &[], &s).unwrap().is_empty());
        let bad = [(t(9, 0), t(12, 0)), (t(11, 0), t(14, 0))];
        let e = slots_for(d(3, 4), &bad, &s).unwrap_err();
        assert_eq!(e.fields[0].field, "office_hours");
        assert!(slots_for(d(3, 4), &[(t(12, 0), t(9, 0))], &s).is_err());
    }

    #[test]
    fn the_horizon_is_the_next_working_days_r_workday() {
        let s = AppointmentSettings::default();
        // Friday 6 March 2026: the next seven working days run to Tuesday 17 March.
        let dates = bookable_dates(&Weekdays, d(3, 6), &s);
        assert_eq!(
            dates,
            [
                d(3, 9),
                d(3, 10),
                d(3, 11),
                d(3, 12),
                d(3, 13),
                d(3, 16),
                d(3, 17)
            ]
        );
        let same_day = AppointmentSettings {
            same_day_booking: true,
            ..s.clone()
        };
        assert_eq!(bookable_dates(&Weekdays, d(3, 6), &same_day)[0], d(3, 6));
        // A Saturday is not bookable even with same-day booking.
        assert_eq!(bookable_dates(&Weekdays, d(3, 7), &same_day)[0], d(3, 9));
    }

    #[test]
    fn a_slot_within_the_horizon_with_room_can_be_booked() {
        let s = AppointmentSettings::default();
        let person = free();
        check_booking(
            &slot(9, 0),
            &avail(&person, &[d(3, 4)]),
            at(3, 3, 16, 0),
            &s,
        )
        .unwrap();
    }

    #[test]
    fn a_slot_outside_the_horizon_or_already_begun_cannot_be_booked() {
        let s = AppointmentSettings {
            same_day_booking: true,
            ..AppointmentSettings::default()
        };
        let person = free();
        let e = check_booking(
            &slot(9, 0),
            &avail(&person, &[d(3, 5)]),
            at(3, 3, 16, 0),
            &s,
        )
        .unwrap_err();
        assert_eq!(e.code, "slot_not_bookable");
        let e = check_booking(&slot(9, 0), &avail(&person, &[d(3, 4)]), at(3, 4, 9, 0), &s)
            .unwrap_err();
        assert_eq!(e.code, "slot_not_bookable");
    }

    #[test]
    fn a_full_slot_cannot_be_booked() {
        let s = AppointmentSettings::default();
        let person = free();
        let dates = [d(3, 4)];
        let a = Availability {
            booked_in_slot: 4,
            ..avail(&person, &dates)
        };
        let e = check_booking(&slot(9, 0), &a, at(3, 3, 16, 0), &s).unwrap_err();
        assert_eq!((e.kind, e.code.as_ref()), (Kind::Conflict, "slot_full"));
    }

    #[test]
    fn a_person_may_hold_only_so_many_appointments() {
        let s = AppointmentSettings::default();
        let same_day = PersonBookings {
            same_queue_same_date: 1,
            ..free()
        };
        let e = check_booking(
            &slot(9, 0),
            &avail(&same_day, &[d(3, 4)]),
            at(3, 3, 16, 0),
            &s,
        )
        .unwrap_err();
        assert_eq!(e.code, "booking_limit_day");
        let many = PersonBookings { open: 3, ..free() };
        let e =
            check_booking(&slot(9, 0), &avail(&many, &[d(3, 4)]), at(3, 3, 16, 0), &s).unwrap_err();
        assert_eq!(e.code, "booking_limit_open");
        assert_eq!(e.title, "您已有3个未办理的预约，请先办理或取消后再约");
    }

    #[test]
    fn three_no_shows_in_ninety_days_block_booking_for_thirty_days() {
        let s = AppointmentSettings::default();
        let missed = [d(1, 5), d(2, 10), d(3, 2)];
        assert_eq!(blocked_until(&missed, d(3, 3), &s), Some(d(4, 1)));
        assert_eq!(blocked_until(&missed, d(4, 1), &s), Some(d(4, 1)));
        assert_eq!(blocked_until(&missed, d(4, 2), &s), None);
        let person = PersonBookings {
            no_show_dates: missed.to_vec(),
            ..free()
        };
        let e = check_booking(
            &slot(9, 0),
            &avail(&person, &[d(3, 4)]),
            at(3, 3, 16, 0),
            &s,
        )
        .unwrap_err();
        assert_eq!(
            (e.kind, e.code.as_ref()),
            (Kind::Forbidden, "booking_blocked")
        );
        assert_eq!(
            e.title,
            "因多次预约未到，2026年4月1日前暂停预约，可现场取号办理"
        );
    }

    #[test]
    fn no_shows_spread_over_more_than_the_period_do_not_block() {
        let s = AppointmentSettings::default();
        let missed = [d(1, 5), d(2, 10), d(4, 6)];
        assert_eq!(blocked_until(&missed, d(4, 7), &s), None);
    }

    #[test]
    fn no_shows_that_caused_a_block_do_not_cause_another() {
        let s = AppointmentSettings::default();
        let mut missed = vec![d(1, 5), d(1, 6), d(1, 7)];
        // Blocked until 6 February; after that, one more no-show is not a fourth strike.
        missed.push(d(2, 20));
        assert_eq!(blocked_until(&missed, d(2, 21), &s), None);
        missed.extend([d(3, 2), d(3, 3)]);
        assert_eq!(blocked_until(&missed, d(3, 4), &s), Some(d(4, 2)));
    }

    #[test]
    fn a_booked_appointment_can_be_cancelled_until_the_slot_starts() {
        let s = AppointmentSettings::default();
        let a = Appointment::book(1, 10, slot(9, 0), None);
        let c = a.cancel(at(3, 4, 8, 59), &s).unwrap();
        assert_eq!(c.status, AppointmentStatus::Cancelled);
        assert_eq!(
            a.cancel(at(3, 4, 9, 0), &s).unwrap_err().code,
            "change_too_late"
        );
        let e = c.cancel(at(3, 4, 8, 0), &s).unwrap_err();
        assert_eq!(e.title, "该预约已取消，不能取消");
    }

    #[test]
    fn a_cutoff_setting_stops_changes_that_long_before_the_slot() {
        let s = AppointmentSettings {
            change_cutoff_minutes: 120,
            ..AppointmentSettings::default()
        };
        let a = Appointment::book(1, 10, slot(9, 0), None);
        assert!(a.cancel(at(3, 4, 6, 59), &s).is_ok());
        let e = a.cancel(at(3, 4, 7, 0), &s).unwrap_err();
        assert_eq!(e.title, "预约时段开始前120分钟起不能再取消");
    }

    #[test]
    fn rescheduling_moves_the_slot_a_limited_number_of_times() {
        let s = AppointmentSettings::default();
        let person = free();
        let dates = [d(3, 4)];
        let ok = avail(&person, &dates);
        let now = at(3, 3, 10, 0);
        let a = Appointment::book(1, 10, slot(9, 0), None);
        let a = a.reschedule(slot(10, 0), &ok, now, &s).unwrap();
        assert_eq!((a.slot, a.reschedules), (slot(10, 0), 1));
        let a = a.reschedule(slot(14, 0), &ok, now, &s).unwrap();
        let e = a.reschedule(slot(15, 0), &ok, now, &s).unwrap_err();
        assert_eq!(e.code, "reschedule_limit");
        let full = Availability {
            booked_in_slot: 4,
            ..ok
        };
        let b = Appointment::book(2, 10, slot(9, 0), None);
        assert_eq!(
            b.reschedule(slot(9, 30), &full, now, &s).unwrap_err().code,
            "slot_full"
        );
        assert_eq!(
            b.reschedule(slot(9, 0), &ok, now, &s).unwrap_err().code,
            "same_slot"
        );
    }

    #[test]
    fn check_in_opens_thirty_minutes_before_and_closes_fifteen_after_the_slot_start() {
        let s = AppointmentSettings::default();
        let a = Appointment::book(1, 10, slot(9, 0), None);
        let e = a.check_in(at(3, 4, 8, 29), &s).unwrap_err();
        assert_eq!(e.code, "check_in_too_early");
        assert_eq!(e.title, "签到时间未到，请于3月4日 08:30后签到");
        assert_eq!(
            a.check_in(at(3, 4, 8, 30), &s).unwrap().status,
            AppointmentStatus::CheckedIn
        );
        assert!(a.check_in(at(3, 4, 9, 15), &s).is_ok());
        let e = a.check_in(at(3, 4, 9, 16), &s).unwrap_err();
        assert_eq!(e.code, "check_in_too_late");
    }

    #[test]
    fn an_appointment_not_checked_in_by_the_end_of_the_window_is_a_no_show() {
        let s = AppointmentSettings::default();
        let a = Appointment::book(1, 10, slot(9, 0), None);
        assert!(!a.is_missed(at(3, 4, 9, 15), &s));
        assert_eq!(
            a.mark_no_show(at(3, 4, 9, 15), &s).unwrap_err().code,
            "check_in_still_open"
        );
        assert!(a.is_missed(at(3, 4, 9, 16), &s));
        let n = a.mark_no_show(at(3, 4, 9, 16), &s).unwrap();
        assert_eq!(n.status, AppointmentStatus::NoShow);
        let checked_in = a.check_in(at(3, 4, 9, 0), &s).unwrap();
        assert!(!checked_in.is_missed(at(3, 4, 12, 0), &s));
    }

    #[test]
    fn the_default_settings_are_valid_and_nonsense_is_refused_all_at_once() {
        AppointmentSettings::default().validate().unwrap();
        let bad = AppointmentSettings {
            slot_minutes: 0,
            capacity_per_slot: 0,
            horizon_working_days: 0,
            ..AppointmentSettings::default()
        };
        let e = bad.validate().unwrap_err();
        let fields: Vec<_> = e.fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            fields,
            ["slot_minutes", "capacity_per_slot", "horizon_working_days"]
        );
    }
}

#[cfg(test)]
mod status_names {
    use super::AppointmentStatus;

    #[test]
    fn an_appointment_status_is_stored_under_the_name_serde_gives_it() {
        for s in AppointmentStatus::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
            assert_eq!(AppointmentStatus::parse(s.as_str()), Some(s));
        }
        assert!(AppointmentStatus::Booked.is_booked());
        assert!(!AppointmentStatus::NoShow.is_booked());
        assert_eq!(AppointmentStatus::parse("late"), None);
    }
}
