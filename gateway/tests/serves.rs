//! The gateway starts and serves health and reflection.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use attain_gateway::startup::Application;
use attain_kit::testing::{Backend, test_settings};

#[tokio::test]
async fn starts_and_serves_health() {
    let mut settings = test_settings(Backend::Sqlite).await;
    // Upstream channels connect lazily: health answers without backends.
    settings.upstream.target_url = Some("http://127.0.0.1:9".into());
    settings.upstream.tracking_url = Some("http://127.0.0.1:9".into());
    settings.upstream.review_url = Some("http://127.0.0.1:9".into());
    let app = Application::build(settings).await.expect("build");
    let addr = app.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap();
    attain_kit::testing::assert_health_and_reflection(channel, &["attain.gateway.v1.GatewayService"]).await;
    let _ = stop.send(());
    running.await.unwrap().unwrap();
}
