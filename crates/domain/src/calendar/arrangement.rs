//! One year's arrangement as the State Council's notice states it (R-CALENDAR), and a region's
//! local days. The TOML shape of `data/calendar/YYYY.toml` is the import format:
//!
//! ```toml
//! year = 2026
//!
//! [[notices]]                      # one or more: the notice and any later amendment
//! title = "国务院办公厅关于2026年部分节假日安排的通知"
//! number = "国办发明电〔2025〕7号"
//! published = 2025-11-04
//! note = "…"                       # optional
//!
//! [[holidays]]                     # 放假: every day of the range, weekends included
//! name = "元旦"
//! from = 2026-01-01
//! to = 2026-01-03
//!
//! [[workdays]]                     # 调休上班: a weekend that is a working day
//! date = 2026-01-04
//! for = "元旦"                     # optional: the holiday it makes up for
//! ```
//!
//! A notice may reach into the neighbouring year (the 2023 notice made 2022-12-31 a holiday), so
//! dates from December of the previous year to January of the next are accepted.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::read::{self, known_keys, list, object, path, text};
use super::{FIRST_YEAR, LAST_YEAR, in_span, is_weekend};
use crate::{Error, Problems, Result};

/// The longest holiday range accepted: a typo like `to = 2026-12-03` must not wipe out a year.
const MAX_HOLIDAY_DAYS: i64 = 31;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub title: String,
    /// 文号, e.g. 国办发明电〔2025〕7号.
    pub number: String,
    pub published: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holiday {
    pub name: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdjustedWorkday {
    pub date: NaiveDate,
    #[serde(rename = "for", default, skip_serializing_if = "Option::is_none")]
    pub for_holiday: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct YearArrangement {
    pub year: i32,
    pub notices: Vec<Notice>,
    pub holidays: Vec<Holiday>,
    pub workdays: Vec<AdjustedWorkday>,
}

impl YearArrangement {
    /// Parses and validates the TOML import format; every problem is reported with its field.
    pub fn from_toml(text: &str) -> Result<Self> {
        Self::from_value(&read::toml_to_json(text)?)
    }

    /// The same shape as JSON (the API accepts both).
    pub fn from_value(v: &Value) -> Result<Self> {
        let mut p = Problems::new();
        let parsed = read_arrangement(v, &mut p);
        p.finish()?;
        parsed.ok_or_else(|| Error::validation(vec![]).field("body", "内容不完整"))
    }

    /// The arrangement in the import format, so an administrator can download, correct and
    /// re-import it.
    pub fn to_toml(&self) -> String {
        let mut out = format!("year = {}\n", self.year);
        for n in &self.notices {
            out += &format!(
                "\n[[notices]]\ntitle = {}\nnumber = {}\npublished = {}\n",
                quote(&n.title),
                quote(&n.number),
                n.published
            );
            if let Some(note) = &n.note {
                out += &format!("note = {}\n", quote(note));
            }
        }
        for h in &self.holidays {
            out += &format!(
                "\n[[holidays]]\nname = {}\nfrom = {}\nto = {}\n",
                quote(&h.name),
                h.from,
                h.to
            );
        }
        for w in &self.workdays {
            out += &format!("\n[[workdays]]\ndate = {}\n", w.date);
            if let Some(f) = &w.for_holiday {
                out += &format!("for = {}\n", quote(f));
            }
        }
        out
    }

    /// Every holiday date with its name, range by range.
    pub fn holiday_dates(&self) -> impl Iterator<Item = (NaiveDate, &str)> + '_ {
        self.holidays.iter().flat_map(|h| {
            h.from
                .iter_days()
                .take_while(move |d| *d <= h.to)
                .map(move |d| (d, h.name.as_str()))
        })
    }

    /// The notices' titles and numbers, for events and listings.
    pub fn source(&self) -> String {
        self.notices
            .iter()
            .map(|n| format!("《{}》（{}）", n.title, n.number))
            .collect::<Vec<_>>()
            .join("；")
    }
}

fn quote(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// The dates a year's file may carry: the year itself, plus the December before and the January
/// after, where a notice may reach (R-CALENDAR).
fn window(year: i32) -> Option<(NaiveDate, NaiveDate)> {
    Some((
        NaiveDate::from_ymd_opt(year - 1, 12, 1)?,
        NaiveDate::from_ymd_opt(year + 1, 1, 31)?,
    ))
}

/// Why `d` may not be in the file of the year whose reach is `bounds`, if it may not.
fn outside_reach(bounds: Option<(NaiveDate, NaiveDate)>, d: NaiveDate) -> Option<String> {
    let (lo, hi) = bounds?;
    (d < lo || d > hi)
        .then(|| format!("日期应在{}年内（或相邻的上年12月、下年1月）", lo.year() + 1))
}

fn read_arrangement(v: &Value, p: &mut Problems) -> Option<YearArrangement> {
    let m = object(v, "", p)?;
    known_keys(m, &["year", "notices", "holidays", "workdays"], "", p);
    let year = match m.get("year") {
        Some(Value::Number(n)) => match n.as_i64().and_then(|y| i32::try_from(y).ok()) {
            Some(y) if in_span(y) => Some(y),
            _ => {
                p.add("year", format!("年份须在{FIRST_YEAR}至{LAST_YEAR}年之间"));
                None
            }
        },
        Some(Value::String(s)) => match s.trim().parse::<i32>() {
            Ok(y) if in_span(y) => Some(y),
            _ => {
                p.add(
                    "year",
                    format!("年份须为{FIRST_YEAR}至{LAST_YEAR}之间的整数"),
                );
                None
            }
        },
        None | Some(Value::Null) => {
            p.add("year", "必须填写年份，例如 year = 2026");
            None
        }
        Some(_) => {
            p.add("year", "年份须为整数");
            None
        }
    };
    let bounds = year.and_then(window);

    let notices_v = list(m, "notices", "", p);
    if notices_v.is_empty() && m.get("notices").is_none_or(|v| v.is_array()) {
        p.add("notices", "至少填写一份放假通知（标题、文号、发布日期）");
    }
    let mut notices = Vec::new();
    for (i, nv) in notices_v.iter().enumerate() {
        let at = format!("notices[{i}]");
        let Some(nm) = object(nv, &at, p) else {
            continue;
        };
        known_keys(nm, &["title", "number", "published", "note"], &at, p);
        let title = text(nm, "title", &at, true, 100, p);
        let number = text(nm, "number", &at, true, 40, p);
        let published = read::date(nm, "published", &at, p);
        let note = text(nm, "note", &at, false, 500, p);
        if let (Some(title), Some(number), Some(published)) = (title, number, published) {
            notices.push(Notice {
                title,
                number,
                published,
                note,
            });
        }
    }

    let mut holidays = Vec::new();
    for (i, hv) in list(m, "holidays", "", p).iter().enumerate() {
        let at = format!("holidays[{i}]");
        let Some(hm) = object(hv, &at, p) else {
            continue;
        };
        known_keys(hm, &["name", "from", "to"], &at, p);
        let name = text(hm, "name", &at, true, 20, p);
        let from = read::date(hm, "from", &at, p);
        let to = read::date(hm, "to", &at, p);
        if let (Some(from), Some(to)) = (from, to) {
            if to < from {
                p.add(path(&at, "to"), "结束日期不能早于开始日期");
                continue;
            }
            if (to - from).num_days() >= MAX_HOLIDAY_DAYS {
                p.add(
                    path(&at, "to"),
                    format!("一段假期不能超过{MAX_HOLIDAY_DAYS}天，请检查日期"),
                );
                continue;
            }
            let outside = outside_reach(bounds, from)
                .map(|m| ("from", m))
                .or_else(|| outside_reach(bounds, to).map(|m| ("to", m)));
            if let Some((field, message)) = outside {
                p.add(path(&at, field), message);
                continue;
            }
            if let Some(name) = name {
                holidays.push((i, Holiday { name, from, to }));
            }
        }
    }
    // One date, one meaning: overlapping ranges would make the later silently win.
    let mut sorted: Vec<&(usize, Holiday)> = holidays.iter().collect();
    sorted.sort_by_key(|(_, h)| h.from);
    for w in sorted.windows(2) {
        if w[1].1.from <= w[0].1.to {
            p.add(
                format!("holidays[{}].from", w[1].0),
                format!("与第{}段假期（{}）的日期重叠", w[0].0 + 1, w[0].1.name),
            );
        }
    }

    let mut workdays: Vec<AdjustedWorkday> = Vec::new();
    for (i, wv) in list(m, "workdays", "", p).iter().enumerate() {
        let at = format!("workdays[{i}]");
        let Some(wm) = object(wv, &at, p) else {
            continue;
        };
        known_keys(wm, &["date", "for"], &at, p);
        let date = read::date(wm, "date", &at, p);
        let for_holiday = text(wm, "for", &at, false, 20, p);
        let Some(date) = date else { continue };
        let f = path(&at, "date");
        if let Some(message) = outside_reach(bounds, date) {
            p.add(f, message);
            continue;
        }
        if !is_weekend(date) {
            p.add(f, format!("{date}本来就是工作日，调休上班日应是周六或周日"));
        } else if let Some((_, h)) = holidays
            .iter()
            .find(|(_, h)| h.from <= date && date <= h.to)
        {
            p.add(
                f,
                format!("{date}已在{}假期内，不能同时是调休上班日", h.name),
            );
        } else if workdays.iter().any(|w| w.date == date) {
            p.add(f, format!("{date}重复填写"));
        } else {
            workdays.push(AdjustedWorkday { date, for_holiday });
        }
    }

    let year = year?;
    let mut holidays: Vec<Holiday> = holidays.into_iter().map(|(_, h)| h).collect();
    holidays.sort_by_key(|h| h.from);
    workdays.sort_by_key(|w| w.date);
    Some(YearArrangement {
        year,
        notices,
        holidays,
        workdays,
    })
}

/// What a region's local rule makes of a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LocalKind {
    /// A local holiday (e.g. a minority festival set by the autonomous region).
    Holiday,
    /// A local working day.
    Workday,
}

/// A region's own day, added to the national arrangement; child regions inherit it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalDay {
    pub region: String,
    pub date: NaiveDate,
    pub kind: LocalKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl LocalDay {
    /// Validates a local day from the API (`{"date","kind","name"?}`) for `region`.
    pub fn from_value(region: &str, v: &Value) -> Result<Self> {
        let mut p = Problems::new();
        let region = region.trim();
        p.check(
            valid_region(region),
            "region",
            "地区编码只能由字母、数字、-、_ 组成，最多32位",
        );
        let day = object(v, "", &mut p).and_then(|m| read_local(region, m, &mut p));
        p.finish()?;
        day.ok_or_else(|| Error::validation(vec![]).field("body", "内容不完整"))
    }
}

pub fn valid_region(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 32
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn read_local(region: &str, m: &Map<String, Value>, p: &mut Problems) -> Option<LocalDay> {
    known_keys(m, &["date", "kind", "name"], "", p);
    let date = read::date(m, "date", "", p);
    if let Some(d) = date {
        p.check(
            in_span(d.year()),
            "date",
            &format!("日期须在{FIRST_YEAR}至{LAST_YEAR}年之间"),
        );
    }
    let kind = match m.get("kind").and_then(Value::as_str) {
        Some("holiday") => Some(LocalKind::Holiday),
        Some("workday") => Some(LocalKind::Workday),
        _ => {
            p.add(
                "kind",
                "类型须为 holiday（地方节假日）或 workday（地方工作日）",
            );
            None
        }
    };
    let name = text(m, "name", "", kind == Some(LocalKind::Holiday), 20, p);
    Some(LocalDay {
        region: region.to_string(),
        date: date?,
        kind: kind?,
        name,
    })
}
