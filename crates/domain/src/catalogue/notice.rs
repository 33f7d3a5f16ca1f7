//! The one-time notice (一次性告知单, R-ACCEPT-5D): from an item and the applicant's answers
//! to its situation questions, the complete list of materials to bring, given once and in
//! writing. The notice page prints it; the case engine compares it with what was received.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{
    ItemKind, MaterialForm, MaterialMedium, MaterialRequirement, ServiceItem, SituationOption,
};
use crate::{Problems, Result};

/// Situation code → chosen option code.
pub type Answers = BTreeMap<String, String>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OneTimeNotice {
    pub item: String,
    pub item_name: String,
    pub kind: ItemKind,
    pub statutory_limit_days: u32,
    pub committed_limit_days: u32,
    /// The answers given, in the item's question order.
    pub answers: Vec<ChosenAnswer>,
    /// Questions not answered yet: the list below is complete only once they are.
    pub missing_answers: Vec<OpenQuestion>,
    /// Every material needed for the answers given, in the item's order.
    pub materials: Vec<NoticeMaterial>,
    /// Materials that depend on an unanswered question (needed for some of its answers).
    pub conditional_materials: Vec<NoticeMaterial>,
    /// True when every question is answered, so `materials` is the final list.
    pub complete: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChosenAnswer {
    pub question: String,
    pub question_text: String,
    pub answer: String,
    pub answer_label: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenQuestion {
    pub question: String,
    pub question_text: String,
    pub options: Vec<SituationOption>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoticeMaterial {
    pub code: String,
    pub name: String,
    pub form: MaterialForm,
    pub form_label: &'static str,
    pub copies: u32,
    pub medium: MaterialMedium,
    pub medium_label: &'static str,
    pub template: Option<String>,
    pub note: String,
    /// When the material is needed, in words (`「是否委托他人办理」为「是」时`); `None` when always.
    pub condition: Option<String>,
}

/// The notice for `answers`. An answer to a question the item does not ask, or an option the
/// question does not offer, is refused with every such problem listed (field `answers.<code>`).
pub fn one_time_notice(item: &ServiceItem, answers: &Answers) -> Result<OneTimeNotice> {
    let mut p = Problems::new();
    for (q, a) in answers {
        match item.situations.iter().find(|s| &s.code == q) {
            None => p.add(
                format!("answers.{q}"),
                format!("事项「{}」没有办理情形 {q}", item.name),
            ),
            Some(s) if !s.options.iter().any(|o| &o.code == a) => p.add(
                format!("answers.{q}"),
                format!("「{}」没有选项 {a}", s.question),
            ),
            Some(_) => {}
        }
    }
    p.finish()?;

    let mut chosen = Vec::new();
    let mut missing = Vec::new();
    for s in &item.situations {
        match answers.get(&s.code) {
            Some(a) => {
                let label = s
                    .options
                    .iter()
                    .find(|o| &o.code == a)
                    .map(|o| o.label.clone())
                    .unwrap_or_default();
                chosen.push(ChosenAnswer {
                    question: s.code.clone(),
                    question_text: s.question.clone(),
                    answer: a.clone(),
                    answer_label: label,
                });
            }
            None => missing.push(OpenQuestion {
                question: s.code.clone(),
                question_text: s.question.clone(),
                options: s.options.clone(),
            }),
        }
    }

    let mut materials = Vec::new();
    let mut conditional = Vec::new();
    for m in &item.materials {
        match &m.required_if {
            None => materials.push(notice_material(item, m)),
            Some(cond) => match answers.get(&cond.question) {
                Some(a) if cond.answers.contains(a) => materials.push(notice_material(item, m)),
                Some(_) => {}
                None => conditional.push(notice_material(item, m)),
            },
        }
    }
    Ok(OneTimeNotice {
        item: item.code.clone(),
        item_name: item.name.clone(),
        kind: item.kind,
        statutory_limit_days: item.statutory_limit_days,
        committed_limit_days: item.committed_limit_days,
        complete: missing.is_empty(),
        answers: chosen,
        missing_answers: missing,
        materials,
        conditional_materials: conditional,
    })
}

fn notice_material(item: &ServiceItem, m: &MaterialRequirement) -> NoticeMaterial {
    let condition = m.required_if.as_ref().map(|cond| {
        let s = item.situations.iter().find(|s| s.code == cond.question);
        let question = s.map_or(cond.question.as_str(), |s| s.question.as_str());
        let labels: Vec<&str> = cond
            .answers
            .iter()
            .map(|a| {
                s.and_then(|s| s.options.iter().find(|o| &o.code == a))
                    .map_or(a.as_str(), |o| o.label.as_str())
            })
            .collect();
        format!("「{question}」为「{}」时", labels.join("」或「"))
    });
    NoticeMaterial {
        code: m.code.clone(),
        name: m.name.clone(),
        form: m.form,
        form_label: m.form.label(),
        copies: m.copies,
        medium: m.medium,
        medium_label: m.medium.label(),
        template: m.template.clone(),
        note: m.note.clone(),
        condition,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::fixtures::sample_item;

    fn answers(pairs: &[(&str, &str)]) -> Answers {
        pairs
            .iter()
            .map(|(q, a)| (q.to_string(), a.to_string()))
            .collect()
    }

    fn codes(ms: &[NoticeMaterial]) -> Vec<&str> {
        ms.iter().map(|m| m.code.as_str()).collect()
    }

    #[test]
    fn with_every_question_answered_the_notice_lists_exactly_the_materials_that_apply() {
        let item = sample_item();
        let n = one_time_notice(&item, &answers(&[("agent", "yes"), ("kind", "person")])).unwrap();
        assert!(n.complete);
        assert_eq!(codes(&n.materials), ["ID", "FORM", "POA"]);
        assert!(n.conditional_materials.is_empty());
        assert!(n.missing_answers.is_empty());
        assert_eq!(n.answers[0].answer_label, "是");

        let n = one_time_notice(&item, &answers(&[("agent", "no"), ("kind", "person")])).unwrap();
        assert_eq!(codes(&n.materials), ["ID", "FORM"]);
    }

    #[test]
    fn an_unanswered_question_is_reported_and_its_materials_are_listed_as_conditional() {
        let item = sample_item();
        let n = one_time_notice(&item, &answers(&[("kind", "person")])).unwrap();
        assert!(!n.complete);
        assert_eq!(n.missing_answers.len(), 1);
        assert_eq!(n.missing_answers[0].question, "agent");
        assert_eq!(codes(&n.materials), ["ID", "FORM"]);
        assert_eq!(codes(&n.conditional_materials), ["POA"]);
        assert_eq!(
            n.conditional_materials[0].condition.as_deref(),
            Some("「是否委托他人办理」为「是」时")
        );
    }

    #[test]
    fn the_notice_carries_form_copies_and_medium_of_each_material() {
        let item = sample_item();
        let n = one_time_notice(&item, &answers(&[("agent", "yes"), ("kind", "person")])).unwrap();
        let poa = &n.materials[2];
        assert_eq!(poa.form_label, "原件");
        assert_eq!(poa.copies, 1);
        assert_eq!(poa.medium_label, "纸质");
        let id = &n.materials[0];
        assert_eq!(id.form_label, "原件及复印件");
        assert_eq!(id.copies, 2);
        assert_eq!(id.note, "须在有效期内");
    }

    #[test]
    fn unknown_questions_and_options_are_refused_all_at_once() {
        let item = sample_item();
        let e =
            one_time_notice(&item, &answers(&[("agent", "maybe"), ("colour", "red")])).unwrap_err();
        let fields: Vec<&str> = e.fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["answers.agent", "answers.colour"]);
    }
}
