//! AIP-158 pagination: page sizes with a default and a cap, and opaque page
//! tokens that only continue the query and the caller they were made for.
//!
//! A token is `base64url(last key) "." base64url(HMAC-SHA256(key, last key,
//! query, caller))` cut to 16 bytes of MAC: a flipped byte anywhere, another
//! listing or another caller's token is INVALID_ARGUMENT, never a shifted
//! page. The key is per deployment (`auth.page_token_key`, see
//! [`install_key`]).

use std::sync::OnceLock;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac, digest::KeyInit};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};

use crate::{auth::Identity, configuration::AuthSettings, error::ServiceError};

pub const DEFAULT_PAGE_SIZE: u64 = 50;
pub const MAX_PAGE_SIZE: u64 = 1000;
const MAC_BYTES: usize = 16;

/// A block-sized key (64 bytes for SHA-256), so HMAC takes it as it is.
static KEY: OnceLock<[u8; 64]> = OnceLock::new();

/// Sets the deployment's page-token key from the auth settings (once per
/// process; services started together share it): `page_token_key`, else
/// one derived from the HS256 secret, else random.
pub fn install_key(settings: &AuthSettings) {
    let derive = |label: &[u8], secret: &[u8]| -> [u8; 64] {
        let mut k = [0u8; 64];
        for (half, chunk) in k.chunks_mut(32).enumerate() {
            let mut h = Sha256::new();
            h.update(label);
            h.update([half as u8]);
            h.update(secret);
            chunk.copy_from_slice(&h.finalize());
        }
        k
    };
    let key = match (&settings.page_token_key, &settings.hs256_secret) {
        (Some(k), _) => derive(b"attain page tokens\0", k.expose_secret().as_bytes()),
        (None, Some(s)) => derive(b"attain page tokens from the hs256 secret\0", s.expose_secret().as_bytes()),
        (None, None) => {
            tracing::warn!("auth.page_token_key is not set: page tokens continue only on this replica");
            random_key()
        }
    };
    let _ = KEY.set(key);
}

fn random_key() -> [u8; 64] {
    let mut k = [0u8; 64];
    for chunk in k.chunks_mut(16) {
        chunk.copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    }
    k
}

fn key() -> &'static [u8; 64] {
    KEY.get_or_init(random_key)
}

/// A parsed page request: how many rows, and after which key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub size: u64,
    pub after: Option<String>,
    /// What a token is bound to: the listing's query and the caller.
    binding: Vec<u8>,
}

impl PageRequest {
    /// `query` identifies the listing (e.g. its parent and filters); `who`
    /// is the caller, so a token handed to someone else does not continue.
    pub fn parse(page_size: i32, page_token: &str, query: &str, who: &Identity) -> Result<Self, ServiceError> {
        let size = match page_size {
            n if n < 0 => return Err(ServiceError::invalid("page_size", "must not be negative")),
            0 => DEFAULT_PAGE_SIZE,
            n => u64::try_from(n).unwrap_or(MAX_PAGE_SIZE).min(MAX_PAGE_SIZE),
        };
        let mut binding = Vec::with_capacity(query.len() + who.person.len() + who.unit.len() + 16);
        let role = format!("{:?}", who.role);
        for part in [query, who.person.as_str(), role.as_str(), who.unit.as_str()] {
            binding.extend_from_slice(&(part.len() as u64).to_be_bytes());
            binding.extend_from_slice(part.as_bytes());
        }
        let mut page = Self { size, after: None, binding };
        if !page_token.is_empty() {
            let bad = || ServiceError::invalid("page_token", "is not a token from a previous page of this listing");
            let (k, mac) = page_token.split_once('.').ok_or_else(bad)?;
            let last = URL_SAFE_NO_PAD.decode(k).map_err(|_| bad())?;
            let mac = URL_SAFE_NO_PAD.decode(mac).map_err(|_| bad())?;
            if mac.len() != MAC_BYTES {
                return Err(bad());
            }
            page.mac(&last).verify_truncated_left(&mac).map_err(|_| bad())?;
            page.after = Some(String::from_utf8(last).map_err(|_| bad())?);
        }
        Ok(page)
    }

