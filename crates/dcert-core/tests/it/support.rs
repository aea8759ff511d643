//! Shared test fixtures: a Ministry root, institutions, a trust list, fonts and sample records.

use std::sync::{Arc, OnceLock};

use dcert_core::credential::IssuerRef;
use dcert_core::issue::{self, IssuedFile, IssuerKit};
use dcert_core::keys::{CredentialKey, EcKey};
use dcert_core::model::{
    Certificate, DegreeLevel, DegreeRecord, Language, OtherProgram, ProgramKind, Subject, TeacherRecord,
};
use dcert_core::pdf::{Face, FontBook, PdfSigner, Template};
use dcert_core::trust::{Accreditation, CertEntry, Der, IssuerEntry, KeyEntry, TrustList, TrustListContent};
use dcert_core::x509::{self, CertProfile, CertRole, ParsedCert, TRUST_LIST_SIGNER_CN};
use dcert_core::{CredentialType, Timestamp};

pub const REGISTRY: &str = "https://registry.test";

pub fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// When the sample certificates are issued.
pub fn issued_at() -> Timestamp {
    ts("2025-07-01T02:00:00Z")
}

/// A moment after issuance at which verification runs.
pub fn now() -> Timestamp {
    ts("2026-01-15T00:00:00Z")
}

pub fn fonts() -> &'static FontBook {
    static FONTS: OnceLock<FontBook> = OnceLock::new();
    FONTS.get_or_init(|| {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fonts");
        let load = |name: &str| {
            let data = std::fs::read(format!("{dir}/{name}")).unwrap_or_else(|e| panic!("{name}: {e}"));
            Face::new(name, Arc::new(data), 0).unwrap()
        };
        let mut book = FontBook::new();
        book.add_family("serif", load("NotoSerifTC-Regular.otf"));
        book.add_fallback(load("HanaMinB.ttf"));
        book
    })
}

/// A Ministry root: its CA key and certificate, and the trust list signer.
pub struct Root {
    pub key: EcKey,
    pub cert: ParsedCert,
    pub signer_key: EcKey,
    pub signer_cert: ParsedCert,
    pub status_key: EcKey,
    pub status_cert: ParsedCert,
}

pub fn profile(cn: &str, org: &str, role: CertRole, from: &str, until: &str) -> CertProfile {
    CertProfile { common_name: cn.into(), organization: org.into(), not_before: ts(from), not_after: ts(until), role }
}

impl Root {
    pub fn new(seed: u8) -> Self {
        let key = EcKey::from_seed(&[seed; 32]).unwrap();
        let org = "Ministry of Education, R.O.C. (Taiwan)";
        let der = x509::issue(
            &profile("dcert Root CA", org, CertRole::Root, "2024-01-01T00:00:00Z", "2044-01-01T00:00:00Z"),
            &key.public(),
            None,
            &key,
        )
        .unwrap();
        let cert = ParsedCert::from_der(&der).unwrap();
        let signer_key = EcKey::from_seed(&[seed.wrapping_add(100); 32]).unwrap();
        let signer_der = x509::issue(
            &profile(
                TRUST_LIST_SIGNER_CN,
                org,
                CertRole::TrustListSigner,
                "2024-01-01T00:00:00Z",
                "2034-01-01T00:00:00Z",
            ),
            &signer_key.public(),
            Some(&cert.cert),
            &key,
        )
        .unwrap();
        let status_key = EcKey::from_seed(&[seed.wrapping_add(150); 32]).unwrap();
        let status_der = x509::issue(
            &profile(
                x509::STATUS_SIGNER_CN,
                org,
                CertRole::StatusSigner,
                "2024-01-01T00:00:00Z",
                "2034-01-01T00:00:00Z",
            ),
            &status_key.public(),
            Some(&cert.cert),
            &key,
        )
        .unwrap();
        Root {
            key,
            cert,
            signer_cert: ParsedCert::from_der(&signer_der).unwrap(),
            signer_key,
            status_cert: ParsedCert::from_der(&status_der).unwrap(),
            status_key,
        }
    }
}

/// An institution: what it issues with, and its entry for the trust list.
pub struct Institution {
    pub kit: IssuerKit,
    pub entry: IssuerEntry,
}

