//! The review service's schema, one file per migration.

use sea_orm_migration::{MigrationTrait, MigratorTrait};

mod m20261128_000001_create_reviews;
mod m20261128_000002_create_practices_reallocations;
mod m20261201_000003_carried_from_review;

pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(attain_kit::idempotency::Migration),
            Box::new(m20261128_000001_create_reviews::Migration),
            Box::new(m20261128_000002_create_practices_reallocations::Migration),
            Box::new(m20261201_000003_carried_from_review::Migration),
        ]
    }
}
