//! Adjustment handlers; the rules are `app::adjustments`.

use attain_kit::{ServiceError, ServiceResult, context::Ctx, idempotency::IdempotencyKey, paging::PageRequest};
use attain_proto::attain::target::v1 as pb;
use chrono::NaiveDate;
use sea_orm::DatabaseConnection;

use super::convert;
use crate::{
    app::adjustments::{self as app, AdjustmentRequest, AskedChange, Decision},
    domain::{
        org::Id,
        plan::Plan,
        target::{Adjustment, AdjustmentState, parse_plan_name, parse_target_name},
    },
};

fn parse_adjustment_name(field: &str, name: &str) -> ServiceResult<(Id, Id)> {
    let parts: Vec<&str> = name.split('/').collect();
    match parts.as_slice() {
        ["plans", p, "adjustments", a] => Ok((Id::parse(field, p)?, Id::parse(field, a)?)),
        _ => Err(ServiceError::invalid(
            field,
            format!("{name:?} is not an adjustment name (plans/{{plan_id}}/adjustments/{{adjustment_id}})"),
        )),
    }
}

fn render(a: &Adjustment, plan: &Plan) -> pb::Adjustment {
    convert::adjustment(a, plan.currency)
}

fn asked_change(c: Option<&pb::adjustment::Change>) -> ServiceResult<Option<AskedChange>> {
    Ok(match c {
        Some(pb::adjustment::Change::NewAmount(m)) => Some(AskedChange::NewAmount(
            convert::amount("adjustment.new_amount.amount", &m.amount)?,
            m.currency_code.clone(),
        )),
        Some(pb::adjustment::Change::ChangePercent(p)) => {
            Some(AskedChange::Percent(convert::decimal("adjustment.change_percent", p)?))
        }
        Some(pb::adjustment::Change::ReleaseRemaining(true)) => Some(AskedChange::ReleaseRemaining),
        Some(pb::adjustment::Change::PeriodAmount(p)) => {
            let m = p
                .amount
                .as_ref()
                .ok_or_else(|| ServiceError::invalid("adjustment.period_amount.amount", "is required"))?;
            Some(AskedChange::PeriodAmount(
                p.period.clone(),
                convert::amount("adjustment.period_amount.amount.amount", &m.amount)?,
                m.currency_code.clone(),
            ))
        }
        Some(pb::adjustment::Change::ReleaseRemaining(false)) => {
            return Err(ServiceError::invalid("adjustment.release_remaining", "set it true, or give another change"));
        }
        None => None,
    })
}

pub async fn create(
    (db, today): (&DatabaseConnection, NaiveDate),
    ctx: Ctx,
    mut r: pb::CreateAdjustmentRequest,
) -> ServiceResult<pb::Adjustment> {
    let who = ctx.who;
    let request_id = std::mem::take(&mut r.request_id);
    let key = IdempotencyKey::new(&who.person, "CreateAdjustment", &request_id, &r)?;
    let plan = parse_plan_name("parent", &r.parent)?;
    let input = r.adjustment.ok_or_else(|| ServiceError::invalid("adjustment", "is required"))?;
    let (target_plan, target) = parse_target_name("adjustment.target", &input.target)?;
    if target_plan != plan {
        return Err(ServiceError::invalid("adjustment.target", "belongs to another plan"));
    }
    let successor = match input.successor.as_str() {
        "" => None,
        name => {
            let (p, id) = parse_target_name("adjustment.successor", name)?;
            if p != plan {
                return Err(ServiceError::invalid("adjustment.successor", "belongs to another plan"));
            }
            Some((id, name.to_owned()))
        }
    };
    let ask = AdjustmentRequest {
        plan,
        target,
        change: asked_change(input.change.as_ref())?,
        reason: convert::adjustment_reason("adjustment.reason", input.reason)?,
        redistribution: convert::redistribution("adjustment.redistribution", input.redistribution)?,
        justification: input.justification,
        target_name: input.target,
        effective_date: convert::date("adjustment.effective_date", &input.effective_date)?,
        successor,
        ramp: input
            .ramp_percents
            .iter()
            .enumerate()
            .map(|(i, p)| convert::decimal(&format!("adjustment.ramp_percents[{i}]"), p))
            .collect::<Result<_, _>>()?,
    };
    app::create(db, (&who, today), key, ask, render).await
}