pub fn institution(root: &Root, id: &str, seed: u8) -> Institution {
    let credential_key = CredentialKey::from_seed(&[seed; 32]);
    let signing_key = EcKey::from_seed(&[seed.wrapping_add(1); 32]).unwrap();
    // NKUST is registered under the names its graduates' records carry as their school.
    let (name_zh, name_en) = if id == "nkust" {
        ("國立高雄科技大學".to_owned(), "National Kaohsiung University of Science and Technology".to_owned())
    } else {
        (format!("測試大學 {id}"), format!("Test University {id}"))
    };
    let cert = x509::issue(
        &profile(&name_en, &name_en, CertRole::DocumentSigner, "2024-06-01T00:00:00Z", "2029-06-01T00:00:00Z"),
        &signing_key.public(),
        Some(&root.cert.cert),
        &root.key,
    )
    .unwrap();
    let kit = IssuerKit {
        issuer: IssuerRef { id: id.into(), registry: REGISTRY.into() },
        name_zh: name_zh.clone(),
        name_en: name_en.clone(),
        credential_key: credential_key.clone(),
        pdf_signer: PdfSigner { key: signing_key, certificate: cert.clone(), name: name_en.clone() },
    };
    let entry = IssuerEntry {
        id: id.into(),
        name_zh,
        name_en,
        accreditation: Accreditation {
            credential_types: vec![CredentialType::Degree],
            degree_levels: vec![DegreeLevel::Bachelor, DegreeLevel::Master],
        },
        credential_keys: vec![KeyEntry {
            public_key_multibase: credential_key.public().to_multikey(),
            valid_from: ts("2024-06-01T00:00:00Z"),
            valid_until: ts("2029-06-01T00:00:00Z"),
            revoked_from: None,
            revocation_reason: None,
        }],
        signing_certificates: vec![CertEntry { certificate: Der(cert), revoked_from: None, revocation_reason: None }],
    };
    Institution { kit, entry }
}

pub fn trust_list(root: &Root, issuers: Vec<IssuerEntry>) -> TrustList {
    let content = TrustListContent {
        kind: "DcertTrustList".into(),
        format: 1,
        registry: REGISTRY.into(),
        sequence: 1,
        issued: ts("2025-06-01T00:00:00Z"),
        next_update: None,
        root_certificate: Der(root.cert.der.clone()),
        signer_certificate: Der(root.signer_cert.der.clone()),
        status_signer_certificate: Some(Der(root.status_cert.der.clone())),
        issuers,
        proof: None,
    };
    let json = TrustList::sign(&content, &root.signer_key).unwrap();
    TrustList::verify(&serde_json::to_vec(&json).unwrap(), Some(root.cert.fingerprint())).unwrap()
}

/// The standard world: one root, NKUST, and a trust list naming it.
pub struct World {
    pub root: Root,
    pub nkust: Institution,
    pub trust: TrustList,
}

pub fn world() -> World {
    let root = Root::new(1);
    let nkust = institution(&root, "nkust", 10);
    let trust = trust_list(&root, vec![nkust.entry.clone()]);
    World { root, nkust, trust }
}

pub fn degree(name_zh: &str) -> DegreeRecord {
    DegreeRecord {
        name_zh: name_zh.into(),
        name_en: "WANG, HSIAO-MING".into(),
        birth_date: "2002-03-14".parse().unwrap(),
        student_number: "C110152301".into(),
        school_zh: "國立高雄科技大學".into(),
        school_en: "National Kaohsiung University of Science and Technology".into(),
        college_zh: "電資學院".into(),
        college_en: "College of Electrical Engineering and Computer Science".into(),
        department_zh: "電子工程系".into(),
        department_en: "Department of Electronic Engineering".into(),
        other_programs: vec![OtherProgram {
            kind: ProgramKind::Minor,
            name_zh: "資訊工程系".into(),
            name_en: "Department of Computer Science and Information Engineering".into(),
        }],
        degree_level: DegreeLevel::Bachelor,
        degree_zh: "工學學士".into(),
        degree_en: "Bachelor of Science in Engineering".into(),
        graduation_term: "113-2".parse().unwrap(),
        graduation_date: "2025-06-30".parse().unwrap(),
        diploma_number: "(114)高科大電子學字第012345號".into(),
    }
}

pub fn certificate(language: Language) -> Certificate {
    Certificate {
        number: "NKUST-1132-000123".into(),
        language,
        version: 1,
        previous_version_sha256: None,
        subject: Subject::Degree(degree("王𪚥")),
    }
}

pub fn teacher(language: Language) -> Certificate {
    Certificate {
        number: "MOE-T-114-000042".into(),
        language,
        version: 1,
        previous_version_sha256: None,
        subject: Subject::Teacher(TeacherRecord {
            name_zh: "林堃".into(),
            name_en: "LIN, KUN".into(),
            birth_date: "1990-09-09".parse().unwrap(),
            kind_zh: "中等學校教師證書".into(),
            kind_en: "Secondary School Teacher Certificate".into(),
            subject_zh: "數學".into(),
            subject_en: "Mathematics".into(),
            teacher_certificate_number: "中字第1140042號".into(),
            issue_date: "2025-08-01".parse().unwrap(),
        }),
    }
}

pub fn issue_with(kit: &IssuerKit, cert: &Certificate, at: Timestamp) -> IssuedFile {
    let template = Template::default_for(cert.subject.credential_type(), cert.language);
    issue::issue(cert, kit, &template, fonts(), at).unwrap()
}

/// NKUST's Chinese certificate for 王𪚥, issued once per test binary.
pub fn sample_zh() -> &'static (World, IssuedFile) {
    static SAMPLE: OnceLock<(World, IssuedFile)> = OnceLock::new();
    SAMPLE.get_or_init(|| {
        let w = world();
        let file = issue_with(&w.nkust.kit, &certificate(Language::Zh), issued_at());
        (w, file)
    })
}
