//! The JSON shapes of a case (API-V1 `GET /api/v1/cases/{number}` and more).

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::Serialize;
use yichuang_domain::case::CaseEvent;
use yichuang_domain::case::applicant::Applicant;
use yichuang_domain::case::clock::{ClockReading, Extension, Suspension, Warning};
use yichuang_domain::case::events::{Change, Delivery, Outcome};
use yichuang_domain::case::state::{
    CaseStatus, Decision, DeemedStep, Issuance, Opinion, Routing, StepView,
};
use yichuang_domain::catalogue::MaterialForm;
use yichuang_store::cases::vault::VaultMaterial;

use super::service::{Env, Loaded};
use super::time::utc;
use crate::clock::hall_time;
use crate::people::People;

/// One entry of the API's timeline: the masked event (R-PII) as the event log records it,
/// with its time as RFC 3339 in the hall's zone. Serialises flat: `at`, `by`, `on_behalf_of`
/// (when there is one), `kind` and the change's own fields.
#[derive(Debug, Clone, Serialize)]
pub struct TimelineEntry {
    pub at: String,
    pub by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_behalf_of: Option<yichuang_domain::agency::OnBehalf>,
    #[serde(flatten)]
    pub change: Change,
}

impl TimelineEntry {
    pub fn of(e: &CaseEvent) -> Self {
        let mut change = e.change.clone();
        if let Change::Received { applicant, .. } = &mut change {
            *applicant = applicant.masked();
        }
        TimelineEntry {
            at: hall_time(utc(e.at)),
            by: e.by.clone(),
            on_behalf_of: e.on_behalf_of.clone(),
            change,
        }
    }

    /// The event's kind as the log names it (`case_accepted`).
    pub fn kind(&self) -> &'static str {
        self.change.kind()
    }
}

fn accepted_local(l: &Loaded) -> Option<chrono::NaiveDateTime> {
    l.events.iter().find_map(|e| match e.change {
        Change::Accepted { .. } => Some(e.at),
        _ => None,
    })
}

/// An opinion a department still owes after a deemed approval (R-DEEMED).
#[derive(Debug, Clone, Serialize)]
pub struct OwedOpinion {
    pub node: String,
    pub deemed_due: NaiveDate,
    pub opinion_due: NaiveDate,
}

/// The open one-time notice or supplement request.
#[derive(Debug, Clone, Serialize)]
pub struct NoticeView {
    pub items: Vec<String>,
    pub missing: Vec<String>,
    pub note: String,
    pub given_at: String,
}

/// The process definition a case runs on.
#[derive(Debug, Clone, Serialize)]
pub struct ProcessRef {
    pub code: String,
    pub version: u32,
}

/// The full case as staff see it (numbers masked, R-PII): the JSON of
/// `GET /api/v1/cases/{number}` and what the staff case page renders (issue 10, typed views).
/// Statuses and lights are the domain's enums; the page reads the dates in Chinese form
/// through the methods below, the API gets them as ISO dates and RFC 3339 stamps.
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
    pub status: CaseStatus,
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
    /// The masked events as the event log records them (the page shows [`TimelineRow`]s).
    pub timeline: Vec<TimelineEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub one_time_notice: Option<NoticeView>,
    /// Beijing wall-clock times the page shows in Chinese form (not in the API's JSON).
    #[serde(skip)]
    received_local: chrono::NaiveDateTime,
    #[serde(skip)]
    accepted_local: Option<chrono::NaiveDateTime>,
}

/// The full case as staff see it (numbers masked, R-PII).
pub fn case_view(l: &Loaded, env: &Env) -> CaseView {
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
    let notice = c.open_notice().map(|n| NoticeView {
        items: n.items.clone(),
        missing: n.outstanding().into_iter().map(str::to_string).collect(),
        note: n.note.clone(),
        given_at: hall_time(utc(n.given_at)),
    });
    let accepted = accepted_local(l);
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
        status: c.status,
        status_label: c.status.label(),
        applicant: c.applicant.masked(),
        materials: c.materials.clone(),
        answers: c.answers.clone(),
        received_at: hall_time(utc(c.received_at)),
        accepted_at: accepted.map(|a| hall_time(utc(a))),
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
        timeline: l.events.iter().map(TimelineEntry::of).collect(),
        one_time_notice: notice,
        received_local: c.received_at,
        accepted_local: accepted,
    }
}

