//! The end-to-end tests: the whole suite as users meet it (services and
//! gateway in-process or as processes, SQLite and PostgreSQL), one module a
//! concern. One test binary, so the four services link once
//! (zero-to-production's `tests/api/main.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod audit;
mod authorization;
mod bad_input;
mod cache;
mod cadence;
mod concurrency;
mod dashboard;
mod deadlines;
mod faults;
mod k8s;
mod masks;
mod monitoring;
mod notify;
mod oidc;
mod overload;
mod rest;
mod rollout;
mod story;
mod support;
mod tls;
mod tokens;
mod traces;
mod up;
mod web;
mod year;
