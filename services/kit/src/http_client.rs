//! A minimal HTTP/1.1 client for tests (REST calls, the web page, a
//! WebDriver): one request per connection, `Connection: close`, chunked
//! replies decoded. Test support only.

#![allow(clippy::panic)]

use std::{net::SocketAddr, time::Duration};

use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::TcpStream,
};

/// A reply: status, headers (names lower-cased) and body.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text())) // ok: test support
    }
}

async fn send_head(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> std::io::Result<BufReader<TcpStream>> {
    let mut stream = TcpStream::connect(addr).await?;
    let mut head =
        format!("{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-length: {}\r\n", body.len());
    for (n, v) in headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    Ok(BufReader::new(stream))
}

async fn read_head(reader: &mut BufReader<TcpStream>) -> std::io::Result<(u16, Vec<(String, String)>)> {
    let mut line = String::new();
    reader.read_line(&mut line).await?;
    let status = line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).await?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((n, v)) = l.split_once(':') {
            headers.push((n.trim().to_lowercase(), v.trim().to_owned()));
        }
    }
    Ok((status, headers))
}

/// Sends one request and reads the whole reply.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> std::io::Result<Reply> {
    let mut reader = send_head(addr, method, path, headers, body).await?;
    let (status, headers) = read_head(&mut reader).await?;
    // Some servers (chromedriver) keep the connection open despite
    // `Connection: close`: read exactly Content-Length when it is given.
    let length = headers.iter().find(|(n, _)| n == "content-length").and_then(|(_, v)| v.parse::<usize>().ok());
    let mut raw = Vec::new();
    match length {
        Some(n) => {
            raw.resize(n, 0);
            reader.read_exact(&mut raw).await?;
        }
        None => {
            reader.read_to_end(&mut raw).await?;
        }
    }
    let chunked = headers.iter().any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked { dechunk(&raw) } else { raw };
    Ok(Reply { status, headers, body })
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = raw.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&raw[..end])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 || raw.len() < end + 2 + size {
            break;
        }
        out.extend_from_slice(&raw[end + 2..end + 2 + size]);
        raw = &raw[(end + 4 + size).min(raw.len())..];
    }
    out
}

/// Sends one request and returns the status and the first `lines` lines of
/// a streamed (NDJSON) body, waiting at most `wait` for them.
pub async fn stream_lines(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, String)],
    lines: usize,
    wait: Duration,
) -> std::io::Result<(u16, Vec<String>)> {
    let mut reader = send_head(addr, "GET", path, headers, b"").await?;
    let (status, _) = read_head(&mut reader).await?;
    let mut out = Vec::new();
    let read = async {
        let mut line = String::new();
        while out.len() < lines {
            line.clear();
            if reader.read_line(&mut line).await? == 0 {
                break;
            }
            // Chunk-size lines are hex; NDJSON lines start with '{'.
            let l = line.trim();
            if l.starts_with('{') {
                out.push(l.to_owned());
            }
        }
        Ok::<_, std::io::Error>(())
    };
    let _ = tokio::time::timeout(wait, read).await;
    Ok((status, out))
}
