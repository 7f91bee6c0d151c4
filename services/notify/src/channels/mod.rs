//! The calls each channel takes over the network: robots' and webhooks'
//! HTTPS POSTs (signed as each platform documents) and e-mail over SMTP
//! with STARTTLS. An attempt either was taken by the channel or failed with
//! the channel's own words.

mod http;
mod smtp;

use std::sync::Arc;

use attain_kit::configuration::NotifySettings;
use serde_json::json;

use crate::domain::{
    channel::{Kind, Secret, dingtalk_sign, feishu_sign, webhook_signature},
    event::Event,
    message::Message,
};

/// One message to one channel.
#[derive(Debug)]
pub struct Outgoing<'a> {
    pub kind: Kind,
    pub secret: &'a Secret,
    /// The signing key (inline, or read from the environment).
    pub signing_key: Option<&'a str>,
    pub message: &'a Message,
    /// The delivery's identity, for receivers that drop repeats.
    pub dedupe_key: &'a str,
    /// The events it tells of (the generic webhook's structured body).
    pub events: &'a [Event],
    pub language: &'a str,
}

#[derive(Clone)]
pub struct Channels {
    http: http::Client,
    smtp: Option<Arc<smtp::Relay>>,
}

impl std::fmt::Debug for Channels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channels").field("smtp", &self.smtp.is_some()).finish_non_exhaustive()
    }
}

impl Channels {
    pub fn from_settings(s: &NotifySettings) -> anyhow::Result<Self> {
        let smtp = s.smtp_relay.as_deref().map(|relay| smtp::Relay::new(relay, s)).transpose()?.map(Arc::new);
        Ok(Self { http: http::Client::new(s.allow_insecure_webhooks), smtp })
    }

    /// Whether e-mail can be sent here at all.
    pub fn has_email(&self) -> bool {
        self.smtp.is_some()
    }

    /// Sends; Err is the channel's answer (or why it could not be reached).
    pub async fn send(&self, o: &Outgoing<'_>, now_ms: i64) -> Result<(), String> {
        let m = o.message;
        match o.kind {
            Kind::DingTalk => {
                let mut url = o.secret.url.clone();
                if let Some(key) = o.signing_key {
                    let sign = dingtalk_sign(key, now_ms);
                    let enc: String = form_urlencoded::byte_serialize(sign.as_bytes()).collect();
                    url.push_str(if url.contains('?') { "&" } else { "?" });
                    url.push_str(&format!("timestamp={now_ms}&sign={enc}"));
                }
                let body = json!({"msgtype": "markdown", "markdown": {"title": m.title, "text": m.markdown()}});
                let reply = self.http.post_json(&url, &body, &[]).await?;
                errcode_zero(&reply, "errcode")
            }
            Kind::WeCom => {
                let body = json!({"msgtype": "markdown", "markdown": {"content": m.markdown()}});
                let reply = self.http.post_json(&o.secret.url, &body, &[]).await?;
                errcode_zero(&reply, "errcode")
            }
            Kind::Feishu => {
                // A post: Feishu shows Markdown sent as text as it is.
                let lang = if o.language == "en" { "en_us" } else { "zh_cn" };
                let mut body = json!({"msg_type": "post", "content": {"post": {lang: m.feishu_post()}}});
                if let Some(key) = o.signing_key {
                    let ts = now_ms.div_euclid(1000);
                    body["timestamp"] = json!(ts.to_string());
                    body["sign"] = json!(feishu_sign(key, ts));
                }
                let reply = self.http.post_json(&o.secret.url, &body, &[]).await?;
                // Feishu answers {"code":0} (older hooks {"StatusCode":0}).
                errcode_zero(&reply, "code").or_else(|e| errcode_zero(&reply, "StatusCode").map_err(|_| e))
            }
            Kind::Slack => {
                let body = json!({"text": m.slack()});
                self.http.post_json(&o.secret.url, &body, &[]).await.map(drop)
            }
            Kind::Webhook => {
                let body = json!({
                    "delivery": o.dedupe_key,
                    "language": o.language,
                    "title": m.title,
                    "text": m.plain(),
                    "events": o.events,
                });
                let raw = serde_json::to_vec(&body).map_err(|e| e.to_string())?;
                let mut headers = vec![("x-attain-delivery", o.dedupe_key.to_owned())];
                if let Some(key) = o.signing_key {
                    headers.push(("x-attain-signature", webhook_signature(key, now_ms.div_euclid(1000), &raw)));
                }
                self.http.post_raw(&o.secret.url, raw, &headers).await.map(drop)
            }
            Kind::Email => {
                let relay = self.smtp.as_ref().ok_or("this deployment has no notify.smtp_relay")?;
                relay.send(&o.secret.url, m, o.dedupe_key).await
            }
        }
    }
}

/// A robot's JSON answer: field `field` must be 0.
fn errcode_zero(reply: &[u8], field: &str) -> Result<(), String> {
    let v: serde_json::Value = serde_json::from_slice(reply).map_err(|_| {
        format!("the channel answered 2xx with a body that is not JSON: {}", String::from_utf8_lossy(reply))
    })?;
    match v.get(field).and_then(serde_json::Value::as_i64) {
        Some(0) => Ok(()),
        _ => Err(format!("the channel refused the message: {}", truncate(&v.to_string(), 300))),
    }
}

pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}
