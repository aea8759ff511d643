//! The Ministry's signed trust list: which institutions may issue which credentials, with which
//! keys and signing certificates, in which validity windows.
//!
//! The list is JSON (format 1) secured with an `ecdsa-jcs-2019` Data Integrity proof by the trust
//! list signer, whose certificate the Ministry root issued. A verifier pins the root by its SHA-256
//! fingerprint, or accepts the root inside the list and reports its fingerprint.

use base64ct::Encoding as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::credential::{self, is_valid_issuer_id};
use crate::di::{self, ProofOptions};
use crate::digest::Sha256Digest;
use crate::keys::{CredentialPublicKey, EcKey};
use crate::model::{Certificate, CredentialType, DegreeLevel, Subject};
use crate::seal;
use crate::time::Timestamp;
use crate::x509::{ParsedCert, STATUS_SIGNING, TRUST_LIST_SIGNING};

/// The trust list format this code writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// The largest trust list accepted, in bytes.
pub const MAX_TRUST_LIST_BYTES: usize = 16 << 20;

/// DER bytes carried as standard base64 in JSON.
#[derive(Clone, PartialEq, Eq)]
pub struct Der(pub Vec<u8>);

impl std::fmt::Debug for Der {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Der({} bytes)", self.0.len())
    }
}

impl Serialize for Der {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&base64ct::Base64::encode_string(&self.0))
    }
}

impl<'de> Deserialize<'de> for Der {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        base64ct::Base64::decode_vec(&s).map(Der).map_err(|_| serde::de::Error::custom("not base64"))
    }
}

/// What an institution is accredited to issue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Accreditation {
    /// The credential types.
    pub credential_types: Vec<CredentialType>,
    /// The degree levels, for degree certificates.
    #[serde(default)]
    pub degree_levels: Vec<DegreeLevel>,
}

/// A credential key of an institution, with its validity window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeyEntry {
    /// The Ed25519 public key as a Multikey (`z6Mk…`).
    pub public_key_multibase: String,
    /// Proofs made before this are not accepted.
    pub valid_from: Timestamp,
    /// Proofs made after this are not accepted; proofs made before stay valid (rotation).
    pub valid_until: Timestamp,
    /// A compromised key is revoked from this moment on: proofs claiming a later time fail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_from: Option<Timestamp>,
    /// Why the key was revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_reason: Option<String>,
}

/// A PDF signing certificate of an institution.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CertEntry {
    /// The certificate, DER in base64.
    pub certificate: Der,
    /// Revoked from this moment on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_from: Option<Timestamp>,
    /// Why the certificate was revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_reason: Option<String>,
}

impl KeyEntry {
    /// A key valid from `valid_from` to `valid_until`, not revoked.
    pub fn new(public_key_multibase: String, valid_from: Timestamp, valid_until: Timestamp) -> KeyEntry {
        KeyEntry { public_key_multibase, valid_from, valid_until, revoked_from: None, revocation_reason: None }
    }
}

impl CertEntry {
    /// A signing certificate (DER), not revoked.
    pub fn new(der: Vec<u8>) -> CertEntry {
        CertEntry { certificate: Der(der), revoked_from: None, revocation_reason: None }
    }
}

/// An institution in the trust list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IssuerEntry {
    /// The registry id, e.g. `nkust`.
    pub id: String,
    /// The name in Traditional Chinese, as the registry records it.
    pub name_zh: String,
    /// The name in English.
    pub name_en: String,
    /// What it may issue.
    pub accreditation: Accreditation,
    /// Its credential keys, current and past.
    pub credential_keys: Vec<KeyEntry>,
    /// Its PDF signing certificates, current and past.
    pub signing_certificates: Vec<CertEntry>,
}

/// The registry's transparency log, as the trust list names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LogDescriptor {
    /// The log's origin, the first line of its checkpoints (e.g. `dcert.moe.gov.tw/log`).
    pub origin: String,
    /// The key that signs its checkpoints, as a C2SP signed-note verifier key named by the
    /// origin (`origin+keyid+base64`).
    pub verifier_key: String,
}

