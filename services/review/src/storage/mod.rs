//! Storage of the review service: reviews, causes, action items.

pub mod extras;
pub mod reviews;

use attain_kit::{ServiceError, id::Id};

pub(crate) fn corrupt(what: &str, value: &str) -> ServiceError {
    ServiceError::Internal(anyhow::anyhow!("stored {what} {value:?} is not valid"))
}

pub(crate) fn encode_path(path: &[Id]) -> String {
    let mut s = String::from("/");
    for id in path {
        s.push_str(id.as_str());
        s.push('/');
    }
    s
}

pub(crate) fn decode_path(s: &str) -> Result<Vec<Id>, ServiceError> {
    s.split('/').filter(|p| !p.is_empty()).map(|p| Id::parse("path", p).map_err(|_| corrupt("path", s))).collect()
}
