//! The target service's domain: plain Rust types that parse instead of
//! validate. No prost or sea-orm types here.

pub mod allocation;
pub mod milestones;
pub mod org;
pub mod phasing;
pub mod plan;
pub mod rollup;
pub mod target;
