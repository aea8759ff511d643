//! The verification engine: outcomes, reasons and checks.

use dcert_core::Language;
use dcert_core::credential;
use dcert_core::issue::IssuedFile;
use dcert_core::pdf::Limits;
use dcert_core::status::{MemoryRegistry, Offline, StatusAnswer, StatusQuery, StatusSource};
use dcert_core::tlog::{Inclusion, MemoryLog};
use dcert_core::trust::TrustList;
use dcert_core::verify::{self, CheckName, CheckResult, Outcome, Reason, Report};
use dcert_core::{CredentialType, Sha256Digest};
use dcert_core::{DegreeLevel, Subject};

use crate::support::*;

pub fn check(bytes: &[u8], trust: &TrustList, status: &dyn StatusSource) -> Report {
    verify::verify(bytes, trust, status, now(), &Limits::default())
}

/// The registry of `root`'s Ministry, keeping its log, with nothing recorded.
pub fn logged_registry(root: &dcert_testkit::pki::Root) -> MemoryRegistry {
    let log = MemoryLog::new(&dcert_core::tlog::origin_for(REGISTRY), root.log_key.clone());
    MemoryRegistry::new(now()).with_log(log)
}

/// A first-version degree certificate in `registry`.
const DEGREE: (CredentialType, Option<Sha256Digest>) = (CredentialType::Degree, None);

fn registry_with(w: &World, file: &IssuedFile) -> MemoryRegistry {
    let mut registry = logged_registry(&w.root);
    registry.record("nkust", "NKUST-1132-000123", Language::Zh, 1, DEGREE, file.sha256, issued_at());
    registry
}

fn result(report: &Report, name: CheckName) -> CheckResult {
    report.check(name).unwrap_or_else(|| panic!("no {name:?} check in {report:#?}")).result
}

#[test]
fn an_issued_file_verifies_offline_with_the_status_unknown() {
    let (w, file) = sample_zh();
    let report = check(&file.bytes, &w.trust, &Offline);
    assert_eq!(report.outcome, Outcome::Success, "{report:#?}");
    assert_eq!(report.reason, None);
    // Every check passes but the registry's and its log's, which offline are unknown.
    let offline = [CheckName::RegistryStatus, CheckName::TransparencyLog];
    for name in CheckName::ALL.into_iter().filter(|n| !offline.contains(n)) {
        assert_eq!(result(&report, name), CheckResult::Pass, "{name:?}");
    }
    for name in offline {
        assert_eq!(result(&report, name), CheckResult::Unknown, "{name:?}");
    }
    assert!(report.summary.contains("not consulted"), "{}", report.summary);
    let issuer = report.issuer.as_ref().unwrap();
    assert_eq!(
        issuer.name_en, "National Kaohsiung University of Science and Technology",
        "the name comes from the trust list"
    );
    let data = report.credential.as_ref().unwrap();
    assert_eq!(data.degree.as_ref().unwrap().name_zh, "王𪚥");
    assert_eq!(report.file_sha256, Some(file.sha256));
}

#[test]
fn a_registered_current_file_succeeds_with_the_status_checked() {
    let (w, file) = sample_zh();
    let report = check(&file.bytes, &w.trust, &registry_with(w, file));
    assert_eq!(report.outcome, Outcome::Success);
    assert_eq!(result(&report, CheckName::RegistryStatus), CheckResult::Pass);
    assert_eq!(report.status_as_of, Some(now()));
}

#[test]
fn a_superseded_version_gives_a_warning_naming_the_newer_version() {
    let (w, file) = sample_zh();
    let mut registry = registry_with(w, file);
    registry.record(
        "nkust",
        "NKUST-1132-000123",
        Language::Zh,
        2,
        (CredentialType::Degree, Some(file.sha256)),
        dcert_core::Sha256Digest::of(b"v2"),
        ts("2025-09-01T00:00:00Z"),
    );
    let report = check(&file.bytes, &w.trust, &registry);
    assert_eq!((report.outcome, report.reason), (Outcome::Warning, Some(Reason::Superseded)));
    let newer = report.newer_version.unwrap();
    assert_eq!((newer.version, newer.issued_at), (2, ts("2025-09-01T00:00:00Z")));
    assert!(report.credential.is_some(), "a superseded certificate is still authentic data");
}

