//! The notify service's schema, one file per migration.

use sea_orm_migration::{MigrationTrait, MigratorTrait};

mod m20261203_000001_create_notify;
mod m20261203_000002_scope_and_told;

pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(attain_kit::idempotency::Migration),
            Box::new(m20261203_000001_create_notify::Migration),
            Box::new(m20261203_000002_scope_and_told::Migration),
        ]
    }
}
