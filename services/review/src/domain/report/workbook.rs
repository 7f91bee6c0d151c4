//! The report as a workbook: the guide's five templates as sheets (年度业绩
//! 目标总表, 目标分解, 阶段目标与里程碑, 周度销售进展记录表, 复盘与行动计划).
//!
//! Every amount, rate and date is a number cell with a number format, so
//! a SUM in Excel adds them; totals are formulas that carry their cached
//! values, so a reader without a calculation engine (pandas, calamine)
//! sees them too. A spreadsheet number holds 15 significant digits: an
//! amount it cannot hold exactly is refused, never rounded.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate};
use rust_decimal::Decimal;
use rust_xlsxwriter::{
    Color, ExcelDateTime, Format, FormatBorder, Formula, Workbook, Worksheet, XlsxError, utility::row_col_to_cell,
};

use super::{
    Deals, Lang, Report,
    words::{self, Names},
};
use crate::domain::review::Figures;

#[derive(Debug)]
pub enum WorkbookError {
    /// A figure a spreadsheet number cannot hold exactly.
    Inexact {
        what: String,
        value: String,
    },
    Xlsx(XlsxError),
}

impl From<XlsxError> for WorkbookError {
    fn from(e: XlsxError) -> Self {
        Self::Xlsx(e)
    }
}

type Result<T> = std::result::Result<T, WorkbookError>;

/// The unit amounts are shown in: the currency's own, or 万 (ten
/// thousand) as Chinese sales teams report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoneyUnit {
    One,
    TenThousand,
}

impl MoneyUnit {
    fn scale(self, d: Decimal) -> Decimal {
        match self {
            Self::One => d,
            Self::TenThousand => d / Decimal::from(10_000),
        }
    }

    fn suffix(self, l: Lang, currency: &str) -> String {
        match self {
            Self::One if currency.is_empty() => String::new(),
            Self::One => format!("{}{currency}{}", l.t(" (", "("), l.t(")", ")")),
            // 万元 is how Chinese reports name ten thousand yuan.
            Self::TenThousand => match (l, currency) {
                (Lang::Zh, "CNY") => "(万元)".to_owned(),
                (Lang::Zh, _) => format!("(万{currency})"),
                (Lang::En, _) => format!(" (10k {currency})"),
            },
        }
    }
}

/// A decimal as the spreadsheet number that is exactly it.
fn exact(what: &str, d: Decimal) -> Result<f64> {
    let inexact = || WorkbookError::Inexact { what: what.to_owned(), value: d.to_string() };
    let f: f64 = d.to_string().parse().map_err(|_| inexact())?;
    // f64's Display is the shortest text that reads back as the same f64:
    // equal to the decimal exactly when the decimal fits.
    let back: Decimal = format!("{f}").parse().map_err(|_| inexact())?;
    if back.normalize() != d.normalize() {
        return Err(inexact());
    }
    Ok(f)
}

fn parse(what: &str, s: &str) -> Result<Option<Decimal>> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    s.parse::<Decimal>().map(Some).map_err(|_| WorkbookError::Inexact { what: what.to_owned(), value: s.to_owned() })
}

fn col(c: usize) -> u16 {
    u16::try_from(c).unwrap_or(u16::MAX)
}

fn excel_date(d: NaiveDate) -> Result<ExcelDateTime> {
    let y = u16::try_from(d.year()).unwrap_or(1900);
    Ok(ExcelDateTime::from_ymd(y, u8::try_from(d.month()).unwrap_or(1), u8::try_from(d.day()).unwrap_or(1))?)
}

struct Formats {
    header: Format,
    bold: Format,
    money: Format,
    money_bold: Format,
    rate: Format,
    rate_bold: Format,
    date: Format,
    integer: Format,
    wrap: Format,
}

