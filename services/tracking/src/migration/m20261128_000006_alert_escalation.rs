//! Alert escalation: the day an alert opened, how far up it went, to whom
//! and when. One column per statement: SQLite alters one at a time.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Alerts {
    Table,
    OpenedOn,
    EscalationLevel,
    EscalatedTo,
    EscalatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let columns = [
            ColumnDef::new(Alerts::OpenedOn).date().null().to_owned(),
            ColumnDef::new(Alerts::EscalationLevel).big_integer().not_null().default(0).to_owned(),
            ColumnDef::new(Alerts::EscalatedTo).string().null().to_owned(),
            ColumnDef::new(Alerts::EscalatedAt).timestamp_with_time_zone().null().to_owned(),
        ];
        for mut c in columns {
            m.alter_table(Table::alter().table(Alerts::Table).add_column(&mut c).to_owned()).await?;
        }
        Ok(())
    }
}
