//! Shared test fixtures: a Ministry root, institutions, a trust list, fonts and sample records.

use std::sync::OnceLock;

use dcert_core::issue::{IssuedFile, IssuerKit};
use dcert_core::model::{Certificate, DegreeLevel, Language, Subject, TeacherRecord};
use dcert_core::trust::{Accreditation, IssuerEntry, TrustList};
use dcert_core::{CredentialType, Timestamp};
use dcert_testkit::pki::Registration;
pub use dcert_testkit::pki::{Root, profile, ts};
use dcert_testkit::sample::{NKUST_EN, NKUST_ZH};
pub use dcert_testkit::sample::{degree, issue as issue_with};

pub const REGISTRY: &str = "https://registry.test";

/// When the sample certificates are issued.
pub fn issued_at() -> Timestamp {
    ts("2025-07-01T02:00:00Z")
}

/// A moment after issuance at which verification runs.
pub fn now() -> Timestamp {
    ts("2026-01-15T00:00:00Z")
}

/// An institution: what it issues with, and its entry for the trust list.
pub struct Institution {
    pub kit: IssuerKit,
    pub entry: IssuerEntry,
}

/// An institution `root` certified for degrees (bachelor and master) from June 2024 to June
/// 2029, with keys from `seed` and `seed + 1`.
pub fn institution(root: &Root, id: &str, seed: u8) -> Institution {
    // NKUST is registered under the names its graduates' records carry as their school.
    let (name_zh, name_en) = if id == "nkust" {
        (NKUST_ZH.to_owned(), NKUST_EN.to_owned())
    } else {
        (format!("測試大學 {id}"), format!("Test University {id}"))
    };
    let registration = Registration {
        id,
        name_zh: &name_zh,
        name_en: &name_en,
        accreditation: Accreditation {
            credential_types: vec![CredentialType::Degree],
            degree_levels: vec![DegreeLevel::Bachelor, DegreeLevel::Master],
        },
        registry: REGISTRY,
        valid_until: "2029-06-01T00:00:00Z",
    };
    let (kit, entry) = root.institution(&registration, seed);
    Institution { kit, entry }
}

/// The first trust list of the test registry, naming `issuers`.
pub fn trust_list(root: &Root, issuers: Vec<IssuerEntry>) -> TrustList {
    root.trust_list(REGISTRY, issuers).0
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

/// NKUST's Chinese certificate for 王𪚥, issued once per test binary.
pub fn sample_zh() -> &'static (World, IssuedFile) {
    static SAMPLE: OnceLock<(World, IssuedFile)> = OnceLock::new();
    SAMPLE.get_or_init(|| {
        let w = world();
        let file = issue_with(&w.nkust.kit, &certificate(Language::Zh), issued_at());
        (w, file)
    })
}
