//! W3C Data Integrity proofs over JSON, with the JCS cryptosuites:
//! `eddsa-jcs-2022` (Ed25519; credentials) and `ecdsa-jcs-2019` (P-256; the trust list).
//!
//! Both suites hash the same way: `SHA-256(JCS(proof options)) || SHA-256(JCS(document))`, and sign
//! the 64 bytes; the proof value is the signature in multibase base58btc.

use serde_json::{Map, Value};

use crate::digest::Sha256Digest;
use crate::jcs;
use crate::keys::{self, CredentialKey, CredentialPublicKey, EcKey, EcPublicKey};
use crate::time::Timestamp;

/// The cryptosuite of credentials.
pub const EDDSA_JCS_2022: &str = "eddsa-jcs-2022";
/// The cryptosuite of the trust list.
pub const ECDSA_JCS_2019: &str = "ecdsa-jcs-2019";

/// The options of a proof to be created.
#[derive(Clone, Debug)]
pub struct ProofOptions {
    /// When the proof is made.
    pub created: Timestamp,
    /// The URL of the key that makes it.
    pub verification_method: String,
    /// `assertionMethod` for credentials.
    pub proof_purpose: &'static str,
}

/// A Data Integrity proof could not be checked, or does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The document has no `proof` object.
    #[error("the document carries no proof")]
    Missing,
    /// The proof lacks a field or has one of the wrong form.
    #[error("the proof is malformed: {0}")]
    Malformed(&'static str),
    /// The proof is not of the expected type or cryptosuite.
    #[error("the proof uses {found:?}, expected {expected}")]
    UnsupportedSuite {
        /// The suite that was required.
        expected: &'static str,
        /// The suite found in the proof.
        found: String,
    },
    /// The proof's `@context` is not a prefix of the document's.
    #[error("the proof's @context does not match the document's")]
    ContextMismatch,
    /// The document cannot be canonicalised (JCS), e.g. a number out of range.
    #[error("the document cannot be canonicalised")]
    Canonicalization,
    /// The signature does not verify under the key.
    #[error("the signature does not verify")]
    BadSignature,
}

/// A proof's fields, read from an unverified document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProofInfo {
    /// The cryptosuite.
    pub cryptosuite: String,
    /// The verification method URL.
    pub verification_method: String,
    /// The claimed creation time.
    pub created: Option<Timestamp>,
    /// The proof purpose.
    pub proof_purpose: String,
}

fn hash_data(proof_config: &[u8], document: &[u8]) -> [u8; 64] {
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(Sha256Digest::of(proof_config).as_bytes());
    out[32..].copy_from_slice(Sha256Digest::of(document).as_bytes());
    out
}

fn canonical(value: &Value) -> Result<Vec<u8>, ProofError> {
    jcs::canonicalize(value).map_err(|_| ProofError::Canonicalization)
}

fn proof_config(document: &Map<String, Value>, suite: &str, options: &ProofOptions) -> Value {
    let mut config = Map::new();
    config.insert("type".into(), "DataIntegrityProof".into());
    config.insert("cryptosuite".into(), suite.into());
    config.insert("created".into(), options.created.to_string().into());
    config.insert("verificationMethod".into(), options.verification_method.clone().into());
    config.insert("proofPurpose".into(), options.proof_purpose.into());
    if let Some(context) = document.get("@context") {
        config.insert("@context".into(), context.clone());
    }
    Value::Object(config)
}

fn attach(mut document: Map<String, Value>, mut config: Value, signature: &[u8]) -> Value {
    if let Value::Object(c) = &mut config {
        c.insert("proofValue".into(), keys::encode_base58btc(signature).into());
    }
    document.insert("proof".into(), config);
    Value::Object(document)
}

/// Signs `document` (a JSON object without `proof`) with `eddsa-jcs-2022` and returns it with the proof.
pub fn sign_eddsa(
    document: Map<String, Value>,
    key: &CredentialKey,
    options: &ProofOptions,
) -> Result<Value, ProofError> {
    let config = proof_config(&document, EDDSA_JCS_2022, options);
    let unsecured = jcs::canonicalize_view(&document, "proof", None).map_err(|_| ProofError::Canonicalization)?;
    let data = hash_data(&canonical(&config)?, &unsecured);
    let signature = key.sign(&data);
    Ok(attach(document, config, &signature))
}

/// Signs `document` with `ecdsa-jcs-2019` (P-256) and returns it with the proof.
pub fn sign_ecdsa(document: Map<String, Value>, key: &EcKey, options: &ProofOptions) -> Result<Value, ProofError> {
    let config = proof_config(&document, ECDSA_JCS_2019, options);
    let unsecured = jcs::canonicalize_view(&document, "proof", None).map_err(|_| ProofError::Canonicalization)?;
    let data = hash_data(&canonical(&config)?, &unsecured);
    let signature = key.sign_raw(&data);
    Ok(attach(document, config, &signature))
}

