//! JWT authentication: a bearer token becomes an [`Identity`] (person, role,
//! unit) that handlers use for scope checks. Algorithms are pinned per key,
//! and `exp`, `aud`, `iss` and `sub` are required.

use std::{fmt, sync::Arc};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, decode_header, encode};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tonic::{Request, Status, service::Interceptor};

use crate::{configuration::AuthSettings, error::ServiceError};

/// What a caller may do; scope is the role applied to the token's unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    /// Sales operations: everything.
    Admin,
    /// Sees and acts on its unit's subtree.
    Manager,
    /// Its own unit's figures and logs.
    Rep,
    /// Reads its unit's subtree, writes nothing.
    Viewer,
}

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Person id (the token's `sub`).
    pub person: String,
    pub role: Role,
    /// Unit id the role applies to (bare id, not "units/…"); empty for an
    /// ADMIN without a home unit.
    pub unit: String,
}

impl Identity {
    /// Whether the caller may read a unit, given the unit's ids from the root
    /// down to itself.
    pub fn can_read<S: AsRef<str>>(&self, path: &[S]) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Manager | Role::Viewer => path.iter().any(|u| u.as_ref() == self.unit),
            Role::Rep => path.last().is_some_and(|u| u.as_ref() == self.unit),
        }
    }

    /// Whether the caller may change a unit's own attributes or place in
    /// the tree: admins anywhere, managers strictly below their own unit
    /// (a manager does not edit its own unit or target).
    pub fn can_manage<S: AsRef<str>>(&self, path: &[S]) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Manager => path.iter().position(|u| u.as_ref() == self.unit).is_some_and(|i| i + 1 < path.len()),
            Role::Rep | Role::Viewer => false,
        }
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// Claims Attain reads from (and mints into) a token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    #[serde(default)]
    pub unit: String,
    pub iss: String,
    pub aud: String,
    pub exp: u64,
    #[serde(default)]
    pub iat: u64,
    /// Not before: a token is refused until then (less the leeway).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
}

/// Verifies bearer tokens: the company identity provider's (OpenID
/// Connect, keys by key id from its JWKS), and configured keys — HS256 for
/// development and tests, RS256/ES256 PEM public keys.
pub struct JwtVerifier {
    keys: Vec<(Algorithm, DecodingKey)>,
    issuer: String,
    audience: String,
    leeway_seconds: u64,
    oidc: Option<Arc<crate::oidc::Jwks>>,
    role_claim: String,
    unit_claim: String,
    role_map: std::collections::BTreeMap<String, Role>,
    /// Service accounts' public keys: each signs tokens for itself only.
    service_keys: std::collections::HashMap<String, (Algorithm, DecodingKey)>,
}

impl fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let algs: Vec<_> = self.keys.iter().map(|(a, _)| a).collect();
        f.debug_struct("JwtVerifier").field("algorithms", &algs).field("issuer", &self.issuer).finish()
    }
}

fn role_named(s: &str) -> Option<Role> {
    match s.to_ascii_lowercase().as_str() {
        "admin" => Some(Role::Admin),
        "manager" => Some(Role::Manager),
        "rep" => Some(Role::Rep),
        "viewer" => Some(Role::Viewer),
        _ => None,
    }
}

/// Why a token was refused, in words that do not help forge one.
fn refusal(e: &jsonwebtoken::errors::Error) -> &'static str {
    use jsonwebtoken::errors::ErrorKind;
    match e.kind() {
        ErrorKind::ExpiredSignature => "expired",
        ErrorKind::ImmatureSignature => "not valid yet (nbf)",
        ErrorKind::InvalidAudience => "wrong audience",
        ErrorKind::InvalidIssuer => "wrong issuer",
        ErrorKind::InvalidSignature => "bad signature",
        ErrorKind::MissingRequiredClaim(_) => "a required claim (exp, aud, iss, sub) is missing",
        _ => "rejected",
    }
}

fn unauthenticated(why: &str) -> ServiceError {
    ServiceError::Unauthenticated(format!("invalid token: {why}"))
}

