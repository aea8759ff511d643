//! The registry's transparency log as the site serves it: the tree of every record's leaf, kept
//! in memory and brought up to the store's `log_leaves` before each answer (the store is the
//! log; memory only saves reading it whole), checkpoints signed with the log's key, and
//! inclusion and consistency proofs.
//!
//! Several sites may share one registry database: each reads the leaves the others wrote, in
//! the order the store gave them indexes, so every site's tree is the same.

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use dcert_core::tlog::{self, Checkpoint, Hash, Inclusion, LogKey, NoteVerifier, ProofError, Tree};
use dcert_store::{MinistryStore, StoreError};
use serde::Deserialize;
use serde_json::json;

use super::MinistryState;

/// How many leaves one read of the store brings.
const READ_BATCH: i64 = 10_000;

/// Why the log could not answer.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The registry database did not answer, or holds a malformed leaf.
    #[error("the log's store: {0}")]
    Store(#[from] StoreError),
    /// The proof asked for is not of this tree (an index or size past its end).
    #[error("{0}")]
    Proof(#[from] ProofError),
}

/// The in-memory tree and the checkpoint last signed.
struct Memory {
    tree: Tree,
    /// The latest signed checkpoint and the size it states.
    signed: Option<(u64, String)>,
}

/// The registry's log: its origin, its key and its tree.
pub struct Log {
    origin: String,
    key: LogKey,
    state: tokio::sync::Mutex<Memory>,
}

impl Log {
    /// The log named `origin`, signing its checkpoints with `key`; empty until the first answer
    /// reads the store.
    pub fn new(origin: &str, key: LogKey) -> Log {
        Log {
            origin: origin.to_owned(),
            key,
            state: tokio::sync::Mutex::new(Memory { tree: Tree::new(), signed: None }),
        }
    }

    /// The key that verifies this log's checkpoints.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier { name: self.origin.clone(), key: self.key.verifying_key() }
    }

    /// The log's state, brought up to every leaf in `store`.
    async fn synced(&self, store: &MinistryStore) -> Result<tokio::sync::MutexGuard<'_, Memory>, LogError> {
        let mut state = self.state.lock().await;
        loop {
            let from = i64::try_from(state.tree.len()).unwrap_or(i64::MAX);
            let leaves = store.log_leaves(from, READ_BATCH).await?;
            let complete = (leaves.len() as i64) < READ_BATCH;
            for leaf in leaves {
                state.tree.push(leaf);
            }
            if complete {
                return Ok(state);
            }
        }
    }

    /// The checkpoint of the whole tree, signed (signed again only when the tree has grown).
    fn sign(&self, state: &mut Memory) -> String {
        let size = state.tree.len();
        if let Some((signed_size, note)) = &state.signed
            && *signed_size == size
        {
            return note.clone();
        }
        let root = tlog::root(&state.tree, size).expect("the tree's own size");
        let note = Checkpoint { origin: self.origin.clone(), size, root }.sign(&self.origin, &self.key);
        state.signed = Some((size, note.clone()));
        note
    }

    /// The latest checkpoint, signed.
    pub async fn checkpoint(&self, store: &MinistryStore) -> Result<String, LogError> {
        Ok(self.sized_checkpoint(store).await?.1)
    }

    /// The latest checkpoint, signed, and the size of the tree it states.
    pub async fn sized_checkpoint(&self, store: &MinistryStore) -> Result<(u64, String), LogError> {
        let mut state = self.synced(store).await?;
        let note = self.sign(&mut state);
        Ok((state.tree.len(), note))
    }

    /// The evidence that leaf `index`, recorded at `recorded_at`, is in the latest checkpoint.
    pub async fn inclusion(&self, store: &MinistryStore, index: u64, recorded_at: i64) -> Result<Inclusion, LogError> {
        let mut state = self.synced(store).await?;
        let size = state.tree.len();
        let path = tlog::inclusion_proof(&state.tree, index, size)?;
        Ok(Inclusion { checkpoint: self.sign(&mut state), leaf_index: index, recorded_at, path })
    }

    /// The inclusion path of leaf `index` in the tree of `size` leaves.
    pub async fn inclusion_path(&self, store: &MinistryStore, index: u64, size: u64) -> Result<Vec<Hash>, LogError> {
        let state = self.synced(store).await?;
        Ok(tlog::inclusion_proof(&state.tree, index, size)?)
    }

    /// The consistency proof from the tree of `old` leaves to the tree of `new`.
    pub async fn consistency(&self, store: &MinistryStore, old: u64, new: u64) -> Result<Vec<Hash>, LogError> {
        let state = self.synced(store).await?;
        Ok(tlog::consistency_proof(&state.tree, old, new)?)
    }

    /// The evidence that the issuance record of the file `sha256` is in the log, if the
    /// registry recorded that file.
    pub async fn inclusion_of_file(&self, store: &MinistryStore, sha256: &str) -> Result<Option<Inclusion>, LogError> {
        let Some((index, at)) = store.log_leaf_of(sha256, "issued").await? else {
            return Ok(None);
        };
        let index = u64::try_from(index).map_err(|_| ProofError::IndexOutOfRange)?;
        Ok(Some(self.inclusion(store, index, at).await?))
    }
}

