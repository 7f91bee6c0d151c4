//! Storage of the tracking service: entities and queries; rows become
//! domain types here. Money is i64 minor units.

pub mod activity;
pub mod alerts;
pub mod deals;
pub mod rollups;

use attain_kit::{ServiceError, id::Id};

pub(crate) fn corrupt(what: &str, value: &str) -> ServiceError {
    ServiceError::Internal(anyhow::anyhow!("stored {what} {value:?} is not valid"))
}

/// "/root/…/unit/": a subtree is a prefix match.
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
