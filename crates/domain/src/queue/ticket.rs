//! The ticket state machine and the intervals it records.
//!
//! ```text
//!            call              start              finish
//! waiting ─────────▶ called ─────────▶ serving ─────────▶ finished
//!    ▲                │  ▲ recall        │
//!    │                │  └──┘            │
//!    │                ├─ no_show (after N recalls, N a setting)
//!    │   requeue      │                  │
//!    ├────────────────┴──────────────────┤   (back of the line: waits from now)
//!    │   resume          park            │
//!    └──────── parked ◀──────────────────┘   (keeps its place: waits from its first wait)
//!
//! any open state ── transfer(queue) ──▶ waiting in the other queue, original waiting time kept
//! any open state ── close_at_day_end(reason) ──▶ closed_at_day_end
//! ```
//!
//! Each transition returns a [`Transition`]: the ticket's new state, the [`Interval`] it closed
//! (waiting, called, serving or parked, with window and staff) and the one it opened. Stored
//! one row per interval, these are the basis of every waiting and service-time statistic; a
//! transition that closes nothing (a recall) returns neither.
//!
//! A transferred ticket keeps its id and number (the visitor holds one slip, and a phone keeps
//! following the same ticket): it waits in its new queue with status `waiting`, so "transferred"
//! is a transition recorded in `transfers` and in the intervals' queues, not a resting state.
//!
//! Two timestamps matter for the line: `waiting_since` orders the wait (see `policy`), `since` is
//! the start of the current interval. Transfer and resume keep `waiting_since`: the visitor was
//! sent on or asked to step aside by staff and must not lose their place. Requeue (the visitor
//! was not ready) restarts it: back of the line.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Categories, Channel, Holder, QueueId, StaffId, TicketId, TicketNumber, WindowId};
use crate::{Error, Problems, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    Waiting,
    Called,
    Serving,
    Parked,
    Finished,
    NoShow,
    ClosedAtDayEnd,
}

impl TicketStatus {
    pub const ALL: [TicketStatus; 7] = [
        TicketStatus::Waiting,
        TicketStatus::Called,
        TicketStatus::Serving,
        TicketStatus::Parked,
        TicketStatus::Finished,
        TicketStatus::NoShow,
        TicketStatus::ClosedAtDayEnd,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TicketStatus::Waiting => "waiting",
            TicketStatus::Called => "called",
            TicketStatus::Serving => "serving",
            TicketStatus::Parked => "parked",
            TicketStatus::Finished => "finished",
            TicketStatus::NoShow => "no_show",
            TicketStatus::ClosedAtDayEnd => "closed_at_day_end",
        }
    }

    pub fn parse(s: &str) -> Option<TicketStatus> {
        TicketStatus::ALL.into_iter().find(|t| t.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            TicketStatus::Waiting => "排队中",
            TicketStatus::Called => "已叫号",
            TicketStatus::Serving => "办理中",
            TicketStatus::Parked => "已挂起",
            TicketStatus::Finished => "已办结",
            TicketStatus::NoShow => "已过号",
            TicketStatus::ClosedAtDayEnd => "已日终关闭",
        }
    }

    /// Finished, no-show and closed tickets never change again.
    pub fn is_open(self) -> bool {
        !matches!(
            self,
            TicketStatus::Finished | TicketStatus::NoShow | TicketStatus::ClosedAtDayEnd
        )
    }

    /// The interval a ticket in this state is in; none once it is over.
    pub fn interval_kind(self) -> Option<IntervalKind> {
        match self {
            TicketStatus::Waiting => Some(IntervalKind::Waiting),
            TicketStatus::Called => Some(IntervalKind::Called),
            TicketStatus::Serving => Some(IntervalKind::Serving),
            TicketStatus::Parked => Some(IntervalKind::Parked),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntervalKind {
    Waiting,
    Called,
    Serving,
    Parked,
}

impl IntervalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IntervalKind::Waiting => "waiting",
            IntervalKind::Called => "called",
            IntervalKind::Serving => "serving",
            IntervalKind::Parked => "parked",
        }
    }
}

