//! [`ConsoleTokenStore`] on sea-orm.

use async_trait::async_trait;
use sea_orm::{ActiveValue::*, ColumnTrait, EntityTrait, QueryFilter};

use super::entity::console_tokens::{self, ActiveModel, Column, Entity};
use super::{Conn, SeaStore, crud, error};
use crate::error::Result;
use crate::id::{ConsoleTokenId, MachineId, UserId};
use crate::model::console_token::ConsoleToken;
use crate::model::{Timestamp, now, to_micros};
use crate::store::ConsoleTokenStore;

fn to_model(r: console_tokens::Model) -> ConsoleToken {
    ConsoleToken {
        id: ConsoleTokenId(r.id),
        machine_id: MachineId(r.machine_id),
        user_id: UserId(r.user_id),
        created_at: r.created_at,
        expires_at: r.expires_at,
    }
}

#[async_trait]
impl<C: Conn> ConsoleTokenStore for SeaStore<C> {
    async fn console_token_create(
        &self,
        machine_id: MachineId,
        user_id: UserId,
        hash: &str,
        expires_at: Timestamp,
    ) -> Result<ConsoleToken> {
        let row = ActiveModel {
            id: NotSet,
            token_hash: Set(hash.to_string()),
            machine_id: Set(machine_id.0),
            user_id: Set(user_id.0),
            created_at: Set(now()),
            expires_at: Set(to_micros(expires_at)),
        };
        crud::insert(self.db(), row, "console token")
            .await
            .map(to_model)
    }

    async fn console_token_consume(
        &self,
        hash: &str,
        now: Timestamp,
    ) -> Result<Option<ConsoleToken>> {
        // One statement deletes and returns the row, so two viewers racing for the same token
        // cannot both get it.
        let taken = Entity::delete_many()
            .filter(Column::TokenHash.eq(hash))
            .exec_with_returning(self.db())
            .await
            .map_err(error::other)?;
        Ok(taken
            .into_iter()
            .next()
            .filter(|t| t.expires_at > now)
            .map(to_model))
    }

    async fn console_token_purge(&self, now: Timestamp) -> Result<u64> {
        Entity::delete_many()
            .filter(Column::ExpiresAt.lte(now))
            .exec(self.db())
            .await
            .map(|r| r.rows_affected)
            .map_err(error::other)
    }
}
