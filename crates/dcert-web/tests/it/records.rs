//! The signed issuance-records API against a real Ministry site on a real port, with a real
//! SQLite registry and a trust list of two institutions (NKUST, accredited for degrees, and
//! NTU). Every refusal is checked against the registry itself: nothing recorded.

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use dcert_core::Sha256Digest;
use dcert_core::issue::IssuerKit;
use dcert_core::keys::CredentialKey;
use dcert_core::model::{CredentialType, DegreeLevel, Language};
use dcert_core::records::{self, MAX_BODY_BYTES, RecordEvent, RecordPayload, RequestToSign};
use dcert_core::time::Timestamp;
use dcert_core::trust::{Accreditation, TrustList};
use dcert_store::{MinistryStore, RegistryRecord};
use dcert_web::http::outbound::http_request;
use dcert_web::ministry::{MinistryConfig, ministry_router};
use dcert_web::university::registry_client::HttpRegistry;
use dcert_web::university::worker::Registry;
use serde_json::Value;

use crate::support::{REGISTRY, Served, TempDir, institution, keys, root};

const NUMBER: &str = "(114)高科大電子學字第012345號";

/// A Ministry site serving a trust list of NKUST and NTU, and its registry.
struct Ministry {
    site: Served,
    store: MinistryStore,
    nkust: IssuerKit,
    ntu: CredentialKey,
    _dir: TempDir,
}

/// The test university's trust list with NTU added, signed again: its bytes, and NTU's
/// credential key.
fn two_institutions(trust: &TrustList) -> (Vec<u8>, CredentialKey) {
    let root = root();
    let accreditation =
        Accreditation { credential_types: vec![CredentialType::Degree], degree_levels: vec![DegreeLevel::Bachelor] };
    let (ntu, entry) = institution(&root, "ntu", "國立臺灣大學", "National Taiwan University", 20, accreditation);
    let (_, json) = root.trust_list(REGISTRY, vec![trust.content.issuers[0].clone(), entry]);
    (json, ntu.credential_key)
}

impl Ministry {
    async fn start() -> Ministry {
        let dir = TempDir::new("records");
        let store = MinistryStore::open(&format!("sqlite://{}", dir.0.join("ministry.db").display())).await.unwrap();
        let (nkust, trust) = keys();
        let (trust_list, ntu) = two_institutions(&trust);
        let site = Served::start_with(|url| {
            let state = crate::support::ministry_site(store.clone(), trust_list, MinistryConfig::new(url));
            assert!(state.trust().list.issuer("ntu").is_some());
            ministry_router(state)
        })
        .await;
        Ministry { site, store, nkust, ntu, _dir: dir }
    }

    /// Every record of the registry.
    async fn log(&self) -> Vec<RegistryRecord> {
        self.store.registry_log(0, 100_000).await.unwrap().into_iter().map(|(_, r)| r).collect()
    }

    /// Sends `body` as `institution`, signed with `key` at `at` with `nonce`, as a program would.
    async fn post_signed(
        &self,
        institution: &str,
        key: &CredentialKey,
        at: Timestamp,
        nonce: &str,
        body: &[u8],
    ) -> (StatusCode, Value) {
        let request =
            RequestToSign { method: "POST", path: "/api/v1/records", institution, timestamp: at, nonce, body };
        let signature = records::sign(key, &request);
        let at = at.unix().to_string();
        self.post(
            &[
                ("dcert-institution", institution),
                ("dcert-timestamp", &at),
                ("dcert-nonce", nonce),
                ("dcert-signature", &signature),
            ],
            body,
        )
        .await
    }

