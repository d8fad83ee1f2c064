//! Interfaces: CRUD, unique MAC and addresses, pool checks, discovered MACs.

use mr_provisioner_core::id::{InterfaceId, MachineId, NetworkId};
use mr_provisioner_core::model::discovered_mac::Sighting;
use mr_provisioner_core::model::interface::{ConfigType, NewInterface};
use mr_provisioner_core::store_test;

use super::fixtures::*;

store_test!(interface_crud, |store| {
    let arm = arch(&*store, "arm64").await;
    let m1 = machine(&*store, "m1", arm.id).await;
    let m2 = machine(&*store, "m2", arm.id).await;
    let lab = lab_network(&*store).await;

    let new = NewInterface {
        identifier: Some("eth0".into()),
        ..static_interface(m1.id, "52-54-00-AA-BB-01", lab.id, "10.99.0.65")
    };
    let i1 = store.interface_create(&new).await.unwrap();
    assert_eq!(i1.machine_id, m1.id);
    assert_eq!(i1.mac.to_string(), "52:54:00:aa:bb:01");
    assert_eq!(i1.identifier.as_deref(), Some("eth0"));
    assert_eq!(i1.network_id, Some(lab.id));
    assert_eq!(i1.static_ipv4, Some(ip("10.99.0.65")));
    assert_eq!(i1.reserved_ipv4, None);
    assert_eq!(i1.config_type(), ConfigType::Static);
    let i2 = interface(&*store, m1.id, "52:54:00:aa:bb:02").await;
    assert_eq!(i2.config_type(), ConfigType::Dynamic);
    let i3 = interface(&*store, m2.id, "52:54:00:aa:bb:03").await;

    assert_eq!(store.interface_get(i1.id).await.unwrap(), i1);
    assert_eq!(
        store
            .interface_by_mac(mac("52:54:00:AA:BB:01"))
            .await
            .unwrap(),
        Some(i1.clone())
    );
    assert_eq!(
        store
            .interface_by_mac(mac("52:54:00:aa:bb:99"))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.interface_list_for_machine(m1.id).await.unwrap(),
        vec![i1.clone(), i2.clone()]
    );
    assert_eq!(
        store.interface_list_for_machine(m2.id).await.unwrap(),
        vec![i3.clone()]
    );
    assert_eq!(
        store.interface_list_for_network(lab.id).await.unwrap(),
        vec![i1.clone()]
    );

    // Update replaces every field: move i1 to m2 with a reserved address only.
    let changed = NewInterface {
        machine_id: m2.id,
        mac: mac("52:54:00:aa:bb:11"),
        identifier: None,
        network_id: Some(lab.id),
        static_ipv4: None,
        reserved_ipv4: Some(ip("10.99.0.129")),
    };
    let updated = store.interface_update(i1.id, &changed).await.unwrap();
    assert_eq!(updated.id, i1.id);
    assert_eq!(updated.machine_id, m2.id);
    assert_eq!(updated.mac, changed.mac);
    assert_eq!(updated.identifier, None);
    assert_eq!(updated.static_ipv4, None);
    assert_eq!(updated.reserved_ipv4, Some(ip("10.99.0.129")));
    assert_eq!(updated.config_type(), ConfigType::DynamicReserved);
    assert_eq!(store.interface_get(i1.id).await.unwrap(), updated);
    assert_eq!(store.interface_by_mac(i1.mac).await.unwrap(), None);
    assert_eq!(
        store.interface_list_for_machine(m2.id).await.unwrap(),
        vec![updated.clone(), i3.clone()]
    );
    // Off the network again.
    let off = store
        .interface_update(
            i1.id,
            &NewInterface {
                mac: mac("52:54:00:aa:bb:11"),
                ..NewInterface::from(&i3)
            },
        )
        .await
        .unwrap();
    assert_eq!(off.network_id, None);
    assert!(
        store
            .interface_list_for_network(lab.id)
            .await
            .unwrap()
            .is_empty()
    );

    store.interface_delete(i1.id).await.unwrap();
    assert_not_found(store.interface_get(i1.id).await, "interface");
    assert_not_found(store.interface_delete(i1.id).await, "interface");
    assert_not_found(store.interface_update(i1.id, &changed).await, "interface");
    assert_not_found(
        store.interface_get(InterfaceId(i3.id.0 + 100)).await,
        "interface",
    );
    assert_eq!(
        store.interface_list_for_machine(m2.id).await.unwrap(),
        vec![i3]
    );
});

