//! CSV records from a stream of byte chunks, parsed incrementally with
//! csv-core on raw bytes and decoded field by field (see `encoding`).
//! Memory stays bounded by the chunk and the longest record.

use encoding_rs::Decoder;

use super::encoding::{Encoding, FieldDecoder};

/// One record: its row (1-based, counted from the top of the file), its
/// cells, and the first cell whose bytes are not text, if any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    pub row: u64,
    pub cells: Vec<String>,
    /// (column index, why).
    pub bad: Option<(usize, String)>,
}

/// Longest record read (a quote left open would otherwise gather the
/// rest of the file into one field).
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;
/// Most fields in a record.
pub const MAX_FIELDS: usize = 1000;

/// The column a file-level fault is reported against.
pub const WHOLE_FILE: usize = usize::MAX;

pub struct CsvStream {
    /// Bytes held until the BOM (or its absence) is known.
    head: Vec<u8>,
    started: bool,
    forced: Option<Encoding>,
    fields: FieldDecoder,
    /// UTF-16 is transcoded to UTF-8 before records are split.
    utf16: Option<Decoder>,
    bom: bool,
    reader: csv_core::Reader,
    field_bytes: Vec<u8>,
    field_len: usize,
    ends: Vec<usize>,
    ends_len: usize,
    rows: u64,
    /// A fault that ends the reading (an endless record, bad UTF-16).
    failed: bool,
}

impl Default for CsvStream {
    fn default() -> Self {
        Self::new(None)
    }
}

impl std::fmt::Debug for CsvStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvStream").field("encoding", &self.encoding()).finish_non_exhaustive()
    }
}

impl CsvStream {
    /// A stream in `forced` encoding, or detecting it when `None`.
    pub fn new(forced: Option<Encoding>) -> Self {
        Self {
            head: Vec::new(),
            started: false,
            forced,
            fields: FieldDecoder::detecting(),
            utf16: None,
            bom: false,
            reader: csv_core::ReaderBuilder::new().build(),
            field_bytes: vec![0; 4096],
            field_len: 0,
            ends: vec![0; 64],
            ends_len: 0,
            rows: 0,
            failed: false,
        }
    }

    /// The encoding in use ("UTF-8", "GBK/GB18030", …; plain ASCII is
    /// UTF-8).
    pub fn encoding(&self) -> String {
        let label = self.fields.encoding().map_or("UTF-8", Encoding::label);
        match (self.utf16.as_ref(), self.forced) {
            (Some(_), Some(e)) => e.label().to_owned(),
            (Some(d), None) if self.bom => format!("{} (BOM)", d.encoding().name()),
            (Some(d), None) => d.encoding().name().to_owned(),
            (None, _) if self.bom => format!("{label} (BOM)"),
            _ => label.to_owned(),
        }
    }

    /// Feeds a chunk (`last` for the end of the file) and returns the
    /// records it completed.
    pub fn feed(&mut self, chunk: &[u8], last: bool) -> Vec<Record> {
        if self.failed {
            return Vec::new();
        }
        if !self.started {
            self.head.extend_from_slice(chunk);
            if self.head.len() < 64 && !last {
                return Vec::new();
            }
            self.started = true;
            let head = std::mem::take(&mut self.head);
            let body = self.choose(&head);
            return self.transcode_and_parse(body, last);
        }
        self.transcode_and_parse(chunk, last)
    }

