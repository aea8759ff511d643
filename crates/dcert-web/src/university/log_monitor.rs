//! Watching the Ministry's transparency log in the institution's name: fetch the latest signed
//! checkpoint, prove it consistent with the last one seen, read every new leaf, rebuild the root
//! from them, and list each record in the institution's name that its own store does not know.
//!
//! An alarm, never a silent pass: a checkpoint the log's key did not sign, a log that shrank, a
//! consistency proof that fails, or leaves that do not rebuild the signed root is a fork, reported
//! with both signed checkpoints as evidence; a record of a file the institution never issued is
//! listed. What was seen is kept between runs as the last checkpoint and the tree's right edge
//! ([`MonitorState`], at most 64 hashes), so each run reads only the new leaves.

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode};
use dcert_core::tlog::{self, Checkpoint, Frontier, Hash, NoteVerifier};
use dcert_store::{StoreError, UniversityStore};
use serde::{Deserialize, Serialize};

use crate::http::outbound::Outbound;

/// The leaves asked for at a time (the log's page).
const PAGE: u64 = 1000;

/// What a monitor keeps between runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MonitorState {
    /// The last checkpoint seen, as the log signed it.
    pub checkpoint: String,
    /// The right edge of that tree: its perfect subtrees' roots, base64, largest first.
    pub edge: Vec<String>,
    /// The records in the institution's name that its store did not know, still unresolved.
    #[serde(default)]
    pub unknown: Vec<LoggedRecord>,
}

/// A record of the log in the institution's name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoggedRecord {
    /// Its leaf index.
    pub index: u64,
    /// `issued`, `superseded` or `revoked`.
    pub event: String,
    /// The file's SHA-256.
    pub file_sha256: String,
    /// The certificate, as the log names it (SHA-256 of number, language and version).
    pub certificate: String,
    /// When the registry recorded it (Unix seconds).
    pub at: i64,
}

/// What one run found.
#[derive(Clone, Debug)]
pub struct MonitorReport {
    /// The checkpoint checked now.
    pub checkpoint: Checkpoint,
    /// The size of the checkpoint seen before, if any.
    pub previous_size: Option<u64>,
    /// Leaves read in this run.
    pub new_leaves: u64,
    /// Of them, records in the institution's name.
    pub ours: u64,
    /// Records in the institution's name that its store does not know (this run's and earlier
    /// runs' still unknown).
    pub unknown: Vec<LoggedRecord>,
}

/// Why a run did not pass.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    /// The log could not be read (the network, or an answer that is not the log's shape).
    #[error("the log at {registry} could not be read: {detail}")]
    Unreachable {
        /// The registry's address.
        registry: String,
        /// What happened.
        detail: String,
    },
    /// The checkpoint is not signed by the log's key that the trust list names.
    #[error("the log's checkpoint is not signed by the key the trust list names: {0}")]
    Unsigned(String),
    /// Two signed checkpoints that cannot both be true: the log was rewritten, or shows different
    /// histories to different readers.
    #[error("the log was rewritten or forked: {why}")]
    Forked {
        /// What does not hold.
        why: String,
        /// The checkpoint seen before, as signed.
        previous: String,
        /// The checkpoint seen now, as signed.
        current: String,
    },
    /// The state kept from the last run does not read.
    #[error("the monitor's saved state is damaged: {0}")]
    State(String),
    /// The institution's store did not answer.
    #[error("the institution's store: {0}")]
    Store(#[from] StoreError),
}

/// Reads a leaf's text for the fields a monitor reports.
fn parse_leaf(index: u64, text: &str) -> Option<(String, LoggedRecord)> {
    let field = |key: &str| text.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix('=')).map(str::to_owned);
    if text.lines().next() != Some("dcert-log-v1") {
        return None;
    }
    let record = LoggedRecord {
        index,
        event: field("event")?,
        file_sha256: field("file")?,
        certificate: field("certificate")?,
        at: field("at")?.parse().ok()?,
    };
    Some((field("institution")?, record))
}

/// The log of the registry at `base`, read over HTTP(S) with one client for the whole run.
struct Remote<'a> {
    base: &'a str,
    client: Outbound,
}

impl Remote<'_> {
    fn unreachable(&self, detail: impl Into<String>) -> MonitorError {
        MonitorError::Unreachable { registry: self.base.to_owned(), detail: detail.into() }
    }

    async fn get(&self, path: &str) -> Result<Bytes, MonitorError> {
        let url = format!("{}{path}", self.base);
        let answer = self.client.request(Method::GET, &url, HeaderMap::new(), Bytes::new()).await;
        match answer {
            Ok((StatusCode::OK, _, body)) => Ok(body),
            Ok((status, _, _)) => Err(self.unreachable(format!("{path} answered {status}"))),
            Err(e) => Err(self.unreachable(e.to_string())),
        }
    }

    async fn json(&self, path: &str) -> Result<serde_json::Value, MonitorError> {
        let body = self.get(path).await?;
        serde_json::from_slice(&body).map_err(|e| self.unreachable(format!("{path} is not JSON: {e}")))
    }

    async fn proof(&self, path: &str) -> Result<Vec<Hash>, MonitorError> {
        let value = self.json(path).await?;
        tlog::path_from_json(&value).ok_or_else(|| self.unreachable(format!("{path} gave no path of hashes")))
    }
}

