//! Ticket numbers: the queue's prefix and the day's sequence, zero-padded to three digits
//! (A001, A002 … A999), then simply longer (A1000) because a peak day may pass a thousand.
//!
//! Numbers restart at 1 every day in every queue. The day's last sequence of a queue is looked
//! up by the caller (per hall-local date), so yesterday's tickets keep their numbers: history is
//! never renumbered, and a number is only unique together with its queue and date.
//!
//! Only the canonical spelling parses (`A001`, not `A1` or `A0001`), so a number read from a
//! screen, a phone or a URL means exactly one ticket.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The longest prefix a queue may have: display boards and voice calls are built for short ones.
pub const MAX_PREFIX_LEN: usize = 3;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TicketNumber {
    prefix: String,
    seq: u32,
}

/// A queue's ticket prefix: one to three capital letters (`A`, `B`, `GA`).
pub fn validate_prefix(prefix: &str) -> Result<()> {
    let ok = (1..=MAX_PREFIX_LEN).contains(&prefix.len())
        && prefix.bytes().all(|b| b.is_ascii_uppercase());
    if ok {
        Ok(())
    } else {
        Err(Error::validation(vec![]).field(
            "prefix",
            format!("号码前缀须为1至{MAX_PREFIX_LEN}个大写英文字母，如 A"),
        ))
    }
}

impl TicketNumber {
    pub fn new(prefix: &str, seq: u32) -> Result<TicketNumber> {
        validate_prefix(prefix)?;
        if seq == 0 {
            return Err(Error::invalid("invalid_ticket_number", "号码序号从1开始"));
        }
        Ok(TicketNumber {
            prefix: prefix.to_string(),
            seq,
        })
    }

    /// The next number of a queue today: `last_today` is the highest sequence the queue has
    /// issued on this hall-local date, `None` on the day's first ticket.
    pub fn next_today(prefix: &str, last_today: Option<u32>) -> Result<TicketNumber> {
        let seq = last_today
            .unwrap_or(0)
            .checked_add(1)
            .ok_or_else(|| Error::conflict("ticket_numbers_exhausted", "该队列今日号码已用尽"))?;
        TicketNumber::new(prefix, seq)
    }

    pub fn parse(text: &str) -> Result<TicketNumber> {
        let bad = || {
            Error::invalid("invalid_ticket_number", "号码格式不正确")
                .field("number", "号码应为字母前缀加至少三位数字，如 A001")
        };
        let split = text.find(|c: char| c.is_ascii_digit()).ok_or_else(bad)?;
        let (prefix, digits) = text.split_at(split);
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let seq: u32 = digits.parse().map_err(|_| bad())?;
        let n = TicketNumber::new(prefix, seq).map_err(|_| bad())?;
        // Only the spelling `Display` produces is accepted: A1 and A0001 are not A001.
        if n.to_string() != text {
            return Err(bad());
        }
        Ok(n)
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn seq(&self) -> u32 {
        self.seq
    }
}

impl fmt::Display for TicketNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{:03}", self.prefix, self.seq)
    }
}

impl TryFrom<String> for TicketNumber {
    type Error = Error;
    fn try_from(s: String) -> Result<TicketNumber> {
        TicketNumber::parse(&s)
    }
}

impl From<TicketNumber> for String {
    fn from(n: TicketNumber) -> String {
        n.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(prefix: &str, seq: u32) -> TicketNumber {
        TicketNumber::new(prefix, seq).unwrap()
    }

    #[test]
    fn numbers_are_padded_to_three_digits_and_grow_past_a_thousand() {
        assert_eq!(n("A", 1).to_string(), "A001");
        assert_eq!(n("A", 42).to_string(), "A042");
        assert_eq!(n("A", 999).to_string(), "A999");
        assert_eq!(n("A", 1000).to_string(), "A1000");
        assert_eq!(n("GA", 12345).to_string(), "GA12345");
    }

    #[test]
    fn a_formatted_number_parses_back_to_itself() {
        for (p, s) in [("A", 1), ("B", 999), ("A", 1000), ("XYZ", 70000)] {
            let num = n(p, s);
            assert_eq!(TicketNumber::parse(&num.to_string()).unwrap(), num);
        }
    }

    #[test]
    fn only_the_canonical_spelling_parses() {
        for bad in [
            "", "A", "001", "A1", "A01", "A0001", "A000", "a001", "A-001", "A001B", "ABCD001",
            "Ａ001", "A 001",
        ] {
            let e = TicketNumber::parse(bad).unwrap_err();
            assert_eq!(e.code, "invalid_ticket_number", "{bad:?}");
        }
    }

    #[test]
    fn the_first_ticket_of_the_day_is_number_one_whatever_yesterday_reached() {
        // The caller asks for today's last sequence only; yesterday's A317 does not matter.
        assert_eq!(
            TicketNumber::next_today("A", None).unwrap().to_string(),
            "A001"
        );
        assert_eq!(
            TicketNumber::next_today("A", Some(999))
                .unwrap()
                .to_string(),
            "A1000"
        );
    }

    #[test]
    fn a_prefix_is_one_to_three_capital_letters() {
        assert!(validate_prefix("A").is_ok());
        assert!(validate_prefix("VIP").is_ok());
        for bad in ["", "a", "A1", "ABCD", "甲"] {
            let e = validate_prefix(bad).unwrap_err();
            assert_eq!(e.fields[0].field, "prefix", "{bad:?}");
        }
    }

    #[test]
    fn a_number_travels_as_its_text_in_json() {
        let json = serde_json::to_string(&n("A", 7)).unwrap();
        assert_eq!(json, "\"A007\"");
        let back: TicketNumber = serde_json::from_str(&json).unwrap();
        assert_eq!(back, n("A", 7));
        assert!(serde_json::from_str::<TicketNumber>("\"A7\"").is_err());
    }
}
