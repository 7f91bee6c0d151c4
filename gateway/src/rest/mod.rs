//! REST/JSON at the gateway: each `google.api.http` binding in the protos
//! becomes a route whose call is made, as gRPC, to the gateway's own gRPC
//! services in process (no connection): REST callers pass the same
//! authentication, rate limits and scope checks as gRPC ones and get the
//! same errors (as HTTP statuses), while the server's layers (shedding,
//! metrics, tracing) see each REST call once.

pub mod codec;
pub mod errors;
pub mod openapi;
pub mod routes;
pub mod template;
mod transcode;

use std::sync::Arc;

use attain_kit::ServiceError;
use axum::{
    body::Body,
    extract::{Request, State},
    response::Response,
};
use bytes::Bytes;
use futures::StreamExt;
use http::{HeaderValue, StatusCode, header, uri::PathAndQuery};
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage};
use tonic::Status;

use self::{codec::RawCodec, routes::Routes};

/// Headers a REST call carries on to its gRPC call.
const FORWARDED: [&str; 2] = ["authorization", attain_kit::server::REQUEST_ID_HEADER];

/// The gateway's gRPC side as a service called in process: its own API and
/// the forwarding of the backends' methods, without the server's layers
/// (the REST call passed them already).
pub type GrpcSide = tower::util::BoxCloneSyncService<
    http::Request<tonic::body::Body>,
    http::Response<axum::body::Body>,
    std::convert::Infallible,
>;

#[derive(Clone)]
pub struct Rest {
    inner: Arc<Inner>,
}

struct Inner {
    routes: Routes,
    grpc: GrpcSide,
    max_body: usize,
    openapi: Bytes,
}

impl Rest {
    /// REST over the gateway's gRPC side; bodies over `max_body` bytes are
    /// refused with 413.
    pub fn new(grpc: GrpcSide, max_body: usize) -> anyhow::Result<Self> {
        let pool = DescriptorPool::decode(attain_proto::FILE_DESCRIPTOR_SET)?;
        let routes = Routes::from_pool(&pool)?;
        let openapi = Bytes::from(serde_json::to_vec_pretty(&openapi::document(&routes))?);
        Ok(Self { inner: Arc::new(Inner { routes, grpc, max_body, openapi }) })
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

fn refuse(status: StatusCode, code: &str, message: String, request_id: &str) -> Response {
    let body =
        serde_json::json!({ "error": { "code": status.as_u16(), "status": code, "message": message, "details": [] } });
    json(status, serde_json::to_vec(&errors::with_request(body, request_id)).unwrap_or_default())
}

pub async fn openapi_document(State(rest): State<Rest>) -> Response {
    let mut resp = Response::new(Body::from(rest.openapi()));
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

/// Any `/v1/…` request.
pub async fn handle(State(rest): State<Rest>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    // Set by the server's request-id layer (the caller's, or one made there).
    let request_id = parts
        .headers
        .get(attain_kit::server::REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let path = percent_encoding::percent_decode_str(parts.uri.path()).decode_utf8_lossy().into_owned();
    let (route, captures) = match rest.inner.routes.find(&parts.method, &path) {
        Ok(found) => found,
        Err(true) => {
            return refuse(
                StatusCode::METHOD_NOT_ALLOWED,
                "UNIMPLEMENTED",
                format!("{} is not allowed on {path}", parts.method),
                &request_id,
            );
        }
        Err(false) => {
            return refuse(
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                format!("no REST route {path} (see /openapi.json)"),
                &request_id,
            );
        }
    };
    // The server's span knew only "HTTP GET": name it by the route, as
    // OpenTelemetry's HTTP conventions do (bounded: the proto's templates).
    attain_kit::telemetry::rename_current_span(format!("{} {}", route.verb, route.template.as_str()));
    let body = match axum::body::to_bytes(body, rest.inner.max_body).await {
        Ok(b) => b,
        Err(_) => {
            return refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RESOURCE_EXHAUSTED",
                format!("the body is over the limit of {} bytes", rest.inner.max_body),
                &request_id,
            );
        }
    };
    let result = match transcode::request(route, captures, parts.uri.query().unwrap_or(""), &body) {
        Err(e) => Err(Status::from(e)),
        Ok(msg) if route.method.is_server_streaming() => rest.stream(route, msg, &parts).await,
        Ok(msg) => rest.unary(route, msg, &parts).await,
    };
    // Counted once, as the RPC it is (the server's metrics layer reads it).
    let code = result.as_ref().map_or_else(Status::code, |_| tonic::Code::Ok);
    let mut response = result.unwrap_or_else(|status| errors::response(&status, &request_id));
    let path = attain_kit::metrics::method_label(&route.grpc_path());
    response.extensions_mut().insert(attain_kit::metrics::RpcOutcome { path, code });
    response
}

impl Rest {
    /// The gRPC request of a REST call: its message, its credentials and
    /// request id, and its connection (so per-address limits see the
    /// client, as for a gRPC call).
    fn grpc_request(msg: &DynamicMessage, parts: &http::request::Parts) -> tonic::Request<Bytes> {
        use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};
        let mut req = tonic::Request::new(Bytes::from(msg.encode_to_vec()));
        for name in FORWARDED {
            if let Some(v) = parts.headers.get(name).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()) {
                req.metadata_mut().insert(name, v);
            }
        }
        if let Some(c) = parts.extensions.get::<TcpConnectInfo>() {
            req.extensions_mut().insert(c.clone());
        }
        if let Some(c) = parts.extensions.get::<TlsConnectInfo<TcpConnectInfo>>() {
            req.extensions_mut().insert(c.clone());
        }
        req
    }

    async fn client(&self, route: &routes::Route) -> Result<(tonic::client::Grpc<GrpcSide>, PathAndQuery), Status> {
        let mut grpc = tonic::client::Grpc::new(self.inner.grpc.clone())
            .max_decoding_message_size(usize::MAX)
            .max_encoding_message_size(usize::MAX);
        grpc.ready().await.map_err(|e| {
            Status::from(ServiceError::Unavailable(format!("the gateway's gRPC side is not ready: {e}")))
        })?;
        let path = PathAndQuery::try_from(route.grpc_path())
            .map_err(|e| Status::from(ServiceError::Internal(anyhow::anyhow!("bad gRPC path: {e}"))))?;
        Ok((grpc, path))
    }

    async fn unary(
        &self,
        route: &routes::Route,
        msg: DynamicMessage,
        parts: &http::request::Parts,
    ) -> Result<Response, Status> {
        let (mut grpc, path) = self.client(route).await?;
        let reply = grpc.unary(Self::grpc_request(&msg, parts), path, RawCodec).await?.into_inner();
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
        parts: &http::request::Parts,
    ) -> Result<Response, Status> {
        let (mut grpc, path) = self.client(route).await?;
        let stream = grpc.server_streaming(Self::grpc_request(&msg, parts), path, RawCodec).await?.into_inner();
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
