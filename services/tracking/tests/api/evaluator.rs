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
        .watch_alerts(pb::WatchAlertsRequest { unit: "units/acme".into(), include_open: false })
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
