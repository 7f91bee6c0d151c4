//! ImportDeals: a CSV or XLSX file sent in chunks (`receive`), read in two
//! passes. The first checks every row (nothing written) and collects the
//! summary: the encoding or sheet, the header's row, each column's reading,
//! rows per rep, the first rows as stored, lines skipped and every problem
//! by row and column. The second, unless validating, stores the good rows
//! (500 at a time, with progress) — only if no row was refused, or if the
//! import is `partial`. A row's request id is its own column or its
//! content and occurrence in the file (`rows`), so sending a file again —
//! as it was, or with rows added — stores each deal once; the preview
//! counts the rows already stored.

mod receive;
mod rows;

use std::{
    collections::{BTreeMap, HashSet},
    pin::Pin,
};

use attain_kit::{
    ServiceError, ServiceResult,
    auth::{Identity, Role},
    context::Ctx,
    upstream::Forwarded,
};
use attain_proto::attain::tracking::v1 as pb;
use futures::{Stream, StreamExt};
use tokio::{io::AsyncReadExt, sync::mpsc};
use tonic::{Status, Streaming};

use self::{
    receive::{Options, Source, options, receive},
    rows::{Parsed, RowIds, faults, import_scope},
};
use super::{TrackingApi, convert, deals::row_keyed};
use crate::{
    app::{
        App,
        import::{Directory, LostRow, Session},
    },
    import::{Columns, CsvStream, FileError, Line, Record, Sheet},
};

/// Good rows stored (and a progress message sent) at a time.
const COMMIT_EVERY: usize = 500;
/// Row errors reported at most (the count keeps going).
const MAX_REPORTED_ERRORS: usize = 1000;
/// Rows shown as they would be stored.
const PREVIEW_ROWS: usize = 5;
/// Skipped lines listed at most.
const MAX_SKIPPED: usize = 100;
/// XLSX records handed on at a time.
const XLSX_BLOCK: usize = 1000;
type Progress = Result<pb::ImportDealsResponse, Status>;

pub(super) fn file_error(e: FileError) -> ServiceError {
    match e {
        FileError::TooLarge => ServiceError::ResourceExhausted(e.to_string()),
        other => ServiceError::invalid("file", other.to_string()),
    }
}

/// The first pass's findings and both passes' counts.
struct Job {
    who: Identity,
    fwd: Forwarded,
    app: App,
    opts: Options,
    directory: Directory,
    report: pb::ImportDealsResponse,
    /// Rows refused by the first pass (the second leaves them out).
    refused: HashSet<u64>,
    /// Deals and lost rows per rep: (display name, won, lost).
    reps: BTreeMap<String, (String, i64, i64)>,
    /// Won and lost rows the first pass found good.
    valid: (i64, i64),
    tx: mpsc::Sender<Progress>,
}

/// One pass over the file.
struct Pass {
    sheet: Sheet,
    columns: Option<Columns>,
    session: Session,
    store: bool,
    ids: RowIds,
}

impl Job {
    fn refuse(&mut self, row: u64, field: String, description: String) {
        if self.refused.insert(row) {
            self.report.rows_refused += 1;
        }
        if self.report.errors.len() < MAX_REPORTED_ERRORS {
            let row = i64::try_from(row).unwrap_or(i64::MAX);
            self.report.errors.push(pb::RowError { row, field, description });
        }
    }

    /// A line read and not imported: counted, and listed up to a bound.
    fn skip(&mut self, row: u64, reason: String) {
        self.report.rows_skipped += 1;
        if self.report.skipped.len() < MAX_SKIPPED {
            let row = i64::try_from(row).unwrap_or(i64::MAX);
            self.report.skipped.push(pb::SkippedRow { row, reason });
        }
    }

