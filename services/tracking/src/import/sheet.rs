//! A sheet read top to bottom: title lines above the header are passed
//! over, the header is the first row naming the required columns, and each
//! row below becomes a [`Line`]: a data row, a refusal naming its cell, or
//! a skipped total line.

use super::{Columns, FileError, Record, SheetRow, cells};

/// Rows searched for the header before giving up.
pub const HEADER_SEARCH: u64 = 30;

/// What one record below the header is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    Data(Box<SheetRow>),
    /// A row that cannot be read, by column title.
    Refused {
        row: u64,
        column: String,
        why: String,
    },
    /// A row read but not imported (a total line).
    Skipped {
        row: u64,
        reason: String,
    },
}

#[derive(Debug, Default)]
pub struct Sheet {
    columns: Option<Columns>,
    last_row: u64,
}

impl Sheet {
    pub fn columns(&self) -> Option<&Columns> {
        self.columns.as_ref()
    }

    /// Reads the next record; `None` for title lines and blank rows.
    pub fn take(&mut self, record: Record) -> Result<Option<Line>, FileError> {
        self.last_row = record.row;
        if let Some((super::csv_stream::WHOLE_FILE, why)) = &record.bad {
            // The reading itself stopped: no row after it is known.
            return Err(FileError::Encoding { row: record.row, column: "the file".to_owned(), why: why.clone() });
        }
        let blank = record.cells.iter().all(|c| c.trim().is_empty());
        let Some(columns) = &self.columns else {
            if let Some((column, why)) = record.bad {
                return Err(FileError::Encoding { row: record.row, column: format!("column {}", column + 1), why });
            }
            if blank {
                return self.searching();
            }
            self.columns = Columns::from_header(record.row, &record.cells)?;
            return self.searching();
        };
        if let Some((column, why)) = record.bad {
            return Ok(Some(Line::Refused { row: record.row, column: columns.title_at(column), why }));
        }
        if blank {
            return Ok(None);
        }
        // A note column may say anything — except hold what look like rows:
        // a quote left open there swallows the rows below it.
        let width = record.cells.len().max(2);
        for (i, text) in record.cells.iter().enumerate().filter(|(i, _)| !columns.uses(*i)) {
            let after = text.split_once('\n').map_or("", |(_, rest)| rest);
            if after.matches(',').count() + 1 >= width {
                let why = "spans lines that look like rows: is a quote (\") left open here?".to_owned();
                return Ok(Some(Line::Refused { row: record.row, column: columns.title_at(i), why }));
            }
        }
        // What is stored is checked whole.
        for (i, text) in record.cells.iter().enumerate().filter(|(i, _)| columns.uses(*i)) {
            let why = if text.contains(['\n', '\r']) {
                Some("spans several lines: is a quote (\") left open above it?".to_owned())
            } else {
                cells::suspicious(text)
            };
            if let Some(why) = why {
                return Ok(Some(Line::Refused { row: record.row, column: columns.title_at(i), why }));
            }
        }
        if Columns::repeats_header(&record.cells) {
            let why = format!("repeats the header of row {}: two header rows? keep one table per sheet", columns.row);
            return Ok(Some(Line::Refused { row: record.row, column: columns.title_at(0), why }));
        }
        let row = columns.row(record.row, &record.cells);
        // A cell that is exactly a total word (小计 in the customer column of
        // a per-rep subtotal) makes the row a total, whatever else it has.
        if let Some(word) = cells::is_total(&record.cells) {
            return Ok(Some(Line::Skipped { row: record.row, reason: format!("a total line ({word})") }));
        }
        Ok(Some(Line::Data(Box::new(row))))
    }

    fn searching(&self) -> Result<Option<Line>, FileError> {
        if self.columns.is_none() && self.last_row >= HEADER_SEARCH {
            return Err(FileError::NoHeader { searched: HEADER_SEARCH });
        }
        Ok(None)
    }

    /// At the end of the file: the header, which must have been found.
    pub fn finish(&self) -> Result<&Columns, FileError> {
        match &self.columns {
            Some(c) => Ok(c),
            None if self.last_row == 0 => Err(FileError::Empty),
            None => Err(FileError::NoHeader { searched: self.last_row.min(HEADER_SEARCH) }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(row: u64, cells: &[&str]) -> Record {
        Record { row, cells: cells.iter().map(|s| s.to_string()).collect(), bad: None }
    }

    #[test]
    fn the_header_below_title_rows_and_a_total_line() {
        let mut s = Sheet::default();
        assert_eq!(s.take(rec(1, &["周度销售进展记录表"])).unwrap(), None);
        assert_eq!(s.take(rec(2, &["区域：华东（Region A）", "", "填报人：王经理"])).unwrap(), None);
        assert_eq!(s.take(rec(3, &[])).unwrap(), None);
        assert_eq!(s.take(rec(4, &["序号", "成交日期", "业务员", "成交金额（万元）"])).unwrap(), None);
        assert_eq!(s.finish().unwrap().row, 4);
        let Some(Line::Data(r)) = s.take(rec(5, &["1", "2024-01-15", "张伟", "0.88"])).unwrap() else { panic!() };
        assert_eq!((r.number, r.rep.as_str()), (5, "张伟"));
        let total = s.take(rec(20, &["", "", "", "合计", ""])).unwrap();
        assert_eq!(total, Some(Line::Skipped { row: 20, reason: "a total line (合计)".into() }));
        let again = s.take(rec(21, &["", "日期", "销售", "金额"])).unwrap();
        assert!(matches!(again, Some(Line::Refused { row: 21, .. })), "{again:?}");
        let open_quote = s.take(rec(22, &["2", "2024-01-16", "张伟", "美的,100\n2024-01-17,王芳,3"])).unwrap();
        assert!(matches!(&open_quote, Some(Line::Refused { why, .. }) if why.contains("quote")), "{open_quote:?}");
        let damaged = s.take(rec(23, &["3", "2024-01-16", "张\u{FFFD}", "1"])).unwrap();
        assert!(matches!(&damaged, Some(Line::Refused { column, .. }) if column == "业务员"), "{damaged:?}");
        // An unused column may hold any note, but not swallowed rows.
        let noted = s.take(rec(24, &["备注\n第二行", "2024-01-16", "张伟", "1"])).unwrap();
        assert!(matches!(noted, Some(Line::Data(_))), "{noted:?}");
        let swallowed =
            s.take(rec(25, &["客户说\n5,2024-01-17,王芳,3\n6,2024-01-18,刘洋,1", "2024-01-16", "张伟", "1"]));
        assert!(matches!(swallowed.unwrap(), Some(Line::Refused { row: 25, .. })));
    }

    #[test]
    fn no_header_is_a_clear_error() {
        let mut s = Sheet::default();
        for row in 1..HEADER_SEARCH {
            assert_eq!(s.take(rec(row, &["note"])).unwrap(), None);
        }
        assert_eq!(s.take(rec(HEADER_SEARCH, &["note"])).unwrap_err(), FileError::NoHeader { searched: 30 });
        assert_eq!(Sheet::default().finish().unwrap_err(), FileError::Empty);
    }
}
