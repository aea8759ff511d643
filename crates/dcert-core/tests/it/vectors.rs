//! The W3C Data Integrity EdDSA test vectors (vc-di-eddsa, eddsa-jcs-2022).

use dcert_core::di::{self, ProofOptions};
use dcert_core::keys::{CredentialKey, CredentialPublicKey};
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/eddsa-jcs-2022/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn key_pair() -> (CredentialKey, CredentialPublicKey) {
    let pair = fixture("keyPair.json");
    let key = CredentialKey::from_multikey(pair["privateKeyMultibase"].as_str().unwrap()).unwrap();
    let public = CredentialPublicKey::from_multikey(pair["publicKeyMultibase"].as_str().unwrap()).unwrap();
    assert_eq!(key.public(), public);
    (key, public)
}

#[test]
fn every_w3c_eddsa_jcs_2022_vector_verifies() {
    let (_, public) = key_pair();
    for name in ["signedJCS.json", "signedJCS-2024-05-https-vm.json", "signedJCS-2024-08-no-proof-context.json"] {
        let doc = fixture(name);
        di::verify_eddsa(&doc, &public).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn signing_the_w3c_document_reproduces_its_proof_value_byte_for_byte() {
    let (key, _) = key_pair();
    let signed = fixture("signedJCS.json");
    let mut unsecured = signed.as_object().unwrap().clone();
    let proof = unsecured.remove("proof").unwrap();
    let options = ProofOptions {
        created: proof["created"].as_str().unwrap().parse().unwrap(),
        verification_method: proof["verificationMethod"].as_str().unwrap().to_owned(),
        proof_purpose: "assertionMethod",
    };
    let ours = di::sign_eddsa(unsecured, &key, &options).unwrap();
    assert_eq!(ours["proof"]["proofValue"], proof["proofValue"]);
    assert_eq!(ours["proof"], proof, "the whole proof, not only its value");
}

#[test]
fn a_changed_vector_fails_to_verify() {
    let (_, public) = key_pair();
    let mut doc = fixture("signedJCS.json");
    doc["credentialSubject"]["alumniOf"] = "The School of Forgeries".into();
    assert_eq!(di::verify_eddsa(&doc, &public), Err(di::ProofError::BadSignature));

    let mut doc = fixture("signedJCS.json");
    doc["@context"] = serde_json::json!(["https://www.w3.org/ns/credentials/v2"]);
    assert_eq!(di::verify_eddsa(&doc, &public), Err(di::ProofError::ContextMismatch));
}

mod jcs_cross_check {
    use proptest::prelude::*;
    use serde_json::Value;

    fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            (-1e12f64..1e12).prop_map(|f| serde_json::Number::from_f64(f).map(Value::Number).unwrap_or(Value::Null)),
            "\\PC{0,12}".prop_map(Value::String),
            "[\\u{0}-\\u{1f}\"\\\\a-z€𪚥\u{e000}]{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map("[a-zA-Z0-9@€😀\u{e000}]{0,6}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        #[test]
        fn our_jcs_matches_an_independent_implementation(value in json()) {
            let ours = dcert_core::jcs::canonicalize(&value).unwrap();
            let theirs = serde_json_canonicalizer::to_vec(&value).unwrap();
            prop_assert_eq!(String::from_utf8(ours).unwrap(), String::from_utf8(theirs).unwrap());
        }
    }
}
