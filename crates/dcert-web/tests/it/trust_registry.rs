//! The trust registry end to end, through the functions the CLI and the Ministry console call:
//! institutions onboarded from requests they signed, the trust list published from the
//! registry's tables and verified as verifiers do, and certificate files issued with the
//! institutions' keys verified against it across rotations and revocations.

use dcert_core::Sha256Digest;
use dcert_core::credential::IssuerRef;
use dcert_core::issue::{IssuedFile, IssuerKit};
use dcert_core::keys::{CredentialKey, EcKey};
use dcert_core::model::{Certificate, CredentialType, DegreeLevel, DegreeRecord, Language, Subject};
use dcert_core::pdf::{Limits, PdfSigner};
use dcert_core::status::Offline;
use dcert_core::trust::TrustList;
use dcert_core::verify::{self, Outcome, Reason};
use dcert_core::x509::{self, ParsedCert};
use dcert_store::MinistryStore;
use dcert_testkit::pki::{Root, ts};
use dcert_testkit::sample::{self, NKUST_EN, NKUST_ZH};
use dcert_web::ministry::trust_registry::{
    self as registry, CurrentKeyProblem, InstitutionDetails, OnboardingRequest, RegistryError, RequestError, Revoked,
    RotationRequest,
};
use dcert_web::ministry::{MinistryConfig, MinistryState};

use crate::support::TempDir;

const REGISTRY: &str = "https://dcert.moe.gov.tw";

/// The Ministry's root and trust list signer, and a fresh registry database.
struct Ministry {
    ca: EcKey,
    root: ParsedCert,
    signer: EcKey,
    signer_cert: ParsedCert,
    store: MinistryStore,
    _dir: TempDir,
}

impl Ministry {
    async fn new() -> Ministry {
        Ministry::with_root(1).await
    }

    /// A Ministry whose root and signer keys are made from `seed` and `seed + 1` (its lists
    /// name no status signer).
    async fn with_root(seed: u8) -> Ministry {
        let Root { key: ca, cert: root, signer_key: signer, signer_cert, .. } =
            Root::from_seeds(seed, seed + 1, seed + 2);
        let dir = TempDir::new("trust-registry");
        let store = MinistryStore::open(&format!("sqlite://{}", dir.0.join("ministry.db").display())).await.unwrap();
        Ministry { ca, root, signer, signer_cert, store, _dir: dir }
    }

    async fn onboard(&self, request: &OnboardingRequest, at: &str) -> Result<ParsedCert, RegistryError> {
        registry::onboard(&self.store, &self.ca, &self.root, request, (ts(at), ts("2030-01-01T00:00:00Z")), |_| {
            crate::support::system("onboard_institution")
        })
        .await
    }

    /// Onboards NKUST with `keys` on 2025-01-01: its signing certificate, and the kit it issues
    /// with.
    async fn onboard_nkust(&self, keys: &Keys) -> (ParsedCert, IssuerKit) {
        let cert = self.onboard(&request("nkust", &nkust(), keys), "2025-01-01T00:00:00Z").await.unwrap();
        let kit = keys.nkust_kit(&cert);
        (cert, kit)
    }

    async fn rotate(&self, request: &RotationRequest, at: &str) -> Result<registry::Rotated, RegistryError> {
        registry::rotate_key(&self.store, &self.ca, &self.root, request, (ts(at), ts("2030-01-01T00:00:00Z")), |_| {
            crate::support::system("rotate_keys")
        })
        .await
    }

    async fn publish(&self, at: &str) -> Vec<u8> {
        self.publish_to(&self.store, None, at).await.unwrap()
    }

    /// Publishes into `store` with this Ministry's keys, numbered above `served`.
    async fn publish_to(&self, store: &MinistryStore, served: Option<u64>, at: &str) -> Result<Vec<u8>, RegistryError> {
        let signing = registry::ListSigning {
            signer: &self.signer,
            root_cert: &self.root,
            signer_cert: &self.signer_cert,
            status_cert: None,
            log: None,
            registry_url: REGISTRY,
        };
        registry::publish(store, signing, served, ts(at), |_| crate::support::system("publish_trust_list")).await
    }

