//! When a failed delivery is tried again: exponential backoff with jitter,
//! up to a limit of attempts.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
    pub max_attempts: u32,
}

impl Backoff {
    /// The wait after `attempts` failures (1 = the first), given a random
    /// `unit` in [0, 1): base × 2^(attempts−1), capped, then "equal jitter"
    /// (half fixed, half random) so retries of one outage spread out.
    pub fn wait(&self, attempts: u32, unit: f64) -> Duration {
        let exp = self.base.saturating_mul(1u32 << attempts.saturating_sub(1).min(20)).min(self.max);
        let half = exp / 2;
        half + half.mul_f64(unit.clamp(0.0, 1.0))
    }

    /// Whether `attempts` failures leave the delivery DEAD.
    pub fn exhausted(&self, attempts: u32) -> bool {
        attempts >= self.max_attempts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_with_jitter_up_to_the_cap() {
        let b = Backoff { base: Duration::from_secs(2), max: Duration::from_secs(60), max_attempts: 5 };
        assert_eq!(b.wait(1, 0.0), Duration::from_secs(1));
        assert_eq!(b.wait(1, 1.0), Duration::from_secs(2));
        assert_eq!(b.wait(3, 0.0), Duration::from_secs(4));
        assert_eq!(b.wait(30, 0.99), Duration::from_secs(30) + Duration::from_secs(30).mul_f64(0.99));
        assert!(!b.exhausted(4));
        assert!(b.exhausted(5));
    }
}
