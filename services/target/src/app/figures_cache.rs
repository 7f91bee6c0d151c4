//! Rolled-up figures of a plan's targets, kept until the targets change.
//! Deals never move a target's figures, so dashboards under live load —
//! whose own caches every committed deal invalidates — ask the same
//! expectations again and again; phasing and rolling them up is
//! O(targets × days) for a company, paid once per unit, period and state
//! of the plan, after which any day of the period is a lookup.
//!
//! The key is the plan's version and its count of target writes, read from
//! the plan's row at each call (`plans::targets_state`). Every transaction
//! that writes a target bumps that count, so any committed change moves the
//! key, whichever replica wrote it and in whatever order commits land (a
//! maximum id or time would miss a change committed late with a smaller
//! one).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use attain_kit::money::Amount;
use chrono::NaiveDate;

use crate::domain::{milestones::Milestones, org::UnitId, rollup::Expected, target::Dimensions};

/// A plan's targets as they stand: (plan version, target writes).
pub type PlanState = (i64, i64);

/// A unit's period rolled up: its targets and every day's expectation.
#[derive(Debug, Clone)]
pub struct RolledPeriod {
    pub period_target: Amount,
    pub original_period_target: Amount,
    /// Expectations on each day of the period, first day first.
    pub days: Vec<Expected>,
    pub milestones: Option<Milestones>,
}

/// One unit's period as asked.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RolledKey {
    /// The period's first and last days.
    pub period: (NaiveDate, NaiveDate),
    pub unit: UnitId,
    pub dims: Dimensions,
}

/// Entries kept per plan; past it the plan's entries are dropped whole.
const MAX_ENTRIES: usize = 5_000;

#[derive(Default)]
struct PlanEntries {
    state: Option<PlanState>,
    /// `None`: the unit has no target for what was asked.
    rolled: HashMap<RolledKey, Option<Arc<RolledPeriod>>>,
}

/// Shared by every call of a process.
#[derive(Clone, Default)]
pub struct FiguresCache {
    plans: Arc<Mutex<HashMap<String, PlanEntries>>>,
    /// Held while missing entries are rolled up: the sections of one cold
    /// dashboard ask the same units at once, and would each roll the whole
    /// tree (CPU-bound work that only slows the others down).
    rolling: Arc<tokio::sync::Mutex<()>>,
}

impl std::fmt::Debug for FiguresCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FiguresCache").finish_non_exhaustive()
    }
}

impl FiguresCache {
    /// What is known of `key` at `state`: `Some(None)` when the unit has
    /// no target for it, `None` when not computed.
    pub fn rolled(&self, plan: &str, state: PlanState, key: &RolledKey) -> Option<Option<Arc<RolledPeriod>>> {
        let plans = self.plans.lock().ok()?;
        let entries = plans.get(plan)?;
        if entries.state != Some(state) {
            return None;
        }
        entries.rolled.get(key).cloned()
    }

    /// The right to roll up what is missing; ask the cache again once held.
    pub async fn rolling(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.rolling.lock().await
    }

    pub fn remember(&self, plan: &str, state: PlanState, key: RolledKey, value: Option<Arc<RolledPeriod>>) {
        let Ok(mut plans) = self.plans.lock() else { return };
        let entries = plans.entry(plan.to_owned()).or_default();
        if entries.state != Some(state) || entries.rolled.len() >= MAX_ENTRIES {
            entries.rolled.clear();
            entries.state = Some(state);
        }
        entries.rolled.insert(key, value);
    }
}
