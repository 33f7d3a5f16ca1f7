//! Process definitions (办理流程): the back-office steps of an item as a graph that BPMN 2.0
//! maps onto one to one: `start`/`end` events, `user_task`s, `parallel_gateway`s (split and
//! join), `exclusive_gateway`s (choice by the applicant's situation answers, with a default
//! flow) and `timer`s (intermediate timer catch events, e.g. a 公示期), joined by sequence flows.
//!
//! The graph starts once the department has the case (after acceptance at the front desk and
//! the route, which the engine handles itself because the law attaches rules to them:
//! R-ACCEPT-5D, R-ACCEPT-RECEIPT, R-ROUTE-10MIN). Every step has an *action*: `review`
//! (审核/踏勘/审批: approve or return, with an opinion), `decide` (决定: approve or deny with a
//! document number) and `issue` (制证/出件: the result reaches the applicant).
//!
//! # Rules checked on save ([`ProcessDefinition::validate`])
//!
//! * exactly one start, at least one end; every node reachable from the start and an end
//!   reachable from every node; no cycles (sending work back is the engine's *return to the
//!   previous step*, not a loop in the graph);
//! * only gateways split or merge flows; every parallel split is matched by one parallel join
//!   (structured, nesting allowed), and no branch of a parallel block ends on its own;
//! * an exclusive gateway's outgoing flows carry conditions on one situation answer each, and it
//!   has a default flow or its conditions cover every option of the questions they ask;
//! * step budgets and timer days are greater than zero;
//! * exactly one `decide` and one `issue` step, both on every path from start to end, the issue
//!   after the decision.
//!
//! Each message names the node in Chinese so an administrator knows what to fix.
//!
//! A definition is JSON/TOML friendly:
//!
//! ```json
//! {"code":"default","name":"通用办理流程","version":1,
//!  "nodes":[{"id":"start","type":"start"},
//!           {"id":"review","name":"审核","type":"user_task","role":"approver","budget_days":3},
//!           {"id":"decide","name":"决定","type":"user_task","role":"approver","budget_days":1,"action":"decide"},
//!           {"id":"issue","name":"制证出件","type":"user_task","role":"issuance","budget_days":10,"action":"issue"},
//!           {"id":"end","type":"end"}],
//!  "flows":[{"from":"start","to":"review"},{"from":"review","to":"decide"},
//!           {"from":"decide","to":"issue"},{"from":"issue","to":"end"}]}
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::access::Role;
use crate::case::clock::ISSUE_DAYS;
use crate::catalogue::Situation;
use crate::error::{Error, Problems, Result};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessDefinition {
    pub code: String,
    pub name: String,
    /// Raised on every saved change; a case keeps the version it started with.
    pub version: u32,
    pub nodes: Vec<Node>,
    pub flows: Vec<Flow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(flatten)]
    pub kind: NodeKind,
}

impl Node {
    /// How messages name the node: its name, and its id when that differs.
    pub fn label(&self) -> String {
        if self.name.is_empty() || self.name == self.id {
            format!("“{}”", self.id)
        } else {
            format!("“{}”（{}）", self.name, self.id)
        }
    }

    pub fn task(&self) -> Option<&UserTask> {
        match &self.kind {
            NodeKind::UserTask(t) => Some(t),
            _ => None,
        }
    }

