//! Integration tests: the tracking service with a real target service,
//! both on port 0 against fresh databases, once on SQLite and once on
//! PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod activity;
mod alerts;
mod close;
mod counts;
mod credit;
mod deals;
mod evaluator;
mod feeds;
mod gap;
mod helpers;
mod import;
mod target_answers;
