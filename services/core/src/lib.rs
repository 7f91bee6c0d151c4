//! The vocabulary of every Attain domain: exact money, resource ids,
//! periods of the fiscal calendar, what a target counts, and the error a
//! domain rule answers with. Pure: no gRPC, no database, no async runtime
//! (`.ci/layers` checks), so `domain/` modules depend on this and nothing
//! of the service kit.

pub mod cadence;
pub mod calendar;
pub mod error;
pub mod id;
pub mod metric;
pub mod money;
pub mod period;
pub mod text;

pub use error::{DomainError, DomainResult, FieldViolation};
