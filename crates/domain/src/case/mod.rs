//! The case engine (办件): from receipt at the window to the result in the applicant's hands.

pub mod clock;
pub mod process;

#[cfg(test)]
pub(crate) mod testkit;
