//! The listener's protections at their shipped defaults: 64 connections per client address, and
//! 10 seconds to send a request's headers.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use dcert_web::serve::{ConnectionLimits, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

async fn connect(from: u8, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from(([127, 0, 0, from], 0))).unwrap();
    socket.connect(to).await.unwrap()
}

/// Whether the server closes `stream` within `limit`.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let start = Instant::now();
    loop {
        match tokio::time::timeout(limit.saturating_sub(start.elapsed()), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

async fn site() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let router = Router::new().route("/healthz", get(|| async { "ok\n" }));
    tokio::spawn(serve(listener, router, ConnectionLimits::default(), std::future::pending()));
    address
}

#[tokio::test]
async fn one_client_holds_at_most_64_connections_and_others_are_still_served() {
    let address = site().await;
    let mut held = Vec::new();
    for _ in 0..70 {
        held.push(connect(31, address).await);
    }
    let mut closed = 0;
    for stream in &mut held {
        if closed_within(stream, Duration::from_millis(20)).await {
            closed += 1;
        }
    }
    assert_eq!(closed, 6, "the six over 64 are closed at once, the 64 wait for their headers");
    let mut other = connect(32, address).await;
    other.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut answer = String::new();
    other.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200") && answer.ends_with("ok\n"), "{answer}");
}

#[tokio::test]
async fn headers_not_sent_within_10_seconds_close_the_connection() {
    let address = site().await;
    let mut slow = connect(33, address).await;
    let start = Instant::now();
    slow.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
    assert!(closed_within(&mut slow, Duration::from_secs(15)).await, "still open after 15 s");
    let took = start.elapsed();
    assert!(took >= Duration::from_secs(9) && took < Duration::from_secs(12), "closed after {took:?}");
}
