//! Local receivers for notification tests: an HTTP endpoint that records
//! every request (a DingTalk/Feishu/WeCom robot, a Slack or generic webhook)
//! and answers as scripted, and an SMTP server that insists on STARTTLS
//! before it takes a message.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    convert::Infallible,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use tokio::{
    io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader},
    net::TcpListener,
};

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Received {
    /// Path and query ("/robot/send?access_token=…&timestamp=…&sign=…").
    pub path: String,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The status it was answered with.
    pub status: u16,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap() // ok: test support
    }

    /// A query parameter, percent-decoded.
    pub fn query(&self, name: &str) -> Option<String> {
        let q = self.path.split_once('?')?.1;
        form_urlencoded_pairs(q).into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }
}

fn form_urlencoded_pairs(q: &str) -> Vec<(String, String)> {
    fn decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if s.get(i + 1..i + 3).is_some_and(|h| u8::from_str_radix(h, 16).is_ok()) => {
                    out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap()); // ok: test support
                    i += 2;
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8(out).unwrap() // ok: test support
    }
    q.split('&').filter_map(|p| p.split_once('=')).map(|(k, v)| (decode(k), decode(v))).collect()
}

#[derive(Debug)]
struct Script {
    /// Answer this many requests with `fail_status` first.
    fail_first: usize,
    fail_status: u16,
    /// The body of a success.
    reply: String,
    /// How long to wait before answering.
    delay: Duration,
}

/// An HTTP endpoint that records what it is sent.
#[derive(Clone)]
pub struct HttpReceiver {
    pub addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<Script>>,
}

impl HttpReceiver {
    /// Answers 200 with `reply` (e.g. `{"errcode":0,"errmsg":"ok"}`).
    pub async fn start(reply: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap(); // ok: test support
        let addr = listener.local_addr().unwrap(); // ok: test support
        let me = Self {
            addr,
            received: Arc::default(),
            script: Arc::new(Mutex::new(Script {
                fail_first: 0,
                fail_status: 500,
                reply: reply.to_owned(),
                delay: Duration::ZERO,
            })),
        };
        let server = me.clone();
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else { return };
                let server = server.clone();
                tokio::spawn(async move {
                    let serve = hyper::service::service_fn(move |r: http::Request<hyper::body::Incoming>| {
                        let server = server.clone();
                        async move { Ok::<_, Infallible>(server.answer(r).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(tcp), serve)
                        .await;
                });
            }
        });
        me
    }