impl Formats {
    fn new() -> Self {
        let money = "#,##0.00;-#,##0.00";
        let rate = "0.00%";
        Self {
            header: Format::new()
                .set_bold()
                .set_background_color(Color::RGB(0x00DD_EBF7))
                .set_border_bottom(FormatBorder::Thin)
                .set_text_wrap(),
            bold: Format::new().set_bold(),
            money: Format::new().set_num_format(money),
            money_bold: Format::new().set_num_format(money).set_bold(),
            rate: Format::new().set_num_format(rate),
            rate_bold: Format::new().set_num_format(rate).set_bold(),
            date: Format::new().set_num_format("yyyy-mm-dd"),
            integer: Format::new().set_num_format("0"),
            wrap: Format::new().set_text_wrap(),
        }
    }
}

/// One sheet being written: cells by kind, the amounts in the chosen unit.
struct Sheet<'a> {
    ws: &'a mut Worksheet,
    f: &'a Formats,
    unit: MoneyUnit,
}

impl Sheet<'_> {
    /// A header row, frozen, repeated on every printed page, printed
    /// landscape one page wide.
    fn header(&mut self, row: u32, titles: &[&str], widths: &[f64]) -> Result<()> {
        for (c, t) in titles.iter().enumerate() {
            self.ws.write_string_with_format(row, col(c), *t, &self.f.header)?;
        }
        for (c, w) in widths.iter().enumerate() {
            self.ws.set_column_width(col(c), *w)?;
        }
        self.ws.set_freeze_panes(row + 1, 0)?;
        self.ws.set_repeat_rows(row, row)?;
        self.ws.set_landscape();
        self.ws.set_print_fit_to_pages(1, 0);
        Ok(())
    }

    fn text(&mut self, row: u32, c: usize, s: &str) -> Result<()> {
        if !s.is_empty() {
            self.ws.write_string(row, col(c), s)?;
        }
        Ok(())
    }

    fn bold(&mut self, row: u32, c: usize, s: &str) -> Result<()> {
        self.ws.write_string_with_format(row, col(c), s, &self.f.bold)?;
        Ok(())
    }

    fn wrapped(&mut self, row: u32, c: usize, s: &str) -> Result<()> {
        self.ws.write_string_with_format(row, col(c), s, &self.f.wrap)?;
        Ok(())
    }

    /// An amount in the sheet's unit; returns it (empty: blank, None).
    fn money(&mut self, row: u32, c: usize, what: &str, s: &str, bold: bool) -> Result<Option<Decimal>> {
        let Some(d) = parse(what, s)? else { return Ok(None) };
        let d = self.unit.scale(d);
        let fmt = if bold { &self.f.money_bold } else { &self.f.money };
        self.ws.write_number_with_format(row, col(c), exact(what, d)?, fmt)?;
        Ok(Some(d))
    }

    /// A decimal fraction shown as a percentage.
    fn rate(&mut self, row: u32, c: usize, what: &str, s: &str) -> Result<()> {
        if let Some(d) = parse(what, s)? {
            self.ws.write_number_with_format(row, col(c), exact(what, d)?, &self.f.rate)?;
        }
        Ok(())
    }

    fn date(&mut self, row: u32, c: usize, d: NaiveDate) -> Result<()> {
        self.ws.write_date_with_format(row, col(c), &excel_date(d)?, &self.f.date)?;
        Ok(())
    }

    fn integer(&mut self, row: u32, c: usize, n: i64) -> Result<()> {
        // Counts are far below 2^53: exact.
        #[allow(clippy::cast_precision_loss)]
        self.ws.write_number_with_format(row, col(c), n as f64, &self.f.integer)?;
        Ok(())
    }

    /// A formula and the value it computes, cached so readers without a
    /// calculation engine see it.
    fn formula(&mut self, row: u32, c: usize, expr: &str, cached: &str, fmt: &Format) -> Result<()> {
        self.ws.write_formula_with_format(row, col(c), Formula::new(expr).set_result(cached), fmt)?;
        Ok(())
    }

    /// `=SUM(` a column's rows `first..=last` `)`, cached as their exact sum.
    fn sum(&mut self, row: u32, c: usize, (first, last): (u32, u32), values: &[Option<Decimal>]) -> Result<Decimal> {
        let total: Decimal = values.iter().flatten().sum();
        let expr = format!("=SUM({}:{})", row_col_to_cell(first, col(c)), row_col_to_cell(last, col(c)));
        exact("total", total)?;
        self.formula(row, c, &expr, &total.normalize().to_string(), &self.f.money_bold.clone())?;
        Ok(total)
    }
}

