//! [`DiscoveredMacStore`] on sea-orm.

use async_trait::async_trait;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveValue::*, EntityTrait, QueryOrder};

use super::entity::discovered_macs::{self, ActiveModel, Column, Entity};
use super::{Conn, SeaStore, crud, error};
use crate::error::{Error, Result};
use crate::id::DiscoveredMacId;
use crate::mac::MacAddr;
use crate::model::discovered_mac::{DiscoveredMac, Sighting};
use crate::model::{Timestamp, to_micros};
use crate::store::DiscoveredMacStore;

const KIND: &str = "discovered MAC";

fn to_model(r: discovered_macs::Model) -> Result<DiscoveredMac> {
    Ok(DiscoveredMac {
        id: DiscoveredMacId(r.id),
        mac: crud::parse_column("discovered_macs", "mac", &r.mac)?,
        vendor: r.vendor,
        hostname: r.hostname,
        arch_code: r
            .arch_code
            .map(|c| u16::try_from(c).map_err(|_| Error::bug(format!("corrupt arch_code {c}"))))
            .transpose()?,
        arch: r.arch,
        first_seen: r.first_seen,
        last_seen: r.last_seen,
    })
}

/// `COALESCE(excluded.<c>, discovered_macs.<c>)`: a sighting that lacks a detail keeps the
/// one seen before.
fn keep_old(column: &'static str) -> Expr {
    Expr::cust(format!(
        r#"COALESCE(excluded."{column}", "discovered_macs"."{column}")"#
    ))
}

#[async_trait]
impl<C: Conn> DiscoveredMacStore for SeaStore<C> {
    async fn discovered_mac_upsert(
        &self,
        mac: MacAddr,
        sighting: &Sighting,
        at: Timestamp,
    ) -> Result<DiscoveredMac> {
        let row = ActiveModel {
            id: NotSet,
            mac: Set(mac.to_string()),
            vendor: Set(sighting.vendor.clone()),
            hostname: Set(sighting.hostname.clone()),
            arch_code: Set(sighting.arch_code.map(i32::from)),
            arch: Set(sighting.arch.clone()),
            first_seen: Set(to_micros(at)),
            last_seen: Set(to_micros(at)),
        };
        // Queued with the other writers on SQLite (see `SeaStore::gate`).
        let tx = self.begin_tx().await?;
        let r = Entity::insert(row)
            .on_conflict(
                OnConflict::column(Column::Mac)
                    .update_column(Column::LastSeen)
                    .value(Column::Vendor, keep_old("vendor"))
                    .value(Column::Hostname, keep_old("hostname"))
                    .value(Column::ArchCode, keep_old("arch_code"))
                    .value(Column::Arch, keep_old("arch"))
                    .to_owned(),
            )
            .exec_with_returning(tx.db())
            .await
            .map_err(error::other)?;
        tx.conn.commit().await.map_err(error::other)?;
        to_model(r)
    }

    async fn discovered_mac_get(&self, id: DiscoveredMacId) -> Result<DiscoveredMac> {
        to_model(crud::get::<Entity, _>(self.db(), id.0, KIND).await?)
    }

    async fn discovered_mac_list(&self) -> Result<Vec<DiscoveredMac>> {
        crud::all(
            self.db(),
            Entity::find()
                .order_by_desc(Column::LastSeen)
                .order_by_asc(Column::Id),
            to_model,
        )
        .await
    }

    async fn discovered_mac_delete(&self, id: DiscoveredMacId) -> Result<()> {
        crud::delete::<Entity, _>(self.db(), id.0, KIND).await
    }
}
