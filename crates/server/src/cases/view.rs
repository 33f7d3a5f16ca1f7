//! The JSON shapes of a case (API-V1 `GET /api/v1/cases/{number}` and more).

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::{Value, json};
use yichuang_domain::case::CaseEvent;
use yichuang_domain::case::applicant::Applicant;
use yichuang_domain::case::clock::{ClockReading, Extension, Suspension, Warning};
use yichuang_domain::case::events::Change;
use yichuang_domain::case::state::{
    CaseStatus, Decision, DeemedStep, Issuance, Opinion, Routing, StepView,
};
use yichuang_domain::catalogue::MaterialForm;
use yichuang_store::cases::vault::VaultMaterial;

use super::service::{Env, Loaded, status_name};
use super::time::utc;
use crate::clock::hall_time;
use crate::people::People;

/// One timeline entry: the masked event with its time as RFC 3339 in the hall's zone.
pub fn timeline_entry(e: &CaseEvent) -> Value {
    let mut v = e.log_payload();
    v["at"] = json!(hall_time(utc(e.at)));
    v
}

fn accepted_at(l: &Loaded) -> Option<String> {
    l.events.iter().find_map(|e| match e.change {
        Change::Accepted { .. } => Some(hall_time(utc(e.at))),
        _ => None,
    })
}

/// The full case as staff see it (numbers masked, R-PII): one typed view that is both
/// `GET /api/v1/cases/{number}`'s JSON and what the case page reads (ARCHITECTURE 10).
#[derive(Debug, Clone, Serialize)]
pub struct CaseView {
    pub number: String,
    /// The receipt's query code, for staff who reprint or read it out (never in public views).
    pub query_code: Option<String>,
    pub item: String,
    pub item_name: String,
    pub item_version: i64,
    pub department: String,
    pub hall: Option<String>,
    #[serde(skip)]
    pub state: CaseStatus,
    pub status: String,
    pub status_label: &'static str,
    pub applicant: Applicant,
    pub materials: BTreeSet<String>,
    pub answers: BTreeMap<String, String>,
    pub received_at: String,
    pub accepted_at: Option<String>,
    pub accepted_on: Option<NaiveDate>,
    pub accepted_deemed: bool,
    pub due_date: Option<NaiveDate>,
    pub working_days_left: Option<i64>,
    pub warning: Option<Warning>,
    pub clock: Option<ClockReading>,
    /// R-CALENDAR: a due date in a year whose arrangement is not loaded is a guess.
    pub due_date_unofficial: Option<bool>,
    pub committed_limit_days: u32,
    pub statutory_limit_days: u32,
    pub suspensions: Vec<Suspension>,
    pub extensions: Vec<Extension>,
    pub refusal_reasons: Option<Vec<String>>,
    pub routing: Option<Routing>,
    pub open_steps: Vec<StepView>,
    pub deemed_steps: Vec<DeemedStep>,
    pub owed_opinions: Vec<OwedOpinion>,
    pub opinions: Vec<Opinion>,
    pub decision: Option<Decision>,
    pub issue_due: Option<NaiveDate>,
    /// R-ISSUE-10D: the result must reach the applicant within 10 working days of the decision.
    pub issue_overdue: bool,
    pub issuance: Option<Issuance>,
    pub parent: Option<String>,
    pub process: ProcessRef,
    pub warnings: Vec<String>,
    pub timeline: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub one_time_notice: Option<NoticeView>,
}

