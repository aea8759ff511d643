//! The verification engine: a pure function from untrusted bytes, a trust list, a status source
//! and `now` to a [`Report`].
//!
//! Every check is `pass`, `fail` or `unknown`; the outcome is `success`, `warning` (authentic
//! but superseded by a newer version) or `failure` with a reason. The issuer's name always comes
//! from the trust list, never from the file.

mod finding;

use std::borrow::Cow;

use serde::Serialize;

pub use self::finding::{Finding, looks_like_picture};

use crate::credential::UnverifiedCredential;
use crate::di;
use crate::digest::Sha256Digest;
use crate::model::{Certificate, CredentialType, DegreeRecord, Language, Subject, TeacherRecord};
use crate::pdf::cms::{self, CmsCheck};
use crate::pdf::read::{self, Limits, PdfError};
use crate::status::{StatusAnswer, StatusQuery, StatusSource};
use crate::time::Timestamp;
use crate::trust::{TrustList, TrustedCert, TrustedIssuer, WindowProblem};
use crate::x509::ParsedCert;

/// The overall answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// 認證成功: certified by the Ministry and the institution.
    Success,
    /// 認證警告: authentic but not the latest version.
    Warning,
    /// 認證失敗: not certified, or modified.
    Failure,
}

/// Why the outcome is a warning or a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Not a certificate file: not a PDF or credential, or a PDF without a dcert credential.
    NotACertificate,
    /// Larger than the upload limit.
    TooLarge,
    /// The file's bytes differ from what was signed (re-saved, printed to PDF, edited, appended to).
    Modified,
    /// A signature is malformed or does not verify.
    SignatureInvalid,
    /// The PDF's signing certificate was not issued by the Ministry root of the trust list.
    UntrustedRoot,
    /// The issuer is not in the trust list.
    UnknownIssuer,
    /// The issuer is not accredited for this credential type or degree level.
    NotAccredited,
    /// The signing key or certificate was not valid when the certificate was signed.
    KeyNotValid,
    /// The signing key or certificate was revoked before the certificate was signed.
    KeyRevoked,
    /// The issuer revoked the certificate.
    Revoked,
    /// The registry has no record of this file.
    NotRegistered,
    /// The registry was asked for the file's status and gave no answer that could be believed.
    StatusUnknown,
    /// The trust list was not pinned to the Ministry's root: it proves nothing.
    Unpinned,
    /// A newer version of the certificate exists (warning).
    Superseded,
}

impl Reason {
    /// Every reason, in declaration order (for catalogues that must word each).
    pub const ALL: [Reason; 14] = [
        Reason::NotACertificate,
        Reason::TooLarge,
        Reason::Modified,
        Reason::SignatureInvalid,
        Reason::UntrustedRoot,
        Reason::UnknownIssuer,
        Reason::NotAccredited,
        Reason::KeyNotValid,
        Reason::KeyRevoked,
        Reason::Revoked,
        Reason::NotRegistered,
        Reason::StatusUnknown,
        Reason::Unpinned,
        Reason::Superseded,
    ];

    /// A sentence for people, in English.
    pub fn explain(self) -> &'static str {
        match self {
            Reason::NotACertificate => "This is not a digital certificate file.",
            Reason::TooLarge => "The file is larger than the verifier accepts.",
            Reason::Modified => "The file was modified after it was issued.",
            Reason::SignatureInvalid => "A signature on the certificate is invalid.",
            Reason::UntrustedRoot => "The file was not signed under the Ministry of Education's root certificate.",
            Reason::UnknownIssuer => "The issuer is not an institution registered with the Ministry of Education.",
            Reason::NotAccredited => "The issuer is not accredited to issue this kind of certificate.",
            Reason::KeyNotValid => "The issuer's key was not valid when the certificate was signed.",
            Reason::KeyRevoked => "The issuer's key had been revoked when the certificate was signed.",
            Reason::Revoked => "The issuer has revoked this certificate.",
            Reason::NotRegistered => "The Ministry of Education has no record of this file.",
            Reason::StatusUnknown => {
                "The registry gave no answer that could be believed: whether the certificate is current, \
                 superseded or revoked is unknown."
            }
            Reason::Unpinned => {
                "Not authenticated: the trust list is not pinned to the Ministry of Education's root, so anyone \
                 could have made it."
            }
            Reason::Superseded => "This certificate is authentic but a newer version has been issued.",
        }
    }
}

/// The result of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckResult {
    /// The check passed.
    Pass,
    /// The check failed.
    Fail,
    /// The check could not be made (e.g. the registry is unreachable): never read as a pass.
    Unknown,
}

/// The checks, in the order they are reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckName {
    /// The input is a certificate PDF or credential.
    FileFormat,
    /// The PDF's signature covers every byte and matches them.
    DocumentSignature,
    /// The PDF's signing certificate chains to the Ministry root and belongs to a registered issuer.
    SigningCertificate,
    /// The credential's Data Integrity proof verifies under a key of its issuer.
    CredentialProof,
    /// The issuer is registered and accredited for this certificate.
    Issuer,
    /// The keys were valid and not revoked when the certificate was signed.
    KeyValidity,
    /// The PDF signer and the credential issuer are the same institution.
    IssuerBinding,
    /// The registry's status of this file: current, superseded, revoked.
    RegistryStatus,
    /// The file's issuance record is in the registry's transparency log, under a checkpoint
    /// signed with the log's key (the proof checked here, not believed).
    TransparencyLog,
    /// The trust list is current.
    TrustList,
}

