//! gRPC handlers: parse the request into domain types, call the use case
//! in `app/`, convert the answer. `service.rs` dispatches each RPC.

mod adjustments;
mod convert;
pub mod org;
mod plans;
pub mod service;
mod targets;
