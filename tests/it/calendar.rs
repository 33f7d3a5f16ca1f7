//! The working-day calendar end to end: the read API on each backend, corrections reaching
//! every instance at once, the admin writes and page, and the `yichuang calendar` CLI.

use std::process::Command;

use serde_json::{Value, json};
use yichuang_domain::calendar::YearArrangement;
use yichuang_store::Db;

use crate::support::{TestServer, on_each_backend};

fn kinds(v: &Value) -> Vec<(String, String)> {
    v["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["kind"].as_str().unwrap().to_string(),
                d["name"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_days_endpoint_gives_each_kind_with_holiday_names_and_flags_unloaded_years() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let (status, v) = s
            .get_json("/api/v1/calendar/days?from=2026-02-13&to=2026-02-16", None)
            .await;
        assert_eq!(status, 200, "{v}");
        let got = kinds(&v);
        assert_eq!(got[0], ("workday".into(), "".into()));
        assert_eq!(got[1], ("workday".into(), "".into()));
        assert_eq!(v["days"][1]["adjusted"], true);
        assert_eq!(got[2], ("holiday".into(), "春节".into()));
        assert_eq!(v["days"][0]["date"], "2026-02-13");
        assert!(v["days"][0].get("unofficial").is_none());

        let (_, v) = s
            .get_json("/api/v1/calendar/days?from=2026-12-31&to=2027-01-02", None)
            .await;
        assert!(v["days"][0].get("unofficial").is_none());
        assert_eq!(v["days"][1]["unofficial"], true);
        assert_eq!(v["days"][1]["kind"], "workday");
        assert_eq!(v["days"][2]["kind"], "restday");

        let (status, v) = s
            .get_json("/api/v1/calendar/days?from=2020-01-01&to=2026-12-31", None)
            .await;
        assert_eq!(status, 422);
        assert_eq!(v["errors"][0]["field"], "to");
        let (status, v) = s
            .get_json("/api/v1/calendar/days?from=2026-02-30&to=2026-03-01", None)
            .await;
        assert_eq!(status, 422);
        assert_eq!(v["errors"][0]["field"], "from");
        assert!(
            v["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("不是有效日期")
        );
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn add_and_between_count_working_days_and_refuse_a_year_not_loaded() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let (status, v) = s
            .get_json("/api/v1/calendar/add?from=2026-09-29&days=5", None)
            .await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["date"], "2026-10-12");
        let (_, v) = s
            .get_json(
                "/api/v1/calendar/between?from=2026-09-29&to=2026-10-12",
                None,
            )
            .await;
        assert_eq!(v["working_days"], 5);
        let (status, v) = s
            .get_json("/api/v1/calendar/add?from=2026-12-28&days=10", None)
            .await;
        assert_eq!(status, 422, "{v}");
        assert_eq!(v["code"], "calendar_year_not_loaded");
        assert!(v["title"].as_str().unwrap().contains("2027"));
        let (status, v) = s
            .get_json("/api/v1/calendar/add?from=2026-09-29&days=five", None)
            .await;
        assert_eq!(
            (status, v["errors"][0]["field"].as_str()),
            (422, Some("days"))
        );
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_shipped_years_are_listed_with_their_notices() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let (status, v) = s.get_json("/api/v1/calendar/years", None).await;
        assert_eq!(status, 200);
        let years: Vec<i64> = v["years"]
            .as_array()
            .unwrap()
            .iter()
            .map(|y| y["year"].as_i64().unwrap())
            .collect();
        assert_eq!(years, (2020..=2026).collect::<Vec<_>>());
        let y2026 = &v["years"][6];
        assert_eq!(y2026["notices"][0]["number"], "国办发明电〔2025〕7号");
        assert_eq!(y2026["notices"][0]["published"], "2025-11-04");
        assert_eq!(y2026["origin"], "shipped");
        assert_eq!(
            v["years"][0]["notices"][1]["number"],
            "国办发明电〔2020〕1号"
        );
        let (status, v) = s.get_json("/api/v1/calendar/years/2026", None).await;
        assert_eq!(status, 200);
        assert!(v["toml"].as_str().unwrap().contains("[[holidays]]"));
        assert_eq!(s.get_json("/api/v1/calendar/years/2031", None).await.0, 404);
        s.stop().await;
    })
    .await;
}