    /// Takes a block of records through the sheet, the checks and (when
    /// storing) the commits.
    async fn records(&mut self, pass: &mut Pass, records: Vec<Record>) -> ServiceResult<()> {
        let mut deals = Vec::new();
        let mut lost = Vec::new();
        for record in records {
            let line = pass.sheet.take(record).map_err(file_error)?;
            if pass.columns.is_none() {
                pass.columns = pass.sheet.columns().cloned();
            }
            let Some(columns) = &pass.columns else { continue };
            if line.is_some() && !pass.store {
                self.report.rows_read += 1;
            }
            match line {
                None => {}
                Some(Line::Skipped { row, reason }) if !pass.store => self.skip(row, reason),
                Some(Line::Refused { row, column, why }) if !pass.store => self.refuse(row, column, why),
                Some(Line::Skipped { .. } | Line::Refused { .. }) => {}
                Some(Line::Data(r)) => {
                    if pass.store && self.refused.contains(&r.number) {
                        continue;
                    }
                    let n = usize::try_from(r.number).unwrap_or(usize::MAX);
                    match rows::read(&self.directory, &r, &mut pass.ids) {
                        Err((field, why)) => {
                            let title = columns.title(field);
                            self.refuse(r.number, title, why);
                        }
                        Ok(Parsed::FollowUp) if !pass.store => self.skip(
                            r.number,
                            "no amount and no loss reason: a follow-up line, not a deal (a won deal needs its \
                             amount, a lost one its reason)"
                                .to_owned(),
                        ),
                        Ok(Parsed::FollowUp) => {}
                        Ok(Parsed::Won(request)) => {
                            let scope = import_scope(request.deal.as_ref().map_or("", |d| d.rep.as_str()));
                            deals.push((n, row_keyed(&scope, &format!("row {n}"), request)));
                        }
                        Ok(Parsed::Lost(l)) => lost.push((n, Ok(l))),
                    }
                }
            }
            if deals.len() + lost.len() >= COMMIT_EVERY {
                self.check(pass, std::mem::take(&mut deals), std::mem::take(&mut lost)).await?;
            }
        }
        self.check(pass, deals, lost).await
    }

    /// Checks rows with the session and commits (or, on the first pass,
    /// tallies) what is pending once a block is full.
    async fn check(
        &mut self,
        pass: &mut Pass,
        deals: Vec<(usize, ServiceResult<crate::app::ingest::Row>)>,
        lost: Vec<(usize, ServiceResult<LostRow>)>,
    ) -> ServiceResult<()> {
        if self.tx.is_closed() {
            // The client went away (cancelled, past its deadline): stop
            // rather than go on storing what nobody waits for.
            return Err(ServiceError::Aborted("the import's caller went away; it stopped".to_owned()));
        }
        let field = |n: usize| format!("row {n}");
        let mut refused = pass.session.check(deals, field).await?;
        refused.extend(pass.session.check_lost(lost, field).await?);
        // Rows stored by an earlier import (the same content, or the same
        // request id) store nothing again; an id used for another row is
        // that row's error.
        let sifted = pass.session.sift_stored().await?;
        refused.extend(sifted.conflicts);
        if !pass.store {
            self.report.rows_duplicate += i64::try_from(sifted.stored).unwrap_or(i64::MAX);
        }
        if let Some(columns) = pass.columns.clone() {
            for (n, e) in refused {
                for (column, why) in faults(n, e, &columns) {
                    self.refuse(u64::try_from(n).unwrap_or(u64::MAX), column, why);
                }
            }
        }
        if pass.session.pending() >= COMMIT_EVERY {
            self.flush(pass).await?;
        }
        Ok(())
    }

    /// Commits what is pending (the first pass tallies and drops it).
    async fn flush(&mut self, pass: &mut Pass) -> ServiceResult<()> {
        if !pass.store {
            self.tally(&pass.session);
        }
        let done = pass.session.commit(pass.store, (convert::deal, convert::opportunity_wire)).await?;
        let (deals, lost) =
            (i64::try_from(done.deals).unwrap_or(i64::MAX), i64::try_from(done.lost).unwrap_or(i64::MAX));
        if pass.store {
            self.report.rows_accepted += deals;
            self.report.lost_accepted += lost;
        } else {
            self.valid.0 += deals;
            self.valid.1 += lost;
            if self.opts.validate_only {
                (self.report.rows_accepted, self.report.lost_accepted) = self.valid;
            }
        }
        let mut progress = self.report.clone();
        progress.errors = std::mem::take(&mut self.report.errors);
        progress.errors.sort_by_key(|e| e.row);
        let _ = self.tx.send(Ok(progress)).await;
        Ok(())
    }

    /// Rows per rep and the preview, from rows checked on the first pass.
    fn tally(&mut self, session: &Session) {
        for d in session.pending_deals() {
            if self.report.preview.len() < PREVIEW_ROWS {
                self.report.preview.push(convert::deal(d));
            }
            let name = self.directory.display_name(&d.rep);
            self.reps.entry(d.rep.resource_name()).or_insert((name, 0, 0)).1 += 1;
        }
        for o in session.pending_lost() {
            let name = self.directory.display_name(&o.rep);
            self.reps.entry(o.rep.resource_name()).or_insert((name, 0, 0)).2 += 1;
        }
    }