    /// Sends `body` with these headers.
    async fn post(&self, headers: &[(&str, &str)], body: &[u8]) -> (StatusCode, Value) {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_str(value).unwrap());
        }
        map.insert("content-type", HeaderValue::from_static("application/json"));
        let url = format!("{}/api/v1/records", self.site.base);
        let (status, _, answer) = http_request(Method::POST, &url, map, Bytes::copy_from_slice(body)).await.unwrap();
        (status, serde_json::from_slice(&answer).unwrap_or(Value::Null))
    }

    /// Submits a record as `institution`, signed with `key`, now, with a new nonce.
    async fn submit(&self, institution: &str, key: &CredentialKey, p: &RecordPayload) -> (StatusCode, Value) {
        let body = p.to_json();
        self.post_signed(institution, key, dcert_web::http::now(), &nonce(), &body).await
    }

    /// Submits a record as NKUST with its key.
    async fn submit_nkust(&self, p: &RecordPayload) -> (StatusCode, Value) {
        self.submit("nkust", &self.nkust.credential_key.clone(), p).await
    }
}

fn nonce() -> String {
    dcert_web::auth::random_token()
}

/// The SHA-256 of a pretend file.
fn sha(file: &str) -> String {
    Sha256Digest::of(file.as_bytes()).to_string()
}

fn issued(institution: &str, file: &str, version: u32, previous: Option<&str>) -> RecordPayload {
    RecordPayload {
        institution: institution.into(),
        event: RecordEvent::Issued,
        sha256: sha(file),
        number: NUMBER.into(),
        language: Language::Zh,
        version,
        previous_sha256: previous.map(sha),
        credential_type: CredentialType::Degree,
        credential_sha256: None,
        reason: None,
        at: dcert_web::http::now().unix(),
    }
}

fn revoked(institution: &str, file: &str, version: u32, reason: &str) -> RecordPayload {
    RecordPayload {
        event: RecordEvent::Revoked,
        reason: Some(reason.into()),
        previous_sha256: None,
        ..issued(institution, file, version, None)
    }
}

fn events(records: &[RegistryRecord]) -> Vec<(&str, &str, i64)> {
    records.iter().map(|r| (r.institution.as_str(), r.event.as_str(), r.version)).collect()
}

#[tokio::test]
async fn an_issued_record_signed_by_its_institution_is_recorded_once_and_again_is_idempotent() {
    let m = Ministry::start().await;
    let p = issued("nkust", "v1", 1, None);
    let (status, answer) = m.submit_nkust(&p).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(answer["status"], "recorded");
    let (status, answer) = m.submit_nkust(&p).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["status"], "already_recorded");
    let kept = m.store.registry_records(&sha("v1")).await.unwrap();
    assert_eq!(events(&kept), [("nkust", "issued", 1)]);
    assert_eq!(kept[0].number, NUMBER);
    assert_eq!(kept[0].credential_type, "degree");
    assert_eq!(m.log().await.len(), 1);
}

#[tokio::test]
async fn a_request_signed_with_a_wrong_key_is_refused_and_records_nothing() {
    let m = Ministry::start().await;
    let p = issued("nkust", "v1", 1, None);
    let body = serde_json::to_vec(&p).unwrap();
    let now = dcert_web::http::now();
    // Another institution's key, a key of no one, and NKUST's own key over another body.
    for key in [m.ntu.clone(), CredentialKey::from_seed(&[99; 32])] {
        let (status, answer) = m.post_signed("nkust", &key, now, &nonce(), &body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
        assert_eq!(answer["error"]["code"], "bad_signature");
        assert!(answer["error"]["message"].as_str().unwrap().contains("does not verify"), "{answer}");
    }
    let key = m.nkust.credential_key.clone();
    let n = nonce();
    let signature = records::sign(
        &key,
        &RequestToSign {
            method: "POST",
            path: "/api/v1/records",
            institution: "nkust",
            timestamp: now,
            nonce: &n,
            body: b"{}",
        },
    );
    let at = now.unix().to_string();
    let headers = [
        ("dcert-institution", "nkust"),
        ("dcert-timestamp", at.as_str()),
        ("dcert-nonce", n.as_str()),
        ("dcert-signature", signature.as_str()),
    ];
    let (status, answer) = m.post(&headers, &body).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("bad_signature")));
    // No signature at all, or an institution the trust list does not name.
    let (status, answer) = m.post(&headers[..3], &body).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("malformed_signature_headers"))
    );
    let (status, answer) = m.post_signed("nowhere", &key, now, &nonce(), &body).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unknown_institution")));
    assert!(m.log().await.is_empty());
    assert!(m.store.registry_records(&sha("v1")).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_replayed_request_is_refused_and_records_nothing() {
    let m = Ministry::start().await;
    let key = m.nkust.credential_key.clone();
    let now = dcert_web::http::now();
    let nonce = nonce();
    let body = serde_json::to_vec(&issued("nkust", "v1", 1, None)).unwrap();
    let (status, answer) = m.post_signed("nkust", &key, now, &nonce, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let before = m.log().await;
    assert_eq!(before.len(), 1);
    // The same request, byte for byte.
    let (status, answer) = m.post_signed("nkust", &key, now, &nonce, &body).await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert_eq!(answer["error"]["code"], "replay");
    // The nonce again, over a new record: refused, the new record not kept.
    let english = RecordPayload { language: Language::En, ..issued("nkust", "another file", 1, None) };
    let other = serde_json::to_vec(&english).unwrap();
    let (status, answer) = m.post_signed("nkust", &key, now.plus_seconds(1), &nonce, &other).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("replay")));
    assert_eq!(m.log().await, before);
    assert!(m.store.registry_records(&sha("another file")).await.unwrap().is_empty());
    // The same nonce is another institution's own business.
    let ntu = serde_json::to_vec(&issued("ntu", "ntu file", 1, None)).unwrap();
    let (status, answer) = m.post_signed("ntu", &m.ntu, now, &nonce, &ntu).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
}

