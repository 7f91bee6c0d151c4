//! Conversions of the kit's shared types to attain.common.v1 messages,
//! used by every service's handlers (the edge; domain code never sees them).

use attain_proto::attain::common::v1 as common;
use chrono::{DateTime, NaiveDate, Utc};

use crate::{
    cadence,
    metric::Metric,
    money::{Amount, CurrencyCode},
    period::{Granularity, Period},
};

pub fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: t.timestamp(), nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0) }
}

/// Money on the wire; a count (currency XXX) reads as a plain number ("12").
pub fn money(a: Amount, currency: CurrencyCode) -> common::Money {
    let amount = if currency == CurrencyCode::XXX { a.decimal().normalize().to_string() } else { a.to_string() };
    common::Money { currency_code: currency.to_string(), amount }
}

pub fn metric(m: Metric) -> common::Metric {
    match m {
        Metric::Amount => common::Metric::Amount,
        Metric::DealsWon => common::Metric::DealsWon,
        Metric::NewCustomers => common::Metric::NewCustomers,
        Metric::Visits => common::Metric::Visits,
    }
}

/// A metric from the wire; UNSPECIFIED means AMOUNT.
pub fn parse_metric(field: &str, v: i32) -> Result<Metric, crate::ServiceError> {
    match common::Metric::try_from(v) {
        Ok(common::Metric::Unspecified | common::Metric::Amount) => Ok(Metric::Amount),
        Ok(common::Metric::DealsWon) => Ok(Metric::DealsWon),
        Ok(common::Metric::NewCustomers) => Ok(Metric::NewCustomers),
        Ok(common::Metric::Visits) => Ok(Metric::Visits),
        Err(_) => Err(crate::ServiceError::invalid(field, format!("{v} is not a Metric"))),
    }
}

/// A date from the wire: exactly YYYY-MM-DD.
pub fn parse_date(field: &str, s: &str) -> Result<NaiveDate, crate::ServiceError> {
    let bad = || crate::ServiceError::invalid(field, format!("{s:?} is not a date (YYYY-MM-DD)"));
    if s.len() != 10 {
        return Err(bad());
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| bad())
}

pub fn period(p: &Period) -> common::Period {
    common::Period {
        expression: p.expression.clone(),
        granularity: match p.granularity {
            Granularity::Year => common::PeriodGranularity::Year,
            Granularity::Quarter => common::PeriodGranularity::Quarter,
            Granularity::Month => common::PeriodGranularity::Month,
            Granularity::Week => common::PeriodGranularity::Week,
            Granularity::Day => common::PeriodGranularity::Day,
            Granularity::Custom => common::PeriodGranularity::Custom,
        } as i32,
        start_date: p.start.format("%Y-%m-%d").to_string(),
        end_date: p.end.format("%Y-%m-%d").to_string(),
    }
}

/// Obligation kinds from the wire (a filter), naming the one at fault
/// (`kinds[2]`).
pub fn parse_obligation_kinds(field: &str, ks: &[i32]) -> Result<Vec<cadence::Kind>, crate::ServiceError> {
    ks.iter().enumerate().map(|(i, k)| parse_obligation_kind(&format!("{field}[{i}]"), *k)).collect()
}

/// Obligation statuses from the wire (a filter), naming the one at fault.
pub fn parse_obligation_statuses(field: &str, ss: &[i32]) -> Result<Vec<cadence::Status>, crate::ServiceError> {
    ss.iter().enumerate().map(|(i, s)| parse_obligation_status(&format!("{field}[{i}]"), *s)).collect()
}

fn parse_obligation_kind(field: &str, k: i32) -> Result<cadence::Kind, crate::ServiceError> {
    match common::ObligationKind::try_from(k) {
        Ok(common::ObligationKind::DailyLog) => Ok(cadence::Kind::DailyLog),
        Ok(common::ObligationKind::WeeklySummary) => Ok(cadence::Kind::WeeklySummary),
        Ok(common::ObligationKind::MonthlyReview) => Ok(cadence::Kind::MonthlyReview),
        _ => Err(crate::ServiceError::invalid(field, "must be DAILY_LOG, WEEKLY_SUMMARY or MONTHLY_REVIEW")),
    }
}

fn parse_obligation_status(field: &str, s: i32) -> Result<cadence::Status, crate::ServiceError> {
    match common::ObligationStatus::try_from(s) {
        Ok(common::ObligationStatus::Due) => Ok(cadence::Status::Due),
        Ok(common::ObligationStatus::Submitted) => Ok(cadence::Status::Submitted),
        Ok(common::ObligationStatus::Late) => Ok(cadence::Status::Late),
        Ok(common::ObligationStatus::Missed) => Ok(cadence::Status::Missed),
        _ => Err(crate::ServiceError::invalid(field, "must be DUE, SUBMITTED, LATE or MISSED")),
    }
}

pub fn compliance(c: &cadence::Compliance) -> common::Compliance {
    let n = |x: u32| i32::try_from(x).unwrap_or(i32::MAX);
    common::Compliance {
        due: n(c.due),
        submitted: n(c.submitted),
        late: n(c.late),
        missed: n(c.missed),
        on_time_rate: c.on_time_rate().map(|r| r.to_string()).unwrap_or_default(),
    }
}

/// Compliance as another service sent it (counts only: the rate is
/// recomputed from them where it is shown).
pub fn compliance_from(c: &common::Compliance) -> cadence::Compliance {
    let n = |x: i32| u32::try_from(x).unwrap_or(0);
    cadence::Compliance { due: n(c.due), submitted: n(c.submitted), late: n(c.late), missed: n(c.missed) }
}

/// A page of obligations, each unit named from `names`.
pub fn obligations<'a>(
    rows: impl IntoIterator<Item = &'a cadence::Obligation>,
    names: &std::collections::HashMap<crate::id::Id, String>,
) -> Vec<common::Obligation> {
    rows.into_iter().map(|o| obligation(o, names.get(&o.unit).map_or("", String::as_str))).collect()
}

/// An obligation, its unit named by `display_name`.
pub fn obligation(o: &cadence::Obligation, display_name: &str) -> common::Obligation {
    use cadence::{Kind, Status};
    common::Obligation {
        kind: match o.kind {
            Kind::DailyLog => common::ObligationKind::DailyLog,
            Kind::WeeklySummary => common::ObligationKind::WeeklySummary,
            Kind::MonthlyReview => common::ObligationKind::MonthlyReview,
        } as i32,
        unit: o.unit.resource_name(),
        unit_display_name: display_name.to_owned(),
        period: o.period(),
        due_time: Some(timestamp(o.due)),
        status: match o.status {
            Status::Due => common::ObligationStatus::Due,
            Status::Submitted => common::ObligationStatus::Submitted,
            Status::Late => common::ObligationStatus::Late,
            Status::Missed => common::ObligationStatus::Missed,
        } as i32,
        submit_time: o.met.map(timestamp),
    }
}
