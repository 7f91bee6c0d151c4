//! Channels: what each accepts as an address, how often it may be called,
//! and how its calls are signed.

use std::net::IpAddr;

use attain_core::{DomainError, DomainResult};
use base64::{Engine, engine::general_purpose::STANDARD};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    DingTalk,
    Feishu,
    WeCom,
    Slack,
    Webhook,
    Email,
}

impl Kind {
    pub const ALL: [Kind; 6] = [Kind::DingTalk, Kind::Feishu, Kind::WeCom, Kind::Slack, Kind::Webhook, Kind::Email];

    /// The stored name, and the `channel` label of metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DingTalk => "dingtalk",
            Self::Feishu => "feishu",
            Self::WeCom => "wecom",
            Self::Slack => "slack",
            Self::Webhook => "webhook",
            Self::Email => "email",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Messages a minute one endpoint takes (the platforms' published
    /// limits: a DingTalk or WeCom robot 20, a Feishu bot 100, Slack about
    /// one a second); beyond it a delivery waits for the next free slot.
    pub fn per_minute(self) -> u32 {
        match self {
            Self::DingTalk | Self::WeCom => 20,
            Self::Feishu => 100,
            Self::Slack => 60,
            Self::Webhook | Self::Email => 120,
        }
    }

    /// Whether the channel signs with a secret of its own.
    pub fn takes_secret(self) -> bool {
        matches!(self, Self::DingTalk | Self::Feishu | Self::Webhook)
    }
}

/// What is sealed at rest: the address (a robot's URL carries its token;
/// an e-mail address) and the signing secret when given inline.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Secret {
    pub url: String,
    #[serde(default)]
    pub secret: String,
}

/// Where a delivery may go in this deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Development: http, and loopback or private addresses.
    pub allow_insecure: bool,
}

/// A checked webhook address: (the URL, what reads show of it).
pub fn check_url(field: &str, kind: Kind, url: &str, policy: Policy) -> DomainResult<(String, String)> {
    let url = url.trim();
    let bad = |why: &str| DomainError::invalid(field, why.to_owned());
    if url.is_empty() {
        return Err(bad("is required"));
    }
    if url.len() > 2048 {
        return Err(bad("is longer than 2048 characters"));
    }
    // A URL is ASCII: anything else (an invisible or bidi character, a
    // space) would make one address look like another.
    if let Some(c) = url.chars().find(|c| !c.is_ascii_graphic()) {
        return Err(DomainError::invalid(
            field,
            format!("contains {c:?} (U+{:04X}); a URL is printable ASCII", u32::from(c)),
        ));
    }
    let uri: http::Uri = url.parse().map_err(|_| bad("is not a URL"))?;
    let https = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err(bad("must be an https:// URL")),
    };
    if !https && !policy.allow_insecure {
        return Err(bad(
            "must be https (plain http is allowed only with notify.allow_insecure_webhooks, for development)",
        ));
    }
    let host = uri.host().filter(|h| !h.is_empty()).ok_or_else(|| bad("has no host"))?;
    // A zone index ("[fe80::1%25eth0]") names an interface of this host.
    if host.contains('%') {
        return Err(bad("names a network interface (an IPv6 zone), which a notification may not reach"));
    }
    if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
        return Err(bad("must not carry credentials before the host"));
    }
    let port = uri.authority().and_then(|a| a.as_str().rsplit_once(':')).map(|(_, p)| p).filter(|p| !p.contains(']'));
    if let Some(port) = port.filter(|p| !p.parse::<u16>().is_ok_and(|p| p > 0)) {
        return Err(DomainError::invalid(field, format!("has port {port:?}; a port is 1–65535")));
    }
    if !policy.allow_insecure && forbidden_host(host) {
        return Err(bad(
            "points at a loopback, private or link-local address, which a notification may not reach (SSRF)",
        ));
    }
    // The robot's identity is one parameter: two would let one robot pass
    // for another under the rate limit, and the platform picks one anyway.
    let count =
        |name: &str| uri.query().map_or(0, |q| form_urlencoded::parse(q.as_bytes()).filter(|(k, _)| k == name).count());
    let given = |name: &str| {
        uri.query().is_some_and(|q| form_urlencoded::parse(q.as_bytes()).any(|(k, v)| k == name && !v.is_empty()))
    };
    match kind {
        Kind::WeCom if count("key") != 1 || !given("key") => {
            return Err(bad("is not a WeCom robot URL (…/webhook/send?key=…, one key)"));
        }
        Kind::DingTalk if count("access_token") != 1 || !given("access_token") => {
            return Err(bad("is not a DingTalk robot URL (…/robot/send?access_token=…, one token)"));
        }
        _ => {}
    }
    // The path may be the secret itself (a Feishu hook's id, Slack's
    // T…/B…/… triple, a webhook's `/sk_…`): reads show only the host.
    let rest = if uri.path().trim_matches('/').is_empty() && uri.query().is_none() { "" } else { "/…" };
    let shown =
        format!("{}://{}{rest}", uri.scheme_str().unwrap_or("https"), uri.authority().map_or(host, |a| a.as_str()));
    Ok((url.to_owned(), shown))
}

