//! A subtree's open alerts in id order (the dashboard's list, `ListAlerts`
//! pages): walked among the open ones by id, so a company's list never
//! reads the alerts resolved before it. Without it PostgreSQL walked the
//! primary key and filtered out every resolved alert — records are never
//! destroyed, so the company's list grew with the organisation's history
//! (2.4 ms at 4,000 alerts in the benchmark, against 0.1 ms for a region).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Alerts {
    Table,
    State,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(
            Index::create()
                .name("ix_alerts_state_id")
                .table(Alerts::Table)
                .col(Alerts::State)
                .col(Alerts::Id)
                .to_owned(),
        )
        .await
    }
}
