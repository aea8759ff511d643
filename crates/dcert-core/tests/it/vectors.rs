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
    use serde_json::{Number, Value};

    /// Finite doubles from the whole range. Most random bit patterns are written in exponent
    /// form (their magnitude is above 1e21 or below 1e-6); decimals are drawn near those two
    /// switches too, and the signed zeros, subnormals and extremes are drawn by name.
    fn number() -> impl Strategy<Value = f64> {
        prop_oneof![
            any::<u64>().prop_map(f64::from_bits).prop_filter("JSON has no NaN or infinity", |f| f.is_finite()),
            prop::sample::select(vec![
                0.0,
                -0.0,
                1e21,
                -1e21,
                1e-6,
                1e-7,
                9.999999999999997e-7,
                999999999999999900000.0,
                f64::MAX,
                f64::MIN,
                f64::MIN_POSITIVE,
                -f64::MIN_POSITIVE,
                f64::from_bits(1),
                f64::from_bits(0x8000_0000_0000_0001),
                f64::EPSILON,
                9007199254740992.0,
                9007199254740994.0,
                // 1424953923781206.25 and 586352301143033.25: halfway between two shortest forms,
                // of which the even one is written.
                f64::from_bits(0x4314_3ff3_c1cb_0959),
                f64::from_bits(0x4300_aa46_44fb_9fca),
            ]),
            // Up to 17 significant digits times a power of ten around the switches: 1.5e-7,
            // 123e19, 0.000001234 and their neighbours.
            (1u64..100_000_000_000_000_000, -45i32..=30, any::<bool>()).prop_map(|(digits, exponent, negative)| {
                let f: f64 = format!("{digits}e{exponent}").parse().unwrap();
                if negative { -f } else { f }
            }),
            // Anywhere in the exponent range, subnormals included.
            (1u32..10_000, -327i32..=304, any::<bool>()).prop_map(|(digits, exponent, negative)| {
                let f: f64 = format!("{digits}e{exponent}").parse().unwrap();
                if negative { -f } else { f }
            }),
            -1e12f64..1e12,
        ]
    }

    fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            number().prop_map(|f| Value::Number(Number::from_f64(f).expect("a finite number"))),
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

    /// ECMAScript's Number::toString (ECMA-262, 6.1.6.1.20) for a finite double, built on the
    /// standard library's formatting rather than on the Ryū port both canonicalisers share.
    fn ecmascript(f: f64) -> String {
        if f == 0.0 {
            // Both zeros are written "0".
            return "0".into();
        }
        let sign = if f < 0.0 { "-" } else { "" };
        // The fewest digits that read back as `f`, as `d.ddde-7`. Of two such strings equally
        // close to `f`, the standard library writes the larger and ECMAScript the even one
        // (1424953923781206.25 is 1424953923781206.2): rounding `f` exactly to that many digits,
        // half to even, gives ECMAScript's choice whenever it reads back as `f`.
        let shortest = format!("{:e}", f.abs());
        let precision = shortest.split_once('e').unwrap().0.len().saturating_sub(2);
        let nearest = format!("{:.precision$e}", f.abs());
        let digits = if nearest.parse::<f64>() == Ok(f.abs()) { nearest } else { shortest };
        let (mantissa, exponent) = digits.split_once('e').unwrap();
        let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
        // The value is 0.digits × 10^n, with k digits.
        let k = digits.len() as i32;
        let n = exponent.parse::<i32>().unwrap() + 1;
        let body = if k <= n && n <= 21 {
            format!("{digits}{}", "0".repeat((n - k) as usize))
        } else if 0 < n && n <= 21 {
            format!("{}.{}", &digits[..n as usize], &digits[n as usize..])
        } else if -6 < n && n <= 0 {
            format!("0.{}{digits}", "0".repeat((-n) as usize))
        } else {
            let point = if k == 1 { String::new() } else { format!(".{}", &digits[1..]) };
            let exponent_sign = if n > 0 { '+' } else { '-' };
            format!("{}{point}e{exponent_sign}{}", &digits[..1], (n - 1).abs())
        };
        format!("{sign}{body}")
    }

    fn canonical_number(f: f64) -> String {
        String::from_utf8(dcert_core::jcs::canonicalize(&Value::Number(Number::from_f64(f).unwrap())).unwrap()).unwrap()
    }

    #[test]
    fn numbers_are_written_as_the_rfc_8785_appendix_writes_them() {
        // RFC 8785, Appendix B: IEEE 754 bit patterns and their canonical text.
        let table: &[(u64, &str)] = &[
            (0x0000000000000000, "0"),
            (0x8000000000000000, "0"),
            (0x0000000000000001, "5e-324"),
            (0x8000000000000001, "-5e-324"),
            (0x7fefffffffffffff, "1.7976931348623157e+308"),
            (0xffefffffffffffff, "-1.7976931348623157e+308"),
            (0x4340000000000000, "9007199254740992"),
            (0xc340000000000000, "-9007199254740992"),
            (0x4430000000000000, "295147905179352830000"),
            (0x44b52d02c7e14af5, "9.999999999999997e+22"),
            (0x44b52d02c7e14af6, "1e+23"),
            (0x44b52d02c7e14af7, "1.0000000000000001e+23"),
            (0x444b1ae4d6e2ef4e, "999999999999999700000"),
            (0x444b1ae4d6e2ef4f, "999999999999999900000"),
            (0x444b1ae4d6e2ef50, "1e+21"),
            (0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"),
            (0x3eb0c6f7a0b5ed8d, "0.000001"),
            (0x41b3de4355555553, "333333333.3333332"),
            (0x41b3de4355555554, "333333333.33333325"),
            (0x41b3de4355555555, "333333333.3333333"),
            (0x41b3de4355555556, "333333333.3333334"),
            (0x41b3de4355555557, "333333333.33333343"),
            (0xbecbf647612f3696, "-0.0000033333333333333333"),
            (0x43143ff3c1cb0959, "1424953923781206.2"),
        ];
        for &(bits, expected) in table {
            let f = f64::from_bits(bits);
            assert_eq!(canonical_number(f), expected, "{bits:016x}");
            assert_eq!(ecmascript(f), expected, "the test's own ECMAScript form of {bits:016x}");
        }
    }

    #[test]
    fn numbers_read_from_json_text_are_written_in_their_canonical_form() {
        // A credential's numbers come from parsed text: the negative zero, an exponent with no
        // fraction and a capital E all read as doubles and are written in ECMAScript's form.
        let json: Value = serde_json::from_str("[1e308, -0, -0.0, 0e5, 1E-7, 1.5e-7, 1e21, 1e20, 123e-9]").unwrap();
        assert_eq!(
            String::from_utf8(dcert_core::jcs::canonicalize(&json).unwrap()).unwrap(),
            "[1e+308,0,0,0,1e-7,1.5e-7,1e+21,100000000000000000000,1.23e-7]"
        );
    }

    #[test]
    fn the_core_reads_json_numbers_correctly_rounded_outside_tests_too() {
        // A test build has serde_json's float_roundtrip through the independent canonicaliser;
        // without it in the core's own dependencies, a release build reads about a third of
        // 17-digit numbers one unit in the last place off (50530070273504292e-10 as
        // 5053007.0273504285), and their canonical form is not any other reader's.
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = std::process::Command::new(cargo)
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
            .args(["tree", "--offline", "-p", "dcert-core", "-e", "normal", "--prefix", "none", "--format", "{p} {f}"])
            .output()
            .expect("cargo runs");
        assert!(out.status.success(), "cargo tree failed: {}", String::from_utf8_lossy(&out.stderr));
        let tree = String::from_utf8(out.stdout).unwrap();
        let serde_json = tree.lines().find(|l| l.starts_with("serde_json ")).expect("the core depends on serde_json");
        assert!(serde_json.contains("float_roundtrip"), "{serde_json}");
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

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5000))]

        #[test]
        fn every_number_is_written_as_ecmascript_writes_it(f in number()) {
            prop_assert_eq!(canonical_number(f), ecmascript(f), "{:e} ({:016x})", f, f.to_bits());
        }
    }
}
