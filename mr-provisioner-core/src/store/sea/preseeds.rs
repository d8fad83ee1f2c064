//! [`PreseedStore`] on sea-orm.

use async_trait::async_trait;
use sea_orm::{ActiveValue::*, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::entity::preseeds::{self, ActiveModel, Column, Entity};
use super::images::visibility_condition;
use super::{Conn, SeaStore, crud};
use crate::error::Result;
use crate::id::{PreseedId, UserId};
use crate::model::now;
use crate::model::preseed::{NewPreseed, Preseed};
use crate::store::{PreseedStore, Visibility};

const KIND: &str = "preseed";

fn to_model(r: preseeds::Model) -> Result<Preseed> {
    Ok(Preseed {
        id: PreseedId(r.id),
        kind: crud::parse_column("preseeds", "kind", &r.kind)?,
        name: r.name,
        description: r.description,
        content: r.content,
        owner_id: r.owner_id.map(UserId),
        known_good: r.known_good,
        public: r.public,
        created_at: r.created_at,
    })
}

fn row(id: sea_orm::ActiveValue<i64>, new: &NewPreseed) -> Result<ActiveModel> {
    new.validate()?;
    Ok(ActiveModel {
        id,
        name: Set(new.name.clone()),
        description: Set(new.description.clone()),
        kind: Set(new.kind.as_str().to_string()),
        content: Set(new.content.clone()),
        owner_id: Set(new.owner_id.map(|u| u.0)),
        known_good: Set(new.known_good),
        public: Set(new.public),
        created_at: NotSet,
    })
}

#[async_trait]
impl<C: Conn> PreseedStore for SeaStore<C> {
    async fn preseed_create(&self, new: &NewPreseed) -> Result<Preseed> {
        let mut row = row(NotSet, new)?;
        row.created_at = Set(now());
        to_model(crud::insert(self.db(), row, KIND).await?)
    }

    async fn preseed_get(&self, id: PreseedId) -> Result<Preseed> {
        to_model(crud::get::<Entity, _>(self.db(), id.0, KIND).await?)
    }

    async fn preseed_by_name(&self, name: &str) -> Result<Option<Preseed>> {
        crud::one(
            self.db(),
            Entity::find().filter(Column::Name.eq(name)),
            to_model,
        )
        .await
    }

    async fn preseed_list(&self, visibility: Visibility) -> Result<Vec<Preseed>> {
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

    async fn preseed_update(&self, id: PreseedId, new: &NewPreseed) -> Result<Preseed> {
        to_model(crud::update(self.db(), row(Unchanged(id.0), new)?, KIND, id.0).await?)
    }

    async fn preseed_delete(&self, id: PreseedId) -> Result<()> {
        crud::delete::<Entity, _>(self.db(), id.0, KIND).await
    }
}
