//! Targets and their changes, and adjustments.

use attain_core::{DomainError, money::Amount};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{
    allocation::Coverage,
    milestones::Milestones,
    org::{Id, UnitId},
    phasing::Curve,
};

/// A slice of sales a target can be set for; empty strings mean "all".
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Dimensions {
    pub product_line: String,
    pub customer_type: String,
}

impl Dimensions {
    pub fn is_all(&self) -> bool {
        self.product_line.is_empty() && self.customer_type.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub plan: Id,
    /// Equals the unit id for org targets; generated for dimension slices.
    pub id: Id,
    pub unit: UnitId,
    pub dimensions: Dimensions,
    pub amount: Amount,
    /// The amount at publication (equals `amount` until then).
    pub original_amount: Amount,
    pub parent: Option<Id>,
    pub phasing: Option<Curve>,
    pub milestones: Option<Milestones>,
    pub coverage: Option<Coverage>,
    /// The first day the target carries weight (a rep hired mid-year);
    /// None: the fiscal year's first day.
    pub start: Option<NaiveDate>,
    /// Changes after publication, each from its effective date (oldest
    /// first). `amount` already includes them: the amount in force before
    /// the first is `amount − Σ delta`.
    pub steps: Vec<Step>,
    /// Dated moves of its unit that took the target from one parent to
    /// another (oldest first); `parent` is the one after the last.
    pub moves: Vec<Move>,
    pub version: i64,
    pub create_time: DateTime<Utc>,
    pub update_time: DateTime<Utc>,
}

/// A dated change of a target's yearly amount: days before `from` keep
/// their figures exactly, the change is spread over the rest of the year on
/// the target's own curve.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub from: NaiveDate,
    pub delta: Amount,
    /// The adjustment that made it.
    pub adjustment: Option<String>,
    /// When it was recorded: an `as_of` read before this does not see it.
    pub recorded: DateTime<Utc>,
}

/// A target leaving one parent for another from a day (its unit moved):
/// the parent it had before, and what it carried across — the part of its
/// amounts dated before the move still to fall due from that day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Move {
    pub from: NaiveDate,
    pub parent_before: Option<Id>,
    pub carried: Amount,
    /// When it was recorded: an `as_of` read before this does not see it.
    pub recorded: DateTime<Utc>,
}

/// A span of the target's year under one parent (inclusive bounds; `None`:
/// from the year's start, to its end).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Window {
    pub from: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
}

impl Window {
    pub const ALL: Self = Self { from: None, until: None };

    /// The days in both.
    pub fn and(self, other: Self) -> Self {
        let from = match (self.from, other.from) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let until = match (self.until, other.until) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Self { from, until }
    }

    pub fn is_all(&self) -> bool {
        self.from.is_none() && self.until.is_none()
    }

    /// Whether no day lies in it.
    pub fn is_empty(&self) -> bool {
        matches!((self.from, self.until), (Some(a), Some(b)) if a > b)
    }

    /// `windows` as stretches, oldest first: overlapping windows and ones
    /// following each other without a gap are one; empty ones go.
    pub fn merged(mut windows: Vec<Self>) -> Vec<Self> {
        windows.retain(|w| !w.is_empty());
        windows.sort_by_key(|w| w.from);
        let mut out: Vec<Self> = Vec::with_capacity(windows.len());
        for w in windows {
            match out.last_mut() {
                Some(last) if last.until.is_none_or(|b| w.from.is_none_or(|a| b.succ_opt().is_none_or(|n| a <= n))) => {
                    last.until = match (last.until, w.until) {
                        (Some(a), Some(b)) => Some(a.max(b)),
                        _ => None,
                    };
                }
                _ => out.push(w),
            }
        }
        out
    }

    /// Its days within `start..=end`, as (first, last); None when none.
    pub fn clip(&self, start: NaiveDate, end: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
        let a = self.from.map_or(start, |f| f.max(start));
        let b = self.until.map_or(end, |u| u.min(end));
        (a <= b).then_some((a, b))
    }

    /// Whether every day from `start` to `end` lies in it.
    pub fn covers(&self, start: NaiveDate, end: NaiveDate) -> bool {
        self.from.is_none_or(|a| a <= start) && self.until.is_none_or(|b| b >= end)
    }
}

/// One parent of a target over a span of the year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub parent: Option<Id>,
    pub window: Window,
    /// What it brought in on its first day (`None` for the first span) and
    /// took out on the day after its last (`None` for the last span).
    pub carried_in: Option<Amount>,
    pub carried_out: Option<Amount>,
}