    /// Another, empty registry database.
    async fn other_store(&self, name: &str) -> MinistryStore {
        MinistryStore::open(&format!("sqlite://{}", self._dir.0.join(format!("{name}.db")).display())).await.unwrap()
    }

    /// Publishes, and reads the list back as a verifier that pins the root does.
    async fn published(&self, at: &str) -> TrustList {
        TrustList::verify(&self.publish(at).await, Some(self.root.fingerprint())).unwrap()
    }

    /// How many institutions, keys and certificates the registry holds.
    async fn counts(&self) -> (usize, usize, usize) {
        let all = self.store.trust_registry().await.unwrap();
        (all.len(), all.iter().map(|r| r.keys.len()).sum(), all.iter().map(|r| r.certificates.len()).sum())
    }
}

/// An institution's own keys, as it keeps them.
pub struct Keys {
    pub credential: CredentialKey,
    pub signing: EcKey,
}

impl Keys {
    pub fn new(seed: u8) -> Keys {
        Keys { credential: CredentialKey::from_seed(&[seed; 32]), signing: EcKey::from_seed(&[seed + 1; 32]).unwrap() }
    }

    /// NKUST's kit with these keys and the signing certificate `certificate`.
    pub fn nkust_kit(&self, certificate: &ParsedCert) -> IssuerKit {
        let details = nkust();
        IssuerKit {
            issuer: IssuerRef { id: "nkust".into(), registry: REGISTRY.into() },
            name_zh: details.name_zh,
            name_en: details.name_en.clone(),
            credential_key: self.credential.clone(),
            pdf_signer: PdfSigner {
                key: self.signing.clone(),
                certificate: certificate.der.clone(),
                name: details.name_en,
            },
        }
    }
}

pub fn nkust() -> InstitutionDetails {
    InstitutionDetails {
        name_zh: NKUST_ZH.into(),
        name_en: NKUST_EN.into(),
        address: "807618 高雄市三民區建工路415號".into(),
        credential_types: vec![CredentialType::Degree],
        degree_levels: vec![DegreeLevel::Bachelor, DegreeLevel::Master],
    }
}

fn ntu() -> InstitutionDetails {
    InstitutionDetails {
        name_zh: "國立臺灣大學".into(),
        name_en: "National Taiwan University".into(),
        address: "10617 臺北市大安區羅斯福路四段1號".into(),
        credential_types: vec![CredentialType::Degree],
        degree_levels: vec![DegreeLevel::Bachelor, DegreeLevel::Master, DegreeLevel::Doctor],
    }
}

pub fn request(id: &str, details: &InstitutionDetails, keys: &Keys) -> OnboardingRequest {
    OnboardingRequest::sign(id, details, &keys.credential, &keys.signing).unwrap()
}

/// The sample graduate's English certificate numbered `number`, issued by `kit` at `at`.
pub fn issue_at(kit: &IssuerKit, number: &str, at: &str) -> IssuedFile {
    let certificate = Certificate {
        number: number.into(),
        language: Language::En,
        version: 1,
        previous_version_sha256: None,
        subject: Subject::Degree(DegreeRecord { other_programs: vec![], ..sample::degree("王小明") }),
    };
    sample::issue(kit, &certificate, ts(at))
}

/// The outcome and reason of verifying `file` offline against `trust` at the end of 2025.
fn verdict(file: &IssuedFile, trust: &TrustList) -> (Outcome, Option<Reason>) {
    let report = verify::verify(&file.bytes, trust, &Offline, ts("2025-12-31T00:00:00Z"), &Limits::default());
    (report.outcome, report.reason)
}

const SUCCESS: (Outcome, Option<Reason>) = (Outcome::Success, None);

