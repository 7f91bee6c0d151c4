//! Tokens from the company's identity provider: an HTTPS OpenID Connect
//! provider started in the test (discovery + JWKS, its certificate from a
//! CA made here). A service is NOT_SERVING until it has the keys, then
//! SERVING; ES256 and EdDSA tokens verify by key id; role and unit come from
//! configured claims through a mapping table; keys rotate mid-run without a
//! restart (a new key id triggers one refresh, a retired key is refused); a
//! provider that goes down keeps the keys in hand; bad tokens are
//! UNAUTHENTICATED without echoing the key id.

use std::{
    convert::Infallible,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use attain_kit::testing::{Backend, test_settings};
use attain_proto::attain::target::v1::{GetUnitRequest, ListUnitsRequest, org_service_client::OrgServiceClient};
use base64::Engine;
use http_body_util::Full;
use hyper::{Request, Response, body::Bytes};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use rcgen::{CertificateParams, KeyPair};
use serde_json::{Value, json};
use tonic::{Code, transport::Channel};
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};

/// The provider: what its JWKS holds now, or None while it is down.
type Keys = Arc<Mutex<Option<Value>>>;

async fn provider(keys: Keys) -> (SocketAddr, String) {
    let ca = rcgen::CertifiedIssuer::self_signed(
        {
            let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
            p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
            p
        },
        KeyPair::generate().unwrap(),
    )
    .unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_owned()]).unwrap().signed_by(&key, &ca).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls_pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap(),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let issuer = format!("https://localhost:{}", addr.port());
    let discovery = json!({ "issuer": issuer, "jwks_uri": format!("{issuer}/jwks") });
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let (acceptor, keys, discovery) = (acceptor.clone(), keys.clone(), discovery.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else { return };
                let serve = hyper::service::service_fn(move |r: Request<hyper::body::Incoming>| {
                    let (keys, discovery) = (keys.clone(), discovery.clone());
                    async move {
                        let now = keys.lock().unwrap().clone();
                        let (status, body) = match (now, r.uri().path()) {
                            (None, _) => (503, json!({ "error": "down" })),
                            (Some(_), "/.well-known/openid-configuration") => (200, discovery),
                            (Some(k), "/jwks") => (200, k),
                            _ => (404, json!({})),
                        };
                        let mut resp = Response::new(Full::new(Bytes::from(body.to_string())));
                        *resp.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
                        Ok::<_, Infallible>(resp)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), serve)
                    .await;
            });
        }
    });
    (addr, ca.pem())
}

struct SigningKey {
    kid: &'static str,
    alg: Algorithm,
    pair: KeyPair,
}

impl SigningKey {
    fn es256(kid: &'static str) -> Self {
        Self { kid, alg: Algorithm::ES256, pair: KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap() }
    }
    fn eddsa(kid: &'static str) -> Self {
        Self { kid, alg: Algorithm::EdDSA, pair: KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap() }
    }
    fn jwk(&self) -> Value {
        let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        let raw = self.pair.public_key_raw();
        match self.alg {
            Algorithm::ES256 => json!({ "kty": "EC", "crv": "P-256", "kid": self.kid, "alg": "ES256", "use": "sig",
                "x": b64(&raw[1..33]), "y": b64(&raw[33..65]) }),
            _ => {
                json!({ "kty": "OKP", "crv": "Ed25519", "kid": self.kid, "alg": "EdDSA", "use": "sig", "x": b64(raw) })
            }
        }
    }
    fn sign(&self, claims: &Value) -> String {
        let pem = self.pair.serialize_pem();
        let key = match self.alg {
            Algorithm::ES256 => EncodingKey::from_ec_pem(pem.as_bytes()).unwrap(),
            _ => EncodingKey::from_ed_pem(pem.as_bytes()).unwrap(),
        };
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.to_owned());
        encode(&header, claims, &key).unwrap()
    }
}

