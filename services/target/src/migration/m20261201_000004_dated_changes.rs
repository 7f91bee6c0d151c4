//! Changes that take effect from a date: a target's first day (a rep hired
//! mid-year) and its dated changes after publication; an adjustment's
//! effective date; a unit's last day.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Targets {
    Table,
    StartDate,
    Schedule,
}

#[derive(DeriveIden)]
enum Adjustments {
    Table,
    EffectiveDate,
    SuccessorId,
    ReleaseRemaining,
}

#[derive(DeriveIden)]
enum Units {
    Table,
    EndDate,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one at a time.
        m.alter_table(
            Table::alter()
                .table(Targets::Table)
                .add_column(ColumnDef::new(Targets::StartDate).date().null())
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter().table(Targets::Table).add_column(ColumnDef::new(Targets::Schedule).text().null()).to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Adjustments::Table)
                .add_column(ColumnDef::new(Adjustments::EffectiveDate).date().null())
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Adjustments::Table)
                .add_column(ColumnDef::new(Adjustments::SuccessorId).string().null())
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Adjustments::Table)
                .add_column(ColumnDef::new(Adjustments::ReleaseRemaining).boolean().not_null().default(false))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter().table(Units::Table).add_column(ColumnDef::new(Units::EndDate).date().null()).to_owned(),
        )
        .await
    }
}
