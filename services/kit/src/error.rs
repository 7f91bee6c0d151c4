//! One error type for every service, mapped in one place to gRPC status
//! codes with rich details (ErrorInfo, BadRequest, ResourceInfo).

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The domain of every ErrorInfo Attain emits.
pub const ERROR_DOMAIN: &str = "attain";

use attain_core::error::describe;
pub use attain_core::error::{DomainError, FieldViolation};

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("invalid argument: {}", describe(.0))]
    InvalidArgument(Vec<FieldViolation>),
    #[error("{resource_type} {name:?} not found")]
    NotFound { resource_type: &'static str, name: String },
    #[error("{message}")]
    FailedPrecondition { reason: &'static str, message: String },
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Aborted(String),
    #[error("{0}")]
    AlreadyExists(String),
    #[error("{0}")]
    ResourceExhausted(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    DeadlineExceeded(String),
    /// A method this process does not serve (mid-rollout, or not Attain's).
    #[error("{0}")]
    Unimplemented(String),
    /// An error another Attain service answered; passed on as it came
    /// (the callee already named the field or resource).
    #[error("{}", .0.message())]
    Upstream(tonic::Status),
    #[error("internal error: {0}")]
    Internal(#[from] anyhow::Error),
}

impl From<tonic::Status> for ServiceError {
    fn from(s: tonic::Status) -> Self {
        match s.code() {
            Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => {
                ServiceError::Unavailable(format!("an upstream service did not answer: {}", s.message()))
            }
            _ => ServiceError::Upstream(s),
        }
    }
}

impl ServiceError {
    // The constructors are the domain's (`DomainError`), so each message
    // has one wording whichever layer raises it.

    /// One invalid field.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        DomainError::invalid(field, description).into()
    }

    pub fn not_found(resource_type: &'static str, name: impl Into<String>) -> Self {
        DomainError::not_found(resource_type, name).into()
    }

    pub fn precondition(reason: &'static str, message: impl Into<String>) -> Self {
        DomainError::precondition(reason, message).into()
    }

    /// A stored value that does not parse back: a bug, not bad input.
    pub fn corrupt(what: &str, value: &str) -> Self {
        DomainError::corrupt(what, value).into()
    }

    /// A resource changed since the caller read it.
    pub fn stale_etag(name: &str) -> Self {
        DomainError::stale_etag(name).into()
    }

    fn reason(&self) -> &'static str {
        match self {
            Self::InvalidArgument(_) => "INVALID_ARGUMENT",
            Self::NotFound { .. } => "NOT_FOUND",
            Self::FailedPrecondition { reason, .. } => reason,
            Self::PermissionDenied(_) => "OUT_OF_SCOPE",
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::Aborted(_) => "CONCURRENT_CHANGE",
            Self::AlreadyExists(_) => "ALREADY_EXISTS",
            Self::ResourceExhausted(_) => "RESOURCE_EXHAUSTED",
            Self::Unavailable(_) => "UNAVAILABLE",
            Self::DeadlineExceeded(_) => "DEADLINE_EXCEEDED",
            Self::Unimplemented(_) => "UNIMPLEMENTED",
            Self::Upstream(_) => "UPSTREAM",
            Self::Internal(_) => "INTERNAL",
        }
    }

    fn code(&self) -> Code {
        match self {
            Self::InvalidArgument(_) => Code::InvalidArgument,
            Self::NotFound { .. } => Code::NotFound,
            Self::FailedPrecondition { .. } => Code::FailedPrecondition,
            Self::PermissionDenied(_) => Code::PermissionDenied,
            Self::Unauthenticated(_) => Code::Unauthenticated,
            Self::Aborted(_) => Code::Aborted,
            Self::AlreadyExists(_) => Code::AlreadyExists,
            Self::ResourceExhausted(_) => Code::ResourceExhausted,
            Self::Unavailable(_) => Code::Unavailable,
            Self::DeadlineExceeded(_) => Code::DeadlineExceeded,
            Self::Unimplemented(_) => Code::Unimplemented,
            Self::Upstream(s) => s.code(),
            Self::Internal(_) => Code::Internal,
        }
    }
}

impl From<ServiceError> for Status {
    fn from(err: ServiceError) -> Self {
        if let ServiceError::Upstream(status) = err {
            return status;
        }
        let mut details = ErrorDetails::new();
        details.set_error_info(err.reason(), ERROR_DOMAIN, HashMap::<String, String>::new());
        let message = match &err {
            ServiceError::InvalidArgument(violations) => {
                // At most a page of violations, each of a readable length:
                // errors echo the input, and a huge input must not make a
                // reply whose headers break HTTP/2's limits.
                for v in violations.iter().take(MAX_VIOLATIONS) {
                    details.add_bad_request_violation(clip(&v.field, 200), clip(&v.description, 300));
                }
                if let Some(first_left) = violations.get(MAX_VIOLATIONS) {
                    let more = violations.len() - MAX_VIOLATIONS;
                    details.add_bad_request_violation(
                        clip(&first_left.field, 200),
                        format!("and {more} more violations (fix these and retry to see them)"),
                    );
                }
                clip(&err.to_string(), 1000)
            }
            ServiceError::NotFound { resource_type, name } => {
                details.set_resource_info(*resource_type, name.clone(), "", "not found");
                err.to_string()
            }
            ServiceError::Internal(e) => {
                // The cause goes to the log, not to the caller.
                tracing::error!(error = ?e, "internal error");
                "internal error".to_owned()
            }
            _ => clip(&err.to_string(), 1000),
        };
        Status::with_error_details(err.code(), message, details)
    }
}

/// Violations carried per error (a batch names at most this many rows).
const MAX_VIOLATIONS: usize = 100;

/// `s` cut to at most `max` characters, marked with "…" when cut.
fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_owned(),
    }
}

