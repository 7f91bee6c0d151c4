//! attain.target.v1.OrgService: the organisation tree.

use attain_kit::context::Ctx;
use attain_kit::idempotent;
use attain_kit::{ServiceError, ServiceResult, idempotency::IdempotencyKey, paging::PageRequest};
use attain_proto::attain::target::v1 as pb;
use chrono::Utc;
use sea_orm::DatabaseConnection;

use super::{check_etag, convert, deny_manage, visible_unit, visible_units};
use crate::{
    domain::org::{self, DisplayName, Unit, UnitAttributes, UnitId},
    storage::units,
};

#[derive(Debug, Clone)]
pub struct OrgApi {
    db: DatabaseConnection,
}

impl OrgApi {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

fn attributes(u: &pb::Unit, prefix: &str) -> ServiceResult<UnitAttributes> {
    Ok(UnitAttributes {
        display_name: DisplayName::parse(&format!("{prefix}display_name"), &u.display_name)?,
        manager: u.manager.trim().to_owned(),
        seniority: convert::seniority(&format!("{prefix}seniority"), u.seniority)?,
        start_date: convert::date(&format!("{prefix}start_date"), &u.start_date)?,
        region_maturity: convert::region_maturity(&format!("{prefix}region_maturity"), u.region_maturity)?,
    })
}

/// The handlers; `OrgService` in `service.rs` dispatches to them.
impl OrgApi {
    pub(crate) async fn create_unit(&self, ctx: Ctx, mut r: pb::CreateUnitRequest) -> ServiceResult<pb::Unit> {
        let who = ctx.who;
        let request_id = std::mem::take(&mut r.request_id);
        let key = IdempotencyKey::new(&who.person, "CreateUnit", &request_id, &r)?;
        let input = r.unit.ok_or_else(|| ServiceError::invalid("unit", "is required"))?;
        let kind = convert::unit_kind("unit.kind", input.kind)?;
        let attrs = attributes(&input, "unit.")?;
        attrs.check_for(kind, "unit.")?;
        let parent_id = match input.parent.as_str() {
            "" => None,
            p => Some(UnitId::from_name("unit.parent", p)?),
        };
        let id = match r.unit_id.as_str() {
            "" => UnitId::generate(),
            id => UnitId::parse("unit_id", id)?,
        };
        idempotent!(self.db, key, |txn| {
            let parent = match &parent_id {
                Some(p) => Some(visible_unit(&txn, &who, p).await?),
                None => None,
            };
            let mut path = parent.as_ref().map(Unit::path).unwrap_or_default();
            path.push(id.as_str().to_owned());
            if !who.can_manage(&path) {
                return Err(deny_manage("CreateUnit"));
            }
            org::check_placement(parent.as_ref(), kind, "unit.parent")?;
            if units::get(&txn, &id).await?.is_some() {
                return Err(ServiceError::AlreadyExists(format!("{} already exists", id.resource_name())));
            }
            if units::sibling_name_taken(&txn, parent_id.as_ref(), &attrs.display_name, None).await? {
                return Err(ServiceError::invalid(
                    "unit.display_name",
                    format!("a sibling is already named {:?}", attrs.display_name.as_str()),
                ));
            }
            let now = Utc::now();
            let unit = Unit {
                id,
                parent: parent_id,
                kind,
                attributes: attrs,
                ancestors: parent
                    .map(|p| p.ancestors.into_iter().chain(std::iter::once(p.id)).collect())
                    .unwrap_or_default(),
                version: 1,
                create_time: now,
                update_time: now,
            };
            units::insert(&txn, &unit, &who.person).await?;
            convert::unit(&unit)
        })
    }

    pub(crate) async fn get_unit(&self, ctx: Ctx, request: pb::GetUnitRequest) -> ServiceResult<pb::Unit> {
        let who = ctx.who;
        let id = UnitId::from_name("name", &request.name)?;
        let unit = visible_unit(&self.db, &who, &id).await?;
        Ok(convert::unit(&unit))
    }

