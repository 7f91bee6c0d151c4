//! The target service's schema, one file per migration.

use sea_orm_migration::{MigrationTrait, MigratorTrait};

mod m20261128_000001_create_units;
mod m20261128_000002_create_plans_and_targets;
mod m20261201_000003_adjustment_requester_unit;
mod m20261201_000004_dated_changes;
mod m20261201_000005_employee_codes;
mod m20261202_000006_dated_moves;
mod m20261202_000007_plan_targets_seq;
mod m20261202_000008_path_prefix_indexes;
mod m20261203_000009_data_version;

pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(attain_kit::idempotency::Migration),
            Box::new(m20261128_000001_create_units::Migration),
            Box::new(m20261128_000002_create_plans_and_targets::Migration),
            Box::new(m20261201_000003_adjustment_requester_unit::Migration),
            Box::new(m20261201_000004_dated_changes::Migration),
            Box::new(m20261201_000005_employee_codes::Migration),
            Box::new(m20261202_000006_dated_moves::Migration),
            Box::new(m20261202_000007_plan_targets_seq::Migration),
            Box::new(m20261202_000008_path_prefix_indexes::Migration),
            Box::new(m20261203_000009_data_version::Migration),
        ]
    }
}
