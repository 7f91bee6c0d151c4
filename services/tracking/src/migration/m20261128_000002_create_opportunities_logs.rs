//! Opportunities, daily logs, loss roll-ups and gap analyses.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Opportunities {
    Table,
    Id,
    RepId,
    BookedPath,
    Customer,
    ProductLine,
    CustomerType,
    Stage,
    Outcome,
    ExpectedMinor,
    CurrencyCode,
    CloseDate,
    LossReason,
    LossDetail,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum DailyLogs {
    Table,
    Id,
    RepId,
    BookedPath,
    LogDate,
    Body,
    FollowUps,
    CreatedAt,
}

#[derive(DeriveIden)]
enum LossRollups {
    Table,
    UnitId,
    Day,
    Reason,
    LostCount,
    LostMinor,
}

#[derive(DeriveIden)]
enum GapAnalyses {
    Table,
    UnitId,
    Period,
    Body,
    Author,
    Version,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Opportunities::Table)
                .col(ColumnDef::new(Opportunities::Id).string_len(63).not_null().primary_key())
                .col(ColumnDef::new(Opportunities::RepId).string_len(63).not_null())
                .col(ColumnDef::new(Opportunities::BookedPath).text().not_null())
                .col(ColumnDef::new(Opportunities::Customer).string_len(800).not_null())
                .col(ColumnDef::new(Opportunities::ProductLine).string_len(800).not_null())
                .col(ColumnDef::new(Opportunities::CustomerType).string_len(800).not_null())
                .col(ColumnDef::new(Opportunities::Stage).string_len(200).not_null())
                .col(ColumnDef::new(Opportunities::Outcome).string_len(16).not_null())
                .col(ColumnDef::new(Opportunities::ExpectedMinor).big_integer().not_null())
                .col(ColumnDef::new(Opportunities::CurrencyCode).string_len(3).not_null())
                .col(ColumnDef::new(Opportunities::CloseDate).date().null())
                .col(ColumnDef::new(Opportunities::LossReason).string_len(32).not_null())
                .col(ColumnDef::new(Opportunities::LossDetail).text().not_null())
                .col(ColumnDef::new(Opportunities::Version).big_integer().not_null())
                .col(ColumnDef::new(Opportunities::CreatedAt).timestamp_with_time_zone().not_null())
                .col(ColumnDef::new(Opportunities::UpdatedAt).timestamp_with_time_zone().not_null())
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_opportunities_path")
                .table(Opportunities::Table)
                .col(Opportunities::BookedPath)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(DailyLogs::Table)
                .col(ColumnDef::new(DailyLogs::Id).string_len(63).not_null().primary_key())
                .col(ColumnDef::new(DailyLogs::RepId).string_len(63).not_null())
                .col(ColumnDef::new(DailyLogs::BookedPath).text().not_null())
                .col(ColumnDef::new(DailyLogs::LogDate).date().not_null())
                // The log as JSON: follow-ups, amount closed, lost deals, notes.
                .col(ColumnDef::new(DailyLogs::Body).text().not_null())
                .col(ColumnDef::new(DailyLogs::FollowUps).big_integer().not_null())
                .col(ColumnDef::new(DailyLogs::CreatedAt).timestamp_with_time_zone().not_null())
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_daily_logs_path_date")
                .table(DailyLogs::Table)
                .col(DailyLogs::BookedPath)
                .col(DailyLogs::LogDate)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(LossRollups::Table)
                .col(ColumnDef::new(LossRollups::UnitId).string_len(63).not_null())
                .col(ColumnDef::new(LossRollups::Day).date().not_null())
                .col(ColumnDef::new(LossRollups::Reason).string_len(32).not_null())
                .col(ColumnDef::new(LossRollups::LostCount).big_integer().not_null())
                .col(ColumnDef::new(LossRollups::LostMinor).big_integer().not_null())
                .primary_key(Index::create().col(LossRollups::UnitId).col(LossRollups::Day).col(LossRollups::Reason))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(GapAnalyses::Table)
                .col(ColumnDef::new(GapAnalyses::UnitId).string_len(63).not_null())
                .col(ColumnDef::new(GapAnalyses::Period).string_len(64).not_null())
                .col(ColumnDef::new(GapAnalyses::Body).text().not_null())
                .col(ColumnDef::new(GapAnalyses::Author).string_len(512).not_null())
                .col(ColumnDef::new(GapAnalyses::Version).big_integer().not_null())
                .col(ColumnDef::new(GapAnalyses::UpdatedAt).timestamp_with_time_zone().not_null())
                .primary_key(Index::create().col(GapAnalyses::UnitId).col(GapAnalyses::Period))
                .to_owned(),
        )
        .await
    }
}
