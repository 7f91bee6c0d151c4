//! Resources moved to help a unit in review: leads, promotion budget,
//! coaching. Scope is per row: a rep sees the lines for itself.

use attain_kit::{
    ServiceError, ServiceResult, auth::Identity, id::Id, idempotency::IdempotencyKey, idempotent, upstream::Forwarded,
};
use chrono::Utc;
use prost::Message;

use attain_kit::money::{Amount, CurrencyCode};

use super::{App, own_line, require_manager};
use crate::{domain::practice::Reallocation, storage::reallocations};

/// A reallocation as asked: what moves to which unit.
#[derive(Debug, Clone)]
pub struct NewReallocation {
    /// "LEADS", "PROMOTION_BUDGET", "COACHING".
    pub kind: &'static str,
    pub unit: Id,
    pub lead_count: i64,
    pub budget: Option<(Amount, CurrencyCode)>,
    pub description: String,
}

impl App {
    /// Records a reallocation to a unit in the review, approved by the
    /// caller.
    pub async fn create_reallocation<R: Message + Default>(
        &self,
        (who, fwd): (&Identity, &Forwarded),
        key: Option<IdempotencyKey>,
        review: (&Id, &str),
        r: NewReallocation,
        render: fn(&Reallocation) -> R,
    ) -> ServiceResult<R> {
        let (review, _) = self.visible(who, fwd, review.0, review.1).await?;
        require_manager(who, &review.unit_path, "CreateReallocation")?;
        let tree = self.up.tree(fwd, &review.unit).await?;
        if r.unit != review.unit && !tree.below.contains(&r.unit) {
            return Err(ServiceError::invalid(
                "reallocation.unit",
                format!("{} is not in the review", r.unit.resource_name()),
            ));
        }
        let r = Reallocation {
            id: Id::generate(),
            review: review.id.clone(),
            kind: r.kind.to_owned(),
            unit: r.unit,
            lead_count: r.lead_count,
            budget: r.budget,
            description: r.description,
            approved_by: who.person.clone(),
            create_time: Utc::now(),
        };
        idempotent!(self.db, key, |txn| {
            reallocations::insert_reallocation(&txn, &r).await?;
            render(&r)
        })
    }

    pub async fn reallocations(
        &self,
        who: &Identity,
        fwd: &Forwarded,
        review: (&Id, &str),
    ) -> ServiceResult<Vec<Reallocation>> {
        let (review, _) = self.visible(who, fwd, review.0, review.1).await?;
        let own = own_line(who);
        let rows = reallocations::reallocations_of(&self.db, &review.id).await?;
        Ok(rows.into_iter().filter(|x| own.as_ref().is_none_or(|u| x.unit.resource_name() == *u)).collect())
    }
}
