//! A test Ministry and the institutions it certifies: keys made from fixed seeds, their
//! certificates, and trust lists signed by the Ministry's signer.

use dcert_core::Timestamp;
use dcert_core::credential::IssuerRef;
use dcert_core::issue::IssuerKit;
use dcert_core::keys::{CredentialKey, EcKey};
use dcert_core::pdf::PdfSigner;
use dcert_core::tlog::LogKey;
use dcert_core::trust::{
    Accreditation, CertEntry, Der, IssuerEntry, KeyEntry, LogDescriptor, TrustList, TrustListContent,
};
use dcert_core::x509::{self, CertProfile, CertRole, ParsedCert, STATUS_SIGNER_CN, TRUST_LIST_SIGNER_CN};

/// The organisation the Ministry's certificates name.
pub const MINISTRY: &str = "Ministry of Education, R.O.C. (Taiwan)";

/// An RFC 3339 time.
pub fn ts(s: &str) -> Timestamp {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// A certificate's subject, role and validity.
pub fn profile(cn: &str, org: &str, role: CertRole, from: &str, until: &str) -> CertProfile {
    CertProfile { common_name: cn.into(), organization: org.into(), not_before: ts(from), not_after: ts(until), role }
}

/// A Ministry root: its CA key and certificate (2024 to 2044), and the trust list signer and
/// the status signer it certified (2024 to 2034).
pub struct Root {
    pub key: EcKey,
    pub cert: ParsedCert,
    pub signer_key: EcKey,
    pub signer_cert: ParsedCert,
    pub status_key: EcKey,
    pub status_cert: ParsedCert,
    /// The key of the registry's transparency log, from the CA's seed + 50.
    pub log_key: LogKey,
}

/// What an institution is registered as: the names and accreditation of its trust list entry,
/// the registry its credentials name, and when its keys' windows end (they begin 2024-06-01).
pub struct Registration<'a> {
    pub id: &'a str,
    pub name_zh: &'a str,
    pub name_en: &'a str,
    pub accreditation: Accreditation,
    pub registry: &'a str,
    pub valid_until: &'a str,
}

impl Root {
    /// The root whose CA, trust list signer and status signer keys are made from `seed`,
    /// `seed + 100` and `seed + 150`.
    pub fn new(seed: u8) -> Root {
        Root::from_seeds(seed, seed.wrapping_add(100), seed.wrapping_add(150))
    }

    /// The root whose three keys are made from these seeds.
    pub fn from_seeds(ca: u8, signer: u8, status: u8) -> Root {
        let key = EcKey::from_seed(&[ca; 32]).unwrap();
        let root = profile("dcert Root CA", MINISTRY, CertRole::Root, "2024-01-01T00:00:00Z", "2044-01-01T00:00:00Z");
        let cert = ParsedCert::from_der(&x509::issue(&root, &key.public(), None, &key).unwrap()).unwrap();
        let certified = |cn: &str, role: CertRole, subject: &EcKey| {
            let profile = profile(cn, MINISTRY, role, "2024-01-01T00:00:00Z", "2034-01-01T00:00:00Z");
            ParsedCert::from_der(&x509::issue(&profile, &subject.public(), Some(&cert.cert), &key).unwrap()).unwrap()
        };
        let signer_key = EcKey::from_seed(&[signer; 32]).unwrap();
        let signer_cert = certified(TRUST_LIST_SIGNER_CN, CertRole::TrustListSigner, &signer_key);
        let status_key = EcKey::from_seed(&[status; 32]).unwrap();
        let status_cert = certified(STATUS_SIGNER_CN, CertRole::StatusSigner, &status_key);
        let log_key = LogKey::from_bytes(&[ca.wrapping_add(50); 32]);
        Root { key, cert, signer_key, signer_cert, status_key, status_cert, log_key }
    }

    /// An institution this root certified: its kit and its trust list entry, with a credential
    /// key from `seed` and a PDF signing key from `seed + 1`.
    pub fn institution(&self, who: &Registration, seed: u8) -> (IssuerKit, IssuerEntry) {
        let credential_key = CredentialKey::from_seed(&[seed; 32]);
        let signing_key = EcKey::from_seed(&[seed.wrapping_add(1); 32]).unwrap();
        let from = "2024-06-01T00:00:00Z";
        let document = profile(who.name_en, who.name_en, CertRole::DocumentSigner, from, who.valid_until);
        let cert = x509::issue(&document, &signing_key.public(), Some(&self.cert.cert), &self.key).unwrap();
        let kit = IssuerKit {
            issuer: IssuerRef { id: who.id.into(), registry: who.registry.into() },
            name_zh: who.name_zh.into(),
            name_en: who.name_en.into(),
            credential_key: credential_key.clone(),
            pdf_signer: PdfSigner { key: signing_key, certificate: cert.clone(), name: who.name_en.into() },
        };
        let entry = IssuerEntry {
            id: who.id.into(),
            name_zh: who.name_zh.into(),
            name_en: who.name_en.into(),
            accreditation: who.accreditation.clone(),
            credential_keys: vec![KeyEntry::new(credential_key.public().to_multikey(), ts(from), ts(who.valid_until))],
            signing_certificates: vec![CertEntry::new(cert)],
        };
        (kit, entry)
    }

    /// The first trust list of `registry` (number 1, issued 2025-06-01, naming this root's
    /// status signer and log key) with `issuers`, signed: as a verifier that pins this root reads it, and
    /// its bytes.
    pub fn trust_list(&self, registry: &str, issuers: Vec<IssuerEntry>) -> (TrustList, Vec<u8>) {
        let content = TrustListContent {
            kind: "DcertTrustList".into(),
            format: 1,
            registry: registry.into(),
            sequence: 1,
            issued: ts("2025-06-01T00:00:00Z"),
            next_update: None,
            root_certificate: Der(self.cert.der.clone()),
            signer_certificate: Der(self.signer_cert.der.clone()),
            status_signer_certificate: Some(Der(self.status_cert.der.clone())),
            log: Some(LogDescriptor::of(registry, &self.log_key)),
            issuers,
            proof: None,
        };
        let bytes = self.sign(&content);
        (self.pinned(&bytes), bytes)
    }

    /// `content` signed by this root's trust list signer: the bytes a verifier reads.
    pub fn sign(&self, content: &TrustListContent) -> Vec<u8> {
        serde_json::to_vec(&TrustList::sign(content, &self.signer_key).unwrap()).unwrap()
    }

    /// The trust list `bytes`, verified by a verifier that pins this root.
    pub fn pinned(&self, bytes: &[u8]) -> TrustList {
        TrustList::verify(bytes, Some(self.cert.fingerprint())).unwrap()
    }
}
