//! The Ministry's trust registry (發證單位): institutions and what they are accredited for, their
//! credential keys and PDF signing certificates with validity windows, and every signed trust
//! list published from them.
//!
//! Keys and certificates are never deleted, which the database enforces: a rotation ends a key's
//! window (it may only become shorter), a compromise revokes it from a time on (once). What they
//! signed before stays verifiable. Published lists are append-only.

use dcert_core::model::{CredentialType, DegreeLevel};
use dcert_core::trust::Accreditation;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::MinistryStore;
use crate::db::{FetchWith, Tx, append_audit, corrupt, unique_as};
use crate::{AuditEntry, Backend, Result, StoreError};

/// An institution of the registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Institution {
    /// The registry id, e.g. `nkust`.
    pub id: String,
    /// The name in Traditional Chinese.
    pub name_zh: String,
    /// The name in English.
    pub name_en: String,
    /// The postal address.
    pub address: String,
    /// What it may issue.
    pub accreditation: Accreditation,
    /// When it was onboarded (Unix seconds; ignored when saving).
    pub created_at: i64,
    /// When its details last changed (Unix seconds; ignored when saving).
    pub updated_at: i64,
}

/// Whom to ask about an institution's certificates: the office, its phone and the website.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InstitutionContact {
    /// The office, in Traditional Chinese (e.g. 教務處註冊組).
    pub office_zh: String,
    /// The office, in English (e.g. Registry Office).
    pub office_en: String,
    /// The phone number with its extension, as people dial it.
    pub phone: String,
    /// The website (`https://` only), or empty.
    pub website: String,
}

/// A credential key (Ed25519) of an institution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstitutionKey {
    /// Its row id.
    pub id: i64,
    /// The institution's id.
    pub institution: String,
    /// The public key as a Multikey (`z6Mk…`).
    pub public_key_multibase: String,
    /// Start of its window (Unix seconds).
    pub valid_from: i64,
    /// End of its window (Unix seconds).
    pub valid_until: i64,
    /// Revoked from this time on (Unix seconds).
    pub revoked_from: Option<i64>,
    /// Why it was revoked.
    pub revocation_reason: Option<String>,
    /// When it was recorded.
    pub added_at: i64,
}

/// A PDF signing certificate of an institution, issued by the Ministry root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstitutionCertificate {
    /// Its row id.
    pub id: i64,
    /// The institution's id.
    pub institution: String,
    /// The certificate, DER.
    pub der: Vec<u8>,
    /// The SHA-256 of the DER (hex).
    pub sha256: String,
    /// Its X.509 `notBefore` (Unix seconds).
    pub not_before: i64,
    /// Its X.509 `notAfter` (Unix seconds).
    pub not_after: i64,
    /// Revoked from this time on (Unix seconds).
    pub revoked_from: Option<i64>,
    /// Why it was revoked.
    pub revocation_reason: Option<String>,
    /// When it was recorded.
    pub added_at: i64,
}

/// A credential key to record.
#[derive(Clone, Copy, Debug)]
pub struct NewInstitutionKey<'a> {
    /// The public key as a Multikey (`z6Mk…`), in its canonical form.
    pub public_key_multibase: &'a str,
    /// Start of its window (Unix seconds).
    pub valid_from: i64,
    /// End of its window (Unix seconds).
    pub valid_until: i64,
}

/// A signing certificate to record.
#[derive(Clone, Copy, Debug)]
pub struct NewInstitutionCertificate<'a> {
    /// The certificate, DER.
    pub der: &'a [u8],
    /// The SHA-256 of the DER (hex).
    pub sha256: &'a str,
    /// Its X.509 `notBefore` (Unix seconds).
    pub not_before: i64,
    /// Its X.509 `notAfter` (Unix seconds).
    pub not_after: i64,
}

/// An institution with every key and certificate it ever had, oldest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisteredInstitution {
    /// The institution.
    pub institution: Institution,
    /// Its credential keys.
    pub keys: Vec<InstitutionKey>,
    /// Its signing certificates.
    pub certificates: Vec<InstitutionCertificate>,
}