fn claims(issuer: &str, groups: &[&str], unit: &str) -> Value {
    let now = jsonwebtoken::get_current_timestamp();
    json!({ "iss": issuer, "aud": "attain", "sub": "zhang.wei@acme.example", "exp": now + 600, "iat": now,
            "groups": groups, "attain_unit": unit })
}

async fn list_units(ch: &Channel, token: &str) -> Result<(), tonic::Status> {
    let mut r = tonic::Request::new(ListUnitsRequest::default());
    r.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    OrgServiceClient::new(ch.clone()).list_units(r).await.map(drop)
}

async fn health(ch: &Channel) -> i32 {
    HealthClient::new(ch.clone())
        .check(HealthCheckRequest { service: String::new() })
        .await
        .unwrap()
        .into_inner()
        .status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_from_an_identity_provider_with_rotating_keys() {
    let keys: Keys = Arc::new(Mutex::new(None)); // down at start
    let (addr, ca_pem) = provider(keys.clone()).await;
    let issuer = format!("https://localhost:{}", addr.port());
    let ca_file = std::env::temp_dir().join(format!("attain-oidc-ca-{}.pem", uuid::Uuid::new_v4().simple()));
    std::fs::write(&ca_file, &ca_pem).unwrap();
    let mut s = test_settings(Backend::Sqlite).await;
    s.auth.hs256_secret = None; // only the provider's tokens
    s.auth.oidc_issuer = Some(issuer.clone());
    s.auth.oidc_ca_file = Some(ca_file.display().to_string());
    s.auth.role_claim = "groups".into();
    s.auth.unit_claim = "attain_unit".into();
    s.auth.role_map =
        [("sales-ops".to_owned(), "admin".to_owned()), ("sales-managers".to_owned(), "manager".to_owned())]
            .into_iter()
            .collect();
    let app = attain_target::startup::Application::build(s).await.unwrap();
    let target = app.local_addr();
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    let ch = Channel::from_shared(format!("http://{target}")).unwrap().connect().await.unwrap();

    // Down at start: NOT_SERVING until the keys are in, then SERVING.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(health(&ch).await, ServingStatus::NotServing as i32, "no keys yet");
    let (a, b) = (SigningKey::es256("key-a"), SigningKey::eddsa("key-b"));
    *keys.lock().unwrap() = Some(json!({ "keys": [a.jwk()] }));
    let mut waited = 0;
    while health(&ch).await != ServingStatus::Serving as i32 {
        assert!(waited < 50, "still NOT_SERVING with the provider up");
        tokio::time::sleep(Duration::from_millis(200)).await;
        waited += 1;
    }

    // ES256 by key id; the role from the groups claim through the table.
    list_units(&ch, &a.sign(&claims(&issuer, &["staff", "sales-ops"], ""))).await.unwrap();
    // Rotation mid-run: the provider now signs with an EdDSA key; the first
    // token with its key id refreshes the keys (no restart), the retired
    // key is refused.
    *keys.lock().unwrap() = Some(json!({ "keys": [b.jwk()] }));
    list_units(&ch, &b.sign(&claims(&issuer, &["sales-ops"], ""))).await.unwrap();
    let retired = list_units(&ch, &a.sign(&claims(&issuer, &["sales-ops"], ""))).await.unwrap_err();
    assert_eq!(retired.code(), Code::Unauthenticated);
    assert!(!retired.message().contains("key-a"), "no key id echoed: {}", retired.message());
    // The provider down: the keys in hand still verify.
    *keys.lock().unwrap() = None;
    list_units(&ch, &b.sign(&claims(&issuer, &["sales-ops"], ""))).await.unwrap();
    assert_eq!(health(&ch).await, ServingStatus::Serving as i32, "serving on the keys in hand");

    // The mapped role is the role served: asked for a unit that does not
    // exist, an admin learns it is missing, a manager (scoped by its unit
    // claim) is refused like for anything outside its scope.
    let get = |token: String| {
        let ch = ch.clone();
        async move {
            let mut r = tonic::Request::new(GetUnitRequest { name: "units/nowhere".into() });
            r.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
            OrgServiceClient::new(ch).get_unit(r).await.unwrap_err().code()
        }
    };
    assert_eq!(get(b.sign(&claims(&issuer, &["sales-ops"], ""))).await, Code::NotFound);
    assert_eq!(get(b.sign(&claims(&issuer, &["sales-managers"], "units/region-a"))).await, Code::PermissionDenied);
    // Bad tokens: unknown key id, a group the table does not know, another
    // issuer, the key's algorithm swapped, expired.
    let unknown = SigningKey { kid: "key-zzz", ..SigningKey::eddsa("x") };
    let refused = list_units(&ch, &unknown.sign(&claims(&issuer, &["sales-ops"], ""))).await.unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);
    assert!(!refused.message().contains("zzz"), "{}", refused.message());
    for (why, token) in [
        ("no known group", b.sign(&claims(&issuer, &["interns"], ""))),
        ("another issuer", b.sign(&claims("https://evil.example", &["sales-ops"], ""))),
        ("expired", {
            let mut c = claims(&issuer, &["sales-ops"], "");
            c["exp"] = json!(jsonwebtoken::get_current_timestamp() - 3600);
            b.sign(&c)
        }),
        ("the key's algorithm swapped", {
            let es = SigningKey { kid: "key-b", ..SigningKey::es256("x") };
            es.sign(&claims(&issuer, &["sales-ops"], ""))
        }),
    ] {
        let got = list_units(&ch, &token).await.unwrap_err();
        assert_eq!(got.code(), Code::Unauthenticated, "{why}: {got:?}");
    }
}

