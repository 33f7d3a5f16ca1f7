//! The numbers (R-EVAL-DEFAULT, R-BAD-RATING, R-CALLBACK-DAILY): 满意率, 差评率, 主动评价率,
//! 实名差评回访率, 整改率, 按时整改率 per hall, department, window, staff member, item and month;
//! the public monthly publication (no personal data) and the quarterly report as .xlsx.

use std::collections::BTreeMap;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use yichuang_domain::rating::stats::{Counts, Rates, rates};
use yichuang_domain::{Error, Result};
use yichuang_store::ratings::{self as store, Dim};

use crate::auth::MaybeActor;
use crate::cases::time::{local, utc};
use crate::error::ApiResult;
use crate::extract::Query;
use crate::pages::{Layout, render};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ratings/report", get(report_page))
        .route("/ratings/report.xlsx", get(report_xlsx))
}

pub fn parse_month(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(&format!("{}-01", s.trim()), "%Y-%m-%d").ok()
}

/// A span of hall-local days, `[from, to]`.
#[derive(Debug, Clone, Serialize)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    pub fn month(first: NaiveDate) -> Period {
        let next = first + Months::new(1);
        Period {
            from: first,
            to: next.pred_opt().unwrap_or(first),
        }
    }

    /// `month=2026-12`, or `from`/`to` dates (a week, a quarter), or this month.
    pub fn parse<'a>(
        month: Option<&'a str>,
        from: Option<&'a str>,
        to: Option<&'a str>,
        now: DateTime<Utc>,
    ) -> Result<Period> {
        let date = |s: &str, f: &str| {
            NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
                Error::invalid("bad_date", "日期格式为 2026-12-03")
                    .field(f, "日期格式为 2026-12-03")
            })
        };
        // An empty value is a field left blank in a form: not given.
        let given = |v: Option<&'a str>| v.filter(|v| !v.trim().is_empty());
        let (from, to) = (given(from), given(to));
        let p = match (given(month), from, to) {
            (Some(m), f, t) => {
                // A month wins over from/to, but a from/to that is not a date is still refused
                // rather than silently ignored.
                for (v, name) in [(f, "from"), (t, "to")] {
                    if let Some(v) = v {
                        date(v, name)?;
                    }
                }
                Period::month(parse_month(m).ok_or_else(|| {
                    Error::invalid("bad_month", "月份格式为 2026-12")
                        .field("month", "月份格式为 2026-12")
                })?)
            }
            (None, Some(f), Some(t)) => Period {
                from: date(f, "from")?,
                to: date(t, "to")?,
            },
            (None, None, None) => {
                let today = local(now).date();
                Period::month(today.with_day(1).unwrap_or(today))
            }
            _ => {
                return Err(
                    Error::invalid("bad_period", "请同时给出开始和结束日期，或给出月份")
                        .field("to", "请同时给出开始和结束日期"),
                );
            }
        };
        if p.to < p.from || (p.to - p.from).num_days() > 366 * 5 {
            return Err(
                Error::invalid("bad_period", "统计区间无效（结束早于开始，或超过五年）")
                    .field("to", "结束日期须不早于开始日期"),
            );
        }
        Ok(p)
    }

    pub fn quarter(s: &str) -> Option<Period> {
        let (y, q) = s.trim().split_once(['Q', 'q'])?;
        let (y, q): (i32, u32) = (y.parse().ok()?, q.parse().ok()?);
        if !(1..=4).contains(&q) {
            return None;
        }
        let from = NaiveDate::from_ymd_opt(y, (q - 1) * 3 + 1, 1)?;
        Some(Period {
            from,
            to: (from + Months::new(3)).pred_opt()?,
        })
    }

    fn bounds(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        let start = |d: NaiveDate| utc(d.and_hms_opt(0, 0, 0).unwrap_or_default());
        (
            start(self.from),
            start(self.to.succ_opt().unwrap_or(self.to)),
        )
    }

    pub fn label(&self) -> String {
        format!(
            "{}至{}",
            self.from.format("%Y年%-m月%-d日"),
            self.to.format("%Y年%-m月%-d日")
        )
    }
}

pub fn by_dim(s: &str) -> Result<Dim> {
    Ok(match s {
        "hall" => Dim::Hall,
        "department" => Dim::Department,
        "window" => Dim::Window,
        "staff" => Dim::Staff,
        "item" => Dim::Item,
        "month" => Dim::Month,
        _ => {
            return Err(Error::invalid("bad_dimension", "统计维度无效")
                .field("by", "可选 hall（大厅）、department（部门）、window（窗口）、staff（人员）、item（事项）、month（月份）"));
        }
    })
}

/// One row of the numbers: a group, what was counted and the rates.
#[derive(Debug, Clone, Serialize)]
pub struct NumbersRow {
    pub key: String,
    pub name: String,
    pub counts: Counts,
    pub rates: Rates,
    #[serde(skip)]
    pub percents: [String; 6],
}

impl NumbersRow {
    fn new(key: String, name: String, counts: Counts) -> NumbersRow {
        let r = rates(&counts);
        NumbersRow {
            key,
            name,
            percents: [
                r.satisfaction.percent(),
                r.bad.percent(),
                r.active.percent(),
                r.named_bad_callback.percent(),
                r.rectification.percent(),
                r.on_time_rectification.percent(),
            ],
            counts,
            rates: r,
        }
    }
}