/// One stretch of a ticket's life in one state and one queue (at one window, for staff states).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interval {
    pub ticket: TicketId,
    pub queue: QueueId,
    pub kind: IntervalKind,
    pub start: DateTime<Utc>,
    /// `None` while the interval is still open.
    pub end: Option<DateTime<Utc>>,
    pub window: Option<WindowId>,
    pub staff: Option<StaffId>,
}

impl Interval {
    /// Length in seconds, for closed intervals.
    pub fn seconds(&self) -> Option<f64> {
        self.end
            .map(|e| (e - self.start).num_microseconds().unwrap_or(i64::MAX) as f64 / 1e6)
    }
}

/// Queue settings the state machine needs (a hall setting, RULES "practice").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TicketSettings {
    /// How many recalls must go unanswered before a called ticket may be marked a no-show.
    /// Default 2: called three times in all ("叫号三次未到按过号处理").
    pub recalls_before_no_show: u32,
}

impl Default for TicketSettings {
    fn default() -> Self {
        TicketSettings {
            recalls_before_no_show: 2,
        }
    }
}

impl TicketSettings {
    pub fn validate(&self) -> Result<()> {
        let mut p = Problems::new();
        p.check(
            self.recalls_before_no_show <= 10,
            "recalls_before_no_show",
            "过号前重呼次数不能超过10次",
        );
        p.finish()
    }
}

/// What the caller knows when a ticket is taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTicket {
    pub id: TicketId,
    pub queue: QueueId,
    pub number: TicketNumber,
    pub channel: Channel,
    /// The priority categories the policy found for this visitor (`PolicySettings::classify`).
    pub categories: Categories,
    pub holder: Option<Holder>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    pub id: TicketId,
    pub queue: QueueId,
    pub number: TicketNumber,
    pub channel: Channel,
    pub categories: Categories,
    pub holder: Option<Holder>,
    pub status: TicketStatus,
    pub issued_at: DateTime<Utc>,
    /// Where the ticket stands in the line: see the module comment.
    pub waiting_since: DateTime<Utc>,
    /// Start of the current interval.
    pub since: DateTime<Utc>,
    /// The window (and staff) holding the ticket while called, serving or parked.
    pub window: Option<WindowId>,
    pub staff: Option<StaffId>,
    /// Recalls in the current call (a requeued ticket called again starts from zero).
    pub recalls: u32,
    pub transfers: u32,
    /// Why it was closed at day end.
    pub close_reason: Option<String>,
}

/// The result of a transition: the new ticket and the intervals to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub ticket: Ticket,
    /// The interval this transition ended (with `end` set).
    pub closed: Option<Interval>,
    /// The interval this transition began (with `end` unset).
    pub opened: Option<Interval>,
}

/// The things staff do to a ticket; named in refusals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Call,
    Recall,
    Start,
    Finish,
    NoShow,
    Requeue,
    Park,
    Resume,
    Transfer,
    CloseAtDayEnd,
}

impl Action {
    fn label(self) -> &'static str {
        match self {
            Action::Call => "再次叫号",
            Action::Recall => "重呼",
            Action::Start => "开始办理",
            Action::Finish => "办结",
            Action::NoShow => "标记过号",
            Action::Requeue => "退回队列",
            Action::Park => "挂起",
            Action::Resume => "恢复排队",
            Action::Transfer => "转队",
            Action::CloseAtDayEnd => "日终关闭",
        }
    }

    /// The states the action may start from.
    fn allowed_from(self) -> &'static [TicketStatus] {
        use TicketStatus::*;
        match self {
            Action::Call => &[Waiting],
            Action::Recall | Action::NoShow => &[Called],
            Action::Start => &[Called],
            Action::Finish => &[Serving],
            Action::Requeue | Action::Park => &[Called, Serving],
            Action::Resume => &[Parked],
            Action::Transfer | Action::CloseAtDayEnd => &[Waiting, Called, Serving, Parked],
        }
    }
}

