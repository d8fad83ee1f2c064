//! BMCs: CRUD, uniqueness, validation, deletion while in use, kind changes against the
//! BMC info of their machines.

use mr_provisioner_core::id::BmcId;
use mr_provisioner_core::model::bmc::{Bmc, NewBmc};
use mr_provisioner_core::model::machine::NewMachine;
use mr_provisioner_core::store_test;
use mr_provisioner_ipmi::{BmcKind, Privilege};
use secrecy::ExposeSecret;

use super::fixtures::*;

/// Field-by-field equality (a [`Bmc`] has a secret and no `PartialEq`).
#[track_caller]
fn assert_bmc_eq(got: &Bmc, want: &Bmc) {
    assert_eq!(got.id, want.id);
    assert_bmc_is(got, &NewBmc::from(want));
}

#[track_caller]
fn assert_bmc_is(got: &Bmc, want: &NewBmc) {
    assert_eq!(got.name, want.name);
    assert_eq!(got.address, want.address);
    assert_eq!(got.port, want.port);
    assert_eq!(got.username, want.username);
    assert_eq!(
        got.password.expose_secret(),
        want.password.expose_secret(),
        "password"
    );
    assert_eq!(got.kind, want.kind);
    assert_eq!(got.privilege, want.privilege);
    assert_eq!(got.cipher_suite, want.cipher_suite);
    assert_eq!(got.retries, want.retries);
    assert_eq!(got.timeout_ms, want.timeout_ms);
}

store_test!(bmc_crud, |store| {
    let full = NewBmc {
        port: Some(6230),
        privilege: Privilege::Operator,
        cipher_suite: Some(17),
        retries: Some(20),
        timeout_ms: Some(600_000),
        ..new_bmc("bmc-redfish", "bmc1.lab.example", BmcKind::Redfish)
    };
    let b1 = store.bmc_create(&full).await.unwrap();
    assert_bmc_is(&b1, &full);
    let minimal = NewBmc {
        username: String::new(),
        password: String::new().into(),
        privilege: Privilege::User,
        ..new_bmc("bmc plain", "10.0.0.98", BmcKind::Plain)
    };
    let b2 = store.bmc_create(&minimal).await.unwrap();
    assert_bmc_is(&b2, &minimal);
    assert!(b2.id > b1.id);

    assert_bmc_eq(&store.bmc_get(b1.id).await.unwrap(), &b1);
    assert_bmc_eq(&store.bmc_get(b2.id).await.unwrap(), &b2);
    assert_bmc_eq(&store.bmc_by_name("bmc plain").await.unwrap().unwrap(), &b2);
    assert!(store.bmc_by_name("bmc-nope").await.unwrap().is_none());
    let list = store.bmc_list().await.unwrap();
    assert_eq!(list.len(), 2);
    assert_bmc_eq(&list[0], &b1);
    assert_bmc_eq(&list[1], &b2);

    // Update replaces every field, including clearing the optional ones.
    let replaced = NewBmc {
        name: "bmc-moved".into(),
        address: "fe80::1".into(),
        port: None,
        username: "root".into(),
        password: "n3w".to_string().into(),
        kind: BmcKind::Sim,
        privilege: Privilege::Callback,
        cipher_suite: Some(0),
        retries: Some(0),
        timeout_ms: None,
    };
    let updated = store.bmc_update(b1.id, &replaced).await.unwrap();
    assert_eq!(updated.id, b1.id);
    assert_bmc_is(&updated, &replaced);
    assert_bmc_is(&store.bmc_get(b1.id).await.unwrap(), &replaced);
    assert!(store.bmc_by_name("bmc-redfish").await.unwrap().is_none());
    assert_bmc_eq(
        &store.bmc_by_name("bmc-moved").await.unwrap().unwrap(),
        &updated,
    );

    store.bmc_delete(b1.id).await.unwrap();
    assert_not_found(store.bmc_get(b1.id).await, "BMC");
    assert_not_found(store.bmc_delete(b1.id).await, "BMC");
    assert_not_found(store.bmc_update(b1.id, &replaced).await, "BMC");
    let list = store.bmc_list().await.unwrap();
    assert_eq!(list.len(), 1);
    assert_bmc_eq(&list[0], &b2);
    assert_not_found(store.bmc_get(BmcId(b2.id.0 + 100)).await, "BMC");
});

