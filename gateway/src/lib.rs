//! The gateway: what clients see. Today it serves the aggregate dashboard
//! (fanned out to the three services with per-backend deadlines and
//! partial results) and the caller's identity over gRPC, and forwards the
//! services' own APIs; REST, the web page and caching are to come.

pub mod api;
pub mod forward;
pub mod startup;