/// An opinion a department still owes after a deemed approval (R-DEEMED).
#[derive(Debug, Clone, Serialize)]
pub struct OwedOpinion {
    pub node: String,
    pub deemed_due: NaiveDate,
    pub opinion_due: NaiveDate,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProcessRef {
    pub code: String,
    pub version: u32,
}

/// The open one-time notice: what was asked and what is still missing.
#[derive(Debug, Clone, Serialize)]
pub struct NoticeView {
    pub items: Vec<String>,
    pub missing: Vec<String>,
    pub note: String,
    pub given_at: String,
}

/// A date as people read it: 2026年12月4日; empty for none.
pub fn chinese_day(d: Option<NaiveDate>) -> String {
    d.map(|d| d.format("%Y年%-m月%-d日").to_string())
        .unwrap_or_default()
}

impl CaseView {
    pub fn of(l: &Loaded, env: &Env) -> CaseView {
        let c = &l.case;
        let today = env.today();
        let (reading, steps, owed, issue_due) = env.with_ctx(&l.item, &l.process, |ctx| {
            (
                c.reading(ctx.calendar, today, ctx.settings),
                c.open_steps(ctx.process, ctx.calendar, today),
                c.owed_opinions(ctx.calendar, ctx.settings)
                    .into_iter()
                    .map(|(d, due)| OwedOpinion {
                        node: d.node.clone(),
                        deemed_due: d.due,
                        opinion_due: due,
                    })
                    .collect::<Vec<_>>(),
                c.issue_due(ctx.calendar),
            )
        });
        CaseView {
            number: c.number.clone(),
            query_code: l
                .row
                .query_code
                .as_deref()
                .map(super::service::group_query_code),
            item: c.item.clone(),
            item_name: l.item.name.clone(),
            item_version: l.row.item_version,
            department: c.department.clone(),
            hall: l.row.hall.clone(),
            state: c.status,
            status: status_name(c.status),
            status_label: c.status.label(),
            applicant: c.applicant.masked(),
            materials: c.materials.clone(),
            answers: c.answers.clone(),
            received_at: hall_time(utc(c.received_at)),
            accepted_at: accepted_at(l),
            accepted_on: c.accepted_on,
            accepted_deemed: c.accepted_deemed,
            due_date: reading.as_ref().map(|r| r.due_date),
            working_days_left: reading.as_ref().map(|r| r.working_days_left),
            warning: reading.as_ref().map(|r| r.warning),
            due_date_unofficial: reading.as_ref().map(|r| env.unofficial(r.due_date)),
            clock: reading,
            committed_limit_days: c.committed_limit_days,
            statutory_limit_days: c.statutory_limit_days,
            suspensions: c.suspensions.clone(),
            extensions: c.extensions.clone(),
            refusal_reasons: c.refusal.clone(),
            routing: c.routing.clone(),
            open_steps: steps,
            deemed_steps: c.deemed_steps.clone(),
            owed_opinions: owed,
            opinions: c.opinions.clone(),
            decision: c.decision.clone(),
            issue_due,
            issue_overdue: c.issuance.is_none() && issue_due.is_some_and(|d| d < today),
            issuance: c.issuance.clone(),
            parent: c.parent.clone(),
            process: ProcessRef {
                code: c.process_code.clone(),
                version: c.process_version,
            },
            warnings: c.warnings.clone(),
            timeline: l.events.iter().map(timeline_entry).collect(),
            one_time_notice: c.open_notice().map(|n| NoticeView {
                items: n.items.clone(),
                missing: n.outstanding().iter().map(|s| s.to_string()).collect(),
                note: n.note.clone(),
                given_at: hall_time(utc(n.given_at)),
            }),
        }
    }

    // What the case page shows, in people's words (issue 10 item 3).

    pub fn accepted_text(&self) -> String {
        match self.accepted_on {
            Some(d) if self.accepted_deemed => format!("{}（超时默认受理）", chinese_day(Some(d))),
            Some(d) => chinese_day(Some(d)),
            None => "—".into(),
        }
    }

    pub fn due_text(&self) -> String {
        match self.due_date {
            Some(d) => chinese_day(Some(d)),
            None => "—".into(),
        }
    }

    pub fn issue_due_text(&self) -> String {
        match self.issue_due {
            Some(d) => chinese_day(Some(d)),
            None => "—".into(),
        }
    }

    pub fn unofficial(&self) -> bool {
        self.due_date_unofficial == Some(true)
    }

    pub fn days_left_text(&self) -> String {
        self.working_days_left
            .map(|n| n.to_string())
            .unwrap_or_default()
    }

    pub fn warning_key(&self) -> &'static str {
        match self.warning {
            Some(Warning::Green) => "green",
            Some(Warning::Yellow) => "yellow",
            Some(Warning::Red) => "red",
            None => "",
        }
    }

    pub fn suspended(&self) -> bool {
        self.clock.as_ref().is_some_and(|c| c.suspended)
    }

    pub fn status_is(&self, s: &str) -> bool {
        self.status == s
    }

    /// `准予（云市监许〔2026〕1 号，2026年12月4日）`.
    pub fn decision_text(&self) -> Option<String> {
        self.decision.as_ref().map(|d| {
            format!(
                "{}（{}，{}）",
                d.outcome.label(),
                d.document_number,
                chinese_day(Some(d.on))
            )
        })
    }

    /// The name of a step of the process (the node's id if it has none).
    pub fn step_name(&self, node: &str) -> String {
        self.open_steps
            .iter()
            .find(|s| s.node == node)
            .map(|s| s.name.clone())
            .unwrap_or_else(|| node.to_string())
    }
}

pub fn case_json(l: &Loaded, env: &Env) -> Value {
    serde_json::to_value(CaseView::of(l, env)).expect("a case view serialises")
}

/// What anyone holding the case number and the last 4 digits may see: no personal data.
pub fn public_json(l: &Loaded, env: &Env) -> Value {
    let full = case_json(l, env);
    let c = &l.case;
    json!({
        "number": c.number,
        "item_name": l.item.name,
        "status": full["status"],
        "status_label": c.status.label(),
        "received_at": full["received_at"],
        "accepted_at": full["accepted_at"],
        "due_date": full["due_date"],
        "working_days_left": full["working_days_left"],
        "warning": full["warning"],
        "one_time_notice": full.get("one_time_notice").cloned().unwrap_or(Value::Null),
        "decision": c.decision.as_ref().map(|d| json!({"outcome": d.outcome, "on": d.on})),
        "issuance": c.issuance.as_ref().map(|i| json!({"method": i.delivery.label(), "at": hall_time(utc(i.at))})),
        "timeline": l.events.iter().map(|e| json!({"at": hall_time(utc(e.at)), "kind": e.change.kind()})).collect::<Vec<_>>(),
    })
}

