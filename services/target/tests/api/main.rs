//! Integration tests: the target service spawned on port 0 against a fresh
//! database, each test once on SQLite and once on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod client_cache;
mod counts;
mod data_version;
mod dated;
mod helpers;
mod moves;
mod org;
mod server;
mod targets;
