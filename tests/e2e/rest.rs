//! REST/JSON, the OpenAPI document and grpc-web through the gateway, with
//! the guide's example loaded: the figures match the gRPC answers, and
//! every kind of bad input gets its HTTP status with the gRPC details.

use std::{net::SocketAddr, time::Duration};

use crate::support::Suite;
use attain_kit::{
    auth::{Role, TokenMinter},
    both_backends,
    http_client::{Reply, request, stream_lines},
    testing::{Backend, TEST_SECRET, token},
};
use attain_proto::attain::gateway::v1::{self as pb, gateway_service_client::GatewayServiceClient};
use secrecy::SecretString;
use serde_json::{Value, json};
use tonic::transport::Channel;

/// The gateway's request size cap in this suite.
const MAX_BODY: usize = 64 * 1024;

fn bearer(person: &str, role: Role, unit: &str) -> Vec<(&'static str, String)> {
    vec![("authorization", format!("Bearer {}", token(person, role, unit)))]
}

async fn get(gw: SocketAddr, path: &str, auth: &[(&str, String)]) -> Reply {
    request(gw, "GET", path, auth, b"").await.unwrap()
}

async fn post(gw: SocketAddr, path: &str, auth: &[(&str, String)], body: &[u8]) -> Reply {
    let mut headers = auth.to_vec();
    headers.push(("content-type", "application/json".into()));
    request(gw, "POST", path, &headers, body).await.unwrap()
}

/// The error's gRPC status name, after checking the HTTP status.
fn error(reply: &Reply, http: u16) -> Value {
    assert_eq!(reply.status, http, "{}", reply.text());
    let e = reply.json()["error"].clone();
    assert_eq!(e["code"], http);
    e
}

fn violation_fields(e: &Value) -> Vec<String> {
    e["details"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["@type"] == "type.googleapis.com/google.rpc.BadRequest")
        .flat_map(|d| d["fieldViolations"].as_array().unwrap().iter().map(|v| v["field"].as_str().unwrap().to_owned()))
        .collect()
}

