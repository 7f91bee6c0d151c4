//! Leases: which replica does a job that must run once per deployment
//! (the scheduled alert pass), held for a while and renewed; a replica
//! that dies lets its lease run out and another takes the job.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Leases {
    Table,
    Name,
    Holder,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Leases::Table)
                .col(ColumnDef::new(Leases::Name).string().not_null().primary_key())
                .col(ColumnDef::new(Leases::Holder).string().not_null())
                .col(ColumnDef::new(Leases::ExpiresAt).big_integer().not_null())
                .to_owned(),
        )
        .await
    }
}
