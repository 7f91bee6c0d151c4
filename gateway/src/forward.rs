//! Forwarding of the services' own APIs: a call to attain.target.v1,
//! attain.tracking.v1, attain.review.v1 or attain.notify.v1 at the gateway is authenticated
//! here and passed on unchanged (token, request id and grpc-timeout
//! included), so a client works the whole cycle through the gateway alone.
//! The services check scope again themselves.

use std::{convert::Infallible, future::Future, pin::Pin, sync::Arc, task::Poll};

use attain_kit::ServiceError;
use attain_kit::{
    auth::{JwtVerifier, authenticate},
    limit::Limits,
};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use tonic::{Status, transport::Channel};
use tower::ServiceExt;

#[derive(Clone)]
pub struct Forwarder {
    target: Channel,
    tracking: Channel,
    review: Channel,
    /// None: this deployment runs no notify service.
    notify: Option<Channel>,
    verifier: Arc<JwtVerifier>,
    limits: Arc<Limits>,
}

impl Forwarder {
    pub fn new(
        target: Channel,
        tracking: Channel,
        review: Channel,
        notify: Option<Channel>,
        (verifier, limits): (Arc<JwtVerifier>, Arc<Limits>),
    ) -> Self {
        Self { target, tracking, review, notify, verifier, limits }
    }

    fn backend(&self, path: &str) -> Result<Channel, ServiceError> {
        if path.starts_with("/attain.notify.v1.") {
            return self.notify.clone().ok_or_else(|| {
                ServiceError::Unimplemented("this deployment runs no notify service (upstream.notify_url)".into())
            });
        }
        self.service(path).ok_or_else(|| ServiceError::Unimplemented(format!("{path} is not an Attain method")))
    }

    fn service(&self, path: &str) -> Option<Channel> {
        if path.starts_with("/attain.target.v1.") {
            Some(self.target.clone())
        } else if path.starts_with("/attain.tracking.v1.") {
            Some(self.tracking.clone())
        } else if path.starts_with("/attain.review.v1.") {
            Some(self.review.clone())
        } else {
            None
        }
    }
}

fn reply(status: Status) -> Response {
    status.into_http::<axum::body::Body>().into_response()
}

impl tower::Service<http::Request<axum::body::Body>> for Forwarder {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<axum::body::Body>) -> Self::Future {
        let path = request.uri().path().to_owned();
        // Not gRPC at all (a browser, a scraper, a health check pointed at
        // the public port): a plain 404, not an HTTP 200 carrying a gRPC
        // error an HTTP client would read as success.
        let grpc = request
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/grpc"));
        if !grpc {
            return Box::pin(async move {
                let body = serde_json::json!({ "error": {
                    "code": 404, "status": "NOT_FOUND", "message": format!("no such page: {path}"), "details": []
                }});
                let mut resp = Response::new(axum::body::Body::from(body.to_string()));
                *resp.status_mut() = http::StatusCode::NOT_FOUND;
                resp.headers_mut()
                    .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
                Ok(resp)
            });
        }
        let backend = match self.backend(&path) {
            Ok(b) => b,
            Err(e) => return Box::pin(async move { Ok(reply(e.into())) }),
        };
        let headers = request.headers();
        let authorization = headers.get("authorization").map(|v| v.to_str().unwrap_or(""));
        let from = attain_kit::tls::peer_of(request.extensions()).map(|a| a.ip());
        let verified = authenticate(&self.verifier, &self.limits, authorization, from);
        if let Err(e) = verified {
            return Box::pin(async move { Ok(reply(e.into())) });
        }
        let (mut parts, body) = request.into_parts();
        // The call continues the trace under the gateway's span (the
        // caller's traceparent names the caller's span, not ours).
        for (k, v) in attain_kit::telemetry::trace_headers() {
            if let (Ok(k), Ok(v)) = (http::HeaderName::from_bytes(k.as_bytes()), http::HeaderValue::from_str(&v)) {
                parts.headers.insert(k, v);
            }
        }
        if path == crate::leave::METHOD {
            let tracking = self.tracking.clone();
            return Box::pin(async move {
                // A unit's last day: checked against tracking's deals first.
                let bytes = match http_body_util::Limited::new(body, MAX_CHECKED_BYTES).collect().await {
                    Ok(b) => b.to_bytes(),
                    Err(e) => {
                        return Ok(reply(Status::invalid_argument(format!("the request could not be read: {e}"))));
                    }
                };
                let checked = match crate::leave::decode(&bytes) {
                    Ok(r) => crate::leave::check(tracking, parts.headers.get("authorization"), &r).await,
                    Err(s) => Err(s),
                };
                if let Err(s) = checked {
                    return Ok(reply(s));
                }
                let outgoing = http::Request::from_parts(parts, tonic::body::Body::new(crate::leave::reframe(bytes)));
                Ok(pass(backend, outgoing, &path).await)
            });
        }
        let outgoing = http::Request::from_parts(parts, tonic::body::Body::new(body));
        Box::pin(async move { Ok(pass(backend, outgoing, &path).await) })
    }
}

/// Largest request read whole to be checked (an UpdateUnit is small).
const MAX_CHECKED_BYTES: usize = 64 * 1024;

/// Passes a call on to its backend; its failure to answer is UNAVAILABLE.
async fn pass(backend: Channel, outgoing: http::Request<tonic::body::Body>, path: &str) -> Response {
    {
        {
            match backend.oneshot(outgoing).await {
                Ok(response) => response.map(axum::body::Body::new),
                Err(e) => {
                    let mut why = e.to_string();
                    let mut source = std::error::Error::source(&e);
                    while let Some(s) = source {
                        why.push_str(&format!(": {s}"));
                        source = s.source();
                    }
                    let why = format!("the backend for {path} is unavailable: {why}");
                    reply(ServiceError::Unavailable(why).into())
                }
            }
        }
    }
}
