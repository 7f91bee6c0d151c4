//! The review service: the close of every period: reviews, causes, actions, reports.
//! `startup::Application` is the entry point; `main.rs` only wires settings.

pub mod api;
pub mod migration;
pub mod startup;
