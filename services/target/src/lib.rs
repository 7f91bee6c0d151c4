//! The target service: the org tree, plans, targets and their changes.
//! `startup::Application` is the entry point; `main.rs` only wires settings.

pub mod api;
pub mod app;
pub mod domain;
pub mod migration;
pub mod startup;
pub mod storage;
