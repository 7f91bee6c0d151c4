//! Which column holds what, from the header row's titles.

use super::FileError;

/// The fields a deal row can carry and the titles that name them.
const FIELDS: [(&str, &[&str]); 9] = [
    ("rep", &["rep", "sales rep", "rep id", "unit", "销售代表", "销售", "代表", "业务员"]),
    ("date", &["date", "close date", "closed", "日期", "成交日期"]),
    ("amount", &["amount", "amount won", "amount closed", "成交金额", "金额", "销售额"]),
    ("currency", &["currency", "币种", "货币"]),
    ("customer", &["customer", "客户", "客户名称"]),
    ("product_line", &["product line", "product", "产品线", "产品"]),
    ("customer_type", &["customer type", "客户类型"]),
    ("request_id", &["request id", "请求编号"]),
    ("credits", &["credits", "split", "split credit", "业绩分配", "业绩分成"]),
];

const REQUIRED: [&str; 3] = ["rep", "date", "amount"];

/// Column positions found in a header row.
#[derive(Debug, Clone)]
pub struct Columns {
    positions: [Option<usize>; 9],
    titles: Vec<String>,
}

/// One data row, by field (empty strings where absent), with its
/// spreadsheet row number (the header is row 1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SheetRow {
    pub number: u64,
    pub rep: String,
    pub date: String,
    pub amount: String,
    pub currency: String,
    pub customer: String,
    pub product_line: String,
    pub customer_type: String,
    pub request_id: String,
    /// Split credit, "rep-1 70%; rep-2 30%" (or "rep-1:70;rep-2:30").
    pub credits: String,
}

fn normalise(title: &str) -> String {
    title
        .trim()
        .trim_start_matches('\u{feff}')
        .to_lowercase()
        .replace(['_', '-'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

impl Columns {
    pub fn from_header(header: &[String]) -> Result<Self, FileError> {
        if header.iter().all(|h| h.trim().is_empty()) {
            return Err(FileError::Empty);
        }
        let mut positions = [None; 9];
        for (i, title) in header.iter().enumerate() {
            let t = normalise(title);
            if let Some(f) = FIELDS.iter().position(|(_, names)| names.contains(&t.as_str())) {
                positions[f].get_or_insert(i);
            }
        }
        let missing: Vec<&str> = REQUIRED
            .iter()
            .copied()
            .filter(|r| positions[FIELDS.iter().position(|(n, _)| n == r).unwrap_or(0)].is_none())
            .collect();
        if !missing.is_empty() {
            return Err(FileError::MissingColumns(missing.join(", ")));
        }
        Ok(Self {
            positions,
            titles: header.iter().map(|t| t.trim().trim_start_matches('\u{feff}').to_owned()).collect(),
        })
    }

    /// The title of the column holding `field` (for error messages).
    pub fn title(&self, field: &str) -> String {
        FIELDS
            .iter()
            .position(|(n, _)| *n == field)
            .and_then(|f| self.positions[f])
            .and_then(|i| self.titles.get(i).cloned())
            .unwrap_or_else(|| field.to_owned())
    }

    pub fn row(&self, number: u64, cells: &[String]) -> SheetRow {
        let get =
            |f: usize| self.positions[f].and_then(|i| cells.get(i)).map(|s| s.trim().to_owned()).unwrap_or_default();
        SheetRow {
            number,
            rep: get(0),
            date: get(1),
            amount: get(2),
            currency: get(3),
            customer: get(4),
            product_line: get(5),
            customer_type: get(6),
            request_id: get(7),
            credits: get(8),
        }
    }
}

impl SheetRow {
    /// Rows without an amount are follow-up lines of the progress sheet,
    /// not deals.
    pub fn is_deal(&self) -> bool {
        !self.amount.is_empty()
    }

    /// The split-credit cell as (rep, percent) pairs; a part that is not
    /// "rep percent" keeps its text as the percent, so the service names it.
    pub fn credit_shares(&self) -> Vec<(String, String)> {
        self.credits
            .split([';', '；', ','])
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|part| {
                let (rep, pct) = part
                    .split_once([':', '：'])
                    .or_else(|| part.rsplit_once(char::is_whitespace))
                    .unwrap_or((part, ""));
                (rep.trim().to_owned(), pct.trim().trim_end_matches(['%', '％']).trim().to_owned())
            })
            .collect()
    }

    /// The amount as a plain decimal: spreadsheet thousands separators and
    /// a currency sign are dropped, nothing else is forgiven.
    pub fn plain_amount(&self) -> String {
        self.amount.trim_start_matches(['¥', '￥']).replace([',', '，'], "")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(t: &[&str]) -> Vec<String> {
        t.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn chinese_and_english_titles() {
        let c = Columns::from_header(&header(&["\u{feff}日期", "销售代表", "客户名称", "成交金额", "产品线"])).unwrap();
        let r = c.row(2, &header(&["2024-01-03", "rep-1", "华为", "8,000.00", "硬件"]));
        assert_eq!(
            (r.rep.as_str(), r.date.as_str(), r.plain_amount().as_str(), r.product_line.as_str()),
            ("rep-1", "2024-01-03", "8000.00", "硬件")
        );
        assert_eq!(c.title("amount"), "成交金额");
        let e = Columns::from_header(&header(&["Date", "Sales Rep", "Amount_Won"])).unwrap();
        assert_eq!(e.row(2, &header(&["d", "r", "1"])).amount, "1");
    }

    #[test]
    fn split_credit_cells() {
        let c = Columns::from_header(&header(&["rep", "date", "amount", "业绩分配"])).unwrap();
        let r = c.row(2, &header(&["rep-1", "2024-01-03", "100", "rep-1 70%; rep-2：30"]));
        assert_eq!(r.credit_shares(), [("rep-1".into(), "70".into()), ("rep-2".into(), "30".into())]);
        let odd = c.row(3, &header(&["rep-1", "2024-01-03", "100", "rep-1"]));
        assert_eq!(odd.credit_shares(), [("rep-1".into(), String::new())]);
    }

    #[test]
    fn missing_columns_are_named() {
        let err = Columns::from_header(&header(&["日期", "客户"])).unwrap_err();
        assert_eq!(err, FileError::MissingColumns("rep, amount".into()));
        assert_eq!(Columns::from_header(&header(&[""])).unwrap_err(), FileError::Empty);
    }
}
