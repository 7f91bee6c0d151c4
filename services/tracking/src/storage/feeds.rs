//! Positions of the change feeds (`rollup_changes`, `alert_events`): the
//! ids their rows take, handed out in commit order.

use attain_kit::ServiceError;
use sea_orm::{ConnectionTrait, Statement};

/// A feed whose rows take ids from `feed_positions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feed {
    RollupChanges,
    AlertEvents,
}

impl Feed {
    fn key(self) -> &'static str {
        match self {
            Self::RollupChanges => "rollup_changes",
            Self::AlertEvents => "alert_events",
        }
    }
}

/// Claims `n` ids of `feed` for rows this transaction writes: the first of
/// them (they run on consecutively). Call it last in the transaction, just
/// before the rows: the counter row stays locked until commit, so the next
/// writer's ids come after this one's commit, and ids are in commit order.
pub async fn claim(db: &impl ConnectionTrait, feed: Feed, n: usize) -> Result<i64, ServiceError> {
    let n = i64::try_from(n).map_err(|e| ServiceError::Internal(e.into()))?;
    let backend = db.get_database_backend();
    let sql = match backend {
        sea_orm::DbBackend::Postgres => "UPDATE feed_positions SET last = last + $1 WHERE feed = $2 RETURNING last",
        _ => "UPDATE feed_positions SET last = last + ? WHERE feed = ? RETURNING last",
    };
    let row = db
        .query_one_raw(Statement::from_sql_and_values(backend, sql, [n.into(), feed.key().into()]))
        .await?
        .ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("feed position of {} missing", feed.key())))?;
    let last: i64 = row.try_get("", "last")?;
    Ok(last - n + 1)
}
