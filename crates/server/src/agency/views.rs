//! What the API returns and the pages show of help requests and mandates: one typed view per
//! thing (ARCHITECTURE principle 10). Names and phone numbers are masked (R-PII) except the
//! phone for the agent who must call; times are Beijing time, RFC 3339 for machines and in
//! Chinese for people.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use yichuang_domain::agency::{HelpSource, HelpState, MandateAction};
use yichuang_domain::pii::{mask_name, mask_phone};
use yichuang_domain::supervision::Light;
use yichuang_domain::workdays::WorkingDays;
use yichuang_domain::{Actor, Role};
use yichuang_store::agency::{MandateRow, Milestone, RequestRow};

use super::{help_of, mandate_of};
use crate::cases::time::local;
use crate::clock::hall_time;

pub fn chinese(t: DateTime<Utc>) -> String {
    local(t).format("%Y年%-m月%-d日 %H:%M").to_string()
}

pub fn chinese_day(d: NaiveDate) -> String {
    d.format("%Y年%-m月%-d日").to_string()
}

#[derive(Debug, Clone, Serialize)]
pub struct MilestoneView {
    pub seq: i64,
    pub title: String,
    pub due_on: NaiveDate,
    pub due_text: String,
    pub case_number: Option<String>,
    pub done: bool,
    pub done_text: String,
    /// Not done and past its day.
    pub late: bool,
}

impl MilestoneView {
    pub fn of(m: &Milestone, today: NaiveDate) -> Self {
        MilestoneView {
            seq: m.seq,
            title: m.title.clone(),
            due_on: m.due_on,
            due_text: chinese_day(m.due_on),
            case_number: m.case_number.clone(),
            done: m.done_at.is_some(),
            done_text: m.done_at.map(chinese).unwrap_or_default(),
            late: m.done_at.is_none() && m.due_on < today,
        }
    }
}

/// A help request as staff see it.
#[derive(Debug, Clone, Serialize)]
pub struct HelpRequestView {
    pub id: i64,
    pub number: String,
    pub hall: String,
    pub source: HelpSource,
    pub source_label: &'static str,
    pub state: HelpState,
    pub state_label: &'static str,
    pub agent: Option<String>,
    pub agent_name: String,
    /// Masked (R-PII).
    pub citizen: String,
    pub phone_masked: String,
    /// The whole number, for the assigned agent and the manager only (they must call).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    pub need: String,
    pub project: Option<String>,
    pub enterprise: Option<String>,
    pub work_order: Option<String>,
    pub created_at: String,
    pub created_text: String,
    pub first_contact_due: NaiveDate,
    pub first_contact_due_text: String,
    /// The first-contact clock's light, while contact is owed.
    pub light: Option<Light>,
    pub light_label: String,
    pub first_contact_text: String,
    pub first_contact_on_time: Option<bool>,
    pub closed_text: String,
    pub close_note: String,
    pub rating: Option<u8>,
    pub rating_comment: String,
    pub milestones: Vec<MilestoneView>,
    /// The citizen's own page (to send by SMS or show as a QR code).
    pub citizen_page: String,
}

impl HelpRequestView {
    pub fn of(
        r: &RequestRow,
        milestones: &[Milestone],
        viewer: Option<&Actor>,
        names: &dyn Fn(&str) -> String,
        cal: &dyn WorkingDays,
        today: NaiveDate,
    ) -> Self {
        let h = help_of(r);
        let cal = Cal(cal);
        let light = h.first_contact_light(&cal, today);
        let sees_phone = viewer.is_some_and(|a| {
            matches!(a.role, Role::Admin | Role::HallManager)
                || r.agent.as_deref() == Some(a.username.as_str())
        });
        HelpRequestView {
            id: r.id,
            number: r.number(),
            hall: r.hall.clone(),
            source: r.source,
            source_label: r.source.label(),
            state: r.state,
            state_label: r.state.label(),
            agent: r.agent.clone(),
            agent_name: r.agent.as_deref().map(names).unwrap_or_default(),
            citizen: mask_name(&r.citizen_name),
            phone_masked: mask_phone(&r.citizen_phone),
            phone: sees_phone
                .then(|| r.citizen_phone.clone())
                .filter(|p| !p.is_empty()),
            need: r.need.clone(),
            project: r.project.clone(),
            enterprise: r.enterprise.clone(),
            work_order: r.work_order.clone(),
            created_at: hall_time(r.created_at),
            created_text: chinese(r.created_at),
            first_contact_due: h.first_contact_due(&cal),
            first_contact_due_text: chinese_day(h.first_contact_due(&cal)),
            light,
            light_label: light.map(|l| l.lamp().to_string()).unwrap_or_default(),
            first_contact_text: r.first_contact_at.map(chinese).unwrap_or_default(),
            first_contact_on_time: h.first_contact_on_time(&cal),
            closed_text: r.closed_at.map(chinese).unwrap_or_default(),
            close_note: r.close_note.clone(),
            rating: r.rating,
            rating_comment: r.rating_comment.clone(),
            milestones: milestones
                .iter()
                .map(|m| MilestoneView::of(m, today))
                .collect(),
            citizen_page: format!("/help/{}", r.link),
        }
    }

