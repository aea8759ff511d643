//! The certificate as a W3C Verifiable Credential 2.0 (`credential.json`), format version 1.
//!
//! ```json
//! {
//!   "@context": ["https://www.w3.org/ns/credentials/v2"],
//!   "id": "urn:dcert:nkust:NKUST-1132-000123:zh:1",
//!   "type": ["VerifiableCredential", "DcertDegreeCredential"],
//!   "name": "數位學位證書",
//!   "issuer": "https://registry.example/issuers/nkust",
//!   "validFrom": "2025-07-01T00:00:00Z",
//!   "credentialStatus": { "id": "https://registry.example/api/v1/status/nkust/NKUST-1132-000123/zh/1",
//!                         "type": "DcertRegistryStatus" },
//!   "credentialSubject": { "type": "DcertDegree", "nameZh": "王小明", … },
//!   "certificate": { "format": 1, "number": "NKUST-1132-000123", "language": "zh", "version": 1 },
//!   "proof": { "type": "DataIntegrityProof", "cryptosuite": "eddsa-jcs-2022", … }
//! }
//! ```
//!
//! The issuer is an https URL under the Ministry's registry whose controller document lists the
//! issuer's keys under `assertionMethod`; the verification method is `<issuer>#<multikey>`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::di::{self, ProofError, ProofInfo, ProofOptions};
use crate::digest::Sha256Digest;
use crate::keys::CredentialKey;
use crate::model::{Certificate, CredentialType, DegreeRecord, Language, ModelError, Subject, TeacherRecord};
use crate::time::Timestamp;

/// The VC 2.0 base context.
pub const VC_V2_CONTEXT: &str = "https://www.w3.org/ns/credentials/v2";
/// The version of the credential format this code writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// The largest `credential.json` accepted, in bytes.
pub const MAX_CREDENTIAL_BYTES: usize = 64 * 1024;

/// How the issuer is named in the credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuerRef {
    /// The issuer's short identifier in the registry, e.g. `nkust`.
    pub id: String,
    /// The registry's base URL, e.g. `https://dcert.example.gov.tw`.
    pub registry: String,
}

impl IssuerRef {
    /// The issuer URL: `<registry>/issuers/<id>`.
    pub fn url(&self) -> String {
        issuer_url(&self.registry, &self.id)
    }

    /// The verification method URL of a key: `<issuer>#<multikey>`.
    pub fn key_url(&self, multikey: &str) -> String {
        format!("{}#{}", self.url(), multikey)
    }
}

/// `<registry>/issuers/<id>`.
pub fn issuer_url(registry: &str, id: &str) -> String {
    format!("{}/issuers/{}", registry.trim_end_matches('/'), id)
}

/// Whether `id` is a valid issuer identifier: 2 to 32 lowercase letters, digits or `-`.
pub fn is_valid_issuer_id(id: &str) -> bool {
    (2..=32).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-')
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CredentialJson {
    #[serde(rename = "@context")]
    context: Vec<String>,
    id: String,
    #[serde(rename = "type")]
    types: Vec<String>,
    name: String,
    issuer: String,
    valid_from: Timestamp,
    credential_status: StatusJson,
    credential_subject: SubjectJson,
    certificate: CertificateJson,
    #[serde(default, skip_serializing)]
    #[allow(dead_code)]
    proof: Option<Value>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusJson {
    id: String,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "type")]
enum SubjectJson {
    #[serde(rename = "DcertDegree")]
    Degree(DegreeRecord),
    #[serde(rename = "DcertTeacher")]
    Teacher(TeacherRecord),
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CertificateJson {
    format: u32,
    number: String,
    language: Language,
    version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    previous_version_sha256: Option<Sha256Digest>,
}

fn credential_type_name(t: CredentialType) -> &'static str {
    match t {
        CredentialType::Degree => "DcertDegreeCredential",
        CredentialType::Teacher => "DcertTeacherCredential",
    }
}

fn display_name(t: CredentialType, language: Language) -> &'static str {
    match (t, language) {
        (CredentialType::Degree, Language::Zh) => "數位學位證書",
        (CredentialType::Degree, Language::En) => "Digital Degree Certificate",
        (CredentialType::Teacher, Language::Zh) => "電子教師證書",
        (CredentialType::Teacher, Language::En) => "Digital Teacher Certificate",
    }
}

/// The credential's id: `urn:dcert:<issuer>:<number>:<language>:<version>`.
pub fn credential_id(issuer_id: &str, certificate: &Certificate) -> String {
    format!("urn:dcert:{}:{}:{}:{}", issuer_id, certificate.number, certificate.language, certificate.version)
}

/// The registry's status URL for a certificate file.
pub fn status_url(issuer: &IssuerRef, certificate: &Certificate) -> String {
    format!(
        "{}/api/v1/status/{}/{}/{}/{}",
        issuer.registry.trim_end_matches('/'),
        issuer.id,
        certificate.number,
        certificate.language,
        certificate.version
    )
}

