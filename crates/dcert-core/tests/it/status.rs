//! Signed status answers: the registry's answer counts only when the trust list's status signer
//! signed it, about this file, recently.

use dcert_core::Language;
use dcert_core::keys::EcKey;
use dcert_core::status::{self, StatusAnswer, StatusQuery};
use dcert_core::trust::TrustList;

use crate::support::*;

fn query() -> StatusQuery {
    StatusQuery {
        issuer_id: "nkust".into(),
        number: "NKUST-1132-000123".into(),
        language: Language::Zh,
        version: 1,
        file_sha256: Some(dcert_core::Sha256Digest::of(b"the file")),
    }
}

fn revoked() -> StatusAnswer {
    StatusAnswer::Revoked {
        reason: "學籍撤銷".into(),
        revoked_at: ts("2025-09-01T00:00:00Z"),
        as_of: ts("2026-01-15T00:00:00Z"),
    }
}

/// The answer signed by `key` at `at`, as bytes.
fn signed(answer: &StatusAnswer, key: &EcKey, at: &str) -> Vec<u8> {
    serde_json::to_vec(&status::sign_answer(&query(), answer, None, ts(at), REGISTRY, key).unwrap()).unwrap()
}

fn reason(answer: StatusAnswer) -> String {
    match answer {
        StatusAnswer::Unavailable { reason } => reason,
        other => panic!("believed: {other:?}"),
    }
}

#[test]
fn an_answer_signed_by_the_status_signer_is_believed() {
    let w = world();
    let bytes = signed(&revoked(), &w.root.status_key, "2026-01-15T00:00:00Z");
    let answer = status::verify_answer(&bytes, &w.trust, &query(), ts("2026-01-15T00:02:00Z"));
    assert_eq!(answer, revoked());
}

#[test]
fn a_forged_changed_or_misdirected_answer_is_not_believed() {
    let w = world();
    let at = "2026-01-15T00:00:00Z";
    let now = ts("2026-01-15T00:01:00Z");
    // A man in the middle turns "revoked" into "current".
    let mut changed: serde_json::Value = serde_json::from_slice(&signed(&revoked(), &w.root.status_key, at)).unwrap();
    changed["status"] = "current".into();
    changed["registeredAt"] = "2025-07-01T02:00:00Z".into();
    let changed = serde_json::to_vec(&changed).unwrap();
    assert!(reason(status::verify_answer(&changed, &w.trust, &query(), now)).contains("not signed"));
    // Signed by another key, even the trust list's own signer.
    let forged = signed(&StatusAnswer::Current { registered_at: ts(at), as_of: ts(at) }, &w.root.signer_key, at);
    assert!(reason(status::verify_answer(&forged, &w.trust, &query(), now)).contains("not signed"));
    // Unsigned, as the registry answered before.
    let unsigned = serde_json::to_vec(&status::answer_json(&revoked())).unwrap();
    assert!(reason(status::verify_answer(&unsigned, &w.trust, &query(), now)).contains("not a signed status answer"));
    // A genuine answer about another file.
    let other = StatusQuery { version: 2, ..query() };
    let genuine = signed(&revoked(), &w.root.status_key, at);
    assert!(reason(status::verify_answer(&genuine, &w.trust, &other, now)).contains("another file"));
}

#[test]
fn an_old_answer_replayed_is_stale_and_a_list_without_a_status_signer_believes_none() {
    let w = world();
    let genuine = signed(
        &StatusAnswer::Current { registered_at: ts("2025-07-01T00:00:00Z"), as_of: ts("2026-01-01T00:00:00Z") },
        &w.root.status_key,
        "2026-01-01T00:00:00Z",
    );
    // Ten minutes later, past the five minutes of validity and the five of clock skew, it is stale.
    assert!(reason(status::verify_answer(&genuine, &w.trust, &query(), ts("2026-01-01T00:10:01Z"))).contains("stale"));
    assert!(matches!(
        status::verify_answer(&genuine, &w.trust, &query(), ts("2026-01-01T00:09:59Z")),
        StatusAnswer::Current { .. }
    ));
    assert!(reason(status::verify_answer(&genuine, &w.trust, &query(), ts("2025-12-31T23:50:00Z"))).contains("future"));
    let mut content = w.trust.content.clone();
    content.status_signer_certificate = None;
    let without = w.root.pinned(&w.root.sign(&content));
    assert!(
        reason(status::verify_answer(&genuine, &without, &query(), ts("2026-01-01T00:01:00Z")))
            .contains("no status signer")
    );
}

#[test]
fn a_trust_list_refuses_a_status_signer_the_root_did_not_certify_for_status() {
    let w = world();
    for wrong in [w.root.signer_cert.der.clone(), w.nkust.kit.pdf_signer.certificate.clone()] {
        let mut content = w.trust.content.clone();
        content.status_signer_certificate = Some(dcert_core::trust::Der(wrong));
        let err = TrustList::verify(&w.root.sign(&content), None).unwrap_err().to_string();
        assert!(err.contains("status signer"), "{err}");
    }
}

#[test]
fn a_signed_answer_carries_the_log_s_evidence_and_a_changed_one_breaks_the_signature() {
    let w = world();
    let mut log = dcert_core::tlog::MemoryLog::new("registry.test/log", w.root.log_key.clone());
    let sha = dcert_core::Sha256Digest::of(b"the file").to_string();
    let entry = dcert_core::tlog::LogEntry {
        institution: "nkust",
        event: "issued",
        file_sha256: &sha,
        number: "NKUST-1132-000123",
        language: "zh",
        version: 1,
        previous_sha256: None,
        credential_type: "degree",
        at: ts("2025-07-01T02:00:00Z").unix(),
    };
    let index = log.append(&entry);
    let inclusion = log.inclusion(index, entry.at).unwrap();
    let answer = StatusAnswer::Current { registered_at: ts("2025-07-01T02:00:00Z"), as_of: ts("2026-01-15T00:00:00Z") };
    let at = "2026-01-15T00:00:00Z";
    let document =
        status::sign_answer(&query(), &answer, Some(&inclusion), ts(at), REGISTRY, &w.root.status_key).unwrap();
    let bytes = serde_json::to_vec(&document).unwrap();
    let (believed, carried) = status::verify_answer_with_inclusion(&bytes, &w.trust, &query(), ts(at));
    assert_eq!((believed, carried.as_ref()), (answer, Some(&inclusion)));
    carried.unwrap().verify(&entry.leaf_hash(), w.trust.log.as_ref().unwrap()).unwrap();

    let mut changed = document.clone();
    changed["log"]["leafIndex"] = 5.into();
    let bytes = serde_json::to_vec(&changed).unwrap();
    let (believed, _) = status::verify_answer_with_inclusion(&bytes, &w.trust, &query(), ts(at));
    assert!(reason(believed).contains("not signed"), "the evidence is part of the signed answer");
}