impl Ticket {
    /// A new ticket starts waiting now.
    pub fn issue(new: NewTicket, now: DateTime<Utc>) -> Transition {
        let ticket = Ticket {
            id: new.id,
            queue: new.queue,
            number: new.number,
            channel: new.channel,
            categories: new.categories,
            holder: new.holder,
            status: TicketStatus::Waiting,
            issued_at: now,
            waiting_since: now,
            since: now,
            window: None,
            staff: None,
            recalls: 0,
            transfers: 0,
            close_reason: None,
        };
        let opened = ticket.open_interval();
        Transition {
            ticket,
            closed: None,
            opened,
        }
    }

    /// The interval the ticket is in now, still open.
    pub fn open_interval(&self) -> Option<Interval> {
        Some(Interval {
            ticket: self.id,
            queue: self.queue,
            kind: self.status.interval_kind()?,
            start: self.since,
            end: None,
            window: self.window,
            staff: self.staff,
        })
    }

    /// A window calls the ticket (the choice of ticket is `policy::next_ticket`'s).
    pub fn call(
        &self,
        now: DateTime<Utc>,
        window: WindowId,
        staff: Option<StaffId>,
    ) -> Result<Transition> {
        self.step(Action::Call, now, |t| {
            t.status = TicketStatus::Called;
            t.window = Some(window);
            t.staff = staff;
            t.recalls = 0;
        })
    }

    /// Calls the ticket again; the called interval goes on, so it closes and opens nothing.
    pub fn recall(&self) -> Result<Transition> {
        self.allowed(Action::Recall)?;
        let mut ticket = self.clone();
        ticket.recalls += 1;
        Ok(Transition {
            ticket,
            closed: None,
            opened: None,
        })
    }

    /// The visitor has come to the window.
    pub fn start(&self, now: DateTime<Utc>) -> Result<Transition> {
        self.step(Action::Start, now, |t| t.status = TicketStatus::Serving)
    }

    pub fn finish(&self, now: DateTime<Utc>) -> Result<Transition> {
        self.step(Action::Finish, now, |t| t.status = TicketStatus::Finished)
    }

    /// The visitor did not come although called `recalls_before_no_show` more times.
    pub fn no_show(&self, now: DateTime<Utc>, settings: &TicketSettings) -> Result<Transition> {
        self.allowed(Action::NoShow)?;
        let needed = settings.recalls_before_no_show;
        if self.recalls < needed {
            return Err(Error::conflict(
                "no_show_too_early",
                format!(
                    "已呼叫{}次，还需重呼{}次仍未到才能标记过号",
                    self.recalls + 1,
                    needed - self.recalls
                ),
            ));
        }
        self.step(Action::NoShow, now, |t| t.status = TicketStatus::NoShow)
    }

    /// Back into the line, at its end (the visitor was not ready).
    pub fn requeue(&self, now: DateTime<Utc>) -> Result<Transition> {
        self.step(Action::Requeue, now, |t| {
            t.back_in_line();
            t.waiting_since = now;
        })
    }

    /// Set aside at the window (the visitor fills in a form, fetches a copy…).
    pub fn park(&self, now: DateTime<Utc>) -> Result<Transition> {
        self.step(Action::Park, now, |t| t.status = TicketStatus::Parked)
    }

    /// Back into the line at its old place.
    pub fn resume(&self, now: DateTime<Utc>) -> Result<Transition> {
        self.step(Action::Resume, now, Ticket::back_in_line)
    }

    /// Into another queue's line, keeping the original waiting time.
    pub fn transfer(&self, now: DateTime<Utc>, queue: QueueId) -> Result<Transition> {
        self.allowed(Action::Transfer)?;
        if queue == self.queue {
            return Err(Error::invalid("same_queue", "该号已在此队列中，无需转队")
                .field("queue", "请选择另一个队列"));
        }
        self.step(Action::Transfer, now, |t| {
            t.back_in_line();
            t.queue = queue;
            t.transfers += 1;
        })
    }

