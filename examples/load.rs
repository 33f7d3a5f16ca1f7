//! HTTP load tool: starts the real server in-process on a fresh database, seeds it through the
//! public API, then runs a scenario with concurrent keep-alive clients for a bounded time and
//! prints requests per second and latency percentiles. Traffic goes to 127.0.0.1 only.
//!
//! ```sh
//! cargo run --release --example load -- --scenario item-get --backend sqlite --seconds 10 --concurrency 16
//! YICHUANG_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!   cargo run --release --example load -- --scenario item-get --backend postgres
//! ```
//! Hall scenarios: `ticket-take` (staff tickets into two queues), `call-finish` (twelve windows,
//! each step a call, a start and a finish of one ticket over pre-taken tickets), and
//! `board-clients` (`--concurrency` SSE clients on the hall's feed; prints the delay from each
//! call to its delivery on every board).
//! Client and server share the machine's cores, so the figures are a floor for a dedicated server.
//! Every scenario that measures a rate also prints the SQL statements the process ran per step
//! and per HTTP request (`yichuang_store::statements`); `LOAD_STATEMENTS=N` lists the N most
//! frequent statements per step, with the time sqlx timed them for per step (on SQLite on the
//! connection's thread: the database's own work). On SQLite it prints how busy the writer's turn
//! was (`writer_turn_busy`, the time each transaction held it, split into opening the shared
//! transaction, waiting for statements and the rest, transactions per `COMMIT`) and how much of
//! the time it passed between holders (`handoff`: from one handing it on to the next running
//! with it), and `call-finish` prints the call's own p50 and p99. `LOAD_FAILURES=1` prints why
//! each failed request of the case scenarios failed (its path, status and problem).
//!
//! Cases: `--scenario case-lifecycle` runs whole cases (accept → route → confirm → two parallel
//! department reviews → decide → issue by mail, 13 requests each; the figures are per case);
//! `--scenario case-accept --cases N` first inserts N cases, then measures `POST /api/v1/cases`.
//!
//! Soak: `--scenario soak --minutes 30 --rate 20` holds a mixed hall load and prints memory,
//! descriptors and latency every minute (see `load/soak.rs`).
//! Peak day: `--scenario peak-day` replays 耒阳's busiest day (11,700 visitors, 238 windows) through
//! the API as fast as it goes and prints the wall time; idle windows follow the hall's feed.
//! Statement trip: `--scenario statement-trip --concurrency N` times `SELECT 1` through the
//! server's own pool, without HTTP (its in-process peer: `scripts/sqlite_in_process.py`).
//! Supervision: `--scenario supervision --halls 100 --years 5 --cases 10000000` generates a
//! province (see `load/supervision.rs`) and times the director's dashboard and monthly report.
//! Work orders: `--scenario work-order-create` records 办不成事 orders through the API;
//! `--scenario work-order-board --orders N` stores N orders over 90 days (three in ten open) and
//! reads the dispatcher's board; `--scenario work-order-duplicates --orders N` the same, then
//! the likely duplicates of one new order.
//! Ratings: `--scenario rating-record` makes `--items` ready rating tokens, then each request
//! rates one (levels 5…1 in turn: two in five are 差评 and open a rectification);
//! `--scenario rating-report --ratings N` stores N ratings over a month in 10 halls and 20
//! departments, then measures the month's numbers per hall (`GET /api/v1/ratings/stats`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The binary's allocator (src/main.rs), so the figures are the server's as it runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ADMIN_PASSWORD: &str = "Load-Test-2026";

struct Args {
    scenario: String,
    backend: String,
    seconds: u64,
    concurrency: usize,
    items: usize,
    cases: usize,
    ratings: usize,
    orders: usize,
    halls: usize,
    years: usize,
    minutes: u64,
    rate: u64,
}

fn parse_args() -> Args {
    let mut a = Args {
        scenario: "health".into(),
        backend: "sqlite".into(),
        seconds: 10,
        concurrency: 16,
        items: 1000,
        cases: 10_000,
        ratings: 1_000_000,
        orders: 500_000,
        halls: 100,
        years: 5,
        minutes: 30,
        rate: 20,
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
            "--cases" => a.cases = v.parse().expect("--cases N"),
            "--ratings" => a.ratings = v.parse().expect("--ratings N"),
            "--orders" => a.orders = v.parse().expect("--orders N"),
            "--halls" => a.halls = v.parse().expect("--halls N"),
            "--years" => a.years = v.parse().expect("--years N"),
            "--minutes" => a.minutes = v.parse().expect("--minutes N"),
            "--rate" => a.rate = v.parse().expect("--rate N"),
            _ => panic!("unknown argument {k}; see the file's doc comment"),
        }
    }
    a
}

