//! Use cases: what the review service does, in domain types. Handlers in
//! `api/` parse a request into these and convert the answer back; this is
//! the only layer where storage meets the target and tracking services.

pub mod accept;
pub mod close_reports;
pub mod items;
pub mod obligations;
pub mod practices;
pub mod reallocations;
pub mod report;
pub mod reviews;

use attain_kit::cadence::Rules;
use attain_kit::{
    ServiceError, ServiceResult,
    auth::{Identity, Role},
    configuration::ClockSettings,
    id::Id,
    scope::{hidden, reveal},
    upstream::Forwarded,
};
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;

use crate::{
    clients::Upstreams,
    domain::review::{Brief, Reason, Review, State, top_reasons},
    storage::reviews as store,
};

#[derive(Debug, Clone)]
pub struct App {
    pub(crate) db: DatabaseConnection,
    pub(crate) up: Upstreams,
    pub(crate) clock: ClockSettings,
    /// When reports are due, on whose clock.
    pub(crate) cadence: Rules,
    /// Wakes the report of closes to tracking (a review was just closed).
    pub(crate) closed: std::sync::Arc<tokio::sync::Notify>,
}

/// Reviews are run by managers (of the unit or above) and admins.
pub fn require_manager(who: &Identity, path: &[Id], what: &str) -> ServiceResult<()> {
    if matches!(who.role, Role::Admin | Role::Manager) && who.can_read(path) {
        Ok(())
    } else {
        Err(ServiceError::PermissionDenied(format!("{what}: reviews are run by the unit's managers")))
    }
}

/// A rep sees only its own line of a brief (and of causes, actions,
/// reallocations): the resource name of that line.
pub fn own_line(who: &Identity) -> Option<String> {
    (who.role == Role::Rep).then(|| format!("units/{}", who.unit))
}

impl App {
    pub fn new(db: DatabaseConnection, up: Upstreams, clock: ClockSettings) -> Self {
        Self { db, up, clock, cadence: Rules::default(), closed: std::sync::Arc::default() }
    }

    /// When monthly reviews are due (configuration `cadence.*`).
    pub fn with_cadence(mut self, rules: Rules) -> Self {
        self.cadence = rules;
        self
    }

    /// Now, on the organisation's clock (a fixed one's too).
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now_in(self.cadence.zone)
    }

    /// Loads a review the caller may see, with its plan's fiscal start
    /// month. A rep sees the reviews of the units above it (its team, its
    /// region), filtered to its own lines.
    pub async fn visible(&self, who: &Identity, fwd: &Forwarded, id: &Id, name: &str) -> ServiceResult<(Review, u32)> {
        let hide = || hidden(name);
        let (review, fsm) = reveal(who, "review", name, store::get_review(&self.db, id).await?, |_| true)?;
        let allowed = match who.role {
            Role::Rep => {
                let home = Id::parse("token unit", &who.unit).map_err(|_| hide())?;
                let path = self.up.path(fwd, &home).await.map_err(|_| hide())?;
                path.contains(&review.unit)
            }
            // Filed where the unit sat; a unit that moved since is also
            // its new managers' (the target service says where it sits).
            _ => {
                who.can_read(&review.unit_path) || self.up.path(fwd, &review.unit).await.is_ok_and(|p| who.can_read(&p))
            }
        };
        if !allowed {
            return Err(hide());
        }
        Ok((review, fsm))
    }

    /// The brief and top-3 reasons as tracking and target see them now.
    async fn generate(&self, fwd: &Forwarded, review: &Review) -> ServiceResult<(Brief, Vec<Reason>)> {
        let tree = self.up.tree(fwd, &review.unit).await?;
        let day = self.clock.today().min(review.period.end);
        let (unit, members) = self.up.figures(fwd, &tree, &review.period.expression, day).await?;
        let losses = self.up.losses(fwd, &review.unit, &review.period).await?;
        let causes = store::causes(&self.db, &review.id).await?;
        let gaps = self.up.gap_attribution(fwd, &review.unit, &review.period.expression, day).await?;
        let compliance = self.reporting(fwd, &review.unit, &review.period.expression).await?;
        let brief = Brief { unit, members, generated: Some(self.now()), gaps, compliance: Some(compliance) };
        Ok((brief, top_reasons(&causes, losses, 3)))
    }

    /// A review as it reads now: while open, its brief and top-3 follow
    /// figures, causes and lost deals as soon as they are written (no
    /// refresh needed); once closed it is frozen as discussed. The brief is
    /// drawn with the caller's own authority, so a caller who reads only its
    /// own line (a rep under the unit) gets the stored brief, filtered.
    pub async fn current(&self, who: &Identity, fwd: &Forwarded, review: Review) -> ServiceResult<Review> {
        if review.state != State::Open || !who.can_read(&review.unit_path) {
            return Ok(review);
        }
        let (brief, top_reasons) = self.generate(fwd, &review).await?;
        Ok(Review { brief, top_reasons, ..review })
    }
}

impl App {
    /// `person` as someone of the unit's subtree: the manager of one of its
    /// units (a rep manages their own). Names no stranger.
    pub(crate) async fn person_of(
        &self,
        fwd: &Forwarded,
        unit: &Id,
        field: &str,
        person: String,
    ) -> ServiceResult<String> {
        let tree = self.up.tree(fwd, unit).await?;
        if tree.managers.contains_key(&person) {
            return Ok(person);
        }
        Err(ServiceError::invalid(
            field,
            format!("{person:?} manages no unit of this review; name a rep or manager of it"),
        ))
    }
}