/// Reads the proof of a secured document without checking it.
pub fn proof_info(document: &Value) -> Result<ProofInfo, ProofError> {
    let proof = document
        .get("proof")
        .ok_or(ProofError::Missing)?
        .as_object()
        .ok_or(ProofError::Malformed("proof is not an object"))?;
    let text = |name: &'static str| {
        proof.get(name).and_then(Value::as_str).map(str::to_owned).ok_or(ProofError::Malformed(name))
    };
    if proof.get("type").and_then(Value::as_str) != Some("DataIntegrityProof") {
        return Err(ProofError::Malformed("type is not DataIntegrityProof"));
    }
    let created = match proof.get("created") {
        None => None,
        Some(v) => Some(v.as_str().and_then(|s| s.parse().ok()).ok_or(ProofError::Malformed("created"))?),
    };
    Ok(ProofInfo {
        cryptosuite: text("cryptosuite")?,
        verification_method: text("verificationMethod")?,
        created,
        proof_purpose: text("proofPurpose")?,
    })
}

/// Checks the proof of `document` under `suite` with `verify_signature`, hashing the document
/// without its proof and the proof without its value, and applying the suites' `@context` rule.
fn check_proof(
    document: &Value,
    suite: &'static str,
    verify_signature: impl FnOnce(&[u8; 64], &[u8]) -> bool,
) -> Result<ProofInfo, ProofError> {
    let info = proof_info(document)?;
    let doc = document.as_object().ok_or(ProofError::Malformed("document is not an object"))?;
    let Some(Value::Object(proof)) = doc.get("proof") else {
        return Err(ProofError::Malformed("proof is not an object"));
    };
    let found = proof.get("cryptosuite").and_then(Value::as_str).unwrap_or("");
    if found != suite || proof.get("type").and_then(Value::as_str) != Some("DataIntegrityProof") {
        return Err(ProofError::UnsupportedSuite { expected: suite, found: found.chars().take(40).collect() });
    }
    let Some(Value::String(proof_value)) = proof.get("proofValue") else {
        return Err(ProofError::Malformed("proofValue"));
    };
    let signature = keys::decode_base58btc(proof_value).ok_or(ProofError::Malformed("proofValue"))?;
    let context = proof.get("@context");
    if let Some(proof_context) = context {
        // The document's @context must begin with the proof's, in order.
        fn as_slice(v: &Value) -> &[Value] {
            match v {
                Value::Array(a) => a.as_slice(),
                other => std::slice::from_ref(other),
            }
        }
        let proof_list = as_slice(proof_context);
        let doc_list = doc.get("@context").map(as_slice).unwrap_or_default();
        if doc_list.len() < proof_list.len() || doc_list[..proof_list.len()] != proof_list[..] {
            return Err(ProofError::ContextMismatch);
        }
    }
    let canon = |r: Result<Vec<u8>, jcs::JcsError>| r.map_err(|_| ProofError::Canonicalization);
    let unsecured = canon(jcs::canonicalize_view(doc, "proof", context.map(|c| ("@context", c))))?;
    let config = canon(jcs::canonicalize_view(proof, "proofValue", None))?;
    let data = hash_data(&config, &unsecured);
    if verify_signature(&data, &signature) { Ok(info) } else { Err(ProofError::BadSignature) }
}

/// Checks an `eddsa-jcs-2022` proof on `document` against `key`.
pub fn verify_eddsa(document: &Value, key: &CredentialPublicKey) -> Result<ProofInfo, ProofError> {
    check_proof(document, EDDSA_JCS_2022, |data, signature| key.verify(data, signature))
}

/// Checks an `ecdsa-jcs-2019` (P-256) proof on `document` against `key`.
pub fn verify_ecdsa(document: &Value, key: &EcPublicKey) -> Result<ProofInfo, ProofError> {
    check_proof(document, ECDSA_JCS_2019, |data, signature| key.verify_raw(data, signature))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn ecdsa_proofs_round_trip_and_catch_a_changed_field() {
        let key = EcKey::from_seed(&[5; 32]).unwrap();
        let options = ProofOptions {
            created: "2025-01-01T00:00:00Z".parse().unwrap(),
            verification_method: "https://example.test/root#key".into(),
            proof_purpose: "assertionMethod",
        };
        let signed = sign_ecdsa(object(serde_json::json!({"a": 1, "b": [true, null]})), &key, &options).unwrap();
        verify_ecdsa(&signed, &key.public()).unwrap();
        let mut changed = signed.clone();
        changed["a"] = 2.into();
        assert_eq!(verify_ecdsa(&changed, &key.public()), Err(ProofError::BadSignature));
        assert!(matches!(
            verify_eddsa(&signed, &CredentialKey::from_seed(&[1; 32]).public()),
            Err(ProofError::UnsupportedSuite { .. })
        ));
    }
}
