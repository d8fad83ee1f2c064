//! The `images` table.

use sea_orm::entity::prelude::*;

/// One row of `images`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "images")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub filename: String,
    pub description: Option<String>,
    pub kind: String,
    pub arch_id: i64,
    pub owner_id: Option<i64>,
    pub known_good: bool,
    pub public: bool,
    pub created_at: DateTimeUtc,
    pub sha256: Option<String>,
    pub size: Option<i64>,
}

/// No relations are declared: joins are written out where they are needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