impl Target {
    /// Its parents over the year, in order: before each move and after the
    /// last.
    pub fn memberships(&self) -> Vec<Membership> {
        let mut out = Vec::with_capacity(self.moves.len() + 1);
        let mut from = None;
        let mut carried_in = None;
        for m in &self.moves {
            out.push(Membership {
                parent: m.parent_before.clone(),
                window: Window { from, until: m.from.pred_opt() },
                carried_in,
                carried_out: Some(m.carried),
            });
            from = Some(m.from);
            carried_in = Some(m.carried);
        }
        out.push(Membership {
            parent: self.parent.clone(),
            window: Window { from, until: None },
            carried_in,
            carried_out: None,
        });
        out
    }

    /// As it stood for its parent when it left it on `left`: its changes
    /// dated from then on and its later moves dropped, no parent after, no
    /// split shown — what its old parent's figures need, nothing of its
    /// time elsewhere.
    pub fn as_it_left(&mut self, left: NaiveDate) -> Result<(), DomainError> {
        let later: Amount =
            self.steps.iter().filter(|s| s.from >= left).try_fold(Amount::ZERO, |a, s| a.checked_add(s.delta))?;
        self.amount = self.amount.checked_sub(later)?;
        self.steps.retain(|s| s.from < left);
        self.moves.retain(|m| m.from <= left);
        self.parent = None;
        self.coverage = None;
        Ok(())
    }

    /// The parent it had as published (before any move).
    pub fn first_parent(&self) -> Option<&Id> {
        match self.moves.first() {
            Some(m) => m.parent_before.as_ref(),
            None => self.parent.as_ref(),
        }
    }

    /// The day of its last move, if it moved.
    pub fn last_move(&self) -> Option<NaiveDate> {
        self.moves.last().map(|m| m.from)
    }

    /// The yearly amount in force before any dated change.
    pub fn base_amount(&self) -> Result<Amount, DomainError> {
        Ok(self.steps.iter().try_fold(self.amount, |a, s| a.checked_sub(s.delta))?)
    }

    /// The target as it stood at `at`, given its amount then: changes
    /// recorded later are not seen.
    pub fn rewind(&mut self, amount_then: Amount, at: DateTime<Utc>) {
        self.amount = amount_then;
        self.steps.retain(|s| s.recorded <= at);
        while let Some(m) = self.moves.last().filter(|m| m.recorded > at) {
            self.parent = m.parent_before.clone();
            self.moves.pop();
        }
    }

    /// Records a change of the yearly amount to `new` from `from`.
    pub fn change_from(
        &mut self,
        new: Amount,
        from: NaiveDate,
        adjustment: Option<&Id>,
        at: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        let delta = new.checked_sub(self.amount)?;
        self.amount = new;
        if !delta.is_zero() {
            self.steps.push(Step { from, delta, adjustment: adjustment.map(|a| a.as_str().to_owned()), recorded: at });
        }
        Ok(())
    }

    pub fn resource_name(&self) -> String {
        target_name(&self.plan, &self.id)
    }

    pub fn etag(&self) -> String {
        self.version.to_string()
    }
}

pub fn target_name(plan: &Id, id: &Id) -> String {
    format!("plans/{}/targets/{}", plan.as_str(), id.as_str())
}

/// Parses "plans/{plan}/targets/{target}".
pub fn parse_target_name(field: &str, name: &str) -> Result<(Id, Id), DomainError> {
    let parts: Vec<&str> = name.split('/').collect();
    match parts.as_slice() {
        ["plans", p, "targets", t] => Ok((Id::parse(field, p)?, Id::parse(field, t)?)),
        _ if name.is_empty() => Err(DomainError::invalid(field, "is required (plans/{plan_id}/targets/{target_id})")),
        _ => Err(DomainError::invalid(
            field,
            format!("{name:?} is not a target name (plans/{{plan_id}}/targets/{{target_id}})"),
        )),
    }
}

/// Parses "plans/{plan}".
pub fn parse_plan_name(field: &str, name: &str) -> Result<Id, DomainError> {
    match name.strip_prefix("plans/") {
        Some(id) if !id.contains('/') => Id::parse(field, id),
        _ if name.is_empty() => Err(DomainError::invalid(field, "is required (plans/{plan_id})")),
        _ => Err(DomainError::invalid(field, format!("{name:?} is not a plan name (plans/{{plan_id}})"))),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Created,
    Split,
    Phased,
    Adjusted,
    Redistributed,
    /// Its unit, or one below it, moved to another parent.
    Moved,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "CREATED",
            Self::Split => "SPLIT",
            Self::Phased => "PHASED",
            Self::Adjusted => "ADJUSTED",
            Self::Redistributed => "REDISTRIBUTED",
            Self::Moved => "MOVED",
        }
    }

    pub fn from_db(s: &str) -> Option<Self> {
        [Self::Created, Self::Split, Self::Phased, Self::Adjusted, Self::Redistributed, Self::Moved]
            .into_iter()
            .find(|c| c.as_str() == s)
    }
}

