//! One schema on SQLite and PostgreSQL: migrations, repositories, the append-only event log and
//! durable timers. Repositories take a [`Tx`] for writes (so a change and its event commit
//! together) and a [`Db`] for reads.

pub mod accounts;
pub mod agency;
pub mod backup;
pub mod calendar;
pub mod cases;
pub mod catalogue;
mod cells;
pub mod db;
mod direct;
pub mod events;
pub mod hall;
mod kept;
pub mod lockers;
pub mod metrics;
pub mod ratings;
mod read_here;
pub mod settings;
pub mod setup;
pub mod statements;
pub mod supervision;
pub mod testing;
pub mod timers;
mod turns;
pub mod work_orders;

pub use db::{Arg, Backend, Db, Tx, db_err, from_micros, micros, retry_once};

#[cfg(test)]
mod tests;
