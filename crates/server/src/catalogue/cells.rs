//! The text forms of catalogue values in a spreadsheet cell or a line of the admin form.
//! One format for both, documented on the xlsx 填写说明 sheet and next to the form:
//!
//! - a list: items separated by `;` (also `；` or a line break), e.g. `SCJG-001;SW-001`
//! - situation options: `选项编码=选项名称` items, e.g. `yes=是;no=否`
//! - a material's condition (适用情形): `情形编码=选项编码` with several options as a list,
//!   e.g. `agent=yes` or `kind=family;partner`; empty when the material is always needed
//! - the materials a shared material covers: `事项编码:材料编码` items, e.g. `SCJG-001:ID;SW-001:ID`
//! - yes/no: `是` or `否`; enums by their Chinese label (原件, 纸质, 承诺件, 行政许可, 县（区）…)
//!
//! Codes may not contain `;`, `=` or `:` (domain rule), so these parse back unambiguously.

use yichuang_domain::catalogue::{MaterialRef, RequiredIf, SituationOption};

pub const SEPARATOR: &str = ";";

pub fn split_list(s: &str) -> Vec<String> {
    s.split([';', '；', '\n', '\r'])
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(String::from)
        .collect()
}

pub fn join_list<S: AsRef<str>>(items: &[S]) -> String {
    items
        .iter()
        .map(|s| s.as_ref())
        .collect::<Vec<_>>()
        .join(SEPARATOR)
}

fn pair(s: &str, sep: char, example: &str) -> Result<(String, String), String> {
    match s.split_once(sep) {
        Some((a, b)) if !a.trim().is_empty() && !b.trim().is_empty() => {
            Ok((a.trim().to_string(), b.trim().to_string()))
        }
        _ => Err(format!("「{s}」格式不正确，应为 {example}")),
    }
}

pub fn format_options(options: &[SituationOption]) -> String {
    let items: Vec<String> = options
        .iter()
        .map(|o| format!("{}={}", o.code, o.label))
        .collect();
    join_list(&items)
}

pub fn parse_options(s: &str) -> Result<Vec<SituationOption>, String> {
    split_list(s)
        .iter()
        .map(|item| {
            pair(item, '=', "选项编码=选项名称，多个选项以 ; 分隔")
                .map(|(code, label)| SituationOption { code, label })
        })
        .collect()
}

pub fn format_condition(cond: Option<&RequiredIf>) -> String {
    match cond {
        None => String::new(),
        Some(c) => format!("{}={}", c.question, join_list(&c.answers)),
    }
}

pub fn parse_condition(s: &str) -> Result<Option<RequiredIf>, String> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    let (question, answers) = pair(s, '=', "情形编码=选项编码，多个选项以 ; 分隔")?;
    Ok(Some(RequiredIf {
        question,
        answers: split_list(&answers),
    }))
}

pub fn format_covers(covers: &[MaterialRef]) -> String {
    let items: Vec<String> = covers
        .iter()
        .map(|c| format!("{}:{}", c.item, c.material))
        .collect();
    join_list(&items)
}

pub fn parse_covers(s: &str) -> Result<Vec<MaterialRef>, String> {
    split_list(s)
        .iter()
        .map(|item| {
            pair(
                &item.replace('：', ":"),
                ':',
                "事项编码:材料编码，多个以 ; 分隔",
            )
            .map(|(item, material)| MaterialRef { item, material })
        })
        .collect()
}

pub fn yes_no(b: bool) -> &'static str {
    if b { "是" } else { "否" }
}

pub fn parse_yes_no(s: &str) -> Result<bool, String> {
    match s.trim() {
        "是" => Ok(true),
        "否" | "" => Ok(false),
        other => Err(format!("「{other}」应为 是 或 否")),
    }
}

/// An enum from its Chinese label, with the allowed labels in the message.
pub fn parse_label<T: Copy>(s: &str, all: &[T], label: fn(T) -> &'static str) -> Result<T, String> {
    let s = s.trim();
    all.iter().copied().find(|v| label(*v) == s).ok_or_else(|| {
        let choices: Vec<&str> = all.iter().map(|v| label(*v)).collect();
        if s.is_empty() {
            format!("请填写：{}", choices.join("、"))
        } else {
            format!("「{s}」不是有效的取值，应为：{}", choices.join("、"))
        }
    })
}

/// A count of days, copies or visits.
pub fn parse_count(s: &str) -> Result<u32, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("请填写非负整数".into());
    }
    s.parse::<u32>()
        .map_err(|_| format!("「{s}」不是有效的非负整数"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_split_on_ascii_and_full_width_semicolons_and_line_breaks() {
        assert_eq!(split_list("a; b；c\nd;;"), ["a", "b", "c", "d"]);
        assert_eq!(join_list(&["a", "b"]), "a;b");
    }

    #[test]
    fn options_conditions_and_covers_read_back_what_they_write() {
        let opts = parse_options("yes=是;no=否").unwrap();
        assert_eq!(format_options(&opts), "yes=是;no=否");
        let cond = parse_condition("kind=family;partner").unwrap();
        assert_eq!(format_condition(cond.as_ref()), "kind=family;partner");
        assert_eq!(parse_condition(" ").unwrap(), None);
        let covers = parse_covers("A:ID；B：ID").unwrap();
        assert_eq!(format_covers(&covers), "A:ID;B:ID");
    }

    #[test]
    fn malformed_list_items_say_what_the_format_is() {
        assert!(
            parse_options("yes")
                .unwrap_err()
                .contains("选项编码=选项名称")
        );
        assert!(
            parse_condition("=x")
                .unwrap_err()
                .contains("情形编码=选项编码")
        );
        assert!(
            parse_covers("A-ID")
                .unwrap_err()
                .contains("事项编码:材料编码")
        );
        assert!(parse_yes_no("对").unwrap_err().contains("是 或 否"));
        assert!(parse_count("三").unwrap_err().contains("非负整数"));
    }
}
