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