#[test]
fn a_revoked_certificate_fails_as_revoked() {
    let (w, file) = sample_zh();
    let mut registry = registry_with(w, file);
    registry.revoke("nkust", "NKUST-1132-000123", Language::Zh, "degree rescinded", ts("2025-10-01T00:00:00Z"));
    let report = check(&file.bytes, &w.trust, &registry);
    assert_eq!((report.outcome, report.reason), (Outcome::Failure, Some(Reason::Revoked)));
    assert!(report.check(CheckName::RegistryStatus).unwrap().detail.contains("degree rescinded"));
}

#[test]
fn a_file_the_registry_does_not_know_fails_as_not_registered() {
    let (w, file) = sample_zh();
    let report = check(&file.bytes, &w.trust, &MemoryRegistry::new(now()));
    assert_eq!((report.outcome, report.reason), (Outcome::Failure, Some(Reason::NotRegistered)));
}

#[test]
fn an_issuer_missing_from_the_trust_list_is_unknown() {
    let (w, file) = sample_zh();
    let other = institution(&w.root, "other-school", 40);
    let trust = trust_list(&w.root, vec![other.entry]);
    let report = check(&file.bytes, &trust, &Offline);
    assert_eq!((report.outcome, report.reason), (Outcome::Failure, Some(Reason::UnknownIssuer)));
    assert_eq!(result(&report, CheckName::Issuer), CheckResult::Fail);
    assert!(report.issuer.is_none());
}

#[test]
fn a_key_outside_its_validity_window_is_not_valid_at_signing_time() {
    let w = world();
    let mut entry = w.nkust.entry.clone();
    entry.credential_keys[0].valid_from = ts("2020-01-01T00:00:00Z");
    entry.credential_keys[0].valid_until = ts("2024-12-31T00:00:00Z");
    let trust = trust_list(&w.root, vec![entry]);
    let file = issue_with(&w.nkust.kit, &certificate(Language::En), issued_at());
    let report = check(&file.bytes, &trust, &Offline);
    assert_eq!((report.outcome, report.reason), (Outcome::Failure, Some(Reason::KeyNotValid)));
    assert!(report.check(CheckName::KeyValidity).unwrap().detail.contains("not valid after"));
}

#[test]
fn a_key_rotated_out_later_keeps_old_certificates_valid() {
    let w = world();
    let mut entry = w.nkust.entry.clone();
    entry.credential_keys[0].valid_until = ts("2025-12-31T00:00:00Z");
    let trust = trust_list(&w.root, vec![entry]);
    let file = issue_with(&w.nkust.kit, &certificate(Language::En), issued_at());
    let report = check(&file.bytes, &trust, &Offline);
    assert_eq!(report.outcome, Outcome::Success, "{report:#?}");
}

#[test]
fn a_key_revoked_before_signing_fails_and_one_revoked_after_does_not() {
    let w = world();
    let file = issue_with(&w.nkust.kit, &certificate(Language::En), issued_at());
    let with_revocation = |from: &str| {
        let mut entry = w.nkust.entry.clone();
        entry.credential_keys[0].revoked_from = Some(ts(from));
        entry.credential_keys[0].revocation_reason = Some("key compromise".into());
        trust_list(&w.root, vec![entry])
    };
    let report = check(&file.bytes, &with_revocation("2025-03-01T00:00:00Z"), &Offline);
    assert_eq!((report.outcome, report.reason), (Outcome::Failure, Some(Reason::KeyRevoked)));
    assert!(report.check(CheckName::KeyValidity).unwrap().detail.contains("key compromise"));
    let report = check(&file.bytes, &with_revocation("2025-08-01T00:00:00Z"), &Offline);
    assert_eq!(report.outcome, Outcome::Success);
}

