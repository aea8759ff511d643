//! Serving a site on a listener so that no client can hold it: a cap on connections (in all and
//! per client), a deadline for a request's headers, an idle timeout, and a deadline for a whole
//! request, its body included.
//!
//! Each listener has its own caps, so an overload of one site (the Ministry's public one, say)
//! leaves another site of the same process, and its `/healthz`, answering.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower::ServiceExt as _;

/// How long and how many connections a listener allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConnectionLimits {
    /// Connections open at once on this listener; more are closed as they arrive (default 1024).
    pub max_connections: usize,
    /// Connections open at once from one client address (an IPv6 client by its /64); 0 for no
    /// per-client cap, e.g. behind a reverse proxy, whose address every connection has
    /// (default 64).
    pub max_connections_per_client: usize,
    /// Seconds a client has to send a request's headers (default 10).
    pub header_timeout_secs: u64,
    /// Seconds a connection may stay open with nothing sent either way (default 60).
    pub idle_timeout_secs: u64,
    /// Seconds a whole request may take, its body included (a 10 MB upload at 1 Mbit/s takes
    /// about 80): past it the answer is 408 and the connection is closed (default 120).
    pub request_timeout_secs: u64,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            max_connections_per_client: 64,
            header_timeout_secs: 10,
            idle_timeout_secs: 60,
            request_timeout_secs: 120,
        }
    }
}

/// The key one client's connections and requests are counted under: an IPv4 address, or an
/// IPv6 client's /64 (which one subscriber usually holds).
pub fn client_group(ip: IpAddr) -> String {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        IpAddr::V4(v4) => v4.to_string(),
    }
}

/// How many places (connections, uploads) each client holds; a [`ClientSlot`] gives its place
/// back when dropped.
#[derive(Debug, Default)]
pub(crate) struct PerClient {
    counts: Mutex<HashMap<String, usize>>,
}

/// One client's place, given back when dropped.
#[derive(Debug)]
pub(crate) struct ClientSlot {
    owner: Arc<PerClient>,
    client: String,
}

impl PerClient {
    /// A place for `client` if it holds fewer than `cap` (0: no cap).
    pub(crate) fn take(self: &Arc<Self>, client: &str, cap: usize) -> Option<ClientSlot> {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let mine = counts.entry(client.to_owned()).or_insert(0);
        if cap > 0 && *mine >= cap {
            return None;
        }
        *mine += 1;
        Some(ClientSlot { owner: Arc::clone(self), client: client.to_owned() })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut counts = self.owner.counts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = counts.get_mut(&self.client) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.client);
            }
        }
    }
}

/// A listener's open connections: in all, and per client.
struct Open {
    total: Arc<Semaphore>,
    per_client: Arc<PerClient>,
}

/// One admitted connection; dropping it gives the places back.
struct Admission {
    _total: OwnedSemaphorePermit,
    _client: ClientSlot,
}

impl Open {
    fn new(limits: &ConnectionLimits) -> Open {
        Open { total: Arc::new(Semaphore::new(limits.max_connections)), per_client: Arc::default() }
    }

    fn admit(&self, limits: &ConnectionLimits, peer: SocketAddr) -> Option<Admission> {
        let total = Arc::clone(&self.total).try_acquire_owned().ok()?;
        let client = self.per_client.take(&client_group(peer.ip()), limits.max_connections_per_client)?;
        Some(Admission { _total: total, _client: client })
    }
}

/// A stream that notes when a byte last went either way.
struct Watched {
    inner: TcpStream,
    last: Arc<AtomicU64>,
    started: Instant,
}

impl Watched {
    fn touch(&self) {
        self.last.store(self.started.elapsed().as_millis() as u64, Ordering::Relaxed);
    }
}

impl AsyncRead for Watched {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(poll, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.touch();
        }
        poll
    }
}

