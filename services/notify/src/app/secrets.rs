//! Channel secrets at rest: a channel's address and signing key are sealed
//! (ChaCha20-Poly1305, a fresh nonce each) with the deployment's key, bound
//! to the subscription's id, so a sealed value copied onto another row does
//! not open. No key configured: nothing is sealed, and channels whose
//! address or key is secret are refused at subscription.

use std::sync::Arc;

use attain_kit::{ServiceError, ServiceResult};
use base64::{Engine, engine::general_purpose::STANDARD};
use ring::{
    aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey},
    rand::{SecureRandom, SystemRandom},
};

pub use crate::domain::channel::Secret as ChannelSecret;

#[derive(Clone)]
pub struct Sealer(Option<Arc<LessSafeKey>>);

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "Sealer(key)" } else { "Sealer(none)" })
    }
}

impl Sealer {
    /// From `notify.secrets_key_file`: 32 bytes, base64.
    pub fn from_file(path: Option<&str>) -> anyhow::Result<Self> {
        let Some(path) = path else { return Ok(Self(None)) };
        let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("notify.secrets_key_file {path}: {e}"))?;
        let bytes =
            STANDARD.decode(text.trim()).map_err(|_| anyhow::anyhow!("notify.secrets_key_file {path}: not base64"))?;
        Self::from_key(&bytes).map_err(|e| anyhow::anyhow!("notify.secrets_key_file {path}: {e}"))
    }

    pub fn from_key(bytes: &[u8]) -> anyhow::Result<Self> {
        anyhow::ensure!(bytes.len() == 32, "the key must be 32 bytes (it is {})", bytes.len());
        let key = UnboundKey::new(&CHACHA20_POLY1305, bytes).map_err(|_| anyhow::anyhow!("not a key"))?;
        Ok(Self(Some(Arc::new(LessSafeKey::new(key)))))
    }

    pub fn none() -> Self {
        Self(None)
    }

    pub fn can_seal(&self) -> bool {
        self.0.is_some()
    }

    pub fn seal(&self, subscription: &str, s: &ChannelSecret) -> ServiceResult<String> {
        let Some(key) = &self.0 else {
            return Err(ServiceError::precondition(
                "NO_SECRETS_KEY",
                "this deployment has no notify.secrets_key_file, so channel addresses and secrets cannot be \
                 stored encrypted; ask an administrator to set one",
            ));
        };
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new().fill(&mut nonce).map_err(|_| ServiceError::Internal(anyhow::anyhow!("no randomness")))?;
        let mut data = serde_json::to_vec(s).map_err(|e| ServiceError::Internal(e.into()))?;
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(subscription.as_bytes()),
            &mut data,
        )
        .map_err(|_| ServiceError::Internal(anyhow::anyhow!("sealing failed")))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Ok(STANDARD.encode(out))
    }

    /// The sealed value of `subscription`, or why it does not open (a
    /// changed key, a tampered row): the delivery fails with it.
    pub fn open(&self, subscription: &str, sealed: &str) -> Result<ChannelSecret, String> {
        let key = self.0.as_ref().ok_or("the notify.secrets_key_file is not configured")?;
        let raw = STANDARD.decode(sealed).map_err(|_| "the stored channel secret is not base64")?;
        if raw.len() < NONCE_LEN {
            return Err("the stored channel secret is truncated".into());
        }
        let (nonce, rest) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| "bad nonce")?;
        let mut rest = rest.to_vec();
        let plain = key
            .open_in_place(nonce, Aad::from(subscription.as_bytes()), &mut rest)
            .map_err(|_| "the stored channel secret does not open with this key (was the key changed?)")?;
        serde_json::from_slice(plain).map_err(|_| "the stored channel secret is not readable".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_for_its_own_subscription_and_key() {
        let s = Sealer::from_key(&[7; 32]).unwrap();
        let secret = ChannelSecret { url: "https://x/robot?access_token=t".into(), secret: "SEC1".into() };
        let sealed = s.seal("sub-1", &secret).unwrap();
        assert!(!sealed.contains("SEC1") && !sealed.contains("access_token"));
        assert_eq!(s.open("sub-1", &sealed).unwrap().secret, "SEC1");
        assert!(s.open("sub-2", &sealed).is_err(), "moved to another row");
        assert!(Sealer::from_key(&[8; 32]).unwrap().open("sub-1", &sealed).is_err(), "another key");
        assert_ne!(sealed, s.seal("sub-1", &secret).unwrap(), "a fresh nonce each time");
        assert!(Sealer::none().seal("sub-1", &secret).is_err());
        assert!(Sealer::from_key(&[1; 16]).is_err());
    }
}
