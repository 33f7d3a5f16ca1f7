//! The yichuang server: the HTTP API, pages, authentication and background workers.

// Handlers and page helpers answer early with a whole `Response` as their error (a login page, a
// problem+json), as axum's extractors do; boxing it would only add an allocation on that path.
#![allow(clippy::result_large_err)]

pub mod accounts;
pub mod agency;
pub mod api;
pub mod assets;
pub mod auth;
pub mod caches;
pub mod calendar;
pub mod cases;
pub mod catalogue;
pub mod clock;
pub mod config;
pub mod counter;
pub mod demo;
pub mod error;
pub mod extract;
pub mod hall;
pub mod lockers;
pub mod logging;
pub mod metrics;
pub mod pages;
pub mod people;
pub mod qr;
pub mod ratings;
pub mod security;
pub mod serve;
pub mod state;
pub mod supervision;
pub mod work_orders;
pub mod worker;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderName, Request};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use yichuang_domain::{Error, Result};
use yichuang_store::Db;

pub use clock::Clock;
pub use config::Config;
pub use state::AppState;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole application: API, pages and assets, with request ids on every log line.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(pages::routes())
        .route("/static/{name}", axum::routing::get(assets::serve))
        .route("/favicon.ico", axum::routing::get(assets::favicon))
        .route("/metrics", axum::routing::get(metrics::metrics))
        .merge(api::routes())
        .fallback(pages::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            pages::error_pages,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::token_scope,
        ))
        .layer(axum::middleware::from_fn(security::refuse_nul_in_address))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            security::refuse_cross_site,
        ))
        .layer(axum::middleware::from_fn(security::headers))
        // The database's change counter is read at most once per request, and a write takes
        // it from the last read and checks it with its writes. Inside the metrics, which so
        // count a request that ran again once, with the answer it got.
        .layer(axum::middleware::from_fn(counter::scope))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::record,
        ))
        .layer(
            tower::ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                    let id = req.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
                    let path = logging::escape(req.uri().path());
                    tracing::info_span!("request", id = %id, method = %req.method(), path = %path)
                }))
                .layer(PropagateRequestIdLayer::new(REQUEST_ID)),
        )
        .with_state(state)
}

/// Connects, migrates and prepares the database (admin account, shipped calendar, demo data).
pub async fn prepare(config: &Config) -> Result<Db> {
    let db = Db::connect(&config.database_url).await?;
    db.migrate().await?;
    accounts::bootstrap(&db, config).await?;
    calendar::seed(&db, chrono::Utc::now()).await?;
    if config.demo
        && demo::load_if_empty(&db, config.admin_password.is_some(), chrono::Utc::now()).await?
    {
        println!(
            "已载入示范数据（云岭市政务服务中心）。管理员账号 admin，密码见 README（未设置 YICHUANG_ADMIN_PASSWORD 时为 {}）",
            demo::DEMO_ADMIN_PASSWORD
        );
    }
    Ok(db)
}

/// A running server.
pub struct Running {
    pub addr: SocketAddr,
    pub state: AppState,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<()>,
    worker: Option<tokio::task::JoinHandle<()>>,
    feed: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, finishes in-flight requests, stops the worker.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(w) = self.worker.take() {
            w.abort();
        }
        for t in self.feed.drain(..) {
            t.abort();
        }
        let _ = (&mut self.server).await;
    }

    /// Waits until the server stops (on Ctrl-C / SIGTERM when started by the binary).
    pub async fn wait(mut self) {
        let _ = (&mut self.server).await;
        if let Some(w) = self.worker.take() {
            w.abort();
        }
    }
}

/// Prepares the database and serves on `config.addr` (port 0 picks a free port).
pub async fn start(config: Config) -> Result<Running> {
    let db = prepare(&config).await?;
    let clock = if config.dev_clock {
        tracing::warn!(
            "--dev-clock is on: PUT /api/v1/dev/clock can move the server's clock; never use this in production"
        );
        Clock::dev()
    } else {
        Clock::system()
    };
    let state = AppState::new(state::Shared {
        db,
        clock,
        config: Arc::new(config),
        hall_feed: hall::feed::Hub::new(),
        calendar: calendar::Cache::default(),
        caches: Arc::new(caches::Caches::default()),
        requests: Arc::new(metrics::Requests::default()),
    });
    let listener = tokio::net::TcpListener::bind(state.config.addr)
        .await
        .map_err(|e| {
            Error::new(
                yichuang_domain::Kind::Unavailable,
                "bind_failed",
                format!("无法监听地址 {}：{e}", state.config.addr),
            )
        })?;
    let addr = listener.local_addr().map_err(Error::internal)?;
    let app = router(state.clone());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let hub = state.hall_feed.clone();
    let config = state.config.clone();
    let server = tokio::spawn(async move {
        let limits = serve::Limits {
            header_read_timeout: config.header_read_timeout,
            body_read_timeout: config.body_read_timeout,
            max_connections: config.max_connections,
        };
        serve::serve(listener, app, limits, async move {
            tokio::select! {
                _ = rx => {}
                _ = shutdown_signal() => {}
            }
            // Live feeds never end by themselves: close them so shutdown completes.
            hub.close();
        })
        .await;
    });
    if state.config.workers {
        supervision::ensure_sweep(&state).await?;
    }
    let worker = state.config.workers.then(|| worker::spawn(state.clone()));
    let feed = state.hall_feed.spawn(state.db.clone());
    Ok(Running {
        addr,
        state,
        shutdown: Some(tx),
        server,
        worker,
        feed,
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
