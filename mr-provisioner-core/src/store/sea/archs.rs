//! [`ArchStore`] on sea-orm.

use async_trait::async_trait;
use sea_orm::{ActiveValue::*, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::entity::{archs, images, subarchs};
use super::{Conn, SeaStore, crud, error};
use crate::error::{Error, Result};
use crate::id::{ArchId, ImageId, SubarchId};
use crate::model::arch::{Arch, NewArch, NewSubarch, Subarch};
use crate::model::image::ImageKind;
use crate::store::ArchStore;

const ARCH: &str = "arch";
const SUBARCH: &str = "subarch";

fn arch_model(r: archs::Model) -> Arch {
    Arch {
        id: ArchId(r.id),
        name: r.name,
        description: r.description,
    }
}

fn subarch_model(r: subarchs::Model) -> Subarch {
    Subarch {
        id: SubarchId(r.id),
        arch_id: ArchId(r.arch_id),
        name: r.name,
        description: r.description,
        bootloader_id: r.bootloader_id.map(ImageId),
        efiboot: r.efiboot,
    }
}

fn arch_row(id: sea_orm::ActiveValue<i64>, new: &NewArch) -> Result<archs::ActiveModel> {
    new.validate()?;
    Ok(archs::ActiveModel {
        id,
        name: Set(new.name.clone()),
        description: Set(new.description.clone()),
    })
}

impl<C: Conn> SeaStore<C> {
    /// Checks a subarch's references: the arch exists, and the bootloader is a bootloader
    /// image of the same arch.
    async fn check_subarch(&self, new: &NewSubarch) -> Result<()> {
        new.validate()?;
        crud::get::<archs::Entity, _>(self.db(), new.arch_id.0, ARCH)
            .await
            .map_err(|_| Error::invalid("arch", format!("no arch with id {}", new.arch_id)))?;
        if let Some(bl) = new.bootloader_id {
            let image = crud::get::<images::Entity, _>(self.db(), bl.0, "image")
                .await
                .map_err(|_| Error::invalid("bootloader", format!("no image with id {bl}")))?;
            if image.kind != ImageKind::Bootloader.as_str() {
                return Err(Error::invalid(
                    "bootloader",
                    format!(
                        "image {} is a {}, not a bootloader",
                        image.filename, image.kind
                    ),
                ));
            }
            if image.arch_id != new.arch_id.0 {
                return Err(Error::invalid(
                    "bootloader",
                    format!("bootloader image {} is for another arch", image.filename),
                ));
            }
        }
        Ok(())
    }
}

fn subarch_row(id: sea_orm::ActiveValue<i64>, new: &NewSubarch) -> subarchs::ActiveModel {
    subarchs::ActiveModel {
        id,
        arch_id: Set(new.arch_id.0),
        name: Set(new.name.clone()),
        description: Set(new.description.clone()),
        bootloader_id: Set(new.bootloader_id.map(|i| i.0)),
        efiboot: Set(new.efiboot),
    }
}

#[async_trait]
impl<C: Conn> ArchStore for SeaStore<C> {
    async fn arch_create(&self, new: &NewArch) -> Result<Arch> {
        crud::insert(self.db(), arch_row(NotSet, new)?, ARCH)
            .await
            .map(arch_model)
    }

    async fn arch_get(&self, id: ArchId) -> Result<Arch> {
        crud::get::<archs::Entity, _>(self.db(), id.0, ARCH)
            .await
            .map(arch_model)
    }

    async fn arch_by_name(&self, name: &str) -> Result<Option<Arch>> {
        crud::one(
            self.db(),
            archs::Entity::find().filter(archs::Column::Name.eq(name)),
            |r| Ok(arch_model(r)),
        )
        .await
    }

    async fn arch_list(&self) -> Result<Vec<Arch>> {
        crud::all(
            self.db(),
            archs::Entity::find().order_by_asc(archs::Column::Id),
            |r| Ok(arch_model(r)),
        )
        .await
    }

    async fn arch_update(&self, id: ArchId, new: &NewArch) -> Result<Arch> {
        crud::update(self.db(), arch_row(Unchanged(id.0), new)?, ARCH, id.0)
            .await
            .map(arch_model)
    }

    async fn arch_delete(&self, id: ArchId) -> Result<()> {
        crud::delete::<archs::Entity, _>(self.db(), id.0, ARCH).await
    }

    async fn subarch_create(&self, new: &NewSubarch) -> Result<Subarch> {
        self.check_subarch(new).await?;
        crud::insert(self.db(), subarch_row(NotSet, new), SUBARCH)
            .await
            .map(subarch_model)
    }

    async fn subarch_get(&self, id: SubarchId) -> Result<Subarch> {
        crud::get::<subarchs::Entity, _>(self.db(), id.0, SUBARCH)
            .await
            .map(subarch_model)
    }

    async fn subarch_by_name(&self, arch_id: ArchId, name: &str) -> Result<Option<Subarch>> {
        crud::one(
            self.db(),
            subarchs::Entity::find()
                .filter(subarchs::Column::ArchId.eq(arch_id.0))
                .filter(subarchs::Column::Name.eq(name)),
            |r| Ok(subarch_model(r)),
        )
        .await
    }

    async fn subarch_list(&self, arch_id: Option<ArchId>) -> Result<Vec<Subarch>> {
        let mut q = subarchs::Entity::find().order_by_asc(subarchs::Column::Id);
        if let Some(a) = arch_id {
            q = q.filter(subarchs::Column::ArchId.eq(a.0));
        }
        q.all(self.db())
            .await
            .map(|rows| rows.into_iter().map(subarch_model).collect())
            .map_err(error::other)
    }

    async fn subarch_update(&self, id: SubarchId, new: &NewSubarch) -> Result<Subarch> {
        let current = self.subarch_get(id).await?;
        if current.arch_id != new.arch_id {
            return Err(Error::invalid(
                "arch",
                "a subarch cannot move to another arch",
            ));
        }
        self.check_subarch(new).await?;
        crud::update(self.db(), subarch_row(Unchanged(id.0), new), SUBARCH, id.0)
            .await
            .map(subarch_model)
    }

    async fn subarch_delete(&self, id: SubarchId) -> Result<()> {
        crud::delete::<subarchs::Entity, _>(self.db(), id.0, SUBARCH).await
    }
}
