//! The `attain` subcommands beyond `up`/`demo`/`token`: one service alone
//! (`serve`, as in Kubernetes), its migrations (`migrate`), and the two
//! client chores a sales-ops lead runs from a terminal (`import`, `report`),
//! both through the gateway.

use std::{io::Write, path::Path, time::Duration};

use anyhow::Context;
use attain_kit::configuration::Settings;
use attain_proto::attain::{
    common::v1::Language,
    review::v1::{GenerateReportRequest, ReportFormat, ReportMoneyUnit, review_service_client::ReviewServiceClient},
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
    Notify,
    Gateway,
}

impl Service {
    pub fn name(self) -> &'static str {
        match self {
            Self::Target => "target",
            Self::Tracking => "tracking",
            Self::Review => "review",
            Self::Notify => "notify",
            Self::Gateway => "gateway",
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Self::Target => attain_target::startup::DEFAULT_PORT,
            Self::Tracking => attain_tracking::startup::DEFAULT_PORT,
            Self::Review => attain_review::startup::DEFAULT_PORT,
            Self::Notify => attain_notify::startup::DEFAULT_PORT,
            Self::Gateway => attain_gateway::startup::DEFAULT_PORT,
        }
    }

    pub fn settings(self) -> anyhow::Result<Settings> {
        Settings::load(self.name(), self.default_port())
    }
}

