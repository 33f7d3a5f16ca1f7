//! The order a bundle (一件事) runs in.

use super::Bundle;

/// Member items grouped into stages: a stage holds the members whose prerequisites are all in
/// earlier stages. Members of one stage run in parallel (并联); the stages run one after another
/// (串联). `None` when the prerequisite edges form a cycle. Edges to items that are not members
/// are ignored here (validation reports them).
pub fn bundle_stages(b: &Bundle) -> Option<Vec<Vec<&str>>> {
    let is_member = |code: &str| b.items.iter().any(|m| m.item == code);
    let mut placed: Vec<&str> = Vec::with_capacity(b.items.len());
    let mut stages = Vec::new();
    while placed.len() < b.items.len() {
        let stage: Vec<&str> = b
            .items
            .iter()
            .filter(|m| !placed.contains(&m.item.as_str()))
            .filter(|m| {
                m.after
                    .iter()
                    .all(|a| !is_member(a) || (a != &m.item && placed.contains(&a.as_str())))
            })
            .map(|m| m.item.as_str())
            .collect();
        if stage.is_empty() {
            return None;
        }
        placed.extend(&stage);
        stages.push(stage);
    }
    Some(stages)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::BundleItem;

    fn bundle(edges: &[(&str, &[&str])]) -> Bundle {
        Bundle {
            code: "B".into(),
            name: "一件事".into(),
            description: String::new(),
            items: edges
                .iter()
                .map(|(item, after)| BundleItem {
                    item: item.to_string(),
                    after: after.iter().map(|s| s.to_string()).collect(),
                })
                .collect(),
            shared_materials: vec![],
        }
    }

    #[test]
    fn members_without_prerequisites_run_in_one_parallel_stage() {
        let b = bundle(&[("A", &[]), ("B", &[]), ("C", &[])]);
        assert_eq!(bundle_stages(&b), Some(vec![vec!["A", "B", "C"]]));
    }

    #[test]
    fn a_prerequisite_puts_the_member_in_a_later_stage() {
        let b = bundle(&[("C", &["A", "B"]), ("A", &[]), ("B", &["A"])]);
        assert_eq!(
            bundle_stages(&b),
            Some(vec![vec!["A"], vec!["B"], vec!["C"]])
        );
    }

    #[test]
    fn a_cycle_of_prerequisites_has_no_order() {
        let b = bundle(&[("A", &["C"]), ("B", &["A"]), ("C", &["B"]), ("D", &[])]);
        assert_eq!(bundle_stages(&b), None);
    }

    #[test]
    fn a_member_that_waits_for_itself_is_a_cycle() {
        let b = bundle(&[("A", &["A"]), ("B", &[])]);
        assert_eq!(bundle_stages(&b), None);
    }
}