#[test]
fn a_backdated_file_is_caught_by_the_registry_time_after_key_revocation() {
    let w = world();
    let mut entry = w.nkust.entry.clone();
    entry.credential_keys[0].revoked_from = Some(ts("2025-08-01T00:00:00Z"));
    let trust = trust_list(&w.root, vec![entry]);
    // A thief with the key signs with an old date, and gets the file registered after the revocation.
    let file = issue_with(&w.nkust.kit, &certificate(Language::Zh), issued_at());
    let mut registry = logged_registry(&w.root);
    registry.record("nkust", "NKUST-1132-000123", Language::Zh, 1, DEGREE, file.sha256, ts("2025-09-01T00:00:00Z"));
    let report = check(&file.bytes, &trust, &registry);
    assert_eq!(report.reason, Some(Reason::KeyRevoked));
}

#[test]
fn a_file_signed_under_another_root_fails_as_untrusted_root() {
    let w = world();
    let impostor_root = Root::new(66);
    let impostor = institution(&impostor_root, "nkust", 67);
    let file = issue_with(&impostor.kit, &certificate(Language::Zh), issued_at());
    let report = check(&file.bytes, &w.trust, &Offline);
    assert_eq!((report.outcome, report.reason), (Outcome::Failure, Some(Reason::UntrustedRoot)), "{report:#?}");
    assert_eq!(result(&report, CheckName::SigningCertificate), CheckResult::Fail);
    assert_eq!(result(&report, CheckName::CredentialProof), CheckResult::Fail);
    assert!(report.credential.is_none(), "no data is shown from a forged credential");
    assert!(report.issuer.is_none(), "no registered name is shown for a forged credential");
}

#[test]
fn an_issuer_not_accredited_for_the_degree_level_fails() {
    let w = world();
    let mut cert = certificate(Language::En);
    if let Subject::Degree(d) = &mut cert.subject {
        d.degree_level = DegreeLevel::Doctor;
    }
    let file = issue_with(&w.nkust.kit, &cert, issued_at());
    let report = check(&file.bytes, &w.trust, &Offline);
    assert_eq!((report.outcome, report.reason), (Outcome::Failure, Some(Reason::NotAccredited)));
}

#[test]
fn a_university_cannot_issue_a_teacher_certificate_but_the_ministry_can() {
    let w = world();
    let file = issue_with(&w.nkust.kit, &teacher(Language::Zh), issued_at());
    assert_eq!(check(&file.bytes, &w.trust, &Offline).reason, Some(Reason::NotAccredited));

    let mut moe = institution(&w.root, "moe", 50);
    moe.entry.accreditation.credential_types = vec![dcert_core::CredentialType::Teacher];
    moe.entry.accreditation.degree_levels = vec![];
    let trust = trust_list(&w.root, vec![w.nkust.entry.clone(), moe.entry.clone()]);
    for language in [Language::Zh, Language::En] {
        let file = issue_with(&moe.kit, &teacher(language), issued_at());
        let report = check(&file.bytes, &trust, &Offline);
        assert_eq!(report.outcome, Outcome::Success, "{report:#?}");
        assert_eq!(report.credential.unwrap().teacher.unwrap().name_zh, "林堃");
    }
}

#[test]
fn a_pdf_signed_by_one_school_carrying_another_schools_credential_fails() {
    let w = world();
    let other = institution(&w.root, "other-school", 40);
    let trust = trust_list(&w.root, vec![w.nkust.entry.clone(), other.entry.clone()]);
    let mut kit = other.kit.clone();
    kit.credential_key = w.nkust.kit.credential_key.clone();
    kit.issuer = w.nkust.kit.issuer.clone();
    let file = issue_with(&kit, &certificate(Language::Zh), issued_at());
    let report = check(&file.bytes, &trust, &Offline);
    assert_eq!(report.reason, Some(Reason::SignatureInvalid));
    assert_eq!(result(&report, CheckName::IssuerBinding), CheckResult::Fail);
}

