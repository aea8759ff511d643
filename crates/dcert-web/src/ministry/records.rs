//! The signed issuance-records API: `POST /api/v1/records`.
//!
//! An institution submits, per issued file, its SHA-256, certificate number, language, version,
//! the previous version's hash and the credential type, and status changes (revocations with a
//! reason), as one JSON [`RecordPayload`] per request, signed with one of its credential keys
//! ([`dcert_core::records`], scheme `dcert-records-v1`). The headers:
//!
//! - `Dcert-Institution`: the institution's id in the trust list;
//! - `Dcert-Timestamp`: Unix seconds, within 300 s of the Ministry's clock;
//! - `Dcert-Nonce`: 16 to 64 characters of `[A-Za-z0-9_-]`, new for every request;
//! - `Dcert-Signature`: the Ed25519 signature of the text below, base64url without padding.
//!
//! ```text
//! dcert-records-v1\nPOST\n/api/v1/records\n{institution}\n{timestamp}\n{nonce}\n{hex SHA-256 of the body}
//! ```
//!
//! Answers (JSON; an error is `{"error": {"code": "…", "message": "…"}}`):
//!
//! - 201 `recorded`; 200 `already_recorded` (the same record again: nothing changes);
//! - 400 the body is not a record; 413 the body is over 64 KiB;
//! - 401 the signature, key, institution or time is not acceptable;
//! - 403 the record names another institution, concerns another institution's file, or a
//!   credential type the institution is not accredited for;
//! - 404 a revocation of a file the registry does not have;
//! - 409 a replayed nonce (`replay`), or a record that conflicts with the registry;
//! - 422 a record that is not consistent in itself (unknown event, no reason, bad previous version).
//!
//! Records are only ever appended, in one transaction with the request's nonce, dated with
//! the Ministry's time of receipt (the payload's `at` is the institution's issue time, checked
//! to be no later than now). The payload is
//! never logged (certificate numbers are personal data): only the institution and the outcome.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use dcert_core::Sha256Digest;
use dcert_core::records::{self, PayloadError, RecordEvent, RecordPayload, RequestError, SignatureFields};
use dcert_core::records::{INSTITUTION_HEADER, MAX_BODY_BYTES, NONCE_HEADER, PATH, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use dcert_core::time::Timestamp;
use dcert_core::trust::TrustedIssuer;
use dcert_store::{MinistryStore, RegistryRecord, StoreError, Submission};
use serde_json::json;

use super::MinistryState;

/// How long nonces are kept, in seconds: a request is accepted within 300 s of its time either
/// way, so a nonce older than 600 s can no longer come back in an acceptable request.
const NONCE_RETENTION_SECONDS: i64 = 2 * records::MAX_SKEW_SECONDS;

/// The longest certificate number accepted.
const MAX_NUMBER_CHARS: usize = 200;

/// The longest revocation reason accepted.
const MAX_REASON_CHARS: usize = 2000;

/// A refused request: its status, a stable code and a text for the institution's operators.
#[derive(Debug)]
struct Refusal {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl Refusal {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Refusal {
        Refusal { status, code, message: message.into() }
    }
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Refusal {
        if let StoreError::Conflict(_) = e {
            // Another file was recorded for the same certificate and version meanwhile.
            return Refusal::new(
                StatusCode::CONFLICT,
                "conflicting_record",
                "the registry already has another file for this certificate, language and version",
            );
        }
        tracing::error!(error = %e, "registry records: the database failed");
        Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the registry could not be reached; try again")
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": { "code": self.code, "message": self.message } }))).into_response()
    }
}

/// `POST /api/v1/records`.
pub async fn submit(
    State(state): State<MinistryState>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            let message = format!("the body is over {MAX_BODY_BYTES} bytes");
            return Refusal::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", message).into_response();
        }
        Err(_) => {
            return Refusal::new(StatusCode::BAD_REQUEST, "malformed_record", "the body could not be read")
                .into_response();
        }
    };
    let claimed = single_header(&headers, INSTITUTION_HEADER).unwrap_or("-").to_owned();
    match accept(&state, &headers, &body, crate::http::now()).await {
        Ok((institution, outcome)) => {
            let (status, code) = match outcome {
                Submission::Recorded => (StatusCode::CREATED, "recorded"),
                _ => (StatusCode::OK, "already_recorded"),
            };
            tracing::debug!(institution = %institution, outcome = code, "registry records: accepted");
            (status, Json(json!({ "status": code }))).into_response()
        }
        Err(refusal) => {
            // The institution is as the request names it: it may not have verified.
            tracing::info!(
                institution = %claimed,
                outcome = refusal.code,
                status = refusal.status.as_u16(),
                "registry records: refused"
            );
            refusal.into_response()
        }
    }
}