async fn rest_through_the_gateway(backend: Backend) {
    let suite = Suite::start(backend, |s| s.server.max_message_bytes = MAX_BODY).await;
    suite.seed().await;
    let gw = suite.gateway.addr;
    let manager = bearer("wang", Role::Manager, "region-a");
    let rep = bearer("rep-1", Role::Rep, "rep-1");

    // The OpenAPI document is generated and served (no token needed).
    let doc = get(gw, "/openapi.json", &[]).await;
    assert_eq!(doc.status, 200, "{doc:?}");
    let doc = doc.json();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/v1/{unit}/dashboard"]["get"].is_object());

    // The dashboard as JSON carries the figures the gRPC call gives.
    let d = get(gw, "/v1/units/region-a/dashboard?period=2024-01", &manager).await;
    assert_eq!(d.status, 200, "{}", d.text());
    assert_eq!(d.header("content-type"), Some("application/json"));
    let d = d.json();
    let channel = Channel::from_shared(format!("http://{gw}")).unwrap().connect().await.unwrap();
    let mut req = tonic::Request::new(pb::GetDashboardRequest {
        unit: "units/region-a".into(),
        period: "2024-01".into(),
        ..Default::default()
    });
    req.metadata_mut().insert("authorization", manager[0].1.parse().unwrap());
    let g = GatewayServiceClient::new(channel).get_dashboard(req).await.unwrap().into_inner();
    let ga = g.attainment.unwrap();
    assert_eq!(d["attainment"]["actual"]["amount"], ga.actual.unwrap().amount);
    assert_eq!(d["attainment"]["target"]["amount"], ga.target.unwrap().amount);
    assert_eq!(d["attainment"]["actual"]["amount"], "119000.00");
    assert_eq!(d["children"].as_array().unwrap().len(), g.children.len());
    for (json, grpc) in d["children"].as_array().unwrap().iter().zip(&g.children) {
        assert_eq!(json["unit"], grpc.unit);
        assert_eq!(json["actual"]["amount"], grpc.actual.as_ref().unwrap().amount);
        assert_eq!(
            json["status"].as_str().unwrap(),
            attain_proto::attain::common::v1::Status::try_from(grpc.status).unwrap().as_str_name()
        );
    }
    assert!(d["openAlerts"].as_array().unwrap().iter().any(|a| a["unit"] == "units/rep-1"));

    // Scope: a rep reads its own figures, not another rep's.
    let mine = get(gw, "/v1/units/rep-1/attainment?period=2024-01", &rep).await;
    assert_eq!(mine.status, 200, "{}", mine.text());
    assert_eq!(mine.json()["actual"]["amount"], "40000.00");
    let e = error(&get(gw, "/v1/units/rep-2/attainment?period=2024-01", &rep).await, 403);
    assert_eq!(e["status"], "PERMISSION_DENIED");

    // Periods that do not parse name the field.
    for bad in ["2024-Q5", "2024-13"] {
        let e = error(&get(gw, &format!("/v1/units/region-a/dashboard?period={bad}"), &manager).await, 400);
        assert_eq!(e["status"], "INVALID_ARGUMENT");
        assert!(violation_fields(&e).contains(&"period".to_owned()), "{bad}: {e}");
    }

    // Identity: none, and a token for another audience.
    assert_eq!(error(&get(gw, "/v1/caller", &[]).await, 401)["status"], "UNAUTHENTICATED");
    let foreign = TokenMinter::hs256(&SecretString::from(TEST_SECRET), "attain", "some-other-api")
        .mint("wang", Role::Manager, "region-a", 600)
        .unwrap();
    let e = error(&get(gw, "/v1/caller", &[("authorization", format!("Bearer {foreign}"))]).await, 401);
    assert_eq!(e["status"], "UNAUTHENTICATED");
    let me = get(gw, "/v1/caller", &manager).await.json();
    assert_eq!((me["person"].as_str(), me["role"].as_str()), (Some("wang"), Some("ROLE_MANAGER")));

    // A path id that does not exist.
    let admin = bearer("ops", Role::Admin, "");
    let e = error(&get(gw, "/v1/units/no-such-unit", &admin).await, 404);
    assert_eq!(e["status"], "NOT_FOUND");
    assert!(e["details"].as_array().unwrap().iter().any(|d| d["resourceName"] == "units/no-such-unit"), "{e}");
    assert_eq!(error(&get(gw, "/v1/no/such/route", &admin).await, 404)["status"], "NOT_FOUND");
    assert_eq!(
        error(&request(gw, "DELETE", "/v1/units/region-a/dashboard", &admin, b"").await.unwrap(), 405)["status"],
        "UNIMPLEMENTED"
    );

    // Writes: malformed JSON and unknown fields are refused, not ignored.
    let e = error(&post(gw, "/v1/deals", &rep, br#"{"deal": {"rep": "units/rep-1""#).await, 400);
    assert!(e["message"].as_str().unwrap().contains("not valid JSON"), "{e}");
    let deal = |extra: Value| {
        let mut d = json!({
            "deal": { "rep": "units/rep-1", "amount": { "currencyCode": "CNY", "amount": "1500.00" },
                      "closeDate": "2024-01-16", "customer": "REST 客户" },
            "requestId": "rest-deal-1",
        });
        if let (Some(obj), Value::Object(more)) = (d["deal"].as_object_mut(), extra) {
            obj.extend(more);
        }
        serde_json::to_vec(&d).unwrap()
    };
    let e = error(&post(gw, "/v1/deals", &rep, &deal(json!({ "discount": "10%" }))).await, 400);
    assert!(e["message"].as_str().unwrap().contains("discount"), "{e}");
    let created = post(gw, "/v1/deals", &rep, &deal(json!({}))).await;
    assert_eq!(created.status, 200, "{}", created.text());
    assert_eq!(created.json()["amount"]["amount"], "1500.00");
    // The same request id again is the same deal, not a second one.
    let again = post(gw, "/v1/deals", &rep, &deal(json!({}))).await.json();
    assert_eq!(again["name"], created.json()["name"]);
    let mine = get(gw, "/v1/units/rep-1/attainment?period=2024-01", &rep).await.json();
    assert_eq!(mine["actual"]["amount"], "41500.00");

    // page_size far above the cap is served at the cap, not refused.
    let page = get(gw, "/v1/units/region-a/deals?period=2024-01&page_size=100000", &manager).await;
    assert_eq!(page.status, 200, "{}", page.text());
    assert!(page.json()["deals"].as_array().unwrap().len() <= 1000);

    // A body over the size limit.
    let huge = vec![b' '; MAX_BODY + 1];
    assert_eq!(error(&post(gw, "/v1/deals", &rep, &huge).await, 413)["status"], "RESOURCE_EXHAUSTED");

    // Request ids come back on REST replies.
    let mut with_id = manager.clone();
    with_id.push(("x-request-id", "rest-trace-42".into()));
    assert_eq!(get(gw, "/v1/caller", &with_id).await.header("x-request-id"), Some("rest-trace-42"));
    // And in every REST error, as gRPC errors carry it: a service's refusal
    // and the gateway's own (no such route).
    let info = |e: &Value| {
        e["details"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["@type"] == "type.googleapis.com/google.rpc.RequestInfo")
            .map(|d| d["requestId"].as_str().unwrap().to_owned())
    };
    let refused = get(gw, "/v1/units/region-a/deals?period=2024-13", &with_id).await;
    assert_eq!(info(&error(&refused, 400)).as_deref(), Some("rest-trace-42"), "{}", refused.text());
    let nowhere = get(gw, "/v1/no/such/route", &with_id).await;
    assert_eq!(info(&error(&nowhere, 404)).as_deref(), Some("rest-trace-42"), "{}", nowhere.text());

    // The live alert feed as NDJSON: the open alert first.
    let (status, lines) =
        stream_lines(gw, "/v1/units/region-a/alerts:watch?include_open=true", &manager, 1, Duration::from_secs(5))
            .await
            .unwrap();
    assert_eq!(status, 200);
    let first: Value = serde_json::from_str(lines.first().expect("an alert line")).unwrap();
    assert!(["units/region-a", "units/rep-1"].contains(&first["alert"]["unit"].as_str().unwrap()), "{first}");
    assert_eq!(first["alert"]["state"], "ALERT_STATE_OPEN");

    // grpc-web (what a browser speaks) works through the gateway: an empty
    // GetCallerRequest frame in, a Caller frame and the trailers out.
    let mut headers = manager.clone();
    headers.push(("content-type", "application/grpc-web+proto".into()));
    headers.push(("x-grpc-web", "1".into()));
    let web =
        request(gw, "POST", "/attain.gateway.v1.GatewayService/GetCaller", &headers, &[0, 0, 0, 0, 0]).await.unwrap();
    assert_eq!(web.status, 200);
    assert!(web.header("content-type").unwrap().starts_with("application/grpc-web"));
    let text = String::from_utf8_lossy(&web.body);
    assert!(text.contains("wang") && text.contains("grpc-status:0"), "{text:?}");
}

both_backends!(rest_through_the_gateway);

/// Over the per-caller rate limit, REST answers 429 with Retry-After (the
/// gRPC side answers RESOURCE_EXHAUSTED; `tests/dashboard.rs`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_rate_limit_is_429() {
    let suite = Suite::start(Backend::Sqlite, |s| {
        s.server.rate_limit_per_caller = 1;
        s.server.rate_limit_burst = 2;
    })
    .await;
    let me = bearer("wang", Role::Manager, "region-a");
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let r = get(suite.gateway.addr, "/v1/caller", &me).await;
        if r.status == 429 {
            assert_eq!(r.header("retry-after"), Some("1"));
            assert_eq!(r.json()["error"]["status"], "RESOURCE_EXHAUSTED");
        }
        statuses.push(r.status);
    }
    assert_eq!(&statuses[..2], &[200, 200], "{statuses:?}");
    assert!(statuses.contains(&429), "{statuses:?}");
    // Another caller has its own budget.
    assert_eq!(get(suite.gateway.addr, "/v1/caller", &bearer("li", Role::Manager, "region-b")).await.status, 200);
}

