//! `yichuang backup FILE` and `yichuang restore FILE` (API-V1): one portable file for either
//! backend, the material vault's files included; a restore goes only into an empty database.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use yichuang_domain::Kind;
use yichuang_server::config::redact_url;
use yichuang_store::Db;
use yichuang_store::backup::{self, Summary};

use crate::{DbArgs, fail, resolve_config};

#[derive(Args)]
pub struct BackupArgs {
    /// The backup file to write (must not exist yet).
    file: PathBuf,
    #[command(flatten)]
    db: DbArgs,
}

#[derive(Args)]
pub struct RestoreArgs {
    /// A file written by `yichuang backup`.
    file: PathBuf,
    /// The database to restore into; it must be empty (a new PostgreSQL database, or a SQLite
    /// file that does not exist yet).
    #[command(flatten)]
    db: DbArgs,
}

pub async fn backup(config: Option<&PathBuf>, a: BackupArgs) -> ExitCode {
    let url = match database_url(config, &a.db) {
        Ok(u) => u,
        Err(e) => return fail(&e),
    };
    // Connecting would create a missing SQLite file: a typo must not back up an empty database.
    if let Some(path) = sqlite_path(&url)
        && !std::path::Path::new(path).is_file()
    {
        return fail(&format!("数据库文件不存在：{path}"));
    }
    let db = match Db::connect(&url).await {
        Ok(db) => db,
        Err(e) => return fail(&message(&e)),
    };
    let r = backup::backup(&db, &url, &a.file).await;
    db.close().await;
    match r {
        Ok(s) => {
            println!(
                "已备份 {} 到 {}：{}",
                redact_url(&url),
                a.file.display(),
                describe(&s)
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(&message(&e)),
    }
}

pub async fn restore(config: Option<&PathBuf>, a: RestoreArgs) -> ExitCode {
    let url = match database_url(config, &a.db) {
        Ok(u) => u,
        Err(e) => return fail(&e),
    };
    if !a.file.is_file() {
        return fail(&format!("找不到备份文件 {}", a.file.display()));
    }
    let db = match Db::connect(&url).await {
        Ok(db) => db,
        Err(e) => return fail(&message(&e)),
    };
    let r = backup::restore(&a.file, &db, &url).await;
    db.close().await;
    match r {
        Ok(s) => {
            println!(
                "已从 {} 恢复到 {}：{}",
                a.file.display(),
                redact_url(&url),
                describe(&s)
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(&message(&e)),
    }
}

fn database_url(config: Option<&PathBuf>, db: &DbArgs) -> Result<String, String> {
    Ok(resolve_config(config, None, db, false)?.database_url)
}

fn sqlite_path(url: &str) -> Option<&str> {
    url.strip_prefix("sqlite:")
        .map(|p| p.trim_start_matches("//"))
}

fn describe(s: &Summary) -> String {
    format!(
        "{} 张表，{} 行，材料库文件 {} 个",
        s.tables, s.rows, s.files
    )
}

/// Whoever runs the command holds the database, so an internal error shows its detail too.
fn message(e: &yichuang_domain::Error) -> String {
    match (&e.kind, &e.detail) {
        (Kind::Internal, Some(d)) => format!("{e}（{d}）"),
        _ => e.to_string(),
    }
}
