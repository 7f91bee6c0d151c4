//! Reports (Markdown; XLSX with the guide's five templates), the
//! next-period suggestion, and accepting it as a DRAFT plan.

use attain_kit::{ServiceError, ServiceResult, context::Ctx, idempotency::IdempotencyKey};
use attain_proto::attain::{common::v1 as common, review::v1 as pb};
use rust_decimal::Decimal;
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};

use super::{ReviewApi, review_id};
use crate::{
    app::{accept::Accepted, report::ReportInputs},
    clients::{DealLine, PlanFacts},
    domain::{
        report::{Lang, Suggestion, markdown},
        review::Review,
    },
};

fn xlsx_error(e: XlsxError) -> ServiceError {
    ServiceError::Internal(anyhow::anyhow!("writing the workbook: {e}"))
}

fn header(sheet: &mut Worksheet, titles: &[&str], bold: &Format) -> Result<(), XlsxError> {
    for (c, t) in titles.iter().enumerate() {
        sheet.write_string_with_format(0, u16::try_from(c).unwrap_or(u16::MAX), *t, bold)?;
    }
    Ok(())
}

fn cells(sheet: &mut Worksheet, row: u32, values: &[&str]) -> Result<(), XlsxError> {
    for (c, v) in values.iter().enumerate() {
        sheet.write_string(row, u16::try_from(c).unwrap_or(u16::MAX), *v)?;
    }
    Ok(())
}

/// What the workbook shows of a review.
struct Sheets<'a> {
    review: &'a Review,
    plan: &'a PlanFacts,
    reasons: &'a [crate::domain::review::Reason],
    causes: &'a [crate::domain::review::Cause],
    actions: &'a [crate::domain::review::ActionItem],
    deals: &'a [DealLine],
    suggestion: Option<&'a Suggestion>,
}

/// The workbook: the guide's five templates as sheets, filled from the
/// review. Amounts are written as text so no digit passes through a float.
fn workbook(l: Lang, x: &Sheets<'_>) -> Result<Vec<u8>, XlsxError> {
    let bold = Format::new().set_bold();
    let mut book = Workbook::new();
    annual_sheet(&mut book, l, x.plan, &bold)?;
    decomposition_sheet(&mut book, l, x.review, &bold)?;
    periods_sheet(&mut book, l, x.review, x.plan, &bold)?;
    weekly_sheet(&mut book, l, x.deals, &bold)?;
    review_sheet(&mut book, l, x, &bold)?;
    book.save_to_buffer()
}

/// 年度业绩目标总表: the plan's year in one row.
fn annual_sheet(book: &mut Workbook, l: Lang, plan: &PlanFacts, bold: &Format) -> Result<(), XlsxError> {
    let s = book.add_worksheet().set_name(l.t("Annual target master", "年度业绩目标总表"))?;
    header(
        s,
        &[
            l.t("Plan", "计划"),
            l.t("Fiscal year", "财年"),
            l.t("Currency", "币种"),
            l.t("Last year (base)", "去年实际(基数)"),
            l.t("Growth", "增长率"),
            l.t("Annual target", "年度目标"),
        ],
        bold,
    )?;
    cells(
        s,
        1,
        &[
            &plan.display_name,
            &plan.fiscal_year.to_string(),
            &plan.currency,
            &plan.base,
            &plan.growth,
            &plan.top_target,
        ],
    )?;
    Ok(())
}

/// 目标分解: each member's period target.
fn decomposition_sheet(book: &mut Workbook, l: Lang, review: &Review, bold: &Format) -> Result<(), XlsxError> {
    let s = book.add_worksheet().set_name(l.t("Decomposition", "目标分解"))?;
    header(s, &[l.t("Unit", "单位"), l.t("Name", "名称"), l.t("Period target", "期间目标")], bold)?;
    for (i, m) in review.brief.members.iter().enumerate() {
        cells(s, u32::try_from(i + 1).unwrap_or(u32::MAX), &[&m.unit, &m.display_name, &m.target])?;
    }
    Ok(())
}

