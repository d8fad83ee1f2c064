//! Machine events and the audit log: recording, newest-first paging, purging.

use std::time::Duration;

use mr_provisioner_core::Error;
use mr_provisioner_core::id::{MachineId, UserId};
use mr_provisioner_core::model::audit::NewAuditEntry;
use mr_provisioner_core::model::event::{EventKind, MachineEvent, NewEvent};
use mr_provisioner_core::store::{MachineListQuery, Page, Store};
use mr_provisioner_core::store_test;
use serde_json::json;

use super::fixtures::*;

fn new_event(machine_id: MachineId, kind: EventKind, n: i64) -> NewEvent {
    NewEvent {
        date: None,
        machine_id,
        user_id: None,
        username: None,
        kind,
        info: json!({ "n": n }),
    }
}

fn page(before: Option<i64>, limit: u64) -> Page {
    Page { before, limit }
}

async fn event_ids(store: &dyn Store, m: MachineId, p: Page) -> Vec<i64> {
    store
        .event_list(m, p)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id.0)
        .collect()
}

store_test!(event_record_and_list, |store| {
    let arm = arch(&*store, "arm64").await;
    let m = machine(&*store, "m1", arm.id).await;
    let other = machine(&*store, "m2", arm.id).await;
    let alice = user(&*store, "alice").await;
    let info = json!({
        "action": "reboot",
        "nested": {"list": [1, 2.5, "x", null, true], "big": 9_007_199_254_740_993_i64},
        "unicode": "ünï 😀",
    });
    let before = from_now(0);
    let e1 = store
        .event_record(&NewEvent {
            date: None,
            machine_id: m.id,
            user_id: Some(alice.id),
            username: Some("alice".into()),
            kind: EventKind::PowerChange,
            info: info.clone(),
        })
        .await
        .unwrap();
    assert_between(e1.date, before, from_now(0));
    assert_eq!(e1.machine_id, m.id);
    assert_eq!(e1.user_id, Some(alice.id));
    assert_eq!(e1.username.as_deref(), Some("alice"));
    assert_eq!(e1.kind, EventKind::PowerChange);
    assert_eq!(e1.info, info);
    assert_eq!(
        store.event_list(m.id, page(None, 10)).await.unwrap(),
        vec![e1.clone()]
    );

    // Every kind round-trips.
    let mut recorded: Vec<MachineEvent> = vec![e1];
    for (n, kind) in EventKind::ALL.into_iter().enumerate() {
        recorded.push(
            store
                .event_record(&new_event(m.id, kind, n as i64))
                .await
                .unwrap(),
        );
    }
    store
        .event_record(&new_event(other.id, EventKind::DhcpRequest, 99))
        .await
        .unwrap();
    recorded.reverse();
    assert_eq!(
        store.event_list(m.id, page(None, 100)).await.unwrap(),
        recorded
    );
    for pair in recorded.windows(2) {
        assert!(pair[0].date >= pair[1].date, "newest first");
    }
    let kinds: Vec<EventKind> = recorded.iter().rev().skip(1).map(|e| e.kind).collect();
    assert_eq!(kinds, EventKind::ALL.to_vec());
    assert_eq!(
        store
            .event_list(other.id, page(None, 100))
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        store
            .event_list(MachineId(other.id.0 + 100), page(None, 100))
            .await
            .unwrap()
            .is_empty()
    );
});

store_test!(event_paging, |store| {
    let arm = arch(&*store, "arm64").await;
    let m = machine(&*store, "m1", arm.id).await;
    let other = machine(&*store, "m2", arm.id).await;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(
            store
                .event_record(&new_event(m.id, EventKind::TftpRequest, n))
                .await
                .unwrap()
                .id
                .0,
        );
        // Interleave another machine's events.
        store
            .event_record(&new_event(other.id, EventKind::TftpRequest, n))
            .await
            .unwrap();
    }
    let [e1, e2, e3, e4, e5] = ids[..] else {
        unreachable!()
    };
    assert_eq!(event_ids(&*store, m.id, page(None, 2)).await, vec![e5, e4]);
    assert_eq!(
        event_ids(&*store, m.id, page(Some(e4), 2)).await,
        vec![e3, e2]
    );
    assert_eq!(event_ids(&*store, m.id, page(Some(e2), 2)).await, vec![e1]);
    assert!(event_ids(&*store, m.id, page(Some(e1), 2)).await.is_empty());
    assert!(event_ids(&*store, m.id, page(None, 0)).await.is_empty());
    // `before` is exclusive and need not be an id of this machine.
    assert_eq!(
        event_ids(&*store, m.id, page(Some(e3 + 1), 10)).await,
        vec![e3, e2, e1]
    );
    assert_eq!(
        event_ids(&*store, m.id, page(Some(i64::MAX), 10)).await,
        vec![e5, e4, e3, e2, e1]
    );
});