async fn database_url(backend: &str) -> String {
    match backend {
        // `LOAD_SQLITE_SYNCHRONOUS=normal`: measure what syncing at every commit costs.
        "sqlite" => match std::env::var("LOAD_SQLITE_SYNCHRONOUS") {
            Ok(v) => format!("{}?synchronous={v}", yichuang_store::testing::sqlite_url()),
            Err(_) => yichuang_store::testing::sqlite_url(),
        },
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

const HALL: &str = "LOADHALL";
const WINDOWS: usize = 12;

async fn post(c: &reqwest::Client, url: String, token: &str, body: Value) -> reqwest::Response {
    c.post(url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("request")
}

/// A hall with queues a and b and twelve windows serving both; returns the window ids.
async fn seed_hall(c: &reqwest::Client, base: &str, token: &str) -> Vec<i64> {
    let r = post(
        c,
        format!("{base}/api/v1/halls"),
        token,
        json!({"code": HALL, "name": "压测大厅"}),
    )
    .await;
    assert!(r.status().is_success(), "hall: {}", r.status());
    for (code, prefix) in [("a", "A"), ("b", "B")] {
        let r = post(
            c,
            format!("{base}/api/v1/halls/{HALL}/queues"),
            token,
            json!({"code": code, "name": format!("压测队列{prefix}"), "prefix": prefix}),
        )
        .await;
        assert!(r.status().is_success(), "queue: {}", r.status());
    }
    let mut ids = vec![];
    for w in 0..WINDOWS {
        let r = post(c, format!("{base}/api/v1/halls/{HALL}/windows"), token,
            json!({"code": format!("W{w:02}"), "name": format!("{w}号窗口"), "kind": "comprehensive", "queues": ["a", "b"]})).await;
        let v: Value = r.json().await.unwrap();
        ids.push(v["id"].as_i64().expect("window id"));
    }
    ids
}

async fn take_ticket(c: &reqwest::Client, base: &str, token: &str, i: u64) -> bool {
    let q = if i.is_multiple_of(2) { "a" } else { "b" };
    post(
        c,
        format!("{base}/api/v1/halls/{HALL}/tickets"),
        token,
        json!({"queue": q}),
    )
    .await
    .status()
    .as_u16()
        == 201
}

/// Opens `clients` feeds, makes `calls` calls one after another, and prints how long each call
/// took to reach every board (from the call's answer to the event's arrival).
async fn board_clients(c: &reqwest::Client, base: &str, token: &str, clients: usize, calls: usize) {
    let windows = seed_hall(c, base, token).await;
    for i in 0..calls as u64 {
        assert!(take_ticket(c, base, token, i).await);
    }
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(String, Instant)>();
    let mut feeds = vec![];
    for _ in 0..clients {
        let client = reqwest::Client::new();
        let mut r = client
            .get(format!("{base}/api/v1/halls/{HALL}/events"))
            .send()
            .await
            .expect("feed");
        let tx = tx.clone();
        feeds.push(tokio::spawn(async move {
            let mut buf = String::new();
            while let Ok(Some(chunk)) = r.chunk().await {
                buf.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buf.find("\n\n") {
                    let block: String = buf.drain(..end + 2).collect();
                    if block.contains("event: ticket_called")
                        && let Some(n) = block
                            .split("\"number\":\"")
                            .nth(1)
                            .and_then(|r| r.split('"').next())
                    {
                        let _ = tx.send((n.to_string(), Instant::now()));
                    }
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut sent = std::collections::HashMap::new();
    for i in 0..calls {
        let r = post(
            c,
            format!("{base}/api/v1/windows/{}/call", windows[i % WINDOWS]),
            token,
            json!({}),
        )
        .await;
        let v: Value = r.json().await.unwrap();
        sent.insert(
            v["ticket"]["number"].as_str().unwrap().to_string(),
            Instant::now(),
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut delays = vec![];
    let deadline = Instant::now() + Duration::from_secs(5);
    while delays.len() < clients * calls && Instant::now() < deadline {
        if let Ok(Some((n, at))) = tokio::time::timeout(Duration::from_millis(200), rx.recv()).await
            && let Some(t) = sent.get(&n)
        {
            delays.push(at.saturating_duration_since(*t).as_micros() as u64);
        }
    }
    let delivered = delays.len();
    let late = delays.iter().filter(|d| **d >= 1_000_000).count();
    let (p50, p99) = percentiles(delays);
    println!(
        "scenario=board-clients clients={clients} calls={calls} expected={} delivered={delivered} over_1s={late} p50_ms={p50:.2} p99_ms={p99:.2}",
        clients * calls
    );
    for f in feeds {
        f.abort();
    }
}

/// `--scenario statement-trip`: what one statement costs through the server's own pool, with
/// no HTTP: `--concurrency` tasks run `SELECT 1` for `--seconds`. `scripts/sqlite_in_process.py`
/// runs the same statement in process, for SQLite's own cost beside it.
async fn statement_trip(db: &yichuang_store::Db, args: &Args) {
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let tasks: Vec<_> = (0..args.concurrency)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move {
                let mut took = Vec::new();
                while Instant::now() < deadline {
                    let t = Instant::now();
                    let one: i64 = match &db {
                        yichuang_store::Db::Sqlite(p) => {
                            sqlx::query_scalar("SELECT CAST(1 AS BIGINT)")
                                .fetch_one(p)
                                .await
                        }
                        yichuang_store::Db::Postgres(p) => {
                            sqlx::query_scalar("SELECT CAST(1 AS BIGINT)")
                                .fetch_one(p)
                                .await
                        }
                    }
                    .expect("SELECT 1");
                    assert_eq!(one, 1);
                    took.push(t.elapsed().as_micros() as u64);
                }
                took
            })
        })
        .collect();
    let mut took = Vec::new();
    for t in tasks {
        took.extend(t.await.unwrap());
    }
    let n = took.len();
    let (p50, p99) = percentiles(took);
    println!(
        "scenario=statement-trip backend={} concurrency={} statements={n} per_s={:.0} p50_us={:.0} p99_us={:.0}",
        args.backend,
        args.concurrency,
        n as f64 / args.seconds as f64,
        p50 * 1000.0,
        p99 * 1000.0,
    );
}

/// HTTP requests one step of a scenario makes (statements are reported per request and per step).
fn requests_per_step(scenario: &str) -> u64 {
    match scenario {
        "case-lifecycle" | "case-abandon" => 13,
        "call-finish" => 3,
        _ => 1,
    }
}

#[tokio::main]
async fn main() {
    // Count the SQL statements the server runs (sqlx's per-statement events; nothing is logged).
    {
        use tracing_subscriber::prelude::*;
        tracing_subscriber::registry()
            .with(yichuang_store::statements::Counter::layer())
            .init();
    }
    let args = parse_args();
    let url = database_url(&args.backend).await;
    let config = yichuang_server::Config {
        addr: "127.0.0.1:0".parse().unwrap(),
        database_url: url.clone(),
        admin_password: Some(ADMIN_PASSWORD.into()),
        dev_clock: args.scenario == "supervision",
        ..Default::default()
    };
    let running = yichuang_server::start(config).await.expect("server");
    let base = running.url();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()
        .unwrap();

    if args.scenario == "soak" {
        let token = login(&client, &base).await;
        let windows = seed_hall(&client, &base, &token).await;
        soak::run(&client, &base, &token, &windows, args.minutes, args.rate).await;
        running.stop().await;
        remove_sqlite_files(&url);
        return;
    }
    if args.scenario == "statement-trip" {
        statement_trip(&running.state.db, &args).await;
        running.stop().await;
        remove_sqlite_files(&url);
        return;
    }
    if args.scenario == "peak-day" {
        let token = login(&client, &base).await;
        peak_day::run(&client, &base, &token, 11_700, 238).await;
        running.stop().await;
        remove_sqlite_files(&url);
        return;
    }
    if args.scenario == "supervision" {
        let token = login(&client, &base).await;
        let sizes = supervision::Sizes {
            halls: args.halls,
            years: args.years,
            cases: args.cases,
        };
        supervision::run(&running, &client, &token, &sizes).await;
        running.stop().await;
        remove_sqlite_files(&url);
        return;
    }
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
        "case-lifecycle" | "case-abandon" => {
            cases::set_giving_up(args.scenario == "case-abandon");
            let t = cases::seed(&running, &client, &base).await;
            Arc::new(move |c: reqwest::Client, base: String, _i: u64| {
                let t = t.clone();
                Box::pin(async move { cases::lifecycle(&c, &base, &t).await })
            })
        }
        "case-accept" => {
            let t = cases::seed(&running, &client, &base).await;
            let t0 = Instant::now();
            let through_api = args.cases.min(cases::THROUGH_API);
            cases::insert_many(&client, &base, &t, through_api, args.concurrency).await;
            if args.cases > through_api {
                cases::replicate(&running.state.db, args.cases).await;
            }
            eprintln!(
                "inserted {} cases ({} through the API, the rest replicated in SQL) in {:.1}s",
                args.cases,
                through_api,
                t0.elapsed().as_secs_f64()
            );
            Arc::new(move |c: reqwest::Client, base: String, _i: u64| {
                let t = t.clone();
                Box::pin(async move { cases::accept(&c, &base, &t).await.is_some() })
            })
        }
        "rating-record" => {
            let tokens = Arc::new(ratings::tokens(&running.state.db, args.items).await);
            let workers = args.concurrency;
            Arc::new(move |c: reqwest::Client, base: String, i: u64| {
                let tokens = tokens.clone();
                Box::pin(async move { ratings::rate(&c, &base, &tokens, workers, i).await })
            })
        }
        "rating-report" => {
            let t0 = Instant::now();
            ratings::replicate(&running.state.db, args.ratings).await;
            eprintln!(
                "stored {} ratings in {:.1}s",
                args.ratings,
                t0.elapsed().as_secs_f64()
            );
            let token = login(&client, &base).await;
            let first: Value = client
                .get(format!("{base}/api/v1/ratings/stats?month=2026-11&by=hall"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let total = &first["rows"].as_array().unwrap().last().unwrap()["counts"];
            eprintln!(
                "the month's report counts {} ratings, {} rectifications",
                total["ratings"], total["rectifications"]
            );
            Arc::new(move |c: reqwest::Client, base: String, _i: u64| {
                let token = token.clone();
                Box::pin(async move {
                    c.get(format!("{base}/api/v1/ratings/stats?month=2026-11&by=hall"))
                        .bearer_auth(&token)
                        .send()
                        .await
                        .map(|r| r.status().is_success())
                        .unwrap_or(false)
                })
            })
        }
        "work-order-create" => {
            let token = login(&client, &base).await;
            Arc::new(move |c: reqwest::Client, base: String, i: u64| {
                let token = token.clone();
                Box::pin(async move { work_orders::create(&c, &base, &token, i).await.is_some() })
            })
        }
        "work-order-board" | "work-order-duplicates" => {
            let t0 = Instant::now();
            work_orders::replicate(&running.state.db, args.orders).await;
            eprintln!(
                "stored {} work orders in {:.1}s",
                args.orders,
                t0.elapsed().as_secs_f64()
            );
            let token = login(&client, &base).await;
            let path = if args.scenario == "work-order-board" {
                "/api/v1/work-orders?view=open".to_string()
            } else {
                let n = work_orders::create(&client, &base, &token, 7)
                    .await
                    .expect("an order to compare");
                format!("/api/v1/work-orders/{n}/duplicates")
            };
            let first: Value = client
                .get(format!("{base}{path}"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            eprintln!(
                "{path}: {} rows in the first answer",
                first
                    .as_object()
                    .and_then(|o| o.values().find_map(|v| v.as_array()))
                    .map_or(0, |a| a.len())
            );
            Arc::new(move |c: reqwest::Client, base: String, _i: u64| {
                let (token, path) = (token.clone(), path.clone());
                Box::pin(async move {
                    c.get(format!("{base}{path}"))
                        .bearer_auth(&token)
                        .send()
                        .await
                        .map(|r| r.status().is_success())
                        .unwrap_or(false)
                })
            })
        }
        "ticket-take" => {
            let token = login(&client, &base).await;
            seed_hall(&client, &base, &token).await;
            Arc::new(move |c: reqwest::Client, base: String, i: u64| {
                let token = token.clone();
                Box::pin(async move { take_ticket(&c, &base, &token, i).await })
            })
        }
        "call-finish" => {
            let token = login(&client, &base).await;
            let windows = Arc::new(seed_hall(&client, &base, &token).await);
            let t0 = Instant::now();
            let seeders: Vec<_> = (0..8u64)
                .map(|k| {
                    let (c, base, token, n) = (
                        client.clone(),
                        base.clone(),
                        token.clone(),
                        args.items as u64,
                    );
                    tokio::spawn(async move {
                        for i in (k..n).step_by(8) {
                            assert!(take_ticket(&c, &base, &token, i).await);
                        }
                    })
                })
                .collect();
            for s in seeders {
                s.await.unwrap();
            }
            eprintln!(
                "took {} tickets in {:.1}s",
                args.items,
                t0.elapsed().as_secs_f64()
            );
            Arc::new(move |c: reqwest::Client, base: String, i: u64| {
                let (token, w) = (token.clone(), windows[(i % WINDOWS as u64) as usize]);
                Box::pin(async move {
                    let t = Instant::now();
                    let r = post(
                        &c,
                        format!("{base}/api/v1/windows/{w}/call"),
                        &token,
                        json!({}),
                    )
                    .await;
                    CALL_MICROS
                        .lock()
                        .unwrap()
                        .push(t.elapsed().as_micros() as u64);
                    if r.status().as_u16() != 200 {
                        return false;
                    }
                    let v: Value = r.json().await.unwrap_or(Value::Null);
                    let Some(id) = v["ticket"]["id"].as_i64() else {
                        return false;
                    };
                    for act in ["start", "finish"] {
                        let r = post(
                            &c,
                            format!("{base}/api/v1/tickets/{id}/{act}"),
                            &token,
                            json!({}),
                        )
                        .await;
                        if !r.status().is_success() {
                            return false;
                        }
                    }
                    true
                })
            })
        }
        "board-clients" => {
            let token = login(&client, &base).await;
            board_clients(&client, &base, &token, args.concurrency, 50).await;
            running.stop().await;
            remove_sqlite_files(&url);
            return;
        }
        other => panic!(
            "unknown scenario {other} (health, item-get, ticket-take, call-finish, board-clients, case-lifecycle, case-abandon, case-accept, rating-record, rating-report, work-order-create, work-order-board, work-order-duplicates)"
        ),
    };

    let stop = Arc::new(AtomicBool::new(false));
    // `LOAD_STATEMENTS=N`: also print the N most frequent statements of the measured run.
    let top: usize = std::env::var("LOAD_STATEMENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    yichuang_store::statements::set_breakdown(top > 0);
    let statements_before = yichuang_store::statements::total();
    let turn_before = yichuang_store::db::turn_use();
    CALL_MICROS.lock().unwrap().clear();
    let trips_before = yichuang_store::statements::round_trips();
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
    let turn = turn_span(turn_before, yichuang_store::db::turn_use(), secs);
    let calls = percentiles(std::mem::take(&mut *CALL_MICROS.lock().unwrap()));
    let statements = yichuang_store::statements::total() - statements_before;
    let trips = yichuang_store::statements::round_trips() - trips_before;
    let n = all.len();
    let (p50, p99) = percentiles(all);
    // Statements per step and per HTTP request, over all steps begun (failed ones included) and
    // everything the process ran meanwhile (the background worker too).
    let steps = (n as u64 + failed).max(1);
    let per_step = statements as f64 / steps as f64;
    // Round trips: statements a SQLite transaction deferred go to the database together.
    let trips_per_request = trips as f64 / steps as f64 / requests_per_step(&args.scenario) as f64;
    println!(
        "scenario={} backend={} concurrency={} requests={} failed={} seconds={:.1} rps={:.0} p50_ms={:.2} p99_ms={:.2} statements_per_step={:.1} statements_per_request={:.1} round_trips_per_request={:.1}",
        args.scenario,
        args.backend,
        args.concurrency,
        n,
        failed,
        secs,
        n as f64 / secs,
        p50,
        p99,
        per_step,
        per_step / requests_per_step(&args.scenario) as f64,
        trips_per_request
    );
    if args.scenario == "call-finish" {
        println!("call_p50_ms={:.2} call_p99_ms={:.2}", calls.0, calls.1);
    }
    if let Some(turn) = turn {
        println!("{turn}");
    }
    if args.scenario == "case-abandon" {
        let dropped = yichuang_store::db::turn_use().dropped - turn_before.dropped;
        cases::audit(&running, &client, &base, dropped).await;
    }
    for t in yichuang_store::statements::breakdown()
        .into_iter()
        .take(top)
    {
        println!(
            "{:8.2}/step {:7.3} ms/step  {}",
            t.count as f64 / steps as f64,
            1000.0 * t.seconds / steps as f64,
            t.text
        );
    }
    running.stop().await;
    remove_sqlite_files(&url);
}

/// Each call's time in `--scenario call-finish` (the issue's target is a call's p99).
static CALL_MICROS: std::sync::Mutex<Vec<u64>> = std::sync::Mutex::new(Vec::new());

/// How busy the SQLite writer's turn was over `secs` (None when nothing took it: PostgreSQL).
/// A turn held all the time is what bounds the write rate: transactions wait for it in line.
fn turn_span(
    before: yichuang_store::db::TurnUse,
    after: yichuang_store::db::TurnUse,
    secs: f64,
) -> Option<String> {
    let members = after.members - before.members;
    let commits = after.commits - before.commits;
    if members == 0 {
        return None;
    }
    let held = after.member_seconds - before.member_seconds;
    let committing = after.commit_seconds - before.commit_seconds;
    let opening = after.opening_seconds - before.opening_seconds;
    let statements = after.statement_seconds - before.statement_seconds;
    let handoff = after.handoff_seconds - before.handoff_seconds;
    Some(format!(
        "writer_turn_busy={:.0}% handoff={:.0}% members_held_ms={:.3} (opening={:.3} statements={:.3} rest={:.3}) commits={commits} members_per_commit={:.1} commit_ms={:.3}",
        100.0 * (held + committing) / secs,
        100.0 * handoff / secs,
        1000.0 * held / members as f64,
        1000.0 * opening / members as f64,
        1000.0 * statements / members as f64,
        1000.0 * (held - opening - statements) / members as f64,
        members as f64 / commits.max(1) as f64,
        1000.0 * committing / commits.max(1) as f64,
    ))
}

/// A million-case SQLite file is gigabytes; the figures are printed, the file is not needed.
fn remove_sqlite_files(url: &str) {
    if let Some(path) = url
        .strip_prefix("sqlite://")
        .map(|p| p.split('?').next().unwrap_or(p))
    {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{path}{suffix}"));
        }
    }
}

#[path = "load/supervision.rs"]
mod supervision;

#[path = "load/soak.rs"]
mod soak;

/// The case scenarios: an item whose process reviews in two departments at once.
mod cases {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

    use serde_json::{Value, json};
    use yichuang_domain::case::ProcessDefinition;
    use yichuang_domain::catalogue::ServiceItem;

    #[derive(Clone)]
    pub struct Tokens {
        clerk: String,
        scj: String,
        gaj: String,
        issuer: String,
    }

    pub async fn seed(
        running: &yichuang_server::Running,
        client: &reqwest::Client,
        base: &str,
    ) -> Arc<Tokens> {
        let item: ServiceItem = serde_json::from_value(json!({
            "code": "LOADCASE", "name": "压测事项", "department": "scj", "kind": "committed",
            "statutory_limit_days": 20, "committed_limit_days": 5,
            "materials": [{"code": "A", "name": "申请书"}, {"code": "B", "name": "营业执照"}]
        }))
        .unwrap();
        let task = |id: &str, dept: &str, role: &str, action: &str| {
            json!({"id": id, "name": id, "type": "user_task", "department": dept, "role": role,
                   "budget_days": 2, "action": action})
        };
        let process: ProcessDefinition = serde_json::from_value(json!({
            "code": "LOADCASE", "name": "并联审查", "version": 1,
            "nodes": [
                {"id": "start", "type": "start"}, {"id": "split", "type": "parallel_gateway"},
                task("review_scj", "scj", "approver", "review"),
                task("review_gaj", "gaj", "approver", "review"),
                {"id": "join", "type": "parallel_gateway"},
                task("decide", "scj", "approver", "decide"),
                {"id": "issue", "name": "出件", "type": "user_task", "role": "issuance", "budget_days": 10, "action": "issue"},
                {"id": "end", "type": "end"}],
            "flows": [
                {"from": "start", "to": "split"}, {"from": "split", "to": "review_scj"},
                {"from": "split", "to": "review_gaj"}, {"from": "review_scj", "to": "join"},
                {"from": "review_gaj", "to": "join"}, {"from": "join", "to": "decide"},
                {"from": "decide", "to": "issue"}, {"from": "issue", "to": "end"}]
        }))
        .unwrap();
        process.validate(&[]).expect("the load process is valid");
        let st = &running.state;
        let admin = super::login(client, base).await;
        for (path, body) in [
            (
                "/api/v1/departments",
                json!({"code": "scj", "name": "市场监督管理局"}),
            ),
            (
                "/api/v1/departments",
                json!({"code": "gaj", "name": "公安局"}),
            ),
            ("/api/v1/items", serde_json::to_value(&item).unwrap()),
            // Accounts name a hall that exists.
            (
                "/api/v1/halls",
                json!({"code": "H1", "name": "压测政务大厅"}),
            ),
        ] {
            let r = client
                .post(format!("{base}{path}"))
                .bearer_auth(&admin)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "{path}: {}", r.status());
        }
        let mut tx = st.db.begin().await.unwrap();
        yichuang_store::cases::definitions::save_process(&mut tx, &process, st.now())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let token = |u: &'static str, scope: Value| {
            let (client, base, admin) = (client.clone(), base.to_string(), admin.clone());
            async move {
                let mut body = json!({"username": u, "display_name": u, "password": "load2026pw"});
                body.as_object_mut()
                    .unwrap()
                    .extend(scope.as_object().unwrap().clone());
                let r = client
                    .post(format!("{base}/api/v1/accounts"))
                    .bearer_auth(&admin)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().is_success(), "account {u}: {}", r.status());
                let v: Value = client
                    .post(format!("{base}/api/v1/auth/login"))
                    .json(&json!({"username": u, "password": "load2026pw"}))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                v["token"].as_str().unwrap().to_string()
            }
        };
        Arc::new(Tokens {
            clerk: token("clerk", json!({"role": "clerk", "hall": "H1"})).await,
            scj: token("scj", json!({"role": "approver", "department": "scj"})).await,
            gaj: token("gaj", json!({"role": "approver", "department": "gaj"})).await,
            issuer: token("issuer", json!({"role": "issuance", "hall": "H1"})).await,
        })
    }

    /// The two fields of a case answer the lifecycle looks at. Decoding only these skips the
    /// rest (the timeline grows with every step) without building it: the client shares the
    /// server's two cores, and a whole `Value` per answer took 5 % of the run's CPU samples.
    #[derive(serde::Deserialize)]
    struct Answer {
        number: Option<String>,
        status: Option<String>,
    }

    /// `--scenario case-abandon`: every request is first sent and given up half the time.
    static GIVING_UP: AtomicBool = AtomicBool::new(false);
    /// Requests given up, and the moments drawn for them.
    static GIVEN_UP: AtomicU64 = AtomicU64::new(0);
    static MOMENTS: AtomicU64 = AtomicU64::new(0x9E37_79B9_7F4A_7C15);

    pub fn set_giving_up(on: bool) {
        GIVING_UP.store(on, Ordering::Relaxed);
    }

    /// splitmix64 over a shared counter: a moment for each request, the same each run.
    fn moment() -> u64 {
        let mut z = MOMENTS.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    async fn post(
        c: &reqwest::Client,
        base: &str,
        token: &str,
        path: &str,
        body: Value,
    ) -> Option<Answer> {
        let giving_up = GIVING_UP.load(Ordering::Relaxed);
        // A receipt carries its key, the same in its retry: one case however often it is sent.
        let key = (giving_up && path == "/api/v1/cases")
            .then(|| format!("load-receipt-{:016x}", moment()));
        let send = || {
            let r = c
                .post(format!("{base}{path}"))
                .bearer_auth(token)
                .json(&body);
            match &key {
                Some(k) => r.header("idempotency-key", k),
                None => r,
            }
        };
        // Given up after 0–4 ms, as a client gone would: the server drops the request's work
        // wherever it stands. The same request then follows, as a client that retries sends it.
        let gave_up = giving_up && moment().is_multiple_of(2);
        if gave_up {
            let wait = std::time::Duration::from_micros(moment() % 4000);
            if send().timeout(wait).send().await.is_err() {
                GIVEN_UP.fetch_add(1, Ordering::Relaxed);
            }
        }
        let r = send().send().await.ok()?;
        if gave_up && r.status() == reqwest::StatusCode::CONFLICT {
            // The request given up did it: the case as it is now.
            let case = path.split('/').take(5).collect::<Vec<_>>().join("/");
            let r = c
                .get(format!("{base}{case}"))
                .bearer_auth(token)
                .send()
                .await
                .ok()?;
            return r.json().await.ok();
        }
        if !r.status().is_success() {
            // `LOAD_FAILURES=1`: say why a step failed.
            if std::env::var_os("LOAD_FAILURES").is_some() {
                let status = r.status();
                eprintln!("{path}: {status} {}", r.text().await.unwrap_or_default());
            }
            return None;
        }
        r.json().await.ok()
    }

    /// `POST /api/v1/cases` with every material: the case number.
    pub async fn accept(c: &reqwest::Client, base: &str, t: &Tokens) -> Option<String> {
        let v = post(c, base, &t.clerk, "/api/v1/cases", json!({"item": "LOADCASE", "materials": ["A", "B"],
            "applicant": {"kind": "person", "name": "张三", "id_number": "11010519491231002X", "phone": "13812345678"}})).await?;
        v.number
    }

    pub async fn lifecycle(c: &reqwest::Client, base: &str, t: &Tokens) -> bool {
        let run = async {
            let n = accept(c, base, t).await?;
            let p = |s: &str| format!("/api/v1/cases/{n}{s}");
            post(c, base, &t.clerk, &p("/route"), json!({})).await?;
            post(c, base, &t.scj, &p("/confirm"), json!({})).await?;
            let (a, b) = tokio::join!(
                async {
                    post(c, base, &t.scj, &p("/steps/review_scj/claim"), json!({})).await?;
                    post(
                        c,
                        base,
                        &t.scj,
                        &p("/steps/review_scj/approve"),
                        json!({"opinion": "同意"}),
                    )
                    .await
                },
                async {
                    post(c, base, &t.gaj, &p("/steps/review_gaj/claim"), json!({})).await?;
                    post(
                        c,
                        base,
                        &t.gaj,
                        &p("/steps/review_gaj/approve"),
                        json!({"opinion": "同意"}),
                    )
                    .await
                }
            );
            a?;
            b?;
            post(c, base, &t.scj, &p("/steps/decide/claim"), json!({})).await?;
            post(
                c,
                base,
                &t.scj,
                &p("/steps/decide/decide"),
                json!({"outcome": "approved", "document_number": "压测1号"}),
            )
            .await?;
            post(c, base, &t.issuer, &p("/steps/issue/claim"), json!({})).await?;
            let v = post(
                c,
                base,
                &t.issuer,
                &p("/steps/issue/issue"),
                json!({"method": "mail", "address": "云岭市青云大道1号", "carrier": "EMS", "tracking_number": "1"}),
            )
            .await?;
            (v.status.as_deref() == Some("issued")).then_some(())
        };
        run.await.is_some()
    }

    /// After `--scenario case-abandon`: every case in the database, those a receipt given up
    /// left behind among them, checked against its history (`cases::audit`).
    pub async fn audit(
        running: &yichuang_server::Running,
        client: &reqwest::Client,
        base: &str,
        dropped_in_turn: u64,
    ) {
        // The requests given up may still be running: their server side ends within moments.
        let _ = client.get(format!("{base}/api/v1/health")).send().await;
        #[derive(sqlx::FromRow, serde::Deserialize)]
        struct Number {
            number: String,
        }
        let st = &running.state;
        let all: Vec<Number> = st
            .db
            .read("SELECT number FROM cases ORDER BY id", vec![])
            .await
            .expect("case numbers");
        let mut found = Vec::new();
        for c in &all {
            found.extend(
                yichuang_server::cases::audit::disagreements(st, &c.number)
                    .await
                    .expect("a case read whole"),
            );
        }
        // On SQLite, how many of those given up were dropped while they held the writer's turn
        // (in a shared transaction, after running statements); 0 on PostgreSQL, where
        // `pg_stat_database.xact_rollback` counts them instead.
        println!(
            "given_up={} dropped_in_turn={dropped_in_turn} cases={} disagreements={}",
            GIVEN_UP.load(Ordering::Relaxed),
            all.len(),
            found.len()
        );
        for f in found.iter().take(10) {
            println!("  {f}");
        }
    }

    /// Above this many cases the rest are replicated in SQL: a million through the API would
    /// take most of an hour and measure the seeding, not the acceptance.
    pub const THROUGH_API: usize = 2_000;

    /// Grows the database to `total` cases by copying the newest API-made case (its case row,
    /// case events, open steps, event-log rows and timers) under new numbers, each with its own
    /// applicant, so every table and index the acceptance path touches has the size it would
    /// have after `total` real acceptances.
    pub async fn replicate(db: &yichuang_store::Db, total: usize) {
        const BATCH: i64 = 50_000;
        let series = "WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < $1)";
        let statements = [
            format!(
                "{series} INSERT INTO applicants (kind, id_number, name, phone, id_masked, phone_masked, created_at, updated_at) \
                 SELECT a.kind, 'BULK' || ($2 + g), a.name, a.phone, a.id_masked, a.phone_masked, a.created_at, a.updated_at \
                 FROM s, applicants a WHERE a.id = (SELECT applicant_id FROM cases WHERE id = $3)"
            ),
            format!(
                "{series} INSERT INTO cases (number, item, item_version, department, hall, applicant_id, status, \
                 process_code, process_version, parent, received_at, accepted_on, due_date, events, created_at, updated_at) \
                 SELECT 'BK' || ($2 + g), c.item, c.item_version, c.department, c.hall, \
                 (SELECT id FROM applicants WHERE kind = 'person' AND id_number = 'BULK' || ($2 + g)), \
                 c.status, c.process_code, c.process_version, c.parent, c.received_at, c.accepted_on, c.due_date, \
                 c.events, c.created_at, c.updated_at FROM s, cases c WHERE c.id = $3"
            ),
            "INSERT INTO case_events (case_id, seq, at, actor, department, kind, body) \
             SELECT c.id, e.seq, e.at, e.actor, e.department, e.kind, e.body \
             FROM cases c, case_events e WHERE e.case_id = $1 AND c.id > $2"
                .to_string(),
            "INSERT INTO case_steps (case_id, node, name, department, role, since, due, claimed_by) \
             SELECT c.id, e.node, e.name, e.department, e.role, e.since, e.due, e.claimed_by \
             FROM cases c, case_steps e WHERE e.case_id = $1 AND c.id > $2"
                .to_string(),
            "INSERT INTO events (at, actor, kind, subject_type, subject_id, payload) \
             SELECT e.at, e.actor, e.kind, e.subject_type, c.number, e.payload FROM cases c, events e \
             WHERE e.subject_type = 'case' AND e.subject_id = (SELECT number FROM cases WHERE id = $1) AND c.id > $2"
                .to_string(),
            "INSERT INTO timers (kind, subject, due_at, payload, created_at) \
             SELECT t.kind, c.number, t.due_at, t.payload, t.created_at FROM cases c, timers t \
             WHERE t.subject = (SELECT number FROM cases WHERE id = $1) AND c.id > $2"
                .to_string(),
        ];
        let count = "SELECT COUNT(*) FROM cases";
        let max_id = "SELECT MAX(id) FROM cases";
        // SQLite: `BEGIN IMMEDIATE`, so the batch waits for the server's writer (its background
        // worker writes meanwhile) instead of failing when its first write finds the snapshot
        // it read stale.
        macro_rules! run {
            ($pool:expr, $begin:expr) => {{
                let pool = $pool;
                let template: i64 = sqlx::query_scalar(max_id).fetch_one(pool).await.unwrap();
                let mut have: i64 = sqlx::query_scalar(count).fetch_one(pool).await.unwrap();
                let t0 = std::time::Instant::now();
                while have < total as i64 {
                    let n = BATCH.min(total as i64 - have);
                    let mut tx = pool.begin_with($begin).await.unwrap();
                    let last: i64 = sqlx::query_scalar(max_id)
                        .fetch_one(&mut *tx)
                        .await
                        .unwrap();
                    for (i, sql) in statements.iter().enumerate() {
                        // The first two statements generate rows ($1 how many, $2 offset, $3
                        // the template case); the rest copy the template's rows ($1) onto every
                        // case made after $2.
                        let q = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
                        let q = if i < 2 {
                            q.bind(n).bind(have).bind(template)
                        } else {
                            q.bind(template).bind(last)
                        };
                        q.execute(&mut *tx)
                            .await
                            .unwrap_or_else(|e| panic!("{e}: {sql}"));
                    }
                    tx.commit().await.unwrap();
                    have += n;
                    eprintln!("  {have} cases ({:.0}s)", t0.elapsed().as_secs_f64());
                }
                for table in [
                    "applicants",
                    "case_events",
                    "case_steps",
                    "events",
                    "timers",
                ] {
                    let sql = format!("SELECT COUNT(*) FROM {table}");
                    let rows: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                        .fetch_one(pool)
                        .await
                        .unwrap();
                    eprintln!("  {table}: {rows} rows");
                }
            }};
        }
        match db {
            yichuang_store::Db::Sqlite(p) => {
                run!(p, "BEGIN IMMEDIATE");
                // A bulk load leaves gigabytes in the write-ahead log that a hall's steady
                // trickle of writes never would (auto-checkpoints keep it near 4 MB); reads
                // would search it. Fold it into the database first.
                sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                    .execute(p)
                    .await
                    .unwrap();
            }
            yichuang_store::Db::Postgres(p) => {
                run!(p, "BEGIN");
                sqlx::query("ANALYZE").execute(p).await.unwrap();
            }
        }
    }

    /// Inserts `n` accepted cases with `concurrency` clients.
    pub async fn insert_many(
        c: &reqwest::Client,
        base: &str,
        t: &Arc<Tokens>,
        n: usize,
        concurrency: usize,
    ) {
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..concurrency {
            let (c, base, t, next) = (c.clone(), base.to_string(), t.clone(), next.clone());
            tasks.push(tokio::spawn(async move {
                while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < n {
                    accept(&c, &base, &t).await.expect("insert a case");
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
    }
}

/// 好差评 at volume: tokens made in SQL (as finished visits would leave them), ratings replicated
/// in SQL for the report.
mod ratings {
    use serde_json::json;

    const SERIES: &str =
        "WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < $1)";

    macro_rules! on_pool {
        ($db:expr, |$p:ident| $body:expr) => {
            match $db {
                yichuang_store::Db::Sqlite($p) => $body,
                yichuang_store::Db::Postgres($p) => $body,
            }
        };
    }

    /// `n` ready, unspent visit tokens of window 1 in hall LOAD, returned in order.
    pub async fn tokens(db: &yichuang_store::Db, n: usize) -> Vec<String> {
        let now = chrono::Utc::now().timestamp_micros();
        let far = now + 30 * 86_400_000_000;
        let sql = format!(
            "{SERIES} INSERT INTO rating_tokens (token, subject_type, subject_id, stage, label, hall, window_id, staff, \
             created_at, ready_at, expires_at) SELECT 'load' || g, 'visit', CAST(g AS TEXT), 'conclusion', \
             'A' || g || ' 号 · 1号窗口', 'LOAD', 1, 'loadclerk', $2, $2, $3 FROM s"
        );
        on_pool!(db, |p| {
            sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .bind(n as i64)
                .bind(now)
                .bind(far)
                .execute(p)
                .await
                .unwrap();
        });
        (1..=n).map(|g| format!("load{g}")).collect()
    }

    /// Rates with the `i`th request's token. Worker `w` sends `i = w, w + 1000, …`; each worker
    /// walks its own share of the tokens, so every token is used once (a share used up counts
    /// as failures: give more `--items`).
    pub async fn rate(
        c: &reqwest::Client,
        base: &str,
        tokens: &[String],
        workers: usize,
        i: u64,
    ) -> bool {
        let (worker, nth) = ((i % 1000) as usize, (i / 1000) as usize);
        let share = tokens.len() / workers.max(1);
        if nth >= share {
            return false;
        }
        let Some(t) = tokens.get(worker * share + nth) else {
            return false;
        };
        let level = 5 - (i % 5) as i64;
        c.post(format!("{base}/api/v1/ratings"))
            .json(&json!({"token": t, "level": level, "channel": "pad", "comment": "压测评价"}))
            .send()
            .await
            .map(|r| r.status().as_u16() == 201)
            .unwrap_or(false)
    }

    /// `total` ratings of November 2026 in halls H0…H9 and departments D0…D19, one in ten a
    /// default, levels spread 5…1; one rectification per 差评.
    pub async fn replicate(db: &yichuang_store::Db, total: usize) {
        const BATCH: i64 = 100_000;
        // 2026-11-01T00:00+08:00 in UTC microseconds; a rating every ~2.5 s of the month.
        let start: i64 = 1_793_462_400_000_000;
        let ratings = format!(
            "{SERIES} INSERT INTO ratings (subject_type, subject_id, stage, level, channel, source, bad, named, \
             hall, department, item, window_id, staff, rated_at, month) \
             SELECT 'case', 'R' || ($2 + g), 'conclusion', 5 - (($2 + g) % 5), \
             CASE WHEN ($2 + g) % 10 = 0 THEN 'default' ELSE 'phone' END, \
             CASE WHEN ($2 + g) % 10 = 0 THEN 'default' ELSE 'person' END, \
             CASE WHEN ($2 + g) % 5 >= 3 AND ($2 + g) % 10 <> 0 THEN 1 ELSE 0 END, 1, \
             'H' || (($2 + g) % 10), 'D' || (($2 + g) % 20), 'I' || (($2 + g) % 100), ($2 + g) % 50, 'u' || (($2 + g) % 200), \
             $3 + ($2 + g) * 2500000, '2026-11' FROM s"
        );
        let rects = "INSERT INTO rectifications (source, rating_id, subject_type, subject_id, label, hall, department, \
             item, problem, status, outcome, opened_at, opened_on, deadline, closed_on, month, updated_at) \
             SELECT 'bad_rating', r.id, 'case', r.subject_id, '压测', r.hall, r.department, r.item, '差评', 'closed', \
             'fixed_by_deadline', r.rated_at, '2026-11-10', '2026-11-17', '2026-11-12', '2026-11', r.rated_at \
             FROM ratings r WHERE r.bad = 1 AND r.id > $1";
        on_pool!(db, |p| {
            let mut have = 0i64;
            while have < total as i64 {
                let n = BATCH.min(total as i64 - have);
                let mut tx = p.begin().await.unwrap();
                let last: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM ratings")
                    .fetch_one(&mut *tx)
                    .await
                    .unwrap();
                sqlx::query(sqlx::AssertSqlSafe(ratings.clone()))
                    .bind(n)
                    .bind(have)
                    .bind(start)
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                sqlx::query(rects)
                    .bind(last)
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
                have += n;
            }
        });
    }
}

mod work_orders {
    use serde_json::{Value, json};
    use yichuang_domain::work_order::{Action, WorkOrder, WorkOrderSettings};

    const TEXTS: [&str; 6] = [
        "小区门口路灯坏了，晚上很黑，老人出门不安全",
        "办理营业执照要求提供房屋用途证明，不知道去哪里开",
        "窗口工作人员态度不好，问了两遍就不耐烦",
        "社保转移接续办了一个多月还没有结果",
        "公积金提取要跑三个窗口，能不能一次办好",
        "不动产登记预约号太难约，每天一开放就没了",
    ];

    /// Records one 办不成事 order; returns its number.
    pub async fn create(c: &reqwest::Client, base: &str, token: &str, i: u64) -> Option<String> {
        let r = c
            .post(format!("{base}/api/v1/work-orders"))
            .bearer_auth(token)
            .json(&json!({
                "source": "unresolved_window", "category": "02",
                "requester_phone": format!("138{:08}", i % 100_000_000),
                "place": format!("人民路{}号", i % 500),
                "text": format!("{}（{}）", TEXTS[(i % 6) as usize], i),
            }))
            .send()
            .await
            .ok()?;
        if r.status().as_u16() != 201 {
            return None;
        }
        let v: Value = r.json().await.ok()?;
        v["number"].as_str().map(String::from)
    }

    macro_rules! on_pool {
        ($db:expr, |$p:ident| $body:expr) => {
            match $db {
                yichuang_store::Db::Sqlite($p) => $body,
                yichuang_store::Db::Postgres($p) => $body,
            }
        };
    }

    /// `total` orders received over the 90 days before today: three in ten still with a unit
    /// (with a due date), the rest solved; four categories, twenty units, phones and places
    /// repeating so the duplicate search has company. Each row's state is a real domain state
    /// for its day (the `@DAY@` of a template replaced in SQL).
    pub async fn replicate(db: &yichuang_store::Db, total: usize) {
        const BATCH: i64 = 50_000;
        let today = chrono::Local::now().date_naive();
        let s = WorkOrderSettings::default();
        let day0 = chrono::NaiveDate::from_ymd_opt(2000, 1, 3).unwrap();
        let never = |_: &str| true;
        let cal = yichuang_domain::calendar::Calendar::new(Vec::new());
        let open = WorkOrder::receive(day0)
            .apply(
                &Action::Classify {
                    category: "02".into(),
                    tier: "general".into(),
                    lead_unit: Some("D1".into()),
                    assisting_units: vec![],
                },
                day0,
                &s,
                &cal,
                &never,
            )
            .unwrap();
        let solved = WorkOrder {
            status: yichuang_domain::work_order::Status::Solved,
            closed_on: Some(day0),
            ..open.clone()
        };
        let template = |o: &WorkOrder| {
            serde_json::to_string(o)
                .unwrap()
                .replace("2000-01-03", "@DAY@")
        };
        let days: Vec<String> = (0..90)
            .map(|k| {
                let d = today - chrono::Days::new(k);
                format!("({k}, '{d}', '{}')", d + chrono::Days::new(7))
            })
            .collect();
        let sql = format!(
            "WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < $1), \
             days(k, d, due) AS (VALUES {}) \
             INSERT INTO work_orders (number, token, hall, source, status, category, lead_unit, \
             requester_name, requester_phone, place, body, received_on, due_on, created_by, \
             created_at, updated_at, closed_at, state) \
             SELECT 'LD' || ($2 + g), 'tk' || ($2 + g), 'YL', 'hotline', \
             CASE WHEN ($2 + g) % 10 < 3 THEN 'dispatched' ELSE 'solved' END, \
             '0' || (1 + ($2 + g) % 4), 'D' || (($2 + g) % 20), '', \
             '1380000' || (($2 + g) % 5000), '人民路' || (($2 + g) % 500) || '号', \
             CASE ($2 + g) % 6 WHEN 0 THEN $3 WHEN 1 THEN $4 WHEN 2 THEN $5 WHEN 3 THEN $6 WHEN 4 THEN $7 ELSE $8 END || (($2 + g) % 997), \
             days.d, CASE WHEN ($2 + g) % 10 < 3 THEN days.due END, 'hotline:load', $9, $9, \
             CASE WHEN ($2 + g) % 10 < 3 THEN NULL ELSE $9 END, \
             REPLACE(CASE WHEN ($2 + g) % 10 < 3 THEN $10 ELSE $11 END, '@DAY@', days.d) \
             FROM s JOIN days ON days.k = ($2 + g) % 90",
            days.join(", ")
        );
        let now = chrono::Utc::now().timestamp_micros();
        let (t_open, t_solved) = (template(&open), template(&solved));
        on_pool!(db, |p| {
            let mut have = 0i64;
            while have < total as i64 {
                let n = BATCH.min(total as i64 - have);
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                    .bind(n)
                    .bind(have);
                for t in TEXTS {
                    q = q.bind(t);
                }
                q.bind(now)
                    .bind(t_open.clone())
                    .bind(t_solved.clone())
                    .execute(p)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                have += n;
            }
            if matches!(db, yichuang_store::Db::Sqlite(_)) {
                let _ = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                    .execute(p)
                    .await;
            }
        });
    }
}

/// `--scenario peak-day`: 耒阳's reported busiest day replayed through the HTTP API as fast as
/// it goes — 11,700 visitors over 238 windows (issue 9 item 6). Eight kiosks take the tickets
/// while every window calls, starts and finishes at once; prints the wall time.
///
/// A window that finds nobody waits until the hall's feed shows someone waiting, as a clerk's
/// workstation shows it (`queue_changed`), or at most a second: the tool follows the feed once,
/// like one more display board, and wakes one idle window per change that leaves somebody
/// waiting. Windows re-calling on a timer instead made the load themselves: 238 windows polling
/// every 80 ms are about 3,000 empty calls a second.
mod peak_day {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    use serde_json::{Value, json};

    use super::post;

    const HALL: &str = "PEAKDAY";
    const QUEUES: [(&str, &str); 4] = [("a", "A"), ("b", "B"), ("c", "C"), ("d", "D")];

    pub async fn run(
        c: &reqwest::Client,
        base: &str,
        token: &str,
        visitors: usize,
        windows: usize,
    ) {
        let t0 = Instant::now();
        let r = post(
            c,
            format!("{base}/api/v1/halls"),
            token,
            json!({"code": HALL, "name": "峰值日大厅"}),
        )
        .await;
        assert!(r.status().is_success(), "hall: {}", r.status());
        for (code, prefix) in QUEUES {
            let r = post(
                c,
                format!("{base}/api/v1/halls/{HALL}/queues"),
                token,
                json!({"code": code, "name": format!("队列{prefix}"), "prefix": prefix}),
            )
            .await;
            assert!(r.status().is_success(), "queue: {}", r.status());
        }
        let mut ids = Vec::new();
        for w in 0..windows {
            let r = post(c, format!("{base}/api/v1/halls/{HALL}/windows"), token,
                json!({"code": format!("P{w:03}"), "name": format!("{w}号窗口"), "kind": "comprehensive",
                       "queues": ["a", "b", "c", "d"]})).await;
            let v: Value = r.json().await.unwrap();
            ids.push(v["id"].as_i64().expect("window id"));
        }
        eprintln!(
            "set up {windows} windows in {:.1}s",
            t0.elapsed().as_secs_f64()
        );

        let taken = Arc::new(AtomicUsize::new(0));
        let finished = Arc::new(AtomicUsize::new(0));
        let failed = Arc::new(AtomicUsize::new(0));
        let empty = Arc::new(AtomicUsize::new(0));
        // What idle windows learn from the hall's feed: somebody is waiting.
        let told = Arc::new(tokio::sync::Notify::new());
        let mut feed = c
            .get(format!("{base}/api/v1/halls/{HALL}/events"))
            .send()
            .await
            .expect("the hall's feed");
        let follower = {
            let told = told.clone();
            tokio::spawn(async move {
                let mut buf = String::new();
                while let Ok(Some(chunk)) = feed.chunk().await {
                    buf.push_str(&String::from_utf8_lossy(&chunk));
                    while let Some(end) = buf.find("\n\n") {
                        let block: String = buf.drain(..end + 2).collect();
                        let waiting = block
                            .split("\"waiting\":")
                            .nth(1)
                            .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
                            .and_then(|n| n.parse::<u64>().ok());
                        if block.contains("event: queue_changed") && waiting.unwrap_or(0) > 0 {
                            told.notify_one();
                        }
                    }
                }
            })
        };
        let start = Instant::now();
        let turn_before = yichuang_store::db::turn_use();
        let kiosks: Vec<_> = (0..8usize)
            .map(|k| {
                let (c, base, token, taken, failed) = (
                    c.clone(),
                    base.to_string(),
                    token.to_string(),
                    taken.clone(),
                    failed.clone(),
                );
                tokio::spawn(async move {
                    for i in (k..visitors).step_by(8) {
                        let q = QUEUES[i % QUEUES.len()].0;
                        let r = post(
                            &c,
                            format!("{base}/api/v1/halls/{HALL}/tickets"),
                            &token,
                            json!({"queue": q}),
                        )
                        .await;
                        if r.status().as_u16() == 201 {
                            taken.fetch_add(1, Ordering::Relaxed);
                        } else {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        let desks: Vec<_> = ids
            .into_iter()
            .map(|w| {
                let (c, base, token, finished, failed, told, empty) = (
                    c.clone(),
                    base.to_string(),
                    token.to_string(),
                    finished.clone(),
                    failed.clone(),
                    told.clone(),
                    empty.clone(),
                );
                tokio::spawn(async move {
                    let mut calls = Vec::new();
                    while finished.load(Ordering::Relaxed) + failed.load(Ordering::Relaxed)
                        < visitors
                    {
                        let t = Instant::now();
                        let r = post(
                            &c,
                            format!("{base}/api/v1/windows/{w}/call"),
                            &token,
                            json!({}),
                        )
                        .await;
                        match r.status().as_u16() {
                            200 => {}
                            // Nobody waiting: wait to be told of a ticket, or a second.
                            204 => {
                                empty.fetch_add(1, Ordering::Relaxed);
                                let _ =
                                    tokio::time::timeout(Duration::from_secs(1), told.notified())
                                        .await;
                                continue;
                            }
                            _ => {
                                failed.fetch_add(1, Ordering::Relaxed);
                                continue;
                            }
                        }
                        calls.push(t.elapsed().as_micros() as u64);
                        let v: Value = r.json().await.unwrap_or(Value::Null);
                        let Some(id) = v["ticket"]["id"].as_i64() else {
                            failed.fetch_add(1, Ordering::Relaxed);
                            continue;
                        };
                        let mut ok = true;
                        for act in ["start", "finish"] {
                            let r = post(
                                &c,
                                format!("{base}/api/v1/tickets/{id}/{act}"),
                                &token,
                                json!({}),
                            )
                            .await;
                            ok &= r.status().is_success();
                        }
                        if ok {
                            finished.fetch_add(1, Ordering::Relaxed);
                        } else {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                        if finished.load(Ordering::Relaxed) + failed.load(Ordering::Relaxed)
                            >= visitors
                        {
                            // The day is done: idle windows need not wait for their second.
                            told.notify_waiters();
                        }
                    }
                    calls
                })
            })
            .collect();
        for k in kiosks {
            k.await.unwrap();
        }
        let took_tickets = start.elapsed().as_secs_f64();
        let mut calls = Vec::new();
        for d in desks {
            calls.extend(d.await.unwrap());
        }
        let wall = start.elapsed().as_secs_f64();
        follower.abort();
        let (p50, p99) = super::percentiles(calls);
        println!(
            "scenario=peak-day visitors={visitors} windows={windows} taken={} finished={} failed={} empty_calls={} tickets_done_s={took_tickets:.1} wall_s={wall:.1} requests_per_s={:.0} call_p50_ms={p50:.2} call_p99_ms={p99:.2}",
            taken.load(Ordering::Relaxed),
            finished.load(Ordering::Relaxed),
            failed.load(Ordering::Relaxed),
            empty.load(Ordering::Relaxed),
            (visitors * 4) as f64 / wall,
        );
        if let Some(turn) = super::turn_span(turn_before, yichuang_store::db::turn_use(), wall) {
            println!("{turn}");
        }
    }
}
