//! Overload protection: at most `limit` calls run at once; a call waits up
//! to `queue` for a slot and is then shed with RESOURCE_EXHAUSTED (with a
//! retry delay), so accepted calls keep a bounded latency and memory stays
//! flat instead of a queue growing without end. Health checks and metrics
//! are never shed: an overloaded server is busy, not broken.

use std::{future::Future, pin::Pin, sync::Arc, time::Duration};

use http::Request;
use tokio::sync::Semaphore;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::metrics::Metrics;

type Body = tonic::body::Body;

#[derive(Debug, Clone)]
pub struct ShedLayer {
    slots: Arc<Semaphore>,
    queue: Duration,
    metrics: Metrics,
}

impl ShedLayer {
    pub fn new(limit: usize, queue: Duration, metrics: Metrics) -> Self {
        Self { slots: Arc::new(Semaphore::new(limit.max(1))), queue, metrics }
    }
}

impl<S> tower::Layer<S> for ShedLayer {
    type Service = Shed<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Shed { inner, slots: self.slots.clone(), queue: self.queue, metrics: self.metrics.clone() }
    }
}

#[derive(Debug, Clone)]
pub struct Shed<S> {
    inner: S,
    slots: Arc<Semaphore>,
    queue: Duration,
    metrics: Metrics,
}

fn exempt(path: &str) -> bool {
    path.starts_with("/grpc.health.v1.") || path == "/metrics"
}

impl<S> tower::Service<Request<Body>> for Shed<S>
where
    S: tower::Service<Request<Body>, Response = http::Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
        // Readiness is awaited per call on a clone (oneshot).
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        use tower::ServiceExt;
        let inner = self.inner.clone();
        if exempt(request.uri().path()) {
            return Box::pin(inner.oneshot(request));
        }
        let grpc = request
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/grpc"));
        let (slots, queue, metrics) = (self.slots.clone(), self.queue, self.metrics.clone());
        Box::pin(async move {
            match tokio::time::timeout(queue, slots.acquire_owned()).await {
                Ok(Ok(slot)) => {
                    let response = inner.oneshot(request).await;
                    drop(slot);
                    response
                }
                _ if !grpc => {
                    metrics.shed();
                    Ok(rest_refusal())
                }
                _ => {
                    metrics.shed();
                    let details = ErrorDetails::with_retry_info(Some(Duration::from_millis(200)));
                    let status = Status::with_error_details(
                        Code::ResourceExhausted,
                        "the server is at capacity; retry after a short delay",
                        details,
                    );
                    Ok(status.into_http())
                }
            }
        })
    }
}

/// What a REST/JSON caller (the gateway's HTTP side) gets when shed: 429
/// with Retry-After and the REST error body, not a gRPC status it cannot
/// read.
fn rest_refusal() -> http::Response<Body> {
    let body = serde_json::json!({ "error": {
        "code": 429,
        "status": "RESOURCE_EXHAUSTED",
        "message": "the server is at capacity; retry after a short delay",
        "details": [],
    }});
    let mut response = http::Response::new(Body::new(http_body_util::Full::new(bytes::Bytes::from(body.to_string()))));
    *response.status_mut() = http::StatusCode::TOO_MANY_REQUESTS;
    let headers = response.headers_mut();
    headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    headers.insert(http::header::RETRY_AFTER, http::HeaderValue::from_static("1"));
    response
}
