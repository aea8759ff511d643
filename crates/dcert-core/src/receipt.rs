//! The signed verification receipt: what the Ministry's site found when it verified a file, at a
//! moment, signed by the registry's status signer, so that an employer can archive it and anyone
//! can check it later (`dcert verify-receipt`).
//!
//! A receipt names the file by its SHA-256 and the institution by its registry id; it holds the
//! outcome, the reason, every check's result and finding code, the log's checkpoint the answer
//! was made against, and the time: never a name, a birthday or a student number.

use serde_json::{Map, Value, json};

use crate::di::{self, ProofError, ProofOptions};
use crate::digest::Sha256Digest;
use crate::keys::EcKey;
use crate::time::Timestamp;
use crate::trust::TrustList;
use crate::verify::Report;

/// The `type` of a receipt.
pub const RECEIPT_TYPE: &str = "DcertVerificationReceipt";
/// The receipt format this code writes and reads.
pub const RECEIPT_FORMAT: u64 = 1;
/// The largest receipt read.
pub const MAX_RECEIPT_BYTES: usize = 64 * 1024;

/// The receipt of `report`, made at `at` against the log's `checkpoint` (a signed note, when the
/// registry keeps a log), signed with the status signer's `key` of the registry at `registry`.
pub fn sign(
    report: &Report,
    checkpoint: Option<&str>,
    at: Timestamp,
    registry: &str,
    key: &EcKey,
) -> Result<Value, ProofError> {
    let checks: Vec<Value> = report
        .checks
        .iter()
        .map(|c| json!({ "name": c.name, "result": c.result, "finding": c.finding.code() }))
        .collect();
    let mut document = Map::new();
    document.insert("type".into(), RECEIPT_TYPE.into());
    document.insert("format".into(), RECEIPT_FORMAT.into());
    document.insert("fileSha256".into(), json!(report.file_sha256));
    document.insert("input".into(), json!(report.input));
    document.insert("outcome".into(), json!(report.outcome));
    document.insert("reason".into(), json!(report.reason));
    document.insert("issuer".into(), json!(report.issuer.as_ref().map(|i| &i.id)));
    document.insert("checks".into(), Value::Array(checks));
    document.insert("statusAsOf".into(), json!(report.status_as_of));
    document.insert("trustListSequence".into(), json!(report.trust_list.sequence));
    document.insert("checkpoint".into(), json!(checkpoint));
    document.insert("verifiedAt".into(), json!(at));
    let options = ProofOptions {
        created: at,
        verification_method: format!("{}/trust-list#status", registry.trim_end_matches('/')),
        proof_purpose: "assertionMethod",
    };
    di::sign_ecdsa(document, key, &options)
}

/// A receipt whose signature checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// The file verified.
    pub file_sha256: Sha256Digest,
    /// `success`, `warning` or `failure`.
    pub outcome: String,
    /// The reason of a warning or failure.
    pub reason: Option<String>,
    /// The institution's registry id, when the data was authentic.
    pub issuer: Option<String>,
    /// Each check's name and result.
    pub checks: Vec<(String, String)>,
    /// The log's checkpoint the status was proven under, if any.
    pub checkpoint: Option<String>,
    /// When the site verified the file.
    pub verified_at: Timestamp,
}

/// Why a receipt is not believed.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    /// Not a receipt of this format.
    #[error("not a verification receipt: {0}")]
    Malformed(&'static str),
    /// The trust list names no status signer.
    #[error("the trust list names no status signer, so no receipt can be checked")]
    NoSigner,
    /// Not signed by the status signer the trust list names, or changed since.
    #[error("the receipt is not signed by the Ministry's status signer, or was changed after signing")]
    NotSigned,
    /// Signed when the signer's certificate was not valid.
    #[error("the status signer's certificate was not valid when the receipt was signed")]
    SignerNotValid,
    /// A file other than the one the receipt is about.
    #[error("the receipt is about another file (SHA-256 {0})")]
    OtherFile(Sha256Digest),
}

/// Checks a receipt against the status signer of the pinned `trust` list; with `file`, that it
/// is about that file.
pub fn verify(bytes: &[u8], trust: &TrustList, file: Option<&[u8]>) -> Result<Receipt, ReceiptError> {
    if bytes.len() > MAX_RECEIPT_BYTES {
        return Err(ReceiptError::Malformed("larger than a receipt"));
    }
    let document = crate::json::parse_strict(bytes).map_err(|_| ReceiptError::Malformed("not JSON"))?;
    let field = |key: &str| document.get(key);
    if field("type").and_then(Value::as_str) != Some(RECEIPT_TYPE)
        || field("format").and_then(Value::as_u64) != Some(RECEIPT_FORMAT)
    {
        return Err(ReceiptError::Malformed("not a receipt of format 1"));
    }
    let signer = trust.status_signer.as_ref().ok_or(ReceiptError::NoSigner)?;
    let proof = di::verify_ecdsa(&document, &signer.key).map_err(|_| ReceiptError::NotSigned)?;
    let text = |key: &str| field(key).and_then(Value::as_str).map(str::to_owned);
    let verified_at: Timestamp =
        text("verifiedAt").and_then(|t| t.parse().ok()).ok_or(ReceiptError::Malformed("no time"))?;
    if !signer.is_valid_at(verified_at) || proof.created != Some(verified_at) {
        return Err(ReceiptError::SignerNotValid);
    }
    let file_sha256: Sha256Digest =
        text("fileSha256").and_then(|t| t.parse().ok()).ok_or(ReceiptError::Malformed("no file hash"))?;
    if let Some(file) = file
        && Sha256Digest::of(file) != file_sha256
    {
        return Err(ReceiptError::OtherFile(file_sha256));
    }
    let checks = field("checks")
        .and_then(Value::as_array)
        .ok_or(ReceiptError::Malformed("no checks"))?
        .iter()
        .map(|c| {
            let part = |k: &str| c.get(k).and_then(Value::as_str).map(str::to_owned);
            Some((part("name")?, part("result")?))
        })
        .collect::<Option<Vec<_>>>()
        .ok_or(ReceiptError::Malformed("a check"))?;
    Ok(Receipt {
        file_sha256,
        outcome: text("outcome").ok_or(ReceiptError::Malformed("no outcome"))?,
        reason: text("reason"),
        issuer: text("issuer"),
        checks,
        checkpoint: text("checkpoint"),
        verified_at,
    })
}
