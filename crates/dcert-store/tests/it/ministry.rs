//! The Ministry's tables: verification statistics, news and FAQ, signed submissions.

use dcert_core::Sha256Digest;
use dcert_store::{AuditEntry, AuditFilter, FaqItem, NewsItem, RegistryRecord, StoreError, Submission, Verification};

use crate::ministry_fixture as fixture;

fn verification(at: i64, sha: &str, outcome: &str, reason: Option<&str>) -> Verification {
    Verification {
        at,
        sha256: sha.into(),
        outcome: outcome.into(),
        reason: reason.map(str::to_owned),
        channel: "api".into(),
    }
}

fn record(institution: &str, sha: &str, event: &str) -> RegistryRecord {
    RegistryRecord { event: event.into(), ..RegistryRecord::issued_degree(institution, sha, "NKUST-113-2-C1", 100) }
}

#[tokio::test]
async fn verification_statistics_count_outcomes_reasons_files_and_taiwan_days() {
    let f = fixture().await;
    for store in &f.stores {
        // 2025-06-30 23:30 in Taiwan is 15:30 UTC; 2025-07-01 00:30 in Taiwan is 16:30 UTC.
        let late = 1_751_297_400;
        let early = late + 3600;
        store
            .record_verifications(&[
                verification(late, "aa", "success", None),
                verification(early, "aa", "success", None),
                verification(early, "bb", "failure", Some("modified")),
                verification(early, "cc", "warning", Some("superseded")),
                verification(10, "dd", "failure", Some("revoked")),
            ])
            .await
            .unwrap();
        let stats = store.verification_stats(1000).await.unwrap();
        assert_eq!((stats.total, stats.success, stats.warning, stats.failure), (4, 2, 1, 1));
        assert_eq!(stats.distinct_files, 3);
        assert_eq!(stats.by_reason, [("modified".to_owned(), 1), ("superseded".to_owned(), 1)]);
        assert_eq!(stats.by_day, [("2025-06-30".to_owned(), 1), ("2025-07-01".to_owned(), 3)]);
        let recent = store.recent_verifications(2).await.unwrap();
        assert_eq!(recent.len(), 2);
        assert_eq!(recent[0].sha256, "dd", "newest first");
    }
    f.finish().await;
}

#[tokio::test]
async fn news_and_questions_are_added_changed_and_removed_and_the_guide_seeds_once() {
    let f = fixture().await;
    for store in &f.stores {
        let item = NewsItem {
            id: 0,
            published_on: "2025-07-01".into(),
            title_zh: "上線".into(),
            title_en: "Open".into(),
            body_zh: "內容".into(),
            body_en: "Text".into(),
        };
        let id = store.save_content(&item, "editor", 1, |_| editor("news_save")).await.unwrap();
        let changed = NewsItem { id, title_en: "Open now".into(), ..item.clone() };
        store.save_content(&changed, "editor", 2, |_| editor("news_save")).await.unwrap();
        assert_eq!(store.content_item::<NewsItem>(id).await.unwrap().title_en, "Open now");
        store.delete_content::<NewsItem>(id, &editor("news_delete")).await.unwrap();
        assert!(store.news(10).await.unwrap().is_empty());
        assert!(
            store.delete_content::<NewsItem>(id, &editor("news_delete")).await.is_err(),
            "a removed item is not found again"
        );
        let audited = |action: &str| {
            let filter = AuditFilter { action: Some(action.into()), ..Default::default() };
            async move { store.audit_log(&filter).await.unwrap().len() }
        };
        assert_eq!(audited("news_save").await, 2, "each change with its audit entry");
        assert_eq!(audited("news_delete").await, 1, "none for the refused removal");

        let q = |position: i64, text: &str| FaqItem {
            id: 0,
            position,
            question_zh: text.into(),
            question_en: text.into(),
            answer_zh: text.into(),
            answer_en: text.into(),
        };
        assert!(store.seed_faq(&[q(2, "b"), q(1, "a")], 1).await.unwrap());
        assert!(!store.seed_faq(&[q(1, "again")], 2).await.unwrap(), "a site with questions keeps its own");
        let faq = store.faq().await.unwrap();
        assert_eq!(faq.iter().map(|i| i.question_zh.as_str()).collect::<Vec<_>>(), ["a", "b"], "in order");
        store.delete_content::<FaqItem>(faq[0].id, &editor("faq_delete")).await.unwrap();
        assert_eq!(store.faq().await.unwrap().len(), 1);
    }
    f.finish().await;
}

