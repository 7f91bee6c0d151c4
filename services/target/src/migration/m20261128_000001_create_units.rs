//! Units of the org tree and their revisions.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Units {
    Table,
    Id,
    ParentId,
    ParentKey,
    Kind,
    DisplayName,
    NameKey,
    Manager,
    Seniority,
    StartDate,
    RegionMaturity,
    Path,
    Depth,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum UnitRevisions {
    Table,
    Id,
    UnitId,
    Change,
    Snapshot,
    Actor,
    ChangedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Units::Table)
                    .col(ColumnDef::new(Units::Id).string_len(63).not_null().primary_key())
                    .col(ColumnDef::new(Units::ParentId).string_len(63).null())
                    // '' for roots, so the sibling-name index also covers roots.
                    .col(ColumnDef::new(Units::ParentKey).string_len(63).not_null())
                    .col(ColumnDef::new(Units::Kind).string_len(16).not_null())
                    .col(ColumnDef::new(Units::DisplayName).string_len(400).not_null())
                    .col(ColumnDef::new(Units::NameKey).string_len(400).not_null())
                    .col(ColumnDef::new(Units::Manager).string_len(512).not_null())
                    .col(ColumnDef::new(Units::Seniority).string_len(16).null())
                    .col(ColumnDef::new(Units::StartDate).date().null())
                    .col(ColumnDef::new(Units::RegionMaturity).string_len(16).null())
                    // "/root/…/self/": subtree = prefix match.
                    .col(ColumnDef::new(Units::Path).text().not_null())
                    .col(ColumnDef::new(Units::Depth).integer().not_null())
                    .col(ColumnDef::new(Units::Version).big_integer().not_null())
                    .col(ColumnDef::new(Units::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(Units::UpdatedAt).timestamp_with_time_zone().not_null())
                    .foreign_key(ForeignKey::create().from(Units::Table, Units::ParentId).to(Units::Table, Units::Id))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_units_sibling_name")
                    .table(Units::Table)
                    .col(Units::ParentKey)
                    .col(Units::NameKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_units_parent")
                    .table(Units::Table)
                    .col(Units::ParentKey)
                    .col(Units::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(Index::create().name("ix_units_path").table(Units::Table).col(Units::Path).to_owned())
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(UnitRevisions::Table)
                    .col(ColumnDef::new(UnitRevisions::Id).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(UnitRevisions::UnitId).string_len(63).not_null())
                    .col(ColumnDef::new(UnitRevisions::Change).string_len(16).not_null())
                    .col(ColumnDef::new(UnitRevisions::Snapshot).text().not_null())
                    .col(ColumnDef::new(UnitRevisions::Actor).string_len(512).not_null())
                    .col(ColumnDef::new(UnitRevisions::ChangedAt).timestamp_with_time_zone().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(UnitRevisions::Table, UnitRevisions::UnitId)
                            .to(Units::Table, Units::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_unit_revisions_unit")
                    .table(UnitRevisions::Table)
                    .col(UnitRevisions::UnitId)
                    .col(UnitRevisions::Id)
                    .to_owned(),
            )
            .await
    }
}
