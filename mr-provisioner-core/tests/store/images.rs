//! Images: CRUD, unique file name, validation, deletion while in use, visibility.

use mr_provisioner_core::id::{ArchId, ImageId, UserId};
use mr_provisioner_core::model::image::{ImageKind, NewImage};
use mr_provisioner_core::model::machine::NewMachine;
use mr_provisioner_core::store::Visibility;
use mr_provisioner_core::store_test;

use super::fixtures::*;

store_test!(image_crud, |store| {
    let arm = arch(&*store, "arm64").await;
    let x86 = arch(&*store, "x86_64").await;
    let bob = user(&*store, "bob").await;
    let full = NewImage {
        filename: "bob/vmlinuz-5.0.82c1545c".into(),
        description: Some("Debian kernel".into()),
        kind: ImageKind::Kernel,
        arch_id: arm.id,
        owner_id: Some(bob.id),
        known_good: true,
        public: true,
        sha256: Some("ab".repeat(32)),
        size: Some(12_345_678_901),
    };
    let before = from_now(0);
    let i1 = store.image_create(&full).await.unwrap();
    assert_between(i1.created_at, before, from_now(0));
    assert_eq!(i1.filename, full.filename);
    assert_eq!(i1.description, full.description);
    assert_eq!(i1.kind, ImageKind::Kernel);
    assert_eq!(i1.arch_id, arm.id);
    assert_eq!(i1.owner_id, Some(bob.id));
    assert!(i1.known_good);
    assert!(i1.public);
    assert_eq!(i1.sha256, full.sha256);
    assert_eq!(i1.size, Some(12_345_678_901));
    let i2 = image(&*store, "initrd.gz", ImageKind::Initrd, x86.id, None).await;
    let i3 = image(&*store, "grubaa64.efi", ImageKind::Bootloader, arm.id, None).await;
    assert_eq!(i3.kind, ImageKind::Bootloader);
    assert_eq!(i2.owner_id, None);

    assert_eq!(store.image_get(i1.id).await.unwrap(), i1);
    assert_eq!(
        store.image_by_filename("initrd.gz").await.unwrap(),
        Some(i2.clone())
    );
    assert_eq!(store.image_by_filename("initrd").await.unwrap(), None);
    assert_eq!(
        store.image_list(Visibility::All).await.unwrap(),
        vec![i1.clone(), i2.clone(), i3.clone()]
    );

    let replaced = NewImage {
        filename: "bob/vmlinuz-renamed".into(),
        description: None,
        kind: ImageKind::Initrd,
        arch_id: x86.id,
        owner_id: None,
        known_good: false,
        public: false,
        sha256: None,
        size: None,
    };
    let updated = store.image_update(i1.id, &replaced).await.unwrap();
    assert_eq!(updated.id, i1.id);
    assert_eq!(updated.created_at, i1.created_at, "created_at is kept");
    assert_eq!(updated.filename, replaced.filename);
    assert_eq!(updated.description, None);
    assert_eq!(updated.kind, ImageKind::Initrd);
    assert_eq!(updated.arch_id, x86.id);
    assert_eq!(updated.owner_id, None);
    assert!(!updated.known_good && !updated.public);
    assert_eq!((updated.sha256.clone(), updated.size), (None, None));
    assert_eq!(store.image_get(i1.id).await.unwrap(), updated);
    assert_eq!(
        store
            .image_by_filename("bob/vmlinuz-5.0.82c1545c")
            .await
            .unwrap(),
        None
    );

    store.image_delete(i1.id).await.unwrap();
    assert_not_found(store.image_get(i1.id).await, "image");
    assert_not_found(store.image_delete(i1.id).await, "image");
    assert_not_found(store.image_update(i1.id, &replaced).await, "image");
    assert_eq!(
        store.image_list(Visibility::All).await.unwrap(),
        vec![i2, i3]
    );
});

