//! Per-caller rate limits: a token bucket per person, refilled at `rate`
//! calls a second up to `burst`. Over the limit a call is refused with
//! RESOURCE_EXHAUSTED before it does any work.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use crate::error::ServiceError;

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
