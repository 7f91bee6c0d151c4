//! The next-period suggestion and what a report is made of.

use attain_kit::{ServiceError, ServiceResult, auth::Identity, id::Id, upstream::Forwarded};
use rust_decimal::Decimal;

use super::App;
use crate::{
    domain::{
        report::{Deals, PlanFacts, Report, Suggestion, suggest, words::Names},
        review::Review,
    },
    storage::{practices, reviews as store},
};

/// Reports and suggestions show the whole unit's figures, which a rep's own
/// lines of a review do not.
fn not_for_reps(who: &Identity, why: &str) -> ServiceResult<()> {
    if who.role == attain_kit::auth::Role::Rep {
        return Err(ServiceError::PermissionDenied(why.to_owned()));
    }
    Ok(())
}

impl App {
    /// The suggestion with the growth asked (none: the plan's).
    pub(super) async fn suggestion_for(
        &self,
        fwd: &Forwarded,
        review: &Review,
        growth: Option<Decimal>,
    ) -> ServiceResult<(Suggestion, PlanFacts)> {
        let plan = self.up.plan_facts(fwd, &review.plan).await?;
        let g = growth.unwrap_or_else(|| plan.growth.parse::<Decimal>().unwrap_or(Decimal::ZERO));
        if g <= -Decimal::ONE {
            return Err(ServiceError::invalid("growth_rate", "must be above -1 (a fraction: 0.05 is +5%)"));
        }
        let mut s = suggest(review, g, self.clock.today())
            .ok_or_else(|| ServiceError::invalid("name", "this review's period has no successor"))?;
        // Members who have left by the next period get no suggestion.
        let members: Vec<String> = s.members.iter().map(|(u, _)| u.clone()).collect();
        let gone = self.up.left_by(fwd, &members, s.next.start).await?;
        s.members.retain(|(u, _)| !gone.contains(u));
        Ok((s, plan))
    }

    pub async fn suggestion(
        &self,
        (who, fwd): (&Identity, &Forwarded),
        review: (&Id, &str),
        growth: Option<Decimal>,
    ) -> ServiceResult<(Review, Suggestion, PlanFacts)> {
        let (review, _) = self.visible(who, fwd, review.0, review.1).await?;
        not_for_reps(who, "a suggestion is drawn from every member's figures; ask your manager")?;
        // An open review's figures as they read now, like its brief.
        let review = self.current(who, fwd, review).await?;
        let (s, plan) = self.suggestion_for(fwd, &review, growth).await?;
        Ok((review, s, plan))
    }

    /// What a report of the review shows.
    pub async fn report_inputs(
        &self,
        (who, fwd): (&Identity, &Forwarded),
        review: (&Id, &str),
    ) -> ServiceResult<Report> {
        let (review, _) = self.visible(who, fwd, review.0, review.1).await?;
        not_for_reps(who, "a report shows every member; ask your manager")?;
        let review = self.current(who, fwd, review).await?;
        let causes = store::causes(&self.db, &review.id).await?;
        let actions = store::items(&self.db, &review.id).await?;
        let practices =
            practices::practices_of(&self.db, &review.id).await?.into_iter().map(|p| (p.title, p.text)).collect();
        let (suggestion, plan) = self.suggestion_for(fwd, &review, None).await?;
        // Members, causes and deals are named by unit, owners by person.
        let tree = self.up.tree(fwd, &review.unit).await?;
        let names = Names { units: tree.names, managers: tree.managers };
        let reallocations = crate::storage::reallocations::reallocations_of(&self.db, &review.id).await?;
        Ok(Report {
            review,
            plan,
            causes,
            actions,
            practices,
            reallocations,
            suggestion,
            names,
            today: self.clock.today(),
        })
    }

    /// The deals behind a review's period (the weekly progress sheet).
    pub async fn report_deals(&self, fwd: &Forwarded, review: &Review) -> ServiceResult<Deals> {
        self.up.deals(fwd, &review.unit, &review.period).await
    }
}
