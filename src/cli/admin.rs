//! `yichuang admin`: create and reset staff accounts.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

#[derive(Args)]
pub struct AdminArgs {
    #[command(subcommand)]
    pub cmd: AdminCmd,
}

#[derive(Subcommand)]
pub enum AdminCmd {
    /// Not yet built.
    List,
}

pub async fn run(_config: Option<&PathBuf>, _a: AdminArgs) -> ExitCode {
    crate::fail("尚未实现")
}
