//! Signed requests to the Ministry's issuance-records API (scheme `dcert-records-v1`).
//!
//! An institution signs every request with one of its credential keys (Ed25519, the key the
//! trust list names for it). The signature covers this text, lines joined by `\n`, with no
//! trailing newline:
//!
//! ```text
//! dcert-records-v1
//! POST
//! /api/v1/records
//! {institution id}
//! {Unix seconds, decimal}
//! {nonce}
//! {SHA-256 of the exact body bytes, lowercase hex}
//! ```
//!
//! and travels as base64url without padding (86 characters; no other encoding is accepted).
//! A request verifies when the institution is in the trust list, its time is within
//! [`MAX_SKEW_SECONDS`] of the verifier's clock, the nonce is 16 to 64 characters of
//! `[A-Za-z0-9_-]`, and the signature verifies under one of the institution's credential keys
//! that is valid and not revoked both at the request's time and now. Refusing a nonce seen
//! before (a replay) is the caller's part: this module has no memory.
//!
//! Pure: the time, the key and the trust list are arguments.

use base64ct::Encoding as _;

use serde::{Deserialize, Serialize};

use crate::digest::Sha256Digest;
use crate::keys::CredentialKey;
use crate::model::{CredentialType, Language};
use crate::time::Timestamp;
use crate::trust::TrustList;

/// The first line of the signed text: the scheme and its version.
pub const SCHEME: &str = "dcert-records-v1";

/// The API's path, as signed.
pub const PATH: &str = "/api/v1/records";

/// The header naming the signing institution.
pub const INSTITUTION_HEADER: &str = "dcert-institution";

/// The header carrying the request's time, Unix seconds.
pub const TIMESTAMP_HEADER: &str = "dcert-timestamp";

/// The header carrying the request's nonce.
pub const NONCE_HEADER: &str = "dcert-nonce";

/// The header carrying the signature, base64url without padding.
pub const SIGNATURE_HEADER: &str = "dcert-signature";

/// The largest body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What an institution tells the registry happened to one of its files. (That a file was
/// superseded is the registry's own conclusion from a reissue, never something sent.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordEvent {
    /// The file was issued (version 1, or a reissue naming its previous version).
    Issued,
    /// The certificate was revoked, every version of it in that language.
    Revoked,
}

impl RecordEvent {
    /// The event as the wire format and the registry spell it.
    pub fn code(self) -> &'static str {
        match self {
            RecordEvent::Issued => "issued",
            RecordEvent::Revoked => "revoked",
        }
    }
}

/// The body of a request to the records API: one record, in JSON (format 1). Unknown fields
/// are refused, not ignored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecordPayload {
    /// The institution's id in the trust list: the one that signs the request.
    pub institution: String,
    /// What happened.
    pub event: RecordEvent,
    /// SHA-256 of the file, 64 lowercase hexadecimal digits.
    pub sha256: String,
    /// The certificate number.
    pub number: String,
    /// The language of the file.
    pub language: Language,
    /// The version, from 1.
    pub version: u32,
    /// SHA-256 of the previous version's file (its record becomes superseded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_sha256: Option<String>,
    /// The kind of credential.
    pub credential_type: CredentialType,
    /// SHA-256 of the file's embedded `credential.json`, for an issued record: the registry then
    /// answers for the bare credential too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_sha256: Option<String>,
    /// The reason of a revocation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When it happened at the institution, Unix seconds (the registry dates its record with
    /// its own time of receipt).
    pub at: i64,
}

/// Why a body is not a [`RecordPayload`].
#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    /// Not JSON, a field missing, unknown or of the wrong type.
    #[error("the body is not a registry record: {0}")]
    Malformed(String),
    /// An event other than `issued` or `revoked`.
    #[error("the event {0:?} is neither issued nor revoked")]
    UnknownEvent(String),
}