impl CheckName {
    /// Every check, in the order a report lists them.
    pub const ALL: [CheckName; 10] = [
        CheckName::FileFormat,
        CheckName::DocumentSignature,
        CheckName::SigningCertificate,
        CheckName::CredentialProof,
        CheckName::Issuer,
        CheckName::KeyValidity,
        CheckName::IssuerBinding,
        CheckName::RegistryStatus,
        CheckName::TransparencyLog,
        CheckName::TrustList,
    ];
}

/// One check in a report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What was checked.
    pub name: CheckName,
    /// Pass, fail or unknown.
    pub result: CheckResult,
    /// What was found, as a code with parameters, for pages to word in the reader's language.
    pub finding: Finding,
    /// What was found, in technical English (for logs, the command line and the API).
    pub detail: String,
}

/// The kind of input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InputKind {
    /// A certificate PDF.
    Pdf,
    /// A bare `credential.json`.
    Credential,
    /// Neither.
    Unknown,
}

/// The issuer as the trust list names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IssuerView {
    /// The registry id.
    pub id: String,
    /// The name in Traditional Chinese.
    pub name_zh: String,
    /// The name in English.
    pub name_en: String,
}

/// The certified data, as the verified credential states it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialView {
    /// Degree or teacher certificate.
    pub credential_type: CredentialType,
    /// The certificate number.
    pub certificate_number: String,
    /// The language of the file.
    pub language: Language,
    /// The version.
    pub version: u32,
    /// The previous version's file hash (the hash chain).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_version_sha256: Option<Sha256Digest>,
    /// When the issuer signed it (as the credential states).
    pub issued_at: Timestamp,
    /// The degree record, for a degree certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub degree: Option<DegreeRecord>,
    /// The teacher record, for a teacher certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub teacher: Option<TeacherRecord>,
}

impl CredentialView {
    fn of(c: &Certificate, issued_at: Timestamp) -> Self {
        let (degree, teacher) = match &c.subject {
            Subject::Degree(d) => (Some(d.clone()), None),
            Subject::Teacher(t) => (None, Some(t.clone())),
        };
        Self {
            credential_type: c.subject.credential_type(),
            certificate_number: c.number.clone(),
            language: c.language,
            version: c.version,
            previous_version_sha256: c.previous_version_sha256,
            issued_at,
            degree,
            teacher,
        }
    }
}

/// A newer version, for a warning.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewerVersion {
    /// The latest version number.
    pub version: u32,
    /// When it was issued.
    pub issued_at: Timestamp,
}

/// The trust list a report was made against.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrustListView {
    /// Its sequence number.
    pub sequence: u64,
    /// When it was issued: offline answers are "as of" this time.
    pub issued: Timestamp,
    /// The SHA-256 fingerprint of the Ministry root certificate.
    pub root_fingerprint: Sha256Digest,
}

/// The verification report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Success, warning or failure.
    pub outcome: Outcome,
    /// The reason for a warning or failure.
    pub reason: Option<Reason>,
    /// One or two sentences for people, in English.
    pub summary: String,
    /// What the input was.
    pub input: InputKind,
    /// The SHA-256 of the input (absent when it was too large to read).
    pub file_sha256: Option<Sha256Digest>,
    /// Every check, in order.
    pub checks: Vec<Check>,
    /// The issuer as registered (from the trust list).
    pub issuer: Option<IssuerView>,
    /// The certified data, when the credential's proof verified.
    pub credential: Option<CredentialView>,
    /// For a modified file: whether the credential embedded in it is still authentic.
    pub embedded_credential_authentic: Option<bool>,
    /// For a warning: the newer version.
    pub newer_version: Option<NewerVersion>,
    /// When the registry status was true, if a registry answered.
    pub status_as_of: Option<Timestamp>,
    /// The trust list used.
    pub trust_list: TrustListView,
    /// When the verification ran.
    pub verified_at: Timestamp,
}

impl Report {
    /// The check of that name, if it was made.
    pub fn check(&self, name: CheckName) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }
}

/// What every check consults.
#[derive(Clone, Copy)]
struct Env<'a> {
    trust: &'a TrustList,
    status: &'a dyn StatusSource,
    now: Timestamp,
    limits: &'a Limits,
}

struct Builder {
    checks: Vec<Check>,
    reasons: Vec<Reason>,
}

impl Builder {
    fn push(&mut self, name: CheckName, result: CheckResult, finding: Finding, detail: impl Into<String>) {
        self.checks.push(Check { name, result, finding, detail: detail.into() });
    }

    fn pass(&mut self, name: CheckName, finding: Finding, detail: impl Into<String>) {
        self.push(name, CheckResult::Pass, finding, detail);
    }

    fn fail(&mut self, name: CheckName, reason: Reason, finding: Finding, detail: impl Into<String>) {
        self.push(name, CheckResult::Fail, finding, detail);
        self.reasons.push(reason);
    }

    fn unknown(&mut self, name: CheckName, finding: Finding, detail: impl Into<String>) {
        self.push(name, CheckResult::Unknown, finding, detail);
    }
}

/// The order in which reasons win when several checks fail: forgery first, then the file's
/// integrity, then the issuer, then the registry.
const PRIORITY: [Reason; 14] = [
    Reason::TooLarge,
    Reason::NotACertificate,
    Reason::UntrustedRoot,
    Reason::Modified,
    Reason::SignatureInvalid,
    Reason::UnknownIssuer,
    Reason::NotAccredited,
    Reason::KeyRevoked,
    Reason::KeyNotValid,
    Reason::Revoked,
    Reason::NotRegistered,
    Reason::StatusUnknown,
    Reason::Unpinned,
    Reason::Superseded,
];

