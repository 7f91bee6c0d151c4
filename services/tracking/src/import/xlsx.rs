//! XLSX: one worksheet's cells as text records (dates as YYYY-MM-DD,
//! numbers in their shortest exact decimal form, formulas by their cached
//! value), numbered by their spreadsheet row, merged cells filled from
//! their top-left cell. The sheet is the one named, or the first whose
//! rows hold a header.

use std::io::Cursor;

use calamine::{Data, Dimensions, Range, Reader, Xlsx};

use super::{FileError, MAX_XLSX_BYTES, Record, sheet::HEADER_SEARCH, sheet::Sheet};

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
    let mut book: Book = Xlsx::new(Cursor::new(bytes)).map_err(|e| FileError::Xlsx(e.to_string()))?;
    let names = book.sheet_names();
    let listed = names.join(", ");
    if !sheet.is_empty() {
        let Some(name) = names.iter().find(|n| n.trim() == sheet.trim()) else {
            return Err(FileError::NoSheet { name: sheet.to_owned(), sheets: listed });
        };
        let records = records_of(&mut book, name)?;
        if records.iter().all(|r| r.cells.iter().all(|c| c.trim().is_empty())) {
            return Err(FileError::EmptySheet(name.clone()));
        }
        return Ok(Workbook { sheet: name.clone(), records });
    }
    // The first sheet with a header; a sheet whose header is faulty is
    // remembered so its problem is reported if no sheet is better.
    let mut faulty = None;
    for name in &names {
        let records = records_of(&mut book, name)?;
        match header_in(&records) {
            Ok(true) => return Ok(Workbook { sheet: name.clone(), records }),
            Ok(false) => {}
            Err(e) => {
                faulty.get_or_insert(e);
            }
        }
    }
    Err(faulty.unwrap_or(FileError::NoSheetWithHeader(listed)))
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

fn records_of(book: &mut Book, name: &str) -> Result<Vec<Record>, FileError> {
    let range = book.worksheet_range(name).map_err(|e| FileError::Xlsx(e.to_string()))?;
    let merged = book.merge_cells_by_sheet_name(name).unwrap_or_default();
    Ok(records(&range, &merged))
}

/// Rows as text, at their spreadsheet row numbers (1-based) and columns.
fn records(range: &Range<Data>, merged: &[Dimensions]) -> Vec<Record> {
    let Some((top, left)) = range.start() else { return Vec::new() };
    let mut rows: Vec<Vec<String>> = range
        .rows()
        .map(|r| {
            let mut cells = vec![String::new(); usize::try_from(left).unwrap_or(0)];
            cells.extend(r.iter().map(cell));
            cells
        })
        .collect();
    // A merged region reads as its top-left value in every cell.
    for m in merged {
        let at = |(row, col): (u32, u32)| {
            let r = usize::try_from(row.checked_sub(top)?).ok()?;
            Some((r, usize::try_from(col).ok()?))
        };
        let Some((r0, c0)) = at(m.start) else { continue };
        let value = rows.get(r0).and_then(|r| r.get(c0)).cloned().unwrap_or_default();
        for row in m.start.0..=m.end.0 {
            for col in m.start.1..=m.end.1 {
                if let Some((r, c)) = at((row, col))
                    && let Some(slot) = rows.get_mut(r).and_then(|r| r.get_mut(c))
                {
                    *slot = value.clone();
                }
            }
        }
    }
    rows.into_iter().zip(u64::from(top) + 1..).map(|(cells, row)| Record { row, cells, bad: None }).collect()
}

fn cell(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        // Shortest round-trip form: 8000.5 stays "8000.5", never 8000.499….
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) => {
            dt.as_datetime().map(|t| t.date().format("%Y-%m-%d").to_string()).unwrap_or_else(|| dt.to_string())
        }
        Data::DateTimeIso(s) => s.chars().take(10).collect(),
        Data::DurationIso(s) => s.clone(),
        Data::Error(e) => format!("#{e:?}"),
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
}
