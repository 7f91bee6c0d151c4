//! `leases`: one holder per job name until its lease runs out (the kit's
//! `lease`), and the position in a feed its holder has reached.

use attain_kit::ServiceError;
pub use attain_kit::lease::{hold, release};
use sea_orm::{ConnectionTrait, DbBackend, Statement};

/// The position `name`'s holder has reached (None: never set).
pub async fn position(db: &impl ConnectionTrait, name: &str) -> Result<Option<i64>, ServiceError> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => "SELECT position FROM leases WHERE name = $1",
        _ => "SELECT position FROM leases WHERE name = ?",
    };
    let row = db.query_one_raw(Statement::from_sql_and_values(backend, sql, [name.into()])).await?;
    Ok(match row {
        Some(r) => r.try_get::<Option<i64>>("", "position")?,
        None => None,
    })
}

/// Moves `name`'s position to `to` if `holder` still holds the lease;
/// whether it did (a replica that lost the lease moves nothing).
pub async fn advance(db: &impl ConnectionTrait, name: &str, holder: &str, to: i64) -> Result<bool, ServiceError> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => "UPDATE leases SET position = $1 WHERE name = $2 AND holder = $3",
        _ => "UPDATE leases SET position = ? WHERE name = ? AND holder = ?",
    };
    let values = [to.into(), name.into(), holder.into()];
    Ok(db.execute_raw(Statement::from_sql_and_values(backend, sql, values)).await?.rows_affected() == 1)
}
