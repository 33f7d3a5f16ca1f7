//! Citizens get pages, not JSON (issue 10 item 8): every page route given a bad or expired id
//! answers an HTML page in Chinese with the right status and a way back, while API routes keep
//! problem+json; a ticket's phone page is found by its random link only, never by its
//! consecutive id.

use std::path::Path;

use serde_json::json;

use crate::hall::{HALL, demo_hall};
use crate::support::{TestServer, admin_session, client, on_each_backend};

/// Every GET route with a path parameter that the server's pages declare (read from the
/// source, so a new page route is walked without anyone adding it here).
fn page_routes_with_ids() -> Vec<String> {
    fn walk(dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let src = std::fs::read_to_string(&p).unwrap();
                let mut rest = src.as_str();
                while let Some(at) = rest.find(".route(") {
                    rest = &rest[at + 7..];
                    let r = rest.trim_start();
                    let Some(r) = r.strip_prefix('"') else {
                        continue;
                    };
                    let Some(end) = r.find('"') else { continue };
                    let path = &r[..end];
                    let after = r[end + 1..]
                        .trim_start()
                        .trim_start_matches(',')
                        .trim_start();
                    if after.starts_with("get(")
                        && path.contains('{')
                        && !path.starts_with("/api/")
                        && !path.starts_with("/open311/")
                    {
                        out.push(path.to_string());
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/server/src"),
        &mut out,
    );
    out.sort();
    out.dedup();
    out
}

/// The route with each parameter a value that names nothing: numbers for ids, words else.
fn with_bad_ids(route: &str) -> String {
    let mut s = String::new();
    let mut rest = route;
    while let Some(open) = rest.find('{') {
        s.push_str(&rest[..open]);
        let close = rest[open..].find('}').unwrap() + open;
        let name = &rest[open + 1..close];
        s.push_str(if name == "id" { "987654" } else { "NOPE-404" });
        rest = &rest[close + 1..];
    }
    s.push_str(rest);
    s
}

/// Whether `path` answers a person with an HTML page — a 4xx status, Chinese text, a link
/// back, no problem+json — or, on a staff page, sends a stranger to sign in first; else what
/// it answered instead.
async fn answers_a_page(c: &reqwest::Client, s: &TestServer, path: &str) -> Result<(), String> {
    let r = c.get(s.at(path)).send().await.unwrap();
    let status = r.status().as_u16();
    if status == 303 {
        let to = r.headers()["location"].to_str().unwrap().to_string();
        // An applicant's own page sends a stranger to the applicant's sign-in.
        let own = path.starts_with("/my/") && to == "/my";
        return if to.starts_with("/login?next=") || own {
            Ok(())
        } else {
            Err(format!("{path} → {to}"))
        };
    }
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = r.text().await.unwrap();
    let back = ["href=\"/\"", "href=\"/home\"", "href=\"/my\""]
        .iter()
        .any(|h| body.contains(h));
    if !(400..500).contains(&status)
        || !ct.starts_with("text/html")
        || !body.contains("<html lang=\"zh-CN\">")
        || !back
        || body.contains("\"code\":")
    {
        let head: String = body.chars().take(300).collect();
        return Err(format!("{path} answered {status} {ct}: {head}"));
    }
    Ok(())
}

#[tokio::test]
async fn every_page_route_given_a_bad_id_answers_a_page_in_chinese_with_a_way_back() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-12-04T10:00:00+08:00").await;
        demo_hall(&s).await;
        let routes = page_routes_with_ids();
        for must in [
            "/t/{link}",
            "/appointments/{code}",
            "/halls/{hall}/kiosk",
            "/cases/{number}",
            "/wo/{token}",
        ] {
            assert!(
                routes.iter().any(|r| r == must),
                "{must} not found in {routes:?}"
            );
        }
        let admin = admin_session(&s).await;
        let anonymous = client();
        let mut wrong = Vec::new();
        for route in &routes {
            let path = with_bad_ids(route);
            for (who, c) in [("anonymous", &anonymous), ("admin", &admin)] {
                if let Err(e) = answers_a_page(c, &s, &path).await {
                    wrong.push(format!("{who}: {e}"));
                }
            }
        }
        // A word where a number is expected: still a page.
        if let Err(e) = answers_a_page(&anonymous, &s, "/windows/abc/strip").await {
            wrong.push(e);
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
        // The issue's own examples, with the message in the page.
        let r = anonymous
            .get(s.at(&format!("/halls/NOPE/kiosk")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        let body = r.text().await.unwrap();
        assert!(body.contains("大厅 NOPE 不存在"), "{body}");
        // API routes keep problem+json.
        let r = anonymous
            .get(s.at("/api/v1/halls/NOPE"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let _ = HALL;
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn an_old_numeric_ticket_link_reveals_nothing_and_the_slip_links_a_random_one() {
    on_each_backend(|url| async move {
        let s = TestServer::start(&url).await;
        s.set_clock("2026-12-04T10:00:00+08:00").await;
        demo_hall(&s).await;
        let (st, t) = s
            .post_json(
                &format!("/api/v1/halls/{HALL}/tickets"),
                None,
                &json!({"queue": "a", "phone": "13812345678"}),
            )
            .await;
        assert_eq!(st, 201, "{t}");
        let id = t["id"].as_i64().unwrap();
        let link = t["link"].as_str().unwrap().to_string();
        assert!(link.starts_with("/t/") && link.len() >= 3 + 16, "{link}");
        assert_ne!(link, format!("/t/{id}"));
        let c = client();
        for path in [
            format!("/t/{id}"),
            format!("/t/{id}/qr.svg"),
            "/t/1".to_string(),
        ] {
            let r = c.get(s.at(&path)).send().await.unwrap();
            assert_eq!(r.status(), 404, "{path}");
            let body = r.text().await.unwrap();
            assert!(
                !body.contains("A001") && !body.contains("1381"),
                "{path}: {body}"
            );
            assert!(body.contains("找不到这张号票"), "{path}: {body}");
        }
        let r = c.get(s.at(&link)).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let body = r.text().await.unwrap();
        assert!(body.contains("A001"), "{body}");
        let qr = c.get(s.at(&format!("{link}/qr.svg"))).send().await.unwrap();
        assert_eq!(qr.status(), 200);
        assert!(qr.text().await.unwrap().contains("<svg"));
        // The phone follows its ticket by the same link.
        let (st, v) = s
            .get_json(&link.replace("/t/", "/api/v1/tickets/"), None)
            .await;
        assert_eq!((st, v["number"].as_str()), (200, Some("A001")), "{v}");
        s.stop().await;
    })
    .await;
}