/// 阶段目标与里程碑: the period's target and milestones.
fn periods_sheet(
    book: &mut Workbook,
    l: Lang,
    review: &Review,
    plan: &PlanFacts,
    bold: &Format,
) -> Result<(), XlsxError> {
    let s = book.add_worksheet().set_name(l.t("Period targets and milestones", "阶段目标与里程碑"))?;
    header(
        s,
        &[
            l.t("Period", "期间"),
            l.t("Unit", "单位"),
            l.t("Target", "目标"),
            l.t("Milestone day", "里程碑日"),
            l.t("Cumulative %", "累计完成比例"),
        ],
        bold,
    )?;
    let mut r = 1u32;
    cells(s, r, &[&review.period.expression, &review.brief.unit.unit, &review.brief.unit.target, "", ""])?;
    for (day, pct) in &plan.milestones {
        r += 1;
        cells(s, r, &[&review.period.expression, &review.brief.unit.unit, "", &day.to_string(), pct])?;
    }
    Ok(())
}

/// 周度销售进展记录表: the period's deals.
fn weekly_sheet(book: &mut Workbook, l: Lang, deals: &[DealLine], bold: &Format) -> Result<(), XlsxError> {
    let s = book.add_worksheet().set_name(l.t("Weekly progress record", "周度销售进展记录表"))?;
    header(
        s,
        &[
            l.t("Date", "日期"),
            l.t("Rep", "销售代表"),
            l.t("Customer", "客户名称"),
            l.t("Amount", "成交金额"),
            l.t("Kind", "类型"),
        ],
        bold,
    )?;
    for (i, d) in deals.iter().enumerate() {
        let kind = if d.reversal { l.t("reversal", "冲销") } else { l.t("sale", "成交") };
        cells(
            s,
            u32::try_from(i + 1).unwrap_or(u32::MAX),
            &[&d.close_date, d.rep.trim_start_matches("units/"), &d.customer, &d.amount, kind],
        )?;
    }
    Ok(())
}

/// 复盘与行动计划: top reasons, causes, actions and the next-period target.
fn review_sheet(book: &mut Workbook, l: Lang, x: &Sheets<'_>, bold: &Format) -> Result<(), XlsxError> {
    let s = book.add_worksheet().set_name(l.t("Review and action plan", "复盘与行动计划"))?;
    header(
        s,
        &[
            l.t("Section", "部分"),
            l.t("Item", "事项"),
            l.t("Detail", "说明"),
            l.t("Owner", "负责人"),
            l.t("Due", "截止日期"),
        ],
        bold,
    )?;
    let mut r = 0u32;
    let mut put = |values: &[&str]| -> Result<(), XlsxError> {
        r += 1;
        cells(s, r, values)
    };
    for reason in x.reasons {
        put(&[l.t("Top reason", "主要原因"), &reason.label, &reason.count.to_string(), "", ""])?;
    }
    for c in x.causes {
        put(&[l.t("Root cause", "原因分析"), c.kind.as_str(), &c.text, &c.unit.resource_name(), ""])?;
    }
    for a in x.actions {
        put(&[
            l.t("Action", "行动"),
            &a.text,
            a.status.as_str(),
            &a.owner,
            &a.due_date.format("%Y-%m-%d").to_string(),
        ])?;
    }
    if let Some(sg) = x.suggestion {
        put(&[l.t("Next-period target", "下期目标建议"), &sg.next.expression, &sg.formula, "", ""])?;
    }
    Ok(())
}

fn growth(s: &str) -> ServiceResult<Option<Decimal>> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    Ok(Some(
        attain_kit::money::parse_plain_decimal(s.trim(), 6, 4)
            .map_err(|e| ServiceError::invalid("growth_rate", e.to_string()))?,
    ))
}

