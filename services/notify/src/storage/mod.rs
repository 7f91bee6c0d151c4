//! Storage of the notify service, a module per table: subscriptions,
//! deliveries (the outbox), live alerts, leases (with the alert feed's
//! position).

pub mod deliveries;
pub mod leases;
pub mod live_alerts;
pub mod subscriptions;

use attain_kit::ServiceError;

pub(crate) fn corrupt(what: &str, value: &str) -> ServiceError {
    ServiceError::corrupt(what, value)
}
