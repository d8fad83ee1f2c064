//! Console tokens: single use, expiry, purge, unique hash.

use chrono::TimeDelta;
use mr_provisioner_core::id::{MachineId, UserId};
use mr_provisioner_core::store_test;

use super::fixtures::*;

store_test!(console_token_consume_once, |store| {
    let arm = arch(&*store, "arm64").await;
    let m = machine(&*store, "m1", arm.id).await;
    let alice = user(&*store, "alice").await;
    let expires = from_now(300);
    let before = from_now(0);
    let tok = store
        .console_token_create(m.id, alice.id, "hash-1", expires)
        .await
        .unwrap();
    assert_between(tok.created_at, before, from_now(0));
    assert_eq!(tok.machine_id, m.id);
    assert_eq!(tok.user_id, alice.id);
    assert_eq!(tok.expires_at, expires);
    let other = store
        .console_token_create(m.id, alice.id, "hash-2", expires)
        .await
        .unwrap();

    let now = from_now(0);
    assert!(
        store
            .console_token_consume("hash-x", now)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store.console_token_consume("hash-1", now).await.unwrap(),
        Some(tok)
    );
    assert!(
        store
            .console_token_consume("hash-1", now)
            .await
            .unwrap()
            .is_none()
    );
    // The other token is unaffected.
    assert_eq!(
        store.console_token_consume("hash-2", now).await.unwrap(),
        Some(other)
    );
});

store_test!(console_token_expiry, |store| {
    let arm = arch(&*store, "arm64").await;
    let m = machine(&*store, "m1", arm.id).await;
    let alice = user(&*store, "alice").await;
    let at = t(0);
    store
        .console_token_create(m.id, alice.id, "expired", at)
        .await
        .unwrap();
    store
        .console_token_create(m.id, alice.id, "valid", at)
        .await
        .unwrap();
    // The expiry instant itself is too late.
    assert!(
        store
            .console_token_consume("expired", at)
            .await
            .unwrap()
            .is_none()
    );
    // ... and an expired token is gone, even when asked for with an earlier clock.
    assert!(
        store
            .console_token_consume("expired", at - TimeDelta::seconds(10))
            .await
            .unwrap()
            .is_none()
    );
    let just_before = at - TimeDelta::microseconds(1);
    let got = store
        .console_token_consume("valid", just_before)
        .await
        .unwrap()
        .expect("valid until its expiry");
    assert_eq!(got.expires_at, at);
});

store_test!(console_token_purge, |store| {
    let arm = arch(&*store, "arm64").await;
    let m = machine(&*store, "m1", arm.id).await;
    let alice = user(&*store, "alice").await;
    let at = t(0);
    for (hash, expires) in [
        ("past", at - TimeDelta::seconds(1)),
        ("edge", at),
        ("future", at + TimeDelta::microseconds(1)),
        ("later", at + TimeDelta::hours(1)),
    ] {
        store
            .console_token_create(m.id, alice.id, hash, expires)
            .await
            .unwrap();
    }
    assert_eq!(store.console_token_purge(at).await.unwrap(), 2);
    assert_eq!(store.console_token_purge(at).await.unwrap(), 0);
    let before = at - TimeDelta::seconds(5);
    assert!(
        store
            .console_token_consume("past", before)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .console_token_consume("edge", before)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .console_token_consume("future", before)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        store
            .console_token_purge(at + TimeDelta::days(1))
            .await
            .unwrap(),
        1
    );
    assert!(
        store
            .console_token_consume("later", before)
            .await
            .unwrap()
            .is_none()
    );
});

store_test!(console_token_unique_and_references, |store| {
    let arm = arch(&*store, "arm64").await;
    let m = machine(&*store, "m1", arm.id).await;
    let alice = user(&*store, "alice").await;
    let expires = from_now(300);
    store
        .console_token_create(m.id, alice.id, "same", expires)
        .await
        .unwrap();
    assert_exists(
        store
            .console_token_create(m.id, alice.id, "same", expires)
            .await,
        "console token",
        "value",
    );
    assert_invalid(
        store
            .console_token_create(MachineId(m.id.0 + 100), alice.id, "h2", expires)
            .await,
        None,
    );
    assert_invalid(
        store
            .console_token_create(m.id, UserId(alice.id.0 + 100), "h3", expires)
            .await,
        None,
    );
    let now = from_now(0);
    assert!(
        store
            .console_token_consume("h2", now)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .console_token_consume("same", now)
            .await
            .unwrap()
            .is_some()
    );
});

store_test!(console_token_consumed_once_under_contention, |store| {
    let arm = arch(&*store, "arm64").await;
    let m = machine(&*store, "m1", arm.id).await;
    let alice = user(&*store, "alice").await;
    store
        .console_token_create(m.id, alice.id, "raced", from_now(300))
        .await
        .unwrap();
    let now = from_now(0);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let s = store.clone();
            tokio::spawn(async move { s.console_token_consume("raced", now).await })
        })
        .collect();
    let mut winners = 0;
    for task in tasks {
        if task.await.unwrap().unwrap().is_some() {
            winners += 1;
        }
    }
    assert_eq!(winners, 1, "exactly one viewer gets the token");
});
