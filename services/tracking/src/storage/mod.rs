//! Storage of the tracking service, a module per table family (named after
//! its tables): entities and queries; rows become domain types here. Money
//! is i64 minor units. Writes that derive one table from another in the
//! same transaction are called in turn by the use case, not hidden here.

pub mod alerts;
pub mod closes;
pub mod customer_firsts;
pub mod daily_logs;
pub mod deals;
pub mod feeds;
pub mod gap_analyses;
pub mod leases;
pub mod loss_rollups;
pub mod opportunities;
pub mod rollups;

use attain_kit::ServiceError;

pub(crate) use attain_kit::id::{decode_path, encode_path};

pub(crate) fn corrupt(what: &str, value: &str) -> ServiceError {
    ServiceError::corrupt(what, value)
}
