//! The file as it arrives: the header's options checked, then the chunks —
//! a CSV spooled to a temporary file (memory stays bounded whatever its
//! size), an XLSX read whole (a zip archive) and its sheet chosen.

use std::path::PathBuf;

use attain_kit::{ServiceError, ServiceResult, id::Id};
use attain_proto::attain::tracking::v1 as pb;
use futures::StreamExt;
use tokio::io::AsyncWriteExt;
use tonic::Streaming;

use super::file_error;
use crate::import::{Encoding, FileError, MAX_XLSX_BYTES, Record, read_workbook};

/// Largest CSV accepted (spooled to disk, never held in memory).
const MAX_CSV_BYTES: u64 = 4 * 1024 * 1024 * 1024;

/// What the header asked for.
#[derive(Debug, Clone)]
pub(super) struct Options {
    pub(super) format: pb::FileFormat,
    pub(super) import_id: String,
    pub(super) validate_only: bool,
    pub(super) partial: bool,
    pub(super) encoding: Option<Encoding>,
    pub(super) sheet: String,
}

pub(super) fn options(h: pb::ImportHeader) -> ServiceResult<Options> {
    let format = pb::FileFormat::try_from(h.format).unwrap_or(pb::FileFormat::Unspecified);
    if format == pb::FileFormat::Unspecified {
        return Err(ServiceError::invalid("header.format", "is required (CSV or XLSX)"));
    }
    if h.request_id.len() > 100 {
        return Err(ServiceError::invalid("header.request_id", "is at most 100 characters"));
    }
    let encoding = match h.encoding.trim() {
        "" => None,
        name => Some(Encoding::named(name).ok_or_else(|| {
            ServiceError::invalid("header.encoding", FileError::UnknownEncoding(name.into()).to_string())
        })?),
    };
    if encoding.is_some() && format != pb::FileFormat::Csv {
        return Err(ServiceError::invalid("header.encoding", "applies to CSV only (an XLSX file carries its own)"));
    }
    if !h.sheet.is_empty() && format != pb::FileFormat::Xlsx {
        return Err(ServiceError::invalid("header.sheet", "applies to XLSX only"));
    }
    Ok(Options {
        format,
        import_id: h.request_id,
        validate_only: h.validate_only,
        partial: h.partial,
        encoding,
        sheet: h.sheet,
    })
}

/// The file as received: a CSV spooled to disk or an XLSX sheet read.
pub(super) enum Source {
    Csv(Spool),
    Xlsx { sheet: String, records: Vec<Record> },
}

/// A temporary file, removed when dropped.
pub(super) struct Spool(pub(super) PathBuf);

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A message after the header: a chunk of the file (a second header is
/// refused rather than ignored).
fn chunk(msg: pb::ImportDealsRequest) -> ServiceResult<Option<Vec<u8>>> {
    match msg.part {
        Some(pb::import_deals_request::Part::Chunk(c)) => Ok(Some(c)),
        Some(pb::import_deals_request::Part::Header(_)) => {
            Err(ServiceError::invalid("header", "came again after the file started: send it once, first"))
        }
        None => Ok(None),
    }
}

/// The whole file: a CSV to a temporary file, an XLSX into memory (it is
/// a zip archive, read whole) and its sheet chosen.
pub(super) async fn receive(opts: &Options, input: &mut Streaming<pb::ImportDealsRequest>) -> ServiceResult<Source> {
    let internal = |e: std::io::Error| ServiceError::Internal(e.into());
    match opts.format {
        pb::FileFormat::Xlsx => {
            let mut bytes = Vec::new();
            while let Some(msg) = input.next().await {
                if let Some(c) = chunk(msg?)? {
                    if bytes.len() + c.len() > MAX_XLSX_BYTES {
                        return Err(file_error(FileError::TooLarge));
                    }
                    bytes.extend_from_slice(&c);
                }
            }
            let sheet = opts.sheet.clone();
            let book = tokio::task::spawn_blocking(move || read_workbook(bytes, &sheet))
                .await
                .map_err(|e| ServiceError::Internal(e.into()))?
                .map_err(file_error)?;
            Ok(Source::Xlsx { sheet: book.sheet, records: book.records })
        }
        _ => {
            let spool = Spool(std::env::temp_dir().join(format!("attain-import-{}.csv", Id::generate().as_str())));
            let mut file = tokio::fs::File::create(&spool.0).await.map_err(internal)?;
            let mut size = 0u64;
            while let Some(msg) = input.next().await {
                if let Some(c) = chunk(msg?)? {
                    size += u64::try_from(c.len()).unwrap_or(u64::MAX);
                    if size > MAX_CSV_BYTES {
                        return Err(ServiceError::ResourceExhausted(format!(
                            "the CSV file is over {MAX_CSV_BYTES} bytes; split it"
                        )));
                    }
                    file.write_all(&c).await.map_err(internal)?;
                }
            }
            file.flush().await.map_err(internal)?;
            if size == 0 {
                return Err(file_error(FileError::Empty));
            }
            Ok(Source::Csv(spool))
        }
    }
}