#[tokio::test]
async fn two_onboarded_institutions_are_published_in_a_signed_list_that_verifies_their_certificates() {
    let m = Ministry::new().await;
    let nkust_keys = Keys::new(10);
    let (nkust_cert, nkust_kit) = m.onboard_nkust(&nkust_keys).await;
    let ntu_cert = m.onboard(&request("ntu", &ntu(), &Keys::new(20)), "2025-01-02T00:00:00Z").await.unwrap();

    // The Ministry root issued both signing certificates, for the institutions' own keys.
    assert!(nkust_cert.is_issued_by(&m.root) && ntu_cert.is_issued_by(&m.root));
    assert_eq!(nkust_cert.key, nkust_keys.signing.public());
    assert_eq!(nkust_cert.common_name().as_deref(), Some(nkust().name_en.as_str()));
    assert_eq!(
        nkust_cert.validity(),
        (ts("2025-01-01T00:00:00Z"), ts("2030-01-01T00:00:00Z")),
        "from onboarding to the end asked for"
    );

    let trust = m.published("2025-02-01T00:00:00Z").await;
    assert_eq!(trust.content.sequence, 1);
    assert_eq!(trust.content.registry, REGISTRY);
    assert_eq!(trust.content.next_update, Some(ts("2025-03-03T00:00:00Z")), "30 days on");
    let ids: Vec<&str> = trust.issuers.iter().map(|i| i.entry.id.as_str()).collect();
    assert_eq!(ids, ["nkust", "ntu"]);
    let entry = &trust.issuer("ntu").unwrap().entry;
    assert_eq!((entry.name_zh.as_str(), entry.accreditation.degree_levels.len()), ("國立臺灣大學", 3));
    let key = &trust.issuer("nkust").unwrap().keys[0].entry;
    assert_eq!(key.public_key_multibase, nkust_keys.credential.public().to_multikey());
    assert_eq!((key.valid_from, key.valid_until), (ts("2025-01-01T00:00:00Z"), ts("2030-01-01T00:00:00Z")));

    let file = issue_at(&nkust_kit, "NKUST-1132-000001", "2025-03-01T00:00:00Z");
    assert_eq!(verdict(&file, &trust), SUCCESS);
    // The list is served as published, byte for byte.
    assert_eq!(
        registry::latest(&m.store).await.unwrap(),
        Some(m.store.latest_trust_list().await.unwrap().unwrap().json.into_bytes())
    );
}

#[tokio::test]
async fn after_a_rotation_a_file_signed_with_the_old_key_before_it_verifies_and_one_signed_after_it_fails() {
    let m = Ministry::new().await;
    let old = Keys::new(10);
    let (_, old_kit) = m.onboard_nkust(&old).await;
    let before = issue_at(&old_kit, "NKUST-1132-000001", "2025-03-01T00:00:00Z");

    let new = Keys::new(30);
    let rotation = RotationRequest::sign("nkust", &old.credential, Some(&new.credential), Some(&new.signing)).unwrap();
    let rotated = m.rotate(&rotation, "2025-06-01T00:00:00Z").await.unwrap();
    assert_eq!(rotated.credential_key, Some(new.credential.public().to_multikey()));
    let new_cert = rotated.certificate.unwrap();
    assert_eq!(new_cert.key, new.signing.public());
    let trust = m.published("2025-06-02T00:00:00Z").await;

    let keys = &trust.issuer("nkust").unwrap().keys;
    assert_eq!(keys.len(), 2, "the old key stays listed");
    assert_eq!(keys[0].entry.valid_until, ts("2025-06-01T00:00:00Z"), "its window ends at the rotation");
    assert_eq!(trust.issuer("nkust").unwrap().certs.len(), 2, "the old certificate stays listed");

    assert_eq!(verdict(&before, &trust), SUCCESS, "signed before the rotation");
    let after = issue_at(&old_kit, "NKUST-1132-000002", "2025-07-01T00:00:00Z");
    assert_eq!(verdict(&after, &trust), (Outcome::Failure, Some(Reason::KeyNotValid)), "signed after it");
    let with_new_keys = issue_at(&new.nkust_kit(&new_cert), "NKUST-1132-000003", "2025-07-01T00:00:00Z");
    assert_eq!(verdict(&with_new_keys, &trust), SUCCESS);

    // A rotation is proven by the new keys: a proof by other keys, or a key already used, is refused.
    let mut forged = RotationRequest::sign("nkust", &new.credential, Some(&Keys::new(40).credential), None).unwrap();
    forged.credential_key = Some(Keys::new(50).credential.public().to_multikey());
    assert!(matches!(
        m.rotate(&forged, "2025-08-01T00:00:00Z").await,
        Err(RegistryError::Request(RequestError::Proof(_)))
    ));
    let reused = RotationRequest::sign("nkust", &new.credential, Some(&old.credential), None).unwrap();
    assert!(matches!(m.rotate(&reused, "2025-08-01T00:00:00Z").await, Err(RegistryError::KeyTaken)));
    let unknown =
        RotationRequest::sign("nobody", &Keys::new(62).credential, Some(&Keys::new(60).credential), None).unwrap();
    assert!(matches!(m.rotate(&unknown, "2025-08-01T00:00:00Z").await, Err(RegistryError::UnknownInstitution(_))));
    assert_eq!(m.counts().await, (1, 2, 2));
}

