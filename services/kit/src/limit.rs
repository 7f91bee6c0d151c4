//! Rate limits: a token bucket per key, refilled at `rate` calls a second up
//! to `burst`. Over the limit a call is refused with RESOURCE_EXHAUSTED
//! before it does any work. [`Limits`] applies them at admission: per
//! signed-in person at the gateway, and per source address for calls that
//! bring no valid token, everywhere.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

use crate::{auth::Identity, configuration::ServerSettings, error::ServiceError, metrics::Metrics};

/// What a server admits, by caller and by address; counts refusals.
#[derive(Debug, Default)]
pub struct Limits {
    per_caller: Option<RateLimiter>,
    per_address: Option<RateLimiter>,
    metrics: Option<Metrics>,
}

impl Limits {
    /// Per-address limits only (the services: the gateway limits people).
    pub fn per_address(settings: &ServerSettings, metrics: Metrics) -> Self {
        let per_address = (settings.rate_limit_unauthenticated_per_address > 0).then(|| {
            RateLimiter::new(
                settings.rate_limit_unauthenticated_per_address,
                settings.rate_limit_unauthenticated_per_address.saturating_mul(2),
            )
        });
        Self { per_caller: None, per_address, metrics: Some(metrics) }
    }

    /// Per person and per address (the gateway, where people arrive).
    pub fn at_the_edge(settings: &ServerSettings, metrics: Metrics) -> Self {
        let per_caller = (settings.rate_limit_per_caller > 0)
            .then(|| RateLimiter::new(settings.rate_limit_per_caller, settings.rate_limit_burst));
        Self { per_caller, ..Self::per_address(settings, metrics) }
    }

    fn counted(&self, r: Result<(), ServiceError>) -> Result<(), ServiceError> {
        if r.is_err()
            && let Some(m) = &self.metrics
        {
            m.rate_limited();
        }
        r
    }

    /// A signed-in caller's call.
    pub fn caller(&self, who: &Identity) -> Result<(), ServiceError> {
        match &self.per_caller {
            Some(l) => self.counted(l.check(&who.person)),
            None => Ok(()),
        }
    }

    /// A call without a valid token, from `peer` (unknown peers share one
    /// bucket).
    pub fn anonymous(&self, peer: Option<IpAddr>) -> Result<(), ServiceError> {
        match &self.per_address {
            Some(l) => self.counted(l.check(&peer.map_or_else(|| "unknown".to_owned(), |p| p.to_string()))),
            None => Ok(()),
        }
    }
}

#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

/// Buckets idle this long are forgotten (they would be full anyway).
const IDLE: Duration = Duration::from_secs(600);

impl RateLimiter {
    pub fn new(per_second: u32, burst: u32) -> Self {
        Self {
            per_second: f64::from(per_second.max(1)),
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one call from `caller`'s bucket.
    pub fn check(&self, caller: &str) -> Result<(), ServiceError> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() > 10_000 {
            buckets.retain(|_, (_, seen)| now.duration_since(*seen) < IDLE);
        }
        let (tokens, seen) = buckets.entry(caller.to_owned()).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*seen).as_secs_f64() * self.per_second).min(self.burst);
        *seen = now;
        if *tokens < 1.0 {
            return Err(ServiceError::ResourceExhausted(format!(
                "rate limit: at most {} calls a second (bursts of {}) per caller; retry shortly",
                self.per_second, self.burst
            )));
        }
        *tokens -= 1.0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_refills_per_caller() {
        let l = RateLimiter::new(10, 3);
        assert!((0..3).all(|_| l.check("a").is_ok()));
        assert!(matches!(l.check("a"), Err(ServiceError::ResourceExhausted(_))));
        assert!(l.check("b").is_ok(), "each caller has its own bucket");
        std::thread::sleep(Duration::from_millis(150));
        assert!(l.check("a").is_ok(), "refilled");
    }
}
