//! Typed views of work orders and ledger entries: one struct each serves the API's JSON and the
//! page's template (ARCHITECTURE 10). Personal data masked (R-PII); dates in Chinese form beside
//! the ISO dates the API keeps.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::Serialize;
use yichuang_domain::case::Warning;
use yichuang_domain::pii::{mask_name, mask_phone};
use yichuang_domain::work_order::ledger::{Entry, LedgerSource, LedgerStatus};
use yichuang_domain::work_order::{Source, Status, WorkOrderSettings};
use yichuang_domain::workdays::WorkingDays;
use yichuang_domain::{Error, Result};
use yichuang_store::events::EventRow;
use yichuang_store::work_orders::{EntryRow, WorkOrderRow};

use crate::ratings::views::{chinese_date, chinese_time};

#[derive(Debug, Clone, Serialize)]
pub struct Unit {
    pub code: String,
    pub name: String,
}

fn unit(units: &HashMap<String, String>, code: &str) -> Unit {
    Unit {
        code: code.to_string(),
        name: units.get(code).cloned().unwrap_or_else(|| code.to_string()),
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ExtensionView {
    pub days: u32,
    pub reason: String,
    pub asked_on: NaiveDate,
    pub asked_on_text: String,
    pub approved: Option<bool>,
    pub state_label: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct PauseView {
    pub state_label: &'static str,
    pub from_text: String,
    pub until_text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct WorkOrderView {
    pub number: String,
    pub source: Source,
    pub source_label: &'static str,
    pub status: Status,
    pub status_label: &'static str,
    /// Open311's two states.
    pub open: bool,
    pub hall: Option<String>,
    pub category: Option<String>,
    pub category_label: String,
    pub tier: Option<String>,
    pub tier_label: String,
    pub lead_unit: Option<Unit>,
    pub assisting_units: Vec<Unit>,
    pub requester_name: String,
    pub requester_phone: Option<String>,
    pub place: String,
    pub text: String,
    pub case_number: Option<String>,
    pub rating_id: Option<i64>,
    pub external_id: Option<String>,
    pub received_on: NaiveDate,
    pub received_at_text: String,
    pub due_date: Option<NaiveDate>,
    pub due_text: String,
    pub working_days_left: Option<i64>,
    /// 剩 3 个工作日 / 已超期 2 个工作日, while open.
    pub left_text: String,
    pub warning: Option<Warning>,
    pub light_label: &'static str,
    pub light_class: &'static str,
    pub paused: bool,
    pub pauses: Vec<PauseView>,
    pub extensions: Vec<ExtensionView>,
    pub pending_extension: bool,
    pub objection: Option<String>,
    pub objection_unit: Option<Unit>,
    pub answer: Option<String>,
    pub negative: bool,
    pub negative_reasons: String,
    pub answered_on_text: String,
    pub feedback: Option<String>,
    pub reopened: u32,
    pub urged_on_text: Option<String>,
    pub overseen_on_text: Option<String>,
    pub merged_into: Option<String>,
    pub declined_reason: Option<String>,
    pub refer_to: Option<String>,
    pub closed_on_text: Option<String>,
}

impl WorkOrderView {
    pub fn of(
        row: &WorkOrderRow,
        s: &WorkOrderSettings,
        units: &HashMap<String, String>,
        cal: &dyn WorkingDays,
        today: NaiveDate,
    ) -> Result<WorkOrderView> {
        let o = super::state_of(row)?;
        let reading = o.reading(cal, today, s.yellow_at_percent);
        let warning = reading
            .as_ref()
            .filter(|_| !o.status.is_closed() && o.status != Status::Answered)
            .map(|r| r.warning);
        let (light_label, light_class) = match warning {
            Some(Warning::Red) => ("已超期", "red"),
            Some(Warning::Yellow) => ("即将到期", "yellow"),
            Some(Warning::Green) => ("正常", "green"),
            None => ("", ""),
        };
        let source = Source::parse(&row.source).ok_or_else(|| Error::internal("source"))?;
        Ok(WorkOrderView {
            number: row.number.clone(),
            source,
            source_label: source.label(),
            status: o.status,
            status_label: o.status.label(),
            open: !o.status.is_closed(),
            hall: row.hall.clone(),
            category: o.category.clone(),
            category_label: o
                .category
                .as_deref()
                .map(|c| s.category_path(c))
                .unwrap_or_else(|| "待分类".into()),
            tier: o.tier.as_ref().map(|t| t.code.clone()),
            tier_label: o
                .tier
                .as_ref()
                .map(|t| {
                    if t.days == 0 {
                        format!("{}（当日）", t.name)
                    } else {
                        format!("{}（{} 个工作日）", t.name, t.days)
                    }
                })
                .unwrap_or_default(),
            lead_unit: o.lead_unit.as_deref().map(|u| unit(units, u)),
            assisting_units: o.assisting_units.iter().map(|u| unit(units, u)).collect(),
            requester_name: if row.requester_name.is_empty() {
                "匿名".into()
            } else {
                mask_name(&row.requester_name)
            },
            requester_phone: row.requester_phone.as_deref().map(mask_phone),
            place: row.place.clone(),
            text: row.body.clone(),
            case_number: row.case_number.clone(),
            rating_id: row.rating_id,
            external_id: row.external_id.clone(),
            received_on: o.received_on,
            received_at_text: chinese_time(row.created_at),
            due_date: reading.as_ref().map(|r| r.due_date),
            due_text: reading
                .as_ref()
                .map(|r| chinese_date(r.due_date))
                .unwrap_or_else(|| "分类后确定".into()),
            working_days_left: reading.as_ref().map(|r| r.working_days_left),
            left_text: match reading.as_ref().map(|r| r.working_days_left) {
                Some(_) if o.status.is_closed() || o.status == Status::Answered => String::new(),
                Some(l) if l >= 0 => format!("剩 {l} 个工作日"),
                Some(l) => format!("已超期 {} 个工作日", -l),
                None => String::new(),
            },
            warning,
            light_label,
            light_class,
            paused: reading.as_ref().is_some_and(|r| r.paused),
            pauses: o
                .pauses
                .iter()
                .map(|p| PauseView {
                    state_label: p.state.label(),
                    from_text: chinese_date(p.from),
                    until_text: p.until.map(chinese_date).unwrap_or_else(|| "至今".into()),
                })
                .collect(),
            extensions: o
                .extensions
                .iter()
                .map(|e| ExtensionView {
                    days: e.days,
                    reason: e.reason.clone(),
                    asked_on: e.asked_on,
                    asked_on_text: chinese_date(e.asked_on),
                    approved: e.approved,
                    state_label: match e.approved {
                        None => "待审批",
                        Some(true) => "已批准",
                        Some(false) => "未批准",
                    },
                })
                .collect(),
            pending_extension: o.pending_extension().is_some(),
            objection: o
                .objection
                .as_ref()
                .filter(|_| o.status == Status::Objected)
                .map(|x| x.reason.clone()),
            objection_unit: o
                .objection
                .as_ref()
                .filter(|_| o.status == Status::Objected)
                .map(|x| unit(units, &x.unit)),
            answer: o.answer.as_ref().map(|a| a.text.clone()),
            negative: o.answer.as_ref().is_some_and(|a| a.negative),
            negative_reasons: o
                .answer
                .as_ref()
                .map(|a| a.reasons.clone())
                .unwrap_or_default(),
            answered_on_text: o
                .answer
                .as_ref()
                .map(|a| chinese_date(a.on))
                .unwrap_or_default(),
            feedback: o.feedback.as_ref().map(|f| {
                let mut t = if f.satisfied {
                    "满意".to_string()
                } else if f.handler_at_fault {
                    "不满意（承办单位责任，已重新交办）".to_string()
                } else {
                    "不满意（非承办单位责任）".to_string()
                };
                if let Some(l) = f.level {
                    t.push_str(&format!("，评价：{}", l.label()));
                }
                if !f.note.is_empty() {
                    t.push_str(&format!("。{}", f.note));
                }
                t
            }),
            reopened: o.reopened,
            urged_on_text: o.urged_on.map(chinese_date),
            overseen_on_text: o.overseen_on.map(chinese_date),
            merged_into: o.merged_into.clone(),
            declined_reason: o.declined.as_ref().map(|d| d.reason.clone()),
            refer_to: o.declined.as_ref().map(|d| d.refer_to.clone()),
            closed_on_text: o.closed_on.map(chinese_date),
        })
    }
}

/// One line of an order's or an entry's timeline, in plain words.
#[derive(Debug, Clone, Serialize)]
pub struct TimelineLine {
    pub at_text: String,
    pub what: String,
    pub by: String,
    pub note: String,
}

fn event_label(kind: &str) -> &'static str {
    match kind {
        "work_order_received" => "受理",
        "work_order_dispatched" => "分类转办",
        "work_order_objected" => "派单异议",
        "work_order_reassigned" => "异议成立，改派",
        "work_order_objection_rejected" => "异议不成立，退回原单位办理",
        "work_order_extension_asked" => "申请延期",
        "work_order_extension_approved" => "批准延期",
        "work_order_extension_refused" => "不批准延期",
        "work_order_requester_asked" => "请群众补充情况",
        "work_order_requester_replied" => "群众补充情况",
        "work_order_answered" => "答复",
        "work_order_answered_negative" => "否定答复",
        "work_order_feedback" => "回访评价",
        "work_order_declined" => "不予受理（告知去向）",
        "work_order_merged" => "并入其他工单",
        "work_order_merge_received" => "并入重复工单",
        "work_order_reply_forwarded" => "答复转至主工单",
        "work_order_urged" => "催办",
        "work_order_overseen" => "督办",
        "ledger_entry_created" => "列入台账",
        "ledger_close_out_requested" => "申请销号",
        "ledger_closed_out" => "审核通过，销号",
        "ledger_close_out_refused" => "审核不通过，退回整改",
        "ledger_revisited" => "回头看：整改成效巩固",
        "ledger_reopened" => "回头看：问题反弹，重新整改",
        "ledger_revisit_due" => "回头看到期",
        _ => "处理",
    }
}

/// Who did it, as people say it: 王芳（窗口工作人员）, 系统, 诉求人. `names` maps usernames
/// to display names.
fn who(actor: &str, names: &HashMap<String, String>) -> String {
    match actor.split_once(':') {
        Some(("system", _)) => "系统".into(),
        Some(("applicant", _)) => "诉求人".into(),
        Some(("open311", _)) => "开放接口".into(),
        Some((role, user)) => format!(
            "{}（{}）",
            names.get(user).map_or(user, String::as_str),
            yichuang_domain::Role::parse(role).map_or("工作人员", |r| r.label())
        ),
        None => actor.to_string(),
    }
}

/// The display names of the staff who appear in `events`.
pub async fn names_in(
    db: &yichuang_store::Db,
    events: &[EventRow],
) -> Result<HashMap<String, String>> {
    let mut names = HashMap::new();
    for e in events {
        if let Some((_, user)) = e.actor.split_once(':')
            && !names.contains_key(user)
            && let Some(a) = yichuang_store::accounts::by_username(db, user).await?
        {
            names.insert(user.to_string(), a.display_name);
        }
    }
    Ok(names)
}

pub fn timeline(
    events: &[EventRow],
    units: &HashMap<String, String>,
    names: &HashMap<String, String>,
) -> Vec<TimelineLine> {
    events
        .iter()
        .map(|e| {
            let p: serde_json::Value = serde_json::from_str(&e.payload).unwrap_or_default();
            let d = &p["detail"];
            let text = |k: &str| d[k].as_str().unwrap_or_default().to_string();
            let unit_name = |k: &str| {
                d[k].as_str()
                    .map(|u| units.get(u).cloned().unwrap_or_else(|| u.to_string()))
            };
            let note = match e.kind.as_str() {
                "work_order_dispatched" => unit_name("lead_unit")
                    .map(|u| format!("主办：{u}"))
                    .unwrap_or_else(|| "窗口即办".into()),
                "work_order_objected" | "work_order_extension_asked" => text("reason"),
                "work_order_reassigned" => format!(
                    "改派：{}。{}",
                    unit_name("reassign_to").unwrap_or_default(),
                    text("note")
                ),
                "work_order_objection_rejected"
                | "work_order_extension_refused"
                | "work_order_requester_asked" => text("note"),
                "work_order_requester_replied" | "work_order_answered" => text("text"),
                "work_order_answered_negative" => {
                    format!("{}（理由：{}）", text("text"), text("reasons"))
                }
                "work_order_feedback" => {
                    if d["satisfied"].as_bool() == Some(true) {
                        "满意".into()
                    } else {
                        format!("不满意：{}", text("note"))
                    }
                }
                "work_order_declined" => {
                    format!("{}；请向{}反映", text("reason"), text("refer_to"))
                }
                "work_order_merged" => format!("主工单 {}", text("into")),
                "work_order_merge_received" => p["merged"].as_str().unwrap_or_default().into(),
                "work_order_reply_forwarded" => {
                    format!("转至 {}", p["to"].as_str().unwrap_or_default())
                }
                _ => p["note"].as_str().unwrap_or_default().to_string(),
            };
            TimelineLine {
                at_text: chinese_time(e.at),
                what: event_label(&e.kind).into(),
                by: who(&e.actor, names),
                note,
            }
        })
        .collect()
}

#[derive(Debug, Clone, Serialize)]
pub struct EntryView {
    pub id: i64,
    pub hall: Option<String>,
    pub source: LedgerSource,
    pub source_label: &'static str,
    pub point: String,
    pub category_label: String,
    pub title: String,
    pub description: String,
    pub owner: Unit,
    pub status: LedgerStatus,
    pub status_label: &'static str,
    pub deadline: NaiveDate,
    pub deadline_text: String,
    pub late: bool,
    pub measures: String,
    pub evidence: String,
    pub closed_out_on_text: Option<String>,
    pub revisit_on: Option<NaiveDate>,
    pub revisit_on_text: Option<String>,
    pub revisit_due: bool,
    pub revisited_on_text: Option<String>,
    pub reopened: u32,
    pub created_at_text: String,
    pub work_orders: Vec<String>,
}

impl EntryView {
    pub fn of(
        row: &EntryRow,
        s: &WorkOrderSettings,
        units: &HashMap<String, String>,
        today: NaiveDate,
        work_orders: Vec<String>,
    ) -> Result<EntryView> {
        let e: Entry = serde_json::from_str(&row.state).map_err(Error::internal)?;
        let source = LedgerSource::parse(&row.source).ok_or_else(|| Error::internal("source"))?;
        Ok(EntryView {
            id: row.id,
            hall: row.hall.clone(),
            source,
            source_label: source.label(),
            point: row.point.clone(),
            category_label: s
                .aspect_of_point(&row.point)
                .map(|(a, p)| format!("{} / {}", a.name, p.name))
                .unwrap_or_else(|| row.point.clone()),
            title: row.title.clone(),
            description: row.description.clone(),
            owner: unit(units, &row.owner),
            status: e.status,
            status_label: e.status.label(),
            deadline: e.deadline,
            deadline_text: chinese_date(e.deadline),
            late: e.late(today),
            measures: e.measures.clone(),
            evidence: e.evidence.clone(),
            closed_out_on_text: e.closed_out_on.map(chinese_date),
            revisit_on: e.revisit_on,
            revisit_on_text: e.revisit_on.map(chinese_date),
            revisit_due: e.revisit_due(today),
            revisited_on_text: e.revisited_on.map(chinese_date),
            reopened: e.reopened,
            created_at_text: chinese_time(row.created_at),
            work_orders,
        })
    }
}
