//! Storage of the review service, a module per table family: reviews
//! (with causes and action items), best practices, reallocations.

pub mod practices;
pub mod reallocations;
pub mod reviews;

use attain_kit::ServiceError;

pub(crate) use attain_kit::id::{decode_path, encode_path};

pub(crate) fn corrupt(what: &str, value: &str) -> ServiceError {
    ServiceError::corrupt(what, value)
}