/// The robot a URL reaches, as its platform counts messages: DingTalk's
/// `access_token`, WeCom's `key`, a Feishu or Slack hook's path, a generic
/// webhook's host, port and path, a mailbox. Reordered or re-encoded query
/// parameters and a host's case do not make another robot.
pub fn robot(kind: Kind, address: &str) -> String {
    let param = |uri: &http::Uri, name: &str| {
        uri.query()
            .and_then(|q| form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned()))
    };
    let Ok(uri) = address.trim().parse::<http::Uri>() else {
        return format!("{}:{}", kind.as_str(), address.trim().to_lowercase());
    };
    let place = || {
        let host = uri.host().unwrap_or("").trim_end_matches('.').to_ascii_lowercase();
        let port = uri.port_u16().unwrap_or(if uri.scheme_str() == Some("http") { 80 } else { 443 });
        let path =
            percent_encoding::percent_decode_str(uri.path()).decode_utf8_lossy().trim_end_matches('/').to_owned();
        format!("{host}:{port}{path}")
    };
    let id = match kind {
        Kind::DingTalk => param(&uri, "access_token").unwrap_or_else(place),
        Kind::WeCom => param(&uri, "key").unwrap_or_else(place),
        Kind::Feishu | Kind::Slack | Kind::Webhook => place(),
        Kind::Email => address.trim().to_lowercase(),
    };
    format!("{}:{id}", kind.as_str())
}

/// A host a production webhook may not name: loopback, private,
/// link-local, unspecified or multicast addresses, and local names.
pub fn forbidden_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => forbidden_ip(ip),
        Err(_) => {
            let h = bare.trim_end_matches('.').to_ascii_lowercase();
            numeric_host(&h)
                || h == "localhost"
                || h.ends_with(".localhost")
                || h.ends_with(".local")
                || h.ends_with(".internal")
        }
    }
}

/// "2130706433", "0x7f000001", "0177.0.0.1", "127.1": resolvers read these
/// as addresses; a name has a label that is not a number.
fn numeric_host(h: &str) -> bool {
    h.split('.').all(|l| !l.is_empty() && (l.bytes().all(|b| b.is_ascii_digit()) || l.starts_with("0x")))
}

