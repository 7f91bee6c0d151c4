//! Use cases: what the tracking service does, in domain types. Handlers in
//! `api/` parse a request into these and convert the answer back; this is
//! the only layer where storage meets the target service.

pub mod activity;
pub mod alerts;
pub mod cadence;
pub mod close;
pub mod compliance_memo;
pub mod dashboard;
pub mod drill_down;
pub mod evaluator;
pub mod gap;
pub mod import;
pub mod ingest;
pub mod measure;
pub mod metrics;
pub mod moves;
pub mod watch;

use attain_kit::{
    ServiceError, ServiceResult, auth::Identity, configuration::ClockSettings, id::Id, upstream::Forwarded,
};
use attain_target_client::{TargetClient, UnitInfo};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::DatabaseConnection;

use crate::domain::{alert::Policy, cadence::Rules};

/// Rows one BatchCreateDeals may carry.
pub const DEFAULT_MAX_BATCH_ROWS: usize = 10_000;

#[derive(Debug, Clone)]
pub struct App {
    pub(crate) db: DatabaseConnection,
    pub(crate) target: TargetClient,
    pub(crate) clock: ClockSettings,
    pub(crate) max_batch_rows: usize,
    pub(crate) alerts: Policy,
    /// When reports are due, on whose clock.
    pub(crate) cadence: Rules,
    /// Wakes feed readers (the alert evaluator, watchers) on commits.
    pub(crate) feeds: crate::storage::feeds::Signal,
    pub(crate) metrics: metrics::TrackingMetrics,
    /// Reporting counts of dashboards, kept until they may have moved.
    pub(crate) compliance: compliance_memo::ComplianceMemo,
}

impl App {
    pub fn new(db: DatabaseConnection, target: TargetClient, clock: ClockSettings) -> Self {
        Self {
            db,
            target,
            clock,
            max_batch_rows: DEFAULT_MAX_BATCH_ROWS,
            alerts: Policy::default(),
            cadence: Rules::default(),
            feeds: crate::storage::feeds::Signal::default(),
            metrics: metrics::TrackingMetrics::default(),
            compliance: compliance_memo::ComplianceMemo::default(),
        }
    }

    /// Measures into the server's metrics (served on its `/metrics`).
    pub fn with_metrics(mut self, m: &attain_kit::metrics::Metrics) -> Self {
        self.metrics = metrics::TrackingMetrics::new(m);
        self
    }

    /// Whether this replica holds the lease on `job` (taking or renewing
    /// it for `hold`): what must run once per deployment runs where it is
    /// held; a replica that dies lets it run out and another takes over.
    pub async fn lead(&self, job: &str, replica: &str, hold: std::time::Duration) -> bool {
        let now = chrono::Utc::now();
        let until = now + chrono::Duration::from_std(hold).unwrap_or_else(|_| chrono::Duration::seconds(60));
        match crate::storage::leases::hold(&self.db, job, replica, (now, until)).await {
            Ok(held) => held,
            Err(e) => {
                tracing::warn!(error = %e, job, "lease check failed; not running the job this time");
                false
            }
        }
    }

    /// Wakes this replica's feed readers on every replica's commits
    /// (PostgreSQL): the task to keep running.
    pub fn listen_for_commits(&self) -> Option<tokio::task::JoinHandle<()>> {
        self.feeds.listen(&self.db)
    }

    /// How alerts ease, escalate and go stale.
    pub fn with_alert_policy(mut self, alerts: Policy) -> Self {
        self.alerts = alerts;
        self
    }

    /// When reports are due (configuration `cadence.*`).
    pub fn with_cadence(mut self, rules: Rules) -> Self {
        self.cadence = rules;
        self
    }

    /// The organisation's date.
    pub fn today(&self) -> NaiveDate {
        self.clock.today_in(self.cadence.zone)
    }

    /// The day a caller's figures are read at: the `as_of_date` asked,
    /// else today. Never after today: sales not yet made are not known.
    pub fn day_asked(&self, as_of_date: Option<NaiveDate>) -> ServiceResult<NaiveDate> {
        let today = self.today();
        match as_of_date {
            Some(d) if d > today => Err(ServiceError::invalid(
                "as_of_date",
                format!("{d} is after today ({today}): figures are known up to today"),
            )),
            Some(d) => Ok(d),
            None => Ok(today),
        }
    }

    /// Now, on the organisation's clock (a fixed one's too).
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now_in(self.cadence.zone)
    }

    /// A unit the caller may read (the target service checks too).
    /// Where a unit's records are, for `who`: where it sits, and where it
    /// sat that `who` may read (a rep's records from a team it left are
    /// its old manager's and its own, not its new manager's).
    pub fn places_for(who: &Identity, unit: &UnitInfo) -> Vec<Vec<Id>> {
        let mut out = unit.places();
        out.retain(|p| p == &unit.path || who.can_read(p));
        out
    }

    /// A unit the caller may read at some place it has had: where it sits,
    /// or (a member that left their scope) where it sat — its records
    /// booked there are theirs to list (`places_for`), nothing after.
    pub async fn visible_somewhere(&self, who: &Identity, fwd: &Forwarded, id: &Id) -> ServiceResult<UnitInfo> {
        let unit = self.target.unit(fwd, id).await?;
        if !unit.places().iter().any(|p| who.can_read(p)) {
            return Err(attain_kit::scope::hidden(&id.resource_name()));
        }
        Ok(unit)
    }

    pub async fn visible(&self, who: &Identity, fwd: &Forwarded, id: &Id) -> ServiceResult<UnitInfo> {
        let unit = self.target.unit(fwd, id).await?;
        if !who.can_read(&unit.path) {
            return Err(attain_kit::scope::hidden(&id.resource_name()));
        }
        Ok(unit)
    }
}