/// How far a credential's signing time may lie in the future of `now` (clock skew).
const CLOCK_SKEW_SECONDS: i64 = 300;

/// The integrity of the PDF's signature.
enum Integrity {
    Valid,
    /// Changed after signing: how (for the reader) and the technical detail.
    Modified(Finding, String),
    Invalid(String),
}

/// Whether the PDF `bytes` carries one PAdES signature, by `certificate`, over the whole file
/// unchanged since: `Err` says why not.
pub fn pdf_signed_by(bytes: &[u8], certificate: &ParsedCert, limits: &Limits) -> Result<(), String> {
    let contents = read::read(bytes, limits).map_err(|e| e.to_string())?;
    let (integrity, signer, _) = document_signature(bytes, &contents.signatures, |_| None);
    match integrity {
        Integrity::Valid if signer.is_some_and(|s| s.der == certificate.der) => Ok(()),
        Integrity::Valid => Err("the PDF is signed with another certificate".into()),
        Integrity::Modified(_, detail) | Integrity::Invalid(detail) => Err(detail),
    }
}

/// Verifies `bytes` (a certificate PDF or a `credential.json`) against `trust` and `status` at `now`.
pub fn verify(bytes: &[u8], trust: &TrustList, status: &dyn StatusSource, now: Timestamp, limits: &Limits) -> Report {
    let mut b = Builder { checks: Vec::new(), reasons: Vec::new() };
    let mut report = Report {
        outcome: Outcome::Failure,
        reason: None,
        summary: String::new(),
        input: InputKind::Unknown,
        file_sha256: None,
        checks: Vec::new(),
        issuer: None,
        credential: None,
        embedded_credential_authentic: None,
        newer_version: None,
        status_as_of: None,
        trust_list: TrustListView {
            sequence: trust.content.sequence,
            issued: trust.content.issued,
            root_fingerprint: trust.root.fingerprint(),
        },
        verified_at: now,
    };
    if bytes.len() > limits.max_file_bytes {
        b.fail(
            CheckName::FileFormat,
            Reason::TooLarge,
            Finding::TooLarge { size: bytes.len() as u64, limit: limits.max_file_bytes as u64 },
            format!("the file is {} bytes; the limit is {} bytes", bytes.len(), limits.max_file_bytes),
        );
        return finish(report, b);
    }
    let env = Env { trust, status, now, limits };
    let first = bytes.iter().find(|c| !c.is_ascii_whitespace()).copied();
    if read::looks_like_pdf(bytes) {
        report.input = InputKind::Pdf;
        // The file's hash is computed with the signature's digest, in one pass where possible.
        verify_pdf(bytes, env, &mut b, &mut report);
        if report.file_sha256.is_none() {
            report.file_sha256 = Some(Sha256Digest::of(bytes));
        }
        return finish(report, b);
    }
    report.file_sha256 = Some(Sha256Digest::of(bytes));
    if first == Some(b'{') {
        report.input = InputKind::Credential;
        match UnverifiedCredential::parse(bytes) {
            Ok(credential) => {
                b.pass(CheckName::FileFormat, Finding::CredentialFile, "a dcert credential (credential.json)");
                verify_credential(&credential, report.file_sha256, env, None, &mut b, &mut report);
            }
            Err(e) => b.fail(
                CheckName::FileFormat,
                Reason::NotACertificate,
                Finding::NotCredentialData,
                format!("not a dcert credential: {e}"),
            ),
        }
    } else if looks_like_picture(bytes) {
        b.fail(CheckName::FileFormat, Reason::NotACertificate, Finding::Picture, "a picture, not a certificate file");
    } else {
        b.fail(
            CheckName::FileFormat,
            Reason::NotACertificate,
            Finding::OtherFile,
            "neither a PDF nor a credential.json",
        );
    }
    finish(report, b)
}

