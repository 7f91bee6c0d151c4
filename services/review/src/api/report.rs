//! Reports (Markdown; XLSX with the guide's five templates), the
//! next-period suggestion, and accepting it as a DRAFT plan.

use attain_kit::context::Ctx;
use attain_kit::{ServiceError, ServiceResult, auth::Identity, idempotency::IdempotencyKey, upstream::Forwarded};
use attain_proto::attain::{common::v1 as common, review::v1 as pb, target::v1 as tpb};
use rust_decimal::Decimal;
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};

use super::{ReviewApi, require_manager};
use crate::{
    domain::{
        report::{Lang, Suggestion, markdown, per_year, suggest},
        review::Review,
    },
    storage::{extras, reviews as store},
    upstream::PlanFacts,
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

/// The workbook: the guide's five templates as sheets, filled from the
/// review. Amounts are written as text so no digit passes through a float.
#[allow(clippy::too_many_arguments)]
fn workbook(
    l: Lang,
    review: &Review,
    plan: &PlanFacts,
    reasons: &[crate::domain::review::Reason],
    causes: &[crate::domain::review::Cause],
    actions: &[crate::domain::review::ActionItem],
    deals: &[attain_proto::attain::tracking::v1::Deal],
    suggestion: Option<&Suggestion>,
) -> Result<Vec<u8>, XlsxError> {
    let bold = Format::new().set_bold();
    let mut book = Workbook::new();

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
        &bold,
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

    let s = book.add_worksheet().set_name(l.t("Decomposition", "目标分解"))?;
    header(s, &[l.t("Unit", "单位"), l.t("Name", "名称"), l.t("Period target", "期间目标")], &bold)?;
    for (i, m) in review.brief.members.iter().enumerate() {
        cells(s, u32::try_from(i + 1).unwrap_or(u32::MAX), &[&m.unit, &m.display_name, &m.target])?;
    }

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
        &bold,
    )?;
    let mut r = 1u32;
    cells(s, r, &[&review.period.expression, &review.brief.unit.unit, &review.brief.unit.target, "", ""])?;
    for (day, pct) in &plan.milestones {
        r += 1;
        cells(s, r, &[&review.period.expression, &review.brief.unit.unit, "", &day.to_string(), pct])?;
    }

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
        &bold,
    )?;
    for (i, d) in deals.iter().enumerate() {
        let amount = d.amount.as_ref().map(|m| m.amount.clone()).unwrap_or_default();
        let kind = if d.kind == attain_proto::attain::tracking::v1::DealKind::Reversal as i32 {
            l.t("reversal", "冲销")
        } else {
            l.t("sale", "成交")
        };
        cells(
            s,
            u32::try_from(i + 1).unwrap_or(u32::MAX),
            &[&d.close_date, d.rep.trim_start_matches("units/"), &d.customer, &amount, kind],
        )?;
    }

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
        &bold,
    )?;
    let mut r = 0u32;
    let mut put = |values: &[&str]| -> Result<(), XlsxError> {
        r += 1;
        cells(s, r, values)
    };
    for reason in reasons {
        put(&[l.t("Top reason", "主要原因"), &reason.label, &reason.count.to_string(), "", ""])?;
    }
    for c in causes {
        put(&[l.t("Root cause", "原因分析"), c.kind.as_str(), &c.text, &c.unit.resource_name(), ""])?;
    }
    for a in actions {
        put(&[
            l.t("Action", "行动"),
            &a.text,
            a.status.as_str(),
            &a.owner,
            &a.due_date.format("%Y-%m-%d").to_string(),
        ])?;
    }
    if let Some(sg) = suggestion {
        put(&[l.t("Next-period target", "下期目标建议"), &sg.next.expression, &sg.formula, "", ""])?;
    }
    book.save_to_buffer()
}

impl ReviewApi {
    /// The growth a suggestion uses: the request's, else the plan's.
    async fn suggestion(
        &self,
        fwd: &Forwarded,
        review: &Review,
        growth: &str,
    ) -> ServiceResult<(Suggestion, PlanFacts)> {
        let plan = self.up.plan_facts(fwd, &review.plan).await?;
        let g = if growth.trim().is_empty() {
            plan.growth.parse::<Decimal>().unwrap_or(Decimal::ZERO)
        } else {
            attain_kit::money::parse_plain_decimal(growth.trim(), 6, 4)
                .map_err(|e| ServiceError::invalid("growth_rate", e.to_string()))?
        };
        if g <= -Decimal::ONE {
            return Err(ServiceError::invalid("growth_rate", "must be above -1 (a fraction: 0.05 is +5%)"));
        }
        let s =
            suggest(review, g).ok_or_else(|| ServiceError::invalid("name", "this review's period has no successor"))?;
        Ok((s, plan))
    }