#[tokio::test]
async fn a_revocation_of_another_institutions_certificate_is_refused_and_records_nothing() {
    let m = Ministry::start().await;
    assert_eq!(m.submit_nkust(&issued("nkust", "v1", 1, None)).await.0, StatusCode::CREATED);
    let before = m.log().await;
    // NTU revoking NKUST's file in its own name, and in NKUST's name.
    let (status, answer) = m.submit("ntu", &m.ntu, &revoked("ntu", "v1", 1, "forged")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert_eq!(answer["error"]["code"], "not_your_certificate");
    let (status, answer) = m.submit("ntu", &m.ntu, &revoked("nkust", "v1", 1, "forged")).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("wrong_institution")));
    // A file the registry does not have, and a revocation without a reason.
    let (status, answer) = m.submit_nkust(&revoked("nkust", "never issued", 1, "error")).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    let (status, answer) = m.submit_nkust(&revoked("nkust", "v1", 1, "  ")).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("reason_required")));
    assert_eq!(m.log().await, before);
    // NKUST revokes its own: recorded, with the reason.
    let (status, answer) = m.submit_nkust(&revoked("nkust", "v1", 1, "學位撤銷")).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let kept = m.store.registry_records(&sha("v1")).await.unwrap();
    assert_eq!(events(&kept), [("nkust", "issued", 1), ("nkust", "revoked", 1)]);
    assert_eq!(kept[1].reason.as_deref(), Some("學位撤銷"));
}

#[tokio::test]
async fn an_issued_record_naming_another_institution_is_refused() {
    let m = Ministry::start().await;
    // NTU signing a record in NKUST's name.
    let (status, answer) = m.submit("ntu", &m.ntu, &issued("nkust", "v1", 1, None)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert_eq!(answer["error"]["code"], "wrong_institution");
    assert!(m.log().await.is_empty());
    // NTU claiming, in its own name, a file NKUST issued, or superseding it.
    assert_eq!(m.submit_nkust(&issued("nkust", "v1", 1, None)).await.0, StatusCode::CREATED);
    let before = m.log().await;
    let (status, answer) = m.submit("ntu", &m.ntu, &issued("ntu", "v1", 1, None)).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("not_your_certificate")));
    let (status, answer) = m.submit("ntu", &m.ntu, &issued("ntu", "ntu v2", 2, Some("v1"))).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("not_your_certificate")));
    assert_eq!(m.log().await, before);
}