impl JwtVerifier {
    /// At least one way to verify is required: an identity provider
    /// (`auth.oidc_issuer`), PEM public keys, or (development) a secret.
    pub fn from_settings(settings: &AuthSettings) -> anyhow::Result<Self> {
        let mut keys = Vec::new();
        if let Some(secret) = &settings.hs256_secret {
            anyhow::ensure!(secret.expose_secret().len() >= 16, "auth.hs256_secret must be at least 16 bytes");
            keys.push((Algorithm::HS256, DecodingKey::from_secret(secret.expose_secret().as_bytes())));
        }
        for path in &settings.public_key_files {
            let pem = std::fs::read(path).map_err(|e| anyhow::anyhow!("auth.public_key_files: {path}: {e}"))?;
            if let Ok(key) = DecodingKey::from_rsa_pem(&pem) {
                keys.push((Algorithm::RS256, key));
            } else if let Ok(key) = DecodingKey::from_ec_pem(&pem) {
                keys.push((Algorithm::ES256, key));
            } else if let Ok(key) = DecodingKey::from_ed_pem(&pem) {
                keys.push((Algorithm::EdDSA, key));
            } else {
                anyhow::bail!("auth.public_key_files: {path} is neither an RSA, EC nor Ed25519 public key in PEM");
            }
        }
        let mut service_keys = std::collections::HashMap::new();
        for (account, path) in &settings.service_keys {
            let pem = std::fs::read(path).map_err(|e| anyhow::anyhow!("auth.service_keys.{account}: {path}: {e}"))?;
            let key = if let Ok(k) = DecodingKey::from_ec_pem(&pem) {
                (Algorithm::ES256, k)
            } else if let Ok(k) = DecodingKey::from_ed_pem(&pem) {
                (Algorithm::EdDSA, k)
            } else {
                anyhow::bail!("auth.service_keys.{account}: {path} is neither a P-256 nor an Ed25519 public key");
            };
            service_keys.insert(account.clone(), key);
        }
        let oidc = match &settings.oidc_issuer {
            Some(issuer) => Some(Arc::new(crate::oidc::Jwks::new(settings, issuer)?)),
            None => None,
        };
        anyhow::ensure!(
            !keys.is_empty() || oidc.is_some() || !service_keys.is_empty(),
            "auth: set auth.oidc_issuer or auth.public_key_files (production), or auth.hs256_secret (development)"
        );
        let role_map = settings
            .role_map
            .iter()
            .map(|(claim, role)| {
                role_named(role).map(|r| (claim.clone(), r)).ok_or_else(|| {
                    anyhow::anyhow!("auth.role_map: {role:?} for {claim:?} is not admin, manager, rep or viewer")
                })
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Self {
            keys,
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            leeway_seconds: settings.leeway_seconds,
            oidc,
            role_claim: settings.role_claim.clone(),
            unit_claim: settings.unit_claim.clone(),
            role_map,
            service_keys,
        })
    }

    /// The identity provider's key set, when one is configured.
    pub fn oidc(&self) -> Option<&Arc<crate::oidc::Jwks>> {
        self.oidc.as_ref()
    }

    fn validation(&self, alg: Algorithm, issuer: &str) -> Validation {
        let mut validation = Validation::new(alg);
        validation.set_audience(&[&self.audience]);
        validation.set_issuer(&[issuer]);
        validation.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
        validation.leeway = self.leeway_seconds;
        validation.validate_nbf = true;
        validation
    }

    /// A token issued in the future was minted by a clock (or a forger) we
    /// should not trust; jsonwebtoken leaves iat alone.
    fn issued_in_the_past(&self, iat: u64) -> Result<(), ServiceError> {
        if iat > jsonwebtoken::get_current_timestamp().saturating_add(self.leeway_seconds) {
            return Err(unauthenticated("issued in the future"));
        }
        Ok(())
    }

    /// Checks a compact JWT and returns who it names.
    pub fn verify(&self, token: &str) -> Result<Identity, ServiceError> {
        // An unknown or "none" algorithm fails to parse here.
        let header = decode_header(token).map_err(|_| unauthenticated("malformed header or unsupported algorithm"))?;
        if let Some(account) = header.kid.as_deref().and_then(|k| k.strip_prefix(crate::service_account::SERVICE_KID)) {
            return self.verify_service(account, header.alg, token);
        }
        if let (Some(jwks), Some(kid)) = (&self.oidc, &header.kid) {
            return self.verify_from_provider(jwks, kid, header.alg, token);
        }
        let mut last_error = unauthenticated("no key accepts the token's algorithm");
        for (alg, key) in self.keys.iter().filter(|(alg, _)| *alg == header.alg) {
            match decode::<Claims>(token, key, &self.validation(*alg, &self.issuer)) {
                Ok(data) => {
                    self.issued_in_the_past(data.claims.iat)?;
                    return identity_from(data.claims);
                }
                Err(e) => last_error = unauthenticated(refusal(&e)),
            }
        }
        Err(last_error)
    }

    /// A service account's token: signed by that account's own key, for
    /// that account only, short-lived.
    fn verify_service(&self, account: &str, alg: Algorithm, token: &str) -> Result<Identity, ServiceError> {
        let (key_alg, key) = self
            .service_keys
            .get(account)
            .ok_or_else(|| unauthenticated("not a service account this service knows"))?;
        if *key_alg != alg {
            return Err(unauthenticated("the algorithm is not the key's"));
        }
        let data = decode::<Claims>(token, key, &self.validation(alg, &self.issuer))
            .map_err(|e| unauthenticated(refusal(&e)))?;
        let c = data.claims;
        self.issued_in_the_past(c.iat)?;
        if c.sub != account {
            return Err(unauthenticated("a service account's key signs for that account only"));
        }
        if c.exp.saturating_sub(c.iat) > 3 * crate::service_account::SERVICE_TOKEN_SECONDS {
            return Err(unauthenticated("a service account's token must be short-lived"));
        }
        identity_from(c)
    }

    /// A provider's token: the key its key id names (fetched once more if
    /// new), the algorithm that key is for, role and unit from the
    /// configured claims.
    fn verify_from_provider(
        &self,
        jwks: &Arc<crate::oidc::Jwks>,
        kid: &str,
        alg: Algorithm,
        token: &str,
    ) -> Result<Identity, ServiceError> {
        let found = jwks.key(kid).or_else(|| {
            jwks.refresh_for_unknown_key();
            jwks.key(kid)
        });
        // No key id is echoed: the answer must not help guess one.
        let (key_alg, key) = found.ok_or_else(|| unauthenticated("unknown signing key"))?;
        if key_alg != alg {
            return Err(unauthenticated("the algorithm is not the key's"));
        }
        let data = decode::<serde_json::Value>(token, &key, &self.validation(alg, jwks.issuer()))
            .map_err(|e| unauthenticated(refusal(&e)))?;
        let c = data.claims;
        self.issued_in_the_past(c["iat"].as_u64().unwrap_or(0))?;
        let values: Vec<&str> = match &c[self.role_claim.as_str()] {
            serde_json::Value::String(s) => vec![s.as_str()],
            serde_json::Value::Array(a) => a.iter().filter_map(|v| v.as_str()).collect(),
            _ => Vec::new(),
        };
        let roles: Vec<Role> =
            values.iter().filter_map(|v| self.role_map.get(*v).copied().or_else(|| role_named(v))).collect();
        // Several groups: the widest role they grant.
        let role = [Role::Admin, Role::Manager, Role::Viewer, Role::Rep]
            .into_iter()
            .find(|r| roles.contains(r))
            .ok_or_else(|| unauthenticated("no role this service knows in the role claim"))?;
        let claims = Claims {
            sub: c["sub"].as_str().unwrap_or_default().to_owned(),
            role,
            unit: c[self.unit_claim.as_str()].as_str().unwrap_or_default().to_owned(),
            iss: jwks.issuer().to_owned(),
            aud: self.audience.clone(),
            exp: c["exp"].as_u64().unwrap_or(0),
            iat: c["iat"].as_u64().unwrap_or(0),
            nbf: c["nbf"].as_u64(),
        };
        identity_from(claims)
    }
}

fn identity_from(c: Claims) -> Result<Identity, ServiceError> {
    if c.sub.is_empty() {
        return Err(ServiceError::Unauthenticated("invalid token: empty sub".to_owned()));
    }
    if c.role != Role::Admin && c.unit.is_empty() {
        return Err(ServiceError::Unauthenticated("invalid token: only an ADMIN may have no unit".to_owned()));
    }
    let unit = c.unit.strip_prefix("units/").unwrap_or(&c.unit).to_owned();
    Ok(Identity { person: c.sub, role: c.role, unit })
}

/// The one admission path (gRPC services, the gateway's forwarding): a
/// bearer token verified, then the caller's rate limit; without a valid
/// token, the source address's limit before the refusal.
pub fn authenticate(
    verifier: &JwtVerifier,
    limits: &crate::limit::Limits,
    authorization: Option<&str>,
    peer: Option<std::net::IpAddr>,
) -> Result<Identity, ServiceError> {
    let verified = match authorization {
        None => Err(ServiceError::Unauthenticated("missing bearer token".to_owned())),
        Some(v) => match v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")) {
            Some(token) => verifier.verify(token.trim()),
            None => Err(ServiceError::Unauthenticated("authorization must be 'Bearer <token>'".to_owned())),
        },
    };
    match verified {
        Ok(who) => {
            limits.caller(&who)?;
            Ok(who)
        }
        Err(refused) => {
            limits.anonymous(peer)?;
            Err(refused)
        }
    }
}

