//! Period close: freeze a subtree's figures for an ended period; show
//! corrections recorded afterwards as post-close adjustments beside them.

use std::collections::HashMap;

use attain_kit::context::Ctx;
use attain_kit::{
    ServiceError, ServiceResult,
    auth::{Identity, Role},
    id::Id,
    idempotency::IdempotencyKey,
    metric::Metric,
    money::Amount,
    period::Period,
};
use attain_proto::attain::tracking::v1 as pb;
use attain_target_client::{PlanInfo, UnitInfo};
use chrono::Utc;
use sea_orm::ConnectionTrait;

use super::{TrackingApi, convert};
use crate::{
    domain::{close::ClosedLine, deal::Dimensions},
    storage::{closes, deals, rollups},
};

/// Corrections listed per read; the per-unit figures always cover them all.
const MAX_ADJUSTMENTS: u64 = 1000;

fn close_name(unit: &Id, period: &Period) -> String {
    format!("{}/closes/{}", unit.resource_name(), period.expression)
}

fn path_strings(path: &[Id]) -> Vec<String> {
    path.iter().map(|p| p.as_str().to_owned()).collect()
}

impl TrackingApi {
    pub(crate) async fn close_period(&self, ctx: Ctx, mut r: pb::ClosePeriodRequest) -> ServiceResult<pb::PeriodClose> {
        let Ctx { who, fwd } = ctx;
        let request_id = std::mem::take(&mut r.request_id);
        let key = IdempotencyKey::required(&who.person, "ClosePeriod", "request_id", &request_id, &r)?;
        if !matches!(who.role, Role::Admin | Role::Manager) {
            return Err(ServiceError::PermissionDenied("only admins and managers close periods".to_owned()));
        }
        let unit = self.visible(&who, &fwd, "unit", &r.unit).await?;
        let (plan, period) = self.plan_and_period(&fwd, &unit.path, &r.period, Metric::Amount).await?;
        if let Some(previous) = key.replay::<pb::PeriodClose>(&self.db).await? {
            return Ok(previous);
        }
        let today = self.clock.today();
        if period.end >= today {
            return Err(ServiceError::precondition(
                "PERIOD_NOT_ENDED",
                format!(
                    "{} ends on {}; it can be closed from the day after (today is {today})",
                    period.expression, period.end
                ),
            ));
        }
        let mut units = self.target.subtree(&fwd, &unit.id).await?;
        if !units.iter().any(|u| u.id == unit.id) {
            units.insert(0, unit.clone());
        }
        let ids: Vec<Id> = units.iter().map(|u| u.id.clone()).collect();
        let already = closes::lines(&self.db, &period.expression, &ids).await?;
        if let Some(line) = already.get(&unit.id) {
            return Err(already_closed(&unit.id, &period, line));
        }
        // Units closed earlier on their own keep their frozen figures.
        let open: Vec<UnitInfo> = units.into_iter().filter(|u| !already.contains_key(&u.id)).collect();
        let (measured, _) = self.measure(&fwd, open, &plan, &period, period.end, &Dimensions::default()).await?;
        let now = Utc::now();
        let lines: Vec<ClosedLine> = measured
            .iter()
            .map(|m| ClosedLine {
                period: period.expression.clone(),
                unit: m.unit.id.clone(),
                unit_path: m.unit.path.clone(),
                closed_under: unit.id.clone(),
                closed_by: who.person.clone(),
                closed_at: now,
                target: m.expected.period_target,
                original_target: m.expected.original_target,
                actual: m.actual.amount,
                deals_won: m.actual.deals_won,
                attainment_rate: m.wire.attainment_rate.clone(),
                status: m.status,
            })
            .collect();
        let txn = attain_kit::db::begin_write(&self.db).await.map_err(ServiceError::from)?;
        match closes::insert(&txn, &lines).await {
            Ok(()) => {}
            // Someone closed it (or part of it) first.
            Err(ServiceError::AlreadyExists(_)) => {
                return Err(ServiceError::AlreadyExists(format!(
                    "{} was closed meanwhile",
                    close_name(&unit.id, &period)
                )));
            }
            Err(e) => return Err(e),
        }
        let view = close_view(&txn, &who, &unit, &plan, &period).await?;
        key.record(&txn, &view).await?;
        txn.commit().await.map_err(ServiceError::from)?;
        Ok(view)
    }

