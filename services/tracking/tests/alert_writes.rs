//! The alert pass's set-based writes on SQLite and PostgreSQL: new alerts
//! whose key is live already are skipped, not an error; an update whose
//! stored version moved is skipped; only what was written is announced.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use attain_kit::{
    both_backends,
    configuration::DatabaseSettings,
    db,
    id::Id,
    metric::Metric,
    money::Amount,
    testing::{Backend, fresh_database_url},
};
use attain_tracking::{
    domain::{
        alert::{Alert, Rule, State},
        attainment::Status,
    },
    migration::Migrator,
    storage::alerts,
};
use chrono::Utc;
use sea_orm::{ConnectionTrait, DbBackend, QueryTrait, Statement};
use secrecy::SecretString;

fn id(s: &str) -> Id {
    Id::parse("id", s).unwrap()
}

fn alert(unit: &str, rule: Rule) -> Alert {
    Alert {
        id: Id::generate(),
        unit: id(unit),
        unit_path: vec![id("acme"), id(unit)],
        period: "2024-01".into(),
        rule,
        state: State::Open,
        severity: Status::Yellow,
        message: "behind".into(),
        actual: Amount::from_minor_units(100),
        expected: Amount::from_minor_units(200),
        acknowledged_by: String::new(),
        open_time: Utc::now(),
        acknowledge_time: None,
        resolve_time: None,
        opened_on: None,
        escalation_level: 0,
        escalated_to: None,
        escalate_time: None,
        metric: Metric::Amount,
        version: 1,
    }
}

async fn set_based_alert_writes(backend: Backend) {
    let settings =
        DatabaseSettings { url: SecretString::from(fresh_database_url(backend).await), ..DatabaseSettings::default() };
    let conn = db::connect_and_migrate::<Migrator>(&settings).await.unwrap();

    let (a, b) = (alert("rep-1", Rule::BehindPace), alert("rep-2", Rule::MissedMilestone));
    let opened = alerts::insert_many(&conn, &[a.clone(), b.clone()]).await.unwrap();
    assert_eq!(opened, vec![a.clone(), b.clone()]);

    // Another replica's pass opens rep-1's alert again: one live alert.
    let twin = alert("rep-1", Rule::BehindPace);
    assert!(alerts::insert_many(&conn, std::slice::from_ref(&twin)).await.unwrap().is_empty());
    assert!(alerts::get(&conn, &twin.id).await.unwrap().is_none());

    // The next version of `a` is written; a second writer that read the
    // same version 1 loses, and so does a write of a resolved `b` at a
    // version it never had.
    let mut red = a.clone();
    red.severity = Status::Red;
    red.version = 2;
    let mut resolved = b.clone();
    resolved.state = State::Resolved;
    resolved.version = 3;
    assert_eq!(alerts::update_many(&conn, &[red.clone(), resolved]).await.unwrap(), vec![red.clone()]);
    let mut late = a.clone();
    late.message = "stale writer".into();
    late.version = 2;
    assert!(alerts::update_many(&conn, &[late]).await.unwrap().is_empty());

    let stored = alerts::get(&conn, &a.id).await.unwrap().unwrap();
    assert_eq!((stored.severity, stored.version, stored.message.as_str()), (Status::Red, 2, "behind"));
    let b_stored = alerts::get(&conn, &b.id).await.unwrap().unwrap();
    assert_eq!((b_stored.state, b_stored.version), (State::Open, 1));

    // Announced: the two opens and the one update that happened.
    let events = alerts::events_after(&conn, &[id("acme")], 0, 100).await.unwrap();
    let announced: Vec<(Id, i64)> = events.into_iter().map(|(_, a)| (a.id, a.version)).collect();
    assert_eq!(announced, vec![(a.id.clone(), 1), (b.id.clone(), 1), (a.id, 2)]);
}

both_backends!(set_based_alert_writes);

/// A company's open alerts are found among the open ones, not by walking
/// every alert ever resolved (records are never destroyed: they outgrow
/// the open ones with time). On PostgreSQL whose statistics were taken
/// when more were open (as before the day's resolutions are analysed), the
/// list's plan filters out none of the resolved.
async fn open_alerts_are_listed_among_the_open_ones(backend: Backend) {
    let settings =
        DatabaseSettings { url: SecretString::from(fresh_database_url(backend).await), ..DatabaseSettings::default() };
    let conn = db::connect_and_migrate::<Migrator>(&settings).await.unwrap();
    let all: Vec<Alert> = (0..2000).map(|i| alert(&format!("rep-{i}"), Rule::BehindPace)).collect();
    for chunk in all.chunks(500) {
        assert_eq!(alerts::insert_many(&conn, chunk).await.unwrap().len(), chunk.len());
    }
    let resolve = |a: &Alert| {
        let mut a = a.clone();
        a.state = State::Resolved;
        a.resolve_time = Some(Utc::now());
        a.version = 2;
        a
    };
    // 1,400 resolved, then analysed with 600 open; then all but 20 of
    // those resolved too.
    let (earlier, rest) = all.split_at(1400);
    let earlier: Vec<Alert> = earlier.iter().map(resolve).collect();
    for chunk in earlier.chunks(500) {
        assert_eq!(alerts::update_many(&conn, chunk).await.unwrap().len(), chunk.len());
    }
    if backend == Backend::Postgres {
        conn.execute_unprepared("ANALYZE alerts").await.unwrap();
    }
    // Every 30th stays open: spread over the ids, not the first 20.
    let open: Vec<Alert> = rest.iter().step_by(30).cloned().collect();
    let later: Vec<Alert> = rest.iter().enumerate().filter(|(i, _)| i % 30 != 0).map(|(_, a)| resolve(a)).collect();
    for chunk in later.chunks(500) {
        assert_eq!(alerts::update_many(&conn, chunk).await.unwrap().len(), chunk.len());
    }
    let mut expected: Vec<Id> = open.iter().map(|a| a.id.clone()).collect();
    expected.sort();
    let listed = alerts::list(&conn, &[id("acme")], Some(State::Open), None, None, 101).await.unwrap();
    assert_eq!(listed.into_iter().map(|a| a.id).collect::<Vec<_>>(), expected);

    if backend == Backend::Postgres {
        let q = alerts::list_query(&[id("acme")], Some(State::Open), None, None, 101).build(DbBackend::Postgres);
        let explain = Statement::from_sql_and_values(
            DbBackend::Postgres,
            format!("EXPLAIN (ANALYZE, FORMAT JSON) {}", q.sql),
            q.values.map(|v| v.0).unwrap_or_default(),
        );
        let row = conn.query_one_raw(explain).await.unwrap().unwrap();
        let plan: serde_json::Value = row.try_get_by_index(0).unwrap();
        fn removed(node: &serde_json::Value) -> u64 {
            let own = ["Rows Removed by Filter", "Rows Removed by Index Recheck"]
                .iter()
                .filter_map(|k| node.get(*k).and_then(serde_json::Value::as_u64))
                .sum::<u64>();
            let children = node.get("Plans").and_then(|p| p.as_array()).map_or(0, |p| p.iter().map(removed).sum());
            own + children
        }
        let removed = removed(&plan[0]["Plan"]);
        assert!(removed <= expected.len() as u64, "the list read {removed} alerts it did not list: {plan}");
    }
}

both_backends!(open_alerts_are_listed_among_the_open_ones);
