//! The gateway: what clients see. Today it serves the aggregate dashboard
//! (fanned out to the three services with per-backend deadlines and
//! partial results) and the caller's identity over gRPC; REST, the web
//! page, caching and the forwarding of the services' own APIs are to come.

pub mod api;
pub mod startup;