/// No shared secret: a service with only an identity provider and the
/// service accounts' public keys accepts tracking's own minted token as
/// tracking's account, and refuses the same key signing for a person.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_account_cannot_mint_for_a_person() {
    use attain_kit::{configuration::JobSettings, service_account::ServiceAccount};
    let dir = std::env::temp_dir().join(format!("attain-svc-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let pair = KeyPair::generate().unwrap();
    std::fs::write(dir.join("tracking.key"), pair.serialize_pem()).unwrap();
    std::fs::write(dir.join("tracking.pub"), pair.public_key_pem()).unwrap();
    let mut s = test_settings(Backend::Sqlite).await;
    s.auth.hs256_secret = None;
    s.auth.service_keys =
        [("svc_tracking".to_owned(), dir.join("tracking.pub").display().to_string())].into_iter().collect();
    let app = attain_target::startup::Application::build(s.clone()).await.unwrap();
    let target = app.local_addr();
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    let ch = Channel::from_shared(format!("http://{target}")).unwrap().connect().await.unwrap();
    let jobs = JobSettings {
        service_account: Some("svc_tracking".into()),
        signing_key_file: Some(dir.join("tracking.key").display().to_string()),
        ..JobSettings::default()
    };
    let account = ServiceAccount::from_settings(&jobs, &s.auth).unwrap().unwrap();
    let bearer = account.bearer().unwrap();
    list_units(&ch, bearer.strip_prefix("Bearer ").unwrap()).await.unwrap();
    // The same key, a person's name: refused.
    let now = jsonwebtoken::get_current_timestamp();
    let person =
        json!({ "sub": "ops", "role": "ADMIN", "iss": "attain", "aud": "attain", "exp": now + 300, "iat": now });
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("service:svc_tracking".into());
    let forged = encode(&header, &person, &EncodingKey::from_ec_pem(pair.serialize_pem().as_bytes()).unwrap()).unwrap();
    assert_eq!(list_units(&ch, &forged).await.unwrap_err().code(), Code::Unauthenticated);
    // And without a key id it is no one's token (no shared key is left).
    let bare = encode(
        &Header::new(Algorithm::ES256),
        &person,
        &EncodingKey::from_ec_pem(pair.serialize_pem().as_bytes()).unwrap(),
    )
    .unwrap();
    assert_eq!(list_units(&ch, &bare).await.unwrap_err().code(), Code::Unauthenticated);
}
