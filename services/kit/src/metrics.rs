//! Prometheus metrics for one server, on `prometheus-client` (the
//! Prometheus project's own Rust client: OpenMetrics text, typed label sets,
//! exemplars): RPC counts by method and code, latency histograms by method
//! (each bucket's last call's trace id as an exemplar when traces are on),
//! calls in flight, calls shed and rate-limited, and series a service adds
//! itself ([`Metrics::counter`], [`Metrics::gauge`], [`Metrics::histogram`];
//! gauges read when scraped through [`Metrics::on_scrape`]).
//!
//! Labels are bounded: a method label is a method of the suite's descriptor
//! set (or health / reflection), anything else — a random path sent without
//! a token — is `unknown`; codes are the 17 gRPC codes. So no caller can
//! grow `/metrics`, which is served on the admin port, not the public one.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex, OnceLock},
    task::{Context, Poll},
    time::{Instant, SystemTime},
};

use http::{Request, Response};
use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{counter::Counter, exemplar::HistogramWithExemplars, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};
use prost::Message;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 16] =
    [0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 30.0, 60.0];

/// What a call that is not gRPC on the wire was as an RPC (the gateway's
/// REST calls, answered by its gRPC side in process): set on its response,
/// so it is counted once, under its method and code.
#[derive(Clone, Copy, Debug)]
pub struct RpcOutcome {
    /// "/package.Service/Method".
    pub path: &'static str,
    pub code: tonic::Code,
}

/// The label a method outside the known table is counted under.
pub const UNKNOWN_METHOD: &str = "unknown";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RpcLabels {
    method: &'static str,
    code: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodLabel {
    method: &'static str,
}

/// An exemplar's label: the trace a latency was measured in.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TraceLabel {
    trace_id: String,
}