#[test]
fn a_bare_credential_json_verifies_and_a_changed_one_does_not() {
    let (w, file) = sample_zh();
    let json = credential::to_file_bytes(&file.credential);
    let report = check(&json, &w.trust, &Offline);
    assert_eq!(report.outcome, Outcome::Success, "{report:#?}");
    assert!(report.check(CheckName::DocumentSignature).is_none());

    let mut changed = file.credential.clone();
    changed["credentialSubject"]["nameZh"] = "王小明".into();
    let report = check(&credential::to_file_bytes(&changed), &w.trust, &Offline);
    assert_eq!((report.outcome, report.reason), (Outcome::Failure, Some(Reason::SignatureInvalid)));
}

#[test]
fn the_json_report_has_the_documented_fields() {
    let (w, file) = sample_zh();
    let json = serde_json::to_value(check(&file.bytes, &w.trust, &Offline)).unwrap();
    assert_eq!(json["outcome"], "success");
    assert_eq!(json["reason"], serde_json::Value::Null);
    assert_eq!(json["checks"][0]["name"], "file_format");
    assert_eq!(json["checks"][0]["result"], "pass");
    assert!(json["checks"][0]["detail"].is_string());
    assert_eq!(json["issuer"]["nameZh"], "國立高雄科技大學");
    assert_eq!(json["credential"]["degree"]["nameZh"], "王𪚥");
    let status = json["checks"].as_array().unwrap().iter().find(|c| c["name"] == "registry_status").unwrap();
    assert_eq!(status["result"], "unknown");
}

/// The unsigned PDF inside a signed one: everything before the signing update.
/// The sample certificate, and a trust list whose NKUST signing certificate is revoked from
/// 2025-08-01, after the file was issued.
fn issued_before_the_pdf_key_was_revoked() -> (&'static World, &'static IssuedFile, TrustList) {
    let (w, file) = sample_zh();
    let mut entry = w.nkust.entry.clone();
    entry.signing_certificates[0].revoked_from = Some(ts("2025-08-01T00:00:00Z"));
    (w, file, trust_list(&w.root, vec![entry]))
}

fn unsigned_part(signed: &[u8]) -> Vec<u8> {
    let at = signed.windows(22).rposition(|x| x == b" 0 obj\n<< /Type /Sig /").unwrap();
    let start = signed[..at].iter().rposition(|&c| c == b'\n').unwrap() + 1;
    signed[..start].to_vec()
}

#[test]
fn a_stolen_pdf_key_cannot_rewrap_an_old_credential_after_its_revocation() {
    use dcert_core::pdf::pades;
    let (w, file, trust) = issued_before_the_pdf_key_was_revoked();
    assert_eq!(check(&file.bytes, &trust, &Offline).outcome, Outcome::Success, "signed before the revocation");
    let resigned =
        pades::sign(unsigned_part(&file.bytes), &w.nkust.kit.pdf_signer, ts("2025-12-01T00:00:00Z")).unwrap();
    let report = check(&resigned, &trust, &Offline);
    assert_eq!((report.outcome, report.reason), (Outcome::Failure, Some(Reason::KeyRevoked)), "{report:#?}");
    // Backdating the PDF before the credential it carries is refused too.
    let backdated =
        pades::sign(unsigned_part(&file.bytes), &w.nkust.kit.pdf_signer, ts("2025-01-01T00:00:00Z")).unwrap();
    assert_eq!(check(&backdated, &trust, &Offline).reason, Some(Reason::SignatureInvalid));
}

#[test]
fn a_resaved_copy_of_a_revoked_certificate_is_not_called_authentic() {
    let (w, file) = sample_zh();
    let mut registry = registry_with(w, file);
    registry.revoke("nkust", "NKUST-1132-000123", Language::Zh, "degree rescinded", ts("2025-10-01T00:00:00Z"));
    let mut changed = file.bytes.clone();
    let at = changed.len() / 3;
    changed[at] ^= 0x01;
    let report = check(&changed, &w.trust, &registry);
    assert_eq!(report.reason, Some(Reason::Modified));
    assert_eq!(report.embedded_credential_authentic, Some(false));
    assert!(report.summary.contains("revoked"), "{}", report.summary);
    assert_eq!(result(&report, CheckName::RegistryStatus), CheckResult::Fail);
}

