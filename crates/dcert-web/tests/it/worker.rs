//! The worker under interruption and concurrency: one file per language and version, whatever.

use dcert_core::model::Language;
use dcert_store::{NewOrder, OrderKind};

use crate::support::TestApp;

/// Confirms every graduate and orders their Chinese certificate.
async fn order_all(app: &TestApp) -> Vec<i64> {
    let mut ids = Vec::new();
    for n in ["C110152301", "C110152302", "C110152303"] {
        let g = app.graduate(n).await;
        app.store.confirm_graduate(g.id, 1, &crate::support::system("confirm_record")).await.unwrap();
        let day = dcert_web::http::now().taiwan_date();
        let order = NewOrder {
            graduate_id: g.id,
            language: Language::Zh,
            kind: OrderKind::Collection,
            reason: "",
            requested_on: day,
            due_on: day.add_days(7),
            actor: "registrar",
            at: 1,
        };
        app.store.create_order(&order, |_| crate::support::system("record_diploma")).await.unwrap();
        let english = NewOrder { language: Language::En, kind: OrderKind::Application, ..order };
        app.store.create_order(&english, |_| crate::support::system("record_diploma")).await.unwrap();
        ids.push(g.id);
    }
    ids
}

async fn assert_one_file_per_language_and_version(app: &TestApp, graduates: &[i64]) {
    for id in graduates {
        let certs = app.store.certificates_for_graduate(*id).await.unwrap();
        let mut keys: Vec<(Language, u32)> = certs.iter().map(|c| (c.language, c.version)).collect();
        keys.sort_by_key(|(l, v)| (l.code(), *v));
        assert_eq!(keys, [(Language::En, 1), (Language::Zh, 1)], "graduate {id}");
        for c in &certs {
            assert_eq!(c.delivery.pending, 2, "two emails per file, not four");
        }
        assert!(app.store.orders_for_graduate(*id).await.unwrap().iter().all(|o| o.certificate_id.is_some()));
    }
    assert_eq!(app.store.registry_backlog().await.unwrap(), (graduates.len() * 2) as i64, "one record per file");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_racing_over_the_same_orders_issue_each_file_once() {
    let app = TestApp::new().await;
    let graduates = order_all(&app).await;
    let (a, b) = (app.state.worker.clone(), app.state.worker.clone());
    let now = dcert_web::http::now();
    let (ra, rb) = tokio::join!(
        tokio::spawn(async move { a.issue_due(now, 100, &|_| {}).await.unwrap() }),
        tokio::spawn(async move { b.issue_due(now, 100, &|_| {}).await.unwrap() }),
    );
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(ra.issued + rb.issued, 6, "{ra:?} {rb:?}");
    assert_eq!(ra.failed + rb.failed, 0);
    assert_one_file_per_language_and_version(&app, &graduates).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_stopped_mid_batch_and_restarted_issues_the_rest_exactly_once() {
    let app = TestApp::new().await;
    let graduates = order_all(&app).await;
    let worker = app.state.worker.clone();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let tx = std::sync::Mutex::new(Some(tx));
    let task = tokio::spawn(async move {
        worker
            .issue_due(dcert_web::http::now(), 100, &|round| {
                if round.issued >= 2
                    && let Some(tx) = tx.lock().unwrap().take()
                {
                    let _ = tx.send(());
                }
            })
            .await
    });
    // Stop it as soon as two files are stored (files are stored in batches of what the renderers
    // have finished), while others are being rendered.
    rx.await.unwrap();
    task.abort();
    let _ = task.await;
    let stored: usize = futures_len(&app, &graduates).await;
    assert!((2..6).contains(&stored), "stopped mid-batch: {stored} stored");
    // A store stopped while its commit was on the wire may still land: the restart issues what
    // is left, at most the rest, and every file exactly once.
    let round = app.state.worker.issue_due(dcert_web::http::now(), 100, &|_| {}).await.unwrap();
    assert!(round.issued <= 6 - stored && round.failed == 0, "{round:?}");
    assert_eq!(futures_len(&app, &graduates).await, 6);
    assert_one_file_per_language_and_version(&app, &graduates).await;
}

async fn futures_len(app: &TestApp, graduates: &[i64]) -> usize {
    let mut n = 0;
    for id in graduates {
        n += app.store.certificates_for_graduate(*id).await.unwrap().len();
    }
    n
}
