//! A rep's employee code: how sheets name people besides their unit id.
//! Unique where set (NULLs are distinct in both stores).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Units {
    Table,
    EmployeeCode,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Units::Table)
                .add_column(ColumnDef::new(Units::EmployeeCode).string().null())
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("units_employee_code")
                .table(Units::Table)
                .col(Units::EmployeeCode)
                .unique()
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name("units_employee_code").table(Units::Table).to_owned()).await?;
        m.alter_table(Table::alter().table(Units::Table).drop_column(Units::EmployeeCode).to_owned()).await
    }
}
