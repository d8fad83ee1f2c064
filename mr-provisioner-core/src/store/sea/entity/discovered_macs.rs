//! The `discovered_macs` table.

use sea_orm::entity::prelude::*;

/// One row of `discovered_macs`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "discovered_macs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub mac: String,
    pub vendor: Option<String>,
    pub hostname: Option<String>,
    pub arch_code: Option<i32>,
    pub arch: Option<String>,
    pub first_seen: DateTimeUtc,
    pub last_seen: DateTimeUtc,
}

/// No relations are declared: joins are written out where they are needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
