//! The bad-input table: malformed requests across the public REST routes
//! and gRPC methods — wrong types, huge strings and repeated fields, bad
//! decimals, dates, periods and enum values, missing fields, invalid UTF-8
//! in files. Every one gets a 4xx (or a gRPC code) naming the field; none
//! is a 5xx or INTERNAL; every service is still SERVING afterwards.

use crate::support::Suite;
use attain_kit::{
    auth::Role,
    http_client::request,
    testing::{Backend, token},
};
use attain_proto::attain::tracking::v1::{self as kpb, import_deals_request::Part};
use serde_json::{Value, json};
use tonic::{Request, transport::Channel};
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};

/// One case: method, path (with query), JSON body (None: no body), the
/// HTTP status expected and the field the error must name ("" when the
/// status is not 400: then the message must say what is wrong).
struct Case {
    method: &'static str,
    path: String,
    body: Option<String>,
    status: u16,
    field: String,
}

fn get(path: impl Into<String>, field: &str) -> Case {
    Case { method: "GET", path: path.into(), body: None, status: 400, field: field.into() }
}

fn post(path: &str, body: Value, field: &str) -> Case {
    Case { method: "POST", path: path.into(), body: Some(body.to_string()), status: 400, field: field.into() }
}

fn raw(method: &'static str, path: &str, body: &str, status: u16, field: &str) -> Case {
    Case { method, path: path.into(), body: Some(body.into()), status, field: field.into() }
}

fn deal(overrides: Value) -> Value {
    let mut d = json!({
        "rep": "units/rep-1",
        "amount": {"currencyCode": "CNY", "amount": "100.00"},
        "closeDate": "2024-01-10",
        "customer": "客户",
    });
    for (k, v) in overrides.as_object().unwrap() {
        d[k] = v.clone();
    }
    json!({ "deal": d, "requestId": "bad-input" })
}

