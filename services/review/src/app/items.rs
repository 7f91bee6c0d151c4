//! Root causes and action items of a review.

use attain_kit::{
    ServiceError, ServiceResult, auth::Identity, id::Id, idempotency::IdempotencyKey, idempotent, scope::check_etag,
    upstream::Forwarded,
};
use chrono::{NaiveDate, Utc};
use prost::Message;

use super::{App, own_line, require_manager};
use crate::{
    domain::review::{ActionItem, ActionStatus, Cause, CauseKind, Review},
    storage::reviews as store,
};

/// A cause as written: about which unit, of which kind, and why.
#[derive(Debug, Clone)]
pub struct NewCause {
    pub unit: Id,
    pub subjective: bool,
    pub kind: CauseKind,
    pub text: String,
}

/// An action as written; `cause` names one of the review's causes.
#[derive(Debug, Clone)]
pub struct NewAction {
    pub owner: String,
    pub text: String,
    pub due_date: NaiveDate,
    pub cause: Option<Id>,
}

/// What an update sets of an action item.
#[derive(Debug, Clone)]
pub enum ActionField {
    Status(ActionStatus),
    Text(String),
    DueDate(NaiveDate),
}

impl App {
    /// A review a manager may write to while it is open.
    async fn writable(
        &self,
        (who, fwd): (&Identity, &Forwarded),
        review: (&Id, &str),
        what: &str,
    ) -> ServiceResult<Review> {
        let (review, _) = self.visible(who, fwd, review.0, review.1).await?;
        require_manager(who, &review.unit_path, what)?;
        review.require_open(what)?;
        Ok(review)
    }

    pub async fn create_cause<R: Message + Default>(
        &self,
        (who, fwd): (&Identity, &Forwarded),
        key: Option<IdempotencyKey>,
        review: (&Id, &str),
        c: NewCause,
        render: fn(&Cause) -> R,
    ) -> ServiceResult<R> {
        let review = self.writable((who, fwd), review, "CreateCause").await?;
        let tree = self.up.tree(fwd, &review.unit).await?;
        if c.unit != review.unit && !tree.below.contains(&c.unit) {
            return Err(ServiceError::invalid(
                "cause.unit",
                format!("{} is not in {}'s review", c.unit.resource_name(), review.unit.resource_name()),
            ));
        }
        if !c.kind.fits(c.subjective) {
            let category = if c.subjective { "a subjective" } else { "an objective" };
            return Err(ServiceError::invalid("cause.kind", format!("{} is not {category} cause", c.kind.as_str())));
        }
        let cause = Cause {
            id: Id::generate(),
            review: review.id.clone(),
            unit: c.unit,
            subjective: c.subjective,
            kind: c.kind,
            text: c.text,
            author: who.person.clone(),
            create_time: Utc::now(),
        };
        idempotent!(self.db, key, |txn| {
            store::insert_cause(&txn, &cause).await?;
            render(&cause)
        })
    }

    /// A review's causes the caller may see (a rep: its own).
    pub async fn causes(&self, who: &Identity, fwd: &Forwarded, review: (&Id, &str)) -> ServiceResult<Vec<Cause>> {
        let (review, _) = self.visible(who, fwd, review.0, review.1).await?;
        let own = own_line(who);
        let causes = store::causes(&self.db, &review.id).await?;
        Ok(causes.into_iter().filter(|c| own.as_ref().is_none_or(|u| c.unit.resource_name() == *u)).collect())
    }

    pub async fn create_action_item<R: Message + Default>(
        &self,
        (who, fwd): (&Identity, &Forwarded),
        key: Option<IdempotencyKey>,
        review: (&Id, &str),
        a: NewAction,
        render: fn(&ActionItem, NaiveDate) -> R,
    ) -> ServiceResult<R> {
        let review = self.writable((who, fwd), review, "CreateActionItem").await?;
        if a.due_date < review.period.start {
            return Err(ServiceError::invalid(
                "action_item.due_date",
                format!("{} is before the reviewed period ({})", a.due_date, review.period.start),
            ));
        }
        let owner = self.person_of(fwd, &review.unit, "action_item.owner", a.owner).await?;
        if let Some(cause) = &a.cause {
            let known = store::causes(&self.db, &review.id).await?;
            if !known.iter().any(|c| &c.id == cause) {
                return Err(ServiceError::invalid("action_item.cause", "is not a cause of this review"));
            }
        }
        let now = Utc::now();
        let item = ActionItem {
            id: Id::generate(),
            review: review.id.clone(),
            owner,
            text: a.text,
            due_date: a.due_date,
            status: ActionStatus::Open,
            cause: a.cause,
            carried_from: None,
            version: 1,
            create_time: now,
            update_time: now,
        };
        let today = self.clock.today();
        idempotent!(self.db, key, |txn| {
            store::insert_items(&txn, std::slice::from_ref(&item)).await?;
            render(&item, today)
        })
    }

