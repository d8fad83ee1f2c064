//! The `interfaces` table.

use sea_orm::entity::prelude::*;

/// One row of `interfaces`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "interfaces")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub machine_id: i64,
    #[sea_orm(unique)]
    pub mac: String,
    pub identifier: Option<String>,
    pub network_id: Option<i64>,
    pub static_ipv4: Option<String>,
    pub reserved_ipv4: Option<String>,
}

/// No relations are declared: joins are written out where they are needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
