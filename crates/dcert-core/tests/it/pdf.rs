//! The certificate file: rendering, attachment, signature.

use dcert_core::Language;
use dcert_core::pdf::read::{self, Limits};

use crate::support::*;

#[test]
fn an_issued_file_is_a_pdf_a_3_with_the_credential_attached_and_one_signature() {
    let (_, file) = sample_zh();
    let bytes = &file.bytes;
    assert!(bytes.starts_with(b"%PDF-1.7"), "{:?}", &bytes[..8]);
    let text = String::from_utf8_lossy(bytes);
    assert!(text.contains("pdfaid:part"), "PDF/A identification in the XMP metadata");
    assert!(text.contains("/AFRelationship/Data"), "the credential is an associated file");
    let contents = read::read(bytes, &Limits::default()).unwrap();
    assert_eq!(contents.signatures.len(), 1);
    let credential: serde_json::Value = serde_json::from_slice(contents.credential.as_ref().unwrap()).unwrap();
    assert_eq!(credential, file.credential);
    assert_eq!(credential["credentialSubject"]["nameZh"], "王𪚥");
    let [start, a, b, c] = contents.signatures[0].byte_range.unwrap();
    assert_eq!((start, b + c), (0, bytes.len()), "the byte range reaches the end of the file");
    assert_eq!((bytes[a], bytes[b - 1]), (b'<', b'>'));
}

#[test]
fn issuing_is_deterministic_for_the_same_inputs() {
    let w = world();
    let cert = certificate(Language::En);
    let a = issue_with(&w.nkust.kit, &cert, issued_at());
    let b = issue_with(&w.nkust.kit, &cert, issued_at());
    assert_eq!(a.sha256, b.sha256);
}

#[test]
#[ignore = "writes sample files for manual inspection"]
fn write_samples_to_tmp() {
    let (w, file) = sample_zh();
    std::fs::write("/tmp/sample-zh.pdf", &file.bytes).unwrap();
    let en = issue_with(&w.nkust.kit, &certificate(Language::En), issued_at());
    std::fs::write("/tmp/sample-en.pdf", &en.bytes).unwrap();
    std::fs::write("/tmp/root.pem", w.root.cert.to_pem()).unwrap();
}
