//! R-PII: personal information is masked in lists, screens and logs (个人信息保护法); the full
//! value is shown only to roles that need it, and every such view is audited (by the server).
//!
//! One function per kind of value, so a caller cannot pick the wrong rule by passing a flag.
//! Masking works on characters, not bytes, and never reveals more than half of a short value:
//! a value too short to keep both ends is masked entirely.

/// The mask character.
const MASK: char = '*';

/// Keeps the first `head` and last `tail` characters and masks every character in between.
/// When the value has no more than `head + tail` characters, everything is masked.
fn mask_middle(value: &str, head: usize, tail: usize) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() <= head + tail {
        return MASK.to_string().repeat(chars.len());
    }
    chars
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            if i < head || i >= chars.len() - tail {
                c
            } else {
                MASK
            }
        })
        .collect()
}

/// 公民身份号码: first 4 and last 4 characters (`1101**********002X`).
pub fn mask_id_number(id_number: &str) -> String {
    mask_middle(id_number.trim(), 4, 4)
}

/// 统一社会信用代码: the registering authority, the kind of organisation and the area code
/// (first 8) and the last 2 stay, the organisation's own code is masked
/// (`91350100********43`). Enterprise codes are public, but a 个体工商户's code identifies a
/// person, so lists mask it the same way for everyone.
pub fn mask_uscc(code: &str) -> String {
    mask_middle(code.trim(), 8, 2)
}

/// Mobile number: first 3 and last 4 digits (`138****5678`).
pub fn mask_phone(phone: &str) -> String {
    mask_middle(phone.trim(), 3, 4)
}

/// A person's name: the family name stays and, for names of three or more characters, the last
/// character too (`张*三`, `欧**娜`); a two-character name keeps only the first (`张*`); a
/// one-character name is masked entirely.
pub fn mask_name(name: &str) -> String {
    let name = name.trim();
    match name.chars().count() {
        0 => String::new(),
        1 => MASK.to_string(),
        2 => mask_middle(name, 1, 0),
        _ => mask_middle(name, 1, 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_number_keeps_its_first_and_last_four_characters_r_pii() {
        assert_eq!(mask_id_number("11010519491231002X"), "1101**********002X");
    }

    #[test]
    fn a_short_id_value_is_masked_entirely_r_pii() {
        assert_eq!(mask_id_number("12345678"), "********");
        assert_eq!(mask_id_number(""), "");
    }

    #[test]
    fn a_uscc_keeps_its_authority_kind_and_area_r_pii() {
        assert_eq!(mask_uscc("91350100M000100Y43"), "91350100********43");
    }

    #[test]
    fn a_phone_keeps_its_first_three_and_last_four_digits_r_pii() {
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("1234567"), "*******");
    }

    #[test]
    fn names_keep_the_family_name_r_pii() {
        assert_eq!(mask_name("张三丰"), "张*丰");
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("欧阳娜娜"), "欧**娜");
        assert_eq!(mask_name("张"), "*");
        assert_eq!(mask_name(" "), "");
    }
}
