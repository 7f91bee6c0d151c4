//! A counter of each plan's target writes, bumped first in every
//! transaction that writes one of its targets: the key under which rolled-up
//! figures are kept, read with one primary-key lookup where a COUNT and SUM
//! over the plan's targets grew with the organisation.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Plans {
    Table,
    TargetsSeq,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Plans::Table)
                .add_column(ColumnDef::new(Plans::TargetsSeq).big_integer().not_null().default(0))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table(Plans::Table).drop_column(Plans::TargetsSeq).to_owned()).await
    }
}
