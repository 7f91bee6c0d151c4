//! Period close: a unit's figures frozen when its period was closed.
//! Corrections recorded later are shown beside them, never folded in.

use attain_core::{id::Id, money::Amount};
use chrono::{DateTime, Utc};

use super::attainment::Status;

/// One unit's frozen figures for a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosedLine {
    pub period: String,
    pub unit: Id,
    pub unit_path: Vec<Id>,
    /// The unit whose close froze this one (itself or an ancestor).
    pub closed_under: Id,
    pub closed_by: String,
    pub closed_at: DateTime<Utc>,
    pub target: Amount,
    pub original_target: Amount,
    pub actual: Amount,
    pub deals_won: i64,
    /// As shown at close ("0.9512"; empty without a target).
    pub attainment_rate: String,
    pub status: Status,
}

impl ClosedLine {
    /// What corrections since the close added to the actual.
    pub fn post_close_adjustment(&self, current: Amount) -> Result<Amount, attain_core::money::MoneyError> {
        current.checked_sub(self.actual)
    }
}