    fn is_gateway(&self) -> bool {
        matches!(
            self.kind,
            NodeKind::ParallelGateway | NodeKind::ExclusiveGateway
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum NodeKind {
    Start,
    End,
    UserTask(UserTask),
    ParallelGateway,
    ExclusiveGateway,
    /// Waits `days` working days (R-FIRST-DAY counting) before the flow goes on.
    Timer {
        days: u32,
    },
}

/// A step done by a person (环节).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserTask {
    /// Department code; `None` means the item's own department.
    #[serde(default)]
    pub department: Option<String>,
    pub role: Role,
    /// Time budget in working days, counted from the day the step is reached (R-FIRST-DAY),
    /// with the case's suspensions skipped. Past it, a step of a deemed-approval item counts
    /// as approved (R-DEEMED).
    pub budget_days: u32,
    #[serde(default)]
    pub action: StepAction,
    /// When set, the step *is* a special procedure of that name (听证、检测、专家评审…): the
    /// case clock is suspended while it runs and the applicant is told it needs `budget_days`
    /// working days (R-SPECIAL-TIME).
    #[serde(default)]
    pub special_procedure: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepAction {
    /// Approve or return, with an opinion.
    #[default]
    Review,
    /// The decision: approve or deny, with a document number.
    Decide,
    /// The result reaches the applicant.
    Issue,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flow {
    pub from: String,
    pub to: String,
    /// Only on flows leaving an exclusive gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Condition>,
    /// The flow an exclusive gateway takes when no condition matches.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub default: bool,
}

/// True when the applicant's answer to `question` (a situation code) is one of `answers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Condition {
    pub question: String,
    pub answers: Vec<String>,
}

impl Condition {
    pub fn matches(&self, answers: &BTreeMap<String, String>) -> bool {
        answers
            .get(&self.question)
            .is_some_and(|a| self.answers.contains(a))
    }
}

/// The process of an item that has none of its own: 审核 → 决定 → 制证出件, done by the item's
/// department (acceptance and routing come before it, at the front desk). Review gets the
/// committed limit less the day of the decision; issuance gets the 10 working days the law
/// allows after the decision (R-ISSUE-10D).
pub fn default_process(committed_limit_days: u32) -> ProcessDefinition {
    let task = |id: &str, name: &str, role, budget_days, action| Node {
        id: id.into(),
        name: name.into(),
        kind: NodeKind::UserTask(UserTask {
            department: None,
            role,
            budget_days,
            action,
            special_procedure: None,
        }),
    };
    let event = |id: &str, name: &str, kind| Node {
        id: id.into(),
        name: name.into(),
        kind,
    };
    let flow = |from: &str, to: &str| Flow {
        from: from.into(),
        to: to.into(),
        condition: None,
        default: false,
    };
    ProcessDefinition {
        code: "default".into(),
        name: "通用办理流程".into(),
        version: 1,
        nodes: vec![
            event("start", "开始", NodeKind::Start),
            task(
                "review",
                "审核",
                Role::Approver,
                committed_limit_days.saturating_sub(1).max(1),
                StepAction::Review,
            ),
            task("decide", "决定", Role::Approver, 1, StepAction::Decide),
            task(
                "issue",
                "制证出件",
                Role::Issuance,
                ISSUE_DAYS as u32,
                StepAction::Issue,
            ),
            event("end", "办结", NodeKind::End),
        ],
        flows: vec![
            flow("start", "review"),
            flow("review", "decide"),
            flow("decide", "issue"),
            flow("issue", "end"),
        ],
    }
}

/// Indices of the graph, built once per validation or traversal.
struct Graph<'a> {
    def: &'a ProcessDefinition,
    index: HashMap<&'a str, usize>,
    outs: Vec<Vec<usize>>,
    ins: Vec<Vec<usize>>,
}

impl<'a> Graph<'a> {
    /// Indexes the nodes; flows to unknown nodes are left out (validation reports them).
    fn new(def: &'a ProcessDefinition) -> Self {
        let index: HashMap<&str, usize> = def
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.id.as_str(), i))
            .collect();
        let mut outs = vec![Vec::new(); def.nodes.len()];
        let mut ins = vec![Vec::new(); def.nodes.len()];
        for f in &def.flows {
            if let (Some(&a), Some(&b)) = (index.get(f.from.as_str()), index.get(f.to.as_str())) {
                outs[a].push(b);
                ins[b].push(a);
            }
        }
        Graph {
            def,
            index,
            outs,
            ins,
        }
    }

    fn node(&self, i: usize) -> &'a Node {
        &self.def.nodes[i]
    }

    /// Nodes reachable from `from` along `edges`, never entering `blocked`.
    fn reach(&self, from: &[usize], edges: &[Vec<usize>], blocked: Option<usize>) -> Vec<bool> {
        let mut seen = vec![false; self.def.nodes.len()];
        let mut queue: VecDeque<usize> = from
            .iter()
            .copied()
            .filter(|&i| Some(i) != blocked)
            .collect();
        for &i in &queue {
            seen[i] = true;
        }
        while let Some(i) = queue.pop_front() {
            for &j in &edges[i] {
                if !seen[j] && Some(j) != blocked {
                    seen[j] = true;
                    queue.push_back(j);
                }
            }
        }
        seen
    }

    /// A node on a cycle, if there is one (Kahn's algorithm: what cannot be ordered is cyclic).
    fn node_on_cycle(&self) -> Option<usize> {
        let mut indegree: Vec<usize> = self.ins.iter().map(Vec::len).collect();
        let mut queue: VecDeque<usize> =
            (0..indegree.len()).filter(|&i| indegree[i] == 0).collect();
        let mut ordered = 0;
        while let Some(i) = queue.pop_front() {
            ordered += 1;
            for &j in &self.outs[i] {
                indegree[j] -= 1;
                if indegree[j] == 0 {
                    queue.push_back(j);
                }
            }
        }
        if ordered == indegree.len() {
            return None;
        }
        (0..indegree.len()).find(|&i| indegree[i] > 0)
    }
}

