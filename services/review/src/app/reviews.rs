//! Review sessions: open (with the brief and carried-over actions),
//! refresh, close (the brief freezes), list.

use attain_kit::{
    ServiceError, ServiceResult, auth::Identity, id::Id, idempotency::IdempotencyKey, idempotent, paging::PageRequest,
    period::Period, scope::check_etag, upstream::Forwarded,
};
use prost::Message;

use super::{App, require_manager};
use crate::{
    domain::review::{ActionStatus, Brief, Cadence, Review, State},
    storage::reviews as store,
};

/// Which reviews a listing reads, and in which order.
#[derive(Debug, Clone, Copy, Default)]
pub struct Listing {
    /// The unit's own reviews only, not those below it.
    pub unit_only: bool,
    /// Newest first (else oldest first).
    pub newest: bool,
}

impl App {
    /// Opens a review of a unit's period (begun, covered by a plan); the
    /// open actions of the unit's previous review move into it.
    pub async fn create_review<R: Message + Default>(
        &self,
        (who, fwd): (&Identity, &Forwarded),
        key: Option<IdempotencyKey>,
        (unit, cadence, expr): (Id, Cadence, &str),
        render: fn(&Review) -> R,
    ) -> ServiceResult<R> {
        let tree = self.up.tree(fwd, &unit).await?;
        require_manager(who, &tree.path, "CreateReview")?;
        let (plan, fsm) = self.up.plan(fwd, &tree.path, expr).await?;
        let period = Period::parse("review.period.expression", expr, fsm)?;
        let today = self.clock.today();
        if period.start > today {
            return Err(ServiceError::precondition(
                "PERIOD_NOT_STARTED",
                format!("{expr} starts on {}; review it once it has begun", period.start),
            ));
        }
        let now = self.now();
        let mut review = Review {
            id: Id::generate(),
            unit: unit.clone(),
            unit_path: tree.path.clone(),
            plan,
            period,
            cadence,
            state: State::Open,
            brief: Brief::default(),
            top_reasons: Vec::new(),
            created_by: who.person.clone(),
            version: 1,
            create_time: now,
            close_time: None,
        };
        (review.brief, review.top_reasons) = self.generate(fwd, &review).await?;
        idempotent!(self.db, key, |txn| {
            if let Some(open) = store::open_review(&txn, &unit, &review.period.expression).await? {
                return Err(ServiceError::AlreadyExists(format!(
                    "{} is already open for {} {}; close it first",
                    open.resource_name(),
                    unit.resource_name(),
                    review.period.expression
                )));
            }
            store::insert_review(&txn, &review, fsm).await?;
            // Open actions of the unit's earlier reviews (periods ended before
            // this one starts) move into this one. The originals read
            // CARRIED_OVER: no item is open twice.
            for previous in store::earlier_reviews(&txn, &unit, &review).await? {
                let open: Vec<_> =
                    store::items(&txn, &previous.id).await?.into_iter().filter(|a| a.status.is_open()).collect();
                let carried: Vec<_> = open.iter().map(|a| a.carried_into(&review.id, now)).collect();
                store::insert_items(&txn, &carried).await?;
                for original in open {
                    let mut moved = original.clone();
                    moved.status = ActionStatus::CarriedOver;
                    moved.version = original.version + 1;
                    moved.update_time = now;
                    if !store::update_item(&txn, &moved, original.version).await? {
                        return Err(ServiceError::Aborted(format!(
                            "an action item of {} changed while it was carried over; try again",
                            previous.resource_name()
                        )));
                    }
                }
            }
            render(&review)
        })
    }

