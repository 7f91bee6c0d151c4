//! DESIGN §3 Alerts: writes only wake the evaluator; one replica — the
//! lease holder — evaluates what moved, as the service account. When it
//! dies without a word, another takes over from the feed position stored
//! with the lease: no moved unit is left unevaluated, no alert event is
//! written twice.

use std::{collections::HashMap, time::Duration};

use attain_kit::{auth::Role, both_backends, testing::Backend};
use attain_proto::attain::tracking::v1 as pb;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use secrecy::ExposeSecret;

use crate::helpers::{sale, spawn_suite};

async fn holder(db: &DatabaseConnection) -> String {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT holder FROM leases WHERE name = 'alert-evaluator'",
        ))
        .await
        .unwrap()
        .expect("the evaluator holds a lease");
    row.try_get("", "holder").unwrap()
}

async fn evaluation_survives_its_leader(backend: Backend) {
    let mut s = spawn_suite(backend).await;
    let _b = s.replica("ops", Role::Admin, "").await;
    let mut c = s.replica("ops", Role::Admin, "").await;
    let db = Database::connect(s.settings().database.url.expose_secret()).await.unwrap();
    let mut watch = c
        .watch_alerts(pb::WatchAlertsRequest { unit: "units/acme".into(), include_open: false, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    let first = holder(&db).await;
    // Round 0 with every replica up; then the first replica (which started
    // first and leads) is killed, then the second: the third leads at the
    // end whoever led before.
    for (round, rep) in ["rep-1", "rep-2", "rep-3"].into_iter().enumerate() {
        if round > 0 {
            s.kill(round - 1);
        }
        // Written through the replica that stays: no EvaluateAlerts call.
        c.create_deal(sale(rep, "100.00", "2024-01-10", &format!("round-{round}"))).await.unwrap();
        let unit = format!("units/{rep}");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let next = tokio::time::timeout(left, watch.message()).await;
            let alert = match next {
                Ok(Ok(Some(m))) => m.alert.unwrap(),
                other => panic!("round {round}: no alert for {rep} ({other:?})"),
            };
            if alert.unit == unit {
                break;
            }
        }
    }
    assert_ne!(holder(&db).await, first, "the lease moved to a live replica");
    // Each alert version was announced once.
    let rows = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), "SELECT alert_id, snapshot FROM alert_events"))
        .await
        .unwrap();
    let mut seen: HashMap<(String, i64), usize> = HashMap::new();
    for r in rows {
        let id: String = r.try_get("", "alert_id").unwrap();
        let snapshot: String = r.try_get("", "snapshot").unwrap();
        let version = serde_json::from_str::<serde_json::Value>(&snapshot).unwrap()["version"].as_i64().unwrap();
        *seen.entry((id, version)).or_default() += 1;
    }
    assert!(!seen.is_empty());
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "alert versions announced twice: {twice:?}");
}

both_backends!(evaluation_survives_its_leader);

async fn next_change(stream: &mut tonic::Streaming<pb::WatchRollupChangesResponse>) -> pb::WatchRollupChangesResponse {
    tokio::time::timeout(Duration::from_secs(10), stream.message())
        .await
        .expect("a change in time")
        .unwrap()
        .expect("the watch stays open")
}

