//! [`AuditStore`] on sea-orm.

use async_trait::async_trait;
use sea_orm::{ActiveValue::*, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::entity::audit_log::{self, ActiveModel, Column, Entity};
use super::{Conn, SeaStore, crud, error};
use crate::error::{Error, Result};
use crate::id::{AuditId, UserId};
use crate::model::audit::{AuditEntry, NewAuditEntry};
use crate::model::now;
use crate::store::{AuditStore, Page};

fn to_model(r: audit_log::Model) -> AuditEntry {
    AuditEntry {
        id: AuditId(r.id),
        at: r.at,
        actor_id: r.actor_id.map(UserId),
        actor: r.actor,
        action: r.action,
        target_kind: r.target_kind,
        target_id: r.target_id,
        detail: r.detail,
    }
}

#[async_trait]
impl<C: Conn> AuditStore for SeaStore<C> {
    async fn audit_record(&self, new: &NewAuditEntry) -> Result<AuditEntry> {
        if !new.detail.is_object() {
            return Err(Error::bug("audit detail must be a JSON object"));
        }
        let row = ActiveModel {
            id: NotSet,
            at: Set(now()),
            actor_id: Set(new.actor_id.map(|u| u.0)),
            actor: Set(new.actor.clone()),
            action: Set(new.action.clone()),
            target_kind: Set(new.target_kind.clone()),
            target_id: Set(new.target_id),
            detail: Set(new.detail.clone()),
        };
        // Queued with the other writers on SQLite (see `SeaStore::gate`).
        let tx = self.begin_tx().await?;
        let entry = crud::insert(tx.db(), row, "audit entry")
            .await
            .map(to_model)?;
        tx.conn.commit().await.map_err(error::other)?;
        Ok(entry)
    }

    async fn audit_list(&self, page: Page) -> Result<Vec<AuditEntry>> {
        let mut q = Entity::find();
        if let Some(before) = page.before {
            q = q.filter(Column::Id.lt(before));
        }
        q.order_by_desc(Column::Id)
            .limit(crud::clamp_limit(page.limit))
            .all(self.db())
            .await
            .map(|rows| rows.into_iter().map(to_model).collect())
            .map_err(error::other)
    }
}
