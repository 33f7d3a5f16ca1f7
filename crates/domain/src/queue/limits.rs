//! Limits on taking tickets, against scalpers (号贩子) who take numbers to sell them.
//!
//! Anonymous requests (kiosks, phones: anyone on the network) are limited per person — the ID
//! number or phone number given — and per network address per hall-local day. Staff issuing a
//! ticket (the guide desk) are not limited: they see the visitor. The hall's own kiosks share
//! one address with hundreds of visitors a day, so addresses listed as trusted are not counted
//! per address (the per-person limit still applies there).
//!
//! The check is pure: the caller counts today's tickets for the person and the address and
//! passes the counts in.

use serde::{Deserialize, Serialize};

use crate::{Error, Kind, Problems, Result};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LimitSettings {
    /// Tickets one ID or phone number may take per day in a hall; `None` for no limit.
    pub per_person_per_day: Option<u32>,
    /// Tickets one network address may take per day in a hall; `None` for no limit.
    pub per_address_per_day: Option<u32>,
    /// Addresses of the hall's own devices (kiosks, guide-desk tablets), not limited per address.
    pub trusted_addresses: Vec<String>,
}

impl Default for LimitSettings {
    fn default() -> Self {
        // A visitor rarely needs more than a few queues a day; a household on one phone may
        // take tickets for several members.
        LimitSettings {
            per_person_per_day: Some(3),
            per_address_per_day: Some(10),
            trusted_addresses: Vec::new(),
        }
    }
}

impl LimitSettings {
    pub fn validate(&self) -> Result<()> {
        let mut p = Problems::new();
        p.check(
            self.per_person_per_day != Some(0),
            "per_person_per_day",
            "每人每日取号上限不能为0；不限制请留空",
        );
        p.check(
            self.per_address_per_day != Some(0),
            "per_address_per_day",
            "每个网络地址每日取号上限不能为0；不限制请留空",
        );
        p.finish()
    }
}

/// Who is asking for the ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requester<'a> {
    /// Signed-in staff (guide desk, window): not limited.
    Staff,
    /// No token: a kiosk or a phone, from this network address.
    Anonymous { address: &'a str },
}

/// Today's tickets (hall-local date) already taken, as the caller counted them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TakenToday {
    /// By the same ID or phone number; `None` when the request names no person.
    pub by_person: Option<u32>,
    pub by_address: u32,
}

/// Whether one more ticket may be taken; `TooMany` (429) with a Chinese message when not.
pub fn check_ticket_limits(
    requester: Requester<'_>,
    taken: TakenToday,
    settings: &LimitSettings,
) -> Result<()> {
    let Requester::Anonymous { address } = requester else {
        return Ok(());
    };
    if let (Some(limit), Some(n)) = (settings.per_person_per_day, taken.by_person)
        && n >= limit
    {
        return Err(Error::new(
            Kind::TooMany,
            "ticket_limit_person",
            format!("同一证件号或手机号每天最多取号{limit}次，今日已达上限"),
        ));
    }
    let trusted = settings.trusted_addresses.iter().any(|a| a == address);
    if let Some(limit) = settings.per_address_per_day
        && !trusted
        && taken.by_address >= limit
    {
        return Err(Error::new(
            Kind::TooMany,
            "ticket_limit_address",
            format!("同一网络每天最多取号{limit}次，今日已达上限，请到大厅取号机或导询台取号"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PHONE: Requester<'static> = Requester::Anonymous {
        address: "10.1.2.3",
    };

    fn taken(person: Option<u32>, address: u32) -> TakenToday {
        TakenToday {
            by_person: person,
            by_address: address,
        }
    }

    #[test]
    fn a_person_may_take_tickets_up_to_the_daily_limit() {
        let s = LimitSettings::default();
        assert!(check_ticket_limits(PHONE, taken(Some(2), 2), &s).is_ok());
        let e = check_ticket_limits(PHONE, taken(Some(3), 3), &s).unwrap_err();
        assert_eq!(
            (e.kind, e.code.as_ref()),
            (Kind::TooMany, "ticket_limit_person")
        );
        assert_eq!(e.title, "同一证件号或手机号每天最多取号3次，今日已达上限");
    }

    #[test]
    fn an_address_may_take_tickets_up_to_the_daily_limit_even_without_a_name() {
        let s = LimitSettings::default();
        assert!(check_ticket_limits(PHONE, taken(None, 9), &s).is_ok());
        let e = check_ticket_limits(PHONE, taken(None, 10), &s).unwrap_err();
        assert_eq!(e.code, "ticket_limit_address");
    }

    #[test]
    fn staff_issued_tickets_are_not_limited() {
        let s = LimitSettings::default();
        assert!(check_ticket_limits(Requester::Staff, taken(Some(50), 500), &s).is_ok());
    }

    #[test]
    fn the_hall_s_own_kiosks_are_not_limited_per_address_but_still_per_person() {
        let s = LimitSettings {
            trusted_addresses: vec!["10.0.0.21".into()],
            ..LimitSettings::default()
        };
        let kiosk = Requester::Anonymous {
            address: "10.0.0.21",
        };
        assert!(check_ticket_limits(kiosk, taken(None, 4000), &s).is_ok());
        assert!(check_ticket_limits(kiosk, taken(Some(3), 4000), &s).is_err());
    }

    #[test]
    fn an_unset_limit_does_not_limit() {
        let s = LimitSettings {
            per_person_per_day: None,
            per_address_per_day: None,
            trusted_addresses: vec![],
        };
        assert!(check_ticket_limits(PHONE, taken(Some(99), 999), &s).is_ok());
    }

    #[test]
    fn a_limit_of_zero_is_refused_as_a_setting() {
        let s = LimitSettings {
            per_person_per_day: Some(0),
            per_address_per_day: Some(0),
            trusted_addresses: vec![],
        };
        assert_eq!(s.validate().unwrap_err().fields.len(), 2);
        LimitSettings::default().validate().unwrap();
    }
}
