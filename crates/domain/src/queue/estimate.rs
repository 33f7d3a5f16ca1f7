//! How long will I wait? The estimate a ticket shows when it is taken and while it waits.
//!
//! ## Method
//!
//! Inputs: the number of tickets `ahead` of this one in its queue, the number of windows open
//! for the queue (`c`), how many of them are busy with a ticket of the queue, and the mean
//! service time `S` of the queue's recent visitors (the plain mean of the last `sample_size`
//! services, or with `smoothing > 0` an exponentially weighted mean that follows a change of
//! pace sooner; with no history yet, `default_service_minutes`).
//!
//! The ticket is called when a window frees up for it. With `n = busy + ahead` visitors in
//! front of it: if `n < c` a window is free at once (wait 0); otherwise `n − c + 1` visitors
//! must finish first. While all `c` windows are busy, visitors finish at a rate of `c / S`, so
//!
//! ```text
//! estimated wait = max(0, busy + ahead − c + 1) × S / c
//! ```
//!
//! With exponential service times this is exactly the expected wait given what the ticket sees
//! (the exponential distribution has no memory, so time already spent at a window does not
//! matter). Averaged over Poisson arrivals, which see the queue in its long-run state (PASTA),
//! the estimates therefore average to the M/M/c mean wait of the Erlang C formula,
//! `Wq = C(c, a) / (c·μ − λ)` with `a = λ / μ`. [`super::simulation`] checks this by driving
//! the ticket and policy code through a simulated hall, and tests assert the agreement.
//!
//! Real service times are not exponential and windows serve several queues; the estimate is
//! then an approximation, and the display rounds it up to whole minutes.
//!
//! A note on the sample of service times: in the simulated hall, with the default sample of the
//! last 100 services, the predictions average about 4 % above Erlang C at ρ = 0.85 (2 % at 0.7,
//! none at 0.5). When the last hundred visitors happened to take long, the line is long just
//! then too, so the two deviations multiply. With independent service times that is pure
//! chance (a sample of 50 gives +6 %, one of 200 about +3 %); in a real hall slow spells persist
//! (a hard case, a new clerk) and following them is the reason for a recent sample.

use serde::{Deserialize, Serialize};

use crate::{Problems, Result};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EstimateSettings {
    /// Used until the queue has finished its first visitor.
    pub default_service_minutes: f64,
    /// How many of the most recent service times to use (default 100: about half a busy day of
    /// one queue).
    pub sample_size: usize,
    /// 0 for the plain mean; otherwise the weight (0 < α ≤ 1) of each newer service time in an
    /// exponentially weighted mean.
    pub smoothing: f64,
}

impl Default for EstimateSettings {
    fn default() -> Self {
        EstimateSettings {
            default_service_minutes: 10.0,
            sample_size: 100,
            smoothing: 0.0,
        }
    }
}

impl EstimateSettings {
    pub fn validate(&self) -> Result<()> {
        let mut p = Problems::new();
        p.check(
            self.default_service_minutes > 0.0 && self.default_service_minutes <= 480.0,
            "default_service_minutes",
            "默认办理时长须在0到480分钟之间",
        );
        p.check(
            (1..=10_000).contains(&self.sample_size),
            "sample_size",
            "参与估算的办理记录数须在1到10000之间",
        );
        p.check(
            (0.0..=1.0).contains(&self.smoothing),
            "smoothing",
            "平滑系数须在0到1之间",
        );
        p.finish()
    }
}

/// The mean service time in minutes from recent service durations in minutes, oldest first.
pub fn service_minutes(recent: &[f64], s: &EstimateSettings) -> f64 {
    let recent = &recent[recent.len().saturating_sub(s.sample_size)..];
    let Some((&first, rest)) = recent.split_first() else {
        return s.default_service_minutes;
    };
    if s.smoothing > 0.0 {
        rest.iter()
            .fold(first, |m, &x| s.smoothing * x + (1.0 - s.smoothing) * m)
    } else {
        recent.iter().sum::<f64>() / recent.len() as f64
    }
}

/// What a ticket sees of its queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueLoad {
    /// Waiting tickets called before this one (`policy::ahead`).
    pub ahead: u32,
    /// Windows of the queue occupied by a visitor (called, serving or parked there).
    pub busy: u32,
    /// Windows open for the queue.
    pub windows_open: u32,
}

/// The expected wait in minutes; `None` when no window is open for the queue.
pub fn estimate_wait_minutes(load: QueueLoad, mean_service_minutes: f64) -> Option<f64> {
    if load.windows_open == 0 {
        return None;
    }
    let c = load.windows_open;
    let in_front = load.busy.min(c) + load.ahead;
    let must_finish = (in_front + 1).saturating_sub(c);
    Some(f64::from(must_finish) * mean_service_minutes / f64::from(c))
}

/// Whole minutes for display, rounded up: a visitor told 3 minutes should not wait 3½.
pub fn display_minutes(wait: f64) -> u32 {
    let m = wait.max(0.0).ceil();
    if m >= f64::from(u32::MAX) {
        u32::MAX
    } else {
        m as u32
    }
}

