//! Machines: CRUD, unique name, validation of references, cascading deletion.

use mr_provisioner_core::id::{ArchId, BmcId, ImageId, MachineId, PreseedId, SubarchId};
use mr_provisioner_core::model::event::{EventKind, NewEvent};
use mr_provisioner_core::model::image::ImageKind;
use mr_provisioner_core::model::machine::{MAX_KERNEL_OPTS, MachineState, NewMachine};
use mr_provisioner_core::store::{MachineListQuery, Page};
use mr_provisioner_core::store_test;
use mr_provisioner_ipmi::BmcKind;

use super::fixtures::*;

store_test!(machine_crud, |store| {
    let arm = arch(&*store, "arm64").await;
    let x86 = arch(&*store, "x86_64").await;
    let efi = subarch(&*store, arm.id, "efi", None).await;
    let b = bmc(&*store, "moonshot", "10.0.0.1", BmcKind::Moonshot).await;
    let kernel = image(&*store, "vmlinuz", ImageKind::Kernel, arm.id, None).await;
    let initrd = image(&*store, "initrd", ImageKind::Initrd, arm.id, None).await;
    let cfg = preseed(&*store, "cfg", None).await;
    let full = NewMachine {
        name: "m1.lab_x".into(),
        arch_id: arm.id,
        subarch_id: Some(efi.id),
        bmc_id: Some(b.id),
        bmc_info: "12".into(),
        kernel_id: Some(kernel.id),
        initrd_id: Some(initrd.id),
        preseed_id: Some(cfg.id),
        kernel_opts: "console=ttyS0,115200 quiet".into(),
        netboot_enabled: true,
        state: MachineState::Ready,
    };
    let before = from_now(0);
    let m1 = store.machine_create(&full).await.unwrap();
    assert_between(m1.created_at, before, from_now(0));
    assert_eq!(m1.name, full.name);
    assert_eq!(m1.arch_id, arm.id);
    assert_eq!(m1.subarch_id, Some(efi.id));
    assert_eq!(m1.bmc_id, Some(b.id));
    assert_eq!(m1.bmc_info, "12");
    assert_eq!(m1.kernel_id, Some(kernel.id));
    assert_eq!(m1.initrd_id, Some(initrd.id));
    assert_eq!(m1.preseed_id, Some(cfg.id));
    assert_eq!(m1.kernel_opts, full.kernel_opts);
    assert!(m1.netboot_enabled);
    assert_eq!(m1.state, MachineState::Ready);
    assert_eq!(m1.hostname(), "m1-lab-x");
    let m2 = machine(&*store, "m2", x86.id).await;
    assert_eq!(m2.state, MachineState::Unknown);
    assert!(!m2.netboot_enabled);

    assert_eq!(store.machine_get(m1.id).await.unwrap(), m1);
    assert_eq!(store.machine_by_name("m2").await.unwrap(), Some(m2.clone()));
    assert_eq!(store.machine_by_name("M2").await.unwrap(), None);
    let list = store
        .machine_list(&MachineListQuery::default())
        .await
        .unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].machine, m1);
    assert_eq!(list[0].arch, "arm64");
    assert_eq!(list[0].subarch.as_deref(), Some("efi"));
    assert_eq!(list[1].machine, m2);
    assert_eq!(list[1].arch, "x86_64");
    assert_eq!(list[1].subarch, None);

    for state in MachineState::ALL {
        let updated = store
            .machine_update(
                m2.id,
                &NewMachine {
                    state,
                    ..NewMachine::from(&m2)
                },
            )
            .await
            .unwrap();
        assert_eq!(updated.state, state);
        assert_eq!(store.machine_get(m2.id).await.unwrap().state, state);
    }
    // An update replaces every field (clearing references) and keeps created_at.
    let cleared = NewMachine {
        name: "m1-renamed".into(),
        ..NewMachine::named("ignored", x86.id)
    };
    let updated = store.machine_update(m1.id, &cleared).await.unwrap();
    assert_eq!(updated.id, m1.id);
    assert_eq!(updated.created_at, m1.created_at);
    assert_eq!(updated.name, "m1-renamed");
    assert_eq!(updated.arch_id, x86.id);
    assert_eq!(
        (
            updated.subarch_id,
            updated.bmc_id,
            updated.kernel_id,
            updated.initrd_id,
            updated.preseed_id
        ),
        (None, None, None, None, None)
    );
    assert_eq!(updated.bmc_info, "");
    assert_eq!(updated.kernel_opts, "");
    assert!(!updated.netboot_enabled);
    assert_eq!(updated.state, MachineState::Unknown);
    assert_eq!(store.machine_get(m1.id).await.unwrap(), updated);
    assert_eq!(store.machine_by_name("m1.lab_x").await.unwrap(), None);

    store.machine_delete(m1.id).await.unwrap();
    assert_not_found(store.machine_get(m1.id).await, "machine");
    assert_not_found(store.machine_delete(m1.id).await, "machine");
    assert_not_found(store.machine_update(m1.id, &cleared).await, "machine");
    assert_not_found(store.machine_get(MachineId(m2.id.0 + 100)).await, "machine");
    let list = store
        .machine_list(&MachineListQuery::default())
        .await
        .unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].machine.id, m2.id);
});

