//! [`TokenStore`] on sea-orm.

use async_trait::async_trait;
use sea_orm::{ActiveValue::*, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::entity::api_tokens::{self, ActiveModel, Column, Entity};
use super::entity::users;
use super::{Conn, SeaStore, crud, error};
use crate::error::{Error, Result};
use crate::id::{TokenId, UserId};
use crate::model::token::{ApiToken, NewToken};
use crate::model::user::User;
use crate::model::{Timestamp, now, to_micros};
use crate::store::TokenStore;

const KIND: &str = "token";

fn to_model(r: api_tokens::Model) -> ApiToken {
    ApiToken {
        id: TokenId(r.id),
        user_id: UserId(r.user_id),
        description: r.description,
        hint: r.hint,
        created_at: r.created_at,
        last_used_at: r.last_used_at,
    }
}

#[async_trait]
impl<C: Conn> TokenStore for SeaStore<C> {
    async fn token_create(&self, new: &NewToken) -> Result<ApiToken> {
        new.validate()?;
        let row = ActiveModel {
            id: NotSet,
            user_id: Set(new.user_id.0),
            token_hash: Set(new.hash.clone()),
            hint: Set(new.hint.clone()),
            description: Set(new.description.clone()),
            created_at: Set(now()),
            last_used_at: Set(None),
        };
        crud::insert(self.db(), row, KIND)
            .await
            .map(to_model)
            .map_err(|e| match e {
                Error::InvalidRequest { .. } => Error::not_found("user", new.user_id),
                e => e,
            })
    }

    async fn token_get(&self, id: TokenId) -> Result<ApiToken> {
        crud::get::<Entity, _>(self.db(), id.0, KIND)
            .await
            .map(to_model)
    }

    async fn token_list(&self, user_id: UserId) -> Result<Vec<ApiToken>> {
        crud::all(
            self.db(),
            Entity::find()
                .filter(Column::UserId.eq(user_id.0))
                .order_by_asc(Column::Id),
            |r| Ok(to_model(r)),
        )
        .await
    }

    async fn token_authenticate(&self, hash: &str) -> Result<Option<(ApiToken, User)>> {
        // One query: authentication runs on every API request.
        let found = Entity::find()
            .filter(Column::TokenHash.eq(hash))
            .find_also_related(users::Entity)
            .one(self.db())
            .await
            .map_err(error::other)?;
        Ok(match found {
            Some((token, Some(user))) => Some((to_model(token), super::users::to_model(user))),
            _ => None,
        })
    }

    async fn token_touch(&self, id: TokenId, at: Timestamp) -> Result<()> {
        let row = ActiveModel {
            id: Unchanged(id.0),
            last_used_at: Set(Some(to_micros(at))),
            ..Default::default()
        };
        // Queued with the other writers on SQLite (see `SeaStore::gate`).
        let tx = self.begin_tx().await?;
        crud::update(tx.db(), row, KIND, id.0).await?;
        tx.conn.commit().await.map_err(error::other)
    }

    async fn token_delete(&self, id: TokenId) -> Result<()> {
        crud::delete::<Entity, _>(self.db(), id.0, KIND).await
    }
}
