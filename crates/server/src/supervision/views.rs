//! Typed views of supervision: one struct each serves the API's JSON, the pages and the .xlsx
//! exports (ARCHITECTURE 10), so a number reads the same wherever it is shown.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::Serialize;
use yichuang_domain::supervision::numbers::{Figures, Metric, minutes, p90_label};
use yichuang_domain::supervision::ranking::{Inputs, Ranked};
use yichuang_domain::supervision::{Light, RecordKind, RecordState, SubjectKind};
use yichuang_domain::{Error, Result};
use yichuang_store::supervision::RecordRow;

use crate::ratings::views::{chinese_date, chinese_time};

/// Names of halls, departments, items and windows by code (windows by id as text).
#[derive(Debug, Default, Clone)]
pub struct Names(pub HashMap<String, String>);

impl Names {
    pub async fn load(db: &yichuang_store::Db) -> Result<Names> {
        use yichuang_store::ratings::{Dim, names};
        let mut m = HashMap::new();
        for dim in [Dim::Hall, Dim::Department, Dim::Item] {
            m.extend(names(db, dim).await?);
        }
        for (id, name) in names(db, Dim::Window).await? {
            m.insert(format!("w{id}"), name);
        }
        for (user, name) in names(db, Dim::Staff).await? {
            m.insert(format!("u:{user}"), name);
        }
        Ok(Names(m))
    }