/// Labels of a service's own series: fixed keys, values from code (never
/// from a request).
type OwnLabels = Vec<(&'static str, String)>;

fn own_labels(labels: &[(&'static str, &str)]) -> OwnLabels {
    labels.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
}

/// A service's own counter family; cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Counters(Family<OwnLabels, Counter>);

impl Counters {
    pub fn inc(&self, labels: &[(&'static str, &str)]) {
        self.0.get_or_create(&own_labels(labels)).inc();
    }

    pub fn inc_by(&self, labels: &[(&'static str, &str)], n: u64) {
        self.0.get_or_create(&own_labels(labels)).inc_by(n);
    }

    /// Starts these series at zero, so a rate over them reads 0 before the
    /// first event rather than no data (and the metric is listed at all).
    pub fn starting_at_zero(self, label_sets: &[&[(&'static str, &str)]]) -> Self {
        for labels in label_sets {
            drop(self.0.get_or_create(&own_labels(labels)));
        }
        self
    }
}

/// A service's own gauge family; cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Gauges(Family<OwnLabels, Gauge>);

impl Gauges {
    pub fn set(&self, labels: &[(&'static str, &str)], value: i64) {
        self.0.get_or_create(&own_labels(labels)).set(value);
    }

    pub fn add(&self, labels: &[(&'static str, &str)], delta: i64) {
        self.0.get_or_create(&own_labels(labels)).inc_by(delta);
    }

    /// Starts these series at zero (see [`Counters::starting_at_zero`]).
    pub fn starting_at_zero(self, label_sets: &[&[(&'static str, &str)]]) -> Self {
        for labels in label_sets {
            drop(self.0.get_or_create(&own_labels(labels)));
        }
        self
    }
}

/// A service's own histogram family (the latency buckets, in seconds);
/// cheap to clone.
#[derive(Clone, Debug)]
pub struct Histograms(Family<OwnLabels, Histogram>);

impl Default for Histograms {
    fn default() -> Self {
        Self(Family::new_with_constructor((|| Histogram::new(BUCKETS.iter().copied())) as fn() -> Histogram))
    }
}

impl Histograms {
    pub fn observe(&self, labels: &[(&'static str, &str)], seconds: f64) {
        self.0.get_or_create(&own_labels(labels)).observe(seconds);
    }
}

type Latency = HistogramWithExemplars<TraceLabel>;

/// What a scrape runs first: sets gauges read from elsewhere (a pool's
/// connections, a cache's size).
type Probe = Box<dyn Fn() + Send + Sync>;

/// Every "/package.Service/Method" the suite defines, plus health and
/// reflection: the only values a method label can take.
fn known_methods() -> &'static HashSet<&'static str> {
    static KNOWN: OnceLock<HashSet<&'static str>> = OnceLock::new();
    KNOWN.get_or_init(|| {
        let mut out: HashSet<&'static str> = [
            "/grpc.health.v1.Health/Check",
            "/grpc.health.v1.Health/Watch",
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        ]
        .into_iter()
        .collect();
        if let Ok(set) = prost_types::FileDescriptorSet::decode(attain_proto::FILE_DESCRIPTOR_SET) {
            for file in set.file {
                for service in &file.service {
                    for method in &service.method {
                        let path = format!("/{}.{}/{}", file.package(), service.name(), method.name());
                        // Leaked once per method at start-up: a bounded table.
                        out.insert(Box::leak(path.into_boxed_str()));
                    }
                }
            }
        }
        out
    })
}

/// The label for a request path: the method, or [`UNKNOWN_METHOD`].
pub fn method_label(path: &str) -> &'static str {
    known_methods().get(path).copied().unwrap_or(UNKNOWN_METHOD)
}

struct Inner {
    registry: Mutex<Registry>,
    rpcs: Family<RpcLabels, Counter>,
    latency: Family<MethodLabel, Latency>,
    in_flight: Gauge,
    shed: Counter,
    rate_limited: Counter,
    /// The service's own families by name: one registration each, and a
    /// second caller of the same name gets the same series.
    counters: Mutex<HashMap<&'static str, Counters>>,
    gauges: Mutex<HashMap<&'static str, Gauges>>,
    histograms: Mutex<HashMap<&'static str, Histograms>>,
    probes: Mutex<Vec<Probe>>,
}

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One server's metrics; cheap to clone.
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let rpcs = Family::<RpcLabels, Counter>::default();
        let latency = Family::<MethodLabel, Latency>::new_with_constructor(
            (|| Latency::new(BUCKETS.iter().copied())) as fn() -> Latency,
        );
        let in_flight = Gauge::default();
        let (shed, rate_limited) = (Counter::default(), Counter::default());
        registry.register("attain_rpc_requests", "RPCs served, by method and gRPC code", rpcs.clone());
        registry.register("attain_rpc_duration_seconds", "RPC latency, by method", latency.clone());
        registry.register("attain_rpc_in_flight", "RPCs being served now", in_flight.clone());
        registry.register("attain_rpc_shed", "Calls refused because the server was at capacity", shed.clone());
        registry.register(
            "attain_rpc_rate_limited",
            "Calls refused by a per-caller or per-address rate limit",
            rate_limited.clone(),
        );
        Self(Arc::new(Inner {
            registry: Mutex::new(registry),
            rpcs,
            latency,
            in_flight,
            shed,
            rate_limited,
            counters: Mutex::default(),
            gauges: Mutex::default(),
            histograms: Mutex::default(),
            probes: Mutex::default(),
        }))
    }

    /// Records one finished RPC (`path` is bounded to the known methods),
    /// with the trace it ran in, if any, as its bucket's exemplar.
    pub fn record_rpc(&self, path: &str, code: &str, elapsed_seconds: f64) {
        let method = method_label(path);
        self.0.rpcs.get_or_create(&RpcLabels { method, code: code_name(code) }).inc();
        // Only a trace that was kept: an exemplar must lead somewhere.
        let exemplar = crate::telemetry::current_sampled_trace_id().map(|trace_id| TraceLabel { trace_id });
        self.0.latency.get_or_create(&MethodLabel { method }).observe(
            elapsed_seconds,
            exemplar,
            Some(SystemTime::now()),
        );
    }

    pub fn shed(&self) {
        self.0.shed.inc();
    }

    pub fn rate_limited(&self) {
        self.0.rate_limited.inc();
    }

    /// Adds one to a service's own counter, e.g.
    /// `incr("attain_gateway_backend_errors", "…", &[("backend", "review")])`.
    pub fn incr(&self, name: &'static str, help: &'static str, labels: &[(&'static str, &str)]) {
        self.counter(name, help).inc(labels);
    }

    /// A service's own counter family, registered on first use (exposed
    /// with a `_total` suffix). Names come from code, never from a request.
    pub fn counter(&self, name: &'static str, help: &'static str) -> Counters {
        let name = name.trim_end_matches("_total");
        self.own(&self.0.counters, name, help, |c: &Counters| c.0.clone())
    }

    /// A service's own gauge family, registered on first use.
    pub fn gauge(&self, name: &'static str, help: &'static str) -> Gauges {
        self.own(&self.0.gauges, name, help, |g: &Gauges| g.0.clone())
    }

    /// A service's own histogram family (seconds), registered on first use.
    pub fn histogram(&self, name: &'static str, help: &'static str) -> Histograms {
        self.own(&self.0.histograms, name, help, |h: &Histograms| h.0.clone())
    }

    fn own<F, M>(
        &self,
        families: &Mutex<HashMap<&'static str, F>>,
        name: &'static str,
        help: &'static str,
        metric: impl Fn(&F) -> M,
    ) -> F
    where
        F: Clone + Default,
        M: prometheus_client::registry::Metric,
    {
        locked(families)
            .entry(name)
            .or_insert_with(|| {
                let family = F::default();
                locked(&self.0.registry).register(name, help, metric(&family));
                family
            })
            .clone()
    }

    /// Runs `probe` at every scrape, before the text is written (to set
    /// gauges whose truth lives elsewhere).
    pub fn on_scrape(&self, probe: impl Fn() + Send + Sync + 'static) {
        locked(&self.0.probes).push(Box::new(probe));
    }

    /// The OpenMetrics text exposition.
    pub fn render(&self) -> String {
        for probe in locked(&self.0.probes).iter() {
            probe();
        }
        let mut out = String::new();
        let registry = locked(&self.0.registry);
        if encode(&mut out, &registry).is_err() {
            tracing::error!("metrics could not be encoded");
        }
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
        let method = method_label(request.uri().path());
        let deadline = if grpc { request_timeout(request.headers()) } else { None };
        let fut = self.inner.call(request);
        let metrics = self.metrics.clone();
        if !grpc {
            let started = Instant::now();
            return Box::pin(async move {
                let result = fut.await;
                if let Ok(r) = &result
                    && let Some(o) = r.extensions().get::<RpcOutcome>()
                {
                    crate::telemetry::record_outcome(o.code as i32);
                    let code = (o.code as i32).to_string();
                    metrics.record_rpc(o.path, &code, started.elapsed().as_secs_f64());
                }
                result
            });
        }
        metrics.0.in_flight.inc();
        let mut call = InFlight { metrics, method, started: Instant::now(), deadline, done: false };
        Box::pin(async move {
            let result = fut.await;
            // Errors returned by a handler travel trailers-only, so the code
            // is in the headers; a streamed reply's code is in its trailers
            // and counts as OK here. A body the client reset before it was
            // read is the client going away, not a server fault.
            let code = match &result {
                Ok(r) => match r.headers().get("grpc-status").and_then(|v| v.to_str().ok()) {
                    Some("13")
                        if r.headers()
                            .get("grpc-message")
                            .is_some_and(|m| m == "Missing%20request%20message" || m == "Missing request message") =>
                    {
                        "1"
                    }
                    Some(code) => code,
                    None => "0",
                },
                Err(_) => "14",
            };
            call.finish(code);
            result
        })
    }
}

/// A gRPC call being served: counted in flight until it ends, however it
/// ends. A call dropped before answering (the client cancelled, or its
/// deadline passed and the server stopped it) is counted too, as
/// DEADLINE_EXCEEDED when its `grpc-timeout` had passed, else CANCELLED —
/// so a server too slow for its callers shows in errors and latency.
struct InFlight {
    metrics: Metrics,
    method: &'static str,
    started: Instant,
    deadline: Option<std::time::Duration>,
    done: bool,
}

impl InFlight {
    fn finish(&mut self, code: &str) {
        self.done = true;
        crate::telemetry::record_outcome(code.parse().unwrap_or(2));
        self.metrics.0.in_flight.dec();
        self.metrics.record_rpc(self.method, code, self.started.elapsed().as_secs_f64());
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if !self.done {
            let late = self.deadline.is_some_and(|d| self.started.elapsed() >= d);
            self.finish(if late { "4" } else { "1" });
        }
    }
}

/// A call's `grpc-timeout` ("100m", "5S", …).
fn request_timeout(headers: &http::HeaderMap) -> Option<std::time::Duration> {
    let v = headers.get("grpc-timeout")?.to_str().ok()?;
    let (n, unit) = v.split_at(v.len().checked_sub(1)?);
    let n: u64 = n.parse().ok()?;
    Some(match unit {
        "H" => std::time::Duration::from_secs(n.saturating_mul(3600)),
        "M" => std::time::Duration::from_secs(n.saturating_mul(60)),
        "S" => std::time::Duration::from_secs(n),
        "m" => std::time::Duration::from_millis(n),
        "u" => std::time::Duration::from_micros(n),
        "n" => std::time::Duration::from_nanos(n),
        _ => return None,
    })
}

/// A status code as metrics label it ("PERMISSION_DENIED").
pub fn code_label(code: tonic::Code) -> &'static str {
    code_name(&(code as i32).to_string())
}

/// The name of a gRPC status code given as its number (or already a name).
fn code_name(n: &str) -> &'static str {
    const NAMES: [&str; 17] = [
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    ];
    n.parse::<usize>()
        .ok()
        .and_then(|i| NAMES.get(i))
        .or_else(|| NAMES.iter().find(|x| **x == n))
        .copied()
        .unwrap_or("UNKNOWN")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counts_histograms_and_counters() {
        let m = Metrics::new();
        let get = "/attain.target.v1.OrgService/GetUnit";
        m.record_rpc(get, "0", 0.0003);
        m.record_rpc(get, "5", 0.02);
        m.incr("attain_gateway_backend_errors_total", "Backend failures", &[("backend", "review")]);
        m.shed();
        let text = m.render();
        assert!(text.contains(&format!("attain_rpc_requests_total{{method=\"{get}\",code=\"OK\"}} 1")), "{text}");
        assert!(text.contains(&format!("attain_rpc_requests_total{{method=\"{get}\",code=\"NOT_FOUND\"}} 1")));
        assert!(text.contains(&format!("attain_rpc_duration_seconds_bucket{{le=\"0.00025\",method=\"{get}\"}} 0")));
        assert!(text.contains(&format!("attain_rpc_duration_seconds_bucket{{le=\"0.0005\",method=\"{get}\"}} 1")));
        assert!(text.contains(&format!("attain_rpc_duration_seconds_count{{method=\"{get}\"}} 2")));
        assert!(text.contains("# TYPE attain_gateway_backend_errors counter"));
        assert!(text.contains("attain_gateway_backend_errors_total{backend=\"review\"} 1"));
        assert!(text.contains("attain_rpc_shed_total 1"));
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn own_families_start_at_zero_and_gauges_are_read_when_scraped() {
        let m = Metrics::new();
        let rows = m.counter("attain_x_rows_total", "Rows").starting_at_zero(&[&[("outcome", "refused")]]);
        rows.inc_by(&[("outcome", "accepted")], 3);
        assert!(
            m.counter("attain_x_rows", "Rows again").0.get_or_create(&own_labels(&[("outcome", "accepted")])).get()
                == 3,
            "one family per name"
        );
        let depth = m.gauge("attain_x_depth", "Depth");
        let source = Arc::new(std::sync::atomic::AtomicI64::new(7));
        let read = source.clone();
        m.on_scrape(move || depth.set(&[], read.load(std::sync::atomic::Ordering::SeqCst)));
        m.histogram("attain_x_seconds", "Time").observe(&[("kind", "select")], 0.002);
        let text = m.render();
        assert!(text.contains("attain_x_rows_total{outcome=\"refused\"} 0"), "{text}");
        assert!(text.contains("attain_x_rows_total{outcome=\"accepted\"} 3"), "{text}");
        assert!(text.contains("attain_x_depth 7"), "{text}");
        source.store(9, std::sync::atomic::Ordering::SeqCst);
        assert!(m.render().contains("attain_x_depth 9"), "read again at the next scrape");
        assert!(text.contains("attain_x_seconds_bucket{le=\"0.0025\",kind=\"select\"} 1"), "{text}");
    }

    /// Found from outside: 200 calls to random method names with no token
    /// grew /metrics from 0.88 to 1.95 MB. Now they share one label.
    #[test]
    fn unknown_methods_share_one_label() {
        let m = Metrics::new();
        m.record_rpc("/attain.target.v1.OrgService/GetUnit", "0", 0.001);
        let before = m.render().len();
        for i in 0..200 {
            m.record_rpc(&format!("/attain.tracking.v1.TrackingService/{}{i}", "x".repeat(200)), "12", 0.001);
        }
        let text = m.render();
        assert!(text.contains("attain_rpc_requests_total{method=\"unknown\",code=\"UNIMPLEMENTED\"} 200"), "{text}");
        assert!(text.len() < before + 2_000, "one new series, not 200: {} → {}", before, text.len());
        assert_eq!(
            method_label("/attain.review.v1.ReviewService/GetReview"),
            "/attain.review.v1.ReviewService/GetReview"
        );
    }
}
