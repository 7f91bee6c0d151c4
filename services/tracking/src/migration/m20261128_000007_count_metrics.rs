//! Count metrics: each customer's first won deal (for NEW_CUSTOMERS
//! targets), and the metric an alert is about (amount alerts stay as they
//! were).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CustomerFirsts {
    Table,
    Customer,
    FirstDate,
    BookedPath,
    DealId,
}

#[derive(DeriveIden)]
enum Alerts {
    Table,
    Metric,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use CustomerFirsts as C;
        m.create_table(
            Table::create()
                .table(C::Table)
                .col(ColumnDef::new(C::Customer).string().not_null().primary_key())
                .col(ColumnDef::new(C::FirstDate).date().not_null())
                .col(ColumnDef::new(C::BookedPath).string().not_null())
                .col(ColumnDef::new(C::DealId).string().not_null())
                .to_owned(),
        )
        .await?;
        m.create_index(Index::create().name("customer_firsts_by_date").table(C::Table).col(C::FirstDate).to_owned())
            .await?;
        m.alter_table(
            Table::alter()
                .table(Alerts::Table)
                .add_column(ColumnDef::new(Alerts::Metric).string().not_null().default("AMOUNT"))
                .to_owned(),
        )
        .await
    }
}
