//! Calendar throughput: `cargo bench --bench calendar`. A plain `main` (no harness): each
//! operation runs over pseudo-random dates in 2020–2026 and prints operations per second.
//! Figures go to docs/performance.md (## Calendar).

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, NaiveDateTime};
use yichuang_domain::calendar::{Calendar, OfficeHours, OfficeTime};
use yichuang_domain::workdays::{OfficeClock, WorkingDays};

const N: usize = 2_000_000;

/// A small deterministic generator, so runs compare (xorshift64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> i64 {
        (self.next() % n) as i64
    }
}

fn report(name: &str, ops: usize, took: Duration) {
    let per_sec = ops as f64 / took.as_secs_f64();
    let ns = took.as_nanos() as f64 / ops as f64;
    println!("{name:<28} {per_sec:>14.0} ops/s   {ns:>7.1} ns/op");
}

fn once(name: &str, took: Duration) {
    println!(
        "{name:<28} {:>14.2} ms (once, after loading)",
        took.as_secs_f64() * 1000.0
    );
}

fn main() {
    let start = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
    let years = yichuang_server::calendar::shipped_years().expect("shipped years parse");

    let t = Instant::now();
    let cal = Calendar::new(years);
    once("build calendar (7 years)", t.elapsed());
    let t = Instant::now();
    let office = OfficeTime::new(&cal, &OfficeHours::default());
    once("build office time", t.elapsed());

    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let dates: Vec<NaiveDate> = (0..N)
        .map(|_| start + chrono::Duration::days(rng.below(2557)))
        .collect();
    let counts: Vec<i64> = (0..N).map(|_| 1 + rng.below(60)).collect();
    let times: Vec<NaiveDateTime> = dates
        .iter()
        .map(|d| d.and_hms_opt(0, 0, 0).unwrap() + chrono::Duration::minutes(rng.below(1440)))
        .collect();

    let t = Instant::now();
    for d in &dates {
        black_box(cal.day(black_box(*d)).kind);
    }
    report("day kind", N, t.elapsed());

    let t = Instant::now();
    for (d, n) in dates.iter().zip(&counts) {
        black_box(cal.add_working_days(black_box(*d), black_box(*n)));
    }
    report("add working days", N, t.elapsed());

    let t = Instant::now();
    for (i, d) in dates.iter().enumerate() {
        black_box(cal.working_days_between(black_box(*d), black_box(dates[(i + 1) % N])));
    }
    report("working days between", N, t.elapsed());

    let t = Instant::now();
    for (i, d) in dates.iter().enumerate() {
        black_box(cal.try_add_working_days(black_box(*d), counts[i]).ok());
    }
    report("add working days (strict)", N, t.elapsed());

    let t = Instant::now();
    for (tm, n) in times.iter().zip(&counts) {
        black_box(office.add_office_minutes(black_box(*tm), black_box(*n * 37)));
    }
    report("add office minutes", N, t.elapsed());
}
