//! `yichuang`: one binary for the whole platform (API-V1 "Starting the binary").

mod cli;

/// A request allocates and frees many small values (JSON, rows, strings) on whichever worker
/// thread runs it: `perf` showed glibc's malloc taking a fifth of the server's CPU under load,
/// mimalloc's thread-local heaps much less (issue 9, docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use yichuang_server::Config;
use yichuang_server::config::FileConfig;

#[derive(Parser)]
#[command(
    name = "yichuang",
    version,
    about = "一窗 · 政务服务中心平台 (Yichuang government service centre platform)"
)]
struct Cli {
    /// Optional TOML configuration file (flags and YICHUANG_* variables take precedence).
    #[arg(long, global = true, env = "YICHUANG_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve the API and pages.
    Serve(ServeArgs),
    /// Serve, loading the demo data set first if the database is empty.
    Demo(ServeArgs),
    /// Apply the database migrations and exit.
    Migrate(DbArgs),
    /// The working-day calendar (R-WORKDAY, R-CALENDAR, R-FIRST-DAY).
    Calendar(cli::calendar::CalendarArgs),
    /// Staff accounts: create, reset a password, list.
    Admin(cli::admin::AdminArgs),
    /// The service catalogue as an .xlsx or JSON file: export, import.
    Catalogue(cli::catalogue::CatalogueArgs),
    /// Back up the database and the material vault's files into one file (either backend).
    Backup(cli::backup::BackupArgs),
    /// Restore a backup into an empty database (either backend).
    Restore(cli::backup::RestoreArgs),
}

#[derive(Args, Clone)]
pub struct DbArgs {
    /// sqlite://PATH (default sqlite://yichuang.db) or postgres://…
    #[arg(long = "database", env = "YICHUANG_DATABASE_URL")]
    pub database: Option<String>,
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long, env = "YICHUANG_ADDR")]
    addr: Option<SocketAddr>,
    #[command(flatten)]
    db: DbArgs,
    /// Allow PUT /api/v1/dev/clock (tests and demos only; never in production).
    #[arg(long, env = "YICHUANG_DEV_CLOCK")]
    dev_clock: bool,
}

/// Flags and environment first, then the file, then defaults.
pub fn resolve_config(
    file: Option<&PathBuf>,
    addr: Option<SocketAddr>,
    db: &DbArgs,
    dev_clock: bool,
) -> Result<Config, String> {
    let f = match file {
        Some(p) => FileConfig::load(p)?,
        None => FileConfig::default(),
    };
    let mut c = Config::default();
    if let Some(a) = addr.or(f.addr) {
        c.addr = a;
    }
    if let Some(d) = db.database.clone().or(f.database) {
        c.database_url = d;
    }
    c.dev_clock = dev_clock || f.dev_clock.unwrap_or(false);
    if let Some(v) = f.worker_interval_ms {
        c.worker_interval_ms = v;
    }
    if let Some(v) = f.instance {
        c.instance = v;
    }
    if let Some(v) = f.session_hours {
        c.session_hours = v;
    }
    if let Some(v) = f.header_read_timeout_secs {
        c.header_read_timeout = std::time::Duration::from_secs(v.max(1));
    }
    if let Some(v) = f.body_read_timeout_secs {
        c.body_read_timeout = std::time::Duration::from_secs(v.max(1));
    }
    if let Some(v) = f.max_connections {
        c.max_connections = v.max(1);
    }
    if let Some(u) = std::env::var("YICHUANG_PUBLIC_URL")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .or(f.public_url)
    {
        c.public_url = Some(yichuang_server::config::check_public_url(&u)?);
    }
    c.admin_password = std::env::var("YICHUANG_ADMIN_PASSWORD")
        .ok()
        .filter(|s| !s.is_empty());
    Ok(c)
}

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::prelude::*;
    let filter = EnvFilter::try_from_env("YICHUANG_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    // `YICHUANG_LOG_FORMAT=json`: one JSON object per line for a log collector; its strings are
    // JSON-escaped, so no field can break a line either way.
    let fmt = if std::env::var("YICHUANG_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"))
    {
        fmt.json().with_current_span(true).boxed()
    } else {
        fmt.boxed()
    };
    let registry = tracing_subscriber::registry().with(fmt.with_filter(filter));
    // `YICHUANG_COUNT_STATEMENTS=1`: count the SQL statements run (`/metrics`,
    // `yichuang_sql_statements_total`); off by default, as it costs a little per statement.
    if std::env::var("YICHUANG_COUNT_STATEMENTS").is_ok_and(|v| v == "1") {
        registry
            .with(yichuang_store::statements::Counter::layer())
            .init();
    } else {
        registry.init();
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("无法启动运行时：{e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(run(cli))
}

async fn run(cli: Cli) -> ExitCode {
    match cli.cmd {
        Cmd::Serve(a) => serve(cli.config.as_ref(), a, false).await,
        Cmd::Demo(a) => serve(cli.config.as_ref(), a, true).await,
        Cmd::Migrate(db) => {
            init_logging();
            let config = match resolve_config(cli.config.as_ref(), None, &db, false) {
                Ok(c) => c,
                Err(e) => return fail(&e),
            };
            match yichuang_server::prepare(&config).await {
                Ok(_) => {
                    println!(
                        "数据库已是最新版本（{}）",
                        yichuang_server::config::redact_url(&config.database_url)
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e.to_string()),
            }
        }
        Cmd::Calendar(a) => cli::calendar::run(cli.config.as_ref(), a).await,
        Cmd::Admin(a) => cli::admin::run(cli.config.as_ref(), a).await,
        Cmd::Catalogue(a) => cli::catalogue::run(cli.config.as_ref(), a).await,
        Cmd::Backup(a) => cli::backup::backup(cli.config.as_ref(), a).await,
        Cmd::Restore(a) => cli::backup::restore(cli.config.as_ref(), a).await,
    }
}

async fn serve(file: Option<&PathBuf>, a: ServeArgs, demo: bool) -> ExitCode {
    init_logging();
    let mut config = match resolve_config(file, a.addr, &a.db, a.dev_clock) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    config.demo = demo;
    tracing::info!(config = ?config, "starting");
    match yichuang_server::start(config).await {
        Ok(running) => {
            let url = running.url();
            tracing::info!(%url, database = running.state.db.backend().name(), "一窗 is serving");
            println!("一窗已启动：{url}");
            running.wait().await;
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e.to_string()),
    }
}

pub fn fail(msg: &str) -> ExitCode {
    eprintln!("错误：{msg}");
    ExitCode::FAILURE
}
