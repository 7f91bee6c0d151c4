//! A dashboard's most severe open alerts: per severity, oldest first, read
//! from the head of this index rather than by sorting the subtree's alerts
//! (every open alert of the organisation, for a company).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Alerts {
    Table,
    State,
    Severity,
    OpenedAt,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(
            Index::create()
                .name("ix_alerts_state_severity_opened")
                .table(Alerts::Table)
                .col(Alerts::State)
                .col(Alerts::Severity)
                .col(Alerts::OpenedAt)
                .col(Alerts::Id)
                .to_owned(),
        )
        .await
    }
}
