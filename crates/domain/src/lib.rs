//! The hall's rules as plain functions of (state, command, now, calendar): no I/O, no clock reads,
//! no async (ARCHITECTURE principle 1).

pub mod access;
pub mod accounts;
pub mod agency;
pub mod calendar;
pub mod case;
pub mod catalogue;
pub mod demo;
pub mod error;
pub mod identity;
#[macro_use]
pub mod labels;
pub mod locker;
pub mod login_throttle;
pub mod pii;
pub mod queue;
pub mod rating;
pub mod supervision;
pub mod work_order;
pub mod workdays;

pub use access::{Actor, ActorKind, Role};
pub use error::{Error, FieldError, Kind, Problems, Result};
