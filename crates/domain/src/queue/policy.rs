//! The priority policy: who a window calls next, fairly.
//!
//! ## Who counts as a priority visitor
//!
//! Each hall chooses which categories count and how much ([`PolicySettings`]): appointment
//! holders who checked in within their slot's check-in window, the elderly (age from the birth
//! date the caller derives from the ID number, R-ID-18; threshold a setting, default 60 — the age
//! 《老年人权益保障法》第2条 defines as elderly), the disabled, military personnel and pregnant
//! women. A category with weight 0 does not count in that hall. Categories do not add up: a
//! visitor gets the largest weight among theirs, so no combination can jump further than the
//! largest single category.
//!
//! ## The order
//!
//! A window calls, among the `waiting` tickets of the queues it serves:
//!
//! 1. from its queues in its preference order: the first queue with anyone waiting wins;
//! 2. within that queue, the highest *effective priority*
//!    `weight(categories) + ageing_points_per_minute × minutes waited`;
//! 3. then the earliest `waiting_since`; 4. then the lowest ticket number; 5. then the lowest id.
//!
//! ## Why nobody is starved
//!
//! Every ticket ages at the same rate, so comparing effective priorities is the same as comparing
//! `waiting_since − weight / rate`: a priority ticket behaves as if it had arrived `weight / rate`
//! minutes earlier than it did, and that head start is fixed. So a ticket can only ever be passed
//! by tickets that arrived at most `max_head_start_minutes()` after it; every later arrival,
//! however privileged, queues behind it. An ordinary ticket's wait is therefore bounded by the
//! work already ahead of it plus the arrivals of the next `max_head_start_minutes()` — whatever
//! stream of priority visitors follows (tested below against an overwhelming stream of priority
//! arrivals, and with proptest over random streams).
//!
//! Across queues the window's preference order is strict by design (a specialist window serves
//! its own queue first); keeping secondary queues moving is a matter of assigning windows.

use std::fmt;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{QueueId, Ticket, TicketId, TicketStatus};
use crate::{Problems, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Checked in for an appointment within the slot's check-in window.
    Appointment,
    Elderly,
    Disabled,
    Military,
    Pregnant,
}

impl Category {
    pub const ALL: [Category; 5] = [
        Category::Appointment,
        Category::Elderly,
        Category::Disabled,
        Category::Military,
        Category::Pregnant,
    ];

    /// The name in JSON and in API-V1's `"priority"` field.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Appointment => "appointment",
            Category::Elderly => "elderly",
            Category::Disabled => "disabled",
            Category::Military => "military",
            Category::Pregnant => "pregnant",
        }
    }

    pub fn parse(s: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Category::Appointment => "预约按时签到",
            Category::Elderly => "老年人",
            Category::Disabled => "残疾人",
            Category::Military => "军人",
            Category::Pregnant => "孕妇",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of categories; JSON is the list of their names.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(from = "Vec<Category>", into = "Vec<Category>")]
pub struct Categories(u8);

impl Categories {
    pub const NONE: Categories = Categories(0);

    pub fn of(list: &[Category]) -> Categories {
        Categories(list.iter().fold(0, |acc, c| acc | c.bit()))
    }

    pub fn contains(self, c: Category) -> bool {
        self.0 & c.bit() != 0
    }

    pub fn with(self, c: Category) -> Categories {
        Categories(self.0 | c.bit())
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Category> {
        Category::ALL.into_iter().filter(move |c| self.contains(*c))
    }

    /// The mark a slip and a phone page carry for a person served first (老年人, 残疾人, 军人,
    /// 孕妇): "优先 · 老年人". None for nobody in these categories (an appointment's own
    /// precedence is shown as the appointment).
    pub fn priority_mark(self) -> Option<String> {
        let names: Vec<&str> = self
            .iter()
            .filter(|c| *c != Category::Appointment)
            .map(Category::label)
            .collect();
        (!names.is_empty()).then(|| format!("优先 · {}", names.join("、")))
    }

    /// The set as a bit mask, for storage.
    pub fn bits(self) -> u8 {
        self.0
    }

    /// A stored bit mask back; bits of no known category are dropped.
    pub fn from_bits(bits: u8) -> Categories {
        Categories(bits & Categories::of(&Category::ALL).0)
    }
}

impl fmt::Debug for Categories {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl From<Vec<Category>> for Categories {
    fn from(v: Vec<Category>) -> Categories {
        Categories::of(&v)
    }
}

impl From<Categories> for Vec<Category> {
    fn from(c: Categories) -> Vec<Category> {
        c.iter().collect()
    }
}

/// What the caller knows about a visitor when the ticket is taken.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Claim {
    /// From the ID number (R-ID-18), when the ticket is a real-name one.
    pub birth_date: Option<NaiveDate>,
    pub disabled: bool,
    pub military: bool,
    pub pregnant: bool,
    /// An appointment checked in within its check-in window (`appointments::Appointment::check_in`).
    pub appointment_on_time: bool,
}

/// Points per category; 0 means the category does not count in this hall.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Weights {
    pub appointment: u32,
    pub elderly: u32,
    pub disabled: u32,
    pub military: u32,
    pub pregnant: u32,
}