    async fn answer(&self, r: http::Request<hyper::body::Incoming>) -> http::Response<Full<Bytes>> {
        let path = r.uri().path_and_query().map_or("/", |p| p.as_str()).to_owned();
        let headers =
            r.headers().iter().map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or("").to_owned())).collect();
        let body = r.into_body().collect().await.map(|b| b.to_bytes().to_vec()).unwrap_or_default();
        let (status, reply, delay) = {
            let mut s = self.script.lock().unwrap(); // ok: test support
            if s.fail_first > 0 {
                s.fail_first -= 1;
                (s.fail_status, "{\"error\":\"try later\"}".to_owned(), s.delay)
            } else {
                (200, s.reply.clone(), s.delay)
            }
        };
        tokio::time::sleep(delay).await;
        self.received.lock().unwrap().push(Received { path, headers, body, status }); // ok: test support
        let mut resp = http::Response::new(Full::new(Bytes::from(reply)));
        *resp.status_mut() = http::StatusCode::from_u16(status).unwrap(); // ok: test support
        resp
    }

    /// Answers the next `n` requests with `status`.
    pub fn fail_next(&self, n: usize, status: u16) {
        let mut s = self.script.lock().unwrap(); // ok: test support
        s.fail_first = n;
        s.fail_status = status;
    }

    /// The body successes answer with (a robot refusing: `{"errcode":310000}`).
    pub fn reply_with(&self, reply: &str) {
        self.script.lock().unwrap().reply = reply.to_owned(); // ok: test support
    }

    pub fn delay(&self, d: Duration) {
        self.script.lock().unwrap().delay = d; // ok: test support
    }

    /// "http://127.0.0.1:{port}{path}"
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Everything answered so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone() // ok: test support
    }

    /// Waits until `n` requests were answered 200 (panics after `limit`).
    pub async fn wait_ok(&self, n: usize, limit: Duration) -> Vec<Received> {
        let start = std::time::Instant::now();
        loop {
            let ok: Vec<Received> = self.received().into_iter().filter(|r| r.status == 200).collect();
            if ok.len() >= n {
                return ok;
            }
            assert!(
                start.elapsed() < limit,
                "{} of {n} messages arrived in {limit:?}: {:?}",
                ok.len(),
                self.received()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A message the SMTP receiver took.
#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    /// The message as sent (headers and body, dot-stuffing undone).
    pub data: String,
}

/// An SMTP server on loopback that takes mail only after STARTTLS, with a
/// certificate for 127.0.0.1 from its own CA (`ca_pem`).
#[derive(Clone)]
pub struct SmtpReceiver {
    pub addr: SocketAddr,
    pub ca_pem: String,
    mails: Arc<Mutex<Vec<Mail>>>,
    /// Commands refused because they came before STARTTLS.
    pub refused_in_clear: Arc<Mutex<usize>>,
}

impl SmtpReceiver {
    pub async fn start() -> Self {
        let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap(); // ok: test support
        let ca_pem = cert.cert.pem();
        let der = rustls_pki_types::CertificateDer::from(cert.cert.der().to_vec());
        let key = rustls_pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der()).unwrap(); // ok: test support
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap() // ok: test support
            .with_no_client_auth()
            .with_single_cert(vec![der], key)
            .unwrap(); // ok: test support
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap(); // ok: test support
        let me = Self {
            addr: listener.local_addr().unwrap(), // ok: test support
            ca_pem,
            mails: Arc::default(),
            refused_in_clear: Arc::default(),
        };
        let server = me.clone();
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else { return };
                let (server, acceptor) = (server.clone(), acceptor.clone());
                tokio::spawn(async move {
                    let Some(tcp) = server.session(tcp, false).await else { return };
                    let Ok(tls) = acceptor.accept(tcp).await else { return };
                    server.session(tls, true).await;
                });
            }
        });
        me
    }

    /// Speaks SMTP until QUIT (None) or STARTTLS (the stream, to upgrade).
    async fn session<S: AsyncRead + AsyncWrite + Unpin>(&self, stream: S, tls: bool) -> Option<S> {
        let mut io = BufReader::new(stream);
        if !tls {
            io.get_mut().write_all(b"220 127.0.0.1 ESMTP attain-test\r\n").await.ok()?;
        }
        let (mut from, mut to) = (String::new(), Vec::new());
        loop {
            let mut line = String::new();
            if io.read_line(&mut line).await.ok()? == 0 {
                return None;
            }
            let upper = line.to_ascii_uppercase();
            let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                if tls { b"250-127.0.0.1\r\n250 8BITMIME\r\n" } else { b"250-127.0.0.1\r\n250 STARTTLS\r\n" }
            } else if upper.starts_with("STARTTLS") && !tls {
                io.get_mut().write_all(b"220 ready\r\n").await.ok()?;
                return Some(io.into_inner());
            } else if !tls && (upper.starts_with("MAIL") || upper.starts_with("RCPT") || upper.starts_with("DATA")) {
                *self.refused_in_clear.lock().unwrap() += 1; // ok: test support
                b"530 5.7.0 Must issue a STARTTLS command first\r\n"
            } else if upper.starts_with("MAIL FROM:") {
                from = line[10..].trim().trim_matches(['<', '>']).to_owned();
                b"250 ok\r\n"
            } else if upper.starts_with("RCPT TO:") {
                to.push(line[8..].trim().trim_matches(['<', '>']).to_owned());
                b"250 ok\r\n"
            } else if upper.starts_with("DATA") {
                io.get_mut().write_all(b"354 go ahead\r\n").await.ok()?;
                let mut data = String::new();
                loop {
                    let mut l = String::new();
                    if io.read_line(&mut l).await.ok()? == 0 {
                        return None;
                    }
                    if l == ".\r\n" {
                        break;
                    }
                    data.push_str(l.strip_prefix('.').unwrap_or(&l));
                }
                self.mails.lock().unwrap().push(Mail { from: from.clone(), to: std::mem::take(&mut to), data }); // ok: test support
                b"250 queued\r\n"
            } else if upper.starts_with("QUIT") {
                let _ = io.get_mut().write_all(b"221 bye\r\n").await;
                return None;
            } else if upper.starts_with("RSET") || upper.starts_with("NOOP") {
                b"250 ok\r\n"
            } else {
                b"502 not implemented\r\n"
            };
            io.get_mut().write_all(reply).await.ok()?;
            io.get_mut().flush().await.ok()?;
        }
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap().clone() // ok: test support
    }

    pub async fn wait_mails(&self, n: usize, limit: Duration) -> Vec<Mail> {
        let start = std::time::Instant::now();
        loop {
            let m = self.mails();
            if m.len() >= n {
                return m;
            }
            assert!(start.elapsed() < limit, "{} of {n} mails arrived in {limit:?}", m.len());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
