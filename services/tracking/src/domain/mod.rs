//! The tracking service's domain: deals, attainment figures and alert
//! rules as plain Rust types (no prost, no sea-orm).

pub mod activity;
pub mod alert;
pub mod attainment;
pub mod cadence;
pub mod close;
pub mod credit;
pub mod deal;
pub mod gap;
