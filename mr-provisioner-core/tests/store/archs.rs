//! Architectures and subarchs: CRUD, uniqueness, bootloader checks, deletion rules.

use mr_provisioner_core::id::{ArchId, ImageId, SubarchId};
use mr_provisioner_core::model::arch::{NewArch, NewSubarch};
use mr_provisioner_core::model::image::ImageKind;
use mr_provisioner_core::model::machine::NewMachine;
use mr_provisioner_core::store_test;

use super::fixtures::*;

store_test!(arch_crud, |store| {
    let arm = store
        .arch_create(&NewArch {
            name: "arm64".into(),
            description: Some("64-bit ARM".into()),
        })
        .await
        .unwrap();
    assert_eq!(arm.name, "arm64");
    assert_eq!(arm.description.as_deref(), Some("64-bit ARM"));
    let x86 = arch(&*store, "x86_64").await;
    assert_eq!(x86.description, None);

    assert_eq!(store.arch_get(arm.id).await.unwrap(), arm);
    assert_eq!(
        store.arch_by_name("x86_64").await.unwrap(),
        Some(x86.clone())
    );
    assert_eq!(store.arch_by_name("ARM64").await.unwrap(), None);
    assert_eq!(
        store.arch_list().await.unwrap(),
        vec![arm.clone(), x86.clone()]
    );

    let updated = store
        .arch_update(
            arm.id,
            &NewArch {
                name: "aarch64".into(),
                description: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.id, arm.id);
    assert_eq!(updated.name, "aarch64");
    assert_eq!(updated.description, None);
    assert_eq!(store.arch_get(arm.id).await.unwrap(), updated);
    assert_eq!(store.arch_by_name("arm64").await.unwrap(), None);

    store.arch_delete(arm.id).await.unwrap();
    assert_not_found(store.arch_get(arm.id).await, "arch");
    assert_not_found(store.arch_delete(arm.id).await, "arch");
    assert_not_found(
        store
            .arch_update(
                arm.id,
                &NewArch {
                    name: "gone".into(),
                    description: None,
                },
            )
            .await,
        "arch",
    );
    assert_eq!(store.arch_list().await.unwrap(), vec![x86]);
});

store_test!(arch_unique_and_validation, |store| {
    let arm = arch(&*store, "arm64").await;
    let x86 = arch(&*store, "x86_64").await;
    let named = |name: &str| NewArch {
        name: name.into(),
        description: None,
    };
    assert_exists(store.arch_create(&named("arm64")).await, "arch", "name");
    assert_exists(
        store.arch_update(x86.id, &named("arm64")).await,
        "arch",
        "name",
    );
    assert_eq!(store.arch_get(x86.id).await.unwrap(), x86);

    assert_invalid(store.arch_create(&named("a")).await, Some("name"));
    assert_invalid(store.arch_create(&named(" arm")).await, Some("name"));
    assert_invalid(
        store.arch_create(&named(&"a".repeat(257))).await,
        Some("name"),
    );
    assert_invalid(
        store
            .arch_create(&NewArch {
                name: "riscv".into(),
                description: Some("multi\nline".into()),
            })
            .await,
        Some("description"),
    );
    assert_invalid(store.arch_update(arm.id, &named("x")).await, Some("name"));
    assert_eq!(store.arch_list().await.unwrap(), vec![arm, x86]);
});

store_test!(subarch_crud, |store| {
    let arm = arch(&*store, "arm64").await;
    let x86 = arch(&*store, "x86_64").await;
    let grub = image(&*store, "grubaa64.efi", ImageKind::Bootloader, arm.id, None).await;
    let efi = store
        .subarch_create(&NewSubarch {
            arch_id: arm.id,
            name: "efi".into(),
            description: Some("UEFI".into()),
            bootloader_id: Some(grub.id),
            efiboot: true,
        })
        .await
        .unwrap();
    assert_eq!(efi.arch_id, arm.id);
    assert_eq!(efi.name, "efi");
    assert_eq!(efi.description.as_deref(), Some("UEFI"));
    assert_eq!(efi.bootloader_id, Some(grub.id));
    assert!(efi.efiboot);
    let bios = subarch(&*store, x86.id, "bios", None).await;
    let arm_bios = subarch(&*store, arm.id, "bios", None).await;

    assert_eq!(store.subarch_get(efi.id).await.unwrap(), efi);
    assert_eq!(
        store.subarch_by_name(arm.id, "efi").await.unwrap(),
        Some(efi.clone())
    );
    assert_eq!(store.subarch_by_name(x86.id, "efi").await.unwrap(), None);
    assert_eq!(
        store.subarch_by_name(x86.id, "bios").await.unwrap(),
        Some(bios.clone())
    );
    assert_eq!(
        store.subarch_list(Some(arm.id)).await.unwrap(),
        vec![efi.clone(), arm_bios.clone()]
    );
    assert_eq!(
        store.subarch_list(Some(x86.id)).await.unwrap(),
        vec![bios.clone()]
    );
    assert_eq!(
        store.subarch_list(None).await.unwrap(),
        vec![efi.clone(), bios.clone(), arm_bios.clone()]
    );
    assert!(
        store
            .subarch_list(Some(ArchId(x86.id.0 + 100)))
            .await
            .unwrap()
            .is_empty()
    );

    let changed = NewSubarch {
        arch_id: arm.id,
        name: "uefi".into(),
        description: None,
        bootloader_id: None,
        efiboot: false,
    };
    let updated = store.subarch_update(efi.id, &changed).await.unwrap();
    assert_eq!(updated.id, efi.id);
    assert_eq!(updated.arch_id, arm.id);
    assert_eq!(updated.name, "uefi");
    assert_eq!(updated.description, None);
    assert_eq!(updated.bootloader_id, None);
    assert!(!updated.efiboot);
    assert_eq!(store.subarch_get(efi.id).await.unwrap(), updated);
    assert_eq!(store.subarch_by_name(arm.id, "efi").await.unwrap(), None);

    store.subarch_delete(efi.id).await.unwrap();
    assert_not_found(store.subarch_get(efi.id).await, "subarch");
    assert_not_found(store.subarch_delete(efi.id).await, "subarch");
    assert_not_found(store.subarch_update(efi.id, &changed).await, "subarch");
    assert_eq!(
        store.subarch_list(None).await.unwrap(),
        vec![bios, arm_bios]
    );
    // Its bootloader image is no longer used and can go.
    store.image_delete(grub.id).await.unwrap();
});

store_test!(subarch_name_unique_within_arch, |store| {
    let arm = arch(&*store, "arm64").await;
    let x86 = arch(&*store, "x86_64").await;
    subarch(&*store, arm.id, "efi", None).await;
    assert_exists(
        store
            .subarch_create(&new_subarch(arm.id, "efi", None))
            .await,
        "subarch",
        "name in this arch",
    );
    // The same name in another arch is fine.
    let x86_efi = subarch(&*store, x86.id, "efi", None).await;
    let arm_bios = subarch(&*store, arm.id, "bios", None).await;
    assert_exists(
        store
            .subarch_update(arm_bios.id, &new_subarch(arm.id, "efi", None))
            .await,
        "subarch",
        "name in this arch",
    );
    assert_eq!(store.subarch_get(arm_bios.id).await.unwrap(), arm_bios);
    assert_eq!(store.subarch_get(x86_efi.id).await.unwrap(), x86_efi);
    assert_eq!(store.subarch_list(None).await.unwrap().len(), 3);
});

store_test!(subarch_bootloader_and_arch_checks, |store| {
    let arm = arch(&*store, "arm64").await;
    let x86 = arch(&*store, "x86_64").await;
    let kernel = image(&*store, "vmlinuz", ImageKind::Kernel, arm.id, None).await;
    let initrd = image(&*store, "initrd", ImageKind::Initrd, arm.id, None).await;
    let x86_grub = image(&*store, "grubx64.efi", ImageKind::Bootloader, x86.id, None).await;
    let arm_grub = image(&*store, "grubaa64.efi", ImageKind::Bootloader, arm.id, None).await;

    for bad in [
        kernel.id,
        initrd.id,
        x86_grub.id,
        ImageId(arm_grub.id.0 + 100),
    ] {
        assert_invalid(
            store
                .subarch_create(&new_subarch(arm.id, "efi", Some(bad)))
                .await,
            Some("bootloader"),
        );
    }
    assert_invalid(
        store
            .subarch_create(&new_subarch(ArchId(x86.id.0 + 100), "efi", None))
            .await,
        Some("arch"),
    );
    assert_invalid(
        store.subarch_create(&new_subarch(arm.id, "e", None)).await,
        Some("name"),
    );
    assert!(store.subarch_list(None).await.unwrap().is_empty());

    let efi = subarch(&*store, arm.id, "efi", Some(arm_grub.id)).await;
    for bad in [kernel.id, x86_grub.id] {
        assert_invalid(
            store
                .subarch_update(efi.id, &new_subarch(arm.id, "efi", Some(bad)))
                .await,
            Some("bootloader"),
        );
    }
    // A subarch stays in its arch.
    assert_invalid(
        store
            .subarch_update(efi.id, &new_subarch(x86.id, "efi", Some(x86_grub.id)))
            .await,
        Some("arch"),
    );
    assert_eq!(store.subarch_get(efi.id).await.unwrap(), efi);
});

store_test!(arch_delete_cascades_subarchs, |store| {
    // An arch with only subarchs goes, and takes them along.
    let riscv = arch(&*store, "riscv64").await;
    let s1 = subarch(&*store, riscv.id, "efi", None).await;
    let s2 = subarch(&*store, riscv.id, "sbi", None).await;
    let x86 = arch(&*store, "x86_64").await;
    let other = subarch(&*store, x86.id, "efi", None).await;
    store.arch_delete(riscv.id).await.unwrap();
    assert_not_found(store.arch_get(riscv.id).await, "arch");
    assert_not_found(store.subarch_get(s1.id).await, "subarch");
    assert_not_found(store.subarch_get(s2.id).await, "subarch");
    assert!(store.subarch_list(Some(riscv.id)).await.unwrap().is_empty());
    assert_eq!(store.subarch_list(None).await.unwrap(), vec![other.clone()]);
    assert_eq!(store.arch_list().await.unwrap(), vec![x86.clone()]);

    // Once its machines and images are gone, an arch can be deleted too.
    let arm = arch(&*store, "arm64").await;
    let efi = subarch(&*store, arm.id, "efi", None).await;
    let m = store
        .machine_create(&NewMachine {
            subarch_id: Some(efi.id),
            ..NewMachine::named("m1", arm.id)
        })
        .await
        .unwrap();
    let img = image(&*store, "vmlinuz", ImageKind::Kernel, arm.id, None).await;
    store.machine_delete(m.id).await.unwrap();
    store.image_delete(img.id).await.unwrap();
    store.arch_delete(arm.id).await.unwrap();
    assert_not_found(store.subarch_get(efi.id).await, "subarch");
    assert_not_found(
        store.subarch_get(SubarchId(other.id.0 + 100)).await,
        "subarch",
    );
    assert_eq!(store.arch_list().await.unwrap(), vec![x86]);
});

store_test!(arch_delete_conflicts_while_used, |store| {
    let arm = arch(&*store, "arm64").await;
    let efi = subarch(&*store, arm.id, "efi", None).await;
    let m = store
        .machine_create(&NewMachine {
            subarch_id: Some(efi.id),
            ..NewMachine::named("m1", arm.id)
        })
        .await
        .unwrap();
    // Not while a machine uses it (nor its subarch).
    assert_conflict(store.arch_delete(arm.id).await);
    assert_eq!(store.arch_get(arm.id).await.unwrap(), arm);
    assert_eq!(store.subarch_get(efi.id).await.unwrap(), efi);
    assert_conflict(store.subarch_delete(efi.id).await);
    assert_eq!(store.subarch_get(efi.id).await.unwrap(), efi);
    store.machine_delete(m.id).await.unwrap();

    // Not while it has images; the failed delete keeps the subarchs.
    let img = image(&*store, "vmlinuz", ImageKind::Kernel, arm.id, None).await;
    assert_conflict(store.arch_delete(arm.id).await);
    assert_eq!(store.subarch_get(efi.id).await.unwrap(), efi);
    store.image_delete(img.id).await.unwrap();
    store.arch_delete(arm.id).await.unwrap();
    assert_not_found(store.subarch_get(efi.id).await, "subarch");
});
