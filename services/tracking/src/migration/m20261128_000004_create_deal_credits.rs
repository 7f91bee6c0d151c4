//! Split credit: one row per share of a split deal (deals credited to one
//! rep have none), with the share's amount and the rep's booked path.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum DealCredits {
    Table,
    DealId,
    RepId,
    Percent,
    AmountMinor,
    BookedPath,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(DealCredits::Table)
                .col(ColumnDef::new(DealCredits::DealId).string().not_null())
                .col(ColumnDef::new(DealCredits::RepId).string().not_null())
                .col(ColumnDef::new(DealCredits::Percent).string().not_null())
                .col(ColumnDef::new(DealCredits::AmountMinor).big_integer().not_null())
                .col(ColumnDef::new(DealCredits::BookedPath).string().not_null())
                .primary_key(Index::create().col(DealCredits::DealId).col(DealCredits::RepId))
                .to_owned(),
        )
        .await?;
        // Listing a subtree's deals finds split deals by the credited rep's path.
        m.create_index(
            Index::create()
                .name("deal_credits_by_path")
                .table(DealCredits::Table)
                .col(DealCredits::BookedPath)
                .to_owned(),
        )
        .await
    }
}
