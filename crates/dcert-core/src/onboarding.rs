//! Joining the trust registry and rotating keys, as an institution asks: an
//! [`OnboardingRequest`] or a [`RotationRequest`], made and signed on the institution's side
//! with its own keys, and checked on the Ministry's side before anything is recorded.
//!
//! A request proves possession of each key it names: an Ed25519 signature by the credential key
//! and an ECDSA P-256 signature by the PDF signing key, each over a context and the canonical
//! (RFC 8785) request without its proofs. A rotation is also signed by a credential key the
//! institution holds now. Pure: whether the registry holds that key is the caller's question.

use base64ct::Encoding as _;
use serde::{Deserialize, Serialize};

use crate::credential::is_valid_issuer_id;
use crate::keys::{self, CredentialKey, CredentialPublicKey, EcKey, EcPublicKey};
use crate::model::{CredentialType, DegreeLevel};
use crate::trust::Accreditation;
use crate::x509::{self, TRUST_LIST_SIGNER_CN};

/// The largest onboarding or rotation request accepted, in bytes.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;
/// What the proofs of an onboarding request sign before the canonical request.
const ONBOARDING_CONTEXT: &[u8] = b"dcert onboarding request 1\n";
/// What the proofs of a rotation request by its new keys sign before the canonical request.
const ROTATION_CONTEXT: &[u8] = b"dcert key rotation request 1\n";
/// What the proof of a rotation request by the institution's current credential key signs
/// before the canonical request.
const ROTATION_CURRENT_KEY_CONTEXT: &[u8] = b"dcert key rotation request by the current key 1\n";
/// SubjectPublicKeyInfo of an uncompressed P-256 key, up to the point.
const SPKI_P256: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
    0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];
/// SubjectPublicKeyInfo of a compressed P-256 key, up to the point.
const SPKI_P256_COMPRESSED: [u8; 26] = [
    0x30, 0x39, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
    0x3d, 0x03, 0x01, 0x07, 0x03, 0x22, 0x00,
];

/// Why a request is refused by itself, before the registry is asked anything.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// Not a request: malformed JSON, a missing or unknown field.
    #[error("the request is not valid: {0}")]
    Shape(String),
    /// Over [`MAX_REQUEST_BYTES`].
    #[error("the request is larger than {MAX_REQUEST_BYTES} bytes")]
    TooLarge,
    /// An id that is not a registry id.
    #[error("the id {0:?} must be 2 to 32 lowercase letters, digits or '-', not starting with '-'")]
    InvalidId(String),
    /// A name or address that is empty, too long, or padded with spaces or control characters.
    #[error("{field} must be 1 to {max} characters, without control characters or spaces around it")]
    InvalidText {
        /// Which field.
        field: &'static str,
        /// Its longest length, in characters.
        max: usize,
    },
    /// A name the Ministry's own certificates use.
    #[error("the name {0:?} is reserved for the Ministry's own certificates")]
    ReservedName(String),
    /// An accreditation that names nothing, names something twice, or does not fit together.
    #[error("the accreditation is invalid: {0}")]
    Accreditation(&'static str),
    /// A credential key that is not an Ed25519 Multikey.
    #[error("the credential key is not an Ed25519 public key as a Multikey (z6Mk…)")]
    CredentialKey,
    /// A signing key that is not a P-256 public key.
    #[error("the signing key is not a P-256 public key (base64 SubjectPublicKeyInfo DER, or PEM)")]
    SigningKey,
    /// A proof of possession that does not verify.
    #[error("the {0} does not verify: the request was not signed with the private key of the key it names")]
    Proof(&'static str),
    /// A rotation that names no new key.
    #[error("a rotation needs a new credential key, a new signing key, or both")]
    NothingToRotate,
    /// A rotation not proven by a credential key the institution holds now.
    #[error(
        "a rotation must also be signed with a credential key the institution holds now (registered, valid now, \
         not revoked): {0}. A lost or compromised key cannot sign one: the Ministry revokes it \
         (dcert ministry revoke-key) and onboards the institution again from a new request"
    )]
    CurrentKey(CurrentKeyProblem),
}

