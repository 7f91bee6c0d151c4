//! The notify service: alerts reaching people where they work. It follows
//! tracking's alert feed into an outbox of deliveries and sends them
//! through each subscriber's channel, with retries, rate limits, quiet
//! hours and digests. `startup::Application` is the entry point; `main.rs`
//! only wires settings.

pub mod api;
pub mod app;
pub mod channels;
pub mod clients;
pub mod domain;
pub mod migration;
pub mod startup;
pub mod storage;
