//! `dcert verify --registry URL`: the trust list and every file's status from the Ministry's
//! site instead of a trust list file. The list is checked exactly as a file would be (its
//! signature, and the root's fingerprint when given); the status answers come from
//! `/api/v1/status`, and an unreachable registry makes the status check "unknown", never a pass.

use anyhow::{Context, Result, bail};
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode};
use dcert_core::status::{StatusAnswer, StatusQuery, StatusSource};
use dcert_web::registry_client::http_request;

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

    fn get(&self, path: &str) -> Result<(StatusCode, Bytes), String> {
        let url = format!("{}{path}", self.base);
        let (status, _, body) =
            self.runtime.block_on(http_request(Method::GET, &url, HeaderMap::new(), Bytes::new()))?;
        Ok((status, body))
    }

    /// The signed trust list the registry publishes now (not yet verified).
    pub fn trust_list(&self) -> Result<Vec<u8>> {
        let (status, body) = self
            .get("/trust.json")
            .map_err(anyhow::Error::msg)
            .with_context(|| format!("cannot reach {}", self.base))?;
        if status != StatusCode::OK {
            bail!("{}/trust.json answered {status}", self.base);
        }
        Ok(body.to_vec())
    }
}

impl StatusSource for Registry {
    fn status(&self, q: &StatusQuery) -> StatusAnswer {
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
        let unavailable = |reason: String| StatusAnswer::Unavailable { reason };
        match self.get(&path) {
            Ok((StatusCode::OK, body)) => match serde_json::from_slice(&body) {
                Ok(value) => dcert_web::ministry::status_from_json(&value),
                Err(_) => unavailable(format!("{} answered something other than JSON", self.base)),
            },
            Ok((status, _)) => unavailable(format!("{} answered {status}", self.base)),
            Err(e) => unavailable(format!("the registry {} could not be reached: {e}", self.base)),
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