/// Tonic interceptor that authenticates every call of the services it wraps
/// and leaves the [`Identity`] in the request's extensions.
#[derive(Clone, Debug)]
pub struct AuthInterceptor {
    verifier: Arc<JwtVerifier>,
    limits: Arc<crate::limit::Limits>,
}

impl AuthInterceptor {
    pub fn new(verifier: Arc<JwtVerifier>, limits: Arc<crate::limit::Limits>) -> Self {
        Self { verifier, limits }
    }
}

impl Interceptor for AuthInterceptor {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let metadata = request.metadata();
        // A header that is not text is no bearer token.
        let authorization = metadata.get("authorization").map(|v| v.to_str().unwrap_or(""));
        let from = request.remote_addr().map(|a| a.ip());
        let identity = authenticate(&self.verifier, &self.limits, authorization, from)?;
        request.extensions_mut().insert(identity);
        Ok(request)
    }
}

/// The caller of a request that passed the [`AuthInterceptor`].
pub fn caller<T>(request: &Request<T>) -> Result<Identity, ServiceError> {
    request
        .extensions()
        .get::<Identity>()
        .cloned()
        .ok_or_else(|| ServiceError::Unauthenticated("no authenticated caller".to_owned()))
}

/// Mints HS256 development tokens (`attain token`, tests, the demo).
pub struct TokenMinter {
    key: EncodingKey,
    issuer: String,
    audience: String,
}

