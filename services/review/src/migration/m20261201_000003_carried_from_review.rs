//! A carried item names its original in full: the original's review is
//! kept beside its id (rows from before get it from the original), and
//! originals already carried read CARRIED_OVER so no item is open twice.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ActionItems {
    Table,
    CarriedFromReview,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(ActionItems::Table)
                .add_column(ColumnDef::new(ActionItems::CarriedFromReview).string().null())
                .to_owned(),
        )
        .await?;
        let db = m.get_connection();
        db.execute_unprepared(
            "UPDATE action_items SET carried_from_review = \
             (SELECT o.review_id FROM action_items o WHERE o.id = action_items.carried_from) \
             WHERE carried_from IS NOT NULL",
        )
        .await?;
        db.execute_unprepared(
            "UPDATE action_items SET status = 'CARRIED_OVER' \
             WHERE status IN ('OPEN', 'IN_PROGRESS') \
             AND id IN (SELECT carried_from FROM action_items WHERE carried_from IS NOT NULL)",
        )
        .await?;
        Ok(())
    }
}
