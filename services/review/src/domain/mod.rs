//! The review service's domain: reviews with their frozen data brief,
//! root causes and action items (plain Rust types).

pub mod practice;
pub mod report;
pub mod review;
