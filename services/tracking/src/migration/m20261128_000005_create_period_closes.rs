//! Closed periods: each unit's frozen figures for a period, one row per
//! (period, unit) — a unit is closed once, by itself or an ancestor.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PeriodCloseLines {
    Table,
    Period,
    UnitId,
    UnitPath,
    ClosedUnder,
    ClosedBy,
    ClosedAt,
    TargetMinor,
    OriginalTargetMinor,
    ActualMinor,
    DealsWon,
    AttainmentRate,
    Status,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use PeriodCloseLines as L;
        m.create_table(
            Table::create()
                .table(L::Table)
                .col(ColumnDef::new(L::Period).string().not_null())
                .col(ColumnDef::new(L::UnitId).string().not_null())
                .col(ColumnDef::new(L::UnitPath).string().not_null())
                .col(ColumnDef::new(L::ClosedUnder).string().not_null())
                .col(ColumnDef::new(L::ClosedBy).string().not_null())
                .col(ColumnDef::new(L::ClosedAt).timestamp_with_time_zone().not_null())
                .col(ColumnDef::new(L::TargetMinor).big_integer().not_null())
                .col(ColumnDef::new(L::OriginalTargetMinor).big_integer().not_null())
                .col(ColumnDef::new(L::ActualMinor).big_integer().not_null())
                .col(ColumnDef::new(L::DealsWon).big_integer().not_null())
                .col(ColumnDef::new(L::AttainmentRate).string().not_null())
                .col(ColumnDef::new(L::Status).string().not_null())
                .primary_key(Index::create().col(L::Period).col(L::UnitId))
                .to_owned(),
        )
        .await
    }
}