/// Limits are on by default (in code, so `attain up`, the ConfigMaps and
/// every server get them), and calls without a valid token are limited by
/// source address: a flood of bad tokens is refused with 429 /
/// RESOURCE_EXHAUSTED after its burst — over REST, over the gateway's gRPC
/// and on a service's own port — while a signed-in caller from the same
/// address still gets through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthenticated_calls_are_limited_per_address_by_default() {
    let defaults = attain_kit::configuration::ServerSettings::default();
    assert!(defaults.rate_limit_per_caller > 0 && defaults.rate_limit_unauthenticated_per_address > 0);
    let per_address = defaults.rate_limit_unauthenticated_per_address;
    let suite =
        Suite::start_with(Backend::Sqlite, |s| s.server.rate_limit_unauthenticated_per_address = per_address, |_| {})
            .await;
    let forged = vec![("authorization", "Bearer not-a-token".to_owned())];
    let mut statuses = Vec::new();
    for _ in 0..per_address * 3 {
        statuses.push(get(suite.gateway.addr, "/v1/caller", &forged).await.status);
    }
    let burst = usize::try_from(per_address * 2).unwrap();
    assert!(statuses[..burst / 2].iter().all(|s| *s == 401), "{statuses:?}");
    assert!(statuses.contains(&429), "the flood is cut off: {statuses:?}");
    assert_eq!(get(suite.gateway.addr, "/v1/caller", &bearer("wang", Role::Manager, "region-a")).await.status, 200);
    // A service's own port: the same, by gRPC.
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", suite.target.addr))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut org = attain_proto::attain::target::v1::org_service_client::OrgServiceClient::new(channel);
    let mut codes = Vec::new();
    for _ in 0..per_address * 3 {
        let mut r = tonic::Request::new(attain_proto::attain::target::v1::GetUnitRequest { name: "units/acme".into() });
        r.metadata_mut().insert("authorization", "Bearer forged".parse().unwrap());
        codes.push(org.get_unit(r).await.unwrap_err().code());
    }
    assert_eq!(codes[0], tonic::Code::Unauthenticated);
    assert!(codes.contains(&tonic::Code::ResourceExhausted), "{codes:?}");
    // The refusals are counted on the admin port.
    let text = attain_kit::http_client::request(suite.target.admin, "GET", "/metrics", &[], b"").await.unwrap().text();
    assert!(text.lines().any(|l| l.starts_with("attain_rpc_rate_limited_total ") && !l.ends_with(" 0")), "{text}");
}