store_test!(event_info_must_be_an_object, |store| {
    let arm = arch(&*store, "arm64").await;
    let m = machine(&*store, "m1", arm.id).await;
    for info in [json!(null), json!([1, 2]), json!("text"), json!(5)] {
        let r = store
            .event_record(&NewEvent {
                date: None,
                info: info.clone(),
                ..new_event(m.id, EventKind::StateChange, 0)
            })
            .await;
        assert!(matches!(r, Err(Error::Internal { .. })), "{info}: {r:?}");
    }
    assert!(event_ids(&*store, m.id, page(None, 10)).await.is_empty());
    let empty = store
        .event_record(&NewEvent {
            date: None,
            info: json!({}),
            ..new_event(m.id, EventKind::StateChange, 0)
        })
        .await
        .unwrap();
    assert_eq!(empty.info, json!({}));
    // An event of a machine or user that does not exist.
    assert_invalid(
        store
            .event_record(&new_event(MachineId(m.id.0 + 100), EventKind::PhoneHome, 0))
            .await,
        None,
    );
    assert_invalid(
        store
            .event_record(&NewEvent {
                date: None,
                user_id: Some(UserId(1000)),
                ..new_event(m.id, EventKind::PhoneHome, 0)
            })
            .await,
        None,
    );
});

store_test!(event_purge_by_date, |store| {
    let arm = arch(&*store, "arm64").await;
    let m1 = machine(&*store, "m1", arm.id).await;
    let m2 = machine(&*store, "m2", arm.id).await;
    store
        .event_record(&new_event(m1.id, EventKind::DhcpRequest, 1))
        .await
        .unwrap();
    store
        .event_record(&new_event(m2.id, EventKind::DhcpRequest, 2))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let cut = store
        .event_record(&new_event(m1.id, EventKind::DhcpRequest, 3))
        .await
        .unwrap();
    let last = store
        .event_record(&new_event(m2.id, EventKind::DhcpRequest, 4))
        .await
        .unwrap();

    assert_eq!(store.event_purge(t(-3650 * 86_400)).await.unwrap(), 0);
    // Strictly before: the event dated `cut.date` stays.
    assert_eq!(store.event_purge(cut.date).await.unwrap(), 2);
    assert_eq!(
        event_ids(&*store, m1.id, page(None, 10)).await,
        vec![cut.id.0]
    );
    assert_eq!(
        event_ids(&*store, m2.id, page(None, 10)).await,
        vec![last.id.0]
    );
    assert_eq!(store.event_purge(cut.date).await.unwrap(), 0);
    assert_eq!(store.event_purge(from_now(60)).await.unwrap(), 2);
    assert!(event_ids(&*store, m1.id, page(None, 10)).await.is_empty());
    assert!(event_ids(&*store, m2.id, page(None, 10)).await.is_empty());
});

async fn audit_ids(store: &dyn Store, p: Page) -> Vec<i64> {
    store
        .audit_list(p)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.id.0)
        .collect()
}

fn new_audit(action: &str, actor_id: Option<UserId>) -> NewAuditEntry {
    NewAuditEntry {
        actor_id,
        actor: actor_id.map_or("cli".into(), |_| "alice".into()),
        action: action.into(),
        target_kind: "machine".into(),
        target_id: Some(42),
        detail: json!({"changed": ["name"], "from": "a", "to": "b"}),
    }
}

