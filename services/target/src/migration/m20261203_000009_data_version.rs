//! One version for everything the service answers from, grown by the
//! database itself in every transaction that writes a table: clients keep
//! answers under the version they read them at (`GetDataVersion`), so a
//! write path cannot forget to say it wrote. On PostgreSQL the bump is a
//! deferred trigger, once per transaction at commit, so the one row is
//! locked only while committing (never held across a transaction's other
//! writes: no deadlock with them); SQLite has one writer and bumps per row.

use sea_orm::{ConnectionTrait, DbBackend, Statement};
use sea_orm_migration::prelude::*;

use crate::storage::data_version::{TABLE, UNVERSIONED};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The tables of this schema (every table there is but those not answered from).
async fn versioned_tables(m: &SchemaManager<'_>) -> Result<Vec<String>, DbErr> {
    let db = m.get_connection();
    let sql = match m.get_database_backend() {
        DbBackend::Postgres => {
            "SELECT table_name AS name FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        }
        _ => "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    };
    let rows = db.query_all_raw(Statement::from_string(m.get_database_backend(), sql)).await?;
    let mut names = Vec::new();
    for r in rows {
        let name: String = r.try_get("", "name")?;
        if !UNVERSIONED.contains(&name.as_str()) && name != TABLE {
            names.push(name);
        }
    }
    Ok(names)
}

/// The statements that make a write to `table` grow the version.
pub(crate) fn triggers(backend: DbBackend, table: &str) -> Vec<String> {
    match backend {
        DbBackend::Postgres => vec![format!(
            "CREATE CONSTRAINT TRIGGER \"{table}_data_version\" AFTER INSERT OR UPDATE OR DELETE ON \"{table}\" \
             DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION attain_bump_data_version()"
        )],
        _ => ["INSERT", "UPDATE", "DELETE"]
            .iter()
            .map(|op| {
                format!(
                    "CREATE TRIGGER \"{table}_data_version_{}\" AFTER {op} ON \"{table}\" BEGIN \
                     UPDATE {TABLE} SET version = version + 1 WHERE id = 1; END",
                    op.to_lowercase()
                )
            })
            .collect(),
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        let backend = m.get_database_backend();
        db.execute_unprepared(&format!("CREATE TABLE {TABLE} (id INTEGER PRIMARY KEY, version BIGINT NOT NULL)"))
            .await?;
        db.execute_unprepared(&format!("INSERT INTO {TABLE} (id, version) VALUES (1, 1)")).await?;
        if backend == DbBackend::Postgres {
            // Once per transaction: the first row written marks it.
            db.execute_unprepared(&format!(
                "CREATE FUNCTION attain_bump_data_version() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN \
                   IF coalesce(current_setting('attain.data_version_bumped', true), '') <> '1' THEN \
                     UPDATE {TABLE} SET version = version + 1 WHERE id = 1; \
                     PERFORM set_config('attain.data_version_bumped', '1', true); \
                   END IF; \
                   RETURN NULL; \
                 END $$"
            ))
            .await?;
        }
        for table in versioned_tables(m).await? {
            for sql in triggers(backend, &table) {
                db.execute_unprepared(&sql).await?;
            }
        }
        Ok(())
    }
}