#[tokio::test]
async fn a_key_revoked_from_a_date_fails_files_claiming_a_later_signing_time_and_keeps_earlier_ones() {
    let m = Ministry::new().await;
    let keys = Keys::new(10);
    let (cert, kit) = m.onboard_nkust(&keys).await;
    let earlier = issue_at(&kit, "NKUST-1132-000001", "2025-03-01T00:00:00Z");
    let later = issue_at(&kit, "NKUST-1132-000002", "2025-06-01T00:00:00Z");

    let multikey = keys.credential.public().to_multikey();
    let from = ts("2025-05-01T00:00:00Z");
    let revoked = registry::revoke_key(&m.store, "nkust", &multikey, (from, "key compromise"), |_| {
        crate::support::system("revoke_key")
    })
    .await
    .unwrap();
    assert_eq!(revoked, Revoked::CredentialKey);
    let trust = m.published("2025-05-02T00:00:00Z").await;
    let entry = &trust.issuer("nkust").unwrap().keys[0].entry;
    assert_eq!((entry.revoked_from, entry.revocation_reason.as_deref()), (Some(from), Some("key compromise")));

    assert_eq!(verdict(&earlier, &trust), SUCCESS);
    assert_eq!(verdict(&later, &trust), (Outcome::Failure, Some(Reason::KeyRevoked)));

    // Once only; the signing certificate is revoked by its SHA-256; unknown keys are named.
    let again = registry::revoke_key(&m.store, "nkust", &multikey, (ts("2025-04-01T00:00:00Z"), "earlier"), |_| {
        crate::support::system("revoke_key")
    })
    .await;
    assert!(matches!(again, Err(RegistryError::AlreadyRevoked(_))), "{again:?}");
    let sha = Sha256Digest::of(&cert.der).to_string();
    let revoked = registry::revoke_key(&m.store, "nkust", &sha, (from, "key compromise"), |_| {
        crate::support::system("revoke_key")
    })
    .await
    .unwrap();
    assert_eq!(revoked, Revoked::SigningCertificate);
    let unknown =
        registry::revoke_key(&m.store, "nkust", "z6MkNotAKey", (from, "x"), |_| crate::support::system("revoke_key"))
            .await;
    assert!(matches!(unknown, Err(RegistryError::UnknownKey { .. })), "{unknown:?}");
    let blank =
        registry::revoke_key(&m.store, "nkust", &multikey, (from, " "), |_| crate::support::system("revoke_key")).await;
    assert!(matches!(blank, Err(RegistryError::Request(RequestError::InvalidText { .. }))), "{blank:?}");
    let trust = m.published("2025-05-03T00:00:00Z").await;
    assert_eq!(trust.issuer("nkust").unwrap().certs[0].entry.revoked_from, Some(from));
}

