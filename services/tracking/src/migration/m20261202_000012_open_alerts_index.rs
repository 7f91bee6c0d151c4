//! A dashboard reads a subtree's open alerts (the list, the counts, the
//! most severe): indexed by state, they are found among the open ones
//! rather than by scanning every alert ever resolved.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Alerts {
    Table,
    State,
    UnitPath,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(
            Index::create()
                .name("ix_alerts_state_path")
                .table(Alerts::Table)
                .col(Alerts::State)
                .col(Alerts::UnitPath)
                .to_owned(),
        )
        .await
    }
}
