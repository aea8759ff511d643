//! Changed files: any changed byte, a re-save, an appended incremental update.

use std::process::Command;

use dcert_core::Language;
use dcert_core::pdf::Limits;
use dcert_core::status::Offline;
use dcert_core::verify::{self, CheckName, Outcome, Reason};
use lopdf::{Document, Object};
use proptest::prelude::*;

use crate::support::*;
use crate::verify::check;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn verify_fails_when_any_one_byte_of_the_file_changes(position in 0.0f64..1.0, delta in 1u8..=255) {
        let (w, file) = sample_zh();
        let mut bytes = file.bytes.clone();
        let at = ((bytes.len() as f64) * position) as usize;
        bytes[at] = bytes[at].wrapping_add(delta);
        let report = verify::verify(&bytes, &w.trust, &Offline, now(), &Limits::default());
        prop_assert_eq!(report.outcome, Outcome::Failure, "byte {} changed by {}: {:?}", at, delta, report.reason);
    }
}

/// The offset just after the first occurrence of `needle`.
fn find(haystack: &[u8], needle: &[u8]) -> usize {
    haystack.windows(needle.len()).position(|w| w == needle).unwrap() + needle.len()
}

#[test]
fn verify_fails_when_a_byte_changes_in_each_part_of_the_file() {
    // Deterministic coverage of the parts a random sample might miss: header, signature value,
    // its zero padding, the byte range numbers and the last byte.
    let (w, file) = sample_zh();
    let bytes = &file.bytes;
    let contents = find(bytes, b"/Contents <");
    let byte_range = find(bytes, b"/ByteRange [");
    let padding = contents + 2 * 1900;
    for at in [0, 5, 9, byte_range + 3, contents, contents + 1, contents + 200, padding, bytes.len() - 1] {
        for replacement in [b'0', b'1', b'f', b'F', b' '] {
            if bytes[at] == replacement {
                continue;
            }
            let mut changed = bytes.clone();
            changed[at] = replacement;
            let report = check(&changed, &w.trust, &Offline);
            assert_eq!(report.outcome, Outcome::Failure, "byte {at} set to {:?}", replacement as char);
        }
    }
}

#[test]
fn uppercase_hex_in_the_signature_is_a_change_too() {
    let (w, file) = sample_zh();
    let start = find(&file.bytes, b"/Contents <");
    let at = start + file.bytes[start..].iter().position(|c| (b'a'..=b'f').contains(c)).unwrap();
    let mut changed = file.bytes.clone();
    changed[at] = changed[at].to_ascii_uppercase();
    assert_eq!(check(&changed, &w.trust, &Offline).reason, Some(Reason::Modified));
}

