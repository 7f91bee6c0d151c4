//! Typed configuration: built-in defaults, then an optional TOML file
//! (`APP_CONFIG_FILE`, else `config/<service>.toml` if present), then
//! `APP__SECTION__KEY` environment variables. Unknown keys are errors;
//! secrets print as `[REDACTED]`.

use std::{net::IpAddr, path::Path, time::Duration};

use config::{Config, Environment, File, FileFormat};
use secrecy::SecretString;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    #[serde(default)]
    pub server: ServerSettings,
    #[serde(default)]
    pub database: DatabaseSettings,
    #[serde(default)]
    pub auth: AuthSettings,
    #[serde(default)]
    pub telemetry: TelemetrySettings,
    #[serde(default)]
    pub upstream: UpstreamSettings,
    #[serde(default)]
    pub clock: ClockSettings,
    #[serde(default)]
    pub jobs: JobSettings,
    #[serde(default)]
    pub cache: CacheSettings,
    #[serde(default)]
    pub alerts: AlertSettings,
    #[serde(default)]
    pub cadence: CadenceSettings,
    #[serde(default)]
    pub notify: NotifySettings,
}

/// The notify service: how it delivers (channels, retries, secrets).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifySettings {
    /// A file holding the 32-byte key (base64) that encrypts channel
    /// secrets at rest. Unset: only secrets referenced from the
    /// environment (`secret_env`) are accepted.
    pub secrets_key_file: Option<String>,
    /// Development only: webhooks over plain http, and to loopback or
    /// private addresses (refused otherwise: SSRF).
    pub allow_insecure_webhooks: bool,
    /// Attempts before a delivery is DEAD.
    pub max_attempts: u32,
    /// The first retry's wait; each next doubles (with jitter), up to
    /// `retry_max_ms`.
    pub retry_base_ms: u64,
    pub retry_max_ms: u64,
    /// The page's address, for links in messages ("https://attain.example.com").
    pub dashboard_url: String,
    /// E-mail: the SMTP relay ("smtp.example.com:587"), always STARTTLS;
    /// credentials from the environment.
    pub smtp_relay: Option<String>,
    /// A CA (PEM) the relay's certificate may come from besides the public
    /// roots (a private relay; tests).
    pub smtp_ca_file: Option<String>,
    pub smtp_from: String,
    pub smtp_username_env: Option<String>,
    pub smtp_password_env: Option<String>,
    /// How often reports coming due are looked for and subscriptions are
    /// checked against the tree as it is now (a lead time is minutes).
    pub pass_interval_ms: u64,
}

impl Default for NotifySettings {
    fn default() -> Self {
        Self {
            secrets_key_file: None,
            allow_insecure_webhooks: false,
            max_attempts: 8,
            retry_base_ms: 2_000,
            retry_max_ms: 3_600_000,
            dashboard_url: "http://127.0.0.1:8080".into(),
            smtp_relay: None,
            smtp_ca_file: None,
            smtp_from: "attain@localhost".into(),
            smtp_username_env: None,
            smtp_password_env: None,
            pass_interval_ms: 60_000,
        }
    }
}

/// The reporting rhythm (tracking): when daily logs and weekly summaries
/// are due. Checked at start-up; a bad value names its key.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CadenceSettings {
    /// The organisation's IANA zone ("Asia/Shanghai"): deadlines and
    /// "today" are its wall clock.
    pub time_zone: String,
    /// "HH:MM": a working day's log is due that day by then.
    pub daily_log_cutoff: String,
    /// The weekday of the next week a week's summary is due ("monday").
    pub weekly_summary_day: String,
    /// "HH:MM" on that day; "24:00" is its end.
    pub weekly_summary_cutoff: String,
    /// The day of the next month a month's review is due (1–28; review).
    pub monthly_review_day: u32,
    /// "HH:MM" on that day.
    pub monthly_review_cutoff: String,
}

impl CadenceSettings {
    /// The rules these settings say, or the key at fault.
    pub fn rules(&self) -> Result<attain_core::cadence::Rules, attain_core::DomainError> {
        attain_core::cadence::Rules::parse(
            &self.time_zone,
            &self.daily_log_cutoff,
            &self.weekly_summary_day,
            &self.weekly_summary_cutoff,
        )?
        .with_monthly_review(self.monthly_review_day, &self.monthly_review_cutoff)
    }
}