/// The workbook of a review report, with the period's deals.
pub fn workbook(l: Lang, r: &Report, deals: &Deals, unit: MoneyUnit) -> Result<Vec<u8>> {
    let f = Formats::new();
    let mut book = Workbook::new();
    let m = unit.suffix(l, &r.plan.currency);
    annual(&mut book, &f, l, r, unit, &m)?;
    decomposition(&mut book, &f, l, r, unit, &m)?;
    milestones(&mut book, &f, l, r, unit, &m)?;
    weekly(&mut book, &f, l, deals, &r.names, unit, &m)?;
    review_and_actions(&mut book, &f, l, r, unit, &m)?;
    Ok(book.save_to_buffer()?)
}

/// 年度业绩目标总表: the plan's year, and what last year × growth gives.
fn annual(book: &mut Workbook, f: &Formats, l: Lang, r: &Report, unit: MoneyUnit, m: &str) -> Result<()> {
    let ws = book.add_worksheet().set_name(l.t("Annual target master", "年度业绩目标总表"))?;
    let mut s = Sheet { ws, f, unit };
    let p = &r.plan;
    s.header(
        0,
        &[
            l.t("Plan", "计划"),
            l.t("Fiscal year", "财年"),
            l.t("Currency", "币种"),
            &format!("{}{m}", l.t("Last year (base)", "去年实际(基数)")),
            l.t("Growth", "增长率"),
            &format!("{}{m}", l.t("Annual target", "年度目标")),
            &format!("{}{m}", l.t("Base × (1 + growth)", "基数×(1+增长率)")),
        ],
        &[28.0, 10.0, 8.0, 18.0, 10.0, 18.0, 20.0],
    )?;
    s.text(1, 0, &p.display_name)?;
    s.integer(1, 1, i64::from(p.fiscal_year))?;
    s.text(1, 2, &p.currency)?;
    let base = s.money(1, 3, "plan.base_amount", &p.base, false)?;
    s.rate(1, 4, "plan.growth_rate", &p.growth)?;
    s.money(1, 5, "plan.top_target", &p.top_target, false)?;
    if let (Some(base), Some(g)) = (base, parse("plan.growth_rate", &p.growth)?) {
        let grown = base * (Decimal::ONE + g);
        exact("base × (1 + growth)", grown)?;
        s.formula(1, 6, "=D2*(1+E2)", &grown.normalize().to_string(), &f.money)?;
    }
    Ok(())
}

