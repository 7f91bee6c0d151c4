//! Conversions of the kit's shared types to attain.common.v1 messages,
//! used by every service's handlers (the edge; domain code never sees them).

use attain_proto::attain::common::v1 as common;
use chrono::{DateTime, NaiveDate, Utc};

use crate::{
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