impl Default for Weights {
    fn default() -> Self {
        // With one point per minute of waiting: an on-time appointment goes ahead of anyone
        // who has waited less than 30 minutes, the other categories less than 20.
        Weights {
            appointment: 30,
            elderly: 20,
            disabled: 20,
            military: 20,
            pregnant: 20,
        }
    }
}

impl Weights {
    pub fn of(&self, c: Category) -> u32 {
        match c {
            Category::Appointment => self.appointment,
            Category::Elderly => self.elderly,
            Category::Disabled => self.disabled,
            Category::Military => self.military,
            Category::Pregnant => self.pregnant,
        }
    }
}

/// A hall's priority policy (RULES "practice": a setting, these are the defaults).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PolicySettings {
    pub weights: Weights,
    /// Age in full years from which a visitor counts as elderly.
    pub elderly_age: u32,
    /// Points every waiting ticket gains per minute; must be positive or a stream of priority
    /// visitors could hold an ordinary ticket back for ever.
    pub ageing_points_per_minute: u32,
}

impl Default for PolicySettings {
    fn default() -> Self {
        PolicySettings {
            weights: Weights::default(),
            elderly_age: 60,
            ageing_points_per_minute: 1,
        }
    }
}

/// The instant a ticket behaves as if it had arrived: `waiting_since` moved earlier by its
/// head start (`weight / rate` minutes). Ordering a queue by this instant is ordering it by
/// effective priority at any `now`, so a store can index it and fetch the head of a line
/// without scoring every ticket; the exact choice among those is still [`next_ticket`]'s.
pub fn rank_instant(
    categories: Categories,
    waiting_since: DateTime<Utc>,
    s: &PolicySettings,
) -> DateTime<Utc> {
    let head_start = i64::from(s.weight(categories)) * MICROS_PER_MINUTE
        / i64::from(s.ageing_points_per_minute.max(1));
    waiting_since - chrono::Duration::microseconds(head_start)
}

/// The longest head start a hall may give: half a working day.
const MAX_HEAD_START_MINUTES: u32 = 240;

impl PolicySettings {
    pub fn validate(&self) -> Result<()> {
        let mut p = Problems::new();
        p.check(
            (1..=60).contains(&self.ageing_points_per_minute),
            "ageing_points_per_minute",
            "每分钟等候增加的优先分须在1到60之间，否则普通号可能一直排不到",
        );
        p.check(
            (1..=120).contains(&self.elderly_age),
            "elderly_age",
            "老年人年龄界限须在1到120周岁之间",
        );
        if self.ageing_points_per_minute > 0 {
            p.check(
                self.max_head_start_minutes() <= MAX_HEAD_START_MINUTES,
                "weights",
                &format!("优先权重最多相当于提前{MAX_HEAD_START_MINUTES}分钟，请调低权重"),
            );
        }
        p.finish()
    }

    /// The categories that count in this hall for a visitor on the hall-local date `today`.
    pub fn classify(&self, claim: &Claim, today: NaiveDate) -> Categories {
        let elderly = claim
            .birth_date
            .and_then(|b| age_on(b, today))
            .is_some_and(|age| age >= self.elderly_age);
        [
            (Category::Appointment, claim.appointment_on_time),
            (Category::Elderly, elderly),
            (Category::Disabled, claim.disabled),
            (Category::Military, claim.military),
            (Category::Pregnant, claim.pregnant),
        ]
        .into_iter()
        .filter(|&(c, has)| has && self.weights.of(c) > 0)
        .fold(Categories::NONE, |set, (c, _)| set.with(c))
    }

