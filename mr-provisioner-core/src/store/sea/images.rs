//! [`ImageStore`] on sea-orm.

use async_trait::async_trait;
use sea_orm::{ActiveValue::*, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder};

use super::entity::images::{self, ActiveModel, Column, Entity};
use super::{Conn, SeaStore, crud};
use crate::error::Result;
use crate::id::{ArchId, ImageId, UserId};
use crate::model::image::{Image, NewImage};
use crate::model::now;
use crate::store::{ImageStore, Visibility};

const KIND: &str = "image";

fn to_model(r: images::Model) -> Result<Image> {
    Ok(Image {
        id: ImageId(r.id),
        kind: crud::parse_column("images", "kind", &r.kind)?,
        filename: r.filename,
        description: r.description,
        arch_id: ArchId(r.arch_id),
        owner_id: r.owner_id.map(UserId),
        known_good: r.known_good,
        public: r.public,
        created_at: r.created_at,
        sha256: r.sha256,
        size: r.size,
    })
}

fn row(id: sea_orm::ActiveValue<i64>, new: &NewImage) -> Result<ActiveModel> {
    new.validate()?;
    Ok(ActiveModel {
        id,
        filename: Set(new.filename.clone()),
        description: Set(new.description.clone()),
        kind: Set(new.kind.as_str().to_string()),
        arch_id: Set(new.arch_id.0),
        owner_id: Set(new.owner_id.map(|u| u.0)),
        known_good: Set(new.known_good),
        public: Set(new.public),
        created_at: NotSet,
        sha256: Set(new.sha256.clone()),
        size: Set(new.size),
    })
}

/// The condition selecting what `visibility` allows, on a table with `owner_id` and `public`.
pub(crate) fn visibility_condition<Col: ColumnTrait>(
    visibility: Visibility,
    owner: Col,
    public: Col,
) -> Condition {
    match visibility {
        Visibility::All => Condition::all(),
        Visibility::OwnedBy(u) => Condition::all().add(owner.eq(u.0)),
        Visibility::VisibleTo(u) => Condition::any().add(owner.eq(u.0)).add(public.eq(true)),
    }
}

#[async_trait]
impl<C: Conn> ImageStore for SeaStore<C> {
    async fn image_create(&self, new: &NewImage) -> Result<Image> {
        let mut row = row(NotSet, new)?;
        row.created_at = Set(now());
        to_model(crud::insert(self.db(), row, KIND).await?)
    }

    async fn image_get(&self, id: ImageId) -> Result<Image> {
        to_model(crud::get::<Entity, _>(self.db(), id.0, KIND).await?)
    }

    async fn image_by_filename(&self, filename: &str) -> Result<Option<Image>> {
        crud::one(
            self.db(),
            Entity::find().filter(Column::Filename.eq(filename)),
            to_model,
        )
        .await
    }

    async fn image_list(&self, visibility: Visibility) -> Result<Vec<Image>> {
        crud::all(
            self.db(),
            Entity::find()
                .filter(visibility_condition(
                    visibility,
                    Column::OwnerId,
                    Column::Public,
                ))
                .order_by_asc(Column::Id),
            to_model,
        )
        .await
    }

    async fn image_update(&self, id: ImageId, new: &NewImage) -> Result<Image> {
        to_model(crud::update(self.db(), row(Unchanged(id.0), new)?, KIND, id.0).await?)
    }

    async fn image_delete(&self, id: ImageId) -> Result<()> {
        crud::delete::<Entity, _>(self.db(), id.0, KIND).await
    }
}
