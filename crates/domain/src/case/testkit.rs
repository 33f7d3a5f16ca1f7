//! Test calendars: the State Council arrangements for 2025 (国办发明电〔2024〕12号) and 2026
//! written out by hand, so every deadline in the tests can be checked against a printed calendar.
//! Deliberately naive (day-by-day loops): it is the reference the real calendar is not.

use std::collections::BTreeSet;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Weekday};

use crate::workdays::{OfficeClock, WorkingDays};

pub fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

pub fn t(y: i32, m: u32, day: u32, h: u32, min: u32) -> NaiveDateTime {
    d(y, m, day).and_hms_opt(h, min, 0).unwrap()
}

pub struct TestCalendar {
    holidays: BTreeSet<NaiveDate>,
    adjusted_working_days: BTreeSet<NaiveDate>,
}

type Span = ((i32, u32, u32), (i32, u32, u32));

const HOLIDAYS: [Span; 13] = [
    // 2025: 元旦, 春节, 清明, 劳动节, 端午, 国庆·中秋
    ((2025, 1, 1), (2025, 1, 1)),
    ((2025, 1, 28), (2025, 2, 4)),
    ((2025, 4, 4), (2025, 4, 6)),
    ((2025, 5, 1), (2025, 5, 5)),
    ((2025, 5, 31), (2025, 6, 2)),
    ((2025, 10, 1), (2025, 10, 8)),
    // 2026: 元旦, 春节, 清明, 劳动节, 端午, 中秋, 国庆
    ((2026, 1, 1), (2026, 1, 3)),
    ((2026, 2, 15), (2026, 2, 23)),
    ((2026, 4, 4), (2026, 4, 6)),
    ((2026, 5, 1), (2026, 5, 5)),
    ((2026, 6, 19), (2026, 6, 21)),
    ((2026, 9, 25), (2026, 9, 27)),
    ((2026, 10, 1), (2026, 10, 7)),
];

/// 调休: weekend days that are working days.
const ADJUSTED_WORKING_DAYS: [(i32, u32, u32); 11] = [
    (2025, 1, 26),
    (2025, 2, 8),
    (2025, 4, 27),
    (2025, 9, 28),
    (2025, 10, 11),
    (2026, 1, 4),
    (2026, 2, 14),
    (2026, 2, 28),
    (2026, 5, 9),
    (2026, 9, 20),
    (2026, 10, 10),
];

impl TestCalendar {
    pub fn china_2025_2026() -> Self {
        let mut holidays = BTreeSet::new();
        for ((y1, m1, d1), (y2, m2, d2)) in HOLIDAYS {
            let mut day = d(y1, m1, d1);
            while day <= d(y2, m2, d2) {
                holidays.insert(day);
                day += Duration::days(1);
            }
        }
        let adjusted_working_days = ADJUSTED_WORKING_DAYS
            .iter()
            .map(|&(y, m, day)| d(y, m, day))
            .collect();
        TestCalendar {
            holidays,
            adjusted_working_days,
        }
    }

    /// A local day off added by a region, or a corrected notice.
    pub fn with_holiday(mut self, day: NaiveDate) -> Self {
        self.holidays.insert(day);
        self
    }
}

impl WorkingDays for TestCalendar {
    fn is_working_day(&self, day: NaiveDate) -> bool {
        if self.adjusted_working_days.contains(&day) {
            return true;
        }
        !self.holidays.contains(&day) && !matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
    }

    fn add_working_days(&self, from: NaiveDate, n: i64) -> NaiveDate {
        let step = Duration::days(if n < 0 { -1 } else { 1 });
        let mut day = from;
        let mut left = n.abs();
        while left > 0 {
            day += step;
            if self.is_working_day(day) {
                left -= 1;
            }
        }
        day
    }

    fn working_days_between(&self, a: NaiveDate, b: NaiveDate) -> i64 {
        if b < a {
            return -self.working_days_between(b, a);
        }
        let mut n = 0;
        let mut day = a;
        while day < b {
            day += Duration::days(1);
            if self.is_working_day(day) {
                n += 1;
            }
        }
        n
    }
}

