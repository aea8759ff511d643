//! `dcert verify --registry URL`: the trust list and every file's status from the Ministry's
//! site instead of a trust list file. The list is checked exactly as a file would be (its
//! signature under the pinned root); the status answers come from `/api/v1/status` and count
//! only when the list's status signer signed them, about the file asked for, within the last
//! five minutes. Anything else makes the status "unknown" and the file fail, never a pass.

use anyhow::{Context, Result, bail};
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode};
use dcert_core::status::{StatusAnswer, StatusQuery, StatusSource};
use dcert_core::tlog::Inclusion;
use dcert_web::http::outbound::{OutboundError, http_request};

/// The Ministry's site, reached over HTTP from a synchronous verification.
pub struct Registry {
    base: String,
    runtime: tokio::runtime::Runtime,
}

/// Percent-encodes a query value (everything but unreserved characters).
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

impl Registry {
    /// The registry at `base` (e.g. `http://localhost:8081`).
    pub fn new(base: &str) -> Result<Registry> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        Ok(Registry { base: base.trim_end_matches('/').to_owned(), runtime })
    }

    /// The site's address.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn get(&self, path: &str) -> Result<(StatusCode, Bytes), OutboundError> {
        let url = format!("{}{path}", self.base);
        let (status, _, body) =
            self.runtime.block_on(http_request(Method::GET, &url, HeaderMap::new(), Bytes::new()))?;
        Ok((status, body))
    }

    /// The signed trust list the registry publishes now (not yet verified).
    pub fn trust_list(&self) -> Result<Vec<u8>> {
        let (status, body) = self.get("/trust.json").with_context(|| format!("cannot reach {}", self.base))?;
        if status != StatusCode::OK {
            bail!("{}/trust.json answered {status}", self.base);
        }
        Ok(body.to_vec())
    }
}

/// The registry's answers as verification believes them: signed by the status signer of the
/// pinned trust list, about the file asked for, and fresh when they arrive (by the real clock,
/// whatever time the verification is made as of).
pub struct SignedStatus<'a> {
    /// Where the answers come from.
    pub registry: &'a Registry,
    /// The pinned trust list, which names the status signer.
    pub trust: &'a dcert_core::trust::TrustList,
    /// The log's evidence of the last answer, for the verifier to hold against what it saw
    /// before.
    pub last: std::cell::RefCell<Option<Inclusion>>,
}

impl Registry {
    /// The log's consistency proof from the tree of `from` leaves to the tree of `to`.
    pub fn consistency(&self, from: u64, to: u64) -> Result<Vec<dcert_core::tlog::Hash>> {
        let path = format!("/api/v1/log/proof/consistency?from={from}&to={to}");
        let (status, body) = self.get(&path).with_context(|| format!("cannot reach {}", self.base))?;
        if status != StatusCode::OK {
            bail!("{}{path} answered {status}", self.base);
        }
        let value: serde_json::Value = serde_json::from_slice(&body).context("the consistency proof is not JSON")?;
        dcert_core::tlog::path_from_json(&value).context("the consistency proof has no path of hashes")
    }
}

impl StatusSource for SignedStatus<'_> {
    fn status(&self, q: &StatusQuery) -> StatusAnswer {
        self.status_with_inclusion(q).0
    }

    fn status_with_inclusion(&self, q: &StatusQuery) -> (StatusAnswer, Option<Inclusion>) {
        let base = &self.registry.base;
        let mut path = format!(
            "/api/v1/status?issuer={}&number={}&language={}&version={}",
            encode(&q.issuer_id),
            encode(&q.number),
            q.language.code(),
            q.version
        );
        if let Some(sha) = q.file_sha256 {
            path.push_str(&format!("&sha256={sha}"));
        }
        let unavailable = |reason: String| (StatusAnswer::Unavailable { reason }, None);
        match self.registry.get(&path) {
            Ok((StatusCode::OK, body)) => {
                let (answer, inclusion) =
                    dcert_core::status::verify_answer_with_inclusion(&body, self.trust, q, crate::now());
                self.last.replace(inclusion.clone());
                (answer, inclusion)
            }
            Ok((status, _)) => unavailable(format!("{base} answered {status}")),
            Err(e) => unavailable(format!("the registry {base} could not be reached: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(super::encode("NKUST-113-2-C1"), "NKUST-113-2-C1");
        assert_eq!(super::encode("a b&c=d/教"), "a%20b%26c%3Dd%2F%E6%95%99");
    }
}
