//! File import of deals: the weekly progress sheet as CSV (UTF-8 or GBK,
//! streamed — never held whole in memory) or XLSX (bounded size), with
//! Chinese or English column titles. Parsing only: rows come out as
//! [`SheetRow`]s that the API turns into deal requests.

mod columns;
mod csv_stream;
mod xlsx;

pub use columns::{Columns, SheetRow};
pub use csv_stream::CsvStream;
pub use xlsx::read_xlsx;

/// Largest XLSX accepted (it must be read whole: a zip archive).
pub const MAX_XLSX_BYTES: usize = 32 * 1024 * 1024;

/// A problem with the file itself (not one row).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error("the file is empty")]
    Empty,
    #[error("missing column(s): {0} (titles may be English or Chinese, e.g. rep/销售代表, date/日期, amount/成交金额)")]
    MissingColumns(String),
    #[error("not a readable XLSX workbook: {0}")]
    Xlsx(String),
    #[error("the XLSX file is over {MAX_XLSX_BYTES} bytes; export it as CSV, which is streamed")]
    TooLarge,
}
