//! What every Attain service (and the gateway) shares: typed configuration,
//! telemetry, the gRPC server bootstrap, the database connector, the error
//! type and its mapping to gRPC status, JWT authentication and scope,
//! pagination and idempotency. The domain vocabulary (money, ids,
//! periods, metrics) lives in `attain-core` and is re-exported here for
//! the layers above the domain.

pub mod auth;
pub mod bad_message;
pub mod configuration;
pub mod context;
pub mod data_version;
pub mod db;
pub mod error;
pub mod header_limit;
#[cfg(feature = "testing")]
pub mod http_client;
pub mod idempotency;
pub mod lease;
pub mod limit;
pub mod metrics;
pub mod oidc;
pub mod paging;
pub mod request_id;
pub mod request_info;
pub mod scope;
pub mod seed;
pub mod server;
pub mod service;
pub mod service_account;
pub mod shed;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tls;
pub mod upstream;
pub mod wire;

pub use attain_core::DomainResult;
pub use attain_core::{cadence, calendar, id, metric, money, period, text};
pub use error::{DomainError, FieldViolation, ServiceError, ServiceResult};

/// What a gRPC method returns.
pub type Rpc<T> = Result<tonic::Response<T>, tonic::Status>;

/// The one place a handler's answer becomes a gRPC reply: every service
/// error maps to its status through `From<ServiceError> for Status`.
pub fn reply<T>(answer: ServiceResult<T>) -> Rpc<T> {
    answer.map(tonic::Response::new).map_err(tonic::Status::from)
}

/// Runs a write in a transaction (write lock up front on SQLite); with a
/// request id, a retry replays the stored response, and the response is
/// stored with the write. `return Err(..)` inside the body rolls back.
/// For handlers returning `ServiceResult<R>`:
/// `idempotent!(db, key, |txn| { …; response })`.
#[macro_export]
macro_rules! idempotent {
    ($db:expr, $key:expr, |$txn:ident| $body:expr) => {{
        let key: Option<attain_kit::idempotency::IdempotencyKey> = $key;
        let $txn = attain_kit::db::begin_write(&$db).await.map_err(attain_kit::ServiceError::from)?;
        if let Some(k) = &key {
            if let Some(previous) = k.replay(&$txn).await? {
                return Ok(previous);
            }
        }
        let response = $body;
        if let Some(k) = &key {
            k.record(&$txn, &response).await?;
        }
        $txn.commit().await.map_err(attain_kit::ServiceError::from)?;
        Ok(response)
    }};
}
