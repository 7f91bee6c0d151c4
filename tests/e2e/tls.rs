//! TLS and mutual TLS on real services, with a CA made in the test: the
//! gateway reaches target, tracking and review over mTLS (and they each
//! other); a plaintext client, a client without a certificate, one that
//! trusts another CA or asks for another name are refused; an expired
//! certificate is refused; a certificate replaced on disk is served to the
//! next connection without a restart, and a replacement that does not parse
//! is logged and the old one kept.

use std::{net::SocketAddr, path::Path, sync::Arc, time::Duration};

use attain_kit::{
    auth::Role,
    configuration::Settings,
    testing::{Backend, test_settings, token},
};
use attain_proto::attain::{
    gateway::v1::{GetDashboardRequest, gateway_service_client::GatewayServiceClient},
    target::v1::{GetUnitRequest, org_service_client::OrgServiceClient},
};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls_pki_types::{CertificateDer, ServerName, pem::PemObject};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Ca {
    fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(rcgen::DnType::CommonName, name);
        Self { issuer: CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap() }
    }

    /// A certificate for `names`, valid until `until` (a year).
    fn issue(&self, names: &[&str], until: i32) -> (String, String) {
        let mut params = CertificateParams::new(names.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()).unwrap();
        params.not_before = rcgen::date_time_ymd(2000, 1, 1);
        params.not_after = rcgen::date_time_ymd(until, 1, 1);
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

/// Server certificate, key and client CA for `service`, with mTLS.
fn serve_tls(s: &mut Settings, dir: &Path, ca: &Ca, service: &str) {
    let (cert, key) = ca.issue(&["localhost", "127.0.0.1"], 2099);
    s.server.tls_cert_file = Some(write(dir, &format!("{service}.crt"), &cert));
    s.server.tls_key_file = Some(write(dir, &format!("{service}.key"), &key));
    s.server.client_ca_file = Some(write(dir, "ca.crt", &ca.pem()));
}

/// Calls upstreams over https, trusting `ca`, with a client certificate.
fn call_tls(s: &mut Settings, dir: &Path, ca: &Ca, service: &str) {
    let (cert, key) = ca.issue(&[service], 2099);
    s.upstream.ca_file = Some(write(dir, "ca.crt", &ca.pem()));
    s.upstream.client_cert_file = Some(write(dir, &format!("{service}-client.crt"), &cert));
    s.upstream.client_key_file = Some(write(dir, &format!("{service}-client.key"), &key));
    s.upstream.server_name = Some("localhost".into());
}

macro_rules! spawn {
    ($app:path, $settings:expr) => {{
        let app = <$app>::build($settings).await.unwrap();
        let addr = app.local_addr();
        tokio::spawn(app.run_until_stopped(std::future::pending()));
        addr
    }};
}

fn https(a: SocketAddr) -> Option<String> {
    Some(format!("https://{a}"))
}

/// A TLS client's channel: trusting `ca_pem`, as `identity`, asking for `name`.
async fn client(
    addr: SocketAddr,
    ca_pem: &str,
    identity: Option<(String, String)>,
    name: &str,
) -> Result<Channel, String> {
    let mut tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca_pem)).domain_name(name);
    if let Some((c, k)) = identity {
        tls = tls.identity(Identity::from_pem(c, k));
    }
    let endpoint =
        Channel::from_shared(format!("https://{addr}")).unwrap().tls_config(tls).map_err(|e| e.to_string())?;
    endpoint.connect().await.map_err(|e| format!("{e:?}"))
}

async fn get_unit(ch: Channel) -> Result<(), tonic::Status> {
    let mut r = tonic::Request::new(GetUnitRequest { name: "units/acme".into() });
    r.metadata_mut().insert("authorization", format!("Bearer {}", token("ops", Role::Admin, "")).parse().unwrap());
    OrgServiceClient::new(ch).get_unit(r).await.map(drop)
}

