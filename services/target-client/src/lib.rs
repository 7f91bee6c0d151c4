//! The target service as its callers (tracking, review, the gateway) need
//! it: units with their paths, plans and the rule that picks the plan
//! covering a unit, and expected amounts — in domain types, so no caller
//! reads target's wire messages. Every call carries the caller's token
//! (`Forwarded`), so the target service applies the caller's scope too;
//! its answers are kept per data version and caller (`cache`).

mod cache;
mod client;
mod expected;
mod plans;
mod units;

pub use client::{ANSWER_LIMIT, CACHE_BUDGET, TargetClient};
pub use expected::{AlertThresholds, DailyExpected, Expected, Slice};
pub use plans::{PlanInfo, booking_currencies, calendar_for, period_for, plan_for, plan_for_metric, plan_for_period};
pub use units::{Kind as UnitKind, UnitInfo, UnitMove, UnitTree};

/// A field the target service sent that does not parse: a bug on its side.
fn bad(field: &str, value: &str) -> attain_kit::ServiceError {
    attain_kit::ServiceError::Internal(anyhow::anyhow!("the target service sent a bad {field}: {value:?}"))
}