store_test!(machine_name_unique, |store| {
    let arm = arch(&*store, "arm64").await;
    let m1 = machine(&*store, "m1", arm.id).await;
    let m2 = machine(&*store, "m2", arm.id).await;
    assert_exists(
        store.machine_create(&NewMachine::named("m1", arm.id)).await,
        "machine",
        "name",
    );
    assert_exists(
        store
            .machine_update(m2.id, &NewMachine::named("m1", arm.id))
            .await,
        "machine",
        "name",
    );
    assert_eq!(store.machine_get(m2.id).await.unwrap(), m2);
    assert_eq!(store.machine_get(m1.id).await.unwrap(), m1);
});

store_test!(machine_validation, |store| {
    let arm = arch(&*store, "arm64").await;
    let x86 = arch(&*store, "x86_64").await;
    let x86_bios = subarch(&*store, x86.id, "bios", None).await;
    let b = bmc(&*store, "plain", "10.0.0.1", BmcKind::Plain).await;
    let base = || NewMachine::named("m1", arm.id);
    let cases: Vec<(Option<&str>, NewMachine)> = vec![
        (
            Some("name"),
            NewMachine {
                name: "m".into(),
                ..base()
            },
        ),
        (
            Some("name"),
            NewMachine {
                name: "m".repeat(257),
                ..base()
            },
        ),
        (
            Some("name"),
            NewMachine {
                name: "m1\n".into(),
                ..base()
            },
        ),
        (
            Some("kernel_opts"),
            NewMachine {
                kernel_opts: "console=ttyS0\nmenuentry evil".into(),
                ..base()
            },
        ),
        (
            Some("kernel_opts"),
            NewMachine {
                kernel_opts: "o".repeat(MAX_KERNEL_OPTS + 1),
                ..base()
            },
        ),
        // A subarch of another arch.
        (
            Some("subarch"),
            NewMachine {
                subarch_id: Some(x86_bios.id),
                ..base()
            },
        ),
        (
            Some("subarch"),
            NewMachine {
                subarch_id: Some(SubarchId(x86_bios.id.0 + 100)),
                ..base()
            },
        ),
        (
            Some("arch"),
            NewMachine {
                arch_id: ArchId(x86.id.0 + 100),
                ..base()
            },
        ),
        (
            Some("bmc"),
            NewMachine {
                bmc_id: Some(BmcId(b.id.0 + 100)),
                ..base()
            },
        ),
        (
            Some("bmc_info"),
            NewMachine {
                bmc_info: "x".into(),
                ..base()
            },
        ),
        // Images and configs that do not exist.
        (
            None,
            NewMachine {
                kernel_id: Some(ImageId(1000)),
                ..base()
            },
        ),
        (
            None,
            NewMachine {
                initrd_id: Some(ImageId(1000)),
                ..base()
            },
        ),
        (
            None,
            NewMachine {
                preseed_id: Some(PreseedId(1000)),
                ..base()
            },
        ),
    ];
    for (field, new) in &cases {
        assert_invalid(store.machine_create(new).await, *field);
    }
    assert!(
        store
            .machine_list(&MachineListQuery::default())
            .await
            .unwrap()
            .is_empty()
    );
    let m = store
        .machine_create(&NewMachine {
            kernel_opts: format!("{}\t", "o".repeat(MAX_KERNEL_OPTS - 1)),
            ..base()
        })
        .await
        .unwrap();
    for (field, new) in &cases {
        assert_invalid(store.machine_update(m.id, new).await, *field);
    }
    assert_eq!(store.machine_get(m.id).await.unwrap(), m);
    // The subarch of its own arch is fine.
    let x86_machine = store
        .machine_create(&NewMachine {
            subarch_id: Some(x86_bios.id),
            ..NewMachine::named("m2", x86.id)
        })
        .await
        .unwrap();
    assert_eq!(x86_machine.subarch_id, Some(x86_bios.id));
});

