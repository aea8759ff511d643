//! The Ministry's registry over HTTPS: [`HttpRegistry`] submits the worker's records as signed
//! requests to `POST {base}/api/v1/records` (see [`dcert_core::records`] for the scheme), through
//! the one outbound client ([`crate::http::outbound`]).

use axum::body::Bytes;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use dcert_core::issue::IssuerKit;
use dcert_core::keys::CredentialKey;
use dcert_core::records::{
    self, INSTITUTION_HEADER, NONCE_HEADER, PATH, RecordPayload, RequestToSign, SIGNATURE_HEADER, TIMESTAMP_HEADER,
};

use super::worker::{Registry, RegistryFuture, SubmitError};
use crate::http::outbound::http_request;

/// How many times a request is sent with a new nonce when the registry calls it a replay.
const REPLAY_ATTEMPTS: usize = 3;

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
    fn signed_headers(&self, body: &[u8]) -> Result<HeaderMap, SubmitError> {
        let mut random = [0u8; 24];
        getrandom::fill(&mut random).map_err(|e| SubmitError::Randomness(e.to_string()))?;
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
        let mut put = |name: &'static str, value: &str| -> Result<(), SubmitError> {
            let value = HeaderValue::from_str(value).map_err(|_| SubmitError::Header(name))?;
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

    async fn send(&self, payload: &RecordPayload) -> Result<(), SubmitError> {
        let body = Bytes::from(payload.to_json());
        let url = format!("{}{PATH}", self.base_url);
        let mut last = None;
        for _ in 0..REPLAY_ATTEMPTS {
            let headers = self.signed_headers(&body)?;
            let (status, _, answer) = http_request(Method::POST, &url, headers, body.clone()).await?;
            if status == StatusCode::OK || status == StatusCode::CREATED {
                return Ok(());
            }
            let (code, message) = server_error(&answer);
            let replay = status == StatusCode::CONFLICT && code == "replay";
            last = Some(SubmitError::Refused { status: status.as_u16(), code, message });
            // A nonce seen before cannot be ours twice unless by chance: sign again with another.
            if !replay {
                break;
            }
        }
        Err(last.unwrap_or(SubmitError::Refused { status: 0, code: "-".into(), message: String::new() }))
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
    fn submit<'a>(&'a self, payload: &'a RecordPayload) -> RegistryFuture<'a> {
        Box::pin(self.send(payload))
    }
}