#[allow(clippy::too_many_arguments)]
fn verify_pdf(bytes: &[u8], env: Env<'_>, b: &mut Builder, report: &mut Report) {
    let Env { trust, limits, .. } = env;
    let contents = match read::read(bytes, limits) {
        Ok(c) => c,
        Err(e) => {
            let (finding, detail) = match e {
                PdfError::Encrypted => {
                    (Finding::PdfEncrypted, "the PDF is encrypted; certificate files never are".to_owned())
                }
                other => (Finding::PdfUnreadable, other.to_string()),
            };
            b.fail(CheckName::FileFormat, Reason::NotACertificate, finding, detail);
            return;
        }
    };
    let credential_bytes = match (&contents.credential, &contents.credential_problem) {
        (Some(c), _) => c,
        (None, Some(problem)) => {
            b.fail(CheckName::FileFormat, Reason::NotACertificate, Finding::CertificateDataUnreadable, problem.clone());
            return;
        }
        (None, None) => {
            b.fail(
                CheckName::FileFormat,
                Reason::NotACertificate,
                Finding::PdfWithoutCertificate,
                "the PDF carries no credential.json: it is not a digital certificate, or it was printed or \
                 converted to PDF; ask the holder for the original file",
            );
            return;
        }
    };
    let credential = match UnverifiedCredential::parse(credential_bytes) {
        Ok(c) => c,
        Err(e) => {
            b.fail(
                CheckName::FileFormat,
                Reason::NotACertificate,
                Finding::CertificateDataUnreadable,
                format!("the PDF's credential.json is not a dcert credential: {e}"),
            );
            return;
        }
    };
    b.pass(CheckName::FileFormat, Finding::CertificatePdf, "a PDF certificate with an embedded credential.json");

    // The document signature.
    let known = |der: &[u8]| trust.issuer_by_certificate(der).map(|(_, c)| &c.cert);
    let (integrity, signer, file_sha256) = document_signature(bytes, &contents.signatures, known);
    report.file_sha256 = Some(file_sha256);
    match &integrity {
        Integrity::Valid => b.pass(
            CheckName::DocumentSignature,
            Finding::FileIntact,
            "the PAdES signature covers every byte of the file and matches them",
        ),
        Integrity::Modified(finding, detail) => {
            b.fail(CheckName::DocumentSignature, Reason::Modified, finding.clone(), detail.clone())
        }
        Integrity::Invalid(detail) => {
            b.fail(CheckName::DocumentSignature, Reason::SignatureInvalid, Finding::SignatureInvalid, detail.clone())
        }
    }

    // The signing certificate.
    let mut pdf_issuer: Option<(&TrustedIssuer, &TrustedCert)> = None;
    match &signer {
        None => b.unknown(
            CheckName::SigningCertificate,
            Finding::SignerUnreadable,
            "no signing certificate could be read from the signature",
        ),
        // A registered certificate was checked against the root when the trust list was
        // verified; only an unregistered one needs the signature check, to tell the reasons apart.
        Some(cert) => match trust.issuer_by_certificate(&cert.der) {
            Some(found) => {
                pdf_issuer = Some(found);
                b.pass(
                    CheckName::SigningCertificate,
                    Finding::SignerRegistered {
                        name_zh: found.0.entry.name_zh.clone(),
                        name_en: found.0.entry.name_en.clone(),
                    },
                    format!("issued by the Ministry root to {}", found.0.entry.name_en),
                );
            }
            None if !cert.is_issued_by(&trust.root) => b.fail(
                CheckName::SigningCertificate,
                Reason::UntrustedRoot,
                Finding::SignerNotUnderRoot,
                format!(
                    "the signing certificate ({}) was not issued by the root of this trust list (fingerprint {}); \
                     if the file should verify, check that the trust list is the Ministry's current one",
                    cert.common_name().unwrap_or_default(),
                    trust.root.fingerprint()
                ),
            ),
            None => b.fail(
                CheckName::SigningCertificate,
                Reason::UnknownIssuer,
                Finding::SignerNotRegistered,
                "the signing certificate is not registered for any institution in the trust list",
            ),
        },
    }

    let intact = matches!(integrity, Integrity::Valid);
    let signing_time = match contents.signatures.as_slice() {
        [one] => one.signing_time,
        _ => None,
    };
    let credential_sha256 = Some(Sha256Digest::of(credential_bytes));
    let context = PdfContext { signer: pdf_issuer, signing_time, intact, credential_sha256 };
    let authentic = verify_credential(&credential, Some(file_sha256), env, Some(&context), b, report);
    if !intact {
        // What the embedded data still proves: authentic when its proof, issuer and key hold and
        // the certificate was not revoked.
        report.embedded_credential_authentic = Some(authentic);
    }
}

/// The signature's integrity, its signer, and the SHA-256 of the whole file (computed with the
/// signature's digest when the byte range allows, so that the file is hashed once).
fn document_signature<'t>(
    bytes: &[u8],
    signatures: &[read::FoundSignature],
    known: impl FnOnce(&[u8]) -> Option<&'t ParsedCert>,
) -> (Integrity, Option<Cow<'t, ParsedCert>>, Sha256Digest) {
    let modified =
        |detail: &str| (Integrity::Modified(Finding::FileChanged, detail.to_owned()), None, Sha256Digest::of(bytes));
    let unsigned = |detail: &str| {
        (Integrity::Modified(Finding::SignatureMissing, detail.to_owned()), None, Sha256Digest::of(bytes))
    };
    let sig = match signatures {
        [] => return unsigned("the file carries no signature: it was removed or never there"),
        [one] => one,
        _ => return unsigned("the file carries more than one signature: it was changed after signing"),
    };
    if sig.sub_filter != b"ETSI.CAdES.detached" {
        return (
            Integrity::Invalid("the signature is not a PAdES (ETSI.CAdES.detached) signature".into()),
            None,
            Sha256Digest::of(bytes),
        );
    }
    let Some([start, a, b, c]) = sig.byte_range else {
        return modified("the signature's byte range is missing or malformed");
    };
    let len = bytes.len();
    if start != 0 || a >= b || b > len || a < 1 {
        return modified("the signature's byte range does not describe this file");
    }
    // Lowercase only: hex is case-insensitive, so uppercase would let a byte change keep the
    // same signature.
    let contents = match &bytes[a..b] {
        [b'<', inner @ .., b'>'] => crate::digest::unhex_lowercase(inner),
        _ => None,
    };
    let Some(contents) = contents else {
        return modified("the signature's byte range does not enclose the signature");
    };
    let covered_end = match b.checked_add(c) {
        Some(end) if end <= len => end,
        _ => return modified("the signature's byte range runs past the end of the file"),
    };
    let (whole, digest) = if covered_end == len {
        Sha256Digest::of_whole_and_without(bytes, a..b)
    } else {
        (Sha256Digest::of(bytes), Sha256Digest::of_parts(&[&bytes[..a], &bytes[b..covered_end]]))
    };
    let (mut integrity, signer) = match cms::check(&contents, &digest, known) {
        CmsCheck::Valid { signer } => (Integrity::Valid, Some(signer)),
        CmsCheck::DigestMismatch { signer } => (
            Integrity::Modified(
                Finding::FileChanged,
                "the file's bytes differ from the bytes that were signed: it was edited, re-saved or printed to PDF"
                    .into(),
            ),
            Some(signer),
        ),
        CmsCheck::BadSignature { signer } => {
            (Integrity::Invalid("the PAdES signature does not verify under its certificate".into()), Some(signer))
        }
        CmsCheck::Malformed(what) => (Integrity::Invalid(format!("the PAdES signature is malformed: {what}")), None),
    };
    if matches!(integrity, Integrity::Valid) && covered_end != len {
        integrity = Integrity::Modified(
            Finding::ContentAppended { bytes: (len - covered_end) as u64 },
            format!(
                "{} bytes were appended after the signed part (an incremental update): the signed part is intact, \
             but what a reader displays may differ",
                len - covered_end
            ),
        );
    }
    (integrity, signer, whole)
}