impl LogDescriptor {
    /// The log of the registry at `registry_url` (its origin from the URL), signing with `key`.
    pub fn of(registry_url: &str, key: &crate::tlog::LogKey) -> LogDescriptor {
        let origin = crate::tlog::origin_for(registry_url);
        let verifier = crate::tlog::NoteVerifier { name: origin.clone(), key: key.verifying_key() };
        LogDescriptor { origin, verifier_key: verifier.to_vkey() }
    }
}

/// The unsigned content of a trust list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TrustListContent {
    /// Always `DcertTrustList`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The format version.
    pub format: u32,
    /// The registry's base URL: issuer URLs are `<registry>/issuers/<id>`.
    pub registry: String,
    /// Increases with each list the Ministry publishes.
    pub sequence: u64,
    /// When this list was made: the "as of" of offline verification.
    pub issued: Timestamp,
    /// When the next list is due; after it, this one is stale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_update: Option<Timestamp>,
    /// The Ministry root CA certificate.
    pub root_certificate: Der,
    /// The certificate of the key that signs this list, issued by the root.
    pub signer_certificate: Der,
    /// The certificate of the key that signs the registry's status answers, issued by the root;
    /// without it, no status answer can be checked, and online status is unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_signer_certificate: Option<Der>,
    /// The registry's transparency log; without it, no inclusion proof can be checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<LogDescriptor>,
    /// The institutions.
    pub issuers: Vec<IssuerEntry>,
    /// The proof, when read from a file.
    #[serde(default, skip_serializing)]
    pub proof: Option<Value>,
}

/// The trust list is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustListError {
    /// Not JSON of the trust list's shape.
    #[error("not a trust list: {0}")]
    Shape(String),
    /// Larger than [`MAX_TRUST_LIST_BYTES`].
    #[error("the trust list is larger than {MAX_TRUST_LIST_BYTES} bytes")]
    TooLarge,
    /// An unknown format version.
    #[error("trust list format {0} is not supported")]
    UnsupportedFormat(u32),
    /// The root is not the pinned one.
    #[error("the trust list's root (fingerprint {found}) is not the expected root {expected}")]
    WrongRoot {
        /// The pinned fingerprint.
        expected: Sha256Digest,
        /// The fingerprint found.
        found: Sha256Digest,
    },
    /// A certificate inside is invalid or does not chain to the root.
    #[error("the trust list's {what} is invalid: {problem}")]
    Certificate {
        /// Which certificate.
        what: String,
        /// What is wrong.
        problem: String,
    },
    /// The list's proof does not verify.
    #[error("the trust list is not authentic: {0}")]
    Proof(#[from] di::ProofError),
    /// An issuer entry is invalid.
    #[error("issuer {id:?} in the trust list is invalid: {problem}")]
    Issuer {
        /// The issuer id.
        id: String,
        /// What is wrong.
        problem: String,
    },
}

/// A credential key of a trusted issuer, parsed.
#[derive(Clone, Debug)]
pub struct TrustedKey {
    /// The entry as listed.
    pub entry: KeyEntry,
    /// The key.
    pub key: CredentialPublicKey,
    /// The key id used in QR seals.
    pub seal_kid: [u8; 8],
}

/// A signing certificate of a trusted issuer, parsed and checked against the root.
#[derive(Clone, Debug)]
pub struct TrustedCert {
    /// The entry as listed.
    pub entry: CertEntry,
    /// The certificate.
    pub cert: ParsedCert,
}

/// An institution of a verified trust list.
#[derive(Clone, Debug)]
pub struct TrustedIssuer {
    /// The entry as listed.
    pub entry: IssuerEntry,
    /// Its credential keys.
    pub keys: Vec<TrustedKey>,
    /// Its signing certificates.
    pub certs: Vec<TrustedCert>,
}

