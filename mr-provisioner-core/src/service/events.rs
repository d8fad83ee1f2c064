//! Machine events, written by group commit: every caller waits until its event is stored,
//! but the events of concurrent callers are written together in one transaction. On SQLite,
//! where writes are serialised, this is what lets hundreds of booting machines record their
//! TFTP and DHCP events at once without queueing one transaction each.

use std::sync::{Arc, OnceLock};

use tokio::sync::{mpsc, oneshot};

use crate::model::event::NewEvent;
use crate::store::Store;

/// Events written in one transaction at most.
const BATCH: usize = 512;
/// Events waiting at most; callers past it wait for room.
const QUEUE: usize = 8192;

/// An event to write (`None`: a barrier, answered once everything before it is written)
/// and who to tell when it is.
type Entry = (Option<NewEvent>, Option<oneshot::Sender<()>>);

/// The queue in front of the store's event table. Cheap to clone; the writer task starts
/// with the first event and ends when the last clone is dropped.
#[derive(Clone, Default)]
pub struct EventQueue {
    sender: Arc<OnceLock<mpsc::Sender<Entry>>>,
}

impl EventQueue {
    /// Records `event` and returns once it is stored (or failed: a failure is logged, never
    /// returned, as the change it describes has happened).
    pub(crate) async fn record(&self, store: &Arc<dyn Store>, event: NewEvent) {
        let (done, stored) = oneshot::channel();
        if self
            .sender(store)
            .send((Some(event), Some(done)))
            .await
            .is_ok()
        {
            let _ = stored.await;
        }
    }

    /// Queues `event` and returns without waiting for it to be stored (only for room in
    /// the queue): for the events of the boot path, where nothing the caller answers
    /// depends on them.
    pub(crate) async fn record_later(&self, store: &Arc<dyn Store>, event: NewEvent) {
        let _ = self.sender(store).send((Some(event), None)).await;
    }

    /// Returns once every event queued before the call is stored.
    pub async fn flush(&self) {
        let Some(sender) = self.sender.get() else {
            return;
        };
        let (done, flushed) = oneshot::channel();
        if sender.send((None, Some(done))).await.is_ok() {
            let _ = flushed.await;
        }
    }

    fn sender(&self, store: &Arc<dyn Store>) -> &mpsc::Sender<Entry> {
        self.sender.get_or_init(|| {
            let (tx, rx) = mpsc::channel(QUEUE);
            tokio::spawn(write(store.clone(), rx));
            tx
        })
    }
}

async fn write(store: Arc<dyn Store>, mut rx: mpsc::Receiver<Entry>) {
    let mut batch: Vec<Entry> = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        let events: Vec<NewEvent> = batch.iter().filter_map(|(e, _)| e.clone()).collect();
        let result = if events.is_empty() {
            Ok(())
        } else if let [one] = events.as_slice() {
            store.event_record(one).await.map(|_| ())
        } else {
            store.event_record_many(&events).await
        };
        if let Err(error) = result {
            // One bad event (its machine deleted meanwhile) must not lose the others.
            tracing::debug!(%error, "a batch of machine events failed; writing them one by one");
            for event in &events {
                if let Err(error) = store.event_record(event).await {
                    tracing::warn!(machine_id = %event.machine_id, kind = %event.kind, %error, "could not record a machine event");
                }
            }
        }
        for (_, done) in batch.drain(..) {
            if let Some(done) = done {
                let _ = done.send(());
            }
        }
    }
}
