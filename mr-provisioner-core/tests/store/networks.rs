//! Networks: CRUD, uniqueness, overlap, validation, updates against interface addresses,
//! deletion clearing interface addresses.

use mr_provisioner_core::id::NetworkId;
use mr_provisioner_core::model::network::NewNetwork;
use mr_provisioner_core::store_test;

use super::fixtures::*;

store_test!(network_crud, |store| {
    let lab = lab_network(&*store).await;
    assert_eq!(lab.name, "lab");
    assert_eq!(lab.subnet, net("10.99.0.0/24"));
    assert_eq!(lab.reserved_pool, Some(net("10.99.0.128/25")));
    assert_eq!(lab.static_pool, Some(net("10.99.0.64/26")));
    let bare = store
        .network_create(&new_network("bare", "192.168.7.0/24", None, None))
        .await
        .unwrap();
    assert_eq!((bare.reserved_pool, bare.static_pool), (None, None));

    assert_eq!(store.network_get(lab.id).await.unwrap(), lab);
    assert_eq!(
        store.network_by_name("bare").await.unwrap(),
        Some(bare.clone())
    );
    assert_eq!(store.network_by_name("Lab").await.unwrap(), None);
    assert_eq!(
        store.network_list().await.unwrap(),
        vec![lab.clone(), bare.clone()]
    );

    let changed = new_network("lab2", "10.98.0.0/16", Some("10.98.1.0/24"), None);
    let updated = store.network_update(lab.id, &changed).await.unwrap();
    assert_eq!(updated.id, lab.id);
    assert_eq!(NewNetwork::from(&updated).name, "lab2");
    assert_eq!(updated.subnet, net("10.98.0.0/16"));
    assert_eq!(updated.reserved_pool, Some(net("10.98.1.0/24")));
    assert_eq!(updated.static_pool, None);
    assert_eq!(store.network_get(lab.id).await.unwrap(), updated);
    // The old subnet is free again.
    store
        .network_create(&new_network("lab", "10.99.0.0/24", None, None))
        .await
        .unwrap();

    store.network_delete(lab.id).await.unwrap();
    assert_not_found(store.network_get(lab.id).await, "network");
    assert_not_found(store.network_delete(lab.id).await, "network");
    assert_not_found(store.network_update(lab.id, &changed).await, "network");
    assert_not_found(
        store.network_get(NetworkId(bare.id.0 + 100)).await,
        "network",
    );
    assert_eq!(store.network_by_name("lab2").await.unwrap(), None);
    assert_eq!(store.network_list().await.unwrap().len(), 2);
});

store_test!(network_unique_and_overlap, |store| {
    let lab = lab_network(&*store).await;
    assert_exists(
        store
            .network_create(&new_network("lab", "10.1.0.0/24", None, None))
            .await,
        "network",
        "name",
    );
    // Equal, contained and containing subnets overlap.
    for subnet in [
        "10.99.0.0/24",
        "10.99.0.128/25",
        "10.99.0.7/32",
        "10.0.0.0/8",
        "0.0.0.0/0",
    ] {
        assert_conflict(
            store
                .network_create(&new_network("other", subnet, None, None))
                .await,
        );
    }
    assert_eq!(store.network_list().await.unwrap(), vec![lab.clone()]);
    // Neighbours do not.
    let below = store
        .network_create(&new_network("below", "10.98.255.0/24", None, None))
        .await
        .unwrap();
    let above = store
        .network_create(&new_network("above", "10.99.1.0/24", None, None))
        .await
        .unwrap();

    // Updates are checked against the other networks only.
    store
        .network_update(
            lab.id,
            &new_network("lab", "10.99.0.0/24", Some("10.99.0.0/25"), None),
        )
        .await
        .unwrap();
    assert_conflict(
        store
            .network_update(below.id, &new_network("below", "10.99.0.0/23", None, None))
            .await,
    );
    assert_conflict(
        store
            .network_update(above.id, &new_network("above", "10.99.0.0/26", None, None))
            .await,
    );
    assert_exists(
        store
            .network_update(above.id, &new_network("lab", "10.99.1.0/24", None, None))
            .await,
        "network",
        "name",
    );
    assert_eq!(store.network_get(above.id).await.unwrap(), above);
    assert_eq!(store.network_get(below.id).await.unwrap(), below);
});

store_test!(network_validation, |store| {
    let lab = lab_network(&*store).await;
    let cases = [
        ("name", new_network("n", "10.1.0.0/24", None, None)),
        ("subnet", new_network("net", "10.1.0.1/24", None, None)),
        (
            "reserved_pool",
            new_network("net", "10.1.0.0/24", Some("10.2.0.0/25"), None),
        ),
        (
            "reserved_pool",
            new_network("net", "10.1.0.0/24", Some("10.1.0.129/25"), None),
        ),
        (
            "static_pool",
            new_network("net", "10.1.0.0/24", None, Some("10.1.0.0/23")),
        ),
        (
            "static_pool",
            new_network(
                "net",
                "10.1.0.0/24",
                Some("10.1.0.0/25"),
                Some("10.1.0.64/26"),
            ),
        ),
    ];
    for (field, new) in &cases {
        assert_invalid(store.network_create(new).await, Some(field));
        assert_invalid(store.network_update(lab.id, new).await, Some(field));
    }
    assert_eq!(store.network_list().await.unwrap(), vec![lab]);
});

