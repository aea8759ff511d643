//! The Ministry's registry over HTTPS: [`HttpRegistry`] submits the worker's records as signed
//! requests to `POST {base}/api/v1/records` (see [`crate::ministry::records`] for the scheme),
//! and [`Outbound`] / [`http_request`], a small HTTP/1.1 client that other tools reuse. Every
//! outbound call speaks TLS (rustls, with the system's certificate authorities or a configured
//! bundle); plain `http://` is refused except to this machine (`localhost`, `127.0.0.0/8`,
//! `::1`), where the demo and tests run.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::header::{CONTENT_TYPE, HOST};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, Uri};
use dcert_core::issue::IssuerKit;
use dcert_core::keys::CredentialKey;
use dcert_core::records::{self, RequestToSign};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, ServerName};

use super::worker::{Registry, RegistryFuture, RegistryPayload};
use crate::ministry::records::{INSTITUTION_HEADER, NONCE_HEADER, PATH, SIGNATURE_HEADER, TIMESTAMP_HEADER};

/// How long one request may take, connecting and reading the whole answer included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The largest answer read, in bytes.
pub const MAX_RESPONSE_BYTES: usize = 16 << 20;

/// How many times a request is sent with a new nonce when the registry calls it a replay.
const REPLAY_ATTEMPTS: usize = 3;

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
    pub fn with_ca_bundle(path: &Path) -> Result<Outbound, String> {
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| format!("cannot read the certificate authorities in {}: {e}", path.display()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("cannot read the certificate authorities in {}: {e}", path.display()))?;
        let mut roots = rustls::RootCertStore::empty();
        let (added, _ignored) = roots.add_parsable_certificates(certs);
        if added == 0 {
            return Err(format!("{} holds no certificate authority", path.display()));
        }
        Outbound::with_roots(roots)
    }

    /// Trusting no certificate authority: for plain HTTP to this machine only.
    fn local_only() -> Result<Outbound, String> {
        Outbound::with_roots(rustls::RootCertStore::empty())
    }

    fn with_roots(roots: rustls::RootCertStore) -> Result<Outbound, String> {
        // ring is already in the build; rustls deprecates its provider only because it lacks
        // post-quantum key exchange, which would need aws-lc-rs (a C library build).
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Outbound { tls: Arc::new(config) })
    }

    /// Trusting `DCERT_CA_BUNDLE`, `SSL_CERT_FILE`, or the system's certificate authorities;
    /// read once per process.
    pub fn system() -> Result<Outbound, String> {
        static SYSTEM: OnceLock<Result<Outbound, String>> = OnceLock::new();
        SYSTEM
            .get_or_init(|| {
                let configured = [CA_BUNDLE_VAR, "SSL_CERT_FILE"]
                    .iter()
                    .find_map(|var| std::env::var_os(var).filter(|v| !v.is_empty()).map(PathBuf::from));
                let path = configured
                    .or_else(|| SYSTEM_BUNDLES.iter().map(PathBuf::from).find(|p| p.exists()))
                    .ok_or_else(|| {
                        format!(
                            "no certificate authorities for TLS: install the system's (Debian: ca-certificates) or \
                             set {CA_BUNDLE_VAR} to a PEM bundle"
                        )
                    })?;
                Outbound::with_ca_bundle(&path)
            })
            .clone()
    }

    /// Sends one HTTP/1.1 request and reads the whole answer: over TLS for `https://`, or in
    /// plain text to this machine only.
    ///
    /// Fails (with a text for people) on another scheme, plain HTTP to another machine, a
    /// connection, certificate or protocol error, an answer over [`MAX_RESPONSE_BYTES`], or
    /// after [`REQUEST_TIMEOUT`]. Any status is an answer, not an error.
    pub async fn request(
        &self,
        method: Method,
        url: &str,
        headers: HeaderMap,
        body: Bytes,
    ) -> Result<(StatusCode, HeaderMap, Bytes), String> {
        let tls = check_address(url)?;
        let uri: Uri = url.parse().map_err(|e| format!("{url} is not an address: {e}"))?;
        let host = uri.host().ok_or_else(|| format!("{url} has no host"))?.to_owned();
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let authority = uri.authority().ok_or_else(|| format!("{url} has no host"))?.clone();
        let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
        let mut request =
            Request::builder().method(method).uri(path).body(Full::new(body)).map_err(|e| e.to_string())?;
        *request.headers_mut() = headers;
        if !request.headers().contains_key(HOST) {
            let value = HeaderValue::from_str(authority.as_str()).map_err(|e| format!("{url}: {e}"))?;
            request.headers_mut().insert(HOST, value);
        }
        let exchange = async {
            let bare = host.trim_start_matches('[').trim_end_matches(']').to_owned();
            let tcp = tokio::net::TcpStream::connect((bare.as_str(), port))
                .await
                .map_err(|e| format!("{url}: cannot connect: {e}"))?;
            let _ = tcp.set_nodelay(true);
            if tls {
                let name = ServerName::try_from(bare.clone()).map_err(|e| format!("{url}: {e}"))?;
                let stream = tokio_rustls::TlsConnector::from(Arc::clone(&self.tls))
                    .connect(name, tcp)
                    .await
                    .map_err(|e| format!("{url}: the TLS connection failed: {}", tls_error(&e)))?;
                exchange(url, TokioIo::new(stream), request).await
            } else {
                exchange(url, TokioIo::new(tcp), request).await
            }
        };
        tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|_| format!("{url} did not answer within {} s", REQUEST_TIMEOUT.as_secs()))?
    }
}

