//! Root causes and action items of a review.

use attain_kit::ServiceResult;
use attain_kit::context::Ctx;
use attain_kit::{ServiceError, id::Id, idempotency::IdempotencyKey, idempotent};
use attain_proto::attain::review::v1 as pb;
use chrono::{NaiveDate, Utc};

use super::{ReviewApi, convert, require_manager, reviews::own_line};
use crate::{
    domain::review::{ActionItem, ActionStatus, Cause},
    storage::reviews as store,
};

fn text(field: &str, s: &str, max: usize) -> Result<String, ServiceError> {
    let t = s.trim();
    if t.is_empty() || t.chars().count() > max {
        return Err(ServiceError::invalid(field, format!("give 1–{max} characters")));
    }
    Ok(t.to_owned())
}

impl ReviewApi {
    pub(crate) async fn create_cause(&self, ctx: Ctx, mut r: pb::CreateCauseRequest) -> ServiceResult<pb::Cause> {
        let Ctx { who, fwd } = ctx;
        let request_id = std::mem::take(&mut r.request_id);
        let key = IdempotencyKey::new(&who.person, "CreateCause", &request_id, &r)?;
        let (review, _) = self.visible(&who, &fwd, "parent", &r.parent).await?;
        require_manager(&who, &review.unit_path, "CreateCause")?;
        review.require_open("CreateCause")?;
        let c = r.cause.ok_or_else(|| ServiceError::invalid("cause", "is required"))?;
        let unit = Id::from_name("cause.unit", &c.unit)?;
        let tree = self.up.tree(&fwd, &review.unit).await?;
        if unit != review.unit && !tree.below.contains(&unit) {
            return Err(ServiceError::invalid(
                "cause.unit",
                format!("{} is not in {}'s review", c.unit, review.unit.resource_name()),
            ));
        }
        let subjective = match pb::CauseCategory::try_from(c.category) {
            Ok(pb::CauseCategory::Subjective) => true,
            Ok(pb::CauseCategory::Objective) => false,
            _ => return Err(ServiceError::invalid("cause.category", "is required (SUBJECTIVE or OBJECTIVE)")),
        };
        let kind = convert::cause_kind(c.kind).ok_or_else(|| ServiceError::invalid("cause.kind", "is required"))?;
        if !kind.fits(subjective) {
            return Err(ServiceError::invalid(
                "cause.kind",
                format!("{} is not a {} cause", kind.as_str(), if subjective { "subjective" } else { "objective" }),
            ));
        }
        let cause = Cause {
            id: Id::generate(),
            review: review.id.clone(),
            unit,
            subjective,
            kind,
            text: text("cause.text", &c.text, 4000)?,
            author: who.person.clone(),
            create_time: Utc::now(),
        };
        idempotent!(self.db, key, |txn| {
            store::insert_cause(&txn, &cause).await?;
            convert::cause(&cause)
        })
    }

    pub(crate) async fn list_causes(
        &self,
        ctx: Ctx,
        r: pb::ListCausesRequest,
    ) -> ServiceResult<pb::ListCausesResponse> {
        let Ctx { who, fwd } = ctx;
        if r.page_size < 0 {
            return Err(ServiceError::invalid("page_size", "must not be negative"));
        }
        let (review, _) = self.visible(&who, &fwd, "parent", &r.parent).await?;
        let own = own_line(&who);
        let causes = store::causes(&self.db, &review.id).await?;
        let visible = causes
            .iter()
            .filter(|c| own.as_ref().is_none_or(|u| c.unit.resource_name() == *u))
            .map(convert::cause)
            .collect();
        Ok(pb::ListCausesResponse { causes: visible, next_page_token: String::new() })
    }

