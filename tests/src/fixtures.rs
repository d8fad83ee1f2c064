//! Inventory that several test targets start from, written straight to the store.

use mr_provisioner_core::id::{ArchId, ImageId};
use mr_provisioner_core::model::arch::{Arch, NewArch, NewSubarch, Subarch};
use mr_provisioner_core::model::image::{Image, ImageKind, NewImage};
use mr_provisioner_core::store::Store;

/// An architecture.
pub async fn arch(store: &dyn Store, name: &str) -> Arch {
    store
        .arch_create(&NewArch {
            name: name.into(),
            description: None,
        })
        .await
        .expect("create arch")
}

/// A public, known-good system image (no owner) described as `"<filename> image"`.
pub async fn image(store: &dyn Store, arch_id: ArchId, filename: &str, kind: ImageKind) -> Image {
    store
        .image_create(&NewImage {
            filename: filename.into(),
            description: Some(format!("{filename} image")),
            kind,
            arch_id,
            owner_id: None,
            known_good: true,
            public: true,
            sha256: None,
            size: None,
        })
        .await
        .expect("create image")
}

/// An EFI subarch (`efiboot` set), with a bootloader or not.
pub async fn efi_subarch(
    store: &dyn Store,
    arch_id: ArchId,
    name: &str,
    bootloader_id: Option<ImageId>,
) -> Subarch {
    store
        .subarch_create(&NewSubarch {
            arch_id,
            name: name.into(),
            description: None,
            bootloader_id,
            efiboot: true,
        })
        .await
        .expect("create subarch")
}