fn cases() -> Vec<Case> {
    let mut c = Vec::new();
    let long = "x".repeat(5000);
    // Periods, on every read that takes one.
    let reads = ["attainment", "attainment:children", "burnUp", "gapAttribution", "periodSummary", "lossReasons"];
    for bad in ["2024-13", "2024-00", "abcd", "2024-Q5", "2024-W54", "99999", "２０２４-01", "2024-01-32..2024-02-01"]
    {
        for r in reads {
            c.push(get(format!("/v1/units/region-a/{r}?period={}", urlencode(bad)), "period"));
        }
    }
    // A period the plan covers only partly (ISO week 2025-W01 begins on
    // 2024-12-30, in the fy2024 plan): one INVALID_ARGUMENT naming
    // `period`, whichever service answers. (The period summary and loss
    // reasons read records by calendar days and no plan: any range is
    // theirs to answer.)
    for r in reads.iter().chain(&["dashboard"]).filter(|r| !["periodSummary", "lossReasons"].contains(*r)) {
        c.push(get(format!("/v1/units/region-a/{r}?period=2025-W01"), "period"));
    }
    c.push(get("/v1/plans/fy2024/periodTargets?unit=units/region-a&period=2025-W01", "period"));
    c.push(get(format!("/v1/units/region-a/attainment?period={long}"), "period"));
    c.push(get("/v1/units/region-a/dashboard?period=2024-13", "period"));
    c.push(get("/v1/units/region-a/dashboard", "period"));
    // Dates.
    for bad in ["2024-02-30", "yesterday", "2024/01/16", "16-01-2024", &long] {
        for r in ["attainment", "burnUp", "gapAttribution"] {
            c.push(get(format!("/v1/units/region-a/{r}?period=2024-01&asOfDate={}", urlencode(bad)), "as_of_date"));
        }
    }
    // A day after today (as tried from outside: 2099 was read as if known).
    for r in ["attainment", "burnUp", "gapAttribution", "dashboard"] {
        c.push(get(format!("/v1/units/region-a/{r}?period=2024-01&asOfDate=2099-01-01"), "as_of_date"));
    }
    // Enum values out of range or unknown by name.
    c.push(get("/v1/units/region-a/attainment?period=2024-01&metric=99", "metric"));
    c.push(get("/v1/units/region-a/burnUp?period=2024-01&metric=99", "metric"));
    c.push(get("/v1/units/region-a/attainment?period=2024-01&metric=METRIC_BOGUS", "metric"));
    c.push(get("/v1/units/region-a/alerts?state=42", "state"));
    // Paging.
    for path in ["/v1/units/region-a/deals", "/v1/units", "/v1/plans", "/v1/units/region-a/alerts"] {
        c.push(get(format!("{path}?pageSize=-1"), "page_size"));
        c.push(get(format!("{path}?pageToken=not-a-token"), "page_token"));
    }
    c.push(get("/v1/units/region-a/deals?pageSize=abc", "page_size"));
    // Malformed ids in paths.
    for bad in ["UPPER", "a%20b", "-leading", &"a".repeat(300)] {
        c.push(get(format!("/v1/units/{bad}/attainment?period=2024-01"), "unit"));
    }
    // Deals: every field wrong in its own way.
    for bad in
        ["1e5", "NaN", "1,000", "-5", "0", "12.34567", "0.001", "12.345", "999999999999999999", "", "1 000", "0x10"]
    {
        c.push(post(
            "/v1/deals",
            deal(json!({"amount": {"currencyCode": "CNY", "amount": bad}})),
            "deal.amount.amount",
        ));
    }
    c.push(post("/v1/deals", deal(json!({"amount": {"currencyCode": "CNY", "amount": 12}})), "deal.amount.amount"));
    for bad in ["cny", "CN", "C1Y"] {
        c.push(post(
            "/v1/deals",
            deal(json!({"amount": {"currencyCode": bad, "amount": "1"}})),
            "deal.amount.currency_code",
        ));
    }
    for bad in ["2024-02-30", "tomorrow", "2099-01-01", "", "2024-1-5"] {
        c.push(post("/v1/deals", deal(json!({"closeDate": bad})), "deal.close_date"));
    }
    for bad in ["", "units/", "reps/rep-1", "units/UP", "units/region-a"] {
        c.push(post("/v1/deals", deal(json!({"rep": bad})), "deal.rep"));
    }
    c.push(post("/v1/deals", deal(json!({"customer": long.clone()})), "deal.customer"));
    c.push(post("/v1/deals", deal(json!({"customer": "a\u{0007}b"})), "deal.customer"));
    c.push(post(
        "/v1/deals",
        deal(json!({"dimensions": {"productLine": long.clone(), "customerType": ""}})),
        "deal.dimensions.product_line",
    ));
    c.push(post(
        "/v1/deals",
        deal(json!({"credits": [{"rep": "units/rep-1", "percent": "70"}, {"rep": "units/rep-2", "percent": "20"}]})),
        "deal.credits",
    ));
    c.push(post(
        "/v1/deals",
        deal(json!({"credits": [{"rep": "units/rep-1", "percent": "seventy"}]})),
        "deal.credits[0].percent",
    ));
    let many: Vec<Value> = (0..10_000).map(|i| json!({"rep": format!("units/rep-{i}"), "percent": "0.01"})).collect();
    c.push(post("/v1/deals", deal(json!({ "credits": many })), "deal.credits"));
    let mut no_id = deal(json!({}));
    no_id["requestId"] = json!("");
    c.push(post("/v1/deals", no_id, "request_id"));
    let mut long_id = deal(json!({}));
    long_id["requestId"] = json!("r".repeat(200));
    c.push(post("/v1/deals", long_id, "request_id"));
    let mut unicode_id = deal(json!({}));
    unicode_id["requestId"] = json!("请求-1");
    c.push(post("/v1/deals", unicode_id, "request_id"));
    c.push(post("/v1/deals", json!({"requestId": "no-deal"}), "deal"));
    c.push(post("/v1/deals", json!({"deal": "a string", "requestId": "x"}), "deal"));
    c.push(post("/v1/deals", json!({"deal": {"kind": "DEAL_KIND_NOPE"}, "requestId": "x"}), "deal.kind"));
    c.push(raw("POST", "/v1/deals", "{", 400, "body"));
    c.push(raw("POST", "/v1/deals", "[]", 400, "body"));
    c.push(raw("POST", "/v1/deals", "\"just a string\"", 400, "body"));
    // Daily logs.
    let log = |overrides: Value| {
        let mut l = json!({"rep": "units/rep-1", "logDate": "2024-01-10", "notes": "拜访"});
        for (k, v) in overrides.as_object().unwrap() {
            l[k] = v.clone();
        }
        json!({ "dailyLog": l, "requestId": "bad-log" })
    };
    for bad in ["2024-02-30", "2099-01-01", "x"] {
        c.push(post("/v1/dailyLogs", log(json!({"logDate": bad})), "daily_log.log_date"));
    }
    c.push(post(
        "/v1/dailyLogs",
        log(json!({"lostDeals": [{"customer": "A", "reason": 99, "amount": {"currencyCode": "CNY", "amount": "1"}}]})),
        "daily_log.lost_deals[0].reason",
    ));
    c.push(post(
        "/v1/dailyLogs",
        log(json!({"lostDeals": [{"customer": "A", "reason": "LOSS_REASON_PRICE", "amount": {"currencyCode": "CNY", "amount": "-1"}}]})),
        "daily_log.lost_deals[0].amount",
    ));
    c.push(post("/v1/dailyLogs", log(json!({"notes": "n".repeat(100_000)})), "daily_log.notes"));
    // Closing periods.
    c.push(post("/v1/units/region-a/closes", json!({"period": "2024-13", "requestId": "c"}), "period"));
    c.push(post("/v1/units/region-a/closes", json!({"period": "2023-12"}), "request_id"));
    // Adjustments.
    let adj = |overrides: Value| {
        let mut a = json!({
            "target": "plans/fy2024/targets/rep-1",
            "newAmount": {"currencyCode": "CNY", "amount": "90000"},
            "reason": "ADJUSTMENT_REASON_MARKET",
            "justification": "市场变化",
            "redistribution": "REDISTRIBUTION_PARENT_ABSORBS",
        });
        for (k, v) in overrides.as_object().unwrap() {
            a[k] = v.clone();
        }
        a
    };
    c.push(post(
        "/v1/plans/fy2024/adjustments",
        adj(json!({"newAmount": {"currencyCode": "CNY", "amount": "1e9"}})),
        "adjustment.new_amount.amount",
    ));
    c.push(post("/v1/plans/fy2024/adjustments", adj(json!({"reason": 77})), "adjustment.reason"));
    c.push(post("/v1/plans/fy2024/adjustments", adj(json!({"changePercent": "-ten"})), "adjustment"));
    c.push(post("/v1/plans/fy2024/adjustments", adj(json!({"evidence": "unknown field"})), "adjustment.evidence"));
    c.push(post("/v1/plans/fy2024/adjustments", adj(json!({"target": "plans/fy2024/nope"})), "adjustment.target"));
    // Alerts.
    c.push(raw("POST", "/v1/alerts/UP:acknowledge", "{}", 400, "name"));
    c
}

