//! Token-based execution of a process graph (the BPMN semantics, for structured processes).
//!
//! A token waits at a user task, a timer or a parallel join. When it moves on it passes through
//! gateways at once: a parallel split gives every branch its own token, an exclusive split sends
//! it down the flow the situation answers choose, a merge lets it pass, and a parallel join
//! lets one token through once a token has arrived on each incoming flow. A token reaching an
//! end is consumed. The result is a [`Movement`]: which tokens left and which arrived, exactly
//! what the `TokensMoved` event records.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;

use crate::case::events::Token;
use crate::case::process::{NodeKind, ProcessDefinition};
use crate::error::{Error, Result};

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Movement {
    pub removed: Vec<u32>,
    pub placed: Vec<Token>,
}

pub struct Runner<'a> {
    pub process: &'a ProcessDefinition,
    pub answers: &'a BTreeMap<String, String>,
    pub at: NaiveDateTime,
}

impl Runner<'_> {
    /// The first tokens of a case entering the process.
    pub fn start(&self, tokens: &[Token], next_id: u32) -> Result<Movement> {
        let start = self.process.start().ok_or_else(|| {
            Error::internal(format!("process {} has no start", self.process.code))
        })?;
        let mut run = Run::new(self, tokens, next_id);
        run.go(Step::Leave(start.id.clone(), Vec::new()))?;
        Ok(run.movement)
    }

    /// Moves the token `id` on from where it waits; `trail` is what the new token on the same
    /// thread remembers (the caller adds the step just completed).
    pub fn advance(
        &self,
        tokens: &[Token],
        next_id: u32,
        id: u32,
        trail: Vec<String>,
    ) -> Result<Movement> {
        let token = tokens
            .iter()
            .find(|t| t.id == id)
            .ok_or_else(|| Error::internal(format!("no token {id}")))?;
        let mut run = Run::new(self, tokens, next_id);
        run.movement.removed.push(id);
        run.go(Step::Leave(token.node.clone(), trail))?;
        Ok(run.movement)
    }

    /// Puts the thread of token `id` back at `node` (a step returned to its predecessor).
    pub fn move_back(&self, next_id: u32, id: u32, node: &str, trail: Vec<String>) -> Movement {
        Movement {
            removed: vec![id],
            placed: vec![Token {
                id: next_id,
                node: node.to_string(),
                since: self.at,
                trail,
                claimed_by: None,
            }],
        }
    }
}

enum Step {
    /// Follow the outgoing flows of a node.
    Leave(String, Vec<String>),
    /// A token arrives at a node.
    Arrive(String, Vec<String>),
}

struct Run<'r, 'a> {
    runner: &'r Runner<'a>,
    existing: &'r [Token],
    next_id: u32,
    movement: Movement,
}

/// A process is a finite DAG, so a movement touches each node at most once per thread; this
/// only guards against a definition that slipped past validation.
const MAX_STEPS: usize = 10_000;

impl<'r, 'a> Run<'r, 'a> {
    fn new(runner: &'r Runner<'a>, existing: &'r [Token], next_id: u32) -> Self {
        Run {
            runner,
            existing,
            next_id,
            movement: Movement::default(),
        }
    }

    fn go(&mut self, first: Step) -> Result<()> {
        let process = self.runner.process;
        let mut pending = vec![first];
        let mut steps = 0;
        while let Some(step) = pending.pop() {
            steps += 1;
            if steps > MAX_STEPS {
                return Err(Error::internal(format!(
                    "process {} does not terminate",
                    process.code
                )));
            }
            match step {
                Step::Leave(id, trail) => {
                    let node = self.node(&id)?;
                    let flows: Vec<&str> = process.outgoing(&id).map(|f| f.to.as_str()).collect();
                    let targets = match node.kind {
                        NodeKind::ExclusiveGateway if flows.len() > 1 => {
                            vec![process.choose(&id, self.runner.answers)?.to.as_str()]
                        }
                        _ => flows,
                    };
                    // A parallel split starts fresh threads: nothing to return to across it.
                    let split = node.kind == NodeKind::ParallelGateway && targets.len() > 1;
                    for to in targets.into_iter().rev() {
                        let trail = if split { Vec::new() } else { trail.clone() };
                        pending.push(Step::Arrive(to.to_string(), trail));
                    }
                }
                Step::Arrive(id, trail) => match self.node(&id)?.kind {
                    NodeKind::End => {}
                    NodeKind::UserTask(_) | NodeKind::Timer { .. } => self.place(&id, trail),
                    NodeKind::ParallelGateway if process.incoming_count(&id) > 1 => {
                        self.place(&id, Vec::new());
                        if let Some(waiting) = self.join_ready(&id) {
                            for t in waiting {
                                self.take(t);
                            }
                            pending.push(Step::Leave(id, Vec::new()));
                        }
                    }
                    NodeKind::ParallelGateway | NodeKind::ExclusiveGateway => {
                        pending.push(Step::Leave(id, trail))
                    }
                    NodeKind::Start => {
                        return Err(Error::internal(format!("a flow leads into the start {id}")));
                    }
                },
            }
        }
        Ok(())
    }

