//! What DHCP reports: leases and discovered MACs (upserts).

use mr_provisioner_core::id::DiscoveredMacId;
use mr_provisioner_core::model::discovered_mac::Sighting;
use mr_provisioner_core::store_test;

use super::fixtures::*;

store_test!(lease_upsert, |store| {
    let a = mac("52:54:00:00:00:0a");
    let b = mac("52:54:00:00:00:0b");
    assert!(store.lease_by_mac(a).await.unwrap().is_none());
    assert!(store.lease_list().await.unwrap().is_empty());

    let first = store
        .lease_upsert(a, Some(ip("10.0.0.5")), t(0))
        .await
        .unwrap();
    assert_eq!(first.mac, a);
    assert_eq!(first.ipv4, Some(ip("10.0.0.5")));
    assert_eq!(first.last_seen, t(0));
    assert_eq!(store.lease_by_mac(a).await.unwrap(), Some(first.clone()));

    let second = store
        .lease_upsert(a, Some(ip("10.0.0.9")), t(60))
        .await
        .unwrap();
    assert_eq!(second.id, first.id, "the same row");
    assert_eq!(second.ipv4, Some(ip("10.0.0.9")));
    assert_eq!(second.last_seen, t(60));
    assert_eq!(store.lease_by_mac(a).await.unwrap(), Some(second.clone()));
    assert_eq!(store.lease_list().await.unwrap(), vec![second.clone()]);

    let other = store.lease_upsert(b, None, t(30)).await.unwrap();
    assert_ne!(other.id, first.id);
    assert_eq!(other.ipv4, None);
    // A lease without an address replaces the old address.
    let third = store.lease_upsert(a, None, t(120)).await.unwrap();
    assert_eq!(third.id, first.id);
    assert_eq!(third.ipv4, None);
    assert_eq!(third.last_seen, t(120));
    assert_eq!(store.lease_list().await.unwrap(), vec![third, other]);
});

store_test!(discovered_mac_upsert_keeps_details, |store| {
    let a = mac("52:54:00:00:00:0a");
    let full = Sighting {
        vendor: Some("QEMU virtual NIC".into()),
        hostname: Some("debian".into()),
        arch_code: Some(u16::MAX),
        arch: Some("x86-64 UEFI".into()),
    };
    let d1 = store.discovered_mac_upsert(a, &full, t(0)).await.unwrap();
    assert_eq!(d1.mac, a);
    assert_eq!(d1.vendor, full.vendor);
    assert_eq!(d1.hostname, full.hostname);
    assert_eq!(d1.arch_code, Some(u16::MAX));
    assert_eq!(d1.arch, full.arch);
    assert_eq!((d1.first_seen, d1.last_seen), (t(0), t(0)));
    assert_eq!(store.discovered_mac_get(d1.id).await.unwrap(), d1);

    // A sighting without details keeps the old ones and moves last_seen only.
    let d2 = store
        .discovered_mac_upsert(a, &Sighting::default(), t(60))
        .await
        .unwrap();
    assert_eq!(d2.id, d1.id);
    assert_eq!(d2.vendor, full.vendor);
    assert_eq!(d2.hostname, full.hostname);
    assert_eq!(d2.arch_code, full.arch_code);
    assert_eq!(d2.arch, full.arch);
    assert_eq!(d2.first_seen, t(0));
    assert_eq!(d2.last_seen, t(60));
    assert_eq!(store.discovered_mac_get(d1.id).await.unwrap(), d2);

    // New details replace old ones, field by field.
    let d3 = store
        .discovered_mac_upsert(
            a,
            &Sighting {
                hostname: Some("renamed".into()),
                arch_code: Some(7),
                ..Default::default()
            },
            t(120),
        )
        .await
        .unwrap();
    assert_eq!(d3.id, d1.id);
    assert_eq!(d3.vendor, full.vendor);
    assert_eq!(d3.hostname.as_deref(), Some("renamed"));
    assert_eq!(d3.arch_code, Some(7));
    assert_eq!(d3.arch, full.arch);
    assert_eq!(d3.first_seen, t(0));
    assert_eq!(d3.last_seen, t(120));
    assert_eq!(store.discovered_mac_list().await.unwrap(), vec![d3]);

    // A first sighting without details stores none.
    let bare = store
        .discovered_mac_upsert(mac("52:54:00:00:00:0b"), &Sighting::default(), t(5))
        .await
        .unwrap();
    assert_eq!(
        (bare.vendor, bare.hostname, bare.arch_code, bare.arch),
        (None, None, None, None)
    );
});

store_test!(discovered_mac_list_get_delete, |store| {
    let seen = Sighting::default();
    let a = store
        .discovered_mac_upsert(mac("00:00:00:00:00:0a"), &seen, t(0))
        .await
        .unwrap();
    let b = store
        .discovered_mac_upsert(mac("00:00:00:00:00:0b"), &seen, t(10))
        .await
        .unwrap();
    let c = store
        .discovered_mac_upsert(mac("00:00:00:00:00:0c"), &seen, t(20))
        .await
        .unwrap();
    let order = |list: Vec<mr_provisioner_core::model::discovered_mac::DiscoveredMac>| {
        list.into_iter().map(|d| d.id).collect::<Vec<_>>()
    };
    assert_eq!(
        order(store.discovered_mac_list().await.unwrap()),
        vec![c.id, b.id, a.id]
    );
    // Seeing `a` again puts it first.
    store
        .discovered_mac_upsert(mac("00:00:00:00:00:0a"), &seen, t(30))
        .await
        .unwrap();
    assert_eq!(
        order(store.discovered_mac_list().await.unwrap()),
        vec![a.id, c.id, b.id]
    );
    // Sub-second differences order too; equal times go by id.
    let d = store
        .discovered_mac_upsert(
            mac("00:00:00:00:00:0d"),
            &seen,
            t(30) + chrono::TimeDelta::microseconds(1),
        )
        .await
        .unwrap();
    let e = store
        .discovered_mac_upsert(mac("00:00:00:00:00:0e"), &seen, t(20))
        .await
        .unwrap();
    assert_eq!(
        order(store.discovered_mac_list().await.unwrap()),
        vec![d.id, a.id, c.id, e.id, b.id]
    );

    store.discovered_mac_delete(c.id).await.unwrap();
    assert_not_found(store.discovered_mac_get(c.id).await, "discovered MAC");
    assert_not_found(store.discovered_mac_delete(c.id).await, "discovered MAC");
    assert_not_found(
        store
            .discovered_mac_get(DiscoveredMacId(e.id.0 + 100))
            .await,
        "discovered MAC",
    );
    assert_eq!(
        order(store.discovered_mac_list().await.unwrap()),
        vec![d.id, a.id, e.id, b.id]
    );
    // A forgotten MAC seen again is a new record with a new first sighting.
    let c2 = store
        .discovered_mac_upsert(mac("00:00:00:00:00:0c"), &seen, t(40))
        .await
        .unwrap();
    assert_ne!(c2.id, c.id);
    assert_eq!(c2.first_seen, t(40));
});