#[test]
fn a_stale_trust_list_is_reported_as_such() {
    let w = world();
    let mut content = w.trust.content.clone();
    content.next_update = Some(ts("2025-12-01T00:00:00Z"));
    let trust = w.root.pinned(&w.root.sign(&content));
    let file = issue_with(&w.nkust.kit, &certificate(Language::En), issued_at());
    let report = check(&file.bytes, &trust, &Offline);
    assert_eq!(result(&report, CheckName::TrustList), CheckResult::Unknown);
    assert!(report.summary.contains("out of date"), "{}", report.summary);
    let fresh = check(&file.bytes, &w.trust, &Offline);
    assert_eq!(result(&fresh, CheckName::TrustList), CheckResult::Pass);
}

#[test]
fn a_credential_dated_in_the_future_is_not_valid_yet() {
    let w = world();
    let file = issue_with(&w.nkust.kit, &certificate(Language::En), ts("2026-03-01T00:00:00Z"));
    let report = check(&file.bytes, &w.trust, &Offline);
    assert_eq!(report.reason, Some(Reason::KeyNotValid), "verified at {}", now());
}

#[test]
fn a_credential_with_a_duplicated_member_is_refused() {
    let (w, file) = sample_zh();
    let json = String::from_utf8(credential::to_file_bytes(&file.credential)).unwrap();
    let doubled = json.replacen("\"nameZh\": \"王𪚥\",", "\"nameZh\": \"王𪚥\", \"nameZh\": \"王小明\",", 1);
    assert_ne!(doubled, json);
    let report = check(doubled.as_bytes(), &w.trust, &Offline);
    assert_eq!(report.reason, Some(Reason::NotACertificate));
    assert!(report.checks[0].detail.contains("appears twice"), "{}", report.checks[0].detail);
}

#[test]
fn a_backdated_rewrap_is_caught_by_the_registry_time_after_certificate_revocation() {
    use dcert_core::pdf::pades;
    let (w, file, trust) = issued_before_the_pdf_key_was_revoked();
    // A thief re-signs with the original time; offline, nothing can tell.
    let rewrapped = pades::sign(unsigned_part(&file.bytes), &w.nkust.kit.pdf_signer, issued_at()).unwrap();
    assert_eq!(check(&rewrapped, &trust, &Offline).outcome, Outcome::Success);
    // The registry recorded the file only after the revocation.
    let mut registry = logged_registry(&w.root);
    let sha = dcert_core::Sha256Digest::of(&rewrapped);
    registry.record("nkust", "NKUST-1132-000123", Language::Zh, 1, DEGREE, sha, ts("2025-09-01T00:00:00Z"));
    assert_eq!(check(&rewrapped, &trust, &registry).reason, Some(Reason::KeyRevoked));
}

#[test]
fn a_degree_must_name_its_issuer_as_the_school() {
    let w = world();
    let other = institution(&w.root, "other-school", 40);
    let trust = trust_list(&w.root, vec![w.nkust.entry.clone(), other.entry.clone()]);
    // Another school certifies a degree that names NKUST.
    let file = issue_with(&other.kit, &certificate(Language::Zh), issued_at());
    let report = check(&file.bytes, &trust, &Offline);
    assert_eq!((report.outcome, report.reason), (Outcome::Failure, Some(Reason::NotAccredited)));
    assert!(report.check(CheckName::Issuer).unwrap().detail.contains("names the school 國立高雄科技大學"));
}

