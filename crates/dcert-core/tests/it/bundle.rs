//! The offline bundle: the registry's state as of a moment, signed by the status signer, gives
//! the registry's outcomes with no network, and is refused when changed, unpinned or stale.

use dcert_core::Language;
use dcert_core::bundle::{self, Bundle, BundleError, BundleStatus};
use dcert_core::status::{MemoryRegistry, StatusSource};
use dcert_core::time::Timestamp;
use dcert_core::verify::{CheckName, CheckResult, Finding, Outcome, Reason, Report};
use dcert_core::{CredentialType, Sha256Digest};

use crate::support::*;
use crate::verify::{check, logged_registry};

const DEGREE: (CredentialType, Option<Sha256Digest>) = (CredentialType::Degree, None);

/// The bundle of `registry` as of now, with the world's trust list and the log's checkpoint.
fn signed(w: &World, registry: &MemoryRegistry, checkpoint: Option<&str>) -> Vec<u8> {
    let list = w.root.sign(&w.trust.content);
    let document = bundle::sign(&registry.snapshot(), &list, checkpoint, now(), REGISTRY, &w.root.status_key).unwrap();
    serde_json::to_vec(&document).unwrap()
}

fn opened(bytes: &[u8], w: &World) -> Result<Bundle, BundleError> {
    Bundle::open(bytes, Some(w.root.cert.fingerprint()))
}

fn at(bundle: &Bundle, now: Timestamp) -> BundleStatus<'_> {
    BundleStatus { bundle, now, max_age_seconds: bundle::DEFAULT_MAX_AGE_SECONDS }
}

/// The registry of the sample file, its log's checkpoint, and the file's report online.
fn registry_and_checkpoint(w: &World, file: &dcert_core::issue::IssuedFile) -> (MemoryRegistry, String) {
    let mut registry = logged_registry(&w.root);
    registry.record("nkust", "NKUST-1132-000123", Language::Zh, 1, DEGREE, file.sha256, issued_at());
    registry.record_credential(file.sha256, file.credential_sha256);
    // Another school's files, so that the lookup searches among many.
    for i in 0..200u32 {
        let sha = Sha256Digest::of(&i.to_be_bytes());
        registry.record("other", &format!("X-{i}"), Language::Zh, 1, DEGREE, sha, issued_at());
    }
    let checkpoint = registry
        .status_with_inclusion(&dcert_core::status::StatusQuery {
            issuer_id: "nkust".into(),
            number: "NKUST-1132-000123".into(),
            language: Language::Zh,
            version: 1,
            file_sha256: Some(file.sha256),
        })
        .1
        .unwrap()
        .checkpoint;
    (registry, checkpoint)
}

fn outcome(report: &Report) -> (Outcome, Option<Reason>) {
    (report.outcome, report.reason)
}

#[test]
fn a_bundle_gives_the_registry_s_outcomes_as_of_its_time_without_the_registry() {
    let (w, file) = sample_zh();
    let (mut registry, checkpoint) = registry_and_checkpoint(w, file);
    let bytes = signed(w, &registry, Some(&checkpoint));
    let bundle = opened(&bytes, w).unwrap();
    assert_eq!(bundle.counts(), (202, 0), "201 files and the sample's credential, none changed");

    // Current: success, the status as of the bundle, the log's checkpoint named but not a proof.
    let report = check(&file.bytes, &bundle.trust, &at(&bundle, now()));
    assert_eq!(outcome(&report), outcome(&check(&file.bytes, &w.trust, &registry)), "{report:#?}");
    assert_eq!(outcome(&report), (Outcome::Success, None));
    assert_eq!(report.status_as_of, Some(now()));
    let log = report.check(CheckName::TransparencyLog).unwrap();
    assert_eq!((log.result, &log.finding), (CheckResult::Unknown, &Finding::LogInBundle { size: 201 }));
    assert!(report.summary.contains("Status as of the Ministry's offline bundle of"), "{}", report.summary);
    // The bare credential of the same file.
    let bare = check(&dcert_core::credential::to_file_bytes(&file.credential), &bundle.trust, &at(&bundle, now()));
    assert_eq!(outcome(&bare), (Outcome::Success, None), "{bare:#?}");

    // Superseded, then revoked: the bundles made after say so, as the registry does.
    registry.record("nkust", "NKUST-1132-000123", Language::Zh, 2, DEGREE, Sha256Digest::of(b"v2"), now());
    let bundle = opened(&signed(w, &registry, Some(&checkpoint)), w).unwrap();
    assert_eq!(bundle.counts().1, 2, "the file and its credential are superseded");
    let report = check(&file.bytes, &bundle.trust, &at(&bundle, now()));
    assert_eq!(outcome(&report), (Outcome::Warning, Some(Reason::Superseded)));
    assert_eq!(outcome(&report), outcome(&check(&file.bytes, &w.trust, &registry)));
    registry.revoke("nkust", "NKUST-1132-000123", Language::Zh, "學位撤銷", now());
    let bundle = opened(&signed(w, &registry, Some(&checkpoint)), w).unwrap();
    let report = check(&file.bytes, &bundle.trust, &at(&bundle, now()));
    assert_eq!(outcome(&report), (Outcome::Failure, Some(Reason::Revoked)));
    assert_eq!(outcome(&report), outcome(&check(&file.bytes, &w.trust, &registry)));
}