    /// One pass over the source.
    async fn pass(&mut self, source: &Source, store: bool) -> ServiceResult<()> {
        let session = self.app.session(self.who.clone(), self.fwd.clone());
        let mut pass = Pass { sheet: Sheet::default(), columns: None, session, store, ids: RowIds::default() };
        match source {
            Source::Xlsx { records, .. } => {
                for block in records.chunks(XLSX_BLOCK) {
                    self.records(&mut pass, block.to_vec()).await?;
                }
            }
            Source::Csv(spool) => {
                let mut file = tokio::fs::File::open(&spool.0).await.map_err(|e| ServiceError::Internal(e.into()))?;
                let mut csv = CsvStream::new(self.opts.encoding);
                let mut buf = vec![0; 64 * 1024];
                loop {
                    let n = file.read(&mut buf).await.map_err(|e| ServiceError::Internal(e.into()))?;
                    let records = csv.feed(&buf[..n], n == 0);
                    self.records(&mut pass, records).await?;
                    if n == 0 {
                        break;
                    }
                }
                self.report.encoding = csv.encoding();
            }
        }
        let columns = pass.sheet.finish().map_err(file_error)?.clone();
        self.flush(&mut pass).await?;
        if store {
            pass.session.finish();
        } else {
            self.summarise(&columns);
        }
        Ok(())
    }

    fn summarise(&mut self, columns: &Columns) {
        self.report.header_row = i64::try_from(columns.row).unwrap_or(i64::MAX);
        self.report.columns = columns
            .readings()
            .into_iter()
            .map(|c| pb::ImportColumn {
                title: c.title,
                field: c.field.map(|f| f.key().to_owned()).unwrap_or_default(),
                scale: c.scale.map(|s| s.to_string()).unwrap_or_default(),
            })
            .collect();
        self.report.reps = std::mem::take(&mut self.reps)
            .into_iter()
            .map(|(rep, (display_name, deals, lost))| pb::ImportRepRows { rep, display_name, deals, lost })
            .collect();
    }
}

impl TrackingApi {
    pub(crate) async fn import_deals(
        &self,
        ctx: Ctx,
        mut input: Streaming<pb::ImportDealsRequest>,
    ) -> ServiceResult<Pin<Box<dyn Stream<Item = Progress> + Send>>> {
        let Ctx { who, fwd } = ctx;
        if who.role == Role::Viewer {
            return Err(ServiceError::PermissionDenied("viewers are read-only".to_owned()));
        }
        let header = match input.next().await {
            Some(Ok(pb::ImportDealsRequest { part: Some(pb::import_deals_request::Part::Header(h)) })) => h,
            Some(Err(e)) => return Err(e.into()),
            _ => return Err(ServiceError::invalid("header", "the first message must be the import header")),
        };
        let opts = options(header)?;
        let directory = self.app.directory(&who, &fwd).await?;
        let (tx, rx) = mpsc::channel(16);
        let mut job = Job {
            who,
            fwd,
            app: self.app.clone(),
            opts,
            directory,
            report: pb::ImportDealsResponse::default(),
            refused: HashSet::new(),
            reps: BTreeMap::new(),
            valid: (0, 0),
            tx: tx.clone(),
        };
        tokio::spawn(async move {
            let last = match run(&mut job, &mut input).await {
                Ok(()) => Ok(job.report.clone()),
                Err(e) => Err(Status::from(e)),
            };
            let _ = tx.send(last).await;
        });
        Ok(Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx)))
    }
}

/// Receives the file, checks it, stores it if it may; the final message
/// is left in `job.report`.
async fn run(job: &mut Job, input: &mut Streaming<pb::ImportDealsRequest>) -> ServiceResult<()> {
    let source = receive(&job.opts, input).await?;
    if let Source::Xlsx { sheet, .. } = &source {
        job.report.sheet = sheet.clone();
    }
    job.pass(&source, false).await?;
    let store = !job.opts.validate_only && (job.report.rows_refused == 0 || job.opts.partial);
    if store {
        job.pass(&source, true).await?;
    } else {
        (job.report.rows_accepted, job.report.lost_accepted) = job.valid;
    }
    job.report.stored = store;
    job.report.done = true;
    let r = &job.report;
    let count = |n: i64| u64::try_from(n).unwrap_or(0);
    job.app.import_finished(
        count(r.rows_accepted + r.lost_accepted),
        count(r.rows_refused),
        count(r.rows_duplicate),
        store,
    );
    tracing::info!(
        import = %job.opts.import_id,
        read = r.rows_read,
        stored = if store { r.rows_accepted } else { 0 },
        duplicates = r.rows_duplicate,
        refused = r.rows_refused,
        "import done"
    );
    Ok(())
}