/// Checks and appends one request; its institution and what became of it.
async fn accept(
    state: &MinistryState,
    headers: &HeaderMap,
    body: &[u8],
    now: Timestamp,
) -> Result<(String, Submission), Refusal> {
    if body.len() > MAX_BODY_BYTES {
        return Err(Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the body is over {MAX_BODY_BYTES} bytes"),
        ));
    }
    let header = |name: &'static str| {
        single_header(headers, name).ok_or_else(|| {
            Refusal::new(
                StatusCode::UNAUTHORIZED,
                "malformed_signature_headers",
                format!("the request needs exactly one {name} header of visible ASCII"),
            )
        })
    };
    let fields = SignatureFields {
        institution: header(INSTITUTION_HEADER)?,
        timestamp: header(TIMESTAMP_HEADER)?,
        nonce: header(NONCE_HEADER)?,
        signature: header(SIGNATURE_HEADER)?,
    };
    let published = state.trust();
    let verified = records::verify(&published.list, "POST", PATH, &fields, body, now).map_err(unauthorized)?;
    let issuer = published.list.issuer(&verified.institution).ok_or_else(|| {
        // `verify` found it in this same list.
        unauthorized(RequestError::UnknownInstitution(verified.institution.clone()))
    })?;
    // The registry may know more than the list it last published: a key revoked or ended
    // (by a rotation) since then signs nothing from that moment on.
    let registered = state.store.institution_keys(&verified.institution).await?;
    if let Some(k) = registered.iter().find(|k| k.public_key_multibase == verified.key) {
        if k.revoked_from.is_some_and(|from| from <= now.unix()) {
            return Err(Refusal::new(StatusCode::UNAUTHORIZED, "key_revoked", "the signing key has been revoked"));
        }
        if now.unix() > k.valid_until {
            return Err(Refusal::new(
                StatusCode::UNAUTHORIZED,
                "key_not_valid",
                "the signing key's validity has ended",
            ));
        }
    }

    let payload = RecordPayload::parse(body).map_err(|e| match e {
        PayloadError::UnknownEvent(_) => unprocessable("unknown_event", e.to_string()),
        PayloadError::Malformed(_) => Refusal::new(StatusCode::BAD_REQUEST, "malformed_record", e.to_string()),
    })?;
    let records = check(&state.store, issuer, &verified.institution, &payload, now).await?;

    let outcome =
        state.store.append_signed_records(&verified.institution, &verified.nonce, now.unix(), &records).await?;
    if outcome == Submission::Replayed {
        return Err(Refusal::new(StatusCode::CONFLICT, "replay", "this request's nonce was used before"));
    }
    // Two institutions racing for one file: the registry keeps one issued record per file, and
    // `AlreadyRecorded` must not hide that the one kept is another's.
    if payload.event == RecordEvent::Issued {
        let kept = state.store.registry_records(&payload.sha256).await?;
        if let Some(other) = kept.iter().find(|r| r.event == "issued" && !same_file(r, &records[0])) {
            return Err(conflict_with(other, &verified.institution));
        }
    }
    match state.store.prune_nonces(now.unix() - NONCE_RETENTION_SECONDS).await {
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "registry records: old nonces could not be pruned"),
    }
    Ok((verified.institution, outcome))
}

/// The one value of a header, if there is exactly one and it is visible ASCII.
fn single_header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    let mut values = headers.get_all(name).iter();
    let first = values.next()?;
    if values.next().is_some() {
        return None;
    }
    first.to_str().ok()
}

fn unauthorized(e: RequestError) -> Refusal {
    Refusal::new(StatusCode::UNAUTHORIZED, e.code(), e.to_string())
}

fn unprocessable(code: &'static str, message: impl Into<String>) -> Refusal {
    Refusal::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
}

/// A SHA-256 in the registry's one spelling: 64 lowercase hexadecimal digits.
fn digest(field: &str, value: &str) -> Result<(), Refusal> {
    match value.parse::<Sha256Digest>() {
        Ok(d) if d.to_string() == value => Ok(()),
        _ => Err(unprocessable("malformed_record", format!("{field} is not 64 lowercase hexadecimal digits"))),
    }
}

/// Whether two records describe the same file of the same certificate.
fn same_file(a: &RegistryRecord, b: &RegistryRecord) -> bool {
    a.institution == b.institution
        && a.number == b.number
        && a.language == b.language
        && a.version == b.version
        && a.credential_type == b.credential_type
}

fn conflict_with(existing: &RegistryRecord, institution: &str) -> Refusal {
    if existing.institution != institution {
        Refusal::new(
            StatusCode::FORBIDDEN,
            "not_your_certificate",
            "the registry has this file from another institution",
        )
    } else {
        Refusal::new(
            StatusCode::CONFLICT,
            "conflicting_record",
            "the registry has this file with another number, language, version or credential type",
        )
    }
}