impl AsyncWrite for Watched {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<std::io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(poll, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        poll
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Answers 408 to a request that is not done within the deadline, body included.
async fn request_deadline(deadline: Duration, request: Request, next: Next) -> Response {
    match tokio::time::timeout(deadline, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(seconds = deadline.as_secs(), "a request ran past its deadline");
            let mut response = (
                StatusCode::REQUEST_TIMEOUT,
                "要求逾時，請重新連線後再試。 The request took too long; connect again and retry.\n",
            )
                .into_response();
            response
                .headers_mut()
                .insert(axum::http::header::CONNECTION, axum::http::HeaderValue::from_static("close"));
            response
        }
    }
}

/// Serves `router` on `listener` within `limits` until `shutdown` completes; requests carry the
/// peer's address as `ConnectInfo<SocketAddr>`. Connections over a cap are closed at once;
/// connections that stall are closed by the timeouts.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let deadline = Duration::from_secs(limits.request_timeout_secs.max(1));
    let router = router
        .layer(middleware::from_fn(move |request: Request, next: Next| request_deadline(deadline, request, next)));
    let open = Open::new(&limits);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of descriptors, or the peer gave up: wait a little, never spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(admission) = open.admit(&limits, peer) else {
            // Closing at once is the cheapest answer to a client that holds too many.
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let started = Instant::now();
        let last = Arc::new(AtomicU64::new(0));
        let io = TokioIo::new(Watched { inner: stream, last: Arc::clone(&last), started });
        let service = router.clone().map_request(move |mut request: Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            request
        });
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let _admission = admission;
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(limits.header_timeout_secs.max(1)))
                .keep_alive(true);
            let connection = builder.serve_connection(io, TowerToHyperService::new(service));
            let mut connection = std::pin::pin!(connection);
            let idle = Duration::from_secs(limits.idle_timeout_secs.max(1));
            let mut tick = tokio::time::interval(Duration::from_millis(250).min(idle));
            loop {
                tokio::select! {
                    _ = connection.as_mut() => break,
                    _ = tick.tick() => {
                        let quiet = started.elapsed().saturating_sub(Duration::from_millis(last.load(Ordering::Relaxed)));
                        if quiet >= idle {
                            // Nothing either way for the whole idle time: the connection goes,
                            // whatever state its request is in.
                            break;
                        }
                    }
                    _ = stop.changed() => {
                        connection.as_mut().graceful_shutdown();
                        let _ = tokio::time::timeout(Duration::from_secs(5), connection.as_mut()).await;
                        break;
                    }
                }
            }
        });
    }
    let _ = stop_tx.send(true);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_are_capped_in_all_and_per_client_and_given_back_when_closed() {
        let limits = ConnectionLimits { max_connections: 3, max_connections_per_client: 2, ..Default::default() };
        let open = Open::new(&limits);
        let a: SocketAddr = "192.0.2.1:1000".parse().unwrap();
        let b: SocketAddr = "[2001:db8:1:2:3::4]:1000".parse().unwrap();
        let b2: SocketAddr = "[2001:db8:1:2:ffff::9]:1000".parse().unwrap();
        let first = open.admit(&limits, a).unwrap();
        let _second = open.admit(&limits, a).unwrap();
        assert!(open.admit(&limits, a).is_none(), "a third from one client");
        let _third = open.admit(&limits, b).unwrap();
        assert!(open.admit(&limits, b2).is_none(), "the total is reached");
        drop(first);
        let _fourth = open.admit(&limits, b2).expect("room again, and b's /64 has one connection");
        assert!(open.admit(&limits, b2).is_none(), "b2 counts with b: their /64 has two");
        assert_eq!(open.total.available_permits(), 0, "three are open");
    }

    #[test]
    fn an_ipv6_client_is_counted_by_its_64() {
        assert_eq!(client_group("2001:db8:1:2:3::4".parse().unwrap()), "2001:db8:1:2::/64");
        assert_eq!(client_group("::ffff:192.0.2.7".parse().unwrap()), "192.0.2.7");
    }
}
