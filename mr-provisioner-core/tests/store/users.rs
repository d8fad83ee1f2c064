//! Users: CRUD, unique username, validation, delete restrictions and cascades.

use mr_provisioner_core::id::UserId;
use mr_provisioner_core::model::audit::NewAuditEntry;
use mr_provisioner_core::model::event::{EventKind, NewEvent};
use mr_provisioner_core::model::image::ImageKind;
use mr_provisioner_core::model::token::NewToken;
use mr_provisioner_core::model::user::{MAX_SSH_KEY_BYTES, NewUser, UserUpdate};
use mr_provisioner_core::store::Page;
use mr_provisioner_core::store_test;

use super::fixtures::*;

store_test!(user_crud, |store| {
    let before = from_now(0);
    let alice = store
        .user_create(&NewUser {
            password_hash: Some("hash-1".into()),
            admin: true,
            ..new_user("alice")
        })
        .await
        .unwrap();
    assert_between(alice.created_at, before, from_now(0));
    assert_eq!(alice.username, "alice");
    assert_eq!(alice.email.as_deref(), Some("alice@example.com"));
    assert!(alice.admin);
    assert_eq!(alice.ssh_key, "ssh-ed25519 AAAA alice");

    assert_eq!(store.user_get(alice.id).await.unwrap(), alice);
    assert_eq!(
        store.user_by_name("alice").await.unwrap(),
        Some(alice.clone())
    );
    assert_eq!(store.user_by_name("Alice").await.unwrap(), None);
    assert_eq!(store.user_by_name("nobody").await.unwrap(), None);

    let bob = store
        .user_create(&NewUser {
            email: None,
            ..new_user("bob")
        })
        .await
        .unwrap();
    assert!(bob.id > alice.id);
    assert_eq!(bob.email, None);
    assert!(!bob.admin);
    assert_eq!(
        store.user_list().await.unwrap(),
        vec![alice.clone(), bob.clone()]
    );
    assert_eq!(store.user_count().await.unwrap(), 2);

    // Password hashes are kept apart from the user.
    assert_eq!(
        store.user_password_hash(alice.id).await.unwrap().as_deref(),
        Some("hash-1")
    );
    assert_eq!(store.user_password_hash(bob.id).await.unwrap(), None);
    store.user_set_password(bob.id, "hash-2").await.unwrap();
    assert_eq!(
        store.user_password_hash(bob.id).await.unwrap().as_deref(),
        Some("hash-2")
    );
    assert_eq!(
        store.user_password_hash(alice.id).await.unwrap().as_deref(),
        Some("hash-1")
    );

    // A partial update changes only the fields given.
    let updated = store
        .user_update(
            alice.id,
            &UserUpdate {
                username: Some("alice2".into()),
                email: Some(None),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.username, "alice2");
    assert_eq!(updated.email, None);
    assert!(updated.admin, "admin flag untouched");
    assert_eq!(updated.ssh_key, alice.ssh_key);
    assert_eq!(updated.created_at, alice.created_at);
    assert_eq!(store.user_get(alice.id).await.unwrap(), updated);
    assert_eq!(store.user_by_name("alice").await.unwrap(), None);
    assert_eq!(
        store.user_by_name("alice2").await.unwrap(),
        Some(updated.clone())
    );
    let updated2 = store
        .user_update(
            alice.id,
            &UserUpdate {
                email: Some(Some("new@example.org".into())),
                admin: Some(false),
                ssh_key: Some("ssh-rsa BBBB".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated2.username, "alice2");
    assert_eq!(updated2.email.as_deref(), Some("new@example.org"));
    assert!(!updated2.admin);
    assert_eq!(updated2.ssh_key, "ssh-rsa BBBB");
    assert_eq!(store.user_get(alice.id).await.unwrap(), updated2);
    // An empty update changes nothing and still returns the user.
    assert_eq!(
        store
            .user_update(alice.id, &UserUpdate::default())
            .await
            .unwrap(),
        updated2
    );
    // The password hash survives updates.
    assert_eq!(
        store.user_password_hash(alice.id).await.unwrap().as_deref(),
        Some("hash-1")
    );

    store.user_delete(alice.id).await.unwrap();
    assert_not_found(store.user_get(alice.id).await, "user");
    assert_not_found(store.user_delete(alice.id).await, "user");
    assert_eq!(store.user_list().await.unwrap(), vec![bob.clone()]);
    assert_eq!(store.user_count().await.unwrap(), 1);

    let missing = UserId(alice.id.0 + 1000);
    assert_not_found(store.user_get(missing).await, "user");
    assert_not_found(
        store
            .user_update(
                missing,
                &UserUpdate {
                    admin: Some(true),
                    ..Default::default()
                },
            )
            .await,
        "user",
    );
    assert_not_found(
        store.user_update(missing, &UserUpdate::default()).await,
        "user",
    );
    assert_not_found(store.user_password_hash(missing).await, "user");
    assert_not_found(store.user_set_password(missing, "x").await, "user");
});

store_test!(user_username_unique, |store| {
    let alice = user(&*store, "alice").await;
    let bob = user(&*store, "bob").await;
    assert_exists(
        store.user_create(&new_user("alice")).await,
        "user",
        "username",
    );
    assert_exists(
        store
            .user_update(
                bob.id,
                &UserUpdate {
                    username: Some("alice".into()),
                    ..Default::default()
                },
            )
            .await,
        "user",
        "username",
    );
    assert_eq!(store.user_get(bob.id).await.unwrap(), bob);
    assert_eq!(store.user_list().await.unwrap(), vec![alice, bob]);
    // Usernames are case-sensitive.
    store.user_create(&new_user("Alice")).await.unwrap();
});

store_test!(user_validation, |store| {
    for bad in ["a", "self", "two words", " lead", "trail ", "tab\there"] {
        assert_invalid(store.user_create(&new_user(bad)).await, Some("username"));
    }
    assert_invalid(
        store.user_create(&new_user(&"u".repeat(129))).await,
        Some("username"),
    );
    for bad in ["bob", "a@b@c", "@b", "b@"] {
        assert_invalid(
            store
                .user_create(&NewUser {
                    email: Some(bad.into()),
                    ..new_user("bob")
                })
                .await,
            Some("email"),
        );
    }
    assert_invalid(
        store
            .user_create(&NewUser {
                ssh_key: "k".repeat(MAX_SSH_KEY_BYTES + 1),
                ..new_user("bob")
            })
            .await,
        Some("ssh_key"),
    );
    assert_eq!(store.user_count().await.unwrap(), 0);

    // The boundaries are accepted.
    let short = user(&*store, "ab").await;
    user(&*store, &"u".repeat(128)).await;
    store
        .user_create(&NewUser {
            ssh_key: "k".repeat(MAX_SSH_KEY_BYTES),
            ..new_user("bigkey")
        })
        .await
        .unwrap();

    for update in [
        UserUpdate {
            username: Some("x".into()),
            ..Default::default()
        },
        UserUpdate {
            username: Some("self".into()),
            ..Default::default()
        },
        UserUpdate {
            email: Some(Some("nope".into())),
            ..Default::default()
        },
        UserUpdate {
            ssh_key: Some("k".repeat(MAX_SSH_KEY_BYTES + 1)),
            ..Default::default()
        },
    ] {
        assert_invalid(store.user_update(short.id, &update).await, None);
    }
    assert_eq!(store.user_get(short.id).await.unwrap(), short);
});

store_test!(user_delete_conflicts_while_in_use, |store| {
    let a = arch(&*store, "arm64").await;
    let m = machine(&*store, "m1", a.id).await;

    let owner = user(&*store, "owner").await;
    let img = image(
        &*store,
        "owner/vmlinuz",
        ImageKind::Kernel,
        a.id,
        Some(owner.id),
    )
    .await;
    assert_conflict(store.user_delete(owner.id).await);
    store.image_delete(img.id).await.unwrap();

    let p = preseed(&*store, "owner-preseed", Some(owner.id)).await;
    assert_conflict(store.user_delete(owner.id).await);
    store.preseed_delete(p.id).await.unwrap();

    let asg = assign(&*store, m.id, owner.id).await;
    assert_conflict(store.user_delete(owner.id).await);
    assert_eq!(store.user_get(owner.id).await.unwrap(), owner);
    store.assignment_delete(asg.id).await.unwrap();

    store.user_delete(owner.id).await.unwrap();
    assert_not_found(store.user_get(owner.id).await, "user");
});

store_test!(user_delete_cascades_tokens_and_keeps_history, |store| {
    let a = arch(&*store, "arm64").await;
    let m = machine(&*store, "m1", a.id).await;
    let gone = user(&*store, "gone").await;
    let stays = user(&*store, "stays").await;

    let t1 = store
        .token_create(&NewToken {
            user_id: gone.id,
            hash: "hash-gone".into(),
            hint: "abcd".into(),
            description: String::new(),
        })
        .await
        .unwrap();
    let t2 = store
        .token_create(&NewToken {
            user_id: stays.id,
            hash: "hash-stays".into(),
            hint: "efgh".into(),
            description: String::new(),
        })
        .await
        .unwrap();
    store
        .console_token_create(m.id, gone.id, "console-gone", from_now(600))
        .await
        .unwrap();
    store
        .console_token_create(m.id, stays.id, "console-stays", from_now(600))
        .await
        .unwrap();
    let event = store
        .event_record(&NewEvent {
            date: None,
            machine_id: m.id,
            user_id: Some(gone.id),
            username: Some("gone".into()),
            kind: EventKind::PowerChange,
            info: serde_json::json!({"action": "on"}),
        })
        .await
        .unwrap();
    let audit = store
        .audit_record(&NewAuditEntry {
            actor_id: Some(gone.id),
            actor: "gone".into(),
            action: "machine.update".into(),
            target_kind: "machine".into(),
            target_id: Some(m.id.0),
            detail: serde_json::json!({}),
        })
        .await
        .unwrap();

    store.user_delete(gone.id).await.unwrap();

    assert_not_found(store.token_get(t1.id).await, "token");
    assert!(store.token_list(gone.id).await.unwrap().is_empty());
    assert!(
        store
            .token_authenticate("hash-gone")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.token_get(t2.id).await.unwrap(), t2);
    let now = from_now(0);
    assert!(
        store
            .console_token_consume("console-gone", now)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .console_token_consume("console-stays", now)
            .await
            .unwrap()
            .is_some()
    );

    // History outlives the user: events keep the name, the audit log the actor name.
    let events = store
        .event_list(
            m.id,
            Page {
                before: None,
                limit: 10,
            },
        )
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].id, event.id);
    assert_eq!(events[0].user_id, None);
    assert_eq!(events[0].username.as_deref(), Some("gone"));
    let log = store
        .audit_list(Page {
            before: None,
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].id, audit.id);
    assert_eq!(log[0].actor_id, None);
    assert_eq!(log[0].actor, "gone");
});
