//! Images: listing what a caller may see, uploading (streamed to disk, checked, hashed),
//! changing metadata and deleting (owner or admin; the file goes with the record).

use serde_json::json;
use tokio::io::AsyncRead;

use super::{Caller, Provisioner};
use crate::error::{Error, Result};
use crate::files::ImageFiles;
use crate::id::ImageId;
use crate::model::image::{Image, ImageKind, NewImage};
use crate::policy::Action;
use crate::store::Visibility;

/// An upload's metadata (the `q` field of the original's multipart form).
#[derive(Debug, Clone)]
pub struct ImageUpload {
    /// Kernel, initrd or bootloader.
    pub kind: ImageKind,
    /// Free text.
    pub description: Option<String>,
    /// Architecture name.
    pub arch: String,
    /// Informational flag.
    pub known_good: bool,
    /// Public flag.
    pub public: bool,
    /// The file name the client sent (sanitised before use).
    pub client_filename: String,
}

/// A change to an image's metadata. `None` leaves a field.
#[derive(Debug, Clone, Default)]
pub struct ImageChange {
    /// Kind.
    pub kind: Option<ImageKind>,
    /// Description (`Some(None)` clears it).
    pub description: Option<Option<String>>,
    /// Architecture by name (`Some(None)` is refused: an image needs an arch).
    pub arch: Option<Option<String>>,
    /// Informational flag.
    pub known_good: Option<bool>,
    /// Public flag.
    pub public: Option<bool>,
}

/// Which images or installer configs a listing shows: the caller's own, or with `show_all`
/// everything they may see.
pub(crate) fn visibility(caller: &Caller, show_all: bool) -> Visibility {
    match (show_all, caller.is_admin()) {
        (false, _) => Visibility::OwnedBy(caller.user.id),
        (true, true) => Visibility::All,
        (true, false) => Visibility::VisibleTo(caller.user.id),
    }
}

impl Provisioner {
    /// Images the caller owns, or with `show_all` all they may see.
    pub async fn images(&self, caller: &Caller, show_all: bool) -> Result<Vec<Image>> {
        self.store.image_list(visibility(caller, show_all)).await
    }

    /// One image, if the caller may see it.
    pub async fn image(&self, caller: &Caller, id: ImageId) -> Result<Image> {
        let image = self.store.image_get(id).await?;
        caller.check(
            Action::ViewOwned {
                owner: image.owner_id == Some(caller.user.id),
                public: image.public,
            },
            "Forbidden",
        )?;
        Ok(image)
    }

    async fn owned_image(&self, caller: &Caller, id: ImageId) -> Result<Image> {
        let image = self.store.image_get(id).await?;
        caller.check(
            Action::ModifyOwned {
                owner: image.owner_id == Some(caller.user.id),
            },
            "Forbidden",
        )?;
        Ok(image)
    }

    /// Stores an uploaded image: the file is streamed to the TFTP root (never held in
    /// memory), refused past the size limit with nothing left behind, and recorded with its
    /// SHA-256. If the record cannot be written, the file is removed again.
    pub async fn upload_image<R: AsyncRead + Unpin + Send>(
        &self,
        caller: &Caller,
        meta: ImageUpload,
        body: R,
    ) -> Result<Image> {
        caller.check(Action::CreateOwned, "Forbidden")?;
        let arch = self
            .store
            .arch_by_name(&meta.arch)
            .await?
            .ok_or_else(|| Error::invalid("arch", "no such architecture"))?;
        let name = ImageFiles::image_name(
            &caller.user.username,
            &meta.client_filename,
            &ImageFiles::random_suffix(),
        );
        let stored = self
            .files
            .store(&name, body, self.settings.max_upload_size)
            .await?;
        let new = NewImage {
            filename: stored.relative.clone(),
            description: meta.description,
            kind: meta.kind,
            arch_id: arch.id,
            owner_id: Some(caller.user.id),
            known_good: meta.known_good,
            public: meta.public,
            sha256: Some(stored.sha256),
            size: i64::try_from(stored.size).ok(),
        };
        match self.store.image_create(&new).await {
            Ok(image) => {
                tracing::info!(image_id = %image.id, file = %image.filename, size = stored.size, "image uploaded");
                Ok(image)
            }
            Err(e) => {
                if let Err(error) = self.files.remove(&stored.relative).await {
                    tracing::warn!(file = %stored.relative, %error, "could not remove the file of a failed upload");
                }
                Err(e)
            }
        }
    }

    /// Changes an image's metadata (owner or admin).
    pub async fn update_image(
        &self,
        caller: &Caller,
        id: ImageId,
        change: ImageChange,
    ) -> Result<Image> {
        let image = self.owned_image(caller, id).await?;
        let mut new = NewImage::from(&image);
        if let Some(kind) = change.kind {
            new.kind = kind;
        }
        if let Some(d) = change.description {
            new.description = d;
        }
        if let Some(k) = change.known_good {
            new.known_good = k;
        }
        if let Some(p) = change.public {
            new.public = p;
        }
        if let Some(arch) = change.arch {
            let found = match arch {
                Some(name) => self.store.arch_by_name(&name).await?,
                None => None,
            };
            new.arch_id = found
                .ok_or_else(|| Error::invalid("arch", "no such architecture"))?
                .id;
        }
        self.store.image_update(id, &new).await
    }

    /// Deletes an image and its file (owner or admin). Conflict while a machine or subarch
    /// uses it; then the file stays too.
    pub async fn delete_image(&self, caller: &Caller, id: ImageId) -> Result<()> {
        let image = self.owned_image(caller, id).await?;
        self.store.image_delete(id).await?;
        match self.files.remove(&image.filename).await {
            Ok(_) => {}
            // The record is gone; a file left behind is only disk space, so say so and go on.
            Err(error) => {
                tracing::warn!(file = %image.filename, %error, "could not remove an image file")
            }
        }
        self.audit(
            caller,
            "image.delete",
            "image",
            Some(id.0),
            json!({"filename": image.filename}),
        )
        .await;
        Ok(())
    }
}
