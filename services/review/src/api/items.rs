//! Root-cause and action-item handlers; the use cases are `app::items`.

use attain_kit::{ServiceError, ServiceResult, context::Ctx, id::Id, idempotency::IdempotencyKey, paging::PageRequest};
use attain_proto::attain::review::v1 as pb;
use chrono::NaiveDate;

use super::{ReviewApi, convert, review_id};
use crate::app::items::{ActionField, NewAction, NewCause};

fn text(field: &str, s: &str, max: usize) -> Result<String, ServiceError> {
    Ok(attain_kit::text::plain(field, s, max)?)
}

fn new_cause(c: &pb::Cause) -> ServiceResult<NewCause> {
    let unit = Id::from_name("cause.unit", &c.unit)?;
    let subjective = match pb::CauseCategory::try_from(c.category) {
        Ok(pb::CauseCategory::Subjective) => true,
        Ok(pb::CauseCategory::Objective) => false,
        _ => return Err(ServiceError::invalid("cause.category", "is required (SUBJECTIVE or OBJECTIVE)")),
    };
    let kind = convert::cause_kind(c.kind).ok_or_else(|| ServiceError::invalid("cause.kind", "is required"))?;
    Ok(NewCause { unit, subjective, kind, text: text("cause.text", &c.text, 4000)? })
}

fn new_action(a: &pb::ActionItem) -> ServiceResult<NewAction> {
    let owner = a.owner.trim().to_owned();
    if owner.is_empty() {
        return Err(ServiceError::invalid("action_item.owner", "is required (a person id)"));
    }
    let due_date = match a.due_date.trim() {
        "" => return Err(ServiceError::invalid("action_item.due_date", "is required (YYYY-MM-DD)")),
        d => NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map_err(|_| ServiceError::invalid("action_item.due_date", format!("{d:?} is not a date (YYYY-MM-DD)")))?,
    };
    // A new item starts OPEN; saying otherwise would be stored as a lie.
    if !matches!(pb::ActionStatus::try_from(a.status), Ok(pb::ActionStatus::Unspecified | pb::ActionStatus::Open)) {
        return Err(ServiceError::invalid("action_item.status", "a new item starts OPEN; update it to move it on"));
    }
    let cause = match a.cause.as_str() {
        "" => None,
        c => c.rsplit('/').next().map(|c| Id::parse("action_item.cause", c)).transpose()?,
    };
    Ok(NewAction { owner, text: text("action_item.text", &a.text, 4000)?, due_date, cause })
}

fn action_fields(paths: Vec<String>, a: &pb::ActionItem) -> ServiceResult<Vec<ActionField>> {
    paths
        .iter()
        .map(|path| match path.as_str() {
            "status" => Ok(ActionField::Status(
                convert::action_status(a.status)
                    .ok_or_else(|| ServiceError::invalid("action_item.status", "is required"))?,
            )),
            "text" => Ok(ActionField::Text(text("action_item.text", &a.text, 4000)?)),
            "due_date" => Ok(ActionField::DueDate(
                NaiveDate::parse_from_str(&a.due_date, "%Y-%m-%d")
                    .map_err(|_| ServiceError::invalid("action_item.due_date", "is not YYYY-MM-DD"))?,
            )),
            other => Err(ServiceError::invalid("update_mask", format!("{other:?} is not an updatable field"))),
        })
        .collect()
}

impl ReviewApi {
    pub(crate) async fn create_cause(&self, ctx: Ctx, mut r: pb::CreateCauseRequest) -> ServiceResult<pb::Cause> {
        let Ctx { who, fwd } = ctx;
        let request_id = std::mem::take(&mut r.request_id);
        let key = IdempotencyKey::new(&who.person, "CreateCause", &request_id, &r)?;
        let review = review_id("parent", &r.parent)?;
        let c = r.cause.as_ref().ok_or_else(|| ServiceError::invalid("cause", "is required"))?;
        let cause = new_cause(c)?;
        self.app.create_cause((&who, &fwd), key, (&review, &r.parent), cause, convert::cause).await
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
        let causes = self.app.causes(&who, &fwd, (&review_id("parent", &r.parent)?, &r.parent)).await?;
        Ok(pb::ListCausesResponse {
            causes: causes.iter().map(convert::cause).collect(),
            next_page_token: String::new(),
        })
    }

    pub(crate) async fn create_action_item(
        &self,
        ctx: Ctx,
        mut r: pb::CreateActionItemRequest,
    ) -> ServiceResult<pb::ActionItem> {
        let Ctx { who, fwd } = ctx;
        let request_id = std::mem::take(&mut r.request_id);
        let key = IdempotencyKey::new(&who.person, "CreateActionItem", &request_id, &r)?;
        let review = review_id("parent", &r.parent)?;
        let a = r.action_item.as_ref().ok_or_else(|| ServiceError::invalid("action_item", "is required"))?;
        let action = new_action(a)?;
        self.app.create_action_item((&who, &fwd), key, (&review, &r.parent), action, convert::action_item).await
    }

    pub(crate) async fn update_action_item(
        &self,
        ctx: Ctx,
        r: pb::UpdateActionItemRequest,
    ) -> ServiceResult<pb::ActionItem> {
        let Ctx { who, fwd } = ctx;
        let a = r.action_item.ok_or_else(|| ServiceError::invalid("action_item", "is required"))?;
        let review = review_id("action_item.name", &a.name)?;
        let item = a
            .name
            .rsplit('/')
            .next()
            .map(|x| Id::parse("action_item.name", x))
            .transpose()?
            .ok_or_else(|| ServiceError::invalid("action_item.name", "is required"))?;
        let paths = r.update_mask.map(|m| m.paths).unwrap_or_else(|| vec!["status".into()]);
        let fields = action_fields(paths, &a)?;
        let item =
            self.app.update_action_item((&who, &fwd), (&review, &a.name), (&item, &a.name, &a.etag), fields).await?;
        Ok(convert::action_item(&item, self.app.clock.today()))
    }

    pub(crate) async fn list_action_items(
        &self,
        ctx: Ctx,
        r: pb::ListActionItemsRequest,
    ) -> ServiceResult<pb::ListActionItemsResponse> {
        let Ctx { who, fwd } = ctx;
        let status = match r.status {
            0 => None,
            s => Some(
                convert::action_status(s)
                    .ok_or_else(|| ServiceError::invalid("status", format!("{s} is not an ActionStatus")))?,
            ),
        };
        let query = format!("ListActionItems {} {} {}", r.parent, r.unit, r.status);
        let page = PageRequest::parse(r.page_size, &r.page_token, &query, &who)?;
        let mut items = match (r.parent.as_str(), r.unit.as_str()) {
            ("", "") => return Err(ServiceError::invalid("parent", "give a review (reviews/{review_id}) or a unit")),
            ("", unit) => self.app.unit_action_items(&who, &fwd, &Id::from_name("unit", unit)?, status).await?,
            (parent, _) => self.app.action_items(&who, &fwd, (&review_id("parent", parent)?, parent), status).await?,
        };
        let next_page_token = crate::app::items::page_of(&mut items, &page);
        let today = self.app.clock.today();
        let action_items = items.iter().map(|i| convert::action_item(i, today)).collect();
        Ok(pb::ListActionItemsResponse { action_items, next_page_token })
    }
}
