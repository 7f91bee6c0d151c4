//! The tracking service's schema, one file per migration.

use sea_orm_migration::{MigrationTrait, MigratorTrait};

mod m20261128_000001_create_deals_rollups_alerts;
mod m20261128_000002_create_opportunities_logs;
mod m20261128_000003_create_rollup_changes;
mod m20261128_000004_create_deal_credits;
mod m20261128_000005_create_period_closes;
mod m20261128_000006_alert_escalation;
mod m20261128_000007_count_metrics;
mod m20261201_000008_feed_positions;
mod m20261201_000009_leases;
mod m20261202_000010_lease_positions;
mod m20261202_000011_feed_pruning;
mod m20261202_000012_open_alerts_index;
mod m20261202_000013_alerts_by_severity_index;
mod m20261202_000014_alerts_prefix_index;
mod m20261202_000015_cadence;
mod m20261203_000016_review_closes;
mod m20261203_000017_open_alerts_by_id_index;

pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(attain_kit::idempotency::Migration),
            Box::new(m20261128_000001_create_deals_rollups_alerts::Migration),
            Box::new(m20261128_000002_create_opportunities_logs::Migration),
            Box::new(m20261128_000003_create_rollup_changes::Migration),
            Box::new(m20261128_000004_create_deal_credits::Migration),
            Box::new(m20261128_000005_create_period_closes::Migration),
            Box::new(m20261128_000006_alert_escalation::Migration),
            Box::new(m20261128_000007_count_metrics::Migration),
            Box::new(m20261201_000008_feed_positions::Migration),
            Box::new(m20261201_000009_leases::Migration),
            Box::new(m20261202_000010_lease_positions::Migration),
            Box::new(m20261202_000011_feed_pruning::Migration),
            Box::new(m20261202_000012_open_alerts_index::Migration),
            Box::new(m20261202_000013_alerts_by_severity_index::Migration),
            Box::new(m20261202_000014_alerts_prefix_index::Migration),
            Box::new(m20261202_000015_cadence::Migration),
            Box::new(m20261203_000016_review_closes::Migration),
            Box::new(m20261203_000017_open_alerts_by_id_index::Migration),
        ]
    }
}
