//! Cells as people fill them: amounts with ¥, commas or 万, dates as text
//! or Excel serials, total lines, lost deals' reasons and stages. Each
//! reading is exact or an error saying what was expected — never a guess.

use std::str::FromStr;

use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;

use super::titles::{fold_width, normalise};
use crate::domain::activity::LossReason;

/// An amount cell in the column's unit (`scale`): "¥12,000.00", "1.2万",
/// "8,000", "0.88" in a 万元 column. A unit written in the cell (万, 元)
/// overrides the column's.
pub fn amount(cell: &str, scale: Option<Decimal>) -> Result<Decimal, String> {
    let text: String = cell.chars().map(fold_width).filter(|c| !c.is_whitespace() && *c != '\u{a0}').collect();
    let mut t = text.as_str();
    let mut signed = false;
    for sign in ["¥", "￥", "RMB", "CNY", "rmb", "cny"] {
        let before = t.len();
        t = t.strip_prefix(sign).unwrap_or(t);
        t = t.strip_suffix(sign).unwrap_or(t);
        signed |= t.len() != before;
    }
    let (t, scale) = if let Some(v) = t.strip_suffix("万元").or_else(|| t.strip_suffix('万')) {
        (v, Some(Decimal::from(10_000)))
    } else if let Some(v) = t.strip_suffix('元') {
        (v, None)
    } else if signed && scale.is_some() {
        // "¥1,200" in a 万元 column: 1,200 yuan or 1,200 万? Not guessed.
        return Err(format!(
            "{cell} has a currency sign in a column of {}: write the number of that unit, or say 元 (1200元)",
            scale
                .map(|s| if s == Decimal::from(10_000) { "万元".to_owned() } else { format!("×{s}") })
                .unwrap_or_default()
        ));
    } else {
        (t, scale)
    };
    let bad = || format!("{cell} is not an amount (e.g. 12000, ¥12,000.00, 1.2万)");
    if cell.trim_start().starts_with('=') {
        return Err(format!(
            "{cell} is a formula without a saved value: open the file in Excel and save it, so its values are stored"
        ));
    }
    if !thousands_grouped(t) {
        return Err(format!("{cell} is not an amount: a comma separates thousands (12,000.50), never decimals"));
    }
    let plain = t.replace([',', '，'], "");
    if plain.is_empty() || !plain.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+')) {
        return Err(bad());
    }
    let value = Decimal::from_str(&plain).map_err(|_| bad())?;
    // "1.200" is a thousands dot as often as 1.2: more than two decimals
    // in yuan are refused, never read either way.
    if scale.is_none() && value.scale() > 2 {
        return Err(format!("{cell} has more than two decimals: write yuan to the cent (1200 or 1.20)"));
    }
    let scaled = match scale {
        Some(s) => value.checked_mul(s).ok_or_else(bad)?,
        None => value,
    };
    if scaled.normalize().scale() > 2 {
        return Err(format!("{cell} comes to {} yuan, finer than a cent", scaled.normalize()));
    }
    Ok(scaled.normalize())
}

/// Commas, if any, group the whole part in threes: "12,000.50" yes;
/// "1.200,50", "12,00" and "1,2,3" no (a European decimal comma, a typo).
fn thousands_grouped(t: &str) -> bool {
    if !t.contains([',', '，']) {
        return true;
    }
    let unsigned = t.trim_start_matches(['-', '+']);
    let whole = unsigned.split('.').next().unwrap_or_default();
    if unsigned.split('.').skip(1).any(|frac| frac.contains([',', '，'])) {
        return false;
    }
    let groups: Vec<&str> = whole.split([',', '，']).collect();
    groups.first().is_some_and(|g| (1..=3).contains(&g.len()))
        && groups.iter().skip(1).all(|g| g.len() == 3)
        && groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_digit()))
}

pub use attain_core::text::suspicious;

