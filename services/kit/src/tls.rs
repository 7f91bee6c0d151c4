//! TLS on every hop (rustls, ring): servers serve it when given a
//! certificate and key — reloaded when the files change, without a restart
//! (a replacement that does not parse is logged and the old certificate
//! kept) — and require client certificates from a CA when `client_ca_file`
//! is set (mutual TLS). Clients call `https://` upstreams trusting the
//! configured CA and present their own certificate when one is set.

use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::{Arc, Mutex, RwLock},
    time::{Duration, SystemTime},
};

use futures::{Stream, StreamExt};
use rustls::{
    RootCertStore, ServerConfig,
    crypto::ring::sign::any_supported_type,
    server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier},
    sign::CertifiedKey,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{TlsAcceptor, server::TlsStream};
use tokio_stream::wrappers::TcpListenerStream;

use crate::configuration::{ServerSettings, UpstreamSettings};

/// How often certificate files are looked at for a change.
pub const RELOAD_EVERY: Duration = Duration::from_secs(1);
/// A client that has not finished its handshake by then is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn certified_key(cert: &PathBuf, key: &PathBuf) -> anyhow::Result<CertifiedKey> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| anyhow::anyhow!("{}: {e}", cert.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("{}: {e}", cert.display()))?;
    anyhow::ensure!(!chain.is_empty(), "{}: no certificate in it", cert.display());
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| anyhow::anyhow!("{}: {e}", key.display()))?;
    let signer = any_supported_type(&key).map_err(|e| anyhow::anyhow!("unusable private key: {e}"))?;
    let certified = CertifiedKey::new(chain, signer);
    certified.keys_match().map_err(|e| anyhow::anyhow!("the key does not match the certificate: {e}"))?;
    Ok(certified)
}

fn modified(p: &PathBuf) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// The server's certificate, swapped when its files change.
#[derive(Debug)]
pub struct ReloadingCert {
    cert: PathBuf,
    key: PathBuf,
    current: RwLock<Arc<CertifiedKey>>,
    seen: Mutex<(Option<SystemTime>, Option<SystemTime>)>,
}

impl ReloadingCert {
    pub fn load(cert: &str, key: &str) -> anyhow::Result<Self> {
        let (cert, key) = (PathBuf::from(cert), PathBuf::from(key));
        let current = certified_key(&cert, &key)?;
        let seen = (modified(&cert), modified(&key));
        Ok(Self { cert, key, current: RwLock::new(Arc::new(current)), seen: Mutex::new(seen) })
    }

    /// Reloads when either file changed; a broken replacement keeps the old.
    pub fn refresh(&self) {
        let now = (modified(&self.cert), modified(&self.key));
        let mut seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if *seen == now {
            return;
        }
        match certified_key(&self.cert, &self.key) {
            Ok(k) => {
                *self.current.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(k);
                *seen = now;
                tracing::info!(cert = %self.cert.display(), "TLS certificate reloaded");
            }
            // A half-written pair settles on a later look; a broken file is
            // said once per change and the old certificate stays in use.
            Err(e) => {
                *seen = now;
                tracing::error!(cert = %self.cert.display(), error = %e, "TLS certificate not reloaded; keeping the one in use");
            }
        }
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone())
    }
}

fn roots(file: &str) -> anyhow::Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(file).map_err(|e| anyhow::anyhow!("{file}: {e}"))? {
        roots.add(cert.map_err(|e| anyhow::anyhow!("{file}: {e}"))?).map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
    }
    anyhow::ensure!(!roots.is_empty(), "{file}: no CA certificate in it");
    Ok(roots)
}

/// What a TLS server needs: the acceptor and the certificate to refresh.
#[derive(Clone)]
pub struct ServerTls {
    pub acceptor: TlsAcceptor,
    pub cert: Arc<ReloadingCert>,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls").field("cert", &self.cert.cert).finish_non_exhaustive()
    }
}

