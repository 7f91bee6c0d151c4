//! `attain`: runs the whole suite on one machine (each service with its own
//! SQLite file under a data directory) and mints development tokens.

use std::{net::IpAddr, path::PathBuf, process::ExitCode};

use anyhow::Context;
use attain_kit::{
    auth::{Role, TokenMinter},
    configuration::{AuthSettings, DatabaseSettings, ServerSettings, Settings, TelemetrySettings},
    server::GrpcServer,
};
use clap::{Parser, Subcommand, ValueEnum};
use secrecy::SecretString;

mod commands;

#[derive(Parser, Debug)]
#[command(name = "attain", version, about = "Attain sales-target suite")]
struct Cli {
    /// Where each service keeps its SQLite file and the development secret.
    #[arg(long, global = true, default_value = "data", env = "ATTAIN_DATA_DIR")]
    data_dir: PathBuf,
    /// On failure, also print the gRPC status (code, message, request id).
    #[arg(long, short, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

/// Where `up` and `demo` listen.
#[derive(clap::Args, Debug, Clone, Copy)]
struct Listen {
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Gateway port; target, tracking, review and notify take the next four.
    #[arg(long, default_value_t = 50050)]
    base_port: u16,
    /// The gateway's `/metrics` (and health) port; the services' take the
    /// next four, as their gRPC ports do. 0: free ports, printed at start.
    #[arg(long, default_value_t = 0)]
    metrics_base_port: u16,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Runs target, tracking, review, notify and the gateway until Ctrl-C.
    Up(Listen),
    /// `up` with the guide's example loaded (the clock of tracking and review
    /// stands on 2024-01-16, the day of the example's alert).
    Demo(Listen),
    /// Runs one service alone, configured by APP_CONFIG_FILE (or
    /// config/<service>.toml) and APP__… variables, as in Kubernetes.
    Serve {
        #[arg(value_enum)]
        service: commands::Service,
    },
    /// Applies one service's database migrations and exits.
    Migrate {
        #[arg(value_enum)]
        service: commands::Service,
    },
    /// Imports deals from a CSV or XLSX file through the gateway, with progress.
    Import(commands::ImportArgs),
    /// Writes a review's report through the gateway.
    Report {
        /// "reviews/{id}" or the bare id.
        review: String,
        #[arg(long, value_enum, default_value = "markdown")]
        format: ReportFormatArg,
        #[arg(long, value_enum, default_value = "zh")]
        lang: LangArg,
        /// XLSX amounts in yuan (the currency's unit) or in 万 (wan).
        #[arg(long, value_enum, default_value = "yuan")]
        money_unit: MoneyUnitArg,
        /// Where to write it (default: the report's own file name).
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long, default_value = "http://127.0.0.1:50050", env = "ATTAIN_GATEWAY")]
        gateway: String,
        #[arg(long, env = "ATTAIN_TOKEN")]
        token: String,
    },
    /// Recomputes every figure shown for a plan, a unit's subtree and a
    /// period from the raw records (through the gateway, with your token)
    /// and lists each difference: exit 0 when clean, 1 on any difference,
    /// 2 when the audit could not run (no such plan, out of scope, …).
    Audit {
        /// "plans/{plan_id}"
        #[arg(long)]
        plan: String,
        /// Period expression, e.g. 2024-01, 2024-Q1, 2024-W03.
        #[arg(long)]
        period: String,
        /// "units/{unit_id}" (default: the plan's top unit).
        #[arg(long, default_value = "")]
        unit: String,
        /// The day figures are measured at, YYYY-MM-DD: the services' today
        /// (open review briefs are drawn on it; `attain demo` stands on
        /// 2024-01-16). Required: a guessed day would report differences
        /// that are only a different day.
        #[arg(long)]
        as_of: chrono::NaiveDate,
        #[arg(long, default_value = "http://127.0.0.1:50050", env = "ATTAIN_GATEWAY")]
        gateway: String,
        #[arg(long, env = "ATTAIN_TOKEN")]
        token: String,
    },
    /// Mints a development token (HS256, the data directory's secret).
    Token {
        #[arg(long, value_enum)]
        role: RoleArg,
        /// The unit the role applies to, e.g. "region-a" (not needed for admin).
        #[arg(long, default_value = "")]
        unit: String,
        #[arg(long, default_value = "dev")]
        person: String,
        /// Lifetime in hours.
        #[arg(long, default_value_t = 12)]
        hours: u64,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum ReportFormatArg {
    Markdown,
    Xlsx,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum MoneyUnitArg {
    Yuan,
    Wan,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum LangArg {
    Zh,
    En,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum RoleArg {
    Admin,
    Manager,
    Rep,
    Viewer,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Admin => Role::Admin,
            RoleArg::Manager => Role::Manager,
            RoleArg::Rep => Role::Rep,
            RoleArg::Viewer => Role::Viewer,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Audit { plan, period, unit, as_of, gateway, token } = &cli.command {
        let audit =
            attain::audit::Audit { plan: plan.clone(), unit: unit.clone(), period: period.clone(), as_of: *as_of };
        return commands::audit(&audit, gateway, token, cli.verbose);
    }
    let verbose = cli.verbose;
    let telemetry = match TelemetrySettings::from_env(std::env::vars()) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    let outcome =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(anyhow::Error::from).and_then(|rt| {
            // Inside the runtime: the OTLP exporter (when configured) sets
            // up its channel there.
            // `serve` sets up its own, from the service's settings.
            if !matches!(cli.command, Command::Serve { .. }) {
                rt.block_on(async { attain_kit::telemetry::init(&telemetry, "suite") });
            }
            let done = rt.block_on(async {
                match cli.command {
                    Command::Up(at) => up(&cli.data_dir, at, telemetry, false).await,
                    Command::Demo(at) => up(&cli.data_dir, at, telemetry, true).await,
                    Command::Serve { service } => commands::serve(service).await,
                    Command::Migrate { service } => commands::migrate(service).await,
                    Command::Import(args) => commands::import(args).await,
                    Command::Report { review, format, lang, money_unit, out, gateway, token } => {
                        let what = commands::ReportWanted {
                            markdown: format == ReportFormatArg::Markdown,
                            english: lang == LangArg::En,
                            wan: money_unit == MoneyUnitArg::Wan,
                        };
                        commands::report(&review, what, out.as_deref(), &gateway, &token).await
                    }
                    Command::Audit { .. } => Ok(()), // handled above: its own exit codes
                    Command::Token { role, unit, person, hours } => {
                        let secret = dev_secret(&cli.data_dir)?;
                        println!("{}", minter(&secret).mint(&person, role.into(), &unit, hours * 3600)?);
                        Ok(())
                    }
                }
            });
            // The spans of the last seconds leave before the process does
            // (the runtime, which the exporter's connection runs on, still
            // stands).
            attain_kit::telemetry::shutdown();
            done
        });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("attain: {}", attain::cli_error::explain(&e, verbose));
            ExitCode::FAILURE
        }
    }
}

fn minter(secret: &SecretString) -> TokenMinter {
    let auth = AuthSettings::default();
    TokenMinter::hs256(secret, &auth.issuer, &auth.audience)
}

/// The development signing secret, made once per data directory.
fn dev_secret(data_dir: &std::path::Path) -> anyhow::Result<SecretString> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create data directory {}", data_dir.display()))?;
    let path = data_dir.join("dev-secret");
    if let Ok(s) = std::fs::read_to_string(&path) {
        return Ok(SecretString::from(s.trim().to_owned()));
    }
    let secret = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    std::fs::write(&path, &secret).with_context(|| format!("cannot write {}", path.display()))?;
    // Whoever reads it can mint any token: the owner only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot restrict {}", path.display()))?;
    }
    Ok(SecretString::from(secret))
}