/// What the PDF around a credential says, for the credential's checks.
struct PdfContext<'a> {
    /// The institution and certificate that signed the PDF, if registered.
    signer: Option<(&'a TrustedIssuer, &'a TrustedCert)>,
    /// The PDF's signing time (`/M`), as the file claims it.
    signing_time: Option<Timestamp>,
    /// Whether the signature covers the file unchanged; the status of a changed file is asked
    /// by the hash of the credential it carries, since its own hash is not one the registry knows.
    intact: bool,
    /// The SHA-256 of the embedded `credential.json`, byte for byte.
    credential_sha256: Option<Sha256Digest>,
}

fn verify_credential(
    credential: &UnverifiedCredential,
    file_sha256: Option<Sha256Digest>,
    env: Env<'_>,
    pdf: Option<&PdfContext<'_>>,
    b: &mut Builder,
    report: &mut Report,
) -> bool {
    let Env { trust, status, now, .. } = env;
    let certificate = &credential.certificate;
    // The latest of the times the credential states: its proof and its validity start.
    let claimed_time = credential.proof.created.map_or(credential.valid_from, |c| c.max(credential.valid_from));

    // The issuer and the key that made the proof.
    let Some(issuer) = trust.issuer_by_url(&credential.issuer_url) else {
        b.fail(
            CheckName::Issuer,
            Reason::UnknownIssuer,
            Finding::IssuerUnknown,
            format!(
                "the issuer {} is not in the trust list",
                credential.issuer_url.chars().take(120).collect::<String>()
            ),
        );
        b.unknown(
            CheckName::CredentialProof,
            Finding::ProofNotChecked,
            "the proof was not checked: its issuer is unknown",
        );
        return false;
    };
    let Some(key) = issuer.key_by_url(trust.registry(), &credential.proof.verification_method) else {
        b.fail(
            CheckName::CredentialProof,
            Reason::SignatureInvalid,
            Finding::ProofKeyNotRegistered,
            format!("the credential is signed with a key that is not registered for {}", issuer.entry.name_en),
        );
        return false;
    };
    if credential.proof.proof_purpose != "assertionMethod" {
        b.fail(
            CheckName::CredentialProof,
            Reason::SignatureInvalid,
            Finding::ProofInvalid,
            "the proof's purpose is not assertionMethod",
        );
        return false;
    }
    match di::verify_eddsa(&credential.document, &key.key) {
        Ok(_) => {
            b.pass(CheckName::CredentialProof, Finding::ProofValid, "the eddsa-jcs-2022 Data Integrity proof verifies");
            // Only now does the registered name stand for this credential, and only if the
            // trust list is the Ministry's: an unpinned list could be anyone's.
            if env.trust.pinned {
                report.issuer = Some(IssuerView {
                    id: issuer.entry.id.clone(),
                    name_zh: issuer.entry.name_zh.clone(),
                    name_en: issuer.entry.name_en.clone(),
                });
                report.credential = Some(CredentialView::of(certificate, credential.valid_from));
            }
        }
        Err(e) => {
            b.fail(
                CheckName::CredentialProof,
                Reason::SignatureInvalid,
                Finding::ProofInvalid,
                format!("the credential's proof is invalid: {e}"),
            );
            return false;
        }
    }

    // Accreditation, and the school the certificate names.
    let refusal = issuer.entry.refusal(certificate);
    let accredited = refusal.is_none();
    match refusal {
        None => b.pass(
            CheckName::Issuer,
            Finding::IssuerAccredited { name_zh: issuer.entry.name_zh.clone(), name_en: issuer.entry.name_en.clone() },
            format!("{} is registered and accredited for this certificate", issuer.entry.name_en),
        ),
        Some(why) => b.fail(CheckName::Issuer, Reason::NotAccredited, Finding::IssuerNotAccredited, why),
    }

    // The status, asked now so that the registry's recorded time can bound the key check.
    let intact = pdf.is_none_or(|p| p.intact);
    let mut query = StatusQuery {
        issuer_id: issuer.entry.id.clone(),
        number: certificate.number.clone(),
        language: certificate.language,
        version: certificate.version,
        file_sha256: if intact { file_sha256 } else { pdf.and_then(|p| p.credential_sha256) },
    };
    let (mut answer, mut inclusion) = status.status_with_inclusion(&query);
    if !intact && matches!(answer, StatusAnswer::NotRegistered { .. }) {
        // A record made before institutions sent their credentials' hashes: asked by the
        // certificate alone, where the registry answers that (the Ministry's site does).
        query.file_sha256 = None;
        (answer, inclusion) = status.status_with_inclusion(&query);
    }
    let registered_at = match &answer {
        StatusAnswer::Current { registered_at, .. } | StatusAnswer::Superseded { registered_at, .. } => {
            Some(*registered_at)
        }
        _ => None,
    };

    // Key validity: the credential key when the credential was made, the PDF certificate when
    // the PDF was signed.
    let mut key_problems: Vec<(Reason, String)> = Vec::new();
    let window = |problems: &mut Vec<(Reason, String)>,
                  what: &str,
                  at: Timestamp,
                  result: Result<(), WindowProblem>| {
        if let Err(problem) = result {
            let reason =
                if matches!(problem, WindowProblem::Revoked { .. }) { Reason::KeyRevoked } else { Reason::KeyNotValid };
            problems.push((reason, format!("{what} at {at}: {problem}")));
        }
    };
    if claimed_time > now.plus_seconds(CLOCK_SKEW_SECONDS) {
        key_problems
            .push((Reason::KeyNotValid, format!("the credential claims a time in the future ({claimed_time})")));
    }
    // The registry's time is trusted: a key revoked before the file was registered cannot have
    // signed it honestly, whatever time the file claims.
    let revoked_before_registration = |problems: &mut Vec<(Reason, String)>, what: &str, from: Option<Timestamp>| {
        if let (Some(at), Some(from)) = (registered_at, from)
            && at >= from
        {
            problems.push((
                Reason::KeyRevoked,
                format!("{what} was revoked from {from}, before the registry recorded this file at {at}"),
            ));
        }
    };
    window(&mut key_problems, "the credential key", claimed_time, key.check_at(claimed_time));
    revoked_before_registration(&mut key_problems, "the credential key", key.entry.revoked_from);
    let credential_key_ok = key_problems.is_empty();
    if let Some(pdf) = pdf
        && let Some((_, cert)) = pdf.signer
    {
        match pdf.signing_time {
            None => key_problems.push((Reason::SignatureInvalid, "the PDF signature states no signing time".into())),
            Some(t) if t.plus_seconds(CLOCK_SKEW_SECONDS) < claimed_time => key_problems.push((
                Reason::SignatureInvalid,
                format!("the PDF claims to be signed at {t}, before the credential it carries ({claimed_time})"),
            )),
            Some(t) if t > now.plus_seconds(CLOCK_SKEW_SECONDS) => {
                key_problems.push((Reason::KeyNotValid, format!("the PDF claims a signing time in the future ({t})")))
            }
            Some(t) => window(&mut key_problems, "the PDF signing certificate", t, cert.check_at(t)),
        }
        revoked_before_registration(&mut key_problems, "the PDF signing certificate", cert.entry.revoked_from);
    }
    if key_problems.is_empty() {
        b.pass(
            CheckName::KeyValidity,
            Finding::KeysValid { signed_at: claimed_time },
            format!("the keys were valid when the certificate was signed ({claimed_time})"),
        );
    } else {
        let detail = key_problems.iter().map(|(_, d)| d.as_str()).collect::<Vec<_>>().join("; ");
        let reason = [Reason::SignatureInvalid, Reason::KeyRevoked, Reason::KeyNotValid]
            .into_iter()
            .find(|r| key_problems.iter().any(|(k, _)| k == r))
            .unwrap_or(Reason::KeyNotValid);
        let finding = match reason {
            Reason::SignatureInvalid => Finding::SigningTimeInconsistent,
            Reason::KeyRevoked => Finding::KeyRevoked,
            _ => Finding::KeyNotValid,
        };
        b.fail(CheckName::KeyValidity, reason, finding, detail);
    }

    // The PDF signer and the credential issuer are one institution.
    if let Some((pdf_signer, _)) = pdf.and_then(|p| p.signer) {
        if pdf_signer.entry.id == issuer.entry.id {
            b.pass(
                CheckName::IssuerBinding,
                Finding::SameInstitution,
                "the file and the credential were signed by the same institution",
            );
        } else {
            b.fail(
                CheckName::IssuerBinding,
                Reason::SignatureInvalid,
                Finding::DifferentInstitutions,
                format!(
                    "the file was signed by {} but the credential names {}",
                    pdf_signer.entry.name_en, issuer.entry.name_en
                ),
            );
        }
    }

    // The registry, and its log.
    // The log names files by their hash: a bare credential's record is the registry's word alone.
    let logged_file = if intact && pdf.is_some() { file_sha256 } else { None };
    let snapshot = status.snapshot_log_size();
    log_check(&answer, (inclusion.as_ref(), snapshot), &issuer.entry.id, certificate, logged_file, trust, b);
    let subject = if intact { "this file" } else { "the certificate it carries" };
    let revoked = matches!(answer, StatusAnswer::Revoked { .. });
    match answer {
        StatusAnswer::Offline => {
            b.unknown(
                CheckName::RegistryStatus,
                Finding::Offline { as_of: trust.content.issued },
                format!(
                    "offline: no registry was consulted, so whether {subject} was superseded or revoked after the \
                     trust list of {} is not known",
                    trust.content.issued
                ),
            );
        }
        StatusAnswer::Unavailable { reason } => {
            b.unknown(
                CheckName::RegistryStatus,
                Finding::StatusUnavailable,
                format!("the status (superseded, revoked) could not be checked: {reason}"),
            );
            b.reasons.push(Reason::StatusUnknown);
        }
        StatusAnswer::Current { as_of, .. } => {
            report.status_as_of = Some(as_of);
            b.pass(
                CheckName::RegistryStatus,
                Finding::Current { as_of },
                format!("{subject} is registered, current and not revoked as of {as_of}"),
            );
        }
        StatusAnswer::Superseded { latest_version, superseded_at, as_of, .. } => {
            report.status_as_of = Some(as_of);
            report.newer_version = Some(NewerVersion { version: latest_version, issued_at: superseded_at });
            b.fail(
                CheckName::RegistryStatus,
                Reason::Superseded,
                Finding::Superseded { version: latest_version, issued_at: superseded_at },
                format!(
                    "version {latest_version} was issued on {}; ask the holder or the institution for it",
                    superseded_at.taiwan_date()
                ),
            );
        }
        StatusAnswer::Revoked { reason, revoked_at, as_of } => {
            report.status_as_of = Some(as_of);
            b.fail(
                CheckName::RegistryStatus,
                Reason::Revoked,
                Finding::Revoked { revoked_at, reason: reason.clone() },
                format!("revoked on {}: {reason}", revoked_at.taiwan_date()),
            );
        }
        StatusAnswer::NotRegistered { as_of } => {
            report.status_as_of = Some(as_of);
            b.fail(
                CheckName::RegistryStatus,
                Reason::NotRegistered,
                Finding::NotRegistered,
                format!(
                    "the registry has no record of {subject}; only the original file sent by the institution verifies"
                ),
            );
        }
    }

    // The trust list itself.
    let content = &trust.content;
    let next = content.next_update.map(|t| t.to_string()).unwrap_or_else(|| "none stated".into());
    if !trust.pinned {
        b.fail(
            CheckName::TrustList,
            Reason::Unpinned,
            Finding::TrustListUnpinned,
            format!(
                "trust list #{} names a root (fingerprint {}) that the verifier was not told to trust: pin the \
                 Ministry's root fingerprint",
                content.sequence,
                trust.root.fingerprint()
            ),
        );
    } else if trust.is_stale(now) {
        b.unknown(
            CheckName::TrustList,
            Finding::TrustListStale { issued: content.issued },
            format!(
                "the trust list of {} is past its next update ({next}): keys revoked since are not known to it",
                content.issued
            ),
        );
    } else if content.issued > now.plus_seconds(CLOCK_SKEW_SECONDS) {
        b.unknown(
            CheckName::TrustList,
            Finding::TrustListFromTheFuture,
            format!("the trust list is dated {}, after the verification time", content.issued),
        );
    } else {
        b.pass(
            CheckName::TrustList,
            Finding::TrustListCurrent { sequence: content.sequence, issued: content.issued },
            format!("trust list #{} of {}, next update {next}", content.sequence, content.issued),
        );
    }
    accredited && credential_key_ok && !revoked
}

