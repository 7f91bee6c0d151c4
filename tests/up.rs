//! `attain up` starts the whole suite from one command: every service and
//! the gateway answer health checks, and SIGTERM stops them all.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};

fn free_base_port() -> u16 {
    // Four consecutive free ports, probed.
    for _ in 0..50 {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let p = l.local_addr().unwrap().port();
        drop(l);
        if p < 60000 && (0..4).all(|i| std::net::TcpListener::bind(("127.0.0.1", p + i)).is_ok()) {
            return p;
        }
    }
    panic!("no four free ports in a row");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_serves_every_service_and_stops_on_sigterm() {
    let data = std::env::temp_dir().join(format!("attain-up-{}", std::process::id()));
    let base = free_base_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_attain"))
        .args(["--data-dir", data.to_str().unwrap(), "up", "--base-port", &base.to_string()])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    while let Some(Ok(line)) = lines.next() {
        let done = line.contains("Ctrl-C stops everything");
        printed.push(line);
        if done {
            break;
        }
    }
    assert!(printed.iter().any(|l| l.contains("Admin token")), "{printed:?}");
    for port in base..base + 4 {
        let channel = tonic::transport::Channel::from_shared(format!("http://127.0.0.1:{port}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut health = HealthClient::new(channel);
        let status = health.check(HealthCheckRequest { service: String::new() }).await.unwrap().into_inner().status;
        assert_eq!(status, ServingStatus::Serving as i32, "port {port}");
    }
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{status:?}");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "attain up did not stop on SIGTERM");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = std::fs::remove_dir_all(&data);
}

/// `attain demo` loads the guide's example: rep 1 stands at 40,000 of
/// 100,000 on January 16th, RED.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_loads_the_guides_example() {
    use attain_proto::attain::tracking::v1::{GetAttainmentRequest, tracking_service_client::TrackingServiceClient};

    let data = std::env::temp_dir().join(format!("attain-demo-{}", std::process::id()));
    let base = free_base_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_attain"))
        .args(["--data-dir", data.to_str().unwrap(), "demo", "--base-port", &base.to_string()])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    while let Some(Ok(line)) = lines.next() {
        let done = line.contains("Demo data loaded");
        printed.push(line);
        if done {
            break;
        }
    }
    assert!(printed.iter().any(|l| l.contains("Demo data loaded")), "{printed:?}");
    let token = Command::new(env!("CARGO_BIN_EXE_attain"))
        .args(["--data-dir", data.to_str().unwrap(), "token", "--role", "rep", "--unit", "rep-1", "--person", "rep-1"])
        .output()
        .unwrap();
    let token = String::from_utf8(token.stdout).unwrap();
    let channel = tonic::transport::Channel::from_shared(format!("http://127.0.0.1:{}", base + 2))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut request = tonic::Request::new(GetAttainmentRequest {
        unit: "units/rep-1".into(),
        period: "2024-01".into(),
        ..Default::default()
    });
    request.metadata_mut().insert("authorization", format!("Bearer {}", token.trim()).parse().unwrap());
    let a = TrackingServiceClient::new(channel).get_attainment(request).await.unwrap().into_inner();
    assert_eq!((a.actual.unwrap().amount.as_str(), a.target.unwrap().amount.as_str()), ("40000.00", "100000.00"));
    assert_eq!(a.status, attain_proto::attain::common::v1::Status::Red as i32);
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&data);
}

/// Bad starts fail with a clear message and a non-zero exit, leaving
/// nothing running.
#[test]
fn bad_starts_fail_clearly() {
    let base = free_base_port();
    let busy = std::net::TcpListener::bind(("127.0.0.1", base + 1)).unwrap();
    let data = std::env::temp_dir().join(format!("attain-busy-{}", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_attain"))
        .args(["--data-dir", data.to_str().unwrap(), "up", "--base-port", &base.to_string()])
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    drop(busy);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("target service") && err.contains("already in use"), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    let out = Command::new(env!("CARGO_BIN_EXE_attain"))
        .args(["--data-dir", "/proc/attain-cannot-write-here", "up", "--base-port", &base.to_string()])
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("cannot create data directory"), "{err}");
    let _ = std::fs::remove_dir_all(&data);
}