/// Found from outside: 200 calls to random 200-character method names with
/// no token grew `/metrics` by a megabyte, on the gateway and on tracking.
/// Method labels now come from the known method table, so those calls share
/// one `unknown` series, and `/metrics` is not on the public port at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_method_names_do_not_grow_metrics() {
    let suite = Suite::start(Backend::Sqlite, |_| {}).await;
    let metrics =
        |addr| async move { attain_kit::http_client::request(addr, "GET", "/metrics", &[], b"").await.unwrap().text() };
    for (name, addr, admin) in
        [("gateway", suite.gateway.addr, suite.gateway.admin), ("tracking", suite.tracking.addr, suite.tracking.admin)]
    {
        let channel = Channel::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap();
        let call = |i: usize| {
            let channel = channel.clone();
            async move {
                let mut grpc = tonic::client::Grpc::new(channel);
                grpc.ready().await.unwrap();
                let path = format!("/attain.tracking.v1.TrackingService/{}{i}", "x".repeat(200)).parse().unwrap();
                let request = tonic::Request::new(bytes::Bytes::new());
                grpc.unary(request, path, attain_gateway::rest::codec::RawCodec).await.unwrap_err()
            }
        };
        // Series carrying a method label: 200 new names would be hundreds
        // more; the suite's own background calls (feeds, pollers) may add a
        // few of their own meanwhile.
        let series = |text: &str| text.lines().filter(|l| l.contains("method=\"")).count();
        call(0).await;
        let before = series(&metrics(admin).await);
        for i in 1..=200 {
            let status = call(i).await;
            assert!(!status.message().contains("h2"), "{name}: {status:?}");
        }
        let after = metrics(admin).await;
        assert!(series(&after) < before + 40, "{name}: method series grew from {before} to {}", series(&after));
        assert!(after.contains(r#"method="unknown""#), "{name}: {after}");
        assert!(!after.contains("xxxxxxxx"), "{name}: a caller's method name became a label");
    }
}

/// REST reaches the gateway's gRPC side in process, not over a loopback
/// connection: at `concurrency_limit`, REST and gRPC calls mixed complete
/// or are shed cleanly with RESOURCE_EXHAUSTED (an outer REST call never
/// holds a slot while its inner call waits for another, so none runs to
/// its deadline), and each REST call is counted once, under its method.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_is_served_in_process() {
    let suite = Suite::start_with(
        Backend::Sqlite,
        |_| {},
        |g| {
            g.server.concurrency_limit = 2;
            g.server.queue_timeout_ms = 100;
            // Every dashboard fans out: calls hold their slots a while.
            g.cache.dashboard_ttl_ms = 0;
            g.server.request_timeout_ms = 60_000;
        },
    )
    .await;
    suite.seed().await;
    let gw = suite.gateway.addr;
    let manager = bearer("wang", Role::Manager, "region-a");
    let path = "/v1/units/region-a/dashboard?period=2024-01";
    let metric = r#"attain_rpc_requests_total{method="/attain.gateway.v1.GatewayService/GetDashboard",code="OK"}"#;
    let served = || async {
        let text =
            attain_kit::http_client::request(suite.gateway.admin, "GET", "/metrics", &[], b"").await.unwrap().text();
        text.lines().find_map(|l| l.strip_prefix(metric).map(|v| v.trim().parse::<u64>().unwrap())).unwrap_or(0)
    };
    let before = served().await;
    assert_eq!(get(gw, path, &manager).await.status, 200);
    assert_eq!(served().await, before + 1, "one REST call, one sample under its gRPC method");

    let channel = Channel::from_shared(format!("http://{gw}")).unwrap().connect().await.unwrap();
    let started = std::time::Instant::now();
    let mut calls = Vec::new();
    for i in 0..32 {
        let (manager, channel) = (manager.clone(), channel.clone());
        calls.push(tokio::spawn(async move {
            if i % 2 == 0 {
                let r = get(gw, path, &manager).await;
                match r.status {
                    200 => "ok",
                    429 => {
                        assert_eq!(r.json()["error"]["status"], "RESOURCE_EXHAUSTED", "{}", r.text());
                        assert_eq!(r.header("retry-after"), Some("1"));
                        "shed"
                    }
                    other => panic!("REST call {i}: HTTP {other} {}", r.text()),
                }
            } else {
                let mut r = tonic::Request::new(pb::GetDashboardRequest {
                    unit: "units/region-a".into(),
                    period: "2024-01".into(),
                    ..Default::default()
                });
                r.metadata_mut().insert("authorization", manager[0].1.parse().unwrap());
                match GatewayServiceClient::new(channel).get_dashboard(r).await {
                    Ok(_) => "ok",
                    Err(e) if e.code() == tonic::Code::ResourceExhausted => "shed",
                    Err(e) => panic!("gRPC call {i}: {e:?}"),
                }
            }
        }));
    }
    let mut outcomes = Vec::new();
    for c in calls {
        outcomes.push(c.await.unwrap());
    }
    assert!(outcomes.contains(&"ok"), "{outcomes:?}");
    assert!(started.elapsed() < Duration::from_secs(60), "no call waited to its deadline");
}

