//! Period close: freeze a subtree's figures for an ended period; show
//! corrections recorded afterwards as post-close adjustments beside them.

use std::collections::HashMap;

use attain_kit::{
    ServiceError, ServiceResult,
    auth::{Identity, Role},
    id::Id,
    idempotency::IdempotencyKey,
    metric::Metric,
    money::Amount,
    period::Period,
    upstream::Forwarded,
};
use attain_target_client::{PlanInfo, UnitInfo};
use chrono::Utc;
use prost::Message;
use sea_orm::ConnectionTrait;

use super::App;
use crate::{
    domain::{
        attainment::ratio_text,
        close::ClosedLine,
        deal::{Deal, Dimensions},
    },
    storage::{closes, deals, rollups},
};

/// Corrections listed per read; the per-unit figures always cover them all.
const MAX_ADJUSTMENTS: u64 = 1000;

/// A closed period as the caller may see it.
#[derive(Debug, Clone)]
pub struct CloseView {
    pub name: String,
    pub unit: Id,
    pub period: Period,
    pub plan: PlanInfo,
    /// Each frozen line (the closing unit first) with today's actual.
    pub lines: Vec<(ClosedLine, Amount)>,
    /// Deals recorded since the close, with the part inside the subtree
    /// the caller may see.
    pub adjustments: Vec<(Deal, Amount)>,
}

pub fn close_name(unit: &Id, period: &Period) -> String {
    format!("{}/closes/{}", unit.resource_name(), period.expression)
}

impl App {
    /// Closes `unit`'s subtree for an ended period, once per request id;
    /// `render` makes the response stored for replays.
    pub async fn close_period<R: Message + Default>(
        &self,
        (who, fwd): (&Identity, &Forwarded),
        key: IdempotencyKey,
        unit: &Id,
        period: &str,
        render: fn(&CloseView) -> R,
    ) -> ServiceResult<R> {
        if !matches!(who.role, Role::Admin | Role::Manager) {
            return Err(ServiceError::PermissionDenied("only admins and managers close periods".to_owned()));
        }
        let unit = self.visible(who, fwd, unit).await?;
        let (plan, period) = self.plan_and_period(fwd, &unit.path, period, Metric::Amount).await?;
        if let Some(previous) = key.replay::<R>(&self.db).await? {
            return Ok(previous);
        }
        let today = self.today();
        if period.end >= today {
            return Err(ServiceError::precondition(
                "PERIOD_NOT_ENDED",
                format!(
                    "{} ends on {}; it can be closed from the day after (today is {today})",
                    period.expression, period.end
                ),
            ));
        }
        let lines = self.lines_to_freeze(who, fwd, &unit, &plan, &period).await?;
        let txn = attain_kit::db::begin_write(&self.db).await?;
        match closes::insert(&txn, &lines).await {
            Ok(()) => {}
            // Someone closed it (or part of it) first.
            Err(ServiceError::AlreadyExists(_)) => {
                let name = close_name(&unit.id, &period);
                return Err(ServiceError::AlreadyExists(format!("{name} was closed meanwhile")));
            }
            Err(e) => return Err(e),
        }
        let view = render(&close_view(&txn, who, &unit, &plan, &period).await?);
        key.record(&txn, &view).await?;
        txn.commit().await?;
        Ok(view)
    }

    /// The subtree's figures at the period's end, for the units not closed
    /// before on their own (they keep their frozen figures).
    async fn lines_to_freeze(
        &self,
        who: &Identity,
        fwd: &Forwarded,
        unit: &UnitInfo,
        plan: &PlanInfo,
        period: &Period,
    ) -> ServiceResult<Vec<ClosedLine>> {
        let mut units = self.target.subtree(fwd, &unit.id).await?;
        if !units.iter().any(|u| u.id == unit.id) {
            units.insert(0, unit.clone());
        }
        let ids: Vec<Id> = units.iter().map(|u| u.id.clone()).collect();
        let already = closes::lines(&self.db, &period.expression, &ids).await?;
        if let Some(line) = already.get(&unit.id) {
            return Err(already_closed(&unit.id, period, line));
        }
        let open: Vec<UnitInfo> = units.into_iter().filter(|u| !already.contains_key(&u.id)).collect();
        let (measured, _) = self.measure(fwd, open, plan, period, period.end, &Dimensions::default()).await?;
        let now = Utc::now();
        Ok(measured
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
                attainment_rate: ratio_text(m.figures.attainment_rate),
                status: m.figures.status,
            })
            .collect())
    }

    pub async fn period_close(
        &self,
        who: &Identity,
        fwd: &Forwarded,
        unit: &Id,
        period: &str,
    ) -> ServiceResult<CloseView> {
        let unit = self.visible_somewhere(who, fwd, unit).await?;
        if !who.can_read(&unit.path) {
            // Closes are of where it sits now: its new managers'.
            return Err(ServiceError::not_found("period close", format!("{} {period}", unit.id.resource_name())));
        }
        let (plan, period) = self.plan_and_period(fwd, &unit.path, period, Metric::Amount).await?;
        close_view(&self.db, who, &unit, &plan, &period).await
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
) -> ServiceResult<CloseView> {
    let subtree = closes::subtree_lines(db, &period.expression, &unit.path).await?;
    let Some(closed_at) = subtree.iter().find(|l| l.unit == unit.id).map(|l| l.closed_at) else {
        return Err(ServiceError::not_found("period close", close_name(&unit.id, period)));
    };
    let mut lines: Vec<ClosedLine> = subtree.into_iter().filter(|l| who.can_read(&l.unit_path)).collect();
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
    let lines = lines
        .into_iter()
        .map(|l| {
            let current = now.get(&l.unit).copied().unwrap_or_default().amount;
            (l, current)
        })
        .collect();
    let window =
        deals::Window { dates: Some((period.start, period.end)), as_of: None, recorded_after: Some(closed_at) };
    let mut later = deals::list(db, std::slice::from_ref(&unit.path), window, None, MAX_ADJUSTMENTS).await?;
    later.sort_by(|a, b| a.create_time.cmp(&b.create_time).then(a.id.as_str().cmp(b.id.as_str())));
    let mut adjustments = Vec::with_capacity(later.len());
    for d in later {
        let mut inside = Amount::ZERO;
        for (path, amount) in d.lines() {
            if path.starts_with(&unit.path) && who.can_read(path) {
                inside = inside.checked_add(amount)?;
            }
        }
        adjustments.push((d, inside));
    }
    Ok(CloseView {
        name: close_name(&unit.id, period),
        unit: unit.id.clone(),
        period: period.clone(),
        plan: plan.clone(),
        lines,
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
