//! What every Attain service (and the gateway) shares: typed configuration,
//! telemetry, the gRPC server bootstrap, the database connector, the error
//! type and its mapping to gRPC status, JWT authentication and scope, exact
//! money, pagination and idempotency.

pub mod auth;
pub mod configuration;
pub mod db;
pub mod error;
pub mod id;
pub mod idempotency;
pub mod money;
pub mod paging;
pub mod period;
pub mod server;
pub mod service;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
pub mod upstream;

pub use error::{FieldViolation, ServiceError, ServiceResult};
