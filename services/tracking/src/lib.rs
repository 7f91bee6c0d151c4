//! The tracking service: what actually happened — deals, roll-ups,
//! attainment and alerts. `startup::Application` is the entry point;
//! `main.rs` only wires settings.

pub mod api;
pub mod app;
pub mod domain;
pub mod import;
pub mod migration;
pub mod startup;
pub mod storage;