store_test!(interface_uniqueness, |store| {
    let arm = arch(&*store, "arm64").await;
    let m1 = machine(&*store, "m1", arm.id).await;
    let m2 = machine(&*store, "m2", arm.id).await;
    let lab = lab_network(&*store).await;
    let i1 = store
        .interface_create(&NewInterface {
            reserved_ipv4: Some(ip("10.99.0.130")),
            ..static_interface(m1.id, "52:54:00:00:00:01", lab.id, "10.99.0.70")
        })
        .await
        .unwrap();
    // The MAC is unique across all machines.
    assert_exists(
        store
            .interface_create(&new_interface(m2.id, "52:54:00:00:00:01"))
            .await,
        "interface",
        "MAC",
    );
    assert_exists(
        store
            .interface_create(&static_interface(
                m2.id,
                "52:54:00:00:00:02",
                lab.id,
                "10.99.0.70",
            ))
            .await,
        "interface",
        "static IPv4 address on this network",
    );
    let mut reserved_clash = new_interface(m2.id, "52:54:00:00:00:02");
    reserved_clash.network_id = Some(lab.id);
    reserved_clash.reserved_ipv4 = Some(ip("10.99.0.130"));
    assert_exists(
        store.interface_create(&reserved_clash).await,
        "interface",
        "reserved IPv4 address on this network",
    );
    assert_eq!(
        store.interface_list_for_network(lab.id).await.unwrap(),
        vec![i1.clone()]
    );
    // Interfaces without addresses on the same network do not clash.
    let mut plain = new_interface(m2.id, "52:54:00:00:00:03");
    plain.network_id = Some(lab.id);
    let i3 = store.interface_create(&plain).await.unwrap();
    plain.mac = mac("52:54:00:00:00:04");
    let i4 = store.interface_create(&plain).await.unwrap();
    // Updates are checked too.
    assert_exists(
        store
            .interface_update(i3.id, &new_interface(m2.id, "52:54:00:00:00:01"))
            .await,
        "interface",
        "MAC",
    );
    assert_exists(
        store
            .interface_update(
                i4.id,
                &static_interface(m2.id, "52:54:00:00:00:04", lab.id, "10.99.0.70"),
            )
            .await,
        "interface",
        "static IPv4 address on this network",
    );
    assert_eq!(store.interface_get(i3.id).await.unwrap(), i3);
    assert_eq!(store.interface_get(i4.id).await.unwrap(), i4);
    // An interface keeps its own address when updated.
    let renamed = store
        .interface_update(
            i1.id,
            &NewInterface {
                identifier: Some("eth1".into()),
                ..NewInterface::from(&i1)
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.static_ipv4, i1.static_ipv4);
});

store_test!(interface_address_validation, |store| {
    let arm = arch(&*store, "arm64").await;
    let m = machine(&*store, "m1", arm.id).await;
    let lab = lab_network(&*store).await;
    let bare = store
        .network_create(&new_network("bare", "10.50.0.0/24", None, None))
        .await
        .unwrap();
    let on = |network: NetworkId, stat: Option<&str>, reserved: Option<&str>| NewInterface {
        network_id: Some(network),
        static_ipv4: stat.map(ip),
        reserved_ipv4: reserved.map(ip),
        ..new_interface(m.id, "52:54:00:00:00:01")
    };
    let cases = [
        // Outside the pool, inside the subnet.
        (Some("static_ipv4"), on(lab.id, Some("10.99.0.5"), None)),
        (Some("static_ipv4"), on(lab.id, Some("10.99.0.130"), None)),
        (Some("reserved_ipv4"), on(lab.id, None, Some("10.99.0.70"))),
        // Outside the subnet.
        (Some("static_ipv4"), on(lab.id, Some("192.168.0.70"), None)),
        // A network without that pool.
        (Some("static_ipv4"), on(bare.id, Some("10.50.0.5"), None)),
        (Some("reserved_ipv4"), on(bare.id, None, Some("10.50.0.5"))),
        // A network that does not exist.
        (Some("network"), on(NetworkId(bare.id.0 + 100), None, None)),
        // An address without a network.
        (
            Some("network"),
            NewInterface {
                network_id: None,
                ..on(lab.id, Some("10.99.0.70"), None)
            },
        ),
        (
            Some("network"),
            NewInterface {
                network_id: None,
                ..on(lab.id, None, Some("10.99.0.130"))
            },
        ),
        (
            Some("identifier"),
            NewInterface {
                identifier: Some("e".repeat(65)),
                ..on(lab.id, None, None)
            },
        ),
        (
            Some("identifier"),
            NewInterface {
                identifier: Some(String::new()),
                ..on(lab.id, None, None)
            },
        ),
        // A machine that does not exist.
        (
            None,
            NewInterface {
                machine_id: MachineId(m.id.0 + 100),
                ..on(lab.id, None, None)
            },
        ),
    ];
    for (field, new) in &cases {
        assert_invalid(store.interface_create(new).await, *field);
    }
    assert!(
        store
            .interface_list_for_machine(m.id)
            .await
            .unwrap()
            .is_empty()
    );
    let ok = store
        .interface_create(&on(lab.id, Some("10.99.0.127"), Some("10.99.0.255")))
        .await
        .unwrap();
    for (field, new) in &cases {
        assert_invalid(store.interface_update(ok.id, new).await, *field);
    }
    assert_eq!(store.interface_get(ok.id).await.unwrap(), ok);
});

store_test!(interface_create_forgets_discovered_mac, |store| {
    let arm = arch(&*store, "arm64").await;
    let m = machine(&*store, "m1", arm.id).await;
    let lab = lab_network(&*store).await;
    let seen = Sighting {
        vendor: Some("QEMU".into()),
        ..Default::default()
    };
    let now = from_now(0);
    for s in [
        "52:54:00:00:00:01",
        "52:54:00:00:00:02",
        "52:54:00:00:00:03",
    ] {
        store
            .discovered_mac_upsert(mac(s), &seen, now)
            .await
            .unwrap();
    }
    let macs = |list: Vec<mr_provisioner_core::model::discovered_mac::DiscoveredMac>| {
        let mut v: Vec<String> = list.into_iter().map(|d| d.mac.to_string()).collect();
        v.sort();
        v
    };

    // A failed create forgets nothing.
    assert_invalid(
        store
            .interface_create(&static_interface(
                m.id,
                "52:54:00:00:00:01",
                lab.id,
                "10.99.0.1",
            ))
            .await,
        Some("static_ipv4"),
    );
    assert_eq!(macs(store.discovered_mac_list().await.unwrap()).len(), 3);

    let i = interface(&*store, m.id, "52-54-00-00-00-01").await;
    assert_eq!(
        macs(store.discovered_mac_list().await.unwrap()),
        vec!["52:54:00:00:00:02", "52:54:00:00:00:03"]
    );
    // Changing an interface's MAC to a discovered one forgets that one too.
    store
        .interface_update(
            i.id,
            &NewInterface {
                mac: mac("52:54:00:00:00:02"),
                ..NewInterface::from(&i)
            },
        )
        .await
        .unwrap();
    assert_eq!(
        macs(store.discovered_mac_list().await.unwrap()),
        vec!["52:54:00:00:00:03"]
    );
});
