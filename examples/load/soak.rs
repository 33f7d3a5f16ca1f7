//! `--scenario soak --minutes N --rate R`: a city hall's day in miniature, held for N minutes at
//! R requests per second (loopback only): for every ten requests, three tickets taken, one window
//! calling, starting and finishing a ticket, three catalogue reads, one public case query (a
//! wrong answer now and then), one supervision dashboard and one health check. Every minute it
//! prints what the process holds (resident memory, open descriptors) beside the minute's
//! latencies, so a leak or a slow creep shows as a trend.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[((p * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1]
}

/// Success, or for the public query's wrong answers the 404 and, once the address has made
/// twenty, the throttle's 429: both are the query doing its job.
async fn ok(r: Result<reqwest::Response, reqwest::Error>, a_wrong_query: bool) -> bool {
    match r {
        Ok(r) => {
            r.status().is_success() || (a_wrong_query && matches!(r.status().as_u16(), 404 | 429))
        }
        Err(_) => false,
    }
}

pub async fn run(
    c: &reqwest::Client,
    base: &str,
    token: &str,
    windows: &[i64],
    minutes: u64,
    rate: u64,
) {
    super::seed_items(c, base, token, 200).await;
    // Case numbers nobody has: the public query's 404 path, which every probe takes.
    let number = "YC2612040";
    println!("minute,requests,errors,p50_ms,p99_ms,rss_mib,open_fds");
    let start = Instant::now();
    let period = Duration::from_micros(1_000_000 / rate.max(1));
    let mut i: u64 = 0;
    for minute in 1..=minutes {
        let (mut lat, mut errors, mut n) = (Vec::new(), 0u64, 0u64);
        let end = start + Duration::from_secs(minute * 60);
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        while Instant::now() < end {
            tick.tick().await;
            i += 1;
            let t = Instant::now();
            let good = match i % 10 {
                0..=2 => super::take_ticket(c, base, token, i).await,
                3 => {
                    let w = windows[(i / 10) as usize % windows.len()];
                    let r = super::post(
                        c,
                        format!("{base}/api/v1/windows/{w}/call"),
                        token,
                        json!({}),
                    )
                    .await;
                    match r
                        .json::<Value>()
                        .await
                        .ok()
                        .and_then(|v| v["ticket"]["id"].as_i64())
                    {
                        Some(id) => {
                            let mut all = true;
                            for act in ["start", "finish"] {
                                let r = super::post(
                                    c,
                                    format!("{base}/api/v1/tickets/{id}/{act}"),
                                    token,
                                    json!({}),
                                )
                                .await;
                                all &= r.status().is_success();
                            }
                            all
                        }
                        // Nobody waiting at that moment is not an error.
                        None => true,
                    }
                }
                4..=6 => {
                    let code = format!("LOAD{:06}", i % 200);
                    ok(
                        c.get(format!("{base}/api/v1/items/{code}")).send().await,
                        false,
                    )
                    .await
                }
                7 => {
                    // Unknown on purpose: the query answers 404 and counts a failure for the
                    // address, which after twenty is throttled (429) like any prober.
                    let q = format!(
                        "{base}/api/v1/query/cases?number={number}{}&last4=0000",
                        i % 1000
                    );
                    ok(c.get(q).send().await, true).await
                }
                8 => {
                    ok(
                        c.get(format!("{base}/supervision"))
                            .bearer_auth(token)
                            .send()
                            .await,
                        false,
                    )
                    .await
                }
                _ => ok(c.get(format!("{base}/api/v1/health")).send().await, false).await,
            };
            lat.push(t.elapsed().as_secs_f64() * 1000.0);
            n += 1;
            if !good {
                errors += 1;
            }
        }
        println!(
            "{minute},{n},{errors},{:.1},{:.1},{:.1},{}",
            pct(&mut lat, 0.50),
            pct(&mut lat, 0.99),
            rss_kib() as f64 / 1024.0,
            open_fds()
        );
    }
}
