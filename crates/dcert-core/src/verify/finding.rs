//! What each check found, as a code with its parameters: the words are the reader's, chosen
//! by whoever shows the report (the verification site words each code from its message
//! catalogue in the visitor's language; a check's `detail` stays the technical English).

use serde::Serialize;

use crate::time::Timestamp;

/// What a check found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Finding {
    // ----- file format -----
    /// The file is larger than the verifier accepts.
    TooLarge {
        /// The file's size in bytes.
        size: u64,
        /// The largest size accepted, in bytes.
        limit: u64,
    },
    /// A certificate PDF carrying its certificate data.
    CertificatePdf,
    /// A bare certificate data file (`credential.json`).
    CredentialFile,
    /// A JSON file that is not certificate data.
    NotCredentialData,
    /// A picture (a photo, a scan or a screenshot), not a certificate file.
    Picture,
    /// Neither a PDF nor certificate data, nor a picture.
    OtherFile,
    /// A PDF that carries no certificate data: another document, or a certificate printed,
    /// scanned or converted to PDF.
    PdfWithoutCertificate,
    /// A PDF that cannot be read (damaged or cut short).
    PdfUnreadable,
    /// An encrypted PDF (certificate files never are).
    PdfEncrypted,
    /// A PDF whose certificate data cannot be read.
    CertificateDataUnreadable,

    // ----- document signature -----
    /// The signature covers every byte of the file and matches them.
    FileIntact,
    /// The file's bytes differ from the signed ones (edited, re-saved, printed to PDF).
    FileChanged,
    /// Content was appended after the signed part.
    ContentAppended {
        /// How many bytes were appended.
        bytes: u64,
    },
    /// The file carries no signature, or more than one.
    SignatureMissing,
    /// The signature is malformed or does not verify.
    SignatureInvalid,

    // ----- signing certificate -----
    /// The signing certificate was issued by the Ministry root to a registered institution.
    SignerRegistered {
        /// The institution's name in Chinese.
        name_zh: String,
        /// The institution's name in English.
        name_en: String,
    },
    /// No signing certificate could be read from the signature.
    SignerUnreadable,
    /// The signing certificate was not issued by the Ministry root.
    SignerNotUnderRoot,
    /// The signing certificate is not registered for any institution.
    SignerNotRegistered,

    // ----- credential proof -----
    /// The certificate data's own signature verifies.
    ProofValid,
    /// The certificate data's signature was not checked: its issuer is unknown.
    ProofNotChecked,
    /// The certificate data is signed with a key not registered for its issuer.
    ProofKeyNotRegistered,
    /// The certificate data's signature is invalid.
    ProofInvalid,

    // ----- issuer -----
    /// The issuer is registered and accredited for this certificate.
    IssuerAccredited {
        /// The institution's name in Chinese.
        name_zh: String,
        /// The institution's name in English.
        name_en: String,
    },
    /// The issuer is not registered with the Ministry.
    IssuerUnknown,
    /// The issuer is not accredited for this kind of certificate or degree.
    IssuerNotAccredited,

    // ----- key validity -----
    /// The keys were valid when the certificate was signed.
    KeysValid {
        /// When it was signed.
        signed_at: Timestamp,
    },
    /// A key was not valid (not yet, or no longer) when the certificate was signed.
    KeyNotValid,
    /// A key had been revoked when the certificate was signed.
    KeyRevoked,
    /// The times the file states contradict each other.
    SigningTimeInconsistent,

    // ----- issuer binding -----
    /// The file and the certificate data were signed by the same institution.
    SameInstitution,
    /// The file and the certificate data were signed by different institutions.
    DifferentInstitutions,

    // ----- registry -----
    /// Registered, the latest version, not revoked.
    Current {
        /// When the registry's answer was true.
        as_of: Timestamp,
    },
    /// A newer version was issued.
    Superseded {
        /// The latest version.
        version: u32,
        /// When it was issued.
        issued_at: Timestamp,
    },
    /// The issuer revoked the certificate.
    Revoked {
        /// When.
        revoked_at: Timestamp,
        /// The issuer's reason, as the issuer wrote it.
        reason: String,
    },
    /// The registry has no record of it.
    NotRegistered,
    /// No registry was consulted (offline).
    Offline {
        /// The trust list's date, the time the answer is as of.
        as_of: Timestamp,
    },
    /// The registry gave no answer that could be believed.
    StatusUnavailable,

    // ----- transparency log -----
    /// The file's issuance record is in the registry's public log: the proof leads from the
    /// record to a checkpoint signed with the log's key.
    LogIncluded {
        /// The record's leaf index.
        index: u64,
        /// The size of the tree the checkpoint states.
        size: u64,
    },
    /// The log was not consulted: no registry answered (offline, or no answer believed).
    LogNotConsulted,
    /// Nothing of this file to find in the log: the registry has no record of it, or the file
    /// is not the original (the log names files by their hash).
    LogNothingToProve,
    /// The trust list names no transparency log.
    LogNotPublished,
    /// The status is an offline bundle's, made of the records of the log's checkpoint of `size`
    /// records: the file's own proof of inclusion is given online.
    LogInBundle {
        /// The size of the tree the bundle's checkpoint states.
        size: u64,
    },
    /// The registry stated a status but gave no proof that its record is in the log.
    LogNoProof,
    /// The registry's proof does not check: another log, a bad signature, or a path that does
    /// not lead to the checkpoint's root from this file's record.
    LogProofInvalid,

    // ----- trust list -----
    /// The trust list is the Ministry's and current.
    TrustListCurrent {
        /// Its sequence number.
        sequence: u64,
        /// When it was issued.
        issued: Timestamp,
    },
    /// The trust list is past its next update.
    TrustListStale {
        /// When it was issued.
        issued: Timestamp,
    },
    /// The trust list is dated after the verification.
    TrustListFromTheFuture,
    /// The trust list was not pinned to the Ministry's root.
    TrustListUnpinned,
}

