//! Column titles as people write them: a synonym table per field, in
//! Chinese and English, matched ignoring case, spaces, punctuation and
//! full-width forms; a unit in brackets (`成交金额（万元）`, `Amount (CNY)`)
//! is read off the title and applied to the column.

use rust_decimal::Decimal;

/// What a column can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Rep,
    Date,
    Amount,
    Currency,
    Customer,
    ProductLine,
    CustomerType,
    RequestId,
    Credits,
    LossReason,
    Stage,
}

impl Field {
    pub const ALL: [Field; 11] = [
        Self::Rep,
        Self::Date,
        Self::Amount,
        Self::Currency,
        Self::Customer,
        Self::ProductLine,
        Self::CustomerType,
        Self::RequestId,
        Self::Credits,
        Self::LossReason,
        Self::Stage,
    ];

    /// Columns an import cannot do without.
    pub const REQUIRED: [Field; 3] = [Self::Rep, Self::Date, Self::Amount];

    pub fn key(self) -> &'static str {
        match self {
            Self::Rep => "rep",
            Self::Date => "date",
            Self::Amount => "amount",
            Self::Currency => "currency",
            Self::Customer => "customer",
            Self::ProductLine => "product_line",
            Self::CustomerType => "customer_type",
            Self::RequestId => "request_id",
            Self::Credits => "credits",
            Self::LossReason => "loss_reason",
            Self::Stage => "stage",
        }
    }

    /// Titles that name the field (compared after [`normalise`]).
    fn synonyms(self) -> &'static [&'static str] {
        match self {
            Self::Rep => &[
                "rep",
                "sales rep",
                "rep id",
                "unit",
                "owner",
                "account owner",
                "opportunity owner",
                "deal owner",
                "salesperson",
                "sales person",
                "销售代表",
                "销售人员",
                "销售员",
                "业务员",
                "销售",
                "代表",
                "负责人",
                "跟进人",
                "经办人",
            ],
            Self::Date => &[
                "date",
                "close date",
                "closed date",
                "closed",
                "closing date",
                "signed date",
                "日期",
                "成交日期",
                "签约日期",
                "签单日期",
                "合同日期",
            ],
            Self::Amount => &[
                "amount",
                "amount won",
                "amount closed",
                "deal amount",
                "deal value",
                "contract amount",
                "成交金额",
                "金额",
                "合同金额",
                "签约金额",
                "销售额",
            ],
            Self::Currency => &["currency", "币种", "货币"],
            Self::Customer => {
                &["customer", "customer name", "account", "account name", "client", "客户", "客户名称", "客户名"]
            }
            Self::ProductLine => &["product line", "product", "产品线", "产品"],
            Self::CustomerType => &["customer type", "account type", "客户类型"],
            Self::RequestId => &["request id", "请求编号"],
            Self::Credits => &["credits", "split", "split credit", "业绩分配", "业绩分成"],
            Self::LossReason => &[
                "loss reason",
                "lost reason",
                "reason lost",
                "loss detail",
                "未成交原因",
                "丢单原因",
                "失败原因",
                "输单原因",
            ],
            Self::Stage => &[
                "stage",
                "sales stage",
                "status",
                "deal stage",
                "阶段",
                "销售阶段",
                "跟进阶段",
                "跟进进展",
                "进展",
                "状态",
            ],
        }
    }
}

/// A title's reading: the field it names and the unit it states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Title {
    pub field: Field,
    /// Amounts in the column are multiplied by this (10,000 for 万元).
    pub scale: Option<Decimal>,
    /// The currency the title states (元 → CNY).
    pub currency: Option<String>,
}

