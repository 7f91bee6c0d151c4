//! Resource ids shared by every service.

use serde::{Deserialize, Serialize};

use crate::error::DomainError;

/// A resource id (units, plans, targets, adjustments): lower-case letters,
/// digits and '-', 1–63 characters, starting with a letter (generated ids
/// are "u" + a UUIDv7, so they sort by creation).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Id(String);

impl Id {
    pub fn parse(field: &str, id: &str) -> Result<Self, DomainError> {
        let ok = (1..=63).contains(&id.len())
            && id.as_bytes()[0].is_ascii_lowercase()
            && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(Self(id.to_owned()))
        } else {
            Err(DomainError::invalid(
                field,
                format!("{id:?} is not a unit id (a-z, 0-9 and '-', 1–63 characters, starting with a letter)"),
            ))
        }
    }

    /// Parses a resource name "units/{unit_id}".
    pub fn from_name(field: &str, name: &str) -> Result<Self, DomainError> {
        match name.strip_prefix("units/") {
            Some(id) => Self::parse(field, id),
            None if name.is_empty() => Err(DomainError::invalid(field, "is required (units/{unit_id})")),
            None => Err(DomainError::invalid(field, format!("{name:?} is not a unit name (units/{{unit_id}})"))),
        }
    }

    /// Reads a stored id back; a bad one is corrupt data, not bad input.
    pub fn stored(what: &str, id: &str) -> Result<Self, DomainError> {
        Self::parse(what, id).map_err(|_| DomainError::corrupt(what, id))
    }

    pub fn generate() -> Self {
        Self(format!("u{}", uuid::Uuid::now_v7().simple()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name of the unit with this id, "units/{id}".
    pub fn resource_name(&self) -> String {
        format!("units/{}", self.0)
    }
}

impl AsRef<str> for Id {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A materialized path "/root/…/unit/": a subtree is a prefix match.
pub fn encode_path(path: &[Id]) -> String {
    let mut s = String::from("/");
    for id in path {
        s.push_str(id.as_str());
        s.push('/');
    }
    s
}

/// Reads a stored path back; a bad one is corrupt data, not bad input.
pub fn decode_path(s: &str) -> Result<Vec<Id>, DomainError> {
    s.split('/')
        .filter(|p| !p.is_empty())
        .map(|p| Id::parse("path", p).map_err(|_| DomainError::corrupt("path", s)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse() {
        assert!(Id::parse("f", "region-a").is_ok());
        assert!(Id::generate().as_str().starts_with('u'));
        Id::parse("f", Id::generate().as_str()).unwrap();
        for bad in ["", "A", "1a", "a_b", "a/b", &"a".repeat(64)] {
            assert!(Id::parse("f", bad).is_err(), "{bad:?}");
        }
        assert_eq!(Id::from_name("f", "units/x").unwrap().resource_name(), "units/x");
        assert!(Id::from_name("f", "x").is_err());
    }

    #[test]
    fn paths_round_trip() {
        let path = vec![Id::parse("f", "acme").unwrap(), Id::parse("f", "region-a").unwrap()];
        assert_eq!(encode_path(&path), "/acme/region-a/");
        assert_eq!(decode_path("/acme/region-a/").unwrap(), path);
        assert!(decode_path("/Bad/").is_err());
    }
}
