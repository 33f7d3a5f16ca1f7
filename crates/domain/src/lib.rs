//! The hall's rules as plain functions of (state, command, now, calendar): no I/O, no clock reads,
//! no async (ARCHITECTURE principle 1).

pub mod access;
pub mod calendar;
pub mod catalogue;
pub mod error;
pub mod workdays;

pub use access::{Actor, Role};
pub use error::{Error, FieldError, Kind, Problems, Result};
