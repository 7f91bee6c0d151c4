//! Services as separate `attain serve` processes (for tests that kill,
//! stop or restart them), and waiting on their health.

use std::{
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use attain_kit::testing::TEST_SECRET;
use tonic::transport::Channel;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};

/// A child process killed when the test ends, however it ends.
pub struct Proc(pub Child);

impl Proc {
    /// SIGKILL: no shutdown, no goodbye.
    pub fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }

    /// SIGTERM, the way Kubernetes stops a pod.
    pub fn terminate(&self) {
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
    }

    /// Waits up to `limit` for the process to exit; its exit status if it did.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Ok(Some(status)) = self.0.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub fn url(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

/// `attain serve <service>` on `port`, with the test key and `env`; its
/// log goes to `<dir>/<service>-<port>.log` (appended across restarts).
pub fn serve(service: &str, port: u16, dir: &Path, env: &[(&str, String)]) -> Proc {
    let log =
        std::fs::OpenOptions::new().create(true).append(true).open(dir.join(format!("{service}-{port}.log"))).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_attain"))
        .args(["serve", service])
        .current_dir(dir)
        .env("APP__SERVER__PORT", port.to_string())
        .env("APP__AUTH__HS256_SECRET", TEST_SECRET)
        .env("RUST_LOG", "warn")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(log)
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    Proc(child)
}

pub async fn channel(port: u16) -> Channel {
    Channel::from_shared(url(port)).unwrap().connect().await.unwrap()
}

/// The overall health of the server on `port` (None: it does not answer).
pub async fn health(port: u16) -> Option<ServingStatus> {
    let c = Channel::from_shared(url(port)).unwrap().connect_timeout(Duration::from_secs(1)).connect().await.ok()?;
    let r = HealthClient::new(c).check(HealthCheckRequest { service: String::new() }).await.ok()?;
    ServingStatus::try_from(r.into_inner().status).ok()
}

/// Waits until the server on `port` reports `want`; how long that took.
pub async fn wait_status(port: u16, want: ServingStatus, limit: Duration) -> Duration {
    let started = Instant::now();
    loop {
        if health(port).await == Some(want) {
            return started.elapsed();
        }
        assert!(started.elapsed() < limit, "port {port} did not report {want:?} within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn wait_healthy(port: u16) {
    wait_status(port, ServingStatus::Serving, Duration::from_secs(60)).await;
}