    /// Status, text and due date change by the owner or the review's managers.
    pub async fn update_action_item(
        &self,
        (who, fwd): (&Identity, &Forwarded),
        review: (&Id, &str),
        (item, name, etag): (&Id, &str, &str),
        fields: Vec<ActionField>,
    ) -> ServiceResult<ActionItem> {
        let (review, _) = self.visible(who, fwd, review.0, review.1).await?;
        // The owner or the review's managers; to anyone else a missing item
        // and someone else's read the same, so ids cannot be probed.
        let manager = require_manager(who, &review.unit_path, "UpdateActionItem").is_ok();
        let found = store::get_item(&self.db, item).await?.filter(|i| i.review == review.id);
        let current = match found {
            Some(i) if manager || i.owner == who.person => i,
            None if manager => return Err(ServiceError::not_found("action item", name)),
            _ => {
                return Err(ServiceError::PermissionDenied(
                    "only the owner or a manager updates an action item".to_owned(),
                ));
            }
        };
        check_etag(etag, &current.version.to_string(), name)?;
        if current.status == ActionStatus::CarriedOver {
            return Err(ServiceError::precondition(
                "CARRIED_OVER",
                format!("{name} was carried over into the unit's next review: update its copy there"),
            ));
        }
        if fields.iter().any(|f| matches!(f, ActionField::Status(ActionStatus::CarriedOver))) {
            return Err(ServiceError::invalid(
                "action_item.status",
                "CARRIED_OVER is set when the next review opens, not by hand",
            ));
        }
        let mut next = current.clone();
        for f in fields {
            match f {
                ActionField::Status(s) => next.status = s,
                ActionField::Text(t) => next.text = t,
                ActionField::DueDate(d) => next.due_date = d,
            }
        }
        next.version = current.version + 1;
        next.update_time = Utc::now();
        if !store::update_item(&self.db, &next, current.version).await? {
            return Err(ServiceError::stale_etag(name));
        }
        Ok(next)
    }

    /// A review's action items the caller may see (a rep: its own).
    /// The action items of every review of `unit` the caller may see
    /// (a rep: its own lines), oldest review first.
    pub async fn unit_action_items(
        &self,
        who: &Identity,
        fwd: &Forwarded,
        unit: &Id,
        status: Option<ActionStatus>,
    ) -> ServiceResult<Vec<ActionItem>> {
        // A rep reads the reviews of the units above it, which the target
        // service does not show it: their path is the head of its own.
        let path = match self.up.path(fwd, unit).await {
            Ok(path) => path,
            Err(denied) if own_line(who).is_some() => {
                let own = self.up.path(fwd, &Id::parse("unit", &who.unit)?).await?;
                match own.iter().position(|u| u == unit) {
                    Some(i) => own[..=i].to_vec(),
                    None => return Err(denied),
                }
            }
            Err(e) => return Err(e),
        };
        let reviews = store::list_reviews(&self.db, (Some(&path), &[]), (None, false), 10_000).await?;
        let mut out = Vec::new();
        for r in reviews.into_iter().filter(|r| &r.unit == unit) {
            let name = r.resource_name();
            if self.visible(who, fwd, &r.id, &name).await.is_ok() {
                out.extend(self.action_items(who, fwd, (&r.id, &name), status).await?);
            }
        }
        Ok(out)
    }

    pub async fn action_items(
        &self,
        who: &Identity,
        fwd: &Forwarded,
        review: (&Id, &str),
        status: Option<ActionStatus>,
    ) -> ServiceResult<Vec<ActionItem>> {
        let (review, _) = self.visible(who, fwd, review.0, review.1).await?;
        let mine = own_line(who).is_some();
        Ok(store::items(&self.db, &review.id)
            .await?
            .into_iter()
            .filter(|i| status.is_none_or(|s| i.status == s) && (!mine || i.owner == who.person))
            .collect())
    }
}

/// Cuts one page from a listing's items, in id order (ids grow with time;
/// a unit's items are few, so this is done in memory); the next page token.
pub fn page_of(items: &mut Vec<ActionItem>, page: &attain_kit::paging::PageRequest) -> String {
    items.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
    items.retain(|i| page.after.as_deref().is_none_or(|after| i.id.as_str() > after));
    items.truncate(usize::try_from(page.fetch_limit()).unwrap_or(usize::MAX));
    page.finish(items, |i| i.id.as_str().to_owned())
}