// ----- the log's public API -----

/// The most entries one request reads.
pub const MAX_ENTRIES: u64 = 1000;

/// The log's addresses: `/log/checkpoint` (the latest signed checkpoint, as C2SP's
/// `tlog-checkpoint` writes it) and the JSON API under `/api/v1/log/`.
pub(crate) fn routes() -> Router<MinistryState> {
    Router::new()
        .route("/log/checkpoint", get(checkpoint))
        .route("/api/v1/log/entries", get(entries))
        .route("/api/v1/log/proof/inclusion", get(inclusion))
        .route("/api/v1/log/proof/consistency", get(consistency))
}

pub(super) fn no_log() -> Response {
    let body = json!({ "error": { "code": "no_log", "message": "this registry keeps no transparency log" } });
    (StatusCode::NOT_FOUND, axum::Json(body)).into_response()
}

pub(super) fn failed(e: LogError) -> Response {
    match e {
        LogError::Proof(e) => super::api::bad_query(&e.to_string()),
        LogError::Store(e) => {
            tracing::error!(error = %e, "the log could not be read");
            let body = json!({ "error": { "code": "internal", "message": "the log could not be read; try again" } });
            (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into_response()
        }
    }
}

fn fresh(mut response: Response) -> Response {
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

fn hashes(path: &[Hash]) -> Vec<String> {
    path.iter().map(tlog::hash_to_base64).collect()
}

/// `GET /log/checkpoint`.
async fn checkpoint(State(state): State<MinistryState>) -> Response {
    let Some(log) = &state.log else { return no_log() };
    match log.checkpoint(&state.store).await {
        Ok(note) => fresh(([(CONTENT_TYPE, "text/plain; charset=utf-8")], note).into_response()),
        Err(e) => failed(e),
    }
}

#[derive(Deserialize)]
struct EntriesParams {
    start: u64,
    limit: Option<u64>,
}

/// `GET /api/v1/log/entries?start=N&limit=M`: the leaves' texts from leaf `start` on (at most
/// 1,000), which a monitor hashes to rebuild the tree and read what was recorded in whose name.
async fn entries(State(state): State<MinistryState>, params: Result<Query<EntriesParams>, QueryRejection>) -> Response {
    let Ok(Query(p)) = params else {
        return super::api::bad_query("give start (a leaf index) and, if you like, limit (at most 1000)");
    };
    if state.log.is_none() {
        return no_log();
    }
    let limit = p.limit.unwrap_or(MAX_ENTRIES).clamp(1, MAX_ENTRIES);
    let start = i64::try_from(p.start).unwrap_or(i64::MAX);
    match state.store.log_entries(start, limit as i64).await {
        Ok(rows) => {
            let entries: Vec<_> = rows
                .iter()
                .map(|(index, record)| {
                    let text = String::from_utf8(dcert_store::log_entry(record).bytes()).unwrap_or_default();
                    json!({ "index": index, "leaf": text })
                })
                .collect();
            let full = entries.len() as u64 == limit;
            let mut response = axum::Json(json!({ "entries": entries })).into_response();
            // A full page never changes (the log is append-only): caches may keep it.
            let cache = if full { "public, max-age=31536000, immutable" } else { "no-cache" };
            response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static(cache));
            response
        }
        Err(e) => failed(e.into()),
    }
}

#[derive(Deserialize)]
struct InclusionParams {
    index: u64,
    size: u64,
}

/// `GET /api/v1/log/proof/inclusion?index=I&size=S`.
async fn inclusion(
    State(state): State<MinistryState>,
    params: Result<Query<InclusionParams>, QueryRejection>,
) -> Response {
    let Ok(Query(p)) = params else {
        return super::api::bad_query("give index (a leaf index) and size (a checkpoint's tree size)");
    };
    let Some(log) = &state.log else { return no_log() };
    match log.inclusion_path(&state.store, p.index, p.size).await {
        Ok(path) => axum::Json(json!({ "index": p.index, "size": p.size, "path": hashes(&path) })).into_response(),
        Err(e) => failed(e),
    }
}

#[derive(Deserialize)]
struct ConsistencyParams {
    from: u64,
    to: u64,
}

/// `GET /api/v1/log/proof/consistency?from=A&to=B`.
async fn consistency(
    State(state): State<MinistryState>,
    params: Result<Query<ConsistencyParams>, QueryRejection>,
) -> Response {
    let Ok(Query(p)) = params else {
        return super::api::bad_query("give from and to (two checkpoints' tree sizes)");
    };
    let Some(log) = &state.log else { return no_log() };
    match log.consistency(&state.store, p.from, p.to).await {
        Ok(path) => axum::Json(json!({ "from": p.from, "to": p.to, "path": hashes(&path) })).into_response(),
        Err(e) => failed(e),
    }
}
