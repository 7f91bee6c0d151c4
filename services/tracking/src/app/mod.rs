//! Use cases: what the tracking service does, in domain types. Handlers in
//! `api/` parse a request into these and convert the answer back; this is
//! the only layer where storage meets the target service.

pub mod activity;
pub mod alerts;
pub mod close;
pub mod gap;
pub mod import;
pub mod ingest;
pub mod measure;

use attain_kit::{ServiceResult, auth::Identity, configuration::ClockSettings, id::Id, upstream::Forwarded};
use attain_target_client::{TargetClient, UnitInfo};
use chrono::NaiveDate;
use sea_orm::DatabaseConnection;

use crate::domain::alert::Policy;

/// Rows one BatchCreateDeals may carry.
pub const DEFAULT_MAX_BATCH_ROWS: usize = 10_000;

#[derive(Debug, Clone)]
pub struct App {
    pub(crate) db: DatabaseConnection,
    pub(crate) target: TargetClient,
    pub(crate) clock: ClockSettings,
    pub(crate) max_batch_rows: usize,
    pub(crate) alerts: Policy,
}

impl App {
    pub fn new(db: DatabaseConnection, target: TargetClient, clock: ClockSettings) -> Self {
        Self { db, target, clock, max_batch_rows: DEFAULT_MAX_BATCH_ROWS, alerts: Policy::default() }
    }

    /// How alerts ease, escalate and go stale.
    pub fn with_alert_policy(mut self, alerts: Policy) -> Self {
        self.alerts = alerts;
        self
    }

    pub fn today(&self) -> NaiveDate {
        self.clock.today()
    }

    /// A unit the caller may read (the target service checks too).
    pub async fn visible(&self, who: &Identity, fwd: &Forwarded, id: &Id) -> ServiceResult<UnitInfo> {
        let unit = self.target.unit(fwd, id).await?;
        if !who.can_read(&unit.path) {
            return Err(attain_kit::scope::hidden(&id.resource_name()));
        }
        Ok(unit)
    }
}
