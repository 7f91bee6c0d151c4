//! Review sessions: open (with the brief and carried-over actions),
//! refresh, close (the brief freezes), read.

use attain_kit::context::Ctx;
use attain_kit::{
    ServiceError, ServiceResult, auth::Identity, id::Id, idempotency::IdempotencyKey, idempotent, paging::PageRequest,
    upstream::Forwarded,
};
use attain_proto::attain::review::v1 as pb;
use chrono::Utc;

use super::{ReviewApi, convert, require_manager};
use crate::{
    domain::review::{Brief, Review, State, top_reasons},
    storage::reviews as store,
};

impl ReviewApi {
    /// The brief and top-3 reasons as tracking and target see them now.
    async fn generate(
        &self,
        fwd: &Forwarded,
        review: &Review,
    ) -> ServiceResult<(Brief, Vec<crate::domain::review::Reason>)> {
        let tree = self.up.tree(fwd, &review.unit).await?;
        let day = self.clock.today().min(review.period.end);
        let (unit, members) = self.up.figures(fwd, &tree, &review.period.expression, day).await?;
        let losses = self.up.losses(fwd, &review.unit, &review.period).await?;
        let causes = store::causes(&self.db, &review.id).await?;
        let gaps = self.up.gap_attribution(fwd, &review.unit, &review.period.expression, day).await?;
        Ok((Brief { unit, members, generated: Some(Utc::now()), gaps }, top_reasons(&causes, losses, 3)))
    }

    /// A review as it reads now: while open, its brief and top-3 follow
    /// figures, causes and lost deals as soon as they are written (no
    /// refresh needed); once closed it is frozen as discussed. The brief is
    /// drawn with the caller's own authority, so a caller who reads only its
    /// own line (a rep under the unit) gets the stored brief, filtered.
    pub(super) async fn current(&self, who: &Identity, fwd: &Forwarded, review: Review) -> ServiceResult<Review> {
        let path: Vec<String> = review.unit_path.iter().map(|p| p.as_str().to_owned()).collect();
        if review.state != State::Open || !who.can_read(&path) {
            return Ok(review);
        }
        let (brief, top_reasons) = self.generate(fwd, &review).await?;
        Ok(Review { brief, top_reasons, ..review })
    }