#[tokio::test]
async fn an_onboarding_request_with_a_bad_proof_a_taken_id_or_a_used_key_is_refused_and_records_nothing() {
    let m = Ministry::new().await;
    let keys = Keys::new(10);
    m.onboard_nkust(&keys).await;
    assert_eq!(m.counts().await, (1, 1, 1));

    // Changed after it was signed.
    let mut changed = request("ntu", &ntu(), &Keys::new(20));
    changed.name_en = "National Taiwan University of Everything".into();
    let refused = m.onboard(&changed, "2025-02-01T00:00:00Z").await;
    assert!(
        matches!(refused, Err(RegistryError::Request(RequestError::Proof("credential key's proof")))),
        "{refused:?}"
    );
    // A signing key whose holder did not sign this request.
    let mut borrowed =
        OnboardingRequest::sign("ntu", &ntu(), &Keys::new(20).credential, &Keys::new(22).signing).unwrap();
    borrowed.signing_proof = request("ntu", &ntu(), &Keys::new(24)).signing_proof;
    let refused = m.onboard(&borrowed, "2025-02-01T00:00:00Z").await;
    assert!(matches!(refused, Err(RegistryError::Request(RequestError::Proof("signing key's proof")))), "{refused:?}");
    // The id is taken, whatever the keys.
    let taken = m.onboard(&request("nkust", &nkust(), &Keys::new(30)), "2025-02-01T00:00:00Z").await;
    assert!(matches!(taken, Err(RegistryError::IdTaken(ref id)) if id == "nkust"), "{taken:?}");
    // Another institution cannot register a key already registered.
    let same_keys = m.onboard(&request("ntu", &ntu(), &keys), "2025-02-01T00:00:00Z").await;
    assert!(matches!(same_keys, Err(RegistryError::KeyTaken)), "{same_keys:?}");
    // What the request says by itself.
    let bad_id = m.onboard(&request("NTU!", &ntu(), &Keys::new(40)), "2025-02-01T00:00:00Z").await;
    assert!(matches!(bad_id, Err(RegistryError::Request(RequestError::InvalidId(_)))), "{bad_id:?}");
    let no_levels = InstitutionDetails { degree_levels: vec![], ..ntu() };
    let refused = m.onboard(&request("ntu", &no_levels, &Keys::new(40)), "2025-02-01T00:00:00Z").await;
    assert!(matches!(refused, Err(RegistryError::Request(RequestError::Accreditation(_)))), "{refused:?}");
    let unnamed = InstitutionDetails { name_zh: String::new(), ..ntu() };
    let refused = m.onboard(&request("ntu", &unnamed, &Keys::new(40)), "2025-02-01T00:00:00Z").await;
    assert!(matches!(refused, Err(RegistryError::Request(RequestError::InvalidText { .. }))), "{refused:?}");
    assert_eq!(m.counts().await, (1, 1, 1), "nothing recorded");

    // The JSON is strict: unknown members and members named twice are refused.
    let json = String::from_utf8(request("ntu", &ntu(), &Keys::new(40)).to_json()).unwrap();
    assert_eq!(OnboardingRequest::parse(json.as_bytes()).unwrap(), request("ntu", &ntu(), &Keys::new(40)));
    let extra = json.replacen('{', "{\"role\": \"root\",", 1);
    assert!(matches!(OnboardingRequest::parse(extra.as_bytes()), Err(RequestError::Shape(_))));
    let twice = json.replacen('{', "{\"id\": \"nkust\",", 1);
    assert!(matches!(OnboardingRequest::parse(twice.as_bytes()), Err(RequestError::Shape(_))));
    assert!(matches!(OnboardingRequest::parse(&vec![b' '; 70_000]), Err(RequestError::TooLarge)));
}

