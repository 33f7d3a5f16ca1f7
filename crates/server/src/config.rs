//! Configuration: flags, then `YICHUANG_*` environment variables, then an optional TOML file,
//! then defaults (main.rs merges them in that order). Secrets are kept out of `Debug`.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;

#[derive(Clone)]
pub struct Config {
    pub addr: SocketAddr,
    pub database_url: String,
    pub dev_clock: bool,
    /// Load the demo data set into an empty database at start.
    pub demo: bool,
    /// `YICHUANG_ADMIN_PASSWORD`: the `admin` account exists with this password.
    pub admin_password: Option<String>,
    /// How often the timer worker looks for due timers.
    pub worker_interval_ms: u64,
    /// The name this instance signs fired timers with.
    pub instance: String,
    /// Sessions expire after this many hours without use.
    pub session_hours: i64,
    /// Whether to run the background workers (tests of pure HTTP may turn them off).
    pub workers: bool,
    /// The address applicants reach this hall's pages at (`https://zwfw.example.gov.cn`): what
    /// the verification QR code on a certificate opens. None: certificates carry no QR code
    /// (a request's Host is not known when a decision is made, e.g. by the worker).
    pub public_url: Option<String>,
    /// A client must send its whole request head within this time of connecting (or of its
    /// previous response), else it is disconnected: a socket that never finishes a header would
    /// otherwise hold a descriptor for ever. Also ends idle keep-alive connections.
    pub header_read_timeout: Duration,
    /// The longest wait for the next piece of a request body; a body that stalls longer is
    /// answered 408.
    pub body_read_timeout: Duration,
    /// Connections served at once. Beyond it the server stops accepting: new connections wait in
    /// the listen backlog until one ends, so descriptors stay bounded however many sockets
    /// arrive, and the header timeout makes sure a slot frees.
    pub max_connections: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            addr: "127.0.0.1:8080".parse().expect("valid default address"),
            database_url: "sqlite://yichuang.db".into(),
            dev_clock: false,
            demo: false,
            admin_password: None,
            worker_interval_ms: 1000,
            instance: default_instance(),
            session_hours: 12,
            workers: true,
            public_url: None,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            max_connections: 1024,
        }
    }
}

fn default_instance() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "yichuang".into());
    format!("{host}-{}", std::process::id())
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("addr", &self.addr)
            .field("database_url", &redact_url(&self.database_url))
            .field("dev_clock", &self.dev_clock)
            .field("demo", &self.demo)
            .field(
                "admin_password",
                &self.admin_password.as_ref().map(|_| "******"),
            )
            .field("worker_interval_ms", &self.worker_interval_ms)
            .field("instance", &self.instance)
            .field("session_hours", &self.session_hours)
            .field("public_url", &self.public_url)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("body_read_timeout", &self.body_read_timeout)
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

/// Hides a password in a database URL (`postgres://user:secret@host` → `postgres://user:***@host`).
pub fn redact_url(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://")
        && let Some((cred, host)) = rest.split_once('@')
        && let Some((user, _)) = cred.split_once(':')
    {
        return format!("{scheme}://{user}:***@{host}");
    }
    url.to_string()
}

/// The optional TOML file (`--config PATH` or `YICHUANG_CONFIG`). Every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub addr: Option<SocketAddr>,
    pub database: Option<String>,
    pub dev_clock: Option<bool>,
    pub worker_interval_ms: Option<u64>,
    pub instance: Option<String>,
    pub session_hours: Option<i64>,
    pub public_url: Option<String>,
    pub header_read_timeout_secs: Option<u64>,
    pub body_read_timeout_secs: Option<u64>,
    pub max_connections: Option<usize>,
}

/// Checks a public URL (`http://` or `https://`, no spaces) and drops a trailing `/`.
pub fn check_public_url(url: &str) -> Result<String, String> {
    let url = url.trim().trim_end_matches('/');
    let ok = (url.starts_with("http://") || url.starts_with("https://"))
        && url.len() > "https://".len()
        && !url.contains(char::is_whitespace);
    if ok {
        Ok(url.to_string())
    } else {
        Err(format!(
            "public_url 应为 http:// 或 https:// 开头的地址，例如 https://zwfw.example.gov.cn，而不是“{url}”"
        ))
    }
}

impl FileConfig {
    pub fn load(path: &std::path::Path) -> Result<FileConfig, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("无法读取配置文件 {}：{e}", path.display()))?;
        toml::from_str(&text).map_err(|e| format!("配置文件 {} 有误：{e}", path.display()))
    }
}

#[cfg(test)]
mod public_url_tests {
    use super::check_public_url;

    #[test]
    fn a_public_url_is_http_or_https_and_loses_its_trailing_slash() {
        assert_eq!(
            check_public_url(" https://zwfw.example.gov.cn/ ").as_deref(),
            Ok("https://zwfw.example.gov.cn")
        );
        assert_eq!(
            check_public_url("http://10.1.2.3:8080").as_deref(),
            Ok("http://10.1.2.3:8080")
        );
        for bad in ["zwfw.example.gov.cn", "https://", "ftp://x", "https://a b"] {
            assert!(check_public_url(bad).is_err(), "{bad}");
        }
    }
}
