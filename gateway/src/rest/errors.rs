//! gRPC status → HTTP error, in Google's JSON error shape, carrying the same
//! rich details (BadRequest field violations, ErrorInfo, ResourceInfo, …)
//! the gRPC caller gets.

use axum::response::Response;
use http::{HeaderValue, StatusCode, header};
use serde_json::{Value as Json, json};
use tonic::{Code, Status};
use tonic_types::StatusExt;

/// The HTTP status for a gRPC code (google.rpc.Code's documented mapping).
pub fn http_status(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::Cancelled => StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => StatusCode::BAD_REQUEST,
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::Unknown | Code::Internal | Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The gRPC code's canonical name, e.g. "INVALID_ARGUMENT".
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// The details as google.rpc JSON objects with their `@type`.
fn details(status: &Status) -> Vec<Json> {
    let d = status.get_error_details();
    let mut out = Vec::new();
    if let Some(info) = d.error_info() {
        out.push(json!({
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": info.reason, "domain": info.domain, "metadata": info.metadata,
        }));
    }
    if let Some(bad) = d.bad_request() {
        let violations: Vec<Json> =
            bad.field_violations.iter().map(|v| json!({ "field": v.field, "description": v.description })).collect();
        out.push(json!({ "@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": violations }));
    }
    if let Some(res) = d.resource_info() {
        out.push(json!({
            "@type": "type.googleapis.com/google.rpc.ResourceInfo",
            "resourceType": res.resource_type, "resourceName": res.resource_name,
            "owner": res.owner, "description": res.description,
        }));
    }
    if let Some(pre) = d.precondition_failure() {
        let violations: Vec<Json> = pre
            .violations
            .iter()
            .map(|v| json!({ "type": v.r#type, "subject": v.subject, "description": v.description }))
            .collect();
        out.push(json!({ "@type": "type.googleapis.com/google.rpc.PreconditionFailure", "violations": violations }));
    }
    if let Some(retry) = d.retry_info() {
        let delay = retry.retry_delay.map(|d| format!("{:.3}s", d.as_secs_f32()));
        out.push(json!({ "@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay }));
    }
    if let Some(info) = d.request_info() {
        out.push(request_info(&info.request_id, &info.serving_data));
    }
    out
}

fn request_info(request_id: &str, serving_data: &str) -> Json {
    json!({ "@type": "type.googleapis.com/google.rpc.RequestInfo", "requestId": request_id, "servingData": serving_data })
}

/// The RequestInfo of a REST call its status does not carry (the gateway's
/// own refusals: no route, a body too large, JSON that does not transcode):
/// the request id and trace id, as a gRPC error carries them.
pub fn with_request(mut body: Json, request_id: &str) -> Json {
    let trace = attain_kit::telemetry::current_trace_id().map(|t| format!("trace_id={t}")).unwrap_or_default();
    if let Some(details) = body["error"]["details"].as_array_mut()
        && !details.iter().any(|d| d["@type"] == "type.googleapis.com/google.rpc.RequestInfo")
    {
        details.push(request_info(request_id, &trace));
    }
    body
}

/// The error body: `{"error": {"code", "status", "message", "details"}}`.
pub fn body(status: &Status) -> Json {
    json!({
        "error": {
            "code": http_status(status.code()).as_u16(),
            "status": code_name(status.code()),
            "message": status.message(),
            "details": details(status),
        }
    })
}

pub fn response(status: &Status, request_id: &str) -> Response {
    let body = with_request(body(status), request_id);
    let mut resp = super::json(http_status(status.code()), serde_json::to_vec(&body).unwrap_or_default());
    if status.code() == Code::ResourceExhausted {
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    resp
}

#[cfg(test)]
mod tests {
    use attain_kit::ServiceError;

    use super::*;

    #[test]
    fn field_violations_survive_the_trip_to_json() {
        let status: Status = ServiceError::invalid("period", "\"2024-13\" is not a period").into();
        let json = body(&status);
        assert_eq!(json["error"]["code"], 400);
        assert_eq!(json["error"]["status"], "INVALID_ARGUMENT");
        let details = json["error"]["details"].as_array().unwrap();
        let bad = details.iter().find(|d| d["@type"] == "type.googleapis.com/google.rpc.BadRequest").unwrap();
        assert_eq!(bad["fieldViolations"][0]["field"], "period");
    }

    #[test]
    fn every_error_names_its_request() {
        let status: Status = ServiceError::invalid("period", "bad").into();
        let json = with_request(body(&status), "req-7");
        let details = json["error"]["details"].as_array().unwrap();
        let info = details.iter().find(|d| d["@type"] == "type.googleapis.com/google.rpc.RequestInfo").unwrap();
        assert_eq!(info["requestId"], "req-7");
        let mut d = tonic_types::ErrorDetails::new();
        d.set_request_info("from-the-service", "");
        let carried = Status::with_error_details(Code::NotFound, "x", d);
        let json = with_request(body(&carried), "req-8");
        let infos: Vec<_> = json["error"]["details"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["@type"] == "type.googleapis.com/google.rpc.RequestInfo")
            .cloned()
            .collect();
        assert_eq!(infos.len(), 1, "the service's own is kept, not doubled");
        assert_eq!(infos[0]["requestId"], "from-the-service");
    }

    #[test]
    fn every_code_has_a_status() {
        assert_eq!(http_status(Code::NotFound), StatusCode::NOT_FOUND);
        assert_eq!(http_status(Code::Aborted), StatusCode::CONFLICT);
        assert_eq!(http_status(Code::ResourceExhausted), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(http_status(Code::Unauthenticated), StatusCode::UNAUTHORIZED);
        assert_eq!(http_status(Code::Cancelled).as_u16(), 499);
    }
}