/// Beijing time in the form people read: 2026年12月4日 15:10.
pub fn chinese_at(t: chrono::NaiveDateTime) -> String {
    t.format("%Y年%-m月%-d日 %H:%M").to_string()
}

/// A file of the vault as a page offers it: viewed inline (an image or a PDF) or downloaded.
#[derive(Debug, Clone, Serialize)]
pub struct FileView {
    pub sha256: String,
    pub content_type: String,
    pub size: i64,
    /// Where staff view it inline (`/cases/{number}/files/{sha256}`); `?download=1` saves it.
    pub href: String,
    /// Left in the vault by this case (not an earlier case's shared material).
    pub from_this_case: bool,
}

impl FileView {
    pub fn is_image(&self) -> bool {
        self.content_type.starts_with("image/")
    }

    pub fn is_pdf(&self) -> bool {
        self.content_type == "application/pdf"
    }

    pub fn size_text(&self) -> String {
        if self.size >= 1024 * 1024 {
            format!("{:.1} MB", self.size as f64 / 1024.0 / 1024.0)
        } else {
            format!("{} KB", (self.size + 1023) / 1024)
        }
    }
}

/// One material of the case as the approver reads it (issue 10 item 1): the checklist's name,
/// original or copy and count, who received it and when, and its file if the vault has one.
#[derive(Debug, Clone, Serialize)]
pub struct ReceivedMaterial {
    pub code: String,
    pub name: String,
    pub form: MaterialForm,
    pub form_label: &'static str,
    pub copies: u32,
    pub received: bool,
    /// The name of whoever received it (王芳, 申请人本人), never `role:username`.
    pub received_by: String,
    /// Beijing time in Chinese form.
    pub received_at: String,
    pub files: Vec<FileView>,
}

/// The case's materials: those received, and those the vault holds a file of, in the
/// checklist's order.
pub fn received_materials(
    l: &Loaded,
    held: &[VaultMaterial],
    people: &People,
) -> Vec<ReceivedMaterial> {
    // Who received each material first, and when (收件 or a later 补正).
    let mut first: BTreeMap<&str, (&str, chrono::NaiveDateTime)> = BTreeMap::new();
    for e in &l.events {
        let codes = match &e.change {
            Change::Received { materials, .. } | Change::MaterialsReceived { materials } => {
                materials
            }
            _ => continue,
        };
        for c in codes {
            first.entry(c.as_str()).or_insert((e.by.as_str(), e.at));
        }
    }
    l.item
        .materials
        .iter()
        .filter_map(|m| {
            let got = first.get(m.code.as_str());
            let received = got.is_some() || l.case.materials.contains(&m.code);
            let mut files: Vec<FileView> = held
                .iter()
                .filter(|v| v.material_code == m.code)
                .map(|v| FileView {
                    sha256: v.sha256.clone(),
                    content_type: v.content_type.clone(),
                    size: v.size,
                    href: format!("/cases/{}/files/{}", l.case.number, v.sha256),
                    from_this_case: v.source_case.as_deref() == Some(l.case.number.as_str()),
                })
                .collect();
            // This case's own file first; one copy of each file.
            files.sort_by_key(|f| !f.from_this_case);
            let mut seen = std::collections::HashSet::new();
            files.retain(|f| seen.insert(f.sha256.clone()));
            if !received && files.is_empty() {
                return None;
            }
            Some(ReceivedMaterial {
                code: m.code.clone(),
                name: m.name.clone(),
                form: m.form,
                form_label: m.form.label(),
                copies: m.copies,
                received,
                received_by: got.map(|(by, _)| people.who(by)).unwrap_or_default(),
                received_at: got.map(|(_, at)| chinese_at(*at)).unwrap_or_default(),
                files,
            })
        })
        .collect()
}

/// One line of the case's timeline as staff read it: Beijing time in words, what happened,
/// and who did it by name.
#[derive(Debug, Clone, Serialize)]
pub struct TimelineRow {
    pub kind: &'static str,
    pub label: &'static str,
    pub at: String,
    pub by: String,
}

pub fn timeline_rows(l: &Loaded, people: &People) -> Vec<TimelineRow> {
    l.events
        .iter()
        .map(|e| {
            let kind = e.change.kind();
            TimelineRow {
                kind,
                label: yichuang_domain::case::events::kind_label(kind),
                at: chinese_at(e.at),
                by: match &e.on_behalf_of {
                    Some(ob) => ob.label(),
                    None => people.who(&e.by),
                },
            }
        })
        .collect()
}