/// Whether the registry proved that the file's issuance record is in its log: the leaf is made
/// here from what the file states (institution, hash, number, language, version, previous
/// version, type) and the record's time, and the path must lead from it to the root of a
/// checkpoint signed with the key the pinned trust list names.
fn log_check(
    answer: &StatusAnswer,
    (inclusion, snapshot): (Option<&crate::tlog::Inclusion>, Option<u64>),
    institution: &str,
    certificate: &Certificate,
    file_sha256: Option<Sha256Digest>,
    trust: &TrustList,
    b: &mut Builder,
) {
    const NAME: CheckName = CheckName::TransparencyLog;
    let registered_at = match answer {
        StatusAnswer::Offline | StatusAnswer::Unavailable { .. } => {
            return b.unknown(NAME, Finding::LogNotConsulted, "no registry answered, so its log was not consulted");
        }
        StatusAnswer::NotRegistered { .. } => {
            return b.unknown(NAME, Finding::LogNothingToProve, "the registry has no record of this file to prove");
        }
        StatusAnswer::Current { registered_at, .. } | StatusAnswer::Superseded { registered_at, .. } => {
            Some(*registered_at)
        }
        StatusAnswer::Revoked { .. } => None,
    };
    let Some(sha) = file_sha256 else {
        return b.unknown(
            NAME,
            Finding::LogNothingToProve,
            "the log names certificate files by their hash: a changed file or a bare credential has no leaf of its own",
        );
    };
    let Some(verifier) = &trust.log else {
        return b.unknown(NAME, Finding::LogNotPublished, "the trust list names no transparency log");
    };
    if let (None, Some(size)) = (inclusion, snapshot) {
        return b.unknown(
            NAME,
            Finding::LogInBundle { size },
            format!(
                "the offline bundle's status is of the log's signed checkpoint of {size} records; the proof that \
                 this file's record is among them is given online"
            ),
        );
    }
    let Some(inclusion) = inclusion else {
        return b.fail(
            NAME,
            Reason::StatusUnknown,
            Finding::LogNoProof,
            "the registry stated a status but gave no proof that the file's record is in its log",
        );
    };
    if registered_at.is_some_and(|at| at.unix() != inclusion.recorded_at) {
        return b.fail(
            NAME,
            Reason::StatusUnknown,
            Finding::LogProofInvalid,
            "the log's proof is of a record made at another time than the registry states",
        );
    }
    let (sha, previous) = (sha.to_string(), certificate.previous_version_sha256.map(|p| p.to_string()));
    let leaf = crate::tlog::LogEntry {
        institution,
        event: "issued",
        file_sha256: &sha,
        number: &certificate.number,
        language: certificate.language.code(),
        version: i64::from(certificate.version),
        previous_sha256: previous.as_deref(),
        credential_type: certificate.subject.credential_type().code(),
        at: inclusion.recorded_at,
    }
    .leaf_hash();
    match inclusion.verify(&leaf, verifier) {
        Ok(checkpoint) => b.pass(
            NAME,
            Finding::LogIncluded { index: inclusion.leaf_index, size: checkpoint.size },
            format!(
                "the file's issuance record is leaf {} of the log {} under its signed checkpoint of {} records",
                inclusion.leaf_index, checkpoint.origin, checkpoint.size
            ),
        ),
        Err(e) => {
            b.fail(NAME, Reason::StatusUnknown, Finding::LogProofInvalid, format!("the log's evidence fails: {e}"))
        }
    }
}

