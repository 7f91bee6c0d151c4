//! Best practices: written by those who hit target, searchable across the
//! reviews of the subtree a caller may see.

use attain_kit::{
    ServiceError, ServiceResult, auth::Identity, id::Id, idempotency::IdempotencyKey, idempotent, paging::PageRequest,
    upstream::Forwarded,
};
use chrono::Utc;
use prost::Message;

use super::App;
use crate::{domain::practice::BestPractice, storage::practices};

/// A practice as written; no author means the caller.
#[derive(Debug, Clone)]
pub struct NewPractice {
    pub author: String,
    pub title: String,
    pub text: String,
    pub tags: Vec<String>,
}

impl App {
    pub async fn create_best_practice<R: Message + Default>(
        &self,
        (who, fwd): (&Identity, &Forwarded),
        key: Option<IdempotencyKey>,
        review: (&Id, &str),
        p: NewPractice,
        render: fn(&BestPractice) -> R,
    ) -> ServiceResult<R> {
        let (review, _) = self.visible(who, fwd, review.0, review.1).await?;
        if who.role == attain_kit::auth::Role::Viewer {
            return Err(ServiceError::PermissionDenied("viewers are read-only".to_owned()));
        }
        let author = self.author(who, fwd, &review.unit, p.author).await?;
        let practice = BestPractice {
            id: Id::generate(),
            review: review.id.clone(),
            author,
            title: p.title,
            text: p.text,
            tags: p.tags,
            create_time: Utc::now(),
        };
        idempotent!(self.db, key, |txn| {
            practices::insert_practice(&txn, &practice, &review.unit_path).await?;
            render(&practice)
        })
    }

    /// Who a practice is credited to: the caller, or (a manager or admin
    /// recording what a rep did) a person managing a unit of the review's
    /// subtree. Nobody credits a stranger, and a rep only themselves.
    async fn author(&self, who: &Identity, fwd: &Forwarded, unit: &Id, asked: String) -> ServiceResult<String> {
        if asked.is_empty() || asked == who.person {
            return Ok(who.person.clone());
        }
        if who.role == attain_kit::auth::Role::Rep {
            return Err(ServiceError::invalid("best_practice.author", "a rep records their own practices only"));
        }
        self.person_of(fwd, unit, "best_practice.author", asked).await
    }

    /// Scope: the target service answers GetSubtree only for units the
    /// caller may see (the request carries the caller's token).
    pub async fn search_best_practices(
        &self,
        fwd: &Forwarded,
        unit: &Id,
        query: &str,
        page: &PageRequest,
    ) -> ServiceResult<(Vec<BestPractice>, String)> {
        let tree = self.up.tree(fwd, unit).await?;
        let mut rows =
            practices::search_practices(&self.db, &tree.path, query, page.after.as_deref(), page.fetch_limit()).await?;
        let next_page_token = page.finish(&mut rows, |p| p.id.as_str().to_owned());
        Ok((rows, next_page_token))
    }
}