impl From<sea_orm::DbErr> for ServiceError {
    fn from(e: sea_orm::DbErr) -> Self {
        use sea_orm::DbErr;
        match e {
            DbErr::Conn(_) | DbErr::ConnectionAcquire(_) => {
                tracing::warn!(error = %e, "database unavailable");
                ServiceError::Unavailable("the database is unavailable; retry later".to_owned())
            }
            // Two writers raced past a check and the second hit a unique
            // key: the row it meant to create exists now.
            ref e if matches!(e.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_))) => {
                tracing::warn!(error = %e, "unique key conflict");
                ServiceError::AlreadyExists("a concurrent write created it first; read it again".to_owned())
            }
            // Deadlock or serialization failure: the transaction rolled
            // back whole; the same request again will go through.
            ref e if sqlstate(e).is_some_and(|c| c == "40P01" || c == "40001") => {
                tracing::warn!(error = %e, "transaction conflict");
                ServiceError::Aborted("a concurrent transaction conflicted; retry the request".to_owned())
            }
            ref lost if connection_lost(lost) => {
                // The transaction did not commit: the client may retry.
                tracing::warn!(error = %e, "database connection lost");
                ServiceError::Unavailable("the database connection was lost; retry later".to_owned())
            }
            other => ServiceError::Internal(anyhow::Error::new(other)),
        }
    }
}

/// The driver's error behind a failed query or statement.
fn sqlx_error(e: &sea_orm::DbErr) -> Option<&sea_orm::sqlx::Error> {
    use sea_orm::{DbErr, RuntimeErr};
    match e {
        DbErr::Query(RuntimeErr::SqlxError(s)) | DbErr::Exec(RuntimeErr::SqlxError(s)) => Some(s),
        _ => None,
    }
}

/// The SQLSTATE of a database error, if the server sent one.
fn sqlstate(e: &sea_orm::DbErr) -> Option<String> {
    sqlx_error(e)?.as_database_error().and_then(|d| d.code()).map(|c| c.into_owned())
}

/// A query that failed because the connection went away (socket error,
/// the server shutting down or not accepting yet) rather than because of
/// the query: SQLSTATE classes 08 (connection exception) and 57P
/// (operator intervention).
fn connection_lost(e: &sea_orm::DbErr) -> bool {
    use sea_orm::sqlx::Error as Sqlx;
    match sqlx_error(e) {
        Some(Sqlx::Io(_) | Sqlx::PoolTimedOut | Sqlx::PoolClosed | Sqlx::WorkerCrashed | Sqlx::Protocol(_)) => true,
        Some(Sqlx::Database(_)) => sqlstate(e).is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
        _ => false,
    }
}

impl From<attain_core::money::MoneyError> for ServiceError {
    fn from(e: attain_core::money::MoneyError) -> Self {
        ServiceError::Internal(anyhow::anyhow!("money arithmetic: {e}"))
    }
}

/// A domain rule's answer, variant for variant: the one place a service
/// turns what its domain said into what the caller gets.
impl From<DomainError> for ServiceError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::InvalidArgument(v) => Self::InvalidArgument(v),
            DomainError::NotFound { resource_type, name } => Self::NotFound { resource_type, name },
            DomainError::FailedPrecondition { reason, message } => Self::FailedPrecondition { reason, message },
            DomainError::PermissionDenied(m) => Self::PermissionDenied(m),
            DomainError::Aborted(m) => Self::Aborted(m),
            DomainError::Internal(m) => Self::Internal(anyhow::anyhow!(m)),
        }
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_argument_names_the_field_in_bad_request() {
        let status: Status = ServiceError::invalid("unit.display_name", "must not be empty").into();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(status.message().contains("unit.display_name"));
        let details = status.get_error_details();
        let bad = details.bad_request().expect("bad request detail");
        assert_eq!(bad.field_violations[0].field, "unit.display_name");
        assert_eq!(details.error_info().expect("error info").domain, ERROR_DOMAIN);
    }

    #[test]
    fn internal_hides_its_cause() {
        let status: Status = ServiceError::Internal(anyhow::anyhow!("secret detail")).into();
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("secret"));
    }

    #[test]
    fn not_found_carries_resource_info() {
        let status: Status = ServiceError::not_found("unit", "units/x").into();
        assert_eq!(status.code(), Code::NotFound);
        assert_eq!(status.get_error_details().resource_info().expect("resource info").resource_name, "units/x");
    }
}
