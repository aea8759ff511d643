//! The one outbound HTTP/1.1 client ([`Outbound`], [`http_request`]): every call speaks TLS
//! (rustls with ring, the system's certificate authorities or a configured bundle); plain
//! `http://` is refused except to this machine (`localhost`, `127.0.0.0/8`, `::1`), where the
//! demo and tests run. Each request has a time limit and a bounded answer.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::header::HOST;
use axum::http::{HeaderMap, HeaderValue, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, ServerName};

/// Why an outbound request got no answer. Each message names the address and says what to do
/// where there is something to do.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OutboundError {
    /// The address does not parse, or has no host.
    #[error("{url} is not an address: {detail}")]
    BadAddress {
        /// The address.
        url: String,
        /// What is wrong with it.
        detail: String,
    },
    /// Plain HTTP to another machine.
    #[error(
        "{url}: plain http:// is allowed only to this machine; use https:// so that nobody on the way can read \
         or change the exchange"
    )]
    PlainHttp {
        /// The address.
        url: String,
    },
    /// Neither `https://` nor `http://`.
    #[error("{url}: only https:// addresses are supported")]
    Scheme {
        /// The address.
        url: String,
    },
    /// A bundle of certificate authorities that cannot be read or holds none.
    #[error("cannot read the certificate authorities in {path}: {detail}")]
    CaBundle {
        /// The bundle's path.
        path: String,
        /// Why.
        detail: String,
    },
    /// No bundle of certificate authorities on this machine.
    #[error(
        "no certificate authorities for TLS: install the system's (Debian: ca-certificates) or set {CA_BUNDLE_VAR} \
         to a PEM bundle"
    )]
    NoCertificateAuthorities,
    /// TLS could not be set up.
    #[error("TLS: {0}")]
    TlsSetup(String),
    /// The connection failed.
    #[error("{url}: cannot connect: {detail}")]
    Connect {
        /// The address.
        url: String,
        /// The system's words.
        detail: String,
    },
    /// The TLS handshake failed (an unknown certificate authority says so).
    #[error("{url}: the TLS connection failed: {detail}")]
    Tls {
        /// The address.
        url: String,
        /// What failed.
        detail: String,
    },
    /// The HTTP exchange failed, with its causes.
    #[error("{url}: {detail}")]
    Http {
        /// The address.
        url: String,
        /// What failed, with its causes.
        detail: String,
    },
    /// The answer was over [`MAX_RESPONSE_BYTES`] or broke off.
    #[error("{url}: the answer could not be read: {detail}")]
    Body {
        /// The address.
        url: String,
        /// Why.
        detail: String,
    },
    /// No whole answer within [`REQUEST_TIMEOUT`].
    #[error("{url} did not answer within {seconds} s")]
    Timeout {
        /// The address.
        url: String,
        /// The time limit.
        seconds: u64,
    },
}

/// How long one request may take, connecting and reading the whole answer included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The largest answer read, in bytes.
pub const MAX_RESPONSE_BYTES: usize = 16 << 20;

/// The environment variable naming a PEM bundle of the certificate authorities outbound TLS
/// trusts, instead of the system's.
pub const CA_BUNDLE_VAR: &str = "DCERT_CA_BUNDLE";

/// Where Linux distributions keep the system's certificate authorities.
const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// How outbound requests are made: the certificate authorities TLS trusts.
#[derive(Clone, Debug)]
pub struct Outbound {
    tls: Arc<rustls::ClientConfig>,
}

impl Outbound {
    /// Trusting the certificate authorities of a PEM bundle.
    pub fn with_ca_bundle(path: &Path) -> Result<Outbound, OutboundError> {
        let bundle = |detail: String| OutboundError::CaBundle { path: path.display().to_string(), detail };
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| bundle(e.to_string()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bundle(e.to_string()))?;
        let mut roots = rustls::RootCertStore::empty();
        let (added, _ignored) = roots.add_parsable_certificates(certs);
        if added == 0 {
            return Err(bundle("it holds no certificate authority".into()));
        }
        Outbound::with_roots(roots)
    }

    /// Trusting no certificate authority: for plain HTTP to this machine only.
    fn local_only() -> Result<Outbound, OutboundError> {
        Outbound::with_roots(rustls::RootCertStore::empty())
    }

    fn with_roots(roots: rustls::RootCertStore) -> Result<Outbound, OutboundError> {
        // ring is already in the build; rustls deprecates its provider only because it lacks
        // post-quantum key exchange, which would need aws-lc-rs (a C library build).
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| OutboundError::TlsSetup(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Outbound { tls: Arc::new(config) })
    }

    /// Trusting `DCERT_CA_BUNDLE`, `SSL_CERT_FILE`, or the system's certificate authorities;
    /// read once per process.
    pub fn system() -> Result<Outbound, OutboundError> {
        static SYSTEM: OnceLock<Result<Outbound, OutboundError>> = OnceLock::new();
        SYSTEM
            .get_or_init(|| {
                let configured = [CA_BUNDLE_VAR, "SSL_CERT_FILE"]
                    .iter()
                    .find_map(|var| std::env::var_os(var).filter(|v| !v.is_empty()).map(PathBuf::from));
                let path = configured
                    .or_else(|| SYSTEM_BUNDLES.iter().map(PathBuf::from).find(|p| p.exists()))
                    .ok_or(OutboundError::NoCertificateAuthorities)?;
                Outbound::with_ca_bundle(&path)
            })
            .clone()
    }