impl RecordPayload {
    /// Reads a request's body.
    pub fn parse(body: &[u8]) -> Result<RecordPayload, PayloadError> {
        match serde_json::from_slice(body) {
            Ok(payload) => Ok(payload),
            Err(e) => {
                // Say which event was not understood, when that is what failed.
                #[derive(Deserialize)]
                struct EventOnly {
                    event: String,
                }
                match serde_json::from_slice::<EventOnly>(body) {
                    Ok(EventOnly { event }) if event != "issued" && event != "revoked" => {
                        Err(PayloadError::UnknownEvent(event))
                    }
                    _ => Err(PayloadError::Malformed(e.to_string())),
                }
            }
        }
    }

    /// The body of a request: the payload's JSON.
    pub fn to_json(&self) -> Vec<u8> {
        // Plain strings, numbers and enums: serialising cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// How far a request's time may be from the verifier's clock, either way, in seconds.
pub const MAX_SKEW_SECONDS: i64 = 300;

/// The shortest nonce accepted.
pub const MIN_NONCE_LEN: usize = 16;

/// The longest nonce accepted.
pub const MAX_NONCE_LEN: usize = 64;

/// The longest institution id accepted.
const MAX_INSTITUTION_LEN: usize = 128;

/// The length of an encoded signature: 64 bytes in base64url without padding.
const SIGNATURE_LEN: usize = 86;

/// What a request's signature covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestToSign<'a> {
    /// The HTTP method, upper case (`POST`).
    pub method: &'a str,
    /// The request's path, without the query (`/api/v1/records`).
    pub path: &'a str,
    /// The institution's id in the trust list.
    pub institution: &'a str,
    /// When the request was made.
    pub timestamp: Timestamp,
    /// A fresh random value of 16 to 64 characters of `[A-Za-z0-9_-]`.
    pub nonce: &'a str,
    /// The exact bytes of the body.
    pub body: &'a [u8],
}

/// A request's signature headers as received: text not yet checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignatureFields<'a> {
    /// The institution's id.
    pub institution: &'a str,
    /// Unix seconds, decimal.
    pub timestamp: &'a str,
    /// The nonce.
    pub nonce: &'a str,
    /// The signature, base64url without padding.
    pub signature: &'a str,
}

/// A request whose signature verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedRequest {
    /// The institution that signed it (it is in the trust list).
    pub institution: String,
    /// The request's time.
    pub timestamp: Timestamp,
    /// The request's nonce (well formed; whether it is new is the caller's check).
    pub nonce: String,
    /// The credential key that signed it, as a Multikey (`z6Mk…`).
    pub key: String,
}

/// Why a signed request was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// A field is missing or not in its one accepted form.
    #[error("malformed request: {0}")]
    Malformed(&'static str),
    /// The trust list has no institution of that id.
    #[error("the institution {0:?} is not in the trust list")]
    UnknownInstitution(String),
    /// The request's time is too far in the past.
    #[error("the request's time {at} is more than {MAX_SKEW_SECONDS} seconds before now ({now})")]
    Stale {
        /// The request's time.
        at: Timestamp,
        /// The verifier's time.
        now: Timestamp,
    },
    /// The request's time is too far in the future.
    #[error("the request's time {at} is more than {MAX_SKEW_SECONDS} seconds after now ({now})")]
    Future {
        /// The request's time.
        at: Timestamp,
        /// The verifier's time.
        now: Timestamp,
    },
    /// No credential key of the institution, valid and not revoked at the request's time and
    /// now, verifies the signature.
    #[error("the signature does not verify under any credential key of {0:?} valid now")]
    BadSignature(String),
}

impl RequestError {
    /// A short stable code for the error, for JSON answers and logs.
    pub fn code(&self) -> &'static str {
        match self {
            RequestError::Malformed(_) => "malformed_signature_headers",
            RequestError::UnknownInstitution(_) => "unknown_institution",
            RequestError::Stale { .. } => "stale_timestamp",
            RequestError::Future { .. } => "future_timestamp",
            RequestError::BadSignature(_) => "bad_signature",
        }
    }
}

