//! ImportDeals: a CSV or XLSX file sent in chunks, answered with progress
//! as rows are validated and committed (every 500 rows). Bad rows are
//! reported by spreadsheet row and column title and skipped; a row's
//! request id is its own column or "<import request id>#<row>", so sending
//! the same file again stores nothing twice.

use std::pin::Pin;

use attain_kit::context::Ctx;
use attain_kit::{ServiceError, ServiceResult, auth::Identity};
use attain_proto::attain::{common::v1 as common, tracking::v1 as pb};
use futures::{Stream, StreamExt};
use tokio::sync::mpsc;
use tonic::{Status, Streaming};

use super::{TrackingApi, convert, deals::row};
use crate::app::ingest::Session;
use crate::import::{Columns, CsvStream, FileError, SheetRow, read_xlsx};

const COMMIT_EVERY: usize = 500;
/// Row errors reported at most (the count keeps going).
const MAX_REPORTED_ERRORS: usize = 1000;

type Progress = Result<pb::ImportDealsResponse, Status>;

fn file_error(e: FileError) -> Status {
    match e {
        FileError::TooLarge => ServiceError::ResourceExhausted(e.to_string()).into(),
        other => ServiceError::invalid("file", other.to_string()).into(),
    }
}

/// "2024/1/3" and "2024.1.3" as "2024-01-03"; anything else unchanged.
fn normal_date(s: &str) -> String {
    let parts: Vec<&str> = s.split(['/', '.', '-']).collect();
    match parts.as_slice() {
        [y, m, d] if y.len() == 4 && (1..=2).contains(&m.len()) && (1..=2).contains(&d.len()) => {
            format!("{y}-{m:0>2}-{d:0>2}")
        }
        _ => s.to_owned(),
    }
}

fn request(row: &SheetRow, import_id: &str) -> pb::CreateDealRequest {
    let unit = |r: &str| if r.starts_with("units/") { r.to_owned() } else { format!("units/{r}") };
    let rep = unit(&row.rep);
    let credits = row
        .credit_shares()
        .into_iter()
        .map(|(r, percent)| pb::CreditShare { rep: unit(&r), percent, ..Default::default() })
        .collect();
    pb::CreateDealRequest {
        deal: Some(pb::Deal {
            rep,
            amount: Some(common::Money { currency_code: row.currency.clone(), amount: row.plain_amount() }),
            close_date: normal_date(&row.date),
            customer: row.customer.clone(),
            dimensions: Some(common::Dimensions {
                product_line: row.product_line.clone(),
                customer_type: row.customer_type.clone(),
            }),
            credits,
            ..Default::default()
        }),
        request_id: if row.request_id.is_empty() {
            format!("{import_id}#{}", row.number)
        } else {
            row.request_id.clone()
        },
    }
}

/// The column a violated request field came from.
fn column_of(field: &str, columns: &Columns) -> String {
    let f = if field.contains(".credits") {
        "credits"
    } else if field.ends_with("amount.currency_code") {
        "currency"
    } else if field.ends_with("amount.amount") || field.ends_with(".amount") {
        "amount"
    } else if field.ends_with("close_date") {
        "date"
    } else if field.ends_with(".rep") {
        "rep"
    } else if field.ends_with("request_id") {
        "request_id"
    } else if field.ends_with("product_line") {
        "product_line"
    } else if field.ends_with("customer_type") {
        "customer_type"
    } else if field.ends_with("customer") {
        "customer"
    } else {
        return field.to_owned();
    };
    columns.title(f)
}

fn push_error(report: &mut pb::ImportDealsResponse, e: pb::RowError) {
    if report.errors.len() < MAX_REPORTED_ERRORS {
        report.errors.push(e);
    }
}

struct Job {
    who: Identity,
    session: Session,
    import_id: String,
    validate_only: bool,
    columns: Option<Columns>,
    report: pb::ImportDealsResponse,
    row: u64,
    tx: mpsc::Sender<Progress>,
}

impl Job {
    /// Takes parsed records (the first is the header).
    async fn records(&mut self, records: Vec<Vec<String>>) -> Result<(), Status> {
        let mut deals = Vec::with_capacity(records.len());
        for cells in records {
            self.row += 1;
            let Some(columns) = &self.columns else {
                self.columns = Some(Columns::from_header(&cells).map_err(file_error)?);
                continue;
            };
            if cells.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            let row = columns.row(self.row, &cells);
            self.report.rows_read += 1;
            if row.is_deal() {
                deals.push((self.row, request(&row, &self.import_id)));
            }
        }
        let mut rows: Vec<_> = deals
            .into_iter()
            .map(|(number, r)| {
                let n = usize::try_from(number).unwrap_or(usize::MAX);
                (n, row(&self.who, &format!("row {number}"), r))
            })
            .collect();
        // A commit (and a progress message) every COMMIT_EVERY good rows.
        while !rows.is_empty() {
            let room = COMMIT_EVERY.saturating_sub(self.session.pending()).max(1);
            let rest = rows.split_off(room.min(rows.len()));
            let refused = self.session.check(rows, |n| format!("row {n}")).await?;
            self.report_refused(refused);
            if self.session.pending() >= COMMIT_EVERY {
                self.flush().await?;
            }
            rows = rest;
        }
        Ok(())
    }

