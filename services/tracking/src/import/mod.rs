//! File import of deals: the weekly progress sheet and CRM exports as CSV
//! (streamed, any of the encodings in `encoding`, never held whole in
//! memory) or XLSX (bounded size; the sheet chosen by name or by its
//! header), with titles and cells as people write them. Parsing only:
//! records come out as [`Line`]s that the import use case checks and
//! stores.

mod cells;
mod columns;
mod csv_stream;
mod encoding;
mod sheet;
mod titles;
mod xlsx;

pub use columns::{ColumnReading, Columns, RowKind, SheetRow, column_letter};
pub use csv_stream::{CsvStream, Record};
pub use encoding::Encoding;
pub use sheet::{Line, Sheet};
pub use titles::Field;
pub use xlsx::{Workbook, read_workbook};

/// Largest XLSX accepted (it must be read whole: a zip archive).
pub const MAX_XLSX_BYTES: usize = 32 * 1024 * 1024;

/// A problem with the file itself (not one row).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error("the file is empty")]
    Empty,
    #[error(
        "the header (row {row}) has no column for: {missing} (titles may be English or Chinese, e.g. \
         rep/销售人员/负责人, date/成交日期, amount/成交金额)"
    )]
    MissingColumns { row: u64, missing: String },
    #[error(
        "no header row found in the first {searched} rows: a header names at least the rep \
         (销售人员, 负责人, Owner), the date (成交日期, Close Date) and the amount (成交金额, Amount)"
    )]
    NoHeader { searched: u64 },
    #[error("the header (row {row}): {problem}")]
    Header { row: u64, problem: String },
    #[error("row {row}, {column}: {why}")]
    Encoding { row: u64, column: String, why: String },
    #[error("{0} is not an encoding this import reads: use utf-8, utf-16le, utf-16be, gbk or gb18030")]
    UnknownEncoding(String),
    #[error("not a readable XLSX workbook: {0}")]
    Xlsx(String),
    #[error("the workbook has no sheet named {name} (its sheets: {sheets})")]
    NoSheet { name: String, sheets: String },
    #[error("the sheet {0} is empty")]
    EmptySheet(String),
    #[error("no sheet of the workbook has a header row (sheets: {0})")]
    NoSheetWithHeader(String),
    #[error("the XLSX file is over {MAX_XLSX_BYTES} bytes; export it as CSV, which is streamed")]
    TooLarge,
}