    /// The weight of a set of categories: the largest of them (they do not stack).
    pub fn weight(&self, categories: Categories) -> u32 {
        if categories.is_empty() {
            return 0;
        }
        categories
            .iter()
            .map(|c| self.weights.of(c))
            .max()
            .unwrap_or(0)
    }

    /// How many minutes of waiting the largest weight is worth: no ticket can be passed by one
    /// that arrived more than this later.
    pub fn max_head_start_minutes(&self) -> u32 {
        let top = Category::ALL
            .into_iter()
            .map(|c| self.weights.of(c))
            .max()
            .unwrap_or(0);
        top.div_ceil(self.ageing_points_per_minute.max(1))
    }

    /// Effective priority in points (for display and explanation).
    pub fn points(&self, ticket: &Ticket, now: DateTime<Utc>) -> f64 {
        self.score(ticket, now) as f64 / MICROS_PER_MINUTE as f64
    }

    /// Effective priority in millionths of a point-minute, exact so ties are real ties.
    fn score(&self, ticket: &Ticket, now: DateTime<Utc>) -> i64 {
        let waited = (now - ticket.waiting_since)
            .num_microseconds()
            .unwrap_or(i64::MAX)
            .max(0);
        i64::from(self.weight(ticket.categories)) * MICROS_PER_MINUTE
            + i64::from(self.ageing_points_per_minute).saturating_mul(waited)
    }
}

const MICROS_PER_MINUTE: i64 = 60_000_000;

/// Age in full years on `today`; someone born on 29 February comes of age on 1 March in
/// common years. `None` for a birth date after `today`.
pub fn age_on(birth: NaiveDate, today: NaiveDate) -> Option<u32> {
    if birth > today {
        return None;
    }
    let had_birthday = (today.month(), today.day()) >= (birth.month(), birth.day());
    let years = today.year() - birth.year() - i32::from(!had_birthday);
    u32::try_from(years).ok()
}

/// The ticket a window calls next, or `None` when nobody is waiting for it. `window_queues` are
/// the window's queues in its preference order; tickets not waiting or in other queues are
/// ignored, so the caller may pass the hall's whole open list.
pub fn next_ticket(
    window_queues: &[QueueId],
    waiting: &[Ticket],
    now: DateTime<Utc>,
    settings: &PolicySettings,
) -> Option<TicketId> {
    waiting
        .iter()
        .filter(|t| t.status == TicketStatus::Waiting)
        .filter_map(|t| {
            let rank = window_queues.iter().position(|q| *q == t.queue)?;
            Some((rank, t))
        })
        .min_by_key(|&(rank, t)| (rank, sort_key(t, now, settings)))
        .map(|(_, t)| t.id)
}

