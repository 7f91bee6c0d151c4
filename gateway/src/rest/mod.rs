//! REST/JSON at the gateway: each `google.api.http` binding in the protos
//! becomes a route whose call is made, as gRPC, on the gateway's own port —
//! so REST callers pass the same authentication, rate limits, scope checks
//! and deadlines as gRPC ones, and get the same errors (as HTTP statuses).

pub mod codec;
pub mod errors;
pub mod openapi;
pub mod routes;
pub mod template;
mod transcode;

use std::{net::SocketAddr, sync::Arc};

use attain_kit::ServiceError;
use axum::{
    body::Body,
    extract::{Request, State},
    response::Response,
};
use bytes::Bytes;
use futures::StreamExt;
use http::{HeaderMap, HeaderValue, StatusCode, header, uri::PathAndQuery};
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage};
use tonic::{Status, transport::Channel};

use self::{codec::RawCodec, routes::Routes};

/// Headers a REST call carries on to its gRPC call.
const FORWARDED: [&str; 3] =
    ["authorization", attain_kit::server::REQUEST_ID_HEADER, attain_kit::auth::CLIENT_IP_HEADER];

#[derive(Clone)]
pub struct Rest {
    inner: Arc<Inner>,
}

struct Inner {
    routes: Routes,
    channel: Channel,
    max_body: usize,
    openapi: Bytes,
}

impl Rest {
    /// REST over the gateway listening at `own`; bodies over `max_body`
    /// bytes are refused with 413.
    /// `tls`: how to reach its own port when it serves TLS (its CA, its
    /// own name, its client certificate under mutual TLS).
    pub fn new(
        own: SocketAddr,
        max_body: usize,
        tls: Option<tonic::transport::ClientTlsConfig>,
    ) -> anyhow::Result<Self> {
        let pool = DescriptorPool::decode(attain_proto::FILE_DESCRIPTOR_SET)?;
        let routes = Routes::from_pool(&pool)?;
        let openapi = Bytes::from(serde_json::to_vec_pretty(&openapi::document(&routes))?);
        // The listener may be on 0.0.0.0; the loopback call goes to 127.0.0.1.
        let host = if own.ip().is_unspecified() { "127.0.0.1".to_owned() } else { own.ip().to_string() };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let channel =
            attain_kit::upstream::channel("gateway", &format!("{scheme}://{host}:{}", own.port()), tls.as_ref())?;
        Ok(Self { inner: Arc::new(Inner { routes, channel, max_body, openapi }) })
    }

    pub fn openapi(&self) -> Bytes {
        self.inner.openapi.clone()
    }
}

/// A JSON response.
pub fn json(status: StatusCode, body: Vec<u8>) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

fn refuse(status: StatusCode, code: &str, message: String) -> Response {
    let body =
        serde_json::json!({ "error": { "code": status.as_u16(), "status": code, "message": message, "details": [] } });
    json(status, serde_json::to_vec(&body).unwrap_or_default())
}