impl Default for CadenceSettings {
    fn default() -> Self {
        Self {
            time_zone: "UTC".to_owned(),
            daily_log_cutoff: "18:00".to_owned(),
            weekly_summary_day: "monday".to_owned(),
            weekly_summary_cutoff: "24:00".to_owned(),
            monthly_review_day: 5,
            monthly_review_cutoff: "24:00".to_owned(),
        }
    }
}

/// How tracking's alerts behave over time.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertSettings {
    /// Percentage points of expected-to-date a unit must clear above a
    /// threshold before its alert eases or resolves.
    pub hysteresis_percent: u32,
    /// Working days an alert may stay unacknowledged before it escalates
    /// one manager up (0: never).
    pub escalate_after_working_days: u32,
    /// Working days without a deal or daily log before a rep's data is
    /// stale (0: no stale-data alerts).
    pub stale_after_working_days: u32,
}

impl Default for AlertSettings {
    fn default() -> Self {
        Self { hysteresis_percent: 5, escalate_after_working_days: 3, stale_after_working_days: 5 }
    }
}

/// The gateway's dashboard cache.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheSettings {
    /// How long a dashboard may be served from the cache; 0 turns caching
    /// (but not the coalescing of identical concurrent calls) off. New
    /// deals invalidate earlier when jobs.service_token lets the gateway
    /// watch tracking's roll-up changes.
    pub dashboard_ttl_ms: u64,
    /// At most this many dashboards are kept.
    pub dashboard_entries: usize,
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self { dashboard_ttl_ms: 5_000, dashboard_entries: 10_000 }
    }
}

/// Background work a service does on its own.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JobSettings {
    /// Days a write's request id (and its stored reply) is kept: a retry
    /// within them replays the first reply, one after them is a new
    /// request. 0 keeps them forever. Tracking prunes on its evaluator.
    pub request_id_retention_days: u32,
    /// Hours change feed rows (roll-up changes, alert events) are kept for
    /// watchers resuming; one resuming from before is told to refresh.
    /// 0 keeps them forever.
    pub feed_retention_hours: u32,
    /// Seconds between scheduled full alert passes (tracking: units with
    /// no activity fall behind too); 0 turns them off. Default 60.
    pub alert_evaluation_seconds: u64,
    /// The token scheduled work calls other services with (an ADMIN service
    /// account's): development and tests. In production use
    /// `service_account` and `signing_key_file` instead.
    pub service_token: Option<SecretString>,
    /// The service account scheduled work runs as (e.g. "svc-tracking"),
    /// minting itself short-lived tokens with `signing_key_file` — a PEM
    /// private key (ES256 or Ed25519) only this service holds; the others
    /// know its public key (`auth.service_keys`).
    pub service_account: Option<String>,
    pub signing_key_file: Option<String>,
}

impl Default for JobSettings {
    fn default() -> Self {
        Self {
            request_id_retention_days: 30,
            feed_retention_hours: 7 * 24,
            alert_evaluation_seconds: 60,
            service_token: None,
            service_account: None,
            signing_key_file: None,
        }
    }
}

/// What "today" is. Unset means the system date; a fixed date serves demos
/// and tests of past periods (the guide's January 2024).
#[derive(Debug, Clone, Copy, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ClockSettings {
    pub today: Option<chrono::NaiveDate>,
    /// With a fixed date, the wall-clock time it stays at ("17:30:00");
    /// unset, the date's clock runs with the real one.
    pub time_of_day: Option<chrono::NaiveTime>,
}

impl ClockSettings {
    /// The fixed date, else the process's (`set_process_today`), else the
    /// system date.
    pub fn today(&self) -> chrono::NaiveDate {
        self.fixed_today().unwrap_or_else(|| chrono::Utc::now().date_naive())
    }