/// Why a rotation is not proven by a credential key the institution holds now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CurrentKeyProblem {
    /// The request names no current key, or carries no proof by it.
    #[error("the request carries no proof by a current credential key")]
    Missing,
    /// The proof does not verify under the key named.
    #[error("the proof by the current credential key does not verify")]
    BadProof,
    /// The key named is not one of the institution's credential keys.
    #[error("the key named is not a credential key of this institution")]
    NotRegistered,
    /// The key named is revoked.
    #[error("the key named is revoked")]
    Revoked,
    /// The key named is not valid now: its window has ended (a rotation ended it) or not begun.
    #[error("the key named is not valid now (its window has ended or not begun)")]
    NotValidNow,
}

/// An institution's details as the registry records them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InstitutionDetails {
    /// The name in Traditional Chinese, exactly as certificates name the school.
    pub name_zh: String,
    /// The name in English, exactly as certificates name the school.
    pub name_en: String,
    /// The postal address.
    pub address: String,
    /// The credential types it may issue.
    pub credential_types: Vec<CredentialType>,
    /// The degree levels it may issue (degree certificates only).
    pub degree_levels: Vec<DegreeLevel>,
}

impl InstitutionDetails {
    /// Checks the names, the address and the accreditation.
    pub fn validate(&self) -> Result<(), RequestError> {
        check_text("the Chinese name", &self.name_zh, 100)?;
        check_text("the English name", &self.name_en, 200)?;
        check_text("the address", &self.address, 300)?;
        if [TRUST_LIST_SIGNER_CN, "dcert Root CA"].contains(&self.name_en.as_str()) {
            return Err(RequestError::ReservedName(self.name_en.clone()));
        }
        let types = &self.credential_types;
        let levels = &self.degree_levels;
        if types.is_empty() {
            return Err(RequestError::Accreditation("it names no credential type"));
        }
        if (1..types.len()).any(|i| types[..i].contains(&types[i]))
            || (1..levels.len()).any(|i| levels[..i].contains(&levels[i]))
        {
            return Err(RequestError::Accreditation("a credential type or degree level is named twice"));
        }
        match (types.contains(&CredentialType::Degree), levels.is_empty()) {
            (true, true) => Err(RequestError::Accreditation("degree certificates need at least one degree level")),
            (false, false) => Err(RequestError::Accreditation("degree levels apply to degree certificates only")),
            _ => Ok(()),
        }
    }

    /// The accreditation.
    pub fn accreditation(&self) -> Accreditation {
        Accreditation { credential_types: self.credential_types.clone(), degree_levels: self.degree_levels.clone() }
    }
}

/// Checks a name, an address or a reason: not empty, not padded, at most `max` characters, no
/// control characters.
pub fn check_text(field: &'static str, value: &str, max: usize) -> Result<(), RequestError> {
    let bad = value.trim().is_empty()
        || value.trim() != value
        || value.chars().count() > max
        || value.chars().any(char::is_control);
    if bad { Err(RequestError::InvalidText { field, max }) } else { Ok(()) }
}

/// An institution's request to join the registry, made and signed with its own keys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OnboardingRequest {
    /// The registry id it asks for, e.g. `nkust`.
    pub id: String,
    /// The name in Traditional Chinese.
    pub name_zh: String,
    /// The name in English.
    pub name_en: String,
    /// The postal address.
    pub address: String,
    /// The credential types it asks to issue.
    pub credential_types: Vec<CredentialType>,
    /// The degree levels it asks to issue.
    pub degree_levels: Vec<DegreeLevel>,
    /// Its credential key, an Ed25519 Multikey (`z6Mk…`).
    pub credential_key: String,
    /// Its PDF signing key: a P-256 SubjectPublicKeyInfo, DER in base64 (or PEM).
    pub signing_key: String,
    /// The credential key's Ed25519 signature (base58btc, `z…`).
    pub proof: String,
    /// The signing key's ECDSA P-256 signature, `r || s` (base58btc, `z…`).
    pub signing_proof: String,
}