/// One recorded change of a target's amount or shape.
#[derive(Debug, Clone)]
pub struct Revision {
    pub id: i64,
    pub plan: Id,
    pub target: Id,
    pub change: Change,
    pub before: Option<Amount>,
    pub after: Amount,
    pub actor: String,
    pub reason: String,
    pub adjustment: Option<Id>,
    pub time: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdjustmentReason {
    Policy,
    Market,
    CustomerLoss,
    Staffing,
    Other,
}

impl AdjustmentReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Policy => "POLICY",
            Self::Market => "MARKET",
            Self::CustomerLoss => "CUSTOMER_LOSS",
            Self::Staffing => "STAFFING",
            Self::Other => "OTHER",
        }
    }

    pub fn from_db(s: &str) -> Option<Self> {
        [Self::Policy, Self::Market, Self::CustomerLoss, Self::Staffing, Self::Other]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redistribution {
    ParentAbsorbs,
    SiblingsAbsorb,
    /// The parent stays; its unassigned remainder takes the change.
    ReserveAbsorbs,
    /// The adjustment's `successor` takes the opposite change.
    Successor,
}

impl Redistribution {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ParentAbsorbs => "PARENT_ABSORBS",
            Self::SiblingsAbsorb => "SIBLINGS_ABSORB",
            Self::ReserveAbsorbs => "RESERVE_ABSORBS",
            Self::Successor => "SUCCESSOR",
        }
    }

    pub fn from_db(s: &str) -> Option<Self> {
        [Self::ParentAbsorbs, Self::SiblingsAbsorb, Self::ReserveAbsorbs, Self::Successor]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdjustmentState {
    Pending,
    Approved,
    Rejected,
    Withdrawn,
}

impl AdjustmentState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Approved => "APPROVED",
            Self::Rejected => "REJECTED",
            Self::Withdrawn => "WITHDRAWN",
        }
    }

    pub fn from_db(s: &str) -> Option<Self> {
        [Self::Pending, Self::Approved, Self::Rejected, Self::Withdrawn].into_iter().find(|x| x.as_str() == s)
    }
}

/// What an adjustment asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requested {
    Amount(Amount),
    Percent(Decimal),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adjustment {
    pub plan: Id,
    pub id: Id,
    pub target: Id,
    pub requested: Requested,
    pub reason: AdjustmentReason,
    pub justification: String,
    pub redistribution: Redistribution,
    pub state: AdjustmentState,
    pub requester: String,
    /// The unit the requester acted for ('' for an admin): approval comes
    /// from strictly above it.
    pub requester_unit: String,
    pub decided_by: String,
    pub decision_note: String,
    pub before_amount: Amount,
    pub after_amount: Amount,
    /// The target's version when requested: approval needs it unchanged.
    pub target_version: i64,
    pub version: i64,
    pub create_time: DateTime<Utc>,
    pub decide_time: Option<DateTime<Utc>>,
    /// As asked (None: the approval day); the day applied once approved.
    pub effective_date: Option<NaiveDate>,
    /// With `Redistribution::Successor`: the target that takes the change.
    pub successor: Option<Id>,
    /// It releases what a leaver has left (effective after its last day).
    pub release: bool,
    /// A new hire's ramp for its first target (monthly percentages of the
    /// run rate; empty: none).
    pub ramp: Vec<Decimal>,
}

impl Adjustment {
    pub fn resource_name(&self) -> String {
        format!("plans/{}/adjustments/{}", self.plan.as_str(), self.id.as_str())
    }

    pub fn require_pending(&self, what: &str) -> Result<(), DomainError> {
        if self.state == AdjustmentState::Pending {
            return Ok(());
        }
        Err(DomainError::precondition(
            "ADJUSTMENT_NOT_PENDING",
            format!("{what}: {} is already {}", self.resource_name(), self.state.as_str()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Option<NaiveDate> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn stretches_merge_when_they_touch_and_clip_to_a_period() {
        let w = |from, until| Window { from, until };
        // Under one parent until the 9th, then (an ancestor moved) from the
        // 10th: one stretch. Back on the 20th after a gap: a second.
        let merged = Window::merged(vec![
            w(d("2024-01-20"), None),
            w(None, d("2024-01-09")),
            w(d("2024-01-10"), d("2024-01-12")),
            w(d("2024-01-15"), d("2024-01-14")),
        ]);
        assert_eq!(merged, [w(None, d("2024-01-12")), w(d("2024-01-20"), None)]);
        assert!(w(d("2024-01-15"), d("2024-01-14")).is_empty());
        let (jan1, jan31) = (d("2024-01-01").unwrap(), d("2024-01-31").unwrap());
        assert_eq!(merged[0].clip(jan1, jan31), Some((jan1, d("2024-01-12").unwrap())));
        assert_eq!(merged[1].clip(jan1, jan31), Some((d("2024-01-20").unwrap(), jan31)));
        assert_eq!(w(d("2024-02-01"), None).clip(jan1, jan31), None);
        assert_eq!(Window::merged(vec![Window::ALL, w(d("2024-03-01"), None)]), [Window::ALL]);
    }
}
