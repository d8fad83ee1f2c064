//! Assignments: CRUD, one per machine and user, validation, expiry listing.

use chrono::TimeDelta;
use mr_provisioner_core::Error;
use mr_provisioner_core::id::{AssignmentId, MachineId, UserId};
use mr_provisioner_core::model::assignment::NewAssignment;
use mr_provisioner_core::store_test;

use super::fixtures::*;

fn new_assignment(machine_id: MachineId, user_id: UserId) -> NewAssignment {
    NewAssignment {
        machine_id,
        user_id,
        reason: "kernel testing".into(),
        end: None,
    }
}

store_test!(assignment_crud, |store| {
    let arm = arch(&*store, "arm64").await;
    let m1 = machine(&*store, "m1", arm.id).await;
    let m2 = machine(&*store, "m2", arm.id).await;
    let alice = user(&*store, "alice").await;
    let bob = user(&*store, "bob").await;

    let end = from_now(3600);
    let before = from_now(0);
    let a1 = store
        .assignment_create(&NewAssignment {
            end: Some(end),
            ..new_assignment(m1.id, alice.id)
        })
        .await
        .unwrap();
    assert_between(a1.start, before, from_now(0));
    assert_eq!(a1.machine_id, m1.id);
    assert_eq!(a1.user_id, alice.id);
    assert_eq!(a1.reason, "kernel testing");
    assert_eq!(a1.end, Some(end));
    let a2 = store
        .assignment_create(&NewAssignment {
            reason: String::new(),
            ..new_assignment(m1.id, bob.id)
        })
        .await
        .unwrap();
    assert_eq!(a2.reason, "");
    assert_eq!(a2.end, None);
    let a3 = assign(&*store, m2.id, alice.id).await;

    assert_eq!(store.assignment_get(a1.id).await.unwrap(), a1);
    assert_eq!(
        store.assignment_find(m1.id, bob.id).await.unwrap(),
        Some(a2.clone())
    );
    assert_eq!(store.assignment_find(m2.id, bob.id).await.unwrap(), None);
    assert_eq!(
        store.assignment_list_for_machine(m1.id).await.unwrap(),
        vec![a1.clone(), a2.clone()]
    );
    assert_eq!(
        store.assignment_list_for_machine(m2.id).await.unwrap(),
        vec![a3.clone()]
    );
    assert_eq!(
        store.assignment_list_for_user(alice.id).await.unwrap(),
        vec![a1.clone(), a3.clone()]
    );
    assert_eq!(
        store.assignment_list_for_user(bob.id).await.unwrap(),
        vec![a2.clone()]
    );

    let new_end = from_now(7200);
    let updated = store
        .assignment_update(a1.id, "longer", Some(new_end))
        .await
        .unwrap();
    assert_eq!(updated.id, a1.id);
    assert_eq!(updated.reason, "longer");
    assert_eq!(updated.end, Some(new_end));
    assert_eq!(updated.start, a1.start, "start is kept");
    assert_eq!((updated.machine_id, updated.user_id), (m1.id, alice.id));
    assert_eq!(store.assignment_get(a1.id).await.unwrap(), updated);
    let open_ended = store.assignment_update(a1.id, "", None).await.unwrap();
    assert_eq!(open_ended.end, None);
    assert_eq!(open_ended.reason, "");
    assert_eq!(store.assignment_get(a1.id).await.unwrap(), open_ended);

    store.assignment_delete(a1.id).await.unwrap();
    assert_not_found(store.assignment_get(a1.id).await, "assignee");
    assert_not_found(store.assignment_delete(a1.id).await, "assignee");
    assert_not_found(store.assignment_update(a1.id, "x", None).await, "assignee");
    assert_not_found(
        store.assignment_get(AssignmentId(a3.id.0 + 100)).await,
        "assignee",
    );
    assert_eq!(store.assignment_find(m1.id, alice.id).await.unwrap(), None);
    assert_eq!(
        store.assignment_list_for_user(alice.id).await.unwrap(),
        vec![a3]
    );
    // The machine can be assigned to the same user again.
    assign(&*store, m1.id, alice.id).await;
});

