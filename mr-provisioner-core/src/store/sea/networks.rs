//! [`NetworkStore`] on sea-orm.

use async_trait::async_trait;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::*, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::entity::interfaces;
use super::entity::networks::{self, ActiveModel, Column, Entity};
use super::{Conn, SeaStore, crud, error};
use crate::error::{Error, Result};
use crate::id::NetworkId;
use crate::model::interface::NewInterface;
use crate::model::network::{Network, NewNetwork, overlaps};
use crate::store::{InterfaceStore, NetworkStore};

const KIND: &str = "network";

pub(crate) fn to_model(r: networks::Model) -> Result<Network> {
    Ok(Network {
        id: NetworkId(r.id),
        subnet: crud::parse_column("networks", "subnet", &r.subnet)?,
        reserved_pool: crud::parse_opt("networks", "reserved_pool", r.reserved_pool.as_deref())?,
        static_pool: crud::parse_opt("networks", "static_pool", r.static_pool.as_deref())?,
        name: r.name,
    })
}

fn row(id: sea_orm::ActiveValue<i64>, new: &NewNetwork) -> ActiveModel {
    ActiveModel {
        id,
        name: Set(new.name.clone()),
        subnet: Set(new.subnet.to_string()),
        reserved_pool: Set(new.reserved_pool.map(|p| p.to_string())),
        static_pool: Set(new.static_pool.map(|p| p.to_string())),
    }
}

impl<C: Conn> SeaStore<C> {
    /// Conflict if `new` overlaps a network other than `except`.
    async fn check_overlap(&self, new: &NewNetwork, except: Option<NetworkId>) -> Result<()> {
        if self.db().get_database_backend() == sea_orm::DbBackend::Postgres {
            self.db()
                .execute_unprepared("LOCK TABLE networks IN SHARE ROW EXCLUSIVE MODE")
                .await
                .map_err(error::other)?;
        }
        for other in self.network_list().await? {
            if Some(other.id) != except && overlaps(other.subnet, new.subnet) {
                return Err(Error::conflict(format!(
                    "subnet {} overlaps network {} ({})",
                    new.subnet, other.name, other.subnet
                )));
            }
        }
        Ok(())
    }
}

#[async_trait]
impl<C: Conn> NetworkStore for SeaStore<C> {
    async fn network_create(&self, new: &NewNetwork) -> Result<Network> {
        new.validate()?;
        let tx = self.begin_tx().await?;
        tx.check_overlap(new, None).await?;
        let created = to_model(crud::insert(tx.db(), row(NotSet, new), KIND).await?)?;
        tx.conn.commit().await.map_err(error::other)?;
        Ok(created)
    }

    async fn network_get(&self, id: NetworkId) -> Result<Network> {
        to_model(crud::get::<Entity, _>(self.db(), id.0, KIND).await?)
    }

    async fn network_by_name(&self, name: &str) -> Result<Option<Network>> {
        crud::one(
            self.db(),
            Entity::find().filter(Column::Name.eq(name)),
            to_model,
        )
        .await
    }

    async fn network_list(&self) -> Result<Vec<Network>> {
        crud::all(self.db(), Entity::find().order_by_asc(Column::Id), to_model).await
    }

    async fn network_update(&self, id: NetworkId, new: &NewNetwork) -> Result<Network> {
        new.validate()?;
        let tx = self.begin_tx().await?;
        tx.check_overlap(new, Some(id)).await?;
        let updated =
            to_model(crud::update(tx.db(), row(Unchanged(id.0), new), KIND, id.0).await?)?;
        // The original silently cleared addresses that fell outside new pools; we refuse.
        for intf in tx.interface_list_for_network(id).await? {
            NewInterface::from(&intf)
                .validate_against(&updated)
                .map_err(|e| {
                    Error::conflict(format!(
                        "interface {} would be left outside the network's pools: {e}",
                        intf.mac
                    ))
                })?;
        }
        tx.conn.commit().await.map_err(error::other)?;
        Ok(updated)
    }

    async fn network_delete(&self, id: NetworkId) -> Result<()> {
        let tx = self.begin_tx().await?;
        // Addresses only mean something on their network: clear them with it.
        interfaces::Entity::update_many()
            .col_expr(
                interfaces::Column::NetworkId,
                Expr::value(Option::<i64>::None),
            )
            .col_expr(
                interfaces::Column::StaticIpv4,
                Expr::value(Option::<String>::None),
            )
            .col_expr(
                interfaces::Column::ReservedIpv4,
                Expr::value(Option::<String>::None),
            )
            .filter(interfaces::Column::NetworkId.eq(id.0))
            .exec(tx.db())
            .await
            .map_err(error::other)?;
        crud::delete::<Entity, _>(tx.db(), id.0, KIND).await?;
        tx.conn.commit().await.map_err(error::other)?;
        Ok(())
    }
}