    fn mac(&self, last: &[u8]) -> Hmac<Sha256> {
        let mut m = <Hmac<Sha256> as KeyInit>::new(&(*key()).into());
        m.update(&(last.len() as u64).to_be_bytes());
        m.update(last);
        m.update(&self.binding);
        m
    }

    /// Rows to fetch: one more than the page, to know whether another follows.
    pub fn fetch_limit(&self) -> u64 {
        self.size + 1
    }

    /// One page of rows computed in full (not queried) and already in key
    /// order: those after the token's key, and the next page token.
    pub fn page_of<'a, T>(
        &self,
        rows: impl IntoIterator<Item = &'a T>,
        key: impl Fn(&T) -> String,
    ) -> (Vec<&'a T>, String) {
        let limit = usize::try_from(self.fetch_limit()).unwrap_or(usize::MAX);
        let after = self.after.as_deref();
        let mut page: Vec<&T> =
            rows.into_iter().filter(|r| after.is_none_or(|a| key(r).as_str() > a)).take(limit).collect();
        let next = self.finish(&mut page, |r| key(r));
        (page, next)
    }

    /// Trims the extra row and returns the next page token ("" at the end).
    pub fn finish<T>(&self, rows: &mut Vec<T>, key: impl Fn(&T) -> String) -> String {
        let size = usize::try_from(self.size).unwrap_or(usize::MAX);
        if rows.len() <= size {
            return String::new();
        }
        rows.truncate(size);
        rows.last().map_or_else(String::new, |last| {
            let last = key(last);
            let tag = self.mac(last.as_bytes()).finalize().into_bytes();
            format!("{}.{}", URL_SAFE_NO_PAD.encode(last), URL_SAFE_NO_PAD.encode(&tag[..MAC_BYTES]))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;

    fn who(person: &str) -> Identity {
        Identity { person: person.into(), role: Role::Manager, unit: "region-a".into() }
    }

    #[test]
    fn sizes() {
        let me = who("wang");
        assert_eq!(PageRequest::parse(0, "", "q", &me).unwrap().size, DEFAULT_PAGE_SIZE);
        assert_eq!(PageRequest::parse(100_000, "", "q", &me).unwrap().size, MAX_PAGE_SIZE);
        assert!(
            matches!(PageRequest::parse(-1, "", "q", &me), Err(ServiceError::InvalidArgument(v)) if v[0].field == "page_size")
        );
    }

    #[test]
    fn tokens_continue_only_their_query_and_caller() {
        let me = who("wang");
        let p = PageRequest::parse(2, "", "parent=a", &me).unwrap();
        let mut rows = vec!["x", "y", "z"];
        let token = p.finish(&mut rows, |r| r.to_string());
        assert_eq!(rows, vec!["x", "y"]);
        assert_eq!(PageRequest::parse(2, &token, "parent=a", &me).unwrap().after.as_deref(), Some("y"));
        assert!(PageRequest::parse(2, &token, "parent=b", &me).is_err(), "another listing");
        assert!(PageRequest::parse(2, &token, "parent=a", &who("zhao")).is_err(), "another caller");
        let other_role = Identity { role: Role::Viewer, ..me.clone() };
        assert!(PageRequest::parse(2, &token, "parent=a", &other_role).is_err(), "another role");
        assert!(PageRequest::parse(2, "not-a-token", "parent=a", &me).is_err());
        // Every flipped character is refused, never a shifted page.
        for i in 0..token.len() {
            let mut bytes = token.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let forged = String::from_utf8(bytes).unwrap();
            if forged != token {
                assert!(PageRequest::parse(2, &forged, "parent=a", &me).is_err(), "flipped at {i}: {forged}");
            }
        }
        // A key chosen by the caller (the old unsigned form) is refused.
        let old_form = URL_SAFE_NO_PAD.encode(br#"{"k":"a","q":"x"}"#);
        assert!(PageRequest::parse(2, &old_form, "parent=a", &me).is_err());
        let mut last = vec!["x"];
        assert_eq!(p.finish(&mut last, |r| r.to_string()), "");
    }
}
