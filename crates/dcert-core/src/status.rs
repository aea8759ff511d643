//! The status of a certificate file in the Ministry's registry: current, superseded by a newer
//! version (補證), revoked, or unknown to the registry.
//!
//! Verification asks a [`StatusSource`]. The core holds no network code: the offline source
//! answers "unavailable", and callers that reach a registry implement the trait.

use std::collections::HashMap;

use crate::digest::Sha256Digest;
use crate::model::Language;
use crate::time::Timestamp;

/// What verification asks the registry about one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusQuery {
    /// The issuer's registry id.
    pub issuer_id: String,
    /// The certificate number.
    pub number: String,
    /// The language of the file.
    pub language: Language,
    /// The version of the file.
    pub version: u32,
    /// The SHA-256 of the whole file; `None` for a bare `credential.json`.
    pub file_sha256: Option<Sha256Digest>,
}

/// The registry's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StatusAnswer {
    /// No registry was consulted, by the verifier's choice (offline verification against a
    /// trust list): the status is unknown, and the report says so.
    Offline,
    /// A registry was asked and gave no answer that could be believed (unreachable, an error,
    /// unsigned, badly signed or stale): the status is unknown, and the outcome is not success.
    Unavailable {
        /// Why, in words.
        reason: String,
    },
    /// The registry recorded this file and it is the latest version.
    Current {
        /// When the registry recorded it (a trusted issue time).
        registered_at: Timestamp,
        /// When the answer was true.
        as_of: Timestamp,
    },
    /// A newer version exists.
    Superseded {
        /// The newest version.
        latest_version: u32,
        /// When the newer version was issued.
        superseded_at: Timestamp,
        /// When the registry recorded this file.
        registered_at: Timestamp,
        /// When the answer was true.
        as_of: Timestamp,
    },
    /// The certificate was revoked.
    Revoked {
        /// The reason recorded by the issuer.
        reason: String,
        /// When.
        revoked_at: Timestamp,
        /// When the answer was true.
        as_of: Timestamp,
    },
    /// The registry has no record of this file (for a PDF: no record of this exact hash).
    NotRegistered {
        /// When the answer was true.
        as_of: Timestamp,
    },
}

/// Where verification learns a file's status.
pub trait StatusSource {
    /// The status of the file described by `query`.
    fn status(&self, query: &StatusQuery) -> StatusAnswer;
}

/// No registry: every status is unknown.
#[derive(Clone, Copy, Debug, Default)]
pub struct Offline;

impl StatusSource for Offline {
    fn status(&self, _query: &StatusQuery) -> StatusAnswer {
        StatusAnswer::Offline
    }
}

/// One recorded file in a [`MemoryRegistry`].
#[derive(Clone, Debug)]
struct Recorded {
    issuer_id: String,
    number: String,
    language: Language,
    version: u32,
    file_sha256: Sha256Digest,
    registered_at: Timestamp,
}

/// An in-memory registry of issued files and their status changes, with the same rules as the
/// Ministry's: a later version supersedes earlier ones; a revocation covers every version.
#[derive(Clone, Debug)]
pub struct MemoryRegistry {
    files: Vec<Recorded>,
    revoked: HashMap<(String, String, Language), (String, Timestamp)>,
    as_of: Timestamp,
}

impl MemoryRegistry {
    /// An empty registry whose answers are dated `as_of`.
    pub fn new(as_of: Timestamp) -> Self {
        Self { files: Vec::new(), revoked: HashMap::new(), as_of }
    }

    /// Records an issued file.
    pub fn record(
        &mut self,
        issuer_id: &str,
        number: &str,
        language: Language,
        version: u32,
        file_sha256: Sha256Digest,
        registered_at: Timestamp,
    ) {
        self.files.push(Recorded {
            issuer_id: issuer_id.to_owned(),
            number: number.to_owned(),
            language,
            version,
            file_sha256,
            registered_at,
        });
    }

    /// Records a revocation of a certificate (all versions of one language).
    pub fn revoke(&mut self, issuer_id: &str, number: &str, language: Language, reason: &str, at: Timestamp) {
        self.revoked.insert((issuer_id.to_owned(), number.to_owned(), language), (reason.to_owned(), at));
    }
}

impl StatusSource for MemoryRegistry {
    fn status(&self, q: &StatusQuery) -> StatusAnswer {
        let as_of = self.as_of;
        let same_certificate =
            |r: &&Recorded| r.issuer_id == q.issuer_id && r.number == q.number && r.language == q.language;
        let this = self
            .files
            .iter()
            .filter(same_certificate)
            .find(|r| r.version == q.version && q.file_sha256.is_none_or(|h| h == r.file_sha256));
        let Some(this) = this else {
            return StatusAnswer::NotRegistered { as_of };
        };
        if let Some((reason, at)) = self.revoked.get(&(q.issuer_id.clone(), q.number.clone(), q.language)) {
            return StatusAnswer::Revoked { reason: reason.clone(), revoked_at: *at, as_of };
        }
        let latest = self.files.iter().filter(same_certificate).max_by_key(|r| r.version);
        match latest {
            Some(l) if l.version > this.version => StatusAnswer::Superseded {
                latest_version: l.version,
                superseded_at: l.registered_at,
                registered_at: this.registered_at,
                as_of,
            },
            _ => StatusAnswer::Current { registered_at: this.registered_at, as_of },
        }
    }
}
