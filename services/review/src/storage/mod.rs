//! Storage of the review service: reviews, causes, action items.

pub mod extras;
pub mod reviews;

use attain_kit::ServiceError;

pub(crate) use attain_kit::id::{decode_path, encode_path};

pub(crate) fn corrupt(what: &str, value: &str) -> ServiceError {
    ServiceError::corrupt(what, value)
}
