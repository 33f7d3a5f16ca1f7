//! `--scenario supervision`: a generated province (1 province, 10 cities, `--halls` county halls
//! under them, `--years` of rollup, `--cases` case rows of which 1 % still running), then the
//! director's pages timed one request after another: the dashboard, the monthly report (JSON
//! and .xlsx) as a province supervisor, and the hourly rollup of one day. Beside them, in the
//! same run, a full count of the cases table: what any figure computed from the cases
//! themselves would cost at least.
//!
//! The rollup's rows are generated directly (they are derived data; generating ten million cases
//! through the API would take days on this machine): the hall day totals and month sums for the
//! whole period, the detailed daily rows for the current month. Ratings and ticket history are
//! not generated: the pages read them only through the rollup.

use std::time::Instant;

use serde_json::json;
use yichuang_store::{Backend, Db};

pub struct Sizes {
    pub halls: usize,
    pub years: usize,
    pub cases: usize,
}

const TODAY: &str = "2026-12-04";
const ITEMS: usize = 20;
const WINDOWS: usize = 10;
const CASE_METRICS: [&str; 8] = [
    "received",
    "accepted",
    "refused",
    "one_time_notices",
    "decided",
    "decided_on_time",
    "decided_early",
    "days_saved",
];
const HALL_METRICS: [&str; 14] = [
    "tickets",
    "served",
    "no_shows",
    "wait_seconds",
    "wait_count",
    "wait_le_10",
    "wait_le_20",
    "wait_le_30",
    "received",
    "accepted",
    "decided",
    "decided_on_time",
    "ratings",
    "satisfied",
];

async fn exec(db: &Db, sql: &str) {
    let r = match db {
        Db::Sqlite(p) => sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
            .execute(p)
            .await
            .map(|r| r.rows_affected()),
        Db::Postgres(p) => sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
            .execute(p)
            .await
            .map(|r| r.rows_affected()),
    };
    if let Err(e) = r {
        panic!("{e}: {}", &sql[..sql.len().min(300)]);
    }
}

