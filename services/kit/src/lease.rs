//! `leases`: one holder per job name until its lease runs out — which
//! replica does a job that must run once per deployment (tracking's
//! evaluator, notify's feed follower and sender). Each service keeps the
//! table in its own database (and its feed position beside it).

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::ServiceError;

/// Takes or renews the lease on `name` for `holder` until `until`, if it
/// is free, expired, or already `holder`'s; whether `holder` now holds it.
/// One conditional statement each way, so two replicas asking at once
/// cannot both win.
pub async fn hold(
    db: &impl ConnectionTrait,
    name: &str,
    holder: &str,
    (now, until): (DateTime<Utc>, DateTime<Utc>),
) -> Result<bool, ServiceError> {
    let backend = db.get_database_backend();
    let (now, until) = (now.timestamp_millis(), until.timestamp_millis());
    let renew = match backend {
        DbBackend::Postgres => {
            "UPDATE leases SET holder = $1, expires_at = $2 WHERE name = $3 AND (holder = $4 OR expires_at < $5)"
        }
        _ => "UPDATE leases SET holder = ?, expires_at = ? WHERE name = ? AND (holder = ? OR expires_at < ?)",
    };
    let values = [holder.into(), until.into(), name.into(), holder.into(), now.into()];
    let renewed = db.execute_raw(Statement::from_sql_and_values(backend, renew, values)).await?;
    if renewed.rows_affected() == 1 {
        return Ok(true);
    }
    let take = match backend {
        DbBackend::Postgres => {
            "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING"
        }
        _ => "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING",
    };
    let values = [name.into(), holder.into(), until.into()];
    let taken = db.execute_raw(Statement::from_sql_and_values(backend, take, values)).await?;
    Ok(taken.rows_affected() == 1)
}

/// Gives the lease up if `holder` has it (it stops working for a while):
/// the next replica to ask takes it at once.
pub async fn release(db: &impl ConnectionTrait, name: &str, holder: &str) -> Result<(), ServiceError> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => "UPDATE leases SET expires_at = 0 WHERE name = $1 AND holder = $2",
        _ => "UPDATE leases SET expires_at = 0 WHERE name = ? AND holder = ?",
    };
    db.execute_raw(Statement::from_sql_and_values(backend, sql, [name.into(), holder.into()])).await?;
    Ok(())
}
