//! Who applies and what they brought: the applicant's identity (R-ID-18, R-USCC), the answers to
//! the item's situations (办理情形) and the materials those answers require.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::catalogue::{MaterialRequirement, ServiceItem};
use crate::error::Problems;
use crate::identity::{parse_id_number, parse_mobile, parse_uscc};
use crate::pii::{mask_id_number, mask_phone, mask_uscc};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplicantKind {
    Person,
    Enterprise,
}

/// 申请人. `id_number` holds the 公民身份号码 of a person or the 统一社会信用代码 of an
/// enterprise (API-V1 uses one field for both); `phone` is the person's or the enterprise
/// contact's mobile, needed for notices and callbacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applicant {
    pub kind: ApplicantKind,
    pub name: String,
    pub id_number: String,
    pub phone: String,
}

impl Applicant {
    /// Whether `other` names the same applicant: the kind and the identity number, whatever the
    /// case of its letters (a USCC's, an X) or the spaces around it.
    pub fn is_same_as(&self, other: &Applicant) -> bool {
        self.kind == other.kind
            && self
                .id_number
                .trim()
                .eq_ignore_ascii_case(other.id_number.trim())
    }

    /// Checks every field (reporting all problems at once under `applicant.*`) and returns the
    /// normalised applicant and any warnings (a USCC failing its check, R-USCC).
    pub fn checked(&self, today: NaiveDate, problems: &mut Problems) -> (Applicant, Vec<String>) {
        let mut out = self.clone();
        let mut warnings = Vec::new();
        out.name = self.name.trim().to_string();
        let name_len = out.name.chars().count();
        if name_len == 0 {
            problems.add(
                "applicant.name",
                match self.kind {
                    ApplicantKind::Person => "请填写申请人姓名",
                    ApplicantKind::Enterprise => "请填写企业名称",
                },
            );
        } else if name_len > 100 {
            problems.add("applicant.name", "名称过长（最多 100 个字）");
        }
        match self.kind {
            ApplicantKind::Person => match parse_id_number(&self.id_number, today) {
                Ok(id) => out.id_number = id.number,
                Err(e) => e.report(problems, "applicant.id_number"),
            },
            ApplicantKind::Enterprise => match parse_uscc(&self.id_number) {
                Ok(code) => {
                    warnings.extend(code.warning().map(str::to_string));
                    out.id_number = code.code;
                }
                Err(e) => e.report(problems, "applicant.id_number"),
            },
        }
        match parse_mobile(&self.phone) {
            Ok(phone) => out.phone = phone,
            Err(e) => e.report(problems, "applicant.phone"),
        }
        (out, warnings)
    }

    /// The applicant as lists, screens and logs show it (R-PII).
    /// The number a certificate prints for its holder: an enterprise's own 统一社会信用代码 in
    /// full (it is the licence's public identity, not a person's information), a person's
    /// identity number masked (R-PII).
    pub fn certificate_id(&self) -> String {
        match self.kind {
            ApplicantKind::Enterprise => self.id_number.clone(),
            ApplicantKind::Person => mask_id_number(&self.id_number),
        }
    }

    pub fn masked(&self) -> Applicant {
        Applicant {
            kind: self.kind,
            name: self.name.clone(),
            id_number: match self.kind {
                ApplicantKind::Person => mask_id_number(&self.id_number),
                ApplicantKind::Enterprise => mask_uscc(&self.id_number),
            },
            phone: mask_phone(&self.phone),
        }
    }
}

/// Checks the answers to the item's situations: every question answered with one of its
/// options, and no answer to a question the item does not ask.
pub fn check_answers(
    item: &ServiceItem,
    answers: &BTreeMap<String, String>,
    problems: &mut Problems,
) {
    for s in &item.situations {
        match answers.get(&s.code) {
            None => problems.add(
                format!("answers.{}", s.code),
                format!("请回答办理情形：{}", s.question),
            ),
            Some(a) if !s.options.iter().any(|o| &o.code == a) => problems.add(
                format!("answers.{}", s.code),
                format!("“{}”没有选项“{}”", s.question, a),
            ),
            Some(_) => {}
        }
    }
    for q in answers.keys() {
        if !item.situations.iter().any(|s| &s.code == q) {
            problems.add(
                format!("answers.{q}"),
                format!("事项“{}”没有办理情形“{}”", item.name, q),
            );
        }
    }
}

/// Material codes that are not materials of the item, reported under `field`.
pub fn check_material_codes(
    item: &ServiceItem,
    codes: &[String],
    field: &str,
    problems: &mut Problems,
) {
    for c in codes {
        if !item.materials.iter().any(|m| &m.code == c) {
            problems.add(field, format!("材料编码“{}”不属于事项“{}”", c, item.name));
        }
    }
}

/// The materials the item requires for these answers (a material with `required_if` only when
/// the answer matches).
pub fn required_materials<'a>(
    item: &'a ServiceItem,
    answers: &BTreeMap<String, String>,
) -> Vec<&'a MaterialRequirement> {
    item.materials
        .iter()
        .filter(|m| {
            m.required_if.as_ref().is_none_or(|r| {
                answers
                    .get(&r.question)
                    .is_some_and(|a| r.answers.contains(a))
            })
        })
        .collect()
}

