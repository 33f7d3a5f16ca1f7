//! HTTP load tool: starts the real server in-process on a fresh database, seeds it through the
//! public API, then runs a scenario with concurrent keep-alive clients for a bounded time and
//! prints requests per second and latency percentiles. Traffic goes to 127.0.0.1 only.
//!
//! ```sh
//! cargo run --release --example load -- --scenario item-get --backend sqlite --seconds 10 --concurrency 16
//! YICHUANG_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!   cargo run --release --example load -- --scenario item-get --backend postgres
//! ```
//! Client and server share the machine's cores, so the figures are a floor for a dedicated server.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const ADMIN_PASSWORD: &str = "Load-Test-2026";

struct Args {
    scenario: String,
    backend: String,
    seconds: u64,
    concurrency: usize,
    items: usize,
}

fn parse_args() -> Args {
    let mut a = Args {
        scenario: "health".into(),
        backend: "sqlite".into(),
        seconds: 10,
        concurrency: 16,
        items: 1000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().unwrap_or_default();
        match k.as_str() {
            "--scenario" => a.scenario = v,
            "--backend" => a.backend = v,
            "--seconds" => a.seconds = v.parse().expect("--seconds N"),
            "--concurrency" => a.concurrency = v.parse().expect("--concurrency N"),
            "--items" => a.items = v.parse().expect("--items N"),
            _ => panic!("unknown argument {k}; see the file's doc comment"),
        }
    }
    a
}

async fn database_url(backend: &str) -> String {
    match backend {
        "sqlite" => yichuang_store::testing::sqlite_url(),
        "postgres" => yichuang_store::testing::postgres_url()
            .await
            .expect("set YICHUANG_TEST_DATABASE_URL for --backend postgres"),
        other => panic!("unknown backend {other}"),
    }
}

/// Latencies in microseconds → (p50, p99) in milliseconds.
fn percentiles(mut v: Vec<u64>) -> (f64, f64) {
    if v.is_empty() {
        return (0.0, 0.0);
    }
    v.sort_unstable();
    let at =
        |p: f64| v[((p * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1] as f64 / 1000.0;
    (at(0.50), at(0.99))
}

/// One request of the scenario; `i` varies the target.
type Step = Arc<
    dyn Fn(
            reqwest::Client,
            String,
            u64,
        ) -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send>>
        + Send
        + Sync,
>;

async fn login(client: &reqwest::Client, base: &str) -> String {
    let r: Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("login json");
    r["token"].as_str().expect("token").to_string()
}

async fn seed_items(client: &reqwest::Client, base: &str, token: &str, n: usize) {
    let r = client
        .post(format!("{base}/api/v1/departments"))
        .bearer_auth(token)
        .json(&json!({"code": "LOADDEPT", "name": "压测部门"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "department: {}", r.status());
    for i in 0..n {
        let body = json!({
            "code": format!("LOAD{i:06}"), "name": format!("压测事项{i}"), "department": "LOADDEPT",
            "kind": "committed", "statutory_limit_days": 20, "committed_limit_days": 5,
            "materials": [{"code": "M1", "name": "申请书"}, {"code": "M2", "name": "身份证件"}]
        });
        let r = client
            .post(format!("{base}/api/v1/items"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "item {i}: {}", r.status());
    }
}

#[tokio::main]
async fn main() {
    let args = parse_args();
    let url = database_url(&args.backend).await;
    let config = yichuang_server::Config {
        addr: "127.0.0.1:0".parse().unwrap(),
        database_url: url,
        admin_password: Some(ADMIN_PASSWORD.into()),
        ..Default::default()
    };
    let running = yichuang_server::start(config).await.expect("server");
    let base = running.url();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()
        .unwrap();

    let step: Step = match args.scenario.as_str() {
        "health" => Arc::new(|c: reqwest::Client, base: String, _i: u64| {
            Box::pin(async move {
                c.get(format!("{base}/api/v1/health"))
                    .send()
                    .await
                    .map(|r| r.status().is_success())
                    .unwrap_or(false)
            })
        }),
        "item-get" => {
            let token = login(&client, &base).await;
            let t0 = Instant::now();
            seed_items(&client, &base, &token, args.items).await;
            eprintln!(
                "seeded {} items in {:.1}s",
                args.items,
                t0.elapsed().as_secs_f64()
            );
            let n = args.items as u64;
            Arc::new(move |c: reqwest::Client, base: String, i: u64| {
                Box::pin(async move {
                    let code = format!("LOAD{:06}", (i.wrapping_mul(2654435761)) % n);
                    c.get(format!("{base}/api/v1/items/{code}"))
                        .send()
                        .await
                        .map(|r| r.status().is_success())
                        .unwrap_or(false)
                })
            })
        }
        other => panic!("unknown scenario {other} (health, item-get)"),
    };

    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..args.concurrency {
        let (c, base, step, stop) = (client.clone(), base.clone(), step.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut failed = 0u64;
            let mut i = w as u64;
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                if step(c.clone(), base.clone(), i).await {
                    lat.push(t.elapsed().as_micros() as u64);
                } else {
                    failed += 1;
                }
                i += 1000;
            }
            (lat, failed)
        }));
    }
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    let mut failed = 0;
    for t in tasks {
        let (l, f) = t.await.unwrap();
        all.extend(l);
        failed += f;
    }
    let secs = started.elapsed().as_secs_f64();
    let n = all.len();
    let (p50, p99) = percentiles(all);
    println!(
        "scenario={} backend={} concurrency={} requests={} failed={} seconds={:.1} rps={:.0} p50_ms={:.2} p99_ms={:.2}",
        args.scenario,
        args.backend,
        args.concurrency,
        n,
        failed,
        secs,
        n as f64 / secs,
        p50,
        p99
    );
    running.stop().await;
}
