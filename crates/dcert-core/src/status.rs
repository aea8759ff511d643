//! The status of a certificate file in the Ministry's registry: current, superseded by a newer
//! version (補證), revoked, or unknown to the registry.
//!
//! Verification asks a [`StatusSource`]. The core holds no network code: the offline source
//! answers "unavailable", and callers that reach a registry implement the trait.

use std::collections::HashMap;

use crate::digest::Sha256Digest;
use crate::model::CredentialType;
use crate::model::Language;
use crate::time::Timestamp;
use crate::tlog::{Inclusion, LogEntry, MemoryLog};

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
    /// The SHA-256 of what was presented: the whole file, or a bare `credential.json` (which the
    /// registry knows by its own hash); `None` for a file that is not the original.
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

    /// The status and, where the registry gave it, the evidence that the file's issuance record
    /// is in the registry's transparency log (not yet verified: the verifier checks it).
    fn status_with_inclusion(&self, query: &StatusQuery) -> (StatusAnswer, Option<Inclusion>) {
        (self.status(query), None)
    }

    /// When the answers come from a signed snapshot of the registry (an offline bundle) instead
    /// of the registry itself: the size of the log's checkpoint the snapshot is of. Its answers
    /// carry no proof of their own, and the log check says so instead of failing.
    fn snapshot_log_size(&self) -> Option<u64> {
        None
    }
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
    /// Its leaf in the log, when the registry keeps one.
    leaf: Option<u64>,
    /// The SHA-256 of its embedded credential, when the registry knows it.
    credential_sha256: Option<Sha256Digest>,
}

/// An in-memory registry of issued files and their status changes, with the same rules as the
/// Ministry's: a later version supersedes earlier ones; a revocation covers every version. With
/// a log ([`MemoryRegistry::with_log`]) every issued file is a leaf, and its answers carry the
/// evidence of inclusion.
pub struct MemoryRegistry {
    files: Vec<Recorded>,
    /// The files of each certificate (issuer, number, language), by index into `files`.
    certificates: HashMap<(String, String, Language), Vec<usize>>,
    /// Each file by its hash, as an index into `files`.
    by_hash: HashMap<Sha256Digest, usize>,
    revoked: HashMap<(String, String, Language), (String, Timestamp)>,
    as_of: Timestamp,
    log: Option<MemoryLog>,
}

impl MemoryRegistry {
    /// An empty registry whose answers are dated `as_of`.
    pub fn new(as_of: Timestamp) -> Self {
        Self {
            files: Vec::new(),
            certificates: HashMap::new(),
            by_hash: HashMap::new(),
            revoked: HashMap::new(),
            as_of,
            log: None,
        }
    }

    /// The same registry, logging every file recorded from now on in `log`.
    pub fn with_log(mut self, log: MemoryLog) -> Self {
        self.log = Some(log);
        self
    }

    /// Records an issued file: `kind` and `previous` (the previous version's file hash) are what
    /// its log leaf states besides the rest.
    #[allow(clippy::too_many_arguments)]
    pub fn record(
        &mut self,
        issuer_id: &str,
        number: &str,
        language: Language,
        version: u32,
        (kind, previous): (CredentialType, Option<Sha256Digest>),
        file_sha256: Sha256Digest,
        registered_at: Timestamp,
    ) {
        let leaf = self.log.as_mut().map(|log| {
            let (sha, previous) = (file_sha256.to_string(), previous.map(|p| p.to_string()));
            log.append(&LogEntry {
                institution: issuer_id,
                event: "issued",
                file_sha256: &sha,
                number,
                language: language.code(),
                version: i64::from(version),
                previous_sha256: previous.as_deref(),
                credential_type: kind.code(),
                at: registered_at.unix(),
            })
        });
        self.certificates
            .entry((issuer_id.to_owned(), number.to_owned(), language))
            .or_default()
            .push(self.files.len());
        self.by_hash.insert(file_sha256, self.files.len());
        self.files.push(Recorded {
            issuer_id: issuer_id.to_owned(),
            number: number.to_owned(),
            language,
            version,
            file_sha256,
            registered_at,
            leaf,
            credential_sha256: None,
        });
    }

