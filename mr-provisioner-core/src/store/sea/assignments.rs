//! [`AssignmentStore`] on sea-orm.

use async_trait::async_trait;
use sea_orm::{ActiveValue::*, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::entity::assignments::{self, ActiveModel, Column, Entity};
use super::{Conn, SeaStore, crud};
use crate::error::{Error, Result};
use crate::id::{AssignmentId, MachineId, UserId};
use crate::model::assignment::{Assignment, NewAssignment, check_reason};
use crate::model::{Timestamp, now, to_micros};
use crate::store::AssignmentStore;

const KIND: &str = "assignee";

fn to_model(r: assignments::Model) -> Assignment {
    Assignment {
        id: AssignmentId(r.id),
        machine_id: MachineId(r.machine_id),
        user_id: UserId(r.user_id),
        reason: r.reason,
        start: r.start_at,
        end: r.end_at,
    }
}

#[async_trait]
impl<C: Conn> AssignmentStore for SeaStore<C> {
    async fn assignment_create(&self, new: &NewAssignment) -> Result<Assignment> {
        let start = now();
        new.validate(start)?;
        let row = ActiveModel {
            id: NotSet,
            machine_id: Set(new.machine_id.0),
            user_id: Set(new.user_id.0),
            reason: Set(new.reason.clone()),
            start_at: Set(start),
            end_at: Set(new.end.map(to_micros)),
        };
        crud::insert(self.db(), row, KIND)
            .await
            .map(to_model)
            .map_err(|e| match e {
                Error::AlreadyExists { .. } => {
                    Error::conflict("the user is already assigned to this machine")
                }
                Error::InvalidRequest { .. } => {
                    Error::bad_request("the machine or the user does not exist")
                }
                e => e,
            })
    }

    async fn assignment_get(&self, id: AssignmentId) -> Result<Assignment> {
        crud::get::<Entity, _>(self.db(), id.0, KIND)
            .await
            .map(to_model)
    }

    async fn assignment_find(
        &self,
        machine_id: MachineId,
        user_id: UserId,
    ) -> Result<Option<Assignment>> {
        crud::one(
            self.db(),
            Entity::find()
                .filter(Column::MachineId.eq(machine_id.0))
                .filter(Column::UserId.eq(user_id.0)),
            |r| Ok(to_model(r)),
        )
        .await
    }

    async fn assignment_list_for_machine(&self, machine_id: MachineId) -> Result<Vec<Assignment>> {
        crud::all(
            self.db(),
            Entity::find()
                .filter(Column::MachineId.eq(machine_id.0))
                .order_by_asc(Column::Id),
            |r| Ok(to_model(r)),
        )
        .await
    }

    async fn assignment_list_for_user(&self, user_id: UserId) -> Result<Vec<Assignment>> {
        crud::all(
            self.db(),
            Entity::find()
                .filter(Column::UserId.eq(user_id.0))
                .order_by_asc(Column::Id),
            |r| Ok(to_model(r)),
        )
        .await
    }

    async fn assignment_list_expired(&self, now: Timestamp) -> Result<Vec<Assignment>> {
        crud::all(
            self.db(),
            Entity::find()
                .filter(Column::EndAt.lte(now))
                .order_by_asc(Column::Id),
            |r| Ok(to_model(r)),
        )
        .await
    }

    async fn assignment_update(
        &self,
        id: AssignmentId,
        reason: &str,
        end: Option<Timestamp>,
    ) -> Result<Assignment> {
        check_reason(reason)?;
        if let Some(end) = end
            && end <= now()
        {
            return Err(Error::invalid(
                "end",
                "the end of an assignment must be in the future",
            ));
        }
        let row = ActiveModel {
            id: Unchanged(id.0),
            reason: Set(reason.to_string()),
            end_at: Set(end.map(to_micros)),
            ..Default::default()
        };
        crud::update(self.db(), row, KIND, id.0).await.map(to_model)
    }

    async fn assignment_delete(&self, id: AssignmentId) -> Result<()> {
        crud::delete::<Entity, _>(self.db(), id.0, KIND).await
    }
}
