//! [`LeaseStore`] on sea-orm.

use std::net::Ipv4Addr;

use async_trait::async_trait;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::*, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::entity::leases::{self, ActiveModel, Column, Entity};
use super::{Conn, SeaStore, crud, error};
use crate::error::Result;
use crate::id::LeaseId;
use crate::mac::MacAddr;
use crate::model::lease::Lease;
use crate::model::{Timestamp, to_micros};
use crate::store::LeaseStore;

fn to_model(r: leases::Model) -> Result<Lease> {
    Ok(Lease {
        id: LeaseId(r.id),
        mac: crud::parse_column("leases", "mac", &r.mac)?,
        ipv4: crud::parse_opt("leases", "ipv4", r.ipv4.as_deref())?,
        last_seen: r.last_seen,
    })
}

#[async_trait]
impl<C: Conn> LeaseStore for SeaStore<C> {
    async fn lease_upsert(
        &self,
        mac: MacAddr,
        ipv4: Option<Ipv4Addr>,
        at: Timestamp,
    ) -> Result<Lease> {
        let row = ActiveModel {
            id: NotSet,
            mac: Set(mac.to_string()),
            ipv4: Set(ipv4.map(|a| a.to_string())),
            last_seen: Set(to_micros(at)),
        };
        // Queued with the other writers on SQLite (see `SeaStore::gate`): SQLite's own busy
        // handler polls with sleeps, which gave the hook's lease call a p99 of 100-200 ms
        // under concurrent writes.
        let tx = self.begin_tx().await?;
        let r = Entity::insert(row)
            .on_conflict(
                OnConflict::column(Column::Mac)
                    .update_columns([Column::Ipv4, Column::LastSeen])
                    .to_owned(),
            )
            .exec_with_returning(tx.db())
            .await
            .map_err(error::other)?;
        tx.conn.commit().await.map_err(error::other)?;
        to_model(r)
    }

    async fn lease_by_mac(&self, mac: MacAddr) -> Result<Option<Lease>> {
        crud::one(
            self.db(),
            Entity::find().filter(Column::Mac.eq(mac.to_string())),
            to_model,
        )
        .await
    }

    async fn lease_list(&self) -> Result<Vec<Lease>> {
        crud::all(self.db(), Entity::find().order_by_asc(Column::Id), to_model).await
    }
}
