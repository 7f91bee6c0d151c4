//! The gateway: what clients see. It serves the aggregate dashboard
//! (fanned out to the three services with per-backend deadlines and
//! partial results) and the caller's identity over gRPC, forwards the
//! services' own APIs, and serves REST/JSON for the HTTP bindings in the
//! protos with the OpenAPI document generated from them, and the dashboard
//! web page.

pub mod api;
pub mod cache;
pub mod dashboard;
pub mod encoded;
pub mod forward;
pub mod invalidation;
pub mod leave;
pub mod mask;
pub mod rest;
pub mod startup;
pub mod web;
