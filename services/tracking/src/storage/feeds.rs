//! Positions of the change feeds (`rollup_changes`, `alert_events`): the
//! ids their rows take, handed out in commit order; and, on PostgreSQL, a
//! notification on `CHANNEL` at each commit that wrote feed rows, so
//! readers on every replica wake on commit instead of at their next poll.

use attain_kit::ServiceError;
use sea_orm::{ConnectionTrait, Statement};

/// A feed whose rows take ids from `feed_positions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feed {
    RollupChanges,
    AlertEvents,
}

impl Feed {
    pub const ALL: [Feed; 2] = [Feed::RollupChanges, Feed::AlertEvents];

    /// The feed's table (and its counter's key).
    pub fn key(self) -> &'static str {
        match self {
            Self::RollupChanges => "rollup_changes",
            Self::AlertEvents => "alert_events",
        }
    }
}

/// The PostgreSQL channel feed writes notify at commit.
pub const CHANNEL: &str = "attain_tracking_feeds";

/// Claims `n` ids of `feed` for rows this transaction writes: the first of
/// them (they run on consecutively). Call it last in the transaction, just
/// before the rows: the counter row stays locked until commit, so the next
/// writer's ids come after this one's commit, and ids are in commit order.
/// On PostgreSQL the same statement queues the commit's notification (sent
/// only if the transaction commits; one per transaction and feed).
pub async fn claim(db: &impl ConnectionTrait, feed: Feed, n: usize) -> Result<i64, ServiceError> {
    let n = i64::try_from(n).map_err(|e| ServiceError::Internal(e.into()))?;
    let backend = db.get_database_backend();
    let sql = match backend {
        sea_orm::DbBackend::Postgres => {
            "WITH claimed AS (UPDATE feed_positions SET last = last + $1 WHERE feed = $2 RETURNING last) \
             SELECT last, pg_notify($3, $2) FROM claimed"
        }
        _ => "UPDATE feed_positions SET last = last + ? WHERE feed = ? RETURNING last",
    };
    let mut values: Vec<sea_orm::Value> = vec![n.into(), feed.key().into()];
    if backend == sea_orm::DbBackend::Postgres {
        values.push(CHANNEL.into());
    }
    let row = db
        .query_one_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?
        .ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("feed position of {} missing", feed.key())))?;
    let last: i64 = row.try_get("", "last")?;
    Ok(last - n + 1)
}

/// Where a feed stands: its newest id, and the newest id pruned (rows at or
/// below it are gone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Extent {
    pub last: i64,
    pub pruned_through: i64,
}

pub async fn extent(db: &impl ConnectionTrait, feed: Feed) -> Result<Extent, ServiceError> {
    let backend = db.get_database_backend();
    let sql = match backend {
        sea_orm::DbBackend::Postgres => "SELECT last, pruned_through FROM feed_positions WHERE feed = $1",
        _ => "SELECT last, pruned_through FROM feed_positions WHERE feed = ?",
    };
    let row = db
        .query_one_raw(Statement::from_sql_and_values(backend, sql, [feed.key().into()]))
        .await?
        .ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("feed position of {} missing", feed.key())))?;
    Ok(Extent { last: row.try_get("", "last")?, pruned_through: row.try_get("", "pruned_through")? })
}

/// Deletes up to `batch` of `feed`'s oldest rows written before `before`
/// and not after id `through` (what a reader that must see every row has
/// not read yet stays), in one transaction with the feed's prune mark; how
/// many went.
pub async fn prune(
    db: &sea_orm::DatabaseConnection,
    feed: Feed,
    (before, through): (chrono::DateTime<chrono::Utc>, i64),
    batch: u64,
) -> Result<u64, ServiceError> {
    let backend = db.get_database_backend();
    let table = feed.key();
    let (upto, delete, mark) = match backend {
        sea_orm::DbBackend::Postgres => (
            format!(
                "SELECT MAX(id) AS upto FROM \
                 (SELECT id FROM {table} WHERE created_at < $1 AND id <= $2 ORDER BY id LIMIT $3) AS old"
            ),
            format!("DELETE FROM {table} WHERE id <= $1"),
            "UPDATE feed_positions SET pruned_through = $1 WHERE feed = $2 AND pruned_through < $1",
        ),
        _ => (
            format!(
                "SELECT MAX(id) AS upto FROM \
                 (SELECT id FROM {table} WHERE created_at < ? AND id <= ? ORDER BY id LIMIT ?) AS old"
            ),
            format!("DELETE FROM {table} WHERE id <= ?"),
            "UPDATE feed_positions SET pruned_through = ?1 WHERE feed = ?2 AND pruned_through < ?1",
        ),
    };
    let batch = i64::try_from(batch).unwrap_or(i64::MAX);
    let txn = attain_kit::db::begin_write(db).await?;
    let row = txn
        .query_one_raw(Statement::from_sql_and_values(backend, &upto, [before.into(), through.into(), batch.into()]))
        .await?;
    let Some(upto) = row.map(|r| r.try_get::<Option<i64>>("", "upto")).transpose()?.flatten() else {
        txn.commit().await?;
        return Ok(0);
    };
    let gone = txn.execute_raw(Statement::from_sql_and_values(backend, &delete, [upto.into()])).await?.rows_affected();
    txn.execute_raw(Statement::from_sql_and_values(backend, mark, [upto.into(), table.into()])).await?;
    txn.commit().await?;
    Ok(gone)
}

/// A counter bumped whenever some feed may have new rows: by this
/// process's own writes, and on PostgreSQL by every commit anywhere that
/// notified `CHANNEL`. Readers wait on it or on their poll, whichever first;
/// polling stays the fallback for a notification lost in a reconnect.
#[derive(Debug, Clone)]
pub struct Signal(tokio::sync::watch::Sender<u64>);

impl Default for Signal {
    fn default() -> Self {
        Self(tokio::sync::watch::channel(0).0)
    }
}

impl Signal {
    pub fn bump(&self) {
        self.0.send_modify(|n| *n = n.wrapping_add(1));
    }

    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.0.subscribe()
    }

    /// On PostgreSQL, listens on `CHANNEL` (reconnecting after a failure)
    /// and bumps on each notification; nothing on SQLite, whose writers are
    /// all in this process. Holds one of the pool's connections.
    pub fn listen(&self, db: &sea_orm::DatabaseConnection) -> Option<tokio::task::JoinHandle<()>> {
        if db.get_database_backend() != sea_orm::DbBackend::Postgres {
            return None;
        }
        let pool = db.get_postgres_connection_pool().clone();
        let signal = self.clone();
        Some(tokio::spawn(async move {
            use sea_orm::sqlx::postgres::PgListener;
            loop {
                let listening = async {
                    let mut listener = PgListener::connect_with(&pool).await?;
                    listener.listen(CHANNEL).await?;
                    // Whatever committed while not listening.
                    signal.bump();
                    loop {
                        // None: the connection dropped and came back, and
                        // what was sent meanwhile is lost; wake anyway.
                        listener.try_recv().await?;
                        signal.bump();
                    }
                };
                let result: Result<(), sea_orm::sqlx::Error> = listening.await;
                if let Err(e) = result {
                    tracing::warn!(error = %e, "feed notifications lost; polling meanwhile, listening again in 1 s");
                }
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        }))
    }
}
