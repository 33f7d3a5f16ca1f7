//! Login throttling as a pure decision over recorded failures: the server keeps the failures in
//! the database (so a restart or another instance does not forget them) and asks here whether
//! the next attempt may go ahead.

use chrono::{DateTime, Duration, Utc};

use crate::{Error, Kind, Result};

/// The limits. Practice, not law: each is a setting with these defaults.
///
/// Five wrong passwords lock a username only at the address they came from: anyone who knows a
/// username could otherwise lock its owner out, and one shared NAT address (a whole hall behind
/// one router) must not lock every account. Failures for a username from many addresses (a
/// distributed guess) slow it down instead — one attempt per `slowdown` — and its owner is told
/// on their account page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Failures for one username from one address within `window` that lock the pair.
    pub max_per_user: usize,
    /// Failures from one address within `window` that lock it (many usernames guessed from one
    /// machine).
    pub max_per_address: usize,
    pub window: Duration,
    /// How long attempts are refused once a limit is reached.
    pub lockout: Duration,
    /// Once a username has `max_per_user` failures within `window` from anywhere, the time
    /// between attempts at it.
    pub slowdown: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            max_per_user: 5,
            max_per_address: 20,
            window: Duration::minutes(15),
            lockout: Duration::minutes(15),
            slowdown: Duration::seconds(30),
        }
    }
}

impl Policy {
    /// How far back failures matter: a lock can start at most `window` before its last failure
    /// and lasts `lockout` after it.
    pub fn lookback(&self) -> Duration {
        self.window + self.lockout
    }
}

/// A recorded failure for the username being tried: when, and whether it came from the address
/// trying now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    pub at: DateTime<Utc>,
    pub here: bool,
}

/// Until when attempts are refused, given failure times in ascending order: the lockout runs
/// from the latest failure that completed `max` failures within `window`.
pub fn locked_until(
    failures: &[DateTime<Utc>],
    max: usize,
    window: Duration,
    lockout: Duration,
) -> Option<DateTime<Utc>> {
    if max == 0 || failures.len() < max {
        return None;
    }
    (max - 1..failures.len())
        .filter(|&i| failures[i] - failures[i + 1 - max] <= window)
        .map(|i| failures[i] + lockout)
        .max()
}

/// Refuses the attempt with 429 and a Chinese message while a limit is in force: the username at
/// this address locked, the address locked, or the username slowed down.
pub fn check(
    policy: &Policy,
    user_failures: &[Failure],
    address_failures: &[DateTime<Utc>],
    now: DateTime<Utc>,
) -> Result<()> {
    check_for("登录", policy, user_failures, address_failures, now)
}

/// The same limits for another guessable check (`what`: 查询 for the public case query), its
/// messages naming it.
pub fn check_for(
    what: &str,
    policy: &Policy,
    user_failures: &[Failure],
    address_failures: &[DateTime<Utc>],
    now: DateTime<Utc>,
) -> Result<()> {
    let here: Vec<DateTime<Utc>> = user_failures
        .iter()
        .filter(|f| f.here)
        .map(|f| f.at)
        .collect();
    let everywhere: Vec<DateTime<Utc>> = user_failures.iter().map(|f| f.at).collect();
    let pair = locked_until(&here, policy.max_per_user, policy.window, policy.lockout);
    let address = locked_until(
        address_failures,
        policy.max_per_address,
        policy.window,
        policy.lockout,
    );
    let lock = match (pair, address) {
        (Some(u), Some(a)) => Some(u.max(a)),
        (u, a) => u.or(a),
    };
    if let Some(t) = lock.filter(|t| *t > now) {
        // Round up: "0 分钟" would invite an immediate retry that is still refused.
        let secs = (t - now).num_seconds().max(1);
        let minutes = (secs + 59) / 60;
        return Err(Error::new(
            Kind::TooMany,
            if what == "登录" {
                "too_many_login_attempts"
            } else {
                "too_many_attempts"
            },
            format!("{what}失败次数过多，为保护信息安全已暂停{what}，请 {minutes} 分钟后再试"),
        ));
    }
    let slowed = locked_until(
        &everywhere,
        policy.max_per_user,
        policy.window,
        policy.window,
    )
    .is_some_and(|until| until > now)
    .then(|| everywhere.last().map(|last| *last + policy.slowdown))
    .flatten()
    .filter(|t| *t > now);
    if let Some(t) = slowed {
        let secs = (t - now).num_seconds().max(1);
        return Err(Error::new(
            Kind::TooMany,
            if what == "登录" {
                "login_slowed_down"
            } else {
                "slowed_down"
            },
            format!("近期{what}错误次数较多，请 {secs} 秒后再试"),
        ));
    }
    Ok(())
}

