//! Calls to other Attain services: lazily connected channels, and requests
//! that carry the caller's token and request id along, so the callee
//! enforces the caller's scope too and one request id follows the call.

use std::time::Duration;

use tonic::{
    Request,
    metadata::MetadataMap,
    transport::{Channel, ClientTlsConfig, Endpoint},
};

pub use crate::data_version::ReadsAt;
use crate::server::REQUEST_ID_HEADER;

/// A channel to `url` that connects on first use and reconnects after
/// failures (so a service starts even when its upstream is not up yet).
/// `https://` URLs need `tls` (the CA to trust, and this service's own
/// certificate under mutual TLS).
///
/// Several comma-separated URLs (replicas without a load balancer in
/// front, e.g. two processes on one machine) are balanced over.
pub fn channel(name: &str, url: &str, tls: Option<&ClientTlsConfig>) -> anyhow::Result<Channel> {
    let endpoints = url
        .split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(|u| {
            let endpoint = Endpoint::from_shared(u.to_owned())
                .map_err(|e| anyhow::anyhow!("upstream.{name}_url {u:?} is not a URL: {e}"))?
                .connect_timeout(Duration::from_secs(3))
                .initial_stream_window_size(crate::server::STREAM_WINDOW)
                .initial_connection_window_size(crate::server::CONNECTION_WINDOW)
                .tcp_nodelay(true);
            match (u.starts_with("https://"), tls) {
                (false, _) => Ok(endpoint),
                (true, Some(tls)) => Ok(endpoint
                    .tls_config(tls.clone())
                    .map_err(|e| anyhow::anyhow!("upstream.{name}_url {u:?}: {e}"))?),
                (true, None) => {
                    anyhow::bail!("upstream.{name}_url {u:?} is https: set upstream.ca_file to the CA it trusts")
                }
            }
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    match endpoints.len() {
        0 => anyhow::bail!("upstream.{name}_url is empty"),
        1 => Ok(endpoints.into_iter().next().map(|e| e.connect_lazy()).ok_or_else(|| anyhow::anyhow!("no URL"))?),
        _ => Ok(Channel::balance_list(endpoints.into_iter())),
    }
}

/// The headers of an incoming call worth passing on, and the time left
/// for calls made on its behalf.
#[derive(Debug, Clone, Default)]
pub struct Forwarded {
    authorization: Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>,
    request_id: Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>,
    /// W3C trace context of the incoming call's span (`traceparent`,
    /// `tracestate`), so calls on its behalf continue its trace.
    trace: Vec<(
        tonic::metadata::MetadataKey<tonic::metadata::Ascii>,
        tonic::metadata::MetadataValue<tonic::metadata::Ascii>,
    )>,
    timeout: Option<Duration>,
    /// The upstream data version this request reads at (shared by clones).
    reads_at: ReadsAt,
}

impl Forwarded {
    pub fn from_metadata(m: &MetadataMap) -> Self {
        Self {
            authorization: m.get("authorization").cloned(),
            request_id: m.get(REQUEST_ID_HEADER).cloned(),
            trace: crate::telemetry::trace_headers()
                .into_iter()
                .filter_map(|(k, v)| Some((k.parse().ok()?, v.parse().ok()?)))
                .collect(),
            timeout: None,
            reads_at: ReadsAt::default(),
        }
    }

    /// The upstream data version this request reads at.
    pub fn reads_at(&self) -> &ReadsAt {
        &self.reads_at
    }

    /// Who the request is made for, as sent upstream (the bearer token):
    /// what an upstream's answers to it may depend on.
    pub fn caller(&self) -> Option<&str> {
        self.authorization.as_ref().and_then(|a| a.to_str().ok())
    }

    /// When the caller's bearer token expires (its `exp`), read from the
    /// token the auth layer already verified: a stream the caller opened
    /// ends then, as a unary call with it would be refused.
    pub fn token_expiry(&self) -> Option<std::time::SystemTime> {
        use base64::Engine;
        let header = self.authorization.as_ref()?.to_str().ok()?;
        let token = header.strip_prefix("Bearer ").or_else(|| header.strip_prefix("bearer "))?.trim();
        let payload = token.split('.').nth(1)?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
        let exp = serde_json::from_slice::<serde_json::Value>(&bytes).ok()?.get("exp")?.as_u64()?;
        std::time::SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(exp))
    }

    /// The same, with calls made on its behalf given `left` to answer.
    pub fn with_timeout(mut self, left: Duration) -> Self {
        self.timeout = Some(left);
        self
    }

    /// An outgoing request carrying the caller's token and request id.
    pub fn request<T>(&self, message: T) -> Request<T> {
        let mut r = Request::new(message);
        if let Some(t) = self.timeout {
            r.set_timeout(t);
        }
        if let Some(a) = &self.authorization {
            r.metadata_mut().insert("authorization", a.clone());
        }
        if let Some(id) = &self.request_id {
            r.metadata_mut().insert(REQUEST_ID_HEADER, id.clone());
        }
        for (k, v) in &self.trace {
            r.metadata_mut().insert(k.clone(), v.clone());
        }
        // Made outside any call (a background job's account): the trace
        // is the span the call is made in; outside any span (a job polling
        // for work), an unsampled trace, so a poll every second is nobody's
        // trace on the callee either.
        if self.trace.is_empty() {
            let mut headers = crate::telemetry::trace_headers();
            if headers.is_empty() && crate::telemetry::exporting() {
                let (trace, span) =
                    (uuid::Uuid::new_v4().simple().to_string(), uuid::Uuid::new_v4().simple().to_string());
                headers.insert("traceparent".into(), format!("00-{trace}-{}-00", &span[..16]));
            }
            for (k, v) in headers {
                if let (Ok(k), Ok(v)) = (
                    k.parse::<tonic::metadata::MetadataKey<tonic::metadata::Ascii>>(),
                    v.parse::<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>(),
                ) {
                    r.metadata_mut().insert(k, v);
                }
            }
        }
        r
    }
}