/// A day as people read it: 2026年12月4日.
pub fn chinese_day(d: NaiveDate) -> String {
    d.format("%Y年%-m月%-d日").to_string()
}

fn day_text(d: Option<NaiveDate>) -> String {
    d.map(chinese_day).unwrap_or_default()
}

impl CaseView {
    /// 收件: the moment the materials came in.
    pub fn received_text(&self) -> String {
        chinese_at(self.received_local)
    }

    /// 受理: the moment of acceptance, or its day when only the day is known.
    pub fn accepted_text(&self) -> String {
        match (self.accepted_local, self.accepted_on) {
            (Some(at), _) => chinese_at(at),
            (None, d) => day_text(d),
        }
    }

    pub fn due_text(&self) -> String {
        day_text(self.due_date)
    }

    pub fn issue_due_text(&self) -> String {
        day_text(self.issue_due)
    }

    pub fn decision_on_text(&self) -> String {
        day_text(self.decision.as_ref().map(|d| d.on))
    }

    pub fn is_unofficial(&self) -> bool {
        self.due_date_unofficial == Some(true)
    }

    pub fn is_suspended(&self) -> bool {
        self.clock.as_ref().is_some_and(|c| c.suspended)
    }

    /// The status as the API names it (`awaiting_supplement`), for tests and styles.
    pub fn status_code(&self) -> &'static str {
        self.status.as_str()
    }

    pub fn is(&self, status: CaseStatus) -> bool {
        self.status == status
    }

    /// A 即办件 decided on the spot at the window.
    pub fn decided_at_window(&self) -> bool {
        self.decision
            .as_ref()
            .is_some_and(|d| d.node == yichuang_domain::case::WINDOW_NODE)
    }

    pub fn first_refusal_reason(&self) -> &str {
        self.refusal_reasons
            .as_ref()
            .and_then(|r| r.first())
            .map_or("", String::as_str)
    }

    pub fn document_number(&self) -> &str {
        self.decision
            .as_ref()
            .map_or("", |d| d.document_number.as_str())
    }

    /// The electronic certificate's number when the result went out as one.
    pub fn certificate(&self) -> Option<&str> {
        match self.issuance.as_ref().map(|i| &i.delivery) {
            Some(Delivery::Electronic { certificate }) => Some(certificate),
            _ => None,
        }
    }

    pub fn approved(&self) -> bool {
        self.decision
            .as_ref()
            .is_some_and(|d| d.outcome == Outcome::Approved)
    }

    /// The staff's words for the case's light.
    pub fn warning_label(&self) -> &'static str {
        self.warning.map_or("", Warning::staff_label)
    }

    /// The applicant's words for the case's light.
    pub fn warning_words(&self) -> &'static str {
        self.warning.map_or("", Warning::plain_words)
    }

    /// The light's class suffix (`warn-green`), empty without a clock.
    pub fn warning_class(&self) -> &'static str {
        self.warning.map_or("", Warning::code)
    }

    /// The case that this one is a member of (a 一件事), or nothing.
    pub fn parent_text(&self) -> &str {
        self.parent.as_deref().unwrap_or_default()
    }

    /// 受理日期 in Chinese form.
    pub fn accepted_on_text(&self) -> String {
        day_text(self.accepted_on)
    }

    /// The clock still counts for the applicant: no decision and not closed.
    pub fn still_counting(&self) -> bool {
        self.decision.is_none()
            && !matches!(
                self.status,
                CaseStatus::Refused | CaseStatus::Issued | CaseStatus::Concluded
            )
    }

    fn delivery(&self) -> Option<&Delivery> {
        self.issuance.as_ref().map(|i| &i.delivery)
    }

    pub fn is_issued(&self) -> bool {
        self.issuance.is_some()
    }

    pub fn is_mailed(&self) -> bool {
        matches!(self.delivery(), Some(Delivery::Mail { .. }))
    }

    pub fn is_picked_up(&self) -> bool {
        matches!(self.delivery(), Some(Delivery::Pickup { .. }))
    }

    pub fn is_in_locker(&self) -> bool {
        matches!(self.delivery(), Some(Delivery::Locker { .. }))
    }

    /// Where, by whom and under which tracking number the result was mailed.
    pub fn mail(&self) -> (&str, &str, &str) {
        match self.delivery() {
            Some(Delivery::Mail {
                address,
                carrier,
                tracking_number,
            }) => (address, carrier, tracking_number),
            _ => ("", "", ""),
        }
    }

    pub fn locker_door(&self) -> &str {
        match self.delivery() {
            Some(Delivery::Locker { door, .. }) => door,
            _ => "",
        }
    }

    pub fn certificate_text(&self) -> &str {
        self.certificate().unwrap_or_default()
    }

    pub fn days_left_text(&self) -> String {
        self.working_days_left
            .map(|d| d.to_string())
            .unwrap_or_default()
    }
}