impl Finding {
    /// The finding's code, as serialized (`file_intact`): the key a catalogue words it by.
    pub fn code(&self) -> &'static str {
        match self {
            Finding::TooLarge { .. } => "too_large",
            Finding::CertificatePdf => "certificate_pdf",
            Finding::CredentialFile => "credential_file",
            Finding::NotCredentialData => "not_credential_data",
            Finding::Picture => "picture",
            Finding::OtherFile => "other_file",
            Finding::PdfWithoutCertificate => "pdf_without_certificate",
            Finding::PdfUnreadable => "pdf_unreadable",
            Finding::PdfEncrypted => "pdf_encrypted",
            Finding::CertificateDataUnreadable => "certificate_data_unreadable",
            Finding::FileIntact => "file_intact",
            Finding::FileChanged => "file_changed",
            Finding::ContentAppended { .. } => "content_appended",
            Finding::SignatureMissing => "signature_missing",
            Finding::SignatureInvalid => "signature_invalid",
            Finding::SignerRegistered { .. } => "signer_registered",
            Finding::SignerUnreadable => "signer_unreadable",
            Finding::SignerNotUnderRoot => "signer_not_under_root",
            Finding::SignerNotRegistered => "signer_not_registered",
            Finding::ProofValid => "proof_valid",
            Finding::ProofNotChecked => "proof_not_checked",
            Finding::ProofKeyNotRegistered => "proof_key_not_registered",
            Finding::ProofInvalid => "proof_invalid",
            Finding::IssuerAccredited { .. } => "issuer_accredited",
            Finding::IssuerUnknown => "issuer_unknown",
            Finding::IssuerNotAccredited => "issuer_not_accredited",
            Finding::KeysValid { .. } => "keys_valid",
            Finding::KeyNotValid => "key_not_valid",
            Finding::KeyRevoked => "key_revoked",
            Finding::SigningTimeInconsistent => "signing_time_inconsistent",
            Finding::SameInstitution => "same_institution",
            Finding::DifferentInstitutions => "different_institutions",
            Finding::Current { .. } => "current",
            Finding::Superseded { .. } => "superseded",
            Finding::Revoked { .. } => "revoked",
            Finding::NotRegistered => "not_registered",
            Finding::Offline { .. } => "offline",
            Finding::StatusUnavailable => "status_unavailable",
            Finding::LogIncluded { .. } => "log_included",
            Finding::LogNotConsulted => "log_not_consulted",
            Finding::LogNothingToProve => "log_nothing_to_prove",
            Finding::LogNotPublished => "log_not_published",
            Finding::LogInBundle { .. } => "log_in_bundle",
            Finding::LogNoProof => "log_no_proof",
            Finding::LogProofInvalid => "log_proof_invalid",
            Finding::TrustListCurrent { .. } => "trust_list_current",
            Finding::TrustListStale { .. } => "trust_list_stale",
            Finding::TrustListFromTheFuture => "trust_list_from_the_future",
            Finding::TrustListUnpinned => "trust_list_unpinned",
        }
    }

    /// Every code, in declaration order, for catalogues that must word each (a test builds every
    /// finding and compares).
    pub const CODES: [&'static str; 49] = [
        "too_large",
        "certificate_pdf",
        "credential_file",
        "not_credential_data",
        "picture",
        "other_file",
        "pdf_without_certificate",
        "pdf_unreadable",
        "pdf_encrypted",
        "certificate_data_unreadable",
        "file_intact",
        "file_changed",
        "content_appended",
        "signature_missing",
        "signature_invalid",
        "signer_registered",
        "signer_unreadable",
        "signer_not_under_root",
        "signer_not_registered",
        "proof_valid",
        "proof_not_checked",
        "proof_key_not_registered",
        "proof_invalid",
        "issuer_accredited",
        "issuer_unknown",
        "issuer_not_accredited",
        "keys_valid",
        "key_not_valid",
        "key_revoked",
        "signing_time_inconsistent",
        "same_institution",
        "different_institutions",
        "current",
        "superseded",
        "revoked",
        "not_registered",
        "offline",
        "status_unavailable",
        "log_included",
        "log_not_consulted",
        "log_nothing_to_prove",
        "log_not_published",
        "log_in_bundle",
        "log_no_proof",
        "log_proof_invalid",
        "trust_list_current",
        "trust_list_stale",
        "trust_list_from_the_future",
        "trust_list_unpinned",
    ];
}