pub async fn openapi_document(State(rest): State<Rest>) -> Response {
    let mut resp = Response::new(Body::from(rest.openapi()));
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

/// Any `/v1/…` request.
pub async fn handle(State(rest): State<Rest>, request: Request) -> Response {
    // The caller's address, for the per-address limit on calls without a
    // valid token (the gRPC call below comes from this host).
    let client = attain_kit::tls::peer_of(request.extensions()).map(|a| a.ip());
    let (mut parts, body) = request.into_parts();
    parts.headers.remove(attain_kit::auth::CLIENT_IP_HEADER);
    if let Some(ip) = client.and_then(|ip| HeaderValue::from_str(&ip.to_string()).ok()) {
        parts.headers.insert(attain_kit::auth::CLIENT_IP_HEADER, ip);
    }
    let path = percent_encoding::percent_decode_str(parts.uri.path()).decode_utf8_lossy().into_owned();
    let (route, captures) = match rest.inner.routes.find(&parts.method, &path) {
        Ok(found) => found,
        Err(true) => {
            return refuse(
                StatusCode::METHOD_NOT_ALLOWED,
                "UNIMPLEMENTED",
                format!("{} is not allowed on {path}", parts.method),
            );
        }
        Err(false) => {
            return refuse(StatusCode::NOT_FOUND, "NOT_FOUND", format!("no REST route {path} (see /openapi.json)"));
        }
    };
    let body = match axum::body::to_bytes(body, rest.inner.max_body).await {
        Ok(b) => b,
        Err(_) => {
            return refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RESOURCE_EXHAUSTED",
                format!("the body is over the limit of {} bytes", rest.inner.max_body),
            );
        }
    };
    let msg = match transcode::request(route, captures, parts.uri.query().unwrap_or(""), &body) {
        Ok(m) => m,
        Err(e) => return errors::response(&e.into()),
    };
    let result = if route.method.is_server_streaming() {
        rest.stream(route, msg, &parts.headers).await
    } else {
        rest.unary(route, msg, &parts.headers).await
    };
    result.unwrap_or_else(|status| errors::response(&status))
}

impl Rest {
    fn grpc_request(msg: &DynamicMessage, headers: &HeaderMap) -> tonic::Request<Bytes> {
        let mut req = tonic::Request::new(Bytes::from(msg.encode_to_vec()));
        for name in FORWARDED {
            if let Some(v) = headers.get(name).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()) {
                req.metadata_mut().insert(name, v);
            }
        }
        req
    }

    async fn client(&self, route: &routes::Route) -> Result<(tonic::client::Grpc<Channel>, PathAndQuery), Status> {
        let mut grpc = tonic::client::Grpc::new(self.inner.channel.clone())
            .max_decoding_message_size(usize::MAX)
            .max_encoding_message_size(usize::MAX);
        grpc.ready().await.map_err(|e| {
            Status::from(ServiceError::Unavailable(format!("the gateway's gRPC side is not ready: {e}")))
        })?;
        let path = PathAndQuery::try_from(route.grpc_path())
            .map_err(|e| Status::from(ServiceError::Internal(anyhow::anyhow!("bad gRPC path: {e}"))))?;
        Ok((grpc, path))
    }

    async fn unary(&self, route: &routes::Route, msg: DynamicMessage, headers: &HeaderMap) -> Result<Response, Status> {
        let (mut grpc, path) = self.client(route).await?;
        let reply = grpc.unary(Self::grpc_request(&msg, headers), path, RawCodec).await?.into_inner();
        let out = DynamicMessage::decode(route.method.output(), reply)
            .map_err(|e| Status::from(ServiceError::Internal(anyhow::anyhow!("undecodable reply: {e}"))))?;
        Ok(json(StatusCode::OK, transcode::response(&out)?))
    }

    /// A server stream as NDJSON: one message per line; a failure mid-stream
    /// ends it with an error object line.
    async fn stream(
        &self,
        route: &routes::Route,
        msg: DynamicMessage,
        headers: &HeaderMap,
    ) -> Result<Response, Status> {
        let (mut grpc, path) = self.client(route).await?;
        let stream = grpc.server_streaming(Self::grpc_request(&msg, headers), path, RawCodec).await?.into_inner();
        let output = route.method.output();
        let lines = stream.map(move |item| {
            let mut line = match item.and_then(|bytes| {
                let msg = DynamicMessage::decode(output.clone(), bytes)
                    .map_err(|e| Status::from(ServiceError::Internal(anyhow::anyhow!("undecodable event: {e}"))))?;
                transcode::response(&msg).map_err(Status::from)
            }) {
                Ok(bytes) => bytes,
                Err(status) => serde_json::to_vec(&errors::body(&status)).unwrap_or_default(),
            };
            line.push(b'\n');
            Ok::<_, std::convert::Infallible>(Bytes::from(line))
        });
        let mut resp = Response::new(Body::from_stream(lines));
        resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-ndjson"));
        resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        Ok(resp)
    }
}
