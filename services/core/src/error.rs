//! The error a domain rule answers with. Each service maps it to a gRPC
//! status in one place (the kit's `ServiceError`), so domain code never
//! sees a status code.

/// A request field that failed validation, named by its path in the
/// request message (e.g. `unit.display_name`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

impl FieldViolation {
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self { field: field.into(), description: description.into() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// Input that breaks a rule, each violation naming its field.
    #[error("invalid argument: {}", describe(.0))]
    InvalidArgument(Vec<FieldViolation>),
    #[error("{resource_type} {name:?} not found")]
    NotFound { resource_type: &'static str, name: String },
    /// The request is well-formed but the state does not allow it;
    /// `reason` is the machine-readable ErrorInfo reason.
    #[error("{message}")]
    FailedPrecondition { reason: &'static str, message: String },
    #[error("{0}")]
    PermissionDenied(String),
    /// A resource changed since the caller read it.
    #[error("{0}")]
    Aborted(String),
    /// Data that should hold by construction does not: a bug, not bad input.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Violations as one line: "field: why; field: why".
pub fn describe(v: &[FieldViolation]) -> String {
    v.iter().map(|f| format!("{}: {}", f.field, f.description)).collect::<Vec<_>>().join("; ")
}

impl DomainError {
    /// One invalid field.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self::InvalidArgument(vec![FieldViolation::new(field, description)])
    }

    pub fn not_found(resource_type: &'static str, name: impl Into<String>) -> Self {
        Self::NotFound { resource_type, name: name.into() }
    }

    pub fn precondition(reason: &'static str, message: impl Into<String>) -> Self {
        Self::FailedPrecondition { reason, message: message.into() }
    }

    /// A stored value that does not parse back: a bug, not bad input.
    pub fn corrupt(what: &str, value: &str) -> Self {
        Self::Internal(format!("stored {what} {value:?} is not valid"))
    }

    /// A resource changed since the caller read it.
    pub fn stale_etag(name: &str) -> Self {
        Self::Aborted(format!("{name} was changed by someone else (stale etag); read it again and retry"))
    }
}

impl From<crate::money::MoneyError> for DomainError {
    fn from(e: crate::money::MoneyError) -> Self {
        DomainError::Internal(format!("money arithmetic: {e}"))
    }
}

pub type DomainResult<T> = Result<T, DomainError>;
