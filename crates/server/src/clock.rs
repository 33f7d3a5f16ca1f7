//! The server's clock. In production it is the system clock. With `--dev-clock`, tests and demos
//! may move it (`PUT /api/v1/dev/clock`): the offset is kept and time keeps running from there,
//! so timers fire as if that time had come.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, FixedOffset, Utc};

#[derive(Clone, Debug)]
pub struct Clock {
    offset_us: Arc<AtomicI64>,
    pub settable: bool,
}

impl Clock {
    pub fn system() -> Self {
        Clock {
            offset_us: Arc::new(AtomicI64::new(0)),
            settable: false,
        }
    }

    pub fn dev() -> Self {
        Clock {
            offset_us: Arc::new(AtomicI64::new(0)),
            settable: true,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::microseconds(self.offset_us.load(Ordering::Relaxed))
    }

    /// Moves the clock so that `now()` reads `to` at this instant.
    pub fn set(&self, to: DateTime<Utc>) {
        let off = to.timestamp_micros() - Utc::now().timestamp_micros();
        self.offset_us.store(off, Ordering::Relaxed);
    }
}

/// The halls' own zone: China Standard Time, UTC+8 all year (no daylight saving).
pub fn hall_zone() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("valid offset")
}

/// An instant as the hall sees it, RFC 3339 with `+08:00` (API-V1).
pub fn hall_time(t: DateTime<Utc>) -> String {
    t.with_timezone(&hall_zone())
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}
