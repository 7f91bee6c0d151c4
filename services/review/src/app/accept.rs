//! Accepting a review's suggestion closes the loop (the guide's step 7):
//! it becomes a target for the next period of the review's own
//! granularity. An annual review proposes next year's targets in the DRAFT
//! plan (created for the company by an admin; a manager proposes its
//! members' split); a monthly, quarterly or weekly one requests an
//! adjustment so the next period's target becomes the suggestion, approved
//! from above like any other.

use attain_kit::{
    ServiceError, ServiceResult, auth::Identity, id::Id, idempotency::IdempotencyKey, money::Amount,
    period::Granularity, upstream::Forwarded,
};
use prost::Message;
use rust_decimal::Decimal;

use super::{App, require_manager};
use crate::{
    clients::{DraftPlan, PlanInfo},
    domain::{
        report::{Suggestion, per_year},
        review::Review,
    },
};

/// The request id of one upstream write of an acceptance: a retry sends
/// the same, and each write has its own (the target service keeps one
/// request id per caller).
fn upstream_id(key: &IdempotencyKey, what: &str) -> String {
    format!("{}:{what}", key.request_id())
}

/// What accepting made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    /// Next year's DRAFT plan and the targets proposed in it.
    Draft { plan: String, targets: Vec<String> },
    /// The adjustment requested for the next period.
    Adjustment(String),
}

impl App {
    pub async fn accept_suggestion<R: Message + Default>(
        &self,
        (who, fwd): (&Identity, &Forwarded),
        key: IdempotencyKey,
        review: (&Id, &str),
        growth: Option<Decimal>,
        render: fn(&Accepted) -> R,
    ) -> ServiceResult<R> {
        let (review, _) = self.visible(who, fwd, review.0, review.1).await?;
        require_manager(who, &review.unit_path, "AcceptSuggestion")?;
        if let Some(previous) = key.replay::<R>(&self.db).await? {
            return Ok(previous);
        }
        let review = self.current(who, fwd, review).await?;
        let (s, _) = self.suggestion_for(fwd, &review, growth).await?;
        // Nothing sold gives nothing to grow: a zero target is not a plan.
        if s.amount.decimal() <= Decimal::ZERO {
            return Err(ServiceError::precondition(
                "NO_TREND",
                format!(
                    "{} {} has no sales to grow ({} {}); set {}'s target by hand instead",
                    review.unit.resource_name(),
                    review.period.expression,
                    s.basis.as_str(),
                    s.trend,
                    s.next.expression
                ),
            ));
        }
        let plans = self.up.plans(fwd).await?;
        let accepted = match review.period.granularity {
            Granularity::Year => self.propose_next_year(who, fwd, &key, (&review, &s), &plans).await?,
            _ => self.request_next_period(fwd, &key, (&review, &s), &plans).await?,
        };
        let response = render(&accepted);
        key.record(&self.db, &response).await?;
        Ok(response)
    }

    /// Next year's DRAFT plan covering the unit (created when the unit is
    /// the company and the caller an admin), and the unit's members split
    /// in it by their suggested amounts.
    async fn propose_next_year(
        &self,
        who: &Identity,
        fwd: &Forwarded,
        key: &IdempotencyKey,
        (review, s): (&Review, &Suggestion),
        plans: &[PlanInfo],
    ) -> ServiceResult<Accepted> {
        let current = plans.iter().find(|p| p.name == review.plan);
        let covers = |p: &&PlanInfo| {
            !p.published
                && p.year.contains(s.next.start)
                && review.unit_path.contains(&p.top_unit)
                && current.is_none_or(|c| c.metric == p.metric)
        };
        let plan = match plans.iter().find(covers) {
            Some(p) => p.name.clone(),
            None if current.is_some_and(|c| c.top_unit == review.unit) => {
                if !who.is_admin() {
                    return Err(ServiceError::PermissionDenied(
                        "AcceptSuggestion: next year's plan for the company is created by an ADMIN (sales operations)"
                            .to_owned(),
                    ));
                }
                let facts = self.up.plan_facts(fwd, &review.plan).await?;
                let base = Amount::from_decimal((s.trend.decimal() * per_year(&review.period)).round_dp(2))?;
                let draft = DraftPlan {
                    display_name: format!("Suggested from {} {}", review.unit.as_str(), review.period.expression),
                    top_unit: review.unit.clone(),
                    fiscal_year: chrono::Datelike::year(&s.next.start),
                    currency: facts.currency,
                    base,
                    growth: s.growth,
                };
                let plan_id = format!("sug-{}", review.id.as_str());
                self.up.create_draft_plan(fwd, (&plan_id, &upstream_id(key, "plan")), draft).await?
            }
            None => {
                return Err(ServiceError::precondition(
                    "NO_DRAFT_PLAN",
                    format!(
                        "no DRAFT plan of the year from {} covers {}: an ADMIN accepts the company's annual suggestion (or creates next year's plan) first",
                        s.next.start,
                        review.unit.resource_name()
                    ),
                ));
            }
        };
        let members: Vec<(String, Amount)> = s.members.iter().filter(|(_, a)| !a.is_negative()).cloned().collect();
        if members.iter().all(|(_, a)| a.is_zero()) {
            return Ok(Accepted::Draft { plan, targets: Vec::new() });
        }
        let targets =
            self.up.propose_split(fwd, (&plan, &review.unit), &members, &upstream_id(key, "split")).await.map_err(
                |e| match &e {
                    ServiceError::Upstream(st) if st.code() == tonic::Code::NotFound => ServiceError::precondition(
                        "NO_TARGET_IN_DRAFT",
                        format!(
                            "{} has no target in {plan} yet: the manager above splits down to it first",
                            review.unit.resource_name()
                        ),
                    ),
                    _ => e,
                },
            )?;
        Ok(Accepted::Draft { plan, targets })
    }

    /// An adjustment request making the next period's target the
    /// suggestion, from that period's first day: the target service sizes
    /// the yearly change on the unit's curve; the months before stay.
    async fn request_next_period(
        &self,
        fwd: &Forwarded,
        key: &IdempotencyKey,
        (review, s): (&Review, &Suggestion),
        plans: &[PlanInfo],
    ) -> ServiceResult<Accepted> {
        let next = &s.next;
        let plan = attain_target_client::plan_for(plans, &review.unit_path, next.start)
            .filter(|p| p.published)
            .ok_or_else(|| {
                ServiceError::precondition(
                    "NO_PLAN_FOR_NEXT_PERIOD",
                    format!(
                        "no published plan covers {} for {}: accept the annual review's suggestion for next year's plan",
                        next.expression,
                        review.unit.resource_name()
                    ),
                )
            })?;
        let why = format!(
            "{} suggests {} for {} ({}): from {} the rest of the year follows at that rate",
            review.resource_name(),
            s.amount,
            next.expression,
            s.formula,
            next.start
        );
        let name = self
            .up
            .request_adjustment(fwd, (plan, &review.unit), (next, s.amount), (&why, &upstream_id(key, "adjustment")))
            .await?;
        Ok(Accepted::Adjustment(name))
    }
}
