//! A subscription's reason for being suspended (its owner's scope changed),
//! and the index that finds what a subscription was already told of an
//! alert (its resolution reaches whoever heard it opened).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Subscriptions {
    Table,
    StateReason,
}

#[derive(DeriveIden)]
enum Deliveries {
    Table,
    Event,
    SubscriptionId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Subscriptions::Table)
                .add_column(ColumnDef::new(Subscriptions::StateReason).text().not_null().default(""))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_deliveries_event")
                .table(Deliveries::Table)
                .col(Deliveries::Event)
                .col(Deliveries::SubscriptionId)
                .to_owned(),
        )
        .await
    }
}
