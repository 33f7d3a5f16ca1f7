//! The command-line subcommands other than serving.

pub mod admin;
pub mod backup;
pub mod calendar;
pub mod catalogue;
