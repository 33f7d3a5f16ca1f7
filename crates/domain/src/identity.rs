//! Identifiers of applicants: the 18-character 公民身份号码 (R-ID-18, GB 11643-1999), the
//! 统一社会信用代码 of an enterprise (R-USCC, GB 32100-2015) and mainland mobile numbers.
//!
//! Each parser normalises what a clerk may reasonably type (surrounding spaces, a lowercase `x`
//! or lowercase letters) and refuses the rest with a Chinese message that says what is wrong, so
//! the mistake is fixed at the window instead of surfacing at the department days later.
//!
//! A USCC whose check character does not match is *accepted with a warning*: codes really issued
//! in the early years of the scheme fail the check, and refusing them would turn away real
//! enterprises (R-USCC).

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::error::{Error, FieldError, Problems};

/// Why an identifier was refused: a stable code, a Chinese title and a precise message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityError {
    pub code: &'static str,
    pub title: &'static str,
    pub message: String,
}

impl IdentityError {
    fn id_number(message: impl Into<String>) -> Self {
        IdentityError {
            code: "invalid_id_number",
            title: "公民身份号码有误",
            message: message.into(),
        }
    }

    fn uscc(message: impl Into<String>) -> Self {
        IdentityError {
            code: "invalid_uscc",
            title: "统一社会信用代码有误",
            message: message.into(),
        }
    }

    fn phone(message: impl Into<String>) -> Self {
        IdentityError {
            code: "invalid_phone",
            title: "手机号码有误",
            message: message.into(),
        }
    }

    /// The platform error for this problem, attached to `field` (e.g. `applicant.id_number`).
    pub fn into_error(self, field: &str) -> Error {
        Error::invalid(self.code, self.title).field(field, self.message)
    }

    /// Adds the problem to a validation that reports every field at once.
    pub fn report(self, problems: &mut Problems, field: &str) {
        problems.add(field, self.message);
    }

    pub fn field_error(&self, field: &str) -> FieldError {
        FieldError {
            field: field.to_string(),
            message: self.message.clone(),
        }
    }
}

impl std::fmt::Display for IdentityError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}：{}", self.title, self.message)
    }
}

impl std::error::Error for IdentityError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Male,
    Female,
}

impl Sex {
    pub fn label(self) -> &'static str {
        match self {
            Sex::Male => "男",
            Sex::Female => "女",
        }
    }
}

/// A checked 公民身份号码 with what it encodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdNumber {
    /// The normalised number (uppercase `X`).
    pub number: String,
    pub birth_date: NaiveDate,
    pub sex: Sex,
}

const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK: [u8; 11] = *b"10X98765432";

/// Province-level codes of GB/T 2260 (the first two digits of the area code), plus 83 used by
/// residence permits of Taiwan residents.
const PROVINCES: [u32; 35] = [
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52,
    53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83,
];

/// The earliest birth year an ID number may carry.
const EARLIEST_BIRTH_YEAR: i32 = 1850;