#[tokio::test]
async fn publishing_twice_increments_the_sequence_and_the_site_serves_the_latest_list_after_a_refresh() {
    let m = Ministry::new().await;
    m.onboard_nkust(&Keys::new(10)).await;
    let first = m.publish("2025-02-01T00:00:00Z").await;
    let state = MinistryState::new(m.store.clone(), first.clone(), MinistryConfig::new(REGISTRY)).unwrap();
    assert!(!registry::refresh(&state).await.unwrap(), "already served");

    let changed = InstitutionDetails { address: "824005 高雄市燕巢區大學路1號".into(), ..nkust() };
    let recorded = registry::update_institution(
        &m.store,
        "nkust",
        &changed,
        ts("2025-02-15T00:00:00Z"),
        &crate::support::system("edit_institution"),
    )
    .await
    .unwrap();
    assert_eq!(registry::details_of(&recorded), changed);
    let second = m.publish("2025-03-01T00:00:00Z").await;
    let (a, b) = (
        TrustList::verify(&first, Some(m.root.fingerprint())).unwrap(),
        TrustList::verify(&second, Some(m.root.fingerprint())).unwrap(),
    );
    assert_eq!((a.content.sequence, b.content.sequence), (1, 2));
    assert_eq!(m.store.trust_list(1).await.unwrap().unwrap().json.as_bytes(), first.as_slice(), "every list is kept");
    assert_eq!(registry::latest(&m.store).await.unwrap(), Some(second.clone()));

    assert!(registry::refresh(&state).await.unwrap());
    assert_eq!(state.trust().bytes, second);
    assert_eq!(state.trust().list.content.sequence, 2);

    let unknown = registry::update_institution(
        &m.store,
        "nobody",
        &changed,
        ts("2025-03-02T00:00:00Z"),
        &crate::support::system("edit_institution"),
    )
    .await;
    assert!(matches!(unknown, Err(RegistryError::UnknownInstitution(_))));
}

/// Whether `result` is a refusal for want of a proof by a current key, for `problem`.
fn refused_for<T: std::fmt::Debug>(result: &Result<T, RegistryError>, problem: CurrentKeyProblem) -> bool {
    // Missing or bad proofs are seen in the request itself; the rest need the registry.
    matches!(result, Err(RegistryError::CurrentKey(p) | RegistryError::Request(RequestError::CurrentKey(p))) if *p == problem)
}