    /// Reads the BOM, if any, and sets the decoders; the bytes after it.
    fn choose<'a>(&mut self, head: &'a [u8]) -> &'a [u8] {
        // UTF-16 without a BOM: ASCII text has a NUL in every other byte.
        let bom = Encoding::from_bom(head).or_else(|| Encoding::utf16_without_bom(head).map(|e| (e, 0)));
        let (encoding, skip) = match (self.forced, bom) {
            // A BOM of the forced encoding is skipped; another one is data.
            (Some(f), Some((b, n))) if f == b => (Some(f), n),
            (Some(f), _) => (Some(f), 0),
            (None, Some((b, n))) => (Some(b), n),
            (None, None) => (None, 0),
        };
        self.bom = skip > 0;
        if let Some(e) = encoding {
            self.fields = FieldDecoder::given(e);
            self.utf16 = e.utf16().map(encoding_rs::Encoding::new_decoder_without_bom_handling);
        }
        &head[skip..]
    }

    fn transcode_and_parse(&mut self, bytes: &[u8], last: bool) -> Vec<Record> {
        let Some(decoder) = self.utf16.as_mut() else { return self.parse(bytes, last) };
        use encoding_rs::DecoderResult::Malformed;
        // Room for the whole chunk, so the decoder never stops for space.
        let room = decoder.max_utf8_buffer_length_without_replacement(bytes.len()).unwrap_or(bytes.len() * 3 + 16);
        let mut text = String::with_capacity(room);
        let (result, _) = decoder.decode_to_string_without_replacement(bytes, &mut text, last);
        let mut records = self.parse(text.as_bytes(), last && !matches!(result, Malformed(..)));
        if let Malformed(..) = result {
            // The rest of the file cannot be read: the row after the last
            // complete record is named.
            let why = format!("the file is not valid {} from here on", self.encoding());
            records.push(self.fail(why));
        }
        records
    }

    fn parse(&mut self, mut input: &[u8], last: bool) -> Vec<Record> {
        use csv_core::ReadRecordResult as R;
        let mut records = Vec::new();
        loop {
            let (result, nin, nout, nend) = self.reader.read_record(
                input,
                &mut self.field_bytes[self.field_len..],
                &mut self.ends[self.ends_len..],
            );
            input = &input[nin..];
            self.field_len += nout;
            self.ends_len += nend;
            match result {
                R::InputEmpty => {
                    if !last {
                        return records;
                    }
                    // At the end of the file, an empty input tells the reader to finish.
                    if nin == 0 && nout == 0 && nend == 0 && input.is_empty() {
                        let (r, _, nout2, nend2) = self.reader.read_record(
                            &[],
                            &mut self.field_bytes[self.field_len..],
                            &mut self.ends[self.ends_len..],
                        );
                        self.field_len += nout2;
                        self.ends_len += nend2;
                        match r {
                            R::Record => records.push(self.take_record()),
                            R::OutputFull => self.field_bytes.resize(self.field_bytes.len() * 2, 0),
                            R::OutputEndsFull => self.ends.resize(self.ends.len() * 2, 0),
                            R::End | R::InputEmpty => return records,
                        }
                    }
                }
                R::OutputFull if self.field_bytes.len() >= MAX_RECORD_BYTES => {
                    let why = format!("a row longer than {MAX_RECORD_BYTES} bytes: is a quote (\") left open?");
                    records.push(self.fail(why));
                    return records;
                }
                R::OutputEndsFull if self.ends.len() >= MAX_FIELDS => {
                    records.push(self.fail(format!("a row of more than {MAX_FIELDS} fields")));
                    return records;
                }
                R::OutputFull => self.field_bytes.resize(self.field_bytes.len() * 2, 0),
                R::OutputEndsFull => self.ends.resize(self.ends.len() * 2, 0),
                R::Record => records.push(self.take_record()),
                R::End => return records,
            }
        }
    }

    /// Ends the reading with a fault of the whole file, named at the row
    /// being read.
    fn fail(&mut self, why: String) -> Record {
        self.failed = true;
        Record { row: self.rows + 1, cells: Vec::new(), bad: Some((WHOLE_FILE, why)) }
    }

    fn take_record(&mut self) -> Record {
        self.rows += 1;
        let row = self.rows;
        let mut cells = Vec::with_capacity(self.ends_len);
        let mut bad = None;
        let mut start = 0;
        for (column, &end) in self.ends[..self.ends_len].iter().enumerate() {
            let bytes = &self.field_bytes[start..end];
            match self.fields.decode(bytes, (row, column)) {
                Ok(text) => cells.push(text),
                Err(why) => {
                    bad.get_or_insert((column, why));
                    cells.push(String::new());
                }
            }
            start = end;
        }
        self.field_len = 0;
        self.ends_len = 0;
        Record { row, cells, bad }
    }
}

#[cfg(test)]
mod tests {
    use encoding_rs::GBK;

    use super::*;

    fn all(chunks: &[&[u8]]) -> (Vec<Vec<String>>, String) {
        let mut s = CsvStream::default();
        let mut out = Vec::new();
        for (i, c) in chunks.iter().enumerate() {
            out.extend(s.feed(c, i + 1 == chunks.len()).into_iter().map(|r| r.cells));
        }
        (out, s.encoding())
    }

