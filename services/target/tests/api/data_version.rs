//! The data version clients keep answers under: every committed write
//! grows it, whatever the write path; reads, refused writes and writes that
//! roll back do not; and every table of the schema is covered, so a table
//! added later without its trigger fails here.

use attain_kit::{auth::Role, both_backends, testing::Backend};
use attain_proto::attain::target::v1::{self as pb, UnitKind::*};
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};

use crate::helpers::{TestApp, create, spawn_app};

async fn version(app: &TestApp) -> i64 {
    let mut t = app.targets("rep-1", Role::Rep, "units/rep-1");
    t.get_data_version(pb::GetDataVersionRequest {}).await.unwrap().into_inner().version
}

async fn writes_grow_the_version_and_nothing_else_does(backend: Backend) {
    let app = spawn_app(backend).await;
    let v0 = version(&app).await;
    let mut org = app.admin();
    create(&mut org, "acme", "", Company, "Acme").await;
    let v1 = version(&app).await;
    assert!(v1 > v0, "a unit created: {v0} → {v1}");

    // Reads and refused writes leave it.
    org.get_unit(pb::GetUnitRequest { name: "units/acme".into() }).await.unwrap();
    org.list_units(pb::ListUnitsRequest::default()).await.unwrap();
    let refused = org
        .create_unit(pb::CreateUnitRequest {
            unit: Some(pb::Unit {
                parent: "units/ghost".into(),
                kind: Region as i32,
                display_name: "X".into(),
                ..Default::default()
            }),
            unit_id: "region-x".into(),
            request_id: String::new(),
        })
        .await;
    assert!(refused.is_err(), "a region under a unit that does not exist: {refused:?}");
    assert_eq!(version(&app).await, v1);

    // A plan (several tables in one transaction), a rename, a split.
    create(&mut org, "region-a", "units/acme", Region, "Region A").await;
    let v2 = version(&app).await;
    assert!(v2 > v1);
    let mut t = app.targets_admin();
    t.create_plan(pb::CreatePlanRequest {
        plan: Some(pb::Plan {
            display_name: "FY2024".into(),
            top_unit: "units/acme".into(),
            fiscal_year: 2024,
            currency_code: "CNY".into(),
            base_amount: Some(attain_proto::attain::common::v1::Money {
                currency_code: "CNY".into(),
                amount: "1000.00".into(),
            }),
            growth_rate: "0".into(),
            ..Default::default()
        }),
        plan_id: "fy2024".into(),
        request_id: String::new(),
    })
    .await
    .unwrap();
    let v3 = version(&app).await;
    assert!(v3 > v2);
    let rename = |n: &str| pb::UpdateUnitRequest {
        unit: Some(pb::Unit { name: "units/region-a".into(), display_name: n.into(), ..Default::default() }),
        update_mask: Some(prost_types::FieldMask { paths: vec!["display_name".into()] }),
        ..Default::default()
    };
    org.update_unit(rename("Region A North")).await.unwrap();
    let v4 = version(&app).await;
    assert!(v4 > v3);
    // Another replica on the same database reads the same version.
    let replica = app.replica().await;
    assert_eq!(version(&replica).await, v4);
}

/// Every table of the schema but the ledger and the request ids carries
/// the trigger.
async fn every_table_is_versioned(backend: Backend) {
    let app = spawn_app(backend).await;
    let db = Database::connect(app.database_url()).await.unwrap();
    let (tables, triggers) = match db.get_database_backend() {
        DbBackend::Postgres => (
            "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() \
             AND table_type = 'BASE TABLE'",
            "SELECT tgname AS name FROM pg_trigger",
        ),
        _ => (
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            "SELECT name FROM sqlite_master WHERE type = 'trigger'",
        ),
    };
    let names = |sql: &'static str| {
        let db = &db;
        async move {
            let rows = db.query_all_raw(Statement::from_string(db.get_database_backend(), sql)).await.unwrap();
            rows.iter().map(|r| r.try_get::<String>("", "name").unwrap()).collect::<Vec<_>>()
        }
    };
    let (tables, triggers) = (names(tables).await, names(triggers).await);
    let unversioned = ["seaql_migrations", "idempotency_keys", "data_version"];
    let mut checked = 0;
    for t in tables.iter().filter(|t| !unversioned.contains(&t.as_str())) {
        assert!(
            triggers.iter().any(|g| g.starts_with(&format!("{t}_data_version"))),
            "{t} has no data-version trigger: a write to it would not reach the clients' kept answers"
        );
        checked += 1;
    }
    assert!(checked >= 9, "the schema's tables were found: {tables:?}");
}

both_backends!(writes_grow_the_version_and_nothing_else_does);
both_backends!(every_table_is_versioned);
