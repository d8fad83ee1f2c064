//! [`UserStore`] on sea-orm.

use async_trait::async_trait;
use sea_orm::{ActiveValue::*, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};

use super::entity::users::{self, ActiveModel, Column, Entity};
use super::{Conn, SeaStore, crud, error};
use crate::error::Result;
use crate::id::UserId;
use crate::model::now;
use crate::model::user::{NewUser, User, UserUpdate};
use crate::store::UserStore;

const KIND: &str = "user";

pub(crate) fn to_model(r: users::Model) -> User {
    User {
        id: UserId(r.id),
        username: r.username,
        email: r.email,
        admin: r.admin,
        ssh_key: r.ssh_key,
        created_at: r.created_at,
    }
}

#[async_trait]
impl<C: Conn> UserStore for SeaStore<C> {
    async fn user_create(&self, new: &NewUser) -> Result<User> {
        new.validate()?;
        let row = ActiveModel {
            id: NotSet,
            username: Set(new.username.clone()),
            email: Set(new.email.clone()),
            admin: Set(new.admin),
            ssh_key: Set(new.ssh_key.clone()),
            password_hash: Set(new.password_hash.clone()),
            created_at: Set(now()),
        };
        crud::insert(self.db(), row, KIND).await.map(to_model)
    }

    async fn user_get(&self, id: UserId) -> Result<User> {
        crud::get::<Entity, _>(self.db(), id.0, KIND)
            .await
            .map(to_model)
    }

    async fn user_by_name(&self, username: &str) -> Result<Option<User>> {
        crud::one(
            self.db(),
            Entity::find().filter(Column::Username.eq(username)),
            |r| Ok(to_model(r)),
        )
        .await
    }

    async fn user_list(&self) -> Result<Vec<User>> {
        crud::all(self.db(), Entity::find().order_by_asc(Column::Id), |r| {
            Ok(to_model(r))
        })
        .await
    }

    async fn user_count(&self) -> Result<u64> {
        Entity::find().count(self.db()).await.map_err(error::other)
    }

    async fn user_update(&self, id: UserId, update: &UserUpdate) -> Result<User> {
        update.validate()?;
        fn set_opt<T: Clone + Into<sea_orm::Value>>(v: &Option<T>) -> sea_orm::ActiveValue<T> {
            match v {
                Some(v) => Set(v.clone()),
                None => NotSet,
            }
        }
        let row = ActiveModel {
            id: Unchanged(id.0),
            username: set_opt(&update.username),
            email: set_opt(&update.email),
            admin: update.admin.map(Set).unwrap_or(NotSet),
            ssh_key: set_opt(&update.ssh_key),
            password_hash: NotSet,
            created_at: NotSet,
        };
        if update.username.is_none()
            && update.email.is_none()
            && update.admin.is_none()
            && update.ssh_key.is_none()
        {
            return self.user_get(id).await;
        }
        crud::update(self.db(), row, KIND, id.0).await.map(to_model)
    }

    async fn user_password_hash(&self, id: UserId) -> Result<Option<String>> {
        Ok(crud::get::<Entity, _>(self.db(), id.0, KIND)
            .await?
            .password_hash)
    }

    async fn user_set_password(&self, id: UserId, hash: &str) -> Result<()> {
        let row = ActiveModel {
            id: Unchanged(id.0),
            password_hash: Set(Some(hash.to_string())),
            ..Default::default()
        };
        crud::update(self.db(), row, KIND, id.0).await.map(|_| ())
    }

    async fn user_delete(&self, id: UserId) -> Result<()> {
        crud::delete::<Entity, _>(self.db(), id.0, KIND).await
    }
}
