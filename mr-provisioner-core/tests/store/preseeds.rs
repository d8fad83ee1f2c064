//! Installer configs: CRUD, unique name, validation, deletion while in use, visibility.

use mr_provisioner_core::id::{PreseedId, UserId};
use mr_provisioner_core::model::machine::NewMachine;
use mr_provisioner_core::model::preseed::{InstallerKind, MAX_CONTENT_BYTES, NewPreseed};
use mr_provisioner_core::store::Visibility;
use mr_provisioner_core::store_test;

use super::fixtures::*;

store_test!(preseed_crud, |store| {
    let bob = user(&*store, "bob").await;
    let full = NewPreseed {
        name: "debian-bookworm".into(),
        description: Some("Debian 12".into()),
        kind: InstallerKind::Kickstart,
        content: Some("{{ ssh_key }}\nline two\n\ttabbed ünïcode\n".into()),
        owner_id: Some(bob.id),
        known_good: true,
        public: true,
    };
    let before = from_now(0);
    let p1 = store.preseed_create(&full).await.unwrap();
    assert_between(p1.created_at, before, from_now(0));
    assert_eq!(p1.name, full.name);
    assert_eq!(p1.description, full.description);
    assert_eq!(p1.kind, InstallerKind::Kickstart);
    assert_eq!(p1.content, full.content);
    assert_eq!(p1.owner_id, Some(bob.id));
    assert!(p1.known_good && p1.public);
    let p2 = store
        .preseed_create(&NewPreseed {
            content: None,
            kind: InstallerKind::Autoyast,
            ..new_preseed("suse", None, false)
        })
        .await
        .unwrap();
    assert_eq!(p2.content, None);
    assert_eq!(p2.kind, InstallerKind::Autoyast);

    assert_eq!(store.preseed_get(p1.id).await.unwrap(), p1);
    assert_eq!(
        store.preseed_by_name("suse").await.unwrap(),
        Some(p2.clone())
    );
    assert_eq!(store.preseed_by_name("SUSE").await.unwrap(), None);
    assert_eq!(
        store.preseed_list(Visibility::All).await.unwrap(),
        vec![p1.clone(), p2.clone()]
    );

    let replaced = NewPreseed {
        name: "debian-trixie".into(),
        description: None,
        kind: InstallerKind::Preseed,
        content: Some(String::new()),
        owner_id: None,
        known_good: false,
        public: false,
    };
    let updated = store.preseed_update(p1.id, &replaced).await.unwrap();
    assert_eq!(updated.id, p1.id);
    assert_eq!(updated.created_at, p1.created_at, "created_at is kept");
    assert_eq!(updated.name, "debian-trixie");
    assert_eq!(updated.description, None);
    assert_eq!(updated.kind, InstallerKind::Preseed);
    assert_eq!(updated.content.as_deref(), Some(""));
    assert_eq!(updated.owner_id, None);
    assert!(!updated.known_good && !updated.public);
    assert_eq!(store.preseed_get(p1.id).await.unwrap(), updated);

    store.preseed_delete(p1.id).await.unwrap();
    assert_not_found(store.preseed_get(p1.id).await, "preseed");
    assert_not_found(store.preseed_delete(p1.id).await, "preseed");
    assert_not_found(store.preseed_update(p1.id, &replaced).await, "preseed");
    assert_not_found(store.preseed_get(PreseedId(p2.id.0 + 100)).await, "preseed");
    assert_eq!(store.preseed_list(Visibility::All).await.unwrap(), vec![p2]);
});

