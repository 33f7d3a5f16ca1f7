//! The server itself: health, problem+json, dev clock, migrations, events, timers.

use serde_json::{Value, json};

use crate::support::{TestServer, on_each_backend};

#[tokio::test]
async fn health_reports_ok_and_names_the_backend() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        let (status, v) = s.get_json("/api/v1/health", None).await;
        assert_eq!(status, 200);
        assert_eq!(v["status"], "ok");
        assert_eq!(v["database"], s.backend());
        assert!(v["version"].as_str().is_some_and(|x| !x.is_empty()));
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn an_unknown_api_path_answers_problem_json_in_chinese() {
    let url = yichuang_store::testing::sqlite_url();
    let s = TestServer::start(&url).await;
    let r = s
        .client
        .get(s.at("/api/v1/no-such-thing"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["code"], "not_found");
    assert_eq!(v["status"], 404);
    assert!(v["title"].as_str().unwrap().contains("不存在"));
    s.stop().await;
}

#[tokio::test]
async fn malformed_json_is_refused_with_400_and_the_field_named() {
    let url = yichuang_store::testing::sqlite_url();
    let s = TestServer::start(&url).await;
    let admin = s.admin_token().await;
    let (status, v) = s
        .send_json(
            reqwest::Method::PUT,
            "/api/v1/dev/clock",
            Some(&admin),
            &json!({"when": 1}),
        )
        .await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["code"], "malformed_request");
    assert!(
        v["errors"][0]["message"].as_str().unwrap().contains("now"),
        "{v}"
    );
    let r = s
        .client
        .put(s.at("/api/v1/dev/clock"))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    s.stop().await;
}

#[tokio::test]
async fn the_dev_clock_moves_time_only_when_enabled() {
    let url = yichuang_store::testing::sqlite_url();
    let s = TestServer::start(&url).await;
    s.set_clock("2026-10-09T09:00:00+08:00").await;
    let (_, v) = s.get_json("/api/v1/dev/clock", None).await;
    assert!(
        v["now"].as_str().unwrap().starts_with("2026-10-09T09:00"),
        "{v}"
    );
    s.stop().await;

    let mut c = crate::support::config(&yichuang_store::testing::sqlite_url());
    c.dev_clock = false;
    let s = TestServer::start_with(c).await;
    let (status, _) = s
        .send_json(
            reqwest::Method::PUT,
            "/api/v1/dev/clock",
            None,
            &json!({"now": "2026-10-09T09:00:00+08:00"}),
        )
        .await;
    assert_eq!(status, 404);
    s.stop().await;
}

#[tokio::test]
async fn responses_carry_a_request_id() {
    let url = yichuang_store::testing::sqlite_url();
    let s = TestServer::start(&url).await;
    let r = s.client.get(s.at("/api/v1/health")).send().await.unwrap();
    assert!(r.headers().get("x-request-id").is_some());
    s.stop().await;
}

#[tokio::test]
async fn the_openapi_document_is_served() {
    let url = yichuang_store::testing::sqlite_url();
    let s = TestServer::start(&url).await;
    let (status, v) = s.get_json("/api/v1/openapi.json", None).await;
    assert_eq!(status, 200);
    assert!(v["openapi"].as_str().unwrap().starts_with("3.1"));
    s.stop().await;
}

/// Every `/api/v1` route the server registers is in the OpenAPI document with its method, so
/// the document integrators read cannot fall behind the code.
#[test]
fn the_openapi_document_lists_every_route_the_server_registers() {
    let doc: serde_json::Value = serde_json::from_str(yichuang_server::api::OPENAPI).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    let mut missing = Vec::new();
    let mut seen = 0;
    for (file, src) in server_sources(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/crates/server/src"
    ))) {
        let mut rest = src.as_str();
        while let Some(at) = rest.find(".route(") {
            rest = &rest[at + ".route(".len()..];
            let args = balanced(rest);
            let Some(path) = args
                .trim_start()
                .strip_prefix('"')
                .and_then(|s| s.split('"').next())
            else {
                continue;
            };
            if !path.starts_with("/api/v1/") || path.contains('*') {
                continue;
            }
            for method in ["get", "post", "put", "delete", "patch"] {
                if calls(args, method) {
                    seen += 1;
                    if paths.get(path).and_then(|p| p.get(method)).is_none() {
                        missing.push(format!("{} {path} ({file})", method.to_uppercase()));
                    }
                }
            }
        }
    }
    assert!(seen > 20, "the scan found the routes ({seen})");
    assert!(
        missing.is_empty(),
        "not in web/openapi.json:\n{}",
        missing.join("\n")
    );
}