/// An address a production webhook may not reach (checked again on every
/// send, after the name resolves: DNS may point anywhere).
pub fn forbidden_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.octets()[0] == 0
                // 100.64.0.0/10, carrier-grade NAT (and cloud metadata's neighbours)
                || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
                // 198.18.0.0/15 (benchmarking), 192.0.0.0/24 (protocol
                // assignments), 240.0.0.0/4 (reserved): nobody's public hook
                || (v4.octets()[0] == 198 && (v4.octets()[1] & 0xfe) == 18)
                || (v4.octets()[..3] == [192, 0, 0])
                || v4.octets()[0] >= 240
        }
        IpAddr::V6(v6) => {
            let seg = v6.segments();
            let o = v6.octets();
            let v4 = |a: usize| IpAddr::V4(std::net::Ipv4Addr::new(o[a], o[a + 1], o[a + 2], o[a + 3]));
            // IPv4 carried in IPv6 (mapped ::ffff:a.b.c.d, SIIT
            // ::ffff:0:a.b.c.d, compatible ::a.b.c.d, NAT64 64:ff9b::/96,
            // 6to4 2002:a.b.c.d::) is judged as the IPv4 address it reaches.
            let embedded = match seg {
                [0, 0, 0, 0, 0, 0xffff, _, _] | [0, 0, 0, 0, 0xffff, 0, _, _] | [0, 0, 0, 0, 0, 0, _, _] => {
                    Some(v4(12))
                }
                [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(v4(12)),
                [0x2002, _, _, _, _, _, _, _] => Some(v4(2)),
                _ => None,
            };
            if let Some(ip) = embedded.filter(|_| !v6.is_loopback() && !v6.is_unspecified()) {
                return forbidden_ip(ip);
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg[0] & 0xfe00) == 0xfc00 // unique local
                || (seg[0] & 0xffc0) == 0xfe80 // link-local
                || (seg[0] == 0x64 && seg[1] == 0xff9b && seg[2] == 1) // local-use NAT64 (RFC 8215)
                || (seg[0] == 0x2001 && (seg[1] == 0 || seg[1] == 0xdb8)) // Teredo (hides its IPv4), documentation
                || (seg[..4] == [0x100, 0, 0, 0]) // discard-only
        }
    }
}

/// A checked e-mail address: (the address, as shown).
pub fn check_email(field: &str, address: &str) -> DomainResult<(String, String)> {
    let a = address.trim();
    let ok = a.len() <= 254
        && a.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                // A mail domain is a name, not an address ("x@10.0.0.1").
                && !numeric_host(&domain.to_ascii_lowercase())
                && a.chars()
                    .all(|c| c.is_ascii_graphic() && !matches!(c, '<' | '>' | '"' | ',' | ';' | '\\' | '[' | ']'))
        });
    if !ok {
        return Err(DomainError::invalid(field, format!("{a:?} is not an e-mail address (name@example.com)")));
    }
    Ok((a.to_owned(), a.to_owned()))
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    ring::hmac::sign(&key, message).as_ref().to_vec()
}

/// DingTalk's robot signature: base64 HMAC-SHA256, keyed by the secret, of
/// "{timestamp_ms}\n{secret}" — sent as `timestamp` and `sign` query
/// parameters (the caller URL-encodes it).
pub fn dingtalk_sign(secret: &str, timestamp_ms: i64) -> String {
    STANDARD.encode(hmac_sha256(secret.as_bytes(), format!("{timestamp_ms}\n{secret}").as_bytes()))
}

/// Feishu/Lark's bot signature: base64 HMAC-SHA256 keyed by
/// "{timestamp_s}\n{secret}" of an empty message — sent in the body.
pub fn feishu_sign(secret: &str, timestamp_s: i64) -> String {
    STANDARD.encode(hmac_sha256(format!("{timestamp_s}\n{secret}").as_bytes(), b""))
}

