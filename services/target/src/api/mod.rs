//! gRPC handlers: proto → domain → proto at the edge.

mod convert;
pub mod org;
pub mod target;
