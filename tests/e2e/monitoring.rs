//! What operators are shipped matches what the services expose: every
//! metric the monitoring component's alert rules and Grafana dashboard
//! query (`k8s/components/monitoring`) is one a service serves on its
//! `/metrics`, of the type the query assumes (a `_bucket` of a histogram,
//! a `_total` of a counter, a gauge otherwise); and after the guide's
//! example has run, the series an operator watches first hold data:
//! deals ingested, alert lag, statement latency, pool connections, cache
//! lookups. (`.ci/monitoring` parses the same queries with promtool and
//! runs the rules' unit tests.)

use std::{collections::BTreeSet, time::Duration};

use attain_kit::{
    auth::Role,
    http_client::request,
    testing::{Backend, token},
};
use attain_proto::attain::gateway::v1::{self as pb, gateway_service_client::GatewayServiceClient};
use tonic::{Request, transport::Channel};

use crate::support::Suite;

fn component(file: &str) -> String {
    let path = format!("{}/k8s/components/monitoring/{file}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every PromQL expression the component ships.
fn queries() -> Vec<String> {
    let rules: serde_yaml::Value = serde_yaml::from_str(&component("prometheus-rules.yaml")).unwrap();
    let mut out: Vec<String> = rules["spec"]["groups"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_sequence().unwrap().iter())
        .map(|r| r["expr"].as_str().unwrap().to_owned())
        .collect();
    let dashboard: serde_json::Value = serde_json::from_str(&component("grafana-dashboard.json")).unwrap();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            out.push(target["expr"].as_str().unwrap().to_owned());
        }
    }
    out
}

/// The `attain_…` metric names an expression reads.
fn attain_metrics(expr: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = expr;
    while let Some(at) = rest.find("attain_") {
        let name: String =
            rest[at..].chars().take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_').collect();
        rest = &rest[at + name.len()..];
        out.insert(name);
    }
    out
}

/// The metric a series name belongs to and the type it must have.
fn family(series: &str) -> (&str, &'static str) {
    for (suffix, kind) in
        [("_bucket", "histogram"), ("_count", "histogram"), ("_sum", "histogram"), ("_total", "counter")]
    {
        if let Some(base) = series.strip_suffix(suffix) {
            return (base, kind);
        }
    }
    (series, "gauge")
}

/// The value of the first sample whose line starts with `prefix`.
fn sample(text: &str, prefix: &str) -> Option<f64> {
    text.lines().find(|l| l.starts_with(prefix)).and_then(|l| l.split(' ').nth(1)).and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_operators_query_is_what_the_services_expose() {
    // With a service account, so tracking's alert evaluator runs.
    let account = token("svc-tracking", Role::Admin, "");
    let mut suite = Suite::start_with(
        Backend::Sqlite,
        |s| s.jobs.service_token = Some(secrecy::SecretString::from(account.clone())),
        |_| {},
    )
    .await;
    suite.seed().await;
    let channel = Channel::from_shared(format!("http://{}", suite.gateway.addr)).unwrap().connect().await.unwrap();
    let mut client = GatewayServiceClient::new(channel);
    let dashboard = |period: &str| {
        let mut call = Request::new(pb::GetDashboardRequest {
            unit: "units/region-a".into(),
            period: period.into(),
            ..Default::default()
        });
        call.metadata_mut()
            .insert("authorization", format!("Bearer {}", token("ops", Role::Admin, "")).parse().unwrap());
        call
    };
    // A miss, then a hit.
    client.get_dashboard(dashboard("2024-01")).await.unwrap();
    client.get_dashboard(dashboard("2024-01")).await.unwrap();

    let scrape = |addr| async move { request(addr, "GET", "/metrics", &[], b"").await.unwrap().text() };
    let mut text = String::new();
    let started = std::time::Instant::now();
    loop {
        let tracking = scrape(suite.tracking.admin).await;
        // The evaluator follows the feed in the background.
        if ["attain_tracking_alert_lag_seconds_count", "attain_tracking_alert_pass_seconds_count"]
            .iter()
            .all(|s| sample(&tracking, s).is_some_and(|n| n > 0.0))
        {
            text.push_str(&tracking);
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no alert lag observed: {tracking}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut each = Vec::new();
    for addr in [suite.target.admin, suite.review.admin, suite.notify.admin] {
        let t = scrape(addr).await;
        text.push_str(&t);
        each.push(t);
    }
    // A backend down: its section fails, and the gateway counts it.
    suite.review.stop().await;
    client.get_dashboard(dashboard("2024-02")).await.unwrap();
    for addr in [suite.gateway.admin] {
        let t = scrape(addr).await;
        text.push_str(&t);
        each.push(t);
    }
    each.push(text.clone());

    // Declared types, by metric.
    let declared: Vec<(&str, &str)> =
        text.lines().filter_map(|l| l.strip_prefix("# TYPE ")).filter_map(|l| l.split_once(' ')).collect();
    let mut missing = Vec::new();
    let queries = queries();
    assert!(queries.len() >= 20, "{} queries", queries.len());
    let mut names = BTreeSet::new();
    for q in &queries {
        names.extend(attain_metrics(q));
    }
    assert!(names.len() >= 15, "{names:?}");
    for series in &names {
        let (base, kind) = family(series);
        match declared.iter().find(|(n, _)| *n == base) {
            Some((_, k)) if *k == kind => {}
            Some((_, k)) => missing.push(format!("{series}: queried as a {kind}, exposed as a {k}")),
            None => missing.push(format!("{series}: no service exposes {base}")),
        }
    }
    assert!(missing.is_empty(), "{missing:#?}");

    // The series watched first hold data after the guide's example.
    let positive = |prefix: &str| {
        let v = sample(&text, prefix);
        assert!(v.is_some_and(|v| v > 0.0), "{prefix}: {v:?}");
    };
    positive(r#"attain_tracking_deals_ingested_total{outcome="stored"}"#);
    positive(r#"attain_db_statement_duration_seconds_count{kind="select"}"#);
    positive(r#"attain_db_statement_duration_seconds_count{kind="insert"}"#);
    positive(r#"attain_gateway_dashboard_cache_lookups_total{result="hit"}"#);
    positive(r#"attain_gateway_dashboard_cache_lookups_total{result="miss"}"#);
    positive("attain_gateway_dashboard_cache_entries");
    positive("attain_gateway_backend_errors_total");
    // Target, review and notify each have a pool; the gateway has no database.
    for t in &each[..3] {
        assert!(sample(t, "attain_db_pool_connections ").is_some_and(|n| n >= 1.0), "{t}");
        assert!(sample(t, "attain_db_pool_max_connections ").is_some_and(|n| n >= 1.0), "{t}");
    }
    assert!(!each[3].contains("attain_db_pool"), "the gateway has no database");
    assert!(
        sample(&text, r#"attain_tracking_feed_lag_rows{feed="rollup_changes",reader="alert-evaluator"}"#).is_some(),
        "the evaluator's feed lag"
    );
}
