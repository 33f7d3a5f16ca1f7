//! The service catalogue over HTTP: the API-V1 item and department endpoints and what editing
//! needs (`api`), the public guide, one-time notice and bundle pages (`pages`), the admin pages
//! (`admin`), and the exchange files (`xlsx`, JSON).

mod admin;
mod api;
pub mod cells;
mod form;
mod pages;
mod view;
pub mod xlsx;

use axum::Router;
use chrono::{DateTime, Utc};
use yichuang_domain::catalogue::Catalogue;
use yichuang_domain::{Error, Result};
use yichuang_store::Db;
use yichuang_store::catalogue as store;

use crate::state::AppState;

/// Imports a whole catalogue, all or nothing (see `yichuang_store::catalogue::import`): what
/// the API, `yichuang catalogue import` and the demo loader call. `actor` is the event actor,
/// e.g. `admin:zhang` or `system:demo`.
pub use yichuang_store::catalogue::{ImportSummary, import_catalogue};

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(api::routes())
        .merge(pages::routes())
        .merge(admin::routes())
}

/// Largest catalogue file accepted (a 10,000-item workbook is a few MB).
pub const MAX_FILE_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Json,
    Xlsx,
}

impl FileFormat {
    pub fn parse(s: &str) -> Option<FileFormat> {
        match s.trim().to_ascii_lowercase().as_str() {
            "json" => Some(FileFormat::Json),
            "xlsx" => Some(FileFormat::Xlsx),
            _ => None,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            FileFormat::Json => "json",
            FileFormat::Xlsx => "xlsx",
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            FileFormat::Json => "application/json",
            FileFormat::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }

    /// What a file is, by its first bytes: an .xlsx is a zip (`PK`), JSON starts with `{`.
    pub fn sniff(bytes: &[u8]) -> Result<FileFormat> {
        let start = bytes
            .strip_prefix(b"\xEF\xBB\xBF".as_slice())
            .unwrap_or(bytes);
        if start.starts_with(b"PK\x03\x04") {
            Ok(FileFormat::Xlsx)
        } else if start.trim_ascii_start().starts_with(b"{") {
            Ok(FileFormat::Json)
        } else {
            Err(Error::invalid(
                "unreadable_file",
                "无法识别的文件：请上传导出的 .xlsx 或 .json 文件",
            )
            .field("file", "文件既不是 Excel 工作簿也不是 JSON"))
        }
    }
}

/// The catalogue in force as a file.
pub async fn export_file(db: &Db, format: FileFormat) -> Result<Vec<u8>> {
    let c = store::export_catalogue(db).await?;
    match format {
        FileFormat::Json => serde_json::to_vec_pretty(&c).map_err(Error::internal),
        FileFormat::Xlsx => xlsx::write(&c),
    }
}

/// Imports an .xlsx or JSON file. Every problem is listed: for a workbook by sheet, row and
/// column (`事项!C5`), for JSON by path (`items[3].code`); nothing is written unless there are
/// none.
pub async fn import_file(
    db: &Db,
    bytes: &[u8],
    actor: &str,
    now: DateTime<Utc>,
) -> Result<ImportSummary> {
    match FileFormat::sniff(bytes)? {
        FileFormat::Json => {
            let c = parse_json(bytes)?;
            import_catalogue(db, &c, actor, now).await
        }
        FileFormat::Xlsx => {
            let parsed = xlsx::read(bytes)?;
            if parsed.problems.is_empty() {
                import_catalogue(db, &parsed.catalogue, actor, now)
                    .await
                    .map_err(|e| parsed.locate(Some(e)))
            } else {
                let found = store::check_import(db, &parsed.catalogue).await.err();
                Err(parsed.locate(found))
            }
        }
    }
}

fn parse_json(bytes: &[u8]) -> Result<Catalogue> {
    crate::extract::from_json_slice(bytes).map_err(|e| {
        Error::invalid(
            "catalogue_import_failed",
            "JSON 文件格式有误，未导入任何内容",
        )
        .field(
            "file",
            format!("第 {} 行第 {} 列：{e}", e.line(), e.column()),
        )
    })
}
