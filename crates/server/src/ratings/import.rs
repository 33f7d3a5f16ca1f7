//! Ratings from the provincial platform or 12345 (R-EVAL-LEVELS: every channel), as a JSON
//! list or an .xlsx sheet with the columns 来源系统, 来源编号, 办件编号, 评价等级, 评价内容.
//! Every row is checked before any is written; a row already imported (same system and id) is
//! counted as a duplicate, so the same file can be sent again safely.

use std::io::Cursor;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use calamine::{Data, Reader, Xlsx};
use serde::Deserialize;
use serde_json::json;
use yichuang_domain::rating::{Level, Stage};
use yichuang_domain::{Error, Problems, Result, Role};
use yichuang_store::ratings as store;

use crate::auth::CurrentActor;
use crate::error::ApiResult;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/ratings/import", post(import))
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Row {
    pub system: String,
    pub external_id: String,
    pub case_number: String,
    pub level: Option<i64>,
    pub comment: Option<String>,
}

#[derive(Deserialize)]
struct Body {
    ratings: Vec<Row>,
}

const COLUMNS: [&str; 5] = ["来源系统", "来源编号", "办件编号", "评价等级", "评价内容"];

fn cell(d: &Data) -> String {
    match d {
        Data::Float(f) if f.fract() == 0.0 => format!("{f:.0}"),
        Data::Int(i) => i.to_string(),
        Data::Empty => String::new(),
        other => other.to_string().trim().to_string(),
    }
}

/// The rows of the first sheet, by its header names.
pub fn read_xlsx(bytes: &[u8]) -> Result<Vec<Row>> {
    let unreadable = || {
        Error::invalid(
            "unreadable_file",
            "无法读取该 Excel 文件，请上传 .xlsx 格式的文件",
        )
        .field("file", "文件不是有效的 .xlsx 工作簿")
    };
    let mut wb: Xlsx<_> =
        calamine::open_workbook_from_rs(Cursor::new(bytes)).map_err(|_| unreadable())?;
    let range = wb
        .worksheet_range_at(0)
        .ok_or_else(unreadable)?
        .map_err(|_| unreadable())?;
    let mut rows = range.rows();
    let head: Vec<String> = rows
        .next()
        .map(|r| r.iter().map(cell).collect())
        .unwrap_or_default();
    let at = |name: &str| head.iter().position(|h| h == name);
    let idx: Vec<Option<usize>> = COLUMNS.iter().map(|c| at(c)).collect();
    if idx[..4].iter().any(Option::is_none) {
        return Err(Error::invalid(
            "missing_columns",
            format!("表头须包含：{}", COLUMNS.join("、")),
        )
        .field("file", format!("表头须包含：{}", COLUMNS[..4].join("、"))));
    }
    let get = |r: &[Data], i: Option<usize>| i.and_then(|i| r.get(i)).map(cell).unwrap_or_default();
    Ok(rows
        .filter(|r| r.iter().any(|c| !matches!(c, Data::Empty)))
        .map(|r| Row {
            system: get(r, idx[0]),
            external_id: get(r, idx[1]),
            case_number: get(r, idx[2]),
            level: get(r, idx[3]).parse().ok().or(Some(0)),
            comment: Some(get(r, idx[4])).filter(|c| !c.is_empty()),
        })
        .collect())
}

/// Checks every row (all problems at once, named `rows[i].field`, counting from 1 as a sheet
/// does after its header), then imports them.
pub async fn import_rows(
    st: &AppState,
    actor: &yichuang_domain::Actor,
    rows: &[Row],
) -> Result<(usize, usize)> {
    actor.require_role(
        &[Role::Admin, Role::Supervisor, Role::HallManager],
        "导入评价",
    )?;
    let mut p = Problems::new();
    if rows.is_empty() {
        p.add("rows", "没有要导入的评价");
    }
    if rows.len() > 10_000 {
        p.add("rows", "一次最多导入 10000 条评价");
    }
    for (i, r) in rows.iter().enumerate() {
        let f = |name: &str| format!("rows[{}].{name}", i + 1);
        p.check(!r.system.trim().is_empty(), &f("system"), "请填写来源系统");
        p.check(
            !r.external_id.trim().is_empty(),
            &f("external_id"),
            "请填写来源编号",
        );
        if r.level.and_then(Level::from_number).is_none() {
            p.add(f("level"), "评价等级须为 1 到 5");
        }
        let known = !r.case_number.trim().is_empty()
            && store::token_of_subject(
                &st.db,
                "case",
                r.case_number.trim(),
                Stage::Conclusion.as_str(),
            )
            .await?
            .is_some();
        p.check(known, &f("case_number"), "没有这个办件");
    }
    p.finish()?;
    let (mut imported, mut duplicates) = (0, 0);
    for r in rows {
        let (_, new) = super::import(st, actor, r).await?;
        if new { imported += 1 } else { duplicates += 1 }
    }
    Ok((imported, duplicates))
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// `POST /api/v1/ratings/import`: a JSON `{"ratings": [...]}` or an .xlsx file as the body.
async fn import(
    State(st): State<AppState>,
    CurrentActor(actor): CurrentActor,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    // A body sent as a workbook is read as one (422 when it is not), never as JSON (400).
    let sent_as_xlsx = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with(XLSX));
    let rows = if sent_as_xlsx || body.starts_with(b"PK") {
        read_xlsx(&body)?
    } else {
        crate::extract::from_json_slice::<Body>(&body)
            .map_err(|e| {
                Error::invalid(
                    "malformed_request",
                    "请求格式错误：请提交 .xlsx 文件或 {\"ratings\": [...]}",
                )
                .field("body", e.to_string())
            })?
            .ratings
    };
    let (imported, duplicates) = import_rows(&st, &actor, &rows).await?;
    Ok(axum::Json(json!({"imported": imported, "duplicates": duplicates})).into_response())
}
