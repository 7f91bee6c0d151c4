//! Feeds are pruned after their retention: each remembers the newest id it
//! pruned, so a reader resuming from before it is told to refresh instead
//! of silently missing rows.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum FeedPositions {
    Table,
    PrunedThrough,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(FeedPositions::Table)
                .add_column(ColumnDef::new(FeedPositions::PrunedThrough).big_integer().not_null().default(0))
                .to_owned(),
        )
        .await
    }
}