store_test!(image_filename_unique_and_validation, |store| {
    let arm = arch(&*store, "arm64").await;
    let i1 = image(&*store, "a/vmlinuz", ImageKind::Kernel, arm.id, None).await;
    let i2 = image(&*store, "b/vmlinuz", ImageKind::Kernel, arm.id, None).await;
    assert_exists(
        store
            .image_create(&new_image(
                "a/vmlinuz",
                ImageKind::Initrd,
                arm.id,
                None,
                true,
            ))
            .await,
        "image",
        "filename",
    );
    assert_exists(
        store.image_update(i2.id, &NewImage::from(&i1)).await,
        "image",
        "filename",
    );
    assert_eq!(store.image_get(i2.id).await.unwrap(), i2);

    let base = || new_image("ok", ImageKind::Kernel, arm.id, None, false);
    let cases: Vec<(&str, NewImage)> = vec![
        (
            "filename",
            NewImage {
                filename: "/etc/passwd".into(),
                ..base()
            },
        ),
        (
            "filename",
            NewImage {
                filename: "a/../b".into(),
                ..base()
            },
        ),
        (
            "filename",
            NewImage {
                filename: String::new(),
                ..base()
            },
        ),
        (
            "description",
            NewImage {
                description: Some("d".repeat(257)),
                ..base()
            },
        ),
        (
            "sha256",
            NewImage {
                sha256: Some("AB".repeat(32)),
                ..base()
            },
        ),
        (
            "sha256",
            NewImage {
                sha256: Some("ab".into()),
                ..base()
            },
        ),
        (
            "size",
            NewImage {
                size: Some(-1),
                ..base()
            },
        ),
    ];
    for (field, new) in &cases {
        assert_invalid(store.image_create(new).await, Some(field));
        assert_invalid(store.image_update(i1.id, new).await, Some(field));
    }
    // References that do not exist.
    assert_invalid(
        store
            .image_create(&NewImage {
                arch_id: ArchId(arm.id.0 + 100),
                ..base()
            })
            .await,
        None,
    );
    assert_invalid(
        store
            .image_create(&NewImage {
                owner_id: Some(UserId(1000)),
                ..base()
            })
            .await,
        None,
    );
    assert_eq!(
        store.image_list(Visibility::All).await.unwrap(),
        vec![i1, i2]
    );
});

store_test!(image_delete_conflicts_while_used, |store| {
    let arm = arch(&*store, "arm64").await;
    let kernel = image(&*store, "vmlinuz", ImageKind::Kernel, arm.id, None).await;
    let initrd = image(&*store, "initrd", ImageKind::Initrd, arm.id, None).await;
    let grub = image(&*store, "grub.efi", ImageKind::Bootloader, arm.id, None).await;
    let m = store
        .machine_create(&NewMachine {
            kernel_id: Some(kernel.id),
            ..NewMachine::named("m1", arm.id)
        })
        .await
        .unwrap();
    let m2 = store
        .machine_create(&NewMachine {
            initrd_id: Some(initrd.id),
            ..NewMachine::named("m2", arm.id)
        })
        .await
        .unwrap();
    let efi = subarch(&*store, arm.id, "efi", Some(grub.id)).await;

    assert_conflict(store.image_delete(kernel.id).await);
    assert_conflict(store.image_delete(initrd.id).await);
    assert_conflict(store.image_delete(grub.id).await);
    assert_eq!(store.image_get(kernel.id).await.unwrap(), kernel);
    assert_eq!(store.image_get(initrd.id).await.unwrap(), initrd);
    assert_eq!(store.image_get(grub.id).await.unwrap(), grub);

    store.machine_delete(m.id).await.unwrap();
    store.image_delete(kernel.id).await.unwrap();
    store
        .machine_update(m2.id, &NewMachine::named("m2", arm.id))
        .await
        .unwrap();
    store.image_delete(initrd.id).await.unwrap();
    store
        .subarch_update(efi.id, &new_subarch(arm.id, "efi", None))
        .await
        .unwrap();
    store.image_delete(grub.id).await.unwrap();
    assert!(store.image_list(Visibility::All).await.unwrap().is_empty());
});

store_test!(image_visibility, |store| {
    let arm = arch(&*store, "arm64").await;
    let alice = user(&*store, "alice").await;
    let bob = user(&*store, "bob").await;
    let carol = user(&*store, "carol").await;
    // Owners × public flags, in id order.
    let mut ids = Vec::new();
    for (i, (owner, public)) in [
        (Some(alice.id), false),
        (Some(alice.id), true),
        (Some(bob.id), false),
        (Some(bob.id), true),
        (None, false),
        (None, true),
    ]
    .into_iter()
    .enumerate()
    {
        let name = format!("img-{i}");
        let img = store
            .image_create(&new_image(&name, ImageKind::Kernel, arm.id, owner, public))
            .await
            .unwrap();
        ids.push(img.id);
    }
    let pick = |idx: &[usize]| idx.iter().map(|&i| ids[i]).collect::<Vec<ImageId>>();
    let table = [
        (Visibility::All, pick(&[0, 1, 2, 3, 4, 5])),
        (Visibility::OwnedBy(alice.id), pick(&[0, 1])),
        (Visibility::OwnedBy(bob.id), pick(&[2, 3])),
        (Visibility::OwnedBy(carol.id), vec![]),
        (Visibility::VisibleTo(alice.id), pick(&[0, 1, 3, 5])),
        (Visibility::VisibleTo(bob.id), pick(&[1, 2, 3, 5])),
        (Visibility::VisibleTo(carol.id), pick(&[1, 3, 5])),
    ];
    for (visibility, want) in table {
        let got: Vec<ImageId> = store
            .image_list(visibility)
            .await
            .unwrap()
            .into_iter()
            .map(|i| i.id)
            .collect();
        assert_eq!(got, want, "{visibility:?}");
    }
});