    /// Names each refused row's cells by their column titles.
    fn report_refused(&mut self, refused: Vec<(usize, ServiceError)>) {
        let Some(columns) = &self.columns else { return };
        for (n, e) in refused {
            let row = i64::try_from(n).unwrap_or(i64::MAX);
            match e {
                ServiceError::InvalidArgument(v) => {
                    for f in v {
                        let field = column_of(&f.field, columns);
                        push_error(&mut self.report, pb::RowError { row, field, description: f.description });
                    }
                }
                other => {
                    let description = other.to_string();
                    push_error(&mut self.report, pb::RowError { row, field: columns.title("rep"), description });
                }
            }
        }
    }

    /// Commits what is pending (unless validating) and reports progress.
    async fn flush(&mut self) -> Result<(), Status> {
        let n = self.session.commit(!self.validate_only, convert::deal).await?;
        self.report.rows_accepted += i64::try_from(n).unwrap_or(i64::MAX);
        let mut progress = self.report.clone();
        progress.errors = std::mem::take(&mut self.report.errors);
        let _ = self.tx.send(Ok(progress)).await;
        Ok(())
    }
}

impl TrackingApi {
    pub(crate) async fn import_deals(
        &self,
        ctx: Ctx,
        mut input: Streaming<pb::ImportDealsRequest>,
    ) -> ServiceResult<Pin<Box<dyn Stream<Item = Progress> + Send>>> {
        let Ctx { who, fwd } = ctx;
        if who.role == attain_kit::auth::Role::Viewer {
            return Err(ServiceError::PermissionDenied("viewers are read-only".to_owned()));
        }
        let header = match input.next().await {
            Some(Ok(pb::ImportDealsRequest { part: Some(pb::import_deals_request::Part::Header(h)) })) => h,
            Some(Err(e)) => return Err(e.into()),
            _ => return Err(ServiceError::invalid("header", "the first message must be the import header")),
        };
        let format = pb::FileFormat::try_from(header.format).unwrap_or(pb::FileFormat::Unspecified);
        if format == pb::FileFormat::Unspecified {
            return Err(ServiceError::invalid("header.format", "is required (CSV or XLSX)"));
        }
        if header.request_id.is_empty() || header.request_id.len() > 100 {
            return Err(ServiceError::invalid(
                "header.request_id",
                "is required (1–100 characters): it makes re-sending the file safe",
            ));
        }
        let (tx, rx) = mpsc::channel(16);
        let session = self.app.session(who.clone(), fwd);
        let mut job = Job {
            who,
            session,
            import_id: header.request_id.clone(),
            validate_only: header.validate_only,
            columns: None,
            report: pb::ImportDealsResponse::default(),
            row: 0,
            tx: tx.clone(),
        };
        tokio::spawn(async move {
            let outcome = run(&mut job, &mut input, format).await;
            match outcome {
                Ok(()) => {
                    let mut last = job.report.clone();
                    last.done = true;
                    if !job.validate_only {
                        job.session.finish().await;
                    }
                    let _ = tx.send(Ok(last)).await;
                }
                Err(status) => {
                    let _ = tx.send(Err(status)).await;
                }
            }
        });
        Ok(Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx)))
    }
}

async fn run(
    job: &mut Job,
    input: &mut Streaming<pb::ImportDealsRequest>,
    format: pb::FileFormat,
) -> Result<(), Status> {
    match format {
        pb::FileFormat::Xlsx => {
            let mut bytes = Vec::new();
            while let Some(msg) = input.next().await {
                if let Some(pb::import_deals_request::Part::Chunk(c)) = msg?.part {
                    if bytes.len() + c.len() > crate::import::MAX_XLSX_BYTES {
                        return Err(file_error(FileError::TooLarge));
                    }
                    bytes.extend_from_slice(&c);
                }
            }
            let records = tokio::task::spawn_blocking(move || read_xlsx(bytes))
                .await
                .map_err(|e| ServiceError::Internal(e.into()))?
                .map_err(file_error)?;
            job.records(records).await?;
        }
        _ => {
            let mut csv = CsvStream::default();
            let mut saw_bytes = false;
            while let Some(msg) = input.next().await {
                if let Some(pb::import_deals_request::Part::Chunk(c)) = msg?.part {
                    saw_bytes |= !c.is_empty();
                    let records = csv.feed(&c, false);
                    job.records(records).await?;
                }
            }
            if !saw_bytes {
                return Err(file_error(FileError::Empty));
            }
            let records = csv.feed(&[], true);
            job.records(records).await?;
        }
    }
    if job.columns.is_none() {
        return Err(file_error(FileError::Empty));
    }
    job.flush().await
}
