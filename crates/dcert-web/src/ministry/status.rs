//! The registry's records as the verifier's status source.

use std::sync::Arc;

use dcert_core::model::{CredentialType, Language};
use dcert_core::status::{MemoryRegistry, StatusAnswer, StatusQuery, StatusSource};
use dcert_core::time::Timestamp;
use dcert_core::tlog::Inclusion;
use dcert_store::{MinistryStore, RegistryRecord, StoreError};

/// Builds the status of the certificates in `records` (any order of the registry's log): issued
/// files, with later versions superseding earlier ones, and revocations.
pub fn registry_status(records: &[RegistryRecord], as_of: Timestamp) -> Result<MemoryRegistry, StoreError> {
    let mut registry = MemoryRegistry::new(as_of);
    add_records(&mut registry, records)?;
    Ok(registry)
}

/// Adds `records` (next in the registry's log) to `registry`.
pub fn add_records(registry: &mut MemoryRegistry, records: &[RegistryRecord]) -> Result<(), StoreError> {
    let corrupt = |detail: String| StoreError::Corrupt { what: "registry record", detail };
    for r in records {
        let language: Language =
            r.language.parse().map_err(|_| corrupt(format!("a registry record has language {:?}", r.language)))?;
        let at = Timestamp(r.at);
        match r.event.as_str() {
            "issued" => {
                let version = u32::try_from(r.version)
                    .map_err(|_| corrupt(format!("a registry record has version {}", r.version)))?;
                let hash =
                    |h: &str| h.parse().map_err(|_| corrupt("a registry record has a malformed hash".to_owned()));
                let kind: CredentialType = r
                    .credential_type
                    .parse()
                    .map_err(|_| corrupt(format!("a registry record has type {:?}", r.credential_type)))?;
                let previous = r.previous_sha256.as_deref().map(hash).transpose()?;
                let file = hash(&r.sha256)?;
                registry.record(&r.institution, &r.number, language, version, (kind, previous), file, at);
                if let Some(credential) = r.credential_sha256.as_deref() {
                    registry.record_credential(file, hash(credential)?);
                }
            }
            "revoked" => registry.revoke(&r.institution, &r.number, language, r.reason.as_deref().unwrap_or(""), at),
            // Supersession follows from the versions; the record is there for auditors.
            _ => {}
        }
    }
    Ok(())
}

/// Answers status questions from the Ministry's registry database. Verification is synchronous
/// and runs on a blocking thread, so the query is run on the runtime from there.
pub struct StoreStatus {
    /// The registry database.
    pub store: MinistryStore,
    /// The runtime to run queries on.
    pub runtime: tokio::runtime::Handle,
    /// The time of the answers.
    pub now: Timestamp,
    /// The registry's log, whose inclusion proofs go with the answers (none without it).
    pub log: Option<Arc<super::log::Log>>,
}

impl StatusSource for StoreStatus {
    fn status_with_inclusion(&self, q: &StatusQuery) -> (StatusAnswer, Option<Inclusion>) {
        let answer = self.status(q);
        let registered = !matches!(answer, StatusAnswer::NotRegistered { .. } | StatusAnswer::Unavailable { .. });
        let (Some(log), Some(sha), true) = (&self.log, q.file_sha256, registered) else {
            return (answer, None);
        };
        match self.runtime.block_on(log.inclusion_of_file(&self.store, &sha.to_string())) {
            Ok(inclusion) => (answer, inclusion),
            Err(e) => {
                // An answer that cannot be proven now is no answer (not "the registry gave no proof").
                tracing::error!(error = %e, "the log could not prove a record's inclusion");
                (StatusAnswer::Unavailable { reason: "the registry's log did not answer".into() }, None)
            }
        }
    }

    fn status(&self, q: &StatusQuery) -> StatusAnswer {
        let records =
            self.runtime.block_on(self.store.registry_certificate(&q.issuer_id, &q.number, q.language.code()));
        let records = match records {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "the registry database did not answer a status query");
                return StatusAnswer::Unavailable { reason: "the registry database did not answer".into() };
            }
        };
        match registry_status(&records, self.now) {
            Ok(registry) => registry.status(q),
            Err(e) => {
                tracing::error!(error = %e, "a registry record is corrupt");
                StatusAnswer::Unavailable { reason: "the registry's records of this certificate are unreadable".into() }
            }
        }
    }
}