    pub(crate) async fn batch_get_units(
        &self,
        ctx: Ctx,
        request: pb::BatchGetUnitsRequest,
    ) -> ServiceResult<pb::BatchGetUnitsResponse> {
        const MAX_NAMES: usize = 1000;
        let who = ctx.who;
        let names = &request.names;
        if names.len() > MAX_NAMES {
            return Err(ServiceError::invalid("names", format!("at most {MAX_NAMES} per call")));
        }
        let ids = names
            .iter()
            .enumerate()
            .map(|(i, n)| UnitId::from_name(&format!("names[{i}]"), n))
            .collect::<attain_kit::DomainResult<Vec<_>>>()?;
        let units = visible_units(&self.db, &who, &ids).await?;
        Ok(pb::BatchGetUnitsResponse { units: units.iter().map(convert::unit).collect() })
    }

    pub(crate) async fn list_units(&self, ctx: Ctx, r: pb::ListUnitsRequest) -> ServiceResult<pb::ListUnitsResponse> {
        let who = ctx.who;
        let page = PageRequest::parse(r.page_size, &r.page_token, &format!("ListUnits parent={}", r.parent), &who)?;
        let parent = match r.parent.as_str() {
            "" if who.is_admin() => None,
            "" => {
                return Err(ServiceError::PermissionDenied(format!(
                    "only an ADMIN lists the roots; list the children of units/{} instead",
                    who.unit
                )));
            }
            p => {
                let id = UnitId::from_name("parent", p)?;
                visible_unit(&self.db, &who, &id).await?;
                Some(id)
            }
        };
        let mut rows = units::children(&self.db, parent.as_ref(), page.after.as_deref(), page.fetch_limit()).await?;
        let next_page_token = page.finish(&mut rows, |u| u.id.as_str().to_owned());
        Ok(pb::ListUnitsResponse { units: rows.iter().map(convert::unit).collect(), next_page_token })
    }

    pub(crate) async fn get_subtree(
        &self,
        ctx: Ctx,
        request: pb::GetSubtreeRequest,
    ) -> ServiceResult<pb::GetSubtreeResponse> {
        let who = ctx.who;
        let id = UnitId::from_name("name", &request.name)?;
        let root = visible_unit(&self.db, &who, &id).await?;
        let all = units::subtree(&self.db, &root).await?;
        // A rep's scope is itself even if (wrongly) something sat below it.
        let units = all.iter().filter(|u| who.can_read(&u.path())).map(convert::unit).collect();
        Ok(pb::GetSubtreeResponse { units })
    }

    pub(crate) async fn update_unit(&self, ctx: Ctx, mut r: pb::UpdateUnitRequest) -> ServiceResult<pb::Unit> {
        let who = ctx.who;
        let request_id = std::mem::take(&mut r.request_id);
        let key = IdempotencyKey::new(&who.person, "UpdateUnit", &request_id, &r)?;
        let input = r.unit.ok_or_else(|| ServiceError::invalid("unit", "is required"))?;
        let id = UnitId::from_name("unit.name", &input.name)?;
        let paths = r.update_mask.map(|m| m.paths).unwrap_or_default();
        if paths.is_empty() {
            return Err(ServiceError::invalid("update_mask", "list the fields to change"));
        }
        idempotent!(self.db, key, |txn| {
            let current = visible_unit(&txn, &who, &id).await?;
            if !who.can_manage(&current.path()) {
                return Err(deny_manage("UpdateUnit"));
            }
            check_etag(&input.etag, &current.etag(), &id.resource_name())?;
            let mut next = current.clone();
            let a = &mut next.attributes;
            for path in &paths {
                match path.as_str() {
                    "display_name" => a.display_name = DisplayName::parse("unit.display_name", &input.display_name)?,
                    "manager" => a.manager = input.manager.trim().to_owned(),
                    "seniority" => a.seniority = convert::seniority("unit.seniority", input.seniority)?,
                    "start_date" => a.start_date = convert::date("unit.start_date", &input.start_date)?,
                    "region_maturity" => {
                        a.region_maturity = convert::region_maturity("unit.region_maturity", input.region_maturity)?;
                    }
                    "kind" | "parent" => {
                        return Err(ServiceError::invalid(
                            "update_mask",
                            format!("{path} cannot change here (kind is fixed; use MoveUnit for parent)"),
                        ));
                    }
                    other => {
                        return Err(ServiceError::invalid(
                            "update_mask",
                            format!("{other:?} is not an updatable field"),
                        ));
                    }
                }
            }
            next.attributes.check_for(next.kind, "unit.")?;
            if next.attributes.display_name.key() != current.attributes.display_name.key()
                && units::sibling_name_taken(&txn, current.parent.as_ref(), &next.attributes.display_name, Some(&id))
                    .await?
            {
                return Err(ServiceError::invalid(
                    "unit.display_name",
                    format!("a sibling is already named {:?}", next.attributes.display_name.as_str()),
                ));
            }
            if next.attributes == current.attributes {
                convert::unit(&current)
            } else {
                next.version = current.version + 1;
                next.update_time = Utc::now();
                if !units::update(&txn, &next, current.version, &who.person).await? {
                    return Err(ServiceError::stale_etag(&id.resource_name()));
                }
                convert::unit(&next)
            }
        })
    }

