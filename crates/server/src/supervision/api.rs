//! `/api/v1/supervision…` and `/api/v1/supervision-settings` (issue 13).

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{Datelike, NaiveDate};
use serde::Deserialize;
use serde_json::json;
use yichuang_domain::supervision::SupervisionSettings;
use yichuang_domain::supervision::numbers::month_of;
use yichuang_domain::{Actor, Error, Result, Role};
use yichuang_store::supervision::{self as store, Group};

use super::views::{FiguresView, Names, RankedView, RecordView};
use crate::auth::CurrentActor;
use crate::cases::time::local;
use crate::error::ApiResult;
use crate::extract::{Json, Path, Query};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/supervision/records", get(records))
        .route("/api/v1/supervision/records/{id}/decision", post(decision))
        .route("/api/v1/supervision/notices", get(notices))
        .route("/api/v1/supervision/sweep", post(sweep))
        .route("/api/v1/supervision/rollup", post(rollup))
        .route("/api/v1/supervision/numbers", get(numbers))
        .route("/api/v1/supervision/rankings/{hall}", get(ranking))
        .route("/api/v1/supervision/report", get(report))
        .route(
            "/api/v1/supervision-settings",
            get(get_settings).put(put_settings),
        )
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RecordQuery {
    pub state: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

fn day(s: Option<&str>, field: &str) -> Result<Option<NaiveDate>> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(t) => t.parse().map(Some).map_err(|_| {
            Error::validation(vec![]).field(field, "日期格式应为 YYYY-MM-DD，例如 2026-12-01")
        }),
    }
}

/// Records an actor may see, newest first.
pub async fn visible_records(
    st: &AppState,
    actor: &Actor,
    q: &RecordQuery,
) -> Result<Vec<RecordView>> {
    super::scope(actor)?;
    let state = match q.state.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(
            yichuang_domain::supervision::RecordState::parse(s)
                .ok_or_else(|| {
                    Error::validation(vec![]).field(
                        "state",
                        "状态应为 open、resolved、escalated、confirmed 或 dismissed",
                    )
                })?
                .as_str(),
        ),
    };
    let from = day(q.from.as_deref(), "from")?.map(|d| d.to_string());
    let to = day(q.to.as_deref(), "to")?.map(|d| d.to_string());
    let rows = store::list(&st.db, state, from.as_deref(), to.as_deref(), 500).await?;
    let names = Names::load(&st.db).await?;
    let today = local(st.now()).date();
    rows.iter()
        .filter(|r| super::sees_record(actor, r))
        .map(|r| RecordView::of(r, &names, today))
        .collect()
}

async fn records(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Query(q): Query<RecordQuery>,
) -> ApiResult<Response> {
    let v = visible_records(&st, &actor, &q).await?;
    Ok(Json(json!({"total": v.len(), "records": v})).into_response())
}

/// The 督办 notices addressed to the signed-in account, as owner (its account or its
/// department) or as head: the open ones, and those escalated (通报) in the last 60 days, whose
/// rectification the unit now owes. Anomalies are for supervisors to weigh, not notices.
pub async fn my_notices(st: &AppState, actor: &Actor) -> Result<Vec<RecordView>> {
    let today = local(st.now()).date();
    let since = (today - chrono::Duration::days(60)).to_string();
    let rows = store::list(&st.db, None, Some(&since), None, 500).await?;
    let names = Names::load(&st.db).await?;
    rows.iter()
        .filter(|r| r.kind == "overdue" && matches!(r.state.as_str(), "open" | "escalated"))
        .filter(|r| super::is_addressee(actor, r))
        .map(|r| RecordView::of(r, &names, today))
        .collect()
}

