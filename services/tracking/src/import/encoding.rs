//! Text encodings of CSV files, decided without guessing: a BOM names the
//! encoding; without one, every field is validated as it arrives — the
//! first field that is not ASCII decides (UTF-8 if it is valid UTF-8, else
//! GB18030, of which GBK is a subset), and every later field must be valid
//! in that encoding. A byte sequence that is not is an error naming its row
//! and column; nothing is ever replaced by U+FFFD.
//!
//! CSV's structural bytes (`,` `"` CR LF) never occur inside a UTF-8 or
//! GB18030 multi-byte sequence (GBK trail bytes are 0x40–0xFE, GB18030's
//! four-byte digits 0x30–0x39), so records are split on raw bytes and each
//! field is decoded on its own. UTF-16 is transcoded before splitting.

use encoding_rs::{GB18030, UTF_16BE, UTF_16LE};

/// An encoding a CSV file may be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16Le,
    Utf16Be,
    /// GB18030, which includes GBK (and GB2312).
    Gb18030,
}

impl Encoding {
    /// The encoding a request names ("utf-8", "gbk", …); `None` if unknown.
    pub fn named(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "utf-8" | "utf8" => Some(Self::Utf8),
            "utf-16le" | "utf-16" | "utf16le" | "utf16" => Some(Self::Utf16Le),
            "utf-16be" | "utf16be" => Some(Self::Utf16Be),
            "gbk" | "gb2312" | "gb18030" | "cp936" => Some(Self::Gb18030),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Utf8 => "UTF-8",
            Self::Utf16Le => "UTF-16LE",
            Self::Utf16Be => "UTF-16BE",
            Self::Gb18030 => "GBK/GB18030",
        }
    }

    /// The encoding a byte-order mark names, and the mark's length.
    pub fn from_bom(bytes: &[u8]) -> Option<(Self, usize)> {
        match bytes {
            [0xEF, 0xBB, 0xBF, ..] => Some((Self::Utf8, 3)),
            [0xFF, 0xFE, ..] => Some((Self::Utf16Le, 2)),
            [0xFE, 0xFF, ..] => Some((Self::Utf16Be, 2)),
            [0x84, 0x31, 0x95, 0x33, ..] => Some((Self::Gb18030, 4)),
            _ => None,
        }
    }

    /// UTF-16 recognised without a BOM: in the first bytes, NULs fill the
    /// odd (little-endian) or even (big-endian) positions, as ASCII text
    /// in UTF-16 does. Other text never holds NULs.
    pub fn utf16_without_bom(head: &[u8]) -> Option<Self> {
        let pairs: Vec<&[u8]> = head.chunks_exact(2).take(32).collect();
        if pairs.len() < 2 {
            return None;
        }
        let count = |f: fn(&[u8]) -> bool| pairs.iter().filter(|p| f(p)).count();
        let le = count(|p| p[1] == 0 && p[0] != 0);
        let be = count(|p| p[0] == 0 && p[1] != 0);
        match (le * 2 > pairs.len(), be * 2 > pairs.len()) {
            (true, false) => Some(Self::Utf16Le),
            (false, true) => Some(Self::Utf16Be),
            _ => None,
        }
    }

    /// The encoding_rs decoder UTF-16 files are transcoded with.
    pub fn utf16(self) -> Option<&'static encoding_rs::Encoding> {
        match self {
            Self::Utf16Le => Some(UTF_16LE),
            Self::Utf16Be => Some(UTF_16BE),
            _ => None,
        }
    }
}

/// Decodes fields, deciding the encoding from the first non-ASCII one
/// unless it was given (forced or by a BOM).
#[derive(Debug, Clone)]
pub struct FieldDecoder {
    encoding: Option<Encoding>,
    /// Given by the caller or a BOM (no mixing check: the caller said so).
    given: bool,
    /// The row and column that decided, for the mixed-encoding message.
    decided_at: Option<(u64, usize)>,
}

