//! The `subarchs` table.

use sea_orm::entity::prelude::*;

/// One row of `subarchs`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "subarchs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub arch_id: i64,
    pub name: String,
    pub description: Option<String>,
    pub bootloader_id: Option<i64>,
    pub efiboot: bool,
}

/// No relations are declared: joins are written out where they are needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