async fn notices(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
) -> ApiResult<Response> {
    let v = my_notices(&st, &actor).await?;
    Ok(Json(json!({"total": v.len(), "notices": v})).into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DecisionBody {
    decision: String,
    reason: String,
}

async fn decision(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(id): Path<i64>,
    Json(b): Json<DecisionBody>,
) -> ApiResult<Response> {
    let confirm = match b.decision.as_str() {
        "confirm" => true,
        "dismiss" => false,
        _ => {
            return Err(Error::validation(vec![])
                .field("decision", "请选择确认（confirm）或排除（dismiss）")
                .into());
        }
    };
    let r = super::decide(&st, &actor, id, confirm, &b.reason).await?;
    let names = Names::load(&st.db).await?;
    Ok(Json(RecordView::of(&r, &names, local(st.now()).date())?).into_response())
}

async fn sweep(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
) -> ApiResult<Response> {
    actor.require_role(&[Role::Admin, Role::Supervisor], "立即巡查")?;
    let r = super::sweep(&st).await?;
    Ok(Json(r).into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RangeBody {
    from: Option<String>,
    to: Option<String>,
}

async fn rollup(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Json(b): Json<RangeBody>,
) -> ApiResult<Response> {
    actor.require_role(&[Role::Admin], "重算统计")?;
    // A JSON body says "today" by leaving the field out; an empty string is a mistake (unlike
    // a GET form's empty field, which the filters read as not given).
    for (field, v) in [("from", &b.from), ("to", &b.to)] {
        if v.as_deref().is_some_and(|s| s.trim().is_empty()) {
            return Err(Error::validation(vec![])
                .field(field, "日期不能为空：省略此项表示今天，或填写 YYYY-MM-DD")
                .into());
        }
    }
    let today = local(st.now()).date();
    let from = day(b.from.as_deref(), "from")?.unwrap_or(today);
    let to = day(b.to.as_deref(), "to")?.unwrap_or(today);
    let n = super::roll_up(&st, from, to).await?;
    Ok(Json(json!({"days": n})).into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NumbersQuery {
    pub from: Option<String>,
    pub to: Option<String>,
    /// `2026-12`: the month, instead of from/to.
    pub month: Option<String>,
    pub by: Option<String>,
}

impl NumbersQuery {
    /// The period asked for: a month, a range of at most a year, or this month.
    pub fn period(&self, today: NaiveDate) -> Result<(NaiveDate, NaiveDate)> {
        // Read before the month wins, so that a from/to that is not a date is refused, not ignored.
        let (from, to) = (
            day(self.from.as_deref(), "from")?,
            day(self.to.as_deref(), "to")?,
        );
        if let Some(m) = self.month.as_deref().filter(|m| !m.trim().is_empty()) {
            let first = crate::ratings::report::parse_month(m).ok_or_else(|| {
                Error::validation(vec![]).field("month", "月份格式应为 YYYY-MM，例如 2026-12")
            })?;
            return Ok(month_of(first.year(), first.month()));
        }
        let (first, last) = month_of(today.year(), today.month());
        let from = from.unwrap_or(first);
        let to = to.unwrap_or(last);
        if to < from || (to - from).num_days() > 3660 {
            return Err(
                Error::validation(vec![]).field("to", "结束日期不能早于开始日期，范围不超过十年")
            );
        }
        Ok((from, to))
    }

    pub fn group(&self) -> Result<Group> {
        Ok(match self.by.as_deref().unwrap_or("hall") {
            "total" => Group::Total,
            "hall" => Group::Hall,
            "department" => Group::Department,
            "item" => Group::Item,
            "window" => Group::Window,
            "staff" => Group::Staff,
            "day" => Group::Day,
            _ => {
                return Err(Error::validation(vec![]).field(
                    "by",
                    "分组应为 total、hall、department、item、window、staff 或 day",
                ));
            }
        })
    }
}

/// Figures grouped, named, for the actor's halls.
pub async fn numbers_for(
    st: &AppState,
    actor: &Actor,
    from: NaiveDate,
    to: NaiveDate,
    group: Group,
) -> Result<Vec<FiguresView>> {
    let scope = super::scope(actor)?;
    let mut rows = super::figures(st, from, to, scope.as_deref(), group).await?;
    if group == Group::Hall {
        // Every hall in sight has its row, a quiet one with zeros: a director compares them all.
        for h in store::halls(&st.db).await? {
            let seen = scope.as_ref().is_none_or(|s| s.contains(&h.code));
            if seen && !rows.iter().any(|r| r.0 == h.code) {
                rows.push((
                    h.code,
                    yichuang_domain::supervision::numbers::Figures::of(Default::default()),
                ));
            }
        }
        rows.sort_by(|a, b| a.0.cmp(&b.0));
    }
    let names = Names::load(&st.db).await?;
    Ok(rows
        .iter()
        .map(|(k, f)| {
            let name = match group {
                Group::Total => "合计".to_string(),
                Group::Day => k.clone(),
                Group::Window => k
                    .rsplit('#')
                    .next()
                    .and_then(|id| id.parse().ok())
                    .map_or_else(|| k.clone(), |id| names.window(id)),
                Group::Staff => k.split_once('#').map_or_else(
                    || k.clone(),
                    |(_, user)| names.actor(&format!("staff:{user}")),
                ),
                _ => names.of(k),
            };
            FiguresView::of(k, name, f)
        })
        .collect())
}

async fn numbers(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Query(q): Query<NumbersQuery>,
) -> ApiResult<Response> {
    let (from, to) = q.period(local(st.now()).date())?;
    let rows = numbers_for(&st, &actor, from, to, q.group()?).await?;
    Ok(Json(json!({"from": from, "to": to, "rows": rows})).into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct MonthQuery {
    pub month: Option<String>,
}

/// The month asked for (`2026-12`), or this month.
pub fn month(q: &MonthQuery, today: NaiveDate) -> Result<(i32, u32)> {
    match q.month.as_deref().filter(|m| !m.trim().is_empty()) {
        None => Ok((today.year(), today.month())),
        Some(m) => crate::ratings::report::parse_month(m)
            .map(|d| (d.year(), d.month()))
            .ok_or_else(|| {
                Error::validation(vec![]).field("month", "月份格式应为 YYYY-MM，例如 2026-12")
            }),
    }
}

/// The ranking asked for: `month=2026-12` or `quarter=2026-Q4` (default: this month), of the
/// hall's windows or, with `by=staff`, its staff.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RankingQuery {
    pub month: Option<String>,
    pub quarter: Option<String>,
    pub by: Option<String>,
}

impl RankingQuery {
    pub fn period(&self, today: NaiveDate) -> Result<super::RankPeriod> {
        if let Some(q) = self
            .quarter
            .as_deref()
            .map(str::trim)
            .filter(|q| !q.is_empty())
        {
            let parsed = q.split_once("-Q").and_then(|(y, n)| {
                let (y, n) = (y.parse::<i32>().ok()?, n.parse::<u32>().ok()?);
                ((1..=4).contains(&n) && (2000..=2100).contains(&y)).then_some((y, n))
            });
            let (y, n) = parsed.ok_or_else(|| {
                Error::validation(vec![]).field("quarter", "季度格式应为 YYYY-Qn，例如 2026-Q4")
            })?;
            return Ok(super::RankPeriod::quarter(y, n));
        }
        let (y, m) = month(
            &MonthQuery {
                month: self.month.clone(),
            },
            today,
        )?;
        Ok(super::RankPeriod::month(y, m))
    }

    pub fn kind(&self) -> Result<super::RankKind> {
        match self.by.as_deref().map(str::trim).filter(|b| !b.is_empty()) {
            None => Ok(super::RankKind::Window),
            Some(b) => super::RankKind::parse(b).ok_or_else(|| {
                Error::validation(vec![])
                    .field("by", "排名对象应为 window（窗口）或 staff（工作人员）")
            }),
        }
    }
}

/// A hall's ranking over a period: a closed period's kept ranking if there is one (kept on
/// first reading), the running period computed afresh.
pub async fn ranking_for(
    st: &AppState,
    actor: &Actor,
    hall: &str,
    period: &super::RankPeriod,
    kind: super::RankKind,
) -> Result<(Vec<RankedView>, String)> {
    actor.require_role(
        &[Role::Admin, Role::Supervisor, Role::HallManager],
        "查看排名",
    )?;
    actor.require_hall(hall, "查看")?;
    let today = local(st.now()).date();
    let closed = period.to < today;
    let names = Names::load(&st.db).await?;
    let s = super::settings(&st.db).await?;
    let kept = store::ranking(&st.db, &period.label, hall, kind.as_str()).await?;
    let ranked = if closed && !kept.is_empty() {
        kept.iter()
            .map(|r| yichuang_domain::supervision::ranking::Ranked {
                key: r.subject.clone(),
                place: r.place as usize,
                score: r.score,
                inputs: serde_json::from_str(&r.inputs).unwrap_or(
                    yichuang_domain::supervision::ranking::Inputs {
                        timeliness: 0.0,
                        ratings: 0.0,
                        complaints: 0.0,
                        service: 0.0,
                    },
                ),
                flag: r.flag,
                talk: r.talk,
            })
            .collect()
    } else {
        super::ranking(st, hall, period, kind, closed).await?
    };
    Ok((
        ranked
            .iter()
            .map(|r| RankedView::of(r, kind, &names))
            .collect(),
        s.ranking.formula(),
    ))
}

async fn ranking(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Path(hall): Path<String>,
    Query(q): Query<RankingQuery>,
) -> ApiResult<Response> {
    yichuang_store::hall::hall(&st.db, &hall).await?;
    let period = q.period(local(st.now()).date())?;
    let kind = q.kind()?;
    let (rows, formula) = ranking_for(&st, &actor, &hall, &period, kind).await?;
    Ok(Json(
        json!({"hall": hall, "period": period.label, "period_name": period.name,
                   "by": kind, "formula": formula, "ranked": rows, "windows": rows}),
    )
    .into_response())
}

/// Figures of the regions one level below the actor's own (a province's cities, a city's
/// counties), each the sum of the halls under it; halls directly in the actor's region are a
/// row of their own. Empty when there is nothing below to compare.
pub async fn by_child_region(
    st: &AppState,
    actor: &Actor,
    halls: &[FiguresView],
) -> Result<Vec<FiguresView>> {
    use yichuang_domain::supervision::numbers::{Figures, Tally};
    let regions = store::regions(&st.db).await?;
    let parent_of = |code: &str| {
        regions
            .iter()
            .find(|r| r.code == code)
            .and_then(|r| r.parent.clone())
    };
    let root = match (&actor.region, actor.role) {
        (Some(r), Role::Supervisor) => Some(r.clone()),
        _ => None,
    };
    let children: Vec<&store::RegionRow> = regions.iter().filter(|r| r.parent == root).collect();
    if children.is_empty() {
        return Ok(Vec::new());
    }
    let hall_regions = store::halls(&st.db).await?;
    let mut sums: Vec<(String, String, Tally)> = children
        .iter()
        .map(|r| (r.code.clone(), r.name.clone(), Tally::default()))
        .collect();
    for h in halls {
        let Some(mut region) = hall_regions
            .iter()
            .find(|x| x.code == h.key)
            .and_then(|x| x.region.clone())
        else {
            continue;
        };
        // Climb until the region is one of the children; a hall of the root region itself
        // (a city's own centre) counts in a row of the root's 本级.
        let slot = loop {
            if sums.iter().any(|s| s.0 == region) {
                break region;
            }
            match parent_of(&region) {
                Some(p) if Some(&region) != root.as_ref() => region = p,
                _ => {
                    let own = root.clone().unwrap_or_default();
                    if !sums.iter().any(|s| s.0 == own) {
                        let name = regions
                            .iter()
                            .find(|r| r.code == own)
                            .map_or("", |r| r.name.as_str());
                        sums.insert(0, (own.clone(), format!("{name}本级"), Tally::default()));
                    }
                    break own;
                }
            }
        };
        if let Some(s) = sums.iter_mut().find(|s| s.0 == slot) {
            s.2.add(&h.figures.counts);
        }
    }
    Ok(sums
        .into_iter()
        .map(|(code, name, t)| FiguresView::of(&code, name, &Figures::of(t)))
        .collect())
}

/// The monthly report: figures by hall and department, and the 通报 list.
pub struct Report {
    pub year: i32,
    pub month: u32,
    pub total: FiguresView,
    pub last_month: FiguresView,
    pub last_year: FiguresView,
    pub regions: Vec<FiguresView>,
    pub halls: Vec<FiguresView>,
    pub departments: Vec<FiguresView>,
    pub reported: Vec<RecordView>,
}

pub async fn report_for(st: &AppState, actor: &Actor, (y, m): (i32, u32)) -> Result<Report> {
    use yichuang_domain::supervision::numbers::previous_months;
    let scope = super::scope(actor)?;
    let (from, to) = month_of(y, m);
    let ((ly, lm), (yy, ym)) = previous_months(y, m);
    let one = |f, t| super::total(st, f, t, scope.as_deref());
    let total = one(from, to).await?;
    let (lf, lt) = month_of(ly, lm);
    let last = one(lf, lt).await?;
    let (yf, yt) = month_of(yy, ym);
    let year_ago = one(yf, yt).await?;
    let names = Names::load(&st.db).await?;
    let reported = store::reported(&st.db, &from.to_string(), &to.to_string()).await?;
    let today = local(st.now()).date();
    let halls = numbers_for(st, actor, from, to, Group::Hall).await?;
    Ok(Report {
        year: y,
        month: m,
        total: FiguresView::of("", format!("{y}年{m}月"), &total),
        last_month: FiguresView::of("", format!("{ly}年{lm}月（上月）"), &last),
        last_year: FiguresView::of("", format!("{yy}年{ym}月（去年同期）"), &year_ago),
        regions: by_child_region(st, actor, &halls).await?,
        halls,
        departments: numbers_for(st, actor, from, to, Group::Department).await?,
        reported: reported
            .iter()
            .filter(|r| super::sees_record(actor, r))
            .map(|r| RecordView::of(r, &names, today))
            .collect::<Result<_>>()?,
    })
}

async fn report(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Query(q): Query<MonthQuery>,
) -> ApiResult<Response> {
    let ym = month(&q, local(st.now()).date())?;
    let r = report_for(&st, &actor, ym).await?;
    Ok(Json(json!({
        "month": format!("{:04}-{:02}", r.year, r.month),
        "total": r.total, "last_month": r.last_month, "last_year": r.last_year,
        "regions": r.regions, "halls": r.halls, "departments": r.departments, "reported": r.reported,
    }))
    .into_response())
}

async fn get_settings(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
) -> ApiResult<Response> {
    actor.require_role(&[Role::Admin, Role::Supervisor], "查看电子监察设置")?;
    Ok(Json(super::settings(&st.db).await?).into_response())
}

async fn put_settings(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    Json(s): Json<SupervisionSettings>,
) -> ApiResult<Response> {
    super::put_settings(&st, &actor, &s).await?;
    Ok(Json(super::settings(&st.db).await?).into_response())
}
