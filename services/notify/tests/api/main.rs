//! Integration tests: the notify service with real target and tracking
//! services, each on port 0 against its own fresh database (SQLite and
//! PostgreSQL), delivering to local receivers that check each channel's
//! signature, and to an SMTP server that insists on STARTTLS.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod deliveries;
mod helpers;
mod scope;
mod subscriptions;
