//! AIP-158 pagination: page sizes with a default and a cap, and opaque page
//! tokens bound to the query they continue.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::ServiceError;

pub const DEFAULT_PAGE_SIZE: u64 = 50;
pub const MAX_PAGE_SIZE: u64 = 1000;

/// A parsed page request: how many rows, and after which key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub size: u64,
    pub after: Option<String>,
    query: String,
}

#[derive(Serialize, Deserialize)]
struct Token {
    /// Last key of the previous page.
    k: String,
    /// Fingerprint of the query, so a token cannot continue another query.
    q: String,
}

impl PageRequest {
    /// `query` identifies the listing (e.g. its parent and filters).
    pub fn parse(page_size: i32, page_token: &str, query: &str) -> Result<Self, ServiceError> {
        let size = match page_size {
            n if n < 0 => return Err(ServiceError::invalid("page_size", "must not be negative")),
            0 => DEFAULT_PAGE_SIZE,
            n => u64::try_from(n).unwrap_or(MAX_PAGE_SIZE).min(MAX_PAGE_SIZE),
        };
        let fingerprint = fingerprint(query);
        let after = if page_token.is_empty() {
            None
        } else {
            let bad = || ServiceError::invalid("page_token", "is not a token from a previous page of this listing");
            let bytes = URL_SAFE_NO_PAD.decode(page_token).map_err(|_| bad())?;
            let token: Token = serde_json::from_slice(&bytes).map_err(|_| bad())?;
            if token.q != fingerprint {
                return Err(bad());
            }
            Some(token.k)
        };
        Ok(Self { size, after, query: fingerprint })
    }

    /// Rows to fetch: one more than the page, to know whether another follows.
    pub fn fetch_limit(&self) -> u64 {
        self.size + 1
    }

    /// Trims the extra row and returns the next page token ("" at the end).
    pub fn finish<T>(&self, rows: &mut Vec<T>, key: impl Fn(&T) -> String) -> String {
        let size = usize::try_from(self.size).unwrap_or(usize::MAX);
        if rows.len() <= size {
            return String::new();
        }
        rows.truncate(size);
        rows.last().map_or_else(String::new, |last| {
            let token = Token { k: key(last), q: self.query.clone() };
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&token).unwrap_or_default())
        })
    }
}

fn fingerprint(query: &str) -> String {
    hex::encode(&Sha256::digest(query.as_bytes())[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(PageRequest::parse(0, "", "q").unwrap().size, DEFAULT_PAGE_SIZE);
        assert_eq!(PageRequest::parse(100_000, "", "q").unwrap().size, MAX_PAGE_SIZE);
        assert!(
            matches!(PageRequest::parse(-1, "", "q"), Err(ServiceError::InvalidArgument(v)) if v[0].field == "page_size")
        );
    }

    #[test]
    fn tokens_continue_only_their_query() {
        let p = PageRequest::parse(2, "", "parent=a").unwrap();
        let mut rows = vec!["x", "y", "z"];
        let token = p.finish(&mut rows, |r| r.to_string());
        assert_eq!(rows, vec!["x", "y"]);
        assert_eq!(PageRequest::parse(2, &token, "parent=a").unwrap().after.as_deref(), Some("y"));
        assert!(PageRequest::parse(2, &token, "parent=b").is_err());
        assert!(PageRequest::parse(2, "not-a-token", "parent=a").is_err());
        let mut last = vec!["x"];
        assert_eq!(p.finish(&mut last, |r| r.to_string()), "");
    }
}