/// Whether an address may be called: `https://` anywhere (true: over TLS), `http://` to this
/// machine only (false); an error in words otherwise.
pub fn check_address(url: &str) -> Result<bool, String> {
    let uri: Uri = url.parse().map_err(|e| format!("{url} is not an address: {e}"))?;
    let host = uri.host().ok_or_else(|| format!("{url} has no host"))?;
    match uri.scheme_str() {
        Some("https") => Ok(true),
        Some("http") if is_this_machine(host) => Ok(false),
        Some("http") => Err(format!(
            "{url}: plain http:// is allowed only to this machine; use https:// so that nobody on the way can read \
             or change the exchange"
        )),
        _ => Err(format!("{url}: only https:// addresses are supported")),
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
) -> Result<(StatusCode, HeaderMap, Bytes), String>
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
        .map_err(|e| format!("{url}: the answer could not be read: {e}"))?
        .to_bytes();
    Ok((parts.status, parts.headers, bytes))
}

/// Sends one request with the system's certificate authorities ([`Outbound::system`]).
pub async fn http_request(
    method: Method,
    url: &str,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, HeaderMap, Bytes), String> {
    // The system's authorities are read only for a call that needs them.
    let outbound = if url.starts_with("https://") { Outbound::system()? } else { Outbound::local_only()? };
    outbound.request(method, url, headers, body).await
}

/// A client error with its causes (hyper's own text is only the outermost).
fn describe(url: &str, e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = format!("{url}: {e}");
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

/// The Ministry's registry reached over HTTP, every request signed with the institution's
/// credential key.
#[derive(Clone, Debug)]
pub struct HttpRegistry {
    /// The Ministry site's address, e.g. `http://registry.internal:8081` (no trailing `/` needed).
    pub base_url: String,
    /// The institution's id in the trust list.
    pub institution: String,
    /// The institution's credential key, which the trust list names.
    pub key: CredentialKey,
}

impl HttpRegistry {
    /// The registry at `base_url`, signing as the kit's institution with its credential key.
    pub fn new(base_url: &str, kit: &IssuerKit) -> HttpRegistry {
        HttpRegistry {
            base_url: base_url.trim_end_matches('/').to_owned(),
            institution: kit.issuer.id.clone(),
            key: kit.credential_key.clone(),
        }
    }

    /// The headers of one signed request of `body`, with a new nonce.
    fn signed_headers(&self, body: &[u8]) -> Result<HeaderMap, String> {
        let mut random = [0u8; 24];
        getrandom::fill(&mut random).map_err(|e| format!("no randomness for a nonce: {e}"))?;
        let nonce = <base64ct::Base64UrlUnpadded as base64ct::Encoding>::encode_string(&random);
        let timestamp = crate::http::now();
        let signature = records::sign(
            &self.key,
            &RequestToSign {
                method: "POST",
                path: PATH,
                institution: &self.institution,
                timestamp,
                nonce: &nonce,
                body,
            },
        );
        let mut headers = HeaderMap::new();
        let mut put = |name: &'static str, value: &str| -> Result<(), String> {
            let value = HeaderValue::from_str(value).map_err(|_| format!("{name} cannot be sent as a header"))?;
            headers.insert(HeaderName::from_static(name), value);
            Ok(())
        };
        put(INSTITUTION_HEADER, &self.institution)?;
        put(TIMESTAMP_HEADER, &timestamp.unix().to_string())?;
        put(NONCE_HEADER, &nonce)?;
        put(SIGNATURE_HEADER, &signature)?;
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        Ok(headers)
    }

    async fn send(&self, payload: &RegistryPayload) -> Result<(), String> {
        let body = Bytes::from(serde_json::to_vec(payload).map_err(|e| e.to_string())?);
        let url = format!("{}{PATH}", self.base_url);
        let mut last = String::new();
        for _ in 0..REPLAY_ATTEMPTS {
            let headers = self.signed_headers(&body)?;
            let (status, _, answer) = http_request(Method::POST, &url, headers, body.clone()).await?;
            if status == StatusCode::OK || status == StatusCode::CREATED {
                return Ok(());
            }
            let (code, message) = server_error(&answer);
            last = format!("the registry refused the record ({}, {code}): {message}", status.as_u16());
            // A nonce seen before cannot be ours twice unless by chance: sign again with another.
            if !(status == StatusCode::CONFLICT && code == "replay") {
                break;
            }
        }
        Err(last)
    }
}

/// The code and text of the registry's JSON error, or the start of whatever it answered.
fn server_error(answer: &[u8]) -> (String, String) {
    #[derive(serde::Deserialize)]
    struct Answer {
        error: Error,
    }
    #[derive(serde::Deserialize)]
    struct Error {
        code: String,
        message: String,
    }
    match serde_json::from_slice::<Answer>(answer) {
        Ok(a) => (a.error.code, a.error.message),
        Err(_) => {
            let text = String::from_utf8_lossy(answer);
            ("-".to_owned(), text.chars().take(200).collect())
        }
    }
}

impl Registry for HttpRegistry {
    fn submit<'a>(&'a self, payload: &'a RegistryPayload) -> RegistryFuture<'a> {
        Box::pin(self.send(payload))
    }
}
