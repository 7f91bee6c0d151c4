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

/// Whether a write failed on a unique key (someone else wrote it first).
pub(crate) fn is_unique_violation(e: &anyhow::Error) -> bool {
    e.downcast_ref::<sea_orm::DbErr>()
        .and_then(sea_orm::DbErr::sql_err)
        .is_some_and(|s| matches!(s, sea_orm::SqlErr::UniqueConstraintViolation(_)))
}

pub(crate) fn corrupt(what: &str, value: &str) -> ServiceError {
    ServiceError::corrupt(what, value)
}
