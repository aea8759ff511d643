//! The registry of issued files: append-only records (issued, superseded, revoked), written with
//! the nonce of the signed request that brought them, and read by the verifier's status queries.
//! Every record is a leaf of the transparency log, written in its transaction.

use dcert_core::records::RecordPayload;
use dcert_core::{digest, tlog};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::MinistryStore;
use crate::db::{FetchWith, Tx, unique_as};
use crate::{Backend, Result, StoreError};

/// A record of the (Ministry's) registry: an issued file or a change of its status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryRecord {
    /// The institution's id in the trust list.
    pub institution: String,
    /// SHA-256 of the file.
    pub sha256: String,
    /// `issued`, `superseded` or `revoked`.
    pub event: String,
    /// The certificate number.
    pub number: String,
    /// The language of the file, `zh` or `en`.
    pub language: String,
    /// The version.
    pub version: i64,
    /// SHA-256 of the previous version.
    pub previous_sha256: Option<String>,
    /// `degree` or `teacher`.
    pub credential_type: String,
    /// SHA-256 of the file's embedded `credential.json` (an issued record's, when the institution
    /// sent it): the bare credential's status is answered by it.
    pub credential_sha256: Option<String>,
    /// The reason of a revocation.
    pub reason: Option<String>,
    /// When it was recorded.
    pub at: i64,
}

impl RegistryRecord {
    /// The record of the first Chinese version of a degree certificate `number` of
    /// `institution`, the file `sha256`, recorded at `at`.
    pub fn issued_degree(institution: &str, sha256: &str, number: &str, at: i64) -> RegistryRecord {
        RegistryRecord {
            institution: institution.to_owned(),
            sha256: sha256.to_owned(),
            event: "issued".into(),
            number: number.to_owned(),
            language: "zh".into(),
            version: 1,
            previous_sha256: None,
            credential_type: "degree".into(),
            credential_sha256: None,
            reason: None,
            at,
        }
    }

    /// The registry's record of `event` (`issued`, `superseded`, `revoked`) of the file `sha256`
    /// at `version`, for the certificate `payload` names, dated `at`. Only an issued record names
    /// its previous version and its credential's hash.
    pub fn of(
        payload: &RecordPayload,
        event: &str,
        sha256: &str,
        version: u32,
        reason: Option<String>,
        at: i64,
    ) -> RegistryRecord {
        RegistryRecord {
            institution: payload.institution.clone(),
            sha256: sha256.to_owned(),
            event: event.to_owned(),
            number: payload.number.clone(),
            language: payload.language.code().to_owned(),
            version: i64::from(version),
            previous_sha256: if event == "issued" { payload.previous_sha256.clone() } else { None },
            credential_type: payload.credential_type.code().to_owned(),
            // The payload's file is the issued one; a superseded record is of the previous file.
            credential_sha256: if event == "issued" && sha256 == payload.sha256 {
                payload.credential_sha256.clone()
            } else {
                None
            },
            reason,
            at,
        }
    }
}

/// What became of a signed registry submission.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Submission {
    /// The record was appended.
    Recorded,
    /// The same record was already there: nothing changed (submission is idempotent).
    AlreadyRecorded,
    /// The request's nonce was used before: a replay, refused, nothing changed.
    Replayed,
}

