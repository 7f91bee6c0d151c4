//! The tracking service: what actually happened: deals, daily logs, attainment and alerts.
//! `startup::Application` is the entry point; `main.rs` only wires settings.

pub mod api;
pub mod migration;
pub mod startup;
