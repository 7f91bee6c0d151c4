//! Integration tests: the review service with real target and tracking
//! services, each on port 0 against its own fresh database, once on SQLite
//! and once on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod helpers;
mod reports;
mod reviews;
mod workbook;