/// Found from outside: a body that is not the method's message, or one
/// that ended before any message, was answered INTERNAL — counted as a
/// server fault, paging on-call. It is the caller's error:
/// INVALID_ARGUMENT, through the gateway and directly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_garbled_request_body_is_the_callers_error() {
    let suite = Suite::start(Backend::Sqlite, |_| {}).await;
    for (name, addr, admin) in
        [("gateway", suite.gateway.addr, suite.gateway.admin), ("target", suite.target.addr, suite.target.admin)]
    {
        let channel = Channel::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap();
        let mut grpc = tonic::client::Grpc::new(channel);
        grpc.ready().await.unwrap();
        let mut request = tonic::Request::new(bytes::Bytes::from_static(&[0xff, 0xff, 0xff, 0x07, 0x0a]));
        let bearer = format!("Bearer {}", token("ops", Role::Admin, "")).parse().unwrap();
        request.metadata_mut().insert("authorization", bearer);
        let path = "/attain.target.v1.OrgService/GetUnit".parse().unwrap();
        let status = grpc.unary(request, path, attain_gateway::rest::codec::RawCodec).await.unwrap_err();
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{name}: {status:?}");
        assert!(status.message().contains("not this method's request message"), "{name}: {}", status.message());
        // No message at all (a caller that went away before sending it).
        grpc.ready().await.unwrap();
        let mut empty = tonic::Request::new(futures::stream::empty::<bytes::Bytes>());
        empty
            .metadata_mut()
            .insert("authorization", format!("Bearer {}", token("ops", Role::Admin, "")).parse().unwrap());
        let path = "/attain.target.v1.OrgService/GetUnit".parse().unwrap();
        let status = grpc.client_streaming(empty, path, attain_gateway::rest::codec::RawCodec).await.unwrap_err();
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{name}: {status:?}");
        assert!(status.message().contains("carried no message"), "{name}: {}", status.message());
        let metrics = request_metrics(admin).await;
        assert!(
            metrics.lines().any(|l| l.starts_with("attain_rpc_requests_total{")
                && l.contains("GetUnit")
                && l.contains("code=\"INVALID_ARGUMENT\"")),
            "{name}: counted as the caller's error"
        );
        assert!(!metrics.lines().any(|l| l.contains("GetUnit") && l.contains("code=\"INTERNAL\"")), "{name}");
    }
}

async fn request_metrics(admin: SocketAddr) -> String {
    request(admin, "GET", "/metrics", &[], b"").await.unwrap().text()
}
