//! The `assignments` table.

use sea_orm::entity::prelude::*;

/// One row of `assignments`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "assignments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub machine_id: i64,
    pub user_id: i64,
    pub reason: String,
    pub start_at: DateTimeUtc,
    pub end_at: Option<DateTimeUtc>,
}

/// No relations are declared: joins are written out where they are needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
