//! Bad tokens over the wire: expired, for another audience or issuer,
//! signed with another secret, unsigned, `alg=none`, an RS256 key's public
//! half used as an HS256 secret (algorithm confusion), garbage and none at
//! all — UNAUTHENTICATED from the gateway and from every service directly,
//! 401 over REST. Valid HS256 and RS256 tokens pass (the controls).

use std::net::SocketAddr;

use crate::support::Suite;
use attain_kit::{
    auth::{Claims, Role},
    http_client::request,
    testing::{Backend, TEST_SECRET},
};
use attain_proto::attain::{
    gateway::v1::{GetCallerRequest, gateway_service_client::GatewayServiceClient},
    review::v1::{ListReviewsRequest, review_service_client::ReviewServiceClient},
    target::v1::{GetUnitRequest, org_service_client::OrgServiceClient},
    tracking::v1::{GetAttainmentRequest, tracking_service_client::TrackingServiceClient},
};
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use tonic::{Code, Request, transport::Channel};

const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/services/kit/src/testdata");

fn claims(iss: &str, aud: &str, exp_offset: i64) -> Claims {
    let now = jsonwebtoken::get_current_timestamp();
    Claims {
        sub: "ops".into(),
        role: Role::Admin,
        unit: String::new(),
        iss: iss.into(),
        aud: aud.into(),
        exp: now.saturating_add_signed(exp_offset),
        iat: now.saturating_sub(10),
        nbf: None,
    }
}

fn hs256(secret: &[u8], c: &Claims) -> String {
    encode(&Header::new(Algorithm::HS256), c, &EncodingKey::from_secret(secret)).unwrap()
}

fn rs256(c: &Claims) -> String {
    let pem = std::fs::read(format!("{KEYS}/rsa.key")).unwrap();
    encode(&Header::new(Algorithm::RS256), c, &EncodingKey::from_rsa_pem(&pem).unwrap()).unwrap()
}