/// What anyone holding the case number and the last 4 digits may see: no personal data
/// (`GET /api/v1/query`).
#[derive(Debug, Clone, Serialize)]
pub struct PublicCaseView {
    pub number: String,
    pub item_name: String,
    pub status: CaseStatus,
    pub status_label: &'static str,
    pub received_at: String,
    pub accepted_at: Option<String>,
    pub due_date: Option<NaiveDate>,
    pub working_days_left: Option<i64>,
    pub warning: Option<Warning>,
    pub one_time_notice: Option<NoticeView>,
    pub decision: Option<PublicDecision>,
    pub issuance: Option<PublicIssuance>,
    pub timeline: Vec<PublicStep>,
}

/// The decision as the public sees it: its outcome and day.
#[derive(Debug, Clone, Serialize)]
pub struct PublicDecision {
    pub outcome: Outcome,
    pub on: NaiveDate,
}

/// How and when the result went out (`method` in words: 窗口领取, 邮寄…).
#[derive(Debug, Clone, Serialize)]
pub struct PublicIssuance {
    pub method: &'static str,
    pub at: String,
}

/// One step of the public timeline: when and what kind, nothing more.
#[derive(Debug, Clone, Serialize)]
pub struct PublicStep {
    pub at: String,
    pub kind: &'static str,
}

