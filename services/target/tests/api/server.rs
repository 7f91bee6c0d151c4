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

both_backends!(health_and_reflection, request_ids_come_back, shutdown_flips_health_then_drains);