store_test!(network_update_keeps_interface_addresses_in_pools, |store| {
    let arm = arch(&*store, "arm64").await;
    let m = machine(&*store, "m1", arm.id).await;
    let lab = lab_network(&*store).await;
    let with_static = store
        .interface_create(&static_interface(
            m.id,
            "52:54:00:00:00:01",
            lab.id,
            "10.99.0.70",
        ))
        .await
        .unwrap();
    let mut reserved = new_interface(m.id, "52:54:00:00:00:02");
    reserved.network_id = Some(lab.id);
    reserved.reserved_ipv4 = Some(ip("10.99.0.200"));
    let with_reserved = store.interface_create(&reserved).await.unwrap();

    for bad in [
        // The static pool shrinks away from .70.
        new_network(
            "lab",
            "10.99.0.0/24",
            Some("10.99.0.128/25"),
            Some("10.99.0.96/27"),
        ),
        // The static pool goes.
        new_network("lab", "10.99.0.0/24", Some("10.99.0.128/25"), None),
        // The reserved pool shrinks away from .200.
        new_network(
            "lab",
            "10.99.0.0/24",
            Some("10.99.0.128/26"),
            Some("10.99.0.64/26"),
        ),
        // The network moves.
        new_network(
            "lab",
            "10.100.0.0/24",
            Some("10.100.0.128/25"),
            Some("10.100.0.64/26"),
        ),
    ] {
        assert_conflict(store.network_update(lab.id, &bad).await);
        // Nothing changed: neither the network nor its interfaces.
        assert_eq!(store.network_get(lab.id).await.unwrap(), lab);
    }
    assert_eq!(
        store.interface_list_for_network(lab.id).await.unwrap(),
        vec![with_static.clone(), with_reserved.clone()]
    );
    // Pools that still hold the addresses are fine.
    let wider = store
        .network_update(
            lab.id,
            &new_network(
                "lab-renamed",
                "10.99.0.0/23",
                Some("10.99.0.192/26"),
                Some("10.99.0.0/25"),
            ),
        )
        .await
        .unwrap();
    assert_eq!(wider.name, "lab-renamed");
    assert_eq!(store.network_get(lab.id).await.unwrap(), wider);
    assert_eq!(
        store.interface_get(with_static.id).await.unwrap(),
        with_static
    );
});

store_test!(network_delete_clears_interfaces, |store| {
    let arm = arch(&*store, "arm64").await;
    let m = machine(&*store, "m1", arm.id).await;
    let lab = lab_network(&*store).await;
    let other = store
        .network_create(&new_network(
            "other",
            "10.50.0.0/24",
            None,
            Some("10.50.0.0/25"),
        ))
        .await
        .unwrap();
    let mut both = static_interface(m.id, "52:54:00:00:00:01", lab.id, "10.99.0.70");
    both.reserved_ipv4 = Some(ip("10.99.0.130"));
    let on_lab = store.interface_create(&both).await.unwrap();
    let on_other = store
        .interface_create(&static_interface(
            m.id,
            "52:54:00:00:00:02",
            other.id,
            "10.50.0.5",
        ))
        .await
        .unwrap();
    let off = interface(&*store, m.id, "52:54:00:00:00:03").await;

    store.network_delete(lab.id).await.unwrap();
    assert_not_found(store.network_get(lab.id).await, "network");
    let cleared = store.interface_get(on_lab.id).await.unwrap();
    assert_eq!(cleared.mac, on_lab.mac);
    assert_eq!(cleared.machine_id, m.id);
    assert_eq!(cleared.network_id, None);
    assert_eq!(cleared.static_ipv4, None);
    assert_eq!(cleared.reserved_ipv4, None);
    assert_eq!(store.interface_get(on_other.id).await.unwrap(), on_other);
    assert_eq!(store.interface_get(off.id).await.unwrap(), off);
    assert!(
        store
            .interface_list_for_network(lab.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.interface_list_for_machine(m.id).await.unwrap().len(),
        3
    );
    // A new network over the same range does not inherit the old addresses.
    let again = lab_network(&*store).await;
    assert!(
        store
            .interface_list_for_network(again.id)
            .await
            .unwrap()
            .is_empty()
    );
    store
        .interface_create(&static_interface(
            m.id,
            "52:54:00:00:00:04",
            again.id,
            "10.99.0.70",
        ))
        .await
        .unwrap();
});