    pub(crate) async fn create_action_item(
        &self,
        ctx: Ctx,
        mut r: pb::CreateActionItemRequest,
    ) -> ServiceResult<pb::ActionItem> {
        let Ctx { who, fwd } = ctx;
        let request_id = std::mem::take(&mut r.request_id);
        let key = IdempotencyKey::new(&who.person, "CreateActionItem", &request_id, &r)?;
        let (review, _) = self.visible(&who, &fwd, "parent", &r.parent).await?;
        require_manager(&who, &review.unit_path, "CreateActionItem")?;
        review.require_open("CreateActionItem")?;
        let a = r.action_item.ok_or_else(|| ServiceError::invalid("action_item", "is required"))?;
        let owner = a.owner.trim().to_owned();
        if owner.is_empty() {
            return Err(ServiceError::invalid("action_item.owner", "is required (a person id)"));
        }
        let due = NaiveDate::parse_from_str(&a.due_date, "%Y-%m-%d")
            .map_err(|_| ServiceError::invalid("action_item.due_date", "is required (YYYY-MM-DD)"))?;
        if due < review.period.start {
            return Err(ServiceError::invalid(
                "action_item.due_date",
                format!("{due} is before the reviewed period ({})", review.period.start),
            ));
        }
        let cause = if a.cause.is_empty() {
            None
        } else {
            let id = a.cause.rsplit('/').next().map(|c| Id::parse("action_item.cause", c)).transpose()?;
            let known = store::causes(&self.db, &review.id).await?;
            if !id.as_ref().is_some_and(|i| known.iter().any(|c| &c.id == i)) {
                return Err(ServiceError::invalid("action_item.cause", "is not a cause of this review"));
            }
            id
        };
        let now = Utc::now();
        let item = ActionItem {
            id: Id::generate(),
            review: review.id.clone(),
            owner,
            text: text("action_item.text", &a.text, 4000)?,
            due_date: due,
            status: ActionStatus::Open,
            cause,
            carried_from: None,
            version: 1,
            create_time: now,
            update_time: now,
        };
        let today = self.clock.today();
        idempotent!(self.db, key, |txn| {
            store::insert_items(&txn, std::slice::from_ref(&item)).await?;
            convert::action_item(&item, today)
        })
    }

    /// Status and text change by the owner or the review's managers.
    pub(crate) async fn update_action_item(
        &self,
        ctx: Ctx,
        r: pb::UpdateActionItemRequest,
    ) -> ServiceResult<pb::ActionItem> {
        let Ctx { who, fwd } = ctx;
        let a = r.action_item.ok_or_else(|| ServiceError::invalid("action_item", "is required"))?;
        let (review, _) = self.visible(&who, &fwd, "action_item.name", &a.name).await?;
        let id = a
            .name
            .rsplit('/')
            .next()
            .map(|x| Id::parse("action_item.name", x))
            .transpose()?
            .ok_or_else(|| ServiceError::invalid("action_item.name", "is required"))?;
        let current = store::get_item(&self.db, &id)
            .await?
            .filter(|i| i.review == review.id)
            .ok_or_else(|| ServiceError::not_found("action item", a.name.clone()))?;
        if current.owner != who.person && require_manager(&who, &review.unit_path, "UpdateActionItem").is_err() {
            return Err(ServiceError::PermissionDenied(
                "only the owner or a manager updates an action item".to_owned(),
            ));
        }
        attain_kit::scope::check_etag(&a.etag, &current.version.to_string(), &a.name)?;
        let mut next = current.clone();
        for path in r.update_mask.map(|m| m.paths).unwrap_or_else(|| vec!["status".into()]) {
            match path.as_str() {
                "status" => {
                    next.status = convert::action_status(a.status)
                        .ok_or_else(|| ServiceError::invalid("action_item.status", "is required"))?
                }
                "text" => next.text = text("action_item.text", &a.text, 4000)?,
                "due_date" => {
                    next.due_date = NaiveDate::parse_from_str(&a.due_date, "%Y-%m-%d")
                        .map_err(|_| ServiceError::invalid("action_item.due_date", "is not YYYY-MM-DD"))?;
                }
                other => {
                    return Err(ServiceError::invalid("update_mask", format!("{other:?} is not an updatable field")));
                }
            }
        }
        next.version = current.version + 1;
        next.update_time = Utc::now();
        if !store::update_item(&self.db, &next, current.version).await? {
            return Err(ServiceError::stale_etag(&a.name));
        }
        Ok(convert::action_item(&next, self.clock.today()))
    }

    pub(crate) async fn list_action_items(
        &self,
        ctx: Ctx,
        r: pb::ListActionItemsRequest,
    ) -> ServiceResult<pb::ListActionItemsResponse> {
        let Ctx { who, fwd } = ctx;
        let (review, _) = self.visible(&who, &fwd, "parent", &r.parent).await?;
        let status = match r.status {
            0 => None,
            s => Some(
                convert::action_status(s)
                    .ok_or_else(|| ServiceError::invalid("status", format!("{s} is not an ActionStatus")))?,
            ),
        };
        let today = self.clock.today();
        let mine = own_line(&who).is_some();
        let items = store::items(&self.db, &review.id)
            .await?
            .into_iter()
            .filter(|i| status.is_none_or(|s| i.status == s) && (!mine || i.owner == who.person))
            .map(|i| convert::action_item(&i, today))
            .collect();
        Ok(pb::ListActionItemsResponse { action_items: items, next_page_token: String::new() })
    }
}