    pub(crate) async fn get_suggestion(&self, ctx: Ctx, r: pb::GetSuggestionRequest) -> ServiceResult<pb::Suggestion> {
        let Ctx { who, fwd } = ctx;
        let (review, _) = self.visible(&who, &fwd, "name", &r.name).await?;
        not_for_reps(&who, "a suggestion is drawn from every member's figures; ask your manager")?;
        let (s, plan) = self.suggestion(&fwd, &review, &r.growth_rate).await?;
        let money = |a: attain_kit::money::Amount| {
            Some(common::Money { currency_code: plan.currency.clone(), amount: a.to_string() })
        };
        Ok(pb::Suggestion {
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
        })
    }

    /// Creates a DRAFT plan for the next period's fiscal year whose top
    /// target is the suggestion annualised. A retry with the same request
    /// id returns the same plan.
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
        let key = IdempotencyKey::new(&who.person, "AcceptSuggestion", &request_id, &r)?;
        let (review, _) = self.visible(&who, &fwd, "name", &r.name).await?;
        require_manager(&who, &review.unit_path, "AcceptSuggestion")?;
        if let Some(k) = &key
            && let Some(previous) = k.replay::<pb::AcceptSuggestionResponse>(&self.db).await?
        {
            return Ok(previous);
        }
        let (s, plan) = self.suggestion(&fwd, &review, &r.growth_rate).await?;
        let base = attain_kit::money::Amount::from_decimal((s.trend.decimal() * per_year(&review.period)).round_dp(2))
            .map_err(ServiceError::from)?;
        let draft = tpb::Plan {
            display_name: format!("Suggested from {} {}", review.unit.as_str(), review.period.expression),
            top_unit: review.unit.resource_name(),
            fiscal_year: chrono::Datelike::year(&s.next.start),
            currency_code: plan.currency.clone(),
            base_amount: Some(common::Money { currency_code: plan.currency.clone(), amount: base.to_string() }),
            growth_rate: s.growth.to_string(),
            ..Default::default()
        };
        let plan_id = format!("sug-{}", review.id.as_str());
        let name = self.up.create_draft_plan(&fwd, &plan_id, draft, &request_id).await?;
        let response = pb::AcceptSuggestionResponse { plan: name, targets: Vec::new() };
        if let Some(k) = &key {
            k.record(&self.db, &response).await?;
        }
        Ok(response)
    }

    pub(crate) async fn generate_report(
        &self,
        ctx: Ctx,
        r: pb::GenerateReportRequest,
    ) -> ServiceResult<pb::GenerateReportResponse> {
        let Ctx { who, fwd } = ctx;
        let (review, _) = self.visible(&who, &fwd, "name", &r.name).await?;
        not_for_reps(&who, "a report shows every member; ask your manager")?;
        let review = self.current(&who, &fwd, review).await?;
        let lang = match attain_proto::attain::common::v1::Language::try_from(r.language) {
            Ok(attain_proto::attain::common::v1::Language::Zh) => Lang::Zh,
            _ => Lang::En,
        };
        let causes = store::causes(&self.db, &review.id).await?;
        let actions = store::items(&self.db, &review.id).await?;
        let practices: Vec<(String, String)> =
            extras::practices_of(&self.db, &review.id).await?.into_iter().map(|p| (p.title, p.text)).collect();
        let (suggestion, plan) = self.suggestion(&fwd, &review, "").await?;
        let stem = format!("review-{}-{}", review.unit.as_str(), review.period.expression.replace("..", "_"));
        let response = match pb::ReportFormat::try_from(r.format) {
            Ok(pb::ReportFormat::Markdown) => pb::GenerateReportResponse {
                file_name: format!("{stem}.md"),
                content_type: "text/markdown; charset=utf-8".into(),
                content: markdown(lang, &review, &review.top_reasons, &causes, &practices, &actions, Some(&suggestion))
                    .into_bytes(),
            },
            Ok(pb::ReportFormat::Xlsx) => {
                let deals = self.up.deals(&fwd, &review.unit, &review.period).await?;
                let bytes =
                    workbook(lang, &review, &plan, &review.top_reasons, &causes, &actions, &deals, Some(&suggestion))
                        .map_err(xlsx_error)?;
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

/// Reports and suggestions show the whole unit's figures, which a rep's own
/// lines of a review do not.
fn not_for_reps(who: &Identity, why: &str) -> ServiceResult<()> {
    if who.role == attain_kit::auth::Role::Rep {
        return Err(ServiceError::PermissionDenied(why.to_owned()));
    }
    Ok(())
}
