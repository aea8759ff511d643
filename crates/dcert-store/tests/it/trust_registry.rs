//! The trust registry's tables: institutions, keys and certificates that are never deleted, and
//! the published trust lists.

use dcert_core::model::{CredentialType, DegreeLevel};
use dcert_core::trust::Accreditation;
use dcert_store::{
    AuditEntry, Institution, MinistryStore, NewInstitutionCertificate, NewInstitutionKey, StoreError, StoredTrustList,
};

use super::ministry_fixture as fixture;

/// The audit entry of the Ministry's operator doing `action`.
fn operator(action: &str) -> AuditEntry {
    AuditEntry::local(1, "cli", "operator", action, "-", "")
}

fn nkust() -> Institution {
    Institution {
        id: "nkust".into(),
        name_zh: "國立高雄科技大學".into(),
        name_en: "National Kaohsiung University of Science and Technology".into(),
        address: "高雄市楠梓區卓越路2號".into(),
        accreditation: Accreditation {
            credential_types: vec![CredentialType::Degree],
            degree_levels: vec![DegreeLevel::Bachelor, DegreeLevel::Master],
        },
        created_at: 0,
        updated_at: 0,
    }
}

fn key(multikey: &str, from: i64, until: i64) -> NewInstitutionKey<'_> {
    NewInstitutionKey { public_key_multibase: multikey, valid_from: from, valid_until: until }
}

fn cert<'a>(der: &'a [u8], sha256: &'a str, from: i64, until: i64) -> NewInstitutionCertificate<'a> {
    NewInstitutionCertificate { der, sha256, not_before: from, not_after: until }
}

