//! Conversions between attain.target.v1 messages and domain types.

use attain_kit::ServiceError;
use attain_proto::attain::target::v1 as pb;
use chrono::{DateTime, NaiveDate, Utc};

use crate::{
    domain::org::{RegionMaturity, Seniority, Unit, UnitKind},
    storage::units::{Change, Revision},
};

pub fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

pub fn date(field: &str, s: &str) -> Result<Option<NaiveDate>, ServiceError> {
    if s.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| ServiceError::invalid(field, format!("{s:?} is not a date (YYYY-MM-DD)")))
}

pub fn unit_kind(field: &str, v: i32) -> Result<UnitKind, ServiceError> {
    match pb::UnitKind::try_from(v) {
        Ok(pb::UnitKind::Company) => Ok(UnitKind::Company),
        Ok(pb::UnitKind::Region) => Ok(UnitKind::Region),
        Ok(pb::UnitKind::Team) => Ok(UnitKind::Team),
        Ok(pb::UnitKind::Rep) => Ok(UnitKind::Rep),
        Ok(pb::UnitKind::Unspecified) => Err(ServiceError::invalid(
            field,
            "is required (COMPANY, REGION, TEAM or REP)",
        )),
        Err(_) => Err(ServiceError::invalid(
            field,
            format!("{v} is not a UnitKind"),
        )),
    }
}

pub fn seniority(field: &str, v: i32) -> Result<Option<Seniority>, ServiceError> {
    match pb::Seniority::try_from(v) {
        Ok(pb::Seniority::Unspecified) => Ok(None),
        Ok(pb::Seniority::Senior) => Ok(Some(Seniority::Senior)),
        Ok(pb::Seniority::Regular) => Ok(Some(Seniority::Regular)),
        Ok(pb::Seniority::NewHire) => Ok(Some(Seniority::NewHire)),
        Err(_) => Err(ServiceError::invalid(
            field,
            format!("{v} is not a Seniority"),
        )),
    }
}

pub fn region_maturity(field: &str, v: i32) -> Result<Option<RegionMaturity>, ServiceError> {
    match pb::RegionMaturity::try_from(v) {
        Ok(pb::RegionMaturity::Unspecified) => Ok(None),
        Ok(pb::RegionMaturity::Established) => Ok(Some(RegionMaturity::Established)),
        Ok(pb::RegionMaturity::New) => Ok(Some(RegionMaturity::New)),
        Err(_) => Err(ServiceError::invalid(
            field,
            format!("{v} is not a RegionMaturity"),
        )),
    }
}

pub fn unit(u: &Unit) -> pb::Unit {
    let a = &u.attributes;
    pb::Unit {
        name: u.id.resource_name(),
        parent: u
            .parent
            .as_ref()
            .map(|p| p.resource_name())
            .unwrap_or_default(),
        kind: match u.kind {
            UnitKind::Company => pb::UnitKind::Company,
            UnitKind::Region => pb::UnitKind::Region,
            UnitKind::Team => pb::UnitKind::Team,
            UnitKind::Rep => pb::UnitKind::Rep,
        } as i32,
        display_name: a.display_name.as_str().to_owned(),
        manager: a.manager.clone(),
        seniority: match a.seniority {
            None => pb::Seniority::Unspecified,
            Some(Seniority::Senior) => pb::Seniority::Senior,
            Some(Seniority::Regular) => pb::Seniority::Regular,
            Some(Seniority::NewHire) => pb::Seniority::NewHire,
        } as i32,
        start_date: a
            .start_date
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default(),
        region_maturity: match a.region_maturity {
            None => pb::RegionMaturity::Unspecified,
            Some(RegionMaturity::Established) => pb::RegionMaturity::Established,
            Some(RegionMaturity::New) => pb::RegionMaturity::New,
        } as i32,
        ancestors: u.ancestors.iter().map(|a| a.resource_name()).collect(),
        etag: u.etag(),
        create_time: Some(timestamp(u.create_time)),
        update_time: Some(timestamp(u.update_time)),
    }
}

pub fn revision(r: &Revision) -> pb::UnitRevision {
    pb::UnitRevision {
        name: format!("{}/revisions/{}", r.unit.id.resource_name(), r.id),
        change: match r.change {
            Change::Created => pb::UnitChange::Created,
            Change::Updated => pb::UnitChange::Updated,
            Change::Moved => pb::UnitChange::Moved,
        } as i32,
        unit: Some(unit(&r.unit)),
        actor: r.actor.clone(),
        change_time: Some(timestamp(r.changed_at)),
    }
}