store_test!(assignment_duplicate_is_conflict, |store| {
    let arm = arch(&*store, "arm64").await;
    let m = machine(&*store, "m1", arm.id).await;
    let alice = user(&*store, "alice").await;
    let first = assign(&*store, m.id, alice.id).await;
    match store
        .assignment_create(&new_assignment(m.id, alice.id))
        .await
    {
        Err(Error::Conflict { message }) => {
            assert!(message.contains("already assigned"), "{message}")
        }
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert_eq!(
        store.assignment_list_for_machine(m.id).await.unwrap(),
        vec![first]
    );
});

store_test!(assignment_validation, |store| {
    let arm = arch(&*store, "arm64").await;
    let m = machine(&*store, "m1", arm.id).await;
    let alice = user(&*store, "alice").await;
    for (field, new) in [
        (
            "reason",
            NewAssignment {
                reason: "r".repeat(141),
                ..new_assignment(m.id, alice.id)
            },
        ),
        (
            "reason",
            NewAssignment {
                reason: "two\nlines".into(),
                ..new_assignment(m.id, alice.id)
            },
        ),
        (
            "end",
            NewAssignment {
                end: Some(from_now(-60)),
                ..new_assignment(m.id, alice.id)
            },
        ),
    ] {
        assert_invalid(store.assignment_create(&new).await, Some(field));
    }
    // References that do not exist.
    assert_invalid(
        store
            .assignment_create(&new_assignment(MachineId(m.id.0 + 100), alice.id))
            .await,
        None,
    );
    assert_invalid(
        store
            .assignment_create(&new_assignment(m.id, UserId(alice.id.0 + 100)))
            .await,
        None,
    );
    assert!(
        store
            .assignment_list_for_machine(m.id)
            .await
            .unwrap()
            .is_empty()
    );

    let a = store
        .assignment_create(&NewAssignment {
            reason: "r".repeat(140),
            ..new_assignment(m.id, alice.id)
        })
        .await
        .unwrap();
    assert_invalid(
        store.assignment_update(a.id, &"r".repeat(141), None).await,
        Some("reason"),
    );
    assert_invalid(
        store
            .assignment_update(a.id, "ok", Some(from_now(-1)))
            .await,
        Some("end"),
    );
    assert_eq!(store.assignment_get(a.id).await.unwrap(), a);
});

store_test!(assignment_list_expired, |store| {
    let arm = arch(&*store, "arm64").await;
    let alice = user(&*store, "alice").await;
    let m1 = machine(&*store, "m1", arm.id).await;
    let m2 = machine(&*store, "m2", arm.id).await;
    let m3 = machine(&*store, "m3", arm.id).await;
    let soon = from_now(3600);
    let later = soon + TimeDelta::hours(2);
    let a1 = store
        .assignment_create(&NewAssignment {
            end: Some(later),
            ..new_assignment(m1.id, alice.id)
        })
        .await
        .unwrap();
    let a2 = store
        .assignment_create(&NewAssignment {
            end: Some(soon),
            ..new_assignment(m2.id, alice.id)
        })
        .await
        .unwrap();
    assign(&*store, m3.id, alice.id).await;

    assert!(
        store
            .assignment_list_expired(from_now(0))
            .await
            .unwrap()
            .is_empty()
    );
    let just_before = soon - TimeDelta::microseconds(1);
    assert!(
        store
            .assignment_list_expired(just_before)
            .await
            .unwrap()
            .is_empty()
    );
    // "At or before": the end itself counts.
    assert_eq!(
        store.assignment_list_expired(soon).await.unwrap(),
        vec![a2.clone()]
    );
    assert_eq!(
        store
            .assignment_list_expired(later - TimeDelta::seconds(1))
            .await
            .unwrap(),
        vec![a2.clone()]
    );
    // By id, not by end; open-ended assignments never expire.
    assert_eq!(
        store
            .assignment_list_expired(later + TimeDelta::days(365))
            .await
            .unwrap(),
        vec![a1, a2]
    );
});
