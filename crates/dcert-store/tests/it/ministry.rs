//! The Ministry's tables: verification statistics, news and FAQ, signed submissions.

use dcert_store::{FaqItem, NewsItem, RegistryRecord, Submission, Verification};

use crate::fixture;

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
    RegistryRecord {
        institution: institution.into(),
        sha256: sha.into(),
        event: event.into(),
        number: "NKUST-113-2-C1".into(),
        language: "zh".into(),
        version: 1,
        previous_sha256: None,
        credential_type: "degree".into(),
        reason: None,
        at: 100,
    }
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
        let id = store.save_news(&item, "editor", 1).await.unwrap();
        let changed = NewsItem { id, title_en: "Open now".into(), ..item.clone() };
        store.save_news(&changed, "editor", 2).await.unwrap();
        assert_eq!(store.news_item(id).await.unwrap().title_en, "Open now");
        store.delete_news(id).await.unwrap();
        assert!(store.news(10).await.unwrap().is_empty());
        assert!(store.delete_news(id).await.is_err(), "a removed item is not found again");

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
        store.delete_faq(faq[0].id).await.unwrap();
        assert_eq!(store.faq().await.unwrap().len(), 1);
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
        assert_eq!(store.prune_nonces(101).await.unwrap(), 1);
    }
    f.finish().await;
}
