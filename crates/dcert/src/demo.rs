//! `dcert demo`: a Ministry root, a university (NKUST) and the Ministry as a teacher-certificate
//! issuer, a trust list, and sample certificates verified on the spot, in one data directory.
//! Running it again reuses the keys already there.

use std::path::Path;

use anyhow::{Context, Result};
use dcert_core::model::{CredentialType, DegreeLevel, Language, RecordFile};
use dcert_core::pdf::{Limits, Template};
use dcert_core::status::Offline;
use dcert_core::trust::{Accreditation, Der, KeyEntry, TrustList, TrustListContent};
use dcert_core::verify::{self, Outcome};
use dcert_core::{Timestamp, issue};

use crate::fonts;
use crate::keystore::{IssuerDir, IssuerProfile, RootDir};

const REGISTRY: &str = "http://localhost:8081";

fn issuer(
    dir: &Path,
    root: &RootDir,
    id: &str,
    zh: &str,
    en: &str,
    types: Vec<CredentialType>,
    now: Timestamp,
) -> Result<IssuerDir> {
    if dir.join("issuer.json").exists() {
        return IssuerDir::open(dir);
    }
    let degree_levels = if types.contains(&CredentialType::Degree) {
        vec![DegreeLevel::Associate, DegreeLevel::Bachelor, DegreeLevel::Master, DegreeLevel::Doctor]
    } else {
        Vec::new()
    };
    let until = now.plus_seconds(5 * 365 * 86_400);
    let profile = IssuerProfile {
        id: id.into(),
        name_zh: zh.into(),
        name_en: en.into(),
        registry: root.info.registry.clone(),
        accreditation: Accreditation { credential_types: types, degree_levels },
        credential_key: KeyEntry {
            public_key_multibase: String::new(),
            valid_from: now,
            valid_until: until,
            revoked_from: None,
            revocation_reason: None,
        },
    };
    IssuerDir::create(dir, root, profile, now, until)
}

/// Runs the demo in `data_dir`.
pub fn run(data_dir: &Path, now: Timestamp) -> Result<()> {
    let keys = data_dir.join("keys");
    std::fs::create_dir_all(&keys).with_context(|| format!("cannot create {}", keys.display()))?;
    let root_dir = keys.join("moe-root");
    let root = if root_dir.join("root.json").exists() {
        RootDir::open(&root_dir)?
    } else {
        RootDir::create(&root_dir, REGISTRY, "Ministry of Education, R.O.C. (Taiwan)", now, 20)?
    };
    let nkust = issuer(
        &keys.join("nkust"),
        &root,
        "nkust",
        "國立高雄科技大學",
        "National Kaohsiung University of Science and Technology",
        vec![CredentialType::Degree],
        now,
    )?;
    let moe =
        issuer(&keys.join("moe"), &root, "moe", "教育部", "Ministry of Education", vec![CredentialType::Teacher], now)?;
    let content = TrustListContent {
        kind: "DcertTrustList".into(),
        format: dcert_core::trust::FORMAT_VERSION,
        registry: root.info.registry.clone(),
        sequence: now.unix() as u64,
        issued: now,
        next_update: Some(now.plus_seconds(30 * 86_400)),
        root_certificate: Der(root.cert.der.clone()),
        signer_certificate: Der(root.signer_cert.der.clone()),
        issuers: vec![nkust.trust_entry(), moe.trust_entry()],
        proof: None,
    };
    let trust_json = serde_json::to_vec_pretty(&TrustList::sign(&content, &root.signer_key()?)?)?;
    let trust = TrustList::verify(&trust_json, Some(root.cert.fingerprint()))?;
    let trust_path = data_dir.join("trust.json");
    std::fs::write(&trust_path, &trust_json)?;

    let fonts = fonts::load()?;
    let samples = data_dir.join("samples");
    std::fs::create_dir_all(&samples)?;
    let degree: RecordFile = serde_json::from_str(include_str!("../../../examples/record.json"))?;
    let teacher: RecordFile = serde_json::from_str(include_str!("../../../examples/teacher.json"))?;
    let jobs = [
        ("current-zh.pdf", &nkust, degree.clone(), Language::Zh),
        ("current-en.pdf", &nkust, degree, Language::En),
        ("teacher-zh.pdf", &moe, teacher, Language::Zh),
    ];
    let mut written = Vec::new();
    for (name, dir, record, language) in jobs {
        let certificate = record.into_certificate(language)?;
        let template = Template::default_for(certificate.subject.credential_type(), language);
        let file = issue::issue(&certificate, &dir.kit()?, &template, &fonts, now)?;
        std::fs::write(samples.join(name), &file.bytes)?;
        written.push((name.to_owned(), file.bytes));
    }
    // A copy with one byte changed, as an example of a modified file.
    let mut modified = written[0].1.clone();
    let at = modified.len() / 2;
    modified[at] ^= 0x01;
    std::fs::write(samples.join("modified.pdf"), &modified)?;
    written.push(("modified.pdf".into(), modified));

    println!("dcert demo in {}", data_dir.display());
    println!("  Ministry root     {} (fingerprint {})", root_dir.display(), root.cert.fingerprint().short(16));
    println!("  institutions      nkust (degree certificates), moe (teacher certificates)");
    println!("  trust list        {}", trust_path.display());
    println!("  samples, verified now:");
    for (name, bytes) in &written {
        let report = verify::verify(bytes, &trust, &Offline, now, &Limits::default());
        let label = match report.outcome {
            Outcome::Success => "認證成功 success",
            Outcome::Warning => "認證警告 warning",
            Outcome::Failure => "認證失敗 failure",
        };
        println!("    {:<16} {label:<18} {}", name, report.summary);
    }
    println!();
    let dcert = std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_else(|_| "dcert".into());
    println!("Verify a file yourself:");
    println!("  {dcert} verify --trust {} {}", trust_path.display(), samples.join("current-zh.pdf").display());
    Ok(())
}