/// R-ID-18: checks an 18-character 公民身份号码 against GB 11643-1999. `today` bounds the birth
/// date (nobody is born in the future); there is no lower bound, since old people hold
/// valid numbers (440524188001010014 was born in 1880).
pub fn parse_id_number(raw: &str, today: NaiveDate) -> Result<IdNumber, IdentityError> {
    let number = raw.trim().to_ascii_uppercase();
    let bytes = number.as_bytes();
    if bytes.is_empty() {
        return Err(IdentityError::id_number("请填写公民身份号码"));
    }
    if bytes.len() == 15 && bytes.iter().all(u8::is_ascii_digit) {
        return Err(IdentityError::id_number(
            "15 位旧身份证号码已停止使用，请提供 18 位公民身份号码",
        ));
    }
    if number.chars().count() != 18 {
        return Err(IdentityError::id_number(format!(
            "公民身份号码应为 18 位，当前为 {} 位",
            number.chars().count()
        )));
    }
    if !bytes[..17].iter().all(u8::is_ascii_digit)
        || !(bytes[17].is_ascii_digit() || bytes[17] == b'X')
    {
        return Err(IdentityError::id_number(
            "公民身份号码前 17 位应为数字，最后一位为数字或 X",
        ));
    }
    let digit = |i: usize| u32::from(bytes[i] - b'0');
    let province = digit(0) * 10 + digit(1);
    if !PROVINCES.contains(&province) {
        return Err(IdentityError::id_number(
            "地址码（前 6 位）不是有效的行政区划代码",
        ));
    }
    let year = (6..10).fold(0, |acc, i| acc * 10 + digit(i)) as i32;
    let month = digit(10) * 10 + digit(11);
    let day = digit(12) * 10 + digit(13);
    let birth_date = NaiveDate::from_ymd_opt(year, month, day)
        .ok_or_else(|| IdentityError::id_number("出生日期（第 7–14 位）不是有效的日期"))?;
    if birth_date > today {
        return Err(IdentityError::id_number(
            "出生日期（第 7–14 位）晚于今天，请核对号码",
        ));
    }
    // Year 0000 or 1800 is a typing error, not a person (and would earn elderly priority at the
    // kiosk). The bound stays loose: R-ID-18 itself gives a number born in 1880 as valid.
    if year < EARLIEST_BIRTH_YEAR {
        return Err(IdentityError::id_number(format!(
            "出生年份（第 7–10 位）{year} 不可能，请核对号码"
        )));
    }
    let sum: u32 = (0..17).map(|i| digit(i) * ID_WEIGHTS[i]).sum();
    if ID_CHECK[(sum % 11) as usize] != bytes[17] {
        return Err(IdentityError::id_number(
            "校验码（第 18 位）不符，请核对号码是否输错",
        ));
    }
    let sex = if digit(16) % 2 == 1 {
        Sex::Male
    } else {
        Sex::Female
    };
    Ok(IdNumber {
        number,
        birth_date,
        sex,
    })
}

/// Age in whole years on `today`, as the 民法典 counts it (the birthday itself completes a year).
pub fn age_on(birth_date: NaiveDate, today: NaiveDate) -> i32 {
    let mut age = today.year() - birth_date.year();
    if (today.month(), today.day()) < (birth_date.month(), birth_date.day()) {
        age -= 1;
    }
    age
}

/// A 统一社会信用代码 that passed the length and character checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uscc {
    /// The normalised code (uppercase).
    pub code: String,
    /// Whether the 18th character matches the GB 32100 check; when not, keep the code but warn.
    pub check_ok: bool,
}

impl Uscc {
    /// The warning to show (and record) when the check character does not match.
    pub fn warning(&self) -> Option<&'static str> {
        if self.check_ok {
            None
        } else {
            Some("统一社会信用代码校验位不符，请与营业执照核对；如执照上确为此代码，可继续办理")
        }
    }
}

/// The 31 characters of GB 32100 in the order of their values (no I, O, S, V, Z).
const USCC_CHARS: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// R-USCC: checks length and characters (errors) and the check character (a warning only).
pub fn parse_uscc(raw: &str) -> Result<Uscc, IdentityError> {
    let code = raw.trim().to_ascii_uppercase();
    if code.is_empty() {
        return Err(IdentityError::uscc("请填写统一社会信用代码"));
    }
    if code.chars().count() != 18 {
        return Err(IdentityError::uscc(format!(
            "统一社会信用代码应为 18 位，当前为 {} 位",
            code.chars().count()
        )));
    }
    let values: Option<Vec<u32>> = code
        .bytes()
        .map(|b| USCC_CHARS.iter().position(|&c| c == b).map(|p| p as u32))
        .collect();
    let Some(values) = values else {
        return Err(IdentityError::uscc(
            "统一社会信用代码只能由数字和除 I、O、S、V、Z 以外的大写字母组成",
        ));
    };
    let sum: u32 = (0..17).map(|i| values[i] * USCC_WEIGHTS[i]).sum();
    let check = (31 - sum % 31) % 31;
    Ok(Uscc {
        code,
        check_ok: values[17] == check,
    })
}

