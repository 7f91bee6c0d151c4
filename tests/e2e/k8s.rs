//! The Kubernetes manifests as rendered (`kubectl kustomize` of each
//! overlay) keep the deployment's invariants: every container non-root,
//! read-only, without capabilities, with limits; every Attain container with
//! gRPC startup/readiness/liveness probes, a preStop pause and worker
//! threads from its CPU limit; every pod selected by a NetworkPolicy and the
//! default deny; a Service port named grpc, an HPA and a PDB per service;
//! migrations before start; each service's ConfigMap a valid configuration.
//! (`.ci/run` also validates the same output against the Kubernetes schema.)

use std::process::Command;

use serde_yaml::Value;

const SERVICES: [(&str, u16); 5] =
    [("target", 50051), ("tracking", 50052), ("review", 50053), ("notify", 50054), ("gateway", 50050)];

fn render(overlay: &str) -> Vec<Value> {
    let dir = format!("{}/k8s/overlays/{overlay}", env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("kubectl")
        .args(["kustomize", &dir])
        .output()
        .unwrap_or_else(|e| panic!("kubectl is needed to render k8s/ ({e}); .ci/run checks for it"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    serde_yaml::Deserializer::from_str(&text).map(|d| serde::Deserialize::deserialize(d).unwrap()).collect()
}

fn kind(doc: &Value) -> &str {
    doc["kind"].as_str().unwrap_or("")
}

fn name(doc: &Value) -> &str {
    doc["metadata"]["name"].as_str().unwrap_or("")
}

fn of_kind<'a>(docs: &'a [Value], k: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| kind(d) == k).collect()
}

fn seq(v: &Value) -> Vec<&Value> {
    v.as_sequence().map(|s| s.iter().collect()).unwrap_or_default()
}

/// Whether a selector's matchLabels all hold for `labels` (an empty
/// selector matches every pod).
fn selects(selector: &Value, labels: &Value) -> bool {
    match selector["matchLabels"].as_mapping() {
        None => selector.as_mapping().is_none_or(|m| m.is_empty()),
        Some(m) => m.iter().all(|(k, v)| labels[k.as_str().unwrap()] == *v),
    }
}

fn check(overlay: &str) {
    let docs = render(overlay);
    let workloads: Vec<&Value> = docs.iter().filter(|d| matches!(kind(d), "Deployment" | "StatefulSet")).collect();
    assert!(workloads.len() >= 4, "{overlay}: {} workloads", workloads.len());
    let policies = of_kind(&docs, "NetworkPolicy");
    let mut problems = Vec::new();

    for w in &workloads {
        let pod = &w["spec"]["template"]["spec"];
        let labels = &w["spec"]["template"]["metadata"]["labels"];
        let who = format!("{overlay}/{}", name(w));
        let pod_non_root = pod["securityContext"]["runAsNonRoot"] == Value::Bool(true);
        if pod["automountServiceAccountToken"] != Value::Bool(false) {
            problems.push(format!("{who}: mounts a service account token"));
        }
        let containers: Vec<(&Value, bool)> = seq(&pod["containers"])
            .into_iter()
            .map(|c| (c, false))
            .chain(seq(&pod["initContainers"]).into_iter().map(|c| (c, true)))
            .collect();
        for (c, init) in containers {
            let cw = format!("{who}/{}", c["name"].as_str().unwrap_or("?"));
            let sc = &c["securityContext"];
            if !(pod_non_root || sc["runAsNonRoot"] == Value::Bool(true)) {
                problems.push(format!("{cw}: may run as root"));
            }
            if sc["readOnlyRootFilesystem"] != Value::Bool(true) {
                problems.push(format!("{cw}: writable root filesystem"));
            }
            if sc["allowPrivilegeEscalation"] != Value::Bool(false) {
                problems.push(format!("{cw}: privilege escalation allowed"));
            }
            if !seq(&sc["capabilities"]["drop"]).iter().any(|v| v.as_str() == Some("ALL")) {
                problems.push(format!("{cw}: capabilities not dropped"));
            }
            for r in ["cpu", "memory"] {
                if c["resources"]["limits"][r].is_null() || c["resources"]["requests"][r].is_null() {
                    problems.push(format!("{cw}: no {r} request/limit"));
                }
            }
            if !init && (c["readinessProbe"].is_null() || c["livenessProbe"].is_null()) {
                problems.push(format!("{cw}: missing probes"));
            }
        }
        if !policies.iter().any(|p| selects(&p["spec"]["podSelector"], labels)) {
            problems.push(format!("{who}: no NetworkPolicy selects its pods"));
        }
    }

    // The default deny covers both directions for every pod.
    let deny = policies.iter().find(|p| name(p) == "attain-default-deny").expect("a default-deny policy");
    assert!(selects(&deny["spec"]["podSelector"], &Value::Null));
    assert_eq!(seq(&deny["spec"]["policyTypes"]).len(), 2);

    for (svc, port) in SERVICES {
        let app = format!("attain-{svc}");
        let d = of_kind(&docs, "Deployment").into_iter().find(|d| name(d) == app).unwrap();
        let pod = &d["spec"]["template"]["spec"];
        let c = &pod["containers"][0];
        for probe in ["startupProbe", "readinessProbe"] {
            // dev: gRPC probes on the service port; prod serves TLS, which
            // the kubelet's gRPC probes do not speak: the admin port's
            // /readyz answers what grpc.health.v1 answers.
            let grpc = c[probe]["grpc"]["port"].as_u64() == Some(u64::from(port));
            let readyz = c[probe]["httpGet"]["path"] == "/readyz" && c[probe]["httpGet"]["port"] == "metrics";
            if !(if overlay.starts_with("prod") { readyz } else { grpc }) {
                problems.push(format!("{overlay}/{app}: {probe} is not the health probe"));
            }
        }
        // Liveness is the process alone: a database outage must not restart pods.
        let live = &c["livenessProbe"];
        if live["httpGet"]["path"] != "/livez" || live["httpGet"]["port"] != "metrics" || !live["grpc"].is_null() {
            problems.push(format!("{overlay}/{app}: livenessProbe is not /livez on the admin port"));
        }
        // prod: TLS on every hop, mutual TLS into the services, upstreams
        // over https, certificates from cert-manager.
        if overlay.starts_with("prod") {
            let env = |name: &str| {
                seq(&c["env"])
                    .into_iter()
                    .find(|e| e["name"] == name)
                    .and_then(|e| e["value"].as_str())
                    .map(str::to_owned)
            };
            let secret = format!("attain-{svc}-tls");
            let mounted = seq(&pod["volumes"]).iter().any(|v| v["secret"]["secretName"] == secret.as_str());
            let issued = of_kind(&docs, "Certificate").iter().any(|x| x["spec"]["secretName"] == secret.as_str());
            if env("APP__SERVER__TLS_CERT_FILE").is_none() || !mounted || !issued {
                problems.push(format!("{overlay}/{app}: no certificate of its own"));
            }
            // Identity: the provider's tokens, no shared secret, service
            // accounts that sign for themselves.
            let named = |n: &str| seq(&c["env"]).iter().any(|e| e["name"] == n);
            if named("APP__AUTH__HS256_SECRET") || named("APP__JOBS__SERVICE_TOKEN") || !named("APP__AUTH__OIDC_ISSUER")
            {
                problems.push(format!("{overlay}/{app}: a shared signing secret, or no identity provider"));
            }
            if matches!(svc, "tracking" | "gateway" | "notify" | "review")
                && (env("APP__JOBS__SERVICE_ACCOUNT").is_none() || env("APP__JOBS__SIGNING_KEY_FILE").is_none())
            {
                problems.push(format!("{overlay}/{app}: its service account has no key of its own"));
            }
            if svc != "gateway" && env("APP__SERVER__CLIENT_CA_FILE").is_none() {
                problems.push(format!("{overlay}/{app}: does not require client certificates"));
            }
            for up in ["target", "tracking", "review", "notify"] {
                let url = env(&format!("APP__UPSTREAM__{}_URL", up.to_uppercase()));
                if url.as_deref().is_some_and(|u| !u.starts_with("https://"))
                    || (url.is_some() && env("APP__UPSTREAM__CLIENT_CERT_FILE").is_none())
                {
                    problems.push(format!("{overlay}/{app}: calls {up} without mutual TLS"));
                }
            }
        }
        // Metrics on the admin port only, scraped there.
        let admin =
            seq(&c["ports"]).iter().any(|p| p["name"] == "metrics" && p["containerPort"].as_u64() == Some(9090));
        let annotations = &d["spec"]["template"]["metadata"]["annotations"];
        if !admin || annotations["prometheus.io/port"].as_str() != Some("9090") {
            problems.push(format!("{overlay}/{app}: /metrics is not on the admin port 9090"));
        }
        let reflection = seq(&c["env"]).into_iter().find(|e| e["name"] == "APP__SERVER__REFLECTION").cloned();
        if overlay.starts_with("prod") && reflection.map(|e| e["value"].clone()) != Some("false".into()) {
            problems.push(format!("{overlay}/{app}: reflection is not switched off"));
        }
        if c["lifecycle"]["preStop"].is_null() {
            problems.push(format!("{overlay}/{app}: no preStop"));
        }
        let threads = seq(&c["env"]).into_iter().find(|e| e["name"] == "TOKIO_WORKER_THREADS").cloned();
        if threads.map(|t| t["valueFrom"]["resourceFieldRef"]["resource"].clone()) != Some("limits.cpu".into()) {
            problems.push(format!("{overlay}/{app}: TOKIO_WORKER_THREADS not from the CPU limit"));
        }
        let has_db = svc != "gateway";
        let migrates = seq(&pod["initContainers"]).iter().any(|i| {
            seq(&i["command"]).iter().map(|v| v.as_str().unwrap_or("")).collect::<Vec<_>>()
                == ["/app/attain", "migrate", svc]
        });
        if has_db != migrates {
            problems.push(format!(
                "{overlay}/{app}: migration init container {}",
                if has_db { "missing" } else { "unexpected" }
            ));
        }
        let service = of_kind(&docs, "Service").into_iter().find(|s| name(s) == app).unwrap();
        if !seq(&service["spec"]["ports"])
            .iter()
            .any(|p| p["name"] == "grpc" && p["port"].as_u64() == Some(u64::from(port)))
        {
            problems.push(format!("{overlay}/{app}: Service has no port named grpc"));
        }
        if !of_kind(&docs, "ServiceAccount").iter().any(|s| name(s) == app) || pod["serviceAccountName"] != app.as_str()
        {
            problems.push(format!("{overlay}/{app}: no ServiceAccount of its own"));
        }
        if !of_kind(&docs, "HorizontalPodAutoscaler")
            .iter()
            .any(|h| h["spec"]["scaleTargetRef"]["name"] == app.as_str())
        {
            problems.push(format!("{overlay}/{app}: no HorizontalPodAutoscaler"));
        }
        let pod_labels = &d["spec"]["template"]["metadata"]["labels"];
        if !of_kind(&docs, "PodDisruptionBudget").iter().any(|p| selects(&p["spec"]["selector"], pod_labels)) {
            problems.push(format!("{overlay}/{app}: no PodDisruptionBudget"));
        }

        // The ConfigMap is a configuration the service accepts (unknown keys fail).
        let cm =
            of_kind(&docs, "ConfigMap").into_iter().find(|c| name(c).starts_with(&format!("{app}-config"))).unwrap();
        let toml = cm["data"][format!("{svc}.toml").as_str()].as_str().unwrap();
        let file = std::env::temp_dir().join(format!("attain-k8s-{overlay}-{svc}-{}.toml", std::process::id()));
        std::fs::write(&file, toml).unwrap();
        // With the literal APP__… values the Deployment sets (unknown keys
        // fail here too).
        let literal: Vec<(String, String)> = seq(&c["env"])
            .into_iter()
            .filter_map(|e| Some((e["name"].as_str()?.to_owned(), e["value"].as_str()?.to_owned())))
            .filter(|(n, _)| n.starts_with("APP__"))
            .collect();
        let loaded = attain_kit::configuration::Settings::load_from(svc, port, file.to_str(), literal);
        let _ = std::fs::remove_file(&file);
        match loaded {
            Ok(s) => {
                assert_eq!(s.server.port, port);
                if overlay.starts_with("prod") {
                    assert_eq!(s.auth.service_keys.len(), 4, "{overlay}/{app}: {:?}", s.auth.service_keys);
                    assert_eq!(s.auth.role_claim, "attain_role");
                }
                assert_eq!(s.server.admin_port, 9090, "{overlay}/{app}");
                assert!(s.server.rate_limit_per_caller > 0 && s.server.rate_limit_unauthenticated_per_address > 0);
            }
            Err(e) => problems.push(format!("{overlay}/{app}: ConfigMap is not a valid configuration: {e:#}")),
        }

        // Only the callers DESIGN.md names reach the service.
        let policy = policies.iter().find(|p| name(p) == app).unwrap();
        let allowed: Vec<String> = seq(&policy["spec"]["ingress"])
            .iter()
            .flat_map(|rule| seq(&rule["from"]))
            .filter_map(|from| from["podSelector"]["matchLabels"]["app.kubernetes.io/name"].as_str().map(str::to_owned))
            .collect();
        let expected: &[&str] = match svc {
            "target" => &["attain-gateway", "attain-tracking", "attain-review", "attain-notify"],
            "tracking" => &["attain-gateway", "attain-review", "attain-notify"],
            "review" => &["attain-gateway", "attain-notify"],
            "notify" => &["attain-gateway"],
            _ => &[],
        };
        if allowed != expected {
            problems.push(format!("{overlay}/{app}: reachable from {allowed:?}, expected {expected:?}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_dev_overlay_keeps_the_invariants() {
    check("dev");
    // Each service reaches only its own database.
    let docs = render("dev");
    for svc in ["target", "tracking", "review", "notify"] {
        let p =
            of_kind(&docs, "NetworkPolicy").into_iter().find(|p| name(p) == format!("attain-{svc}-database")).unwrap();
        let to = &p["spec"]["egress"][0]["to"][0]["podSelector"]["matchLabels"]["attain.dev/database-of"];
        assert_eq!(to.as_str(), Some(svc));
    }
    assert_eq!(of_kind(&docs, "StatefulSet").len(), 4, "a PostgreSQL per service");
}

#[test]
fn the_prod_overlay_keeps_the_invariants() {
    check("prod");
    let docs = render("prod");
    assert!(of_kind(&docs, "StatefulSet").is_empty(), "prod uses external databases");
    assert!(!of_kind(&docs, "Ingress").is_empty());
    assert!(of_kind(&docs, "Secret").is_empty(), "prod secrets are not in the repository");
    // Found from outside: default deny kept every pod from the identity
    // provider's keys, so none would ever be ready. Each service may reach
    // HTTPS.
    for (svc, _) in SERVICES {
        let app = format!("attain-{svc}");
        let https = of_kind(&docs, "NetworkPolicy").into_iter().any(|p| {
            let picks = seq(&p["spec"]["podSelector"]["matchExpressions"]).iter().any(|e| {
                e["key"].as_str() == Some("app.kubernetes.io/name")
                    && seq(&e["values"]).iter().any(|v| v.as_str() == Some(app.as_str()))
            }) || p["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"].as_str()
                == Some(app.as_str());
            picks
                && seq(&p["spec"]["egress"])
                    .iter()
                    .any(|rule| seq(&rule["ports"]).iter().any(|port| port["port"].as_u64() == Some(443)))
        });
        assert!(https, "{app} may reach the identity provider (HTTPS)");
    }
}

/// The monitoring component adds its three objects to prod and changes
/// nothing else; its PodMonitor selects every Attain pod by a label each
/// carries, on the port they name `metrics`, which the NetworkPolicies
/// open to namespaces labelled for it (and traces go out to a collector's).
#[test]
fn the_monitored_overlay_is_prod_plus_monitoring() {
    check("prod-monitored");
    let (prod, monitored) = (render("prod"), render("prod-monitored"));
    let added: Vec<(&str, &str)> = monitored.iter().filter(|d| !prod.contains(d)).map(|d| (kind(d), name(d))).collect();
    assert_eq!(
        added,
        [("ConfigMap", "attain-grafana-dashboard"), ("PodMonitor", "attain"), ("PrometheusRule", "attain")],
        "only the monitoring objects are added"
    );
    assert!(prod.iter().all(|d| monitored.contains(d)), "nothing of prod changes");
    for d in monitored.iter().filter(|d| !prod.contains(d)) {
        assert_eq!(d["metadata"]["namespace"].as_str(), Some("attain"), "{}", name(d));
    }
    let monitor = of_kind(&monitored, "PodMonitor")[0];
    let wanted = seq(&monitor["spec"]["selector"]["matchExpressions"][0]["values"]);
    assert_eq!(monitor["spec"]["podMetricsEndpoints"][0]["port"].as_str(), Some("metrics"));
    for (svc, _) in SERVICES {
        let app = format!("attain-{svc}");
        assert!(wanted.iter().any(|v| v.as_str() == Some(app.as_str())), "{app} is scraped");
        let deployment = of_kind(&monitored, "Deployment").into_iter().find(|d| name(d) == app).unwrap();
        let pod = &deployment["spec"]["template"];
        assert_eq!(pod["metadata"]["labels"]["app.kubernetes.io/name"].as_str(), Some(app.as_str()));
        let ports = seq(&pod["spec"]["containers"][0]["ports"]);
        assert!(
            ports.iter().any(|p| p["name"].as_str() == Some("metrics") && p["containerPort"].as_u64() == Some(9090)),
            "{app} names its admin port metrics"
        );
        // The scrape is let in by one policy for every Attain pod, from
        // namespaces the operator labels; so are traces out.
        for (policy, direction, peers, label, port) in [
            ("attain-allow-metrics-scrape", "ingress", "from", "attain.dev/scrape-metrics", 9090),
            ("attain-allow-otlp-egress", "egress", "to", "attain.dev/otlp-collector", 4317),
        ] {
            let p = of_kind(&monitored, "NetworkPolicy").into_iter().find(|p| name(p) == policy).unwrap();
            let pods = seq(&p["spec"]["podSelector"]["matchExpressions"][0]["values"]);
            assert!(pods.iter().any(|v| v.as_str() == Some(app.as_str())), "{policy} covers {app}");
            let open = seq(&p["spec"][direction]).into_iter().any(|rule| {
                seq(&rule[peers]).iter().any(|f| f["namespaceSelector"]["matchLabels"][label].as_str() == Some("true"))
                    && seq(&rule["ports"]).iter().any(|p| p["port"].as_u64() == Some(port))
            });
            assert!(open, "{app}: {policy} opens {port} to namespaces labelled {label}");
        }
        let env = seq(&pod["spec"]["containers"][0]["env"]);
        let otlp = env.iter().find(|e| e["name"].as_str() == Some("OTEL_EXPORTER_OTLP_ENDPOINT")).unwrap();
        assert_eq!(otlp["valueFrom"]["configMapKeyRef"]["optional"].as_bool(), Some(true), "{app}: traces optional");
    }
    let dashboard =
        of_kind(&monitored, "ConfigMap").into_iter().find(|c| name(c) == "attain-grafana-dashboard").unwrap();
    assert_eq!(dashboard["metadata"]["labels"]["grafana_dashboard"].as_str(), Some("1"));
    let json: serde_json::Value = serde_json::from_str(dashboard["data"]["attain.json"].as_str().unwrap()).unwrap();
    assert_eq!(json["uid"].as_str(), Some("attain-suite"));
}