    /// Now. With a fixed date (a demo of the guide's January, a test), the
    /// wall clock of `zone` on that date (at `time_of_day`, else the real
    /// time of day there): records written then are stamped with it, so
    /// deadlines judge them as of that day.
    pub fn now_in(&self, zone: chrono_tz::Tz) -> chrono::DateTime<chrono::Utc> {
        use chrono::TimeZone;
        let Some(day) = self.fixed_today() else { return chrono::Utc::now() };
        let time = self.time_of_day.unwrap_or_else(|| chrono::Utc::now().with_timezone(&zone).time());
        let local = day.and_time(time);
        match zone.from_local_datetime(&local) {
            chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => t.with_timezone(&chrono::Utc),
            chrono::LocalResult::None => local.and_utc(),
        }
    }

    /// Today in `zone`: the fixed date, else that zone's date now.
    pub fn today_in(&self, zone: chrono_tz::Tz) -> chrono::NaiveDate {
        self.fixed_today().unwrap_or_else(|| chrono::Utc::now().with_timezone(&zone).date_naive())
    }

    /// The fixed date, else the process's, if either is set.
    pub fn fixed_today(&self) -> Option<chrono::NaiveDate> {
        self.today.or_else(process_today)
    }
}

/// Days from the common era of the process's "today" (0: unset).
static PROCESS_TODAY: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

/// Sets "today" for every service of this process without a fixed date:
/// a walk through a year in one run (the services of a test suite live in
/// the test's process). `None` goes back to the system date.
pub fn set_process_today(day: Option<chrono::NaiveDate>) {
    use chrono::Datelike;
    PROCESS_TODAY.store(day.map_or(0, |d| d.num_days_from_ce()), std::sync::atomic::Ordering::SeqCst);
}

fn process_today() -> Option<chrono::NaiveDate> {
    match PROCESS_TODAY.load(std::sync::atomic::Ordering::SeqCst) {
        0 => None,
        n => chrono::NaiveDate::from_num_days_from_ce_opt(n),
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    pub host: IpAddr,
    /// 0 picks a free port (tests).
    pub port: u16,
    /// Upper bound on any one call, whatever deadline the client sent.
    pub request_timeout_ms: u64,
    pub max_message_bytes: usize,
    /// Calls served at once across all connections; more wait up to
    /// `queue_timeout_ms` for a slot, then are shed (RESOURCE_EXHAUSTED).
    pub concurrency_limit: usize,
    pub queue_timeout_ms: u64,
    /// After SIGTERM: health says NOT_SERVING for this long before the
    /// listener closes, so load balancers stop sending new calls.
    pub drain_delay_ms: u64,
    /// Then in-flight calls get this long to finish; connections still open
    /// after it (a client watching a stream) are closed.
    pub shutdown_grace_ms: u64,
    /// Calls a second each signed-in person may make (the gateway enforces
    /// it); 0 means no limit.
    pub rate_limit_per_caller: u32,
    /// Calls a caller may make at once above the rate.
    pub rate_limit_burst: u32,
    /// Calls a second from one source address that bring no valid token
    /// (every server), with bursts of twice that; 0 means no limit.
    pub rate_limit_unauthenticated_per_address: u32,
    /// Serve gRPC reflection (on in development; production may hide its
    /// API's shape).
    pub reflection: bool,
    /// Where `/metrics` is served: its own listener, kept off the public
    /// port (0 picks a free port).
    pub admin_host: IpAddr,
    pub admin_port: u16,
    /// TLS: the server's certificate chain and key (PEM), reloaded when
    /// the files change. Unset: plaintext (`attain up` on loopback).
    pub tls_cert_file: Option<String>,
    pub tls_key_file: Option<String>,
    /// Mutual TLS: callers must present a certificate from this CA (PEM).
    pub client_ca_file: Option<String>,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            host: IpAddr::from([127, 0, 0, 1]),
            port: 0,
            request_timeout_ms: 30_000,
            max_message_bytes: 16 * 1024 * 1024,
            concurrency_limit: 512,
            queue_timeout_ms: 500,
            drain_delay_ms: 0,
            shutdown_grace_ms: 10_000,
            // A dashboard page makes about ten calls; a person clicking
            // fast stays far below, a script looping does not.
            rate_limit_per_caller: 100,
            rate_limit_burst: 300,
            rate_limit_unauthenticated_per_address: 20,
            reflection: true,
            admin_host: IpAddr::from([127, 0, 0, 1]),
            admin_port: 0,
            tls_cert_file: None,
            tls_key_file: None,
            client_ca_file: None,
        }
    }
}

