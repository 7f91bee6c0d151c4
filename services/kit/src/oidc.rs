//! Tokens from the company's identity provider (OpenID Connect): the
//! issuer's discovery document names its JWKS; its keys are fetched, kept
//! by key id and refreshed on a schedule, and a token signed with a key id
//! not seen yet triggers one refresh (at most one per `MIN_REFETCH`), so keys
//! rotate without a restart. A provider that is down keeps the keys already
//! fetched; until the first fetch succeeds the service reports NOT_SERVING.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, RwLock,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use http_body_util::{BodyExt, Empty};
use jsonwebtoken::{Algorithm, DecodingKey, jwk::JwkSet};
use rustls_pki_types::{CertificateDer, ServerName, pem::PemObject};

use crate::configuration::AuthSettings;

/// An unknown key id refreshes the keys at most this often.
const MIN_REFETCH: Duration = Duration::from_secs(10);

/// The provider's signing keys by key id.
pub struct Jwks {
    issuer: String,
    tls: Arc<rustls::ClientConfig>,
    keys: RwLock<HashMap<String, (Algorithm, DecodingKey)>>,
    /// When a key id not seen last triggered a fetch: a flood of made-up
    /// key ids costs one fetch per `MIN_REFETCH`.
    last_unknown: Mutex<Option<Instant>>,
    every: Duration,
    ready: Arc<AtomicBool>,
}

impl std::fmt::Debug for Jwks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jwks").field("issuer", &self.issuer).finish_non_exhaustive()
    }
}

impl Jwks {
    pub fn new(settings: &AuthSettings, issuer: &str) -> anyhow::Result<Self> {
        let mut roots = rustls::RootCertStore::empty();
        match &settings.oidc_ca_file {
            Some(file) => {
                for c in
                    CertificateDer::pem_file_iter(file).map_err(|e| anyhow::anyhow!("auth.oidc_ca_file {file}: {e}"))?
                {
                    roots.add(c.map_err(|e| anyhow::anyhow!("auth.oidc_ca_file {file}: {e}"))?)?;
                }
            }
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Self {
            issuer: issuer.trim_end_matches('/').to_owned(),
            tls: Arc::new(tls),
            keys: RwLock::new(HashMap::new()),
            last_unknown: Mutex::new(None),
            every: Duration::from_secs(settings.jwks_refresh_seconds.max(1)),
            ready: Arc::new(AtomicBool::new(false)),
        })
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// True once keys have been fetched (the service's readiness).
    pub fn ready(&self) -> Arc<AtomicBool> {
        self.ready.clone()
    }

    pub fn key(&self, kid: &str) -> Option<(Algorithm, DecodingKey)> {
        self.keys.read().unwrap_or_else(std::sync::PoisonError::into_inner).get(kid).cloned()
    }

    /// Discovery, then the key set; on failure the keys in hand stay.
    pub async fn refresh(&self) -> anyhow::Result<usize> {
        let discovery = get_json(&format!("{}/.well-known/openid-configuration", self.issuer), &self.tls).await?;
        anyhow::ensure!(
            discovery["issuer"].as_str().map(|i| i.trim_end_matches('/')) == Some(self.issuer.as_str()),
            "the discovery document names another issuer"
        );
        let uri = discovery["jwks_uri"].as_str().ok_or_else(|| anyhow::anyhow!("no jwks_uri in discovery"))?;
        let set: JwkSet = serde_json::from_value(get_json(uri, &self.tls).await?)?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            let (Some(kid), Ok(key)) = (jwk.common.key_id.clone(), DecodingKey::from_jwk(jwk)) else { continue };
            use jsonwebtoken::jwk::KeyAlgorithm as K;
            let alg = match (&jwk.common.key_algorithm, &jwk.algorithm) {
                (Some(K::RS256), _) => Some(Algorithm::RS256),
                (Some(K::ES256), _) => Some(Algorithm::ES256),
                (Some(K::EdDSA), _) => Some(Algorithm::EdDSA),
                (Some(_), _) => None,
                (None, jsonwebtoken::jwk::AlgorithmParameters::EllipticCurve(_)) => Some(Algorithm::ES256),
                (None, jsonwebtoken::jwk::AlgorithmParameters::OctetKeyPair(_)) => Some(Algorithm::EdDSA),
                (None, jsonwebtoken::jwk::AlgorithmParameters::RSA(_)) => Some(Algorithm::RS256),
                _ => None,
            };
            // Asymmetric algorithms only: a provider's key set never holds
            // a shared secret.
            if let Some(alg @ (Algorithm::RS256 | Algorithm::ES256 | Algorithm::EdDSA)) = alg {
                keys.insert(kid, (alg, key));
            }
        }
        anyhow::ensure!(!keys.is_empty(), "the key set holds no RS256, ES256 or EdDSA key with a key id");
        let n = keys.len();
        *self.keys.write().unwrap_or_else(std::sync::PoisonError::into_inner) = keys;
        self.ready.store(true, Ordering::SeqCst);
        Ok(n)
    }

