//! The accept loop: hyper's HTTP/1 with the limits a public network needs, which `axum::serve`
//! does not expose (it gives hyper no timer, so hyper's header timeout never runs and a socket
//! that sends a header for ever is held for ever).
//!
//! - the request head must arrive within `header_read_timeout` (this also ends idle keep-alive
//!   connections, so a slot cannot be parked on);
//! - a request body that stalls longer than `body_read_timeout` between pieces is answered 408;
//! - at most `max_connections` connections are served at once: at the cap the loop stops
//!   accepting, so further connections wait in the kernel's listen backlog (they are not
//!   refused) until a served one ends.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt;
use tower_http::timeout::TimeoutBody;

/// The connection limits (from [`crate::Config`]).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub body_read_timeout: Duration,
    pub max_connections: usize,
}

/// Serves `app` until `shutdown` completes, then lets in-flight requests finish (idle
/// connections close at once) and returns when every connection has ended.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    // Dropping `stop_rx` tells connections to shut down; `done_tx.closed()` resolves when the
    // last connection task has dropped its receiver.
    let (stop_tx, stop_rx) = watch::channel(());
    let (done_tx, done_rx) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    accept_error(e).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let stop_tx = stop_tx.clone();
        let done_rx = done_rx.clone();
        tokio::spawn(async move {
            let body_timeout = limits.body_read_timeout;
            let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                let mut req = req.map(|b| Body::new(TimeoutBody::new(body_timeout, b)));
                // The peer address feeds login throttling (`accounts::ClientAddress`).
                req.extensions_mut().insert(ConnectInfo(peer));
                app.clone().oneshot(req)
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout)
                .serve_connection(TokioIo::new(stream), service);
            let mut conn = std::pin::pin!(conn);
            let mut stopping = std::pin::pin!(stop_tx.closed());
            let mut stopped = false;
            loop {
                tokio::select! {
                    r = conn.as_mut() => {
                        if let Err(e) = r {
                            // Timeouts and clients that hang up are routine on a public network.
                            tracing::debug!(peer = %peer, error = %e, "connection ended");
                        }
                        break;
                    }
                    // Polled once only: a finished `closed()` must not be polled again.
                    _ = &mut stopping, if !stopped => {
                        stopped = true;
                        conn.as_mut().graceful_shutdown();
                    }
                }
            }
            drop(permit);
            drop(done_rx);
        });
    }
    drop(listener);
    drop(stop_rx);
    drop(done_rx);
    done_tx.closed().await;
}

/// Out of descriptors or memory, accepting again at once would spin; a client that gave up
/// between connecting and being accepted is nothing to wait for.
async fn accept_error(e: std::io::Error) {
    use std::io::ErrorKind::*;
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionReset | ConnectionRefused | Interrupted
    ) {
        return;
    }
    tracing::warn!(error = %e, "accept failed; retrying in 100 ms");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// Whether a body read failed because the client stalled past `body_read_timeout`.
pub fn is_body_timeout(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(e) = cur {
        if e.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        cur = e.source();
    }
    false
}
