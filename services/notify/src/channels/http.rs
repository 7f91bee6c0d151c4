//! One HTTPS POST per message: the name is resolved here and every address
//! checked (a public name may resolve to a private address: SSRF), the
//! connection pinned to the checked address, the answer read up to 64 KiB.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use http_body_util::{BodyExt, Full};
use rustls_pki_types::ServerName;

use crate::{channels::truncate, domain::channel::forbidden_ip};

const CONNECT: Duration = Duration::from_secs(5);
const ANSWER: Duration = Duration::from_secs(10);
const MAX_REPLY: usize = 64 * 1024;

#[derive(Clone)]
pub struct Client {
    tls: Arc<rustls::ClientConfig>,
    allow_insecure: bool,
}

impl Client {
    pub fn new(allow_insecure: bool) -> Self {
        let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map(|b| b.with_root_certificates(roots).with_no_client_auth())
            .unwrap_or_else(|_| {
                rustls::ClientConfig::builder()
                    .with_root_certificates(rustls::RootCertStore::empty())
                    .with_no_client_auth()
            });
        Self { tls: Arc::new(tls), allow_insecure }
    }

    pub async fn post_json(
        &self,
        url: &str,
        body: &serde_json::Value,
        headers: &[(&str, String)],
    ) -> Result<Vec<u8>, String> {
        let raw = serde_json::to_vec(body).map_err(|e| e.to_string())?;
        self.post_raw(url, raw, headers).await
    }

    /// POSTs a JSON body; the reply's body when the status is 2xx.
    pub async fn post_raw(&self, url: &str, body: Vec<u8>, headers: &[(&str, String)]) -> Result<Vec<u8>, String> {
        let uri: http::Uri = url.parse().map_err(|_| "the stored address is not a URL".to_owned())?;
        let https = uri.scheme_str() == Some("https");
        if !https && !self.allow_insecure {
            return Err("plain http is not allowed here".into());
        }
        let host =
            uri.host().ok_or("the address has no host")?.trim_start_matches('[').trim_end_matches(']').to_owned();
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let addr = self.resolve(&host, port).await?;
        let tcp = tokio::time::timeout(CONNECT, tokio::net::TcpStream::connect(addr))
            .await
            .map_err(|_| format!("connecting to {host} timed out"))?
            .map_err(|e| format!("cannot connect to {host}: {e}"))?;
        let mut request = http::Request::post(uri.path_and_query().map_or("/", |p| p.as_str()))
            .header(http::header::HOST, uri.authority().map_or(host.as_str(), |a| a.as_str()))
            .header(http::header::CONTENT_TYPE, "application/json; charset=utf-8")
            .header(http::header::USER_AGENT, "attain-notify");
        for (n, v) in headers {
            request = request.header(*n, v.as_str());
        }
        let request = request.body(Full::new(bytes::Bytes::from(body))).map_err(|e| e.to_string())?;
        let (status, reply) = if https {
            let name = ServerName::try_from(host.clone()).map_err(|_| format!("{host} is not a server name"))?;
            let tls = tokio_rustls::TlsConnector::from(self.tls.clone())
                .connect(name, tcp)
                .await
                .map_err(|e| format!("TLS with {host} failed: {e}"))?;
            exchange(tls, request).await?
        } else {
            exchange(tcp, request).await?
        };
        if !status.is_success() {
            return Err(format!("HTTP {status}: {}", truncate(&String::from_utf8_lossy(&reply), 300)));
        }
        Ok(reply)
    }

    async fn resolve(&self, host: &str, port: u16) -> Result<SocketAddr, String> {
        let addrs: Vec<SocketAddr> =
            tokio::net::lookup_host((host, port)).await.map_err(|e| format!("cannot resolve {host}: {e}"))?.collect();
        if !self.allow_insecure && addrs.iter().any(|a| forbidden_ip(a.ip())) {
            return Err(format!("{host} resolves to a loopback, private or link-local address, which is not allowed"));
        }
        addrs.into_iter().next().ok_or_else(|| format!("{host} has no address"))
    }
}

async fn exchange<S>(io: S, request: http::Request<Full<bytes::Bytes>>) -> Result<(http::StatusCode, Vec<u8>), String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(io))
        .await
        .map_err(|e| format!("HTTP handshake failed: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let response = tokio::time::timeout(ANSWER, sender.send_request(request))
        .await
        .map_err(|_| "the channel did not answer in time".to_owned())?
        .map_err(|e| format!("the request failed: {e}"))?;
    let status = response.status();
    let mut body = response.into_body();
    let mut out = Vec::new();
    while let Some(frame) =
        tokio::time::timeout(ANSWER, body.frame()).await.map_err(|_| "the answer stalled".to_owned())?
    {
        let frame = frame.map_err(|e| format!("reading the answer failed: {e}"))?;
        if let Some(d) = frame.data_ref() {
            out.extend_from_slice(d);
            if out.len() > MAX_REPLY {
                break;
            }
        }
    }
    Ok((status, out))
}
