//! The review service: the close of every period — reviews with a frozen
//! data brief, root causes and action items that carry over.
//! `startup::Application` is the entry point; `main.rs` only wires settings.

pub mod api;
pub mod app;
pub mod clients;
pub mod domain;
pub mod migration;
pub mod startup;
pub mod storage;
