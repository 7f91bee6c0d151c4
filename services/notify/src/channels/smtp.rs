//! E-mail through the configured relay, always upgraded with STARTTLS
//! (lettre, rustls); credentials come from the environment.

use std::time::Duration;

use attain_kit::configuration::NotifySettings;
use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message as Mail, Tokio1Executor,
    message::header::ContentType,
    transport::smtp::{
        authentication::Credentials,
        client::{Certificate, Tls, TlsParameters},
    },
};

use crate::domain::message::Message;

pub struct Relay {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: lettre::message::Mailbox,
}

impl Relay {
    pub fn new(relay: &str, s: &NotifySettings) -> anyhow::Result<Self> {
        let (host, port) = match relay.rsplit_once(':') {
            Some((h, p)) => (h, p.parse::<u16>().map_err(|_| anyhow::anyhow!("notify.smtp_relay {relay}: bad port"))?),
            None => (relay, 587),
        };
        let mut tls = TlsParameters::builder(host.to_owned());
        if let Some(ca) = &s.smtp_ca_file {
            let pem = std::fs::read(ca).map_err(|e| anyhow::anyhow!("notify.smtp_ca_file {ca}: {e}"))?;
            tls = tls.add_root_certificate(Certificate::from_pem(&pem)?);
        }
        let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(port)
            .tls(Tls::Required(tls.build_rustls()?))
            .timeout(Some(Duration::from_secs(15)));
        let env = |k: &Option<String>| k.as_ref().and_then(|name| std::env::var(name).ok());
        if let (Some(u), Some(p)) = (env(&s.smtp_username_env), env(&s.smtp_password_env)) {
            b = b.credentials(Credentials::new(u, p));
        }
        let from =
            s.smtp_from.parse().map_err(|_| anyhow::anyhow!("notify.smtp_from {:?} is not an address", s.smtp_from))?;
        Ok(Self { transport: b.build(), from })
    }

    pub async fn send(&self, to: &str, m: &Message, dedupe_key: &str) -> Result<(), String> {
        let to = to.parse().map_err(|_| format!("{to:?} is not an e-mail address"))?;
        // The Message-ID carries the delivery's identity: a mail client
        // shows a repeat as the same message.
        let id = hex::encode(&ring::digest::digest(&ring::digest::SHA256, dedupe_key.as_bytes()).as_ref()[..16]);
        let mail = Mail::builder()
            .from(self.from.clone())
            .to(to)
            .subject(m.title.clone())
            .message_id(Some(format!("<{id}@attain.notify>")))
            .header(ContentType::TEXT_PLAIN)
            .body(m.plain())
            .map_err(|e| format!("the message could not be built: {e}"))?;
        self.transport.send(mail).await.map(drop).map_err(|e| format!("SMTP: {e}"))
    }
}