/// 2026 with 国庆节 stretched to 10/8 (a correction an administrator might make).
fn corrected_2026() -> YearArrangement {
    let mut y = yichuang_server::calendar::shipped_years()
        .unwrap()
        .into_iter()
        .find(|y| y.year == 2026)
        .unwrap();
    let national_day = y.holidays.iter_mut().find(|h| h.name == "国庆节").unwrap();
    national_day.to = chrono::NaiveDate::from_ymd_opt(2026, 10, 8).unwrap();
    y
}

#[tokio::test]
async fn a_correction_through_the_store_changes_answers_at_once_on_every_instance() {
    on_each_backend(|url| async move {
        let a = TestServer::start(&url).await;
        let b = TestServer::start(&url).await;
        let path = "/api/v1/calendar/add?from=2026-09-29&days=5";
        assert_eq!(a.get_json(path, None).await.1["date"], "2026-10-12");
        assert_eq!(b.get_json(path, None).await.1["date"], "2026-10-12");

        let db = Db::connect(&url).await.unwrap();
        let mut tx = db.begin().await.unwrap();
        yichuang_store::calendar::put_year(
            &mut tx,
            chrono::Utc::now(),
            "test",
            &corrected_2026(),
            "admin",
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        db.close().await;

        // 9/30 (1), 10/1–8 holiday, 10/9 (2), Sat 10/10 (3), 10/12 (4), 10/13 (5).
        assert_eq!(a.get_json(path, None).await.1["date"], "2026-10-13");
        assert_eq!(b.get_json(path, None).await.1["date"], "2026-10-13");
        let (_, v) = b
            .get_json("/api/v1/calendar/days?from=2026-10-08&to=2026-10-08", None)
            .await;
        assert_eq!(v["days"][0]["kind"], "holiday");

        // A restart does not put the shipped 2026 back over the correction.
        a.stop().await;
        let c = TestServer::start(&url).await;
        assert_eq!(c.get_json(path, None).await.1["date"], "2026-10-13");
        c.stop().await;
        b.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_region_sees_its_own_and_its_ancestors_local_days() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let db = Db::connect(&url).await.unwrap();
        let day = yichuang_domain::calendar::LocalDay::from_value(
            "650000",
            &json!({"date": "2026-03-20", "kind": "holiday", "name": "古尔邦节"}),
        )
        .unwrap();
        let mut tx = db.begin().await.unwrap();
        yichuang_store::calendar::put_region_day(&mut tx, chrono::Utc::now(), "test", &day)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        db.close().await;

        let (_, v) = s
            .get_json(
                "/api/v1/calendar/days?from=2026-03-20&to=2026-03-20&region=650102",
                None,
            )
            .await;
        assert_eq!(
            (v["days"][0]["kind"].as_str(), v["days"][0]["name"].as_str()),
            (Some("holiday"), Some("古尔邦节"))
        );
        assert_eq!(v["days"][0]["local"], true);
        let (_, v) = s
            .get_json(
                "/api/v1/calendar/days?from=2026-03-20&to=2026-03-20&region=110000",
                None,
            )
            .await;
        assert_eq!(v["days"][0]["kind"], "workday");
        let (_, v) = s
            .get_json(
                "/api/v1/calendar/add?from=2026-03-19&days=1&region=650102",
                None,
            )
            .await;
        assert_eq!(v["date"], "2026-03-23");
        let (_, v) = s
            .get_json("/api/v1/calendar/regions/650000/days", None)
            .await;
        assert_eq!(v["days"][0]["name"], "古尔邦节");
        let (_, v) = s.get_json("/api/v1/halls/H01/office-hours", None).await;
        assert_eq!(v["hours"]["workday"], json!(["09:00-12:00", "13:30-17:30"]));
        assert_eq!(v["default"], true);
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn writes_need_an_administrator() {
    let s = TestServer::start(&yichuang_store::testing::sqlite_url()).await;
    let (status, v) = s
        .send_json(
            reqwest::Method::PUT,
            "/api/v1/calendar/years/2027",
            None,
            &json!({}),
        )
        .await;
    assert_eq!((status, v["code"].as_str()), (401, Some("unauthorized")));
    let (status, _) = s
        .post_json("/api/v1/calendar/regions/650000/days", None, &json!({}))
        .await;
    assert_eq!(status, 401);
    let (status, _) = s
        .send_json(
            reqwest::Method::PUT,
            "/api/v1/halls/H01/office-hours",
            None,
            &json!({}),
        )
        .await;
    assert_eq!(status, 401);
    let r = s.client.get(s.at("/admin/calendar")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login")
    );
    s.stop().await;
}

const YEAR_2027: &str = r#"
year = 2027
[[notices]]
title = "国务院办公厅关于2027年部分节假日安排的通知（测试）"
number = "测试〔2026〕1号"
published = 2026-11-01
[[holidays]]
name = "元旦"
from = 2027-01-01
to = 2027-01-03
"#;

#[tokio::test]
async fn an_administrator_loads_corrects_and_sets_local_days_and_hours() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let token = s.admin_token().await;
        let put_toml = |body: &'static str| {
            s.client
                .put(s.at("/api/v1/calendar/years/2027"))
                .bearer_auth(&token)
                .header("content-type", "application/toml")
                .body(body)
        };
        // Invalid: every problem named, nothing stored.
        let r = put_toml(
            "year = 2027\n[[holidays]]\nname = \"元旦\"\nfrom = 2027-01-03\nto = 2027-01-01\n",
        )
        .send()
        .await
        .unwrap();
        assert_eq!(r.status(), 422);
        let v: Value = r.json().await.unwrap();
        let fields: Vec<_> = v["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(fields, ["notices", "holidays[0].to"]);
        assert_eq!(s.get_json("/api/v1/calendar/years/2027", None).await.0, 404);

        let r = put_toml(YEAR_2027).send().await.unwrap();
        assert_eq!(r.status(), 201);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["changed_days"][0]["date"], "2027-01-01");
        let (_, v) = s
            .get_json("/api/v1/calendar/add?from=2026-12-31&days=1", None)
            .await;
        assert_eq!(v["date"], "2027-01-04");

        // The same year as JSON is a correction.
        let mut y = YearArrangement::from_toml(YEAR_2027).unwrap();
        y.holidays[0].to = chrono::NaiveDate::from_ymd_opt(2027, 1, 1).unwrap();
        let (status, v) = s
            .send_json(
                reqwest::Method::PUT,
                "/api/v1/calendar/years/2027",
                Some(&token),
                &serde_json::to_value(&y).unwrap(),
            )
            .await;
        assert_eq!((status, v["created"].as_bool()), (200, Some(false)), "{v}");
        let (status, v) = s
            .send_json(
                reqwest::Method::PUT,
                "/api/v1/calendar/years/2028",
                Some(&token),
                &serde_json::to_value(&y).unwrap(),
            )
            .await;
        assert_eq!(
            (status, v["errors"][0]["field"].as_str()),
            (422, Some("year"))
        );

        let (status, _) = s
            .post_json(
                "/api/v1/calendar/regions/650000/days",
                Some(&token),
                &json!({"date": "2026-03-20", "kind": "holiday", "name": "古尔邦节"}),
            )
            .await;
        assert_eq!(status, 201);
        let (_, v) = s
            .get_json(
                "/api/v1/calendar/days?from=2026-03-20&to=2026-03-20&region=650000",
                None,
            )
            .await;
        assert_eq!(v["days"][0]["kind"], "holiday");
        let r = s
            .client
            .delete(s.at("/api/v1/calendar/regions/650000/days/2026-03-20"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
        let (_, v) = s
            .get_json(
                "/api/v1/calendar/days?from=2026-03-20&to=2026-03-20&region=650000",
                None,
            )
            .await;
        assert_eq!(v["days"][0]["kind"], "workday");

        let (status, v) = s
            .send_json(
                reqwest::Method::PUT,
                "/api/v1/halls/H01/office-hours",
                Some(&token),
                &json!({"workday": ["09:00-12:00", "13:00-17:00"], "restday": ["09:00-12:00"]}),
            )
            .await;
        assert_eq!(status, 200, "{v}");
        let (_, v) = s.get_json("/api/v1/halls/H01/office-hours", None).await;
        assert_eq!(
            (v["hours"]["restday"][0].as_str(), v["default"].as_bool()),
            (Some("09:00-12:00"), Some(false))
        );
        let (status, v) = s
            .send_json(
                reqwest::Method::PUT,
                "/api/v1/halls/H01/office-hours",
                Some(&token),
                &json!({"workday": ["12:00-09:00"]}),
            )
            .await;
        assert_eq!(
            (status, v["errors"][0]["field"].as_str()),
            (422, Some("workday[0]"))
        );

        let r = s
            .client
            .get(s.at("/admin/calendar?year=2026"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let html = r.text().await.unwrap();
        assert!(
            html.contains("国办发明电〔2025〕7号")
                && html.contains("class=\"holiday\"")
                && html.contains("导入")
        );
        let form = reqwest::multipart::Form::new()
            .text("toml", "year = 2029\n[[holidays]]\nname = \"元旦\"\n");
        let r = s
            .client
            .post(s.at("/admin/calendar/import"))
            .bearer_auth(&token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        let html = r.text().await.unwrap();
        assert!(
            html.contains("holidays[0].from") && html.contains("必须填写日期"),
            "{html}"
        );
        s.stop().await;
    })
    .await;
}

fn cli(db: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_yichuang"))
        .args(args)
        .args(["--database", db])
        .env_remove("YICHUANG_DATABASE_URL")
        .output()
        .expect("run yichuang");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_cli_prints_days_adds_counts_and_exits_3_for_a_missing_year() {
    let db = yichuang_store::testing::sqlite_url();
    let (code, out, _) = cli(
        &db,
        &[
            "calendar",
            "days",
            "--from",
            "2026-02-13",
            "--to",
            "2026-02-16",
        ],
    );
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "2026-02-13\tworkday\n2026-02-14\tworkday\n2026-02-15\tholiday\t春节\n2026-02-16\tholiday\t春节\n"
    );
    let (_, out, _) = cli(
        &db,
        &[
            "calendar",
            "days",
            "--from",
            "2027-01-01",
            "--to",
            "2027-01-02",
        ],
    );
    assert_eq!(
        out,
        "2027-01-01\tworkday\tunofficial\n2027-01-02\trestday\tunofficial\n"
    );
    let (code, out, _) = cli(
        &db,
        &["calendar", "add", "--from", "2026-09-29", "--days", "5"],
    );
    assert_eq!((code, out.as_str()), (0, "2026-10-12\n"));
    let (code, out, _) = cli(
        &db,
        &[
            "calendar",
            "between",
            "--from",
            "2026-09-29",
            "--to",
            "2026-10-12",
        ],
    );
    assert_eq!((code, out.as_str()), (0, "5\n"));
    let (code, out, err) = cli(
        &db,
        &["calendar", "add", "--from", "2026-12-28", "--days", "10"],
    );
    assert_eq!(code, 3);
    assert!(out.is_empty() && err.contains("2027"), "{err}");
    let (code, _, err) = cli(
        &db,
        &[
            "calendar",
            "between",
            "--from",
            "2026-12-01",
            "--to",
            "2027-02-01",
        ],
    );
    assert_eq!(code, 3);
    assert!(err.contains("2027"));
}

#[test]
fn the_cli_imports_a_year_and_reports_bad_files_field_by_field() {
    let db = yichuang_store::testing::sqlite_url();
    let dir = std::env::temp_dir().join(format!("yichuang-cal-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("2027.toml");
    std::fs::write(&good, YEAR_2027).unwrap();
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "year = 2027\n[[workdays]]\ndate = 2027-01-05\n").unwrap();

    let (code, _, err) = cli(&db, &["calendar", "import", bad.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(
        err.contains("workdays[0].date") && err.contains("notices"),
        "{err}"
    );
    let (code, out, err) = cli(&db, &["calendar", "import", good.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("已导入2027年") && out.contains("2027-01-01\t工作日 → 节假日（元旦）"),
        "{out}"
    );
    let (code, out, _) = cli(
        &db,
        &["calendar", "add", "--from", "2026-12-31", "--days", "1"],
    );
    assert_eq!((code, out.as_str()), (0, "2027-01-04\n"));
    let (_, out, _) = cli(&db, &["calendar", "import", good.to_str().unwrap()]);
    assert!(out.contains("已更正2027年") && out.contains("0处"), "{out}");
    std::fs::remove_dir_all(&dir).ok();
}
