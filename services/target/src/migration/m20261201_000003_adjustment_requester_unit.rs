//! The unit the requester acted for: approval must come from a manager
//! strictly above it (a second manager of the same unit is a peer). Rows
//! from before hold '' and, like an admin's request, need an admin.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Adjustments {
    Table,
    RequesterUnit,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let mut c = ColumnDef::new(Adjustments::RequesterUnit).string().not_null().default("").to_owned();
        m.alter_table(Table::alter().table(Adjustments::Table).add_column(&mut c).to_owned()).await
    }
}