    fn node(&self, id: &str) -> Result<&'a crate::case::process::Node> {
        self.runner
            .process
            .node(id)
            .ok_or_else(|| Error::internal(format!("unknown node {id}")))
    }

    fn place(&mut self, node: &str, trail: Vec<String>) {
        self.movement.placed.push(Token {
            id: self.next_id,
            node: node.to_string(),
            since: self.runner.at,
            trail,
            claimed_by: None,
        });
        self.next_id += 1;
    }

    /// The tokens waiting at join `node`, once one has come in on every incoming flow.
    fn join_ready(&self, node: &str) -> Option<Vec<u32>> {
        let waiting: Vec<u32> = self
            .existing
            .iter()
            .filter(|t| !self.movement.removed.contains(&t.id))
            .chain(self.movement.placed.iter())
            .filter(|t| t.node == node)
            .map(|t| t.id)
            .collect();
        (waiting.len() >= self.runner.process.incoming_count(node)).then_some(waiting)
    }

    /// Consumes a token: one placed in this movement simply disappears.
    fn take(&mut self, id: u32) {
        if let Some(i) = self.movement.placed.iter().position(|t| t.id == id) {
            self.movement.placed.remove(i);
        } else {
            self.movement.removed.push(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::process::default_process;
    use crate::case::testkit::{parallel_with_choice, t};

    fn runner<'a>(p: &'a ProcessDefinition, answers: &'a BTreeMap<String, String>) -> Runner<'a> {
        Runner {
            process: p,
            answers,
            at: t(2026, 3, 2, 10, 0),
        }
    }

    fn apply(tokens: &mut Vec<Token>, m: &Movement) {
        tokens.retain(|t| !m.removed.contains(&t.id));
        tokens.extend(m.placed.iter().cloned());
    }

    fn nodes(tokens: &[Token]) -> Vec<&str> {
        let mut v: Vec<&str> = tokens.iter().map(|t| t.node.as_str()).collect();
        v.sort();
        v
    }

    #[test]
    fn the_default_process_starts_at_its_review_step() {
        let p = default_process(5);
        let answers = BTreeMap::new();
        let m = runner(&p, &answers).start(&[], 0).unwrap();
        assert_eq!(nodes(&m.placed), ["review"]);
        assert!(m.removed.is_empty());
    }

    #[test]
    fn a_parallel_split_runs_both_branches_and_the_join_waits_for_both() {
        let p = parallel_with_choice();
        let answers = BTreeMap::from([("scope".to_string(), "food".to_string())]);
        let r = runner(&p, &answers);
        let mut tokens = Vec::new();
        let m = r.start(&tokens, 0).unwrap();
        apply(&mut tokens, &m);
        assert_eq!(nodes(&tokens), ["food_check", "planning"]);
        // Finish `planning`: its token waits at the join.
        let planning = tokens.iter().find(|t| t.node == "planning").unwrap().id;
        let m = r
            .advance(&tokens, 2, planning, vec!["planning".into()])
            .unwrap();
        apply(&mut tokens, &m);
        assert_eq!(nodes(&tokens), ["food_check", "join"]);
        // Finish `food_check`: the join fires and the decision is reached with a fresh trail.
        let food = tokens.iter().find(|t| t.node == "food_check").unwrap().id;
        let m = r
            .advance(&tokens, 3, food, vec!["food_check".into()])
            .unwrap();
        apply(&mut tokens, &m);
        assert_eq!(nodes(&tokens), ["decide"]);
        assert!(tokens[0].trail.is_empty());
    }

    #[test]
    fn the_exclusive_choice_takes_the_default_without_a_matching_answer() {
        let p = parallel_with_choice();
        let answers = BTreeMap::from([("scope".to_string(), "none".to_string())]);
        let m = runner(&p, &answers).start(&[], 0).unwrap();
        assert_eq!(nodes(&m.placed), ["fire_check", "planning"]);
    }

    #[test]
    fn a_token_reaching_the_end_is_consumed() {
        let p = default_process(5);
        let answers = BTreeMap::new();
        let tokens = vec![Token {
            id: 7,
            node: "issue".into(),
            since: t(2026, 3, 2, 9, 0),
            trail: vec![],
            claimed_by: None,
        }];
        let m = runner(&p, &answers)
            .advance(&tokens, 8, 7, vec!["issue".into()])
            .unwrap();
        assert_eq!(
            m,
            Movement {
                removed: vec![7],
                placed: vec![]
            }
        );
    }
}