impl ServerSettings {
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// `sqlite://path/file.db` or `postgres://user:pass@host/db`; secret
    /// because it may hold a password.
    pub url: SecretString,
    pub max_connections: u32,
    pub connect_timeout_ms: u64,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self { url: SecretString::from(""), max_connections: 16, connect_timeout_ms: 5_000 }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    pub issuer: String,
    pub audience: String,
    /// Development only: HS256 shared secret.
    pub hs256_secret: Option<SecretString>,
    /// Production: PEM public keys (RSA → RS256, EC P-256 → ES256).
    pub public_key_files: Vec<String>,
    /// Clock skew allowed on `exp`, `nbf` and `iat`.
    pub leeway_seconds: u64,
    /// Signs page tokens (HMAC-SHA256), the same on every replica of a
    /// deployment. Unset: derived from `hs256_secret` when there is one,
    /// else random per process (tokens then only continue on the replica
    /// that made them).
    pub page_token_key: Option<SecretString>,
    /// OpenID Connect: the company identity provider's issuer URL (its
    /// discovery document names the JWKS). Its tokens carry `iss` = this.
    pub oidc_issuer: Option<String>,
    /// The CA of the provider's HTTPS certificate (default: public roots).
    pub oidc_ca_file: Option<String>,
    /// How often the provider's keys are fetched again.
    pub jwks_refresh_seconds: u64,
    /// The claims an identity provider's token carries role and unit in
    /// (a string or a list, e.g. `groups`), and what its values mean:
    /// `role_map = { "sales-ops" = "admin", "managers" = "manager" }`.
    pub role_claim: String,
    pub unit_claim: String,
    pub role_map: std::collections::BTreeMap<String, String>,
    /// Service accounts' public keys (PEM), by account: a token signed with
    /// one is accepted only for that account, only short-lived.
    pub service_keys: std::collections::BTreeMap<String, String>,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            issuer: "attain".to_owned(),
            audience: "attain".to_owned(),
            hs256_secret: None,
            public_key_files: Vec::new(),
            leeway_seconds: 60,
            page_token_key: None,
            oidc_issuer: None,
            oidc_ca_file: None,
            jwks_refresh_seconds: 300,
            role_claim: "role".to_owned(),
            unit_claim: "unit".to_owned(),
            role_map: std::collections::BTreeMap::new(),
            service_keys: std::collections::BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Pretty,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetrySettings {
    /// `tracing` filter directives, e.g. "info,attain_target=debug";
    /// `RUST_LOG` wins when set.
    pub filter: String,
    pub format: LogFormat,
    /// OTLP/gRPC collector for traces (e.g. "http://otel-collector:4317");
    /// the standard `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` /
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` when unset; no traces when neither is.
    pub otlp_endpoint: Option<String>,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        Self { filter: "info".to_owned(), format: LogFormat::Pretty, otlp_endpoint: None }
    }
}

impl TelemetrySettings {
    /// The defaults under the `APP__TELEMETRY__*` variables of `env`: how
    /// a process running the whole suite (`attain up`, `demo`) logs and
    /// traces — its services share one subscriber.
    pub fn from_env(env: impl IntoIterator<Item = (String, String)>) -> anyhow::Result<Self> {
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct Only {
            telemetry: TelemetrySettings,
        }
        let env: config::Map<String, String> =
            env.into_iter().filter(|(k, _)| k.starts_with("APP__TELEMETRY__")).collect();
        let source = Environment::with_prefix("APP").prefix_separator("__").separator("__").source(Some(env));
        let only: Only = Config::builder()
            .add_source(source)
            .build()?
            .try_deserialize()
            .map_err(|e| anyhow::anyhow!("telemetry settings: {e}"))?;
        Ok(only.telemetry)
    }
}

/// Addresses of the services this one calls (`http://host:port`, or
/// `https://` with `ca_file`).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct UpstreamSettings {
    pub target_url: Option<String>,
    pub tracking_url: Option<String>,
    pub review_url: Option<String>,
    pub notify_url: Option<String>,
    /// For `https://` upstreams: the CA their certificates come from (PEM).
    pub ca_file: Option<String>,
    /// Mutual TLS: this service's own certificate and key (PEM).
    pub client_cert_file: Option<String>,
    pub client_key_file: Option<String>,
    /// The name to check in upstream certificates when the URL's host is
    /// not it (e.g. an address).
    pub server_name: Option<String>,
}

impl Settings {
    /// Loads a service's settings. `default_port` and the SQLite file under
    /// `data/` are the laptop defaults.
    pub fn load(service: &str, default_port: u16) -> anyhow::Result<Self> {
        let file = std::env::var("APP_CONFIG_FILE").ok();
        Self::load_from(service, default_port, file.as_deref(), std::env::vars())
    }