impl FieldDecoder {
    pub fn detecting() -> Self {
        Self { encoding: None, given: false, decided_at: None }
    }

    pub fn given(encoding: Encoding) -> Self {
        // UTF-16 is transcoded to UTF-8 before fields are split.
        let encoding = if encoding.utf16().is_some() { Encoding::Utf8 } else { encoding };
        Self { encoding: Some(encoding), given: true, decided_at: None }
    }

    /// The encoding in use, once known.
    pub fn encoding(&self) -> Option<Encoding> {
        self.encoding
    }

    /// One field's text; an error says why its bytes are not text.
    pub fn decode(&mut self, bytes: &[u8], (row, column): (u64, usize)) -> Result<String, String> {
        if bytes.is_ascii() {
            // ASCII is the same in every encoding here.
            return Ok(String::from_utf8_lossy(bytes).into_owned());
        }
        let utf8 = std::str::from_utf8(bytes).ok();
        let gb = || GB18030.decode_without_bom_handling_and_without_replacement(bytes).map(|c| c.into_owned());
        match self.encoding {
            None => {
                // GBK text is often valid UTF-8 too ("签约" is C7 A9 D4 BC,
                // "ǩԼ" in UTF-8): UTF-8 wins only when it reads as text
                // people write, or when the bytes are not GBK at all.
                let gbk = gb();
                let (text, encoding) = match (utf8, gbk) {
                    (Some(t), _) if plausible(t) => (t.to_owned(), Encoding::Utf8),
                    (_, Some(g)) => (g, Encoding::Gb18030),
                    (Some(t), None) => (t.to_owned(), Encoding::Utf8),
                    (None, None) => return Err(neither(bytes)),
                };
                self.encoding = Some(encoding);
                self.decided_at = Some((row, column));
                Ok(text)
            }
            Some(Encoding::Gb18030) => {
                // UTF-8 text is often also valid GB18030 (as mojibake): in a
                // file found to be GBK, valid UTF-8 means mixed encodings.
                if let Some(t) = utf8
                    && plausible(t)
                    && t.chars().any(is_cjk)
                {
                    // Even when GBK was named: decoded as GBK this would be
                    // mojibake ("美的集团" as "缇庣殑闆嗗洟").
                    return Err(if self.given {
                        format!("this text reads as UTF-8 ({t}), not GBK: import the file without --encoding gbk")
                    } else {
                        self.mixed("UTF-8")
                    });
                }
                gb().ok_or_else(|| format!("{} is not valid GBK/GB18030 ({})", shown(bytes), self.since()))
            }
            Some(_) => utf8.map(str::to_owned).ok_or_else(|| {
                if self.given {
                    format!("{} is not valid UTF-8", shown(bytes))
                } else if gb().is_some() {
                    self.mixed("GBK")
                } else {
                    format!("{} is not valid UTF-8 ({})", shown(bytes), self.since())
                }
            }),
        }
    }

    fn since(&self) -> String {
        match (self.given, self.decided_at) {
            (false, Some((row, _))) => {
                format!("the file reads as {} from row {row}", self.encoding.map_or("", Encoding::label))
            }
            _ => format!("the file is {}", self.encoding.map_or("", Encoding::label)),
        }
    }

    fn mixed(&self, other: &str) -> String {
        format!(
            "this text is {other} while {}: the file mixes encodings — save it again in one \
             encoding, or name one with --encoding",
            self.since()
        )
    }
}

/// Whether UTF-8 text reads as what sales sheets hold: ASCII, Latin-1
/// letters and signs, punctuation, CJK, Hangul, full-width forms. GBK
/// bytes read as UTF-8 give Latin Extended, Armenian, Hebrew… instead.
fn plausible(text: &str) -> bool {
    text.chars().all(|c| {
        c.is_ascii()
            || ('\u{00A0}'..='\u{00FF}').contains(&c)
            || ('\u{2000}'..='\u{206F}').contains(&c)
            || ('\u{20A0}'..='\u{20CF}').contains(&c)
            || is_cjk(c)
            || ('\u{AC00}'..='\u{D7AF}').contains(&c)
            || ('\u{FF00}'..='\u{FFEF}').contains(&c)
    })
}

