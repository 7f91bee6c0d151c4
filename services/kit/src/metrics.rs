//! Prometheus text-format metrics for one server: RPC counts by method and
//! code, latency histograms by method, calls in flight, and counters the
//! service adds itself (the gateway's backend errors). Served at `/metrics`
//! on the service's own port. Times are kept in whole microseconds.

use std::{
    collections::BTreeMap,
    fmt::Write,
    sync::{
        Arc, Mutex,
        atomic::{AtomicI64, Ordering},
    },
    task::{Context, Poll},
    time::Instant,
};

use http::{Request, Response};

/// Upper bounds of the latency buckets, in microseconds.
const BUCKETS_US: [u64; 14] = [
    250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000, 10_000_000,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS_US.len()],
    count: u64,
    sum_us: u64,
}

#[derive(Default)]
struct State {
    rpcs: BTreeMap<(String, String), u64>,
    latency: BTreeMap<String, Histogram>,
    counters: BTreeMap<(&'static str, String), u64>,
    help: BTreeMap<&'static str, &'static str>,
}

/// One server's metrics; cheap to clone.
#[derive(Clone, Default)]
pub struct Metrics {
    state: Arc<Mutex<State>>,
    in_flight: Arc<AtomicI64>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

/// Seconds from microseconds without floating point: "0.000250".
fn seconds(us: u64) -> String {
    format!("{}.{:06}", us / 1_000_000, us % 1_000_000)
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }

    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut state)
    }

    /// Records one finished RPC.
    pub fn record_rpc(&self, method: &str, code: &str, elapsed_us: u64) {
        self.with(|s| {
            *s.rpcs.entry((method.to_owned(), code.to_owned())).or_default() += 1;
            let h = s.latency.entry(method.to_owned()).or_default();
            h.count += 1;
            h.sum_us += elapsed_us;
            for (i, bound) in BUCKETS_US.iter().enumerate() {
                if elapsed_us <= *bound {
                    h.counts[i] += 1;
                }
            }
        });
    }

    /// Adds one to a service's own counter, e.g.
    /// `incr("attain_gateway_backend_errors_total", "…", &[("backend", "review")])`.
    pub fn incr(&self, name: &'static str, help: &'static str, labels: &[(&str, &str)]) {
        let labels = labels.iter().map(|(k, v)| format!("{k}=\"{}\"", escape(v))).collect::<Vec<_>>().join(",");
        self.with(|s| {
            s.help.insert(name, help);
            *s.counters.entry((name, labels)).or_default() += 1;
        });
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let in_flight = self.in_flight.load(Ordering::Relaxed);
        self.with(|s| {
            let _ = writeln!(out, "# HELP attain_rpc_requests_total RPCs served, by method and gRPC code.");
            let _ = writeln!(out, "# TYPE attain_rpc_requests_total counter");
            for ((method, code), n) in &s.rpcs {
                let _ = writeln!(out, "attain_rpc_requests_total{{method=\"{}\",code=\"{code}\"}} {n}", escape(method));
            }
            let _ = writeln!(out, "# HELP attain_rpc_duration_seconds RPC latency, by method.");
            let _ = writeln!(out, "# TYPE attain_rpc_duration_seconds histogram");
            for (method, h) in &s.latency {
                let m = escape(method);
                for (bound, n) in BUCKETS_US.iter().zip(h.counts) {
                    let _ = writeln!(
                        out,
                        "attain_rpc_duration_seconds_bucket{{method=\"{m}\",le=\"{}\"}} {n}",
                        seconds(*bound)
                    );
                }
                let _ = writeln!(out, "attain_rpc_duration_seconds_bucket{{method=\"{m}\",le=\"+Inf\"}} {}", h.count);
                let _ = writeln!(out, "attain_rpc_duration_seconds_sum{{method=\"{m}\"}} {}", seconds(h.sum_us));
                let _ = writeln!(out, "attain_rpc_duration_seconds_count{{method=\"{m}\"}} {}", h.count);
            }
            let _ = writeln!(out, "# HELP attain_rpc_in_flight RPCs being served now.");
            let _ = writeln!(out, "# TYPE attain_rpc_in_flight gauge");
            let _ = writeln!(out, "attain_rpc_in_flight {in_flight}");
            let mut last = "";
            for ((name, labels), n) in &s.counters {
                if *name != last {
                    let help = s.help.get(name).copied().unwrap_or("");
                    let _ = writeln!(out, "# HELP {name} {help}");
                    let _ = writeln!(out, "# TYPE {name} counter");
                    last = name;
                }
                let _ = writeln!(out, "{name}{{{labels}}} {n}");
            }
        });
        out
    }
}