fn finish(mut report: Report, mut b: Builder) -> Report {
    report.reason = PRIORITY.iter().copied().find(|r| b.reasons.contains(r));
    report.outcome = match report.reason {
        None => Outcome::Success,
        Some(Reason::Superseded) => Outcome::Warning,
        Some(_) => Outcome::Failure,
    };
    b.checks.sort_by_key(|c| c.name as u8);
    report.checks = b.checks;
    let issuer_name = report.issuer.as_ref().map(|i| i.name_en.clone()).unwrap_or_default();
    report.summary = match (report.outcome, report.reason) {
        (Outcome::Success, _) => {
            let offline = report.check(CheckName::RegistryStatus).is_some_and(|c| c.result == CheckResult::Unknown);
            // The Ministry issues teacher certificates itself: it is not named twice.
            let mut s = if issuer_name.starts_with("Ministry of Education") {
                "Certified by the Ministry of Education.".to_owned()
            } else {
                format!("Certified by the Ministry of Education and {issuer_name}.")
            };
            if offline {
                s.push_str(&format!(
                    " The registry was not consulted: status as of the trust list of {}.",
                    report.trust_list.issued
                ));
            }
            if report
                .check(CheckName::TransparencyLog)
                .is_some_and(|c| matches!(c.finding, Finding::LogInBundle { .. }))
                && let Some(as_of) = report.status_as_of
            {
                s.push_str(&format!(" Status as of the Ministry's offline bundle of {as_of}."));
            }
            if report.input == InputKind::Credential {
                s.push_str(
                    " This is the certificate's data (credential.json) without its diploma page: the PDF file \
                     shows the page.",
                );
            }
            if report.check(CheckName::TrustList).is_some_and(|c| c.result == CheckResult::Unknown) {
                s.push_str(" The trust list is out of date: get the Ministry's current one.");
            }
            s
        }
        (_, Some(Reason::Modified)) => {
            let mut s = Reason::Modified.explain().to_owned();
            match report.embedded_credential_authentic {
                Some(true) => s.push_str(&format!(
                    " The certificate data embedded in it is still authentic (signed by {issuer_name}), but this \
                     file is not the original: ask the holder to send the original email attachment, not a printed \
                     or re-saved copy."
                )),
                _ if b.reasons.contains(&Reason::Revoked) => {
                    s.push_str(" The certificate it carries has been revoked by its issuer.")
                }
                _ => s.push_str(" The data embedded in it is not authentic either."),
            }
            s
        }
        (_, Some(Reason::StatusUnknown)) => {
            let mut s = Reason::StatusUnknown.explain().to_owned();
            // Why, when the status itself could not be believed (an old bundle, a registry down).
            if let Some(check) = report.check(CheckName::RegistryStatus)
                && check.finding == Finding::StatusUnavailable
            {
                s.push_str(&format!(" ({})", check.detail));
            }
            s
        }
        (_, Some(reason)) => reason.explain().to_owned(),
        (_, None) => unreachable!("a failure always has a reason"),
    };
    report
}

