//! Machine events by group commit: concurrent callers' events are all stored, in batches;
//! one bad event in a batch does not lose the others; `flush` waits for queued events.

use std::sync::Arc;

use mr_provisioner_core::files::ImageFiles;
use mr_provisioner_core::id::MachineId;
use mr_provisioner_core::model::arch::NewArch;
use mr_provisioner_core::model::event::{EventKind, NewEvent};
use mr_provisioner_core::model::machine::NewMachine;
use mr_provisioner_core::service::{DefaultConnector, Provisioner, Settings};
use mr_provisioner_core::store::{Page, Store};
use mr_provisioner_core::store_test;
use mr_provisioner_core::testing::{TestBackend, TestDb};
use serde_json::json;

async fn setup(store: Arc<dyn Store>) -> (Provisioner, MachineId) {
    let arch = store
        .arch_create(&NewArch {
            name: "arm64".into(),
            description: None,
        })
        .await
        .unwrap();
    let m = store
        .machine_create(&NewMachine::named("m1", arch.id))
        .await
        .unwrap();
    let p = Provisioner::new(
        store,
        Arc::new(DefaultConnector::new()),
        ImageFiles::new(std::env::temp_dir()),
        Settings::default(),
    );
    (p, m.id)
}

async fn count(store: &dyn Store, id: MachineId) -> usize {
    store
        .event_list(
            id,
            Page {
                before: None,
                limit: 1000,
            },
        )
        .await
        .unwrap()
        .len()
}

store_test!(concurrent_events_are_all_stored, |store| {
    let (p, id) = setup(store.clone()).await;
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let p = p.clone();
            tokio::spawn(async move {
                p.event(id, None, EventKind::TftpRequest, json!({"n": i}))
                    .await
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    // `event` returns once its event is stored.
    assert_eq!(count(store.as_ref(), id).await, 200);
    let mut seen: Vec<i64> = store
        .event_list(
            id,
            Page {
                before: None,
                limit: 1000,
            },
        )
        .await
        .unwrap()
        .iter()
        .map(|e| e.info["n"].as_i64().unwrap())
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..200).collect::<Vec<_>>());
});

/// On a current-thread runtime the writer cannot run until `flush` yields, so all 51
/// events reach it as one batch, the bad one inside: without the one-by-one retry the whole
/// batch (all or none) would be lost and the count below would be 0.
async fn a_bad_event_in_a_batch_loses_nothing(backend: TestBackend) {
    let Some(db) = TestDb::on(backend).await else {
        return;
    };
    let store = db.store();
    let (p, id) = setup(store.clone()).await;
    for i in 0..50 {
        p.event_later(id, EventKind::TftpRequest, json!({"n": i}))
            .await;
        if i == 25 {
            // An event of a machine that does not exist fails its batch.
            p.event_later(MachineId(999_999), EventKind::TftpRequest, json!({}))
                .await;
        }
    }
    p.events.flush().await;
    assert_eq!(count(store.as_ref(), id).await, 50);
    assert_eq!(count(store.as_ref(), MachineId(999_999)).await, 0);
    // The same events as one batch fail together: the store writes all or none.
    let batch: Vec<NewEvent> = [id, MachineId(999_999)]
        .into_iter()
        .map(|m| NewEvent::system(m, EventKind::TftpRequest, json!({})))
        .collect();
    assert!(store.event_record_many(&batch).await.is_err());
    assert_eq!(count(store.as_ref(), id).await, 50);
    drop(p);
    db.finish().await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_bad_event_in_a_batch_loses_nothing_sqlite() {
    a_bad_event_in_a_batch_loses_nothing(TestBackend::Sqlite).await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_bad_event_in_a_batch_loses_nothing_postgres() {
    a_bad_event_in_a_batch_loses_nothing(TestBackend::Postgres).await;
}