#[tokio::test]
async fn a_rotation_not_proven_by_a_key_the_institution_holds_now_is_refused_and_changes_nothing() {
    let m = Ministry::new().await;
    let real = Keys::new(10);
    m.onboard_nkust(&real).await;
    let ntu_keys = Keys::new(20);
    m.onboard(&request("ntu", &ntu(), &ntu_keys), "2025-01-02T00:00:00Z").await.unwrap();
    let before = m.store.trust_registry().await.unwrap();
    let attacker = Keys::new(70);
    let by = |current: &CredentialKey| {
        RotationRequest::sign("nkust", current, Some(&attacker.credential), Some(&attacker.signing)).unwrap()
    };
    let at = "2025-03-01T00:00:00Z";

    // Anyone can make keys and sign with them: a key of their own, or another institution's, is
    // not the institution's key.
    let own = m.rotate(&by(&Keys::new(72).credential), at).await;
    assert!(refused_for(&own, CurrentKeyProblem::NotRegistered), "{own:?}");
    let other = m.rotate(&by(&ntu_keys.credential), at).await;
    assert!(refused_for(&other, CurrentKeyProblem::NotRegistered), "{other:?}");
    // Signed by the new keys only, as rotation requests were before: the JSON still reads, the
    // rotation is refused, and the refusal says what to do about a lost key.
    let mut only_new = by(&real.credential);
    only_new.current_proof = None;
    let json = only_new.to_json();
    assert!(!String::from_utf8_lossy(&json).contains("currentProof"));
    let refused = m.rotate(&RotationRequest::parse(&json).unwrap(), at).await;
    assert!(refused_for(&refused, CurrentKeyProblem::Missing), "{refused:?}");
    let words = refused.unwrap_err().to_string();
    assert!(words.contains("revoke-key") && words.contains("onboards the institution again"), "{words}");
    let unnamed = RotationRequest { current_key: None, ..by(&real.credential) };
    assert!(refused_for(&m.rotate(&unnamed, at).await, CurrentKeyProblem::Missing));
    // The real key's signature of another request does not prove this one.
    let genuine = RotationRequest::sign("nkust", &real.credential, Some(&Keys::new(74).credential), None).unwrap();
    let replayed = RotationRequest { current_proof: genuine.current_proof.clone(), ..by(&real.credential) };
    let refused = m.rotate(&replayed, at).await;
    assert!(refused_for(&refused, CurrentKeyProblem::BadProof), "{refused:?}");
    // A new key's proof is not a proof by the current key, even by the same key over the same
    // request (the two sign after distinct contexts).
    let mut swapped = RotationRequest::sign("nkust", &attacker.credential, Some(&attacker.credential), None).unwrap();
    swapped.current_proof = swapped.proof.clone();
    assert!(refused_for(&m.rotate(&swapped, at).await, CurrentKeyProblem::BadProof));
    // Before the key's window.
    let early = m.rotate(&by(&real.credential), "2024-12-31T00:00:00Z").await;
    assert!(refused_for(&early, CurrentKeyProblem::NotValidNow), "{early:?}");
    assert_eq!(m.store.trust_registry().await.unwrap(), before, "nothing changed");

    // The institution rotates with its real key; the key it replaced proves nothing afterwards.
    let new = Keys::new(30);
    let rotation = RotationRequest::sign("nkust", &real.credential, Some(&new.credential), Some(&new.signing)).unwrap();
    let rotation = RotationRequest::parse(&rotation.to_json()).unwrap();
    m.rotate(&rotation, "2025-06-01T00:00:00Z").await.unwrap();
    let after_rotation = m.store.trust_registry().await.unwrap();
    let retired = m.rotate(&by(&real.credential), "2025-07-01T00:00:00Z").await;
    assert!(refused_for(&retired, CurrentKeyProblem::NotValidNow), "{retired:?}");
    assert_eq!(m.store.trust_registry().await.unwrap(), after_rotation, "nothing changed");
    // A revoked key proves nothing either, even before the time it is revoked from.
    let multikey = new.credential.public().to_multikey();
    registry::revoke_key(&m.store, "nkust", &multikey, (ts("2025-12-01T00:00:00Z"), "key compromise"), |_| {
        crate::support::system("revoke_key")
    })
    .await
    .unwrap();
    let revoked_state = m.store.trust_registry().await.unwrap();
    let revoked = m.rotate(&by(&new.credential), "2025-08-01T00:00:00Z").await;
    assert!(refused_for(&revoked, CurrentKeyProblem::Revoked), "{revoked:?}");
    assert!(matches!(
        registry::check_rotation(&m.store, &by(&new.credential)).await,
        Err(RegistryError::CurrentKey(_))
    ));
    assert_eq!(m.store.trust_registry().await.unwrap(), revoked_state, "nothing changed");
    assert_eq!(m.counts().await, (2, 3, 3), "only the real rotation was recorded");
    let trust = m.published("2025-08-02T00:00:00Z").await;
    let listed: Vec<&str> =
        trust.issuer("nkust").unwrap().keys.iter().map(|k| k.entry.public_key_multibase.as_str()).collect();
    assert!(!listed.contains(&attacker.credential.public().to_multikey().as_str()));
}

#[tokio::test]
async fn a_list_under_another_root_is_not_published_over_the_lists_kept_and_not_served() {
    let m = Ministry::new().await;
    m.onboard_nkust(&Keys::new(10)).await;
    let first = m.publish("2025-02-01T00:00:00Z").await;
    let other = Ministry::with_root(5).await;
    assert_ne!(other.root.fingerprint(), m.root.fingerprint());
    other.onboard_nkust(&Keys::new(10)).await;

    // `dcert ministry publish --root OTHER` on this registry: refused, nothing kept.
    let refused = other.publish_to(&m.store, None, "2025-03-01T00:00:00Z").await;
    assert!(
        matches!(refused, Err(RegistryError::OtherRoot { published }) if published == m.root.fingerprint()),
        "{refused:?}"
    );
    assert_eq!(registry::latest(&m.store).await.unwrap(), Some(first.clone()));
    // The registry's own root still publishes; a registry with no list yet takes any root.
    assert_eq!(TrustList::verify(&m.publish("2025-03-02T00:00:00Z").await, None).unwrap().content.sequence, 2);
    other.publish_to(&other.store, None, "2025-03-03T00:00:00Z").await.unwrap();

    // A node serving this root does not follow a registry whose lists are under another.
    let state = MinistryState::new(other.store.clone(), first.clone(), MinistryConfig::new(REGISTRY)).unwrap();
    let refused = registry::refresh(&state).await;
    assert!(matches!(refused, Err(RegistryError::TrustList(_))), "{refused:?}");
    assert_eq!(state.trust().bytes, first, "the list served stays");
}