/// A request to add a new credential key, a new signing key, or both, to an institution: proven
/// by each new key, and by a credential key the institution holds now (`currentKey`), each over
/// the canonical request without the proofs, after a context of its own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RotationRequest {
    /// The institution's registry id.
    pub id: String,
    /// The credential key the institution holds now (Multikey), which signs `currentProof`.
    /// Optional in the JSON so that a request without it is refused in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_key: Option<String>,
    /// The new credential key, an Ed25519 Multikey.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_key: Option<String>,
    /// The new PDF signing key (base64 SPKI DER, or PEM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_key: Option<String>,
    /// The new credential key's signature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<String>,
    /// The new signing key's signature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_proof: Option<String>,
    /// The current credential key's Ed25519 signature (base58btc, `z…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_proof: Option<String>,
}

/// A P-256 public key as base64 SubjectPublicKeyInfo DER, as requests carry it.
pub fn signing_key_text(key: &EcPublicKey) -> String {
    let mut der = SPKI_P256.to_vec();
    der.extend_from_slice(&key.to_sec1());
    base64ct::Base64::encode_string(&der)
}

/// A P-256 public key from base64 SubjectPublicKeyInfo DER or a `PUBLIC KEY` PEM block.
pub fn parse_signing_key(text: &str) -> Result<EcPublicKey, RequestError> {
    let der = if text.contains("-----BEGIN") {
        x509::pem_to_der("PUBLIC KEY", text)
    } else {
        base64ct::Base64::decode_vec(text.trim()).ok()
    }
    .ok_or(RequestError::SigningKey)?;
    let point = [&SPKI_P256[..], &SPKI_P256_COMPRESSED[..]]
        .into_iter()
        .find_map(|prefix| der.strip_prefix(prefix))
        .ok_or(RequestError::SigningKey)?;
    // The prefix fixes the length: 65 bytes uncompressed, 33 compressed.
    if der.len() != 2 + usize::from(der[1]) {
        return Err(RequestError::SigningKey);
    }
    EcPublicKey::from_sec1(point).map_err(|_| RequestError::SigningKey)
}

/// A credential key in canonical Multikey form.
fn parse_credential_key(text: &str) -> Result<CredentialPublicKey, RequestError> {
    let key = CredentialPublicKey::from_multikey(text).map_err(|_| RequestError::CredentialKey)?;
    if key.to_multikey() != text {
        return Err(RequestError::CredentialKey);
    }
    Ok(key)
}

/// What the proofs of a request sign: a context, then the canonical request without its proofs.
fn signed_message(context: &[u8], request: &impl Serialize) -> Result<Vec<u8>, RequestError> {
    let mut value = serde_json::to_value(request).map_err(|e| RequestError::Shape(e.to_string()))?;
    if let Some(map) = value.as_object_mut() {
        map.remove("proof");
        map.remove("signingProof");
        map.remove("currentProof");
    }
    let canonical = crate::jcs::canonicalize(&value).map_err(|e| RequestError::Shape(e.to_string()))?;
    Ok([context, &canonical[..]].concat())
}

fn check_credential_proof(key: &CredentialPublicKey, message: &[u8], proof: &str) -> Result<(), RequestError> {
    let signature = keys::decode_base58btc(proof).ok_or(RequestError::Proof("credential key's proof"))?;
    if key.verify(message, &signature) { Ok(()) } else { Err(RequestError::Proof("credential key's proof")) }
}