store_test!(bmc_unique_name_and_address_port, |store| {
    let b1 = bmc(&*store, "bmc1", "10.0.0.1", BmcKind::Plain).await;
    assert_exists(
        store
            .bmc_create(&new_bmc("bmc1", "10.0.0.2", BmcKind::Plain))
            .await,
        "BMC",
        "name",
    );
    assert_exists(
        store
            .bmc_create(&new_bmc("bmc2", "10.0.0.1", BmcKind::Plain))
            .await,
        "BMC",
        "address and port",
    );
    // The same address on another port is another BMC (a Moonshot chassis behind NAT).
    let b2 = store
        .bmc_create(&NewBmc {
            port: Some(6230),
            ..new_bmc("bmc2", "10.0.0.1", BmcKind::Plain)
        })
        .await
        .unwrap();
    assert_exists(
        store
            .bmc_create(&NewBmc {
                port: Some(6230),
                ..new_bmc("bmc3", "10.0.0.1", BmcKind::Redfish)
            })
            .await,
        "BMC",
        "address and port",
    );
    // Updates are checked too, and leave the row as it was.
    assert_exists(
        store
            .bmc_update(
                b2.id,
                &NewBmc {
                    name: "bmc1".into(),
                    ..NewBmc::from(&b2)
                },
            )
            .await,
        "BMC",
        "name",
    );
    assert_exists(
        store
            .bmc_update(
                b2.id,
                &NewBmc {
                    name: "bmc2".into(),
                    ..NewBmc::from(&b1)
                },
            )
            .await,
        "BMC",
        "address and port",
    );
    assert_bmc_eq(&store.bmc_get(b2.id).await.unwrap(), &b2);
    assert_eq!(store.bmc_list().await.unwrap().len(), 2);
});

store_test!(bmc_validation, |store| {
    let base = || new_bmc("bmc1", "10.0.0.1", BmcKind::Plain);
    let cases: Vec<(&str, NewBmc)> = vec![
        (
            "name",
            NewBmc {
                name: "b".into(),
                ..base()
            },
        ),
        (
            "name",
            NewBmc {
                name: "b".repeat(257),
                ..base()
            },
        ),
        (
            "address",
            NewBmc {
                address: "not an address".into(),
                ..base()
            },
        ),
        (
            "address",
            NewBmc {
                address: "10.0.0.256".into(),
                ..base()
            },
        ),
        (
            "port",
            NewBmc {
                port: Some(0),
                ..base()
            },
        ),
        (
            "cipher_suite",
            NewBmc {
                cipher_suite: Some(18),
                ..base()
            },
        ),
        (
            "retries",
            NewBmc {
                retries: Some(21),
                ..base()
            },
        ),
        (
            "timeout_ms",
            NewBmc {
                timeout_ms: Some(99),
                ..base()
            },
        ),
        (
            "timeout_ms",
            NewBmc {
                timeout_ms: Some(600_001),
                ..base()
            },
        ),
        (
            "password",
            NewBmc {
                password: "p".repeat(257).into(),
                ..base()
            },
        ),
        (
            "username",
            NewBmc {
                username: "u".repeat(257),
                ..base()
            },
        ),
    ];
    for (field, new) in &cases {
        assert_invalid(store.bmc_create(new).await, Some(field));
    }
    assert!(store.bmc_list().await.unwrap().is_empty());
    let ok = store.bmc_create(&base()).await.unwrap();
    for (field, new) in &cases {
        assert_invalid(store.bmc_update(ok.id, new).await, Some(field));
    }
    assert_bmc_eq(&store.bmc_get(ok.id).await.unwrap(), &ok);
});

