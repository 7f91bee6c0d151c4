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