/// Office hours 9:00–12:00 and 13:30–17:30 on the calendar's working days.
pub struct TestOffice<'a>(pub &'a TestCalendar);

const SESSIONS: [((u32, u32), (u32, u32)); 2] = [((9, 0), (12, 0)), ((13, 30), (17, 30))];

impl OfficeClock for TestOffice<'_> {
    fn add_office_minutes(&self, from: NaiveDateTime, minutes: i64) -> NaiveDateTime {
        let mut now = from;
        let mut left = minutes;
        loop {
            if self.0.is_working_day(now.date()) {
                for ((h1, m1), (h2, m2)) in SESSIONS {
                    let open = now
                        .date()
                        .and_time(NaiveTime::from_hms_opt(h1, m1, 0).unwrap());
                    let close = now
                        .date()
                        .and_time(NaiveTime::from_hms_opt(h2, m2, 0).unwrap());
                    if now >= close {
                        continue;
                    }
                    now = now.max(open);
                    let available = (close - now).num_minutes();
                    if left <= available {
                        return now + Duration::minutes(left);
                    }
                    left -= available;
                    now = close;
                }
            }
            now = (now.date() + Duration::days(1))
                .and_hms_opt(0, 0, 0)
                .unwrap();
        }
    }
}

#[test]
fn the_test_calendar_follows_the_api_example() {
    // API-V1: `calendar add --from 2026-09-29 --days 5` gives 2026-10-12.
    let cal = TestCalendar::china_2025_2026();
    assert_eq!(cal.add_working_days(d(2026, 9, 29), 5), d(2026, 10, 12));
    assert!(cal.is_working_day(d(2026, 2, 14)));
    assert!(!cal.is_working_day(d(2026, 2, 16)));
    assert_eq!(cal.working_days_between(d(2026, 9, 29), d(2026, 10, 12)), 5);
    assert_eq!(cal.add_working_days(d(2026, 10, 12), -5), d(2026, 9, 29));
}

// ---- process graphs ----

use crate::access::{Actor, Role};
use crate::case::applicant::{Applicant, ApplicantKind};
use crate::case::process::{
    Condition, Flow, Node, NodeKind, ProcessDefinition, StepAction, UserTask,
};
use crate::catalogue::{
    ItemKind, MaterialRequirement, RequiredIf, ServiceItem, Situation, SituationOption,
    SpecialProcedure,
};

pub fn node(id: &str, kind: NodeKind) -> Node {
    Node {
        id: id.into(),
        name: id.into(),
        kind,
    }
}

/// A step of the approver role with a budget of 2 working days.
pub fn task(id: &str, action: StepAction) -> Node {
    node(
        id,
        NodeKind::UserTask(UserTask {
            department: None,
            role: Role::Approver,
            budget_days: 2,
            action,
            special_procedure: None,
        }),
    )
}

pub fn review(id: &str) -> Node {
    task(id, StepAction::Review)
}

pub fn flow(from: &str, to: &str) -> Flow {
    Flow {
        from: from.into(),
        to: to.into(),
        condition: None,
        default: false,
    }
}

pub fn when(from: &str, to: &str, question: &str, answers: &[&str]) -> Flow {
    Flow {
        condition: Some(Condition {
            question: question.into(),
            answers: answers.iter().map(|a| a.to_string()).collect(),
        }),
        ..flow(from, to)
    }
}

pub fn otherwise(from: &str, to: &str) -> Flow {
    Flow {
        default: true,
        ..flow(from, to)
    }
}

/// start → (the given nodes, linked by `flows`) → `last` → decide → issue → end.
pub fn wrap(mut nodes: Vec<Node>, mut flows: Vec<Flow>, last: &str) -> ProcessDefinition {
    nodes.insert(0, node("start", NodeKind::Start));
    nodes.push(task("decide", StepAction::Decide));
    let mut issue = task("issue", StepAction::Issue);
    if let NodeKind::UserTask(t) = &mut issue.kind {
        t.role = Role::Issuance;
        t.budget_days = 10;
    }
    nodes.push(issue);
    nodes.push(node("end", NodeKind::End));
    flows.push(flow(last, "decide"));
    flows.push(flow("decide", "issue"));
    flows.push(flow("issue", "end"));
    ProcessDefinition {
        code: "p".into(),
        name: "测试流程".into(),
        version: 1,
        nodes,
        flows,
    }
}