    /// Sends one HTTP/1.1 request and reads the whole answer: over TLS for `https://`, or in
    /// plain text to this machine only.
    ///
    /// Fails (with an error that says what to do) on another scheme, plain HTTP to another machine, a
    /// connection, certificate or protocol error, an answer over [`MAX_RESPONSE_BYTES`], or
    /// after [`REQUEST_TIMEOUT`]. Any status is an answer, not an error.
    pub async fn request(
        &self,
        method: Method,
        url: &str,
        headers: HeaderMap,
        body: Bytes,
    ) -> Result<(StatusCode, HeaderMap, Bytes), OutboundError> {
        let tls = check_address(url)?;
        let bad = |detail: String| OutboundError::BadAddress { url: url.to_owned(), detail };
        let uri: Uri = url.parse().map_err(|e: axum::http::uri::InvalidUri| bad(e.to_string()))?;
        let host = uri.host().ok_or_else(|| bad("no host".into()))?.to_owned();
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let authority = uri.authority().ok_or_else(|| bad("no host".into()))?.clone();
        let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
        let mut request =
            Request::builder().method(method).uri(path).body(Full::new(body)).map_err(|e| bad(e.to_string()))?;
        *request.headers_mut() = headers;
        if !request.headers().contains_key(HOST) {
            let value = HeaderValue::from_str(authority.as_str()).map_err(|e| bad(e.to_string()))?;
            request.headers_mut().insert(HOST, value);
        }
        let exchange = async {
            let bare = host.trim_start_matches('[').trim_end_matches(']').to_owned();
            let tcp = tokio::net::TcpStream::connect((bare.as_str(), port))
                .await
                .map_err(|e| OutboundError::Connect { url: url.to_owned(), detail: e.to_string() })?;
            let _ = tcp.set_nodelay(true);
            if tls {
                let name = ServerName::try_from(bare.clone()).map_err(|e| bad(e.to_string()))?;
                let stream = tokio_rustls::TlsConnector::from(Arc::clone(&self.tls))
                    .connect(name, tcp)
                    .await
                    .map_err(|e| OutboundError::Tls { url: url.to_owned(), detail: tls_error(&e) })?;
                exchange(url, TokioIo::new(stream), request).await
            } else {
                exchange(url, TokioIo::new(tcp), request).await
            }
        };
        tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|_| OutboundError::Timeout { url: url.to_owned(), seconds: REQUEST_TIMEOUT.as_secs() })?
    }
}

/// Whether an address may be called: `https://` anywhere (true: over TLS), `http://` to this
/// machine only (false); an error in words otherwise.
pub fn check_address(url: &str) -> Result<bool, OutboundError> {
    let bad = |detail: String| OutboundError::BadAddress { url: url.to_owned(), detail };
    let uri: Uri = url.parse().map_err(|e: axum::http::uri::InvalidUri| bad(e.to_string()))?;
    let host = uri.host().ok_or_else(|| bad("no host".into()))?;
    match uri.scheme_str() {
        Some("https") => Ok(true),
        Some("http") if is_this_machine(host) => Ok(false),
        Some("http") => Err(OutboundError::PlainHttp { url: url.to_owned() }),
        _ => Err(OutboundError::Scheme { url: url.to_owned() }),
    }
}

/// Whether `host` is this machine: `localhost`, or a loopback address.
fn is_this_machine(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost") || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A TLS failure in words: an unknown certificate authority says so.
fn tls_error(e: &std::io::Error) -> String {
    match e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
        Some(rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)) => {
            "the server's certificate is not issued by a certificate authority this machine trusts".into()
        }
        Some(rustls::Error::InvalidCertificate(problem)) => {
            format!("the server's certificate is not valid: {problem:?}")
        }
        _ => e.to_string(),
    }
}

/// One request on a fresh connection, and the whole answer.
async fn exchange<T>(
    url: &str,
    io: TokioIo<T>,
    request: Request<Full<Bytes>>,
) -> Result<(StatusCode, HeaderMap, Bytes), OutboundError>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io).await.map_err(|e| describe(url, &e))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let response = sender.send_request(request).await.map_err(|e| describe(url, &e))?;
    let (parts, body) = response.into_parts();
    let bytes = Limited::new(body, MAX_RESPONSE_BYTES)
        .collect()
        .await
        .map_err(|e| OutboundError::Body { url: url.to_owned(), detail: e.to_string() })?
        .to_bytes();
    Ok((parts.status, parts.headers, bytes))
}

impl Outbound {
    /// The client for calls to `url`: the system's certificate authorities for `https://`
    /// (read only when a call needs them), none for plain HTTP to this machine.
    pub fn for_url(url: &str) -> Result<Outbound, OutboundError> {
        if url.starts_with("https://") { Outbound::system() } else { Outbound::local_only() }
    }
}

/// Sends one request with the system's certificate authorities ([`Outbound::system`]).
pub async fn http_request(
    method: Method,
    url: &str,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, HeaderMap, Bytes), OutboundError> {
    Outbound::for_url(url)?.request(method, url, headers, body).await
}

/// A client error with its causes (hyper's own text is only the outermost).
fn describe(url: &str, e: &(dyn std::error::Error + 'static)) -> OutboundError {
    let mut detail = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        detail.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    OutboundError::Http { url: url.to_owned(), detail }
}