impl TrustedIssuer {
    /// The key whose verification method URL under `registry` is `url`.
    pub fn key_by_url(&self, registry: &str, url: &str) -> Option<&TrustedKey> {
        let prefix = format!("{}#", credential::issuer_url(registry, &self.entry.id));
        let multikey = url.strip_prefix(&prefix)?;
        self.keys.iter().find(|k| k.entry.public_key_multibase == multikey)
    }
}

impl IssuerEntry {
    /// Why this institution may not certify `certificate`, or `None` if it may: it must be
    /// accredited for the credential type and degree level, and a degree must name it as the
    /// school, in both languages, as the registry records its names.
    pub fn refusal(&self, certificate: &Certificate) -> Option<String> {
        let a = &self.accreditation;
        let credential_type = certificate.subject.credential_type();
        if !a.credential_types.contains(&credential_type) {
            return Some(format!("{} is not accredited for {} certificates", self.name_en, credential_type.code()));
        }
        if let Subject::Degree(d) = &certificate.subject {
            if !a.degree_levels.contains(&d.degree_level) {
                return Some(format!(
                    "{} is not accredited for degrees at the {} level",
                    self.name_en,
                    d.degree_level.code()
                ));
            }
            if d.school_zh != self.name_zh || d.school_en != self.name_en {
                return Some(format!(
                    "the certificate names the school {} ({}), but its issuer is registered as {} ({})",
                    d.school_zh, d.school_en, self.name_zh, self.name_en
                ));
            }
        }
        None
    }
}

/// A trust list whose signature, root and certificates have been verified.
#[derive(Clone, Debug)]
pub struct TrustList {
    /// The content as listed.
    pub content: TrustListContent,
    /// The root CA.
    pub root: ParsedCert,
    /// The issuers.
    pub issuers: Vec<TrustedIssuer>,
    /// The registry's status signer, checked against the root.
    pub status_signer: Option<ParsedCert>,
    /// The key of the registry's transparency log, named by its origin.
    pub log: Option<crate::tlog::NoteVerifier>,
    /// Whether the root was pinned when the list was verified: an unpinned list proves nothing
    /// (anyone can make one), so verification against it never succeeds.
    pub pinned: bool,
}

impl TrustList {
    /// Signs `content` with the trust list signer's key; returns the JSON document.
    pub fn sign(content: &TrustListContent, signer: &EcKey) -> Result<Value, TrustListError> {
        let Value::Object(document) =
            serde_json::to_value(content).map_err(|e| TrustListError::Shape(e.to_string()))?
        else {
            return Err(TrustListError::Shape("not an object".into()));
        };
        let options = ProofOptions {
            created: content.issued,
            verification_method: format!("{}/trust-list#signer", content.registry.trim_end_matches('/')),
            proof_purpose: "assertionMethod",
        };
        Ok(di::sign_ecdsa(document, signer, &options)?)
    }

