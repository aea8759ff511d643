//! Issuing one certificate file: build and sign the credential, seal the QR code, render the
//! PDF/A-3 page with the credential attached, and sign the whole file (PAdES).

use serde_json::Value;

use crate::credential::{self, CredentialError, IssuerRef};
use crate::digest::Sha256Digest;
use crate::keys::CredentialKey;
use crate::model::{Certificate, Language};
use crate::pdf::pades::{self, PdfSigner, SignError};
use crate::pdf::render::{self, PageInput, RenderError};
use crate::pdf::{FontBook, Template};
use crate::seal::{self, SealData};
use crate::time::Timestamp;

/// What an issuer renders and signs files with: its kit and the fonts, shared by the threads that
/// issue.
#[derive(Clone, Debug)]
pub struct Issuance {
    /// The keys, certificate and names of the institution.
    pub kit: IssuerKit,
    /// The fonts.
    pub fonts: std::sync::Arc<FontBook>,
}

/// Everything an institution needs to issue certificate files.
#[derive(Clone, Debug)]
pub struct IssuerKit {
    /// The institution's id and registry.
    pub issuer: IssuerRef,
    /// Its name in Traditional Chinese, as the registry records it.
    pub name_zh: String,
    /// Its name in English.
    pub name_en: String,
    /// Its credential key (Ed25519).
    pub credential_key: CredentialKey,
    /// Its PDF signer (P-256 key and certificate).
    pub pdf_signer: PdfSigner,
}

impl IssuerKit {
    /// The institution's name in `language`.
    pub fn name(&self, language: Language) -> &str {
        match language {
            Language::Zh => &self.name_zh,
            Language::En => &self.name_en,
        }
    }
}

/// An issued certificate file.
#[derive(Clone, Debug)]
pub struct IssuedFile {
    /// The signed PDF, to be delivered byte for byte.
    pub bytes: Vec<u8>,
    /// Its SHA-256, which the registry records.
    pub sha256: Sha256Digest,
    /// The embedded credential.
    pub credential: Value,
    /// The SHA-256 of the embedded `credential.json`, byte for byte: what the registry
    /// recognises the bare credential by.
    pub credential_sha256: Sha256Digest,
    /// The QR seal.
    pub seal: String,
}

/// A certificate could not be issued.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IssueError {
    /// The record or credential is invalid.
    #[error(transparent)]
    Credential(#[from] CredentialError),
    /// The page could not be rendered.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// The file could not be signed.
    #[error(transparent)]
    Sign(#[from] SignError),
}

/// The verification address of a certificate file, printed in its QR code.
pub fn verify_url(issuer: &IssuerRef, certificate: &Certificate) -> String {
    format!(
        "{}/v/{}/{}/{}/{}",
        issuer.registry.trim_end_matches('/'),
        issuer.id,
        certificate.number,
        certificate.language,
        certificate.version
    )
}

/// Issues `certificate` as a signed PDF file at `issued_at`.
pub fn issue(
    certificate: &Certificate,
    kit: &IssuerKit,
    template: &Template,
    fonts: &FontBook,
    issued_at: Timestamp,
) -> Result<IssuedFile, IssueError> {
    let credential = credential::sign_credential(certificate, &kit.issuer, &kit.credential_key, issued_at)?;
    let credential_json = credential::to_file_bytes(&credential);
    let seal = seal::sign(&SealData::of(certificate, &kit.issuer.id, issued_at), &kit.credential_key);
    let url = verify_url(&kit.issuer, certificate);
    let qr_text = seal::qr_text(&kit.issuer.registry, &seal);
    let unsigned = render::render(
        template,
        fonts,
        &PageInput {
            certificate,
            issuer_name: kit.name(certificate.language),
            verify_url: &url,
            qr_text: &qr_text,
            credential_json: &credential_json,
            issued_at,
        },
    )?;
    let bytes = pades::sign(unsigned, &kit.pdf_signer, issued_at)?;
    let credential_sha256 = Sha256Digest::of(&credential_json);
    Ok(IssuedFile { sha256: Sha256Digest::of(&bytes), bytes, credential, credential_sha256, seal })
}