/// How many waiting tickets of the same queue stand before `ticket` in the policy's order.
pub fn ahead(ticket: &Ticket, waiting: &[Ticket], now: DateTime<Utc>, s: &PolicySettings) -> u32 {
    let mine = sort_key(ticket, now, s);
    let n = waiting
        .iter()
        .filter(|t| t.status == TicketStatus::Waiting && t.queue == ticket.queue)
        .filter(|t| t.id != ticket.id && sort_key(t, now, s) < mine)
        .count();
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The order within one queue: smaller first.
fn sort_key(
    t: &Ticket,
    now: DateTime<Utc>,
    s: &PolicySettings,
) -> (std::cmp::Reverse<i64>, DateTime<Utc>, u32, TicketId) {
    (
        std::cmp::Reverse(s.score(t, now)),
        t.waiting_since,
        t.number.seq(),
        t.id,
    )
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};
    use proptest::prelude::*;

    use super::*;
    use crate::queue::{Channel, NewTicket, TicketNumber};

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap()
    }

    fn at(minutes: i64) -> DateTime<Utc> {
        t0() + Duration::minutes(minutes)
    }

    fn ticket(id: i64, queue: QueueId, arrived: i64, cats: &[Category]) -> Ticket {
        Ticket::issue(
            NewTicket {
                id,
                queue,
                number: TicketNumber::new("A", u32::try_from(id).unwrap()).unwrap(),
                channel: Channel::Kiosk,
                categories: Categories::of(cats),
                holder: None,
            },
            at(arrived),
        )
        .ticket
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn ordering_by_rank_instant_calls_the_same_ticket_as_the_policy() {
        let s = PolicySettings::default();
        let line = vec![
            ticket(1, 10, 0, &[]),
            ticket(2, 10, 5, &[Category::Elderly]),
            ticket(3, 10, 12, &[Category::Appointment]),
            ticket(4, 10, 40, &[Category::Pregnant]),
        ];
        for now in [at(13), at(41), at(90)] {
            let by_instant = line
                .iter()
                .min_by_key(|t| (rank_instant(t.categories, t.waiting_since, &s), t.id))
                .map(|t| t.id);
            assert_eq!(by_instant, next_ticket(&[10], &line, now, &s));
        }
        assert_eq!(
            rank_instant(Categories::of(&[Category::Appointment]), at(30), &s),
            at(0)
        );
    }

    #[test]
    fn categories_survive_a_trip_through_their_bit_mask() {
        let c = Categories::of(&[Category::Elderly, Category::Pregnant]);
        assert_eq!(Categories::from_bits(c.bits()), c);
        assert_eq!(Categories::from_bits(0xE0), Categories::NONE);
    }

    #[test]
    fn the_default_policy_is_valid_and_gives_at_most_thirty_minutes_head_start() {
        let s = PolicySettings::default();
        s.validate().unwrap();
        assert_eq!(s.elderly_age, 60);
        assert_eq!(s.max_head_start_minutes(), 30);
    }

    #[test]
    fn a_policy_without_ageing_is_refused_because_it_could_starve_ordinary_tickets() {
        let s = PolicySettings {
            ageing_points_per_minute: 0,
            ..PolicySettings::default()
        };
        let e = s.validate().unwrap_err();
        assert_eq!(e.fields[0].field, "ageing_points_per_minute");
    }

    #[test]
    fn a_policy_with_a_head_start_over_half_a_day_is_refused() {
        let mut s = PolicySettings::default();
        s.weights.pregnant = 241;
        assert_eq!(s.validate().unwrap_err().fields[0].field, "weights");
    }

    #[test]
    fn age_counts_full_years_and_a_leap_day_birthday_comes_on_the_first_of_march() {
        assert_eq!(age_on(date(1966, 3, 2), date(2026, 3, 1)), Some(59));
        assert_eq!(age_on(date(1966, 3, 2), date(2026, 3, 2)), Some(60));
        assert_eq!(age_on(date(1964, 2, 29), date(2026, 2, 28)), Some(61));
        assert_eq!(age_on(date(1964, 2, 29), date(2024, 2, 29)), Some(60));
        assert_eq!(age_on(date(1966, 2, 28), date(2026, 2, 28)), Some(60));
        assert_eq!(age_on(date(2030, 1, 1), date(2026, 1, 1)), None);
    }

    #[test]
    fn a_visitor_is_elderly_from_the_day_they_reach_the_hall_s_threshold() {
        let s = PolicySettings::default();
        let claim = Claim {
            birth_date: Some(date(1966, 3, 2)),
            ..Claim::default()
        };
        assert!(s.classify(&claim, date(2026, 3, 1)).is_empty());
        assert_eq!(
            s.classify(&claim, date(2026, 3, 2)),
            Categories::of(&[Category::Elderly])
        );
        let s70 = PolicySettings {
            elderly_age: 70,
            ..PolicySettings::default()
        };
        assert!(s70.classify(&claim, date(2026, 3, 2)).is_empty());
    }

    #[test]
    fn a_category_with_weight_zero_does_not_count_in_that_hall() {
        let mut s = PolicySettings::default();
        s.weights.military = 0;
        let claim = Claim {
            military: true,
            pregnant: true,
            ..Claim::default()
        };
        assert_eq!(
            s.classify(&claim, date(2026, 3, 2)),
            Categories::of(&[Category::Pregnant])
        );
    }

    #[test]
    fn categories_do_not_stack() {
        let s = PolicySettings::default();
        let both = Categories::of(&[Category::Elderly, Category::Appointment]);
        assert_eq!(s.weight(both), 30);
    }

    #[test]
    fn every_category_parses_back_from_its_name() {
        for c in Category::ALL {
            assert_eq!(Category::parse(c.as_str()), Some(c));
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.as_str()));
        }
        assert_eq!(Category::parse("vip"), None);
    }

    #[test]
    fn categories_travel_as_a_list_of_names() {
        let c = Categories::of(&[Category::Pregnant, Category::Elderly]);
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(json, r#"["elderly","pregnant"]"#);
        assert_eq!(serde_json::from_str::<Categories>(&json).unwrap(), c);
    }

    #[test]
    fn nobody_waiting_for_the_window_gives_none() {
        let s = PolicySettings::default();
        assert_eq!(next_ticket(&[1], &[], at(0), &s), None);
        let other_queue = ticket(1, 2, 0, &[]);
        assert_eq!(next_ticket(&[1], &[other_queue], at(5), &s), None);
        let called = ticket(2, 1, 0, &[]).call(at(1), 9, None).unwrap().ticket;
        assert_eq!(next_ticket(&[1], &[called], at(5), &s), None);
    }

    #[test]
    fn a_window_serves_its_preferred_queue_first() {
        let s = PolicySettings::default();
        let early_in_b = ticket(1, 2, 0, &[Category::Elderly]);
        let late_in_a = ticket(2, 1, 50, &[]);
        let waiting = [early_in_b, late_in_a];
        assert_eq!(next_ticket(&[1, 2], &waiting, at(60), &s), Some(2));
        assert_eq!(next_ticket(&[2, 1], &waiting, at(60), &s), Some(1));
    }

    #[test]
    fn among_ordinary_tickets_the_longest_waiting_is_called_first() {
        let s = PolicySettings::default();
        let waiting = [
            ticket(1, 1, 5, &[]),
            ticket(2, 1, 2, &[]),
            ticket(3, 1, 8, &[]),
        ];
        assert_eq!(next_ticket(&[1], &waiting, at(10), &s), Some(2));
    }

    #[test]
    fn a_priority_ticket_goes_ahead_of_ordinary_ones_that_waited_less_than_its_head_start() {
        let s = PolicySettings::default();
        let ordinary = ticket(1, 1, 0, &[]);
        let elderly = ticket(2, 1, 15, &[Category::Elderly]);
        assert_eq!(next_ticket(&[1], &[ordinary, elderly], at(16), &s), Some(2));
    }

    #[test]
    fn an_ordinary_ticket_that_waited_longer_than_the_head_start_beats_a_new_priority_one() {
        let s = PolicySettings::default();
        let ordinary = ticket(1, 1, 0, &[]);
        let elderly = ticket(2, 1, 21, &[Category::Elderly]);
        assert_eq!(next_ticket(&[1], &[ordinary, elderly], at(21), &s), Some(1));
    }

    #[test]
    fn equal_priority_is_decided_by_waiting_time_then_number() {
        let s = PolicySettings::default();
        // Ordinary since minute 0 and elderly since minute 20: both at 20 points at minute 20.
        let ordinary = ticket(2, 1, 0, &[]);
        let elderly = ticket(1, 1, 20, &[Category::Elderly]);
        assert_eq!(next_ticket(&[1], &[elderly, ordinary], at(20), &s), Some(2));
        let same_time = [ticket(4, 1, 3, &[]), ticket(3, 1, 3, &[])];
        assert_eq!(next_ticket(&[1], &same_time, at(9), &s), Some(3));
    }

    #[test]
    fn a_transferred_ticket_competes_with_its_original_waiting_time() {
        let s = PolicySettings::default();
        let from_other_queue = ticket(1, 2, 0, &[])
            .call(at(10), 9, None)
            .unwrap()
            .ticket
            .transfer(at(12), 1)
            .unwrap()
            .ticket;
        let local = ticket(2, 1, 5, &[]);
        assert_eq!(
            next_ticket(&[1], &[local, from_other_queue], at(13), &s),
            Some(1)
        );
    }

    #[test]
    fn ahead_counts_only_tickets_of_the_same_queue_in_front() {
        let s = PolicySettings::default();
        let waiting = [
            ticket(1, 1, 0, &[]),
            ticket(2, 1, 5, &[]),
            ticket(3, 2, 1, &[]),
            ticket(4, 1, 9, &[Category::Pregnant]),
        ];
        // At minute 10: #1 has 10 points, #2 5, #4 21.
        assert_eq!(ahead(&waiting[1], &waiting, at(10), &s), 2);
        assert_eq!(ahead(&waiting[3], &waiting, at(10), &s), 0);
        assert_eq!(ahead(&waiting[2], &waiting, at(10), &s), 0);
    }

    /// Serves one window with fixed service time against a stream of arrivals; returns the
    /// minute each ticket was called.
    fn serve(arrivals: &[(i64, Categories)], service_minutes: i64, s: &PolicySettings) -> Vec<i64> {
        let mut waiting: Vec<Ticket> = vec![];
        let mut called = vec![i64::MAX; arrivals.len()];
        let mut next_arrival = 0;
        let mut clock = arrivals.first().map_or(0, |a| a.0);
        while called.contains(&i64::MAX) {
            while next_arrival < arrivals.len() && arrivals[next_arrival].0 <= clock {
                let (m, cats) = arrivals[next_arrival];
                let id = i64::try_from(next_arrival).unwrap() + 1;
                let mut t = ticket(id, 1, m, &[]);
                t.categories = cats;
                waiting.push(t);
                next_arrival += 1;
            }
            match next_ticket(&[1], &waiting, at(clock), s) {
                Some(id) => {
                    waiting.retain(|t| t.id != id);
                    called[usize::try_from(id - 1).unwrap()] = clock;
                    clock += service_minutes;
                }
                None => clock = arrivals[next_arrival].0,
            }
        }
        called
    }

    #[test]
    fn an_ordinary_ticket_is_never_starved_by_a_stream_of_priority_arrivals() {
        // One window, 5 minutes a visitor, an elderly visitor every minute from minute -20 and
        // then every 2 minutes for 5 hours: far more than the window can serve. The ordinary
        // ticket comes at minute 0 into a line of priority tickets.
        let s = PolicySettings::default();
        let head_start = i64::from(s.max_head_start_minutes());
        let elderly = Categories::of(&[Category::Elderly]);
        let mut arrivals: Vec<(i64, Categories)> = (0..10).map(|i| (-20 + i, elderly)).collect();
        arrivals.push((0, Categories::NONE));
        arrivals.extend((1..150).map(|i| (2 * i, elderly)));
        let called = serve(&arrivals, 5, &s);
        let ordinary = called[10];
        // Bound: everything that could be ahead of it — those there before it and the priority
        // arrivals within the head start — served one after another from minute -20.
        let could_be_ahead = arrivals.iter().filter(|(m, _)| *m <= head_start).count() - 1;
        let bound = -20 + i64::try_from(could_be_ahead).unwrap() * 5;
        assert!(ordinary <= bound, "called at {ordinary}, bound {bound}");
        // And it really was overtaken by priority arrivals, but only by those within the head start.
        for (i, &(m, _)) in arrivals.iter().enumerate() {
            if called[i] < ordinary {
                assert!(m <= head_start, "overtaken by a ticket of minute {m}");
            }
        }
        assert!(
            arrivals
                .iter()
                .zip(&called)
                .any(|((m, _), c)| *m > 0 && *c < ordinary)
        );
    }

    proptest! {
        /// The fairness invariant behind "never starved": whatever the arrivals, no ticket is
        /// called before another that was already waiting unless it arrived at most the head
        /// start of its own category after it.
        #[test]
        fn no_ticket_is_passed_by_one_that_arrived_more_than_its_head_start_later(
            gaps in prop::collection::vec(0i64..6, 1..60),
            kinds in prop::collection::vec(0usize..6, 60),
            service in 1i64..8,
        ) {
            let s = PolicySettings::default();
            let mut minute = 0;
            let arrivals: Vec<(i64, Categories)> = gaps
                .iter()
                .zip(&kinds)
                .map(|(g, k)| {
                    minute += g;
                    let cats = Category::ALL
                        .get(*k)
                        .map_or(Categories::NONE, |c| Categories::of(&[*c]));
                    (minute, cats)
                })
                .collect();
            let called = serve(&arrivals, service, &s);
            for (a, &(arr_a, _)) in arrivals.iter().enumerate() {
                for (b, &(arr_b, cats_b)) in arrivals.iter().enumerate() {
                    // b called before a although a was waiting when b was called.
                    if called[b] < called[a] && arr_a <= called[b] {
                        let head = i64::from(s.weight(cats_b) / s.ageing_points_per_minute);
                        prop_assert!(arr_b <= arr_a + head,
                            "ticket of minute {arr_b} passed ticket of minute {arr_a}");
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod priority_mark_tests {
    use super::*;

    #[test]
    fn an_elderly_or_disabled_person_gets_a_priority_mark_and_an_appointment_alone_none() {
        assert_eq!(
            Categories::of(&[Category::Elderly])
                .priority_mark()
                .as_deref(),
            Some("优先 · 老年人")
        );
        assert_eq!(
            Categories::of(&[Category::Elderly, Category::Disabled])
                .priority_mark()
                .as_deref(),
            Some("优先 · 老年人、残疾人")
        );
        assert_eq!(
            Categories::of(&[Category::Appointment]).priority_mark(),
            None
        );
        assert_eq!(Categories::NONE.priority_mark(), None);
    }
}
