//! CSV records from a stream of byte chunks: the encoding (UTF-8, with or
//! without BOM, else GBK) is chosen from the first bytes and decoded
//! incrementally; records are parsed incrementally with csv-core. Memory
//! stays bounded by the chunk and the longest record.

use encoding_rs::{Decoder, GBK, UTF_8};

/// Bytes looked at before choosing the encoding.
const SNIFF: usize = 8 * 1024;

pub struct CsvStream {
    decoder: Option<Decoder>,
    pending: Vec<u8>,
    reader: csv_core::Reader,
    field_bytes: Vec<u8>,
    field_len: usize,
    ends: Vec<usize>,
    ends_len: usize,
    encoding: &'static str,
}

impl Default for CsvStream {
    fn default() -> Self {
        Self {
            decoder: None,
            pending: Vec::new(),
            reader: csv_core::ReaderBuilder::new().build(),
            field_bytes: vec![0; 4096],
            field_len: 0,
            ends: vec![0; 64],
            ends_len: 0,
            encoding: "",
        }
    }
}

impl std::fmt::Debug for CsvStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvStream").field("encoding", &self.encoding).finish_non_exhaustive()
    }
}

impl CsvStream {
    /// The encoding chosen ("UTF-8" or "GBK"), once known.
    pub fn encoding(&self) -> &'static str {
        self.encoding
    }

    /// Feeds a chunk (`last` for the end of the file) and returns the
    /// records it completed.
    pub fn feed(&mut self, chunk: &[u8], last: bool) -> Vec<Vec<String>> {
        if self.decoder.is_none() {
            self.pending.extend_from_slice(chunk);
            if self.pending.len() < SNIFF && !last {
                return Vec::new();
            }
            let bytes = std::mem::take(&mut self.pending);
            let utf8 = match std::str::from_utf8(&bytes) {
                Ok(_) => true,
                // Valid up to a sequence cut by the sniff window's end.
                Err(e) => e.error_len().is_none() && !last,
            };
            let (decoder, name) = if utf8 { (UTF_8.new_decoder(), "UTF-8") } else { (GBK.new_decoder(), "GBK") };
            self.decoder = Some(decoder);
            self.encoding = name;
            return self.decode_and_parse(&bytes, last);
        }
        self.decode_and_parse(chunk, last)
    }

    fn decode_and_parse(&mut self, bytes: &[u8], last: bool) -> Vec<Vec<String>> {
        let mut text = String::with_capacity(bytes.len() + 16);
        if let Some(d) = self.decoder.as_mut() {
            // Malformed sequences become U+FFFD rather than failing the file.
            let needed = d.max_utf8_buffer_length(bytes.len()).unwrap_or(bytes.len() * 3 + 16);
            text.reserve(needed);
            let _ = d.decode_to_string(bytes, &mut text, last);
        }
        let text = text.trim_start_matches('\u{feff}');
        self.parse(text.as_bytes(), last)
    }

    fn parse(&mut self, mut input: &[u8], last: bool) -> Vec<Vec<String>> {
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
                R::OutputFull => self.field_bytes.resize(self.field_bytes.len() * 2, 0),
                R::OutputEndsFull => self.ends.resize(self.ends.len() * 2, 0),
                R::Record => records.push(self.take_record()),
                R::End => return records,
            }
        }
    }

    fn take_record(&mut self) -> Vec<String> {
        let mut fields = Vec::with_capacity(self.ends_len);
        let mut start = 0;
        for &end in &self.ends[..self.ends_len] {
            fields.push(String::from_utf8_lossy(&self.field_bytes[start..end]).into_owned());
            start = end;
        }
        self.field_len = 0;
        self.ends_len = 0;
        fields
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(chunks: &[&[u8]]) -> (Vec<Vec<String>>, &'static str) {
        let mut s = CsvStream::default();
        let mut out = Vec::new();
        for (i, c) in chunks.iter().enumerate() {
            out.extend(s.feed(c, i + 1 == chunks.len()));
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
        assert_eq!(enc, "GBK");
        assert_eq!(rows[0], vec!["日期", "销售代表", "成交金额"]);
        assert_eq!(rows[1][2], "8000");
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