#[tokio::test]
async fn a_question_is_saved_with_who_changed_it_and_one_removed_is_not_found() {
    let f = fixture().await;
    for (i, store) in f.stores.iter().enumerate() {
        let question = FaqItem {
            id: 0,
            position: 3,
            question_zh: "問".into(),
            question_en: "Question".into(),
            answer_zh: "答".into(),
            answer_en: "Answer".into(),
        };
        let id = store.save_content(&question, "editor", 1, |_| editor("faq_save")).await.unwrap();
        let changed = FaqItem { id, position: 1, answer_en: "The answer".into(), ..question.clone() };
        assert_eq!(store.save_content(&changed, "other-editor", 2, |_| editor("faq_save")).await.unwrap(), id);
        assert_eq!(store.faq().await.unwrap(), std::slice::from_ref(&changed));
        let who = "UPDATE faq SET position = position WHERE updated_by = 'other-editor' AND updated_at = 2";
        assert_eq!(f.raw(i, who).await.unwrap(), 1, "the change is recorded with who made it and when");
        store.delete_content::<FaqItem>(id, &editor("faq_delete")).await.unwrap();
        assert!(matches!(
            store.save_content(&changed, "editor", 3, |_| editor("faq_save")).await,
            Err(StoreError::NotFound("question"))
        ));
        assert!(matches!(
            store.delete_content::<FaqItem>(id, &editor("faq_delete")).await,
            Err(StoreError::NotFound("question"))
        ));
        assert!(matches!(store.content_item::<NewsItem>(id).await, Err(StoreError::NotFound("news item"))));
    }
    f.finish().await;
}

#[tokio::test]
async fn a_signed_submission_records_once_and_its_replay_changes_nothing() {
    let f = fixture().await;
    for store in &f.stores {
        let issued = record("nkust", &"a".repeat(64), "issued");
        assert_eq!(
            store.append_signed_records("nkust", "nonce-0000000001", 100, std::slice::from_ref(&issued)).await.unwrap(),
            Submission::Recorded
        );
        assert_eq!(
            store
                .append_signed_records("nkust", "nonce-0000000001", 101, &[record("nkust", &"b".repeat(64), "issued")])
                .await
                .unwrap(),
            Submission::Replayed
        );
        assert!(store.registry_records(&"b".repeat(64)).await.unwrap().is_empty(), "the replay recorded nothing");
        assert_eq!(
            store.append_signed_records("nkust", "nonce-0000000002", 102, &[issued]).await.unwrap(),
            Submission::AlreadyRecorded
        );
        assert_eq!(store.registry_certificate("nkust", "NKUST-113-2-C1", "zh").await.unwrap().len(), 1);
        assert_eq!(store.registry_counts().await.unwrap(), [("issued".to_owned(), "degree".to_owned(), 1)]);
        assert_eq!(store.prune_nonces(101).await.unwrap(), 1);
    }
    f.finish().await;
}

/// The `issued` record of a teacher certificate file of the Ministry's.
fn teacher_record(number: &str, file: &[u8], at: i64) -> RegistryRecord {
    RegistryRecord {
        institution: "moe".into(),
        sha256: Sha256Digest::of(file).to_string(),
        event: "issued".into(),
        number: number.into(),
        language: "zh".into(),
        version: 1,
        previous_sha256: None,
        credential_type: "teacher".into(),
        credential_sha256: None,
        reason: None,
        at,
    }
}

/// An audit entry of `action` by the Ministry's editor.
fn editor(action: &str) -> AuditEntry {
    AuditEntry::local(1, "editor", "ministry_editor", action, "-", "")
}

fn teacher_audit(number: &str, at: i64) -> AuditEntry {
    AuditEntry {
        at,
        actor: "moe-admin".into(),
        role: "ministry_admin".into(),
        action: "teacher_issue".into(),
        target: format!("certificate:{number}"),
        detail: "zh v1".into(),
        ip: "127.0.0.1".into(),
    }
}

