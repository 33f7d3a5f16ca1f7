//! The hall's local time for the case engine: the server keeps UTC instants, the domain
//! counts in hall-local time (`NaiveDateTime`).

use chrono::{DateTime, NaiveDateTime, Utc};

use crate::clock::hall_zone;

pub fn local(t: DateTime<Utc>) -> NaiveDateTime {
    t.with_timezone(&hall_zone()).naive_local()
}

pub fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    yichuang_store::cases::records::utc(t, hall_zone())
}
