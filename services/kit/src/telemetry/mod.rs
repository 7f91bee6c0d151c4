//! Tracing setup: one subscriber per process, pretty for people, JSON for
//! log pipelines, and OpenTelemetry traces over OTLP/gRPC when a collector
//! is configured (`telemetry.otlp_endpoint` or the standard `OTEL_*`
//! variables: endpoint, `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`,
//! `OTEL_TRACES_SAMPLER[_ARG]`). W3C trace context crosses every hop:
//! extracted from each incoming call ([`parent_of`]), injected into every
//! call made on its behalf ([`trace_headers`]).

mod per_service;

use std::{collections::HashMap, sync::OnceLock};

use opentelemetry::{
    global,
    propagation::{Extractor, TextMapPropagator},
    trace::{TraceContextExt, TracerProvider as _},
};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::{Resource, propagation::TraceContextPropagator, trace::SdkTracerProvider};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::configuration::{LogFormat, TelemetrySettings};

/// The process's tracer provider, when traces are exported.
static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// Installs the global subscriber; a second call (tests) is a no-op.
/// With a collector configured it must run inside a Tokio runtime (the
/// exporter's gRPC channel is set up there).
pub fn init(settings: &TelemetrySettings, service: &str) {
    global::set_text_map_propagator(TraceContextPropagator::new());
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&settings.filter));
    let otel = endpoint(settings).and_then(|url| match provider(&url, service) {
        // A statement outside any span (a background job polling its feed
        // and finding nothing) would be a trace of its own, several a
        // second: statements are exported only as children.
        Ok(p) => Some(tracing_opentelemetry::layer().with_tracer(p.tracer("attain")).with_filter(
            tracing_subscriber::filter::DynFilterFn::new(|meta, cx| {
                !(meta.is_span() && meta.target().starts_with("sea_orm") && cx.lookup_current().is_none())
            }),
        )),
        Err(e) => {
            eprintln!("attain-{service}: traces are off, the OTLP exporter for {url} failed: {e}");
            None
        }
    });
    let registry = tracing_subscriber::registry().with(filter).with(otel);
    let _ = match settings.format {
        LogFormat::Json => registry.with(fmt::layer().json().with_current_span(true).with_span_list(false)).try_init(),
        LogFormat::Pretty => registry.with(fmt::layer().compact()).try_init(),
    };
}