fn server_sources(dir: &std::path::Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(server_sources(&p));
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push((
                p.display().to_string(),
                std::fs::read_to_string(&p).unwrap(),
            ));
        }
    }
    out
}

/// The text up to the parenthesis that closes the one just opened.
fn balanced(s: &str) -> &str {
    let mut depth = 1;
    for (i, ch) in s.char_indices() {
        match ch {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return &s[..i];
                }
            }
            _ => {}
        }
    }
    s
}

/// Whether `args` calls the routing function `method(` (not `get_account(`).
fn calls(args: &str, method: &str) -> bool {
    let pat = format!("{method}(");
    args.match_indices(&pat)
        .any(|(i, _)| i == 0 || !args[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_'))
}

fn yichuang() -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_yichuang"));
    c.env_remove("YICHUANG_DATABASE_URL")
        .env_remove("YICHUANG_CONFIG")
        .env_remove("YICHUANG_ADMIN_PASSWORD");
    c
}

fn temp_path(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("yichuang-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn an_unknown_database_scheme_stops_the_binary_with_a_clear_message() {
    let out = yichuang()
        .args(["migrate", "--database", "mysql://localhost/x"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("sqlite://") && err.contains("postgres://"),
        "{err}"
    );
}

#[test]
fn configuration_comes_from_flags_then_environment_then_the_toml_file() {
    let dir = temp_path("config");
    let from_file = dir.join("file.db");
    let from_env = dir.join("env.db");
    let from_flag = dir.join("flag.db");
    let toml = dir.join("yichuang.toml");
    std::fs::write(
        &toml,
        format!("database = \"sqlite://{}\"\n", from_file.display()),
    )
    .unwrap();

    let ok = |c: &mut std::process::Command| {
        let out = c.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    ok(yichuang().args(["migrate", "--config"]).arg(&toml));
    assert!(
        from_file.exists(),
        "the file's database is used when nothing overrides it"
    );

    ok(yichuang().args(["migrate", "--config"]).arg(&toml).env(
        "YICHUANG_DATABASE_URL",
        format!("sqlite://{}", from_env.display()),
    ));
    assert!(from_env.exists(), "the environment overrides the file");

    ok(yichuang()
        .args(["migrate", "--config"])
        .arg(&toml)
        .env(
            "YICHUANG_DATABASE_URL",
            format!("sqlite://{}", from_env.display()),
        )
        .arg("--database")
        .arg(format!("sqlite://{}", from_flag.display())));
    assert!(from_flag.exists(), "the flag overrides the environment");

    std::fs::write(&toml, "databse = \"x\"\n").unwrap();
    let out = yichuang()
        .args(["migrate", "--config"])
        .arg(&toml)
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "a misspelt key is refused, not ignored"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("配置文件"));
}

#[test]
fn logs_are_one_json_object_per_line_when_asked() {
    let dir = temp_path("jsonlog");
    let out = yichuang()
        .args(["migrate", "--database"])
        .arg(format!("sqlite://{}", dir.join("j.db").display()))
        .env("YICHUANG_LOG_FORMAT", "json")
        .env("YICHUANG_LOG", "info")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty(), "something is logged");
    for l in lines {
        let v: serde_json::Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
        assert!(v["level"].is_string() && v["timestamp"].is_string(), "{v}");
    }
}

#[test]
fn the_admin_password_is_never_printed() {
    let dir = temp_path("secret");
    let out = yichuang()
        .args(["migrate", "--database"])
        .arg(format!("sqlite://{}", dir.join("s.db").display()))
        .env("YICHUANG_ADMIN_PASSWORD", "Very-Secret-2026")
        .env("YICHUANG_LOG", "debug")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains("Very-Secret-2026"));
}
