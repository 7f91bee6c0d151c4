//! A subtree's open alerts found by the path prefix through an index on
//! PostgreSQL whatever the database's collation (`create_prefix_index`):
//! a team's dashboard read every open alert of the organisation.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        attain_kit::db::create_prefix_index(m, "ix_alerts_state_path_prefix", ("alerts", &["state"], "unit_path")).await
    }
}
