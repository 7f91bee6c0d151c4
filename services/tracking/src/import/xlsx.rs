//! XLSX: the first worksheet's cells as text (dates as YYYY-MM-DD, numbers
//! in their shortest exact decimal form).

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};

use super::{FileError, MAX_XLSX_BYTES};

pub fn read_xlsx(bytes: Vec<u8>) -> Result<Vec<Vec<String>>, FileError> {
    if bytes.is_empty() {
        return Err(FileError::Empty);
    }
    if bytes.len() > MAX_XLSX_BYTES {
        return Err(FileError::TooLarge);
    }
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(|e| FileError::Xlsx(e.to_string()))?;
    let sheet = book.worksheet_range_at(0).ok_or(FileError::Empty)?.map_err(|e| FileError::Xlsx(e.to_string()))?;
    Ok(sheet.rows().map(|r| r.iter().map(cell).collect()).collect())
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
            proptest::prop_assert!(read_xlsx(bytes).is_err());
        }
    }
}