store_test!(bmc_delete_conflicts_while_used, |store| {
    let a = arch(&*store, "arm64").await;
    let b = bmc(&*store, "bmc1", "10.0.0.1", BmcKind::Plain).await;
    let m = store
        .machine_create(&NewMachine {
            bmc_id: Some(b.id),
            ..NewMachine::named("m1", a.id)
        })
        .await
        .unwrap();
    assert_conflict(store.bmc_delete(b.id).await);
    assert_bmc_eq(&store.bmc_get(b.id).await.unwrap(), &b);
    assert_eq!(store.machine_get(m.id).await.unwrap().bmc_id, Some(b.id));

    store
        .machine_update(
            m.id,
            &NewMachine {
                bmc_id: None,
                ..NewMachine::from(&m)
            },
        )
        .await
        .unwrap();
    store.bmc_delete(b.id).await.unwrap();
    assert_not_found(store.bmc_get(b.id).await, "BMC");
});

store_test!(machine_bmc_info_checked_against_kind, |store| {
    let a = arch(&*store, "arm64").await;
    let moonshot = bmc(&*store, "moonshot", "10.0.0.1", BmcKind::Moonshot).await;
    let plain = bmc(&*store, "plain", "10.0.0.2", BmcKind::Plain).await;
    let on = |bmc_id, info: &str| NewMachine {
        bmc_id: Some(bmc_id),
        bmc_info: info.into(),
        ..NewMachine::named("cart", a.id)
    };
    for bad in ["", "0", "46", "x", "-1", " 3", "3.0"] {
        assert_invalid(
            store.machine_create(&on(moonshot.id, bad)).await,
            Some("bmc_info"),
        );
    }
    assert!(store.machine_by_name("cart").await.unwrap().is_none());
    let m = store.machine_create(&on(moonshot.id, "45")).await.unwrap();
    assert_eq!(m.bmc_info, "45");
    assert_invalid(
        store.machine_update(m.id, &on(moonshot.id, "99")).await,
        Some("bmc_info"),
    );
    assert_eq!(store.machine_get(m.id).await.unwrap().bmc_info, "45");
    // Any text up to 256 characters on other kinds; none at all without a BMC.
    store
        .machine_create(&NewMachine {
            name: "p1".into(),
            ..on(plain.id, "slot x")
        })
        .await
        .unwrap();
    assert_invalid(
        store
            .machine_create(&NewMachine {
                name: "p2".into(),
                ..on(plain.id, &"i".repeat(257))
            })
            .await,
        Some("bmc_info"),
    );
    assert_invalid(
        store
            .machine_create(&NewMachine {
                bmc_info: "3".into(),
                ..NewMachine::named("nobmc", a.id)
            })
            .await,
        Some("bmc_info"),
    );
});

store_test!(bmc_kind_change_rechecks_machines, |store| {
    let a = arch(&*store, "arm64").await;
    let b1 = bmc(&*store, "bmc1", "10.0.0.1", BmcKind::Plain).await;
    let b2 = bmc(&*store, "bmc2", "10.0.0.2", BmcKind::Plain).await;
    store
        .machine_create(&NewMachine {
            bmc_id: Some(b1.id),
            ..NewMachine::named("empty-info", a.id)
        })
        .await
        .unwrap();
    store
        .machine_create(&NewMachine {
            bmc_id: Some(b2.id),
            bmc_info: "7".into(),
            ..NewMachine::named("cartridge", a.id)
        })
        .await
        .unwrap();

    let to_moonshot = |b: &Bmc| NewBmc {
        kind: BmcKind::Moonshot,
        ..NewBmc::from(b)
    };
    assert_conflict(store.bmc_update(b1.id, &to_moonshot(&b1)).await);
    assert_eq!(store.bmc_get(b1.id).await.unwrap().kind, BmcKind::Plain);

    let moved = store.bmc_update(b2.id, &to_moonshot(&b2)).await.unwrap();
    assert_eq!(moved.kind, BmcKind::Moonshot);
    // And back: a cartridge number is fine BMC info for a plain BMC.
    store.bmc_update(b2.id, &NewBmc::from(&b2)).await.unwrap();
    // A BMC without machines can become anything.
    let b3 = bmc(&*store, "bmc3", "10.0.0.3", BmcKind::Plain).await;
    assert_eq!(
        store
            .bmc_update(b3.id, &to_moonshot(&b3))
            .await
            .unwrap()
            .kind,
        BmcKind::Moonshot
    );
});