/// A signed trust list as published.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredTrustList {
    /// Its sequence number.
    pub sequence: i64,
    /// When it was issued (Unix seconds).
    pub issued_at: i64,
    /// The signed JSON, byte for byte.
    pub json: String,
}

/// A table whose rows are revoked once: which row a value names, and how to say it.
#[derive(Clone, Copy)]
struct Revocable {
    table: &'static str,
    /// The column that names the row (with `institution`).
    column: &'static str,
    /// What a missing row is, for [`StoreError::NotFound`].
    what: &'static str,
    /// What a row is, in "this … is already revoked".
    this: &'static str,
}

const CREDENTIAL_KEYS: Revocable =
    Revocable { table: "institution_keys", column: "public_key_multibase", what: "credential key", this: "key" };

const SIGNING_CERTIFICATES: Revocable =
    Revocable { table: "institution_certificates", column: "sha256", what: "signing certificate", this: "certificate" };

const INSTITUTION_SELECT: &str =
    "SELECT id, name_zh, name_en, address, credential_types, degree_levels, created_at, updated_at FROM institutions";
const KEY_SELECT: &str = "SELECT id, institution, public_key_multibase, valid_from, valid_until, revoked_from, \
     revocation_reason, added_at FROM institution_keys";
const CERT_SELECT: &str = "SELECT id, institution, der, sha256, not_before, not_after, revoked_from, \
     revocation_reason, added_at FROM institution_certificates";

/// Codes as a JSON array, e.g. `["degree"]`.
fn codes<'a>(values: impl Iterator<Item = &'a str>) -> String {
    serde_json::Value::Array(values.map(|c| serde_json::Value::String(c.to_owned())).collect()).to_string()
}

fn type_codes(a: &Accreditation) -> String {
    codes(a.credential_types.iter().map(|t| t.code()))
}

fn level_codes(a: &Accreditation) -> String {
    codes(a.degree_levels.iter().map(|l| l.code()))
}

