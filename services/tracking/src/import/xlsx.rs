//! XLSX: one worksheet's cells as text records (dates as YYYY-MM-DD,
//! numbers in their shortest exact decimal form, formulas by their cached
//! value), numbered by their spreadsheet row, merged cells filled from
//! their top-left cell. The sheet is the one named, or the first visible
//! one whose rows hold a header.
//!
//! A workbook is a zip of XML: a few kilobytes can declare a cell at
//! XFD1048576 or a string of gigabytes. The archive's declared sizes are
//! checked before it is opened, cells are read one at a time (never as a
//! dense rectangle), and rows, columns and text are capped — a file past a
//! cap is refused, naming it.

use std::{collections::BTreeMap, io::Cursor};

use calamine::{DataRef, Dimensions, Reader, SheetVisible, Xlsx};

use super::{FileError, MAX_XLSX_BYTES, Record, sheet::HEADER_SEARCH, sheet::Sheet};

/// Rows an XLSX import reads (a larger file is exported as CSV, streamed).
pub const MAX_ROWS: u32 = 200_000;
/// Columns read; a value further right is refused.
pub const MAX_COLUMNS: u32 = 256;
/// Characters in one cell.
pub const MAX_CELL_CHARS: usize = 10_000;
/// The archive unpacked, as its directory declares it.
pub const MAX_UNPACKED_BYTES: u64 = 256 * 1024 * 1024;
/// Cells holding a value (a sheet of 200,000 rows × 10 columns).
pub const MAX_CELLS: usize = 2_000_000;

/// A formula cell whose value was never saved (written by a library, not
/// Excel): kept as this text, so the amount or date reading names it.
const FORMULA_WITHOUT_VALUE: &str = "=(formula)";

/// The sheet read and its rows.
#[derive(Debug, Clone)]
pub struct Workbook {
    pub sheet: String,
    pub records: Vec<Record>,
}

type Book = Xlsx<Cursor<Vec<u8>>>;

pub fn read_workbook(bytes: Vec<u8>, sheet: &str) -> Result<Workbook, FileError> {
    if bytes.is_empty() {
        return Err(FileError::Empty);
    }
    if bytes.len() > MAX_XLSX_BYTES {
        return Err(FileError::TooLarge);
    }
    check_unpacked(&bytes)?;
    let mut book: Book = Xlsx::new(Cursor::new(bytes)).map_err(|e| FileError::Xlsx(e.to_string()))?;
    let sheets = book.sheets_metadata().to_vec();
    let listed = sheets.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ");
    if !sheet.is_empty() {
        let Some(found) = sheets.iter().find(|s| s.name.trim() == sheet.trim()) else {
            return Err(FileError::NoSheet { name: sheet.to_owned(), sheets: listed });
        };
        let records = records_of(&mut book, &found.name)?;
        if records.iter().all(|r| r.cells.iter().all(|c| c.trim().is_empty())) {
            return Err(FileError::EmptySheet(found.name.clone()));
        }
        return Ok(Workbook { sheet: found.name.clone(), records });
    }
    // The first visible sheet with a header (a hidden one holds old data
    // or lookups: named with --sheet, it is read); a sheet whose header is
    // faulty is remembered so its problem is reported if none is better.
    let mut faulty = None;
    for s in sheets.iter().filter(|s| s.visible == SheetVisible::Visible) {
        let records = records_of(&mut book, &s.name)?;
        match header_in(&records) {
            Ok(true) => return Ok(Workbook { sheet: s.name.clone(), records }),
            Ok(false) => {}
            Err(e) => {
                faulty.get_or_insert(e);
            }
        }
    }
    Err(faulty.unwrap_or(FileError::NoSheetWithHeader(listed)))
}

/// Refuses an archive whose entries declare more than the cap unpacked.
fn check_unpacked(bytes: &[u8]) -> Result<(), FileError> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| FileError::Xlsx(e.to_string()))?;
    let mut total: u64 = 0;
    for i in 0..zip.len() {
        let entry = zip.by_index_raw(i).map_err(|e| FileError::Xlsx(e.to_string()))?;
        total = total.saturating_add(entry.size());
    }
    if total > MAX_UNPACKED_BYTES {
        return Err(FileError::Xlsx(format!(
            "unpacked, the workbook is {} MB (at most {} MB); export the sheet as CSV, which is streamed",
            total / (1024 * 1024),
            MAX_UNPACKED_BYTES / (1024 * 1024)
        )));
    }
    Ok(())
}

