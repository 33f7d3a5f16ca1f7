//! `yichuang admin create | reset-password | list`: staff accounts from the command line, for
//! the first administrator of a new installation and for whoever holds the database when every
//! administrator is locked out. Changes are events with the actor `system:cli:<OS user>`.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use yichuang_domain::Role;
use yichuang_domain::accounts::ProfileInput;
use yichuang_server::accounts::manage::{self, NewAccount, Operator};
use yichuang_server::clock::hall_time;
use yichuang_store::{Db, from_micros};

use crate::DbArgs;

#[derive(Args)]
pub struct AdminArgs {
    #[command(subcommand)]
    pub cmd: AdminCmd,
}

#[derive(Subcommand)]
pub enum AdminCmd {
    /// Create a staff account. The password comes from --password, else it is asked for (on a
    /// terminal) or read as one line from stdin.
    Create(CreateArgs),
    /// Set a new password (same sources as create); the account is signed out everywhere.
    ResetPassword(ResetArgs),
    /// List the accounts.
    List(ListArgs),
}

#[derive(Args)]
pub struct CreateArgs {
    #[arg(long)]
    username: String,
    /// admin | hall_manager | clerk | approver | issuance | agent | callback | supervisor
    #[arg(long)]
    role: String,
    /// The name shown in the pages (default: the username).
    #[arg(long)]
    display_name: Option<String>,
    /// Department code (approvers need one).
    #[arg(long)]
    department: Option<String>,
    /// Hall code (hall managers, clerks, issuance staff and agents need one).
    #[arg(long)]
    hall: Option<String>,
    #[arg(long)]
    password: Option<String>,
    #[command(flatten)]
    db: DbArgs,
}

#[derive(Args)]
pub struct ResetArgs {
    #[arg(long)]
    username: String,
    #[arg(long)]
    password: Option<String>,
    #[command(flatten)]
    db: DbArgs,
}

#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    db: DbArgs,
}

pub async fn run(config: Option<&PathBuf>, a: AdminArgs) -> ExitCode {
    match run_inner(config, a).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => crate::fail(&msg),
    }
}

async fn run_inner(config: Option<&PathBuf>, a: AdminArgs) -> Result<(), String> {
    let db_args = match &a.cmd {
        AdminCmd::Create(c) => &c.db,
        AdminCmd::ResetPassword(r) => &r.db,
        AdminCmd::List(l) => &l.db,
    };
    let config = crate::resolve_config(config, None, db_args, false)?;
    let db = yichuang_server::prepare(&config)
        .await
        .map_err(|e| e.to_string())?;
    let operator = format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".into())
    );
    let by = Operator::System(&operator);
    let now = chrono::Utc::now();
    match a.cmd {
        AdminCmd::Create(c) => {
            let password = read_password(c.password, &c.username)?;
            let input = NewAccount {
                profile: ProfileInput {
                    display_name: c.display_name.unwrap_or_else(|| c.username.clone()),
                    role: c.role,
                    department: c.department,
                    hall: c.hall,
                    region: None,
                    active: true,
                },
                username: c.username,
                password: Some(password),
            };
            let created = manage::create(&db, by, input, now)
                .await
                .map_err(|e| e.to_string())?;
            let role = created.account.role().map_err(|e| e.to_string())?;
            println!(
                "已创建账号 {}（{}，{}）",
                created.account.username,
                created.account.display_name,
                role.label()
            );
        }
        AdminCmd::ResetPassword(r) => {
            let password = read_password(r.password, &r.username)?;
            manage::reset_password(&db, by, &r.username, Some(password), now)
                .await
                .map_err(|e| e.to_string())?;
            println!("已重置账号 {} 的密码，其登录已全部失效", r.username.trim());
        }
        AdminCmd::List(_) => list(&db).await?,
    }
    db.close().await;
    Ok(())
}

async fn list(db: &Db) -> Result<(), String> {
    let rows = yichuang_store::accounts::list(db, None)
        .await
        .map_err(|e| e.to_string())?;
    println!("用户名\t姓名\t角色\t部门\t大厅\t状态\t创建时间");
    for a in rows {
        let role = Role::parse(&a.role).map_or_else(|| a.role.clone(), |r| r.label().to_string());
        println!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}",
            a.username,
            a.display_name,
            role,
            a.department.as_deref().unwrap_or("-"),
            a.hall.as_deref().unwrap_or("-"),
            if a.active { "正常" } else { "已停用" },
            hall_time(from_micros(a.created_at)),
        );
    }
    Ok(())
}

/// `--password`, else typed twice on a terminal (not echoed), else one line of stdin.
fn read_password(given: Option<String>, username: &str) -> Result<String, String> {
    if let Some(p) = given {
        return Ok(p);
    }
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        let first = prompt_hidden(&format!("请输入账号 {} 的密码：", username.trim()))?;
        let second = prompt_hidden("请再输入一次：")?;
        if first != second {
            return Err("两次输入的密码不一致".into());
        }
        return Ok(first);
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("无法从标准输入读取密码：{e}"))?;
    let line = line.trim_end_matches(['\r', '\n']).to_string();
    if line.is_empty() {
        return Err("没有提供密码：请用 --password 指定，或从标准输入提供一行".into());
    }
    Ok(line)
}

/// Reads a line from the terminal with echo off (`stty`, so no extra dependency; where it is
/// missing the input is echoed, which is still better than refusing).
fn prompt_hidden(prompt: &str) -> Result<String, String> {
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    let stty = |arg: &str| {
        std::process::Command::new("stty")
            .arg(arg)
            .stdin(std::process::Stdio::inherit())
            .status()
            .is_ok_and(|s| s.success())
    };
    let hidden = stty("-echo");
    let mut line = String::new();
    let r = std::io::stdin().lock().read_line(&mut line);
    if hidden {
        stty("echo");
    }
    eprintln!();
    r.map_err(|e| format!("无法读取密码：{e}"))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}
