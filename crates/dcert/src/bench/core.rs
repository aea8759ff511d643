//! `dcert bench core`: issue and verify throughput on one core, with the floor measured in the
//! same run (SHA-256 of the file plus one Ed25519 verification), so that figures can be read as
//! ratios on a shared, noisy machine.

use std::hint::black_box;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use dcert_core::bundle::{Bundle, BundleStatus};
use dcert_core::credential::IssuerRef;
use dcert_core::issue::{self, IssuerKit};
use dcert_core::keys::{CredentialKey, EcKey};
use dcert_core::model::{Certificate, DegreeLevel, DegreeRecord, Language, Subject};
use dcert_core::pdf::{Limits, PdfSigner, Template};
use dcert_core::status::{self, MemoryRegistry, Offline, StatusAnswer, StatusQuery, StatusSource};
use dcert_core::tlog::{self, Inclusion, LogEntry, LogKey, MemoryLog};
use dcert_core::trust::{
    Accreditation, CertEntry, Der, IssuerEntry, KeyEntry, LogDescriptor, TrustList, TrustListContent,
};
use dcert_core::verify::{self, Outcome};
use dcert_core::x509::{self, CertProfile, CertRole, ParsedCert};
use dcert_core::{CredentialType, Sha256Digest, Timestamp};
use serde::Serialize;

use crate::fonts;

/// One measurement.
#[derive(Serialize)]
pub struct Rate {
    /// Operations done.
    pub count: u64,
    /// Seconds taken.
    pub seconds: f64,
    /// Operations per second.
    pub per_second: f64,
}

/// The figures of one run.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Figures {
    pub file_bytes: usize,
    pub issue: Rate,
    pub verify: Rate,
    /// Verification with the registry's answer and the log's inclusion proof checked, the answer
    /// given in process (as the Ministry's site verifies an upload against its own registry).
    pub verify_logged: Rate,
    /// The same with the registry's answer signed and its signature checked too (as `dcert
    /// verify --registry` does, without the network).
    pub verify_signed_logged: Rate,
    /// The leaves of the log the proofs are made in.
    pub log_leaves: u64,
    pub floor: Rate,
    /// verify / floor.
    pub verify_to_floor: f64,
    /// verify_logged / verify.
    pub logged_to_verify: f64,
    /// verify_signed_logged / verify.
    pub signed_logged_to_verify: f64,
    /// The offline bundle of `log_leaves` current certificates (each file and its credential).
    pub bundle: BundleFigures,
    /// Verification with the status from that bundle (`dcert verify --offline`).
    pub verify_bundle: Rate,
    /// verify_bundle / verify.
    pub bundle_to_verify: f64,
}

/// The offline bundle's size and the time to make and to open it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleFigures {
    /// Certificates in it.
    pub certificates: u64,
    /// Its size.
    pub bytes: usize,
    /// Seconds to make it from the registry in memory (the snapshot, the JSON, the signature).
    pub made_seconds: f64,
    /// Seconds to open it (read, check the signature, the list and the checkpoint, index).
    pub opened_seconds: f64,
}

/// The registry's answer and the log's evidence, given in process.
struct InProcess {
    answer: StatusAnswer,
    inclusion: Inclusion,
}

impl StatusSource for InProcess {
    fn status(&self, _: &StatusQuery) -> StatusAnswer {
        self.answer.clone()
    }

    fn status_with_inclusion(&self, _: &StatusQuery) -> (StatusAnswer, Option<Inclusion>) {
        (self.answer.clone(), Some(self.inclusion.clone()))
    }
}

/// A registry's signed answer, replayed: each query checks it as a verifier checks the
/// registry's (the status signer's signature, the query it repeats, its freshness) and hands
/// over the log's evidence it carries.
struct SignedReplay<'a> {
    answer: &'a [u8],
    trust: &'a TrustList,
    now: Timestamp,
}