/// Whether the failure just recorded (the last of `failures`) is the one that starts a lock:
/// worth an event of its own, so an administrator sees an attack and not only single failures.
pub fn starts_lock(failures: &[DateTime<Utc>], max: usize, window: Duration) -> bool {
    let n = failures.len();
    max > 0 && n >= max && failures[n - 1] - failures[n - max] <= window && {
        // The failure before it must not already have completed a lock (it would have refused
        // this attempt).
        n == max || failures[n - 2] - failures[n - 1 - max] > window
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(min: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap() + Duration::minutes(min)
    }

    fn here(times: &[DateTime<Utc>]) -> Vec<Failure> {
        times
            .iter()
            .map(|at| Failure {
                at: *at,
                here: true,
            })
            .collect()
    }

    fn elsewhere(times: &[DateTime<Utc>]) -> Vec<Failure> {
        times
            .iter()
            .map(|at| Failure {
                at: *at,
                here: false,
            })
            .collect()
    }

    #[test]
    fn four_failures_do_not_lock_a_username() {
        let f = here(&[t(0), t(1), t(2), t(3)]);
        assert!(check(&Policy::default(), &f, &[], t(4)).is_ok());
    }

    #[test]
    fn the_fifth_failure_from_one_address_within_fifteen_minutes_locks_it_there_for_fifteen_minutes()
     {
        let f = here(&[t(0), t(1), t(2), t(3), t(10)]);
        let e = check(&Policy::default(), &f, &[], t(11)).unwrap_err();
        assert_eq!(e.kind, Kind::TooMany);
        assert_eq!(e.code, "too_many_login_attempts");
        assert!(e.title.contains("14 分钟后再试"), "{}", e.title);
        assert!(check(&Policy::default(), &f, &[], t(24)).is_err());
        assert!(check(&Policy::default(), &f, &[], t(25)).is_ok());
    }

    #[test]
    fn failures_from_other_addresses_only_slow_the_owner_down_for_thirty_seconds() {
        let f = elsewhere(&[t(0), t(1), t(2), t(3), t(10)]);
        let just_after = t(10) + Duration::seconds(5);
        let e = check(&Policy::default(), &f, &[], just_after).unwrap_err();
        assert_eq!(e.code, "login_slowed_down");
        assert!(e.title.contains("25 秒后再试"), "{}", e.title);
        assert!(check(&Policy::default(), &f, &[], t(10) + Duration::seconds(30)).is_ok());
        // Four from elsewhere and none here: not even slowed.
        assert!(check(&Policy::default(), &f[..4], &[], t(3)).is_ok());
    }

    #[test]
    fn five_failures_spread_over_more_than_the_window_do_not_lock() {
        let f = here(&[t(0), t(4), t(8), t(12), t(16)]);
        assert!(check(&Policy::default(), &f, &[], t(17)).is_ok());
    }

    #[test]
    fn twenty_failures_from_one_address_lock_it() {
        let f: Vec<_> = (0..20).map(|i| t(i / 2)).collect();
        assert!(check(&Policy::default(), &[], &f[..19], t(10)).is_ok());
        assert!(check(&Policy::default(), &[], &f, t(10)).is_err());
    }

    #[test]
    fn settings_change_the_limits() {
        let p = Policy {
            max_per_user: 2,
            lockout: Duration::minutes(1),
            slowdown: Duration::seconds(0),
            ..Policy::default()
        };
        let f = here(&[t(0), t(1)]);
        assert!(check(&p, &f, &[], t(1)).is_err());
        assert!(check(&p, &f, &[], t(2)).is_ok());
    }

    #[test]
    fn only_the_failure_that_completes_the_limit_starts_a_lock() {
        let w = Duration::minutes(15);
        assert!(!starts_lock(&[t(0), t(1)], 3, w));
        assert!(starts_lock(&[t(0), t(1), t(2)], 3, w));
        assert!(!starts_lock(&[t(0), t(1), t(2), t(3)], 3, w));
        assert!(starts_lock(&[t(0), t(20), t(21), t(22)], 3, w));
    }
}
