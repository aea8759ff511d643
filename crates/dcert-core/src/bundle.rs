//! The offline bundle: the registry's state as of a moment, signed by the Ministry's status
//! signer, so that a verifier with no network still learns whether a file was superseded or
//! revoked (`dcert verify --offline BUNDLE FILE`), and the report says as of when.
//!
//! A bundle carries the signed trust list (checked under the pinned root like any other), the
//! log's signed checkpoint of the records the snapshot is made of, and the snapshot:
//!
//! - `current`: every current file and credential, as a sorted run of 20-byte records (its key,
//!   then the time the registry recorded it, seconds since 1970, 4 bytes big-endian) in standard
//!   base64: 27 bytes of JSON per file or credential;
//! - `changed`: the superseded and revoked ones, each with its key and its answer.
//!
//! A file's key is the first 16 bytes of the SHA-256 of its certificate (institution, number,
//! language, version) and its own SHA-256 ([`file_key`]): the bundle answers for a file only as the
//! certificate the verified file states, as the registry does, and 128 bits leave no room to
//! make a file match a registered one. A file the snapshot does not know may have been issued
//! after it: its status is unknown, never "not registered". A bundle older than the verifier
//! allows makes every status unknown.

use std::collections::HashMap;

use base64ct::{Base64, Encoding};
use serde_json::{Map, Value, json};

use crate::di::{self, ProofError, ProofOptions};
use crate::digest::Sha256Digest;
use crate::keys::EcKey;
use crate::status::{StatusAnswer, StatusQuery, StatusSource, answer_from_json, answer_json};
use crate::time::Timestamp;
use crate::tlog::Checkpoint;
use crate::trust::{TrustList, TrustListError};

/// The `type` of a bundle.
pub const BUNDLE_TYPE: &str = "DcertOfflineBundle";
/// The bundle format this code writes and reads.
pub const BUNDLE_FORMAT: u64 = 1;
/// The largest bundle read: 256 MiB, about nine million current files and credentials.
pub const MAX_BUNDLE_BYTES: usize = 256 * 1024 * 1024;
/// How old a bundle may be before its answers are no longer believed, unless the verifier says
/// otherwise: seven days.
pub const DEFAULT_MAX_AGE_SECONDS: i64 = 7 * 86_400;
/// How far a verifier's clock and the Ministry's may differ.
const CLOCK_SKEW_SECONDS: i64 = 300;
/// The bytes of a hash kept for a current file.
const PREFIX: usize = 16;
/// One current file's record: the hash's prefix and the time it was recorded.
const RECORD: usize = PREFIX + 4;

/// The key of the file or credential `query` names in a bundle: the first 16 bytes of the
/// SHA-256 of its certificate's identity and its hash; `None` without a hash.
pub fn file_key(query: &StatusQuery) -> Option<[u8; PREFIX]> {
    let sha = query.file_sha256?;
    let text = format!(
        "dcert-bundle-v1\n{}\n{}\n{}\n{}\n{sha}\n",
        query.issuer_id,
        query.number,
        query.language.code(),
        query.version
    );
    let digest = Sha256Digest::of(text.as_bytes());
    Some(digest.as_bytes()[..PREFIX].try_into().expect("sixteen bytes"))
}