/// The cases: name, the Authorization header's value (None: no header).
fn bad_tokens() -> Vec<(&'static str, Option<String>)> {
    let ok = claims("attain", "attain", 600);
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let payload = b64.encode(serde_json::to_vec(&ok).unwrap());
    let valid = hs256(TEST_SECRET.as_bytes(), &ok);
    let public_pem = std::fs::read(format!("{KEYS}/rsa.pub")).unwrap();
    let bearer = |t: String| Some(format!("Bearer {t}"));
    vec![
        ("no token", None),
        ("not a bearer", Some(format!("Basic {}", b64.encode("ops:secret")))),
        ("garbage", bearer("garbage".into())),
        ("expired", bearer(hs256(TEST_SECRET.as_bytes(), &claims("attain", "attain", -3600)))),
        ("other audience", bearer(hs256(TEST_SECRET.as_bytes(), &claims("attain", "someone-else", 600)))),
        ("other issuer", bearer(hs256(TEST_SECRET.as_bytes(), &claims("evil", "attain", 600)))),
        ("other secret", bearer(hs256(b"another-secret-0123456789", &ok))),
        ("not valid for an hour (nbf)", {
            let now = jsonwebtoken::get_current_timestamp();
            bearer(hs256(TEST_SECRET.as_bytes(), &Claims { nbf: Some(now + 3600), ..ok.clone() }))
        }),
        ("issued a year ahead (iat)", {
            let now = jsonwebtoken::get_current_timestamp();
            bearer(hs256(TEST_SECRET.as_bytes(), &Claims { iat: now + 365 * 86_400, ..ok.clone() }))
        }),
        ("alg=none", bearer(format!("{}.{payload}.", b64.encode(r#"{"alg":"none","typ":"JWT"}"#)))),
        ("unsigned", bearer(format!("{}.{payload}.", b64.encode(r#"{"alg":"HS256","typ":"JWT"}"#)))),
        ("signature cut off", bearer(valid.rsplit_once('.').map(|(head, _)| format!("{head}.")).unwrap())),
        ("payload swapped", {
            let mut parts: Vec<String> = valid.split('.').map(str::to_owned).collect();
            let mut rep = claims("attain", "attain", 600);
            rep.sub = "intruder".into();
            parts[1] = b64.encode(serde_json::to_vec(&rep).unwrap());
            bearer(parts.join("."))
        }),
        ("RS public key as HS secret", bearer(hs256(&public_pem, &ok))),
    ]
}

fn with_auth<T>(msg: T, auth: &Option<String>) -> Request<T> {
    let mut r = Request::new(msg);
    if let Some(a) = auth {
        r.metadata_mut().insert("authorization", a.parse().unwrap());
    }
    r
}

async fn connect(addr: SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap()
}

/// One call per public surface; the code each answered.
async fn codes(s: &Suite, auth: &Option<String>) -> Vec<(&'static str, Code)> {
    let code = |r: Result<(), tonic::Status>| r.map_or_else(|e| e.code(), |_| Code::Ok);
    let gw = connect(s.gateway.addr).await;
    let attainment =
        || GetAttainmentRequest { unit: "units/acme".into(), period: "2024-01".into(), ..Default::default() };
    vec![
        (
            "gateway GetCaller",
            code(
                GatewayServiceClient::new(gw.clone()).get_caller(with_auth(GetCallerRequest {}, auth)).await.map(drop),
            ),
        ),
        (
            "gateway → tracking",
            code(TrackingServiceClient::new(gw).get_attainment(with_auth(attainment(), auth)).await.map(drop)),
        ),
        (
            "target",
            code(
                OrgServiceClient::new(connect(s.target.addr).await)
                    .get_unit(with_auth(GetUnitRequest { name: "units/acme".into() }, auth))
                    .await
                    .map(drop),
            ),
        ),
        (
            "tracking",
            code(
                TrackingServiceClient::new(connect(s.tracking.addr).await)
                    .get_attainment(with_auth(attainment(), auth))
                    .await
                    .map(drop),
            ),
        ),
        (
            "review",
            code(
                ReviewServiceClient::new(connect(s.review.addr).await)
                    .list_reviews(with_auth(
                        ListReviewsRequest { unit: "units/acme".into(), ..Default::default() },
                        auth,
                    ))
                    .await
                    .map(drop),
            ),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tokens_are_unauthenticated_everywhere() {
    // Every service trusts the HS256 test secret and the RS256 test key.
    let s =
        Suite::start_with(Backend::Sqlite, |c| c.auth.public_key_files = vec![format!("{KEYS}/rsa.pub")], |_| {}).await;
    s.seed().await;

    // The controls: a valid HS256 and a valid RS256 token pass everywhere.
    let ok = claims("attain", "attain", 600);
    for (name, token) in [("HS256", hs256(TEST_SECRET.as_bytes(), &ok)), ("RS256", rs256(&ok))] {
        for (surface, code) in codes(&s, &Some(format!("Bearer {token}"))).await {
            assert_eq!(code, Code::Ok, "{name} at {surface}");
        }
    }

    let (mut cells, mut refused, mut surfaces) = (0, 0, 0);
    let tokens = bad_tokens();
    for (name, auth) in &tokens {
        let grpc = codes(&s, auth).await;
        surfaces = grpc.len() + 1;
        for (surface, code) in grpc {
            assert_eq!(code, Code::Unauthenticated, "{name} at {surface}");
            cells += 1;
            refused += 1;
        }
        // REST: 401 with a JSON error.
        let headers: Vec<(&str, String)> = auth.iter().map(|a| ("authorization", a.clone())).collect();
        let reply =
            request(s.gateway.addr, "GET", "/v1/units/acme/attainment?period=2024-01", &headers, b"").await.unwrap();
        assert_eq!(reply.status, 401, "{name} over REST: {}", reply.text());
        cells += 1;
        refused += 1;
    }
    assert_eq!(cells, tokens.len() * surfaces, "every token × every surface");
    crate::support::reliability_claim(&format!(
        "| `bad_tokens_are_unauthenticated_everywhere` | {} bad tokens | {surfaces} surfaces | {refused} of {cells} refused |",
        tokens.len()
    ));
}

/// A validly signed 64 KB token (DESIGN §3 Identity; found from outside:
/// REST said 429 "h2 protocol error", gRPC reset the connection): every
/// surface answers RESOURCE_EXHAUSTED, REST 431, saying why in plain words.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_headers_get_a_clear_answer() {
    let s = Suite::start(Backend::Sqlite, |_| {}).await;
    s.seed().await;
    let mut huge = claims("attain", "attain", 600);
    huge.sub = "x".repeat(64 * 1024);
    let auth = Some(format!("Bearer {}", hs256(TEST_SECRET.as_bytes(), &huge)));
    for (surface, code) in codes(&s, &auth).await {
        assert_eq!(code, Code::ResourceExhausted, "{surface}");
    }
    let status = GatewayServiceClient::new(connect(s.gateway.addr).await)
        .get_caller(with_auth(GetCallerRequest {}, &auth))
        .await
        .unwrap_err();
    assert!(status.message().contains("headers are") && !status.message().contains("h2"), "{status:?}");
    let headers = [("authorization", auth.clone().unwrap())];
    let reply =
        request(s.gateway.addr, "GET", "/v1/units/acme/attainment?period=2024-01", &headers, b"").await.unwrap();
    assert_eq!(reply.status, 431, "{}", reply.text());
    let body: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(body["error"]["status"], "RESOURCE_EXHAUSTED");
    assert!(!reply.text().contains("h2") && !reply.text().contains("protocol"), "{}", reply.text());
    // The server is fine afterwards: an ordinary token still works.
    let ok = Some(format!("Bearer {}", hs256(TEST_SECRET.as_bytes(), &claims("attain", "attain", 600))));
    for (surface, code) in codes(&s, &ok).await {
        assert_eq!(code, Code::Ok, "{surface}");
    }
}