#[test]
fn a_trust_list_verified_without_a_pin_never_gives_success_and_shows_no_data() {
    let (w, file) = sample_zh();
    let unpinned = TrustList::verify(&w.root.sign(&w.trust.content), None).unwrap();
    assert!(!unpinned.pinned);
    let report = check(&file.bytes, &unpinned, &Offline);
    assert_eq!((report.outcome, report.reason), (Outcome::Failure, Some(Reason::Unpinned)));
    assert_eq!(result(&report, CheckName::TrustList), CheckResult::Fail);
    assert!(report.summary.starts_with("Not authenticated"), "{}", report.summary);
    assert!(report.issuer.is_none() && report.credential.is_none(), "no name or data from an unpinned list");
    // Every other check still ran and passed: only the list's authenticity is missing.
    assert_eq!(result(&report, CheckName::DocumentSignature), CheckResult::Pass);
    assert_eq!(result(&report, CheckName::CredentialProof), CheckResult::Pass);
    // A real failure still says what it is.
    let mut changed = file.bytes.clone();
    let at = changed.len() / 3;
    changed[at] ^= 1;
    assert_eq!(check(&changed, &unpinned, &Offline).reason, Some(Reason::Modified));
}

#[test]
fn a_registry_that_gives_no_believable_answer_makes_the_status_unknown_and_the_outcome_a_failure() {
    struct Silent;
    impl StatusSource for Silent {
        fn status(&self, _: &StatusQuery) -> StatusAnswer {
            StatusAnswer::Unavailable { reason: "the answer's signature does not verify".into() }
        }
    }
    let (w, file) = sample_zh();
    let report = check(&file.bytes, &w.trust, &Silent);
    assert_eq!((report.outcome, report.reason), (Outcome::Failure, Some(Reason::StatusUnknown)));
    assert_eq!(result(&report, CheckName::RegistryStatus), CheckResult::Unknown);
    let detail = &report.check(CheckName::RegistryStatus).unwrap().detail;
    assert!(detail.contains("signature does not verify"), "{detail}");
    // Offline, by the verifier's choice, the status is unknown too, but the file is certified.
    let offline = check(&file.bytes, &w.trust, &Offline);
    assert_eq!(offline.outcome, Outcome::Success);
    assert_eq!(result(&offline, CheckName::RegistryStatus), CheckResult::Unknown);
}

#[test]
fn a_registered_file_s_record_is_proven_in_the_log_under_the_signed_checkpoint() {
    let (w, file) = sample_zh();
    let report = check(&file.bytes, &w.trust, &registry_with(w, file));
    assert_eq!(report.outcome, Outcome::Success, "{report:#?}");
    let log = report.check(CheckName::TransparencyLog).unwrap();
    assert_eq!(log.result, CheckResult::Pass);
    assert_eq!(log.finding, verify::Finding::LogIncluded { index: 0, size: 1 });
    assert!(log.detail.contains("registry.test/log"), "{}", log.detail);
}

/// A registry that answers as `inner` does, with the evidence `evidence` makes of the true one.
struct Evidence<'a, F: Fn(Option<Inclusion>) -> Option<Inclusion>> {
    inner: &'a MemoryRegistry,
    evidence: F,
}

impl<F: Fn(Option<Inclusion>) -> Option<Inclusion>> StatusSource for Evidence<'_, F> {
    fn status(&self, q: &StatusQuery) -> StatusAnswer {
        self.inner.status(q)
    }

    fn status_with_inclusion(&self, q: &StatusQuery) -> (StatusAnswer, Option<Inclusion>) {
        let (answer, inclusion) = self.inner.status_with_inclusion(q);
        (answer, (self.evidence)(inclusion))
    }
}