/// Why a bundle was not made.
#[derive(Debug, thiserror::Error)]
pub enum BundleSignError {
    /// A record's time is not one the format holds (before 1970 or after 2106).
    #[error("a record's time {0} cannot be written in a bundle")]
    Time(Timestamp),
    /// The signature could not be made.
    #[error("the bundle could not be signed: {0}")]
    Proof(#[from] ProofError),
}

/// The bundle of `snapshot` (every file and credential the registry knows, with its status, as
/// [`crate::status::MemoryRegistry::snapshot`] gives it) as of `as_of`, with the published
/// `trust_list` (its exact bytes) and the log's signed `checkpoint` of the same records, signed
/// with the status signer's `key` of the registry at `registry`.
pub fn sign(
    snapshot: &[(StatusQuery, StatusAnswer)],
    trust_list: &[u8],
    checkpoint: Option<&str>,
    as_of: Timestamp,
    registry: &str,
    key: &EcKey,
) -> Result<Value, BundleSignError> {
    let mut current: Vec<[u8; RECORD]> = Vec::new();
    let mut changed = Vec::new();
    for (query, answer) in snapshot {
        let Some(key) = file_key(query) else { continue };
        match answer {
            StatusAnswer::Current { registered_at, .. } => {
                let at = u32::try_from(registered_at.unix()).map_err(|_| BundleSignError::Time(*registered_at))?;
                let mut record = [0u8; RECORD];
                record[..PREFIX].copy_from_slice(&key);
                record[PREFIX..].copy_from_slice(&at.to_be_bytes());
                current.push(record);
            }
            StatusAnswer::Superseded { .. } | StatusAnswer::Revoked { .. } => {
                let mut entry = answer_json(answer);
                if let Value::Object(fields) = &mut entry {
                    fields.remove("asOf");
                    fields.insert("key".into(), crate::digest::hex(&key).into());
                }
                changed.push(entry);
            }
            // A snapshot states what the registry recorded: nothing else belongs in it.
            StatusAnswer::NotRegistered { .. } | StatusAnswer::Unavailable { .. } | StatusAnswer::Offline => {}
        }
    }
    current.sort_unstable();
    current.dedup_by(|a, b| a[..PREFIX] == b[..PREFIX]);
    let mut document = Map::new();
    document.insert("type".into(), BUNDLE_TYPE.into());
    document.insert("format".into(), BUNDLE_FORMAT.into());
    document.insert("asOf".into(), json!(as_of));
    document.insert("trustList".into(), String::from_utf8_lossy(trust_list).into_owned().into());
    document.insert("checkpoint".into(), json!(checkpoint));
    document.insert("currentCount".into(), current.len().into());
    document.insert("current".into(), Base64::encode_string(&current.concat()).into());
    document.insert("changed".into(), Value::Array(changed));
    let options = ProofOptions {
        created: as_of,
        verification_method: format!("{}/trust-list#status", registry.trim_end_matches('/')),
        proof_purpose: "assertionMethod",
    };
    Ok(di::sign_ecdsa(document, key, &options)?)
}

/// Why a bundle is not believed.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// Not a bundle of this format.
    #[error("not an offline bundle: {0}")]
    Malformed(&'static str),
    /// Larger than [`MAX_BUNDLE_BYTES`].
    #[error("the file is larger than an offline bundle may be ({MAX_BUNDLE_BYTES} bytes)")]
    TooLarge,
    /// The trust list it carries is not usable (not under the pinned root, say).
    #[error("the bundle's trust list is not usable: {0}")]
    TrustList(#[from] TrustListError),
    /// The trust list names no status signer, so nothing can check the bundle.
    #[error("the bundle's trust list names no status signer, so the bundle cannot be checked")]
    NoSigner,
    /// Not signed by the status signer, or changed after signing.
    #[error("the bundle is not signed by the Ministry's status signer, or was changed after signing")]
    NotSigned,
    /// Signed when the signer's certificate was not valid.
    #[error("the status signer's certificate was not valid when the bundle was made")]
    SignerNotValid,
    /// The trust list names a log, and the bundle has no checkpoint of it that verifies.
    #[error("the bundle's log checkpoint does not verify: {0}")]
    Checkpoint(String),
}

/// A bundle whose signature, trust list and checkpoint checked.
pub struct Bundle {
    /// The trust list it carries, verified under the pinned root (or labelled unpinned).
    pub trust: TrustList,
    /// When the snapshot was made.
    pub as_of: Timestamp,
    /// The log's checkpoint of the snapshot's records, when the trust list names a log.
    pub checkpoint: Option<Checkpoint>,
    /// The current files and credentials, sorted by key.
    current: Vec<[u8; RECORD]>,
    /// The superseded and revoked ones, by key.
    changed: HashMap<[u8; PREFIX], StatusAnswer>,
}

impl Bundle {
    /// Reads and checks a bundle: its trust list under `pinned_root` (as
    /// [`TrustList::verify`]), its signature under that list's status signer, and its
    /// checkpoint under the log key the list names.
    pub fn open(bytes: &[u8], pinned_root: Option<Sha256Digest>) -> Result<Bundle, BundleError> {
        use BundleError::Malformed;
        if bytes.len() > MAX_BUNDLE_BYTES {
            return Err(BundleError::TooLarge);
        }
        let document = crate::json::parse_strict(bytes).map_err(|_| Malformed("not JSON"))?;
        const FIELDS: [&str; 9] =
            ["type", "format", "asOf", "trustList", "checkpoint", "currentCount", "current", "changed", "proof"];
        let known = document.as_object().is_some_and(|fields| fields.keys().all(|k| FIELDS.contains(&k.as_str())));
        if !known {
            return Err(Malformed("a field this format does not have"));
        }
        let field = |key: &str| document.get(key);
        if field("type").and_then(Value::as_str) != Some(BUNDLE_TYPE) {
            return Err(Malformed("its type is not DcertOfflineBundle"));
        }
        if field("format").and_then(Value::as_u64) != Some(BUNDLE_FORMAT) {
            return Err(Malformed("a format this verifier does not read; update dcert"));
        }
        let list = field("trustList").and_then(Value::as_str).ok_or(Malformed("no trust list"))?;
        let trust = TrustList::verify(list.as_bytes(), pinned_root)?;
        let signer = trust.status_signer.as_ref().ok_or(BundleError::NoSigner)?;
        let proof = di::verify_ecdsa(&document, &signer.key).map_err(|_| BundleError::NotSigned)?;
        let as_of: Timestamp =
            field("asOf").and_then(Value::as_str).and_then(|t| t.parse().ok()).ok_or(Malformed("no time"))?;
        if !signer.is_valid_at(as_of) || proof.created != Some(as_of) {
            return Err(BundleError::SignerNotValid);
        }
        let checkpoint = match (&trust.log, field("checkpoint").and_then(Value::as_str)) {
            (Some(log), Some(note)) => {
                Some(Checkpoint::open(note, &log.name, log).map_err(|e| BundleError::Checkpoint(e.to_string()))?)
            }
            (Some(_), None) => return Err(BundleError::Checkpoint("the bundle has none".into())),
            (None, _) => None,
        };
        let current = field("current")
            .and_then(Value::as_str)
            .and_then(|b| Base64::decode_vec(b).ok())
            .ok_or(Malformed("its current files are not base64"))?;
        let count = field("currentCount").and_then(Value::as_u64).ok_or(Malformed("no count of current files"))?;
        let (records, rest) = current.as_chunks::<RECORD>();
        if !rest.is_empty() || records.len() as u64 != count {
            return Err(Malformed("its current files are not whole records"));
        }
        if !records.is_sorted_by(|a, b| a[..PREFIX] < b[..PREFIX]) {
            return Err(Malformed("its current files are not in order"));
        }
        let current = records.to_vec();
        let mut changed = HashMap::new();
        for entry in field("changed").and_then(Value::as_array).ok_or(Malformed("no changed files"))? {
            let key: [u8; PREFIX] = entry
                .get("key")
                .and_then(Value::as_str)
                .and_then(crate::digest::unhex)
                .and_then(|k| k.try_into().ok())
                .ok_or(Malformed("a changed file has no key"))?;
            let mut fields = entry.as_object().cloned().ok_or(Malformed("a changed file is not an object"))?;
            fields.insert("asOf".into(), json!(as_of));
            let answer = answer_from_json(&Value::Object(fields));
            if !matches!(answer, StatusAnswer::Superseded { .. } | StatusAnswer::Revoked { .. }) {
                return Err(Malformed("a changed file is neither superseded nor revoked"));
            }
            changed.insert(key, answer);
        }
        Ok(Bundle { trust, as_of, checkpoint, current, changed })
    }

    /// How many files and credentials the bundle knows: current, and superseded or revoked.
    pub fn counts(&self) -> (usize, usize) {
        (self.current.len(), self.changed.len())
    }

    /// The snapshot's status of the file or credential `query` names, as of the bundle: `None`
    /// if it does not know it.
    pub fn lookup(&self, query: &StatusQuery) -> Option<StatusAnswer> {
        let key = file_key(query)?;
        if let Some(answer) = self.changed.get(&key) {
            return Some(answer.clone());
        }
        let found = self.current.binary_search_by(|record| record[..PREFIX].cmp(&key[..])).ok()?;
        let at = u32::from_be_bytes(self.current[found][PREFIX..].try_into().expect("four bytes"));
        Some(StatusAnswer::Current { registered_at: Timestamp(i64::from(at)), as_of: self.as_of })
    }
}

/// A bundle as verification's status source, at `now`, believed for `max_age_seconds` after it
/// was made.
pub struct BundleStatus<'a> {
    /// The bundle.
    pub bundle: &'a Bundle,
    /// The verification's time.
    pub now: Timestamp,
    /// How old the bundle may be.
    pub max_age_seconds: i64,
}

impl StatusSource for BundleStatus<'_> {
    fn status(&self, q: &StatusQuery) -> StatusAnswer {
        let bundle = self.bundle;
        let unavailable = |reason: String| StatusAnswer::Unavailable { reason };
        if bundle.as_of > self.now.plus_seconds(CLOCK_SKEW_SECONDS) {
            return unavailable(format!("the offline bundle is dated {}, after the verification time", bundle.as_of));
        }
        if self.now.unix() - bundle.as_of.unix() > self.max_age_seconds {
            return unavailable(format!(
                "the offline bundle of {} is older than {} days: get a newer one from the Ministry",
                bundle.as_of,
                self.max_age_seconds / 86_400
            ));
        }
        if q.file_sha256.is_none() {
            return unavailable(
                "the offline bundle knows files by their hash, and this file is not the one issued".into(),
            );
        }
        bundle.lookup(q).unwrap_or_else(|| {
            unavailable(format!(
                "the offline bundle of {} has no record of this file: it may have been issued since; verify it online",
                bundle.as_of
            ))
        })
    }

    fn snapshot_log_size(&self) -> Option<u64> {
        self.bundle.checkpoint.as_ref().map(|c| c.size)
    }
}
