//! The `attain` subcommands beyond `up`/`demo`/`token`: one service alone
//! (`serve`, as in Kubernetes), its migrations (`migrate`), and the two
//! client chores a sales-ops lead runs from a terminal (`import`, `report`),
//! both through the gateway.

use std::{io::Write, path::Path, time::Duration};

use anyhow::Context;
use attain_kit::configuration::Settings;
use attain_proto::attain::{
    common::v1::Language,
    review::v1::{GenerateReportRequest, ReportFormat, review_service_client::ReviewServiceClient},
    tracking::v1::{
        FileFormat, ImportDealsRequest, ImportHeader, import_deals_request::Part,
        tracking_service_client::TrackingServiceClient,
    },
};
use tokio_stream::StreamExt;
use tonic::{Request, transport::Channel};

/// The services `serve` and `migrate` know.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    Target,
    Tracking,
    Review,
    Gateway,
}

impl Service {
    fn name(self) -> &'static str {
        match self {
            Self::Target => "target",
            Self::Tracking => "tracking",
            Self::Review => "review",
            Self::Gateway => "gateway",
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Self::Target => attain_target::startup::DEFAULT_PORT,
            Self::Tracking => attain_tracking::startup::DEFAULT_PORT,
            Self::Review => attain_review::startup::DEFAULT_PORT,
            Self::Gateway => attain_gateway::startup::DEFAULT_PORT,
        }
    }

    fn settings(self) -> anyhow::Result<Settings> {
        Settings::load(self.name(), self.default_port())
    }
}

/// Runs one service until Ctrl-C/SIGTERM, configured like its own binary
/// (`APP_CONFIG_FILE` or `config/<service>.toml`, then `APP__…`).
pub async fn serve(service: Service) -> anyhow::Result<()> {
    let settings = service.settings()?;
    let stop = attain_kit::server::shutdown_signal();
    match service {
        Service::Target => attain_target::startup::Application::build(settings).await?.run_until_stopped(stop).await,
        Service::Tracking => {
            attain_tracking::startup::Application::build(settings).await?.run_until_stopped(stop).await
        }
        Service::Review => attain_review::startup::Application::build(settings).await?.run_until_stopped(stop).await,
        Service::Gateway => attain_gateway::startup::Application::build(settings).await?.run_until_stopped(stop).await,
    }
}

/// Applies a service's migrations to its configured database and exits.
pub async fn migrate(service: Service) -> anyhow::Result<()> {
    let settings = service.settings()?;
    let db = &settings.database;
    match service {
        Service::Target => drop(attain_kit::db::connect_and_migrate::<attain_target::migration::Migrator>(db).await?),
        Service::Tracking => {
            drop(attain_kit::db::connect_and_migrate::<attain_tracking::migration::Migrator>(db).await?);
        }
        Service::Review => drop(attain_kit::db::connect_and_migrate::<attain_review::migration::Migrator>(db).await?),
        Service::Gateway => anyhow::bail!("the gateway has no database"),
    }
    println!("{}: migrations applied", service.name());
    Ok(())
}

async fn gateway(url: &str) -> anyhow::Result<Channel> {
    Channel::from_shared(url.to_owned())
        .with_context(|| format!("{url} is not a URL"))?
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .with_context(|| format!("cannot reach the gateway at {url}"))
}

fn authed<T>(token: &str, msg: T) -> anyhow::Result<Request<T>> {
    let mut r = Request::new(msg);
    r.metadata_mut().insert("authorization", format!("Bearer {token}").parse().context("the token is not valid")?);
    Ok(r)
}

/// A text progress bar: `[#########...........]  45%`.
fn bar(done: u64, total: u64) -> String {
    let width = 30u64;
    let filled = (done * width).checked_div(total).unwrap_or(width).min(width);
    let percent = (done * 100).checked_div(total).unwrap_or(100);
    let filled = usize::try_from(filled).unwrap_or(0);
    format!("[{}{}] {percent:>3}%", "#".repeat(filled), ".".repeat(30 - filled))
}

