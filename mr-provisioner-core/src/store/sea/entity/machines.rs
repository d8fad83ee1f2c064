//! The `machines` table.

use sea_orm::entity::prelude::*;

/// One row of `machines`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "machines")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub name: String,
    pub arch_id: i64,
    pub subarch_id: Option<i64>,
    pub bmc_id: Option<i64>,
    pub bmc_info: String,
    pub kernel_id: Option<i64>,
    pub initrd_id: Option<i64>,
    pub preseed_id: Option<i64>,
    pub kernel_opts: String,
    pub netboot_enabled: bool,
    pub state: String,
    pub created_at: DateTimeUtc,
}

/// No relations are declared: joins are written out where they are needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