/// Runs one service until Ctrl-C/SIGTERM, configured like its own binary
/// (`APP_CONFIG_FILE` or `config/<service>.toml`, then `APP__…`).
pub async fn serve(service: Service) -> anyhow::Result<()> {
    let settings = service.settings()?;
    // Its own logs and traces, as configured (JSON in Kubernetes).
    attain_kit::telemetry::init(&settings.telemetry, service.name());
    let stop = attain_kit::server::shutdown_signal();
    match service {
        Service::Target => attain_target::startup::Application::build(settings).await?.run_until_stopped(stop).await,
        Service::Tracking => {
            attain_tracking::startup::Application::build(settings).await?.run_until_stopped(stop).await
        }
        Service::Review => attain_review::startup::Application::build(settings).await?.run_until_stopped(stop).await,
        Service::Notify => attain_notify::startup::Application::build(settings).await?.run_until_stopped(stop).await,
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
        Service::Notify => drop(attain_kit::db::connect_and_migrate::<attain_notify::migration::Migrator>(db).await?),
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

/// What `attain import` was asked.
#[derive(clap::Args, Debug, Clone)]
pub struct ImportArgs {
    pub file: std::path::PathBuf,
    #[arg(long, default_value = "http://127.0.0.1:50050", env = "ATTAIN_GATEWAY")]
    pub gateway: String,
    #[arg(long, env = "ATTAIN_TOKEN")]
    pub token: String,
    /// Check every row and print the preview (column mapping, rows per
    /// rep, the first rows as stored, every problem); store nothing.
    #[arg(long)]
    pub validate_only: bool,
    /// Store the good rows even if others are refused (default: all or
    /// nothing).
    #[arg(long)]
    pub partial: bool,
    /// CSV: utf-8, utf-16le, utf-16be, gbk or gb18030 (default: detected).
    #[arg(long)]
    pub encoding: Option<String>,
    /// XLSX: the sheet to read (default: the first with a header row).
    #[arg(long)]
    pub sheet: Option<String>,
    /// The import's name in the service's logs. Importing a file again is
    /// safe without it: each row is stored once (by its request id column,
    /// else by its content and occurrence in the file).
    #[arg(long)]
    pub request_id: Option<String>,
}

/// Streams a CSV or XLSX file of deals to ImportDeals (64 KiB at a time,
/// never read whole), showing progress, then prints the summary; fails
/// (exit code 1) when any row was refused, listing why.
pub async fn import(args: ImportArgs) -> anyhow::Result<()> {
    let file = args.file.as_path();
    let format = match file.extension().and_then(|e| e.to_str()).map(str::to_lowercase).as_deref() {
        Some("csv") => FileFormat::Csv,
        Some("xlsx") => FileFormat::Xlsx,
        _ => anyhow::bail!("{} is neither .csv nor .xlsx", file.display()),
    };
    let opened = tokio::fs::File::open(file).await.with_context(|| format!("cannot read {}", file.display()))?;
    let total = opened.metadata().await.map(|m| m.len()).unwrap_or(0);
    let header = ImportHeader {
        format: format as i32,
        file_name: file.file_name().and_then(|n| n.to_str()).unwrap_or("import").to_owned(),
        request_id: args.request_id.unwrap_or_default(),
        validate_only: args.validate_only,
        encoding: args.encoding.unwrap_or_default(),
        sheet: args.sheet.unwrap_or_default(),
        partial: args.partial,
    };
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = sent.clone();
    // Counted as the transport pulls each chunk: the bar follows the upload.
    let (failed_tx, mut failed) = tokio::sync::mpsc::channel::<std::io::Error>(1);
    let chunks = futures::stream::unfold(opened, move |mut f| {
        let (counter, failed_tx) = (counter.clone(), failed_tx.clone());
        async move {
            use tokio::io::AsyncReadExt;
            let mut buf = vec![0; 64 * 1024];
            match f.read(&mut buf).await {
                Ok(0) => None,
                Ok(n) => {
                    buf.truncate(n);
                    counter.fetch_add(u64::try_from(n).unwrap_or(0), std::sync::atomic::Ordering::Relaxed);
                    Some((ImportDealsRequest { part: Some(Part::Chunk(buf)) }, f))
                }
                // A file that cannot be read to its end must not look
                // complete: the upload stalls and the call is dropped
                // (cancelled) below, so the service stores nothing.
                Err(e) => {
                    let _ = failed_tx.send(e).await;
                    std::future::pending::<Option<(ImportDealsRequest, tokio::fs::File)>>().await
                }
            }
        }
    });
    let outgoing = tokio_stream::iter([ImportDealsRequest { part: Some(Part::Header(header)) }]).chain(chunks);
    let mut client = TrackingServiceClient::new(gateway(&args.gateway).await?);
    let importing = || format!("importing {}", file.display());
    let mut replies = client.import_deals(authed(&args.token, outgoing)?).await.with_context(importing)?.into_inner();
    let mut last = None;
    let mut errors = Vec::new();
    let mut err = std::io::stderr();
    loop {
        let next = tokio::select! {
            m = replies.message() => m.with_context(importing)?,
            Some(e) = failed.recv() => return Err(e).with_context(|| format!("reading {}", file.display())),
        };
        let Some(mut p) = next else { break };
        errors.append(&mut p.errors);
        let done = sent.load(std::sync::atomic::Ordering::Relaxed);
        let verb = if args.validate_only { "valid" } else { "stored" };
        let _ = write!(err, "\r{} rows read {}, {verb} {}", bar(done, total), p.rows_read, p.rows_accepted);
        let _ = err.flush();
        last = Some(p);
    }
    let _ = writeln!(err);
    let last = last.context("the import ended without a summary")?;
    errors.sort_by_key(|e| e.row);
    print!("{}", import_summary(&last, &file.display().to_string()));
    for e in &errors {
        eprintln!("  row {}, {}: {}", e.row, e.field, e.description);
    }
    if last.rows_refused > i64::try_from(errors.len()).unwrap_or(i64::MAX) {
        eprintln!("  … and {} more", last.rows_refused - i64::try_from(errors.len()).unwrap_or(0));
    }
    let outcome = match (last.stored, args.validate_only) {
        (_, true) => {
            format!("{} deals and {} lost deals valid; nothing stored", last.rows_accepted, last.lost_accepted)
        }
        (true, _) => format!("{} deals and {} lost deals stored", last.rows_accepted, last.lost_accepted),
        (false, _) => "nothing stored: fix the rows above and import again, or use --partial".to_owned(),
    };
    if last.rows_refused == 0 {
        println!("{outcome}");
        Ok(())
    } else {
        anyhow::bail!("{} rows refused; {outcome}", last.rows_refused)
    }
}

/// The import's final message as a person reads it.
fn import_summary(last: &attain_proto::attain::tracking::v1::ImportDealsResponse, file: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let source = if last.sheet.is_empty() { last.encoding.clone() } else { format!("sheet {}", last.sheet) };
    let _ = writeln!(
        out,
        "{file} ({source}): header on row {}, {} rows read: {} already imported, {} skipped, {} refused",
        last.header_row, last.rows_read, last.rows_duplicate, last.rows_skipped, last.rows_refused
    );
    for c in &last.columns {
        let used = match (c.field.as_str(), c.scale.as_str()) {
            ("", _) => "not used".to_owned(),
            (f, "") => f.to_owned(),
            (f, s) => format!("{f} × {s}"),
        };
        let _ = writeln!(out, "  {:<24} → {used}", c.title);
    }
    for r in &last.reps {
        let _ = writeln!(out, "  {} {}: {} deals, {} lost", r.rep, r.display_name, r.deals, r.lost);
    }
    for d in &last.preview {
        let amount = d.amount.as_ref().map(|m| format!("{} {}", m.amount, m.currency_code)).unwrap_or_default();
        let _ = writeln!(out, "  e.g. {} {} {} {}", d.close_date, d.rep, d.customer, amount);
    }
    for k in &last.skipped {
        let _ = writeln!(out, "  row {} skipped: {}", k.row, k.reason);
    }
    out
}

/// Which report: Markdown or XLSX, Chinese or English, amounts in the
/// currency's unit or in 万.
#[derive(Debug, Clone, Copy)]
pub struct ReportWanted {
    pub markdown: bool,
    pub english: bool,
    pub wan: bool,
}

/// Writes a review's report.
pub async fn report(
    review: &str,
    ReportWanted { markdown, english, wan }: ReportWanted,
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
                name: name.clone(),
                format: if markdown { ReportFormat::Markdown } else { ReportFormat::Xlsx } as i32,
                language: if english { Language::En } else { Language::Zh } as i32,
                money_unit: if wan { ReportMoneyUnit::TenThousand } else { ReportMoneyUnit::Unspecified } as i32,
            },
        )?)
        .await
        .with_context(|| format!("writing the report of {name}"))?
        .into_inner();
    let path = out.map_or_else(|| std::path::PathBuf::from(&r.file_name), Path::to_path_buf);
    std::fs::write(&path, &r.content).with_context(|| format!("cannot write {}", path.display()))?;
    println!("{} ({} bytes, {})", path.display(), r.content.len(), r.content_type);
    Ok(())
}

/// `attain audit`: prints each difference and the count of figures
/// checked; 0 clean, 1 differences, 2 could not audit.
pub fn audit(a: &attain::audit::Audit, gateway: &str, token: &str, verbose: bool) -> std::process::ExitCode {
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
            eprintln!("attain audit: not audited: {}", attain::cli_error::explain(&status.into(), verbose));
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