#[test]
fn a_file_the_bundle_does_not_know_or_a_bundle_too_old_leaves_the_status_unknown() {
    let (w, file) = sample_zh();
    let (registry, checkpoint) = registry_and_checkpoint(w, file);
    let mut empty = logged_registry(&w.root);
    empty.record("other", "X", Language::Zh, 1, DEGREE, Sha256Digest::of(b"x"), issued_at());
    // Issued after the bundle, perhaps: not "not registered", but unknown, and not a success.
    let bundle = opened(&signed(w, &empty, Some(&checkpoint)), w).unwrap();
    let report = check(&file.bytes, &bundle.trust, &at(&bundle, now()));
    assert_eq!(outcome(&report), (Outcome::Failure, Some(Reason::StatusUnknown)));
    let detail = &report.check(CheckName::RegistryStatus).unwrap().detail;
    assert!(detail.contains("may have been issued since"), "{detail}");

    // The file recorded as another certificate (another number): the bundle answers for a file
    // only as the certificate it states, as the registry does.
    let mut elsewhere = logged_registry(&w.root);
    elsewhere.record("nkust", "NKUST-1132-999999", Language::Zh, 1, DEGREE, file.sha256, issued_at());
    let bundle = opened(&signed(w, &elsewhere, Some(&checkpoint)), w).unwrap();
    let report = check(&file.bytes, &bundle.trust, &at(&bundle, now()));
    assert_eq!(outcome(&report), (Outcome::Failure, Some(Reason::StatusUnknown)));

    // Seven days old is believed; a second more is not.
    let bundle = opened(&signed(w, &registry, Some(&checkpoint)), w).unwrap();
    let week = now().plus_seconds(bundle::DEFAULT_MAX_AGE_SECONDS);
    let limits = dcert_core::pdf::Limits::default();
    let verify_at = |t: Timestamp| dcert_core::verify::verify(&file.bytes, &bundle.trust, &at(&bundle, t), t, &limits);
    assert_eq!(verify_at(week).report_status(), CheckResult::Pass);
    let late = verify_at(week.plus_seconds(1));
    assert_eq!(late.report_status(), CheckResult::Unknown);
    assert_eq!(late.reason, Some(Reason::StatusUnknown));
    assert!(late.check(CheckName::RegistryStatus).unwrap().detail.contains("older than 7 days"));
}

trait StatusResult {
    fn report_status(&self) -> CheckResult;
}

impl StatusResult for Report {
    fn report_status(&self) -> CheckResult {
        self.check(CheckName::RegistryStatus).unwrap().result
    }
}

#[test]
fn a_changed_unpinned_or_foreign_bundle_is_refused() {
    let (w, file) = sample_zh();
    let (registry, checkpoint) = registry_and_checkpoint(w, file);
    let bytes = signed(w, &registry, Some(&checkpoint));
    let mut document: serde_json::Value = serde_json::from_slice(&bytes).unwrap();

    // A current file removed from the snapshot (the first record's first hash character).
    let mut changed = document.clone();
    let current = changed["current"].as_str().unwrap().to_owned();
    changed["current"] = format!("{}{}", if current.starts_with('A') { "B" } else { "A" }, &current[1..]).into();
    let changed = serde_json::to_vec(&changed).unwrap();
    assert!(matches!(opened(&changed, w), Err(BundleError::NotSigned)));
    // Its time moved forward.
    document["asOf"] = now().plus_seconds(86_400).to_string().into();
    assert!(matches!(opened(&serde_json::to_vec(&document).unwrap(), w), Err(BundleError::NotSigned)));
    // Signed by another Ministry's status signer.
    let other = dcert_testkit::pki::Root::new(9);
    let list = w.root.sign(&w.trust.content);
    let forged = bundle::sign(&registry.snapshot(), &list, Some(&checkpoint), now(), REGISTRY, &other.status_key);
    let forged = serde_json::to_vec(&forged.unwrap()).unwrap();
    assert!(matches!(opened(&forged, w), Err(BundleError::NotSigned)));
    // Under another root than the pinned one.
    assert!(matches!(Bundle::open(&bytes, Some(other.cert.fingerprint())), Err(BundleError::TrustList(_))));
    // A list that names a log, and no checkpoint, or another log's.
    assert!(matches!(opened(&signed(w, &registry, None), w), Err(BundleError::Checkpoint(_))));
    let forked = dcert_core::tlog::MemoryLog::new(
        &dcert_core::tlog::origin_for(REGISTRY),
        dcert_core::tlog::LogKey::from_bytes(&[9; 32]),
    );
    let mut forked = MemoryRegistry::new(now()).with_log(forked);
    forked.record("nkust", "NKUST-1132-000123", Language::Zh, 1, DEGREE, file.sha256, issued_at());
    let (_, inclusion) = forked.status_with_inclusion(&dcert_core::status::StatusQuery {
        issuer_id: "nkust".into(),
        number: "NKUST-1132-000123".into(),
        language: Language::Zh,
        version: 1,
        file_sha256: Some(file.sha256),
    });
    let foreign = signed(w, &registry, Some(&inclusion.unwrap().checkpoint));
    assert!(matches!(opened(&foreign, w), Err(BundleError::Checkpoint(_))));
    // A field the format does not have, even one signed with it.
    let mut document: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    document["extra"] = true.into();
    assert!(matches!(opened(&serde_json::to_vec(&document).unwrap(), w), Err(BundleError::Malformed(_))));
    // Not a bundle at all.
    assert!(matches!(opened(b"{}", w), Err(BundleError::Malformed(_))));
    assert!(matches!(opened(&w.root.sign(&w.trust.content), w), Err(BundleError::Malformed(_))));
}