/// Erlang C: the probability that an arrival has to wait, for `c` windows and an offered load
/// of `a = λ/μ` erlangs. `None` unless `0 < a < c` (otherwise the line grows without end).
pub fn erlang_c(c: u32, a: f64) -> Option<f64> {
    if c == 0 || !(a > 0.0 && a < f64::from(c)) {
        return None;
    }
    // Erlang B by its stable recurrence, then C from B.
    let b = (1..=c).fold(1.0, |b, k| a * b / (f64::from(k) + a * b));
    let rho = a / f64::from(c);
    Some(b / (1.0 - rho * (1.0 - b)))
}

/// The M/M/c mean wait in the line, `Wq = C(c, a) / (c·μ − λ)`, in the time unit of the rates.
pub fn erlang_c_mean_wait(c: u32, arrival_rate: f64, service_rate: f64) -> Option<f64> {
    let a = arrival_rate / service_rate;
    let p_wait = erlang_c(c, a)?;
    Some(p_wait / (f64::from(c) * service_rate - arrival_rate))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(ahead: u32, busy: u32, windows_open: u32) -> QueueLoad {
        QueueLoad {
            ahead,
            busy,
            windows_open,
        }
    }

    #[test]
    fn a_free_window_means_no_wait() {
        assert_eq!(estimate_wait_minutes(load(0, 2, 3), 10.0), Some(0.0));
        assert_eq!(estimate_wait_minutes(load(1, 1, 3), 10.0), Some(0.0));
    }

    #[test]
    fn behind_busy_windows_the_wait_is_the_departures_needed_times_s_over_c() {
        // 3 windows busy, nobody ahead: the first of 3 to finish, S/3.
        assert_eq!(estimate_wait_minutes(load(0, 3, 3), 9.0), Some(3.0));
        // 4 ahead and 3 busy: 5 must finish.
        assert_eq!(estimate_wait_minutes(load(4, 3, 3), 9.0), Some(15.0));
        assert_eq!(estimate_wait_minutes(load(4, 1, 1), 6.0), Some(30.0));
    }

    #[test]
    fn no_open_window_gives_no_estimate() {
        assert_eq!(estimate_wait_minutes(load(5, 0, 0), 9.0), None);
    }

    #[test]
    fn the_displayed_wait_is_rounded_up_to_whole_minutes() {
        assert_eq!(display_minutes(0.0), 0);
        assert_eq!(display_minutes(3.01), 4);
        assert_eq!(display_minutes(15.0), 15);
    }

    #[test]
    fn without_history_the_default_service_time_is_used() {
        let s = EstimateSettings::default();
        assert_eq!(service_minutes(&[], &s), 10.0);
    }

    #[test]
    fn the_plain_mean_uses_only_the_most_recent_sample() {
        let s = EstimateSettings {
            sample_size: 3,
            ..EstimateSettings::default()
        };
        assert_eq!(service_minutes(&[100.0, 4.0, 6.0, 8.0], &s), 6.0);
    }

    #[test]
    fn the_weighted_mean_follows_a_change_of_pace_sooner() {
        let s = EstimateSettings {
            smoothing: 0.5,
            ..EstimateSettings::default()
        };
        // 4 → 0.5·8 + 0.5·4 = 6 → 0.5·8 + 0.5·6 = 7.
        assert_eq!(service_minutes(&[4.0, 8.0, 8.0], &s), 7.0);
        let plain = EstimateSettings::default();
        assert!(service_minutes(&[4.0, 8.0, 8.0], &plain) < 7.0);
    }

    #[test]
    fn erlang_c_matches_known_values() {
        // One window: C = ρ, Wq = ρ / (μ − λ).
        assert!((erlang_c(1, 0.5).unwrap() - 0.5).abs() < 1e-12);
        assert!((erlang_c_mean_wait(1, 0.5, 1.0).unwrap() - 1.0).abs() < 1e-12);
        // Two windows, a = 1: C = 1/3 (textbook value).
        assert!((erlang_c(2, 1.0).unwrap() - 1.0 / 3.0).abs() < 1e-12);
        // Ten windows at a = 8 erlangs: C ≈ 0.409 (published tables).
        assert!((erlang_c(10, 8.0).unwrap() - 0.4092).abs() < 1e-3);
    }

    #[test]
    fn erlang_c_is_undefined_for_an_overloaded_hall() {
        assert_eq!(erlang_c(3, 3.0), None);
        assert_eq!(erlang_c_mean_wait(2, 3.0, 1.0), None);
        assert_eq!(erlang_c(0, 0.5), None);
    }

    #[test]
    fn the_default_settings_are_valid_and_a_bad_smoothing_is_refused() {
        EstimateSettings::default().validate().unwrap();
        let bad = EstimateSettings {
            smoothing: 1.5,
            ..EstimateSettings::default()
        };
        assert_eq!(bad.validate().unwrap_err().fields[0].field, "smoothing");
    }
}