    /// Records that the issued file `file` carries the credential whose SHA-256 is `credential`:
    /// the bare credential's status is then the file's.
    pub fn record_credential(&mut self, file: Sha256Digest, credential: Sha256Digest) {
        if let Some(&i) = self.by_hash.get(&file) {
            self.files[i].credential_sha256 = Some(credential);
        }
    }

    /// Records a revocation of a certificate (all versions of one language).
    pub fn revoke(&mut self, issuer_id: &str, number: &str, language: Language, reason: &str, at: Timestamp) {
        self.revoked.insert((issuer_id.to_owned(), number.to_owned(), language), (reason.to_owned(), at));
    }

    /// Every recorded file and credential, as the query that names it (its certificate and its
    /// SHA-256), with the status it has now: what an offline bundle carries ([`crate::bundle`]).
    /// A file's credential has the file's status.
    pub fn snapshot(&self) -> Vec<(StatusQuery, StatusAnswer)> {
        let mut all = Vec::with_capacity(self.files.len() * 2);
        for r in &self.files {
            let query = StatusQuery {
                issuer_id: r.issuer_id.clone(),
                number: r.number.clone(),
                language: r.language,
                version: r.version,
                file_sha256: Some(r.file_sha256),
            };
            let answer = self.status(&query);
            if let Some(credential) = r.credential_sha256 {
                all.push((StatusQuery { file_sha256: Some(credential), ..query.clone() }, answer.clone()));
            }
            all.push((query, answer));
        }
        all
    }
}

impl StatusSource for MemoryRegistry {
    fn status_with_inclusion(&self, q: &StatusQuery) -> (StatusAnswer, Option<Inclusion>) {
        let answer = self.status(q);
        let inclusion = (|| {
            let sha = q.file_sha256?;
            let file = self.by_hash.get(&sha).map(|&i| &self.files[i]).filter(|r| r.issuer_id == q.issuer_id)?;
            self.log.as_ref()?.inclusion(file.leaf?, file.registered_at.unix()).ok()
        })();
        (answer, inclusion)
    }

