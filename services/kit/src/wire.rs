//! Conversions of the kit's shared types to attain.common.v1 messages,
//! used by every service's handlers (the edge; domain code never sees them).

use attain_proto::attain::common::v1 as common;
use chrono::{DateTime, Utc};

use crate::{
    money::{Amount, CurrencyCode},
    period::{Granularity, Period},
};

pub fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: t.timestamp(), nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0) }
}

pub fn money(a: Amount, currency: CurrencyCode) -> common::Money {
    common::Money { currency_code: currency.to_string(), amount: a.to_string() }
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