store_test!(audit_record_and_list, |store| {
    let alice = user(&*store, "alice").await;
    let before = from_now(0);
    let a1 = store
        .audit_record(&new_audit("machine.create", Some(alice.id)))
        .await
        .unwrap();
    assert_between(a1.at, before, from_now(0));
    assert_eq!(a1.actor_id, Some(alice.id));
    assert_eq!(a1.actor, "alice");
    assert_eq!(a1.action, "machine.create");
    assert_eq!(a1.target_kind, "machine");
    assert_eq!(a1.target_id, Some(42));
    assert_eq!(
        a1.detail,
        json!({"changed": ["name"], "from": "a", "to": "b"})
    );
    let a2 = store
        .audit_record(&NewAuditEntry {
            target_id: None,
            detail: json!({}),
            ..new_audit("user.create", None)
        })
        .await
        .unwrap();
    assert_eq!(a2.actor_id, None);
    assert_eq!(a2.actor, "cli");
    assert_eq!(a2.target_id, None);
    let mut all = vec![a1.clone(), a2.clone()];
    for n in 0..3 {
        all.push(
            store
                .audit_record(&new_audit(&format!("action.{n}"), None))
                .await
                .unwrap(),
        );
    }
    all.reverse();
    assert_eq!(store.audit_list(page(None, 100)).await.unwrap(), all);
    let ids: Vec<i64> = all.iter().map(|a| a.id.0).collect();
    let s = &*store;
    assert_eq!(audit_ids(s, page(None, 2)).await, ids[0..2].to_vec());
    assert_eq!(
        audit_ids(s, page(Some(ids[1]), 2)).await,
        ids[2..4].to_vec()
    );
    assert_eq!(audit_ids(s, page(Some(ids[3]), 2)).await, ids[4..].to_vec());
    assert!(audit_ids(s, page(Some(ids[4]), 2)).await.is_empty());
    assert!(audit_ids(s, page(None, 0)).await.is_empty());
});

store_test!(audit_detail_must_be_an_object, |store| {
    for detail in [json!(null), json!([]), json!("x")] {
        let r = store
            .audit_record(&NewAuditEntry {
                detail: detail.clone(),
                ..new_audit("x.y", None)
            })
            .await;
        assert!(matches!(r, Err(Error::Internal { .. })), "{detail}: {r:?}");
    }
    assert!(store.audit_list(page(None, 10)).await.unwrap().is_empty());
    // An actor that does not exist.
    assert_invalid(
        store
            .audit_record(&new_audit("x.y", Some(UserId(1000))))
            .await,
        None,
    );
});

store_test!(huge_limits_mean_no_limit, |store| {
    let arm = arch(&*store, "arm64").await;
    let m = machine(&*store, "m1", arm.id).await;
    store
        .event_record(&new_event(m.id, EventKind::PhoneHome, 1))
        .await
        .unwrap();
    store.audit_record(&new_audit("x.y", None)).await.unwrap();
    // The largest limit that binds works...
    let big = i64::MAX as u64;
    assert_eq!(event_ids(&*store, m.id, page(None, big)).await.len(), 1);
    assert_eq!(audit_ids(&*store, page(None, big)).await.len(), 1);
    // ... and a larger one means the same instead of panicking.
    for limit in [big + 1, u64::MAX] {
        assert_eq!(event_ids(&*store, m.id, page(None, limit)).await.len(), 1);
        assert_eq!(audit_ids(&*store, page(None, limit)).await.len(), 1);
        let machines = store
            .machine_list(&MachineListQuery {
                limit: Some(limit),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(machines.len(), 1);
    }
});

store_test!(event_dated_when_it_happened, |store| {
    let arm = arch(&*store, "arm64").await;
    let m = machine(&*store, "m1", arm.id).await;
    // A DHCP lease read after it was granted keeps its grant time, alone or in a batch.
    let granted = mr_provisioner_core::model::to_micros(from_now(-90));
    let e = store
        .event_record(&NewEvent {
            date: Some(granted),
            ..NewEvent::system(m.id, EventKind::DhcpRequest, json!({"n": 1}))
        })
        .await
        .unwrap();
    assert_eq!(e.date, granted);
    store
        .event_record_many(&[
            NewEvent {
                date: Some(from_now(-60)),
                ..NewEvent::system(m.id, EventKind::DhcpRequest, json!({"n": 2}))
            },
            NewEvent::system(m.id, EventKind::TftpRequest, json!({"n": 3})),
        ])
        .await
        .unwrap();
    let list = store.event_list(m.id, page(None, 10)).await.unwrap();
    assert_eq!(list.len(), 3);
    assert!(list[1].date < list[0].date - chrono::TimeDelta::seconds(50));
});