/// Records every gRPC call passing through (REST and page requests are
/// counted through the gRPC calls they make).
#[derive(Clone, Debug)]
pub struct MetricsLayer(pub Metrics);

impl<S> tower::Layer<S> for MetricsLayer {
    type Service = Recorded<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Recorded { inner, metrics: self.0.clone() }
    }
}

#[derive(Clone, Debug)]
pub struct Recorded<S> {
    inner: S,
    metrics: Metrics,
}

impl<S, B, RB> tower::Service<Request<B>> for Recorded<S>
where
    S: tower::Service<Request<B>, Response = Response<RB>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    RB: Send + 'static,
{
    type Response = Response<RB>;
    type Error = S::Error;
    type Future = std::pin::Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let grpc = request
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/grpc"));
        let method = request.uri().path().to_owned();
        let fut = self.inner.call(request);
        if !grpc {
            return Box::pin(fut);
        }
        let metrics = self.metrics.clone();
        metrics.in_flight.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        Box::pin(async move {
            let result = fut.await;
            metrics.in_flight.fetch_sub(1, Ordering::Relaxed);
            let elapsed = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
            // Errors returned by a handler travel trailers-only, so the code
            // is in the headers; a streamed reply's code is in its trailers
            // and counts as OK here.
            let code = match &result {
                Ok(r) => r.headers().get("grpc-status").and_then(|v| v.to_str().ok()).map_or("OK", code_name),
                Err(_) => "UNAVAILABLE",
            };
            metrics.record_rpc(&method, code, elapsed);
            result
        })
    }
}

fn code_name(n: &str) -> &'static str {
    match n {
        "0" => "OK",
        "1" => "CANCELLED",
        "2" => "UNKNOWN",
        "3" => "INVALID_ARGUMENT",
        "4" => "DEADLINE_EXCEEDED",
        "5" => "NOT_FOUND",
        "6" => "ALREADY_EXISTS",
        "7" => "PERMISSION_DENIED",
        "8" => "RESOURCE_EXHAUSTED",
        "9" => "FAILED_PRECONDITION",
        "10" => "ABORTED",
        "11" => "OUT_OF_RANGE",
        "12" => "UNIMPLEMENTED",
        "13" => "INTERNAL",
        "14" => "UNAVAILABLE",
        "15" => "DATA_LOSS",
        "16" => "UNAUTHENTICATED",
        _ => "UNKNOWN",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counts_histograms_and_counters() {
        let m = Metrics::new();
        m.record_rpc("/a.v1.S/Get", "OK", 300);
        m.record_rpc("/a.v1.S/Get", "NOT_FOUND", 20_000);
        m.incr("attain_gateway_backend_errors_total", "Backend failures.", &[("backend", "review")]);
        let text = m.render();
        assert!(text.contains("attain_rpc_requests_total{method=\"/a.v1.S/Get\",code=\"OK\"} 1"), "{text}");
        assert!(text.contains("attain_rpc_duration_seconds_bucket{method=\"/a.v1.S/Get\",le=\"0.000250\"} 0"));
        assert!(text.contains("attain_rpc_duration_seconds_bucket{method=\"/a.v1.S/Get\",le=\"0.000500\"} 1"));
        assert!(text.contains("attain_rpc_duration_seconds_bucket{method=\"/a.v1.S/Get\",le=\"+Inf\"} 2"));
        assert!(text.contains("attain_rpc_duration_seconds_sum{method=\"/a.v1.S/Get\"} 0.020300"));
        assert!(text.contains("# TYPE attain_gateway_backend_errors_total counter"));
        assert!(text.contains("attain_gateway_backend_errors_total{backend=\"review\"} 1"));
    }

    #[test]
    fn seconds_are_exact() {
        assert_eq!(seconds(0), "0.000000");
        assert_eq!(seconds(1_500_001), "1.500001");
    }
}