impl MinistryStore {
    /// Appends a record to the registry (the Ministry's side). A record already there (same file,
    /// same event) is accepted again without change: submission is idempotent.
    pub async fn append_registry_record(&self, r: &RegistryRecord) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        lock_log(&mut tx, self.backend()).await?;
        let added = insert_registry_record(&mut tx, r, Duplicate::Ignore).await?;
        sequence_log(&mut tx).await?;
        tx.commit().await?;
        Ok(added > 0)
    }

    /// Every registry record of a file, oldest first.
    pub async fn registry_records(&self, sha256: &str) -> Result<Vec<RegistryRecord>> {
        sqlx::query(AssertSqlSafe(format!("{REGISTRY_SELECT} WHERE sha256 = $1 ORDER BY id")))
            .bind(sha256)
            .fetch_all_with(&self.pool, registry_row)
            .await
    }

    /// The registry's records, oldest first, from record number `after` on (for a full copy).
    pub async fn registry_log(&self, after: i64, limit: i64) -> Result<Vec<(i64, RegistryRecord)>> {
        sqlx::query(AssertSqlSafe(format!("{REGISTRY_SELECT} WHERE id > $1 ORDER BY id LIMIT $2")))
            .bind(after)
            .bind(limit)
            .fetch_all_with(&self.pool, |r| Ok((r.try_get("id")?, registry_row(r)?)))
            .await
    }

    /// Every record of one certificate (an institution's number, in one language), oldest first.
    pub async fn registry_certificate(
        &self,
        institution: &str,
        number: &str,
        language: &str,
    ) -> Result<Vec<RegistryRecord>> {
        sqlx::query(AssertSqlSafe(format!(
            "{REGISTRY_SELECT} WHERE institution = $1 AND number = $2 AND language = $3 ORDER BY id"
        )))
        .bind(institution)
        .bind(number)
        .bind(language)
        .fetch_all_with(&self.pool, registry_row)
        .await
    }

    /// How many registry records there are, by event and credential type.
    pub async fn registry_counts(&self) -> Result<Vec<(String, String, i64)>> {
        sqlx::query(
            "SELECT event, credential_type, COUNT(*) AS n FROM registry_records GROUP BY event, credential_type \
             ORDER BY event, credential_type",
        )
        .fetch_all_with(&self.pool, |r| Ok((r.try_get("event")?, r.try_get("credential_type")?, r.try_get("n")?)))
        .await
    }

    /// Appends the records of one signed request in one step with its nonce: a nonce seen before
    /// is a replay and changes nothing; records already there are accepted again without change.
    pub async fn append_signed_records(
        &self,
        institution: &str,
        nonce: &str,
        at: i64,
        records: &[RegistryRecord],
    ) -> Result<Submission> {
        let mut tx = self.write_tx().await?;
        lock_log(&mut tx, self.backend()).await?;
        let fresh = sqlx::query(
            "INSERT INTO request_nonces (institution, nonce, at) VALUES ($1, $2, $3) \
             ON CONFLICT (institution, nonce) DO NOTHING",
        )
        .bind(institution)
        .bind(nonce)
        .bind(at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if fresh == 0 {
            return Ok(Submission::Replayed);
        }
        let mut added = 0;
        for record in records {
            added += insert_registry_record(&mut tx, record, Duplicate::Ignore).await?;
        }
        sequence_log(&mut tx).await?;
        tx.commit().await?;
        Ok(if added > 0 { Submission::Recorded } else { Submission::AlreadyRecorded })
    }

    /// Forgets nonces older than `before` (requests that old are refused by their time anyway).
    pub async fn prune_nonces(&self, before: i64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM request_nonces WHERE at < $1").bind(before).execute(&self.pool).await?;
        Ok(done.rows_affected())
    }
}

pub(super) const REGISTRY_SELECT: &str = "SELECT institution, sha256, event, number, language, version, previous_sha256, \
     credential_type, credential_sha256, reason, at, id FROM registry_records";

pub(super) fn registry_row(r: &AnyRow) -> Result<RegistryRecord> {
    Ok(RegistryRecord {
        credential_sha256: r.try_get("credential_sha256")?,
        institution: r.try_get("institution")?,
        sha256: r.try_get("sha256")?,
        event: r.try_get("event")?,
        number: r.try_get("number")?,
        language: r.try_get("language")?,
        version: r.try_get("version")?,
        previous_sha256: r.try_get("previous_sha256")?,
        credential_type: r.try_get("credential_type")?,
        reason: r.try_get("reason")?,
        at: r.try_get("at")?,
    })
}

/// A second issued file for the same certificate, language and version (the unique index of
/// migration 4, hit by a race the handler's checks could not see, or the unique keys of the
/// teacher certificates' files) is a conflict, not a failure.
pub(super) fn one_file_per_version(e: sqlx::Error) -> StoreError {
    unique_as(|| "another file is recorded for this certificate, language and version".into())(e)
}

/// What an insert does with a record already there (the same file, the same event).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Duplicate {
    /// Leaves it as it is and counts nothing: submissions are idempotent.
    Ignore,
    /// Refuses it as a conflict.
    Refuse,
}

/// Appends one registry record; returns how many rows it added (0 or 1). A second issued file
/// for the same certificate, language and version is a conflict either way. Call
/// [`lock_log`] first in the transaction and [`sequence_log`] after its records.
pub(crate) async fn insert_registry_record(tx: &mut Tx<'_>, r: &RegistryRecord, duplicate: Duplicate) -> Result<u64> {
    let on_conflict = match duplicate {
        Duplicate::Ignore => " ON CONFLICT (sha256, event) DO NOTHING",
        Duplicate::Refuse => "",
    };
    let done = sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO registry_records (institution, sha256, event, number, language, version, previous_sha256, \
         credential_type, reason, at, credential_sha256) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)\
         {on_conflict}"
    )))
    .bind(&r.institution)
    .bind(&r.sha256)
    .bind(&r.event)
    .bind(&r.number)
    .bind(&r.language)
    .bind(r.version)
    .bind(&r.previous_sha256)
    .bind(&r.credential_type)
    .bind(&r.reason)
    .bind(r.at)
    .bind(&r.credential_sha256)
    .execute(&mut **tx)
    .await
    .map_err(one_file_per_version)?;
    Ok(done.rows_affected())
}

