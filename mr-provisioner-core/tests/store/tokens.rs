//! API tokens: CRUD, authentication by hash, touch, uniqueness, validation.

use mr_provisioner_core::id::{TokenId, UserId};
use mr_provisioner_core::model::token::NewToken;
use mr_provisioner_core::store_test;

use super::fixtures::*;

fn new_token(user_id: UserId, hash: &str) -> NewToken {
    NewToken {
        user_id,
        hash: hash.into(),
        hint: hash.chars().take(4).collect(),
        description: format!("token {hash}"),
    }
}

store_test!(token_crud, |store| {
    let alice = user(&*store, "alice").await;
    let bob = user(&*store, "bob").await;
    let before = from_now(0);
    let t1 = store
        .token_create(&new_token(alice.id, "aaaa1111"))
        .await
        .unwrap();
    assert_between(t1.created_at, before, from_now(0));
    assert_eq!(t1.user_id, alice.id);
    assert_eq!(t1.hint, "aaaa");
    assert_eq!(t1.description, "token aaaa1111");
    assert_eq!(t1.last_used_at, None);
    let t2 = store
        .token_create(&new_token(alice.id, "bbbb2222"))
        .await
        .unwrap();
    let t3 = store
        .token_create(&new_token(bob.id, "cccc3333"))
        .await
        .unwrap();

    assert_eq!(store.token_get(t1.id).await.unwrap(), t1);
    assert_eq!(
        store.token_list(alice.id).await.unwrap(),
        vec![t1.clone(), t2.clone()]
    );
    assert_eq!(store.token_list(bob.id).await.unwrap(), vec![t3.clone()]);
    assert!(
        store
            .token_list(UserId(bob.id.0 + 100))
            .await
            .unwrap()
            .is_empty()
    );

    store.token_delete(t1.id).await.unwrap();
    assert_not_found(store.token_get(t1.id).await, "token");
    assert_not_found(store.token_delete(t1.id).await, "token");
    assert_eq!(store.token_list(alice.id).await.unwrap(), vec![t2]);
    assert_not_found(store.token_get(TokenId(t3.id.0 + 100)).await, "token");
});

store_test!(token_authenticate_and_touch, |store| {
    let alice = user(&*store, "alice").await;
    let bob = user(&*store, "bob").await;
    let ta = store
        .token_create(&new_token(alice.id, "hash-alice"))
        .await
        .unwrap();
    let tb = store
        .token_create(&new_token(bob.id, "hash-bob"))
        .await
        .unwrap();

    let (token, owner) = store
        .token_authenticate("hash-alice")
        .await
        .unwrap()
        .expect("token found");
    assert_eq!(token, ta);
    assert_eq!(owner, alice);
    let (token, owner) = store
        .token_authenticate("hash-bob")
        .await
        .unwrap()
        .expect("token found");
    assert_eq!(token, tb);
    assert_eq!(owner, bob);
    assert!(
        store
            .token_authenticate("hash-nobody")
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.token_authenticate("").await.unwrap().is_none());
    assert!(
        store
            .token_authenticate("HASH-ALICE")
            .await
            .unwrap()
            .is_none()
    );

    let at = t(0);
    store.token_touch(ta.id, at).await.unwrap();
    let touched = store.token_get(ta.id).await.unwrap();
    assert_eq!(touched.last_used_at, Some(at));
    assert_eq!(touched.created_at, ta.created_at);
    assert_eq!(touched.hint, ta.hint);
    assert_eq!(
        store
            .token_authenticate("hash-alice")
            .await
            .unwrap()
            .unwrap()
            .0
            .last_used_at,
        Some(at)
    );
    // Only that token was touched.
    assert_eq!(store.token_get(tb.id).await.unwrap().last_used_at, None);
    store.token_touch(ta.id, t(60)).await.unwrap();
    assert_eq!(
        store.token_get(ta.id).await.unwrap().last_used_at,
        Some(t(60))
    );
    assert_not_found(store.token_touch(TokenId(tb.id.0 + 100), at).await, "token");

    store.token_delete(ta.id).await.unwrap();
    assert!(
        store
            .token_authenticate("hash-alice")
            .await
            .unwrap()
            .is_none()
    );
});

store_test!(token_hash_unique_and_validation, |store| {
    let alice = user(&*store, "alice").await;
    let bob = user(&*store, "bob").await;
    store
        .token_create(&new_token(alice.id, "same-hash"))
        .await
        .unwrap();
    assert_exists(
        store.token_create(&new_token(bob.id, "same-hash")).await,
        "token",
        "value",
    );
    assert!(store.token_list(bob.id).await.unwrap().is_empty());

    assert_invalid(
        store
            .token_create(&NewToken {
                description: "d".repeat(141),
                ..new_token(alice.id, "other")
            })
            .await,
        Some("description"),
    );
    assert_invalid(
        store
            .token_create(&NewToken {
                description: "two\nlines".into(),
                ..new_token(alice.id, "other")
            })
            .await,
        Some("description"),
    );
    store
        .token_create(&NewToken {
            description: "d".repeat(140),
            ..new_token(alice.id, "other")
        })
        .await
        .unwrap();

    // A token of a user that does not exist.
    assert_not_found(
        store
            .token_create(&new_token(UserId(bob.id.0 + 100), "orphan"))
            .await,
        "user",
    );
    assert!(store.token_authenticate("orphan").await.unwrap().is_none());
});
