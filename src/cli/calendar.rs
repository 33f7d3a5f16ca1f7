//! `yichuang calendar days | add | between | import` (API-V1 "Calendar on the command line").

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

#[derive(Args)]
pub struct CalendarArgs {
    #[command(subcommand)]
    pub cmd: CalendarCmd,
}

#[derive(Subcommand)]
pub enum CalendarCmd {
    /// Not yet built.
    Days,
}

pub async fn run(_config: Option<&PathBuf>, _a: CalendarArgs) -> ExitCode {
    crate::fail("尚未实现")
}
