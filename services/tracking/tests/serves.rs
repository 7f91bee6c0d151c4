//! The tracking binary's library starts on a fresh database (SQLite and
//! PostgreSQL), migrates it and serves health and reflection.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use attain_kit::{
    both_backends,
    testing::{Backend, test_settings},
};
use attain_tracking::startup::Application;

async fn starts_migrates_and_serves_health(backend: Backend) {
    let app = Application::build(test_settings(backend).await).await.expect("build");
    let addr = app.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap();
    attain_kit::testing::assert_health_and_reflection(channel.clone(), &["attain.tracking.v1.TrackingService"]).await;

    // Not built yet: says so instead of inventing data.
    use attain_proto::attain::tracking::v1::{GetDealRequest, tracking_service_client::TrackingServiceClient};
    let token = attain_kit::testing::token("ops", attain_kit::auth::Role::Admin, "");
    let mut request = tonic::Request::new(GetDealRequest { name: "deals/x".into() });
    request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    let status = TrackingServiceClient::new(channel).get_deal(request).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unimplemented);
    let _ = stop.send(());
    running.await.unwrap().unwrap();
}

both_backends!(starts_migrates_and_serves_health);
