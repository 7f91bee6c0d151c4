//! Which column holds what, from the header row's titles, and each data
//! row read through them.

use std::collections::HashMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::{
    FileError, cells,
    titles::{self, Field, Title},
};
use crate::domain::activity::LossReason;

/// Column positions found in a header row.
#[derive(Debug, Clone)]
pub struct Columns {
    /// The header's row.
    pub row: u64,
    positions: HashMap<Field, usize>,
    readings: Vec<Option<Title>>,
    titles: Vec<String>,
}

/// How one column was read, for the import's summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnReading {
    pub title: String,
    pub field: Option<Field>,
    pub scale: Option<Decimal>,
}

/// What a data row is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowKind {
    /// A won deal of this amount (in the column's unit already applied).
    Won(Decimal),
    /// A lost deal: its reason and the text it was read from.
    Lost(LossReason, String),
    /// A follow-up line of the progress sheet: no amount, not lost.
    FollowUp,
}

/// One data row, by field (empty strings where absent), with its row.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    pub loss_reason: String,
    pub stage: String,
    scale: Option<Decimal>,
    title_currency: Option<String>,
}

/// A cell that cannot be read: its field and why.
pub type CellError = (Field, String);

impl Columns {
    /// The columns a header row names; `Ok(None)` when the row is not a
    /// header (it names fewer than two of the required columns: a title
    /// line or a note above the table).
    pub fn from_header(row: u64, header: &[String]) -> Result<Option<Self>, FileError> {
        let mut readings = Vec::with_capacity(header.len());
        let mut positions: HashMap<Field, usize> = HashMap::new();
        let mut problems = Vec::new();
        for (i, title) in header.iter().enumerate() {
            let reading = titles::read(title).unwrap_or_else(|e| {
                problems.push(e);
                None
            });
            if let Some(t) = &reading {
                if let Some(&first) = positions.get(&t.field) {
                    problems.push(format!(
                        "columns {} and {} both read as {}: keep one, or rename the other",
                        quoted(&header[first], first),
                        quoted(title, i),
                        t.field.key()
                    ));
                }
                positions.entry(t.field).or_insert(i);
            }
            readings.push(reading);
        }
        let missing: Vec<&str> =
            Field::REQUIRED.iter().filter(|f| !positions.contains_key(f)).map(|f| f.key()).collect();
        if missing.len() + 1 >= Field::REQUIRED.len() {
            return Ok(None);
        }
        if !problems.is_empty() {
            return Err(FileError::Header { row, problem: problems.join("; ") });
        }
        if !missing.is_empty() {
            return Err(FileError::MissingColumns { row, missing: missing.join(", ") });
        }
        let titles = header.iter().map(|t| t.trim().trim_start_matches('\u{feff}').to_owned()).collect();
        Ok(Some(Self { row, positions, readings, titles }))
    }

    /// Whether a later row repeats the header (a second table, a pasted
    /// header): it names every required column again.
    pub fn repeats_header(cells: &[String]) -> bool {
        let fields: Vec<Field> = cells.iter().filter_map(|c| titles::read(c).ok().flatten()).map(|t| t.field).collect();
        Field::REQUIRED.iter().all(|f| fields.contains(f))
    }

    /// The title of the column holding `field` (for error messages).
    pub fn title(&self, field: Field) -> String {
        self.positions.get(&field).and_then(|&i| self.titles.get(i).cloned()).unwrap_or_else(|| field.key().to_owned())
    }

    /// Whether the column at `index` is read into a field.
    pub fn uses(&self, index: usize) -> bool {
        self.readings.get(index).is_some_and(Option::is_some)
    }

    /// The title of a column by index.
    pub fn title_at(&self, index: usize) -> String {
        self.titles.get(index).filter(|t| !t.is_empty()).cloned().unwrap_or_else(|| format!("column {}", index + 1))
    }

    /// Every column's reading, in sheet order.
    pub fn readings(&self) -> Vec<ColumnReading> {
        self.titles
            .iter()
            .zip(&self.readings)
            .filter(|(t, _)| !t.is_empty())
            .map(|(t, r)| ColumnReading {
                title: t.clone(),
                field: r.as_ref().map(|r| r.field),
                scale: r.as_ref().and_then(|r| r.scale),
            })
            .collect()
    }

    pub fn row(&self, number: u64, cells: &[String]) -> SheetRow {
        let get = |f: Field| {
            self.positions.get(&f).and_then(|&i| cells.get(i)).map(|s| s.trim().to_owned()).unwrap_or_default()
        };
        let amount_title = self.positions.get(&Field::Amount).and_then(|&i| self.readings.get(i)).cloned().flatten();
        SheetRow {
            number,
            rep: get(Field::Rep),
            date: get(Field::Date),
            amount: get(Field::Amount),
            currency: get(Field::Currency),
            customer: get(Field::Customer),
            product_line: get(Field::ProductLine),
            customer_type: get(Field::CustomerType),
            request_id: get(Field::RequestId),
            credits: get(Field::Credits),
            loss_reason: get(Field::LossReason),
            stage: get(Field::Stage),
            scale: amount_title.as_ref().and_then(|t| t.scale),
            title_currency: amount_title.and_then(|t| t.currency),
        }
    }
}

fn quoted(title: &str, index: usize) -> String {
    format!("{} ({})", title.trim(), column_letter(index))
}