    pub(crate) async fn get_period_close(
        &self,
        ctx: Ctx,
        r: pb::GetPeriodCloseRequest,
    ) -> ServiceResult<pb::PeriodClose> {
        let Ctx { who, fwd } = ctx;
        let unit = self.visible(&who, &fwd, "unit", &r.unit).await?;
        let (plan, period) = self.plan_and_period(&fwd, &unit.path, &r.period, Metric::Amount).await?;
        close_view(&self.db, &who, &unit, &plan, &period).await
    }
}

/// The frozen lines of a subtree beside today's actuals, and the deals
/// recorded since the unit's close. NOT_FOUND when it is not closed.
async fn close_view(
    db: &impl ConnectionTrait,
    who: &Identity,
    unit: &UnitInfo,
    plan: &PlanInfo,
    period: &Period,
) -> ServiceResult<pb::PeriodClose> {
    let subtree = closes::subtree_lines(db, &period.expression, &unit.path).await?;
    let Some(closed_at) = subtree.iter().find(|l| l.unit == unit.id).map(|l| l.closed_at) else {
        return Err(ServiceError::not_found("period close", close_name(&unit.id, period)));
    };
    let mut lines: Vec<&ClosedLine> = subtree.iter().filter(|l| who.can_read(&path_strings(&l.unit_path))).collect();
    // The closing unit first, then by depth and id.
    lines.sort_by(|a, b| {
        (a.unit != unit.id)
            .cmp(&(b.unit != unit.id))
            .then(a.unit_path.len().cmp(&b.unit_path.len()))
            .then(a.unit.as_str().cmp(b.unit.as_str()))
    });
    let ids: Vec<Id> = lines.iter().map(|l| l.unit.clone()).collect();
    let now: HashMap<Id, rollups::Sum> =
        rollups::sums(db, &ids, period.start, period.end, &Dimensions::default()).await?;
    let money = |a| Some(convert::money(a, plan.currency));
    let mut units = Vec::with_capacity(lines.len());
    for l in lines {
        let current = now.get(&l.unit).copied().unwrap_or_default().amount;
        units.push(pb::ClosedFigures {
            unit: l.unit.resource_name(),
            target: money(l.target),
            original_target: money(l.original_target),
            actual: money(l.actual),
            deals_won: l.deals_won,
            attainment_rate: l.attainment_rate.clone(),
            status: convert::status(l.status) as i32,
            closed_by: l.closed_by.clone(),
            close_time: Some(convert::timestamp(l.closed_at)),
            current_actual: money(current),
            post_close_adjustment: money(l.post_close_adjustment(current)?),
        });
    }
    let window =
        deals::Window { dates: Some((period.start, period.end)), as_of: None, recorded_after: Some(closed_at) };
    let mut later = deals::list(db, &unit.path, window, None, MAX_ADJUSTMENTS).await?;
    later.sort_by(|a, b| a.create_time.cmp(&b.create_time).then(a.id.as_str().cmp(b.id.as_str())));
    let mut adjustments = Vec::with_capacity(later.len());
    for d in &later {
        let mut inside = Amount::ZERO;
        for (path, amount) in d.lines() {
            if path.starts_with(&unit.path) && who.can_read(&path_strings(path)) {
                inside = inside.checked_add(amount)?;
            }
        }
        adjustments.push(pb::PostCloseAdjustment {
            deal: d.resource_name(),
            rep: d.rep.resource_name(),
            kind: convert::deal_kind(d.kind) as i32,
            amount: money(inside),
            close_date: d.close_date.format("%Y-%m-%d").to_string(),
            created_by: d.created_by.clone(),
            create_time: Some(convert::timestamp(d.create_time)),
        });
    }
    Ok(pb::PeriodClose {
        name: close_name(&unit.id, period),
        unit: unit.id.resource_name(),
        period: Some(convert::period(period)),
        units,
        adjustments,
    })
}

fn already_closed(unit: &Id, period: &Period, line: &ClosedLine) -> ServiceError {
    let how = if &line.closed_under == unit {
        String::new()
    } else {
        format!(" as part of {}", line.closed_under.resource_name())
    };
    ServiceError::AlreadyExists(format!(
        "{} exists: closed by {} at {}{how}; corrections since show as post-close adjustments",
        close_name(unit, period),
        line.closed_by,
        line.closed_at.format("%Y-%m-%d %H:%M:%S UTC"),
    ))
}