/// DESIGN §3 Change feeds: a watcher that comes back with the token of the
/// last message it got misses nothing committed meanwhile; one whose
/// position the feed was pruned past is told to refresh, then continues;
/// a token that is not from this feed is INVALID_ARGUMENT. Request ids are
/// kept for their window; a retry after it is a new request.
async fn watchers_resume_and_refresh_after_pruning(backend: Backend) {
    use attain_tracking::storage::feeds::{self, Feed};
    let s = spawn_suite(backend).await;
    let mut admin = s.admin();
    let watch = |token: &str| pb::WatchRollupChangesRequest {
        unit: "units/acme".into(),
        include_alerts: false,
        resume_token: token.to_owned(),
    };
    let mut stream = admin.watch_rollup_changes(watch("")).await.unwrap().into_inner();
    admin.create_deal(sale("rep-1", "100.00", "2024-01-10", "first")).await.unwrap();
    let first = next_change(&mut stream).await;
    assert!(first.units.contains(&"units/rep-1".to_owned()) && !first.refresh, "{first:?}");
    drop(stream);

    // Committed while nobody watched.
    admin.create_deal(sale("rep-2", "100.00", "2024-01-10", "second")).await.unwrap();
    let mut resumed = admin.watch_rollup_changes(watch(&first.resume_token)).await.unwrap().into_inner();
    let missed = next_change(&mut resumed).await;
    assert!(missed.units.contains(&"units/rep-2".to_owned()), "resumed right after the first: {missed:?}");
    drop(resumed);

    // Ahead of the feed, malformed, not canonical, another watch's kind.
    for bad in ["v1.r.999999", "nonsense", "v1.r.-1", "v1.r.+5", "v1.r.007", "v1.a.0", "v1.ra.0.0", "v1.r.1.2"] {
        let e = admin.watch_rollup_changes(watch(bad)).await.unwrap_err();
        assert_eq!(e.code(), tonic::Code::InvalidArgument, "{bad}: {e:?}");
        assert!(e.message().contains("resume_token"), "{e:?}");
    }
    let e = admin
        .watch_alerts(pb::WatchAlertsRequest {
            unit: "units/acme".into(),
            include_open: false,
            resume_token: "v1.a.999999".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument, "{e:?}");

    // Everything in the feed pruned (as after its retention).
    let db = Database::connect(s.settings().database.url.expose_secret()).await.unwrap();
    let later = chrono::Utc::now() + chrono::Duration::hours(1);
    assert!(feeds::prune(&db, Feed::RollupChanges, (later, i64::MAX), 1000).await.unwrap() >= 2);
    let mut stale = admin.watch_rollup_changes(watch(&first.resume_token)).await.unwrap().into_inner();
    let refresh = next_change(&mut stale).await;
    assert!(refresh.refresh && refresh.units.is_empty(), "told to refresh: {refresh:?}");
    admin.create_deal(sale("rep-3", "100.00", "2024-01-10", "third")).await.unwrap();
    let after = next_change(&mut stale).await;
    assert!(after.units.contains(&"units/rep-3".to_owned()) && !after.refresh, "{after:?}");

    // Request ids: a retry within the window replays; after it, the id is
    // forgotten and the retry is a new request.
    let again = admin.create_deal(sale("rep-1", "100.00", "2024-01-10", "first")).await.unwrap().into_inner();
    let replay = admin.create_deal(sale("rep-1", "100.00", "2024-01-10", "first")).await.unwrap().into_inner();
    assert_eq!(again, replay);
    assert!(attain_kit::idempotency::prune(&db, later, 1000).await.unwrap() >= 3);
    let new = admin.create_deal(sale("rep-1", "100.00", "2024-01-10", "first")).await.unwrap().into_inner();
    assert_ne!(new.name, again.name);
}

both_backends!(watchers_resume_and_refresh_after_pruning);

/// DESIGN §3 Change feeds under load: eight writers on two replicas commit
/// single deals and small batches on random reps at once; a watcher on one
/// replica receives every roll-up change row exactly once, in id order: its
/// sequence equals the table's.
async fn a_watcher_sees_every_row_of_many_writers(backend: Backend) {
    let mut s = spawn_suite(backend).await;
    let b = s.replica("ops", Role::Admin, "").await;
    let a = s.admin();
    let db = Database::connect(s.settings().database.url.expose_secret()).await.unwrap();
    let mut watch = a
        .clone()
        .watch_rollup_changes(pb::WatchRollupChangesRequest { unit: String::new(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    let reps = ["rep-1", "rep-2", "rep-3", "rep-9"];
    let mut writers = Vec::new();
    for w in 0..8usize {
        let mut client = if w % 2 == 0 { a.clone() } else { b.clone() };
        writers.push(tokio::spawn(async move {
            for i in 0..12usize {
                let rep = reps[(w * 7 + i * 3) % reps.len()];
                let id = format!("w{w}-{i}");
                if i % 3 == 0 {
                    let requests = (0..3)
                        .map(|j| sale(reps[(i + j) % reps.len()], "10.00", "2024-01-09", &format!("{id}-{j}")))
                        .collect();
                    client.batch_create_deals(pb::BatchCreateDealsRequest { requests }).await.unwrap();
                } else {
                    client.create_deal(sale(rep, "10.00", "2024-01-09", &id)).await.unwrap();
                }
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    let rows = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), "SELECT id FROM rollup_changes ORDER BY id"))
        .await
        .unwrap();
    let table: Vec<i64> = rows.iter().map(|r| r.try_get::<i64>("", "id").unwrap()).collect();
    assert_eq!(table.len(), 8 * 12, "one change per committed write");
    let mut seen = Vec::new();
    while seen.len() < table.len() {
        let m = next_change(&mut watch).await;
        let id: i64 = m.resume_token.strip_prefix("v1.r.").unwrap().parse().unwrap();
        seen.push(id);
    }
    assert_eq!(seen, table, "the watcher's sequence is the table's");
}

both_backends!(a_watcher_sees_every_row_of_many_writers);

/// Found from outside: a replica whose service account is refused (a bad
/// token, one scoped to a rep) took the evaluator's lease and held it, and
/// moved its feed position past changes it could not evaluate. Now it
/// gives the lease up without moving the position; a rightly configured
/// replica evaluates those changes.
async fn a_refused_account_hands_evaluation_over(backend: Backend) {
    let rep_scoped = attain_kit::testing::token("svc-wrong", Role::Rep, "rep-1");
    let mut s = crate::helpers::spawn_suite_with(backend, |settings| {
        settings.jobs.service_token = Some(secrecy::SecretString::from(rep_scoped));
    })
    .await;
    let db = Database::connect(s.settings().database.url.expose_secret()).await.unwrap();
    let misconfigured = holder(&db).await;
    let good = attain_kit::testing::token("svc-test", Role::Admin, "");
    let mut b = s
        .replica_with("ops", Role::Admin, "", |settings| {
            settings.jobs.service_token = Some(secrecy::SecretString::from(good));
        })
        .await;
    let mut watch = b
        .watch_alerts(pb::WatchAlertsRequest { unit: "units/rep-2".into(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    b.create_deal(sale("rep-2", "100.00", "2024-01-10", "refused")).await.unwrap();
    let alert = tokio::time::timeout(Duration::from_secs(20), watch.message())
        .await
        .expect("the good replica evaluates the change the refused one could not")
        .unwrap()
        .unwrap()
        .alert
        .unwrap();
    assert_eq!(alert.unit, "units/rep-2");
    assert_ne!(holder(&db).await, misconfigured, "the refused replica gave the lease up");
}

/// EvaluateAlerts moves live alerts: viewers may not call it, and only an
/// admin evaluates as of another day or a period not in force (a rep once
/// resolved its own alerts by evaluating as of the 1st).
async fn on_demand_evaluation_is_about_today(backend: Backend) {
    let s = spawn_suite(backend).await;
    let ask = |as_of: &str, period: &str| pb::EvaluateAlertsRequest {
        unit: "units/rep-1".into(),
        period: period.into(),
        as_of_date: as_of.into(),
        ..Default::default()
    };
    let mut viewer = s.tracking("ceo", Role::Viewer, "acme");
    let e = viewer.evaluate_alerts(ask("", "")).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::PermissionDenied, "{e:?}");
    let mut rep = s.tracking("rep-1", Role::Rep, "rep-1");
    let e = rep.evaluate_alerts(ask("2024-01-01", "")).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument, "{e:?}");
    assert!(e.message().contains("as_of_date"), "{e:?}");
    let e = rep.evaluate_alerts(ask("", "2024-06")).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument, "{e:?}");
    assert!(e.message().contains("period"), "{e:?}");
    rep.evaluate_alerts(ask("2024-01-16", "2024-01")).await.unwrap();
    rep.evaluate_alerts(ask("", "2024-Q1")).await.unwrap();
    s.admin().evaluate_alerts(ask("2024-01-05", "2024-01")).await.unwrap();
}

both_backends!(a_refused_account_hands_evaluation_over, on_demand_evaluation_is_about_today);

/// Found from outside: with the target service down, CreateDeal answered
/// INVALID_ARGUMENT on `deal.rep`, so clients and imports took a passing
/// outage for a bad row and did not retry. Now UNAVAILABLE.
async fn writes_during_a_target_outage_are_unavailable(backend: Backend) {
    let s = crate::helpers::spawn_suite_with(backend, |settings| {
        // Nothing listens there.
        settings.upstream.target_url = Some("http://127.0.0.1:9".into());
    })
    .await;
    let mut admin = s.admin();
    let e = admin.create_deal(sale("rep-1", "100.00", "2024-01-10", "outage-1")).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::Unavailable, "{e:?}");
    let requests = vec![sale("rep-1", "100.00", "2024-01-10", "outage-2")];
    let e = admin.batch_create_deals(pb::BatchCreateDealsRequest { requests }).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::Unavailable, "{e:?}");
}

both_backends!(writes_during_a_target_outage_are_unavailable);
