//! Moves that take effect from a date: a target's moves between parents
//! (and every parent it ever had, to find its figures from each), a unit's
//! former places in the tree with their last days.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Targets {
    Table,
    Moves,
}

#[derive(DeriveIden)]
enum Adjustments {
    Table,
    Ramp,
}

#[derive(DeriveIden)]
enum TargetLinks {
    Table,
    PlanId,
    ParentId,
    ChildId,
}

#[derive(DeriveIden)]
enum Units {
    Table,
    Former,
}

#[derive(DeriveIden)]
enum UnitMoves {
    Table,
    Id,
    UnitId,
    EffectiveDate,
    OldPath,
    NewPath,
    RecordedAt,
}

#[derive(DeriveIden)]
enum UnitPlaces {
    Table,
    UnitId,
    Until,
    Path,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter().table(Targets::Table).add_column(ColumnDef::new(Targets::Moves).text().null()).to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter().table(Units::Table).add_column(ColumnDef::new(Units::Former).text().null()).to_owned(),
        )
        .await?;
        // A new hire's ramp asked with its first target (JSON percentages).
        m.alter_table(
            Table::alter()
                .table(Adjustments::Table)
                .add_column(ColumnDef::new(Adjustments::Ramp).text().null())
                .to_owned(),
        )
        .await?;
        // Every move in commit order (moves serialize on a lock), for the
        // services that book by place to follow.
        m.create_table(
            Table::create()
                .table(UnitMoves::Table)
                .col(ColumnDef::new(UnitMoves::Id).big_integer().not_null().auto_increment().primary_key())
                .col(ColumnDef::new(UnitMoves::UnitId).string().not_null())
                .col(ColumnDef::new(UnitMoves::EffectiveDate).date().not_null())
                .col(ColumnDef::new(UnitMoves::OldPath).string().not_null())
                .col(ColumnDef::new(UnitMoves::NewPath).string().not_null())
                .col(ColumnDef::new(UnitMoves::RecordedAt).timestamp_with_time_zone().not_null())
                .to_owned(),
        )
        .await?;
        // Each former place's path (root first, the unit last): finds the
        // units that once sat below a unit.
        m.create_table(
            Table::create()
                .table(UnitPlaces::Table)
                .col(ColumnDef::new(UnitPlaces::UnitId).string().not_null())
                .col(ColumnDef::new(UnitPlaces::Until).date().not_null())
                .col(ColumnDef::new(UnitPlaces::Path).string().not_null())
                .primary_key(Index::create().col(UnitPlaces::UnitId).col(UnitPlaces::Until))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("ix_unit_places_path").table(UnitPlaces::Table).col(UnitPlaces::Path).to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(TargetLinks::Table)
                .col(ColumnDef::new(TargetLinks::PlanId).string().not_null())
                .col(ColumnDef::new(TargetLinks::ParentId).string().not_null())
                .col(ColumnDef::new(TargetLinks::ChildId).string().not_null())
                .primary_key(
                    Index::create().col(TargetLinks::PlanId).col(TargetLinks::ParentId).col(TargetLinks::ChildId),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(TargetLinks::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(UnitPlaces::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(UnitMoves::Table).to_owned()).await?;
        m.alter_table(Table::alter().table(Units::Table).drop_column(Units::Former).to_owned()).await?;
        m.alter_table(Table::alter().table(Adjustments::Table).drop_column(Adjustments::Ramp).to_owned()).await?;
        m.alter_table(Table::alter().table(Targets::Table).drop_column(Targets::Moves).to_owned()).await
    }
}