/// Builds and signs the credential for `certificate`, issued by `issuer` at `issued_at`.
/// Returns the secured JSON document.
pub fn sign_credential(
    certificate: &Certificate,
    issuer: &IssuerRef,
    key: &CredentialKey,
    issued_at: Timestamp,
) -> Result<Value, CredentialError> {
    certificate.validate()?;
    let credential_type = certificate.subject.credential_type();
    let json = CredentialJson {
        context: vec![VC_V2_CONTEXT.to_owned()],
        id: credential_id(&issuer.id, certificate),
        types: vec!["VerifiableCredential".into(), credential_type_name(credential_type).into()],
        name: display_name(credential_type, certificate.language).into(),
        issuer: issuer.url(),
        valid_from: issued_at,
        credential_status: StatusJson { id: status_url(issuer, certificate), kind: "DcertRegistryStatus".into() },
        credential_subject: match &certificate.subject {
            Subject::Degree(d) => SubjectJson::Degree(d.clone()),
            Subject::Teacher(t) => SubjectJson::Teacher(t.clone()),
        },
        certificate: CertificateJson {
            format: FORMAT_VERSION,
            number: certificate.number.clone(),
            language: certificate.language,
            version: certificate.version,
            previous_version_sha256: certificate.previous_version_sha256,
        },
        proof: None,
    };
    let Value::Object(document) = serde_json::to_value(&json).map_err(|_| CredentialError::Encode)? else {
        return Err(CredentialError::Encode);
    };
    let options = ProofOptions {
        created: issued_at,
        verification_method: issuer.key_url(&key.public().to_multikey()),
        proof_purpose: "assertionMethod",
    };
    Ok(di::sign_eddsa(document, key, &options)?)
}

/// The bytes of `credential.json` as embedded in the PDF: pretty-printed UTF-8 JSON.
pub fn to_file_bytes(credential: &Value) -> Vec<u8> {
    // Serialising a serde_json::Value into memory cannot fail.
    let mut bytes = serde_json::to_vec_pretty(credential).expect("JSON value serialises");
    bytes.push(b'\n');
    bytes
}

/// A credential read from untrusted bytes: well-formed, but nothing about it is verified yet.
#[derive(Clone, Debug)]
pub struct UnverifiedCredential {
    /// The document as parsed, proof included, for proof verification.
    pub document: Value,
    /// The certificate it claims to certify.
    pub certificate: Certificate,
    /// The issuer URL it claims.
    pub issuer_url: String,
    /// The claimed issue time (`validFrom`).
    pub valid_from: Timestamp,
    /// The proof, as claimed.
    pub proof: ProofInfo,
}

/// `credential.json` is not a dcert credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// Larger than [`MAX_CREDENTIAL_BYTES`].
    #[error("the credential is larger than {MAX_CREDENTIAL_BYTES} bytes")]
    TooLarge,
    /// Not JSON, or not of the credential's shape.
    #[error("not a dcert credential: {0}")]
    Shape(String),
    /// A format version this code does not know.
    #[error("credential format {0} is not supported (this verifier reads format {FORMAT_VERSION})")]
    UnsupportedFormat(u32),
    /// The record inside is not valid.
    #[error("the credential's record is invalid: {0}")]
    Model(#[from] ModelError),
    /// The proof is missing or malformed.
    #[error(transparent)]
    Proof(#[from] ProofError),
    /// The credential could not be encoded (an internal error).
    #[error("the credential could not be encoded")]
    Encode,
}

impl UnverifiedCredential {
    /// Reads `credential.json` bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self, CredentialError> {
        if bytes.len() > MAX_CREDENTIAL_BYTES {
            return Err(CredentialError::TooLarge);
        }
        // serde_json limits nesting to 128 levels, so hostile input cannot exhaust the stack.
        let document = crate::json::parse_strict(bytes).map_err(|e| CredentialError::Shape(e.to_string()))?;
        Self::from_value(document)
    }

    /// Reads an already parsed JSON document.
    pub fn from_value(document: Value) -> Result<Self, CredentialError> {
        let format = document.get("certificate").and_then(|c| c.get("format")).and_then(Value::as_u64);
        if let Some(f) = format
            && f != u64::from(FORMAT_VERSION)
        {
            return Err(CredentialError::UnsupportedFormat(u32::try_from(f).unwrap_or(u32::MAX)));
        }
        let json = CredentialJson::deserialize(&document).map_err(|e| CredentialError::Shape(e.to_string()))?;
        if json.context.first().map(String::as_str) != Some(VC_V2_CONTEXT) {
            return Err(CredentialError::Shape("@context does not begin with the VC 2.0 context".into()));
        }
        let subject = match json.credential_subject {
            SubjectJson::Degree(d) => Subject::Degree(d),
            SubjectJson::Teacher(t) => Subject::Teacher(t),
        };
        let expected_type = credential_type_name(subject.credential_type());
        if json.types.len() != 2 || json.types[0] != "VerifiableCredential" || json.types[1] != expected_type {
            return Err(CredentialError::Shape(format!("type must be [VerifiableCredential, {expected_type}]")));
        }
        let certificate = Certificate {
            number: json.certificate.number,
            language: json.certificate.language,
            version: json.certificate.version,
            previous_version_sha256: json.certificate.previous_version_sha256,
            subject,
        };
        certificate.validate()?;
        let proof = di::proof_info(&document)?;
        Ok(Self { document, certificate, issuer_url: json.issuer, valid_from: json.valid_from, proof })
    }
}

/// The id of the issuer whose URL under `registry` is `url`, if it is one.
pub fn issuer_id_from_url<'a>(registry: &str, url: &'a str) -> Option<&'a str> {
    let prefix = format!("{}/issuers/", registry.trim_end_matches('/'));
    url.strip_prefix(prefix.as_str()).filter(|id| is_valid_issuer_id(id))
}

/// Builds the JSON object of a document from pairs, for callers composing controller documents.
pub fn object(pairs: impl IntoIterator<Item = (&'static str, Value)>) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}
