//! One process serving the whole suite (`attain up`, `demo`) still names
//! each span's service, as separate processes would: every span is tagged
//! `attain.service` — a server span by the service that answers it, any
//! other by its parent's, a background job's by its own — and exported
//! under the resource `service.name = attain-<service>`, through one batch
//! processor per service. A trace backend then shows the gateway, tracking
//! and target as the services they are, not one "attain-suite".

use std::{collections::HashMap, sync::Mutex, time::Duration};

use opentelemetry::{
    Context, KeyValue,
    trace::{Span as _, SpanId, TraceContextExt},
};
use opentelemetry_sdk::{
    Resource,
    error::OTelSdkResult,
    trace::{BatchSpanProcessor, Span, SpanData, SpanProcessor},
};

/// The span attribute naming the service a span belongs to.
pub const ATTRIBUTE: &str = "attain.service";

/// The suite's services; spans of none of them go to the process's own.
const SERVICES: [&str; 5] = ["target", "tracking", "review", "notify", "gateway"];

/// Whether a process named `process` serves one service of the suite.
pub fn serves_one(process: &str) -> bool {
    SERVICES.contains(&process)
}

#[derive(Debug)]
pub struct PerService {
    /// Each service's processor; the last is the process's own.
    inner: Vec<(String, BatchSpanProcessor)>,
    /// Spans started and not yet ended: which service each is.
    open: Mutex<HashMap<SpanId, usize>>,
}

impl PerService {
    /// `make` builds one batch processor (with its own exporter) each.
    pub fn new(process: &str, make: impl Fn() -> anyhow::Result<BatchSpanProcessor>) -> anyhow::Result<Self> {
        let mut inner = Vec::new();
        for s in SERVICES.iter().copied().chain([process]) {
            inner.push((s.to_owned(), make()?));
        }
        Ok(Self { inner, open: Mutex::default() })
    }

    fn own(&self) -> usize {
        self.inner.len() - 1
    }

    fn index(&self, service: &str) -> Option<usize> {
        self.inner.iter().position(|(s, _)| s == service)
    }
}

fn attribute(attributes: &[KeyValue]) -> Option<String> {
    attributes.iter().find(|kv| kv.key.as_str() == ATTRIBUTE).map(|kv| kv.value.as_str().into_owned())
}

impl SpanProcessor for PerService {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        let own = span.exported_data().and_then(|d| attribute(&d.attributes)).and_then(|s| self.index(&s));
        let Ok(mut open) = self.open.lock() else { return };
        let at = match own {
            Some(i) => i,
            None => {
                let parent = cx.span().span_context().span_id();
                let i = open.get(&parent).copied().unwrap_or_else(|| self.own());
                span.set_attribute(KeyValue::new(ATTRIBUTE, self.inner[i].0.clone()));
                i
            }
        };
        open.insert(span.span_context().span_id(), at);
        drop(open);
        self.inner[at].1.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        let at = self
            .open
            .lock()
            .ok()
            .and_then(|mut open| open.remove(&span.span_context.span_id()))
            .or_else(|| attribute(&span.attributes).and_then(|s| self.index(&s)))
            .unwrap_or_else(|| self.own());
        self.inner[at].1.on_end(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.iter().map(|(_, p)| p.force_flush()).find(Result::is_err).unwrap_or(Ok(()))
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.iter().map(|(_, p)| p.shutdown_with_timeout(timeout)).find(Result::is_err).unwrap_or(Ok(()))
    }

    fn set_resource(&mut self, resource: &Resource) {
        for (service, p) in &mut self.inner {
            let kvs = resource.iter().map(|(k, v)| KeyValue::new(k.clone(), v.clone()));
            let named =
                Resource::builder_empty().with_attributes(kvs).with_service_name(format!("attain-{service}")).build();
            p.set_resource(&named);
        }
    }
}
