//! Ingestion handlers: one deal, an atomic batch, a stream; reversals;
//! reads. Every write carries a request id: a retry with the same payload
//! returns the first result, another payload under the same id is
//! ALREADY_EXISTS. The checking and storing is `app::ingest`.

use std::collections::HashSet;

use attain_kit::{
    FieldViolation, ServiceError, ServiceResult, auth::Identity, context::Ctx, id::Id, idempotency::IdempotencyKey,
    paging::PageRequest, period::Period,
};
use attain_proto::attain::tracking::v1 as pb;
use futures::StreamExt;
use tonic::Streaming;

use super::{TrackingApi, convert, unit_id};
use crate::{app::ingest::Row, domain::deal::Window};

/// Rows parsed between yields to the runtime.
const YIELD_EVERY: usize = 1000;

/// A request row parsed; `field` prefixes its errors ("requests[3]").
pub(super) fn row(who: &Identity, field: &str, r: pb::CreateDealRequest) -> ServiceResult<Row> {
    row_keyed(&who.person, field, r)
}

/// [`row`] with request ids scoped by `scope` instead of the caller (an
/// import scopes them by the deal's rep: whoever imports a sheet, a row
/// already stored for that rep is not stored again).
pub(super) fn row_keyed(scope: &str, field: &str, mut r: pb::CreateDealRequest) -> ServiceResult<Row> {
    let request_id = std::mem::take(&mut r.request_id);
    let key = IdempotencyKey::required(scope, "CreateDeal", &format!("{field}.request_id"), &request_id, &r)?;
    let new = convert::new_deal(&format!("{field}.deal"), r.deal.as_ref())?;
    Ok(Row { key, request_id, new })
}

/// Batch or stream rows parsed, a request id used twice refused.
fn rows_of(
    who: &Identity,
    (seen, whole): (&mut HashSet<String>, &str),
    field: &str,
    r: pb::CreateDealRequest,
) -> ServiceResult<Row> {
    if !r.request_id.is_empty() && !seen.insert(r.request_id.clone()) {
        let why = format!("{:?} appears twice in the {whole}", r.request_id);
        return Err(ServiceError::invalid(format!("{field}.request_id"), why));
    }
    row(who, field, r)
}

fn deal_id(field: &str, name: &str) -> ServiceResult<Id> {
    match name.strip_prefix("deals/") {
        Some(id) => Ok(Id::parse(field, id)?),
        None => Err(ServiceError::invalid(field, format!("{name:?} is not a deal name (deals/{{deal_id}})"))),
    }
}

impl TrackingApi {
    pub(crate) async fn create_deal(&self, ctx: Ctx, r: pb::CreateDealRequest) -> ServiceResult<pb::Deal> {
        let Ctx { who, fwd } = ctx;
        let parsed = row(&who, "request", r).map_err(|e| rename_fields(e, "request.", ""))?;
        let deal = self.app.create_deal(&who, &fwd, "request", parsed, convert::deal).await;
        deal.map_err(|e| rename_fields(e, "request.", ""))
    }

    pub(crate) async fn batch_create_deals(
        &self,
        ctx: Ctx,
        r: pb::BatchCreateDealsRequest,
    ) -> ServiceResult<pb::BatchCreateDealsResponse> {
        let Ctx { who, fwd } = ctx;
        let mut seen = HashSet::new();
        let mut rows = Vec::with_capacity(r.requests.len());
        for (i, r) in r.requests.into_iter().enumerate() {
            rows.push(rows_of(&who, (&mut seen, "batch"), &format!("requests[{i}]"), r));
            // A large batch is parsed in slices, so a deadline can cut in.
            if i % YIELD_EVERY == YIELD_EVERY - 1 {
                tokio::task::yield_now().await;
            }
        }
        let deals = self.app.create_deals(&who, &fwd, rows, convert::deal).await?;
        Ok(pb::BatchCreateDealsResponse { deals })
    }

