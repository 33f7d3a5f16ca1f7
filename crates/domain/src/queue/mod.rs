//! The hall's queue (取号 / 排队 / 叫号), as pure rules.
//!
//! A visitor takes a [`Ticket`] for a queue (from a kiosk, a phone, an appointment check-in or
//! the guide desk); windows call tickets from the queues they serve; every state a ticket passes
//! through is an [`Interval`] (waiting, called, serving, parked), and those intervals are the only
//! basis of waiting and service-time statistics (the "period" idea of bcgov's TheQ).
//!
//! The pieces, each a small module with its own rules and tests:
//!
//! - [`number`]: ticket numbers per queue per day (A001 … A999, A1000 …).
//! - [`holder`]: the masked holder text a ticket may show (R-PII).
//! - [`ticket`]: the ticket state machine and the intervals each transition closes and opens.
//! - [`policy`]: the hall's priority policy and "who is called next".
//! - [`limits`]: anti-scalping limits on taking tickets.
//! - [`appointments`]: slots, booking, check-in, no-shows and temporary blocks.
//! - [`estimate`]: the wait estimator (and the Erlang C formula it is checked against).
//! - [`simulation`]: a deterministic M/M/c simulation driven through the code above.
//! - [`stats`]: counts, means and percentiles over intervals.
//!
//! Nothing here reads a clock or a database: `now` is always an argument, counts the rules need
//! (tickets this person took today, bookings in a slot…) are supplied by the caller.

pub mod appointments;
pub mod estimate;
pub mod holder;
pub mod limits;
pub mod number;
pub mod policy;
pub mod simulation;
pub mod stats;
pub mod ticket;
pub mod window;

use serde::{Deserialize, Serialize};

pub use holder::Holder;
pub use number::TicketNumber;
pub use policy::{Categories, Category, PolicySettings, next_ticket};
pub use ticket::{
    Interval, IntervalKind, NewTicket, Ticket, TicketSettings, TicketStatus, Transition,
};

/// Row ids as the store assigns them.
pub type TicketId = i64;
pub type QueueId = i64;
pub type WindowId = i64;
pub type StaffId = i64;

/// Where a ticket was taken. Statistics are kept per channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// 自助取号机 in the hall.
    Kiosk,
    /// A phone (mini-program, web page, SMS link).
    Phone,
    /// Checking in for an appointment turned it into a ticket.
    Appointment,
    /// Issued by staff at the guide desk (导询台).
    GuideDesk,
}

impl Channel {
    pub const ALL: [Channel; 4] = [
        Channel::Kiosk,
        Channel::Phone,
        Channel::Appointment,
        Channel::GuideDesk,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Kiosk => "kiosk",
            Channel::Phone => "phone",
            Channel::Appointment => "appointment",
            Channel::GuideDesk => "guide_desk",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Channel::Kiosk => "自助机取号",
            Channel::Phone => "手机取号",
            Channel::Appointment => "预约签到",
            Channel::GuideDesk => "导询台取号",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_channel_parses_back_from_its_name() {
        for c in Channel::ALL {
            assert_eq!(Channel::parse(c.as_str()), Some(c));
        }
        assert_eq!(Channel::parse("fax"), None);
    }
}