fn check_signing_proof(key: &EcPublicKey, message: &[u8], proof: &str) -> Result<(), RequestError> {
    let signature = keys::decode_base58btc(proof).ok_or(RequestError::Proof("signing key's proof"))?;
    if key.verify_raw(message, &signature) { Ok(()) } else { Err(RequestError::Proof("signing key's proof")) }
}

/// `value` as pretty JSON ending in a newline, as a file holds it.
fn pretty_json(value: &impl Serialize) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(value).unwrap_or_default();
    out.push(b'\n');
    out
}

fn parse_bounded<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, RequestError> {
    if bytes.len() > MAX_REQUEST_BYTES {
        return Err(RequestError::TooLarge);
    }
    let value = crate::json::parse_strict(bytes).map_err(|e| RequestError::Shape(e.to_string()))?;
    serde_json::from_value(value).map_err(|e| RequestError::Shape(e.to_string()))
}

/// The public keys of a request whose proofs verified.
#[derive(Clone, Debug)]
pub struct ProvenKeys {
    /// The credential key, if the request names one.
    pub credential: Option<CredentialPublicKey>,
    /// The signing key, if the request names one.
    pub signing: Option<EcPublicKey>,
    /// The credential key the institution holds now, which proved a rotation request.
    pub current: CredentialPublicKey,
}

impl OnboardingRequest {
    /// The request for `id` and `details`, signed with both keys (on the institution's side).
    pub fn sign(
        id: &str,
        details: &InstitutionDetails,
        credential_key: &CredentialKey,
        signing_key: &EcKey,
    ) -> Result<Self, RequestError> {
        let mut request = OnboardingRequest {
            id: id.to_owned(),
            name_zh: details.name_zh.clone(),
            name_en: details.name_en.clone(),
            address: details.address.clone(),
            credential_types: details.credential_types.clone(),
            degree_levels: details.degree_levels.clone(),
            credential_key: credential_key.public().to_multikey(),
            signing_key: signing_key_text(&signing_key.public()),
            proof: String::new(),
            signing_proof: String::new(),
        };
        let message = signed_message(ONBOARDING_CONTEXT, &request)?;
        request.proof = keys::encode_base58btc(&credential_key.sign(&message));
        request.signing_proof = keys::encode_base58btc(&signing_key.sign_raw(&message));
        Ok(request)
    }

    /// Reads a request (strict JSON, at most [`MAX_REQUEST_BYTES`]); [`check`](Self::check) it next.
    pub fn parse(bytes: &[u8]) -> Result<Self, RequestError> {
        parse_bounded(bytes)
    }

    /// The request as pretty JSON.
    pub fn to_json(&self) -> Vec<u8> {
        pretty_json(self)
    }

    /// The institution's details as requested.
    pub fn details(&self) -> InstitutionDetails {
        InstitutionDetails {
            name_zh: self.name_zh.clone(),
            name_en: self.name_en.clone(),
            address: self.address.clone(),
            credential_types: self.credential_types.clone(),
            degree_levels: self.degree_levels.clone(),
        }
    }

    /// Checks everything the request says by itself: the id, the details, both keys and both
    /// proofs of possession.
    pub fn check(&self) -> Result<(CredentialPublicKey, EcPublicKey), RequestError> {
        if !is_valid_issuer_id(&self.id) {
            return Err(RequestError::InvalidId(self.id.clone()));
        }
        self.details().validate()?;
        let credential = parse_credential_key(&self.credential_key)?;
        let signing = parse_signing_key(&self.signing_key)?;
        let message = signed_message(ONBOARDING_CONTEXT, self)?;
        check_credential_proof(&credential, &message, &self.proof)?;
        check_signing_proof(&signing, &message, &self.signing_proof)?;
        Ok((credential, signing))
    }
}