fn suggestion_wire(review: &Review, s: &Suggestion, plan: &PlanFacts) -> pb::Suggestion {
    let money = |a: attain_kit::money::Amount| {
        Some(common::Money { currency_code: plan.currency.clone(), amount: a.to_string() })
    };
    pb::Suggestion {
        review: review.resource_name(),
        next_period: Some(attain_kit::wire::period(&s.next)),
        amount: money(s.amount),
        formula: s.formula.clone(),
        inputs: [
            ("trend".to_owned(), s.trend.to_string()),
            ("growth".to_owned(), s.growth.to_string()),
            ("source_period".to_owned(), review.period.expression.clone()),
        ]
        .into(),
        units: s.members.iter().map(|(u, a)| pb::UnitSuggestion { unit: u.clone(), amount: money(*a) }).collect(),
    }
}

impl ReviewApi {
    pub(crate) async fn get_suggestion(&self, ctx: Ctx, r: pb::GetSuggestionRequest) -> ServiceResult<pb::Suggestion> {
        let Ctx { who, fwd } = ctx;
        let review = review_id("name", &r.name)?;
        let growth = growth(&r.growth_rate)?;
        let (review, s, plan) = self.app.suggestion((&who, &fwd), (&review, &r.name), growth).await?;
        Ok(suggestion_wire(&review, &s, &plan))
    }

    pub(crate) async fn accept_suggestion(
        &self,
        ctx: Ctx,
        mut r: pb::AcceptSuggestionRequest,
    ) -> ServiceResult<pb::AcceptSuggestionResponse> {
        let Ctx { who, fwd } = ctx;
        let request_id = std::mem::take(&mut r.request_id);
        if request_id.is_empty() {
            return Err(ServiceError::invalid("request_id", "is required: accepting twice must not create two plans"));
        }
        let key = IdempotencyKey::required(&who.person, "AcceptSuggestion", "request_id", &request_id, &r)?;
        let review = review_id("name", &r.name)?;
        let growth = growth(&r.growth_rate)?;
        let render = |a: &Accepted| match a {
            Accepted::Draft { plan, targets } => {
                pb::AcceptSuggestionResponse { plan: plan.clone(), targets: targets.clone(), adjustment: String::new() }
            }
            Accepted::Adjustment(name) => {
                pb::AcceptSuggestionResponse { adjustment: name.clone(), ..Default::default() }
            }
        };
        self.app.accept_suggestion((&who, &fwd), key, (&review, &r.name), growth, render).await
    }

    pub(crate) async fn generate_report(
        &self,
        ctx: Ctx,
        r: pb::GenerateReportRequest,
    ) -> ServiceResult<pb::GenerateReportResponse> {
        let Ctx { who, fwd } = ctx;
        let review = review_id("name", &r.name)?;
        let lang = match common::Language::try_from(r.language) {
            Ok(common::Language::Zh) => Lang::Zh,
            _ => Lang::En,
        };
        let format = pb::ReportFormat::try_from(r.format).unwrap_or(pb::ReportFormat::Unspecified);
        let ReportInputs { review, plan, causes, actions, practices, suggestion } =
            self.app.report_inputs((&who, &fwd), (&review, &r.name)).await?;
        let stem = format!("review-{}-{}", review.unit.as_str(), review.period.expression.replace("..", "_"));
        let response = match format {
            pb::ReportFormat::Markdown => pb::GenerateReportResponse {
                file_name: format!("{stem}.md"),
                content_type: "text/markdown; charset=utf-8".into(),
                content: markdown(lang, &review, &review.top_reasons, &causes, &practices, &actions, Some(&suggestion))
                    .into_bytes(),
            },
            pb::ReportFormat::Xlsx => {
                let deals = self.app.report_deals(&fwd, &review).await?;
                let sheets = Sheets {
                    review: &review,
                    plan: &plan,
                    reasons: &review.top_reasons,
                    causes: &causes,
                    actions: &actions,
                    deals: &deals,
                    suggestion: Some(&suggestion),
                };
                let bytes = workbook(lang, &sheets).map_err(xlsx_error)?;
                pb::GenerateReportResponse {
                    file_name: format!("{stem}.xlsx"),
                    content_type: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".into(),
                    content: bytes,
                }
            }
            _ => return Err(ServiceError::invalid("format", "is required (MARKDOWN or XLSX)")),
        };
        Ok(response)
    }
}