#[tokio::test]
async fn a_node_never_goes_back_to_an_older_list_and_a_publication_numbers_above_the_list_served() {
    let m = Ministry::new().await;
    m.onboard_nkust(&Keys::new(10)).await;
    for at in ["2025-02-01T00:00:00Z", "2025-02-02T00:00:00Z"] {
        m.publish(at).await;
    }
    // A list numbered 3, served from a file by a node whose registry has published nothing yet.
    let served = m.publish("2025-02-03T00:00:00Z").await;
    let fresh = m.other_store("fresh").await;
    let (ca, root, until) = (&m.ca, &m.root, ts("2030-01-01T00:00:00Z"));
    let nkust_request = request("nkust", &nkust(), &Keys::new(10));
    registry::onboard(&fresh, ca, root, &nkust_request, (ts("2025-01-01T00:00:00Z"), until), |_| {
        crate::support::system("onboard_institution")
    })
    .await
    .unwrap();
    let state = MinistryState::new(fresh.clone(), served.clone(), MinistryConfig::new(REGISTRY)).unwrap();
    assert!(!registry::refresh(&state).await.unwrap(), "nothing published there yet");

    // Numbered from the registry alone (the CLI), the first list is older than the one served:
    // the node keeps serving its list (no rollback).
    let older = m.publish_to(&fresh, None, "2025-03-01T00:00:00Z").await.unwrap();
    assert_eq!(TrustList::verify(&older, None).unwrap().content.sequence, 1);
    let refused = registry::refresh(&state).await;
    assert!(matches!(refused, Err(RegistryError::NotNewer { published: 1, served: 3 })), "{refused:?}");
    assert_eq!(state.trust().bytes, served, "the list served stays");

    // Numbered above the list served (the console), the next list is served.
    let newer = m.publish_to(&fresh, Some(3), "2025-03-02T00:00:00Z").await.unwrap();
    assert_eq!(TrustList::verify(&newer, None).unwrap().content.sequence, 4);
    assert!(registry::refresh(&state).await.unwrap());
    assert_eq!((state.trust().bytes.as_slice(), state.trust().list.content.sequence), (newer.as_slice(), 4));
    // Above whichever is larger: the list kept or the one served.
    let next = m.publish_to(&fresh, Some(2), "2025-03-03T00:00:00Z").await.unwrap();
    assert_eq!(TrustList::verify(&next, None).unwrap().content.sequence, 5);
    assert!(registry::refresh(&state).await.unwrap());
}

#[test]
fn a_signing_key_is_read_from_base64_der_or_pem_and_nothing_else() {
    let key = EcKey::from_seed(&[7; 32]).unwrap().public();
    let b64 = registry::signing_key_text(&key);
    assert_eq!(registry::parse_signing_key(&b64).unwrap(), key);
    let der = base64_decode(&b64);
    assert_eq!(registry::parse_signing_key(&x509::der_to_pem("PUBLIC KEY", &der)).unwrap(), key);
    // The compressed form, as `openssl ec -conv_form compressed` writes it.
    let mut compressed = vec![0x30, 0x39, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08];
    compressed.extend_from_slice(&[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x22, 0x00]);
    let sec1 = key.to_sec1();
    compressed.push(if sec1[64] & 1 == 1 { 3 } else { 2 });
    compressed.extend_from_slice(&sec1[1..33]);
    assert_eq!(registry::parse_signing_key(&x509::der_to_pem("PUBLIC KEY", &compressed)).unwrap(), key);
    for bad in [&der[..der.len() - 1], &[der.as_slice(), &[0]].concat()[..], &der[26..]] {
        assert!(registry::parse_signing_key(&x509::der_to_pem("PUBLIC KEY", bad)).is_err());
    }
    assert!(registry::parse_signing_key(&CredentialKey::from_seed(&[7; 32]).public().to_multikey()).is_err());
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64ct::Encoding as _;
    base64ct::Base64::decode_vec(text).unwrap()
}
