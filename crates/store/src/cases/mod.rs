//! Cases (办件): the rows of migration 0006.
//!
//! A case is its own event stream (`case_events`, folded by `Case::replay`); the `cases` row
//! holds what lists filter on. Each change appends the case events in its transaction
//! ([`records::append`]); the stream is the case's part of the event log, and the shared
//! `events` table holds only a case's entries that are not its own events (the light's
//! changes, a material taken from the vault). The applicant's full ID and phone
//! numbers are kept only in `applicants` (R-PII): the stored receipt event carries the masked
//! applicant, and loading a case puts the full one back for the domain.

pub mod applicants;
pub mod bundles;
pub mod definitions;
pub mod issuance;
pub mod outbox;
pub mod phone_login;
pub mod records;
pub mod vault;

pub use records::{CaseRow, NewCase, StepRow, StoredCase};

#[cfg(test)]
mod tests;
