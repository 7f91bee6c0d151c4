//! ListObligations: parse, ask the use case, convert.

use attain_kit::{ServiceError, ServiceResult, context::Ctx, paging::PageRequest};
use attain_proto::attain::tracking::v1 as pb;

use super::{TrackingApi, convert, unit_id};
use crate::domain::cadence::{Kind, Status};

fn kind(field: &str, k: i32) -> ServiceResult<Kind> {
    match pb::ObligationKind::try_from(k) {
        Ok(pb::ObligationKind::DailyLog) => Ok(Kind::DailyLog),
        Ok(pb::ObligationKind::WeeklySummary) => Ok(Kind::WeeklySummary),
        _ => Err(ServiceError::invalid(field, "must be DAILY_LOG or WEEKLY_SUMMARY")),
    }
}

fn status(field: &str, s: i32) -> ServiceResult<Status> {
    match pb::ObligationStatus::try_from(s) {
        Ok(pb::ObligationStatus::Due) => Ok(Status::Due),
        Ok(pb::ObligationStatus::Submitted) => Ok(Status::Submitted),
        Ok(pb::ObligationStatus::Late) => Ok(Status::Late),
        Ok(pb::ObligationStatus::Missed) => Ok(Status::Missed),
        _ => Err(ServiceError::invalid(field, "must be DUE, SUBMITTED, LATE or MISSED")),
    }
}

impl TrackingApi {
    pub(crate) async fn list_obligations(
        &self,
        ctx: Ctx,
        r: pb::ListObligationsRequest,
    ) -> ServiceResult<pb::ListObligationsResponse> {
        let Ctx { who, fwd } = ctx;
        let query = format!("ListObligations {} {} {:?} {:?}", r.unit, r.period, r.statuses, r.kinds);
        let page = PageRequest::parse(r.page_size, &r.page_token, &query, &who)?;
        let kinds = r
            .kinds
            .iter()
            .enumerate()
            .map(|(i, k)| kind(&format!("kinds[{i}]"), *k))
            .collect::<ServiceResult<Vec<_>>>()?;
        let statuses = r
            .statuses
            .iter()
            .enumerate()
            .map(|(i, s)| status(&format!("statuses[{i}]"), *s))
            .collect::<ServiceResult<Vec<_>>>()?;
        if r.period.is_empty() {
            return Err(ServiceError::invalid("period", "is required (e.g. \"2024-01\")"));
        }
        let unit = self.app.visible(&who, &fwd, &unit_id("unit", &r.unit)?).await?;
        let mut all = self.app.obligations((&who, &fwd), &unit, &r.period).await?;
        all.rows.retain(|o| kinds.is_empty() || kinds.contains(&o.kind));
        let compliance = convert::compliance(&all.compliance());
        let after = page.after.as_deref();
        let limit = usize::try_from(page.fetch_limit()).unwrap_or(usize::MAX);
        let mut rows: Vec<_> = all
            .rows
            .iter()
            .filter(|o| statuses.is_empty() || statuses.contains(&o.status))
            .filter(|o| after.is_none_or(|a| crate::app::cadence::key(o).as_str() > a))
            .take(limit)
            .collect();
        let next_page_token = page.finish(&mut rows, |o| crate::app::cadence::key(o));
        Ok(pb::ListObligationsResponse {
            obligations: rows.into_iter().map(|o| convert::obligation(o, &all.names)).collect(),
            next_page_token,
            compliance: Some(compliance),
        })
    }
}