#[tokio::test]
async fn a_teacher_certificate_file_is_kept_with_its_registry_record_and_a_second_for_its_version_is_refused() {
    let f = fixture().await;
    for (i, store) in f.stores.iter().enumerate() {
        let number = "MOE-T-2025-000042";
        // Every byte value, and a NUL early: the file is kept as bytes, not text.
        let file: Vec<u8> = b"%PDF-1.7\n\0".iter().copied().chain((0..=255u8).cycle().take(70_000)).collect();
        let record = teacher_record(number, &file, 1_000);
        let id =
            store.store_teacher_certificate(&record, &file, "moe-admin", &teacher_audit(number, 1_000)).await.unwrap();

        let (info, bytes) = store.teacher_certificate_file(id).await.unwrap();
        assert_eq!(bytes, file, "byte for byte");
        assert_eq!(
            (info.number.as_str(), info.language.as_str(), info.version, info.institution.as_str()),
            (number, "zh", 1, "moe")
        );
        assert_eq!(
            (info.sha256.as_str(), info.issued_at, info.issued_by.as_str()),
            (record.sha256.as_str(), 1_000, "moe-admin")
        );
        assert_eq!(
            store.registry_records(&record.sha256).await.unwrap(),
            std::slice::from_ref(&record),
            "registered in the same step"
        );
        assert_eq!(store.teacher_certificates(None, 10).await.unwrap(), std::slice::from_ref(&info));
        assert_eq!(store.teacher_certificates(Some(number), 10).await.unwrap(), [info]);
        assert!(store.teacher_certificates(Some("MOE-T-2025-000043"), 10).await.unwrap().is_empty());

        // Another file for the same number, language and version: refused, and nothing of it kept.
        let other = [file.as_slice(), b"%%EOF\n"].concat();
        let second = teacher_record(number, &other, 2_000);
        let refused =
            store.store_teacher_certificate(&second, &other, "moe-admin", &teacher_audit(number, 2_000)).await;
        assert!(matches!(refused, Err(StoreError::Conflict(_))), "{refused:?}");
        // The same file again is refused too.
        let again = store.store_teacher_certificate(&record, &file, "moe-admin", &teacher_audit(number, 3_000)).await;
        assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
        // A file that is not the one its record names is refused before anything is written.
        let mismatch =
            store.store_teacher_certificate(&second, &file, "moe-admin", &teacher_audit(number, 4_000)).await;
        assert!(matches!(mismatch, Err(StoreError::Conflict(_))), "{mismatch:?}");

        assert!(store.registry_records(&second.sha256).await.unwrap().is_empty(), "no record of the refused file");
        assert_eq!(store.registry_certificate("moe", number, "zh").await.unwrap().len(), 1);
        assert_eq!(store.teacher_certificates(None, 10).await.unwrap().len(), 1, "no file of the refused one");
        let audit = store.audit_log(&AuditFilter { limit: 10, ..Default::default() }).await.unwrap();
        assert_eq!(audit.iter().map(|e| e.at).collect::<Vec<_>>(), [1_000], "one audit entry, of the file kept");
        assert!(matches!(store.teacher_certificate_file(id + 1).await, Err(StoreError::NotFound(_))));
        // Kept files are never changed or deleted.
        assert!(f.raw(i, "DELETE FROM teacher_certificates").await.is_err());
        assert!(f.raw(i, "UPDATE teacher_certificates SET issued_by = 'x'").await.is_err());
        assert_eq!(store.teacher_certificate_file(id).await.unwrap().1, file);
    }
    f.finish().await;
}

#[tokio::test]
async fn every_registry_record_is_a_leaf_of_the_log_in_order_rebuilt_identically_and_kept_across_a_restart() {
    use dcert_core::tlog;
    use dcert_store::{MinistryStore, log_entry_hash};
    let f = fixture().await;
    for (i, store) in f.stores.iter().enumerate() {
        // A record of a database older than the log: it gets its leaf with the next write.
        let old = "INSERT INTO registry_records (institution, sha256, event, number, language, version, \
                   credential_type, at) VALUES ('nkust', 'ffff', 'issued', 'NKUST-OLD-C9', 'zh', 1, 'degree', 50)";
        f.raw(i, old).await.unwrap();
        assert_eq!(store.log_size().await.unwrap(), 0);
        let a = record("nkust", &"a".repeat(64), "issued");
        assert!(store.append_registry_record(&a).await.unwrap());
        let b = RegistryRecord { number: "NKUST-113-2-C2".into(), ..record("nkust", &"b".repeat(64), "issued") };
        let revoked =
            RegistryRecord {
                reason: Some("學位撤銷".into()), at: 200, ..record("nkust", &"a".repeat(64), "revoked")
            };
        store.append_signed_records("nkust", "nonce-0000000009", 150, &[b, revoked]).await.unwrap();
        assert!(!store.append_registry_record(&a).await.unwrap(), "the same record again");
        let leaves = store.log_leaves(0, 100).await.unwrap();
        assert_eq!(leaves.len(), 4, "one leaf a record, none for a repeat");
        // The log is rebuilt from the records alone, in their order, to the same leaves.
        let records = store.registry_log(0, 100).await.unwrap();
        let rebuilt: Vec<tlog::Hash> = records.iter().map(|(_, r)| log_entry_hash(r)).collect();
        assert_eq!(leaves, rebuilt);
        let before = tlog::root(leaves.as_slice(), 4).unwrap();
        // Restarted, the tree is the same; and no one rewrites it.
        let reopened = MinistryStore::open(&f.urls[i]).await.unwrap();
        let again = reopened.log_leaves(0, 100).await.unwrap();
        assert_eq!(tlog::root(again.as_slice(), 4).unwrap(), before);
        reopened.close().await;
        assert!(f.raw(i, "UPDATE log_leaves SET leaf = 'x' WHERE idx = 0").await.is_err(), "append-only");
        assert!(f.raw(i, "DELETE FROM log_leaves").await.is_err(), "append-only");
    }
    f.finish().await;
}
