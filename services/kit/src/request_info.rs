//! Every gRPC error names the call it answered: a `google.rpc.RequestInfo`
//! detail with the request id (`x-request-id`, the caller's or the one
//! made here) and, when traces are on, the trace id as its serving data —
//! what a caller quotes to an operator, who finds the call's log lines and
//! trace by it. Added here, once, to whatever error any layer or handler
//! returned, beside the details it already carries.

use std::{future::Future, pin::Pin};

use http::{HeaderMap, Request, Response};
use tonic_types::StatusExt;

use crate::server::REQUEST_ID_HEADER;

/// A layer finishing every reply's headers with a function of them and
/// the call's request id: errors travel trailers-only, their status in the
/// headers. (One ending a stream is in its trailers and keeps what it has.)
#[derive(Clone, Copy)]
pub struct FinishReplyLayer(fn(&mut HeaderMap, &str));

impl std::fmt::Debug for FinishReplyLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FinishReplyLayer")
    }
}

impl FinishReplyLayer {
    pub const fn new(finish: fn(&mut HeaderMap, &str)) -> Self {
        Self(finish)
    }
}

/// Adds the RequestInfo detail to every error.
pub const REQUEST_INFO: FinishReplyLayer = FinishReplyLayer(add_request_info);

impl<S> tower::Layer<S> for FinishReplyLayer {
    type Service = FinishReply<S>;

    fn layer(&self, inner: S) -> Self::Service {
        FinishReply { inner, finish: self.0 }
    }
}

#[derive(Clone)]
pub struct FinishReply<S> {
    inner: S,
    finish: fn(&mut HeaderMap, &str),
}

impl<S, B, RB> tower::Service<Request<B>> for FinishReply<S>
where
    S: tower::Service<Request<B>, Response = Response<RB>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    RB: Send + 'static,
{
    type Response = Response<RB>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let request_id =
            request.headers().get(REQUEST_ID_HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let finish = self.finish;
        let fut = self.inner.call(request);
        Box::pin(async move {
            let mut response = fut.await?;
            finish(response.headers_mut(), &request_id);
            Ok(response)
        })
    }
}

fn add_request_info(headers: &mut HeaderMap, request_id: &str) {
    let failed = headers.get("grpc-status").is_some_and(|v| v.as_bytes() != b"0");
    if !failed {
        return;
    }
    let Some(status) = tonic::Status::from_header_map(headers) else { return };
    let mut details = status.get_error_details();
    if details.request_info().is_some() {
        return;
    }
    let trace = crate::telemetry::current_trace_id().map(|t| format!("trace_id={t}")).unwrap_or_default();
    details.set_request_info(request_id, trace);
    let with_info = tonic::Status::with_error_details(status.code(), status.message(), details);
    for name in ["grpc-status", "grpc-message", "grpc-status-details-bin"] {
        headers.remove(name);
    }
    if with_info.add_header(headers).is_err() {
        tracing::warn!("the request info could not be added to an error reply");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_keeps_its_details_and_gains_the_request_id() {
        let mut details = tonic_types::ErrorDetails::new();
        details.add_bad_request_violation("unit", "is required");
        let status = tonic::Status::with_error_details(tonic::Code::InvalidArgument, "unit is required", details);
        let mut headers = HeaderMap::new();
        status.add_header(&mut headers).unwrap();
        add_request_info(&mut headers, "req-42");
        let back = tonic::Status::from_header_map(&headers).unwrap();
        assert_eq!(back.code(), tonic::Code::InvalidArgument);
        assert_eq!(back.message(), "unit is required");
        let details = back.get_error_details();
        assert_eq!(details.bad_request().unwrap().field_violations[0].field, "unit");
        assert_eq!(details.request_info().unwrap().request_id, "req-42");

        let mut ok = HeaderMap::new();
        ok.insert("grpc-status", "0".parse().unwrap());
        add_request_info(&mut ok, "req-43");
        assert!(ok.get("grpc-status-details-bin").is_none(), "a success is left alone");
    }
}
