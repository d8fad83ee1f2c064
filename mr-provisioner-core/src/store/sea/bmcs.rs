//! [`BmcStore`] on sea-orm.

use async_trait::async_trait;
use sea_orm::{ActiveValue::*, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use secrecy::ExposeSecret;

use super::entity::bmcs::{self, ActiveModel, Column, Entity};
use super::entity::machines;
use super::{Conn, SeaStore, crud, error};
use crate::error::{Error, Result};
use crate::id::BmcId;
use crate::model::bmc::{Bmc, NewBmc, check_bmc_info};
use crate::store::BmcStore;

const KIND: &str = "BMC";

fn to_model(r: bmcs::Model) -> Result<Bmc> {
    let small = |column: &str, v: Option<i32>| -> Result<Option<u8>> {
        v.map(|v| {
            u8::try_from(v).map_err(|_| Error::bug(format!("corrupt value in bmcs.{column}: {v}")))
        })
        .transpose()
    };
    Ok(Bmc {
        id: BmcId(r.id),
        port: match r.port {
            0 => None,
            p => Some(
                u16::try_from(p)
                    .map_err(|_| Error::bug(format!("corrupt value in bmcs.port: {p}")))?,
            ),
        },
        kind: crud::parse_column("bmcs", "kind", &r.kind)?,
        privilege: crud::parse_column("bmcs", "privilege", &r.privilege)?,
        cipher_suite: small("cipher_suite", r.cipher_suite)?,
        retries: small("retries", r.retries)?,
        timeout_ms: r
            .timeout_ms
            .map(|t| {
                u32::try_from(t)
                    .map_err(|_| Error::bug(format!("corrupt value in bmcs.timeout_ms: {t}")))
            })
            .transpose()?,
        name: r.name,
        address: r.address,
        username: r.username,
        password: r.password.into(),
    })
}

fn row(id: sea_orm::ActiveValue<i64>, new: &NewBmc) -> Result<ActiveModel> {
    new.validate()?;
    let timeout = new
        .timeout_ms
        .map(|t| {
            i32::try_from(t).map_err(|_| Error::invalid("timeout_ms", "timeout_ms is too large"))
        })
        .transpose()?;
    Ok(ActiveModel {
        id,
        name: Set(new.name.clone()),
        address: Set(new.address.clone()),
        port: Set(i32::from(new.port.unwrap_or(0))),
        username: Set(new.username.clone()),
        password: Set(new.password.expose_secret().to_string()),
        kind: Set(new.kind.as_str().to_string()),
        privilege: Set(new.privilege.as_str().to_string()),
        cipher_suite: Set(new.cipher_suite.map(i32::from)),
        retries: Set(new.retries.map(i32::from)),
        timeout_ms: Set(timeout),
    })
}

#[async_trait]
impl<C: Conn> BmcStore for SeaStore<C> {
    async fn bmc_create(&self, new: &NewBmc) -> Result<Bmc> {
        to_model(crud::insert(self.db(), row(NotSet, new)?, KIND).await?)
    }

    async fn bmc_get(&self, id: BmcId) -> Result<Bmc> {
        to_model(crud::get::<Entity, _>(self.db(), id.0, KIND).await?)
    }

    async fn bmc_by_name(&self, name: &str) -> Result<Option<Bmc>> {
        crud::one(
            self.db(),
            Entity::find().filter(Column::Name.eq(name)),
            to_model,
        )
        .await
    }

    async fn bmc_list(&self) -> Result<Vec<Bmc>> {
        crud::all(self.db(), Entity::find().order_by_asc(Column::Id), to_model).await
    }

    async fn bmc_update(&self, id: BmcId, new: &NewBmc) -> Result<Bmc> {
        let row = row(Unchanged(id.0), new)?;
        let tx = self.begin_tx().await?;
        // Update first: the row lock makes concurrent machine writes on this BMC wait.
        let updated = to_model(crud::update(tx.db(), row, KIND, id.0).await?)?;
        let users = machines::Entity::find()
            .filter(machines::Column::BmcId.eq(id.0))
            .all(tx.db())
            .await
            .map_err(error::other)?;
        for m in &users {
            check_bmc_info(new.kind, &m.bmc_info).map_err(|e| {
                Error::conflict(format!(
                    "machine {} cannot use a {} BMC: {e}",
                    m.name, new.kind
                ))
            })?;
        }
        tx.conn.commit().await.map_err(error::other)?;
        Ok(updated)
    }

    async fn bmc_delete(&self, id: BmcId) -> Result<()> {
        crud::delete::<Entity, _>(self.db(), id.0, KIND).await
    }
}
