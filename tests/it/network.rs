//! Hardening for a government network (issue 15): sockets that never finish a request, a cap on
//! connections, and a database that drops its connections under the server.

use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use yichuang_server::Config;

use crate::support::{TestServer, config, on_each_backend};

/// Generous: the server's own limits in these tests are a second or less.
const PATIENCE: Duration = Duration::from_secs(15);

fn sqlite_config() -> Config {
    config(&yichuang_store::testing::sqlite_url())
}

/// Reads until the server closes the connection (or resets it); what it said before, if anything.
async fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return String::from_utf8_lossy(&got).into_owned(),
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// Reads until the end of a response head.
async fn read_head(stream: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

async fn connect(s: &TestServer) -> TcpStream {
    TcpStream::connect(s.running.addr).await.unwrap()
}

#[tokio::test]
async fn a_client_that_never_finishes_its_request_head_is_disconnected_after_the_header_timeout() {
    let s = TestServer::start_with(Config {
        header_read_timeout: Duration::from_secs(1),
        ..sqlite_config()
    })
    .await;
    let mut idle = connect(&s).await;
    let mut partial = connect(&s).await;
    partial
        .write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        .await
        .unwrap();
    for stream in [&mut partial, &mut idle] {
        tokio::time::timeout(PATIENCE, read_until_closed(stream))
            .await
            .expect("the server closes a connection whose request head never ends");
    }
    // The server itself is unharmed.
    let (st, _) = s.get_json("/api/v1/health", None).await;
    assert_eq!(st, 200);
    s.running.stop().await;
}

#[tokio::test]
async fn a_request_body_that_stalls_is_answered_408_after_the_body_timeout() {
    let s = TestServer::start_with(Config {
        body_read_timeout: Duration::from_secs(1),
        ..sqlite_config()
    })
    .await;
    let mut stream = connect(&s).await;
    stream
        .write_all(
            b"POST /api/v1/auth/login HTTP/1.1\r\nHost: localhost\r\n\
              Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"username\": ",
        )
        .await
        .unwrap();
    let answer = tokio::time::timeout(PATIENCE, read_head(&mut stream))
        .await
        .expect("the server answers a stalled body instead of waiting for it");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    s.running.stop().await;
}

#[tokio::test]
async fn beyond_the_connection_cap_a_new_connection_waits_until_a_served_one_ends() {
    let s = TestServer::start_with(Config {
        max_connections: 4,
        ..sqlite_config()
    })
    .await;
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(connect(&s).await);
    }
    let mut fifth = connect(&s).await;
    fifth
        .write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    // Negative on purpose: with four connections held the fifth is not taken up at all.
    let early = tokio::time::timeout(Duration::from_millis(500), read_head(&mut fifth)).await;
    assert!(
        early.is_err(),
        "the fifth connection was served past the cap: {early:?}"
    );
    drop(idle.pop());
    let answer = tokio::time::timeout(PATIENCE, read_head(&mut fifth))
        .await
        .expect("a freed slot serves the waiting connection");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    s.running.stop().await;
}

#[tokio::test]
async fn a_ticket_is_issued_once_when_postgresql_terminates_the_servers_connections_mid_transaction()
 {
    on_each_backend(|url| async move {
        if !url.starts_with("postgres") {
            return;
        }
        use sqlx::Connection;
        let s = TestServer::start(&url).await;
        let (admin, _, _) = crate::hall::demo_hall(&s).await;
        crate::hall::take_ok(&s, Some(&admin), "a").await;

        let observer = sqlx::PgPool::connect(&url).await.unwrap();
        let mut locker = sqlx::PgConnection::connect(&url).await.unwrap();
        let locker_pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&mut locker)
            .await
            .unwrap();
        // Holds the next ticket's INSERT (reads still pass), so the server's transaction is
        // caught half-way when its connection is ended.
        sqlx::query("BEGIN").execute(&mut locker).await.unwrap();
        sqlx::query("LOCK TABLE tickets IN EXCLUSIVE MODE")
            .execute(&mut locker)
            .await
            .unwrap();
        let take = s
            .client
            .post(s.at(&format!("/api/v1/halls/{}/tickets", crate::hall::HALL)))
            .bearer_auth(&admin)
            .json(&json!({"queue": "a"}))
            .send();
        let take = tokio::spawn(take);
        let waiting = async {
            loop {
                let n: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
                     AND wait_event_type = 'Lock' AND pid <> $1",
                )
                .bind(locker_pid)
                .fetch_one(&observer)
                .await
                .unwrap();
                if n > 0 {
                    return;
                }
                // Polls PostgreSQL's own view of the lock (bounded by PATIENCE below): no
                // amount of clock moving makes another backend wait sooner.
                tokio::task::yield_now().await;
            }
        };
        tokio::time::timeout(PATIENCE, waiting)
            .await
            .expect("the server's ticket transaction waits on the lock");
        let ended: Vec<bool> = sqlx::query_scalar(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid() AND pid <> $1",
        )
        .bind(locker_pid)
        .fetch_all(&observer)
        .await
        .unwrap();
        assert!(!ended.is_empty());
        sqlx::query("ROLLBACK").execute(&mut locker).await.unwrap();

        let r = tokio::time::timeout(PATIENCE, take)
            .await
            .expect("the ticket request finishes")
            .unwrap()
            .unwrap();
        let status = r.status().as_u16();
        let body = r.text().await.unwrap();
        assert_eq!(status, 201, "{body}");
        let issued: i64 = sqlx::query_scalar("SELECT count(*) FROM tickets")
            .fetch_one(&observer)
            .await
            .unwrap();
        assert_eq!(issued, 2, "the retried ticket is issued exactly once");
        observer.close().await;
        s.running.stop().await;
    })
    .await;
}
