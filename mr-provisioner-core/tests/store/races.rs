//! Concurrency: checks that span several statements ("does the new network overlap one?",
//! "does the BMC's kind accept this machine's info?") must hold when writers race.
//!
//! Each test races the two sides many times; with a correct store every round keeps the
//! invariant. On PostgreSQL the pool's connections are opened first, so the writers really
//! run side by side.

use std::sync::Arc;

use mr_provisioner_core::Error;
use mr_provisioner_core::model::bmc::{NewBmc, check_bmc_info};
use mr_provisioner_core::model::machine::NewMachine;
use mr_provisioner_core::store::{Backend, Store};
use mr_provisioner_core::store_test;
use mr_provisioner_ipmi::BmcKind;
use tokio::sync::Barrier;

use super::fixtures::*;

/// Opens `n` pooled connections (PostgreSQL only: on SQLite concurrent write transactions
/// would wait for each other).
async fn warm_pool(store: &dyn Store, n: usize) {
    if store.backend() == Backend::Postgres {
        let mut open = Vec::new();
        for _ in 0..n {
            open.push(store.begin().await.unwrap());
        }
    }
}

store_test!(concurrent_network_creates_never_overlap, |store| {
    // Eight nested subnets created at once: they all overlap, so exactly one may exist.
    let n = 8;
    warm_pool(&*store, n).await;
    let barrier = Arc::new(Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let s = store.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                let new = new_network(&format!("n{i}"), &format!("10.0.0.0/{}", 8 + i), None, None);
                barrier.wait().await;
                s.network_create(&new).await
            })
        })
        .collect();
    let mut created = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(network) => created.push(network.subnet.to_string()),
            Err(Error::Conflict { .. }) => {}
            Err(e) => panic!("unexpected error: {e:?}"),
        }
    }
    assert_eq!(
        created.len(),
        1,
        "overlapping networks created: {created:?}"
    );
    assert_eq!(store.network_list().await.unwrap().len(), 1);
});

store_test!(bmc_kind_change_racing_machine_create, |store| {
    let arm = arch(&*store, "arm64").await;
    warm_pool(&*store, 4).await;
    let mut broken = Vec::new();
    for round in 0..30 {
        let b = bmc(
            &*store,
            &format!("bmc{round}"),
            &format!("10.0.2.{round}"),
            BmcKind::Plain,
        )
        .await;
        let to_moonshot = NewBmc {
            kind: BmcKind::Moonshot,
            ..NewBmc::from(&b)
        };
        let new_machine = NewMachine {
            bmc_id: Some(b.id),
            ..NewMachine::named(format!("m{round}"), arm.id)
        };
        let (s1, s2) = (store.clone(), store.clone());
        let create = tokio::spawn(async move { s1.machine_create(&new_machine).await });
        let update = tokio::spawn(async move { s2.bmc_update(b.id, &to_moonshot).await });
        let (created, updated) = (create.await.unwrap(), update.await.unwrap());
        // At most one side may win, and what is stored must be consistent.
        let kind = store.bmc_get(b.id).await.unwrap().kind;
        if let Ok(m) = created {
            let m = store.machine_get(m.id).await.unwrap();
            if check_bmc_info(kind, &m.bmc_info).is_err() {
                broken.push(format!(
                    "{} on a {kind} BMC (update: {:?})",
                    m.name,
                    updated.is_ok()
                ));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "machines with invalid BMC info: {broken:?}"
    );
});

store_test!(network_update_racing_interface_create, |store| {
    let arm = arch(&*store, "arm64").await;
    let m = machine(&*store, "m1", arm.id).await;
    warm_pool(&*store, 4).await;
    let mut broken = Vec::new();
    for round in 0..30u8 {
        let name = format!("lab{round}");
        let subnet = format!("10.{round}.0.0/24");
        let lab = store
            .network_create(&new_network(
                &name,
                &subnet,
                None,
                Some(&format!("10.{round}.0.0/25")),
            ))
            .await
            .unwrap();
        // The static pool shrinks away from the address the interface asks for.
        let shrink = new_network(&name, &subnet, None, Some(&format!("10.{round}.0.0/26")));
        let iface = static_interface(
            m.id,
            &format!("52:54:00:00:09:{round:02x}"),
            lab.id,
            &format!("10.{round}.0.100"),
        );
        let (s1, s2) = (store.clone(), store.clone());
        let create = tokio::spawn(async move { s1.interface_create(&iface).await });
        let update = tokio::spawn(async move { s2.network_update(lab.id, &shrink).await });
        let _ = (create.await.unwrap(), update.await.unwrap());
        let network = store.network_get(lab.id).await.unwrap();
        for i in store.interface_list_for_network(lab.id).await.unwrap() {
            let addr = i.static_ipv4.unwrap();
            if !network.static_pool.is_some_and(|p| p.contains(&addr)) {
                broken.push(format!("{addr} outside {:?}", network.static_pool));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "interfaces outside their pool: {broken:?}"
    );
});