/// The numbers of a period grouped by `dim`, with a total row last.
pub async fn numbers(
    st: &AppState,
    dim: Dim,
    period: &Period,
    hall: Option<&str>,
) -> Result<Vec<NumbersRow>> {
    let (from, to) = period.bounds();
    let mut groups: BTreeMap<String, Counts> = BTreeMap::new();
    for r in store::rating_counts(&st.db, dim, from, to, hall).await? {
        let c = groups.entry(r.key.unwrap_or_default()).or_default();
        c.ratings += r.ratings;
        c.by_people += r.by_people;
        c.satisfied += r.satisfied;
        c.bad += r.bad;
        c.named_bad += r.named_bad;
        c.named_bad_called += r.named_bad_called;
    }
    for r in store::rectification_counts(&st.db, dim, from, to, hall).await? {
        let c = groups.entry(r.key.unwrap_or_default()).or_default();
        c.rectifications += r.rectifications;
        c.rectified += r.rectified;
        c.rectified_on_time += r.rectified_on_time;
    }
    let names: BTreeMap<String, String> = store::names(&st.db, dim).await?.into_iter().collect();
    let mut total = Counts::default();
    let mut rows = Vec::with_capacity(groups.len() + 1);
    for (key, c) in groups {
        total.add(&c);
        let name = match (key.is_empty(), names.get(&key)) {
            (true, _) => "（未关联）".to_string(),
            (false, Some(n)) => n.clone(),
            (false, None) => key.clone(),
        };
        rows.push(NumbersRow::new(key, name, c));
    }
    rows.push(NumbersRow::new(String::new(), "合计".into(), total));
    Ok(rows)
}

pub const HEADERS: [&str; 6] = [
    "满意率",
    "差评率",
    "主动评价率",
    "实名差评回访率",
    "整改率",
    "按时整改率",
];

#[derive(Template)]
#[template(path = "ratings_report.html")]
struct ReportPage {
    layout: Layout,
    period: String,
    quarter: String,
    halls: Vec<NumbersRow>,
    departments: Vec<NumbersRow>,
    headers: [&'static str; 6],
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ReportQuery {
    month: Option<String>,
    quarter: Option<String>,
}

/// The monthly publication: per hall and department, no personal data (R-BAD-RATING
/// "results are published").
async fn report_page(
    State(st): State<AppState>,
    MaybeActor(actor): MaybeActor,
    Query(q): Query<ReportQuery>,
) -> ApiResult<Response> {
    let period = Period::parse(q.month.as_deref(), None, None, st.now())?;
    let quarter = format!(
        "{}Q{}",
        period.from.year(),
        (period.from.month() - 1) / 3 + 1
    );
    Ok(render(&ReportPage {
        layout: Layout::new("好差评月度公示", actor),
        period: format!("{}年{}月", period.from.year(), period.from.month()),
        quarter,
        halls: numbers(&st, Dim::Hall, &period, None).await?,
        departments: numbers(&st, Dim::Department, &period, None).await?,
        headers: HEADERS,
    }))
}

/// The quarterly report as .xlsx: one sheet per dimension, one row per group.
async fn report_xlsx(
    State(st): State<AppState>,
    Query(q): Query<ReportQuery>,
) -> ApiResult<Response> {
    let quarter = q.quarter.unwrap_or_default();
    let period = Period::quarter(&quarter).ok_or_else(|| {
        Error::invalid("bad_quarter", "季度格式为 2026Q4").field("quarter", "季度格式为 2026Q4")
    })?;
    let mut book = rust_xlsxwriter::Workbook::new();
    for (sheet, dim) in [
        ("大厅", Dim::Hall),
        ("部门", Dim::Department),
        ("事项", Dim::Item),
        ("月份", Dim::Month),
    ] {
        let rows = numbers(&st, dim, &period, None).await?;
        let ws = book.add_worksheet();
        ws.set_name(sheet).map_err(Error::internal)?;
        let head = [
            "名称",
            "评价数",
            "主动评价数",
            "满意数",
            "差评数",
            "实名差评数",
            "已回访差评数",
            "整改数",
            "已整改数",
            "按时整改数",
        ];
        for (c, h) in head.iter().chain(HEADERS.iter()).enumerate() {
            ws.write_string(0, c as u16, *h).map_err(Error::internal)?;
        }
        for (i, r) in rows.iter().enumerate() {
            let row = (i + 1) as u32;
            ws.write_string(row, 0, &r.name).map_err(Error::internal)?;
            let c = &r.counts;
            for (j, n) in [
                c.ratings,
                c.by_people,
                c.satisfied,
                c.bad,
                c.named_bad,
                c.named_bad_called,
                c.rectifications,
                c.rectified,
                c.rectified_on_time,
            ]
            .iter()
            .enumerate()
            {
                ws.write_number(row, (j + 1) as u16, *n as f64)
                    .map_err(Error::internal)?;
            }
            for (j, p) in r.percents.iter().enumerate() {
                ws.write_string(row, (j + 10) as u16, p)
                    .map_err(Error::internal)?;
            }
        }
        ws.set_column_width(0, 24).map_err(Error::internal)?;
    }
    let bytes = book.save_to_buffer().map_err(Error::internal)?;
    let name = format!("attachment; filename=\"haochaping-{quarter}.xlsx\"");
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
            ),
            (header::CONTENT_DISPOSITION, name),
        ],
        bytes,
    )
        .into_response())
}