fn institution_row(r: &AnyRow) -> Result<Institution> {
    let types: String = r.try_get("credential_types")?;
    let levels: String = r.try_get("degree_levels")?;
    Ok(Institution {
        id: r.try_get("id")?,
        name_zh: r.try_get("name_zh")?,
        name_en: r.try_get("name_en")?,
        address: r.try_get("address")?,
        accreditation: Accreditation {
            credential_types: serde_json::from_str::<Vec<CredentialType>>(&types)
                .map_err(|e| corrupt("credential types", e))?,
            degree_levels: serde_json::from_str::<Vec<DegreeLevel>>(&levels)
                .map_err(|e| corrupt("degree levels", e))?,
        },
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn key_row(r: &AnyRow) -> Result<InstitutionKey> {
    Ok(InstitutionKey {
        id: r.try_get("id")?,
        institution: r.try_get("institution")?,
        public_key_multibase: r.try_get("public_key_multibase")?,
        valid_from: r.try_get("valid_from")?,
        valid_until: r.try_get("valid_until")?,
        revoked_from: r.try_get("revoked_from")?,
        revocation_reason: r.try_get("revocation_reason")?,
        added_at: r.try_get("added_at")?,
    })
}

fn cert_row(r: &AnyRow) -> Result<InstitutionCertificate> {
    Ok(InstitutionCertificate {
        id: r.try_get("id")?,
        institution: r.try_get("institution")?,
        der: r.try_get("der")?,
        sha256: r.try_get("sha256")?,
        not_before: r.try_get("not_before")?,
        not_after: r.try_get("not_after")?,
        revoked_from: r.try_get("revoked_from")?,
        revocation_reason: r.try_get("revocation_reason")?,
        added_at: r.try_get("added_at")?,
    })
}

async fn insert_key(tx: &mut Tx<'_>, institution: &str, key: &NewInstitutionKey<'_>, at: i64) -> Result<()> {
    if key.valid_until < key.valid_from {
        return Err(StoreError::Conflict("a key's window must end after it starts".into()));
    }
    let taken = sqlx::query("SELECT institution FROM institution_keys WHERE public_key_multibase = $1")
        .bind(key.public_key_multibase)
        .fetch_optional(&mut **tx)
        .await?;
    if taken.is_some() {
        return Err(StoreError::Conflict("this credential key is already registered".into()));
    }
    sqlx::query(
        "INSERT INTO institution_keys (institution, public_key_multibase, valid_from, valid_until, added_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(institution)
    .bind(key.public_key_multibase)
    .bind(key.valid_from)
    .bind(key.valid_until)
    .bind(at)
    .execute(&mut **tx)
    .await
    .map_err(unique_as(|| "this credential key is already registered".into()))?;
    Ok(())
}

async fn insert_certificate(
    tx: &mut Tx<'_>,
    institution: &str,
    cert: &NewInstitutionCertificate<'_>,
    at: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO institution_certificates (institution, der, sha256, not_before, not_after, added_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(institution)
    .bind(cert.der)
    .bind(cert.sha256)
    .bind(cert.not_before)
    .bind(cert.not_after)
    .bind(at)
    .execute(&mut **tx)
    .await
    .map_err(unique_as(|| "this signing certificate is already registered".into()))?;
    Ok(())
}

async fn institution_exists(tx: &mut Tx<'_>, id: &str) -> Result<bool> {
    Ok(sqlx::query("SELECT 1 FROM institutions WHERE id = $1").bind(id).fetch_optional(&mut **tx).await?.is_some())
}

impl MinistryStore {
    /// Records a new institution with its first credential key and signing certificate and the
    /// audit entry `audit`, in one transaction: an id, key or certificate already registered changes nothing.
    pub async fn add_institution(
        &self,
        institution: &Institution,
        key: &NewInstitutionKey<'_>,
        certificate: &NewInstitutionCertificate<'_>,
        at: i64,
        audit: &AuditEntry,
    ) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let taken = || format!("the institution id {} is already registered", institution.id);
        if institution_exists(&mut tx, &institution.id).await? {
            return Err(StoreError::Conflict(taken()));
        }
        sqlx::query(
            "INSERT INTO institutions (id, name_zh, name_en, address, credential_types, degree_levels, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind(&institution.id)
        .bind(&institution.name_zh)
        .bind(&institution.name_en)
        .bind(&institution.address)
        .bind(type_codes(&institution.accreditation))
        .bind(level_codes(&institution.accreditation))
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(unique_as(taken))?;
        insert_key(&mut tx, &institution.id, key, at).await?;
        insert_certificate(&mut tx, &institution.id, certificate, at).await?;
        append_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Changes an institution's names, address and accreditation (its id and creation time stay),
    /// with the audit entry `audit`.
    pub async fn update_institution(&self, institution: &Institution, at: i64, audit: &AuditEntry) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query(
            "UPDATE institutions SET name_zh = $2, name_en = $3, address = $4, credential_types = $5, \
             degree_levels = $6, updated_at = $7 WHERE id = $1",
        )
        .bind(&institution.id)
        .bind(&institution.name_zh)
        .bind(&institution.name_en)
        .bind(&institution.address)
        .bind(type_codes(&institution.accreditation))
        .bind(level_codes(&institution.accreditation))
        .bind(at)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("institution"));
        }
        append_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whom to ask about the certificates of institution `id`, if the Ministry recorded it.
    pub async fn institution_contact(&self, id: &str) -> Result<Option<InstitutionContact>> {
        sqlx::query("SELECT office_zh, office_en, phone, website FROM institution_contacts WHERE institution = $1")
            .bind(id)
            .fetch_optional_with(&self.pool, |r| {
                Ok(InstitutionContact {
                    office_zh: r.try_get("office_zh")?,
                    office_en: r.try_get("office_en")?,
                    phone: r.try_get("phone")?,
                    website: r.try_get("website")?,
                })
            })
            .await
    }

    /// Records whom to ask about institution `id`'s certificates, with the audit entry `audit`.
    pub async fn set_institution_contact(
        &self,
        id: &str,
        contact: &InstitutionContact,
        at: i64,
        audit: &AuditEntry,
    ) -> Result<()> {
        let mut tx = self.write_tx().await?;
        if !institution_exists(&mut tx, id).await? {
            return Err(StoreError::NotFound("institution"));
        }
        sqlx::query(
            "INSERT INTO institution_contacts (institution, office_zh, office_en, phone, website, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (institution) DO UPDATE SET office_zh = $2, \
             office_en = $3, phone = $4, website = $5, updated_at = $6",
        )
        .bind(id)
        .bind(&contact.office_zh)
        .bind(&contact.office_en)
        .bind(&contact.phone)
        .bind(&contact.website)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        append_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// An institution by id.
    pub async fn institution(&self, id: &str) -> Result<Option<Institution>> {
        sqlx::query(AssertSqlSafe(format!("{INSTITUTION_SELECT} WHERE id = $1")))
            .bind(id)
            .fetch_optional_with(&self.pool, institution_row)
            .await
    }

    /// Every institution, by id.
    pub async fn institutions(&self) -> Result<Vec<Institution>> {
        sqlx::query(AssertSqlSafe(format!("{INSTITUTION_SELECT} ORDER BY id")))
            .fetch_all_with(&self.pool, institution_row)
            .await
    }

    /// Every credential key of an institution, oldest first.
    pub async fn institution_keys(&self, institution: &str) -> Result<Vec<InstitutionKey>> {
        sqlx::query(AssertSqlSafe(format!("{KEY_SELECT} WHERE institution = $1 ORDER BY valid_from, id")))
            .bind(institution)
            .fetch_all_with(&self.pool, key_row)
            .await
    }

    /// Every signing certificate of an institution, oldest first.
    pub async fn institution_certificates(&self, institution: &str) -> Result<Vec<InstitutionCertificate>> {
        sqlx::query(AssertSqlSafe(format!("{CERT_SELECT} WHERE institution = $1 ORDER BY not_before, id")))
            .bind(institution)
            .fetch_all_with(&self.pool, cert_row)
            .await
    }

    /// The whole registry as one consistent snapshot (what a trust list is built from):
    /// institutions by id, each with its keys and certificates, oldest first.
    pub async fn trust_registry(&self) -> Result<Vec<RegisteredInstitution>> {
        let mut tx = match self.backend {
            // In WAL mode a read transaction sees one snapshot.
            Backend::Sqlite => self.pool.begin().await?,
            Backend::Postgres => self.pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY").await?,
        };
        let institutions = sqlx::query(AssertSqlSafe(format!("{INSTITUTION_SELECT} ORDER BY id")))
            .fetch_all_with(&mut *tx, institution_row)
            .await?;
        let keys = sqlx::query(AssertSqlSafe(format!("{KEY_SELECT} ORDER BY valid_from, id")))
            .fetch_all_with(&mut *tx, key_row)
            .await?;
        let certificates = sqlx::query(AssertSqlSafe(format!("{CERT_SELECT} ORDER BY not_before, id")))
            .fetch_all_with(&mut *tx, cert_row)
            .await?;
        tx.commit().await?;
        Ok(institutions
            .into_iter()
            .map(|institution| RegisteredInstitution {
                keys: keys.iter().filter(|k| k.institution == institution.id).cloned().collect(),
                certificates: certificates.iter().filter(|c| c.institution == institution.id).cloned().collect(),
                institution,
            })
            .collect())
    }

    /// A key rotation with its audit entry `audit`, in one transaction: a new credential key ends the window of the
    /// institution's keys still open at `at` (what they signed before stays valid); a new
    /// signing certificate is added beside the old ones. At least one of the two is given.
    pub async fn rotate_institution_keys(
        &self,
        institution: &str,
        key: Option<&NewInstitutionKey<'_>>,
        certificate: Option<&NewInstitutionCertificate<'_>>,
        at: i64,
        audit: &AuditEntry,
    ) -> Result<()> {
        if key.is_none() && certificate.is_none() {
            return Err(StoreError::Conflict("a rotation needs a new key or a new certificate".into()));
        }
        let mut tx = self.write_tx().await?;
        if !institution_exists(&mut tx, institution).await? {
            return Err(StoreError::NotFound("institution"));
        }
        if let Some(key) = key {
            sqlx::query(
                "UPDATE institution_keys SET valid_until = $2 \
                 WHERE institution = $1 AND valid_from <= $2 AND valid_until > $2",
            )
            .bind(institution)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            insert_key(&mut tx, institution, key, at).await?;
        }
        if let Some(certificate) = certificate {
            insert_certificate(&mut tx, institution, certificate, at).await?;
        }
        append_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Revokes an institution's credential key from `from` on, once, with the audit entry `audit`.
    pub async fn revoke_institution_key(
        &self,
        institution: &str,
        public_key_multibase: &str,
        from: i64,
        reason: &str,
        audit: &AuditEntry,
    ) -> Result<()> {
        self.revoke_once(&CREDENTIAL_KEYS, institution, public_key_multibase, from, reason, audit).await
    }

    /// Revokes an institution's signing certificate (by the SHA-256 of its DER) from `from` on,
    /// once, with the audit entry `audit`.
    pub async fn revoke_institution_certificate(
        &self,
        institution: &str,
        sha256: &str,
        from: i64,
        reason: &str,
        audit: &AuditEntry,
    ) -> Result<()> {
        self.revoke_once(&SIGNING_CERTIFICATES, institution, sha256, from, reason, audit).await
    }

    /// Sets the revocation of one row of `table` that is not revoked yet, in one statement: of
    /// two revocations at once, the second changes no row (never the revocation the database
    /// keeps) and is told the row is revoked already.
    async fn revoke_once(
        &self,
        table: &Revocable,
        institution: &str,
        value: &str,
        from: i64,
        reason: &str,
        audit: &AuditEntry,
    ) -> Result<()> {
        let Revocable { table: name, column, what, this } = *table;
        let mut tx = self.write_tx().await?;
        let done = sqlx::query(AssertSqlSafe(format!(
            "UPDATE {name} SET revoked_from = $3, revocation_reason = $4 \
             WHERE institution = $1 AND {column} = $2 AND revoked_from IS NULL"
        )))
        .bind(institution)
        .bind(value)
        .bind(from)
        .bind(reason)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() > 0 {
            append_audit(&mut tx, audit).await?;
            tx.commit().await?;
            return Ok(());
        }
        // No row changed: there is none, or it is revoked already (perhaps a moment ago).
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT revoked_from FROM {name} WHERE institution = $1 AND {column} = $2"
        )))
        .bind(institution)
        .bind(value)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound(what))?;
        match row.try_get::<Option<i64>, _>(0)? {
            Some(already) => Err(StoreError::Conflict(format!("this {this} is already revoked (from {already})"))),
            None => Err(StoreError::Conflict(format!("this {this} could not be revoked; try again"))),
        }
    }

    /// Keeps a newly signed trust list with the audit entry `audit`. Its sequence must follow the latest one's: a list signed
    /// while another was being published is refused (build and sign it again).
    pub async fn append_trust_list(&self, list: &StoredTrustList, audit: &AuditEntry) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let latest: Option<i64> =
            sqlx::query("SELECT MAX(sequence) FROM trust_lists").fetch_one(&mut *tx).await?.try_get(0)?;
        let stale = || format!("trust list {} is already published; publish again", list.sequence);
        if latest.is_some_and(|l| list.sequence <= l) {
            return Err(StoreError::Conflict(stale()));
        }
        sqlx::query("INSERT INTO trust_lists (sequence, issued_at, json) VALUES ($1, $2, $3)")
            .bind(list.sequence)
            .bind(list.issued_at)
            .bind(&list.json)
            .execute(&mut *tx)
            .await
            .map_err(unique_as(stale))?;
        append_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The trust list published last.
    pub async fn latest_trust_list(&self) -> Result<Option<StoredTrustList>> {
        sqlx::query("SELECT sequence, issued_at, json FROM trust_lists ORDER BY sequence DESC LIMIT 1")
            .fetch_optional_with(&self.pool, trust_list_row)
            .await
    }

    /// A trust list published before, by sequence number.
    pub async fn trust_list(&self, sequence: i64) -> Result<Option<StoredTrustList>> {
        sqlx::query("SELECT sequence, issued_at, json FROM trust_lists WHERE sequence = $1")
            .bind(sequence)
            .fetch_optional_with(&self.pool, trust_list_row)
            .await
    }
}

fn trust_list_row(r: &AnyRow) -> Result<StoredTrustList> {
    Ok(StoredTrustList {
        sequence: r.try_get("sequence")?,
        issued_at: r.try_get("issued_at")?,
        json: r.try_get("json")?,
    })
}