#[tokio::test]
async fn a_stale_timestamp_is_refused() {
    let m = Ministry::start().await;
    let key = m.nkust.credential_key.clone();
    let body = serde_json::to_vec(&issued("nkust", "v1", 1, None)).unwrap();
    let now = dcert_web::http::now();
    let (status, answer) = m.post_signed("nkust", &key, now.plus_seconds(-400), &nonce(), &body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    assert_eq!(answer["error"]["code"], "stale_timestamp");
    let (status, answer) = m.post_signed("nkust", &key, now.plus_seconds(400), &nonce(), &body).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("future_timestamp")));
    assert!(m.log().await.is_empty());
}

#[tokio::test]
async fn a_record_outside_the_accreditation_or_inconsistent_in_itself_is_refused_and_records_nothing() {
    let m = Ministry::start().await;
    let teacher = RecordPayload { credential_type: CredentialType::Teacher, ..issued("nkust", "v1", 1, None) };
    let (status, answer) = m.submit_nkust(&teacher).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("not_accredited")));
    // An event the wire format does not have, sent as an institution could send it.
    let superseded =
        String::from_utf8(issued("nkust", "v1", 1, None).to_json()).unwrap().replace("issued", "superseded");
    let key = m.nkust.credential_key.clone();
    let (status, answer) = m.post_signed("nkust", &key, dcert_web::http::now(), &nonce(), superseded.as_bytes()).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_event")));
    let upper = RecordPayload { sha256: sha("v1").to_uppercase(), ..issued("nkust", "v1", 1, None) };
    assert_eq!(m.submit_nkust(&upper).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    // A credential's hash: 64 lowercase hex digits, of another file than the PDF, on an issue.
    for credential in ["xyz".to_owned(), sha("v1"), sha("v1").to_uppercase()] {
        let named = RecordPayload { credential_sha256: Some(credential.clone()), ..issued("nkust", "v1", 1, None) };
        assert_eq!(m.submit_nkust(&named).await.0, StatusCode::UNPROCESSABLE_ENTITY, "{credential}");
    }
    let on_revocation =
        RecordPayload { credential_sha256: Some(sha("the credential")), ..revoked("nkust", "v1", 1, "wrong") };
    assert_eq!(m.submit_nkust(&on_revocation).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    // A reissue whose previous version the registry does not have.
    let (status, answer) = m.submit_nkust(&issued("nkust", "v2", 2, Some("v1"))).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("bad_previous")));
    // Not JSON, and a body over the limit (refused before it is read).
    let key = m.nkust.credential_key.clone();
    let (status, answer) = m.post_signed("nkust", &key, dcert_web::http::now(), &nonce(), b"not json").await;
    assert_eq!((status, answer["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("malformed_record")));
    let big = vec![b' '; MAX_BODY_BYTES + 1];
    let (status, answer) = m.post_signed("nkust", &key, dcert_web::http::now(), &nonce(), &big).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some("too_large")));
    assert!(m.log().await.is_empty());
    // Version 1, then another file claiming to be version 1 of the same certificate.
    assert_eq!(m.submit_nkust(&issued("nkust", "v1", 1, None)).await.0, StatusCode::CREATED);
    let (status, answer) = m.submit_nkust(&issued("nkust", "other v1", 1, None)).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("conflicting_record")));
    // The same file again with another version: not the same record.
    let (status, answer) = m.submit_nkust(&issued("nkust", "v1", 3, None)).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("conflicting_record")));
    // A reissue that skips a version.
    let (status, answer) = m.submit_nkust(&issued("nkust", "v3", 3, Some("v1"))).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("bad_previous")));
    assert_eq!(m.log().await.len(), 1);
}

