//! Reports (Markdown; XLSX with the guide's five templates), the
//! next-period suggestion, and accepting it as a DRAFT plan.

use attain_kit::{ServiceError, ServiceResult, context::Ctx, idempotency::IdempotencyKey};
use attain_proto::attain::{common::v1 as common, review::v1 as pb};
use rust_decimal::Decimal;

use super::{ReviewApi, review_id};
use crate::{
    app::accept::Accepted,
    domain::{
        report::{
            Lang, PlanFacts, Suggestion,
            markdown::markdown,
            workbook::{MoneyUnit, WorkbookError, workbook},
        },
        review::Review,
    },
};

/// A workbook that cannot be written: a figure no spreadsheet number
/// holds exactly is the caller's to know (Markdown shows it); anything else
/// is a bug.
fn workbook_error(e: WorkbookError) -> ServiceError {
    match e {
        WorkbookError::Inexact { what, value } => ServiceError::precondition(
            "NOT_A_SPREADSHEET_NUMBER",
            format!(
                "{what} {value} has more significant digits than a spreadsheet number holds (15); \
                 the Markdown report shows it exactly"
            ),
        ),
        WorkbookError::Xlsx(e) => ServiceError::Internal(anyhow::anyhow!("writing the workbook: {e}")),
    }
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
            // "actual" (the period is over) or "forecast" (still running:
            // the run-rate forecast to its end).
            ("basis".to_owned(), s.basis.as_str().to_owned()),
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
            Ok(common::Language::En | common::Language::Unspecified) => Lang::En,
            Err(_) => return Err(ServiceError::invalid("language", "must be ZH or EN (unset: EN)")),
        };
        let format = pb::ReportFormat::try_from(r.format).unwrap_or(pb::ReportFormat::Unspecified);
        let unit = match pb::ReportMoneyUnit::try_from(r.money_unit) {
            Ok(pb::ReportMoneyUnit::Unspecified) => MoneyUnit::One,
            Ok(pb::ReportMoneyUnit::TenThousand) => MoneyUnit::TenThousand,
            Err(_) => return Err(ServiceError::invalid("money_unit", "must be UNSPECIFIED or TEN_THOUSAND")),
        };
        let report = self.app.report_inputs((&who, &fwd), (&review, &r.name)).await?;
        let stem =
            format!("review-{}-{}", report.review.unit.as_str(), report.review.period.expression.replace("..", "_"));
        let response = match format {
            pb::ReportFormat::Markdown => pb::GenerateReportResponse {
                file_name: format!("{stem}.md"),
                content_type: "text/markdown; charset=utf-8".into(),
                content: markdown(lang, &report).into_bytes(),
            },
            pb::ReportFormat::Xlsx => {
                let deals = self.app.report_deals(&fwd, &report.review).await?;
                let bytes = workbook(lang, &report, &deals, unit).map_err(workbook_error)?;
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
