//! `yichuang calendar days | add | between | import` (API-V1 "Calendar on the command line").
//! They read the database (migrated and seeded first), so an administrator's corrections count.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::NaiveDate;
use clap::{Args, Subcommand};
use yichuang_domain::Error;
use yichuang_domain::calendar::{Calendar, YearArrangement};
use yichuang_store::Db;

use crate::DbArgs;

#[derive(Args)]
pub struct CalendarArgs {
    #[command(subcommand)]
    pub cmd: CalendarCmd,
}

#[derive(Subcommand)]
pub enum CalendarCmd {
    /// One line per date: DATE<TAB>workday|restday|holiday[<TAB>name][<TAB>unofficial].
    Days {
        #[arg(long, value_parser = parse_date)]
        from: NaiveDate,
        #[arg(long, value_parser = parse_date)]
        to: NaiveDate,
        /// Region code whose local days apply (ancestors' too).
        #[arg(long)]
        region: Option<String>,
        #[command(flatten)]
        db: DbArgs,
    },
    /// The date that ends the Nth working day after --from (R-FIRST-DAY).
    Add {
        #[arg(long, value_parser = parse_date)]
        from: NaiveDate,
        #[arg(long, allow_hyphen_values = true)]
        days: i64,
        #[arg(long)]
        region: Option<String>,
        #[command(flatten)]
        db: DbArgs,
    },
    /// The number of working days after --from up to and including --to.
    Between {
        #[arg(long, value_parser = parse_date)]
        from: NaiveDate,
        #[arg(long, value_parser = parse_date)]
        to: NaiveDate,
        #[arg(long)]
        region: Option<String>,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Load or correct a year from a TOML file (the format of data/calendar/YYYY.toml).
    Import {
        file: PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
}

/// Exit status when a year's arrangement is needed but not loaded (API-V1).
const YEAR_NOT_LOADED: u8 = 3;

fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| format!("“{s}”不是有效日期，格式应为 2026-09-29"))
}

async fn open(config: Option<&PathBuf>, db: &DbArgs) -> Result<Db, String> {
    let config = crate::resolve_config(config, None, db, false)?;
    yichuang_server::prepare(&config)
        .await
        .map_err(|e| e.to_string())
}

fn report(e: &Error) -> ExitCode {
    if e.code == "calendar_year_not_loaded" {
        eprintln!("错误：{}", e.title);
        return ExitCode::from(YEAR_NOT_LOADED);
    }
    crate::fail(&e.to_string())
}

pub async fn run(config: Option<&PathBuf>, a: CalendarArgs) -> ExitCode {
    let db_args = match &a.cmd {
        CalendarCmd::Days { db, .. }
        | CalendarCmd::Add { db, .. }
        | CalendarCmd::Between { db, .. }
        | CalendarCmd::Import { db, .. } => db.clone(),
    };
    let db = match open(config, &db_args).await {
        Ok(db) => db,
        Err(e) => return crate::fail(&e),
    };
    let code = match a.cmd {
        CalendarCmd::Days {
            from, to, region, ..
        } => days(&db, from, to, region.as_deref()).await,
        CalendarCmd::Add {
            from, days, region, ..
        } => {
            answer(&db, region.as_deref(), |cal| {
                cal.try_add_working_days(from, days).map(|d| d.to_string())
            })
            .await
        }
        CalendarCmd::Between {
            from, to, region, ..
        } => {
            answer(&db, region.as_deref(), |cal| {
                cal.try_working_days_between(from, to)
                    .map(|n| n.to_string())
            })
            .await
        }
        CalendarCmd::Import { file, .. } => import(&db, &file).await,
    };
    db.close().await;
    code
}

/// Prints a strict answer, or exits 3 naming the year that is not loaded.
async fn answer(
    db: &Db,
    region: Option<&str>,
    f: impl FnOnce(&Calendar) -> Result<String, Error>,
) -> ExitCode {
    match calendar(db, region).await.and_then(|cal| f(&cal)) {
        Ok(s) => {
            println!("{s}");
            ExitCode::SUCCESS
        }
        Err(e) => report(&e),
    }
}

async fn calendar(db: &Db, region: Option<&str>) -> Result<Calendar, Error> {
    yichuang_server::calendar::load(db, region).await
}

async fn days(db: &Db, from: NaiveDate, to: NaiveDate, region: Option<&str>) -> ExitCode {
    if to < from {
        return crate::fail("--to 不能早于 --from");
    }
    let cal = match calendar(db, region).await {
        Ok(c) => c,
        Err(e) => return report(&e),
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for d in from.iter_days().take_while(|d| *d <= to) {
        let day = cal.day(d);
        let mut line = format!("{d}\t{}", day.kind.as_str());
        if let Some(n) = day.name {
            line += &format!("\t{n}");
        }
        if day.unofficial {
            line += "\tunofficial";
        }
        if writeln!(out, "{line}").is_err() {
            // The reader went away (e.g. `| head`): stop quietly.
            return ExitCode::SUCCESS;
        }
    }
    let _ = out.flush();
    ExitCode::SUCCESS
}

async fn import(db: &Db, file: &PathBuf) -> ExitCode {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => return crate::fail(&format!("无法读取 {}：{e}", file.display())),
    };
    let y = match YearArrangement::from_toml(&text) {
        Ok(y) => y,
        Err(e) => {
            eprintln!("错误：{}（{}）", e.title, file.display());
            for f in &e.fields {
                eprintln!("  {}：{}", f.field, f.message);
            }
            return ExitCode::FAILURE;
        }
    };
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    let now = chrono::Utc::now();
    match yichuang_server::calendar::import(db, now, &format!("cli:{user}"), &y).await {
        Ok(done) => {
            println!(
                "已{}{}年的节假日安排：{}；{}处日期与之前不同",
                if done.created { "导入" } else { "更正" },
                done.year,
                y.source(),
                done.changes.len()
            );
            for c in done.changes {
                println!("{}\t{} → {}", c.date, c.before, c.after);
            }
            ExitCode::SUCCESS
        }
        Err(e) => report(&e),
    }
}
