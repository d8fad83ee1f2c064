//! Machine events by group commit: concurrent callers' events are all stored, in batches;
//! one bad event in a batch does not lose the others; `flush` waits for queued events.

use std::sync::Arc;

use mr_provisioner_core::files::ImageFiles;
use mr_provisioner_core::id::MachineId;
use mr_provisioner_core::model::arch::NewArch;
use mr_provisioner_core::model::event::EventKind;
use mr_provisioner_core::model::machine::NewMachine;
use mr_provisioner_core::service::{DefaultConnector, Provisioner, Settings};
use mr_provisioner_core::store::{Page, Store};
use mr_provisioner_core::store_test;
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

store_test!(
    queued_events_are_stored_by_flush_and_a_bad_one_loses_nothing,
    |store| {
        let (p, id) = setup(store.clone()).await;
        for i in 0..50 {
            p.event_later(id, EventKind::TftpRequest, json!({"n": i}))
                .await;
            if i == 25 {
                // An event of a machine that does not exist fails its batch; the batch is
                // written again one event at a time.
                p.event_later(MachineId(999_999), EventKind::TftpRequest, json!({}))
                    .await;
            }
        }
        p.events.flush().await;
        assert_eq!(count(store.as_ref(), id).await, 50);
        assert_eq!(count(store.as_ref(), MachineId(999_999)).await, 0);
    }
);
