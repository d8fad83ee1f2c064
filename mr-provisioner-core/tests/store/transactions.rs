//! Transactions: commit, rollback, drop, savepoints, and the store's own transactions
//! nested in a caller's.

use mr_provisioner_core::model::bmc::NewBmc;
use mr_provisioner_core::model::machine::NewMachine;
use mr_provisioner_core::store::Store;
use mr_provisioner_core::store_test;
use mr_provisioner_ipmi::BmcKind;

use super::fixtures::*;

async fn usernames(store: &dyn Store) -> Vec<String> {
    store
        .user_list()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.username)
        .collect()
}

store_test!(tx_rollback_discards, |store| {
    user(&*store, "before").await;
    let tx = store.begin().await.unwrap();
    let inside = user(&*tx, "inside").await;
    // Visible inside the transaction.
    assert_eq!(tx.user_get(inside.id).await.unwrap(), inside);
    assert_eq!(usernames(&*tx).await, vec!["before", "inside"]);
    tx.rollback().await.unwrap();
    assert_eq!(usernames(&*store).await, vec!["before"]);
    assert_not_found(store.user_get(inside.id).await, "user");
    // The store still takes writes.
    user(&*store, "after").await;
    assert_eq!(usernames(&*store).await, vec!["before", "after"]);
});

store_test!(tx_commit_persists, |store| {
    let tx = store.begin().await.unwrap();
    let a = arch(&*tx, "arm64").await;
    let m = machine(&*tx, "m1", a.id).await;
    let u = user(&*tx, "alice").await;
    assign(&*tx, m.id, u.id).await;
    tx.commit().await.unwrap();
    assert_eq!(store.machine_get(m.id).await.unwrap(), m);
    assert_eq!(store.arch_get(a.id).await.unwrap(), a);
    assert_eq!(store.assignment_list_for_user(u.id).await.unwrap().len(), 1);
});

store_test!(tx_drop_rolls_back, |store| {
    {
        let tx = store.begin().await.unwrap();
        user(&*tx, "dropped").await;
        arch(&*tx, "arm64").await;
        // Dropped here without commit.
    }
    assert!(store.user_by_name("dropped").await.unwrap().is_none());
    assert!(store.arch_list().await.unwrap().is_empty());
    // The connection went back clean: writes work, with and without a transaction.
    user(&*store, "after").await;
    let tx = store.begin().await.unwrap();
    user(&*tx, "in-second-tx").await;
    tx.commit().await.unwrap();
    assert_eq!(usernames(&*store).await, vec!["after", "in-second-tx"]);
});

store_test!(tx_nested_savepoints, |store| {
    let outer = store.begin().await.unwrap();
    user(&*outer, "outer-1").await;
    {
        let inner = outer.begin().await.unwrap();
        user(&*inner, "inner-rolled-back").await;
        assert_eq!(
            usernames(&*inner).await,
            vec!["outer-1", "inner-rolled-back"]
        );
        inner.rollback().await.unwrap();
    }
    assert_eq!(usernames(&*outer).await, vec!["outer-1"]);
    {
        let inner = outer.begin().await.unwrap();
        user(&*inner, "inner-dropped").await;
    }
    assert_eq!(usernames(&*outer).await, vec!["outer-1"]);
    {
        let inner = outer.begin().await.unwrap();
        user(&*inner, "inner-committed").await;
        inner.commit().await.unwrap();
    }
    user(&*outer, "outer-2").await;
    assert_eq!(
        usernames(&*outer).await,
        vec!["outer-1", "inner-committed", "outer-2"]
    );
    outer.commit().await.unwrap();
    assert_eq!(
        usernames(&*store).await,
        vec!["outer-1", "inner-committed", "outer-2"]
    );

    // A committed savepoint is still undone by the outer rollback.
    let outer = store.begin().await.unwrap();
    let inner = outer.begin().await.unwrap();
    user(&*inner, "gone").await;
    inner.commit().await.unwrap();
    outer.rollback().await.unwrap();
    assert!(store.user_by_name("gone").await.unwrap().is_none());
});

store_test!(tx_contains_store_internal_transactions, |store| {
    // Operations that open their own transaction run as savepoints inside the caller's and
    // are undone with it.
    let a = arch(&*store, "arm64").await;
    let m = machine(&*store, "m1", a.id).await;
    let b = bmc(&*store, "bmc1", "10.0.0.1", BmcKind::Plain).await;
    let lab = lab_network(&*store).await;

    let tx = store.begin().await.unwrap();
    let other = tx
        .network_create(&new_network(
            "other",
            "10.50.0.0/24",
            None,
            Some("10.50.0.0/25"),
        ))
        .await
        .unwrap();
    let iface = tx
        .interface_create(&static_interface(
            m.id,
            "52:54:00:00:00:01",
            other.id,
            "10.50.0.5",
        ))
        .await
        .unwrap();
    tx.bmc_update(
        b.id,
        &NewBmc {
            kind: BmcKind::Redfish,
            ..NewBmc::from(&b)
        },
    )
    .await
    .unwrap();
    tx.network_update(
        lab.id,
        &new_network("lab-renamed", "10.99.0.0/24", None, None),
    )
    .await
    .unwrap();
    tx.network_delete(lab.id).await.unwrap();
    // A failing internal transaction inside ours leaves ours usable.
    assert_conflict(
        tx.network_create(&new_network("overlap", "10.50.0.0/25", None, None))
            .await,
    );
    assert_conflict(
        tx.network_update(other.id, &new_network("other", "10.50.0.0/24", None, None))
            .await,
    );
    assert_eq!(tx.interface_get(iface.id).await.unwrap(), iface);
    assert_eq!(tx.network_get(other.id).await.unwrap(), other);
    assert_eq!(tx.network_list().await.unwrap(), vec![other.clone()]);
    tx.rollback().await.unwrap();

    assert!(store.network_by_name("other").await.unwrap().is_none());
    assert_not_found(store.interface_get(iface.id).await, "interface");
    assert_eq!(store.bmc_get(b.id).await.unwrap().kind, BmcKind::Plain);
    assert_eq!(store.network_get(lab.id).await.unwrap(), lab);
    assert_eq!(store.network_list().await.unwrap(), vec![lab]);
});

store_test!(tx_rollback_after_failed_statement, |store| {
    // A caller that hits an error rolls back; nothing done before the error survives.
    let a = arch(&*store, "arm64").await;
    machine(&*store, "taken", a.id).await;
    let tx = store.begin().await.unwrap();
    user(&*tx, "first").await;
    assert_exists(
        tx.machine_create(&NewMachine::named("taken", a.id)).await,
        "machine",
        "name",
    );
    tx.rollback().await.unwrap();
    assert!(store.user_by_name("first").await.unwrap().is_none());
    assert_eq!(store.user_count().await.unwrap(), 0);
    // And the store is fine afterwards.
    user(&*store, "second").await;
    assert_eq!(usernames(&*store).await, vec!["second"]);
});
