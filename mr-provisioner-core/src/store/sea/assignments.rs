//! [`AssignmentStore`] on sea-orm.

use async_trait::async_trait;
use sea_orm::{ActiveValue::*, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::entity::assignments::{self, ActiveModel, Column, Entity};
use super::{Conn, SeaStore, crud, error};
use crate::error::{Error, Result};
use crate::id::{AssignmentId, MachineId, UserId};
use crate::model::assignment::{Assignment, NewAssignment, check_reason};
use crate::model::machine::MachineSummary;
use crate::model::{Timestamp, now, to_micros};
use crate::query::Filter;
use crate::store::{AssignmentStore, MachineListQuery, MachineStore};

const KIND: &str = "assignee";
/// How often a reservation that lost a race for a machine tries the next one.
const RESERVE_ATTEMPTS: usize = 8;

impl<C: Conn> SeaStore<C> {
    /// One attempt: in a write transaction, lock the first free matching machine (skipping
    /// machines other reservations hold locked), assign it, and check that this is its only
    /// assignment now that the lock is held. `None` if nothing was free or the machine was
    /// taken meanwhile (the caller retries).
    async fn try_reserve(
        &self,
        user_id: UserId,
        filter: Option<Filter>,
        reason: &str,
        end: Option<Timestamp>,
    ) -> Result<Option<(Assignment, MachineSummary)>> {
        use sea_orm::sea_query::{LockBehavior, LockType};
        use sea_orm::{ConnectionTrait, FromQueryResult, PaginatorTrait};
        let tx = self.begin_tx().await?;
        let backend = tx.db().get_database_backend();
        let query = MachineListQuery {
            only_free: true,
            filter,
            limit: Some(1),
            ..Default::default()
        };
        let mut stmt = super::machines::list_statement(&query, backend);
        if backend == sea_orm::DbBackend::Postgres {
            stmt.lock_with_tables_behavior(
                LockType::Update,
                [super::entity::machines::Entity],
                LockBehavior::SkipLocked,
            );
        }
        let row = super::machines::SummaryRow::find_by_statement(backend.build(&stmt))
            .one(tx.db())
            .await
            .map_err(error::other)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let summary = row.into_summary()?;
        let assignment = tx
            .assignment_create(&NewAssignment {
                machine_id: summary.machine.id,
                user_id,
                reason: reason.to_string(),
                end,
            })
            .await?;
        let holders = Entity::find()
            .filter(Column::MachineId.eq(summary.machine.id.0))
            .count(tx.db())
            .await
            .map_err(error::other)?;
        if holders != 1 {
            tx.conn.rollback().await.map_err(error::other)?;
            return Ok(None);
        }
        tx.conn.commit().await.map_err(error::other)?;
        Ok(Some((assignment, summary)))
    }

    /// Whether any machine matching `filter` is free.
    async fn any_free(&self, filter: Option<Filter>) -> Result<bool> {
        let query = MachineListQuery {
            only_free: true,
            filter,
            limit: Some(1),
            ..Default::default()
        };
        Ok(!self.machine_list(&query).await?.is_empty())
    }
}

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

    async fn assignment_reserve(
        &self,
        user_id: UserId,
        filter: Option<Filter>,
        reason: &str,
        end: Option<Timestamp>,
    ) -> Result<Option<(Assignment, MachineSummary)>> {
        // Validate before taking any lock.
        NewAssignment {
            machine_id: MachineId(0),
            user_id,
            reason: reason.to_string(),
            end,
        }
        .validate(now())?;
        for _ in 0..RESERVE_ATTEMPTS {
            if let Some(found) = self
                .try_reserve(user_id, filter.clone(), reason, end)
                .await?
            {
                return Ok(Some(found));
            }
            if !self.any_free(filter.clone()).await? {
                return Ok(None);
            }
        }
        Err(Error::Unavailable {
            message: "too many concurrent reservations; try again".into(),
            source: None,
        })
    }
}