impl StatusSource for SignedReplay<'_> {
    fn status(&self, q: &StatusQuery) -> StatusAnswer {
        self.status_with_inclusion(q).0
    }

    fn status_with_inclusion(&self, q: &StatusQuery) -> (StatusAnswer, Option<Inclusion>) {
        status::verify_answer_with_inclusion(self.answer, self.trust, q, self.now)
    }
}

pub(super) fn measure(budget: Duration, mut op: impl FnMut(u64)) -> Rate {
    // Warm up, then run whole batches until the budget is spent.
    op(0);
    let start = Instant::now();
    let mut count = 0u64;
    while start.elapsed() < budget {
        for _ in 0..8 {
            count += 1;
            op(count);
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    Rate { count, seconds, per_second: count as f64 / seconds }
}

fn ts(s: &str) -> Timestamp {
    s.parse().expect("a literal timestamp")
}

/// The key of the bench registry's log.
fn log_key() -> LogKey {
    LogKey::from_bytes(&[6; 32])
}

/// The key of the bench registry's status signer.
fn status_key() -> EcKey {
    EcKey::from_seed(&[5; 32]).expect("a fixed valid seed")
}

/// A root, an institution and its trust list (naming a status signer and a log), in memory.
fn world() -> Result<(IssuerKit, TrustList, Vec<u8>)> {
    let root_key = EcKey::from_seed(&[1; 32]).expect("a fixed valid seed");
    let profile = |cn: &str, role| CertProfile {
        common_name: cn.into(),
        organization: "Ministry of Education".into(),
        not_before: ts("2024-01-01T00:00:00Z"),
        not_after: ts("2034-01-01T00:00:00Z"),
        role,
    };
    let root = ParsedCert::from_der(&x509::issue(
        &profile("dcert Root CA", CertRole::Root),
        &root_key.public(),
        None,
        &root_key,
    )?)?;
    let signer_key = EcKey::from_seed(&[2; 32]).expect("a fixed valid seed");
    let signer = x509::issue(
        &profile(x509::TRUST_LIST_SIGNER_CN, CertRole::TrustListSigner),
        &signer_key.public(),
        Some(&root.cert),
        &root_key,
    )?;
    let signing_key = EcKey::from_seed(&[3; 32]).expect("a fixed valid seed");
    let cert = x509::issue(
        &profile("Bench University", CertRole::DocumentSigner),
        &signing_key.public(),
        Some(&root.cert),
        &root_key,
    )?;
    let status_signer = x509::issue(
        &profile(x509::STATUS_SIGNER_CN, CertRole::StatusSigner),
        &status_key().public(),
        Some(&root.cert),
        &root_key,
    )?;
    let credential_key = CredentialKey::from_seed(&[4; 32]);
    let kit = IssuerKit {
        issuer: IssuerRef { id: "bench".into(), registry: REGISTRY.into() },
        name_zh: "國立高雄科技大學".into(),
        name_en: "National Kaohsiung University of Science and Technology".into(),
        credential_key: credential_key.clone(),
        pdf_signer: PdfSigner {
            key: signing_key,
            certificate: cert.clone(),
            name: "National Kaohsiung University of Science and Technology".into(),
        },
    };
    let content = TrustListContent {
        kind: "DcertTrustList".into(),
        format: 1,
        registry: REGISTRY.into(),
        sequence: 1,
        issued: ts("2025-01-01T00:00:00Z"),
        next_update: None,
        root_certificate: Der(root.der.clone()),
        signer_certificate: Der(signer),
        status_signer_certificate: Some(Der(status_signer)),
        log: Some(LogDescriptor::of(REGISTRY, &log_key())),
        issuers: vec![IssuerEntry {
            id: "bench".into(),
            name_zh: "國立高雄科技大學".into(),
            name_en: "National Kaohsiung University of Science and Technology".into(),
            accreditation: Accreditation {
                credential_types: vec![CredentialType::Degree],
                degree_levels: vec![DegreeLevel::Bachelor],
            },
            credential_keys: vec![KeyEntry::new(
                credential_key.public().to_multikey(),
                ts("2024-01-01T00:00:00Z"),
                ts("2034-01-01T00:00:00Z"),
            )],
            signing_certificates: vec![CertEntry::new(cert)],
        }],
        proof: None,
    };
    let json = TrustList::sign(&content, &signer_key)?;
    let bytes = serde_json::to_vec(&json)?;
    let trust = TrustList::verify(&bytes, Some(root.fingerprint()))?;
    Ok((kit, trust, bytes))
}

fn certificate(n: u64) -> Result<Certificate> {
    let record: DegreeRecord = serde_json::from_str(include_str!("../../../../examples/record.json"))
        .map(|r: dcert_core::model::RecordFile| r.degree.expect("the example is a degree"))?;
    Ok(Certificate {
        number: format!("BENCH-{n:08}"),
        language: Language::Zh,
        version: 1,
        previous_version_sha256: None,
        subject: Subject::Degree(record),
    })
}

/// The bench registry's address.
const REGISTRY: &str = "https://registry.bench";

/// The registry's answer about `file` (current), signed, and the evidence that its record is leaf
/// `log_leaves / 2` of a log of `log_leaves` records.
fn signed_answer(file: &issue::IssuedFile, log_leaves: u64, now: Timestamp) -> Result<(Vec<u8>, InProcess)> {
    let mut log = MemoryLog::new(&tlog::origin_for(REGISTRY), log_key());
    let (sha, registered_at) = (file.sha256.to_string(), ts("2025-07-01T00:00:00Z"));
    let target = log_leaves / 2;
    for i in 0..log_leaves {
        let (other, number) = (format!("{:064x}", i), format!("BENCH-{i:08}"));
        let entry = |file_sha256, number| LogEntry {
            institution: "bench",
            event: "issued",
            file_sha256,
            number,
            language: "zh",
            version: 1,
            previous_sha256: None,
            credential_type: "degree",
            at: registered_at.unix(),
        };
        if i == target {
            log.append(&entry(&sha, "BENCH-00000000"))
        } else {
            log.append(&entry(&other, &number))
        };
    }
    let inclusion = log.inclusion(target, registered_at.unix())?;
    let query = StatusQuery {
        issuer_id: "bench".into(),
        number: "BENCH-00000000".into(),
        language: Language::Zh,
        version: 1,
        file_sha256: Some(file.sha256),
    };
    let answer = StatusAnswer::Current { registered_at, as_of: now };
    let signed = status::sign_answer(&query, &answer, Some(&inclusion), now, REGISTRY, &status_key())?;
    Ok((serde_json::to_vec(&signed)?, InProcess { answer, inclusion }))
}

/// The registry's offline bundle of `certificates` current certificates, `file` among them (each
/// file and its credential, with the log's checkpoint of their records), made and opened again.
fn offline_bundle(
    file: &issue::IssuedFile,
    trust_bytes: &[u8],
    trust: &TrustList,
    certificates: u64,
    now: Timestamp,
) -> Result<(Bundle, BundleFigures)> {
    let registered_at = ts("2025-07-01T00:00:00Z");
    let mut registry = MemoryRegistry::new(now).with_log(MemoryLog::new(&tlog::origin_for(REGISTRY), log_key()));
    for i in 0..certificates {
        let (sha, number) = if i == certificates / 2 {
            (file.sha256, "BENCH-00000000".to_owned())
        } else {
            (Sha256Digest::of(&i.to_be_bytes()), format!("BENCH-{i:08}"))
        };
        let degree = (CredentialType::Degree, None);
        registry.record("bench", &number, Language::Zh, 1, degree, sha, registered_at);
        registry.record_credential(sha, Sha256Digest::of(sha.as_bytes()));
    }
    let checkpoint = registry
        .status_with_inclusion(&StatusQuery {
            issuer_id: "bench".into(),
            number: "BENCH-00000000".into(),
            language: Language::Zh,
            version: 1,
            file_sha256: Some(file.sha256),
        })
        .1
        .context("the bench registry proves its records")?
        .checkpoint;
    let start = Instant::now();
    let signed =
        dcert_core::bundle::sign(&registry.snapshot(), trust_bytes, Some(&checkpoint), now, REGISTRY, &status_key())?;
    let bytes = serde_json::to_vec(&signed)?;
    let made_seconds = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let bundle = Bundle::open(&bytes, Some(trust.root.fingerprint()))?;
    let opened_seconds = start.elapsed().as_secs_f64();
    Ok((bundle, BundleFigures { certificates, bytes: bytes.len(), made_seconds, opened_seconds }))
}

/// Runs the benchmark with `seconds` per measurement and the log's proofs made in a log of
/// `log_leaves` records; with `only`, the other measurements get a token budget (for profiling
/// one of them).
pub fn run(seconds: f64, log_leaves: u64, only: Option<&str>) -> Result<Figures> {
    let budget_for = |name: &str| {
        if only.is_none_or(|o| o == name) { Duration::from_secs_f64(seconds) } else { Duration::from_millis(1) }
    };
    let fonts = fonts::load()?;
    let (kit, trust, trust_bytes) = world()?;
    let template = Template::default_for(CredentialType::Degree, Language::Zh);
    let at = ts("2025-07-01T00:00:00Z");
    let sample = issue::issue(&certificate(0)?, &kit, &template, &fonts, at)?;
    let now = ts("2026-01-01T00:00:00Z");
    let limits = Limits::default();
    let report = verify::verify(&sample.bytes, &trust, &Offline, now, &limits);
    anyhow::ensure!(report.outcome == Outcome::Success, "the benchmark's sample does not verify: {}", report.summary);
    let (answer, in_process) = signed_answer(&sample, log_leaves, now)?;
    let replay = SignedReplay { answer: &answer, trust: &trust, now };
    for source in [&replay as &dyn StatusSource, &in_process] {
        let report = verify::verify(&sample.bytes, &trust, source, now, &limits);
        let logged = report.check(verify::CheckName::TransparencyLog).map(|c| c.result);
        anyhow::ensure!(
            report.outcome == Outcome::Success && logged == Some(verify::CheckResult::Pass),
            "the benchmark's sample does not verify with its log proof: {}",
            report.summary
        );
    }

    let (bundle, bundle_figures) = offline_bundle(&sample, &trust_bytes, &trust, log_leaves, now)?;
    let from_bundle =
        BundleStatus { bundle: &bundle, now, max_age_seconds: dcert_core::bundle::DEFAULT_MAX_AGE_SECONDS };
    let report = verify::verify(&sample.bytes, &bundle.trust, &from_bundle, now, &limits);
    anyhow::ensure!(
        report.outcome == Outcome::Success && report.status_as_of == Some(now),
        "the benchmark's sample does not verify with the offline bundle: {}",
        report.summary
    );

    let certs: Vec<Certificate> = (1..=64).map(certificate).collect::<Result<_>>()?;
    let issue = measure(budget_for("issue"), |n| {
        let cert = &certs[(n % 64) as usize];
        black_box(issue::issue(cert, &kit, &template, &fonts, at).map(|f| f.sha256).ok());
    });
    let verify = measure(budget_for("verify"), |_| {
        black_box(verify::verify(black_box(&sample.bytes), &trust, &Offline, now, &limits).outcome);
    });
    let verify_logged = measure(budget_for("verify-logged"), |_| {
        black_box(verify::verify(black_box(&sample.bytes), &trust, &in_process, now, &limits).outcome);
    });
    let verify_signed_logged = measure(budget_for("verify-signed-logged"), |_| {
        black_box(verify::verify(black_box(&sample.bytes), &trust, &replay, now, &limits).outcome);
    });
    let verify_bundle = measure(budget_for("verify-bundle"), |_| {
        black_box(verify::verify(black_box(&sample.bytes), &bundle.trust, &from_bundle, now, &limits).outcome);
    });
    let public = kit.credential_key.public();
    let message = [7u8; 64];
    let signature = kit.credential_key.sign(&message);
    let floor = measure(budget_for("floor"), |_| {
        black_box(Sha256Digest::of(black_box(&sample.bytes)));
        black_box(public.verify(black_box(&message), &signature));
    });
    Ok(Figures {
        file_bytes: sample.bytes.len(),
        verify_to_floor: verify.per_second / floor.per_second,
        logged_to_verify: verify_logged.per_second / verify.per_second,
        signed_logged_to_verify: verify_signed_logged.per_second / verify.per_second,
        bundle_to_verify: verify_bundle.per_second / verify.per_second,
        bundle: bundle_figures,
        verify_bundle,
        log_leaves,
        issue,
        verify,
        verify_logged,
        verify_signed_logged,
        floor,
    })
}

/// The figures as text.
pub fn text(f: &Figures) -> String {
    let row = |name: &str, r: &Rate| {
        format!(
            "  {name:<8} {:>9.0} /s  {:>8.3} ms each  ({} in {:.1} s)\n",
            r.per_second,
            1000.0 / r.per_second,
            r.count,
            r.seconds
        )
    };
    let mut s = format!("dcert bench core: one thread, a {} byte certificate\n", f.file_bytes);
    s.push_str(&row("issue", &f.issue));
    s.push_str(&row("verify", &f.verify));
    s.push_str(&row("+ log", &f.verify_logged));
    s.push_str(&row("+ signed", &f.verify_signed_logged));
    s.push_str(&row("+ bundle", &f.verify_bundle));
    s.push_str(&row("floor", &f.floor));
    s.push_str(&format!(
        "  verify / floor = {:.2}  (floor: SHA-256 of the file + one Ed25519 verification)\n",
        f.verify_to_floor
    ));
    s.push_str(&format!(
        "  + log / verify = {:.2}  (the registry's answer and its inclusion proof in a log of {} records \
         checked, as the Ministry's site verifies)\n",
        f.logged_to_verify, f.log_leaves
    ));
    s.push_str(&format!(
        "  + signed / verify = {:.2}  (the same, the answer's ECDSA signature checked too, as dcert verify \
         --registry does)\n",
        f.signed_logged_to_verify
    ));
    s.push_str(&format!(
        "  + bundle / verify = {:.2}  (the status from a signed offline bundle of {} certificates, as dcert verify \
         --offline does: {:.1} MB, made in {:.1} s, opened in {:.1} s)\n",
        f.bundle_to_verify,
        f.bundle.certificates,
        f.bundle.bytes as f64 / 1e6,
        f.bundle.made_seconds,
        f.bundle.opened_seconds
    ));
    s
}

/// In-process verification of one file: on one thread, and on every core at once.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyFigures {
    pub file_bytes: usize,
    pub one_thread: Rate,
    pub threads: usize,
    pub all_threads: Rate,
}

/// Verifies `bytes` against `trust` (offline status) for `seconds` on one thread, then on every
/// core; refuses a file that does not verify, which would measure the wrong path.
pub fn verify_file(bytes: &[u8], trust: &TrustList, seconds: f64) -> Result<VerifyFigures> {
    let limits = Limits::default();
    let now = crate::now();
    let first = verify::verify(bytes, trust, &Offline, now, &limits);
    if first.outcome == Outcome::Failure {
        return Err(crate::commands::wrong(format!(
            "the file does not verify ({}); benchmark a good certificate",
            first.summary
        )));
    }
    let budget = Duration::from_secs_f64(seconds);
    let once = || {
        black_box(verify::verify(black_box(bytes), trust, &Offline, now, &limits));
    };
    let one_thread = measure(budget, |_| once());
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let rates: Vec<Rate> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads).map(|_| s.spawn(|| measure(budget, |_| once()))).collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    let count: u64 = rates.iter().map(|r| r.count).sum();
    let secs = rates.iter().map(|r| r.seconds).fold(0.0, f64::max);
    let all_threads = Rate { count, seconds: secs, per_second: rates.iter().map(|r| r.per_second).sum() };
    Ok(VerifyFigures { file_bytes: bytes.len(), one_thread, threads, all_threads })
}