    /// End of the day: an open ticket is closed with a reason the visitor can be told.
    pub fn close_at_day_end(&self, now: DateTime<Utc>, reason: &str) -> Result<Transition> {
        self.allowed(Action::CloseAtDayEnd)?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(Error::validation(vec![]).field("reason", "请填写关闭原因"));
        }
        self.step(Action::CloseAtDayEnd, now, |t| {
            t.status = TicketStatus::ClosedAtDayEnd;
            t.close_reason = Some(reason.to_string());
        })
    }

    /// Waiting again, no longer held by any window.
    fn back_in_line(&mut self) {
        self.status = TicketStatus::Waiting;
        self.window = None;
        self.staff = None;
    }

    fn allowed(&self, action: Action) -> Result<()> {
        if action.allowed_from().contains(&self.status) {
            Ok(())
        } else {
            Err(Error::conflict(
                "invalid_ticket_transition",
                format!("该号{}，不能{}", self.status.label(), action.label()),
            ))
        }
    }

    fn step(
        &self,
        action: Action,
        now: DateTime<Utc>,
        change: impl FnOnce(&mut Ticket),
    ) -> Result<Transition> {
        self.allowed(action)?;
        // Server instances' clocks may differ by a little: an interval never ends before it began.
        let now = now.max(self.since);
        let closed = self.open_interval().map(|i| Interval {
            end: Some(now),
            ..i
        });
        let mut ticket = self.clone();
        change(&mut ticket);
        ticket.since = now;
        let opened = ticket.open_interval();
        Ok(Transition {
            ticket,
            closed,
            opened,
        })
    }
}

