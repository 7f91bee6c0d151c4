//! The roll-up change feed: one row per ingestion transaction naming every
//! unit whose figures moved, so readers (the gateway's dashboard cache)
//! learn of new figures from any replica.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum RollupChanges {
    Table,
    Id,
    Units,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(RollupChanges::Table)
                .col(ColumnDef::new(RollupChanges::Id).big_integer().not_null().auto_increment().primary_key())
                .col(ColumnDef::new(RollupChanges::Units).text().not_null())
                .col(ColumnDef::new(RollupChanges::CreatedAt).timestamp_with_time_zone().not_null())
                .to_owned(),
        )
        .await
    }
}