#[cfg(test)]
mod tests {
    use super::{CheckName, Reason};

    /// Exhaustive: a new variant does not compile until it has its place here, and then the
    /// lists must hold it.
    fn place_of_reason(r: Reason) -> usize {
        use Reason::*;
        match r {
            NotACertificate => 0,
            TooLarge => 1,
            Modified => 2,
            SignatureInvalid => 3,
            UntrustedRoot => 4,
            UnknownIssuer => 5,
            NotAccredited => 6,
            KeyNotValid => 7,
            KeyRevoked => 8,
            Revoked => 9,
            NotRegistered => 10,
            StatusUnknown => 11,
            Unpinned => 12,
            Superseded => 13,
        }
    }

    fn place_of_check(c: CheckName) -> usize {
        use CheckName::*;
        match c {
            FileFormat => 0,
            DocumentSignature => 1,
            SigningCertificate => 2,
            CredentialProof => 3,
            Issuer => 4,
            KeyValidity => 5,
            IssuerBinding => 6,
            RegistryStatus => 7,
            TransparencyLog => 8,
            TrustList => 9,
        }
    }

    #[test]
    fn the_lists_of_every_reason_and_every_check_hold_each_once() {
        for (i, r) in Reason::ALL.into_iter().enumerate() {
            assert_eq!(place_of_reason(r), i, "{r:?}");
        }
        for (i, c) in CheckName::ALL.into_iter().enumerate() {
            assert_eq!(place_of_check(c), i, "{c:?}");
        }
    }
}