/// Closes every open ticket at day end with the same reason; closed ones are left alone.
pub fn close_open_tickets(
    tickets: &[Ticket],
    now: DateTime<Utc>,
    reason: &str,
) -> Result<Vec<Transition>> {
    tickets
        .iter()
        .filter(|t| t.status.is_open())
        .map(|t| t.close_at_day_end(now, reason))
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap()
    }

    fn min(m: i64) -> DateTime<Utc> {
        t0() + Duration::minutes(m)
    }

    fn issued() -> Ticket {
        Ticket::issue(
            NewTicket {
                id: 1,
                queue: 10,
                number: TicketNumber::new("A", 1).unwrap(),
                channel: Channel::Kiosk,
                categories: Categories::NONE,
                holder: None,
            },
            t0(),
        )
        .ticket
    }

    fn called() -> Ticket {
        issued().call(min(5), 7, Some(70)).unwrap().ticket
    }

    fn serving() -> Ticket {
        called().start(min(6)).unwrap().ticket
    }

    #[test]
    fn a_new_ticket_opens_a_waiting_interval() {
        let tr = Ticket::issue(
            NewTicket {
                id: 3,
                queue: 10,
                number: TicketNumber::new("A", 3).unwrap(),
                channel: Channel::Phone,
                categories: Categories::NONE,
                holder: Some(Holder::from_phone("13812345678")),
            },
            t0(),
        );
        assert_eq!(tr.ticket.status, TicketStatus::Waiting);
        assert_eq!(tr.closed, None);
        let w = tr.opened.unwrap();
        assert_eq!(
            (w.kind, w.start, w.end, w.queue),
            (IntervalKind::Waiting, t0(), None, 10)
        );
    }

    #[test]
    fn calling_closes_the_wait_and_opens_a_called_interval_at_the_window() {
        let tr = issued().call(min(5), 7, Some(70)).unwrap();
        let w = tr.closed.unwrap();
        assert_eq!(
            (w.kind, w.start, w.end),
            (IntervalKind::Waiting, t0(), Some(min(5)))
        );
        assert_eq!(w.seconds(), Some(300.0));
        let c = tr.opened.unwrap();
        assert_eq!(
            (c.kind, c.window, c.staff),
            (IntervalKind::Called, Some(7), Some(70))
        );
        assert_eq!(tr.ticket.status, TicketStatus::Called);
    }

    #[test]
    fn a_full_visit_records_waiting_called_and_serving_intervals() {
        let mut intervals = vec![];
        let mut t = issued();
        for step in 0..3 {
            let tr = match step {
                0 => t.call(min(5), 7, Some(70)),
                1 => t.start(min(6)),
                _ => t.finish(min(16)),
            }
            .unwrap();
            intervals.extend(tr.closed);
            t = tr.ticket;
        }
        let kinds: Vec<_> = intervals
            .iter()
            .map(|i| (i.kind, i.seconds().unwrap()))
            .collect();
        assert_eq!(
            kinds,
            [
                (IntervalKind::Waiting, 300.0),
                (IntervalKind::Called, 60.0),
                (IntervalKind::Serving, 600.0)
            ]
        );
        assert_eq!(t.status, TicketStatus::Finished);
        assert_eq!(t.open_interval(), None);
    }

    #[test]
    fn a_finished_ticket_cannot_be_called_again() {
        let done = serving().finish(min(10)).unwrap().ticket;
        let e = done.call(min(11), 7, None).unwrap_err();
        assert_eq!(e.code, "invalid_ticket_transition");
        assert_eq!(e.title, "该号已办结，不能再次叫号");
    }

    #[test]
    fn every_action_from_a_state_it_does_not_allow_is_refused_and_changes_nothing() {
        let finished = serving().finish(min(10)).unwrap().ticket;
        let before = finished.clone();
        assert!(finished.start(min(11)).is_err());
        assert!(finished.finish(min(11)).is_err());
        assert!(finished.recall().is_err());
        assert!(finished.park(min(11)).is_err());
        assert!(finished.resume(min(11)).is_err());
        assert!(finished.requeue(min(11)).is_err());
        assert!(finished.transfer(min(11), 11).is_err());
        assert!(finished.close_at_day_end(min(11), "下班").is_err());
        assert_eq!(finished, before);
        // Waiting tickets cannot be started or finished without being called first.
        assert_eq!(
            issued().start(min(1)).unwrap_err().title,
            "该号排队中，不能开始办理"
        );
        assert!(issued().finish(min(1)).is_err());
        assert!(
            issued()
                .no_show(min(1), &TicketSettings::default())
                .is_err()
        );
        assert!(issued().resume(min(1)).is_err());
    }

    #[test]
    fn recalls_are_counted_and_keep_the_called_interval_open() {
        let tr = called().recall().unwrap();
        assert_eq!(tr.ticket.recalls, 1);
        assert_eq!((tr.closed, tr.opened), (None, None));
        assert_eq!(tr.ticket.since, min(5));
    }

    #[test]
    fn a_no_show_needs_the_set_number_of_recalls_first() {
        let s = TicketSettings {
            recalls_before_no_show: 2,
        };
        let once = called().recall().unwrap().ticket;
        let e = once.no_show(min(8), &s).unwrap_err();
        assert_eq!(e.code, "no_show_too_early");
        assert_eq!(e.title, "已呼叫2次，还需重呼1次仍未到才能标记过号");
        let twice = once.recall().unwrap().ticket;
        let tr = twice.no_show(min(9), &s).unwrap();
        assert_eq!(tr.ticket.status, TicketStatus::NoShow);
        let c = tr.closed.unwrap();
        assert_eq!(
            (c.kind, c.window, c.end),
            (IntervalKind::Called, Some(7), Some(min(9)))
        );
        assert_eq!(tr.opened, None);
    }

    #[test]
    fn with_zero_recalls_required_a_ticket_may_be_marked_no_show_at_once() {
        let s = TicketSettings {
            recalls_before_no_show: 0,
        };
        assert!(called().no_show(min(6), &s).is_ok());
    }

    #[test]
    fn a_requeued_ticket_goes_to_the_back_of_the_line() {
        let tr = serving().requeue(min(8)).unwrap();
        assert_eq!(tr.ticket.status, TicketStatus::Waiting);
        assert_eq!(tr.ticket.waiting_since, min(8));
        assert_eq!(tr.ticket.window, None);
        assert_eq!(tr.closed.unwrap().kind, IntervalKind::Serving);
        assert_eq!(tr.opened.unwrap().kind, IntervalKind::Waiting);
    }

    #[test]
    fn a_parked_ticket_resumes_waiting_at_its_old_place() {
        let parked = serving().park(min(8)).unwrap();
        assert_eq!(parked.closed.unwrap().kind, IntervalKind::Serving);
        let p = parked.opened.unwrap();
        assert_eq!((p.kind, p.window), (IntervalKind::Parked, Some(7)));
        let resumed = parked.ticket.resume(min(20)).unwrap();
        assert_eq!(resumed.closed.unwrap().seconds(), Some(720.0));
        assert_eq!(resumed.ticket.status, TicketStatus::Waiting);
        assert_eq!(resumed.ticket.waiting_since, t0());
    }

    #[test]
    fn a_called_ticket_can_be_parked_too() {
        assert_eq!(
            called().park(min(6)).unwrap().ticket.status,
            TicketStatus::Parked
        );
    }

    #[test]
    fn a_transferred_ticket_keeps_its_original_waiting_time() {
        let tr = serving().transfer(min(15), 11).unwrap();
        let t = &tr.ticket;
        assert_eq!(
            (t.status, t.queue, t.transfers),
            (TicketStatus::Waiting, 11, 1)
        );
        assert_eq!(t.waiting_since, t0());
        assert_eq!(t.number.to_string(), "A001");
        let closed = tr.closed.unwrap();
        assert_eq!((closed.kind, closed.queue), (IntervalKind::Serving, 10));
        let opened = tr.opened.unwrap();
        assert_eq!(
            (opened.kind, opened.queue, opened.start),
            (IntervalKind::Waiting, 11, min(15))
        );
    }

    #[test]
    fn a_ticket_cannot_be_transferred_to_its_own_queue() {
        let e = issued().transfer(min(1), 10).unwrap_err();
        assert_eq!(e.code, "same_queue");
    }

    #[test]
    fn day_end_closes_open_tickets_with_a_reason_and_leaves_finished_ones() {
        let finished = serving().finish(min(10)).unwrap().ticket;
        let waiting = issued();
        let parked = serving().park(min(9)).unwrap().ticket;
        let out = close_open_tickets(
            &[finished, waiting, parked],
            min(600),
            " 已到下班时间，请明日再来 ",
        )
        .unwrap();
        assert_eq!(out.len(), 2);
        for tr in &out {
            assert_eq!(tr.ticket.status, TicketStatus::ClosedAtDayEnd);
            assert_eq!(
                tr.ticket.close_reason.as_deref(),
                Some("已到下班时间，请明日再来")
            );
            assert_eq!(tr.closed.as_ref().unwrap().end, Some(min(600)));
            assert_eq!(tr.opened, None);
        }
        assert_eq!(out[0].closed.as_ref().unwrap().kind, IntervalKind::Waiting);
        assert_eq!(out[1].closed.as_ref().unwrap().kind, IntervalKind::Parked);
    }

    #[test]
    fn day_end_needs_a_reason() {
        let e = issued().close_at_day_end(min(600), "  ").unwrap_err();
        assert_eq!(e.fields[0].field, "reason");
    }

    #[test]
    fn an_interval_never_ends_before_it_began_even_if_clocks_disagree() {
        let tr = issued().call(t0() - Duration::seconds(2), 7, None).unwrap();
        assert_eq!(tr.closed.unwrap().seconds(), Some(0.0));
    }

    #[test]
    fn a_ticket_survives_a_trip_through_json() {
        let t = serving();
        let back: Ticket = serde_json::from_str(&serde_json::to_string(&t).unwrap()).unwrap();
        assert_eq!(back, t);
    }

    #[test]
    fn every_status_parses_back_from_its_name() {
        for s in TicketStatus::ALL {
            assert_eq!(TicketStatus::parse(s.as_str()), Some(s));
        }
    }
}