fn endpoint(settings: &TelemetrySettings) -> Option<String> {
    let env = |k: &str| std::env::var(k).ok();
    settings
        .otlp_endpoint
        .clone()
        .or_else(|| env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
        .or_else(|| env("OTEL_EXPORTER_OTLP_ENDPOINT"))
        .filter(|e| !e.trim().is_empty())
}

fn provider(url: &str, service: &str) -> anyhow::Result<SdkTracerProvider> {
    let exporter = || opentelemetry_otlp::SpanExporter::builder().with_tonic().with_endpoint(url.to_owned()).build();
    // OTEL_SERVICE_NAME (read by the resource's detectors) wins.
    let named = std::env::var("OTEL_SERVICE_NAME").is_ok();
    let resource = if named {
        Resource::builder().build()
    } else {
        Resource::builder().with_service_name(format!("attain-{service}")).build()
    };
    let builder = SdkTracerProvider::builder().with_resource(resource);
    // A process serving several services names each span's own.
    let provider = if named || per_service::serves_one(service) {
        builder.with_batch_exporter(exporter()?).build()
    } else {
        let each = per_service::PerService::new(service, || {
            Ok(opentelemetry_sdk::trace::BatchSpanProcessor::builder(exporter()?).build())
        })?;
        builder.with_span_processor(each).build()
    };
    let _ = PROVIDER.set(provider.clone());
    global::set_tracer_provider(provider.clone());
    Ok(provider)
}

/// The attribute a server span names its service with (`attain.service`).
pub use per_service::ATTRIBUTE as SERVICE_ATTRIBUTE;

/// Whether spans leave the process (an OTLP endpoint is configured).
pub fn exporting() -> bool {
    PROVIDER.get().is_some()
}

/// Sends what is buffered (a test waiting for its spans).
pub fn flush() {
    if let Some(p) = PROVIDER.get() {
        let _ = p.force_flush();
    }
}

/// Sends what is buffered and stops exporting: a process about to exit.
/// Call it outside async code, with the runtime still up.
pub fn shutdown() {
    if let Some(Err(e)) = PROVIDER.get().map(SdkTracerProvider::shutdown) {
        eprintln!("traces: the last spans could not be sent: {e}");
    }
}

/// Reads W3C trace context from an incoming call's headers.
struct Headers<'a>(&'a http::HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

/// Makes `span` the child of the trace an incoming call carries
/// (`traceparent`), and records the trace id on it so log lines carry it.
pub fn parent_of(span: &tracing::Span, headers: &http::HeaderMap) {
    let given = headers.get("traceparent").and_then(|v| v.to_str().ok());
    if given.is_some_and(well_formed) {
        let cx = TraceContextPropagator::new().extract(&Headers(headers));
        if cx.span().span_context().is_valid() {
            let _ = span.set_parent(cx);
        }
    }
    let id = span.context().span().span_context().trace_id();
    if id != opentelemetry::TraceId::INVALID {
        span.record("trace_id", tracing::field::display(id));
    }
}

/// A `traceparent` as W3C Trace Context writes it: version, 32 and 16
/// lower-case hex digits, flags, each its full width (the propagator
/// itself would read "00-1-2-01" as trace …0001, merging strangers'
/// calls into one trace). A later version may add fields after a '-'.
fn well_formed(v: &str) -> bool {
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let (Some(head), Some(rest)) = (v.get(..v.len().min(55)), v.get(v.len().min(55)..)) else { return false };
    let parts: Vec<&str> = head.split('-').collect();
    let [version, trace, parent, flags] = parts.as_slice() else { return false };
    hex(version, 2)
        && *version != "ff"
        && hex(trace, 32)
        && hex(parent, 16)
        && hex(flags, 2)
        && (rest.is_empty() || (*version != "00" && rest.starts_with('-')))
}

/// Names the current span anew (a REST call, known by its route only once
/// the handler has matched it). The span's context exists by then (its
/// parent was set), so the exported span itself is renamed.
pub fn rename_current_span(name: String) {
    let span = tracing::Span::current();
    span.record("otel.name", name.as_str());
    span.context().span().update_name(name);
}

/// The current span's W3C trace context as headers for a call made on its
/// behalf (empty when traces are off).
pub fn trace_headers() -> HashMap<String, String> {
    let mut carrier = HashMap::new();
    let cx = tracing::Span::current().context();
    if cx.span().span_context().is_valid() {
        TraceContextPropagator::new().inject_context(&cx, &mut carrier);
    }
    carrier
}

/// The trace the current span belongs to (None when traces are off).
pub fn current_trace_id() -> Option<String> {
    let id = tracing::Span::current().context().span().span_context().trace_id();
    (id != opentelemetry::TraceId::INVALID).then(|| id.to_string())
}

/// The same, only when the trace is sampled (it reaches the collector).
pub fn current_sampled_trace_id() -> Option<String> {
    let cx = tracing::Span::current().context();
    let span = cx.span();
    let sc = span.span_context();
    (sc.is_valid() && sc.is_sampled()).then(|| sc.trace_id().to_string())
}

/// Marks the current RPC span with its gRPC status code, and as an error
/// when the code is the server's fault (OpenTelemetry's rule for gRPC
/// servers: UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL,
/// UNAVAILABLE, DATA_LOSS).
pub fn record_outcome(code: i32) {
    let span = tracing::Span::current();
    span.record("rpc.grpc.status_code", code);
    if matches!(code, 2 | 4 | 12 | 13 | 14 | 15) {
        span.record("otel.status_code", "ERROR");
    }
}

#[cfg(test)]
mod tests {
    use super::well_formed;

    #[test]
    fn only_a_full_width_traceparent_continues_a_trace() {
        assert!(well_formed("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
        assert!(well_formed("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-later"));
        for bad in [
            "00-1111-aaaa-01",
            "00-1-2-01",
            "00-+af76f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "garbage",
            "",
        ] {
            assert!(!well_formed(bad), "{bad:?} continued a trace");
        }
    }
}
