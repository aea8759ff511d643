//! `GET /api/v1/offline-bundle`: the registry's state as of now, signed by the status signer
//! (`dcert_core::bundle`), for verifiers that will have no network.
//!
//! The snapshot is made of exactly the records of the log's checkpoint it carries. Making it
//! reads the whole registry, so one is kept and served until the registry or the trust list has
//! changed (at most every five minutes) or it is an hour old; asking counts against the client's
//! verifications a minute.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use dcert_core::status::MemoryRegistry;
use dcert_core::time::Timestamp;
use serde_json::json;

use super::MinistryState;
use super::log::{LogError, failed};

/// How many records one read of the store brings.
const READ_BATCH: i64 = 10_000;
/// The least time between two bundles made while the registry keeps changing.
const MIN_REBUILD_SECONDS: i64 = 300;
/// The oldest a bundle is served, however quiet the registry: verifiers allow a week by default.
const MAX_SERVED_AGE_SECONDS: i64 = 3600;

/// The bundle last made.
#[derive(Default)]
pub struct BundleCache {
    last: tokio::sync::Mutex<Option<Made>>,
}

struct Made {
    /// The log's size and the trust list's sequence it was made of.
    of: (u64, u64),
    /// When.
    at: Timestamp,
    bytes: Bytes,
}

/// `GET /api/v1/offline-bundle`.
pub async fn offline_bundle(State(state): State<MinistryState>, request: axum::extract::Request) -> Response {
    if let Err(r) = super::api::check_rate(&state, &request) {
        return r.json();
    }
    if state.status_signer.is_none() {
        let body = json!({ "error": { "code": "no_bundle",
            "message": "this registry has no status signer, so it publishes no signed offline bundle" } });
        return (StatusCode::NOT_FOUND, axum::Json(body)).into_response();
    }
    match bundle(&state).await {
        Ok(bytes) => (
            [
                (CONTENT_TYPE, "application/json"),
                (CACHE_CONTROL, "no-cache"),
                (CONTENT_DISPOSITION, "attachment; filename=\"dcert-offline-bundle.json\""),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => failed(e),
    }
}

/// The bundle as of now (or of the last minute).
async fn bundle(state: &MinistryState) -> Result<Bytes, LogError> {
    let published = state.trust();
    let (size, checkpoint) = match &state.log {
        Some(log) => {
            let (size, note) = log.sized_checkpoint(&state.store).await?;
            (size, Some(note))
        }
        None => (u64::try_from(state.store.log_size().await?).unwrap_or_default(), None),
    };
    let of = (size, published.list.content.sequence);
    let mut last = state.bundle.last.lock().await;
    let now = crate::http::now();
    if let Some(made) = &*last
        && let age = now.unix() - made.at.unix()
        && ((made.of == of && age < MAX_SERVED_AGE_SECONDS) || age < MIN_REBUILD_SECONDS)
    {
        return Ok(made.bytes.clone());
    }
    // The records of the checkpoint's tree, in the log's order.
    let mut registry = MemoryRegistry::new(now);
    let mut from = 0u64;
    while from < size {
        let limit = READ_BATCH.min(i64::try_from(size - from).unwrap_or(READ_BATCH));
        let rows = state.store.log_entries(i64::try_from(from).unwrap_or(i64::MAX), limit).await?;
        if rows.is_empty() {
            break;
        }
        from += rows.len() as u64;
        let records: Vec<_> = rows.into_iter().map(|(_, r)| r).collect();
        super::status::add_records(&mut registry, &records)?;
    }
    let signer = state.status_signer.clone().expect("checked by the handler");
    let made = tokio::task::spawn_blocking(move || {
        let snapshot = registry.snapshot();
        let document = dcert_core::bundle::sign(
            &snapshot,
            &published.bytes,
            checkpoint.as_deref(),
            now,
            &signer.registry_url,
            &signer.key,
        )
        .map_err(|e| {
            LogError::Store(dcert_store::StoreError::Corrupt { what: "offline bundle", detail: e.to_string() })
        })?;
        Ok::<_, LogError>(serde_json::to_vec(&document).expect("JSON values serialize"))
    })
    .await
    .expect("the bundle's task does not panic")?;
    let bytes = Bytes::from(made);
    *last = Some(Made { of, at: now, bytes: bytes.clone() });
    Ok(bytes)
}
