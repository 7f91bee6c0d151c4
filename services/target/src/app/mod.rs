//! Use cases: what the target service does, in domain types. Handlers in
//! `api/` parse a request into these and convert the answer back; this is
//! the only layer that reads and writes storage. A write that replays by
//! request id takes the handler's `render`, so the response it stores is
//! the wire message while this layer names none.

pub mod adjustments;
pub mod figures;
pub mod figures_cache;
pub mod org;
pub mod phasing;
pub mod plans;
mod relocation;
pub mod scope;
pub mod split;
pub mod targets;