store_test!(machine_delete_cascades, |store| {
    let arm = arch(&*store, "arm64").await;
    let alice = user(&*store, "alice").await;
    let doomed = machine(&*store, "doomed", arm.id).await;
    let kept = machine(&*store, "kept", arm.id).await;
    let net = lab_network(&*store).await;
    let mut doomed_ifaces = Vec::new();
    for (i, mac_addr) in ["52:54:00:00:00:01", "52:54:00:00:00:02"]
        .iter()
        .enumerate()
    {
        let new = static_interface(doomed.id, mac_addr, net.id, &format!("10.99.0.{}", 70 + i));
        doomed_ifaces.push(store.interface_create(&new).await.unwrap());
    }
    let kept_iface = interface(&*store, kept.id, "52:54:00:00:00:03").await;
    let doomed_asg = assign(&*store, doomed.id, alice.id).await;
    let kept_asg = assign(&*store, kept.id, alice.id).await;
    for m in [doomed.id, kept.id] {
        store
            .event_record(&NewEvent {
                date: None,
                machine_id: m,
                user_id: Some(alice.id),
                username: Some("alice".into()),
                kind: EventKind::InventoryChange,
                info: serde_json::json!({"what": "created"}),
            })
            .await
            .unwrap();
    }
    store
        .console_token_create(doomed.id, alice.id, "console-doomed", from_now(600))
        .await
        .unwrap();
    store
        .console_token_create(kept.id, alice.id, "console-kept", from_now(600))
        .await
        .unwrap();

    store.machine_delete(doomed.id).await.unwrap();

    for i in &doomed_ifaces {
        assert_not_found(store.interface_get(i.id).await, "interface");
        assert!(store.interface_by_mac(i.mac).await.unwrap().is_none());
    }
    assert!(
        store
            .interface_list_for_machine(doomed.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert_not_found(store.assignment_get(doomed_asg.id).await, "assignee");
    assert!(
        store
            .assignment_list_for_machine(doomed.id)
            .await
            .unwrap()
            .is_empty()
    );
    let page = Page {
        before: None,
        limit: 10,
    };
    assert!(store.event_list(doomed.id, page).await.unwrap().is_empty());
    let now = from_now(0);
    assert!(
        store
            .console_token_consume("console-doomed", now)
            .await
            .unwrap()
            .is_none()
    );
    // Deleting the interfaces frees their addresses and MACs for reuse.
    store
        .interface_create(&static_interface(
            kept.id,
            "52:54:00:00:00:01",
            net.id,
            "10.99.0.70",
        ))
        .await
        .unwrap();
    // The MACs of deleted interfaces are not "discovered" until DHCP sees them again.
    assert!(store.discovered_mac_list().await.unwrap().is_empty());

    // The other machine is untouched.
    assert_eq!(
        store.interface_get(kept_iface.id).await.unwrap(),
        kept_iface
    );
    assert_eq!(
        store.assignment_list_for_machine(kept.id).await.unwrap(),
        vec![kept_asg]
    );
    assert_eq!(store.event_list(kept.id, page).await.unwrap().len(), 1);
    assert!(
        store
            .console_token_consume("console-kept", now)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(store.user_get(alice.id).await.unwrap(), alice);
    assert_eq!(store.network_get(net.id).await.unwrap(), net);
});

store_test!(machine_boot_by_mac_reads_everything_in_one_query, |store| {
    use mr_provisioner_core::model::machine::{BootImage, BootTarget};
    use mr_provisioner_core::model::preseed::InstallerKind;
    let arm = arch(&*store, "arm64").await;
    let loader = image(&*store, "grubaa64.efi", ImageKind::Bootloader, arm.id, None).await;
    let mut with_efi = new_subarch(arm.id, "efi-boot", Some(loader.id));
    with_efi.efiboot = true;
    let efi_boot = store.subarch_create(&with_efi).await.unwrap();
    let kernel = image(&*store, "vmlinuz", ImageKind::Kernel, arm.id, None).await;
    let initrd = image(&*store, "initrd", ImageKind::Initrd, arm.id, None).await;
    let cfg = preseed(&*store, "cfg", None).await;
    let bare = machine(&*store, "bare", arm.id).await;
    interface(&*store, bare.id, "52:54:00:00:00:01").await;
    let full = store
        .machine_create(&NewMachine {
            subarch_id: Some(efi_boot.id),
            kernel_id: Some(kernel.id),
            initrd_id: Some(initrd.id),
            preseed_id: Some(cfg.id),
            kernel_opts: "quiet".into(),
            netboot_enabled: true,
            ..NewMachine::named("full", arm.id)
        })
        .await
        .unwrap();
    interface(&*store, full.id, "52:54:00:00:00:02").await;
    interface(&*store, full.id, "52:54:00:00:00:03").await;
    let t = store
        .machine_boot_by_mac(mac("52:54:00:00:00:01"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        t,
        BootTarget {
            machine: bare.clone(),
            arch: "arm64".into(),
            subarch: None,
            efiboot: false,
            kernel: None,
            initrd: None,
            installer: None,
            bootloader: None,
            static_ipv4: None,
            reserved_ipv4: None,
            network_id: None,
        }
    );
    for m in ["52:54:00:00:00:02", "52:54:00:00:00:03"] {
        let t = store.machine_boot_by_mac(mac(m)).await.unwrap().unwrap();
        assert_eq!(t.machine, store.machine_get(full.id).await.unwrap());
        assert_eq!(
            (t.subarch.as_deref(), t.efiboot, t.installer),
            (Some("efi-boot"), true, Some(InstallerKind::Preseed))
        );
        assert_eq!(
            t.kernel,
            Some(BootImage {
                filename: kernel.filename.clone(),
                description: kernel.description.clone(),
                known_good: kernel.known_good,
            })
        );
        assert_eq!(t.initrd.unwrap().filename, initrd.filename);
        assert_eq!(t.bootloader.as_deref(), Some(loader.filename.as_str()));
    }
    // The addresses are those of the interface with that MAC.
    let lab = lab_network(&*store).await;
    let mut reserved = static_interface(full.id, "52:54:00:00:00:05", lab.id, "10.99.0.70");
    reserved.reserved_ipv4 = Some(ip("10.99.0.130"));
    store.interface_create(&reserved).await.unwrap();
    let t = store
        .machine_boot_by_mac(mac("52:54:00:00:00:05"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (t.static_ipv4, t.reserved_ipv4, t.network_id),
        (
            Some(ip("10.99.0.70")),
            Some(ip("10.99.0.130")),
            Some(lab.id)
        )
    );
    assert_eq!(
        store
            .machine_boot_by_mac(mac("52:54:00:00:00:04"))
            .await
            .unwrap(),
        None
    );
});

store_test!(
    machine_boot_list_is_every_interface_as_read_one_by_one,
    |store| {
        assert!(store.machine_boot_list().await.unwrap().is_empty());
        let arm = arch(&*store, "arm64").await;
        let loader = image(&*store, "grubaa64.efi", ImageKind::Bootloader, arm.id, None).await;
        let efi = store
            .subarch_create(&new_subarch(arm.id, "efi", Some(loader.id)))
            .await
            .unwrap();
        let lab = lab_network(&*store).await;
        let a = machine(&*store, "ma", arm.id).await;
        let b = store
            .machine_create(&NewMachine {
                subarch_id: Some(efi.id),
                netboot_enabled: true,
                ..NewMachine::named("mb", arm.id)
            })
            .await
            .unwrap();
        // Created out of MAC order: the list is in interface order.
        interface(&*store, b.id, "52:54:00:00:00:09").await;
        interface(&*store, a.id, "52:54:00:00:00:01").await;
        let mut reserved = static_interface(b.id, "52:54:00:00:00:05", lab.id, "10.99.0.70");
        reserved.reserved_ipv4 = Some(ip("10.99.0.130"));
        store.interface_create(&reserved).await.unwrap();
        let list = store.machine_boot_list().await.unwrap();
        let macs: Vec<String> = list.iter().map(|(m, _)| m.to_string()).collect();
        assert_eq!(
            macs,
            [
                "52:54:00:00:00:09",
                "52:54:00:00:00:01",
                "52:54:00:00:00:05"
            ]
        );
        for (m, target) in &list {
            let one = store.machine_boot_by_mac(*m).await.unwrap().unwrap();
            assert_eq!(&one, target, "{m}");
        }
        assert_eq!(
            list[0].1.bootloader.as_deref(),
            Some(loader.filename.as_str())
        );
        assert_eq!(list[2].1.reserved_ipv4, Some(ip("10.99.0.130")));
    }
);
