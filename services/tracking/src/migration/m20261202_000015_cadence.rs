//! What the reporting cadence reads. When a gap analysis was first
//! written: a team's weekly summary is on time by its first submission,
//! not its latest edit (rows written before keep their latest time, the
//! best that is known of them). Daily logs by rep and day, with their
//! time: each rep's first log of each day, without visiting the logs.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum GapAnalyses {
    Table,
    SubmittedAt,
}

#[derive(DeriveIden)]
enum DailyLogs {
    Table,
    RepId,
    LogDate,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let mut c = ColumnDef::new(GapAnalyses::SubmittedAt).timestamp_with_time_zone().null().to_owned();
        m.alter_table(Table::alter().table(GapAnalyses::Table).add_column(&mut c).to_owned()).await?;
        m.get_connection().execute_unprepared("UPDATE gap_analyses SET submitted_at = updated_at").await?;
        m.create_index(
            Index::create()
                .name("ix_daily_logs_rep_date")
                .table(DailyLogs::Table)
                .col(DailyLogs::RepId)
                .col(DailyLogs::LogDate)
                .col(DailyLogs::CreatedAt)
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}