/// The certificate a server presents to a new connection.
async fn presented(addr: SocketAddr, ca_pem: &str, identity: (String, String)) -> Vec<u8> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap()).unwrap();
    let chain = vec![CertificateDer::from_pem_slice(identity.0.as_bytes()).unwrap()];
    let key = rustls_pki_types::PrivateKeyDer::from_pem_slice(identity.1.as_bytes()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .unwrap();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    tls.get_ref().1.peer_certificates().unwrap()[0].to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_between_every_hop_and_live_rotation() {
    let dir = tempdir();
    let ca = Ca::new("attain test CA");
    let mut s = test_settings(Backend::Sqlite).await;
    serve_tls(&mut s, &dir, &ca, "target");
    let target = spawn!(attain_target::startup::Application, s);
    let mut s = test_settings(Backend::Sqlite).await;
    serve_tls(&mut s, &dir, &ca, "tracking");
    call_tls(&mut s, &dir, &ca, "tracking");
    s.upstream.target_url = https(target);
    s.clock.today = chrono::NaiveDate::from_ymd_opt(2024, 1, 16);
    let tracking = spawn!(attain_tracking::startup::Application, s);
    let mut s = test_settings(Backend::Sqlite).await;
    serve_tls(&mut s, &dir, &ca, "review");
    call_tls(&mut s, &dir, &ca, "review");
    s.upstream.target_url = https(target);
    s.upstream.tracking_url = https(tracking);
    s.clock.today = chrono::NaiveDate::from_ymd_opt(2024, 1, 16);
    let review = spawn!(attain_review::startup::Application, s);
    // The gateway serves TLS too
    // and calls every service with its client certificate.
    let mut s = test_settings(Backend::Sqlite).await;
    serve_tls(&mut s, &dir, &ca, "gateway");
    s.server.client_ca_file = None; // people reach the gateway with TLS, without client certificates
    call_tls(&mut s, &dir, &ca, "gateway");
    s.upstream.target_url = https(target);
    s.upstream.tracking_url = https(tracking);
    s.upstream.review_url = https(review);
    let gateway = spawn!(attain_gateway::startup::Application, s);
    let gw = client(gateway, &ca.pem(), None, "localhost").await.unwrap();
    attain::demo::seed_with(gw.clone(), gw.clone(), gw, token("ops", Role::Admin, "")).await.unwrap();

    // Through the gateway, every hop over mTLS: a dashboard is whole.
    let gw = client(gateway, &ca.pem(), None, "localhost").await.unwrap();
    let mut r = tonic::Request::new(GetDashboardRequest {
        unit: "units/region-a".into(),
        period: "2024-01".into(),
        ..Default::default()
    });
    r.metadata_mut().insert("authorization", format!("Bearer {}", token("ops", Role::Admin, "")).parse().unwrap());
    let d = GatewayServiceClient::new(gw).get_dashboard(r).await.unwrap().into_inner();
    assert!(d.sections.iter().all(|s| s.state == 1), "every section from a service over mTLS: {:?}", d.sections);
    assert_eq!(d.attainment.unwrap().actual.unwrap().amount, "119000.00");

    let me = ca.issue(&["a-caller"], 2099);
    // A service refuses: plaintext, no client certificate, another CA,
    // another name.
    let plain = Channel::from_shared(format!("http://{target}")).unwrap().connect().await;
    let plaintext_refused = match plain {
        Err(_) => true,
        Ok(ch) => get_unit(ch).await.is_err(),
    };
    assert!(plaintext_refused, "plaintext is refused");
    let no_cert = match client(target, &ca.pem(), None, "localhost").await {
        Err(_) => true,
        Ok(ch) => get_unit(ch).await.is_err(),
    };
    assert!(no_cert, "a client without a certificate is refused under mTLS");
    let other = Ca::new("someone else's CA");
    assert!(client(target, &other.pem(), Some(me.clone()), "localhost").await.is_err(), "another CA is refused");
    assert!(client(target, &ca.pem(), Some(me.clone()), "attain-evil").await.is_err(), "another name is refused");
    let ok = client(target, &ca.pem(), Some(me.clone()), "localhost").await.unwrap();
    get_unit(ok).await.unwrap();

    // An expired certificate is refused by clients.
    let mut s = test_settings(Backend::Sqlite).await;
    let (cert, key) = ca.issue(&["localhost"], 2020);
    s.server.tls_cert_file = Some(write(&dir, "expired.crt", &cert));
    s.server.tls_key_file = Some(write(&dir, "expired.key", &key));
    let expired = spawn!(attain_target::startup::Application, s);
    assert!(client(expired, &ca.pem(), None, "localhost").await.is_err(), "an expired certificate is refused");

    // Rotation: a new certificate on disk is what the next connection
    // gets; garbage in its place is logged and the last good one kept.
    let before = presented(target, &ca.pem(), me.clone()).await;
    let (cert, key) = ca.issue(&["localhost", "127.0.0.1", "rotated"], 2098);
    write(&dir, "target.key", &key);
    write(&dir, "target.crt", &cert);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let after = presented(target, &ca.pem(), me.clone()).await;
    assert_ne!(before, after, "the new certificate is served without a restart");
    assert_eq!(after, CertificateDer::from_pem_slice(cert.as_bytes()).unwrap().to_vec());
    write(&dir, "target.crt", "-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(presented(target, &ca.pem(), me.clone()).await, after, "garbage keeps the certificate in use");
    get_unit(client(target, &ca.pem(), Some(me), "localhost").await.unwrap()).await.unwrap();
}

fn tempdir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("attain-tls-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&d).unwrap();
    d
}
