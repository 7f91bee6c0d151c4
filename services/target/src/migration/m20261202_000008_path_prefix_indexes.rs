//! Subtrees found by the path prefix through an index on PostgreSQL
//! whatever the database's collation (`create_prefix_index`): every
//! subtree read scanned all units (51,000 rows for a 50,000-rep company).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        attain_kit::db::create_prefix_index(m, "ix_units_path_prefix", ("units", &[], "path")).await?;
        attain_kit::db::create_prefix_index(m, "ix_unit_places_path_prefix", ("unit_places", &[], "path")).await
    }
}
