//! Signed verification receipts: checked later against the pinned list's status signer, about
//! the file they name, and refused when changed.

use dcert_core::receipt::{self, ReceiptError};
use dcert_core::status::Offline;

use crate::support::*;
use crate::verify::check;

#[test]
fn a_receipt_checks_later_against_the_status_signer_and_names_its_file_and_outcome() {
    let (w, file) = sample_zh();
    let report = check(&file.bytes, &w.trust, &Offline);
    let at = now();
    let signed = receipt::sign(&report, Some("a checkpoint\n"), at, REGISTRY, &w.root.status_key).unwrap();
    let bytes = serde_json::to_vec(&signed).unwrap();
    let read = receipt::verify(&bytes, &w.trust, Some(&file.bytes)).unwrap();
    assert_eq!((read.file_sha256, read.outcome.as_str(), read.verified_at), (file.sha256, "success", at));
    assert_eq!((read.issuer.as_deref(), read.checkpoint.as_deref()), (Some("nkust"), Some("a checkpoint\n")));
    assert!(read.checks.iter().any(|(name, result)| name == "credential_proof" && result == "pass"));
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(!text.contains("王") && !text.contains("C110152"), "no name or student number: {text}");

    // Another file, a changed outcome, another signer, a list without a status signer: refused.
    assert_eq!(receipt::verify(&bytes, &w.trust, Some(b"other")), Err(ReceiptError::OtherFile(file.sha256)));
    let mut changed = signed.clone();
    changed["outcome"] = "failure".into();
    let changed = serde_json::to_vec(&changed).unwrap();
    assert_eq!(receipt::verify(&changed, &w.trust, None), Err(ReceiptError::NotSigned));
    let other = dcert_testkit::pki::Root::new(9);
    let forged = receipt::sign(&report, None, at, REGISTRY, &other.status_key).unwrap();
    let forged = serde_json::to_vec(&forged).unwrap();
    assert_eq!(receipt::verify(&forged, &w.trust, None), Err(ReceiptError::NotSigned));
    let mut content = w.trust.content.clone();
    content.status_signer_certificate = None;
    let unsigned_list = w.root.pinned(&w.root.sign(&content));
    assert_eq!(receipt::verify(&bytes, &unsigned_list, None), Err(ReceiptError::NoSigner));
    assert!(matches!(receipt::verify(b"{}", &w.trust, None), Err(ReceiptError::Malformed(_))));
}

#[test]
fn a_receipt_s_pdf_is_signed_by_the_status_signer_carries_the_json_and_is_refused_when_changed() {
    let (w, file) = sample_zh();
    let report = check(&file.bytes, &w.trust, &Offline);
    let at = now();
    let json = serde_json::to_vec(&receipt::sign(&report, None, at, REGISTRY, &w.root.status_key).unwrap()).unwrap();
    let words = receipt::ReceiptWords {
        title: "驗證收據".into(),
        rows: vec![("驗證結果".into(), "認證成功".into()), ("檔案 SHA-256".into(), file.sha256.to_string())],
        notes: vec!["以 dcert verify-receipt 核對".into()],
    };
    let signer = |key: &dcert_core::keys::EcKey, cert: &dcert_core::x509::ParsedCert| dcert_core::pdf::PdfSigner {
        key: key.clone(),
        certificate: cert.der.clone(),
        name: "Ministry of Education status signer".into(),
    };
    let fonts = dcert_testkit::sample::fonts();
    let status = signer(&w.root.status_key, &w.root.status_cert);
    let pdf = receipt::to_pdf(&json, &words, dcert_core::Language::Zh, fonts, &status, at).unwrap();
    let read = receipt::verify_any(&pdf, &w.trust, Some(&file.bytes)).unwrap();
    assert_eq!((read.file_sha256, read.outcome.as_str()), (file.sha256, "success"));
    assert_eq!(receipt::verify_any(&json, &w.trust, None).unwrap(), read, "the JSON alone says the same");

    // One byte of the page changed, or the page signed by another key: refused.
    let mut changed = pdf.clone();
    let at_byte = changed.len() / 3;
    changed[at_byte] ^= 0x20;
    assert_eq!(receipt::verify_any(&changed, &w.trust, None), Err(ReceiptError::NotSigned));
    let other = dcert_testkit::pki::Root::new(9);
    let forged = receipt::to_pdf(
        &json,
        &words,
        dcert_core::Language::Zh,
        fonts,
        &signer(&other.status_key, &other.status_cert),
        at,
    );
    assert_eq!(receipt::verify_any(&forged.unwrap(), &w.trust, None), Err(ReceiptError::NotSigned));
    // Another file's receipt inside a genuine page is still about that other file.
    assert_eq!(receipt::verify_any(&pdf, &w.trust, Some(b"other")), Err(ReceiptError::OtherFile(file.sha256)));
}