    pub(crate) async fn stream_deals(
        &self,
        ctx: Ctx,
        stream: Streaming<pb::StreamDealsRequest>,
    ) -> ServiceResult<pb::StreamDealsResponse> {
        let Ctx { who, fwd } = ctx;
        let mut seen = HashSet::new();
        let rows = stream.enumerate().map(|(n, item)| {
            let field = format!("row {n}");
            Ok((
                n,
                match item?.request {
                    None => Err(ServiceError::invalid(format!("{field}.request"), "is required")),
                    Some(r) => rows_of(&who, (&mut seen, "stream"), &field, r),
                },
            ))
        });
        let report = self.app.stream_deals(&who, &fwd, Box::pin(rows), convert::deal).await?;
        Ok(pb::StreamDealsResponse {
            accepted: report.accepted,
            duplicates: report.duplicates,
            errors: report
                .errors
                .into_iter()
                .map(|(row, field, description)| pb::RowError {
                    row: i64::try_from(row).unwrap_or(i64::MAX),
                    field,
                    description,
                })
                .collect(),
        })
    }

    pub(crate) async fn reverse_deal(
        &self,
        ctx: Ctx,
        mut r: pb::ReverseDealRequest,
    ) -> ServiceResult<pb::ReverseDealResponse> {
        let Ctx { who, fwd } = ctx;
        let request_id = std::mem::take(&mut r.request_id);
        let key = IdempotencyKey::required(&who.person, "ReverseDeal", "request_id", &request_id, &r)?;
        let id = deal_id("name", &r.name)?;
        let rename = |e| rename_fields(e, "replacement.deal.", "replacement.");
        let replacement = r
            .replacement
            .take()
            .map(|d| {
                let req = pb::CreateDealRequest { deal: Some(d), request_id: format!("{request_id}/replacement") };
                row(&who, "replacement", req)
            })
            .transpose()
            .map_err(rename)?;
        let render = |reversal: &_, replacement: Option<&_>| pb::ReverseDealResponse {
            reversal: Some(convert::deal(reversal)),
            replacement: replacement.map(convert::deal),
        };
        self.app.reverse_deal(&who, &fwd, key, (&id, &r.name), replacement, render).await.map_err(rename)
    }

    pub(crate) async fn get_deal(&self, ctx: Ctx, r: pb::GetDealRequest) -> ServiceResult<pb::Deal> {
        let deal = self.app.deal(&ctx.who, &deal_id("name", &r.name)?, &r.name).await?;
        Ok(convert::deal(&deal))
    }

    pub(crate) async fn list_deals(&self, ctx: Ctx, r: pb::ListDealsRequest) -> ServiceResult<pb::ListDealsResponse> {
        let Ctx { who, fwd } = ctx;
        let query = format!("ListDeals {} {} {:?}", r.unit, r.period, r.as_of);
        let page = PageRequest::parse(r.page_size, &r.page_token, &query, &who)?;
        let unit = self.app.visible_somewhere(&who, &fwd, &unit_id("unit", &r.unit)?).await?;
        // Periods here are calendar-based (a fiscal year starting in January).
        let dates = match r.period.as_str() {
            "" => None,
            p => Some(Period::parse("period", p, 1)?).map(|p| (p.start, p.end)),
        };
        let as_of = r
            .as_of
            .as_ref()
            .map(|t| chrono::DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0)))
            .map(|t| t.ok_or_else(|| ServiceError::invalid("as_of", "is out of range")))
            .transpose()?;
        let window = Window { dates, as_of, recorded_after: None };
        let mut rows = self.app.list_deals((&who, &unit), window, page.after.as_deref(), page.fetch_limit()).await?;
        let next_page_token = page.finish(&mut rows, |d| d.id.as_str().to_owned());
        Ok(pb::ListDealsResponse { deals: rows.iter().map(convert::deal).collect(), next_page_token })
    }
}

/// Renames violated fields from the row form ("request.deal.amount") to
/// the request's own ("deal.amount").
fn rename_fields(e: ServiceError, from: &str, to: &str) -> ServiceError {
    match e {
        ServiceError::InvalidArgument(v) => ServiceError::InvalidArgument(
            v.into_iter()
                .map(|f| {
                    let field = match f.field.strip_prefix(from) {
                        Some(rest) => format!("{to}{rest}"),
                        None => f.field,
                    };
                    FieldViolation::new(field, f.description)
                })
                .collect(),
        ),
        other => other,
    }
}
