//! The data version (`data_version`, one row): grown by the database's own
//! triggers in every transaction that writes a table of this schema
//! (migration `m20261203_000009_data_version`).

use attain_kit::ServiceError;
use sea_orm::{ConnectionTrait, Statement};

pub const TABLE: &str = "data_version";

/// Tables whose rows no answer is made of: the migration ledger and the
/// request ids of writes (each such write also writes a versioned table).
pub const UNVERSIONED: &[&str] = &["seaql_migrations", "idempotency_keys"];

/// The version now: every write committed before this read has grown it.
pub async fn current(db: &impl ConnectionTrait) -> Result<i64, ServiceError> {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT version FROM {TABLE} WHERE id = 1"),
        ))
        .await?
        .ok_or_else(|| ServiceError::corrupt("data_version", "no row"))?;
    Ok(row.try_get("", "version")?)
}
