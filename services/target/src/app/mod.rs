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

/// The version of everything this service answers from (any caller may
/// read it: it says only that something was written).
pub async fn data_version(
    db: &impl sea_orm::ConnectionTrait,
    _who: &attain_kit::auth::Identity,
) -> attain_kit::ServiceResult<i64> {
    crate::storage::data_version::current(db).await
}
