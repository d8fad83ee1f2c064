//! [`InterfaceStore`] on sea-orm.

use async_trait::async_trait;
use sea_orm::{ActiveValue::*, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::entity::discovered_macs;
use super::entity::interfaces::{self, ActiveModel, Column, Entity};
use super::{Conn, SeaStore, crud, error};
use crate::error::{Error, Result};
use crate::id::{InterfaceId, MachineId, NetworkId};
use crate::mac::MacAddr;
use crate::model::interface::{Interface, NewInterface};
use crate::store::InterfaceStore;

const KIND: &str = "interface";

fn to_model(r: interfaces::Model) -> Result<Interface> {
    Ok(Interface {
        id: InterfaceId(r.id),
        machine_id: MachineId(r.machine_id),
        mac: crud::parse_column("interfaces", "mac", &r.mac)?,
        identifier: r.identifier,
        network_id: r.network_id.map(NetworkId),
        static_ipv4: crud::parse_opt("interfaces", "static_ipv4", r.static_ipv4.as_deref())?,
        reserved_ipv4: crud::parse_opt("interfaces", "reserved_ipv4", r.reserved_ipv4.as_deref())?,
    })
}

fn models(rows: Vec<interfaces::Model>) -> Result<Vec<Interface>> {
    rows.into_iter().map(to_model).collect()
}

fn row(id: sea_orm::ActiveValue<i64>, new: &NewInterface) -> ActiveModel {
    ActiveModel {
        id,
        machine_id: Set(new.machine_id.0),
        mac: Set(new.mac.to_string()),
        identifier: Set(new.identifier.clone()),
        network_id: Set(new.network_id.map(|n| n.0)),
        static_ipv4: Set(new.static_ipv4.map(|a| a.to_string())),
        reserved_ipv4: Set(new.reserved_ipv4.map(|a| a.to_string())),
    }
}

impl<C: Conn> SeaStore<C> {
    async fn check_interface(&self, new: &NewInterface) -> Result<()> {
        new.validate()?;
        if let Some(nid) = new.network_id {
            use sea_orm::QuerySelect;
            let row = super::entity::networks::Entity::find_by_id(nid.0)
                .lock_shared()
                .one(self.db())
                .await
                .map_err(error::other)?
                .ok_or_else(|| Error::invalid("network", format!("no network with id {nid}")))?;
            let network = super::networks::to_model(row)?;
            new.validate_against(&network)?;
        }
        Ok(())
    }

    /// A MAC that now belongs to an interface is no longer "discovered".
    async fn forget_discovered(&self, mac: MacAddr) -> Result<()> {
        discovered_macs::Entity::delete_many()
            .filter(discovered_macs::Column::Mac.eq(mac.to_string()))
            .exec(self.db())
            .await
            .map(|_| ())
            .map_err(error::other)
    }
}

#[async_trait]
impl<C: Conn> InterfaceStore for SeaStore<C> {
    async fn interface_create(&self, new: &NewInterface) -> Result<Interface> {
        let tx = self.begin_tx().await?;
        tx.check_interface(new).await?;
        let created = to_model(crud::insert(tx.db(), row(NotSet, new), KIND).await?)?;
        tx.forget_discovered(new.mac).await?;
        tx.conn.commit().await.map_err(error::other)?;
        Ok(created)
    }

    async fn interface_get(&self, id: InterfaceId) -> Result<Interface> {
        to_model(crud::get::<Entity, _>(self.db(), id.0, KIND).await?)
    }

    async fn interface_by_mac(&self, mac: MacAddr) -> Result<Option<Interface>> {
        crud::one(
            self.db(),
            Entity::find().filter(Column::Mac.eq(mac.to_string())),
            to_model,
        )
        .await
    }

    async fn interface_list_for_machine(&self, machine_id: MachineId) -> Result<Vec<Interface>> {
        models(
            Entity::find()
                .filter(Column::MachineId.eq(machine_id.0))
                .order_by_asc(Column::Id)
                .all(self.db())
                .await
                .map_err(error::other)?,
        )
    }

    async fn interface_list_for_network(&self, network_id: NetworkId) -> Result<Vec<Interface>> {
        models(
            Entity::find()
                .filter(Column::NetworkId.eq(network_id.0))
                .order_by_asc(Column::Id)
                .all(self.db())
                .await
                .map_err(error::other)?,
        )
    }

    async fn interface_update(&self, id: InterfaceId, new: &NewInterface) -> Result<Interface> {
        let tx = self.begin_tx().await?;
        tx.check_interface(new).await?;
        let updated =
            to_model(crud::update(tx.db(), row(Unchanged(id.0), new), KIND, id.0).await?)?;
        tx.forget_discovered(new.mac).await?;
        tx.conn.commit().await.map_err(error::other)?;
        Ok(updated)
    }

    async fn interface_delete(&self, id: InterfaceId) -> Result<()> {
        crud::delete::<Entity, _>(self.db(), id.0, KIND).await
    }
}
