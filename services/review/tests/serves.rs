//! The review binary's library starts on a fresh database (SQLite and
//! PostgreSQL), migrates it and serves health and reflection.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use attain_kit::{
    both_backends,
    testing::{Backend, test_settings},
};
use attain_review::startup::Application;

async fn starts_migrates_and_serves_health(backend: Backend) {
    let app = Application::build(test_settings(backend).await).await.expect("build");
    let addr = app.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap();
    attain_kit::testing::assert_health_and_reflection(channel, &["attain.review.v1.ReviewService"]).await;
    let _ = stop.send(());
    running.await.unwrap().unwrap();
}

both_backends!(starts_migrates_and_serves_health);