    pub fn light_class(&self) -> &'static str {
        match self.light {
            Some(Light::Red) => "light-red",
            Some(Light::Yellow) => "light-yellow",
            Some(Light::Green) => "light-green",
            None => "",
        }
    }
}

/// `&dyn WorkingDays` as an `impl WorkingDays` for the domain's generic functions.
struct Cal<'a>(&'a dyn WorkingDays);

impl WorkingDays for Cal<'_> {
    fn is_working_day(&self, d: NaiveDate) -> bool {
        self.0.is_working_day(d)
    }
    fn add_working_days(&self, from: NaiveDate, n: i64) -> NaiveDate {
        self.0.add_working_days(from, n)
    }
    fn working_days_between(&self, a: NaiveDate, b: NaiveDate) -> i64 {
        self.0.working_days_between(a, b)
    }
}

/// What the citizen sees on their own page: no other person's data.
#[derive(Debug, Clone, Serialize)]
pub struct CitizenHelpView {
    pub number: String,
    pub state: HelpState,
    pub state_label: &'static str,
    pub agent_name: String,
    pub created_text: String,
    pub first_contact_text: String,
    pub closed_text: String,
    pub close_note: String,
    pub rating: Option<u8>,
    pub may_rate: bool,
}

impl CitizenHelpView {
    pub fn of(r: &RequestRow, names: &dyn Fn(&str) -> String) -> Self {
        CitizenHelpView {
            number: r.number(),
            state: r.state,
            state_label: r.state.label(),
            agent_name: r.agent.as_deref().map(names).unwrap_or_default(),
            created_text: chinese(r.created_at),
            first_contact_text: r.first_contact_at.map(chinese).unwrap_or_default(),
            closed_text: r.closed_at.map(chinese).unwrap_or_default(),
            close_note: r.close_note.clone(),
            rating: r.rating,
            may_rate: r.state == HelpState::Closed && r.rating.is_none(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct MandateView {
    pub number: String,
    pub agent: String,
    pub agent_name: String,
    /// Masked (R-PII).
    pub principal: String,
    pub items: Vec<String>,
    pub item_names: Vec<String>,
    pub bundles: Vec<String>,
    pub bundle_names: Vec<String>,
    pub actions: Vec<MandateAction>,
    pub action_labels: Vec<&'static str>,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    pub valid_text: String,
    pub revoked: bool,
    pub revoked_text: String,
    pub has_document: bool,
    /// 有效 / 已撤销 / 已到期 / 尚未生效 / 待存入委托书扫描件.
    pub status_label: &'static str,
    pub usable: bool,
    pub request: Option<String>,
    pub created_text: String,
}

impl MandateView {
    pub fn of(
        row: &MandateRow,
        names: &dyn Fn(&str) -> String,
        item_name: &dyn Fn(&str) -> String,
        bundle_name: &dyn Fn(&str) -> String,
        today: NaiveDate,
    ) -> Self {
        let m = mandate_of(row);
        let (status_label, usable) = if m.revoked_at.is_some() {
            ("已撤销", false)
        } else if today > m.valid_until {
            ("已到期", false)
        } else if today < m.valid_from {
            ("尚未生效", false)
        } else if m.document.is_none() {
            ("待存入委托书扫描件", false)
        } else {
            ("有效", true)
        };
        MandateView {
            number: row.number.clone(),
            agent: m.agent.clone(),
            agent_name: names(&m.agent),
            principal: m.principal_masked(),
            item_names: m.items.iter().map(|c| item_name(c)).collect(),
            items: m.items.clone(),
            bundle_names: m.bundles.iter().map(|c| bundle_name(c)).collect(),
            bundles: m.bundles.clone(),
            action_labels: m.actions.iter().map(|a| a.label()).collect(),
            actions: m.actions.clone(),
            valid_from: m.valid_from,
            valid_until: m.valid_until,
            valid_text: format!(
                "{} 至 {}",
                chinese_day(m.valid_from),
                chinese_day(m.valid_until)
            ),
            revoked: m.revoked_at.is_some(),
            revoked_text: row.revoked_at.map(chinese).unwrap_or_default(),
            has_document: m.document.is_some(),
            status_label,
            usable,
            request: row.request_id.map(yichuang_store::agency::number_of),
            created_text: chinese(row.created_at),
        }
    }
}