    /// Reads and verifies a trust list. With `pinned_root`, the list's root must have that
    /// SHA-256 fingerprint.
    pub fn verify(bytes: &[u8], pinned_root: Option<Sha256Digest>) -> Result<Self, TrustListError> {
        if bytes.len() > MAX_TRUST_LIST_BYTES {
            return Err(TrustListError::TooLarge);
        }
        let document = crate::json::parse_strict(bytes).map_err(|e| TrustListError::Shape(e.to_string()))?;
        if let Some(f) = document.get("format").and_then(Value::as_u64)
            && f != u64::from(FORMAT_VERSION)
        {
            return Err(TrustListError::UnsupportedFormat(u32::try_from(f).unwrap_or(u32::MAX)));
        }
        let content: TrustListContent =
            serde_json::from_value(document.clone()).map_err(|e| TrustListError::Shape(e.to_string()))?;
        if content.kind != "DcertTrustList" {
            return Err(TrustListError::Shape("type is not DcertTrustList".into()));
        }
        let cert_err = |what: &str, problem: String| TrustListError::Certificate { what: what.to_owned(), problem };
        let root = ParsedCert::from_der(&content.root_certificate.0).map_err(|e| cert_err("root", e.to_string()))?;
        if let Some(expected) = pinned_root {
            let found = root.fingerprint();
            if found != expected {
                return Err(TrustListError::WrongRoot { expected, found });
            }
        }
        if !root.is_ca() || !root.is_issued_by(&root) {
            return Err(cert_err("root", "not a self-signed CA certificate".into()));
        }
        let signer =
            ParsedCert::from_der(&content.signer_certificate.0).map_err(|e| cert_err("signer", e.to_string()))?;
        if !signer.is_issued_by(&root) {
            return Err(cert_err("signer", "not issued by the root".into()));
        }
        if !signer.has_extended_key_usage(TRUST_LIST_SIGNING) || signer.is_ca() {
            return Err(cert_err("signer", "not a trust list signer certificate".into()));
        }
        if !signer.is_valid_at(content.issued) {
            return Err(cert_err("signer", "not valid when the list was issued".into()));
        }
        di::verify_ecdsa(&document, &signer.key)?;
        let status_signer = match &content.status_signer_certificate {
            Some(der) => {
                let cert = ParsedCert::from_der(&der.0).map_err(|e| cert_err("status signer", e.to_string()))?;
                if !cert.is_issued_by(&root) {
                    return Err(cert_err("status signer", "not issued by the root".into()));
                }
                if !cert.has_extended_key_usage(STATUS_SIGNING)
                    || cert.has_extended_key_usage(TRUST_LIST_SIGNING)
                    || cert.is_ca()
                {
                    return Err(cert_err("status signer", "not a status signer certificate".into()));
                }
                Some(cert)
            }
            None => None,
        };
        if signer.has_extended_key_usage(STATUS_SIGNING) {
            return Err(cert_err("signer", "a trust list signer may not sign status answers".into()));
        }
        let log = match &content.log {
            Some(d) => {
                let bad = |problem: &str| TrustListError::Shape(format!("the log's {problem}"));
                let verifier = crate::tlog::NoteVerifier::from_vkey(&d.verifier_key)
                    .map_err(|_| bad("verifier key is malformed"))?;
                if verifier.name != d.origin || d.origin.is_empty() {
                    return Err(bad("verifier key is not named by its origin"));
                }
                Some(verifier)
            }
            None => None,
        };

        let mut issuers = Vec::with_capacity(content.issuers.len());
        for entry in &content.issuers {
            let bad = |problem: String| TrustListError::Issuer { id: entry.id.clone(), problem };
            if !is_valid_issuer_id(&entry.id) {
                return Err(bad("the id is not 2 to 32 lowercase letters, digits or '-'".into()));
            }
            if content.issuers.iter().filter(|other| other.id == entry.id).count() > 1 {
                return Err(bad("listed twice".into()));
            }
            let keys = entry
                .credential_keys
                .iter()
                .map(|k| {
                    let key =
                        CredentialPublicKey::from_multikey(&k.public_key_multibase).map_err(|e| bad(e.to_string()))?;
                    Ok(TrustedKey { entry: k.clone(), key, seal_kid: seal::key_id(&key) })
                })
                .collect::<Result<Vec<_>, TrustListError>>()?;
            let certs = entry
                .signing_certificates
                .iter()
                .map(|c| {
                    let cert = ParsedCert::from_der(&c.certificate.0).map_err(|e| bad(e.to_string()))?;
                    if !cert.is_issued_by(&root) {
                        return Err(bad("a signing certificate is not issued by the root".into()));
                    }
                    if cert.is_ca()
                        || cert.has_extended_key_usage(TRUST_LIST_SIGNING)
                        || cert.has_extended_key_usage(STATUS_SIGNING)
                    {
                        return Err(bad(
                            "a signing certificate may sign certificates, trust lists or status answers".into()
                        ));
                    }
                    Ok(TrustedCert { entry: c.clone(), cert })
                })
                .collect::<Result<Vec<_>, TrustListError>>()?;
            issuers.push(TrustedIssuer { entry: entry.clone(), keys, certs });
        }
        // A key or certificate belongs to one institution only.
        let mut seen_keys = std::collections::HashSet::new();
        let mut seen_certs = std::collections::HashSet::new();
        for issuer in &issuers {
            for key in &issuer.keys {
                if !seen_keys.insert(key.key.to_bytes()) {
                    return Err(TrustListError::Issuer {
                        id: issuer.entry.id.clone(),
                        problem: "a credential key is listed more than once".into(),
                    });
                }
            }
            for cert in &issuer.certs {
                if !seen_certs.insert(cert.cert.der.clone()) {
                    return Err(TrustListError::Issuer {
                        id: issuer.entry.id.clone(),
                        problem: "a signing certificate is listed more than once".into(),
                    });
                }
            }
        }
        Ok(Self { content, root, issuers, status_signer, log, pinned: pinned_root.is_some() })
    }