/// Whether the first rows of a sheet hold a header.
fn header_in(records: &[Record]) -> Result<bool, FileError> {
    let mut sheet = Sheet::default();
    for r in records.iter().take_while(|r| r.row <= HEADER_SEARCH) {
        match sheet.take(r.clone()) {
            Ok(_) if sheet.columns().is_some() => return Ok(true),
            Ok(_) | Err(FileError::NoHeader { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(false)
}

/// "F12" for row 11, column 5 (0-based).
fn a1(row: u32, col: u32) -> String {
    format!("{}{}", super::column_letter(usize::try_from(col).unwrap_or(0)), u64::from(row) + 1)
}

fn records_of(book: &mut Book, name: &str) -> Result<Vec<Record>, FileError> {
    let merged = book.merge_cells_by_sheet_name(name).unwrap_or_default();
    let xlsx = |e: calamine::XlsxError| FileError::Xlsx(e.to_string());
    let mut reader = book.worksheet_cells_reader(name).map_err(xlsx)?;
    let mut rows: BTreeMap<u32, Vec<(u32, String)>> = BTreeMap::new();
    let mut numbers: std::collections::HashSet<(u32, u32)> = std::collections::HashSet::new();
    let (mut text_bytes, mut cells) = (0usize, 0usize);
    while let Some(c) = reader.next_cell_with_formula_metadata().map_err(xlsx)? {
        let (row, col) = c.pos;
        let value = match (cell(&c.value), c.formula.is_some()) {
            (v, true) if v.is_empty() => FORMULA_WITHOUT_VALUE.to_owned(),
            (v, _) => v,
        };
        if value.is_empty() {
            continue;
        }
        cells += 1;
        if cells > MAX_CELLS {
            return Err(FileError::Xlsx(format!(
                "the sheet holds more than {MAX_CELLS} cells; export it as CSV, which is streamed"
            )));
        }
        if matches!(c.value, DataRef::Float(_) | DataRef::Int(_)) {
            numbers.insert((row, col));
        }
        if col >= MAX_COLUMNS {
            return Err(FileError::Xlsx(format!(
                "cell {} is right of column {}: an import reads at most {MAX_COLUMNS} columns",
                a1(row, col),
                super::column_letter(usize::try_from(MAX_COLUMNS - 1).unwrap_or(0))
            )));
        }
        if row >= MAX_ROWS {
            return Err(FileError::Xlsx(format!(
                "the sheet goes past row {MAX_ROWS} (cell {}); export it as CSV, which is streamed",
                a1(row, col)
            )));
        }
        let chars = value.chars().count();
        if chars > MAX_CELL_CHARS {
            return Err(FileError::Xlsx(format!(
                "cell {} holds {chars} characters; a cell holds at most {MAX_CELL_CHARS}",
                a1(row, col)
            )));
        }
        text_bytes += value.len();
        if u64::try_from(text_bytes).unwrap_or(u64::MAX) > MAX_UNPACKED_BYTES {
            return Err(FileError::Xlsx(format!("the sheet's text passes {MAX_UNPACKED_BYTES} bytes")));
        }
        rows.entry(row).or_default().push((col, value));
    }
    fill_merged(&mut rows, &merged, &numbers);
    Ok(rows
        .into_iter()
        .map(|(row, cells)| {
            let width = cells.iter().map(|(c, _)| *c as usize + 1).max().unwrap_or(0);
            let mut line = vec![String::new(); width];
            for (c, v) in cells {
                line[c as usize] = v;
            }
            Record { row: u64::from(row) + 1, cells: line, bad: None }
        })
        .collect())
}

/// A merged region reads as its top-left value in every cell (a date or a
/// rep merged down the rows of a week): clipped to the columns read and the
/// rows that exist, so a region declared over the whole sheet costs
/// nothing. A number merged down several rows is not copied into each: an
/// amount spread over two deals' rows is one amount, not two.
fn fill_merged(
    rows: &mut BTreeMap<u32, Vec<(u32, String)>>,
    merged: &[Dimensions],
    numbers: &std::collections::HashSet<(u32, u32)>,
) {
    let last_row = rows.keys().next_back().copied().unwrap_or(0);
    for m in merged {
        if m.end.0 > m.start.0 && numbers.contains(&m.start) {
            continue;
        }
        let Some(value) =
            rows.get(&m.start.0).and_then(|cells| cells.iter().find(|(c, _)| *c == m.start.1)).map(|(_, v)| v.clone())
        else {
            continue;
        };
        let end_row = m.end.0.min(last_row);
        let end_col = m.end.1.min(MAX_COLUMNS - 1);
        for row in m.start.0..=end_row {
            let cells = rows.entry(row).or_default();
            for col in m.start.1..=end_col {
                match cells.iter_mut().find(|(c, _)| *c == col) {
                    Some((_, v)) if v.is_empty() => *v = value.clone(),
                    Some(_) => {}
                    None => cells.push((col, value.clone())),
                }
            }
        }
    }
}

fn cell(d: &DataRef<'_>) -> String {
    match d {
        DataRef::Empty => String::new(),
        DataRef::String(s) => s.clone(),
        DataRef::SharedString(s) => (*s).to_owned(),
        // Shortest round-trip form: 8000.5 stays "8000.5", never 8000.499….
        DataRef::Float(f) => f.to_string(),
        DataRef::Int(i) => i.to_string(),
        DataRef::Bool(b) => b.to_string(),
        DataRef::DateTime(dt) => {
            dt.as_datetime().map(|t| t.date().format("%Y-%m-%d").to_string()).unwrap_or_else(|| dt.to_string())
        }
        DataRef::DateTimeIso(s) => s.chars().take(10).collect(),
        DataRef::DurationIso(s) => s.clone(),
        DataRef::Error(e) => format!("#{e:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/weekly-progress-region-a.xlsx");

    proptest::proptest! {
        // Fuzzing by property: any bytes, including a zip header followed by
        // noise, are refused with an error, never a panic.
        #[test]
        fn any_bytes_are_an_error_not_a_panic(
            zip_header in proptest::bool::ANY,
            noise in proptest::collection::vec(proptest::num::u8::ANY, 0..4096),
        ) {
            let mut bytes = if zip_header { b"PK\x03\x04".to_vec() } else { Vec::new() };
            bytes.extend(noise);
            proptest::prop_assert!(read_workbook(bytes, "").is_err());
        }
    }

    #[test]
    fn the_sample_reads_its_data_sheet_at_its_rows() {
        let bytes = std::fs::read(SAMPLE).unwrap();
        let book = read_workbook(bytes.clone(), "").unwrap();
        assert_eq!(book.sheet, "第3周");
        let header = book.records.iter().find(|r| r.row == 4).unwrap();
        assert_eq!(header.cells[1], "成交日期");
        let first = book.records.iter().find(|r| r.row == 5).unwrap();
        assert_eq!((first.cells[1].as_str(), first.cells[5].as_str()), ("2024-01-15", "0.88"));
        // The merged title fills its row.
        assert_eq!(book.records[0].cells[3], "周度销售进展记录表");
        // A sheet asked for by name is read even without a header (the
        // import then says no header was found in it).
        assert_eq!(read_workbook(bytes.clone(), "说明").unwrap().sheet, "说明");
        assert!(matches!(read_workbook(bytes, "第9周").unwrap_err(), FileError::NoSheet { .. }));
    }

    fn book_with(cells: &[(u32, u16, &str)], hidden_first: bool) -> Vec<u8> {
        let mut book = rust_xlsxwriter::Workbook::new();
        if hidden_first {
            // Excel keeps the first (active) sheet visible: a cover first.
            book.add_worksheet().set_name("cover").unwrap().write_string(0, 0, "说明").unwrap();
            let old = book.add_worksheet().set_name("old").unwrap();
            old.write_string(0, 0, "日期").unwrap();
            old.write_string(0, 1, "销售").unwrap();
            old.write_string(0, 2, "金额").unwrap();
            old.set_hidden(true);
        }
        let sheet = book.add_worksheet().set_name("data").unwrap();
        for (r, c, v) in cells {
            sheet.write_string(*r, *c, *v).unwrap();
        }
        book.save_to_buffer().unwrap()
    }

    #[test]
    fn a_far_cell_or_a_huge_one_is_refused_not_allocated() {
        let far = book_with(&[(0, 0, "日期"), (1_048_575, 16_383, "1")], false);
        let e = read_workbook(far, "").unwrap_err();
        assert!(e.to_string().contains("XFD1048576"), "{e}");
        let deep = book_with(&[(0, 0, "日期"), (MAX_ROWS, 0, "1")], false);
        assert!(read_workbook(deep, "").unwrap_err().to_string().contains("export it as CSV"));
        let long = "x".repeat(MAX_CELL_CHARS + 1);
        let huge = book_with(&[(0, 0, "日期"), (3, 2, &long)], false);
        assert!(read_workbook(huge, "").unwrap_err().to_string().contains("cell C4 holds 10001 characters"));
    }

    #[test]
    fn hidden_sheets_are_passed_over_unless_named() {
        let bytes = book_with(&[(0, 0, "日期"), (0, 1, "销售"), (0, 2, "金额")], true);
        assert_eq!(read_workbook(bytes.clone(), "").unwrap().sheet, "data");
        assert_eq!(read_workbook(bytes, "old").unwrap().sheet, "old");
    }
}