/// A mainland mobile number: 11 digits starting with 1 and then 3–9. Spaces and hyphens a clerk
/// types for readability and a leading +86 are removed; the result is the bare 11 digits.
pub fn parse_mobile(raw: &str) -> Result<String, IdentityError> {
    let compact: String = raw
        .trim()
        .chars()
        .filter(|c| *c != ' ' && *c != '-')
        .collect();
    if compact.is_empty() {
        return Err(IdentityError::phone("请填写手机号码"));
    }
    let number = compact.strip_prefix("+86").unwrap_or(&compact);
    let b = number.as_bytes();
    if b.len() != 11 || !b.iter().all(u8::is_ascii_digit) {
        return Err(IdentityError::phone("手机号码应为 11 位数字"));
    }
    if b[0] != b'1' || !(b'3'..=b'9').contains(&b[1]) {
        return Err(IdentityError::phone(
            "手机号码应以 13–19 开头，请核对（座机号码请填写在备注中）",
        ));
    }
    Ok(number.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    const TODAY: (i32, u32, u32) = (2026, 3, 2);

    fn today() -> NaiveDate {
        d(TODAY.0, TODAY.1, TODAY.2)
    }

    #[test]
    fn the_standard_examples_are_valid_id_numbers_r_id_18() {
        let a = parse_id_number("11010519491231002X", today()).unwrap();
        assert_eq!(a.birth_date, d(1949, 12, 31));
        assert_eq!(a.sex, Sex::Female); // sequence 002: even
        let b = parse_id_number("440524188001010014", today()).unwrap();
        assert_eq!(b.birth_date, d(1880, 1, 1));
        assert_eq!(b.sex, Sex::Male); // sequence 001: odd
    }

    #[test]
    fn a_lowercase_x_is_accepted_and_normalised_r_id_18() {
        let a = parse_id_number(" 11010519491231002x ", today()).unwrap();
        assert_eq!(a.number, "11010519491231002X");
    }

    #[test]
    fn a_wrong_check_character_is_refused_r_id_18() {
        let e = parse_id_number("110105194912310021", today()).unwrap_err();
        assert_eq!(e.code, "invalid_id_number");
        assert!(e.message.contains("校验码"), "{}", e.message);
    }

    #[test]
    fn a_wrong_length_or_a_letter_inside_is_refused_r_id_18() {
        assert!(
            parse_id_number("1101051949123100", today())
                .unwrap_err()
                .message
                .contains("18 位")
        );
        assert!(
            parse_id_number("110105194912310", today())
                .unwrap_err()
                .message
                .contains("15 位")
        );
        assert!(
            parse_id_number("1101051949A231002X", today())
                .unwrap_err()
                .message
                .contains("数字")
        );
        assert!(
            parse_id_number("", today())
                .unwrap_err()
                .message
                .contains("请填写")
        );
    }

    /// Builds a number with a correct check character, so that only the tested part is wrong.
    fn with_check(first17: &str) -> String {
        let sum: u32 = first17
            .bytes()
            .zip(ID_WEIGHTS)
            .map(|(b, w)| u32::from(b - b'0') * w)
            .sum();
        format!("{first17}{}", ID_CHECK[(sum % 11) as usize] as char)
    }

    #[test]
    fn a_birth_date_that_does_not_exist_is_refused_r_id_18() {
        // 2023 is not a leap year.
        let e = parse_id_number(&with_check("11010520230229001"), today()).unwrap_err();
        assert!(e.message.contains("不是有效的日期"), "{}", e.message);
        assert!(parse_id_number(&with_check("11010520240229001"), today()).is_ok());
    }

    #[test]
    fn a_birth_date_after_today_is_refused_r_id_18() {
        let e = parse_id_number(&with_check("11010520260303001"), today()).unwrap_err();
        assert!(e.message.contains("晚于今天"), "{}", e.message);
        // Born today is fine.
        assert!(parse_id_number(&with_check("11010520260302001"), today()).is_ok());
    }

    #[test]
    fn an_area_code_outside_any_province_is_refused_r_id_18() {
        let e = parse_id_number(&with_check("99010519491231002"), today()).unwrap_err();
        assert!(e.message.contains("地址码"), "{}", e.message);
    }

    #[test]
    fn the_sex_follows_the_parity_of_the_sequence_r_id_18() {
        let odd = parse_id_number(&with_check("11010519900101123"), today()).unwrap();
        let even = parse_id_number(&with_check("11010519900101124"), today()).unwrap();
        assert_eq!((odd.sex, even.sex), (Sex::Male, Sex::Female));
        assert_eq!(odd.sex.label(), "男");
    }

    #[test]
    fn an_id_error_becomes_a_field_error_of_the_platform() {
        let e = parse_id_number("123", today())
            .unwrap_err()
            .into_error("applicant.id_number");
        assert_eq!(e.code, "invalid_id_number");
        assert_eq!(e.fields[0].field, "applicant.id_number");
    }

    #[test]
    fn age_counts_completed_years() {
        assert_eq!(age_on(d(2000, 3, 2), d(2026, 3, 1)), 25);
        assert_eq!(age_on(d(2000, 3, 2), d(2026, 3, 2)), 26);
    }

    #[test]
    fn the_standard_example_is_a_valid_uscc_r_uscc() {
        let u = parse_uscc("91350100M000100Y43").unwrap();
        assert!(u.check_ok);
        assert_eq!(u.warning(), None);
        assert_eq!(
            parse_uscc("91350100m000100y43").unwrap().code,
            "91350100M000100Y43"
        );
    }

    #[test]
    fn a_failed_uscc_check_is_only_a_warning_r_uscc() {
        let u = parse_uscc("91350100M000100Y44").unwrap();
        assert!(!u.check_ok);
        assert!(u.warning().unwrap().contains("校验位"));
    }

    #[test]
    fn a_uscc_check_of_31_is_written_as_zero_r_uscc() {
        // Find a body whose weighted sum is a multiple of 31 and check that 0 is expected.
        let body = (0..31u32)
            .map(|v| format!("9135010000000000{}", USCC_CHARS[v as usize] as char))
            .find(|b| {
                let s: u32 = b
                    .bytes()
                    .zip(USCC_WEIGHTS)
                    .map(|(c, w)| USCC_CHARS.iter().position(|&x| x == c).unwrap() as u32 * w)
                    .sum();
                s.is_multiple_of(31)
            })
            .expect("one of 31 last characters makes the sum divisible by 31");
        assert!(parse_uscc(&format!("{body}0")).unwrap().check_ok);
    }

    #[test]
    fn a_uscc_of_the_wrong_length_or_with_forbidden_letters_is_an_error_r_uscc() {
        assert!(
            parse_uscc("91350100M000100Y4")
                .unwrap_err()
                .message
                .contains("18 位")
        );
        // I, O, S, V and Z are not used by GB 32100.
        for bad in [
            "91350100M000100I43",
            "91350100O000100Y43",
            "9135010SM000100Y43",
        ] {
            let e = parse_uscc(bad).unwrap_err();
            assert_eq!(e.code, "invalid_uscc");
            assert!(e.message.contains("I、O、S、V、Z"), "{bad}: {}", e.message);
        }
    }

    #[test]
    fn mobile_numbers_start_with_13_to_19_and_have_11_digits() {
        assert_eq!(parse_mobile("13812345678").unwrap(), "13812345678");
        assert_eq!(parse_mobile("+86 138-1234-5678").unwrap(), "13812345678");
        assert_eq!(parse_mobile("19912345678").unwrap(), "19912345678");
        assert!(
            parse_mobile("12812345678")
                .unwrap_err()
                .message
                .contains("13–19")
        );
        assert!(
            parse_mobile("1381234567")
                .unwrap_err()
                .message
                .contains("11 位")
        );
        assert!(
            parse_mobile("0571-8888888")
                .unwrap_err()
                .message
                .contains("座机")
        );
        assert_eq!(parse_mobile(" ").unwrap_err().code, "invalid_phone");
    }

    #[test]
    fn a_birth_year_of_0000_or_1800_is_refused_but_the_rules_1880_example_stands() {
        let today = d(2026, 12, 4);
        for born in ["00000101", "18000101"] {
            let body = format!("110105{born}002");
            let sum: u32 = body
                .bytes()
                .zip(ID_WEIGHTS)
                .map(|(b, w)| u32::from(b - b'0') * w)
                .sum();
            let n = format!("{body}{}", ID_CHECK[(sum % 11) as usize] as char);
            let e = parse_id_number(&n, today).unwrap_err();
            assert!(e.message.contains("出生年份"), "{n}: {}", e.message);
        }
        assert!(parse_id_number("440524188001010014", today).is_ok());
    }
}