/// A date cell: YYYY-MM-DD, YYYY/M/D, YYYY.M.D, YYYY年M月D日, optionally
/// followed by a time, or an Excel serial day number.
pub fn date(cell: &str) -> Result<NaiveDate, String> {
    let text: String = cell.trim().chars().map(fold_width).collect();
    if text.is_empty() {
        return Err("is empty: a deal needs its date (YYYY-MM-DD)".to_owned());
    }
    if text.starts_with('=') {
        return Err("is a formula without a saved value: open the file in Excel and save it".to_owned());
    }
    let bad = || format!("{cell} is not a date (write YYYY-MM-DD, e.g. 2024-01-15)");
    if let Some(d) = excel_serial(&text) {
        return Ok(d);
    }
    // A time after the date ("2024-01-15 00:00:00") is dropped.
    let day = text.split([' ', 'T']).next().unwrap_or_default();
    let day = day.trim_end_matches('日').replace(['年', '月', '/', '.'], "-");
    let parts: Vec<&str> = day.split('-').collect();
    let [y, m, d] = parts.as_slice() else { return Err(bad()) };
    if y.len() != 4 || !(1..=2).contains(&m.len()) || !(1..=2).contains(&d.len()) {
        return Err(bad());
    }
    let n = |s: &str| s.parse::<u32>().map_err(|_| bad());
    let year = i32::try_from(n(y)?).map_err(|_| bad())?;
    NaiveDate::from_ymd_opt(year, n(m)?, n(d)?).ok_or_else(bad)
}

/// Excel's day numbers (1900 system: 45306 is 2024-01-15), as written in
/// a date column saved as a number. Only 1960–2099 are taken: a bare
/// number outside that is not read as a date.
fn excel_serial(text: &str) -> Option<NaiveDate> {
    let whole = text.split_once('.').map_or(text, |(w, _)| w);
    if whole.len() != 5 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = whole.parse().ok()?;
    if !(21_916..=73_050).contains(&n) {
        return None;
    }
    NaiveDate::from_ymd_opt(1899, 12, 30)?.checked_add_days(Days::new(n))
}

/// Whether a row is a total line (合计, 小计, Total…): one of its cells says so.
pub fn is_total(cells: &[String]) -> Option<String> {
    const TOTALS: [&str; 8] = ["合计", "小计", "总计", "总合计", "total", "subtotal", "grandtotal", "sum"];
    cells.iter().find(|c| TOTALS.contains(&normalise(c).trim_end_matches([':', '：']))).map(|c| c.trim().to_owned())
}

/// A stage that says the deal was lost.
pub fn stage_is_lost(stage: &str) -> bool {
    let s = normalise(stage);
    ["lost", "closedlost", "已丢单", "丢单", "输单", "未成交", "失败", "已输单"].contains(&s.as_str())
}

/// A stage that says the deal was won.
pub fn stage_is_won(stage: &str) -> bool {
    let s = normalise(stage);
    ["won", "closedwon", "已签约", "签约", "成交", "已成交", "赢单"].contains(&s.as_str())
}