/// The key notify seals channel secrets with on this laptop: made once,
/// kept beside the databases, readable by the owner only.
fn dev_notify_key(data_dir: &std::path::Path) -> anyhow::Result<String> {
    let path = data_dir.join("notify-secrets.key");
    if !path.exists() {
        let key: Vec<u8> =
            uuid::Uuid::new_v4().as_bytes().iter().chain(uuid::Uuid::new_v4().as_bytes()).copied().collect();
        use base64::Engine;
        std::fs::write(&path, base64::engine::general_purpose::STANDARD.encode(key))
            .with_context(|| format!("cannot write {}", path.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                .with_context(|| format!("cannot restrict {}", path.display()))?;
        }
    }
    Ok(path.display().to_string())
}

async fn up(data_dir: &std::path::Path, at: Listen, telemetry: TelemetrySettings, demo: bool) -> anyhow::Result<()> {
    let Listen { host, base_port, metrics_base_port } = at;
    let secret = dev_secret(data_dir)?;
    let today = demo
        .then(|| chrono::NaiveDate::from_ymd_opt(attain::demo::TODAY.0, attain::demo::TODAY.1, attain::demo::TODAY.2))
        .flatten();
    // Each service's metrics port sits as far from the metrics base as its
    // gRPC port from the gateway's.
    let admin_port = |port: u16| match metrics_base_port {
        0 => 0,
        m => m.saturating_add(port.saturating_sub(base_port)),
    };
    let settings = |service: &str, port: u16| Settings {
        server: ServerSettings { host, port, admin_port: admin_port(port), ..ServerSettings::default() },
        database: DatabaseSettings {
            url: SecretString::from(format!("sqlite://{}", data_dir.join(format!("{service}.db")).display())),
            ..DatabaseSettings::default()
        },
        auth: AuthSettings { hs256_secret: Some(secret.clone()), ..AuthSettings::default() },
        telemetry: telemetry.clone(),
        ..Settings::default()
    };
    // Build everything first: if one part cannot start, nothing runs.
    let notify_key = dev_notify_key(data_dir)?;
    let parts = build_parts(&settings, base_port, (&secret, notify_key), today).await?;
    welcome(data_dir, &parts, &secret, demo)?;
    run_all(parts).await
}

/// The suite's four parts, built (bound, migrated) but not yet serving.
struct Parts {
    target: GrpcServer,
    tracking: GrpcServer,
    review: GrpcServer,
    notify: GrpcServer,
    gateway: attain_gateway::startup::Application,
}

async fn build_parts(
    settings: &impl Fn(&str, u16) -> Settings,
    base_port: u16,
    (secret, notify_key): (&SecretString, String),
    today: Option<chrono::NaiveDate>,
) -> anyhow::Result<Parts> {
    let mut target_settings = settings("target", base_port + 1);
    target_settings.clock.today = today;
    let target = attain_target::startup::Application::build(target_settings).await.context("target service")?;
    let mut tracking_settings = settings("tracking", base_port + 2);
    tracking_settings.clock.today = today;
    if today.is_some() {
        // The guide's organisation reports on Shanghai's clock, at 17:00
        // on the demo's day: today's logs are still due, whatever the
        // real time of day.
        tracking_settings.cadence.time_zone = "Asia/Shanghai".into();
        tracking_settings.clock.time_of_day = chrono::NaiveTime::from_hms_opt(17, 0, 0);
    }
    tracking_settings.upstream.target_url = Some(format!("http://{}", target.local_addr()));
    // Scheduled alert evaluation runs as a development service account.
    tracking_settings.jobs.alert_evaluation_seconds = 60;
    tracking_settings.jobs.service_token =
        Some(SecretString::from(minter(secret).mint("svc-tracking", Role::Admin, "", 365 * 24 * 3600)?));
    let (cadence, time_of_day) = (tracking_settings.cadence.clone(), tracking_settings.clock.time_of_day);
    let tracking = attain_tracking::startup::Application::build(tracking_settings).await.context("tracking service")?;
    let mut review_settings = settings("review", base_port + 3);
    review_settings.clock.today = today;
    review_settings.cadence = cadence.clone();
    review_settings.clock.time_of_day = time_of_day;
    review_settings.upstream.target_url = Some(format!("http://{}", target.local_addr()));
    review_settings.upstream.tracking_url = Some(format!("http://{}", tracking.local_addr()));
    // Closed monthly reviews are told to tracking as a service account.
    review_settings.jobs.service_token =
        Some(SecretString::from(minter(secret).mint("svc-review", Role::Admin, "", 365 * 24 * 3600)?));
    let review = attain_review::startup::Application::build(review_settings).await.context("review service")?;
    let mut notify_settings = settings("notify", base_port + 4);
    notify_settings.clock.today = today;
    notify_settings.clock.time_of_day = time_of_day;
    notify_settings.cadence = cadence.clone();
    notify_settings.upstream.target_url = Some(format!("http://{}", target.local_addr()));
    notify_settings.upstream.tracking_url = Some(format!("http://{}", tracking.local_addr()));
    notify_settings.upstream.review_url = Some(format!("http://{}", review.local_addr()));
    notify_settings.notify.secrets_key_file = Some(notify_key);
    // A laptop: robots and webhooks may be tried against local receivers.
    notify_settings.notify.allow_insecure_webhooks = true;
    notify_settings.notify.dashboard_url = format!("http://{}:{base_port}", notify_settings.server.host);
    notify_settings.jobs.service_token =
        Some(SecretString::from(minter(secret).mint("svc-notify", Role::Admin, "", 365 * 24 * 3600)?));
    let notify = attain_notify::startup::Application::build(notify_settings).await.context("notify service")?;
    let mut gateway_settings = settings("gateway", base_port);
    gateway_settings.clock.today = today;
    // The dashboard cache watches tracking's roll-up changes as a service account.
    gateway_settings.jobs.service_token =
        Some(SecretString::from(minter(secret).mint("svc-gateway", Role::Admin, "", 365 * 24 * 3600)?));
    gateway_settings.upstream.target_url = Some(format!("http://{}", target.local_addr()));
    gateway_settings.upstream.tracking_url = Some(format!("http://{}", tracking.local_addr()));
    gateway_settings.upstream.review_url = Some(format!("http://{}", review.local_addr()));
    gateway_settings.upstream.notify_url = Some(format!("http://{}", notify.local_addr()));
    let gateway = attain_gateway::startup::Application::build(gateway_settings).await.context("gateway")?;

    Ok(Parts { target, tracking, review, notify, gateway })
}

/// Where everything listens, and tokens to start with.
fn welcome(data_dir: &std::path::Path, p: &Parts, secret: &SecretString, demo: bool) -> anyhow::Result<()> {
    let Parts { target, tracking, review, notify, gateway } = p;
    println!("Attain is up (data in {}):", data_dir.display());
    println!("  dashboard http://{}/", gateway.local_addr());
    println!("  REST      http://{}/v1/… (OpenAPI: /openapi.json)", gateway.local_addr());
    println!("  gateway   grpc://{}", gateway.local_addr());
    println!("  target    grpc://{}", target.local_addr());
    println!("  tracking  grpc://{}", tracking.local_addr());
    println!("  review    grpc://{}", review.local_addr());
    println!("  notify    grpc://{} (webhooks may be http or local here: development)", notify.local_addr());
    println!(
        "  metrics   http://{}/metrics (gateway), http://{}/metrics (target), http://{}/metrics (tracking), http://{}/metrics (review), http://{}/metrics (notify)",
        gateway.admin_addr(),
        target.admin_addr(),
        tracking.admin_addr(),
        review.admin_addr(),
        notify.admin_addr()
    );
    match std::env::var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").or_else(|_| std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT"))
    {
        Ok(endpoint) if !endpoint.trim().is_empty() => println!("  traces    OTLP/gRPC to {endpoint}"),
        _ => println!(
            "  traces    off: start with OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317 and a collector there \
             (python3 examples/python/print_traces.py prints them)"
        ),
    }
    println!("Admin token (12 h):\n  {}", minter(secret).mint("admin", Role::Admin, "", 12 * 3600)?);
    println!("Ctrl-C stops everything.");
    if demo {
        let admin = minter(secret).mint("admin", Role::Admin, "", 3600)?;
        let addrs = (target.local_addr(), tracking.local_addr(), review.local_addr());
        println!("Region A manager token:\n  {}", minter(secret).mint("wang", Role::Manager, "region-a", 12 * 3600)?);
        println!("Rep 1 token:\n  {}", minter(secret).mint("rep-1", Role::Rep, "rep-1", 12 * 3600)?);
        tokio::spawn(async move {
            if let Err(e) = attain::demo::seed(addrs.0, addrs.1, addrs.2, admin).await {
                eprintln!("attain demo: loading the example failed: {e:#}");
            }
        });
    }

    Ok(())
}

/// Serves until Ctrl-C (or until one part fails: the others stop with it).
async fn run_all(p: Parts) -> anyhow::Result<()> {
    let Parts { target, tracking, review, notify, gateway } = p;
    let (tx, _) = tokio::sync::broadcast::channel::<()>(1);
    let stop = |tx: &tokio::sync::broadcast::Sender<()>| {
        let mut rx = tx.subscribe();
        async move {
            let _ = rx.recv().await;
        }
    };
    let servers = futures::future::try_join5(
        target.run_until_stopped(stop(&tx)),
        tracking.run_until_stopped(stop(&tx)),
        review.run_until_stopped(stop(&tx)),
        notify.run_until_stopped(stop(&tx)),
        gateway.run_until_stopped(stop(&tx)),
    );
    tokio::pin!(servers);
    tokio::select! {
        // One server failed: the others stop with it.
        served = &mut servers => {
            let _ = tx.send(());
            served.map(|_| ())
        }
        () = attain_kit::server::shutdown_signal() => {
            let _ = tx.send(());
            servers.await.map(|_| ())
        }
    }
}