    /// [`Settings::load`] with the file and environment given (testable).
    pub fn load_from(
        service: &str,
        default_port: u16,
        file: Option<&str>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> anyhow::Result<Self> {
        let mut builder = Config::builder()
            .set_default("server.port", i64::from(default_port))?
            .set_default("database.url", format!("sqlite://data/{service}.db"))?;
        match file {
            Some(path) => {
                anyhow::ensure!(Path::new(path).exists(), "configuration file {path} does not exist");
                builder = builder.add_source(File::new(path, FileFormat::Toml));
            }
            None => {
                builder = builder.add_source(File::new(&format!("config/{service}"), FileFormat::Toml).required(false));
            }
        }
        let env: config::Map<String, String> = env.into_iter().filter(|(k, _)| k.starts_with("APP__")).collect();
        builder = builder.add_source(
            Environment::with_prefix("APP")
                .prefix_separator("__")
                .separator("__")
                .list_separator(",")
                .with_list_parse_key("auth.public_key_files")
                .try_parsing(true)
                .source(Some(env)),
        );
        let settings: Settings =
            builder.build()?.try_deserialize().map_err(|e| anyhow::anyhow!("configuration of {service}: {e}"))?;
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_suites_telemetry_follows_its_variables() {
        let t = TelemetrySettings::from_env(env(&[
            ("APP__TELEMETRY__FORMAT", "json"),
            ("APP__TELEMETRY__FILTER", "warn"),
            ("APP__SERVER__PORT", "1"),
        ]))
        .unwrap();
        assert_eq!((t.format, t.filter.as_str()), (LogFormat::Json, "warn"));
        assert_eq!(TelemetrySettings::from_env(env(&[])).unwrap().format, LogFormat::Pretty);
        let bad = TelemetrySettings::from_env(env(&[("APP__TELEMETRY__FORMAT", "xml")])).unwrap_err();
        assert!(bad.to_string().contains("telemetry"), "{bad}");
    }

    #[test]
    fn defaults_then_environment() {
        let s = Settings::load_from(
            "target",
            50051,
            None,
            env(&[("APP__SERVER__PORT", "6000"), ("APP__AUTH__HS256_SECRET", "s3cr3t-s3cr3t-s3cr3t")]),
        )
        .unwrap();
        assert_eq!(s.server.port, 6000);
        assert_eq!(s.database.url.expose_secret(), "sqlite://data/target.db");
        assert_eq!(s.auth.hs256_secret.as_ref().unwrap().expose_secret(), "s3cr3t-s3cr3t-s3cr3t");
        let printed = format!("{s:?}");
        assert!(!printed.contains("s3cr3t"), "secrets must not print: {printed}");
    }

    #[test]
    fn unknown_keys_are_errors() {
        let err = Settings::load_from("target", 1, None, env(&[("APP__SERVER__PROT", "1")])).unwrap_err();
        assert!(err.to_string().contains("prot"), "{err}");
    }

    #[test]
    fn file_then_environment() {
        let dir = std::env::temp_dir().join(format!("attain-cfg-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.toml");
        std::fs::write(&path, "[server]\nport = 7000\nconcurrency_limit = 3\n[telemetry]\nformat = \"json\"\n")
            .unwrap();
        let s = Settings::load_from("target", 1, path.to_str(), env(&[("APP__SERVER__PORT", "7001")])).unwrap();
        assert_eq!((s.server.port, s.server.concurrency_limit, s.telemetry.format), (7001, 3, LogFormat::Json));
        assert!(Settings::load_from("target", 1, Some("/nonexistent.toml"), env(&[])).is_err());
    }
}