/// The text a request's signature covers (see the module documentation).
pub fn string_to_sign(request: &RequestToSign<'_>) -> String {
    let body = Sha256Digest::of(request.body);
    format!(
        "{SCHEME}\n{}\n{}\n{}\n{}\n{}\n{body}",
        request.method,
        request.path,
        request.institution,
        request.timestamp.unix(),
        request.nonce
    )
}

/// Signs a request; the result goes in the signature header as it is.
///
/// The fields must be well formed (a method of upper-case letters, a path and an institution
/// id of visible ASCII, a valid nonce), or the verifier refuses the request.
pub fn sign(key: &CredentialKey, request: &RequestToSign<'_>) -> String {
    let signature = key.sign(string_to_sign(request).as_bytes());
    base64ct::Base64UrlUnpadded::encode_string(&signature)
}

/// Whether a nonce has the accepted form: 16 to 64 characters of `[A-Za-z0-9_-]`.
pub fn is_valid_nonce(nonce: &str) -> bool {
    (MIN_NONCE_LEN..=MAX_NONCE_LEN).contains(&nonce.len())
        && nonce.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Verifies a request's signature against the trust list at `now`.
pub fn verify(
    trust: &TrustList,
    method: &str,
    path: &str,
    fields: &SignatureFields<'_>,
    body: &[u8],
    now: Timestamp,
) -> Result<VerifiedRequest, RequestError> {
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(RequestError::Malformed("the method is not upper-case letters"));
    }
    if path.is_empty() || !path.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(RequestError::Malformed("the path is not visible ASCII"));
    }
    let institution = fields.institution;
    if institution.is_empty()
        || institution.len() > MAX_INSTITUTION_LEN
        || !institution.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(RequestError::Malformed("the institution is not 1 to 128 visible ASCII characters"));
    }
    let timestamp = parse_timestamp(fields.timestamp)?;
    if !is_valid_nonce(fields.nonce) {
        return Err(RequestError::Malformed("the nonce is not 16 to 64 characters of A-Z, a-z, 0-9, _ and -"));
    }
    let signature = parse_signature(fields.signature)?;
    if timestamp.unix() < now.unix().saturating_sub(MAX_SKEW_SECONDS) {
        return Err(RequestError::Stale { at: timestamp, now });
    }
    if timestamp.unix() > now.unix().saturating_add(MAX_SKEW_SECONDS) {
        return Err(RequestError::Future { at: timestamp, now });
    }
    let issuer = trust.issuer(institution).ok_or_else(|| RequestError::UnknownInstitution(institution.to_owned()))?;
    let message = string_to_sign(&RequestToSign { method, path, institution, timestamp, nonce: fields.nonce, body });
    // A key revoked between the request's time and now no longer counts: the request's time is
    // the sender's claim, so the key must be good at both moments.
    let signer = issuer
        .keys
        .iter()
        .filter(|k| k.check_at(timestamp).is_ok() && k.check_at(now).is_ok())
        .find(|k| k.key.verify(message.as_bytes(), &signature));
    let Some(signer) = signer else {
        return Err(RequestError::BadSignature(institution.to_owned()));
    };
    Ok(VerifiedRequest {
        institution: institution.to_owned(),
        timestamp,
        nonce: fields.nonce.to_owned(),
        key: signer.entry.public_key_multibase.clone(),
    })
}

/// Unix seconds: 1 to 12 decimal digits, no sign, no leading zero.
fn parse_timestamp(text: &str) -> Result<Timestamp, RequestError> {
    let malformed = RequestError::Malformed("the timestamp is not Unix seconds in decimal digits");
    if text.is_empty() || text.len() > 12 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed);
    }
    if text.len() > 1 && text.starts_with('0') {
        return Err(malformed);
    }
    text.parse::<i64>().map(Timestamp).map_err(|_| malformed)
}

