//! Deals, daily roll-ups and alerts. Money is BIGINT minor units (×10⁴).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Deals {
    Table,
    Id,
    RepId,
    AmountMinor,
    CurrencyCode,
    CloseDate,
    Customer,
    ProductLine,
    CustomerType,
    Opportunity,
    Kind,
    Reverses,
    ReversedBy,
    BookedPath,
    RequestId,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Rollups {
    Table,
    UnitId,
    Day,
    ProductLine,
    CustomerType,
    AmountMinor,
    DealsWon,
}

#[derive(DeriveIden)]
enum Alerts {
    Table,
    Id,
    UnitId,
    UnitPath,
    Period,
    Rule,
    State,
    Severity,
    Message,
    ActualMinor,
    ExpectedMinor,
    AcknowledgedBy,
    OpenKey,
    OpenedAt,
    AcknowledgedAt,
    ResolvedAt,
    Version,
}

#[derive(DeriveIden)]
enum AlertEvents {
    Table,
    Id,
    AlertId,
    UnitPath,
    Snapshot,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Deals::Table)
                .col(ColumnDef::new(Deals::Id).string_len(63).not_null().primary_key())
                .col(ColumnDef::new(Deals::RepId).string_len(63).not_null())
                .col(ColumnDef::new(Deals::AmountMinor).big_integer().not_null())
                .col(ColumnDef::new(Deals::CurrencyCode).string_len(3).not_null())
                .col(ColumnDef::new(Deals::CloseDate).date().not_null())
                .col(ColumnDef::new(Deals::Customer).string_len(800).not_null())
                .col(ColumnDef::new(Deals::ProductLine).string_len(800).not_null())
                .col(ColumnDef::new(Deals::CustomerType).string_len(800).not_null())
                .col(ColumnDef::new(Deals::Opportunity).string_len(200).not_null())
                .col(ColumnDef::new(Deals::Kind).string_len(16).not_null())
                .col(ColumnDef::new(Deals::Reverses).string_len(63).null().unique_key())
                .col(ColumnDef::new(Deals::ReversedBy).string_len(63).null())
                .col(ColumnDef::new(Deals::BookedPath).text().not_null())
                .col(ColumnDef::new(Deals::RequestId).string_len(128).not_null())
                .col(ColumnDef::new(Deals::CreatedBy).string_len(512).not_null())
                .col(ColumnDef::new(Deals::CreatedAt).timestamp_with_time_zone().not_null())
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_deals_path_date")
                .table(Deals::Table)
                .col(Deals::BookedPath)
                .col(Deals::CloseDate)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_deals_rep_date")
                .table(Deals::Table)
                .col(Deals::RepId)
                .col(Deals::CloseDate)
                .to_owned(),
        )
        .await?;

        // One row per unit (the rep and every ancestor when booked), day and
        // slice: a subtree's period actual is a sum over days, whatever the
        // number of deals.
        m.create_table(
            Table::create()
                .table(Rollups::Table)
                .col(ColumnDef::new(Rollups::UnitId).string_len(63).not_null())
                .col(ColumnDef::new(Rollups::Day).date().not_null())
                .col(ColumnDef::new(Rollups::ProductLine).string_len(800).not_null())
                .col(ColumnDef::new(Rollups::CustomerType).string_len(800).not_null())
                .col(ColumnDef::new(Rollups::AmountMinor).big_integer().not_null())
                .col(ColumnDef::new(Rollups::DealsWon).big_integer().not_null())
                .primary_key(
                    Index::create()
                        .col(Rollups::UnitId)
                        .col(Rollups::Day)
                        .col(Rollups::ProductLine)
                        .col(Rollups::CustomerType),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Alerts::Table)
                .col(ColumnDef::new(Alerts::Id).string_len(63).not_null().primary_key())
                .col(ColumnDef::new(Alerts::UnitId).string_len(63).not_null())
                .col(ColumnDef::new(Alerts::UnitPath).text().not_null())
                .col(ColumnDef::new(Alerts::Period).string_len(64).not_null())
                .col(ColumnDef::new(Alerts::Rule).string_len(32).not_null())
                .col(ColumnDef::new(Alerts::State).string_len(16).not_null())
                .col(ColumnDef::new(Alerts::Severity).string_len(16).not_null())
                .col(ColumnDef::new(Alerts::Message).text().not_null())
                .col(ColumnDef::new(Alerts::ActualMinor).big_integer().not_null())
                .col(ColumnDef::new(Alerts::ExpectedMinor).big_integer().not_null())
                .col(ColumnDef::new(Alerts::AcknowledgedBy).string_len(512).not_null())
                // unit|period|rule while not resolved, NULL after: at most one live alert.
                .col(ColumnDef::new(Alerts::OpenKey).string_len(300).null().unique_key())
                .col(ColumnDef::new(Alerts::OpenedAt).timestamp_with_time_zone().not_null())
                .col(ColumnDef::new(Alerts::AcknowledgedAt).timestamp_with_time_zone().null())
                .col(ColumnDef::new(Alerts::ResolvedAt).timestamp_with_time_zone().null())
                .col(ColumnDef::new(Alerts::Version).big_integer().not_null())
                .to_owned(),
        )
        .await?;
        m.create_index(Index::create().name("ix_alerts_path").table(Alerts::Table).col(Alerts::UnitPath).to_owned())
            .await?;

        // The change feed Watch reads: every replica sees every change.
        m.create_table(
            Table::create()
                .table(AlertEvents::Table)
                .col(ColumnDef::new(AlertEvents::Id).big_integer().not_null().auto_increment().primary_key())
                .col(ColumnDef::new(AlertEvents::AlertId).string_len(63).not_null())
                .col(ColumnDef::new(AlertEvents::UnitPath).text().not_null())
                .col(ColumnDef::new(AlertEvents::Snapshot).text().not_null())
                .col(ColumnDef::new(AlertEvents::CreatedAt).timestamp_with_time_zone().not_null())
                .to_owned(),
        )
        .await
    }
}