/// Spreadsheet column letters: 0 → A, 26 → AA.
pub fn column_letter(mut index: usize) -> String {
    let mut out = Vec::new();
    loop {
        out.push(b'A' + u8::try_from(index % 26).unwrap_or(0));
        if index < 26 {
            break;
        }
        index = index / 26 - 1;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

impl SheetRow {
    /// Won, lost or a follow-up line; an error names the cell at fault.
    pub fn kind(&self) -> Result<RowKind, CellError> {
        let lost = !self.loss_reason.is_empty() || cells::stage_is_lost(&self.stage);
        // A stage column that says neither won nor lost (open pipeline, a
        // cancellation) never books a sale, whatever the amount says.
        if !self.amount.is_empty() && !lost && !self.stage.is_empty() && !cells::stage_is_won(&self.stage) {
            return Err((
                Field::Stage,
                format!(
                    "{} is not a won stage: only won deals are imported with an amount (已签约, 成交, Closed Won); \
                     open or cancelled deals are not sales",
                    self.stage
                ),
            ));
        }
        match (self.amount.is_empty(), lost) {
            (false, true) => Err((
                Field::Amount,
                format!(
                    "the row has an amount ({}) and says the deal was lost ({}): a won deal has no loss \
                     reason, a lost one no amount",
                    self.amount,
                    if self.loss_reason.is_empty() { &self.stage } else { &self.loss_reason }
                ),
            )),
            (false, false) => cells::amount(&self.amount, self.scale).map(RowKind::Won).map_err(|e| (Field::Amount, e)),
            (true, true) => {
                let text = if self.loss_reason.is_empty() { self.stage.clone() } else { self.loss_reason.clone() };
                Ok(RowKind::Lost(cells::loss_reason(&self.loss_reason), text))
            }
            (true, false) if cells::stage_is_won(&self.stage) => {
                Err((Field::Amount, format!("the stage says won ({}) but the amount is empty", self.stage)))
            }
            (true, false) => Ok(RowKind::FollowUp),
        }
    }

    pub fn close_date(&self) -> Result<NaiveDate, CellError> {
        cells::date(&self.date).map_err(|e| (Field::Date, e))
    }

    /// The row's currency: its own cell, else the amount title's unit.
    pub fn currency(&self) -> String {
        if self.currency.is_empty() { self.title_currency.clone().unwrap_or_default() } else { self.currency.clone() }
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(t: &[&str]) -> Vec<String> {
        t.iter().map(|s| s.to_string()).collect()
    }

    fn columns(t: &[&str]) -> Columns {
        Columns::from_header(1, &header(t)).unwrap().unwrap()
    }

    #[test]
    fn chinese_and_english_titles() {
        let c = columns(&["\u{feff}日期", "销售人员", "客户名称", "成交金额", "产品线"]);
        let r = c.row(2, &header(&["2024-01-03", "rep-1", "华为", "8,000.00", "硬件"]));
        assert_eq!((r.rep.as_str(), r.product_line.as_str()), ("rep-1", "硬件"));
        assert_eq!(r.kind().unwrap(), RowKind::Won(Decimal::from(8000)));
        assert_eq!(c.title(Field::Amount), "成交金额");
        let e = columns(&["Close Date", "Owner / 负责人", "Amount (CNY)"]);
        let r = e.row(2, &header(&["2024-01-03", "张伟", "¥59,000.00"]));
        assert_eq!((r.kind().unwrap(), r.currency().as_str()), (RowKind::Won(Decimal::from(59_000)), "CNY"));
    }

    #[test]
    fn lost_deals_and_rows_that_contradict_themselves() {
        let c = columns(&["日期", "业务员", "成交金额（万元）", "丢单原因", "跟进进展"]);
        let lost = c.row(6, &header(&["2024-01-15", "王芳", "", "价格偏高", "已丢单"]));
        assert_eq!(lost.kind().unwrap(), RowKind::Lost(LossReason::Price, "价格偏高".into()));
        let both = c.row(7, &header(&["2024-01-15", "王芳", "3", "价格偏高", ""]));
        assert_eq!(both.kind().unwrap_err().0, Field::Amount);
        let scaled = c.row(8, &header(&["2024-01-15", "张伟", "0.88", "", "已签约"]));
        assert_eq!(scaled.kind().unwrap(), RowKind::Won(Decimal::from(8800)));
        let follow_up = c.row(9, &header(&["2024-01-15", "张伟", "", "", "报价"]));
        assert_eq!(follow_up.kind().unwrap(), RowKind::FollowUp);
        for open in ["Negotiation", "已取消", "意向", "待签约"] {
            let r = c.row(10, &header(&["2024-01-15", "张伟", "1", "", open]));
            assert_eq!(r.kind().unwrap_err().0, Field::Stage, "{open}");
        }
    }

    #[test]
    fn split_credit_cells() {
        let c = columns(&["rep", "date", "amount", "业绩分配"]);
        let r = c.row(2, &header(&["rep-1", "2024-01-03", "100", "rep-1 70%; rep-2：30"]));
        assert_eq!(r.credit_shares(), [("rep-1".into(), "70".into()), ("rep-2".into(), "30".into())]);
        let odd = c.row(3, &header(&["rep-1", "2024-01-03", "100", "rep-1"]));
        assert_eq!(odd.credit_shares(), [("rep-1".into(), String::new())]);
    }

    #[test]
    fn headers_that_cannot_be_read_are_named() {
        let err = Columns::from_header(4, &header(&["日期", "客户", "金额"])).unwrap_err();
        assert_eq!(err, FileError::MissingColumns { row: 4, missing: "rep".into() });
        assert!(Columns::from_header(4, &header(&["日期", "客户"])).unwrap().is_none());
        assert!(Columns::from_header(1, &header(&["周度销售进展记录表"])).unwrap().is_none());
        let dup = Columns::from_header(1, &header(&["日期", "销售", "金额", "成交金额"])).unwrap_err();
        assert!(dup.to_string().contains("金额 (C) and 成交金额 (D) both read as amount"), "{dup}");
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(27), "AB");
    }
}