    /// The registry base URL.
    pub fn registry(&self) -> &str {
        &self.content.registry
    }

    /// The issuer with registry id `id`.
    pub fn issuer(&self, id: &str) -> Option<&TrustedIssuer> {
        self.issuers.iter().find(|i| i.entry.id == id)
    }

    /// The issuer whose URL is `url`.
    pub fn issuer_by_url(&self, url: &str) -> Option<&TrustedIssuer> {
        credential::issuer_id_from_url(self.registry(), url).and_then(|id| self.issuer(id))
    }

    /// The issuer and certificate entry for a signing certificate, matched byte for byte.
    pub fn issuer_by_certificate(&self, der: &[u8]) -> Option<(&TrustedIssuer, &TrustedCert)> {
        self.issuers.iter().find_map(|i| i.certs.iter().find(|c| c.cert.der == der).map(|c| (i, c)))
    }

    /// The issuer and key for a QR seal's key id.
    pub fn seal_key(&self, kid: &[u8]) -> Option<(&TrustedIssuer, &TrustedKey)> {
        self.issuers.iter().find_map(|i| i.keys.iter().find(|k| k.seal_kid[..] == *kid).map(|k| (i, k)))
    }

    /// Whether the list is past its `nextUpdate` at `now`.
    pub fn is_stale(&self, now: Timestamp) -> bool {
        self.content.next_update.is_some_and(|t| now > t)
    }
}

/// Why a key or certificate was not valid at a moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WindowProblem {
    /// Before the validity window.
    NotYetValid(Timestamp),
    /// After the validity window.
    Expired(Timestamp),
    /// At or after revocation.
    Revoked {
        /// From when.
        from: Timestamp,
        /// Why, as recorded.
        reason: Option<String>,
    },
}

impl std::fmt::Display for WindowProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WindowProblem::NotYetValid(t) => write!(f, "not valid before {t}"),
            WindowProblem::Expired(t) => write!(f, "not valid after {t}"),
            WindowProblem::Revoked { from, reason } => {
                write!(f, "revoked from {from}")?;
                if let Some(r) = reason {
                    write!(f, " ({r})")?;
                }
                Ok(())
            }
        }
    }
}

fn window(
    from: Timestamp,
    until: Timestamp,
    revoked_from: Option<Timestamp>,
    reason: &Option<String>,
    at: Timestamp,
) -> Result<(), WindowProblem> {
    if let Some(r) = revoked_from
        && at >= r
    {
        return Err(WindowProblem::Revoked { from: r, reason: reason.clone() });
    }
    if at < from {
        return Err(WindowProblem::NotYetValid(from));
    }
    if at > until {
        return Err(WindowProblem::Expired(until));
    }
    Ok(())
}

impl TrustedKey {
    /// Whether the key may sign at `at`.
    pub fn check_at(&self, at: Timestamp) -> Result<(), WindowProblem> {
        let e = &self.entry;
        window(e.valid_from, e.valid_until, e.revoked_from, &e.revocation_reason, at)
    }
}

impl TrustedCert {
    /// Whether the certificate may sign at `at`.
    pub fn check_at(&self, at: Timestamp) -> Result<(), WindowProblem> {
        let (from, until) = self.cert.validity();
        window(from, until, self.entry.revoked_from, &self.entry.revocation_reason, at)
    }
}