/// Checks a record against the signer, its accreditation and the registry; the records to append.
async fn check(
    store: &MinistryStore,
    issuer: &TrustedIssuer,
    institution: &str,
    p: &RecordPayload,
    now: Timestamp,
) -> Result<Vec<RegistryRecord>, Refusal> {
    if p.institution != institution {
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "wrong_institution",
            "the record names another institution than the one that signed the request",
        ));
    }
    let accredited = issuer.entry.accreditation.credential_types.contains(&p.credential_type);
    if !accredited {
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "not_accredited",
            "the institution is not accredited for this credential type",
        ));
    }
    digest("sha256", &p.sha256)?;
    if p.number.trim().is_empty() || p.number.chars().count() > MAX_NUMBER_CHARS {
        return Err(unprocessable("malformed_record", "the certificate number is empty or too long"));
    }
    if p.version == 0 {
        return Err(unprocessable("malformed_record", "versions start at 1"));
    }
    if p.at <= 0 || p.at > now.unix() + records::MAX_SKEW_SECONDS {
        return Err(unprocessable("malformed_record", "the record's time is not a time up to now"));
    }
    // Dated with the registry's own time of receipt: verifiers trust it as the time the file
    // existed. (The payload names the signer: checked above.)
    let record = |event: &str, sha256: &str, version: u32, reason: Option<String>| {
        RegistryRecord::of(p, event, sha256, version, reason, now.unix())
    };
    if let Some(credential) = &p.credential_sha256 {
        digest("credentialSha256", credential)?;
        if p.event != RecordEvent::Issued || credential == &p.sha256 {
            return Err(unprocessable(
                "malformed_record",
                "only an issued file names its credential, a file of its own",
            ));
        }
    }
    if p.event == RecordEvent::Issued {
        if p.reason.is_some() {
            return Err(unprocessable("malformed_record", "an issued record has no reason"));
        }
        let issued = record("issued", &p.sha256, p.version, None);
        let existing = store.registry_records(&p.sha256).await?;
        if let Some(other) = existing.iter().find(|r| r.institution != institution) {
            return Err(conflict_with(other, institution));
        }
        if let Some(r) = existing.iter().find(|r| r.event == "issued" && !same_file(r, &issued)) {
            return Err(conflict_with(r, institution));
        }
        let certificate = store.registry_certificate(institution, &p.number, p.language.code()).await?;
        if certificate.iter().any(|r| r.event == "issued" && r.version == issued.version && r.sha256 != p.sha256) {
            return Err(Refusal::new(
                StatusCode::CONFLICT,
                "conflicting_record",
                "the registry has another file of this certificate, language and version",
            ));
        }
        let mut records = vec![issued];
        if let Some(previous) = &p.previous_sha256 {
            digest("previousSha256", previous)?;
            if p.version < 2 || previous == &p.sha256 {
                return Err(unprocessable(
                    "bad_previous",
                    "a previous version needs a version from 2 on and another file",
                ));
            }
            let superseded = record("superseded", previous, p.version - 1, None);
            let known = store.registry_records(previous).await?;
            if let Some(other) = known.iter().find(|r| r.institution != institution) {
                return Err(conflict_with(other, institution));
            }
            if !known.iter().any(|r| r.event == "issued" && same_file(r, &superseded)) {
                return Err(unprocessable(
                    "bad_previous",
                    "the previous version is not an issued file of this certificate, language and the version before",
                ));
            }
            records.push(superseded);
        }
        Ok(records)
    } else {
        let reason = p.reason.as_deref().map(str::trim).unwrap_or_default();
        if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
            return Err(unprocessable("reason_required", "a revocation needs a reason of up to 2000 characters"));
        }
        if p.previous_sha256.is_some() {
            return Err(unprocessable("malformed_record", "a revocation has no previous version"));
        }
        let revoked = record("revoked", &p.sha256, p.version, Some(reason.to_owned()));
        let mine = store.registry_certificate(institution, &p.number, p.language.code()).await?;
        if !mine.iter().any(|r| r.event == "issued" && r.sha256 == p.sha256) {
            let known = store.registry_records(&p.sha256).await?;
            return Err(match known.iter().find(|r| r.institution != institution) {
                Some(other) => conflict_with(other, institution),
                None => Refusal::new(
                    StatusCode::NOT_FOUND,
                    "not_found",
                    "the registry has no issued file of this institution with this hash, number and language",
                ),
            });
        }
        if let Some(r) = mine.iter().find(|r| r.event == "issued" && r.sha256 == p.sha256 && !same_file(r, &revoked)) {
            return Err(conflict_with(r, institution));
        }
        Ok(vec![revoked])
    }
}
