//! A unit's last day is checked against what tracking has booked: an
//! UpdateUnit setting `end_date` is refused while deals (or credit shares)
//! close after that day, naming them. The target service calls nobody
//! (DESIGN §2), so the gateway, where the services meet, asks tracking
//! with the caller's own token before passing the call on.

use attain_proto::attain::{
    target::v1 as tpb,
    tracking::v1::{self as kpb, tracking_service_client::TrackingServiceClient},
};
use bytes::{Buf, Bytes};
use chrono::NaiveDate;
use prost::Message;
use tonic::{Status, transport::Channel};

pub const METHOD: &str = "/attain.target.v1.OrgService/UpdateUnit";

/// Deals named in the refusal, at most.
const NAMED: usize = 5;

/// The request in a unary gRPC body (one uncompressed frame).
pub fn decode(body: &Bytes) -> Result<tpb::UpdateUnitRequest, Status> {
    let mut b = body.clone();
    if b.remaining() < 5 {
        return Err(Status::invalid_argument("the request is not a gRPC message"));
    }
    if b.get_u8() != 0 {
        return Err(Status::unimplemented("a compressed UpdateUnit is not accepted; send it uncompressed"));
    }
    let len = usize::try_from(b.get_u32()).unwrap_or(usize::MAX);
    if b.remaining() != len {
        return Err(Status::invalid_argument("the request is not one gRPC message"));
    }
    tpb::UpdateUnitRequest::decode(b).map_err(|e| Status::invalid_argument(format!("the request does not decode: {e}")))
}

/// The last day the request sets, if it sets one.
fn end_date(r: &tpb::UpdateUnitRequest) -> Option<(String, NaiveDate)> {
    let paths = &r.update_mask.as_ref()?.paths;
    if !paths.iter().any(|p| p == "end_date") {
        return None;
    }
    let unit = r.unit.as_ref()?;
    // A malformed date is the target service's to refuse.
    let day = NaiveDate::parse_from_str(&unit.end_date, "%Y-%m-%d").ok()?;
    Some((unit.name.clone(), day))
}

/// Refuses the request (FAILED_PRECONDITION) while deals of the unit close
/// after the last day it sets; asks tracking as the caller.
pub async fn check(
    tracking: Channel,
    authorization: Option<&http::HeaderValue>,
    r: &tpb::UpdateUnitRequest,
) -> Result<(), Status> {
    let Some((unit, last)) = end_date(r) else { return Ok(()) };
    let Some(from) = last.succ_opt() else { return Ok(()) };
    // Ranges span at most five years; tracking takes no deal closing after
    // today, so five years after the last day covers every one.
    let to = from.checked_add_months(chrono::Months::new(59)).unwrap_or(from);
    let mut ask = tonic::Request::new(kpb::ListDealsRequest {
        unit: unit.clone(),
        period: format!("{from}..{to}"),
        page_size: 1000,
        ..Default::default()
    });
    if let Some(a) = authorization.and_then(|a| tonic::metadata::MetadataValue::try_from(a.as_bytes()).ok()) {
        ask.metadata_mut().insert("authorization", a);
    }
    let deals = match TrackingServiceClient::new(tracking).list_deals(ask).await {
        // A sale reversed and its reversal net to nothing: not in the way.
        Ok(r) => r
            .into_inner()
            .deals
            .into_iter()
            .filter(|d| d.reversed_by.is_empty() && d.kind != kpb::DealKind::Reversal as i32)
            .collect::<Vec<_>>(),
        // Not the caller's to read, or no such unit: the target service
        // answers that with its own scope.
        Err(s) if matches!(s.code(), tonic::Code::PermissionDenied | tonic::Code::NotFound) => return Ok(()),
        Err(s) => {
            return Err(Status::unavailable(format!(
                "cannot check {unit}'s deals after {last} with tracking: {}",
                s.message()
            )));
        }
    };
    if deals.is_empty() {
        return Ok(());
    }
    let named: Vec<String> =
        deals.iter().take(NAMED).map(|d| format!("{} ({}, {})", d.name, d.close_date, d.rep)).collect();
    let more = if deals.len() > NAMED { format!(" and {} more", deals.len() - NAMED) } else { String::new() };
    Err(attain_kit::ServiceError::precondition(
        "DEALS_AFTER_END_DATE",
        format!(
            "unit.end_date: {unit} has {} deal record(s) closing after {last}: {}{more}; reverse them or \
             book them to whoever made the sale, then set the last day",
            deals.len(),
            named.join(", ")
        ),
    )
    .into())
}

/// The body again, for the target service.
pub fn reframe(body: Bytes) -> axum::body::Body {
    axum::body::Body::from(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(r: &tpb::UpdateUnitRequest) -> Bytes {
        let msg = r.encode_to_vec();
        let mut out = vec![0u8];
        out.extend_from_slice(&u32::try_from(msg.len()).unwrap().to_be_bytes());
        out.extend_from_slice(&msg);
        Bytes::from(out)
    }

    #[test]
    fn reads_the_last_day_only_when_the_mask_names_it() {
        let mut r = tpb::UpdateUnitRequest {
            unit: Some(tpb::Unit { name: "units/x2".into(), end_date: "2024-08-31".into(), ..Default::default() }),
            update_mask: Some(prost_types::FieldMask { paths: vec!["display_name".into()] }),
            request_id: String::new(),
        };
        assert_eq!(end_date(&decode(&framed(&r)).unwrap()), None);
        r.update_mask = Some(prost_types::FieldMask { paths: vec!["end_date".into()] });
        let got = end_date(&decode(&framed(&r)).unwrap()).unwrap();
        assert_eq!(got, ("units/x2".to_owned(), NaiveDate::from_ymd_opt(2024, 8, 31).unwrap()));
        let mut compressed = framed(&r).to_vec();
        compressed[0] = 1;
        assert_eq!(decode(&Bytes::from(compressed)).unwrap_err().code(), tonic::Code::Unimplemented);
        assert_eq!(decode(&Bytes::from_static(b"\0\0")).unwrap_err().code(), tonic::Code::InvalidArgument);
    }
}