store_test!(preseed_name_unique_and_validation, |store| {
    let p1 = preseed(&*store, "one", None).await;
    let p2 = preseed(&*store, "two", None).await;
    assert_exists(
        store.preseed_create(&new_preseed("one", None, true)).await,
        "preseed",
        "name",
    );
    assert_exists(
        store
            .preseed_update(p2.id, &new_preseed("one", None, false))
            .await,
        "preseed",
        "name",
    );
    assert_eq!(store.preseed_get(p2.id).await.unwrap(), p2);

    let base = || new_preseed("ok-name", None, false);
    let cases: Vec<(&str, NewPreseed)> = vec![
        (
            "name",
            NewPreseed {
                name: "x".into(),
                ..base()
            },
        ),
        (
            "name",
            NewPreseed {
                name: "bad\nname".into(),
                ..base()
            },
        ),
        (
            "description",
            NewPreseed {
                description: Some("two\nlines".into()),
                ..base()
            },
        ),
        (
            "content",
            NewPreseed {
                content: Some("c".repeat(MAX_CONTENT_BYTES + 1)),
                ..base()
            },
        ),
    ];
    for (field, new) in &cases {
        assert_invalid(store.preseed_create(new).await, Some(field));
        assert_invalid(store.preseed_update(p1.id, new).await, Some(field));
    }
    assert_invalid(
        store
            .preseed_create(&NewPreseed {
                owner_id: Some(UserId(1000)),
                ..base()
            })
            .await,
        None,
    );
    assert_eq!(
        store.preseed_list(Visibility::All).await.unwrap(),
        vec![p1, p2]
    );
    // The largest template fits and comes back whole.
    let big = "c".repeat(MAX_CONTENT_BYTES);
    let p = store
        .preseed_create(&NewPreseed {
            content: Some(big.clone()),
            ..base()
        })
        .await
        .unwrap();
    assert_eq!(store.preseed_get(p.id).await.unwrap().content, Some(big));
});

store_test!(preseed_delete_conflicts_while_used, |store| {
    let arm = arch(&*store, "arm64").await;
    let p = preseed(&*store, "cfg", None).await;
    let m = store
        .machine_create(&NewMachine {
            preseed_id: Some(p.id),
            ..NewMachine::named("m1", arm.id)
        })
        .await
        .unwrap();
    assert_conflict(store.preseed_delete(p.id).await);
    assert_eq!(store.preseed_get(p.id).await.unwrap(), p);
    store
        .machine_update(m.id, &NewMachine::named("m1", arm.id))
        .await
        .unwrap();
    store.preseed_delete(p.id).await.unwrap();
    assert_not_found(store.preseed_get(p.id).await, "preseed");
});

store_test!(preseed_visibility, |store| {
    let alice = user(&*store, "alice").await;
    let bob = user(&*store, "bob").await;
    let carol = user(&*store, "carol").await;
    let mut ids = Vec::new();
    for (i, (owner, public)) in [
        (Some(alice.id), false),
        (Some(alice.id), true),
        (Some(bob.id), false),
        (Some(bob.id), true),
        (None, false),
        (None, true),
    ]
    .into_iter()
    .enumerate()
    {
        let p = store
            .preseed_create(&new_preseed(&format!("cfg-{i}"), owner, public))
            .await
            .unwrap();
        ids.push(p.id);
    }
    let pick = |idx: &[usize]| idx.iter().map(|&i| ids[i]).collect::<Vec<PreseedId>>();
    let table = [
        (Visibility::All, pick(&[0, 1, 2, 3, 4, 5])),
        (Visibility::OwnedBy(alice.id), pick(&[0, 1])),
        (Visibility::OwnedBy(bob.id), pick(&[2, 3])),
        (Visibility::OwnedBy(carol.id), vec![]),
        (Visibility::VisibleTo(alice.id), pick(&[0, 1, 3, 5])),
        (Visibility::VisibleTo(bob.id), pick(&[1, 2, 3, 5])),
        (Visibility::VisibleTo(carol.id), pick(&[1, 3, 5])),
    ];
    for (visibility, want) in table {
        let got: Vec<PreseedId> = store
            .preseed_list(visibility)
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.id)
            .collect();
        assert_eq!(got, want, "{visibility:?}");
    }
});
