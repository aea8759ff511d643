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

// ----- The receipt as a PDF -----

/// The name of the signed JSON receipt attached to its PDF form.
pub const RECEIPT_FILE_NAME: &str = "receipt.json";

/// The words of a receipt's page, in its reader's language (the core words nothing itself).
pub struct ReceiptWords {
    /// The page's title.
    pub title: String,
    /// Each line: its label and its value.
    pub rows: Vec<(String, String)>,
    /// The closing lines: how to check the receipt.
    pub notes: Vec<String>,
}

/// Why a receipt's PDF was not made.
#[derive(Debug, thiserror::Error)]
pub enum ReceiptPdfError {
    /// The page could not be drawn.
    #[error(transparent)]
    Render(#[from] crate::pdf::render::RenderError),
    /// The page could not be signed.
    #[error(transparent)]
    Sign(#[from] crate::pdf::pades::SignError),
}

/// The receipt `json` (as [`sign`] made it) as a one-page A4 PDF/A-3 document: `words` on the
/// page in `language`, the JSON attached as [`RECEIPT_FILE_NAME`], the whole signed (PAdES) by
/// `signer`, the Ministry's status signer, at `at`.
pub fn to_pdf(
    json: &[u8],
    words: &ReceiptWords,
    language: crate::Language,
    fonts: &crate::pdf::FontBook,
    signer: &crate::pdf::PdfSigner,
    at: Timestamp,
) -> Result<Vec<u8>, ReceiptPdfError> {
    use crate::pdf::render::{Attachment, Sheet, render_sheet};
    use crate::pdf::template::{Align, Color, Page, Shape, Text};
    let line = |text: &str, x_mm: f32, y_mm: f32, size_pt: f32, grey: bool, max_width_mm: f32| {
        let t = Text {
            text: String::new(),
            x_mm,
            y_mm,
            size_pt,
            align: Align::Left,
            font: "serif".into(),
            color: if grey { Color([0x55, 0x55, 0x55]) } else { Color([0x1a, 0x1a, 0x1a]) },
            max_width_mm: Some(max_width_mm),
            letter_spacing_pt: 0.0,
            skip_if_empty: false,
        };
        (t, text.to_owned())
    };
    let mut lines = vec![line(&words.title, 20.0, 30.0, 18.0, false, 170.0)];
    let mut y = 46.0;
    for (label, value) in &words.rows {
        lines.push(line(label, 20.0, y, 9.5, true, 48.0));
        lines.push(line(value, 70.0, y, 9.5, false, 120.0));
        y += 7.5;
    }
    y += 6.0;
    for note in &words.notes {
        lines.push(line(note, 20.0, y, 9.0, true, 170.0));
        y += 6.0;
    }
    let shapes = [Shape::Line {
        x1_mm: 20.0,
        y1_mm: 36.0,
        x2_mm: 190.0,
        y2_mm: 36.0,
        color: Color([0x8a, 0x6d, 0x3b]),
        line_width_pt: 0.6,
    }];
    let unsigned = render_sheet(
        fonts,
        &Sheet {
            title: words.title.clone(),
            language,
            author: &signer.name,
            created: at,
            page: Page { width_mm: 210.0, height_mm: 297.0 },
            shapes: &shapes,
            lines,
            qr: None,
            attachment: Attachment {
                name: RECEIPT_FILE_NAME,
                description: "dcert verification receipt (format 1)",
                data: json,
            },
        },
    )?;
    Ok(crate::pdf::pades::sign(unsigned, signer, at)?)
}

/// Whether `bytes` are a receipt, good or not: JSON of the receipt's type, or a PDF carrying
/// [`RECEIPT_FILE_NAME`] (a certificate file carries `credential.json` instead).
pub fn looks_like_receipt(bytes: &[u8]) -> bool {
    if crate::pdf::read::looks_like_pdf(bytes) {
        return matches!(
            crate::pdf::read::attachment(bytes, RECEIPT_FILE_NAME, &crate::pdf::Limits::default()),
            Ok(Some(_))
        );
    }
    bytes.len() <= MAX_RECEIPT_BYTES
        && crate::json::parse_strict(bytes).is_ok_and(|d| d.get("type").and_then(Value::as_str) == Some(RECEIPT_TYPE))
}

/// Checks a receipt given as its JSON or as its PDF form: for a PDF, that the status signer of
/// `trust` signed the PDF unchanged, then the JSON it carries, as [`verify`] does.
pub fn verify_any(bytes: &[u8], trust: &TrustList, file: Option<&[u8]>) -> Result<Receipt, ReceiptError> {
    if !crate::pdf::read::looks_like_pdf(bytes) {
        return verify(bytes, trust, file);
    }
    let signer = trust.status_signer.as_ref().ok_or(ReceiptError::NoSigner)?;
    let limits = crate::pdf::Limits::default();
    crate::verify::pdf_signed_by(bytes, signer, &limits).map_err(|_| ReceiptError::NotSigned)?;
    let json = crate::pdf::read::attachment(bytes, RECEIPT_FILE_NAME, &limits)
        .ok()
        .flatten()
        .ok_or(ReceiptError::Malformed("a PDF without its receipt.json"))?;
    verify(&json, trust, file)
}
