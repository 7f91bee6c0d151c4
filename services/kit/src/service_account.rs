//! Who a service's own work runs as (tracking's scheduled alert pass, the
//! gateway's cache watcher). In production a service account mints itself
//! short-lived tokens with a private key only that service holds; the other
//! services know its public key and accept its tokens for that account
//! alone (`auth.service_keys`), so a compromised pod cannot mint a token for
//! a person or for another service. A static token serves development.

use std::sync::Arc;

use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use secrecy::{ExposeSecret, SecretString};

use crate::{
    auth::{Claims, Role},
    configuration::{AuthSettings, JobSettings},
};

/// How long a minted service token lives.
pub const SERVICE_TOKEN_SECONDS: u64 = 300;
/// The key id prefix that marks a service account's token.
pub const SERVICE_KID: &str = "service:";

#[derive(Clone)]
pub enum ServiceAccount {
    Static(SecretString),
    Signed { account: String, alg: Algorithm, key: Arc<EncodingKey>, issuer: String, audience: String },
}

impl std::fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Static(_) => f.write_str("ServiceAccount::Static"),
            Self::Signed { account, .. } => write!(f, "ServiceAccount::Signed({account})"),
        }
    }
}

/// A PEM private key for signing: ES256 (P-256) or EdDSA (Ed25519).
pub fn signing_key(path: &str) -> anyhow::Result<(Algorithm, EncodingKey)> {
    let pem = std::fs::read(path).map_err(|e| anyhow::anyhow!("jobs.signing_key_file {path}: {e}"))?;
    if let Ok(k) = EncodingKey::from_ec_pem(&pem) {
        return Ok((Algorithm::ES256, k));
    }
    if let Ok(k) = EncodingKey::from_ed_pem(&pem) {
        return Ok((Algorithm::EdDSA, k));
    }
    anyhow::bail!("jobs.signing_key_file {path} is neither a P-256 nor an Ed25519 private key in PEM")
}

impl ServiceAccount {
    /// None when no service identity is configured.
    pub fn from_settings(jobs: &JobSettings, auth: &AuthSettings) -> anyhow::Result<Option<Self>> {
        match (&jobs.service_account, &jobs.signing_key_file, &jobs.service_token) {
            (Some(account), Some(file), _) => {
                let (alg, key) = signing_key(file)?;
                Ok(Some(Self::Signed {
                    account: account.clone(),
                    alg,
                    key: Arc::new(key),
                    issuer: auth.issuer.clone(),
                    audience: auth.audience.clone(),
                }))
            }
            (Some(_), None, _) | (None, Some(_), _) => {
                anyhow::bail!("jobs.service_account and jobs.signing_key_file go together")
            }
            (None, None, Some(token)) => Ok(Some(Self::Static(token.clone()))),
            (None, None, None) => Ok(None),
        }
    }

    /// An `authorization` header value for a call made now.
    pub fn bearer(&self) -> anyhow::Result<String> {
        Ok(format!("Bearer {}", self.token()?))
    }

    /// Credentials for calls made now on the account's own behalf.
    pub fn forwarded(&self) -> anyhow::Result<crate::upstream::Forwarded> {
        let mut metadata = tonic::metadata::MetadataMap::new();
        metadata.insert("authorization", self.bearer()?.parse()?);
        Ok(crate::upstream::Forwarded::from_metadata(&metadata))
    }

    fn token(&self) -> anyhow::Result<String> {
        match self {
            Self::Static(t) => Ok(t.expose_secret().to_owned()),
            Self::Signed { account, alg, key, issuer, audience } => {
                let now = jsonwebtoken::get_current_timestamp();
                let claims = Claims {
                    sub: account.clone(),
                    role: Role::Admin,
                    unit: String::new(),
                    iss: issuer.clone(),
                    aud: audience.clone(),
                    exp: now + SERVICE_TOKEN_SECONDS,
                    iat: now,
                    nbf: None,
                };
                let mut header = Header::new(*alg);
                header.kid = Some(format!("{SERVICE_KID}{account}"));
                Ok(encode(&header, &claims, key)?)
            }
        }
    }
}
