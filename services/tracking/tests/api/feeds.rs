//! DESIGN §3 Change feeds: a feed row's id is handed out in commit order.
//! Writer A writes its row and holds its transaction open; writer B writes
//! and would commit first. A reader of `id > last` must never see B's row
//! while A's is pending (it would skip A's for good, as a sequence's ids
//! did), and must see both, A's first, once A commits.

use std::time::Duration;

use attain_kit::{
    both_backends,
    configuration::DatabaseSettings,
    db::{begin_write, connect_and_migrate},
    testing::{Backend, fresh_database_url},
};
use attain_tracking::{migration::Migrator, storage::rollups};
use sea_orm::TransactionTrait;
use secrecy::SecretString;

async fn feed_rows_come_in_commit_order(backend: Backend) {
    let settings =
        DatabaseSettings { url: SecretString::from(fresh_database_url(backend).await), ..DatabaseSettings::default() };
    let db = connect_and_migrate::<Migrator>(&settings).await.unwrap();
    let a = begin_write(&db).await.unwrap();
    rollups::record_change(&a, vec!["/acme/a/".into()]).await.unwrap();

    let writer = db.clone();
    let b = tokio::spawn(async move {
        let b = begin_write(&writer).await.unwrap();
        rollups::record_change(&b, vec!["/acme/b/".into()]).await.unwrap();
        b.commit().await.unwrap();
    });
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(!b.is_finished(), "B waits for A's commit to take its id");
    let reader = db.begin().await.unwrap();
    assert!(rollups::changes_after(&reader, None, 0, 10).await.unwrap().is_empty(), "nothing committed yet");
    reader.commit().await.unwrap();

    a.commit().await.unwrap();
    b.await.unwrap();
    let seen = rollups::changes_after(&db, None, 0, 10).await.unwrap();
    let order: Vec<(i64, String)> = seen.iter().map(|c| (c.id, c.paths[0][1].as_str().to_owned())).collect();
    assert_eq!(order.len(), 2, "{order:?}");
    assert_eq!((order[0].1.as_str(), order[1].1.as_str()), ("a", "b"), "commit order: {order:?}");
    assert!(order[0].0 < order[1].0);
}

/// One replica holds a job's lease at a time: another asking is refused
/// until the lease runs out (its holder died), then takes it; the holder
/// renews its own. Two asking at once: exactly one wins.
async fn one_replica_leads_a_job(backend: Backend) {
    use attain_tracking::storage::leases::hold;
    use chrono::{Duration as D, Utc};
    let settings =
        DatabaseSettings { url: SecretString::from(fresh_database_url(backend).await), ..DatabaseSettings::default() };
    let db = connect_and_migrate::<Migrator>(&settings).await.unwrap();
    let t0 = Utc::now();
    let (a, b) = tokio::join!(
        hold(&db, "alert-schedule", "replica-a", (t0, t0 + D::seconds(10))),
        hold(&db, "alert-schedule", "replica-b", (t0, t0 + D::seconds(10)))
    );
    assert!(a.unwrap() ^ b.unwrap(), "exactly one of two asking at once");
    let (leader, other) = if hold(&db, "alert-schedule", "replica-a", (t0, t0 + D::seconds(10))).await.unwrap() {
        ("replica-a", "replica-b")
    } else {
        ("replica-b", "replica-a")
    };
    let t1 = t0 + D::seconds(5);
    assert!(hold(&db, "alert-schedule", leader, (t1, t1 + D::seconds(10))).await.unwrap(), "the holder renews");
    assert!(!hold(&db, "alert-schedule", other, (t1, t1 + D::seconds(10))).await.unwrap(), "held: refused");
    // The leader dies (renews no more): once its lease has run out, the other takes over.
    let t2 = t1 + D::seconds(11);
    assert!(hold(&db, "alert-schedule", other, (t2, t2 + D::seconds(10))).await.unwrap(), "expired: taken over");
    assert!(!hold(&db, "alert-schedule", leader, (t2, t2 + D::seconds(10))).await.unwrap(), "the old leader is out");
    // Another job is another lease.
    assert!(hold(&db, "pruning", leader, (t2, t2 + D::seconds(10))).await.unwrap());
}

both_backends!(one_replica_leads_a_job, feed_rows_come_in_commit_order);

/// On PostgreSQL a commit that wrote feed rows wakes the readers of every
/// process: another connection pool (another replica) commits a roll-up
/// change and this one's signal moves; polling is only the fallback.
#[tokio::test]
async fn commits_wake_every_replica_on_postgres() {
    use attain_tracking::storage::feeds::Signal;
    let settings = DatabaseSettings {
        url: SecretString::from(fresh_database_url(Backend::Postgres).await),
        ..DatabaseSettings::default()
    };
    let here = connect_and_migrate::<Migrator>(&settings).await.unwrap();
    let there = connect_and_migrate::<Migrator>(&settings).await.unwrap();
    let signal = Signal::default();
    let mut woken = signal.subscribe();
    let _listening = signal.listen(&here).expect("PostgreSQL listens");
    // The listener bumps once when it starts listening.
    tokio::time::timeout(Duration::from_secs(10), woken.changed()).await.expect("listening").unwrap();
    let txn = begin_write(&there).await.unwrap();
    rollups::record_change(&txn, vec!["/acme/a/".into()]).await.unwrap();
    txn.commit().await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), woken.changed())
        .await
        .expect("another replica's commit wakes this one")
        .unwrap();
}