/// 目标分解: the unit's figures, each member's, their total (formulas) and
/// what the unit holds beyond its members (its own remainder).
fn decomposition(book: &mut Workbook, f: &Formats, l: Lang, r: &Report, unit: MoneyUnit, m: &str) -> Result<()> {
    let ws = book.add_worksheet().set_name(l.t("Decomposition", "目标分解"))?;
    let partial = r.review.brief.members.iter().any(|m| m.days.is_some());
    let mut s = Sheet { ws, f, unit };
    s.header(
        0,
        &[
            l.t("Unit", "单位"),
            &format!("{}{m}", l.t("Target", "目标")),
            &format!("{}{m}", l.t("Original target", "原目标")),
            &format!("{}{m}", l.t("Actual", "实际")),
            l.t("Attainment", "达成率"),
            &format!("{}{m}", l.t("Gap", "差距")),
            &format!("{}{m}", l.t("Expected to date", "应完成进度")),
            l.t("YoY growth", "同比增长"),
            &format!("{}{m}", l.t("Average order value", "客单价")),
            l.t("Conversion rate", "转化率"),
            l.t("Status", "状态"),
            // Only when a member counts part of the period (joined or left).
            if partial { l.t("Member for", "在本单位期间") } else { "" },
        ],
        &[24.0, 16.0, 16.0, 16.0, 11.0, 16.0, 16.0, 11.0, 14.0, 11.0, 8.0, 24.0],
    )?;
    s.ws.set_freeze_panes(1, 1)?;
    // The amount columns the totals add up.
    const SUMMED: [usize; 5] = [1, 2, 3, 5, 6];
    let mut own = [None; 12];
    let mut columns: Vec<Vec<Option<Decimal>>> = vec![Vec::new(); 12];
    let brief = &r.review.brief;
    let figures_row = |s: &mut Sheet<'_>, row: u32, fig: &Figures, bold: bool| -> Result<[Option<Decimal>; 12]> {
        let mut v = [None; 12];
        let name = if fig.display_name.is_empty() { r.names.unit(&fig.unit) } else { fig.display_name.clone() };
        if bold {
            s.bold(row, 0, &name)?
        } else {
            s.text(row, 0, &name)?
        }
        v[1] = s.money(row, 1, "target", &fig.target, bold)?;
        let original = if fig.original_target.is_empty() { &fig.target } else { &fig.original_target };
        v[2] = s.money(row, 2, "original_target", original, bold)?;
        v[3] = s.money(row, 3, "actual", &fig.actual, bold)?;
        s.rate(row, 4, "attainment_rate", &fig.attainment_rate)?;
        v[5] = s.money(row, 5, "gap", &fig.gap, bold)?;
        v[6] = s.money(row, 6, "expected_to_date", &fig.expected_to_date, bold)?;
        if fig.yoy_growth.is_empty() {
            s.text(row, 7, l.t("no history", "无去年数据"))?;
        } else {
            s.rate(row, 7, "yoy_growth", &fig.yoy_growth)?;
        }
        s.money(row, 8, "average_order_value", &fig.average_order_value, false)?;
        s.rate(row, 9, "conversion_rate", &fig.conversion_rate)?;
        s.text(row, 10, words::status(l, &fig.status))?;
        if let Some((from, to)) = &fig.days {
            s.text(row, 11, &format!("{from} – {to}"))?;
        }
        Ok(v)
    };
    own.copy_from_slice(&figures_row(&mut s, 1, &brief.unit, true)?);
    let first = 2u32;
    let mut row = first;
    for member in &brief.members {
        let v = figures_row(&mut s, row, member, false)?;
        for c in SUMMED {
            columns[c].push(v[c]);
        }
        row += 1;
    }
    if brief.members.is_empty() {
        return Ok(());
    }
    let last = row - 1;
    let total_row = row;
    s.bold(total_row, 0, l.t("Members total", "下级合计"))?;
    let mut totals = [Decimal::ZERO; 12];
    for c in SUMMED {
        totals[c] = s.sum(total_row, c, (first, last), &columns[c])?;
    }
    // Attainment of the members together: actual / target.
    if !totals[1].is_zero() {
        let (a, t) = (exact("actual", totals[3])?, exact("target", totals[1])?);
        let expr = format!("={}/{}", row_col_to_cell(total_row, 3), row_col_to_cell(total_row, 1));
        s.formula(total_row, 4, &expr, &format!("{}", a / t), &f.rate_bold)?;
    }
    // What the unit holds beyond its members: its own remainder (targets)
    // and its own deals (actuals). The unit = members + this, always.
    let rest_row = total_row + 1;
    s.bold(rest_row, 0, l.t("Unit's own (not in members)", "本级自留(未分到下级)"))?;
    for c in SUMMED {
        if let Some(unit_value) = own[c] {
            let rest = unit_value - totals[c];
            exact("remainder", rest)?;
            let expr = format!("={}-{}", row_col_to_cell(1, col(c)), row_col_to_cell(total_row, col(c)));
            s.formula(rest_row, c, &expr, &rest.normalize().to_string(), &f.money)?;
        }
    }
    Ok(())
}