/// The generic webhook's `X-Attain-Signature`: "t={s},v1={hex HMAC-SHA256
/// of "{t}.{body}"}", so a receiver checks both the body and its age.
pub fn webhook_signature(secret: &str, timestamp_s: i64, body: &[u8]) -> String {
    let mut signed = format!("{timestamp_s}.").into_bytes();
    signed.extend_from_slice(body);
    format!("t={timestamp_s},v1={}", hex::encode(hmac_sha256(secret.as_bytes(), &signed)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROD: Policy = Policy { allow_insecure: false };
    const DEV: Policy = Policy { allow_insecure: true };

    #[test]
    fn production_webhooks_are_https_to_public_hosts() {
        let ok = check_url("u", Kind::DingTalk, "https://oapi.dingtalk.com/robot/send?access_token=abc", PROD).unwrap();
        assert_eq!(ok.1, "https://oapi.dingtalk.com/…", "neither the token nor the path is shown");
        for bad in [
            "http://oapi.dingtalk.com/robot/send",
            "https://127.0.0.1/x",
            "https://localhost/x",
            "https://[::1]/x",
            "https://169.254.169.254/latest/meta-data",
            "https://10.0.0.5/x",
            "https://[::ffff:127.0.0.1]/x",
            "https://user:pw@example.com/x",
            "ftp://example.com/x",
            "not a url",
            "https://example.com\u{200b}/x",
            "https://example.com/x\u{202e}",
            "https://example.com:0/x",
            "https://example.com:99999/x",
            "https://[64:ff9b::7f00:1]/x",
            "https://[64:ff9b::a9fe:a9fe]:61203/",
            "https://[2002:7f00:1::]/",
            "https://[::7f00:1]/",
            "https://[::ffff:0:7f00:1]/",
            "https://198.18.0.1/",
            "https://0x7f000001/",
            "https://2130706433/",
            "https://0177.0.0.1/",
            "https://127.1/",
            "https://0/",
            "https://[::1%25lo]/",
            "https://[fe80::1%25eth0]/",
            "https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",
        ] {
            assert!(check_url("u", Kind::Webhook, bad, PROD).is_err(), "{bad} was accepted");
        }
        assert!(check_url("u", Kind::Webhook, "http://127.0.0.1:9/x", DEV).is_ok());
        assert!(check_url("u", Kind::WeCom, "https://qyapi.weixin.qq.com/cgi-bin/webhook/send", PROD).is_err());
        let twice = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=a&key=b";
        assert!(check_url("u", Kind::WeCom, twice, PROD).is_err());
        for no_token in ["https://oapi.dingtalk.com/robot/send", "https://oapi.dingtalk.com/robot/send?access_token="] {
            assert!(check_url("u", Kind::DingTalk, no_token, PROD).is_err(), "{no_token}");
        }
        assert!(check_url("u", Kind::Webhook, "https://[2a00:1450:4001:80b::200e]/x", PROD).is_ok(), "a public IPv6");
        assert!(check_url("u", Kind::Webhook, "https://a1.example.com/x", PROD).is_ok());
        let slack = check_url("u", Kind::Slack, "https://hooks.slack.com/services/T0/B0/sk_live", PROD).unwrap();
        assert_eq!(slack.1, "https://hooks.slack.com/…");
    }

    #[test]
    fn a_robot_is_one_robot_however_its_url_is_spelled() {
        let d = |u: &str| robot(Kind::DingTalk, u);
        let base = d("https://oapi.dingtalk.com/robot/send?access_token=abc");
        assert_eq!(d("https://OAPI.dingtalk.com/robot/send?x=1&access_token=abc"), base);
        assert_eq!(d("https://oapi.dingtalk.com/robot/send?access_token=%61bc&y=2"), base);
        assert_ne!(d("https://oapi.dingtalk.com/robot/send?access_token=abd"), base);
        let w = |u: &str| robot(Kind::WeCom, u);
        assert_eq!(w("https://qyapi.weixin.qq.com/s?debug=1&key=K"), w("https://qyapi.weixin.qq.com/s?key=K"));
        let h = |u: &str| robot(Kind::Webhook, u);
        assert_eq!(h("https://Example.com:443/hook/?a=1"), h("https://example.com/hook?b=2"));
        assert_ne!(h("https://example.com/hook"), h("https://example.com/other"));
        assert_eq!(robot(Kind::Email, "Ops@Example.com"), robot(Kind::Email, "ops@example.com"));
    }

    #[test]
    fn signatures_match_the_platforms_documented_examples() {
        // Recomputed independently: HMAC-SHA256(key, msg) in base64.
        let s = dingtalk_sign("SECabc", 1_700_000_000_000);
        assert_eq!(s, STANDARD.encode(hmac_sha256(b"SECabc", b"1700000000000\nSECabc")));
        let f = feishu_sign("abc", 1_700_000_000);
        assert_eq!(f, STANDARD.encode(hmac_sha256(b"1700000000\nabc", b"")));
        // RFC 4231 test case 2 pins the HMAC itself.
        assert_eq!(
            hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(webhook_signature("k", 5, b"{}").starts_with("t=5,v1="));
    }

    #[test]
    fn e_mail_addresses_are_checked() {
        assert!(check_email("e", "ops@example.com").is_ok());
        for bad in [
            "",
            "ops",
            "ops@",
            "@x.com",
            "a@b",
            "a b@example.com",
            "a@example.com>",
            "x@[127.0.0.1]",
            "x@127.0.0.1",
            "x@10.0.0.1",
        ] {
            assert!(check_email("e", bad).is_err(), "{bad:?} was accepted");
        }
    }
}
