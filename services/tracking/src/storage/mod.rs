//! Storage of the tracking service: entities and queries; rows become
//! domain types here. Money is i64 minor units.

pub mod activity;
pub mod alerts;
pub mod closes;
pub mod counts;
pub mod deals;
pub mod rollups;

use attain_kit::ServiceError;

pub(crate) use attain_kit::id::{decode_path, encode_path};

pub(crate) fn corrupt(what: &str, value: &str) -> ServiceError {
    ServiceError::corrupt(what, value)
}