impl fmt::Debug for TokenMinter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenMinter").field("issuer", &self.issuer).finish_non_exhaustive()
    }
}

impl TokenMinter {
    pub fn hs256(secret: &SecretString, issuer: &str, audience: &str) -> Self {
        Self {
            key: EncodingKey::from_secret(secret.expose_secret().as_bytes()),
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        }
    }

    pub fn mint(&self, person: &str, role: Role, unit: &str, ttl_seconds: u64) -> anyhow::Result<String> {
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            sub: person.to_owned(),
            role,
            unit: unit.to_owned(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            exp: now + ttl_seconds,
            iat: now,
            nbf: None,
        };
        Ok(encode(&Header::new(Algorithm::HS256), &claims, &self.key)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn settings() -> AuthSettings {
        AuthSettings {
            hs256_secret: Some(SecretString::from("0123456789abcdef-test-secret")),
            ..AuthSettings::default()
        }
    }

    fn minter() -> TokenMinter {
        let s = settings();
        TokenMinter::hs256(s.hs256_secret.as_ref().unwrap(), &s.issuer, &s.audience)
    }

    #[test]
    fn a_minted_token_verifies_to_its_identity() {
        let v = JwtVerifier::from_settings(&settings()).unwrap();
        let t = minter().mint("alice", Role::Manager, "units/region-a", 60).unwrap();
        let id = v.verify(&t).unwrap();
        assert_eq!(id, Identity { person: "alice".into(), role: Role::Manager, unit: "region-a".into() });
    }

    #[test]
    fn expired_wrong_audience_wrong_key_and_none_are_refused() {
        let v = JwtVerifier::from_settings(&settings()).unwrap();
        let s = settings();
        // Expired well beyond the leeway.
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            sub: "a".into(),
            role: Role::Admin,
            unit: String::new(),
            iss: s.issuer.clone(),
            aud: s.audience.clone(),
            exp: now - 3600,
            iat: now - 7200,
            nbf: None,
        };
        let key = EncodingKey::from_secret(s.hs256_secret.as_ref().unwrap().expose_secret().as_bytes());
        let expired = encode(&Header::new(Algorithm::HS256), &claims, &key).unwrap();
        assert!(matches!(v.verify(&expired), Err(ServiceError::Unauthenticated(m)) if m.contains("expired")));

        // Not yet valid, or issued in the future, beyond the leeway; within
        // it (clock skew) both pass.
        let sign = |c: &Claims| encode(&Header::new(Algorithm::HS256), c, &key).unwrap();
        let fresh = Claims { exp: now + 7200, iat: now, ..claims.clone() };
        let later = sign(&Claims { nbf: Some(now + 3600), ..fresh.clone() });
        assert!(matches!(v.verify(&later), Err(ServiceError::Unauthenticated(m)) if m.contains("nbf")));
        let future = sign(&Claims { iat: now + 3600, ..fresh.clone() });
        assert!(matches!(v.verify(&future), Err(ServiceError::Unauthenticated(m)) if m.contains("future")));
        let skewed = sign(&Claims { iat: now + 20, nbf: Some(now + 20), ..fresh.clone() });
        assert!(v.verify(&skewed).is_ok(), "20 s of clock skew is within the default leeway");
        assert_eq!(AuthSettings::default().leeway_seconds, 60);

        let other_aud = TokenMinter::hs256(s.hs256_secret.as_ref().unwrap(), &s.issuer, "someone-else")
            .mint("a", Role::Admin, "", 60)
            .unwrap();
        assert!(matches!(v.verify(&other_aud), Err(ServiceError::Unauthenticated(m)) if m.contains("audience")));

        let forged = TokenMinter::hs256(&SecretString::from("another-secret-0123456789"), &s.issuer, &s.audience)
            .mint("a", Role::Admin, "", 60)
            .unwrap();
        assert!(matches!(v.verify(&forged), Err(ServiceError::Unauthenticated(m)) if m.contains("signature")));

        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let none = format!(
            "{}.{}.",
            b64.encode(r#"{"alg":"none","typ":"JWT"}"#),
            b64.encode(format!(
                r#"{{"sub":"a","role":"ADMIN","iss":"{}","aud":"{}","exp":{}}}"#,
                s.issuer,
                s.audience,
                now + 60
            ))
        );
        assert!(v.verify(&none).is_err());
        assert!(v.verify("garbage").is_err());
    }

    /// Keys under src/testdata are throwaway test keys, used nowhere else.
    #[test]
    fn rs256_and_es256_keys_verify_and_algorithms_do_not_mix() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/testdata");
        let settings = AuthSettings {
            public_key_files: vec![format!("{dir}/rsa.pub"), format!("{dir}/ec.pub")],
            ..AuthSettings::default()
        };
        let v = JwtVerifier::from_settings(&settings).unwrap();
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            sub: "alice".into(),
            role: Role::Viewer,
            unit: "acme".into(),
            iss: settings.issuer.clone(),
            aud: settings.audience.clone(),
            exp: now + 60,
            iat: now,
            nbf: None,
        };
        let rs_key = EncodingKey::from_rsa_pem(include_bytes!("testdata/rsa.key")).unwrap();
        let es_key = EncodingKey::from_ec_pem(include_bytes!("testdata/ec.key")).unwrap();
        let rs = encode(&Header::new(Algorithm::RS256), &claims, &rs_key).unwrap();
        assert_eq!(v.verify(&rs).unwrap().person, "alice");
        let es = encode(&Header::new(Algorithm::ES256), &claims, &es_key).unwrap();
        assert_eq!(v.verify(&es).unwrap().role, Role::Viewer);
        // HS/RS confusion: an HS256 token "signed" with the public key.
        let confused = encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(include_bytes!("testdata/rsa.pub")),
        )
        .unwrap();
        assert!(v.verify(&confused).is_err(), "no HS256 key is configured, so HS256 is refused");
        // Algorithms a key was not configured for are refused.
        let rs384 = encode(&Header::new(Algorithm::RS384), &claims, &rs_key).unwrap();
        assert!(v.verify(&rs384).is_err());
        // Missing exp, aud or iss.
        #[derive(serde::Serialize)]
        struct NoExp<'a> {
            sub: &'a str,
            role: Role,
            iss: &'a str,
            aud: &'a str,
        }
        let no_exp = encode(
            &Header::new(Algorithm::RS256),
            &NoExp { sub: "a", role: Role::Admin, iss: &settings.issuer, aud: &settings.audience },
            &rs_key,
        )
        .unwrap();
        assert!(v.verify(&no_exp).is_err());
        assert!(
            JwtVerifier::from_settings(&AuthSettings::default()).is_err(),
            "no key at all is a configuration error"
        );
    }

    /// A service account signs for itself only: its token verifies as that
    /// account; the same key cannot sign for a person or another account,
    /// nor a long-lived token.
    #[test]
    fn service_accounts_sign_for_themselves_only() {
        use crate::{configuration::JobSettings, service_account::ServiceAccount};
        let dir = std::env::temp_dir().join(format!("attain-svc-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let pair = rcgen::KeyPair::generate().unwrap();
        let (private, public) = (dir.join("tracking.key"), dir.join("tracking.pub"));
        std::fs::write(&private, pair.serialize_pem()).unwrap();
        std::fs::write(&public, pair.public_key_pem()).unwrap();
        let auth = AuthSettings {
            service_keys: [("svc_tracking".to_owned(), public.display().to_string())].into_iter().collect(),
            ..AuthSettings::default()
        };
        let v = JwtVerifier::from_settings(&auth).unwrap();
        let jobs = JobSettings {
            service_account: Some("svc_tracking".into()),
            signing_key_file: Some(private.display().to_string()),
            ..JobSettings::default()
        };
        let account = ServiceAccount::from_settings(&jobs, &auth).unwrap().unwrap();
        let bearer = account.bearer().unwrap();
        let me = v.verify(bearer.strip_prefix("Bearer ").unwrap()).unwrap();
        assert_eq!((me.person.as_str(), me.role), ("svc_tracking", Role::Admin));

        let key = EncodingKey::from_ec_pem(pair.serialize_pem().as_bytes()).unwrap();
        let now = jsonwebtoken::get_current_timestamp();
        let forge = |kid: &str, sub: &str, ttl: u64| {
            let c = Claims {
                sub: sub.into(),
                role: Role::Admin,
                unit: String::new(),
                iss: auth.issuer.clone(),
                aud: auth.audience.clone(),
                exp: now + ttl,
                iat: now,
                nbf: None,
            };
            let mut h = Header::new(Algorithm::ES256);
            h.kid = (!kid.is_empty()).then(|| kid.to_owned());
            encode(&h, &c, &key).unwrap()
        };
        for (why, token) in [
            ("a person", forge("service:svc_tracking", "ops", 300)),
            ("another account", forge("service:svc_gateway", "svc_gateway", 300)),
            ("a year", forge("service:svc_tracking", "svc_tracking", 365 * 86_400)),
            ("no key id", forge("", "svc_tracking", 300)),
        ] {
            assert!(
                matches!(v.verify(&token), Err(ServiceError::Unauthenticated(_))),
                "the tracking key must not sign for {why}"
            );
        }
        assert!(
            JwtVerifier::from_settings(&AuthSettings::default()).is_err(),
            "no way to verify at all is a configuration error"
        );
    }

    #[test]
    fn scope_rules() {
        let path: Vec<String> = ["acme", "region-a", "rep-1"].iter().map(|s| s.to_string()).collect();
        let who = |role, unit: &str| Identity { person: "p".into(), role, unit: unit.into() };
        assert!(who(Role::Admin, "").can_read(&path));
        assert!(who(Role::Manager, "region-a").can_read(&path));
        assert!(!who(Role::Manager, "region-b").can_read(&path));
        assert!(who(Role::Rep, "rep-1").can_read(&path));
        assert!(!who(Role::Rep, "rep-2").can_read(&path));
        assert!(!who(Role::Rep, "rep-1").can_read(&path[..2]), "a rep does not read its parent");
        assert!(who(Role::Manager, "region-a").can_manage(&path));
        assert!(!who(Role::Manager, "region-a").can_manage(&path[..2]), "not its own unit");
        assert!(!who(Role::Viewer, "acme").can_manage(&path));
    }
}