    pub(crate) async fn create_review(&self, ctx: Ctx, mut r: pb::CreateReviewRequest) -> ServiceResult<pb::Review> {
        let Ctx { who, fwd } = ctx;
        let request_id = std::mem::take(&mut r.request_id);
        let key = IdempotencyKey::new(&who.person, "CreateReview", &request_id, &r)?;
        let input = r.review.ok_or_else(|| ServiceError::invalid("review", "is required"))?;
        let unit = Id::from_name("review.unit", &input.unit)?;
        let cadence = convert::cadence(input.cadence).ok_or_else(|| {
            ServiceError::invalid("review.cadence", "is required (WEEKLY, MONTHLY, QUARTERLY or ANNUAL)")
        })?;
        let expr = input.period.as_ref().map(|p| p.expression.clone()).unwrap_or_default();
        let tree = self.up.tree(&fwd, &unit).await?;
        require_manager(&who, &tree.path, "CreateReview")?;
        let (plan, fsm) = self.up.plan(&fwd, &tree.path, &expr).await?;
        let period = attain_kit::period::Period::parse("review.period.expression", &expr, fsm)?;
        let today = self.clock.today();
        if period.start > today {
            return Err(ServiceError::precondition(
                "PERIOD_NOT_STARTED",
                format!("{expr} starts on {}; review it once it has begun", period.start),
            ));
        }
        let now = Utc::now();
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
        let (brief, reasons) = self.generate(&fwd, &review).await?;
        review.brief = brief;
        review.top_reasons = reasons;
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
            // Open actions of the unit's previous review move into this one.
            if let Some(previous) = store::previous_review(&txn, &unit, &review).await? {
                let carried: Vec<_> = store::items(&txn, &previous.id)
                    .await?
                    .into_iter()
                    .filter(|a| a.status.is_open())
                    .map(|a| a.carried_into(&review.id, now))
                    .collect();
                store::insert_items(&txn, &carried).await?;
            }
            convert::review(&review, None)
        })
    }

    pub(crate) async fn get_review(&self, ctx: Ctx, request: pb::GetReviewRequest) -> ServiceResult<pb::Review> {
        let Ctx { who, fwd } = ctx;
        let (review, _) = self.visible(&who, &fwd, "name", &request.name).await?;
        let review = self.current(&who, &fwd, review).await?;
        Ok(convert::review(&review, own_line(&who).as_deref()))
    }

    pub(crate) async fn list_reviews(
        &self,
        ctx: Ctx,
        r: pb::ListReviewsRequest,
    ) -> ServiceResult<pb::ListReviewsResponse> {
        let Ctx { who, fwd } = ctx;
        let page = PageRequest::parse(r.page_size, &r.page_token, &format!("ListReviews {}", r.unit), &who)?;
        let unit_path = self.up.path(&fwd, &Id::from_name("unit", &r.unit)?).await?;
        let path: Vec<String> = unit_path.iter().map(|p| p.as_str().to_owned()).collect();
        if !who.can_read(&path) {
            return Err(ServiceError::PermissionDenied(format!("{} is outside your scope or does not exist", r.unit)));
        }
        let mut rows = store::list_reviews(&self.db, &unit_path, page.after.as_deref(), page.fetch_limit()).await?;
        let next_page_token = page.finish(&mut rows, |x| x.id.as_str().to_owned());
        let rows = futures::future::try_join_all(rows.into_iter().map(|x| self.current(&who, &fwd, x))).await?;
        let own = own_line(&who);
        Ok(pb::ListReviewsResponse {
            reviews: rows.iter().map(|x| convert::review(x, own.as_deref())).collect(),
            next_page_token,
        })
    }

    pub(crate) async fn refresh_brief(&self, ctx: Ctx, r: pb::RefreshBriefRequest) -> ServiceResult<pb::Review> {
        let Ctx { who, fwd } = ctx;
        let (review, fsm) = self.visible(&who, &fwd, "name", &r.name).await?;
        require_manager(&who, &review.unit_path, "RefreshBrief")?;
        review.require_open("RefreshBrief")?;
        attain_kit::scope::check_etag(&r.etag, &review.version.to_string(), &r.name)?;
        let (brief, reasons) = self.generate(&fwd, &review).await?;
        let mut next = review.clone();
        next.brief = brief;
        next.top_reasons = reasons;
        next.version = review.version + 1;
        if !store::update_review(&self.db, &next, fsm, review.version).await? {
            return Err(ServiceError::stale_etag(&r.name));
        }
        Ok(convert::review(&next, None))
    }

    /// Closing regenerates the brief one last time and freezes it.
    pub(crate) async fn close_review(&self, ctx: Ctx, mut r: pb::CloseReviewRequest) -> ServiceResult<pb::Review> {
        let Ctx { who, fwd } = ctx;
        let request_id = std::mem::take(&mut r.request_id);
        let key = IdempotencyKey::new(&who.person, "CloseReview", &request_id, &r)?;
        let (review, fsm) = self.visible(&who, &fwd, "name", &r.name).await?;
        require_manager(&who, &review.unit_path, "CloseReview")?;
        if let Some(k) = &key
            && let Some(previous) = k.replay::<pb::Review>(&self.db).await?
        {
            return Ok(previous);
        }
        review.require_open("CloseReview")?;
        attain_kit::scope::check_etag(&r.etag, &review.version.to_string(), &r.name)?;
        let (brief, reasons) = self.generate(&fwd, &review).await?;
        let mut next = review.clone();
        next.brief = brief;
        next.top_reasons = reasons;
        next.state = State::Closed;
        next.close_time = Some(Utc::now());
        next.version = review.version + 1;
        idempotent!(self.db, key, |txn| {
            if !store::update_review(&txn, &next, fsm, review.version).await? {
                return Err(ServiceError::stale_etag(&r.name));
            }
            convert::review(&next, None)
        })
    }
}

/// A rep sees only its own line of a brief.
pub(super) fn own_line(who: &Identity) -> Option<String> {
    (who.role == attain_kit::auth::Role::Rep).then(|| format!("units/{}", who.unit))
}
