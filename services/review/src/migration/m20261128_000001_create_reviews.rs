//! Reviews, their causes and action items.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Reviews {
    Table,
    Id,
    UnitId,
    UnitPath,
    Plan,
    Period,
    FiscalStartMonth,
    PeriodStart,
    Cadence,
    State,
    Brief,
    TopReasons,
    OpenKey,
    CreatedBy,
    Version,
    CreatedAt,
    ClosedAt,
}

#[derive(DeriveIden)]
enum Causes {
    Table,
    Id,
    ReviewId,
    UnitId,
    Subjective,
    Kind,
    Body,
    Author,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ActionItems {
    Table,
    Id,
    ReviewId,
    Owner,
    Body,
    DueDate,
    Status,
    CauseId,
    CarriedFrom,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Reviews::Table)
                .col(ColumnDef::new(Reviews::Id).string_len(63).not_null().primary_key())
                .col(ColumnDef::new(Reviews::UnitId).string_len(63).not_null())
                .col(ColumnDef::new(Reviews::UnitPath).text().not_null())
                .col(ColumnDef::new(Reviews::Plan).string_len(100).not_null())
                .col(ColumnDef::new(Reviews::Period).string_len(64).not_null())
                .col(ColumnDef::new(Reviews::FiscalStartMonth).integer().not_null())
                .col(ColumnDef::new(Reviews::PeriodStart).date().not_null())
                .col(ColumnDef::new(Reviews::Cadence).string_len(16).not_null())
                .col(ColumnDef::new(Reviews::State).string_len(16).not_null())
                .col(ColumnDef::new(Reviews::Brief).text().not_null())
                .col(ColumnDef::new(Reviews::TopReasons).text().not_null())
                // unit|period while open: one open review per unit and period.
                .col(ColumnDef::new(Reviews::OpenKey).string_len(200).null().unique_key())
                .col(ColumnDef::new(Reviews::CreatedBy).string_len(512).not_null())
                .col(ColumnDef::new(Reviews::Version).big_integer().not_null())
                .col(ColumnDef::new(Reviews::CreatedAt).timestamp_with_time_zone().not_null())
                .col(ColumnDef::new(Reviews::ClosedAt).timestamp_with_time_zone().null())
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_reviews_unit")
                .table(Reviews::Table)
                .col(Reviews::UnitId)
                .col(Reviews::PeriodStart)
                .to_owned(),
        )
        .await?;
        m.create_index(Index::create().name("ix_reviews_path").table(Reviews::Table).col(Reviews::UnitPath).to_owned())
            .await?;
        m.create_table(
            Table::create()
                .table(Causes::Table)
                .col(ColumnDef::new(Causes::Id).string_len(63).not_null().primary_key())
                .col(ColumnDef::new(Causes::ReviewId).string_len(63).not_null())
                .col(ColumnDef::new(Causes::UnitId).string_len(63).not_null())
                .col(ColumnDef::new(Causes::Subjective).boolean().not_null())
                .col(ColumnDef::new(Causes::Kind).string_len(32).not_null())
                .col(ColumnDef::new(Causes::Body).text().not_null())
                .col(ColumnDef::new(Causes::Author).string_len(512).not_null())
                .col(ColumnDef::new(Causes::CreatedAt).timestamp_with_time_zone().not_null())
                .foreign_key(ForeignKey::create().from(Causes::Table, Causes::ReviewId).to(Reviews::Table, Reviews::Id))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_causes_review")
                .table(Causes::Table)
                .col(Causes::ReviewId)
                .col(Causes::Id)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ActionItems::Table)
                .col(ColumnDef::new(ActionItems::Id).string_len(63).not_null().primary_key())
                .col(ColumnDef::new(ActionItems::ReviewId).string_len(63).not_null())
                .col(ColumnDef::new(ActionItems::Owner).string_len(512).not_null())
                .col(ColumnDef::new(ActionItems::Body).text().not_null())
                .col(ColumnDef::new(ActionItems::DueDate).date().not_null())
                .col(ColumnDef::new(ActionItems::Status).string_len(16).not_null())
                .col(ColumnDef::new(ActionItems::CauseId).string_len(63).null())
                .col(ColumnDef::new(ActionItems::CarriedFrom).string_len(63).null())
                .col(ColumnDef::new(ActionItems::Version).big_integer().not_null())
                .col(ColumnDef::new(ActionItems::CreatedAt).timestamp_with_time_zone().not_null())
                .col(ColumnDef::new(ActionItems::UpdatedAt).timestamp_with_time_zone().not_null())
                .foreign_key(
                    ForeignKey::create()
                        .from(ActionItems::Table, ActionItems::ReviewId)
                        .to(Reviews::Table, Reviews::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_action_items_review")
                .table(ActionItems::Table)
                .col(ActionItems::ReviewId)
                .col(ActionItems::Id)
                .to_owned(),
        )
        .await
    }
}