/// Where a walk through a structured block stops.
enum Reach {
    End,
    Merge(usize),
}

impl ProcessDefinition {
    pub fn node(&self, id: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.id == id)
    }

    pub fn start(&self) -> Option<&Node> {
        self.nodes.iter().find(|n| n.kind == NodeKind::Start)
    }

    pub fn outgoing<'a>(&'a self, id: &'a str) -> impl Iterator<Item = &'a Flow> + 'a {
        self.flows.iter().filter(move |f| f.from == id)
    }

    pub fn incoming_count(&self, id: &str) -> usize {
        self.flows.iter().filter(|f| f.to == id).count()
    }

    /// The flow an exclusive gateway takes for these answers: the first flow whose condition
    /// matches, else the default flow.
    pub fn choose<'a>(
        &'a self,
        gateway: &'a str,
        answers: &BTreeMap<String, String>,
    ) -> Result<&'a Flow> {
        let flows: Vec<&Flow> = self.outgoing(gateway).collect();
        flows
            .iter()
            .find(|f| f.condition.as_ref().is_some_and(|c| c.matches(answers)))
            .or_else(|| flows.iter().find(|f| f.default))
            .copied()
            .ok_or_else(|| {
                let label = self.node(gateway).map_or_else(|| gateway.to_string(), Node::label);
                Error::conflict(
                    "no_matching_flow",
                    format!("办理情形的回答不满足网关{label}的任何条件，且该网关没有默认流向，无法继续办理"),
                )
            })
    }

    /// R-process validation on save. `situations` are those of the item the process is for;
    /// exclusive gateways are checked against them.
    pub fn validate(&self, situations: &[Situation]) -> Result<()> {
        let mut p = Problems::new();
        self.check_header(&mut p);
        self.check_nodes(&mut p);
        self.check_flows(&mut p);
        if !p.is_empty() {
            return p.finish();
        }
        let g = Graph::new(self);
        self.check_degrees(&g, &mut p);
        if !p.is_empty() {
            return p.finish();
        }
        self.check_reachability(&g, &mut p);
        if let Some(i) = g.node_on_cycle() {
            p.add(
                "flows",
                format!(
                    "流程不能有回路：节点{}处在一个回路上（需要退回时请使用“退回上一环节”）",
                    g.node(i).label()
                ),
            );
        }
        if !p.is_empty() {
            return p.finish();
        }
        self.check_structure(&g, &mut p);
        self.check_exclusive_coverage(&g, situations, &mut p);
        self.check_decide_and_issue(&g, &mut p);
        p.finish()
    }

    fn check_header(&self, p: &mut Problems) {
        p.check(!self.code.trim().is_empty(), "code", "请填写流程编码");
        p.check(!self.name.trim().is_empty(), "name", "请填写流程名称");
        p.check(self.version >= 1, "version", "流程版本号从 1 开始");
    }

    fn check_nodes(&self, p: &mut Problems) {
        let mut seen = BTreeSet::new();
        for (i, n) in self.nodes.iter().enumerate() {
            let field = format!("nodes[{i}]");
            if n.id.trim().is_empty() {
                p.add(&field, "节点编号不能为空");
                continue;
            }
            if !seen.insert(n.id.as_str()) {
                p.add(&field, format!("节点编号“{}”重复", n.id));
            }
            match &n.kind {
                NodeKind::UserTask(t) => {
                    if n.name.trim().is_empty() {
                        p.add(&field, format!("环节“{}”需要名称（办事人会看到它）", n.id));
                    }
                    if t.budget_days == 0 {
                        p.add(
                            &field,
                            format!("环节{}的办理时限必须大于 0 个工作日", n.label()),
                        );
                    }
                    if t.department.as_deref().is_some_and(|d| d.trim().is_empty()) {
                        p.add(&field, format!("环节{}的部门编码不能为空字符串", n.label()));
                    }
                    if t.special_procedure
                        .as_deref()
                        .is_some_and(|s| s.trim().is_empty())
                    {
                        p.add(
                            &field,
                            format!("环节{}标为特别程序，但没有写明程序名称", n.label()),
                        );
                    }
                    if t.special_procedure.is_some() && t.action != StepAction::Review {
                        p.add(
                            &field,
                            format!("环节{}：决定和出件环节不能作为特别程序", n.label()),
                        );
                    }
                }
                NodeKind::Timer { days: 0 } => {
                    p.add(&field, format!("定时节点{}的等待天数必须大于 0", n.label()));
                }
                _ => {}
            }
        }
        let starts = self
            .nodes
            .iter()
            .filter(|n| n.kind == NodeKind::Start)
            .count();
        if starts != 1 {
            p.add(
                "nodes",
                format!("流程必须恰好有一个开始节点，现有 {starts} 个"),
            );
        }
        if !self.nodes.iter().any(|n| n.kind == NodeKind::End) {
            p.add("nodes", "流程至少需要一个结束节点");
        }
    }

    fn check_flows(&self, p: &mut Problems) {
        let mut seen = BTreeSet::new();
        for (i, f) in self.flows.iter().enumerate() {
            let field = format!("flows[{i}]");
            for end in [&f.from, &f.to] {
                if self.node(end).is_none() {
                    p.add(&field, format!("顺序流引用了不存在的节点“{end}”"));
                }
            }
            if f.from == f.to {
                p.add(&field, format!("顺序流不能从节点“{}”指向它自己", f.from));
            }
            if !seen.insert((f.from.as_str(), f.to.as_str())) {
                p.add(&field, format!("从“{}”到“{}”的顺序流重复", f.from, f.to));
            }
        }
    }

    fn check_degrees(&self, g: &Graph, p: &mut Problems) {
        for (i, n) in self.nodes.iter().enumerate() {
            let (ins, outs) = (g.ins[i].len(), g.outs[i].len());
            let field = format!("nodes[{i}]");
            let label = n.label();
            match n.kind {
                NodeKind::Start if ins > 0 || outs != 1 => {
                    p.add(&field, format!("开始节点{label}不能有进入的流，且只能有一条流出"))
                }
                NodeKind::End if outs > 0 => {
                    p.add(&field, format!("结束节点{label}不能有流出"))
                }
                NodeKind::UserTask(_) | NodeKind::Timer { .. } if outs != 1 => p.add(
                    &field,
                    format!("节点{label}必须恰好有一条流出（分支请使用网关）"),
                ),
                NodeKind::UserTask(_) | NodeKind::Timer { .. } if ins > 1 => p.add(
                    &field,
                    format!("节点{label}有多条流进入（汇合请使用网关）"),
                ),
                NodeKind::ParallelGateway | NodeKind::ExclusiveGateway
                    if !((ins == 1 && outs >= 2) || (ins >= 2 && outs == 1)) =>
                {
                    p.add(
                        &field,
                        format!("网关{label}应为分支（一进多出）或汇合（多进一出），现为 {ins} 进 {outs} 出"),
                    )
                }
                _ => {}
            }
            let conditional = self
                .outgoing(&n.id)
                .filter(|f| f.condition.is_some() || f.default);
            let is_exclusive_split = n.kind == NodeKind::ExclusiveGateway && outs >= 2;
            if !is_exclusive_split && conditional.count() > 0 {
                p.add(
                    &field,
                    format!("只有排他网关的分支流可以带条件或设为默认流（节点{label}）"),
                );
            }
            if is_exclusive_split {
                let flows: Vec<&Flow> = self.outgoing(&n.id).collect();
                let defaults = flows.iter().filter(|f| f.default).count();
                if defaults > 1 {
                    p.add(&field, format!("排他网关{label}只能有一条默认流"));
                }
                for f in &flows {
                    match (&f.condition, f.default) {
                        (None, false) => p.add(
                            &field,
                            format!("排他网关{label}通往“{}”的流既没有条件也不是默认流", f.to),
                        ),
                        (Some(_), true) => p.add(
                            &field,
                            format!("排他网关{label}的默认流（通往“{}”）不应再带条件", f.to),
                        ),
                        (Some(c), false) if c.answers.is_empty() => p.add(
                            &field,
                            format!("排他网关{label}通往“{}”的条件没有列出任何回答", f.to),
                        ),
                        _ => {}
                    }
                }
            }
        }
    }

    fn check_reachability(&self, g: &Graph, p: &mut Problems) {
        let start: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| self.nodes[i].kind == NodeKind::Start)
            .collect();
        let ends: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| self.nodes[i].kind == NodeKind::End)
            .collect();
        let from_start = g.reach(&start, &g.outs, None);
        let to_end = g.reach(&ends, &g.ins, None);
        for (i, n) in self.nodes.iter().enumerate() {
            if !from_start[i] {
                p.add(
                    format!("nodes[{i}]"),
                    format!("节点{}从开始节点无法到达", n.label()),
                );
            } else if !to_end[i] {
                p.add(
                    format!("nodes[{i}]"),
                    format!("从节点{}无法到达结束节点", n.label()),
                );
            }
        }
    }

    fn check_structure(&self, g: &Graph, p: &mut Problems) {
        let start = g.index[self.start().expect("checked").id.as_str()];
        match self.walk(g, start, false) {
            Ok(Reach::End) => {}
            Ok(Reach::Merge(m)) => p.add(
                "flows",
                format!("汇合网关{}没有与之对应的分支网关", g.node(m).label()),
            ),
            Err(message) => p.add("flows", message),
        }
    }

    /// Follows the flow from `n` through nested split/join blocks to the first merge that is
    /// not its own, or to an end. `in_parallel`: inside a parallel block an end is an error,
    /// since its join would wait for that branch for ever.
    fn walk(
        &self,
        g: &Graph,
        mut n: usize,
        in_parallel: bool,
    ) -> std::result::Result<Reach, String> {
        loop {
            let node = g.node(n);
            match node.kind {
                NodeKind::End if in_parallel => {
                    return Err(format!(
                        "并行分支不能直接结束（结束节点{}），各分支须先汇合",
                        node.label()
                    ));
                }
                NodeKind::End => return Ok(Reach::End),
                _ if node.is_gateway() && g.ins[n].len() > 1 => return Ok(Reach::Merge(n)),
                NodeKind::ParallelGateway => {
                    let mut joins = BTreeSet::new();
                    for &b in &g.outs[n] {
                        match self.walk(g, b, true)? {
                            Reach::Merge(j) => joins.insert(j),
                            Reach::End => {
                                unreachable!("an end inside a parallel block is an error")
                            }
                        };
                    }
                    let join = match joins.into_iter().collect::<Vec<_>>()[..] {
                        [j] if g.node(j).kind == NodeKind::ParallelGateway
                            && g.ins[j].len() == g.outs[n].len() =>
                        {
                            j
                        }
                        _ => {
                            return Err(format!(
                                "并行网关{}的 {} 条分支必须汇合到同一个并行汇合网关，且该汇合网关不接收其他流",
                                node.label(),
                                g.outs[n].len()
                            ));
                        }
                    };
                    n = g.outs[join][0];
                }
                NodeKind::ExclusiveGateway => {
                    let mut merges = BTreeMap::new();
                    for &b in &g.outs[n] {
                        if let Reach::Merge(m) = self.walk(g, b, in_parallel)? {
                            *merges.entry(m).or_insert(0) += 1;
                        }
                    }
                    let merge = match merges.into_iter().collect::<Vec<_>>()[..] {
                        [] => return Ok(Reach::End),
                        [(m, count)]
                            if g.node(m).kind == NodeKind::ExclusiveGateway
                                && g.ins[m].len() == count =>
                        {
                            m
                        }
                        _ => {
                            return Err(format!(
                                "排他网关{}的分支必须汇合到同一个排他汇合网关（或直接结束），且该汇合网关不接收其他流",
                                node.label()
                            ));
                        }
                    };
                    n = g.outs[merge][0];
                }
                _ => n = g.outs[n][0],
            }
        }
    }

    fn check_exclusive_coverage(&self, g: &Graph, situations: &[Situation], p: &mut Problems) {
        for (i, n) in self.nodes.iter().enumerate() {
            if n.kind != NodeKind::ExclusiveGateway || g.outs[i].len() < 2 {
                continue;
            }
            let field = format!("nodes[{i}]");
            let flows: Vec<&Flow> = self.outgoing(&n.id).collect();
            let mut asked: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
            for c in flows.iter().filter_map(|f| f.condition.as_ref()) {
                let Some(s) = situations.iter().find(|s| s.code == c.question) else {
                    p.add(
                        &field,
                        format!(
                            "排他网关{}的条件引用了事项没有的办理情形“{}”",
                            n.label(),
                            c.question
                        ),
                    );
                    continue;
                };
                for a in &c.answers {
                    if !s.options.iter().any(|o| &o.code == a) {
                        p.add(
                            &field,
                            format!(
                                "排他网关{}：办理情形“{}”没有选项“{}”",
                                n.label(),
                                s.question,
                                a
                            ),
                        );
                    }
                }
                asked
                    .entry(s.code.as_str())
                    .or_default()
                    .extend(c.answers.iter().map(String::as_str));
            }
            if flows.iter().any(|f| f.default) {
                continue;
            }
            // Without a default, one question must be asked and each of its options answered,
            // or some applicant's case would stop at this gateway.
            let covered = asked.len() == 1
                && asked.iter().all(|(q, answered)| {
                    situations.iter().find(|s| s.code == *q).is_some_and(|s| {
                        s.options.iter().all(|o| answered.contains(o.code.as_str()))
                    })
                });
            if !covered {
                p.add(
                    &field,
                    format!(
                        "排他网关{}没有默认流，且条件没有覆盖办理情形的全部选项",
                        n.label()
                    ),
                );
            }
        }
    }

    fn check_decide_and_issue(&self, g: &Graph, p: &mut Problems) {
        let of_action = |a: StepAction| -> Vec<usize> {
            (0..self.nodes.len())
                .filter(|&i| self.nodes[i].task().is_some_and(|t| t.action == a))
                .collect()
        };
        let start = [g.index[self.start().expect("checked").id.as_str()]];
        let on_every_path = |i: usize| {
            let reached = g.reach(&start, &g.outs, Some(i));
            !(0..self.nodes.len()).any(|e| reached[e] && self.nodes[e].kind == NodeKind::End)
        };
        let mut single = |action: StepAction, what: &str| -> Option<usize> {
            match of_action(action)[..] {
                [i] if on_every_path(i) => Some(i),
                [i] => {
                    p.add(
                        "nodes",
                        format!(
                            "{what}环节{}必须位于每一条办理路径上（不能放在并行或可选分支中）",
                            g.node(i).label()
                        ),
                    );
                    None
                }
                ref all => {
                    p.add(
                        "nodes",
                        format!("流程必须恰好有一个{what}环节，现有 {} 个", all.len()),
                    );
                    None
                }
            }
        };
        let decide = single(StepAction::Decide, "决定");
        let issue = single(StepAction::Issue, "出件");
        if let (Some(d), Some(i)) = (decide, issue)
            && !g.reach(&[d], &g.outs, None)[i]
        {
            p.add(
                "nodes",
                format!(
                    "出件环节{}必须在决定环节{}之后",
                    g.node(i).label(),
                    g.node(d).label()
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::testkit::{
        flow, node, otherwise, parallel_with_choice, review, situations, when, wrap as process,
    };

    fn messages(def: &ProcessDefinition) -> String {
        match def.validate(&situations()) {
            Ok(()) => String::new(),
            Err(e) => e
                .fields
                .iter()
                .map(|f| f.message.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }

    #[test]
    fn the_default_process_is_valid() {
        let p = default_process(5);
        assert_eq!(p.validate(&[]), Ok(()));
        let names: Vec<&str> = p.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["开始", "审核", "决定", "制证出件", "办结"]);
        assert_eq!(p.node("review").unwrap().task().unwrap().budget_days, 4);
        assert_eq!(
            default_process(1)
                .node("review")
                .unwrap()
                .task()
                .unwrap()
                .budget_days,
            1
        );
    }

    #[test]
    fn a_structured_process_with_nested_gateways_is_valid() {
        assert_eq!(messages(&parallel_with_choice()), "");
    }

    #[test]
    fn a_definition_round_trips_through_json_and_toml() {
        let p = parallel_with_choice();
        let json = serde_json::to_string(&p).unwrap();
        assert!(json.contains(r#""type":"user_task""#), "{json}");
        assert_eq!(serde_json::from_str::<ProcessDefinition>(&json).unwrap(), p);
        let toml_text = r#"
            code = "t"
            name = "踏勘流程"
            version = 2
            [[nodes]]
            id = "start"
            type = "start"
            [[nodes]]
            id = "survey"
            name = "现场踏勘"
            type = "user_task"
            role = "approver"
            budget_days = 3
            special_procedure = "踏勘"
            [[flows]]
            from = "start"
            to = "survey"
        "#;
        let parsed: ProcessDefinition = toml::from_str(toml_text).unwrap();
        let survey = parsed.node("survey").unwrap().task().unwrap();
        assert_eq!(
            (survey.budget_days, survey.special_procedure.as_deref()),
            (3, Some("踏勘"))
        );
    }

    #[test]
    fn a_process_needs_exactly_one_start_and_an_end() {
        let mut p = default_process(5);
        p.nodes.retain(|n| n.kind != NodeKind::End);
        p.flows.retain(|f| f.to != "end");
        let m = messages(&p);
        assert!(m.contains("至少需要一个结束节点"), "{m}");
        let mut p = default_process(5);
        p.nodes.push(node("start2", NodeKind::Start));
        assert!(messages(&p).contains("恰好有一个开始节点"));
    }

    #[test]
    fn an_unreachable_node_is_named() {
        let mut p = default_process(5);
        p.nodes.push(review("orphan"));
        p.flows.push(flow("orphan", "end"));
        let m = messages(&p);
        assert!(m.contains("节点“orphan”从开始节点无法到达"), "{m}");
    }

    #[test]
    fn a_node_that_cannot_reach_an_end_is_named() {
        // The default flow of `split` runs into a loop that never leaves.
        let p = process(
            vec![
                node("split", NodeKind::ExclusiveGateway),
                review("a"),
                node("loop", NodeKind::ExclusiveGateway),
                review("dead"),
                review("dead2"),
            ],
            vec![
                flow("start", "split"),
                when("split", "a", "scope", &["food"]),
                otherwise("split", "loop"),
                flow("loop", "dead"),
                flow("dead", "dead2"),
                flow("dead2", "loop"),
            ],
            "a",
        );
        let m = messages(&p);
        assert!(m.contains("从节点“dead”无法到达结束节点"), "{m}");
    }

    #[test]
    fn a_cycle_is_refused() {
        let p = process(
            vec![
                node("merge", NodeKind::ExclusiveGateway),
                review("a"),
                node("check", NodeKind::ExclusiveGateway),
            ],
            vec![
                flow("start", "merge"),
                flow("merge", "a"),
                flow("a", "check"),
                when("check", "merge", "scope", &["food"]),
                otherwise("check", "decide"),
            ],
            "check",
        );
        // `process` adds check → decide once more; drop the duplicate it made.
        let mut p = p;
        p.flows.dedup_by(|a, b| a.from == b.from && a.to == b.to);
        let m = messages(&p);
        assert!(m.contains("回路"), "{m}");
    }

    #[test]
    fn a_parallel_split_without_a_matching_join_is_refused() {
        // Both branches run into the decision directly: tasks may not merge flows.
        let p = process(
            vec![
                node("split", NodeKind::ParallelGateway),
                review("a"),
                review("b"),
            ],
            vec![
                flow("start", "split"),
                flow("split", "a"),
                flow("split", "b"),
                flow("b", "decide"),
            ],
            "a",
        );
        let m = messages(&p);
        assert!(m.contains("汇合请使用网关"), "{m}");
        // Joined by an exclusive merge instead of a parallel join.
        let p = process(
            vec![
                node("split", NodeKind::ParallelGateway),
                review("a"),
                review("b"),
                node("join", NodeKind::ExclusiveGateway),
            ],
            vec![
                flow("start", "split"),
                flow("split", "a"),
                flow("split", "b"),
                flow("a", "join"),
                flow("b", "join"),
            ],
            "join",
        );
        let m = messages(&p);
        assert!(
            m.contains("并行网关“split”的 2 条分支必须汇合到同一个并行汇合网关"),
            "{m}"
        );
    }

    #[test]
    fn a_parallel_branch_may_not_end_on_its_own() {
        let mut p = process(
            vec![
                node("split", NodeKind::ParallelGateway),
                review("a"),
                review("b"),
                node("early_end", NodeKind::End),
            ],
            vec![
                flow("start", "split"),
                flow("split", "a"),
                flow("split", "b"),
                flow("b", "early_end"),
            ],
            "a",
        );
        p.flows.retain(|f| f.from != "a");
        p.flows.push(flow("a", "decide"));
        let m = messages(&p);
        assert!(m.contains("并行分支不能直接结束"), "{m}");
    }

    #[test]
    fn an_exclusive_gateway_needs_a_default_or_full_coverage() {
        let p = |flows: Vec<Flow>| {
            process(
                vec![
                    node("choice", NodeKind::ExclusiveGateway),
                    review("a"),
                    review("b"),
                    node("merge", NodeKind::ExclusiveGateway),
                ],
                [
                    vec![
                        flow("start", "choice"),
                        flow("a", "merge"),
                        flow("b", "merge"),
                    ],
                    flows,
                ]
                .concat(),
                "merge",
            )
        };
        let partial = p(vec![
            when("choice", "a", "scope", &["food"]),
            when("choice", "b", "scope", &["food"]),
        ]);
        assert!(messages(&partial).contains("没有默认流，且条件没有覆盖"));
        let covering = p(vec![
            when("choice", "a", "scope", &["food"]),
            when("choice", "b", "scope", &["none"]),
        ]);
        assert_eq!(messages(&covering), "");
        let with_default = p(vec![
            when("choice", "a", "scope", &["food"]),
            otherwise("choice", "b"),
        ]);
        assert_eq!(messages(&with_default), "");
        let unknown = p(vec![
            when("choice", "a", "color", &["red"]),
            otherwise("choice", "b"),
        ]);
        assert!(messages(&unknown).contains("没有的办理情形“color”"));
        let bad_option = p(vec![
            when("choice", "a", "scope", &["meat"]),
            otherwise("choice", "b"),
        ]);
        assert!(messages(&bad_option).contains("没有选项“meat”"));
        let bare = p(vec![
            when("choice", "a", "scope", &["food"]),
            flow("choice", "b"),
        ]);
        assert!(messages(&bare).contains("既没有条件也不是默认流"));
    }

    #[test]
    fn step_budgets_and_timer_days_must_be_positive() {
        let mut p = default_process(5);
        if let NodeKind::UserTask(t) = &mut p.nodes[1].kind {
            t.budget_days = 0;
        }
        p.nodes.push(node("wait", NodeKind::Timer { days: 0 }));
        let m = messages(&p);
        assert!(
            m.contains("环节“审核”（review）的办理时限必须大于 0 个工作日"),
            "{m}"
        );
        assert!(m.contains("定时节点“wait”的等待天数必须大于 0"), "{m}");
    }

    #[test]
    fn the_decision_and_issuance_must_be_on_every_path_in_that_order() {
        // The decision inside one branch of a parallel block.
        let mut p = parallel_with_choice();
        p.flows
            .retain(|f| !(f.from == "planning" || f.to == "decide" || f.from == "decide"));
        p.flows.push(flow("planning", "decide"));
        p.flows.push(flow("decide", "join"));
        p.flows.push(flow("join", "issue"));
        let m = messages(&p);
        assert!(
            m.contains("决定环节“decide”必须位于每一条办理路径上"),
            "{m}"
        );
        // Issuance before the decision.
        let mut p = default_process(5);
        p.flows = vec![
            flow("start", "review"),
            flow("review", "issue"),
            flow("issue", "decide"),
            flow("decide", "end"),
        ];
        assert!(
            messages(&p).contains("出件环节“制证出件”（issue）必须在决定环节“决定”（decide）之后")
        );
        // No decision at all.
        let mut p = default_process(5);
        p.nodes.retain(|n| n.id != "decide");
        p.flows = vec![
            flow("start", "review"),
            flow("review", "issue"),
            flow("issue", "end"),
        ];
        assert!(messages(&p).contains("恰好有一个决定环节，现有 0 个"));
    }

    #[test]
    fn flows_must_name_existing_nodes() {
        let mut p = default_process(5);
        p.flows.push(flow("review", "nowhere"));
        assert!(messages(&p).contains("不存在的节点“nowhere”"));
    }

    #[test]
    fn the_exclusive_choice_follows_the_answers_or_the_default() {
        let p = parallel_with_choice();
        let food = BTreeMap::from([("scope".to_string(), "food".to_string())]);
        assert_eq!(p.choose("choice", &food).unwrap().to, "food_check");
        assert_eq!(
            p.choose("choice", &BTreeMap::new()).unwrap().to,
            "fire_check"
        );
    }
}