/// Whether `bytes` begin like a picture a phone or scanner makes: PNG, JPEG, GIF, WebP, HEIC or
/// TIFF.
pub fn looks_like_picture(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x89PNG\r\n\x1a\n")
        || bytes.starts_with(&[0xff, 0xd8, 0xff])
        || bytes.starts_with(b"GIF8")
        || (bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP")
        || (bytes.len() >= 12
            && &bytes[4..8] == b"ftyp"
            && matches!(&bytes[8..12], b"heic" | b"heix" | b"mif1" | b"avif"))
        || bytes.starts_with(b"II*\0")
        || bytes.starts_with(b"MM\0*")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_listed_once_and_serializes_as_itself() {
        let mut seen = std::collections::BTreeSet::new();
        for code in Finding::CODES {
            assert!(seen.insert(code), "{code} twice");
        }
        let t = Timestamp(0);
        let name = || String::new();
        let all = [
            Finding::TooLarge { size: 1, limit: 0 },
            Finding::CertificatePdf,
            Finding::CredentialFile,
            Finding::NotCredentialData,
            Finding::Picture,
            Finding::OtherFile,
            Finding::PdfWithoutCertificate,
            Finding::PdfUnreadable,
            Finding::PdfEncrypted,
            Finding::CertificateDataUnreadable,
            Finding::FileIntact,
            Finding::FileChanged,
            Finding::ContentAppended { bytes: 1 },
            Finding::SignatureMissing,
            Finding::SignatureInvalid,
            Finding::SignerRegistered { name_zh: name(), name_en: name() },
            Finding::SignerUnreadable,
            Finding::SignerNotUnderRoot,
            Finding::SignerNotRegistered,
            Finding::ProofValid,
            Finding::ProofNotChecked,
            Finding::ProofKeyNotRegistered,
            Finding::ProofInvalid,
            Finding::IssuerAccredited { name_zh: name(), name_en: name() },
            Finding::IssuerUnknown,
            Finding::IssuerNotAccredited,
            Finding::KeysValid { signed_at: t },
            Finding::KeyNotValid,
            Finding::KeyRevoked,
            Finding::SigningTimeInconsistent,
            Finding::SameInstitution,
            Finding::DifferentInstitutions,
            Finding::Current { as_of: t },
            Finding::Superseded { version: 2, issued_at: t },
            Finding::Revoked { revoked_at: t, reason: name() },
            Finding::NotRegistered,
            Finding::Offline { as_of: t },
            Finding::StatusUnavailable,
            Finding::LogIncluded { index: 0, size: 1 },
            Finding::LogNotConsulted,
            Finding::LogNothingToProve,
            Finding::LogNotPublished,
            Finding::LogInBundle { size: 1 },
            Finding::LogNoProof,
            Finding::LogProofInvalid,
            Finding::TrustListCurrent { sequence: 1, issued: t },
            Finding::TrustListStale { issued: t },
            Finding::TrustListFromTheFuture,
            Finding::TrustListUnpinned,
        ];
        let codes: Vec<&str> = all.iter().map(Finding::code).collect();
        assert_eq!(codes, Finding::CODES, "CODES lists every finding, in declaration order");
        for f in all {
            let json = serde_json::to_value(&f).unwrap();
            assert_eq!(json["code"], f.code(), "{f:?}");
        }
    }

    #[test]
    fn photos_scans_and_screenshots_are_recognised_as_pictures_and_a_pdf_is_not() {
        assert!(looks_like_picture(b"\x89PNG\r\n\x1a\n...."));
        assert!(looks_like_picture(&[0xff, 0xd8, 0xff, 0xe0, 0, 0x10]));
        assert!(looks_like_picture(b"\0\0\0\x18ftypheic\0\0\0\0"));
        assert!(!looks_like_picture(b"%PDF-1.7\n"));
        assert!(!looks_like_picture(b"{\"@context\": []}"));
    }
}