/// 阶段目标与里程碑: the period's target and each milestone's amount.
fn milestones(book: &mut Workbook, f: &Formats, l: Lang, r: &Report, unit: MoneyUnit, m: &str) -> Result<()> {
    let ws = book.add_worksheet().set_name(l.t("Period targets and milestones", "阶段目标与里程碑"))?;
    let mut s = Sheet { ws, f, unit };
    s.header(
        0,
        &[
            l.t("Period", "期间"),
            l.t("Unit", "单位"),
            &format!("{}{m}", l.t("Period target", "期间目标")),
            l.t("Milestone date", "里程碑日期"),
            l.t("Cumulative share", "累计完成比例"),
            &format!("{}{m}", l.t("Due by then", "届时应完成")),
        ],
        &[22.0, 24.0, 16.0, 14.0, 14.0, 16.0],
    )?;
    let review = &r.review;
    let name = r.names.unit(&review.unit.resource_name());
    let unit_name =
        if review.brief.unit.display_name.is_empty() { name } else { review.brief.unit.display_name.clone() };
    s.text(1, 0, &review.period.expression)?;
    s.text(1, 1, &unit_name)?;
    let target = s.money(1, 2, "target", &review.brief.unit.target, true)?;
    let mut row = 2u32;
    for (day, pct) in &r.plan.milestones {
        let Some(share) = parse("milestone.percent", pct)?.map(|p| p / Decimal::ONE_HUNDRED) else { continue };
        let date = review.period.start + Duration::days(i64::from(*day) - 1);
        if date > review.period.end {
            continue;
        }
        s.text(row, 0, &review.period.expression)?;
        s.text(row, 1, &unit_name)?;
        s.date(row, 3, date)?;
        s.ws.write_number_with_format(row, 4, exact("milestone.percent", share)?, &f.rate)?;
        if let Some(t) = target {
            // To the cent (in 万: six places), as the spreadsheet's ROUND
            // does it (half away from zero).
            let places = if s.unit == MoneyUnit::TenThousand { 6 } else { 2 };
            let due = (t * share).round_dp_with_strategy(places, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
            exact("milestone amount", due)?;
            let expr = format!("=ROUND($C$2*{},{places})", row_col_to_cell(row, 4));
            s.formula(row, 5, &expr, &due.normalize().to_string(), &f.money)?;
        }
        row += 1;
    }
    Ok(())
}

/// 周度销售进展记录表: the period's deals by ISO week, with each week's
/// count and amount beside them (formulas over the list).
fn weekly(
    book: &mut Workbook,
    f: &Formats,
    l: Lang,
    deals: &Deals,
    names: &Names,
    unit: MoneyUnit,
    m: &str,
) -> Result<()> {
    let ws = book.add_worksheet().set_name(l.t("Weekly progress record", "周度销售进展记录表"))?;
    let mut s = Sheet { ws, f, unit };
    s.header(
        0,
        &[
            l.t("Week", "周"),
            l.t("Date", "日期"),
            l.t("Rep", "销售代表"),
            l.t("Customer", "客户名称"),
            &format!("{}{m}", l.t("Amount", "成交金额")),
            l.t("Kind", "类型"),
            "",
            l.t("Week", "周"),
            l.t("Deals", "成交笔数"),
            &format!("{}{m}", l.t("Week's amount", "本周金额")),
        ],
        &[10.0, 12.0, 16.0, 28.0, 16.0, 8.0, 3.0, 10.0, 10.0, 16.0],
    )?;
    // By day, then rep: the order a weekly record is read in.
    let mut lines: Vec<_> = deals.lines.iter().collect();
    lines.sort_by(|a, b| (&a.close_date, &a.rep).cmp(&(&b.close_date, &b.rep)));
    let mut amounts = Vec::with_capacity(lines.len());
    let mut weeks: BTreeMap<String, (i64, Decimal)> = BTreeMap::new();
    let mut row = 1u32;
    for d in lines {
        let date = NaiveDate::parse_from_str(&d.close_date, "%Y-%m-%d").ok();
        let week = date.map(|d| week_label(l, d)).unwrap_or_default();
        s.text(row, 0, &week)?;
        match date {
            Some(date) => s.date(row, 1, date)?,
            None => s.text(row, 1, &d.close_date)?,
        }
        s.text(row, 2, &names.unit(&d.rep))?;
        s.text(row, 3, &d.customer)?;
        let a = s.money(row, 4, "deal.amount", &d.amount, false)?;
        s.text(row, 5, if d.reversal { l.t("Reversal", "冲销") } else { l.t("Sale", "成交") })?;
        let w = weeks.entry(week).or_default();
        w.0 += 1;
        w.1 += a.unwrap_or_default();
        amounts.push(a);
        row += 1;
    }
    let last = row.saturating_sub(1).max(1);
    let total_row = row;
    s.bold(total_row, 3, l.t("Total", "合计"))?;
    s.sum(total_row, 4, (1, last), &amounts)?;
    if deals.more {
        let note = match l {
            Lang::En => {
                format!("Only the first {} deals of the period are listed; the totals are theirs.", super::Deals::LIMIT)
            }
            Lang::Zh => format!("仅列出本期前 {} 笔成交,合计仅为所列成交之和。", super::Deals::LIMIT),
        };
        s.wrapped(total_row + 1, 3, &note)?;
    }
    // Each week: COUNTIF / SUMIF over the list, cached.
    let range = |c: u16| format!("${0}$2:${0}${1}", column_letter(c), last + 1);
    for (i, (week, (count, amount))) in weeks.iter().enumerate() {
        let r = 1 + u32::try_from(i).unwrap_or(u32::MAX);
        s.text(r, 7, week)?;
        let key = row_col_to_cell(r, 7);
        s.formula(r, 8, &format!("=COUNTIF({},{key})", range(0)), &count.to_string(), &f.integer)?;
        exact("week's amount", *amount)?;
        s.formula(
            r,
            9,
            &format!("=SUMIF({},{key},{})", range(0), range(4)),
            &amount.normalize().to_string(),
            &f.money,
        )?;
    }
    Ok(())
}

/// The ISO week a day falls in: "2024-W03", "2024年第03周".
fn week_label(l: Lang, d: NaiveDate) -> String {
    let w = d.iso_week();
    match l {
        Lang::En => format!("{}-W{:02}", w.year(), w.week()),
        Lang::Zh => format!("{}年第{:02}周", w.year(), w.week()),
    }
}

/// "A" for column 0, "AA" for 26.
fn column_letter(c: u16) -> String {
    let cell = row_col_to_cell(0, c);
    cell.trim_end_matches(|ch: char| ch.is_ascii_digit()).to_owned()
}

/// 复盘与行动计划: top reasons, root causes, practices, actions and the
/// next period's suggested target, one block each.
fn review_and_actions(book: &mut Workbook, f: &Formats, l: Lang, r: &Report, unit: MoneyUnit, m: &str) -> Result<()> {
    let ws = book.add_worksheet().set_name(l.t("Review and action plan", "复盘与行动计划"))?;
    let mut s = Sheet { ws, f, unit };
    s.header(
        0,
        &[
            l.t("Top reasons for misses", "未达成主要原因"),
            l.t("Count", "次数"),
            &format!("{}{m}", l.t("Lost amount", "丢单金额")),
        ],
        &[30.0, 16.0, 40.0, 18.0, 14.0],
    )?;
    let mut row = 1u32;
    for reason in &r.review.top_reasons {
        s.text(row, 0, &words::reason(l, reason))?;
        s.integer(row, 1, reason.count)?;
        s.money(row, 2, "reason.amount", &reason.amount, false)?;
        row += 1;
    }
    row += 1;
    block(&mut s, row, &[l.t("Root causes", "原因分析"), l.t("Kind", "类别"), l.t("Detail", "说明")])?;
    row += 1;
    for c in &r.causes {
        s.text(row, 0, &r.names.unit(&c.unit.resource_name()))?;
        let kind = words::cause(l, c.kind, c.subjective);
        s.text(row, 1, &kind)?;
        s.wrapped(row, 2, &c.text)?;
        row += 1;
    }
    row += 1;
    block(&mut s, row, &[l.t("Practices to replicate", "可复制的做法"), "", l.t("Detail", "说明")])?;
    row += 1;
    for (title, text) in &r.practices {
        s.text(row, 0, title)?;
        s.wrapped(row, 2, text)?;
        row += 1;
    }
    row += 1;
    block(
        &mut s,
        row,
        &[l.t("Owner", "负责人"), l.t("Status", "状态"), l.t("Action", "行动"), l.t("Due", "截止日期")],
    )?;
    row += 1;
    for a in &r.actions {
        s.text(row, 0, &r.names.person(l, &a.owner))?;
        s.text(row, 1, &words::action_state(l, a, r.today))?;
        s.wrapped(row, 2, &a.text)?;
        s.date(row, 3, a.due_date)?;
        row += 1;
    }
    row += 1;
    if !r.reallocations.is_empty() {
        block(
            &mut s,
            row,
            &[
                l.t("Resource reallocations", "资源调配"),
                l.t("Kind", "类别"),
                l.t("Detail", "说明"),
                l.t("Approved by", "批准人"),
            ],
        )?;
        row += 1;
        for x in &r.reallocations {
            let (kind, detail) = words::reallocation(l, x);
            s.text(row, 0, &r.names.unit(&x.unit.resource_name()))?;
            s.text(row, 1, kind)?;
            s.wrapped(row, 2, &detail)?;
            s.text(row, 3, &r.names.person(l, &x.approved_by))?;
            row += 1;
        }
        row += 1;
    }
    let sg = &r.suggestion;
    block(
        &mut s,
        row,
        &[
            l.t("Next-period target", "下期目标建议"),
            l.t("Period", "期间"),
            l.t("Formula", "计算公式"),
            &format!("{}{m}", l.t("Suggested target", "建议目标")),
            l.t("Growth", "增长率"),
        ],
    )?;
    row += 1;
    s.text(row, 0, l.t("Trend × (1 + growth)", "趋势×(1+增长率)"))?;
    s.text(row, 1, &sg.next.expression)?;
    s.wrapped(row, 2, &words::formula(l, sg))?;
    s.money(row, 3, "suggestion.amount", &sg.amount.to_string(), true)?;
    s.rate(row, 4, "suggestion.growth", &sg.growth.to_string())?;
    Ok(())
}

/// A block's own header row inside a sheet.
fn block(s: &mut Sheet<'_>, row: u32, titles: &[&str]) -> Result<()> {
    for (c, t) in titles.iter().enumerate() {
        s.ws.write_string_with_format(row, col(c), *t, &s.f.header)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_number_cell_holds_the_decimal_exactly_or_is_refused() {
        for ok in ["0", "120500.00", "-18404.58", "99999999999.99", "0.3935", "9999999999999.99"] {
            let d: Decimal = ok.parse().unwrap();
            assert_eq!(format!("{}", exact("x", d).unwrap()).parse::<Decimal>().unwrap(), d.normalize(), "{ok}");
        }
        // 17 significant digits: past what a spreadsheet number holds.
        let d: Decimal = "99999999999999.99".parse().unwrap();
        assert!(matches!(exact("target", d), Err(WorkbookError::Inexact { .. })));
    }

    #[test]
    fn ten_thousands_scale_exactly() {
        assert_eq!(MoneyUnit::TenThousand.scale("263358.78".parse().unwrap()), "26.335878".parse().unwrap());
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(27), "AB");
    }
}