/// Streams a CSV or XLSX file of deals to ImportDeals, showing progress;
/// fails (exit code 1) when any row was refused, listing why (the good
/// rows are kept, and a retry with the same --request-id is a no-op).
pub async fn import(
    file: &Path,
    gateway_url: &str,
    token: &str,
    validate_only: bool,
    request_id: Option<String>,
) -> anyhow::Result<()> {
    let format = match file.extension().and_then(|e| e.to_str()).map(str::to_lowercase).as_deref() {
        Some("csv") => FileFormat::Csv,
        Some("xlsx") => FileFormat::Xlsx,
        _ => anyhow::bail!("{} is neither .csv nor .xlsx", file.display()),
    };
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let total = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    let header = ImportHeader {
        format: format as i32,
        file_name: file.file_name().and_then(|n| n.to_str()).unwrap_or("import").to_owned(),
        request_id: request_id.unwrap_or_else(|| format!("import-{}", uuid::Uuid::new_v4())),
        validate_only,
    };
    let mut parts = vec![ImportDealsRequest { part: Some(Part::Header(header)) }];
    parts.extend(bytes.chunks(64 * 1024).map(|c| ImportDealsRequest { part: Some(Part::Chunk(c.to_vec())) }));
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = sent.clone();
    // Counted as the transport pulls each chunk: the bar follows the upload.
    let outgoing = tokio_stream::iter(parts).map(move |p| {
        if let Some(Part::Chunk(c)) = &p.part {
            counter.fetch_add(u64::try_from(c.len()).unwrap_or(0), std::sync::atomic::Ordering::Relaxed);
        }
        p
    });
    let mut client = TrackingServiceClient::new(gateway(gateway_url).await?);
    let mut replies = client.import_deals(authed(token, outgoing)?).await?.into_inner();
    let mut last = None;
    let mut errors = Vec::new();
    let mut err = std::io::stderr();
    while let Some(mut p) = replies.message().await? {
        errors.append(&mut p.errors);
        let done = sent.load(std::sync::atomic::Ordering::Relaxed);
        let _ = write!(err, "\r{} rows read {}, accepted {}", bar(done, total), p.rows_read, p.rows_accepted);
        let _ = err.flush();
        last = Some(p);
    }
    let _ = writeln!(err);
    let last = last.context("the import ended without a summary")?;
    for e in &errors {
        eprintln!("  row {}: {}: {}", e.row, e.field, e.description);
    }
    let verb = if validate_only { "valid" } else { "imported" };
    if errors.is_empty() {
        println!("{} rows {verb} from {}", last.rows_accepted, file.display());
        Ok(())
    } else {
        // Good rows are committed batch by batch; the refused ones are listed above.
        anyhow::bail!("{} rows refused, {} {verb}", errors.len(), last.rows_accepted)
    }
}

/// Writes a review's report (Markdown or XLSX, Chinese or English).
pub async fn report(
    review: &str,
    markdown: bool,
    english: bool,
    out: Option<&Path>,
    gateway_url: &str,
    token: &str,
) -> anyhow::Result<()> {
    let name = if review.starts_with("reviews/") { review.to_owned() } else { format!("reviews/{review}") };
    let mut client = ReviewServiceClient::new(gateway(gateway_url).await?);
    let r = client
        .generate_report(authed(
            token,
            GenerateReportRequest {
                name,
                format: if markdown { ReportFormat::Markdown } else { ReportFormat::Xlsx } as i32,
                language: if english { Language::En } else { Language::Zh } as i32,
            },
        )?)
        .await?
        .into_inner();
    let path = out.map_or_else(|| std::path::PathBuf::from(&r.file_name), Path::to_path_buf);
    std::fs::write(&path, &r.content).with_context(|| format!("cannot write {}", path.display()))?;
    println!("{} ({} bytes, {})", path.display(), r.content.len(), r.content_type);
    Ok(())
}

/// `attain audit`: prints each difference and the count of figures
/// checked; 0 clean, 1 differences, 2 could not audit.
pub fn audit(a: &attain::audit::Audit, gateway: &str, token: &str) -> std::process::ExitCode {
    let ran = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| tonic::Status::internal(e.to_string()))
        .and_then(|rt| rt.block_on(attain::audit::run(gateway, token, a)));
    match ran {
        Ok(outcome) => {
            for d in &outcome.differences {
                println!("{}\t{}\tshown {}\trecomputed {}", d.unit, d.figure, d.shown, d.recomputed);
            }
            println!(
                "{} figures checked for {} {} as of {}: {} differences",
                outcome.checked,
                if a.unit.is_empty() { "the plan's top unit" } else { &a.unit },
                a.period,
                a.as_of,
                outcome.differences.len()
            );
            if outcome.checked == 0 {
                eprintln!("attain audit: no figure was shown to check; nothing is proven clean");
                return std::process::ExitCode::from(2);
            }
            if outcome.differences.is_empty() {
                std::process::ExitCode::SUCCESS
            } else {
                std::process::ExitCode::from(1)
            }
        }
        Err(status) => {
            eprintln!("attain audit: not audited: {:?}: {}", status.code(), status.message());
            std::process::ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_progress_bar_fills() {
        assert_eq!(bar(0, 100), format!("[{}]   0%", ".".repeat(30)));
        assert_eq!(bar(50, 100), format!("[{}{}]  50%", "#".repeat(15), ".".repeat(15)));
        assert_eq!(bar(7, 0), format!("[{}] 100%", "#".repeat(30)));
    }
}