impl RotationRequest {
    /// The request for institution `id`, signed with the credential key it holds now and with
    /// each new key given (on its side).
    pub fn sign(
        id: &str,
        current_key: &CredentialKey,
        credential_key: Option<&CredentialKey>,
        signing_key: Option<&EcKey>,
    ) -> Result<Self, RequestError> {
        let mut request = RotationRequest {
            id: id.to_owned(),
            current_key: Some(current_key.public().to_multikey()),
            credential_key: credential_key.map(|k| k.public().to_multikey()),
            signing_key: signing_key.map(|k| signing_key_text(&k.public())),
            proof: None,
            signing_proof: None,
            current_proof: None,
        };
        let message = signed_message(ROTATION_CONTEXT, &request)?;
        request.proof = credential_key.map(|k| keys::encode_base58btc(&k.sign(&message)));
        request.signing_proof = signing_key.map(|k| keys::encode_base58btc(&k.sign_raw(&message)));
        let by_current = signed_message(ROTATION_CURRENT_KEY_CONTEXT, &request)?;
        request.current_proof = Some(keys::encode_base58btc(&current_key.sign(&by_current)));
        Ok(request)
    }

    /// Reads a request (strict JSON, at most [`MAX_REQUEST_BYTES`]); [`check`](Self::check) it next.
    pub fn parse(bytes: &[u8]) -> Result<Self, RequestError> {
        parse_bounded(bytes)
    }

    /// The request as pretty JSON.
    pub fn to_json(&self) -> Vec<u8> {
        pretty_json(self)
    }

    /// Checks the id, the keys, a proof of possession for each new key, and the proof by the
    /// current key it names (whether the registry holds that key as current is for
    /// [`check_rotation`] to say).
    pub fn check(&self) -> Result<ProvenKeys, RequestError> {
        if !is_valid_issuer_id(&self.id) {
            return Err(RequestError::InvalidId(self.id.clone()));
        }
        if self.credential_key.is_none() && self.signing_key.is_none() {
            return Err(RequestError::NothingToRotate);
        }
        // Before the proofs: a request signed by its new keys only is told what it lacks.
        let (Some(current), Some(current_proof)) = (&self.current_key, &self.current_proof) else {
            return Err(RequestError::CurrentKey(CurrentKeyProblem::Missing));
        };
        let message = signed_message(ROTATION_CONTEXT, self)?;
        let credential = match &self.credential_key {
            Some(text) => {
                let key = parse_credential_key(text)?;
                let proof = self.proof.as_deref().ok_or(RequestError::Proof("credential key's proof"))?;
                check_credential_proof(&key, &message, proof)?;
                Some(key)
            }
            None if self.proof.is_some() => {
                return Err(RequestError::Shape("a proof without a credential key".into()));
            }
            None => None,
        };
        let signing = match &self.signing_key {
            Some(text) => {
                let key = parse_signing_key(text)?;
                let proof = self.signing_proof.as_deref().ok_or(RequestError::Proof("signing key's proof"))?;
                check_signing_proof(&key, &message, proof)?;
                Some(key)
            }
            None if self.signing_proof.is_some() => {
                return Err(RequestError::Shape("a signing proof without a signing key".into()));
            }
            None => None,
        };
        let current = parse_credential_key(current)?;
        let by_current = signed_message(ROTATION_CURRENT_KEY_CONTEXT, self)?;
        check_credential_proof(&current, &by_current, current_proof)
            .map_err(|_| RequestError::CurrentKey(CurrentKeyProblem::BadProof))?;
        Ok(ProvenKeys { credential, signing, current })
    }
}

/// The fingerprint of a PDF signing key: the SHA-256 of its SubjectPublicKeyInfo (DER,
/// uncompressed point), as `openssl pkey -pubin -outform DER | sha256sum` computes it.
pub fn signing_key_fingerprint(key: &EcPublicKey) -> crate::Sha256Digest {
    let mut der = SPKI_P256.to_vec();
    der.extend_from_slice(&key.to_sec1());
    crate::Sha256Digest::of(&der)
}
