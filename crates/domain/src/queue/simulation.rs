//! A simulated hall: one queue, `c` windows, Poisson arrivals and exponential service (M/M/c),
//! run through the real ticket state machine, the priority policy and the wait estimator.
//!
//! It exists to check the estimator against queueing theory (see [`super::estimate`]): at each
//! arrival it records the wait the estimator predicts from what the ticket sees, and at each
//! call the wait the ticket actually had. Deterministic: the random numbers come from seeded
//! SplitMix64 generators, so a run is the same on every machine.
//!
//! Mean waits near full load converge slowly (a long busy period makes many visitors wait at
//! once), so [`simulate_mmc_pair`] uses antithetic variates: a second run draws every
//! inter-arrival and service time from `1 − u` where the first used `u`, so a busy stretch in
//! one is a quiet stretch in the other, and the pair's average has well under half the spread of
//! one run twice as long. Arrivals and service times come from separate streams, and the k-th
//! visitor called gets the k-th service time, so the two runs stay in step.

use chrono::{Duration, TimeZone, Utc};

use super::estimate::{self, EstimateSettings, QueueLoad};
use super::policy::{self, PolicySettings};
use super::ticket::{NewTicket, Ticket};
use super::{Categories, Channel, TicketNumber};

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast and good enough for simulation.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Exponentially distributed with the given rate (mean `1 / rate`).
    pub fn exponential(&mut self, rate: f64) -> f64 {
        -(1.0 - self.next_f64()).ln() / rate
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct MmcParams {
    pub windows: u32,
    /// Visitors per minute.
    pub arrival_rate: f64,
    /// Visitors per minute one window serves.
    pub service_rate: f64,
    /// Visitors measured, after the warm-up.
    pub visitors: usize,
    /// Visitors simulated first and not measured, so the hall is in its steady state.
    pub warmup: usize,
    pub seed: u64,
    /// Draw from `1 − u` instead of `u` (the antithetic twin of the run with the same seed).
    pub antithetic: bool,
    /// How the estimator averages the service times it has seen.
    pub estimate: EstimateSettings,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MmcOutcome {
    /// The mean of the estimator's predictions, in minutes, over measured arrivals.
    pub predicted_mean_wait: f64,
    /// The mean wait the measured visitors had, in minutes.
    pub simulated_mean_wait: f64,
    /// The Erlang C mean wait for the same load, in minutes.
    pub erlang_c_mean_wait: f64,
    /// Arrivals per minute and services per minute the measured visitors actually had.
    pub arrival_rate_seen: f64,
    pub service_rate_seen: f64,
}

struct AtWindow {
    ticket: Ticket,
    done_at: i64,
}

/// One run. Panics if the load is not below the number of windows (the hall would never reach
/// a steady state).
pub fn simulate_mmc(p: &MmcParams) -> MmcOutcome {
    const QUEUE: i64 = 1;
    let erlang = estimate::erlang_c_mean_wait(p.windows, p.arrival_rate, p.service_rate)
        .expect("the simulated hall must not be overloaded");
    let policy = PolicySettings::default();
    let est = &p.estimate;
    let start = Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap();
    let instant = |us: i64| start + Duration::microseconds(us);
    let mut arrivals = SplitMix64::new(p.seed);
    let mut services = SplitMix64::new(p.seed ^ 0x5EED_5EED_5EED_5EED);
    // Microseconds until the next event of a stream.
    let draw = |stream: &mut SplitMix64, rate: f64| {
        let u = stream.next_f64();
        let u = if p.antithetic { 1.0 - u } else { u };
        (-(1.0 - u).max(f64::MIN_POSITIVE).ln() / rate * 60e6).round() as i64
    };

    let total = p.warmup + p.visitors;
    let mut windows: Vec<Option<AtWindow>> = (0..p.windows).map(|_| None).collect();
    let mut waiting: Vec<Ticket> = Vec::new();
    let mut recent_service: Vec<f64> = Vec::new();
    // The estimator's service time only changes when a service ends, as on a real server.
    let mut mean_service = estimate::service_minutes(&recent_service, est);
    let mut issued = 0usize;
    let mut next_arrival = draw(&mut arrivals, p.arrival_rate);
    let (mut predicted, mut waited, mut measured_calls) = (0.0, 0.0, 0usize);
    let (mut first_arrival, mut last_arrival, mut served, mut service_total) = (0, 0, 0usize, 0.0);

    while measured_calls < p.visitors {
        let next_done = windows
            .iter()
            .enumerate()
            .filter_map(|(i, w)| w.as_ref().map(|w| (w.done_at, i)))
            .min();
        let now;
        if issued < total && next_done.is_none_or(|(d, _)| next_arrival < d) {
            now = next_arrival;
            let id = i64::try_from(issued).expect("visitor count fits i64") + 1;
            let ticket = Ticket::issue(
                NewTicket {
                    id,
                    queue: QUEUE,
                    number: TicketNumber::new("A", u32::try_from(id).unwrap_or(u32::MAX))
                        .expect("A is a valid prefix"),
                    channel: Channel::Kiosk,
                    categories: Categories::NONE,
                    holder: None,
                },
                instant(now),
            )
            .ticket;
            if issued == p.warmup {
                first_arrival = now;
            }
            last_arrival = now;
            if issued >= p.warmup {
                let load = QueueLoad {
                    ahead: policy::ahead(&ticket, &waiting, instant(now), &policy),
                    busy: u32::try_from(windows.iter().flatten().count()).unwrap_or(u32::MAX),
                    windows_open: p.windows,
                };
                predicted += estimate::estimate_wait_minutes(load, mean_service).unwrap_or(0.0);
            }
            waiting.push(ticket);
            issued += 1;
            next_arrival = now + draw(&mut arrivals, p.arrival_rate);
        } else {
            let (done_at, i) = next_done.expect("an event is due while visitors remain");
            now = done_at;
            let at_window = windows[i].take().expect("the window is busy");
            let finished = at_window
                .ticket
                .finish(instant(now))
                .expect("serving → finished");
            let minutes = finished.closed.and_then(|c| c.seconds()).unwrap_or(0.0) / 60.0;
            recent_service.push(minutes);
            if usize::try_from(at_window.ticket.id).is_ok_and(|n| n > p.warmup) {
                served += 1;
                service_total += minutes;
            }
            if recent_service.len() > 2 * est.sample_size {
                recent_service.drain(..est.sample_size);
            }
            mean_service = estimate::service_minutes(&recent_service, est);
        }
        // Every free window calls the ticket the policy picks.
        for (i, slot) in windows.iter_mut().enumerate() {
            if slot.is_some() {
                continue;
            }
            let Some(id) = policy::next_ticket(&[QUEUE], &waiting, instant(now), &policy) else {
                break;
            };
            let pos = waiting
                .iter()
                .position(|t| t.id == id)
                .expect("picked from the list");
            let ticket = waiting.swap_remove(pos);
            let window = i64::try_from(i).expect("window index fits i64");
            let called = ticket
                .call(instant(now), window, None)
                .expect("waiting → called");
            if usize::try_from(id).is_ok_and(|n| n > p.warmup) {
                waited += called.closed.and_then(|c| c.seconds()).unwrap_or(0.0) / 60.0;
                measured_calls += 1;
            }
            let serving = called.ticket.start(instant(now)).expect("called → serving");
            *slot = Some(AtWindow {
                ticket: serving.ticket,
                done_at: now + draw(&mut services, p.service_rate),
            });
        }
    }
    let n = p.visitors as f64;
    MmcOutcome {
        predicted_mean_wait: predicted / n,
        simulated_mean_wait: waited / n,
        erlang_c_mean_wait: erlang,
        arrival_rate_seen: (n - 1.0) / ((last_arrival - first_arrival) as f64 / 60e6),
        service_rate_seen: served as f64 / service_total,
    }
}

/// A run and its antithetic twin, averaged (twice `p.visitors` visitors in all).
pub fn simulate_mmc_pair(p: &MmcParams) -> MmcOutcome {
    let a = simulate_mmc(&MmcParams {
        antithetic: false,
        ..p.clone()
    });
    let b = simulate_mmc(&MmcParams {
        antithetic: true,
        ..p.clone()
    });
    MmcOutcome {
        predicted_mean_wait: (a.predicted_mean_wait + b.predicted_mean_wait) / 2.0,
        simulated_mean_wait: (a.simulated_mean_wait + b.simulated_mean_wait) / 2.0,
        erlang_c_mean_wait: a.erlang_c_mean_wait,
        arrival_rate_seen: (a.arrival_rate_seen + b.arrival_rate_seen) / 2.0,
        service_rate_seen: (a.service_rate_seen + b.service_rate_seen) / 2.0,
    }
}

/// The agreement the tests require: within 10 % of the Erlang C mean wait.
pub const TOLERANCE: f64 = 0.10;

pub fn agrees(value: f64, erlang: f64) -> bool {
    (value - erlang).abs() <= TOLERANCE * erlang
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generator_is_deterministic_and_uniform_enough() {
        let mut a = SplitMix64::new(42);
        let mut b = SplitMix64::new(42);
        let xs: Vec<f64> = (0..10_000).map(|_| a.next_f64()).collect();
        assert!(xs.iter().all(|&x| (0.0..1.0).contains(&x)));
        assert_eq!(
            xs[..5],
            (0..5).map(|_| b.next_f64()).collect::<Vec<_>>()[..]
        );
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        assert!((mean - 0.5).abs() < 0.01, "mean {mean}");
        let mut r = SplitMix64::new(7);
        let exp_mean = (0..20_000).map(|_| r.exponential(0.25)).sum::<f64>() / 20_000.0;
        assert!((exp_mean - 4.0).abs() < 0.15, "exponential mean {exp_mean}");
    }

    /// Three windows, 10 minutes a visitor on average, λ set for the load ρ, an antithetic pair
    /// of `visitors` measured visitors each. Heavier load converges more slowly, so it gets
    /// longer runs. Measured over seeds 1–20 before fixing the seed: the simulated mean wait
    /// stayed within 6 % of Erlang C at every load (spread 2–3 %); the predicted mean within
    /// 7 % at ρ = 0.5 and 0.7 and within 8.3 % at ρ = 0.85, where it runs about 4 % high
    /// (see the note on the sample of service times in `estimate`). So ±10 % is a real bound
    /// with room for chance, not a lucky seed.
    fn check(rho: f64, visitors: usize) {
        let windows = 3;
        let service_rate = 0.1;
        let o = simulate_mmc_pair(&MmcParams {
            windows,
            arrival_rate: rho * f64::from(windows) * service_rate,
            service_rate,
            visitors,
            warmup: 2_000,
            seed: 20260302,
            antithetic: false,
            estimate: EstimateSettings::default(),
        });
        let seen = o.arrival_rate_seen / (f64::from(windows) * o.service_rate_seen);
        for (what, value) in [
            ("predicted", o.predicted_mean_wait),
            ("simulated", o.simulated_mean_wait),
        ] {
            assert!(
                agrees(value, o.erlang_c_mean_wait),
                "ρ={rho} (the run's own load {seen:.3}): {what} mean wait {value:.2} min, \
                 Erlang C {:.2} min",
                o.erlang_c_mean_wait
            );
        }
    }

    #[test]
    fn the_estimated_wait_agrees_with_erlang_c_at_half_load() {
        check(0.5, 40_000);
    }

    #[test]
    fn the_estimated_wait_agrees_with_erlang_c_at_seventy_percent_load() {
        check(0.7, 60_000);
    }

    #[test]
    fn the_estimated_wait_agrees_with_erlang_c_at_eighty_five_percent_load() {
        check(0.85, 150_000);
    }

    #[test]
    fn an_antithetic_twin_runs_the_same_hall_with_mirrored_chance() {
        let p = MmcParams {
            windows: 2,
            arrival_rate: 0.1,
            service_rate: 0.1,
            visitors: 500,
            warmup: 0,
            seed: 9,
            antithetic: false,
            estimate: EstimateSettings::default(),
        };
        assert_eq!(simulate_mmc(&p), simulate_mmc(&p));
        let twin = simulate_mmc(&MmcParams {
            antithetic: true,
            ..p.clone()
        });
        assert_ne!(twin, simulate_mmc(&p));
        assert_eq!(twin.erlang_c_mean_wait, simulate_mmc(&p).erlang_c_mean_wait);
    }
}
