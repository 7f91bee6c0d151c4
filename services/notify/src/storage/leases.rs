//! `leases`: which replica follows the alert feed and sends (the kit's
//! `lease`), and the feed's resume token after the last change consumed.

use attain_kit::ServiceError;
pub use attain_kit::lease::{hold, release};
use sea_orm::{ConnectionTrait, DbBackend, Statement};

/// The resume token `name`'s holder has reached (None: never set).
pub async fn position(db: &impl ConnectionTrait, name: &str) -> Result<Option<String>, ServiceError> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => "SELECT position FROM leases WHERE name = $1",
        _ => "SELECT position FROM leases WHERE name = ?",
    };
    let row = db.query_one_raw(Statement::from_sql_and_values(backend, sql, [name.into()])).await?;
    Ok(match row {
        Some(r) => r.try_get::<Option<String>>("", "position")?,
        None => None,
    })
}

/// Moves `name`'s position to `to` if `holder` still holds the lease;
/// whether it did (a replica that lost the lease moves nothing, and its
/// transaction's deliveries roll back with it).
pub async fn advance(db: &impl ConnectionTrait, name: &str, holder: &str, to: &str) -> Result<bool, ServiceError> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => "UPDATE leases SET position = $1 WHERE name = $2 AND holder = $3",
        _ => "UPDATE leases SET position = ? WHERE name = ? AND holder = ?",
    };
    let values = [to.into(), name.into(), holder.into()];
    Ok(db.execute_raw(Statement::from_sql_and_values(backend, sql, values)).await?.rows_affected() == 1)
}
