//! Who a real-name ticket belongs to, as a ticket may show it (R-PII).
//!
//! A ticket is displayed on boards, phones, window screens and printed slips, so it never carries
//! a full ID or phone number: a [`Holder`] can only be made by masking one, and text read back
//! (from the store or JSON) is accepted only if it is still masked. The full number, where a role
//! needs it, lives elsewhere and every view of it is audited.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The longest run of clear digits a masked text may show: the last four of an ID number.
/// Masking itself is `crate::pii`'s, the one implementation of R-PII.
const MAX_CLEAR_RUN: usize = 4;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Holder(String);

impl Holder {
    /// 11010519491231002X → 1101**********002X (first four, last four).
    pub fn from_id_number(id_number: &str) -> Holder {
        Holder(crate::pii::mask_id_number(id_number))
    }

    /// 13812345678 → 138****5678 (first three, last four).
    pub fn from_phone(phone: &str) -> Holder {
        Holder(crate::pii::mask_phone(phone))
    }

    /// Masked text as stored; refused if it could be a clear number.
    pub fn from_masked(text: &str) -> Result<Holder> {
        if is_masked(text) {
            Ok(Holder(text.to_string()))
        } else {
            Err(
                Error::invalid("unmasked_personal_data", "证件号或手机号必须脱敏后显示")
                    .field("holder", "请勿在号票上显示完整的证件号或手机号"),
            )
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_masked(text: &str) -> bool {
    let mut run = 0;
    for c in text.chars() {
        if c.is_ascii_digit() || c == 'X' || c == 'x' {
            run += 1;
            if run > MAX_CLEAR_RUN {
                return false;
            }
        } else {
            run = 0;
        }
    }
    text.contains('*')
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Holder {
    type Error = Error;
    fn try_from(s: String) -> Result<Holder> {
        Holder::from_masked(&s)
    }
}

impl From<Holder> for String {
    fn from(h: Holder) -> String {
        h.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_number_shows_only_its_first_and_last_four_characters_r_pii() {
        assert_eq!(
            Holder::from_id_number("11010519491231002X").as_str(),
            "1101**********002X"
        );
    }

    #[test]
    fn a_phone_number_shows_only_its_first_three_and_last_four_digits_r_pii() {
        assert_eq!(Holder::from_phone("13812345678").as_str(), "138****5678");
    }

    #[test]
    fn a_short_number_is_hidden_entirely() {
        assert_eq!(Holder::from_phone("12345").as_str(), "*****");
        assert_eq!(Holder::from_id_number("12").as_str(), "**");
    }

    #[test]
    fn a_clear_number_is_refused_as_holder_text_r_pii() {
        for clear in ["11010519491231002X", "13812345678", "1101*00519491231"] {
            let e = Holder::from_masked(clear).unwrap_err();
            assert_eq!(e.code, "unmasked_personal_data", "{clear}");
        }
        assert!(serde_json::from_str::<Holder>("\"13812345678\"").is_err());
        assert!(Holder::from_masked("138****5678").is_ok());
    }

    #[test]
    fn masked_text_survives_a_trip_through_json() {
        let h = Holder::from_id_number("440524188001010014");
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(serde_json::from_str::<Holder>(&json).unwrap(), h);
    }
}
