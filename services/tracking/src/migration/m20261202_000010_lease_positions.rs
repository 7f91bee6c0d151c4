//! A lease carries its job's position in a feed (the alert evaluator's in
//! `rollup_changes`): only the holder moves it, so a replica that lost the
//! lease mid-pass cannot move it back or skip ahead. The evaluator's
//! position starts at the feed's end when this migration runs (an existing
//! deployment's history is the scheduled pass's), so on a new database at 0:
//! no change committed after the migration is ever skipped.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Leases {
    Table,
    Position,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Leases::Table)
                .add_column(ColumnDef::new(Leases::Position).big_integer().null())
                .to_owned(),
        )
        .await?;
        m.get_connection()
            .execute_unprepared(
                "INSERT INTO leases (name, holder, expires_at, position) \
                 SELECT 'alert-evaluator', '', 0, COALESCE(MAX(id), 0) FROM rollup_changes",
            )
            .await?;
        Ok(())
    }
}
