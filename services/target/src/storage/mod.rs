//! Storage of the target service: sea-orm entities and the queries the
//! handlers need. Converts rows to domain types; never sees prost types.

pub mod units;
