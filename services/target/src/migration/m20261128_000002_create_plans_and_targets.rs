//! Plans, targets, target revisions and adjustments. Money columns are
//! BIGINT minor units (×10⁴), exact on SQLite and PostgreSQL alike.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Plans {
    Table,
    Id,
    DisplayName,
    TopUnit,
    FiscalYear,
    FiscalStartMonth,
    CurrencyCode,
    BaseMinor,
    GrowthRate,
    Config,
    State,
    Version,
    CreatedAt,
    UpdatedAt,
    PublishedAt,
}

#[derive(DeriveIden)]
enum Targets {
    Table,
    PlanId,
    Id,
    UnitId,
    ProductLine,
    CustomerType,
    AmountMinor,
    OriginalMinor,
    ParentId,
    Phasing,
    Milestones,
    Coverage,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum TargetRevisions {
    Table,
    Id,
    PlanId,
    TargetId,
    Change,
    BeforeMinor,
    AfterMinor,
    Actor,
    Reason,
    AdjustmentId,
    ChangedAt,
}

#[derive(DeriveIden)]
enum Adjustments {
    Table,
    PlanId,
    Id,
    TargetId,
    NewAmountMinor,
    ChangePercent,
    Reason,
    Justification,
    Redistribution,
    State,
    Requester,
    DecidedBy,
    DecisionNote,
    BeforeMinor,
    AfterMinor,
    TargetVersion,
    Version,
    CreatedAt,
    DecidedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Plans::Table)
                .col(ColumnDef::new(Plans::Id).string_len(63).not_null().primary_key())
                .col(ColumnDef::new(Plans::DisplayName).string_len(400).not_null())
                .col(ColumnDef::new(Plans::TopUnit).string_len(63).not_null())
                .col(ColumnDef::new(Plans::FiscalYear).integer().not_null())
                .col(ColumnDef::new(Plans::FiscalStartMonth).integer().not_null())
                .col(ColumnDef::new(Plans::CurrencyCode).string_len(3).not_null())
                .col(ColumnDef::new(Plans::BaseMinor).big_integer().not_null())
                .col(ColumnDef::new(Plans::GrowthRate).string_len(40).not_null())
                .col(ColumnDef::new(Plans::Config).text().not_null())
                .col(ColumnDef::new(Plans::State).string_len(16).not_null())
                .col(ColumnDef::new(Plans::Version).big_integer().not_null())
                .col(ColumnDef::new(Plans::CreatedAt).timestamp_with_time_zone().not_null())
                .col(ColumnDef::new(Plans::UpdatedAt).timestamp_with_time_zone().not_null())
                .col(ColumnDef::new(Plans::PublishedAt).timestamp_with_time_zone().null())
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("ix_plans_year").table(Plans::Table).col(Plans::FiscalYear).col(Plans::Id).to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Targets::Table)
                .col(ColumnDef::new(Targets::PlanId).string_len(63).not_null())
                .col(ColumnDef::new(Targets::Id).string_len(63).not_null())
                .col(ColumnDef::new(Targets::UnitId).string_len(63).not_null())
                .col(ColumnDef::new(Targets::ProductLine).string_len(200).not_null())
                .col(ColumnDef::new(Targets::CustomerType).string_len(200).not_null())
                .col(ColumnDef::new(Targets::AmountMinor).big_integer().not_null())
                .col(ColumnDef::new(Targets::OriginalMinor).big_integer().not_null())
                .col(ColumnDef::new(Targets::ParentId).string_len(63).null())
                .col(ColumnDef::new(Targets::Phasing).text().null())
                .col(ColumnDef::new(Targets::Milestones).text().null())
                .col(ColumnDef::new(Targets::Coverage).text().null())
                .col(ColumnDef::new(Targets::Version).big_integer().not_null())
                .col(ColumnDef::new(Targets::CreatedAt).timestamp_with_time_zone().not_null())
                .col(ColumnDef::new(Targets::UpdatedAt).timestamp_with_time_zone().not_null())
                .primary_key(Index::create().col(Targets::PlanId).col(Targets::Id))
                .foreign_key(ForeignKey::create().from(Targets::Table, Targets::PlanId).to(Plans::Table, Plans::Id))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_targets_unit_slice")
                .table(Targets::Table)
                .col(Targets::PlanId)
                .col(Targets::UnitId)
                .col(Targets::ProductLine)
                .col(Targets::CustomerType)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_targets_parent")
                .table(Targets::Table)
                .col(Targets::PlanId)
                .col(Targets::ParentId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(TargetRevisions::Table)
                .col(ColumnDef::new(TargetRevisions::Id).big_integer().not_null().auto_increment().primary_key())
                .col(ColumnDef::new(TargetRevisions::PlanId).string_len(63).not_null())
                .col(ColumnDef::new(TargetRevisions::TargetId).string_len(63).not_null())
                .col(ColumnDef::new(TargetRevisions::Change).string_len(16).not_null())
                .col(ColumnDef::new(TargetRevisions::BeforeMinor).big_integer().null())
                .col(ColumnDef::new(TargetRevisions::AfterMinor).big_integer().not_null())
                .col(ColumnDef::new(TargetRevisions::Actor).string_len(512).not_null())
                .col(ColumnDef::new(TargetRevisions::Reason).text().not_null())
                .col(ColumnDef::new(TargetRevisions::AdjustmentId).string_len(63).null())
                .col(ColumnDef::new(TargetRevisions::ChangedAt).timestamp_with_time_zone().not_null())
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_target_revisions_target")
                .table(TargetRevisions::Table)
                .col(TargetRevisions::PlanId)
                .col(TargetRevisions::TargetId)
                .col(TargetRevisions::Id)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Adjustments::Table)
                .col(ColumnDef::new(Adjustments::PlanId).string_len(63).not_null())
                .col(ColumnDef::new(Adjustments::Id).string_len(63).not_null())
                .col(ColumnDef::new(Adjustments::TargetId).string_len(63).not_null())
                .col(ColumnDef::new(Adjustments::NewAmountMinor).big_integer().null())
                .col(ColumnDef::new(Adjustments::ChangePercent).string_len(40).null())
                .col(ColumnDef::new(Adjustments::Reason).string_len(16).not_null())
                .col(ColumnDef::new(Adjustments::Justification).text().not_null())
                .col(ColumnDef::new(Adjustments::Redistribution).string_len(16).not_null())
                .col(ColumnDef::new(Adjustments::State).string_len(16).not_null())
                .col(ColumnDef::new(Adjustments::Requester).string_len(512).not_null())
                .col(ColumnDef::new(Adjustments::DecidedBy).string_len(512).not_null())
                .col(ColumnDef::new(Adjustments::DecisionNote).text().not_null())
                .col(ColumnDef::new(Adjustments::BeforeMinor).big_integer().not_null())
                .col(ColumnDef::new(Adjustments::AfterMinor).big_integer().not_null())
                .col(ColumnDef::new(Adjustments::TargetVersion).big_integer().not_null())
                .col(ColumnDef::new(Adjustments::Version).big_integer().not_null())
                .col(ColumnDef::new(Adjustments::CreatedAt).timestamp_with_time_zone().not_null())
                .col(ColumnDef::new(Adjustments::DecidedAt).timestamp_with_time_zone().null())
                .primary_key(Index::create().col(Adjustments::PlanId).col(Adjustments::Id))
                .to_owned(),
        )
        .await
    }
}
