//! gRPC handlers: proto → domain → proto at the edge. Shared here: scope
//! checks on units and the idempotent-write wrapper.

pub(crate) use attain_kit::scope::{check_etag, hidden};
use attain_kit::{ServiceError, ServiceResult, auth::Identity, scope::reveal};
use sea_orm::ConnectionTrait;

use crate::{
    domain::org::{Unit, UnitId},
    storage::units,
};

mod adjustments;
mod convert;
pub mod org;
mod plans;
pub mod service;
mod targets;

/// The scope rule for one looked-up unit: readable, or hidden; missing
/// only to an ADMIN (others cannot tell missing from out of scope).
fn readable(who: &Identity, id: &UnitId, found: Option<Unit>) -> ServiceResult<Unit> {
    reveal(who, "unit", &id.resource_name(), found, |u| who.can_read(&u.path()))
}

/// Loads a unit the caller may read.
pub(crate) async fn visible_unit(db: &impl ConnectionTrait, who: &Identity, id: &UnitId) -> ServiceResult<Unit> {
    readable(who, id, units::get(db, id).await?)
}

/// Many units in the order asked (one query), each checked as
/// `visible_unit` checks one.
pub(crate) async fn visible_units(
    db: &impl ConnectionTrait,
    who: &Identity,
    ids: &[UnitId],
) -> ServiceResult<Vec<Unit>> {
    let found: std::collections::HashMap<UnitId, Unit> =
        units::get_many(db, ids).await?.into_iter().map(|u| (u.id.clone(), u)).collect();
    ids.iter().map(|id| readable(who, id, found.get(id).cloned())).collect()
}

pub(crate) fn deny_manage(what: &str) -> ServiceError {
    ServiceError::PermissionDenied(format!("{what}: only an ADMIN, or a MANAGER of a unit above it, may change this"))
}

pub(crate) fn require_admin(who: &Identity, what: &str) -> ServiceResult<()> {
    if who.is_admin() {
        Ok(())
    } else {
        Err(ServiceError::PermissionDenied(format!("{what} is for ADMIN (sales operations) only")))
    }
}