    /// For a key id not seen yet: one refresh, unless one ran just now.
    /// Runs the fetch on this thread (`block_in_place`) on a multi-thread
    /// runtime; elsewhere it only schedules one.
    pub fn refresh_for_unknown_key(self: &Arc<Self>) {
        {
            let mut last = self.last_unknown.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if last.is_some_and(|t| t.elapsed() < MIN_REFETCH) {
                return;
            }
            *last = Some(Instant::now());
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else { return };
        let me = self.clone();
        if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread {
            tokio::task::block_in_place(|| {
                if let Err(e) = handle.block_on(me.refresh()) {
                    tracing::warn!(error = %e, "JWKS refresh for a new key id failed; keeping the keys in hand");
                }
            });
        } else {
            handle.spawn(async move {
                let _ = me.refresh().await;
            });
        }
    }

    /// Fetches until the first success (every 2 s), then on the schedule.
    pub fn spawn_keeper(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                let wait = match me.refresh().await {
                    Ok(n) => {
                        tracing::debug!(keys = n, issuer = %me.issuer, "JWKS fetched");
                        me.every
                    }
                    Err(e) => {
                        tracing::warn!(issuer = %me.issuer, error = %e, "JWKS not fetched; keeping the keys in hand");
                        if me.ready.load(Ordering::SeqCst) { me.every } else { Duration::from_secs(2) }
                    }
                };
                tokio::time::sleep(wait).await;
            }
        })
    }
}

/// GET a JSON document over https (or http on loopback, for tests).
async fn get_json(url: &str, tls: &Arc<rustls::ClientConfig>) -> anyhow::Result<serde_json::Value> {
    let uri: http::Uri = url.parse()?;
    let host = uri.host().ok_or_else(|| anyhow::anyhow!("{url}: no host"))?.to_owned();
    let https = uri.scheme_str() == Some("https");
    anyhow::ensure!(https || host == "127.0.0.1" || host == "localhost", "{url}: the identity provider must be https");
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let tcp = tokio::time::timeout(Duration::from_secs(5), tokio::net::TcpStream::connect((host.as_str(), port)))
        .await
        .map_err(|_| anyhow::anyhow!("{url}: connect timed out"))??;
    let request = http::Request::get(uri.path_and_query().map_or("/", |p| p.as_str()))
        .header(http::header::HOST, &host)
        .header(http::header::ACCEPT, "application/json")
        .body(Empty::<bytes::Bytes>::new())?;
    let response = if https {
        let name = ServerName::try_from(host.clone())?;
        let stream = tokio_rustls::TlsConnector::from(tls.clone()).connect(name, tcp).await?;
        send(stream, request).await?
    } else {
        send(tcp, request).await?
    };
    anyhow::ensure!(response.0.is_success(), "{url}: HTTP {}", response.0);
    Ok(serde_json::from_slice(&response.1)?)
}

async fn send<S>(io: S, request: http::Request<Empty<bytes::Bytes>>) -> anyhow::Result<(http::StatusCode, bytes::Bytes)>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(io)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let response = tokio::time::timeout(Duration::from_secs(10), sender.send_request(request))
        .await
        .map_err(|_| anyhow::anyhow!("the identity provider did not answer in time"))??;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    anyhow::ensure!(body.len() <= 1 << 20, "the identity provider's document is over 1 MiB");
    Ok((status, body))
}