    fn status(&self, q: &StatusQuery) -> StatusAnswer {
        let as_of = self.as_of;
        let key = (q.issuer_id.clone(), q.number.clone(), q.language);
        let files = self.certificates.get(&key).map(Vec::as_slice).unwrap_or_default();
        let same_certificate = || files.iter().map(|&i| &self.files[i]);
        let this = same_certificate().find(|r| {
            r.version == q.version && q.file_sha256.is_none_or(|h| h == r.file_sha256 || r.credential_sha256 == Some(h))
        });
        let Some(this) = this else {
            return StatusAnswer::NotRegistered { as_of };
        };
        if let Some((reason, at)) = self.revoked.get(&key) {
            return StatusAnswer::Revoked { reason: reason.clone(), revoked_at: *at, as_of };
        }
        let latest = same_certificate().max_by_key(|r| r.version);
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

// ----- Signed status answers -----

/// The `type` of a signed status answer.
pub const STATUS_ANSWER_TYPE: &str = "DcertStatusAnswer";
/// The format of signed status answers.
pub const STATUS_ANSWER_FORMAT: u64 = 1;
/// How long after it was produced the registry's answer may be relied on.
pub const ANSWER_VALIDITY_SECONDS: i64 = 300;
/// How far a verifier's clock and the registry's may differ.
const CLOCK_SKEW_SECONDS: i64 = 300;
/// The largest signed answer read.
pub const MAX_ANSWER_BYTES: usize = 16 * 1024;

/// A status answer as JSON: `status` and its fields (read back by [`answer_from_json`]).
pub fn answer_json(answer: &StatusAnswer) -> serde_json::Value {
    use serde_json::json;
    match answer {
        StatusAnswer::Unavailable { reason } => json!({ "status": "unavailable", "reason": reason }),
        StatusAnswer::Offline => json!({ "status": "unavailable", "reason": "no registry was consulted" }),
        StatusAnswer::Current { registered_at, as_of } => {
            json!({ "status": "current", "registeredAt": registered_at, "asOf": as_of })
        }
        StatusAnswer::Superseded { latest_version, superseded_at, registered_at, as_of } => json!({
            "status": "superseded", "latestVersion": latest_version, "supersededAt": superseded_at,
            "registeredAt": registered_at, "asOf": as_of,
        }),
        StatusAnswer::Revoked { reason, revoked_at, as_of } => {
            json!({ "status": "revoked", "reason": reason, "revokedAt": revoked_at, "asOf": as_of })
        }
        StatusAnswer::NotRegistered { as_of } => json!({ "status": "not_registered", "asOf": as_of }),
    }
}

/// Reads the answer written by [`answer_json`]; anything unreadable is "unavailable".
pub fn answer_from_json(value: &serde_json::Value) -> StatusAnswer {
    let time = |key: &str| -> Option<Timestamp> { serde_json::from_value(value.get(key)?.clone()).ok() };
    let text = |key: &str| value.get(key).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
    let answer = match value.get("status").and_then(|s| s.as_str()) {
        Some("unavailable") => Some(StatusAnswer::Unavailable { reason: text("reason") }),
        Some("current") => {
            (|| Some(StatusAnswer::Current { registered_at: time("registeredAt")?, as_of: time("asOf")? }))()
        }
        Some("superseded") => (|| {
            Some(StatusAnswer::Superseded {
                latest_version: u32::try_from(value.get("latestVersion")?.as_u64()?).ok()?,
                superseded_at: time("supersededAt")?,
                registered_at: time("registeredAt")?,
                as_of: time("asOf")?,
            })
        })(),
        Some("revoked") => (|| {
            Some(StatusAnswer::Revoked { reason: text("reason"), revoked_at: time("revokedAt")?, as_of: time("asOf")? })
        })(),
        Some("not_registered") => time("asOf").map(|as_of| StatusAnswer::NotRegistered { as_of }),
        _ => None,
    };
    answer.unwrap_or(StatusAnswer::Unavailable { reason: "the registry's answer could not be read".into() })
}

/// The fields of a query, as a signed answer repeats them.
fn query_json(query: &StatusQuery) -> serde_json::Map<String, serde_json::Value> {
    let mut map = serde_json::Map::new();
    map.insert("issuer".into(), query.issuer_id.clone().into());
    map.insert("number".into(), query.number.clone().into());
    map.insert("language".into(), query.language.code().into());
    map.insert("version".into(), query.version.into());
    if let Some(sha) = query.file_sha256 {
        map.insert("fileSha256".into(), sha.to_string().into());
    }
    map
}

/// Inclusion evidence as a signed answer carries it (`log`), read back by [`inclusion_from_json`].
pub fn inclusion_json(inclusion: &Inclusion) -> serde_json::Value {
    let path: Vec<String> = inclusion.path.iter().map(crate::tlog::hash_to_base64).collect();
    serde_json::json!({
        "checkpoint": inclusion.checkpoint,
        "leafIndex": inclusion.leaf_index,
        "recordedAt": inclusion.recorded_at,
        "inclusionPath": path,
    })
}

/// Reads the evidence written by [`inclusion_json`]; `None` if it is not of that shape.
pub fn inclusion_from_json(value: &serde_json::Value) -> Option<Inclusion> {
    let path = value.get("inclusionPath")?.as_array()?;
    if path.len() > crate::tlog::MAX_PATH {
        return None;
    }
    let path = path.iter().map(|h| crate::tlog::hash_from_base64(h.as_str()?)).collect::<Option<Vec<_>>>()?;
    let checkpoint = value.get("checkpoint")?.as_str()?;
    if checkpoint.len() > crate::tlog::MAX_NOTE_BYTES {
        return None;
    }
    Some(Inclusion {
        checkpoint: checkpoint.to_owned(),
        leaf_index: value.get("leafIndex")?.as_u64()?,
        recorded_at: value.get("recordedAt")?.as_i64()?,
        path,
    })
}

/// The registry's answer to `query`, signed with the status signer's key (`ecdsa-jcs-2019`):
/// the query's fields, the answer, the evidence that the file's record is in the log (when the
/// registry keeps one), when it was produced and until when it may be relied on.
pub fn sign_answer(
    query: &StatusQuery,
    answer: &StatusAnswer,
    inclusion: Option<&Inclusion>,
    produced_at: Timestamp,
    registry: &str,
    key: &crate::keys::EcKey,
) -> Result<serde_json::Value, crate::di::ProofError> {
    let mut document = query_json(query);
    document.insert("type".into(), STATUS_ANSWER_TYPE.into());
    document.insert("format".into(), STATUS_ANSWER_FORMAT.into());
    if let serde_json::Value::Object(fields) = answer_json(answer) {
        document.extend(fields);
    }
    if let Some(inclusion) = inclusion {
        document.insert("log".into(), inclusion_json(inclusion));
    }
    document.insert("producedAt".into(), produced_at.to_string().into());
    document.insert("nextUpdate".into(), produced_at.plus_seconds(ANSWER_VALIDITY_SECONDS).to_string().into());
    let options = crate::di::ProofOptions {
        created: produced_at,
        verification_method: format!("{}/trust-list#status", registry.trim_end_matches('/')),
        proof_purpose: "assertionMethod",
    };
    crate::di::sign_ecdsa(document, key, &options)
}

/// Checks a signed answer to `query` against the trust list's status signer at `now`: the
/// answer, or `Unavailable` with the reason it cannot be believed (no status signer in the
/// list, not signed by it, about another file, produced in the future, or stale).
pub fn verify_answer(
    bytes: &[u8],
    trust: &crate::trust::TrustList,
    query: &StatusQuery,
    now: Timestamp,
) -> StatusAnswer {
    verify_answer_with_inclusion(bytes, trust, query, now).0
}

/// [`verify_answer`], and the log's inclusion evidence the signed answer carries (signed by
/// the status signer, but believed only once the verifier has checked it against the log's key).
pub fn verify_answer_with_inclusion(
    bytes: &[u8],
    trust: &crate::trust::TrustList,
    query: &StatusQuery,
    now: Timestamp,
) -> (StatusAnswer, Option<Inclusion>) {
    let refuse = |reason: &str| (StatusAnswer::Unavailable { reason: reason.to_owned() }, None);
    let Some(signer) = &trust.status_signer else {
        return refuse("the trust list names no status signer, so the registry's answer cannot be checked");
    };
    if bytes.len() > MAX_ANSWER_BYTES {
        return refuse("the registry's answer is too large");
    }
    let Ok(document) = crate::json::parse_strict(bytes) else {
        return refuse("the registry's answer is not JSON");
    };
    let field = |key: &str| document.get(key);
    if field("type").and_then(|v| v.as_str()) != Some(STATUS_ANSWER_TYPE)
        || field("format").and_then(|v| v.as_u64()) != Some(STATUS_ANSWER_FORMAT)
    {
        return refuse("the registry's answer is not a signed status answer");
    }
    let time = |key: &str| field(key).and_then(|v| v.as_str()).and_then(|t| t.parse::<Timestamp>().ok());
    let (Some(produced_at), Some(next_update)) = (time("producedAt"), time("nextUpdate")) else {
        return refuse("the registry's answer has no time");
    };
    if crate::di::verify_ecdsa(&document, &signer.key).is_err() {
        return refuse("the registry's answer is not signed by the Ministry's status signer");
    }
    if !signer.is_valid_at(produced_at) {
        return refuse("the status signer's certificate was not valid when the answer was made");
    }
    let expected = query_json(query);
    let repeated = expected.iter().all(|(k, v)| field(k) == Some(v))
        && (query.file_sha256.is_some() || field("fileSha256").is_none());
    if !repeated {
        return refuse("the registry's answer is about another file");
    }
    if produced_at > now.plus_seconds(CLOCK_SKEW_SECONDS) {
        return refuse("the registry's answer is dated in the future");
    }
    if next_update > produced_at.plus_seconds(ANSWER_VALIDITY_SECONDS)
        || now > next_update.plus_seconds(CLOCK_SKEW_SECONDS)
    {
        return refuse("the registry's answer is stale (it may be replayed)");
    }
    (answer_from_json(&document), field("log").and_then(inclusion_from_json))
}
