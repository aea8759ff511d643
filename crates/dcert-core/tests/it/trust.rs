//! The trust list: its signature, its signer, its root, and its consistency.

use dcert_core::trust::{Der, TrustList, TrustListContent, TrustListError};
use dcert_core::x509::{self, CertRole, TRUST_LIST_SIGNER_CN};

use crate::support::*;

fn content(root: &Root, issuers: Vec<dcert_core::trust::IssuerEntry>, signer: Vec<u8>) -> TrustListContent {
    TrustListContent {
        kind: "DcertTrustList".into(),
        format: 1,
        registry: REGISTRY.into(),
        sequence: 7,
        issued: ts("2025-06-01T00:00:00Z"),
        next_update: None,
        root_certificate: Der(root.cert.der.clone()),
        signer_certificate: Der(signer),
        status_signer_certificate: None,
        log: None,
        issuers,
        proof: None,
    }
}

#[test]
fn an_institution_certificate_named_like_the_signer_cannot_sign_a_trust_list() {
    let root = Root::new(1);
    let evil = institution(&root, "evil", 40);
    let key = evil.kit.pdf_signer.key.clone();
    // The root certifies an institution that calls itself what the signer is called.
    let cert = x509::issue(
        &profile(
            TRUST_LIST_SIGNER_CN,
            TRUST_LIST_SIGNER_CN,
            CertRole::DocumentSigner,
            "2024-06-01T00:00:00Z",
            "2029-06-01T00:00:00Z",
        ),
        &key.public(),
        Some(&root.cert.cert),
        &root.key,
    )
    .unwrap();
    let rogue = institution(&Root::new(77), "nkust", 50).entry;
    let json = TrustList::sign(&content(&root, vec![rogue], cert), &key).unwrap();
    let result = TrustList::verify(&serde_json::to_vec(&json).unwrap(), Some(root.cert.fingerprint()));
    assert!(matches!(result, Err(TrustListError::Certificate { ref what, .. }) if what == "signer"), "{result:?}");
}

#[test]
fn a_changed_trust_list_or_another_root_is_refused() {
    let w = world();
    let bytes = w.root.sign(&w.trust.content);
    w.root.pinned(&bytes);

    let mut changed: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    changed["issuers"][0]["nameEn"] = "Forged University".into();
    let result = TrustList::verify(&serde_json::to_vec(&changed).unwrap(), None);
    assert!(matches!(result, Err(TrustListError::Proof(_))), "{result:?}");

    let other = Root::new(2);
    let result = TrustList::verify(&bytes, Some(other.cert.fingerprint()));
    assert!(matches!(result, Err(TrustListError::WrongRoot { .. })), "{result:?}");
}

#[test]
fn a_key_listed_under_two_institutions_is_refused() {
    let w = world();
    let mut twin = institution(&w.root, "twin", 60).entry;
    twin.credential_keys = w.nkust.entry.credential_keys.clone();
    let signed = w.root.sign(&content(&w.root, vec![w.nkust.entry.clone(), twin], w.root.signer_cert.der.clone()));
    let result = TrustList::verify(&signed, None);
    assert!(matches!(result, Err(TrustListError::Issuer { ref id, .. }) if id == "twin"), "{result:?}");
}

#[test]
fn a_trust_list_names_its_log_by_origin_and_key_and_a_mismatched_one_is_refused() {
    let w = world();
    let log = w.trust.log.as_ref().expect("the test Ministry's lists name its log");
    assert_eq!(log.name, "registry.test/log");
    assert_eq!(log.key, w.root.log_key.verifying_key());

    let mut content = w.trust.content.clone();
    let descriptor = content.log.clone().unwrap();
    content.log = Some(dcert_core::trust::LogDescriptor { origin: "another.test/log".into(), ..descriptor.clone() });
    let result = TrustList::verify(&w.root.sign(&content), None);
    assert!(matches!(result, Err(TrustListError::Shape(_))), "{result:?}");
    content.log =
        Some(dcert_core::trust::LogDescriptor { verifier_key: "registry.test/log+00+AA".into(), ..descriptor });
    let result = TrustList::verify(&w.root.sign(&content), None);
    assert!(matches!(result, Err(TrustListError::Shape(_))), "{result:?}");
}