/// The codes of required materials not among `received`, in catalogue order.
pub fn missing_materials<'a>(
    item: &'a ServiceItem,
    answers: &BTreeMap<String, String>,
    received: impl Fn(&str) -> bool,
) -> Vec<&'a MaterialRequirement> {
    required_materials(item, answers)
        .into_iter()
        .filter(|m| !received(&m.code))
        .collect()
}

/// "名称（编码）、…" for messages.
pub fn describe(materials: &[&MaterialRequirement]) -> String {
    materials
        .iter()
        .map(|m| format!("{}（{}）", m.name, m.code))
        .collect::<Vec<_>>()
        .join("、")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::testkit::{applicant, d, item};

    #[test]
    fn a_certificate_prints_an_enterprises_own_code_in_full_and_a_persons_number_masked() {
        let person = applicant();
        assert_eq!(person.certificate_id().to_uppercase(), "1101**********002X");
        let company = Applicant {
            kind: ApplicantKind::Enterprise,
            name: "云岭青丝美发有限公司".into(),
            id_number: "91350100M000100Y43".into(),
            phone: "13812345678".into(),
        };
        assert_eq!(company.certificate_id(), "91350100M000100Y43");
    }

    #[test]
    fn an_applicant_is_the_same_whatever_the_case_of_an_x_or_the_spaces_but_not_of_another_kind_or_number()
     {
        let a = applicant();
        let typed = Applicant {
            id_number: " 11010519491231002x ".into(),
            name: "张 三".into(),
            phone: String::new(),
            ..a.clone()
        };
        assert!(a.is_same_as(&typed));
        let enterprise = Applicant {
            kind: ApplicantKind::Enterprise,
            ..a.clone()
        };
        assert!(!a.is_same_as(&enterprise));
        let other = Applicant {
            id_number: "110105196001011239".into(),
            ..a.clone()
        };
        assert!(!a.is_same_as(&other));
    }

    #[test]
    fn an_applicant_is_normalised_when_valid_r_id_18() {
        let mut p = Problems::new();
        let (a, warnings) = applicant().checked(d(2026, 3, 2), &mut p);
        assert!(p.is_empty());
        assert!(warnings.is_empty());
        assert_eq!(
            (a.name.as_str(), a.id_number.as_str(), a.phone.as_str()),
            ("张三", "11010519491231002X", "13812345678")
        );
        assert_eq!(a.masked().id_number, "1101**********002X");
        assert_eq!(a.masked().phone, "138****5678");
    }

    #[test]
    fn every_applicant_problem_is_reported_at_once() {
        let mut p = Problems::new();
        let bad = Applicant {
            kind: ApplicantKind::Person,
            name: "".into(),
            id_number: "123".into(),
            phone: "456".into(),
        };
        bad.checked(d(2026, 3, 2), &mut p);
        let e = p.finish().unwrap_err();
        let fields: Vec<&str> = e.fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            fields,
            ["applicant.name", "applicant.id_number", "applicant.phone"]
        );
    }

    #[test]
    fn an_enterprise_with_a_failing_uscc_check_gets_a_warning_not_an_error_r_uscc() {
        let mut p = Problems::new();
        let e = Applicant {
            kind: ApplicantKind::Enterprise,
            name: "福州某某有限公司".into(),
            id_number: "91350100M000100Y44".into(),
            phone: "13812345678".into(),
        };
        let (a, warnings) = e.checked(d(2026, 3, 2), &mut p);
        assert!(p.is_empty());
        assert_eq!(warnings.len(), 1);
        assert_eq!(a.masked().id_number, "91350100********44");
    }

    #[test]
    fn the_required_materials_follow_the_situation_answers() {
        let item = item();
        let yes = BTreeMap::from([("agent".to_string(), "yes".to_string())]);
        let no = BTreeMap::from([("agent".to_string(), "no".to_string())]);
        let codes = |a| {
            required_materials(&item, a)
                .iter()
                .map(|m| m.code.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(codes(&yes), ["form", "licence", "proxy"]);
        assert_eq!(codes(&no), ["form", "licence"]);
        let missing = missing_materials(&item, &yes, |c| c == "form");
        assert_eq!(
            describe(&missing),
            "营业执照（licence）、授权委托书（proxy）"
        );
    }

    #[test]
    fn every_situation_must_be_answered_with_one_of_its_options() {
        let item = item();
        let mut p = Problems::new();
        check_answers(&item, &BTreeMap::new(), &mut p);
        check_answers(
            &item,
            &BTreeMap::from([
                ("agent".to_string(), "maybe".to_string()),
                ("color".to_string(), "red".to_string()),
            ]),
            &mut p,
        );
        check_material_codes(&item, &["form".into(), "nope".into()], "materials", &mut p);
        let e = p.finish().unwrap_err();
        let messages: Vec<&str> = e.fields.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "请回答办理情形：是否委托代理人",
                "请回答办理情形：经营范围是否涉及食品",
                "“是否委托代理人”没有选项“maybe”",
                "请回答办理情形：经营范围是否涉及食品",
                "事项“食品经营许可”没有办理情形“color”",
                "材料编码“nope”不属于事项“食品经营许可”",
            ]
        );
    }
}