fn is_cjk(c: char) -> bool {
    ('\u{2E80}'..='\u{9FFF}').contains(&c) || ('\u{F900}'..='\u{FAFF}').contains(&c)
}

fn neither(bytes: &[u8]) -> String {
    format!("{} is neither UTF-8 nor GBK/GB18030 text; name the encoding with --encoding", shown(bytes))
}

/// The offending bytes, briefly, as hex.
fn shown(bytes: &[u8]) -> String {
    let hex: Vec<String> = bytes.iter().take(12).map(|b| format!("{b:02X}")).collect();
    let more = if bytes.len() > 12 { " …" } else { "" };
    format!("bytes [{}{more}]", hex.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_non_ascii_field_decides() {
        let mut d = FieldDecoder::detecting();
        assert_eq!(d.decode(b"abc", (1, 0)).unwrap(), "abc");
        assert_eq!(d.encoding(), None);
        let (gbk, _, _) = encoding_rs::GBK.encode("中国石化");
        assert_eq!(d.decode(&gbk, (300, 2)).unwrap(), "中国石化");
        assert_eq!(d.encoding(), Some(Encoding::Gb18030));
        let mixed = d.decode("中国石化".as_bytes(), (301, 2)).unwrap_err();
        assert!(mixed.contains("mixes encodings") && mixed.contains("row 300"), "{mixed}");
    }

    #[test]
    fn gbk_that_is_also_valid_utf8_is_read_as_gbk() {
        // "签约" in GBK is valid UTF-8 ("ǩԼ"), which nobody writes.
        let (gbk, _, _) = encoding_rs::GBK.encode("签约");
        assert!(std::str::from_utf8(&gbk).is_ok());
        let mut d = FieldDecoder::detecting();
        assert_eq!(d.decode(&gbk, (2, 3)).unwrap(), "签约");
        assert_eq!(d.encoding(), Some(Encoding::Gb18030));
        assert_eq!(d.decode(&gbk, (3, 3)).unwrap(), "签约");
        // UTF-8 Latin-1 letters stay UTF-8.
        let mut d = FieldDecoder::detecting();
        assert_eq!(d.decode("Café Nürnberg".as_bytes(), (2, 1)).unwrap(), "Café Nürnberg");
        assert_eq!(d.encoding(), Some(Encoding::Utf8));
    }

    #[test]
    fn utf8_then_gbk_is_an_error_never_a_replacement() {
        let mut d = FieldDecoder::detecting();
        assert_eq!(d.decode("华为".as_bytes(), (2, 1)).unwrap(), "华为");
        let (gbk, _, _) = encoding_rs::GBK.encode("联想");
        assert!(d.decode(&gbk, (9, 1)).unwrap_err().contains("mixes encodings"));
        assert!(d.decode(&[0xFF, 0xFE, 0x41], (10, 1)).unwrap_err().contains("not valid UTF-8"));
    }

    #[test]
    fn a_given_encoding_is_used_strictly() {
        let mut d = FieldDecoder::given(Encoding::Gb18030);
        assert_eq!(d.decode(&[0xD6, 0xD0], (1, 0)).unwrap(), "中");
        assert!(d.decode("美的集团".as_bytes(), (2, 0)).unwrap_err().contains("reads as UTF-8"));
        assert!(d.decode(&[0x81], (2, 0)).unwrap_err().contains("not valid GBK"));
        assert_eq!(Encoding::named("GBK"), Some(Encoding::Gb18030));
        assert_eq!(Encoding::named("latin-1"), None);
    }
}