async fn onboard_nkust(store: &MinistryStore) {
    store
        .add_institution(
            &nkust(),
            &key("z6MkOld", 100, 10_000),
            &cert(b"der-1", "s1", 100, 10_000),
            100,
            &operator("add_institution"),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn an_institution_is_recorded_with_its_first_key_and_certificate_and_a_taken_id_or_key_changes_nothing() {
    let f = fixture().await;
    for store in &f.stores {
        onboard_nkust(store).await;
        let stored = store.institution("nkust").await.unwrap().unwrap();
        assert_eq!(stored, Institution { created_at: 100, updated_at: 100, ..nkust() });
        let keys = store.institution_keys("nkust").await.unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(
            (keys[0].public_key_multibase.as_str(), keys[0].valid_from, keys[0].valid_until),
            ("z6MkOld", 100, 10_000)
        );
        assert_eq!((keys[0].revoked_from, keys[0].added_at), (None, 100));
        let certs = store.institution_certificates("nkust").await.unwrap();
        assert_eq!((certs[0].der.as_slice(), certs[0].sha256.as_str()), (&b"der-1"[..], "s1"));

        // The same id again, even with new keys: refused, nothing recorded.
        let again = store
            .add_institution(
                &nkust(),
                &key("z6MkNew", 200, 300),
                &cert(b"der-2", "s2", 200, 300),
                200,
                &operator("add_institution"),
            )
            .await;
        assert!(matches!(again, Err(StoreError::Conflict(ref m)) if m.contains("nkust")), "{again:?}");
        // Another institution with a key already registered: refused, the institution is not kept.
        let ntu = Institution { id: "ntu".into(), ..nkust() };
        let taken = store
            .add_institution(
                &ntu,
                &key("z6MkOld", 200, 300),
                &cert(b"der-3", "s3", 200, 300),
                200,
                &operator("add_institution"),
            )
            .await;
        assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
        assert_eq!(store.institution("ntu").await.unwrap(), None);
        assert_eq!(store.institutions().await.unwrap().len(), 1);
        assert_eq!(store.institution_keys("nkust").await.unwrap().len(), 1);
        assert!(store.institution_certificates("ntu").await.unwrap().is_empty());
    }
    f.finish().await;
}

#[tokio::test]
async fn an_institutions_names_address_and_accreditation_change_but_not_its_creation() {
    let f = fixture().await;
    for store in &f.stores {
        onboard_nkust(store).await;
        let mut changed = nkust();
        changed.address = "高雄市燕巢區大學路1號".into();
        changed.accreditation.degree_levels.push(DegreeLevel::Doctor);
        changed.created_at = 999;
        store.update_institution(&changed, 500, &operator("update_institution")).await.unwrap();
        let stored = store.institution("nkust").await.unwrap().unwrap();
        assert_eq!(stored, Institution { created_at: 100, updated_at: 500, ..changed });
        let unknown = Institution { id: "nobody".into(), ..nkust() };
        assert!(matches!(
            store.update_institution(&unknown, 500, &operator("update_institution")).await,
            Err(StoreError::NotFound(_))
        ));
    }
    f.finish().await;
}

#[tokio::test]
async fn a_rotation_ends_the_open_key_at_its_time_and_keeps_every_old_key_and_certificate() {
    let f = fixture().await;
    for store in &f.stores {
        onboard_nkust(store).await;
        store
            .rotate_institution_keys(
                "nkust",
                Some(&key("z6MkNew", 1_000, 20_000)),
                Some(&cert(b"der-2", "s2", 1_000, 20_000)),
                1_000,
                &operator("rotate_institution_keys"),
            )
            .await
            .unwrap();
        let keys = store.institution_keys("nkust").await.unwrap();
        let windows: Vec<_> =
            keys.iter().map(|k| (k.public_key_multibase.as_str(), k.valid_from, k.valid_until)).collect();
        assert_eq!(windows, [("z6MkOld", 100, 1_000), ("z6MkNew", 1_000, 20_000)]);
        let certs = store.institution_certificates("nkust").await.unwrap();
        assert_eq!(certs.iter().map(|c| c.sha256.as_str()).collect::<Vec<_>>(), ["s1", "s2"]);

        // A certificate alone leaves the keys' windows as they are.
        store
            .rotate_institution_keys(
                "nkust",
                None,
                Some(&cert(b"der-3", "s3", 2_000, 20_000)),
                2_000,
                &operator("rotate_institution_keys"),
            )
            .await
            .unwrap();
        assert_eq!(store.institution_keys("nkust").await.unwrap(), keys);
        assert_eq!(store.institution_certificates("nkust").await.unwrap().len(), 3);

        // A key already registered changes nothing, not even the open key's window.
        let reused = store
            .rotate_institution_keys(
                "nkust",
                Some(&key("z6MkOld", 3_000, 4_000)),
                None,
                3_000,
                &operator("rotate_institution_keys"),
            )
            .await;
        assert!(matches!(reused, Err(StoreError::Conflict(_))), "{reused:?}");
        assert_eq!(store.institution_keys("nkust").await.unwrap(), keys);
        let nobody = store
            .rotate_institution_keys(
                "nobody",
                Some(&key("z6MkX", 3_000, 4_000)),
                None,
                3_000,
                &operator("rotate_institution_keys"),
            )
            .await;
        assert!(matches!(nobody, Err(StoreError::NotFound(_))));

        let snapshot = store.trust_registry().await.unwrap();
        assert_eq!(snapshot.len(), 1);
        assert_eq!(snapshot[0].keys, keys);
        assert_eq!(snapshot[0].certificates.len(), 3);
    }
    f.finish().await;
}

#[tokio::test]
async fn a_key_or_certificate_is_revoked_once_and_the_database_refuses_to_delete_or_widen_it() {
    let f = fixture().await;
    for (i, store) in f.stores.iter().enumerate() {
        onboard_nkust(store).await;
        store
            .revoke_institution_key("nkust", "z6MkOld", 5_000, "key compromise", &operator("revoke_institution_key"))
            .await
            .unwrap();
        let again = store
            .revoke_institution_key("nkust", "z6MkOld", 4_000, "earlier", &operator("revoke_institution_key"))
            .await;
        assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
        let k = store.institution_keys("nkust").await.unwrap().remove(0);
        assert_eq!((k.revoked_from, k.revocation_reason.as_deref()), (Some(5_000), Some("key compromise")));
        assert!(matches!(
            store.revoke_institution_key("ntu", "z6MkOld", 1, "x", &operator("revoke_institution_key")).await,
            Err(StoreError::NotFound(_))
        ));

        store
            .revoke_institution_certificate(
                "nkust",
                "s1",
                5_000,
                "key compromise",
                &operator("revoke_institution_certificate"),
            )
            .await
            .unwrap();
        assert!(matches!(
            store
                .revoke_institution_certificate(
                    "nkust",
                    "s1",
                    5_000,
                    "again",
                    &operator("revoke_institution_certificate")
                )
                .await,
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            store
                .revoke_institution_certificate("nkust", "s9", 5_000, "x", &operator("revoke_institution_certificate"))
                .await,
            Err(StoreError::NotFound(_))
        ));
        let c = store.institution_certificates("nkust").await.unwrap().remove(0);
        assert_eq!(c.revoked_from, Some(5_000));

        // Whatever the application does, the database keeps the history.
        for statement in [
            "DELETE FROM institution_keys",
            "DELETE FROM institution_certificates",
            "DELETE FROM institutions",
            "UPDATE institution_keys SET valid_until = valid_until + 1",
            "UPDATE institution_keys SET revoked_from = NULL, revocation_reason = NULL",
            "UPDATE institution_keys SET public_key_multibase = 'z6MkOther'",
            "UPDATE institution_certificates SET revoked_from = NULL, revocation_reason = NULL",
            "UPDATE institution_certificates SET der = sha256",
        ] {
            assert!(f.raw(i, statement).await.is_err(), "{statement} on {:?}", store.backend());
        }
        assert_eq!(store.institution_keys("nkust").await.unwrap(), vec![k]);
        assert_eq!(store.institution_certificates("nkust").await.unwrap(), vec![c]);
    }
    f.finish().await;
}

#[tokio::test]
async fn of_revocations_at_once_of_the_same_key_or_certificate_one_is_kept_and_the_others_are_conflicts() {
    let f = fixture().await;
    for store in &f.stores {
        onboard_nkust(store).await;
        // Several at once, each from another time: exactly one is recorded, the others are told
        // it is revoked already (not a database error from the trigger).
        for (certificate, base) in [(false, 5_000), (true, 6_000)] {
            let tasks: Vec<_> = (0..6)
                .map(|i| {
                    let store = store.clone();
                    tokio::spawn(async move {
                        match certificate {
                            false => {
                                store
                                    .revoke_institution_key(
                                        "nkust",
                                        "z6MkOld",
                                        base + i,
                                        "compromise",
                                        &operator("revoke_institution_key"),
                                    )
                                    .await
                            }
                            true => {
                                store
                                    .revoke_institution_certificate(
                                        "nkust",
                                        "s1",
                                        base + i,
                                        "compromise",
                                        &operator("revoke_institution_certificate"),
                                    )
                                    .await
                            }
                        }
                    })
                })
                .collect();
            let mut results = Vec::new();
            for task in tasks {
                results.push(task.await.unwrap());
            }
            let won: Vec<i64> = (0..6).filter(|&i| results[i as usize].is_ok()).collect();
            assert_eq!(won.len(), 1, "{results:?} on {:?}", store.backend());
            for r in &results {
                assert!(
                    r.is_ok() || matches!(r, Err(StoreError::Conflict(m)) if m.contains("already revoked")),
                    "{r:?} on {:?}",
                    store.backend()
                );
            }
            let kept = match certificate {
                false => store.institution_keys("nkust").await.unwrap()[0].revoked_from,
                true => store.institution_certificates("nkust").await.unwrap()[0].revoked_from,
            };
            assert_eq!(kept, Some(base + won[0]), "the revocation kept is the one that succeeded");
        }
    }
    f.finish().await;
}

#[tokio::test]
async fn published_trust_lists_are_kept_in_sequence_and_the_latest_is_served() {
    let f = fixture().await;
    for (i, store) in f.stores.iter().enumerate() {
        assert_eq!(store.latest_trust_list().await.unwrap(), None);
        let list =
            |sequence: i64, json: &str| StoredTrustList { sequence, issued_at: sequence * 10, json: json.into() };
        store.append_trust_list(&list(1, "{\"first\":1}"), &operator("append_trust_list")).await.unwrap();
        store.append_trust_list(&list(2, "{\"second\":2}"), &operator("append_trust_list")).await.unwrap();
        assert_eq!(store.latest_trust_list().await.unwrap(), Some(list(2, "{\"second\":2}")));
        assert_eq!(store.trust_list(1).await.unwrap(), Some(list(1, "{\"first\":1}")));
        // A list signed while another was published is refused.
        for stale in [1, 2] {
            let refused = store.append_trust_list(&list(stale, "{}"), &operator("append_trust_list")).await;
            assert!(matches!(refused, Err(StoreError::Conflict(_))), "{refused:?}");
        }
        assert!(f.raw(i, "UPDATE trust_lists SET json = '{}'").await.is_err());
        assert!(f.raw(i, "DELETE FROM trust_lists").await.is_err());
        assert_eq!(store.latest_trust_list().await.unwrap().unwrap().sequence, 2);
    }
    f.finish().await;
}