#[tokio::test]
async fn the_worker_submits_through_the_http_registry_and_a_reissue_supersedes() {
    let m = Ministry::start().await;
    let registry = HttpRegistry::new(&format!("{}/", m.site.base), &m.nkust);
    registry.submit(&issued("nkust", "v1", 1, None)).await.unwrap();
    // Submitting again (a retry after a lost answer) is harmless.
    registry.submit(&issued("nkust", "v1", 1, None)).await.unwrap();
    registry.submit(&issued("nkust", "v2", 2, Some("v1"))).await.unwrap();
    let v1 = m.store.registry_records(&sha("v1")).await.unwrap();
    assert_eq!(events(&v1), [("nkust", "issued", 1), ("nkust", "superseded", 1)]);
    let v2 = m.store.registry_records(&sha("v2")).await.unwrap();
    assert_eq!(events(&v2), [("nkust", "issued", 2)]);
    assert_eq!(v2[0].previous_sha256.as_deref(), Some(sha("v1").as_str()));
    registry.submit(&revoked("nkust", "v2", 2, "學位撤銷")).await.unwrap();
    let certificate = m.store.registry_certificate("nkust", NUMBER, "zh").await.unwrap();
    assert_eq!(
        events(&certificate),
        [("nkust", "issued", 1), ("nkust", "issued", 2), ("nkust", "superseded", 1), ("nkust", "revoked", 2)]
    );
    // The server's refusal reaches the worker with its code and text.
    let e = registry.submit(&revoked("nkust", "v1", 1, "")).await.unwrap_err().to_string();
    assert!(e.contains("422") && e.contains("reason_required"), "{e}");
    let ntu = HttpRegistry { institution: "ntu".into(), key: m.ntu.clone(), ..registry.clone() };
    let e = ntu.submit(&revoked("nkust", "v1", 1, "forged")).await.unwrap_err().to_string();
    assert!(e.contains("403") && e.contains("wrong_institution"), "{e}");
    assert_eq!(m.log().await.len(), 4);
    // Nowhere to send to: an error, not a panic.
    let gone = HttpRegistry { base_url: "http://127.0.0.1:9".into(), ..registry.clone() };
    assert!(gone.submit(&issued("nkust", "v3", 3, Some("v2"))).await.is_err());
    // Plain HTTP crosses no network: records go to another machine over TLS only.
    let plain = HttpRegistry { base_url: "http://registry.example".into(), ..registry };
    let e = plain.submit(&issued("nkust", "v3", 3, Some("v2"))).await.unwrap_err().to_string();
    assert!(e.contains("allowed only to this machine") && e.contains("https://"), "{e}");
}

#[tokio::test]
async fn a_key_revoked_in_the_registry_signs_nothing_even_before_the_next_list_is_published() {
    let m = Ministry::start().await;
    let key = m.nkust.credential_key.public().to_multikey();
    let cert = &m.nkust.pdf_signer.certificate;
    let institution = dcert_store::Institution {
        id: "nkust".into(),
        name_zh: m.nkust.name_zh.clone(),
        name_en: m.nkust.name_en.clone(),
        address: "高雄市三民區建工路415號".into(),
        accreditation: dcert_core::trust::Accreditation {
            credential_types: vec![dcert_core::CredentialType::Degree],
            degree_levels: vec![dcert_core::model::DegreeLevel::Bachelor],
        },
        created_at: 0,
        updated_at: 0,
    };
    let now = dcert_web::http::now().unix();
    let sha = dcert_core::Sha256Digest::of(cert).to_string();
    m.store
        .add_institution(
            &institution,
            &dcert_store::NewInstitutionKey { public_key_multibase: &key, valid_from: 0, valid_until: now + 86_400 },
            &dcert_store::NewInstitutionCertificate { der: cert, sha256: &sha, not_before: 0, not_after: now + 86_400 },
            now,
            &crate::support::system("onboard_institution"),
        )
        .await
        .unwrap();
    let (status, answer) = m.submit_nkust(&issued("nkust", "before", 1, None)).await;
    assert_eq!(status, StatusCode::CREATED, "while the key is good: {answer}");
    m.store
        .revoke_institution_key(
            "nkust",
            &key,
            now - 60,
            "the key left the building",
            &crate::support::system("revoke_key"),
        )
        .await
        .unwrap();
    let before = m.log().await.len();
    let (status, answer) = m.submit_nkust(&issued("nkust", "after", 2, None)).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("key_revoked")));
    assert_eq!(m.log().await.len(), before, "nothing recorded");
}
