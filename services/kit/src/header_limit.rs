//! Oversized request headers get a clear answer, not a torn connection:
//! HTTP/2 accepts header lists up to [`HTTP2_MAX_HEADER_LIST`] so that they
//! reach this layer, which refuses any request whose headers pass
//! [`MAX_HEADER_BYTES`] — gRPC with RESOURCE_EXHAUSTED, REST (anything not
//! gRPC) with 431 and the REST error body. No client reads "h2 protocol
//! error" for a 64 KB token.

use std::{future::Future, pin::Pin};

use http::{HeaderMap, Request, StatusCode, header};
use tonic::{Code, Status};

type Body = tonic::body::Body;

/// The most header bytes (names and values) a request may carry: room for
/// any real token and trace context, far below what would cost memory.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// What HTTP/2 itself accepts, so a larger list still gets our answer.
pub const HTTP2_MAX_HEADER_LIST: u32 = 1024 * 1024;

pub fn header_bytes(headers: &HeaderMap) -> usize {
    headers.iter().map(|(n, v)| n.as_str().len() + v.len()).sum()
}

#[derive(Debug, Clone, Copy, Default)]
pub struct HeaderLimitLayer;

impl<S> tower::Layer<S> for HeaderLimitLayer {
    type Service = HeaderLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HeaderLimit { inner }
    }
}

#[derive(Debug, Clone)]
pub struct HeaderLimit<S> {
    inner: S,
}

impl<S> tower::Service<Request<Body>> for HeaderLimit<S>
where
    S: tower::Service<Request<Body>, Response = http::Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let size = header_bytes(request.headers());
        if size <= MAX_HEADER_BYTES {
            return Box::pin(self.inner.call(request));
        }
        let message = format!("the request's headers are {size} bytes; at most {MAX_HEADER_BYTES} are accepted");
        let grpc = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/grpc"));
        Box::pin(async move {
            if grpc {
                return Ok(Status::new(Code::ResourceExhausted, message).into_http());
            }
            let body = serde_json::json!({ "error": {
                "code": 431, "status": "RESOURCE_EXHAUSTED", "message": message, "details": []
            }});
            let mut resp = http::Response::new(Body::new(body.to_string()));
            *resp.status_mut() = StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE;
            resp.headers_mut().insert(header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
            Ok(resp)
        })
    }
}
