//! The `bmcs` table.

use sea_orm::entity::prelude::*;

/// One row of `bmcs`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "bmcs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub name: String,
    pub address: String,
    /// 0 means the protocol default.
    pub port: i32,
    pub username: String,
    pub password: String,
    pub kind: String,
    pub privilege: String,
    pub cipher_suite: Option<i32>,
    pub retries: Option<i32>,
    pub timeout_ms: Option<i32>,
}

/// No relations are declared: joins are written out where they are needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
