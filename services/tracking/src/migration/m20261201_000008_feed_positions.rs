//! Feeds in commit order: each feed's rows take their ids from a counter
//! row updated at the end of the writing transaction. The row lock is held
//! until commit, so ids are handed out in commit order and a reader of
//! `id > last` can never see a later id before an earlier one commits.
//! (A sequence hands ids out at INSERT: a row that commits late was
//! skipped for good — DESIGN §3 Change feeds.)

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum FeedPositions {
    Table,
    Feed,
    Last,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(FeedPositions::Table)
                .col(ColumnDef::new(FeedPositions::Feed).string().not_null().primary_key())
                .col(ColumnDef::new(FeedPositions::Last).big_integer().not_null())
                .to_owned(),
        )
        .await?;
        let db = m.get_connection();
        for feed in ["rollup_changes", "alert_events"] {
            db.execute_unprepared(&format!(
                "INSERT INTO feed_positions (feed, last) SELECT '{feed}', COALESCE(MAX(id), 0) FROM {feed}"
            ))
            .await?;
        }
        Ok(())
    }
}
