//! The `machine_events` table.

use sea_orm::entity::prelude::*;

/// One row of `machine_events`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "machine_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub machine_id: i64,
    pub user_id: Option<i64>,
    pub username: Option<String>,
    pub date: DateTimeUtc,
    pub kind: i32,
    #[sea_orm(column_type = "JsonBinary")]
    pub info: Json,
}

/// No relations are declared: joins are written out where they are needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
