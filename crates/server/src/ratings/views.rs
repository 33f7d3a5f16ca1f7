//! Typed views of ratings, rectifications and callbacks: one struct each serves the API's JSON
//! and the page's template (ARCHITECTURE 10).

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{NaiveDate, Utc};
use serde::Serialize;
use yichuang_domain::calendar::Calendar;
use yichuang_domain::rating::rectification::{Outcome, Source, Status};
use yichuang_domain::rating::{Channel, Level, Light, SubjectKind, callback};
use yichuang_domain::{Error, Result};
use yichuang_store::from_micros;
use yichuang_store::ratings::{CallbackRow, RatingRow, RectificationRow};

use crate::cases::time::local;
use crate::clock::hall_time;
use crate::state::AppState;

/// Beijing time in the form people read: 2026年12月3日 15:11.
pub fn chinese_time(us: i64) -> String {
    local(from_micros(us))
        .format("%Y年%-m月%-d日 %H:%M")
        .to_string()
}

pub fn chinese_date(d: NaiveDate) -> String {
    d.format("%Y年%-m月%-d日").to_string()
}

#[derive(Debug, Clone, Serialize)]
pub struct Subject {
    #[serde(rename = "type")]
    pub kind: SubjectKind,
    pub id: String,
    pub label: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RatingView {
    pub id: i64,
    pub subject: Subject,
    pub stage: String,
    pub level: Level,
    pub level_label: &'static str,
    pub indicators: serde_json::Value,
    pub comment: String,
    pub channel: Channel,
    pub channel_label: &'static str,
    /// A default rating (R-EVAL-DEFAULT): counted in totals only.
    pub default: bool,
    pub bad: bool,
    /// An upheld appeal keeps it out of the numbers; the rating itself stays.
    pub excluded: bool,
    pub hall: Option<String>,
    pub department: Option<String>,
    pub item: Option<String>,
    pub window_id: Option<i64>,
    pub staff: Option<String>,
    pub rated_at: String,
    #[serde(skip)]
    pub rated_at_text: String,
}

impl RatingView {
    pub fn of(r: &RatingRow) -> Result<RatingView> {
        let level = Level::from_number(r.level).ok_or_else(|| Error::internal("stored level"))?;
        let channel =
            Channel::parse(&r.channel).ok_or_else(|| Error::internal("stored channel"))?;
        Ok(RatingView {
            id: r.id,
            subject: Subject {
                kind: SubjectKind::parse(&r.subject_type)
                    .ok_or_else(|| Error::internal("stored subject"))?,
                id: r.subject_id.clone(),
                label: r.label.clone(),
            },
            stage: r.stage.clone(),
            level,
            level_label: level.label(),
            indicators: serde_json::from_str(&r.indicators).unwrap_or_default(),
            comment: r.comment.clone(),
            channel,
            channel_label: channel.label(),
            default: r.source == "default",
            bad: r.bad == 1,
            excluded: r.excluded == 1,
            hall: r.hall.clone(),
            department: r.department.clone(),
            item: r.item.clone(),
            window_id: r.window_id,
            staff: r.staff.clone(),
            rated_at: hall_time(from_micros(r.rated_at)),
            rated_at_text: chinese_time(r.rated_at),
        })
    }
}

/// Calendars by hall, so a list of many rows reads each hall's region once.
#[derive(Default)]
pub struct Calendars(HashMap<Option<String>, Arc<Calendar>>);

impl Calendars {
    pub async fn of(&mut self, st: &AppState, hall: Option<&str>) -> Result<Arc<Calendar>> {
        let key = hall.map(str::to_string);
        if let Some(c) = self.0.get(&key) {
            return Ok(c.clone());
        }
        let (c, _) = super::calendar_of(st, hall).await?;
        self.0.insert(key, c.clone());
        Ok(c)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RectificationView {
    pub id: i64,
    pub source: Source,
    pub source_label: &'static str,
    pub rating_id: Option<i64>,
    pub callback_id: Option<i64>,
    pub subject: Subject,
    pub hall: Option<String>,
    pub department: Option<String>,
    pub item: Option<String>,
    pub window_id: Option<i64>,
    pub staff: Option<String>,
    pub problem: String,
    pub status: Status,
    pub status_label: &'static str,
    pub outcome: Option<Outcome>,
    pub outcome_label: Option<&'static str>,
    pub opened_on: NaiveDate,
    pub deadline: NaiveDate,
    pub closed_on: Option<NaiveDate>,
    pub on_time: Option<bool>,
    pub light: Option<Light>,
    pub light_label: Option<&'static str>,
    #[serde(skip)]
    pub light_class: &'static str,
    pub evidence: Option<String>,
    pub appeal_reason: Option<String>,
    pub appeal_note: Option<String>,
    pub rater_level: Option<Level>,
    #[serde(skip)]
    pub deadline_text: String,
}

impl RectificationView {
    pub fn of(r: &RectificationRow, cal: &Calendar, today: NaiveDate) -> Result<RectificationView> {
        let s = super::rectification_state(r)?;
        let light = (s.status != Status::Closed).then(|| Light::of(cal, today, s.deadline));
        Ok(RectificationView {
            id: r.id,
            source: s.source,
            source_label: s.source.label(),
            rating_id: r.rating_id,
            callback_id: r.callback_id,
            subject: Subject {
                kind: SubjectKind::parse(&r.subject_type)
                    .ok_or_else(|| Error::internal("stored subject"))?,
                id: r.subject_id.clone(),
                label: r.label.clone(),
            },
            hall: r.hall.clone(),
            department: r.department.clone(),
            item: r.item.clone(),
            window_id: r.window_id,
            staff: r.staff.clone(),
            problem: r.problem.clone(),
            status: s.status,
            status_label: s.status.label(),
            outcome: s.outcome,
            outcome_label: s.outcome.map(Outcome::label),
            opened_on: s.opened_on,
            deadline: s.deadline,
            closed_on: s.closed_on,
            on_time: s.on_time(),
            light,
            light_label: light.map(Light::label),
            light_class: match light {
                Some(Light::Red) => "red",
                Some(Light::Yellow) => "yellow",
                _ => "green",
            },
            evidence: r.evidence.clone(),
            appeal_reason: r.appeal_reason.clone(),
            appeal_note: r.appeal_note.clone(),
            rater_level: s.rater_level,
            deadline_text: chinese_date(s.deadline),
        })
    }

    pub async fn list(st: &AppState, rows: &[RectificationRow]) -> Result<Vec<RectificationView>> {
        let today = local(st.now()).date();
        let mut cals = Calendars::default();
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let cal = cals.of(st, r.hall.as_deref()).await?;
            out.push(RectificationView::of(r, &cal, today)?);
        }
        Ok(out)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CallbackView {
    pub id: i64,
    pub kind: callback::Kind,
    pub kind_label: &'static str,
    pub status: callback::Status,
    pub status_label: &'static str,
    pub attempts: i64,
    pub subject: Subject,
    pub rating_id: Option<i64>,
    pub rectification_id: Option<i64>,
    pub hall: Option<String>,
    pub department: Option<String>,
    pub item: Option<String>,
    /// Masked (R-PII); the holder asks for the full number, and that is logged.
    pub phone: String,
    pub name: String,
    pub due_at: String,
    pub overdue: bool,
    pub held: bool,
    pub held_by_me: bool,
    pub satisfied: Option<bool>,
    pub problem: Option<String>,
    pub script: String,
    #[serde(skip)]
    pub due_text: String,
}

impl CallbackView {
    pub fn of(c: &CallbackRow, me: i64, now: chrono::DateTime<Utc>) -> Result<CallbackView> {
        let kind = callback::Kind::parse(&c.kind)
            .ok_or_else(|| Error::internal("stored callback kind"))?;
        let status = callback::Status::parse(&c.status)
            .ok_or_else(|| Error::internal("stored callback status"))?;
        Ok(CallbackView {
            id: c.id,
            kind,
            kind_label: kind.label(),
            status,
            status_label: status.label(),
            attempts: c.attempts,
            subject: Subject {
                kind: SubjectKind::parse(&c.subject_type)
                    .ok_or_else(|| Error::internal("stored subject"))?,
                id: c.subject_id.clone(),
                label: c.label.clone(),
            },
            rating_id: c.rating_id,
            rectification_id: c.rectification_id,
            hall: c.hall.clone(),
            department: c.department.clone(),
            item: c.item.clone(),
            phone: c.phone_masked.clone(),
            name: c.name_masked.clone(),
            due_at: hall_time(from_micros(c.due_at)),
            overdue: status == callback::Status::Open && from_micros(c.due_at) < now,
            held: c.holder_id.is_some(),
            held_by_me: c.holder_id == Some(me),
            satisfied: c.satisfied.map(|s| s == 1),
            problem: c.problem.clone(),
            script: kind.script(&c.label),
            due_text: chinese_time(c.due_at),
        })
    }
}
