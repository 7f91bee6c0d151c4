//! When each region's monthly review was closed, as the review service
//! reports it (`RecordReviewClose`): what a region's missed review is
//! judged from, so the alert evaluator never calls review (review calls
//! tracking; the call graph keeps no cycle).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ReviewCloses {
    Table,
    UnitId,
    Month,
    ClosedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ReviewCloses::Table)
                .col(ColumnDef::new(ReviewCloses::UnitId).string().not_null())
                .col(ColumnDef::new(ReviewCloses::Month).string().not_null())
                .col(ColumnDef::new(ReviewCloses::ClosedAt).timestamp_with_time_zone().not_null())
                .primary_key(Index::create().col(ReviewCloses::UnitId).col(ReviewCloses::Month))
                .to_owned(),
        )
        .await
    }
}