    pub(crate) async fn move_unit(&self, ctx: Ctx, mut r: pb::MoveUnitRequest) -> ServiceResult<pb::Unit> {
        let who = ctx.who;
        let request_id = std::mem::take(&mut r.request_id);
        let key = IdempotencyKey::new(&who.person, "MoveUnit", &request_id, &r)?;
        let id = UnitId::from_name("name", &r.name)?;
        let new_parent_id = UnitId::from_name("new_parent", &r.new_parent)?;
        idempotent!(self.db, key, |txn| {
            let current = visible_unit(&txn, &who, &id).await?;
            if !who.can_manage(&current.path()) {
                return Err(deny_manage("MoveUnit"));
            }
            check_etag(&r.etag, &current.etag(), &id.resource_name())?;
            let new_parent = visible_unit(&txn, &who, &new_parent_id).await?;
            org::check_no_cycle(&current, &new_parent, "new_parent")?;
            let mut destination = new_parent.path();
            destination.push(id.as_str().to_owned());
            if !who.can_manage(&destination) {
                return Err(deny_manage("MoveUnit to new_parent"));
            }
            org::check_placement(Some(&new_parent), current.kind, "new_parent")?;
            if current.parent.as_ref() == Some(&new_parent.id) {
                convert::unit(&current)
            } else {
                if units::sibling_name_taken(&txn, Some(&new_parent.id), &current.attributes.display_name, Some(&id))
                    .await?
                {
                    return Err(ServiceError::invalid(
                        "new_parent",
                        format!(
                            "{} already has a child named {:?}",
                            new_parent.id.resource_name(),
                            current.attributes.display_name.as_str()
                        ),
                    ));
                }
                let mut moved = current.clone();
                moved.parent = Some(new_parent.id.clone());
                moved.ancestors =
                    new_parent.ancestors.iter().cloned().chain(std::iter::once(new_parent.id.clone())).collect();
                moved.version = current.version + 1;
                moved.update_time = Utc::now();
                if !units::relocate(&txn, &current, &moved, &who.person).await? {
                    return Err(ServiceError::stale_etag(&id.resource_name()));
                }
                convert::unit(&moved)
            }
        })
    }

    pub(crate) async fn list_unit_revisions(
        &self,
        ctx: Ctx,
        r: pb::ListUnitRevisionsRequest,
    ) -> ServiceResult<pb::ListUnitRevisionsResponse> {
        let who = ctx.who;
        let id = UnitId::from_name("parent", &r.parent)?;
        let page =
            PageRequest::parse(r.page_size, &r.page_token, &format!("ListUnitRevisions parent={}", r.parent), &who)?;
        visible_unit(&self.db, &who, &id).await?;
        let after = page
            .after
            .as_deref()
            .map(|a| {
                a.parse::<i64>().map_err(|_| ServiceError::invalid("page_token", "is not a token of this listing"))
            })
            .transpose()?;
        let mut rows = units::revisions(&self.db, &id, after, page.fetch_limit()).await?;
        let next_page_token = page.finish(&mut rows, |r| r.id.to_string());
        Ok(pb::ListUnitRevisionsResponse { revisions: rows.iter().map(convert::revision).collect(), next_page_token })
    }
}
