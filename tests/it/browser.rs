//! Headless Chromium through chromedriver (Debian's `chromium` and `chromium-driver`), driving
//! the real pages of a real server. `.ci/run` installs both when they are missing.

#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use thirtyfour::prelude::*;

/// Browsers are heavy on a 2-core machine: one browser test at a time.
static ONE_AT_A_TIME: OnceLock<tokio::sync::Mutex<()>> = OnceLock::new();

pub struct Browser {
    pub driver: WebDriver,
    chromedriver: Child,
    profile: std::path::PathBuf,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Browser {
    /// A browser, or `None` (with a note on stderr) when Chromium is not installed and
    /// `YICHUANG_REQUIRE_BROWSER` is not `1`: the README's test command then still runs on a
    /// machine without a browser, while CI requires one.
    pub async fn start() -> Option<Browser> {
        let chromium_bin =
            std::env::var("YICHUANG_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        if !std::path::Path::new(&chromium_bin).exists() {
            assert!(
                std::env::var("YICHUANG_REQUIRE_BROWSER").as_deref() != Ok("1"),
                "YICHUANG_REQUIRE_BROWSER=1 but {chromium_bin} is missing: apt-get install -y chromium chromium-driver"
            );
            eprintln!(
                "browser test skipped: {chromium_bin} is not installed (apt-get install -y chromium chromium-driver)"
            );
            return None;
        }
        Some(Self::launch(chromium_bin).await)
    }

    async fn launch(chromium_bin: String) -> Browser {
        let turn = ONE_AT_A_TIME
            .get_or_init(|| tokio::sync::Mutex::new(()))
            .lock()
            .await;
        let chromedriver_bin = std::env::var("YICHUANG_CHROMEDRIVER")
            .unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let port = free_port();
        let chromedriver = Command::new(&chromedriver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {chromedriver_bin} ({e}); install with: apt-get install -y chromium chromium-driver"));
        let base = format!("http://127.0.0.1:{port}");
        let probe = reqwest::Client::new();
        for _ in 0..100 {
            if probe.get(format!("{base}/status")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile =
            std::env::temp_dir().join(format!("yichuang-chromium-{}-{port}", std::process::id()));
        let mut caps = DesiredCapabilities::chrome();
        caps.set_binary(&chromium_bin).unwrap();
        for arg in [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--lang=zh-CN",
            "--window-size=1280,900",
        ] {
            caps.add_arg(arg).unwrap();
        }
        caps.add_arg(&format!("--user-data-dir={}", profile.display()))
            .unwrap();
        let driver = WebDriver::new(base, caps).await.expect("chromium session");
        Browser {
            driver,
            chromedriver,
            profile,
            _turn: turn,
        }
    }

    /// Finds an element, waiting for it (pages load and scripts run).
    pub async fn el(&self, css: &str) -> WebElement {
        self.driver
            .query(By::Css(css))
            .wait(Duration::from_secs(10), Duration::from_millis(100))
            .first()
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
    }

    /// Waits until the browser has navigated to `path` (a click starts navigation; it does not
    /// wait for it), and returns the full URL.
    pub async fn wait_for_path(&self, path: &str) -> reqwest::Url {
        for _ in 0..100 {
            let u = self.driver.current_url().await.unwrap();
            if u.path() == path
                && self
                    .driver
                    .execute("return document.readyState", vec![])
                    .await
                    .unwrap()
                    .json()
                    == "complete"
            {
                return u;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "the browser did not reach {path}: at {}",
            self.driver.current_url().await.unwrap()
        );
    }

    /// Clicks something that loads a new page (a link, a form button) and waits until the new
    /// document has loaded: the old page is marked first, so its elements are never mistaken
    /// for the new page's.
    pub async fn click_and_wait(&self, css: &str) {
        self.driver
            .execute("document.documentElement.dataset.ycOld = '1'", vec![])
            .await
            .unwrap();
        self.el(css).await.click().await.unwrap();
        for _ in 0..150 {
            let r = self
                .driver
                .execute("return !document.documentElement.dataset.ycOld && document.readyState === 'complete'", vec![])
                .await;
            if r.is_ok_and(|v| v.json() == true) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("clicking {css} did not load a new page");
    }

    /// Waits until the text of `css` contains `part`: the page answers asynchronously (a
    /// fetch, a controller message). This waits for the browser, not for time to pass.
    pub async fn wait_text(&self, css: &str, part: &str) -> String {
        let mut last = String::new();
        for _ in 0..100 {
            last = self.text_of(css).await;
            if last.contains(part) {
                return last;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{css} never showed {part:?}: {last:?}");
    }

    /// Waits until `script` (a function body) returns true: the browser finishes something on
    /// its own (a frame's viewer starting). This waits for the browser, not for time to pass.
    pub async fn wait_true(&self, script: &str, what: &str) {
        for _ in 0..100 {
            if self.eval(script).await == serde_json::Value::Bool(true) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{what} never happened");
    }

    /// Signs in on the login page with `password` and waits for the page `next` leads to (not
    /// the login page's own h1, whose elements go stale when the redirect lands late).
    pub async fn sign_in(&self, base: &str, username: &str, password: &str, next: &str) {
        self.driver
            .goto(format!("{base}/login?next={next}"))
            .await
            .unwrap();
        self.el("#username")
            .await
            .send_keys(username)
            .await
            .unwrap();
        self.el("#password")
            .await
            .send_keys(password)
            .await
            .unwrap();
        self.click_and_wait("form.card button[type=submit]").await;
    }

    /// Runs `script` (which `return`s something) in the page and gives its value.
    pub async fn eval(&self, script: &str) -> serde_json::Value {
        self.driver
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}"))
            .json()
            .clone()
    }

    pub async fn text_of(&self, css: &str) -> String {
        self.el(css).await.text().await.unwrap()
    }

    pub async fn body_text(&self) -> String {
        self.text_of("body").await
    }

    /// Asserts the page speaks to people (issue 10 item 3): no ISO timestamp, no bare
    /// `YYYY-MM-DD` date (people read 2026年12月4日) and no actor written as `role:username`
    /// in its text.
    pub async fn assert_no_machine_text(&self) {
        let found = self
            .eval(
                "const t = document.body.innerText; \
                 const m = t.match(/\\d{4}-\\d{2}-\\d{2}T\\d{2}/) || \
                 t.match(/(^|[^\\d-])\\d{4}-\\d{1,2}-\\d{1,2}(?![\\d-])/) || \
                 t.match(/\\b(admin|hall_manager|clerk|approver|issuance|agent|callback|supervisor):[A-Za-z0-9_.-]+/); \
                 return m ? m[0] : null;",
            )
            .await;
        let url = self.driver.current_url().await.unwrap();
        assert_eq!(found, serde_json::Value::Null, "machine text on {url}");
    }

    /// Saves a screenshot under target/screenshots/ (to look at when a test fails).
    pub async fn screenshot(&self, name: &str) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        let _ = std::fs::create_dir_all(&dir);
        let _ = self
            .driver
            .screenshot(&dir.join(format!("{name}.png")))
            .await;
    }

    /// Prints the page to PDF as Chrome's print dialog would (Chrome DevTools
    /// `Page.printToPDF`, the page's CSS `@page` size preferred), saves it under
    /// target/screenshots/{name}.pdf and returns what poppler reads from it.
    pub async fn print_pdf(&self, name: &str) -> Pdf {
        let v = self
            .driver
            .cdp()
            .send_raw(
                "Page.printToPDF",
                serde_json::json!({"preferCSSPageSize": true, "printBackground": true}),
            )
            .await
            .expect("Page.printToPDF");
        let bytes = base64_decode(v["data"].as_str().expect("PDF data"));
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join(format!("{name}.pdf"));
        std::fs::write(&path, bytes).unwrap();
        Pdf::read(path)
    }

    pub async fn quit(mut self) {
        let d = self.driver.clone();
        let _ = d.quit().await;
        let _ = self.chromedriver.kill();
        let _ = self.chromedriver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.chromedriver.kill();
    }
}

/// A printed PDF as poppler (`pdfinfo`, `pdftotext`) reads it.
pub struct Pdf {
    pub path: std::path::PathBuf,
    pub pages: u32,
    /// The first page's size in millimetres.
    pub width_mm: f64,
    pub height_mm: f64,
    pub text: String,
}

impl Pdf {
    /// Saves `bytes` (a PDF the server made) under target/screenshots/{name}.pdf and reads it
    /// with poppler.
    pub fn of_bytes(name: &str, bytes: &[u8]) -> Pdf {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join(format!("{name}.pdf"));
        std::fs::write(&path, bytes).unwrap();
        Pdf::read(path)
    }

    fn read(path: std::path::PathBuf) -> Pdf {
        let run = |cmd: &str, args: &[&str]| {
            let out = Command::new(cmd)
                .args(args)
                .output()
                .unwrap_or_else(|e| panic!("{cmd} ({e}): apt-get install -y poppler-utils"));
            String::from_utf8_lossy(&out.stdout).to_string()
        };
        let p = path.to_str().unwrap();
        let info = run("pdfinfo", &[p]);
        let field = |k: &str| {
            info.lines()
                .find_map(|l| l.strip_prefix(k))
                .map(str::trim)
                .unwrap_or_default()
                .to_string()
        };
        let pages = field("Pages:").parse().unwrap_or(0);
        // "Page size:      226.772 x 425.197 pts"
        let size = field("Page size:");
        let mut nums = size
            .split_whitespace()
            .filter_map(|w| w.parse::<f64>().ok())
            .map(|pt| pt * 25.4 / 72.0);
        let (width_mm, height_mm) = (nums.next().unwrap_or(0.0), nums.next().unwrap_or(0.0));
        let text = run("pdftotext", &["-layout", p, "-"]);
        Pdf {
            path,
            pages,
            width_mm,
            height_mm,
            text,
        }
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => 0,
    };
    let clean: Vec<u8> = s.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let n = chunk.iter().take_while(|c| **c != b'=').count();
        let b: Vec<u32> = chunk.iter().map(|c| u32::from(val(*c))).collect();
        let v = b.iter().fold(0u32, |acc, x| (acc << 6) | x) << (6 * (4 - b.len()));
        let bytes = [(v >> 16) as u8, (v >> 8) as u8, v as u8];
        out.extend_from_slice(&bytes[..n.saturating_sub(1)]);
    }
    out
}