    /// A page of the reviews of a unit and below (or of the unit only),
    /// oldest or newest first, each as it reads now.
    pub async fn list_reviews(
        &self,
        who: &Identity,
        fwd: &Forwarded,
        (unit, listing): (&Id, Listing),
        page: &PageRequest,
    ) -> ServiceResult<(Vec<Review>, String)> {
        let at = (page.after.as_deref(), listing.newest);
        let places = self.up.places(fwd, unit).await?;
        match places.first() {
            Some(now) if who.can_read(now) => {}
            // It left the caller's scope (they read its figures of its days
            // with them): its reviews are its new managers' now.
            _ if places.iter().any(|p| who.can_read(p)) => return Ok((Vec::new(), String::new())),
            _ => return Err(attain_kit::scope::hidden(&unit.resource_name())),
        }
        let mut rows = if listing.unit_only {
            // One unit read: its own reviews need no names of what is below.
            store::list_reviews(&self.db, (None, std::slice::from_ref(unit)), at, page.fetch_limit()).await?
        } else {
            let tree = self.up.tree(fwd, unit).await?;
            if !who.can_read(&tree.path) {
                return Err(attain_kit::scope::hidden(&unit.resource_name()));
            }
            let units: Vec<Id> = std::iter::once(unit.clone()).chain(tree.below.iter().cloned()).collect();
            store::list_reviews(&self.db, (Some(&tree.path), &units), at, page.fetch_limit()).await?
        };
        let next_page_token = page.finish(&mut rows, |x| x.id.as_str().to_owned());
        let read = futures::future::join_all(rows.into_iter().map(|x| self.current(who, fwd, x))).await;
        let mut out = Vec::with_capacity(read.len());
        for r in read {
            match r {
                Ok(review) => out.push(review),
                // A unit that moved out of the caller's scope: its reviews
                // are its new managers' now.
                Err(e) if hidden_now(&e) => {}
                Err(e) => return Err(e),
            }
        }
        Ok((out, next_page_token))
    }

    /// Regenerates an open review's brief and stores it.
    pub async fn refresh_brief(
        &self,
        (who, fwd): (&Identity, &Forwarded),
        (id, name, etag): (&Id, &str, &str),
    ) -> ServiceResult<Review> {
        let (review, fsm) = self.visible(who, fwd, id, name).await?;
        require_manager(who, &review.unit_path, "RefreshBrief")?;
        review.require_open("RefreshBrief")?;
        check_etag(etag, &review.version.to_string(), name)?;
        let mut next = review.clone();
        (next.brief, next.top_reasons) = self.generate(fwd, &review).await?;
        next.version = review.version + 1;
        if !store::update_review(&self.db, &next, fsm, review.version).await? {
            return Err(ServiceError::stale_etag(name));
        }
        Ok(next)
    }

    /// Closing regenerates the brief one last time and freezes it.
    pub async fn close_review<R: Message + Default>(
        &self,
        (who, fwd): (&Identity, &Forwarded),
        key: Option<IdempotencyKey>,
        (id, name, etag): (&Id, &str, &str),
        render: fn(&Review) -> R,
    ) -> ServiceResult<R> {
        let (review, fsm) = self.visible(who, fwd, id, name).await?;
        require_manager(who, &review.unit_path, "CloseReview")?;
        if let Some(k) = &key
            && let Some(previous) = k.replay::<R>(&self.db).await?
        {
            return Ok(previous);
        }
        review.require_open("CloseReview")?;
        check_etag(etag, &review.version.to_string(), name)?;
        let mut next = review.clone();
        (next.brief, next.top_reasons) = self.generate(fwd, &review).await?;
        next.state = State::Closed;
        next.close_time = Some(self.now());
        next.version = review.version + 1;
        let closed: ServiceResult<R> = async {
            idempotent!(self.db, key, |txn| {
                if !store::update_review(&txn, &next, fsm, review.version).await? {
                    return Err(ServiceError::stale_etag(name));
                }
                render(&next)
            })
        }
        .await;
        if closed.is_ok() {
            // Tracking hears of it now, not at the next minute.
            self.closed.notify_one();
        }
        closed
    }
}

/// Whether an error says the caller may not read the unit (any more).
fn hidden_now(e: &ServiceError) -> bool {
    use tonic::Code;
    match e {
        ServiceError::PermissionDenied(_) | ServiceError::NotFound { .. } => true,
        ServiceError::Upstream(s) => matches!(s.code(), Code::PermissionDenied | Code::NotFound),
        _ => false,
    }
}
