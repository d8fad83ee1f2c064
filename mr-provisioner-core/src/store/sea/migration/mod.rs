//! Schema migrations (sea-orm-migration). Migrations are frozen once released: a change to
//! the schema is a new migration, never an edit of an old one (see `docs/development.md`).

use sea_orm_migration::prelude::*;

mod m20261125_000001_initial;

/// The ordered list of migrations.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(m20261125_000001_initial::Migration)]
    }
}