fn authed<T>(msg: T) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut().insert("authorization", format!("Bearer {}", token("ops", Role::Admin, "")).parse().unwrap());
    r
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Whether a violated field names `want`: the same, more precise
/// ("x.amount" for "x"), or its JSON spelling ("pageSize").
fn names(field: &str, want: &str) -> bool {
    let snake: String = field
        .chars()
        .flat_map(|c| if c.is_ascii_uppercase() { vec!['_', c.to_ascii_lowercase()] } else { vec![c] })
        .collect();
    [field, snake.as_str()]
        .iter()
        .any(|f| *f == want || f.strip_prefix(want).is_some_and(|rest| rest.starts_with('.') || rest.starts_with('[')))
}

fn violations(body: &Value) -> Vec<String> {
    body["error"]["details"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|d| d["fieldViolations"].as_array().cloned().unwrap_or_default())
        .map(|v| v["field"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_clear_errors() {
    let s = Suite::with_demo(Backend::Sqlite).await;
    let admin = [("authorization", format!("Bearer {}", token("ops", Role::Admin, "")))];
    let mut wrong = Vec::new();
    let table = cases();
    for case in &table {
        let mut headers: Vec<(&str, String)> = admin.to_vec();
        if case.body.is_some() {
            headers.push(("content-type", "application/json".into()));
        }
        let body = case.body.clone().unwrap_or_default();
        let reply = request(s.gateway.addr, case.method, &case.path, &headers, body.as_bytes()).await.unwrap();
        let json: Value = serde_json::from_slice(&reply.body).unwrap_or(Value::Null);
        let fields = violations(&json);
        let short = |p: &str| p.chars().take(90).collect::<String>();
        if reply.status >= 500 {
            wrong.push(format!("{} {} → {} {}", case.method, short(&case.path), reply.status, json));
        } else if reply.status != case.status || (case.status == 400 && !fields.iter().any(|f| names(f, &case.field))) {
            wrong.push(format!(
                "{} {} {} → {} {:?} ({}), want {} naming {:?}",
                case.method,
                short(&case.path),
                short(&body),
                reply.status,
                fields,
                json["error"]["message"].as_str().unwrap_or_default().chars().take(120).collect::<String>(),
                case.status,
                case.field
            ));
        }
    }

    // One period, one answer: the target service, tracking (through the
    // gateway's REST) and review say the same words.
    let mut said = Vec::new();
    for path in [
        "/v1/plans/fy2024/periodTargets?unit=units/region-a&period=2025-W01",
        "/v1/units/region-a/attainment?period=2025-W01",
    ] {
        let reply = request(s.gateway.addr, "GET", path, &admin, b"").await.unwrap();
        let json: Value = serde_json::from_slice(&reply.body).unwrap_or(Value::Null);
        said.push(json["error"]["message"].as_str().unwrap_or_default().to_owned());
    }
    assert!(said[0].contains("2024-12-30..2024-12-31"), "names the days the plan covers: {}", said[0]);
    assert_eq!(said[0], said[1], "target and tracking answer a straddling period alike");

    // gRPC: a CSV that is not text, a batch over the row limit.
    let channel = Channel::from_shared(format!("http://{}", s.gateway.addr)).unwrap().connect().await.unwrap();
    let mut tracking = kpb::tracking_service_client::TrackingServiceClient::new(channel.clone());
    let garbage: Vec<u8> =
        b"date,rep,amount\n2024-01-10,rep-1,".iter().copied().chain([0xff, 0xfe, 0x00, 0xc3]).collect();
    let import = vec![
        kpb::ImportDealsRequest {
            part: Some(Part::Header(kpb::ImportHeader {
                format: kpb::FileFormat::Xlsx as i32,
                file_name: "x.xlsx".into(),
                request_id: "imp-bad".into(),
                ..Default::default()
            })),
        },
        kpb::ImportDealsRequest { part: Some(Part::Chunk(garbage)) },
    ];
    let imported = match tracking.import_deals(authed(tokio_stream::iter(import))).await {
        Ok(r) => {
            let mut stream = r.into_inner();
            let mut last = Err(tonic::Status::ok(""));
            while let Some(m) = stream.message().await.transpose() {
                last = m.map(|m| m.errors.len());
            }
            last
        }
        Err(e) => Err(e),
    };
    match imported {
        Ok(_) => {}
        Err(e) if e.code() == tonic::Code::InvalidArgument => {}
        Err(e) => wrong.push(format!("ImportDeals of a broken XLSX → {e:?}")),
    }
    let too_many = kpb::BatchCreateDealsRequest {
        requests: (0..10_001).map(|i| kpb::CreateDealRequest { request_id: format!("m{i}"), deal: None }).collect(),
    };
    match tracking.batch_create_deals(authed(too_many)).await {
        Err(e) if e.code() == tonic::Code::InvalidArgument || e.code() == tonic::Code::ResourceExhausted => {}
        other => wrong.push(format!("BatchCreateDeals of 10,001 rows → {other:?}")),
    }

    assert!(wrong.is_empty(), "{} of {} cases answered wrongly:\n{}", wrong.len(), table.len() + 2, wrong.join("\n"));
    // Everything is still up.
    for (name, addr) in [("target", s.target.addr), ("tracking", s.tracking.addr), ("review", s.review.addr)] {
        let c = Channel::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap();
        let status = HealthClient::new(c).check(HealthCheckRequest { service: String::new() }).await.unwrap();
        assert_eq!(status.into_inner().status, ServingStatus::Serving as i32, "{name}");
    }
    let cases = table.len() + 2;
    assert!(cases >= 100, "{cases} cases");
    crate::support::reliability_claim(&format!(
        "| `malformed_requests_get_clear_errors` | {cases} malformed requests | REST routes and gRPC methods | 0 INTERNAL, 0 unnamed fields, every service SERVING after |"
    ));
}
