//! The `preseeds` table.

use sea_orm::entity::prelude::*;

/// One row of `preseeds`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "preseeds")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub name: String,
    pub description: Option<String>,
    pub kind: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub content: Option<String>,
    pub owner_id: Option<i64>,
    pub known_good: bool,
    pub public: bool,
    pub created_at: DateTimeUtc,
}

/// No relations are declared: joins are written out where they are needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
