//! [`EventStore`] on sea-orm.

use async_trait::async_trait;
use sea_orm::{ActiveValue::*, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::entity::machine_events::{self, ActiveModel, Column, Entity};
use super::{Conn, SeaStore, crud, error};
use crate::error::{Error, Result};
use crate::id::{EventId, MachineId, UserId};
use crate::model::event::{EventKind, MachineEvent, NewEvent};
use crate::model::{Timestamp, now};
use crate::store::{EventStore, Page};

fn to_model(r: machine_events::Model) -> Result<MachineEvent> {
    Ok(MachineEvent {
        id: EventId(r.id),
        machine_id: MachineId(r.machine_id),
        user_id: r.user_id.map(UserId),
        username: r.username,
        date: r.date,
        kind: EventKind::from_code(r.kind)?,
        info: r.info,
    })
}

#[async_trait]
impl<C: Conn> EventStore for SeaStore<C> {
    async fn event_record(&self, new: &NewEvent) -> Result<MachineEvent> {
        if !new.info.is_object() {
            return Err(Error::bug("event info must be a JSON object"));
        }
        let row = ActiveModel {
            id: NotSet,
            machine_id: Set(new.machine_id.0),
            user_id: Set(new.user_id.map(|u| u.0)),
            username: Set(new.username.clone()),
            date: Set(new.date.unwrap_or_else(now)),
            kind: Set(new.kind.code()),
            info: Set(new.info.clone()),
        };
        // In a transaction of its own: on SQLite it then queues with the other writers of
        // this process instead of polling SQLite's lock (see `SeaStore::gate`).
        let tx = self.begin_tx().await?;
        let event = to_model(crud::insert(tx.db(), row, "machine event").await?)?;
        tx.conn.commit().await.map_err(error::other)?;
        Ok(event)
    }

    async fn event_record_many(&self, new: &[NewEvent]) -> Result<()> {
        if new.is_empty() {
            return Ok(());
        }
        if new.iter().any(|e| !e.info.is_object()) {
            return Err(Error::bug("event info must be a JSON object"));
        }
        let date = now();
        let row = |e: &NewEvent| ActiveModel {
            id: NotSet,
            machine_id: Set(e.machine_id.0),
            user_id: Set(e.user_id.map(|u| u.0)),
            username: Set(e.username.clone()),
            date: Set(e.date.unwrap_or(date)),
            kind: Set(e.kind.code()),
            info: Set(e.info.clone()),
        };
        let tx = self.begin_tx().await?;
        // PostgreSQL takes at most 65,535 bound values per statement (7 per row).
        for chunk in new.chunks(4096) {
            Entity::insert_many(chunk.iter().map(row))
                .exec_without_returning(tx.db())
                .await
                .map_err(|e| error::map(e, error::Op::Write("machine event")))?;
        }
        tx.conn.commit().await.map_err(error::other)?;
        Ok(())
    }

    async fn event_list(&self, machine_id: MachineId, page: Page) -> Result<Vec<MachineEvent>> {
        let mut q = Entity::find().filter(Column::MachineId.eq(machine_id.0));
        if let Some(before) = page.before {
            q = q.filter(Column::Id.lt(before));
        }
        q.order_by_desc(Column::Id)
            .limit(crud::clamp_limit(page.limit))
            .all(self.db())
            .await
            .map_err(error::other)?
            .into_iter()
            .map(to_model)
            .collect()
    }

    async fn event_purge(&self, before: Timestamp) -> Result<u64> {
        Entity::delete_many()
            .filter(Column::Date.lt(before))
            .exec(self.db())
            .await
            .map(|r| r.rows_affected)
            .map_err(error::other)
    }
}
