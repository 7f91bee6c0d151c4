//! Storage of the target service: sea-orm entities and the queries the
//! handlers need. Converts rows to domain types; never sees prost types.
//! Money is stored as i64 minor units (`Amount::to_minor_units`).

pub mod adjustments;
pub mod data_version;
pub mod plans;
pub mod targets;
pub mod units;

use attain_kit::ServiceError;

/// A stored value that does not parse back is a bug, not bad input.
pub(crate) fn corrupt(what: &str, value: &str) -> ServiceError {
    ServiceError::corrupt(what, value)
}

pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> Result<String, ServiceError> {
    serde_json::to_string(v).map_err(|e| ServiceError::Internal(e.into()))
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> Result<T, ServiceError> {
    serde_json::from_str(s).map_err(|_| corrupt(what, s))
}
