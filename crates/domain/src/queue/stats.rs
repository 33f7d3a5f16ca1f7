//! Queue statistics, computed only from recorded intervals (and each ticket's channel and final
//! status), so every figure can be traced back to the rows it came from.
//!
//! - A **wait** is one closed waiting interval, in minutes. A ticket that was moved back or
//!   transferred has more than one; each counts in the queue it was spent in. A wait that ended
//!   in a call also counts for the window and staff member who called it.
//! - A **service** is one closed serving interval, for its queue, window and staff member.
//! - **Tickets** per queue are the tickets with any interval there (a transferred ticket counts
//!   in both queues); per window and staff, the tickets called there; per channel, by channel.
//! - **Finished** and **no-shows** count where the ticket's last interval was.
//! - **Percentiles** are nearest-rank: the p-th percentile of n sorted values is the value at
//!   rank ⌈p·n/100⌉ (1-based), always one of the observed values.
//!
//! An open interval counts its ticket but no time: day end closes them all.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{
    Channel, Interval, IntervalKind, QueueId, StaffId, Ticket, TicketId, TicketStatus, WindowId,
};

/// What statistics need of a ticket besides its intervals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TicketFacts {
    pub id: TicketId,
    pub channel: Channel,
    pub status: TicketStatus,
}

impl From<&Ticket> for TicketFacts {
    fn from(t: &Ticket) -> Self {
        TicketFacts {
            id: t.id,
            channel: t.channel,
            status: t.status,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Summary {
    pub count: usize,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
}

/// Mean and nearest-rank percentiles; `None` for no values.
pub fn summarize(values: &[f64]) -> Option<Summary> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    Some(Summary {
        count: sorted.len(),
        mean: sorted.iter().sum::<f64>() / sorted.len() as f64,
        p50: nearest_rank(&sorted, 50),
        p90: nearest_rank(&sorted, 90),
    })
}

/// The p-th percentile (0 < p ≤ 100) of sorted, non-empty values by the nearest-rank method.
pub fn nearest_rank(sorted: &[f64], p: u32) -> f64 {
    let n = sorted.len();
    let rank = (usize::try_from(p).unwrap_or(100) * n).div_ceil(100).max(1);
    sorted[rank.min(n) - 1]
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    pub tickets: usize,
    pub finished: usize,
    pub no_shows: usize,
    /// Minutes.
    pub waiting: Option<Summary>,
    /// Minutes.
    pub service: Option<Summary>,
    /// Every wait counted (minutes), for figures over many days (supervision's histograms);
    /// the summary above is what people read.
    #[serde(skip)]
    pub waits: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub total: Figures,
    pub by_queue: BTreeMap<QueueId, Figures>,
    pub by_channel: BTreeMap<Channel, Figures>,
    pub by_window: BTreeMap<WindowId, Figures>,
    pub by_staff: BTreeMap<StaffId, Figures>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Total,
    Queue(QueueId),
    Channel(Channel),
    Window(WindowId),
    Staff(StaffId),
}

#[derive(Default)]
struct Tally {
    tickets: BTreeSet<TicketId>,
    finished: usize,
    no_shows: usize,
    waits: Vec<f64>,
    services: Vec<f64>,
}

impl Tally {
    fn figures(&self) -> Figures {
        Figures {
            tickets: self.tickets.len(),
            finished: self.finished,
            no_shows: self.no_shows,
            waiting: summarize(&self.waits),
            service: summarize(&self.services),
            waits: self.waits.clone(),
        }
    }
}

/// Where a staff state happened: its window and staff member.
fn desk(i: &Interval) -> impl Iterator<Item = Key> {
    [i.window.map(Key::Window), i.staff.map(Key::Staff)]
        .into_iter()
        .flatten()
}

/// Every key an interval counts under besides the total and the channel.
fn place(i: &Interval) -> impl Iterator<Item = Key> {
    std::iter::once(Key::Queue(i.queue)).chain(desk(i))
}

#[derive(Default)]
struct Tallies(BTreeMap<Key, Tally>);

impl Tallies {
    fn add(&mut self, keys: impl IntoIterator<Item = Key>, f: impl Fn(&mut Tally)) {
        for k in keys {
            f(self.0.entry(k).or_default());
        }
    }
}

/// Figures for the given tickets; intervals of tickets not listed are ignored.
pub fn report(tickets: &[TicketFacts], intervals: &[Interval]) -> Report {
    let mut by_ticket: HashMap<TicketId, Vec<&Interval>> = HashMap::new();
    for i in intervals {
        by_ticket.entry(i.ticket).or_default().push(i);
    }
    let mut tally = Tallies::default();
    for t in tickets {
        let mut own = by_ticket.remove(&t.id).unwrap_or_default();
        // Chronological; zero-length intervals keep the state machine's order.
        own.sort_by_key(|i| (i.start, i.end.unwrap_or(DateTime::<Utc>::MAX_UTC), i.kind));
        let base = [Key::Total, Key::Channel(t.channel)];
        tally.add(base, |a| _ = a.tickets.insert(t.id));
        for (n, i) in own.iter().enumerate() {
            tally.add([Key::Queue(i.queue)], |a| _ = a.tickets.insert(t.id));
            if i.kind == IntervalKind::Called {
                tally.add(desk(i), |a| _ = a.tickets.insert(t.id));
            }
            let Some(minutes) = i.seconds().map(|s| s / 60.0) else {
                continue;
            };
            match i.kind {
                IntervalKind::Waiting => {
                    let caller = own.get(n + 1).filter(|c| c.kind == IntervalKind::Called);
                    let keys = base
                        .into_iter()
                        .chain(place(i))
                        .chain(caller.into_iter().flat_map(|c| desk(c)));
                    tally.add(keys, |a| a.waits.push(minutes));
                }
                IntervalKind::Serving => {
                    tally.add(base.into_iter().chain(place(i)), |a| {
                        a.services.push(minutes)
                    });
                }
                IntervalKind::Called | IntervalKind::Parked => {}
            }
        }
        let last = own.last().into_iter().flat_map(|i| place(i));
        match t.status {
            TicketStatus::Finished => tally.add(base.into_iter().chain(last), |a| a.finished += 1),
            TicketStatus::NoShow => tally.add(base.into_iter().chain(last), |a| a.no_shows += 1),
            _ => {}
        }
    }
    let mut out = Report {
        total: Tally::default().figures(),
        by_queue: BTreeMap::new(),
        by_channel: BTreeMap::new(),
        by_window: BTreeMap::new(),
        by_staff: BTreeMap::new(),
    };
    for (k, a) in &tally.0 {
        let f = a.figures();
        match *k {
            Key::Total => out.total = f,
            Key::Queue(q) => _ = out.by_queue.insert(q, f),
            Key::Channel(c) => _ = out.by_channel.insert(c, f),
            Key::Window(w) => _ = out.by_window.insert(w, f),
            Key::Staff(s) => _ = out.by_staff.insert(s, f),
        }
    }
    out
}

/// The service times (minutes) of a queue's closed serving intervals, oldest first: the input
/// of `estimate::service_minutes`.
pub fn recent_service_minutes(intervals: &[Interval], queue: QueueId) -> Vec<f64> {
    let mut served: Vec<&Interval> = intervals
        .iter()
        .filter(|i| i.queue == queue && i.kind == IntervalKind::Serving && i.end.is_some())
        .collect();
    served.sort_by_key(|i| i.end);
    served
        .iter()
        .filter_map(|i| i.seconds())
        .map(|s| s / 60.0)
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;
    use crate::queue::{Categories, NewTicket, TicketNumber, TicketSettings, Transition};

    fn at(m: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap() + Duration::minutes(m)
    }

    /// Runs a ticket through steps, collecting its closed intervals.
    struct Log {
        tickets: Vec<TicketFacts>,
        intervals: Vec<Interval>,
    }

    impl Log {
        fn run(
            &mut self,
            id: i64,
            queue: QueueId,
            channel: Channel,
            issued: i64,
            steps: &[&dyn Fn(&Ticket) -> Transition],
        ) {
            let mut t = Ticket::issue(
                NewTicket {
                    id,
                    queue,
                    number: TicketNumber::new("A", u32::try_from(id).unwrap()).unwrap(),
                    channel,
                    categories: Categories::NONE,
                    holder: None,
                },
                at(issued),
            )
            .ticket;
            for step in steps {
                let tr = step(&t);
                self.intervals.extend(tr.closed);
                t = tr.ticket;
            }
            self.intervals.extend(t.open_interval());
            self.tickets.push(TicketFacts::from(&t));
        }
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let v = [15.0, 20.0, 35.0, 40.0, 50.0];
        assert_eq!(nearest_rank(&v, 50), 35.0);
        assert_eq!(nearest_rank(&v, 90), 50.0);
        assert_eq!(nearest_rank(&v, 30), 20.0);
        assert_eq!(nearest_rank(&v, 40), 20.0);
        assert_eq!(nearest_rank(&[7.0], 50), 7.0);
        let ten: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(nearest_rank(&ten, 90), 9.0);
        assert_eq!(nearest_rank(&ten, 50), 5.0);
    }

    #[test]
    fn a_summary_of_nothing_is_none_and_input_order_does_not_matter() {
        assert_eq!(summarize(&[]), None);
        let s = summarize(&[4.0, 1.0, 3.0, 2.0]).unwrap();
        assert_eq!((s.count, s.mean, s.p50, s.p90), (4, 2.5, 2.0, 4.0));
    }

    fn day() -> Log {
        let no_show = TicketSettings {
            recalls_before_no_show: 0,
        };
        let mut log = Log {
            tickets: vec![],
            intervals: vec![],
        };
        // Queue 1, window 7 (staff 70): waits 5 and 10, services 10 and 20.
        log.run(
            1,
            1,
            Channel::Kiosk,
            0,
            &[
                &|t| t.call(at(5), 7, Some(70)).unwrap(),
                &|t| t.start(at(5)).unwrap(),
                &|t| t.finish(at(15)).unwrap(),
            ],
        );
        log.run(
            2,
            1,
            Channel::Phone,
            5,
            &[
                &|t| t.call(at(15), 7, Some(70)).unwrap(),
                &|t| t.start(at(16)).unwrap(),
                &|t| t.finish(at(36)).unwrap(),
            ],
        );
        // Called at window 8 (staff 80) after 30 minutes, did not come.
        log.run(
            3,
            1,
            Channel::Kiosk,
            0,
            &[&|t| t.call(at(30), 8, Some(80)).unwrap(), &|t| {
                t.no_show(at(32), &no_show).unwrap()
            }],
        );
        // Waited 4 in queue 1, served 6 at window 8, transferred to queue 2, waited 10 more
        // and was served 12 at window 9 by staff 90.
        log.run(
            4,
            1,
            Channel::GuideDesk,
            0,
            &[
                &|t| t.call(at(4), 8, Some(80)).unwrap(),
                &|t| t.start(at(4)).unwrap(),
                &|t| t.transfer(at(10), 2).unwrap(),
                &|t| t.call(at(20), 9, Some(90)).unwrap(),
                &|t| t.start(at(20)).unwrap(),
                &|t| t.finish(at(32)).unwrap(),
            ],
        );
        // Still waiting: counted as a ticket of queue 2, with no time yet.
        log.run(5, 2, Channel::Kiosk, 50, &[]);
        log
    }

    #[test]
    fn tickets_are_counted_per_queue_channel_window_and_staff() {
        let log = day();
        let r = report(&log.tickets, &log.intervals);
        assert_eq!(r.total.tickets, 5);
        assert_eq!(r.by_queue[&1].tickets, 4);
        assert_eq!(
            r.by_queue[&2].tickets, 2,
            "the transferred and the still waiting ticket"
        );
        assert_eq!(r.by_channel[&Channel::Kiosk].tickets, 3);
        assert_eq!(r.by_channel[&Channel::Phone].tickets, 1);
        assert_eq!(r.by_window[&7].tickets, 2);
        assert_eq!(r.by_window[&8].tickets, 2);
        assert_eq!(r.by_staff[&90].tickets, 1);
    }

    #[test]
    fn waiting_time_counts_in_the_queue_it_was_spent_in_and_for_the_window_that_called() {
        let log = day();
        let r = report(&log.tickets, &log.intervals);
        let q1 = r.by_queue[&1].waiting.unwrap();
        // Waits in queue 1: 5, 10, 30, 4.
        assert_eq!((q1.count, q1.mean, q1.p50, q1.p90), (4, 12.25, 5.0, 30.0));
        let q2 = r.by_queue[&2].waiting.unwrap();
        assert_eq!((q2.count, q2.mean), (1, 10.0));
        assert_eq!(r.by_window[&8].waiting.unwrap().mean, 17.0);
        assert_eq!(r.by_staff[&90].waiting.unwrap().mean, 10.0);
        assert_eq!(r.total.waiting.unwrap().count, 5);
    }

    #[test]
    fn service_time_counts_for_its_queue_window_and_staff() {
        let log = day();
        let r = report(&log.tickets, &log.intervals);
        let w7 = r.by_window[&7].service.unwrap();
        assert_eq!((w7.count, w7.mean, w7.p50, w7.p90), (2, 15.0, 10.0, 20.0));
        assert_eq!(r.by_queue[&2].service.unwrap().mean, 12.0);
        assert_eq!(r.by_staff[&80].service.unwrap().mean, 6.0);
        assert_eq!(r.by_channel[&Channel::GuideDesk].service.unwrap().count, 2);
        assert_eq!(r.total.service.unwrap().count, 4);
    }

    #[test]
    fn no_shows_and_finished_tickets_count_where_the_ticket_ended() {
        let log = day();
        let r = report(&log.tickets, &log.intervals);
        assert_eq!((r.total.finished, r.total.no_shows), (3, 1));
        assert_eq!(r.by_window[&8].no_shows, 1);
        assert_eq!(r.by_staff[&80].no_shows, 1);
        assert_eq!(
            r.by_window[&8].finished, 0,
            "the transferred ticket finished at window 9"
        );
        assert_eq!(r.by_window[&9].finished, 1);
        assert_eq!(r.by_queue[&1].finished, 2);
        assert_eq!(r.by_queue[&2].finished, 1);
        assert_eq!(r.by_channel[&Channel::Kiosk].no_shows, 1);
    }

    #[test]
    fn recent_service_times_of_a_queue_come_oldest_first() {
        let log = day();
        // By end: ticket 4's 6 minutes ended at minute 10, ticket 1's 10 at 15, ticket 2's 20 at 36.
        assert_eq!(recent_service_minutes(&log.intervals, 1), [6.0, 10.0, 20.0]);
        assert_eq!(recent_service_minutes(&log.intervals, 2), [12.0]);
    }
}
