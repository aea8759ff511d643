//! Standard tools read our files: Poppler's pdfsig validates the PAdES signature against the
//! Ministry root, and zbarimg decodes the QR code from a rendering, whose seal then verifies.

use std::path::Path;
use std::process::{Command, Output};

use dcert_core::Language;
use dcert_core::seal;
use dcert_testkit::TempDir;

use crate::support::*;

/// The Debian package that provides `program`.
fn package(program: &str) -> &'static str {
    match program {
        "pdfsig" | "pdftoppm" | "pdftotext" => "poppler-utils",
        "certutil" => "libnss3-tools",
        "zbarimg" => "zbar-tools",
        _ => panic!("no Debian package is known for {program}"),
    }
}

/// Runs `program`, which must be installed: a missing tool fails the test, never skips it.
fn run(program: &str, args: &[&str], dir: &Path) -> Output {
    Command::new(program).args(args).current_dir(dir).output().unwrap_or_else(|e| {
        panic!("{program} is needed for this test (Debian package {}; scripts/test installs it): {e}", package(program))
    })
}

#[test]
fn pdfsig_reports_a_valid_signature_from_a_trusted_certificate() {
    let (w, file) = sample_zh();
    let tmp = TempDir::new("pdfsig");
    std::fs::write(tmp.0.join("cert.pdf"), &file.bytes).unwrap();
    std::fs::write(tmp.0.join("root.pem"), w.root.cert.to_pem()).unwrap();
    std::fs::create_dir(tmp.0.join("nss")).unwrap();
    let out = run("certutil", &["-N", "-d", "sql:nss", "--empty-password"], &tmp.0);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = run("certutil", &["-A", "-d", "sql:nss", "-n", "dcert-root", "-t", "CT,C,C", "-i", "root.pem"], &tmp.0);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let out = run("pdfsig", &["-nssdir", "sql:nss", "cert.pdf"], &tmp.0);
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(report.contains("Signature is Valid"), "{report}");
    assert!(report.contains("Certificate is Trusted"), "{report}");
    assert!(report.contains("Total document signed"), "{report}");
    assert!(report.contains("ETSI.CAdES.detached"), "{report}");

    // Without the root, the signature is intact but the certificate is not trusted.
    let out = run("pdfsig", &["cert.pdf"], &tmp.0);
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(report.contains("Signature is Valid") && !report.contains("Certificate is Trusted"), "{report}");

    // One changed byte: pdfsig sees it too.
    let mut changed = file.bytes.clone();
    let at = changed.len() / 3;
    changed[at] ^= 0x20;
    std::fs::write(tmp.0.join("changed.pdf"), &changed).unwrap();
    let out = run("pdfsig", &["-nssdir", "sql:nss", "changed.pdf"], &tmp.0);
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(!report.contains("Signature is Valid"), "{report}");
}

#[test]
fn the_qr_code_scans_from_a_rendering_and_its_seal_verifies() {
    let (w, _) = sample_zh();
    let tmp = TempDir::new("qr");
    for language in [Language::Zh, Language::En] {
        let file = issue_with(&w.nkust.kit, &certificate(language), issued_at());
        std::fs::write(tmp.0.join("cert.pdf"), &file.bytes).unwrap();
        let out = run("pdftoppm", &["-r", "200", "-gray", "-png", "cert.pdf", "page"], &tmp.0);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let out = run("zbarimg", &["-q", "--raw", "page-1.png"], &tmp.0);
        assert!(out.status.success(), "zbarimg found no code: {}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout).unwrap();
        let text = text.trim_end();
        assert!(text.starts_with(&format!("{REGISTRY}/v/nkust/NKUST-1132-000123/{language}/1#DC1:")), "{text}");
        let seal_text = seal::seal_from_qr_text(text).unwrap();
        assert_eq!(seal_text, file.seal);
        let verified = seal::verify(&seal_text, &w.trust).unwrap();
        assert_eq!(
            verified.issuer_name_en, "National Kaohsiung University of Science and Technology",
            "the name comes from the trust list"
        );
        assert_eq!(verified.data.name_zh, "王𪚥");
        assert_eq!(verified.data.number, "NKUST-1132-000123");
        assert_eq!(verified.data.language, language);
        assert_eq!(verified.data.issuer_id, "nkust");
    }
}

#[test]
fn a_seal_with_a_changed_character_does_not_verify() {
    let (w, file) = sample_zh();
    assert!(seal::verify(&file.seal, &w.trust).is_ok());
    let mut chars: Vec<char> = file.seal.chars().collect();
    let at = chars.len() - 20;
    chars[at] = if chars[at] == 'A' { 'B' } else { 'A' };
    let changed: String = chars.into_iter().collect();
    assert!(seal::verify(&changed, &w.trust).is_err());
    assert!(seal::verify("DC1:", &w.trust).is_err());
    assert!(seal::verify("HC1:6BF", &w.trust).is_err());
}

#[test]
fn a_seal_that_names_another_institution_or_a_time_outside_the_key_fails() {
    use dcert_core::seal::{SealData, SealError};
    let (w, _) = sample_zh();
    let cert = certificate(Language::Zh);
    let forged = seal::sign(&SealData::of(&cert, "other-school", issued_at()), &w.nkust.kit.credential_key);
    assert!(matches!(seal::verify(&forged, &w.trust), Err(SealError::IssuerMismatch { .. })));
    let late = seal::sign(&SealData::of(&cert, "nkust", ts("2031-01-01T00:00:00Z")), &w.nkust.kit.credential_key);
    assert!(matches!(seal::verify(&late, &w.trust), Err(SealError::KeyNotValid(_))));
    let stranger = dcert_core::keys::CredentialKey::from_seed(&[99; 32]);
    let unknown = seal::sign(&SealData::of(&cert, "nkust", issued_at()), &stranger);
    assert!(matches!(seal::verify(&unknown, &w.trust), Err(SealError::UnknownKey)));
}

#[test]
fn the_page_text_extracts_with_the_rare_character_and_the_minguo_date() {
    let (_, file) = sample_zh();
    let tmp = TempDir::new("text");
    std::fs::write(tmp.0.join("cert.pdf"), &file.bytes).unwrap();
    let out = run("pdftotext", &["-layout", "cert.pdf", "-"], &tmp.0);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    for expected in [
        "學生",
        "王𪚥",
        "中華民國九十一年三月十四日生",
        "電子工程系",
        "工學學士",
        "國立高雄科技大學",
        "NKUST-1132-000123",
    ] {
        assert!(text.contains(expected), "{expected:?} is not in the page text:\n{text}");
    }
}