/// The reason a lost deal's text gives, by its words; the text itself is
/// kept as the detail. Unrecognised text is OTHER.
pub fn loss_reason(text: &str) -> LossReason {
    let t = normalise(text);
    let has = |words: &[&str]| words.iter().any(|w| t.contains(w));
    if has(&["价格", "价高", "太贵", "报价高", "price", "expensive", "cost"]) {
        LossReason::Price
    } else if has(&["竞争", "竞品", "对手", "competitor", "competition"]) {
        LossReason::Competitor
    } else if has(&["预算", "budget", "资金"]) {
        LossReason::NoBudget
    } else if has(&["决策", "decision", "不决定", "搁置"]) {
        LossReason::NoDecision
    } else if has(&["功能", "需求不符", "不匹配", "产品不", "fit", "feature"]) {
        LossReason::ProductFit
    } else if has(&["时机", "延期", "推迟", "延迟", "timing", "delay", "postpone"]) {
        LossReason::Timing
    } else if has(&["关系", "relationship"]) {
        LossReason::Relationship
    } else {
        LossReason::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn amounts_as_people_write_them() {
        assert_eq!(amount("¥12,000.00", None).unwrap(), d("12000"));
        assert_eq!(amount("0.88", Some(d("10000"))).unwrap(), d("8800"));
        assert_eq!(amount("1.2万", None).unwrap(), d("12000"));
        assert_eq!(amount("3 万元", Some(d("10000"))).unwrap(), d("30000"));
        assert_eq!(amount("１２３", None).unwrap(), d("123"));
        for bad in ["1.2.3万", "12x", "", "万", "1e5", "¥", "1.200,50", "12,00", "1,2,3", "12.345,67"] {
            assert!(amount(bad, None).is_err(), "{bad}");
        }
        assert_eq!(amount("1,234,567.5", None).unwrap(), d("1234567.5"));
        assert!(amount("1.200", None).unwrap_err().contains("two decimals"));
        assert!(amount("0.001", None).is_err());
        assert!(amount("1.2345678", Some(d("10000"))).unwrap_err().contains("finer than a cent"));
        assert_eq!(amount("1.2345", Some(d("10000"))).unwrap(), d("12345"));
        assert!(amount("=D2*E2", None).unwrap_err().contains("formula without a saved value"));
        let wan = Some(d("10000"));
        assert!(amount("¥1,200", wan).unwrap_err().contains("currency sign"));
        assert_eq!(amount("1200元", wan).unwrap(), d("1200"));
        assert_eq!(amount("¥1,200", None).unwrap(), d("1200"));
    }

    #[test]
    fn text_that_reads_otherwise_is_named() {
        for bad in [
            "杭州\u{FFFD}哈哈",
            "a\u{0}b",
            "\u{1b}[31m",
            "\u{E000}",
            "abc\u{202E}fdp.exe",
            "张\u{200B}伟",
            "tab\there",
            "美的\u{2060}集团",
            "美的\u{061C}集团",
            "soft\u{00AD}hyphen",
            "\u{3164}",
            "x\u{FE0F}",
            "\u{FFFF}",
        ] {
            assert!(suspicious(bad).is_some(), "{bad:?}");
        }
        for ok in ["杭州娃哈哈", "ACME Ltd.", "𠮷野家", "€100", "Café"] {
            assert_eq!(suspicious(ok), None, "{ok}");
        }
    }

    #[test]
    fn dates_as_people_write_them() {
        let jan15 = NaiveDate::from_ymd_opt(2024, 1, 15).unwrap();
        for ok in ["2024-01-15", "2024/1/15", "2024.1.15", "2024年1月15日", "2024-01-15 00:00:00", "45306", "45306.0"]
        {
            assert_eq!(date(ok).unwrap(), jan15, "{ok}");
        }
        for bad in ["2024/13/01", "15/01/2024", "1/15", "", "2024-02-30", "12345"] {
            assert!(date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn totals_stages_and_reasons() {
        assert_eq!(is_total(&["".into(), "合计".into()]), Some("合计".into()));
        assert_eq!(is_total(&["Total:".into()]), Some("Total:".into()));
        assert_eq!(is_total(&["张伟".into()]), None);
        assert!(stage_is_lost("Closed Lost") && stage_is_lost("已丢单") && !stage_is_lost("已签约"));
        assert!(stage_is_won("Closed Won") && stage_is_won("已签约"));
        assert_eq!(loss_reason("价格偏高"), LossReason::Price);
        assert_eq!(loss_reason("大客户决策延迟"), LossReason::NoDecision);
        assert_eq!(loss_reason("客户预算冻结"), LossReason::NoBudget);
        assert_eq!(loss_reason("其他"), LossReason::Other);
    }
}