/// Takes the log for this transaction, before it adds records: on PostgreSQL one writer at a
/// time from here to its commit, so that record ids and leaf indexes follow commit order (SQLite
/// writes one transaction at a time anyway).
pub(crate) async fn lock_log(tx: &mut Tx<'_>, backend: Backend) -> Result<()> {
    if backend == Backend::Postgres {
        sqlx::query("LOCK TABLE log_leaves IN EXCLUSIVE MODE").execute(&mut **tx).await?;
    }
    Ok(())
}

/// Gives every registry record without a leaf its leaf, in record order: the records this
/// transaction added (and, once, the records of a database older than the log).
pub(crate) async fn sequence_log(tx: &mut Tx<'_>) -> Result<()> {
    let last = sqlx::query(
        "SELECT CAST(COALESCE(MAX(idx), -1) AS BIGINT) AS idx, CAST(COALESCE(MAX(record_id), 0) AS BIGINT) AS record \
         FROM log_leaves",
    )
    .fetch_one(&mut **tx)
    .await?;
    let (mut next, after): (i64, i64) = (last.try_get::<i64, _>("idx")? + 1, last.try_get("record")?);
    let new = sqlx::query(AssertSqlSafe(format!("{REGISTRY_SELECT} WHERE id > $1 ORDER BY id")))
        .bind(after)
        .fetch_all(&mut **tx)
        .await?;
    for row in &new {
        let id: i64 = row.try_get("id")?;
        let leaf = log_entry_hash(&registry_row(row)?);
        sqlx::query("INSERT INTO log_leaves (idx, record_id, leaf) VALUES ($1, $2, $3)")
            .bind(next)
            .bind(id)
            .bind(digest::hex(&leaf))
            .execute(&mut **tx)
            .await?;
        next += 1;
    }
    Ok(())
}

/// The leaf hash of a record, as the log holds it.
pub fn log_entry_hash(r: &RegistryRecord) -> tlog::Hash {
    log_entry(r).leaf_hash()
}

/// What the log records of a record.
pub fn log_entry(r: &RegistryRecord) -> tlog::LogEntry<'_> {
    tlog::LogEntry {
        institution: &r.institution,
        event: &r.event,
        file_sha256: &r.sha256,
        number: &r.number,
        language: &r.language,
        version: r.version,
        previous_sha256: r.previous_sha256.as_deref(),
        credential_type: &r.credential_type,
        at: r.at,
    }
}

impl MinistryStore {
    /// The log's leaf hashes, in order, from leaf `from` on (at most `limit`).
    pub async fn log_leaves(&self, from: i64, limit: i64) -> Result<Vec<tlog::Hash>> {
        let rows = sqlx::query("SELECT idx, leaf FROM log_leaves WHERE idx >= $1 ORDER BY idx LIMIT $2")
            .bind(from)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let leaf: String = r.try_get("leaf")?;
                let hash = digest::unhex(&leaf).and_then(|b| tlog::Hash::try_from(b).ok());
                hash.ok_or_else(|| crate::db::corrupt("log leaf", leaf))
            })
            .collect()
    }

    /// How many leaves the log has.
    pub async fn log_size(&self) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM log_leaves").fetch_one(&self.pool).await?;
        Ok(row.try_get("n")?)
    }
}

impl MinistryStore {
    /// The leaf index of the `event` record of the file `sha256`, and when it was recorded.
    pub async fn log_leaf_of(&self, sha256: &str, event: &str) -> Result<Option<(i64, i64)>> {
        let row = sqlx::query(
            "SELECT l.idx AS idx, r.at AS at FROM log_leaves l JOIN registry_records r ON r.id = l.record_id \
             WHERE r.sha256 = $1 AND r.event = $2",
        )
        .bind(sha256)
        .bind(event)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((r.try_get("idx")?, r.try_get("at")?))).transpose()
    }

    /// The log's entries from leaf `from` on (at most `limit`), each with its leaf index: the
    /// records whose [`tlog::LogEntry`] a monitor hashes to rebuild the tree.
    pub async fn log_entries(&self, from: i64, limit: i64) -> Result<Vec<(i64, RegistryRecord)>> {
        sqlx::query(
            "SELECT l.idx AS idx, r.institution, r.sha256, r.event, r.number, r.language, r.version, \
             r.previous_sha256, r.credential_type, r.credential_sha256, r.reason, r.at FROM log_leaves l \
             JOIN registry_records r ON r.id = l.record_id WHERE l.idx >= $1 ORDER BY l.idx LIMIT $2",
        )
        .bind(from)
        .bind(limit)
        .fetch_all_with(&self.pool, |r| Ok((r.try_get("idx")?, registry_row(r)?)))
        .await
    }
}