/// Lower case, full-width forms folded, spaces, `_`, `-` and `.` dropped
/// (Chinese titles have no spaces to keep, English ones match either way).
pub fn normalise(text: &str) -> String {
    text.chars()
        .map(fold_width)
        .filter(|c| !c.is_whitespace() && !matches!(c, '_' | '-' | '.' | '\u{feff}' | ':' | '*'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Full-width ASCII (Ａ, （, ：) as ASCII; the ideographic space as a space.
pub fn fold_width(c: char) -> char {
    match c {
        '\u{3000}' => ' ',
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

/// The title's text before a bracketed unit, and the unit.
fn split_unit(title: &str) -> (String, Option<String>) {
    let folded: String = title.chars().map(fold_width).collect();
    let trimmed = folded.trim();
    for (open, close) in [('(', ')'), ('[', ']'), ('【', '】')] {
        if let (Some(start), true) = (trimmed.rfind(open), trimmed.ends_with(close)) {
            let unit = trimmed[start + open.len_utf8()..trimmed.len() - close.len_utf8()].trim();
            return (trimmed[..start].to_owned(), Some(unit.to_owned()));
        }
    }
    (trimmed.to_owned(), None)
}

/// What a unit in an amount title means: (scale, currency).
pub fn amount_unit(unit: &str) -> Option<(Option<Decimal>, Option<String>)> {
    let cny = || Some("CNY".to_owned());
    Some(match normalise(unit).as_str() {
        "元" | "人民币元" | "rmb" | "cny" | "¥" | "￥" | "人民币" => (None, cny()),
        "万元" | "万" | "人民币万元" | "万元rmb" | "万元cny" => (Some(Decimal::from(10_000)), cny()),
        "千元" => (Some(Decimal::from(1_000)), cny()),
        "百万元" => (Some(Decimal::from(1_000_000)), cny()),
        "usd" | "美元" | "$" => (None, Some("USD".to_owned())),
        "eur" | "欧元" => (None, Some("EUR".to_owned())),
        "hkd" | "港元" | "港币" => (None, Some("HKD".to_owned())),
        _ => return None,
    })
}

/// Reads a title; `Err` when it names the amount with a unit not
/// understood (a guessed scale would store wrong money).
pub fn read(title: &str) -> Result<Option<Title>, String> {
    let (base, unit) = split_unit(title);
    // "Owner / 负责人": either half may name the field.
    let parts: Vec<String> = std::iter::once(base.clone())
        .chain(base.split(['/', '|', '／']).map(str::to_owned))
        .map(|p| normalise(&p))
        .filter(|p| !p.is_empty())
        .collect();
    let field = Field::ALL.into_iter().find(|f| {
        let names: Vec<String> = f.synonyms().iter().map(|s| normalise(s)).collect();
        parts.iter().any(|p| names.contains(p))
    });
    let Some(field) = field else { return Ok(None) };
    let (scale, currency) = match (field, unit) {
        (Field::Amount, Some(u)) => amount_unit(&u).ok_or_else(|| {
            format!("the unit ({u}) of column {title} is not understood; write 元, 万元, 千元 or a currency code")
        })?,
        _ => (None, None),
    };
    Ok(Some(Title { field, scale, currency }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(t: &str) -> Option<Field> {
        read(t).unwrap().map(|t| t.field)
    }

    #[test]
    fn titles_as_people_write_them() {
        assert_eq!(field("销售人员"), Some(Field::Rep));
        assert_eq!(field("Owner / 负责人"), Some(Field::Rep));
        assert_eq!(field("  SALES_REP "), Some(Field::Rep));
        assert_eq!(field("Ｃｌｏｓｅ Ｄａｔｅ"), Some(Field::Date));
        assert_eq!(field("签约日期"), Some(Field::Date));
        assert_eq!(field("未成交原因"), Some(Field::LossReason));
        assert_eq!(field("Loss Reason"), Some(Field::LossReason));
        assert_eq!(field("跟进进展"), Some(Field::Stage));
        assert_eq!(field("序号"), None);
    }

    #[test]
    fn a_unit_in_the_title_scales_the_column() {
        let t = read("成交金额（万元）").unwrap().unwrap();
        assert_eq!(
            (t.field, t.scale, t.currency.as_deref()),
            (Field::Amount, Some(Decimal::from(10_000)), Some("CNY"))
        );
        let t = read("Amount (CNY)").unwrap().unwrap();
        assert_eq!((t.scale, t.currency.as_deref()), (None, Some("CNY")));
        assert!(read("金额（箱）").unwrap_err().contains("not understood"));
        // A unit on another column is not the amount's business.
        assert_eq!(field("日期 (YYYY-MM-DD)"), Some(Field::Date));
    }
}