    proptest::proptest! {
        // Fuzzing by property: any bytes, any chunking — no panic.
        #[test]
        fn any_bytes_in_any_chunks_never_panic(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..2048),
            cuts in proptest::collection::vec(0usize..2048, 0..8),
        ) {
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(bytes.len())).collect();
            cuts.sort_unstable();
            let mut chunks = Vec::new();
            let mut at = 0;
            for c in cuts.into_iter().chain([bytes.len()]) {
                chunks.push(&bytes[at..c.max(at)]);
                at = c.max(at);
            }
            let _ = all(&chunks);
        }

        // Where the records are is independent of where the chunks end.
        #[test]
        fn chunking_does_not_change_the_records(text in "[a-c0-9,\"\n\r ]{0,300}", cut in 0usize..300) {
            let bytes = text.as_bytes();
            let cut = cut.min(bytes.len());
            let whole = all(&[bytes]).0;
            let pieces = all(&[&bytes[..cut], &bytes[cut..]]).0;
            proptest::prop_assert_eq!(whole, pieces);
        }
    }

    #[test]
    fn records_across_chunk_boundaries() {
        let (rows, enc) = all(&[b"a,b\n1,\"x", b",y\"\n2,z", b""]);
        assert_eq!(rows, vec![vec!["a", "b"], vec!["1", "x,y"], vec!["2", "z"]]);
        assert_eq!(enc, "UTF-8");
    }

    #[test]
    fn gbk_is_recognised_and_decoded() {
        let (bytes, _, _) = GBK.encode("日期,销售代表,成交金额\n2024-01-03,rep-1,8000\n");
        let (rows, enc) = all(&[&bytes]);
        assert_eq!(enc, "GBK/GB18030");
        assert_eq!(rows[0], vec!["日期", "销售代表", "成交金额"]);
        assert_eq!(rows[1][2], "8000");
    }

    #[test]
    fn late_gbk_after_a_megabyte_of_ascii_is_decoded() {
        let mut text = String::from("date,rep,customer,amount\n");
        while text.len() < 1_100_000 {
            text.push_str("2024-01-03,rep-1,ACME Ltd,100.00\n");
        }
        text.push_str("2024-01-04,rep-1,中国石化,200.00\n");
        let (gbk, _, _) = GBK.encode(&text);
        let chunks: Vec<&[u8]> = gbk.chunks(4096).collect();
        let (rows, enc) = all(&chunks);
        assert_eq!(enc, "GBK/GB18030");
        assert_eq!(rows.last().unwrap()[2], "中国石化");
        // The same late text in UTF-8, cut mid-character by the chunks.
        let chunks: Vec<&[u8]> = text.as_bytes().chunks(4093).collect();
        let (rows, enc) = all(&chunks);
        assert_eq!(enc, "UTF-8");
        assert_eq!(rows.last().unwrap()[2], "中国石化");
    }

    #[test]
    fn invalid_bytes_deep_in_the_file_name_their_row_and_column() {
        let mut bytes = "日期,销售代表,客户,金额\n".as_bytes().to_vec();
        for _ in 0..8_998 {
            bytes.extend_from_slice(b"2024-01-03,rep-1,acme,100\n");
        }
        bytes.extend_from_slice(b"2024-01-03,rep-1,\xFF\xFEbad,100\n");
        let mut s = CsvStream::default();
        let records: Vec<Record> =
            bytes.chunks(4096).enumerate().flat_map(|(i, c)| s.feed(c, i == bytes.len().div_ceil(4096) - 1)).collect();
        let bad: Vec<&Record> = records.iter().filter(|r| r.bad.is_some()).collect();
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].row, 9_000);
        let (column, why) = bad[0].bad.clone().unwrap();
        assert_eq!(column, 2);
        assert!(why.contains("not valid UTF-8"), "{why}");
        assert!(records.iter().all(|r| r.cells.iter().all(|c| !c.contains('\u{fffd}'))));
    }

    #[test]
    fn utf16_with_bom_and_a_forced_encoding() {
        let text = "日期,金额\r\n2024-01-03,5\r\n";
        let mut bytes = vec![0xFF, 0xFE];
        bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        let (rows, enc) = all(&[&bytes[..7], &bytes[7..]]);
        assert_eq!(rows, vec![vec!["日期", "金额"], vec!["2024-01-03", "5"]]);
        assert_eq!(enc, "UTF-16LE (BOM)");
        // Without its BOM, recognised by its NULs.
        let (rows, _) = all(&[&bytes[2..]]);
        assert_eq!(rows[1], vec!["2024-01-03", "5"]);
        let (gbk, _, _) = GBK.encode("客户\n华为\n");
        let mut forced = CsvStream::new(Some(Encoding::Gb18030));
        let recs = forced.feed(&gbk, true);
        assert_eq!(recs[1].cells, vec!["华为"]);
    }

    #[test]
    fn utf8_with_bom_and_crlf() {
        let (rows, _) = all(&["\u{feff}日期,金额\r\n2024-01-03,5\r\n".as_bytes()]);
        assert_eq!(rows, vec![vec!["日期", "金额"], vec!["2024-01-03", "5"]]);
    }

    #[test]
    fn a_large_file_streams_in_bounded_memory() {
        // 8 MB in 64 KB chunks: buffers stay at their initial size.
        let block = "rep-1,2024-01-03,customer with a long name,100.00\n".repeat(1300);
        let mut s = CsvStream::default();
        let mut n = 0;
        for _ in 0..128 {
            n += s.feed(block.as_bytes(), false).len();
            assert!(s.field_bytes.len() <= 4096 && s.ends.len() <= 64, "buffers grew");
        }
        n += s.feed(b"", true).len();
        assert_eq!(n, 1300 * 128);
    }

    #[test]
    fn many_small_chunks_of_a_large_file() {
        let mut s = CsvStream::default();
        let line = b"rep-1,2024-01-03,100.00\n";
        let mut n = 0;
        for _ in 0..20_000 {
            n += s.feed(line, false).len();
        }
        n += s.feed(b"", true).len();
        assert_eq!(n, 20_000);
    }
}
