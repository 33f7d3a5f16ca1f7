//! A small, valid catalogue for the tests of every layer (domain, store, server): two
//! departments, three items with situations and conditional materials, one serial bundle.

use super::*;

fn material(code: &str, name: &str) -> MaterialRequirement {
    MaterialRequirement {
        code: code.into(),
        name: name.into(),
        form: MaterialForm::Original,
        copies: 1,
        medium: MaterialMedium::Paper,
        template: None,
        required_if: None,
        note: String::new(),
    }
}

fn situation(code: &str, question: &str, options: &[(&str, &str)]) -> Situation {
    Situation {
        code: code.into(),
        question: question.into(),
        options: options
            .iter()
            .map(|(c, l)| SituationOption {
                code: c.to_string(),
                label: l.to_string(),
            })
            .collect(),
    }
}

fn when(question: &str, answers: &[&str]) -> Option<RequiredIf> {
    Some(RequiredIf {
        question: question.into(),
        answers: answers.iter().map(|s| s.to_string()).collect(),
    })
}

/// 个体工商户设立登记: two questions, four materials, two of them conditional.
pub fn sample_item() -> ServiceItem {
    ServiceItem {
        code: "SCJG-001".into(),
        name: "个体工商户设立登记".into(),
        department: "SCJG".into(),
        item_type: ItemType::Licensing,
        kind: ItemKind::Committed,
        statutory_limit_days: 15,
        committed_limit_days: 3,
        legal_basis: "《促进个体工商户发展条例》".into(),
        conditions: "有经营能力的公民".into(),
        fee: String::new(),
        on_site_visits: 1,
        online: true,
        deemed_approval: false,
        special_procedures: vec![SpecialProcedure {
            name: "现场核查".into(),
            days: 5,
            counted_in_limit: false,
        }],
        situations: vec![
            situation("agent", "是否委托他人办理", &[("yes", "是"), ("no", "否")]),
            situation(
                "kind",
                "经营者类型",
                &[("person", "个人经营"), ("family", "家庭经营")],
            ),
        ],
        materials: vec![
            MaterialRequirement {
                form: MaterialForm::OriginalAndCopy,
                copies: 2,
                note: "须在有效期内".into(),
                ..material("ID", "经营者身份证明")
            },
            MaterialRequirement {
                template: Some("个体工商户登记申请书.docx".into()),
                ..material("FORM", "个体工商户登记申请书")
            },
            MaterialRequirement {
                required_if: when("agent", &["yes"]),
                ..material("POA", "授权委托书")
            },
            MaterialRequirement {
                required_if: when("kind", &["family"]),
                ..material("FAMILY", "家庭成员关系证明")
            },
        ],
        process_description: "申请—受理—审查—决定—发照".into(),
        consult_phone: "0000-12345".into(),
        location: "政务服务中心一楼 3 号窗口".into(),
        result: super::ItemResult {
            name: "食品经营许可证".into(),
            material: "food_licence".into(),
            valid_years: 5,
        },
    }
}

pub fn sample_catalogue() -> Catalogue {
    let mut second = sample_item();
    second.code = "SCJG-002".into();
    second.name = "个体工商户变更登记".into();
    let mut third = sample_item();
    third.code = "SW-001".into();
    third.name = "税务登记".into();
    third.department = "SW".into();
    Catalogue {
        regions: vec![
            Region {
                code: "330100".into(),
                name: "示范市".into(),
                parent: None,
                level: RegionLevel::City,
            },
            Region {
                code: "330102".into(),
                name: "示范区".into(),
                parent: Some("330100".into()),
                level: RegionLevel::County,
            },
        ],
        departments: vec![
            Department {
                code: "SCJG".into(),
                name: "市场监督管理局".into(),
                region: Some("330102".into()),
            },
            Department {
                code: "SW".into(),
                name: "税务局".into(),
                region: None,
            },
        ],
        items: vec![sample_item(), second, third],
        bundles: vec![Bundle {
            code: "KD".into(),
            name: "我要开店".into(),
            description: String::new(),
            items: vec![
                BundleItem {
                    item: "SCJG-001".into(),
                    after: vec![],
                },
                BundleItem {
                    item: "SW-001".into(),
                    after: vec!["SCJG-001".into()],
                },
            ],
            shared_materials: vec![SharedMaterial {
                code: "ID".into(),
                name: "身份证".into(),
                covers: vec![
                    MaterialRef {
                        item: "SCJG-001".into(),
                        material: "ID".into(),
                    },
                    MaterialRef {
                        item: "SW-001".into(),
                        material: "ID".into(),
                    },
                ],
            }],
        }],
    }
}
