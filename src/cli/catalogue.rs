//! `yichuang catalogue export | import`: the whole service catalogue as an .xlsx or JSON file.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use yichuang_server::catalogue::{FileFormat, export_file, import_file};

use crate::{DbArgs, fail, resolve_config};

#[derive(Args)]
pub struct CatalogueArgs {
    #[command(subcommand)]
    pub cmd: CatalogueCmd,
}

#[derive(Subcommand)]
pub enum CatalogueCmd {
    /// Write the catalogue in force (every region, department, active item and bundle) to a file.
    Export {
        /// json or xlsx
        #[arg(long, default_value = "json")]
        format: String,
        /// The file to write.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Import a catalogue file (.xlsx or .json, recognised by its content): all or nothing,
    /// updating records by code.
    Import {
        file: PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
}

pub async fn run(config: Option<&PathBuf>, a: CatalogueArgs) -> ExitCode {
    let db_args = match &a.cmd {
        CatalogueCmd::Export { db, .. } | CatalogueCmd::Import { db, .. } => db,
    };
    let config = match resolve_config(config, None, db_args, false) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    let db = match yichuang_server::prepare(&config).await {
        Ok(db) => db,
        Err(e) => return fail(&e.to_string()),
    };
    let code = match a.cmd {
        CatalogueCmd::Export { format, out, .. } => export(&db, &format, &out).await,
        CatalogueCmd::Import { file, .. } => import(&db, &file).await,
    };
    db.close().await;
    code
}

async fn export(db: &yichuang_store::Db, format: &str, out: &PathBuf) -> ExitCode {
    let Some(format) = FileFormat::parse(format) else {
        return fail("导出格式应为 json 或 xlsx");
    };
    let bytes = match export_file(db, format).await {
        Ok(b) => b,
        Err(e) => return fail(&e.to_string()),
    };
    if let Err(e) = std::fs::write(out, &bytes) {
        return fail(&format!("无法写入 {}：{e}", out.display()));
    }
    println!("已导出到 {}（{} 字节）", out.display(), bytes.len());
    ExitCode::SUCCESS
}

async fn import(db: &yichuang_store::Db, file: &PathBuf) -> ExitCode {
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => return fail(&format!("无法读取 {}：{e}", file.display())),
    };
    match import_file(db, &bytes, "system:cli", chrono::Utc::now()).await {
        Ok(s) => {
            let line = |what: &str, c: yichuang_store::catalogue::ImportCounts| {
                println!(
                    "{what}：新增 {}，更新 {}，未变 {}",
                    c.created, c.updated, c.unchanged
                )
            };
            line("区域", s.regions);
            line("部门", s.departments);
            line("事项", s.items);
            line("一件事", s.bundles);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("错误：{}", e.title);
            for f in &e.fields {
                eprintln!("  {}：{}", f.field, f.message);
            }
            ExitCode::FAILURE
        }
    }
}
