//! Verification statistics, written in batches off the request path: a verification answers at
//! once, and a burst of thousands becomes a few transactions.

use dcert_store::{MinistryStore, Verification};
use tokio::sync::mpsc;

/// Where handlers drop the verifications they ran.
#[derive(Clone, Debug)]
pub struct StatsSink {
    tx: mpsc::Sender<Verification>,
    dropped: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// Verifications waiting to be written before new ones are dropped (and the drop logged).
const QUEUE: usize = 10_000;
/// The most written in one transaction.
const BATCH: usize = 500;

impl StatsSink {
    /// Starts the writer on the current Tokio runtime.
    pub fn start(store: MinistryStore) -> Self {
        let (tx, mut rx) = mpsc::channel::<Verification>(QUEUE);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            while rx.recv_many(&mut batch, BATCH).await > 0 {
                // One retry after a pause covers a database restarting or a long lock.
                if store.record_verifications(&batch).await.is_err() {
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    if let Err(e) = store.record_verifications(&batch).await {
                        tracing::error!(error = %e, lost = batch.len(), "verification statistics could not be written");
                    }
                }
                batch.clear();
            }
        });
        StatsSink { tx, dropped: Default::default() }
    }

    /// Queues one verification.
    pub fn record(&self, v: Verification) {
        if self.tx.try_send(v).is_err() {
            let n = self.dropped.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            if n == 1 || n.is_multiple_of(1000) {
                tracing::warn!(dropped = n, "verification statistics are behind; verifications were not counted");
            }
        }
    }
}