/// One run of the monitor of `institution`'s records in the log of the registry at `registry`
/// (its key `log`, from the pinned trust list), against the institution's `store`, going on from
/// `previous`. `progress` hears (leaves read, leaves to read) after each page.
pub async fn check(
    registry: &str,
    log: &NoteVerifier,
    institution: &str,
    store: &UniversityStore,
    previous: Option<&MonitorState>,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<(MonitorReport, MonitorState), MonitorError> {
    let base = registry.trim_end_matches('/');
    let client = Outbound::for_url(base)
        .map_err(|e| MonitorError::Unreachable { registry: base.into(), detail: e.to_string() })?;
    let remote = Remote { base, client };
    let note = String::from_utf8_lossy(&remote.get("/log/checkpoint").await?).into_owned();
    let current = Checkpoint::open(&note, &log.name, log).map_err(|e| MonitorError::Unsigned(e.to_string()))?;

    // Where the last run stopped: its checkpoint (signed, checked again) and the tree's edge.
    let (mut edge, before) = match previous {
        None => (Frontier::new(), None),
        Some(state) => {
            let seen = Checkpoint::open(&state.checkpoint, &log.name, log)
                .map_err(|e| MonitorError::State(format!("the saved checkpoint: {e}")))?;
            let roots = state
                .edge
                .iter()
                .map(|h| tlog::hash_from_base64(h))
                .collect::<Option<Vec<Hash>>>()
                .ok_or_else(|| MonitorError::State("the saved edge".into()))?;
            let edge = Frontier::from_parts(seen.size, roots)
                .filter(|e| e.root() == seen.root)
                .ok_or_else(|| MonitorError::State("the saved edge is not the saved checkpoint's".into()))?;
            (edge, Some((seen, state)))
        }
    };
    let forked = |why: String| MonitorError::Forked {
        why,
        previous: previous.map(|s| s.checkpoint.clone()).unwrap_or_default(),
        current: note.clone(),
    };
    if let Some((seen, _)) = &before {
        if current.size < seen.size {
            return Err(forked(format!("the log shrank from {} to {} records", seen.size, current.size)));
        }
        if current.size == seen.size && current.root != seen.root {
            return Err(forked(format!("two different trees of {} records", seen.size)));
        }
        if current.size > seen.size && seen.size > 0 {
            let path = format!("/api/v1/log/proof/consistency?from={}&to={}", seen.size, current.size);
            let proof = remote.proof(&path).await?;
            tlog::verify_consistency((seen.size, &seen.root), (current.size, &current.root), &proof).map_err(|e| {
                forked(format!(
                    "the log of {} records is not an extension of the one of {}: {e}",
                    current.size, seen.size
                ))
            })?;
        }
    }

    // The new leaves: each hashed onto the edge, the institution's kept.
    let start = edge.size();
    let mut ours = Vec::new();
    while edge.size() < current.size {
        let path = format!("/api/v1/log/entries?start={}&limit={PAGE}", edge.size());
        let page = remote.json(&path).await?;
        let entries = page["entries"].as_array().filter(|e| !e.is_empty());
        let entries = entries.ok_or_else(|| remote.unreachable(format!("{path} gave no entries")))?;
        for entry in entries {
            if edge.size() == current.size {
                break;
            }
            let (Some(index), Some(text)) = (entry["index"].as_u64(), entry["leaf"].as_str()) else {
                return Err(remote.unreachable(format!("{path} gave an entry without index or leaf")));
            };
            if index != edge.size() {
                return Err(remote.unreachable(format!("{path} gave leaf {index} where {} was due", edge.size())));
            }
            edge.push(tlog::leaf_hash(text.as_bytes()));
            match parse_leaf(index, text) {
                Some((who, record)) if who == institution => ours.push(record),
                Some(_) => {}
                None => tracing::warn!(index, "a leaf of the log is not a dcert-log-v1 record"),
            }
        }
        progress(edge.size() - start, current.size - start);
    }
    if edge.root() != current.root {
        return Err(forked(format!(
            "the {} records the log serves do not make the root its checkpoint signs",
            current.size
        )));
    }

    // The institution's own store knows every file it issued; anything else is an alarm.
    let mut unknown: Vec<LoggedRecord> = before.map(|(_, s)| s.unknown.clone()).unwrap_or_default();
    unknown.extend(ours.iter().cloned());
    let hashes: Vec<&str> = unknown.iter().map(|r| r.file_sha256.as_str()).collect();
    let known = store.known_files(&hashes).await?;
    unknown.retain(|r| !known.contains(&r.file_sha256));
    let state = MonitorState {
        checkpoint: note.clone(),
        edge: edge.roots().iter().map(tlog::hash_to_base64).collect(),
        unknown: unknown.clone(),
    };
    let report = MonitorReport {
        previous_size: previous.and(Some(start)),
        new_leaves: current.size - start,
        ours: ours.len() as u64,
        unknown,
        checkpoint: current,
    };
    Ok((report, state))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_leaf_is_read_for_its_institution_and_fields_and_anything_else_is_not() {
        let text =
            "dcert-log-v1\ninstitution=nkust\nevent=issued\nfile=ab\ncertificate=cd\nprevious=-\ntype=degree\nat=17\n";
        let (who, record) = super::parse_leaf(3, text).unwrap();
        assert_eq!((who.as_str(), record.index, record.event.as_str(), record.at), ("nkust", 3, "issued", 17));
        assert!(super::parse_leaf(0, "dcert-log-v2\ninstitution=x\n").is_none());
        assert!(super::parse_leaf(0, &text.replace("at=17", "at=x")).is_none());
    }
}
