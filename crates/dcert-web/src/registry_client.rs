//! The Ministry's registry over HTTP: [`HttpRegistry`] submits the worker's records as signed
//! requests to `POST {base}/api/v1/records` (see [`crate::ministry::records`] for the scheme),
//! and [`http_request`], a small HTTP/1.1 client over plain `http://` that other tools reuse
//! (TLS, where needed, is a reverse proxy's work).

use std::time::Duration;

use axum::body::Bytes;
use axum::http::header::{CONTENT_TYPE, HOST};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, Uri};
use dcert_core::issue::IssuerKit;
use dcert_core::keys::CredentialKey;
use dcert_core::records::{self, RequestToSign};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::ministry::records::{INSTITUTION_HEADER, NONCE_HEADER, PATH, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use crate::worker::{Registry, RegistryFuture, RegistryPayload};

/// How long one request may take, connecting and reading the whole answer included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The largest answer read, in bytes.
pub const MAX_RESPONSE_BYTES: usize = 16 << 20;

/// How many times a request is sent with a new nonce when the registry calls it a replay.
const REPLAY_ATTEMPTS: usize = 3;

/// Sends one HTTP/1.1 request to a plain `http://` address and reads the whole answer.
///
/// Fails (with a text for people) on another scheme, a connection or protocol error, an answer
/// over [`MAX_RESPONSE_BYTES`], or after [`REQUEST_TIMEOUT`]. Any status is an answer, not an
/// error.
pub async fn http_request(
    method: Method,
    url: &str,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, HeaderMap, Bytes), String> {
    let uri: Uri = url.parse().map_err(|e| format!("{url} is not an address: {e}"))?;
    if uri.scheme_str() != Some("http") {
        return Err(format!("{url}: only http:// addresses are supported"));
    }
    let authority = uri.authority().ok_or_else(|| format!("{url} has no host"))?.clone();
    let mut request = Request::builder().method(method).uri(uri).body(Full::new(body)).map_err(|e| e.to_string())?;
    *request.headers_mut() = headers;
    if !request.headers().contains_key(HOST) {
        let host = HeaderValue::from_str(authority.as_str()).map_err(|e| format!("{url}: {e}"))?;
        request.headers_mut().insert(HOST, host);
    }
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let exchange = async {
        let response = client.request(request).await.map_err(|e| describe(url, &e))?;
        let (parts, body) = response.into_parts();
        let bytes = Limited::new(body, MAX_RESPONSE_BYTES)
            .collect()
            .await
            .map_err(|e| format!("{url}: the answer could not be read: {e}"))?
            .to_bytes();
        Ok((parts.status, parts.headers, bytes))
    };
    tokio::time::timeout(REQUEST_TIMEOUT, exchange)
        .await
        .map_err(|_| format!("{url} did not answer within {} s", REQUEST_TIMEOUT.as_secs()))?
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
        let timestamp = crate::now();
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
