//! Free text as people type it: what must not be stored because it would
//! read otherwise than it is (one rule for imports, names and review
//! texts alike).

/// Text that must not be stored as it is: a replacement
/// character (text damaged before it reached the file), control
/// characters, private-use code points (GB18030's user-defined area),
/// bidirectional overrides and zero-width characters (text that reads
/// otherwise than it is). Why, or `None` when the text is clean.
pub fn suspicious(text: &str) -> Option<String> {
    let c = text.chars().find(|c| {
        let n = *c as u32;
        *c == '\u{FFFD}'
            || (c.is_control() && *c != '\n' && *c != '\r')
            || ('\u{E000}'..='\u{F8FF}').contains(c)
            || ('\u{F0000}'..='\u{10FFFF}').contains(c)
            // Bidi controls and marks, zero-width and invisible operators.
            || ('\u{202A}'..='\u{202E}').contains(c)
            || ('\u{2066}'..='\u{2069}').contains(c)
            || ('\u{200B}'..='\u{200F}').contains(c)
            || ('\u{2060}'..='\u{2064}').contains(c)
            || matches!(*c, '\u{061C}' | '\u{00AD}' | '\u{180E}' | '\u{FEFF}' | '\u{2028}' | '\u{2029}')
            // Hangul fillers, variation selectors, tags, interlinear
            // annotation, noncharacters.
            || matches!(*c, '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}')
            || ('\u{FE00}'..='\u{FE0F}').contains(c)
            || ('\u{E0000}'..='\u{E01EF}').contains(c)
            || ('\u{FFF9}'..='\u{FFFB}').contains(c)
            || ('\u{FDD0}'..='\u{FDEF}').contains(c)
            || (n & 0xFFFE) == 0xFFFE
    })?;
    let what = match c {
        '\u{FFFD}' => "a replacement character (�): the text was damaged before it reached this file".to_owned(),
        c if c.is_control() => format!("a control character (U+{:04X})", c as u32),
        c if ('\u{E000}'..='\u{F8FF}').contains(&c) || c >= '\u{F0000}' => {
            format!("a private-use character (U+{:04X}), which shows as nothing a reader can check", c as u32)
        }
        c => format!("an invisible formatting character (U+{:04X})", c as u32),
    };
    Some(format!("holds {what}; nothing is stored that reads otherwise than it is"))
}

/// A required text field: trimmed, 1–`max` characters, nothing
/// [`suspicious`] in it.
pub fn plain(field: &str, raw: &str, max: usize) -> Result<String, crate::DomainError> {
    let t = raw.trim();
    if t.is_empty() || t.chars().count() > max {
        return Err(crate::DomainError::invalid(field, format!("give 1–{max} characters")));
    }
    if let Some(why) = suspicious(t) {
        return Err(crate::DomainError::invalid(field, why));
    }
    Ok(t.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_that_reads_otherwise_is_refused() {
        for bad in ["abc\u{202E}fdp.exe", "bell\u{7}", "damaged \u{FFFD}", "zero\u{200B}width"] {
            assert!(suspicious(bad).is_some(), "{bad:?}");
            assert!(plain("x", bad, 100).is_err(), "{bad:?}");
        }
        assert_eq!(plain("x", "  议价能力不足\n第二行 ", 100).unwrap(), "议价能力不足\n第二行");
        assert!(plain("x", "   ", 100).is_err());
    }
}
