//! `dcert ministry serve` under attack: idle and slow connections, stalled uploads, a flood of
//! connections on the public address. The server closes what stalls, refuses what is over its
//! caps at once, and keeps answering genuine visitors and `/healthz`. Attackers connect from
//! other loopback addresses (127.0.0.2 and up) than the genuine visitor (127.0.0.1).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::ministry::{api, free_pair, ministry_serve, outcome};
use crate::process::{demo_dir, http};

/// The limits the test runs the server with: short timeouts, small caps.
const CONNECTIONS: &str = "
[server.connections]
max_connections = 200
max_connections_per_client = 20
header_timeout_secs = 1
idle_timeout_secs = 2
request_timeout_secs = 3
";

/// A connection to `port` from the loopback address `127.0.0.{from}`.
async fn connect(from: u8, port: u16) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from(([127, 0, 0, from], 0))).unwrap();
    socket.connect(SocketAddr::from(([127, 0, 0, 1], port))).await.unwrap()
}

/// How long until the server closes `stream` (reads whatever it answers meanwhile), at most `limit`.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(limit.saturating_sub(start.elapsed()), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(start.elapsed()),
            Ok(Ok(_)) => continue,
            Err(_) => return None,
        }
    }
}

/// The genuine visitor's health check, timed.
fn healthz(port: u16) -> (u16, Duration) {
    let start = Instant::now();
    let (status, _, _) = http(port, "GET", "/healthz", &[], b"");
    (status, start.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_slow_and_stalled_clients_are_closed_and_genuine_visitors_are_served() {
    let dir = demo_dir("resilience");
    let d = &dir.0;
    let port = free_pair();
    let config = include_str!("../../../../examples/ministry.toml").replace("moe-data/", "demo/").replace(
        "verifications_per_minute = 60",
        "verifications_per_minute = 0\nmax_upload_bytes_in_flight = 33554432",
    ) + CONNECTIONS;
    std::fs::write(d.join("ministry.toml"), config).unwrap();
    let server = tokio::task::block_in_place(|| ministry_serve(d, port));
    let genuine = std::fs::read(d.join("demo/samples/current-zh.pdf")).unwrap();

    // 1. One client opens 100 idle connections: those over its 20 are closed at once, its 20
    //    when they have sent no headers for a second; meanwhile others are served.
    let mut idle = Vec::new();
    for _ in 0..100 {
        idle.push(connect(2, port).await);
    }
    let (status, took) = tokio::task::block_in_place(|| healthz(port));
    assert_eq!(status, 200);
    assert!(took < Duration::from_secs(1), "healthz took {took:?} beside the idle connections");
    let mut closed_at_once = 0;
    for stream in &mut idle {
        if closed_within(stream, Duration::from_millis(20)).await.is_some() {
            closed_at_once += 1;
        }
    }
    assert!(
        (80..100).contains(&closed_at_once),
        "those over the client's cap, and only those, are closed at once: {closed_at_once} of 100"
    );
    for stream in &mut idle {
        assert!(closed_within(stream, Duration::from_secs(4)).await.is_some(), "an idle connection stays open");
    }

    // 2. Headers a byte at a time: closed by the header deadline, long before they end.
    let mut slow = connect(3, port).await;
    let request = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let start = Instant::now();
    let mut sent = 0;
    for byte in request {
        if slow.write_all(&[*byte]).await.is_err() {
            break;
        }
        sent += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
        if start.elapsed() > Duration::from_secs(6) {
            break;
        }
    }
    assert!(sent < request.len(), "the server waited for headers sent a byte every 200 ms ({sent} bytes)");

    // 3. A connection kept alive and then silent is closed after the idle timeout.
    let mut kept = connect(4, port).await;
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n").await.unwrap();
    let quiet = closed_within(&mut kept, Duration::from_secs(6)).await;
    assert!(quiet.is_some_and(|t| t >= Duration::from_millis(900)), "closed after staying idle: {quiet:?}");

    // 4. Uploads that send 9 MB and stall: memory is reserved as bytes arrive, so three of them
    //    hold 27 MB of the 32 MiB allowed here; a fourth is cut off when the memory runs out
    //    (long before the request deadline), a third upload from one client is refused at once,
    //    a genuine verification still succeeds within a second, and the stalled ones end at the
    //    request deadline.
    let stalled_upload = |from: u8, sent: usize| async move {
        let mut s = connect(from, port).await;
        let head = format!(
            "POST /api/v1/verify HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/pdf\r\nContent-Length: {}\r\n\r\n",
            10_000_000
        );
        s.write_all(head.as_bytes()).await.unwrap();
        let _ = s.write_all(&vec![b'%'; sent]).await;
        s
    };
    let mut stalled = Vec::new();
    for from in [10, 11, 12] {
        stalled.push(stalled_upload(from, 9_000_000).await);
    }
    for _ in 0..2 {
        stalled.push(stalled_upload(14, 16 << 10).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut fourth = tokio::spawn(stalled_upload(13, 9_000_000)).await.unwrap();
    let cut = closed_within(&mut fourth, Duration::from_millis(1500)).await;
    assert!(cut.is_some(), "an upload past the memory in flight is cut off at once, not at the deadline");
    let mut third = stalled_upload(14, 16 << 10).await;
    let mut answer = vec![0u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(2), third.read(&mut answer)).await.unwrap().unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]).into_owned();
    assert!(answer.starts_with("HTTP/1.1 503") && answer.contains("busy"), "a third upload from one client: {answer}");
    let start = Instant::now();
    let report = tokio::task::block_in_place(|| api(port, &genuine));
    assert_eq!(outcome(&report), ("success", None));
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "a genuine verification beside stalled uploads took {:?}",
        start.elapsed()
    );
    for stream in &mut stalled {
        let ended = closed_within(stream, Duration::from_secs(6)).await;
        assert!(ended.is_some(), "a stalled upload is ended by the request deadline");
    }

    // 5. A flood from many addresses fills the public listener: the console's listener, with
    //    its own caps, keeps answering /healthz, and the public one answers again once the
    //    flood's connections time out.
    let mut flood = Vec::new();
    for from in 20..40 {
        for _ in 0..15 {
            flood.push(connect(from, port).await);
        }
    }
    let (status, took) = tokio::task::block_in_place(|| healthz(port + 1));
    assert_eq!(status, 200, "the console's listener answers during a flood of the public one");
    assert!(took < Duration::from_secs(1), "{took:?}");
    for stream in &mut flood {
        assert!(closed_within(stream, Duration::from_secs(4)).await.is_some(), "a flood connection stays open");
    }
    let (status, _) = tokio::task::block_in_place(|| healthz(port));
    assert_eq!(status, 200, "the public site answers once the flood is gone");
    let mut server = server;
    assert!(server.0.try_wait().unwrap().is_none(), "the server is still running");
}