#[test]
fn a_status_without_proof_or_with_a_proof_of_another_record_or_log_is_not_believed() {
    let (w, file) = sample_zh();
    let mut registry = registry_with(w, file);
    registry.record("nkust", "NKUST-1132-000999", Language::Zh, 1, DEGREE, Sha256Digest::of(b"other"), issued_at());
    let not_believed = |source: &dyn StatusSource, finding: verify::Finding, why: &str| {
        let report = check(&file.bytes, &w.trust, source);
        assert_eq!((report.outcome, report.reason), (Outcome::Failure, Some(Reason::StatusUnknown)), "{why}");
        let log = report.check(CheckName::TransparencyLog).unwrap();
        assert_eq!((log.result, &log.finding), (CheckResult::Fail, &finding), "{why}: {}", log.detail);
    };
    use verify::Finding::{LogNoProof, LogProofInvalid};
    not_believed(&Evidence { inner: &registry, evidence: |_| None }, LogNoProof, "no proof");
    // The other record's leaf index and path: they lead to the root from another leaf.
    let other = registry.status_with_inclusion(&StatusQuery {
        issuer_id: "nkust".into(),
        number: "NKUST-1132-000999".into(),
        language: Language::Zh,
        version: 1,
        file_sha256: Some(Sha256Digest::of(b"other")),
    });
    let other = other.1.unwrap();
    not_believed(&Evidence { inner: &registry, evidence: |_| Some(other.clone()) }, LogProofInvalid, "another record");
    // A leaf index moved, a hash of the path changed, a record time that is not the registry's.
    let moved = |i: Option<Inclusion>| i.map(|i| Inclusion { leaf_index: 1, ..i });
    not_believed(&Evidence { inner: &registry, evidence: moved }, LogProofInvalid, "moved");
    let changed = |i: Option<Inclusion>| {
        i.map(|mut i| {
            i.path[0][0] ^= 1;
            i
        })
    };
    not_believed(&Evidence { inner: &registry, evidence: changed }, LogProofInvalid, "changed path");
    let retimed = |i: Option<Inclusion>| i.map(|i| Inclusion { recorded_at: i.recorded_at + 1, ..i });
    not_believed(&Evidence { inner: &registry, evidence: retimed }, LogProofInvalid, "another time");
    // A log of the same name under another key (a registry that forked its log in secret).
    let forked_log =
        MemoryLog::new(&dcert_core::tlog::origin_for(REGISTRY), dcert_core::tlog::LogKey::from_bytes(&[9; 32]));
    let mut forked = MemoryRegistry::new(now()).with_log(forked_log);
    forked.record("nkust", "NKUST-1132-000123", Language::Zh, 1, DEGREE, file.sha256, issued_at());
    not_believed(&forked, LogProofInvalid, "another key");
}

#[test]
fn a_trust_list_that_names_no_log_leaves_the_log_unknown_and_the_status_believed() {
    let (w, file) = sample_zh();
    let mut content = w.trust.content.clone();
    content.log = None;
    let trust = w.root.pinned(&w.root.sign(&content));
    let report = check(&file.bytes, &trust, &registry_with(w, file));
    assert_eq!(report.outcome, Outcome::Success, "{report:#?}");
    let log = report.check(CheckName::TransparencyLog).unwrap();
    assert_eq!((log.result, &log.finding), (CheckResult::Unknown, &verify::Finding::LogNotPublished));
    // Nothing to prove of a file the registry does not know.
    let report = check(&file.bytes, &w.trust, &logged_registry(&w.root));
    let log = report.check(CheckName::TransparencyLog).unwrap();
    assert_eq!((log.result, &log.finding), (CheckResult::Unknown, &verify::Finding::LogNothingToProve));
}

#[test]
fn a_changed_file_s_status_is_asked_by_the_hash_of_the_credential_it_carries() {
    let (w, file) = sample_zh();
    let mut registry = registry_with(w, file);
    registry.record_credential(file.sha256, file.credential_sha256);
    // The registry answers only for the hash it is given: it must be the credential's.
    struct OnlyByHash<'a>(&'a MemoryRegistry, std::cell::RefCell<Vec<Option<Sha256Digest>>>);
    impl StatusSource for OnlyByHash<'_> {
        fn status(&self, q: &StatusQuery) -> StatusAnswer {
            self.1.borrow_mut().push(q.file_sha256);
            self.0.status(q)
        }
    }
    let source = OnlyByHash(&registry, Default::default());
    let mut changed = file.bytes.clone();
    let at = changed.len() / 3;
    changed[at] ^= 0x01;
    let report = check(&changed, &w.trust, &source);
    assert_eq!(report.reason, Some(Reason::Modified));
    assert_eq!(*source.1.borrow(), [Some(file.credential_sha256)], "one query, by the credential's hash");
    assert_eq!(result(&report, CheckName::RegistryStatus), CheckResult::Pass);
    assert_eq!(report.embedded_credential_authentic, Some(true));
}
