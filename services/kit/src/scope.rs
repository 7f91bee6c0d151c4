//! The two answers every lookup by name shares: reveal a row or hide it,
//! and refuse a write made against a stale read.

use crate::{ServiceError, ServiceResult, auth::Identity};

/// Out of scope and missing look the same to anyone but an ADMIN, so ids
/// outside one's subtree cannot be probed.
pub fn hidden(name: &str) -> ServiceError {
    ServiceError::PermissionDenied(format!("{name} is outside your scope or does not exist"))
}

/// A row looked up by `name`: the row when the caller may read it; when
/// it is missing, NOT_FOUND to an ADMIN; otherwise `hidden`.
pub fn reveal<T>(
    who: &Identity,
    resource_type: &'static str,
    name: &str,
    found: Option<T>,
    readable: impl FnOnce(&T) -> bool,
) -> ServiceResult<T> {
    match found {
        Some(row) if readable(&row) => Ok(row),
        None if who.is_admin() => Err(ServiceError::not_found(resource_type, name)),
        _ => Err(hidden(name)),
    }
}

/// An etag the caller read before writing (AIP-154): empty means "whatever
/// is current"; anything else must still be current.
pub fn check_etag(given: &str, current: &str, name: &str) -> ServiceResult<()> {
    if !given.is_empty() && given != current {
        return Err(ServiceError::stale_etag(name));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;

    fn who(role: Role) -> Identity {
        Identity { person: "p".into(), role, unit: "u".into() }
    }

    #[test]
    fn missing_is_not_found_only_to_an_admin() {
        let admin = reveal::<()>(&who(Role::Admin), "deal", "deals/x", None, |_| true).unwrap_err();
        assert!(matches!(admin, ServiceError::NotFound { .. }));
        let rep = reveal::<()>(&who(Role::Rep), "deal", "deals/x", None, |_| true).unwrap_err();
        let forbidden = reveal(&who(Role::Rep), "deal", "deals/x", Some(()), |_| false).unwrap_err();
        assert_eq!(rep.to_string(), forbidden.to_string());
        assert!(reveal(&who(Role::Rep), "deal", "deals/x", Some(7), |_| true).is_ok_and(|v| v == 7));
    }

    #[test]
    fn an_empty_etag_is_whatever_is_current() {
        assert!(check_etag("", "3", "x").is_ok());
        assert!(check_etag("3", "3", "x").is_ok());
        assert!(matches!(check_etag("2", "3", "x"), Err(ServiceError::Aborted(_))));
    }
}