/// `VALUES` rows of a list of text.
fn values(v: &[&str]) -> String {
    v.iter()
        .enumerate()
        .map(|(i, m)| format!("({i}, '{m}')"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A sequence 0..n as a table `seq(i)` for either backend.
fn seq(db: &Db, name: &str, n: usize) -> String {
    match db.backend() {
        Backend::Sqlite => format!(
            "{name}(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM {name} WHERE i < {})",
            n - 1
        ),
        Backend::Postgres => {
            format!("{name}(i) AS (SELECT generate_series(0, {}) AS i)", n - 1)
        }
    }
}

fn with(db: &Db) -> &'static str {
    match db.backend() {
        Backend::Sqlite => "WITH RECURSIVE",
        Backend::Postgres => "WITH",
    }
}

/// The day `i` days before today, and its month, as SQL text expressions.
fn day_expr(db: &Db, i: &str) -> (String, String) {
    match db.backend() {
        Backend::Sqlite => (
            format!("date('{TODAY}', '-' || {i} || ' days')"),
            format!("strftime('%Y-%m', date('{TODAY}', '-' || {i} || ' days'))"),
        ),
        Backend::Postgres => (
            format!("to_char(DATE '{TODAY}' - {i}, 'YYYY-MM-DD')"),
            format!("to_char(DATE '{TODAY}' - {i}, 'YYYY-MM')"),
        ),
    }
}

pub async fn seed(db: &Db, s: &Sizes) {
    let t0 = Instant::now();
    let now = 1_764_800_000_000_000i64;
    // Regions and halls: 88 province, 10 cities, the halls spread over their counties.
    let mut rows = vec![format!(
        "('880000', '示范省', NULL, 'province', {now}, {now})"
    )];
    for c in 1..=10 {
        rows.push(format!(
            "('88{c:02}00', '第{c}市', '880000', 'city', {now}, {now})"
        ));
    }
    for h in 0..s.halls {
        let (c, k) = (h % 10 + 1, h / 10 + 1);
        rows.push(format!(
            "('88{c:02}{k:02}', '第{c}市第{k}县', '88{c:02}00', 'county', {now}, {now})"
        ));
    }
    exec(
        db,
        &format!(
            "INSERT INTO regions (code, name, parent, level, created_at, updated_at) VALUES {}",
            rows.join(", ")
        ),
    )
    .await;
    let halls: Vec<String> = (0..s.halls)
        .map(|h| {
            let (c, k) = (h % 10 + 1, h / 10 + 1);
            format!("('H{h:03}', '第{c}市第{k}县政务服务中心', '88{c:02}{k:02}', {now})")
        })
        .collect();
    exec(
        db,
        &format!(
            "INSERT INTO halls (code, name, region, created_at) VALUES {}",
            halls.join(", ")
        ),
    )
    .await;
    exec(
        db,
        &format!(
            "{} {} INSERT INTO windows (hall_id, code, name, kind, status, created_at) \
             SELECT h.id, 'W' || CAST(w.i AS TEXT), '综合窗口' || CAST(w.i AS TEXT), 'general', 'closed', {now} \
             FROM halls h CROSS JOIN w",
            with(db),
            seq(db, "w", WINDOWS)
        ),
    )
    .await;
    exec(
        db,
        &format!(
            "INSERT INTO applicants (kind, id_number, name, phone, id_masked, phone_masked, created_at, updated_at) \
             VALUES ('person', '11010519491231002X', '张三', '13812345678', '1101**********002X', '138****5678', {now}, {now})"
        ),
    )
    .await;
    eprintln!(
        "regions, halls, windows: {:.1}s",
        t0.elapsed().as_secs_f64()
    );

    // Cases: 1 % running (due within 20 days either side of today), the rest issued.
    let t = Instant::now();
    let (due, _) = day_expr(db, "(c.i % 40 - 20)");
    exec(
        db,
        &format!(
            "{} {} INSERT INTO cases (number, item, item_version, department, hall, applicant_id, status, \
             process_code, process_version, received_at, accepted_on, due_date, events, created_at, updated_at) \
             SELECT 'C' || CAST(c.i AS TEXT), 'I' || CAST(c.i % {ITEMS} AS TEXT), 1, 'D' || CAST(c.i % {ITEMS} AS TEXT), \
             'H' || {hall}, 1, CASE WHEN c.i % 100 = 0 THEN 'in_progress' ELSE 'issued' END, 'p', 1, {now}, \
             '2026-01-05', CASE WHEN c.i % 100 = 0 THEN {due} ELSE NULL END, 10, {now}, {now} FROM c",
            with(db),
            seq(db, "c", s.cases),
            hall = pad(db, s.halls),
        ),
    )
    .await;
    eprintln!("{} cases: {:.1}s", s.cases, t.elapsed().as_secs_f64());

    // Hall day totals for every day of the period.
    let t = Instant::now();
    let days = s.years * 365 + s.years / 4;
    let (day, _) = day_expr(db, "d.i");
    exec(
        db,
        &format!(
            "{} {}, m(j, metric) AS (VALUES {}) \
             INSERT INTO stats_hall_daily (day, hall, metric, value) \
             SELECT {day}, h.code, m.metric, (d.i * 7 + h.id * 13 + m.j * 5) % 90 + 10 \
             FROM d CROSS JOIN halls h CROSS JOIN m",
            with(db),
            seq(db, "d", days),
            values(&HALL_METRICS)
        ),
    )
    .await;
    eprintln!("hall day totals: {:.1}s", t.elapsed().as_secs_f64());

    // Month sums by department and item, and by window, for every month of the period.
    let t = Instant::now();
    let months = s.years * 12;
    let month_of = match db.backend() {
        Backend::Sqlite => "strftime('%Y-%m', date('2026-12-15', '-' || mo.i || ' months'))",
        Backend::Postgres => "to_char(DATE '2026-12-15' - mo.i * INTERVAL '1 month', 'YYYY-MM')",
    };
    exec(
        db,
        &format!(
            "{} {}, {}, m(j, metric) AS (VALUES {}) \
             INSERT INTO stats_monthly (month, hall, department, item, window_id, staff, metric, value) \
             SELECT {month_of}, h.code, 'D' || CAST(it.i AS TEXT), 'I' || CAST(it.i AS TEXT), 0, '', m.metric, \
             (mo.i + h.id * 3 + it.i * 7 + m.j) % 300 + 20 \
             FROM mo CROSS JOIN halls h CROSS JOIN it CROSS JOIN m",
            with(db),
            seq(db, "mo", months),
            seq(db, "it", ITEMS),
            values(&CASE_METRICS)
        ),
    )
    .await;
    exec(
        db,
        &format!(
            "{} {}, m(j, metric) AS (VALUES {}) \
             INSERT INTO stats_monthly (month, hall, department, item, window_id, staff, metric, value) \
             SELECT {month_of}, h.code, '', '', w.id, '', m.metric, (mo.i + w.id * 11 + m.j) % 500 + 50 \
             FROM mo CROSS JOIN halls h JOIN windows w ON w.hall_id = h.id CROSS JOIN m",
            with(db),
            seq(db, "mo", months),
            values(&HALL_METRICS[..8])
        ),
    )
    .await;
    eprintln!("month sums: {:.1}s", t.elapsed().as_secs_f64());

    // The current month's detailed daily rows (what the hourly rollup re-sums).
    let t = Instant::now();
    let (dday, _) = day_expr(db, "d.i");
    exec(
        db,
        &format!(
            "{} {}, {}, m(j, metric) AS (VALUES {}) \
             INSERT INTO stats_daily (day, hall, department, item, window_id, staff, metric, value) \
             SELECT {dday}, h.code, 'D' || CAST(it.i AS TEXT), 'I' || CAST(it.i AS TEXT), 0, '', m.metric, \
             (d.i + h.id + it.i + m.j) % 20 + 1 FROM d CROSS JOIN halls h CROSS JOIN it CROSS JOIN m",
            with(db),
            seq(db, "d", 31),
            seq(db, "it", ITEMS),
            values(&CASE_METRICS)
        ),
    )
    .await;
    eprintln!("daily detail rows: {:.1}s", t.elapsed().as_secs_f64());
    if db.backend() == Backend::Postgres {
        exec(db, "ANALYZE").await;
    }
    eprintln!("seeded in {:.1}s", t0.elapsed().as_secs_f64());
}

/// The hall code of case `c.i`: `H` and three digits.
fn pad(db: &Db, halls: usize) -> String {
    match db.backend() {
        Backend::Sqlite => format!("substr('00' || CAST(c.i % {halls} AS TEXT), -3, 3)"),
        Backend::Postgres => format!("lpad(CAST(c.i % {halls} AS TEXT), 3, '0')"),
    }
}

/// Times `n` sequential GETs of `path`; returns (p50, max) in milliseconds.
async fn time_get(c: &reqwest::Client, url: &str, token: &str, n: usize) -> (f64, f64, usize) {
    let mut v = Vec::new();
    let mut bytes = 0;
    for _ in 0..n {
        let t = Instant::now();
        let r = c.get(url).bearer_auth(token).send().await.expect("get");
        assert!(r.status().is_success(), "{url}: {}", r.status());
        bytes = r.bytes().await.expect("body").len();
        v.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[v.len() - 1], bytes)
}

pub async fn run(running: &yichuang_server::Running, c: &reqwest::Client, admin: &str, s: &Sizes) {
    let db = running.state.db.clone();
    let base = running.url();
    seed(&db, s).await;
    let r = c
        .put(format!("{base}/api/v1/dev/clock"))
        .bearer_auth(admin)
        .json(&json!({"now": format!("{TODAY}T10:00:00+08:00")}))
        .send()
        .await
        .expect("clock");
    assert!(r.status().is_success(), "dev clock: {}", r.status());
    let r = c
        .post(format!("{base}/api/v1/accounts"))
        .bearer_auth(admin)
        .json(
            &json!({"username": "province", "display_name": "省监察", "role": "supervisor",
                      "region": "880000", "password": "Province-2026"}),
        )
        .send()
        .await
        .expect("account");
    assert!(r.status().is_success(), "account: {}", r.status());
    let v: serde_json::Value = c
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": "province", "password": "Province-2026"}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("login json");
    let token = v["token"].as_str().expect("token").to_string();

    // The peer: one grouped pass over the cases, the least any figure computed from the cases
    // themselves would cost (the rollup exists so that no page pays it).
    let t = Instant::now();
    let sql = "SELECT hall, COUNT(*) FROM cases WHERE status = 'issued' GROUP BY hall";
    let groups: Vec<(Option<String>, i64)> = match &db {
        Db::Sqlite(p) => sqlx::query_as(sql).fetch_all(p).await,
        Db::Postgres(p) => sqlx::query_as(sql).fetch_all(p).await,
    }
    .expect("peer");
    let n: i64 = groups.iter().map(|g| g.1).sum();
    println!(
        "peer: issued cases by hall, one pass ({n} rows counted): {:.0} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );
    for (name, path) in [
        ("dashboard /supervision", "/supervision"),
        (
            "monthly report JSON",
            "/api/v1/supervision/report?month=2026-11",
        ),
        (
            "monthly report .xlsx",
            "/supervision/report.xlsx?month=2026-11",
        ),
        (
            "numbers by department, 5 years",
            "/api/v1/supervision/numbers?from=2022-01-01&to=2026-11-30&by=department",
        ),
    ] {
        let (p50, max, bytes) = time_get(c, &format!("{base}{path}"), &token, 10).await;
        println!("{name}: p50 {p50:.0} ms, max {max:.0} ms ({bytes} bytes), 10 requests");
    }
    let t = Instant::now();
    let r = c
        .post(format!("{base}/api/v1/supervision/rollup"))
        .bearer_auth(admin)
        .json(&json!({"from": TODAY, "to": TODAY}))
        .send()
        .await
        .expect("rollup");
    assert!(r.status().is_success(), "rollup: {}", r.status());
    println!(
        "rollup of one day (the sweep's hourly work, the month re-summed): {:.0} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );
}