/// 64 bytes in base64url without padding, in its one canonical spelling.
fn parse_signature(text: &str) -> Result<[u8; 64], RequestError> {
    let malformed = RequestError::Malformed("the signature is not 64 bytes in base64url without padding");
    if text.len() != SIGNATURE_LEN {
        return Err(malformed);
    }
    let mut out = [0u8; 64];
    let decoded = base64ct::Base64UrlUnpadded::decode(text, &mut out).map_err(|_| malformed.clone())?;
    if decoded.len() != 64 {
        return Err(malformed);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_payload_round_trips_and_refuses_unknown_fields_and_events() {
        let payload = RecordPayload {
            institution: "nkust".into(),
            event: RecordEvent::Issued,
            sha256: "ab".repeat(32),
            number: "NKUST-113-2-C110152301".into(),
            language: Language::Zh,
            version: 1,
            previous_sha256: None,
            credential_type: CredentialType::Degree,
            credential_sha256: Some("cd".repeat(32)),
            reason: None,
            at: 1_750_000_000,
        };
        let json = payload.to_json();
        assert!(String::from_utf8_lossy(&json).contains("\"credentialType\":\"degree\""));
        assert_eq!(RecordPayload::parse(&json).unwrap(), payload);
        let extra = String::from_utf8(json.clone()).unwrap().replacen('{', "{\"note\":1,", 1);
        assert!(matches!(RecordPayload::parse(extra.as_bytes()), Err(PayloadError::Malformed(_))));
        let superseded = String::from_utf8(json).unwrap().replace("\"issued\"", "\"superseded\"");
        assert!(
            matches!(RecordPayload::parse(superseded.as_bytes()), Err(PayloadError::UnknownEvent(e)) if e == "superseded")
        );
        assert!(matches!(RecordPayload::parse(b"not json"), Err(PayloadError::Malformed(_))));
    }

    use super::*;
    use crate::keys::EcKey;
    use crate::model::{CredentialType, DegreeLevel};
    use crate::trust::{Accreditation, Der, IssuerEntry, KeyEntry, TrustListContent};
    use crate::x509::{self, CertProfile, CertRole, ParsedCert, TRUST_LIST_SIGNER_CN};

    const NOW: Timestamp = Timestamp(1_750_000_000);
    const NONCE: &str = "abcdefghijklmnop_-0123";
    const BODY: &[u8] = br#"{"event":"issued"}"#;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn key_entry(key: &CredentialKey, from: &str, until: &str, revoked: Option<&str>) -> KeyEntry {
        KeyEntry {
            public_key_multibase: key.public().to_multikey(),
            valid_from: ts(from),
            valid_until: ts(until),
            revoked_from: revoked.map(ts),
            revocation_reason: revoked.map(|_| "compromised".to_owned()),
        }
    }

    /// A trust list with `nkust` (keys 10 and, revoked from `revoked`, 12) and `ntu` (key 20).
    fn trust(revoked: &str) -> TrustList {
        let profile = |cn: &str, role| CertProfile {
            common_name: cn.into(),
            organization: "Ministry of Education".into(),
            not_before: ts("2024-01-01T00:00:00Z"),
            not_after: ts("2040-01-01T00:00:00Z"),
            role,
        };
        let root_key = EcKey::from_seed(&[1; 32]).unwrap();
        let root_der = x509::issue(&profile("Root", CertRole::Root), &root_key.public(), None, &root_key).unwrap();
        let root = ParsedCert::from_der(&root_der).unwrap();
        let signer_key = EcKey::from_seed(&[2; 32]).unwrap();
        let signer_der = x509::issue(
            &profile(TRUST_LIST_SIGNER_CN, CertRole::TrustListSigner),
            &signer_key.public(),
            Some(&root.cert),
            &root_key,
        )
        .unwrap();
        let issuer = |id: &str, keys: Vec<KeyEntry>| IssuerEntry {
            id: id.into(),
            name_zh: id.into(),
            name_en: id.into(),
            accreditation: Accreditation {
                credential_types: vec![CredentialType::Degree],
                degree_levels: vec![DegreeLevel::Bachelor],
            },
            credential_keys: keys,
            signing_certificates: vec![],
        };
        let (from, until) = ("2024-01-01T00:00:00Z", "2030-01-01T00:00:00Z");
        let content = TrustListContent {
            kind: "DcertTrustList".into(),
            format: 1,
            registry: "http://localhost".into(),
            sequence: 1,
            issued: ts("2025-01-01T00:00:00Z"),
            next_update: None,
            root_certificate: Der(root_der),
            signer_certificate: Der(signer_der),
            status_signer_certificate: None,
            log: None,
            issuers: vec![
                issuer(
                    "nkust",
                    vec![
                        key_entry(&CredentialKey::from_seed(&[10; 32]), from, until, None),
                        key_entry(&CredentialKey::from_seed(&[12; 32]), from, until, Some(revoked)),
                    ],
                ),
                issuer("ntu", vec![key_entry(&CredentialKey::from_seed(&[20; 32]), from, until, None)]),
            ],
            proof: None,
        };
        let json = TrustList::sign(&content, &signer_key).unwrap();
        TrustList::verify(&serde_json::to_vec(&json).unwrap(), None).unwrap()
    }

    fn request(institution: &str, at: Timestamp) -> RequestToSign<'_> {
        RequestToSign { method: "POST", path: "/api/v1/records", institution, timestamp: at, nonce: NONCE, body: BODY }
    }

    fn check(
        trust: &TrustList,
        r: &RequestToSign<'_>,
        signature: &str,
        body: &[u8],
    ) -> Result<VerifiedRequest, RequestError> {
        let at = r.timestamp.unix().to_string();
        let fields = SignatureFields { institution: r.institution, timestamp: &at, nonce: r.nonce, signature };
        verify(trust, r.method, r.path, &fields, body, NOW)
    }

    #[test]
    fn the_signed_text_is_the_documented_lines() {
        let text = string_to_sign(&request("nkust", Timestamp(1_750_000_000)));
        let body = Sha256Digest::of(BODY).to_string();
        assert_eq!(text, format!("dcert-records-v1\nPOST\n/api/v1/records\nnkust\n1750000000\n{NONCE}\n{body}"));
    }

    #[test]
    fn a_request_signed_with_a_key_of_its_institution_verifies() {
        let trust = trust("2029-01-01T00:00:00Z");
        let r = request("nkust", NOW.plus_seconds(-299));
        let signature = sign(&CredentialKey::from_seed(&[10; 32]), &r);
        assert_eq!(signature.len(), 86);
        let v = check(&trust, &r, &signature, BODY).unwrap();
        assert_eq!(v.institution, "nkust");
        assert_eq!(v.nonce, NONCE);
        assert_eq!(v.timestamp, NOW.plus_seconds(-299));
    }

    #[test]
    fn a_wrong_key_another_institutions_key_or_a_changed_body_does_not_verify() {
        let trust = trust("2029-01-01T00:00:00Z");
        let r = request("nkust", NOW);
        for seed in [[11; 32], [20; 32]] {
            let signature = sign(&CredentialKey::from_seed(&seed), &r);
            assert_eq!(check(&trust, &r, &signature, BODY), Err(RequestError::BadSignature("nkust".into())));
        }
        let signature = sign(&CredentialKey::from_seed(&[10; 32]), &r);
        assert!(matches!(check(&trust, &r, &signature, b"{}"), Err(RequestError::BadSignature(_))));
        // The signature of nkust's request, presented as ntu's.
        let other = request("ntu", NOW);
        assert!(matches!(check(&trust, &other, &signature, BODY), Err(RequestError::BadSignature(_))));
    }

    #[test]
    fn a_revoked_key_does_not_verify_from_its_revocation_on() {
        let r = request("nkust", NOW);
        let signature = sign(&CredentialKey::from_seed(&[12; 32]), &r);
        assert!(check(&trust("2029-01-01T00:00:00Z"), &r, &signature, BODY).is_ok());
        let revoked = trust("2024-06-01T00:00:00Z");
        assert_eq!(check(&revoked, &r, &signature, BODY), Err(RequestError::BadSignature("nkust".into())));
        // Revoked between the request's claimed time and now: refused too.
        let earlier = request("nkust", NOW.plus_seconds(-200));
        let signature = sign(&CredentialKey::from_seed(&[12; 32]), &earlier);
        let just_now = Timestamp(NOW.unix() - 100).to_string();
        assert!(check(&trust(&just_now), &earlier, &signature, BODY).is_err());
    }

    #[test]
    fn an_unknown_institution_or_a_time_out_of_the_window_is_refused() {
        let trust = trust("2029-01-01T00:00:00Z");
        let key = CredentialKey::from_seed(&[10; 32]);
        let r = request("nowhere", NOW);
        let e = check(&trust, &r, &sign(&key, &r), BODY).unwrap_err();
        assert_eq!(e, RequestError::UnknownInstitution("nowhere".into()));
        assert_eq!(e.code(), "unknown_institution");
        let stale = request("nkust", NOW.plus_seconds(-301));
        let e = check(&trust, &stale, &sign(&key, &stale), BODY).unwrap_err();
        assert!(matches!(e, RequestError::Stale { .. }), "{e}");
        assert!(e.to_string().contains("more than 300 seconds before now"), "{e}");
        let future = request("nkust", NOW.plus_seconds(301));
        let e = check(&trust, &future, &sign(&key, &future), BODY).unwrap_err();
        assert_eq!(e.code(), "future_timestamp");
        let edge = request("nkust", NOW.plus_seconds(300));
        assert!(check(&trust, &edge, &sign(&key, &edge), BODY).is_ok());
    }

    #[test]
    fn malformed_fields_are_refused_before_any_key_is_tried() {
        let trust = trust("2029-01-01T00:00:00Z");
        let key = CredentialKey::from_seed(&[10; 32]);
        let r = request("nkust", NOW);
        let good = sign(&key, &r);
        let at = NOW.unix().to_string();
        let fields = SignatureFields { institution: "nkust", timestamp: &at, nonce: NONCE, signature: &good };
        let run = |f: SignatureFields<'_>| verify(&trust, "POST", "/api/v1/records", &f, BODY, NOW);
        assert!(run(fields).is_ok());
        let padded = format!("{good}==");
        let hex = crate::digest::hex(&key.sign(b"x"));
        let standard = good.replace('-', "+").replace('_', "/");
        let mut bad_signatures = vec![padded.as_str(), hex.as_str(), "", "AAAA"];
        if standard != good {
            bad_signatures.push(&standard);
        }
        for signature in bad_signatures {
            let e = run(SignatureFields { signature, ..fields }).unwrap_err();
            assert_eq!(e.code(), "malformed_signature_headers", "{signature}");
        }
        let plus = format!("+{at}");
        let leading_zero = format!("0{at}");
        for timestamp in ["", "-1", "1.5", "12345678901234", plus.as_str(), leading_zero.as_str(), "abc"] {
            assert!(
                matches!(run(SignatureFields { timestamp, ..fields }), Err(RequestError::Malformed(_))),
                "{timestamp}"
            );
        }
        let long = "a".repeat(65);
        for nonce in ["short", "abcdefghijklmnop!", "abcdefghijklmnop\nq", "abcdefghijklmnop q", long.as_str()] {
            assert!(matches!(run(SignatureFields { nonce, ..fields }), Err(RequestError::Malformed(_))), "{nonce}");
        }
        assert!(is_valid_nonce(&"a".repeat(64)) && is_valid_nonce(&"Z".repeat(16)) && !is_valid_nonce(&"a".repeat(15)));
        for institution in ["", "nk ust", "nkust\n1", "國立"] {
            assert!(matches!(run(SignatureFields { institution, ..fields }), Err(RequestError::Malformed(_))));
        }
        let e = verify(&trust, "post", "/api/v1/records", &fields, BODY, NOW).unwrap_err();
        assert!(matches!(e, RequestError::Malformed(_)));
        let e = verify(&trust, "POST", "/api/v1/records\nx", &fields, BODY, NOW).unwrap_err();
        assert!(matches!(e, RequestError::Malformed(_)));
        // Signed for another path: does not verify here.
        let e = verify(&trust, "POST", "/api/v1/other", &fields, BODY, NOW).unwrap_err();
        assert!(matches!(e, RequestError::BadSignature(_)));
    }
}
