//! Organisation-tree handlers; the use cases are `app::org`.

use attain_kit::{
    ServiceError, ServiceResult, configuration::ClockSettings, context::Ctx, idempotency::IdempotencyKey,
    paging::PageRequest,
};
use attain_proto::attain::target::v1 as pb;
use sea_orm::DatabaseConnection;

use super::convert;
use crate::{
    app::{
        org::{self, NewUnit, Relocation, UnitField},
        scope::{shown, visible_unit_or_former, visible_units},
    },
    domain::org::{DisplayName, UnitAttributes, UnitId},
};

#[derive(Debug, Clone)]
pub struct OrgApi {
    db: DatabaseConnection,
    /// What "today" is: the day a move takes effect by default.
    clock: ClockSettings,
}

impl OrgApi {
    pub fn new(db: DatabaseConnection, clock: ClockSettings) -> Self {
        Self { db, clock }
    }

    fn dated(&self) -> (&DatabaseConnection, chrono::NaiveDate) {
        (&self.db, self.clock.today())
    }
}

fn attributes(u: &pb::Unit, prefix: &str) -> ServiceResult<UnitAttributes> {
    Ok(UnitAttributes {
        display_name: DisplayName::parse(&format!("{prefix}display_name"), &u.display_name)?,
        manager: u.manager.trim().to_owned(),
        seniority: convert::seniority(&format!("{prefix}seniority"), u.seniority)?,
        start_date: convert::date(&format!("{prefix}start_date"), &u.start_date)?,
        end_date: convert::date(&format!("{prefix}end_date"), &u.end_date)?,
        region_maturity: convert::region_maturity(&format!("{prefix}region_maturity"), u.region_maturity)?,
        employee_code: employee_code(&u.employee_code),
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
        let attributes = attributes(&input, "unit.")?;
        attributes.check_for(kind, "unit.")?;
        let parent = match input.parent.as_str() {
            "" => None,
            p => Some(UnitId::from_name("unit.parent", p)?),
        };
        let id = match r.unit_id.as_str() {
            "" => UnitId::generate(),
            id => UnitId::parse("unit_id", id)?,
        };
        org::create(&self.db, &who, key, NewUnit { id, parent, kind, attributes }, convert::unit).await
    }

    pub(crate) async fn get_unit(&self, ctx: Ctx, r: pb::GetUnitRequest) -> ServiceResult<pb::Unit> {
        let id = UnitId::from_name("name", &r.name)?;
        Ok(convert::unit(&visible_unit_or_former(&self.db, &ctx.who, &id).await?))
    }

    pub(crate) async fn batch_get_units(
        &self,
        ctx: Ctx,
        r: pb::BatchGetUnitsRequest,
    ) -> ServiceResult<pb::BatchGetUnitsResponse> {
        const MAX_NAMES: usize = 1000;
        if r.names.len() > MAX_NAMES {
            return Err(ServiceError::invalid("names", format!("at most {MAX_NAMES} per call")));
        }
        let ids = (r.names.iter().enumerate())
            .map(|(i, n)| UnitId::from_name(&format!("names[{i}]"), n))
            .collect::<attain_kit::DomainResult<Vec<_>>>()?;
        let units = shown(&ctx.who, visible_units(&self.db, &ctx.who, &ids).await?);
        Ok(pb::BatchGetUnitsResponse { units: units.iter().map(convert::unit).collect() })
    }

    pub(crate) async fn list_units(&self, ctx: Ctx, r: pb::ListUnitsRequest) -> ServiceResult<pb::ListUnitsResponse> {
        let who = ctx.who;
        let query = format!("ListUnits parent={} former={}", r.parent, r.include_former);
        let page = PageRequest::parse(r.page_size, &r.page_token, &query, &who)?;
        let parent = (!r.parent.is_empty()).then(|| UnitId::from_name("parent", &r.parent)).transpose()?;
        let (rows, next_page_token) = org::children(&self.db, &who, (parent.as_ref(), r.include_former), &page).await?;
        Ok(pb::ListUnitsResponse { units: rows.iter().map(convert::unit).collect(), next_page_token })
    }

    pub(crate) async fn get_subtree(
        &self,
        ctx: Ctx,
        r: pb::GetSubtreeRequest,
    ) -> ServiceResult<pb::GetSubtreeResponse> {
        let id = UnitId::from_name("name", &r.name)?;
        let units = org::subtree(&self.db, &ctx.who, &id, r.include_former).await?;
        Ok(pb::GetSubtreeResponse { units: units.iter().map(convert::unit).collect() })
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
        let fields = paths.iter().map(|p| unit_field(p, &input)).collect::<ServiceResult<Vec<_>>>()?;
        org::update(&self.db, &who, key, (&id, &input.etag), fields, convert::unit).await
    }

    pub(crate) async fn move_unit(&self, ctx: Ctx, mut r: pb::MoveUnitRequest) -> ServiceResult<pb::Unit> {
        let who = ctx.who;
        let request_id = std::mem::take(&mut r.request_id);
        let key = IdempotencyKey::new(&who.person, "MoveUnit", &request_id, &r)?;
        let id = UnitId::from_name("name", &r.name)?;
        let new_parent = UnitId::from_name("new_parent", &r.new_parent)?;
        let to = Relocation { new_parent, effective: convert::date("effective_date", &r.effective_date)? };
        org::relocate(self.dated(), &who, key, (&id, &r.etag), to, convert::unit).await
    }

    pub(crate) async fn list_unit_revisions(
        &self,
        ctx: Ctx,
        r: pb::ListUnitRevisionsRequest,
    ) -> ServiceResult<pb::ListUnitRevisionsResponse> {
        let who = ctx.who;
        let id = UnitId::from_name("parent", &r.parent)?;
        let query = format!("ListUnitRevisions parent={}", r.parent);
        let page = PageRequest::parse(r.page_size, &r.page_token, &query, &who)?;
        let after = page
            .after
            .as_deref()
            .map(|a| {
                a.parse::<i64>().map_err(|_| ServiceError::invalid("page_token", "is not a token of this listing"))
            })
            .transpose()?;
        let mut rows = org::revisions(&self.db, &who, &id, (after, page.fetch_limit())).await?;
        let next_page_token = page.finish(&mut rows, |r| r.id.to_string());
        Ok(pb::ListUnitRevisionsResponse { revisions: rows.iter().map(convert::revision).collect(), next_page_token })
    }

    pub(crate) async fn list_unit_moves(
        &self,
        ctx: Ctx,
        r: pb::ListUnitMovesRequest,
    ) -> ServiceResult<pb::ListUnitMovesResponse> {
        let limit = match r.page_size {
            0 => 100,
            n @ 1..=1000 => u64::try_from(n).unwrap_or(100),
            _ => return Err(ServiceError::invalid("page_size", "must be 0–1000")),
        };
        if r.after < 0 {
            return Err(ServiceError::invalid("after", "must not be negative"));
        }
        let moves = org::moves_after(&self.db, &ctx.who, (r.after, limit)).await?;
        Ok(pb::ListUnitMovesResponse { moves: moves.iter().map(convert::unit_move).collect() })
    }
}

fn employee_code(code: &str) -> Option<String> {
    Some(code.trim().to_owned()).filter(|c| !c.is_empty())
}

/// One field an update mask names, parsed from the unit sent.
fn unit_field(path: &str, input: &pb::Unit) -> ServiceResult<UnitField> {
    Ok(match path {
        "display_name" => UnitField::DisplayName(DisplayName::parse("unit.display_name", &input.display_name)?),
        "manager" => UnitField::Manager(input.manager.trim().to_owned()),
        "seniority" => UnitField::Seniority(convert::seniority("unit.seniority", input.seniority)?),
        "start_date" => UnitField::StartDate(convert::date("unit.start_date", &input.start_date)?),
        "end_date" => UnitField::EndDate(convert::date("unit.end_date", &input.end_date)?),
        "employee_code" => UnitField::EmployeeCode(employee_code(&input.employee_code)),
        "region_maturity" => {
            UnitField::RegionMaturity(convert::region_maturity("unit.region_maturity", input.region_maturity)?)
        }
        "kind" | "parent" => {
            return Err(ServiceError::invalid(
                "update_mask",
                format!("{path} cannot change here (kind is fixed; use MoveUnit for parent)"),
            ));
        }
        other => return Err(ServiceError::invalid("update_mask", format!("{other:?} is not an updatable field"))),
    })
}
