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

/// Each caller gets its own bucket: a burst, then RESOURCE_EXHAUSTED.
#[tokio::test]
async fn callers_are_rate_limited() {
    use attain_kit::{auth::Role, testing::token};
    use attain_proto::attain::gateway::v1::{GetCallerRequest, gateway_service_client::GatewayServiceClient};

    let mut settings = test_settings(Backend::Sqlite).await;
    settings.upstream.target_url = Some("http://127.0.0.1:9".into());
    settings.upstream.tracking_url = Some("http://127.0.0.1:9".into());
    settings.upstream.review_url = Some("http://127.0.0.1:9".into());
    settings.server.rate_limit_per_caller = 1;
    settings.server.rate_limit_burst = 3;
    let app = Application::build(settings).await.unwrap();
    let addr = app.local_addr();
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap();
    let mut client = GatewayServiceClient::new(channel);
    let call = |person: &str| {
        let mut r = tonic::Request::new(GetCallerRequest {});
        r.metadata_mut()
            .insert("authorization", format!("Bearer {}", token(person, Role::Viewer, "acme")).parse().unwrap());
        r
    };
    let mut codes = Vec::new();
    for _ in 0..6 {
        codes.push(client.get_caller(call("busy")).await.map(|_| tonic::Code::Ok).unwrap_or_else(|s| s.code()));
    }
    assert_eq!(&codes[..3], [tonic::Code::Ok; 3]);
    assert!(codes[3..].contains(&tonic::Code::ResourceExhausted), "{codes:?}");
    let me = client.get_caller(call("quiet")).await.unwrap().into_inner();
    assert_eq!((me.person.as_str(), me.unit.as_str()), ("quiet", "units/acme"));
}

/// Production may hide its API's shape: with `server.reflection = false`
/// reflection answers UNIMPLEMENTED while health still serves.
#[tokio::test]
async fn reflection_can_be_switched_off() {
    use tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest,
    };
    let mut settings = test_settings(Backend::Sqlite).await;
    settings.upstream.target_url = Some("http://127.0.0.1:9".into());
    settings.upstream.tracking_url = Some("http://127.0.0.1:9".into());
    settings.upstream.review_url = Some("http://127.0.0.1:9".into());
    settings.server.reflection = false;
    let app = Application::build(settings).await.unwrap();
    let addr = app.local_addr();
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap();
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let answer =
        ServerReflectionClient::new(channel.clone()).server_reflection_info(tokio_stream::iter(vec![request])).await;
    let refused = match answer {
        Err(status) => status.code(),
        Ok(stream) => stream.into_inner().message().await.map(|_| tonic::Code::Ok).unwrap_or_else(|s| s.code()),
    };
    assert_eq!(refused, tonic::Code::Unimplemented);
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    let status = health.check(tonic_health::pb::HealthCheckRequest { service: String::new() }).await.unwrap();
    assert_eq!(status.into_inner().status, tonic_health::pb::health_check_response::ServingStatus::Serving as i32);
}