#[test]
fn a_genuinely_signed_bundle_of_the_wrong_shape_is_refused_not_believed() {
    let (w, file) = sample_zh();
    let (registry, checkpoint) = registry_and_checkpoint(w, file);
    let bytes = signed(w, &registry, Some(&checkpoint));
    let original: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    // What a Ministry with a bug (or its key in the wrong hands) could sign: the signature holds,
    // the shape does not.
    let resigned = |change: &dyn Fn(&mut serde_json::Map<String, serde_json::Value>)| {
        let mut document = original.as_object().unwrap().clone();
        document.remove("proof");
        change(&mut document);
        let options = dcert_core::di::ProofOptions {
            created: now(),
            verification_method: format!("{REGISTRY}/trust-list#status"),
            proof_purpose: "assertionMethod",
        };
        let signed = dcert_core::di::sign_ecdsa(document, &w.root.status_key, &options).unwrap();
        opened(&serde_json::to_vec(&signed).unwrap(), w)
    };
    assert!(resigned(&|_| {}).is_ok(), "re-signed unchanged, it opens");
    let current = original["current"].as_str().unwrap().to_owned();
    let records = {
        use base64ct::Encoding;
        base64ct::Base64::decode_vec(&current).unwrap()
    };
    let encode = |bytes: &[u8]| {
        use base64ct::Encoding;
        serde_json::Value::from(base64ct::Base64::encode_string(bytes))
    };
    // Out of order (the last record first), a record cut short, a count that does not match.
    let mut unsorted = records[records.len() - 20..].to_vec();
    unsorted.extend_from_slice(&records[..records.len() - 20]);
    assert!(matches!(
        resigned(&|d| {
            d.insert("current".into(), encode(&unsorted));
        }),
        Err(BundleError::Malformed(_))
    ));
    let cut = &records[..records.len() - 1];
    assert!(matches!(
        resigned(&|d| {
            d.insert("current".into(), encode(cut));
        }),
        Err(BundleError::Malformed(_))
    ));
    assert!(matches!(
        resigned(&|d| {
            d.insert("currentCount".into(), 1.into());
        }),
        Err(BundleError::Malformed(_))
    ));
    assert!(matches!(
        resigned(&|d| {
            d.insert("current".into(), "not base64!".into());
        }),
        Err(BundleError::Malformed(_))
    ));
    // A "changed" entry that says current, or names no key.
    let current_entry = serde_json::json!([{ "key": "00".repeat(16), "status": "current", "registeredAt": now() }]);
    assert!(matches!(
        resigned(&|d| {
            d.insert("changed".into(), current_entry.clone());
        }),
        Err(BundleError::Malformed(_))
    ));
    let keyless = serde_json::json!([{ "status": "revoked", "reason": "x", "revokedAt": now() }]);
    assert!(matches!(
        resigned(&|d| {
            d.insert("changed".into(), keyless.clone());
        }),
        Err(BundleError::Malformed(_))
    ));
    // Another format, another type.
    assert!(matches!(
        resigned(&|d| {
            d.insert("format".into(), 2.into());
        }),
        Err(BundleError::Malformed(_))
    ));
    assert!(matches!(
        resigned(&|d| {
            d.insert("type".into(), "DcertTrustList".into());
        }),
        Err(BundleError::Malformed(_))
    ));
}