impl ServerTls {
    /// None when the server is plaintext (no certificate configured).
    pub fn from_settings(s: &ServerSettings) -> anyhow::Result<Option<Self>> {
        let (cert, key) = match (&s.tls_cert_file, &s.tls_key_file) {
            (None, None) => {
                anyhow::ensure!(
                    s.client_ca_file.is_none(),
                    "server.client_ca_file needs tls_cert_file and tls_key_file"
                );
                return Ok(None);
            }
            (Some(c), Some(k)) => (c, k),
            _ => anyhow::bail!("server.tls_cert_file and server.tls_key_file go together"),
        };
        let cert = Arc::new(ReloadingCert::load(cert, key)?);
        let builder = ServerConfig::builder_with_provider(provider()).with_safe_default_protocol_versions()?;
        let builder = match &s.client_ca_file {
            Some(ca) => builder.with_client_cert_verifier(
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots(ca)?), provider()).build()?,
            ),
            None => builder.with_no_client_auth(),
        };
        let mut config = builder.with_cert_resolver(cert.clone());
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Some(Self { acceptor: TlsAcceptor::from(Arc::new(config)), cert }))
    }

    /// Accepted connections after their handshakes (done concurrently; a
    /// failed or slow handshake drops that connection, never the server).
    pub fn incoming(&self, listener: TcpListener) -> impl Stream<Item = std::io::Result<TlsStream<TcpStream>>> + use<> {
        let acceptor = self.acceptor.clone();
        TcpListenerStream::new(listener)
            .filter_map(|c| async move {
                let c = c.ok()?;
                c.set_nodelay(true).ok()?;
                Some(c)
            })
            .map(move |tcp| {
                let acceptor = acceptor.clone();
                async move {
                    let peer = tcp.peer_addr().ok();
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(tls)) => Some(Ok(tls)),
                        Ok(Err(e)) => {
                            tracing::info!(?peer, error = %e, "TLS handshake refused");
                            None
                        }
                        Err(_) => None,
                    }
                }
            })
            .buffer_unordered(256)
            .filter_map(std::future::ready)
    }
}

/// The peer of a request served over TCP or TLS.
pub fn peer_of(extensions: &http::Extensions) -> Option<SocketAddr> {
    use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};
    extensions
        .get::<TcpConnectInfo>()
        .and_then(TcpConnectInfo::remote_addr)
        .or_else(|| extensions.get::<TlsConnectInfo<TcpConnectInfo>>().and_then(|i| i.get_ref().remote_addr()))
}

/// TLS for a client's `https://` upstreams: the CA it trusts, its own
/// certificate (mutual TLS), the name to check when the URL's host is not
/// the certificate's.
pub fn client_config(
    u: &UpstreamSettings,
    server_name: Option<&str>,
) -> anyhow::Result<Option<tonic::transport::ClientTlsConfig>> {
    use tonic::transport::{Certificate, ClientTlsConfig, Identity};
    let Some(ca) = &u.ca_file else { return Ok(None) };
    let pem = std::fs::read(ca).map_err(|e| anyhow::anyhow!("upstream.ca_file {ca}: {e}"))?;
    let mut tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem));
    match (&u.client_cert_file, &u.client_key_file) {
        (Some(c), Some(k)) => {
            let cert = std::fs::read(c).map_err(|e| anyhow::anyhow!("upstream.client_cert_file {c}: {e}"))?;
            let key = std::fs::read(k).map_err(|e| anyhow::anyhow!("upstream.client_key_file {k}: {e}"))?;
            tls = tls.identity(Identity::from_pem(cert, key));
        }
        (None, None) => {}
        _ => anyhow::bail!("upstream.client_cert_file and upstream.client_key_file go together"),
    }
    if let Some(name) = server_name.or(u.server_name.as_deref()) {
        tls = tls.domain_name(name);
    }
    Ok(Some(tls))
}