fn qpdf(args: &[&str], input: &[u8]) -> Vec<u8> {
    let dir = std::env::temp_dir().join(format!(
        "dcert-qpdf-{}-{}",
        std::process::id(),
        args.join("_").replace(['-', '='], "")
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let (inp, out) = (dir.join("in.pdf"), dir.join("out.pdf"));
    std::fs::write(&inp, input).unwrap();
    let status = Command::new("qpdf")
        .args(args)
        .arg(&inp)
        .arg(&out)
        .status()
        .expect("qpdf is needed for this test (Debian package qpdf; scripts/test installs it)");
    assert!(status.success() || status.code() == Some(3), "qpdf failed: {status}");
    let bytes = std::fs::read(&out).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    bytes
}

#[test]
fn a_resaved_file_fails_as_modified_and_says_the_embedded_data_is_still_authentic() {
    let (w, file) = sample_zh();
    for args in [&[][..], &["--object-streams=generate"], &["--linearize"]] {
        let resaved = qpdf(args, &file.bytes);
        assert_ne!(resaved, file.bytes);
        let report = check(&resaved, &w.trust, &Offline);
        assert_eq!((report.outcome, report.reason), (Outcome::Failure, Some(Reason::Modified)), "qpdf {args:?}");
        assert_eq!(report.embedded_credential_authentic, Some(true));
        assert!(report.summary.contains("still authentic"), "{}", report.summary);
        assert!(report.summary.contains("original"), "{}", report.summary);
        assert_eq!(report.credential.unwrap().degree.unwrap().name_zh, "王𪚥");
    }
}

/// Appends an incremental update that replaces the embedded credential with a forged one.
fn append_forged_credential(original: &[u8]) -> Vec<u8> {
    let doc = Document::load_mem(original).unwrap();
    let (stream_id, stream) = doc
        .objects
        .iter()
        .find_map(|(id, o)| match o {
            Object::Stream(s) if s.dict.get(b"Type").ok() == Some(&Object::Name(b"EmbeddedFile".to_vec())) => {
                Some((*id, s))
            }
            _ => None,
        })
        .unwrap();
    let mut credential: serde_json::Value = serde_json::from_slice(&stream.decompressed_content().unwrap()).unwrap();
    credential["credentialSubject"]["degreeZh"] = "工學博士".into();
    let forged = serde_json::to_vec(&credential).unwrap();
    let mut out = original.to_vec();
    let offset = out.len();
    out.extend_from_slice(
        format!(
            "{} 0 obj\n<< /Type /EmbeddedFile /Subtype /application#2Fjson /Length {} >>\nstream\n",
            stream_id.0,
            forged.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(&forged);
    out.extend_from_slice(b"\nendstream\nendobj\n");
    let xref = out.len();
    let size = doc.trailer.get(b"Size").unwrap().as_i64().unwrap();
    let root = doc.trailer.get(b"Root").unwrap().as_reference().unwrap();
    out.extend_from_slice(
        format!(
            "xref\n{} 1\n{:010} 00000 n \ntrailer\n<< /Size {size} /Root {} 0 R /Prev {} >>\nstartxref\n{xref}\n%%EOF\n",
            stream_id.0, offset, root.0, doc.xref_start
        )
        .as_bytes(),
    );
    out
}

#[test]
fn an_incremental_update_appended_after_signing_fails_as_modified() {
    let (w, file) = sample_zh();
    let forged = append_forged_credential(&file.bytes);
    // The forgery is what a PDF reader would now show.
    let reread = Document::load_mem(&forged).unwrap();
    assert!(
        reread
            .objects
            .values()
            .any(|o| matches!(o, Object::Stream(s) if String::from_utf8_lossy(&s.content).contains("工學博士")))
    );
    let report = check(&forged, &w.trust, &Offline);
    assert_eq!((report.outcome, report.reason), (Outcome::Failure, Some(Reason::Modified)), "{report:#?}");
    assert!(report.check(CheckName::DocumentSignature).unwrap().detail.contains("appended"));
    assert_eq!(report.embedded_credential_authentic, Some(false), "the forged credential is not authentic");
    assert!(report.credential.is_none());
}

#[test]
fn a_file_printed_to_pdf_without_its_attachment_is_not_a_certificate() {
    let (w, file) = sample_zh();
    // Printing keeps the page and drops the attachment and the signature.
    let mut doc = Document::load_mem(&file.bytes).unwrap();
    doc.catalog_mut().unwrap().remove(b"Names");
    doc.catalog_mut().unwrap().remove(b"AcroForm");
    let mut printed = Vec::new();
    doc.save_to(&mut printed).unwrap();
    let report = check(&printed, &w.trust, &Offline);
    assert_eq!((report.outcome, report.reason), (Outcome::Failure, Some(Reason::NotACertificate)));
    assert!(report.checks[0].detail.contains("original file"), "{}", report.checks[0].detail);
}

#[test]
fn a_file_with_its_signature_removed_fails_as_modified() {
    let (w, file) = sample_zh();
    let mut doc = Document::load_mem(&file.bytes).unwrap();
    doc.catalog_mut().unwrap().remove(b"AcroForm");
    let mut stripped = Vec::new();
    doc.save_to(&mut stripped).unwrap();
    let report = check(&stripped, &w.trust, &Offline);
    assert_eq!((report.outcome, report.reason), (Outcome::Failure, Some(Reason::Modified)));
    assert_eq!(report.embedded_credential_authentic, Some(true));
    let _ = Language::Zh;
}

#[test]
fn every_bit_of_the_cms_signature_is_signed_or_checked_exactly() {
    use dcert_core::Sha256Digest;
    use dcert_core::pdf::cms::{self, CmsCheck};

    let (_, file) = sample_zh();
    let bytes = &file.bytes;
    let start = find(bytes, b"/Contents <");
    let end = start + bytes[start..].iter().position(|&c| c == b'>').unwrap();
    let hex = std::str::from_utf8(&bytes[start..end]).unwrap();
    let der = dcert_core::digest::unhex(hex).unwrap();
    let digest = Sha256Digest::of_parts(&[&bytes[..start - 1], &bytes[end + 1..]]);
    let (w, _) = sample_zh();
    let known = |d: &[u8]| w.trust.issuer_by_certificate(d).map(|(_, c)| &c.cert);
    assert!(matches!(cms::check(&der, &digest, known), CmsCheck::Valid { .. }));
    let used = der.len() - der.iter().rev().take_while(|&&b| b == 0).count();
    // Every bit of the signature, and of the first bytes of its zero padding, is flipped.
    for at in 0..used + 8 {
        for bit in 0..8 {
            let flip = 1u8 << bit;
            let mut changed = der.clone();
            changed[at] ^= flip;
            let result = cms::check(&changed, &digest, known);
            assert!(
                !matches!(result, CmsCheck::Valid { .. }),
                "byte {at} of {used} xor {flip:#x} went unnoticed: {:02x?}",
                &der[..40]
            );
        }
    }
}
