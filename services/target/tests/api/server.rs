//! What every service gets from the kit's bootstrap: health, reflection,
//! request ids, graceful shutdown.

use std::time::Duration;

use attain_kit::{both_backends, testing::Backend};
use attain_proto::attain::target::v1 as pb;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};

use crate::helpers::{seed_org, spawn_app, spawn_app_with};

async fn health_and_reflection(backend: Backend) {
    let app = spawn_app(backend).await;
    attain_kit::testing::assert_health_and_reflection(
        app.channel.clone(),
        &["attain.target.v1.OrgService", "attain.target.v1.TargetService"],
    )
    .await;
}

async fn request_ids_come_back(backend: Backend) {
    let app = spawn_app(backend).await;
    seed_org(&app).await;
    let mut admin = app.admin();
    let mut request = tonic::Request::new(pb::GetUnitRequest { name: "units/acme".into() });
    request.metadata_mut().insert("x-request-id", "trace-me-123".parse().unwrap());
    let response = admin.get_unit(request).await.unwrap();
    assert_eq!(response.metadata().get("x-request-id").unwrap(), "trace-me-123");
    let generated = admin.get_unit(pb::GetUnitRequest { name: "units/acme".into() }).await.unwrap();
    assert!(
        !generated.metadata().get("x-request-id").unwrap().is_empty(),
        "a request id is made when the client sent none"
    );
}

async fn shutdown_flips_health_then_drains(backend: Backend) {
    let mut app = spawn_app_with(backend, |s| s.server.drain_delay_ms = 1500).await;
    let mut health = HealthClient::new(app.channel.clone());
    app.signal_stop();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let status = health
        .check(HealthCheckRequest { service: "attain.target.v1.OrgService".into() })
        .await
        .unwrap()
        .into_inner()
        .status;
    assert_eq!(status, ServingStatus::NotServing as i32, "health flips before the listener closes");
    let handle = app.handle.take().unwrap();
    tokio::time::timeout(Duration::from_secs(10), handle)
        .await
        .expect("stops within the grace period")
        .unwrap()
        .unwrap();
}

/// Replicas starting together on an empty database: each migration is
/// applied once (the others wait for the migration lock), all start.
async fn replicas_starting_together_migrate_once(backend: Backend) {
    use sea_orm::{ConnectionTrait, Statement};
    use sea_orm_migration::MigratorTrait;
    let settings = attain_kit::testing::test_settings(backend).await;
    let builds =
        futures::future::join_all((0..3).map(|_| attain_target::startup::Application::build(settings.clone()))).await;
    for b in &builds {
        assert!(b.is_ok(), "every replica starts: {:?}", b.as_ref().err());
    }
    let db = attain_kit::db::connect(&settings.database).await.unwrap();
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n, COUNT(DISTINCT version) AS d FROM seaql_migrations",
        ))
        .await
        .unwrap()
        .unwrap();
    let (n, d): (i64, i64) = (row.try_get("", "n").unwrap(), row.try_get("", "d").unwrap());
    let expected = i64::try_from(attain_target::migration::Migrator::migrations().len()).unwrap();
    assert_eq!((n, d), (expected, expected), "each migration recorded once");
}

both_backends!(
    health_and_reflection,
    request_ids_come_back,
    shutdown_flips_health_then_drains,
    replicas_starting_together_migrate_once
);
