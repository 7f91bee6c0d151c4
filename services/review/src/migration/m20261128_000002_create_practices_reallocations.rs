//! Best practices and resource reallocations.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum BestPractices {
    Table,
    Id,
    ReviewId,
    UnitPath,
    Author,
    Title,
    Body,
    Tags,
    SearchText,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Reallocations {
    Table,
    Id,
    ReviewId,
    Kind,
    UnitId,
    LeadCount,
    BudgetMinor,
    CurrencyCode,
    Description,
    ApprovedBy,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(BestPractices::Table)
                .col(ColumnDef::new(BestPractices::Id).string_len(63).not_null().primary_key())
                .col(ColumnDef::new(BestPractices::ReviewId).string_len(63).not_null())
                .col(ColumnDef::new(BestPractices::UnitPath).text().not_null())
                .col(ColumnDef::new(BestPractices::Author).string_len(512).not_null())
                .col(ColumnDef::new(BestPractices::Title).string_len(800).not_null())
                .col(ColumnDef::new(BestPractices::Body).text().not_null())
                .col(ColumnDef::new(BestPractices::Tags).text().not_null())
                // Lower-cased title, text and tags: what search matches.
                .col(ColumnDef::new(BestPractices::SearchText).text().not_null())
                .col(ColumnDef::new(BestPractices::CreatedAt).timestamp_with_time_zone().not_null())
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_best_practices_path")
                .table(BestPractices::Table)
                .col(BestPractices::UnitPath)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Reallocations::Table)
                .col(ColumnDef::new(Reallocations::Id).string_len(63).not_null().primary_key())
                .col(ColumnDef::new(Reallocations::ReviewId).string_len(63).not_null())
                .col(ColumnDef::new(Reallocations::Kind).string_len(32).not_null())
                .col(ColumnDef::new(Reallocations::UnitId).string_len(63).not_null())
                .col(ColumnDef::new(Reallocations::LeadCount).big_integer().not_null())
                .col(ColumnDef::new(Reallocations::BudgetMinor).big_integer().not_null())
                .col(ColumnDef::new(Reallocations::CurrencyCode).string_len(3).not_null())
                .col(ColumnDef::new(Reallocations::Description).text().not_null())
                .col(ColumnDef::new(Reallocations::ApprovedBy).string_len(512).not_null())
                .col(ColumnDef::new(Reallocations::CreatedAt).timestamp_with_time_zone().not_null())
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_reallocations_review")
                .table(Reallocations::Table)
                .col(Reallocations::ReviewId)
                .to_owned(),
        )
        .await
    }
}
