//! A receipt's key: what makes one submission of an application one case. A clerk who presses
//! 受理 twice, or whose first press was answered into a dropped connection and who presses again,
//! sends the same key; the second finds the case the first made instead of making another
//! (and sending the applicant a second "accepted" message).

use crate::error::{Error, Result};

/// 16 to 64 letters, digits, `-` or `_`: long enough that a client's random key is unguessable,
/// short enough to index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptKey(String);

impl ReceiptKey {
    pub const MIN: usize = 16;
    pub const MAX: usize = 64;

    /// The key as sent, or why it is refused.
    pub fn parse(key: &str) -> Result<ReceiptKey> {
        let fits = (Self::MIN..=Self::MAX).contains(&key.len())
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !fits {
            return Err(Error::invalid(
                "receipt_key_invalid",
                "受理请求的幂等键无效：应为 16 至 64 位字母、数字、“-”或“_”",
            ));
        }
        Ok(ReceiptKey(key.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_of_sixteen_to_sixty_four_safe_characters_is_taken_and_anything_else_refused() {
        for good in ["a".repeat(16), "Z9-_".repeat(16), "0123456789abcdef".into()] {
            assert_eq!(ReceiptKey::parse(&good).unwrap().as_str(), good);
        }
        for bad in [
            "a".repeat(15),
            "a".repeat(65),
            "0123456789abcde!".into(),
            "０１２３４５６７８９ａｂｃｄｅｆ".into(),
            "0123456789abcde\n".into(),
        ] {
            let e = ReceiptKey::parse(&bad).unwrap_err();
            assert_eq!(e.code, "receipt_key_invalid", "{bad:?}");
        }
    }
}