    /// A person as events name them (`approver:sunli`): the account's name, or the system.
    pub fn actor(&self, by: &str) -> String {
        match by.split_once(':') {
            None => "系统".into(),
            Some(("system", _)) => "系统".into(),
            Some((_, user)) => self
                .0
                .get(&format!("u:{user}"))
                .cloned()
                .unwrap_or_else(|| user.to_string()),
        }
    }
    pub fn of(&self, code: &str) -> String {
        if code.is_empty() {
            return "（未分）".into();
        }
        self.0
            .get(code)
            .cloned()
            .unwrap_or_else(|| code.to_string())
    }
    pub fn window(&self, id: i64) -> String {
        self.0
            .get(&format!("w{id}"))
            .cloned()
            .unwrap_or_else(|| format!("窗口 {id}"))
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RecordView {
    pub id: i64,
    pub kind: RecordKind,
    pub kind_label: &'static str,
    pub anomaly: bool,
    pub subject_kind: SubjectKind,
    pub subject_label: &'static str,
    pub subject_id: String,
    /// What people call the subject: the case number (a step's name is in the note), or the
    /// rectification's number.
    pub subject_text: String,
    pub case_number: Option<String>,
    pub hall: Option<String>,
    pub hall_name: String,
    pub department: Option<String>,
    pub department_name: String,
    pub owner: Option<String>,
    pub owner_name: String,
    pub head: Option<String>,
    pub head_name: String,
    pub state: RecordState,
    pub state_label: &'static str,
    pub open: bool,
    pub light: Light,
    pub light_label: &'static str,
    pub note: String,
    /// The case events an anomaly rests on, as people read them.
    pub evidence: Vec<EvidenceLine>,
    pub due_on: Option<String>,
    pub due_text: String,
    pub deadline: Option<String>,
    pub deadline_text: String,
    pub opened_on: String,
    pub opened_text: String,
    pub closed_text: String,
    /// The short date (11月16日) for tables of one month.
    pub closed_short: String,
    pub reason: String,
    pub updated_text: String,
}

fn date_text(s: Option<&str>) -> String {
    s.and_then(|d| d.parse::<NaiveDate>().ok())
        .map(chinese_date)
        .unwrap_or_default()
}

impl RecordView {
    pub fn of(r: &RecordRow, names: &Names, today: NaiveDate) -> Result<RecordView> {
        let kind = RecordKind::parse(&r.kind).ok_or_else(|| Error::internal("record kind"))?;
        let state = RecordState::parse(&r.state).ok_or_else(|| Error::internal("record state"))?;
        let subject_kind =
            SubjectKind::parse(&r.subject_kind).ok_or_else(|| Error::internal("subject kind"))?;
        let deadline = r
            .deadline
            .as_deref()
            .and_then(|d| d.parse::<NaiveDate>().ok());
        // A notice's own light: red once its deadline has passed, yellow on it, else yellow (it is
        // about something already late); closed records are green.
        let light = match (state.is_open(), deadline) {
            (false, _) => Light::Green,
            (true, Some(d)) if today > d => Light::Red,
            _ => Light::Yellow,
        };
        let owner_name = match r.owner.as_deref() {
            None => String::new(),
            Some(o) if o.contains(':') => names.actor(o),
            Some(o) => names.of(o),
        };
        Ok(RecordView {
            id: r.id,
            kind,
            kind_label: kind.label(),
            anomaly: kind.is_anomaly(),
            subject_kind,
            subject_label: subject_kind.label(),
            subject_text: match (&r.case_number, subject_kind) {
                (Some(n), _) => n.clone(),
                (None, SubjectKind::Rectification) => format!("第 {} 号整改", r.subject_id),
                (None, _) => r.subject_id.clone(),
            },
            subject_id: r.subject_id.clone(),
            case_number: r.case_number.clone(),
            hall_name: r.hall.as_deref().map(|h| names.of(h)).unwrap_or_default(),
            hall: r.hall.clone(),
            department_name: r
                .department
                .as_deref()
                .map(|d| names.of(d))
                .unwrap_or_default(),
            department: r.department.clone(),
            owner: r.owner.clone(),
            owner_name,
            head_name: r
                .head
                .as_deref()
                .map(|h| names.actor(&format!("user:{h}")))
                .unwrap_or_default(),
            head: r.head.clone(),
            state,
            state_label: state.label(),
            open: state.is_open(),
            light,
            light_label: light.lamp(),
            note: r.note.clone(),
            evidence: evidence(&r.evidence, names),
            due_text: date_text(r.due_on.as_deref()),
            due_on: r.due_on.clone(),
            deadline_text: date_text(r.deadline.as_deref()),
            deadline: r.deadline.clone(),
            opened_text: date_text(Some(&r.opened_on)),
            opened_on: r.opened_on.clone(),
            closed_text: date_text(r.closed_on.as_deref()),
            closed_short: r
                .closed_on
                .as_deref()
                .and_then(|d| d.parse::<NaiveDate>().ok())
                .map(|d| d.format("%-m月%-d日").to_string())
                .unwrap_or_default(),
            reason: r.reason.clone().unwrap_or_default(),
            updated_text: chinese_time(r.updated_at),
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct EvidenceLine {
    /// Hall-local time with seconds: how quickly one step followed another is the point.
    pub at_text: String,
    pub kind: String,
    pub label: &'static str,
    pub by: String,
}

fn evidence(stored: &str, names: &Names) -> Vec<EvidenceLine> {
    let lines: Vec<serde_json::Value> = serde_json::from_str(stored).unwrap_or_default();
    lines
        .iter()
        .map(|e| {
            let kind = e["kind"].as_str().unwrap_or_default().to_string();
            EvidenceLine {
                at_text: e["at"]
                    .as_str()
                    .and_then(|t| t.parse::<chrono::NaiveDateTime>().ok())
                    .map(|t| t.format("%Y年%-m月%-d日 %H:%M:%S").to_string())
                    .unwrap_or_default(),
                label: yichuang_domain::case::events::kind_label(&kind),
                by: names.actor(e["by"].as_str().unwrap_or_default()),
                kind,
            }
        })
        .collect()
}

/// One row of figures as people read them, and the numbers behind it.
#[derive(Debug, Clone, Serialize)]
pub struct FiguresView {
    pub key: String,
    pub name: String,
    pub tickets: i64,
    pub served: i64,
    pub no_shows: i64,
    pub wait_mean: String,
    pub wait_p90: String,
    pub service_mean: String,
    pub received: i64,
    pub accepted: i64,
    pub refused: i64,
    pub decided: i64,
    pub deemed: i64,
    pub bundles: i64,
    pub one_time_notices: i64,
    pub done_rate: String,
    pub on_time_rate: String,
    pub early_rate: String,
    pub days_saved_mean: String,
    pub notice_rate: String,
    pub ratings: i64,
    pub satisfaction: String,
    pub bad: i64,
    pub bad_rate: String,
    pub work_orders: i64,
    pub work_orders_closed: i64,
    pub work_order_on_time_rate: String,
    pub figures: Figures,
}

impl FiguresView {
    pub fn of(key: &str, name: String, f: &Figures) -> FiguresView {
        FiguresView {
            key: key.to_string(),
            name,
            tickets: f.count(Metric::Tickets),
            served: f.count(Metric::Served),
            no_shows: f.count(Metric::NoShows),
            wait_mean: minutes(f.wait_mean),
            wait_p90: p90_label(f.wait_p90),
            service_mean: minutes(f.service_mean),
            received: f.count(Metric::Received),
            accepted: f.count(Metric::Accepted),
            refused: f.count(Metric::Refused),
            decided: f.count(Metric::Decided),
            deemed: f.count(Metric::Deemed),
            bundles: f.count(Metric::Bundles),
            one_time_notices: f.count(Metric::OneTimeNotices),
            done_rate: f.done_rate.percent(),
            on_time_rate: f.on_time_rate.percent(),
            early_rate: f.early_rate.percent(),
            days_saved_mean: f
                .days_saved_mean
                .map_or_else(|| "—".into(), |d| format!("{d:.1} 个工作日")),
            notice_rate: f.notice_rate.percent(),
            ratings: f.count(Metric::Ratings),
            satisfaction: f.satisfaction.percent(),
            bad: f.count(Metric::Bad),
            bad_rate: f.bad_rate.percent(),
            work_orders: f.count(Metric::WorkOrders),
            work_orders_closed: f.count(Metric::WorkOrdersClosed),
            work_order_on_time_rate: f.work_order_on_time_rate.percent(),
            figures: f.clone(),
        }
    }

    /// The figures in three groups (the hall's queue, cases, ratings and work orders): header
    /// and cell, in one place for the pages and the .xlsx sheets.
    pub fn groups(&self) -> Vec<(&'static str, Vec<(&'static str, String)>)> {
        vec![
            (
                "排队与等候",
                vec![
                    ("取号人次", self.tickets.to_string()),
                    ("过号", self.no_shows.to_string()),
                    ("平均等候", self.wait_mean.clone()),
                    ("90%等候", self.wait_p90.clone()),
                ],
            ),
            (
                "办件",
                vec![
                    ("收件", self.received.to_string()),
                    ("受理", self.accepted.to_string()),
                    ("不予受理", self.refused.to_string()),
                    ("办结", self.decided.to_string()),
                    ("办结率", self.done_rate.clone()),
                    ("按时办结率", self.on_time_rate.clone()),
                    ("提前办结率", self.early_rate.clone()),
                    ("较法定时限平均节省", self.days_saved_mean.clone()),
                    ("超时默认", self.deemed.to_string()),
                    ("一次性告知率", self.notice_rate.clone()),
                ],
            ),
            (
                "评价与工单",
                vec![
                    ("主动评价", self.ratings.to_string()),
                    ("满意率", self.satisfaction.clone()),
                    ("差评", self.bad.to_string()),
                    ("工单", self.work_orders.to_string()),
                    ("工单按时办结率", self.work_order_on_time_rate.clone()),
                ],
            ),
        ]
    }

    /// Every column with the name first: one row of an .xlsx sheet.
    pub fn columns(&self) -> Vec<(&'static str, String)> {
        std::iter::once(("名称", self.name.clone()))
            .chain(self.groups().into_iter().flat_map(|g| g.1))
            .collect()
    }
}

/// A table as a page shows it: a title, headers and rows of cells.
#[derive(Debug, Clone, Serialize)]
pub struct FigureTable {
    pub title: &'static str,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// One table per group, a row per view (the name first); empty rows when there are none.
pub fn tables(first: &str, rows: &[FiguresView]) -> Vec<FigureTable> {
    let blank = FiguresView::of("", String::new(), &Figures::of(Default::default()));
    blank
        .groups()
        .into_iter()
        .enumerate()
        .map(|(gi, (title, cols))| FigureTable {
            title,
            headers: std::iter::once(first.to_string())
                .chain(cols.iter().map(|c| c.0.to_string()))
                .collect(),
            rows: rows
                .iter()
                .map(|r| {
                    let g = r.groups().swap_remove(gi).1;
                    std::iter::once(r.name.clone())
                        .chain(g.into_iter().map(|c| c.1))
                        .collect()
                })
                .collect(),
        })
        .collect()
}

/// Periods side by side: a row per figure, a column per period (the comparison reads across).
pub fn side_by_side(rows: &[FiguresView]) -> FigureTable {
    let mut out = FigureTable {
        title: "对比",
        headers: std::iter::once("指标".to_string())
            .chain(rows.iter().map(|r| r.name.clone()))
            .collect(),
        rows: Vec::new(),
    };
    let Some(first) = rows.first() else {
        return out;
    };
    for (gi, (_, cols)) in first.groups().into_iter().enumerate() {
        for (ci, (header, _)) in cols.into_iter().enumerate() {
            let mut line = vec![header.to_string()];
            for r in rows {
                line.push(r.groups().swap_remove(gi).1.swap_remove(ci).1);
            }
            out.rows.push(line);
        }
    }
    out
}

#[derive(Debug, Clone, Serialize)]
pub struct RankedView {
    pub place: usize,
    /// A window's id or a staff member's username.
    pub key: String,
    pub window_id: Option<i64>,
    pub name: String,
    pub window_name: String,
    pub score: String,
    pub inputs: Inputs,
    pub timeliness: String,
    pub ratings: String,
    pub complaints: String,
    pub service: String,
    pub flag: bool,
    pub talk: bool,
    pub mark: &'static str,
}

impl RankedView {
    pub fn of(r: &Ranked<String>, kind: super::RankKind, names: &Names) -> RankedView {
        let window_id = (kind == super::RankKind::Window)
            .then(|| r.key.parse::<i64>().ok())
            .flatten();
        let name = match window_id {
            Some(id) => names.window(id),
            None => names.actor(&format!("staff:{}", r.key)),
        };
        RankedView {
            place: r.place,
            key: r.key.clone(),
            window_id,
            window_name: name.clone(),
            name,
            score: format!("{:.1}", r.score),
            inputs: r.inputs,
            timeliness: format!("{:.1}", r.inputs.timeliness),
            ratings: format!("{:.1}", r.inputs.ratings),
            complaints: format!("{:.1}", r.inputs.complaints),
            service: format!("{:.1}", r.inputs.service),
            flag: r.flag,
            talk: r.talk,
            mark: match (r.flag, r.talk, kind) {
                (true, _, super::RankKind::Window) => "红旗窗口",
                (true, _, super::RankKind::Staff) => "服务之星",
                (_, true, _) => "连续两期末位：约谈",
                _ => "",
            },
        }
    }
}