pub async fn get(db: &DatabaseConnection, ctx: Ctx, r: pb::GetAdjustmentRequest) -> ServiceResult<pb::Adjustment> {
    let (plan_id, adj_id) = parse_adjustment_name("name", &r.name)?;
    let (plan, adj) = app::get(db, &ctx.who, (&plan_id, &adj_id, &r.name)).await?;
    Ok(render(&adj, &plan))
}

pub async fn list(
    db: &DatabaseConnection,
    ctx: Ctx,
    r: pb::ListAdjustmentsRequest,
) -> ServiceResult<pb::ListAdjustmentsResponse> {
    let who = ctx.who;
    let plan_id = parse_plan_name("parent", &r.parent)?;
    let query = format!("ListAdjustments {} {}", r.parent, r.state);
    let page = PageRequest::parse(r.page_size, &r.page_token, &query, &who)?;
    let state = match pb::AdjustmentState::try_from(r.state) {
        Ok(pb::AdjustmentState::Unspecified) => None,
        Ok(pb::AdjustmentState::Pending) => Some(AdjustmentState::Pending),
        Ok(pb::AdjustmentState::Approved) => Some(AdjustmentState::Approved),
        Ok(pb::AdjustmentState::Rejected) => Some(AdjustmentState::Rejected),
        Ok(pb::AdjustmentState::Withdrawn) => Some(AdjustmentState::Withdrawn),
        Err(_) => return Err(ServiceError::invalid("state", format!("{} is not an AdjustmentState", r.state))),
    };
    let (plan, rows, next_page_token) = app::list(db, &who, &plan_id, state, &page).await?;
    Ok(pb::ListAdjustmentsResponse { adjustments: rows.iter().map(|a| render(a, &plan)).collect(), next_page_token })
}

/// Approve, reject or withdraw, as the request names it.
async fn decide(
    (db, today): (&DatabaseConnection, NaiveDate),
    ctx: Ctx,
    decision: Decision,
    (name, etag, note): (&str, &str, &str),
    key: Option<IdempotencyKey>,
) -> ServiceResult<pb::Adjustment> {
    let (plan_id, adj_id) = parse_adjustment_name("name", name)?;
    app::decide(db, (&ctx.who, today), key, decision, (&plan_id, &adj_id, name), (etag, note), render).await
}

pub async fn approve(
    db: (&DatabaseConnection, NaiveDate),
    ctx: Ctx,
    mut r: pb::ApproveAdjustmentRequest,
) -> ServiceResult<pb::Adjustment> {
    let request_id = std::mem::take(&mut r.request_id);
    let key = IdempotencyKey::new(&ctx.who.person, "ApproveAdjustment", &request_id, &r)?;
    decide(db, ctx, Decision::Approve, (&r.name, &r.etag, &r.note), key).await
}

pub async fn reject(
    db: (&DatabaseConnection, NaiveDate),
    ctx: Ctx,
    mut r: pb::RejectAdjustmentRequest,
) -> ServiceResult<pb::Adjustment> {
    let request_id = std::mem::take(&mut r.request_id);
    let key = IdempotencyKey::new(&ctx.who.person, "RejectAdjustment", &request_id, &r)?;
    decide(db, ctx, Decision::Reject, (&r.name, &r.etag, &r.note), key).await
}

pub async fn withdraw(
    db: (&DatabaseConnection, NaiveDate),
    ctx: Ctx,
    mut r: pb::WithdrawAdjustmentRequest,
) -> ServiceResult<pb::Adjustment> {
    let request_id = std::mem::take(&mut r.request_id);
    let key = IdempotencyKey::new(&ctx.who.person, "WithdrawAdjustment", &request_id, &r)?;
    decide(db, ctx, Decision::Withdraw, (&r.name, &r.etag, ""), key).await
}