/// Two reviews in parallel (`planning`, and a choice between `food_check` and `fire_check` on
/// the answer to `scope`), joined before the decision.
pub fn parallel_with_choice() -> ProcessDefinition {
    wrap(
        vec![
            node("split", NodeKind::ParallelGateway),
            review("planning"),
            node("choice", NodeKind::ExclusiveGateway),
            review("food_check"),
            review("fire_check"),
            node("merge", NodeKind::ExclusiveGateway),
            node("join", NodeKind::ParallelGateway),
        ],
        vec![
            flow("start", "split"),
            flow("split", "planning"),
            flow("split", "choice"),
            when("choice", "food_check", "scope", &["food"]),
            otherwise("choice", "fire_check"),
            flow("food_check", "merge"),
            flow("fire_check", "merge"),
            flow("merge", "join"),
            flow("planning", "join"),
        ],
        "join",
    )
}

// ---- catalogue and people ----

fn option(code: &str, label: &str) -> SituationOption {
    SituationOption {
        code: code.into(),
        label: label.into(),
    }
}

pub fn situations() -> Vec<Situation> {
    vec![
        Situation {
            code: "agent".into(),
            question: "是否委托代理人".into(),
            options: vec![option("yes", "是"), option("no", "否")],
        },
        Situation {
            code: "scope".into(),
            question: "经营范围是否涉及食品".into(),
            options: vec![option("food", "涉及"), option("none", "不涉及")],
        },
    ]
}

fn material(code: &str, name: &str, required_if: Option<RequiredIf>) -> MaterialRequirement {
    MaterialRequirement {
        code: code.into(),
        name: name.into(),
        form: Default::default(),
        copies: 1,
        medium: Default::default(),
        template: None,
        required_if,
        note: String::new(),
    }
}

/// A committed item of department `scj`: statutory 20, committed 5 working days; materials
/// `form` and `licence` always, `proxy` when an agent applies; 现场核查 is a published special
/// procedure not counted in the limit, 公示 one that is counted.
pub fn item() -> ServiceItem {
    ServiceItem {
        code: "X1".into(),
        name: "食品经营许可".into(),
        department: "scj".into(),
        item_type: Default::default(),
        kind: ItemKind::Committed,
        statutory_limit_days: 20,
        committed_limit_days: 5,
        legal_basis: String::new(),
        conditions: String::new(),
        fee: String::new(),
        on_site_visits: 0,
        online: false,
        deemed_approval: false,
        special_procedures: vec![
            SpecialProcedure {
                name: "现场核查".into(),
                days: 5,
                counted_in_limit: false,
            },
            SpecialProcedure {
                name: "公示".into(),
                days: 5,
                counted_in_limit: true,
            },
        ],
        situations: situations(),
        materials: vec![
            material("form", "申请书", None),
            material("licence", "营业执照", None),
            material(
                "proxy",
                "授权委托书",
                Some(RequiredIf {
                    question: "agent".into(),
                    answers: vec!["yes".into()],
                }),
            ),
        ],
        process_description: String::new(),
        consult_phone: String::new(),
        location: String::new(),
        result: Default::default(),
    }
}

pub fn applicant() -> Applicant {
    Applicant {
        kind: ApplicantKind::Person,
        name: " 张三 ".into(),
        id_number: "11010519491231002x".into(),
        phone: "138 1234 5678".into(),
    }
}

pub fn actor(id: i64, username: &str, role: Role, department: Option<&str>) -> Actor {
    Actor {
        id,
        username: username.into(),
        display_name: username.into(),
        role,
        department: department.map(str::to_string),
        hall: Some("h1".into()),
        region: None,
        scope_halls: None,
        on_behalf: None,
        kind: crate::ActorKind::Person,
    }
}