pub fn public_view(l: &Loaded, env: &Env) -> PublicCaseView {
    let full = case_view(l, env);
    let c = &l.case;
    PublicCaseView {
        number: c.number.clone(),
        item_name: l.item.name.clone(),
        status: full.status,
        status_label: c.status.label(),
        received_at: full.received_at,
        accepted_at: full.accepted_at,
        due_date: full.due_date,
        working_days_left: full.working_days_left,
        warning: full.warning,
        one_time_notice: full.one_time_notice,
        decision: c.decision.as_ref().map(|d| PublicDecision {
            outcome: d.outcome,
            on: d.on,
        }),
        issuance: c.issuance.as_ref().map(|i| PublicIssuance {
            method: i.delivery.label(),
            at: hall_time(utc(i.at)),
        }),
        timeline: l
            .events
            .iter()
            .map(|e| PublicStep {
                at: hall_time(utc(e.at)),
                kind: e.change.kind(),
            })
            .collect(),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use serde_json::{Value, json};
    use yichuang_domain::case::applicant::{Applicant, ApplicantKind};

    /// The entry as it was built before it had a type: the log payload with `at` replaced.
    fn as_before(e: &CaseEvent) -> Value {
        let mut v = e.log_payload();
        v["at"] = json!(hall_time(utc(e.at)));
        v
    }

    fn at(h: u32, m: u32) -> chrono::NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 3, 2)
            .unwrap()
            .and_hms_opt(h, m, 0)
            .unwrap()
    }

    fn events() -> Vec<CaseEvent> {
        let ev = |h, by: &str, change| CaseEvent {
            at: at(h, 30),
            by: by.into(),
            on_behalf_of: None,
            change,
        };
        vec![
            ev(
                9,
                "clerk:li",
                Change::Received {
                    number: "C1".into(),
                    item: "I1".into(),
                    department: "D1".into(),
                    applicant: Applicant {
                        kind: ApplicantKind::Person,
                        name: "张三".into(),
                        id_number: "110101199001011234".into(),
                        phone: "13800001234".into(),
                    },
                    materials: vec!["M1".into()],
                    answers: BTreeMap::from([("q".into(), "a".into())]),
                    statutory_limit_days: 20,
                    committed_limit_days: 10,
                    deemed_approval: false,
                    process_code: "P".into(),
                    process_version: 1,
                    parent: None,
                    warnings: vec!["w".into()],
                },
            ),
            ev(
                10,
                "clerk:li",
                Change::OneTimeNoticeGiven {
                    items: vec!["M2".into()],
                    note: "补身份证".into(),
                },
            ),
            ev(
                11,
                "clerk:phone",
                Change::MaterialsReceived {
                    materials: vec!["M2".into()],
                },
            ),
            ev(
                12,
                "system",
                Change::Accepted {
                    on: at(12, 0).date(),
                    deemed: true,
                },
            ),
            ev(
                14,
                "clerk:wang",
                Change::Decided {
                    node: "approve".into(),
                    outcome: Outcome::Approved,
                    document_number: "许字〔2026〕1号".into(),
                    reasons: vec![],
                    on: at(14, 0).date(),
                },
            ),
            CaseEvent {
                on_behalf_of: Some(yichuang_domain::agency::OnBehalf {
                    mandate: "WT202612040001".into(),
                    agent_name: "张三".into(),
                    principal: "李*英".into(),
                }),
                ..ev(
                    15,
                    "agent:zhang",
                    Change::Issued {
                        node: "issue".into(),
                        delivery: Delivery::Mail {
                            address: "北京市".into(),
                            carrier: "EMS".into(),
                            tracking_number: "E1".into(),
                        },
                    },
                )
            },
        ]
    }

    #[test]
    fn a_typed_timeline_entry_serialises_exactly_as_the_untyped_one_did() {
        for e in events() {
            let typed = serde_json::to_value(TimelineEntry::of(&e)).unwrap();
            assert_eq!(typed, as_before(&e), "{}", e.change.kind());
            assert_eq!(
                serde_json::to_string(&typed).unwrap(),
                serde_json::to_string(&as_before(&e)).unwrap()
            );
        }
    }

    #[test]
    fn the_timeline_keeps_the_hall_time_and_masks_the_applicants_numbers() {
        let e = &events()[0];
        let v = serde_json::to_value(TimelineEntry::of(e)).unwrap();
        assert_eq!(v["kind"], "received");
        assert_eq!(v["by"], "clerk:li");
        assert_eq!(v["at"], "2026-03-02T09:30:00+08:00");
        assert!(v.get("on_behalf_of").is_none());
        let id = v["applicant"]["id_number"].as_str().unwrap();
        assert_ne!(id, "110101199001011234");
        assert!(id.ends_with("1234"));
        let accepted = serde_json::to_value(TimelineEntry::of(&events()[3])).unwrap();
        assert_eq!(accepted["kind"], "accepted");
        assert_eq!(accepted["on"], "2026-03-02");
        assert_eq!(accepted["deemed"], true);
        assert_eq!(accepted["by"], "system");
        let issued = serde_json::to_value(TimelineEntry::of(&events()[5])).unwrap();
        assert_eq!(issued["kind"], "issued");
        assert_eq!(issued["delivery"]["method"], "mail");
        assert_eq!(issued["on_behalf_of"]["mandate"], "WT202612040001");
    }
}
